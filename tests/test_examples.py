"""Every script in examples/ runs (quick mode) and prints its result."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py")) if os.path.isdir(
    EXAMPLES) else []


def test_examples_exist():
    assert len(SCRIPTS) >= 7, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    pytest.importorskip("pandas")
    args = [sys.executable, os.path.join(EXAMPLES, script), "--quick"]
    if "--workdir" in open(os.path.join(EXAMPLES, script)).read():
        args += ["--workdir", str(tmp_path)]        # files stay in the test's own folder
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), "an example prints its result"
