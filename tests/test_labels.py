"""Task weights and similarity matrices keyed by task label are aligned by
label, never by position; positional arrays keep their meaning."""
import numpy as np
import pytest

import mtlfast


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((90, 8))
    tasks = np.repeat(np.array(["paris", "lyon", "nice"]), 30)     # sorted: lyon, nice, paris
    y = X[:, 0] * np.repeat([1.0, 2.0, -1.0], 30) + 0.1 * rng.standard_normal(90)
    return X, y, tasks


def test_task_weight_by_label():
    pd = pytest.importorskip("pandas")
    X, y, tasks = _data()
    positional = mtlfast.MultiTaskLasso(alpha=0.01).fit(X, y, tasks=tasks,
                                                         task_weight=[1.0, 3.0, 0.5])
    by_dict = mtlfast.MultiTaskLasso(alpha=0.01).fit(
        X, y, tasks=tasks, task_weight={"paris": 0.5, "nice": 3.0, "lyon": 1.0})
    by_series = mtlfast.MultiTaskLasso(alpha=0.01).fit(
        X, y, tasks=tasks, task_weight=pd.Series({"nice": 3.0, "paris": 0.5, "lyon": 1.0}))
    np.testing.assert_array_equal(positional.coef_, by_dict.coef_)
    np.testing.assert_array_equal(positional.coef_, by_series.coef_)
    clf = mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(
        X, (y > 0).astype(int), tasks=tasks, task_weight={"paris": 0.5, "nice": 3.0, "lyon": 1.0})
    ref = mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(
        X, (y > 0).astype(int), tasks=tasks, task_weight=[1.0, 3.0, 0.5])
    np.testing.assert_array_equal(clf.coef_, ref.coef_)
    for bad, msg in (({"paris": 1.0, "lyon": 1.0}, "missing \\['nice'\\]"),
                     ({"paris": 1, "lyon": 1, "nice": 1, "rome": 1}, "unknown \\['rome'\\]")):
        with pytest.raises(ValueError, match=msg):
            mtlfast.MultiTaskLasso(alpha=0.01).fit(X, y, tasks=tasks, task_weight=bad)


def test_similarity_dataframe_is_aligned_by_label():
    pd = pytest.importorskip("pandas")
    X, y, tasks = _data(1)
    order = ["lyon", "nice", "paris"]
    A = np.array([[0.0, 1.0, 0.2], [1.0, 0.0, 0.0], [0.2, 0.0, 0.0]])
    ref = mtlfast.TaskGraphMultiTask(alpha=0.01, graph_alpha=1.0, similarity=A).fit(
        X, y, tasks=tasks)
    df = pd.DataFrame(A, index=order, columns=order)
    shuffled = df.loc[["paris", "lyon", "nice"], ["nice", "paris", "lyon"]]
    got = mtlfast.TaskGraphMultiTask(alpha=0.01, graph_alpha=1.0, similarity=shuffled).fit(
        X, y, tasks=tasks)
    np.testing.assert_array_equal(ref.coef_, got.coef_)
    wrong = df.rename(index={"nice": "rome"}, columns={"nice": "rome"})
    with pytest.raises(ValueError, match="similarity .*unknown \\['rome'\\]"):
        mtlfast.TaskGraphMultiTask(alpha=0.01, similarity=wrong).fit(X, y, tasks=tasks)
