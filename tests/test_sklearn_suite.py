"""Run scikit-learn's own test file for its coordinate-descent estimators with
mtlfast's drop-in classes substituted for Lasso, ElasticNet, MultiTaskLasso,
MultiTaskElasticNet, MultiTaskLassoCV and MultiTaskElasticNetCV.

Known, deliberate deviations (mtlfast validates every input and never writes
into it, whatever copy_X/check_input say):
  * test_check_input_false: expects wrong results or an error for C-ordered X
    passed with check_input=False; mtlfast converts and fits correctly.
  * test_enet_copy_X_False_check_input_False: expects X to be overwritten.
  * test_warm_start_multitask_lasso: expects 2 x 5 unconverged epochs to
    equal 10 (scikit-learn's own iterates). mtlfast's default strategy
    ("ws": working sets) reaches the same optimum by another route (issue
    28: no handicap for reproducing unconverged iterates); strategy="cd"
    gives scikit-learn's iterates, checked in test_strategy.py.
"""
import os
import subprocess
import sys

import pytest
import sklearn

DEVIATIONS = {"test_check_input_false", "test_enet_copy_X_False_check_input_False",
              "test_warm_start_multitask_lasso"}
SOURCE = os.path.join(os.path.dirname(sklearn.__file__), "linear_model", "tests",
                      "test_coordinate_descent.py")
CONFTEST = '''import pytest
@pytest.fixture(params=[0, 42])
def global_random_seed(request):
    return request.param
'''


@pytest.mark.skipif(not os.path.exists(SOURCE), reason="scikit-learn's tests are not installed")
def test_sklearn_coordinate_descent_suite(tmp_path):
    src = open(SOURCE).read()
    anchor = "from sklearn.linear_model import _cd_fast as cd_fast"
    assert anchor in src
    src = src.replace(anchor, "from mtlfast import Lasso, ElasticNet, MultiTaskLasso, "
                              "MultiTaskElasticNet, MultiTaskLassoCV, "
                              "MultiTaskElasticNetCV\n" + anchor)
    (tmp_path / "test_cd_with_mtlfast.py").write_text(src)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    deselect = " or ".join(sorted(DEVIATIONS))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-k", f"not ({deselect})", str(tmp_path / "test_cd_with_mtlfast.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, tail
    assert " passed" in tail
