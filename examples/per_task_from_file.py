"""Per-task data from a file: a table with a task column (schools), one
model for all schools, alpha chosen by a search that keeps every school in
every fold, then saved and reloaded.

    python examples/per_task_from_file.py [--quick] [--workdir DIR]
"""
import argparse
import os
import tempfile

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

import mtlfast
from mtlfast.datasets import make_per_task_regression
from mtlfast.model_selection import TaskKFold


def write_table(path, quick):
    rng = np.random.default_rng(0)
    sizes = rng.integers(20, 60, 6 if quick else 40)           # schools of unequal sizes
    X, y, tasks, _ = make_per_task_regression(sizes, n_features=30, n_informative=5, seed=0)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df.insert(0, "school", np.array([f"school-{t:02d}" for t in tasks]))
    df["score"] = y
    df.to_csv(path, index=False)


def main(quick=False, workdir=None):
    workdir = workdir or tempfile.mkdtemp()
    path = os.path.join(workdir, "schools.csv")
    write_table(path, quick)
    df = pd.read_csv(path)
    X, y = df.drop(columns=["score"]), df["score"].to_numpy()
    search = GridSearchCV(mtlfast.MultiTaskLasso(), {"alpha": np.geomspace(1.0, 0.001, 8)},
                          cv=TaskKFold(3, task_column="school"), scoring="r2")
    search.fit(X, y, tasks="school")               # the column travels with X
    model = search.best_estimator_
    print(f"{len(model.tasks_)} schools, chosen alpha {search.best_params_['alpha']:.3g}, "
          f"CV R^2 {search.best_score_:.3f}, "
          f"{np.count_nonzero(np.any(model.coef_ != 0, axis=0))} features kept")
    mtlfast.save(model, os.path.join(workdir, "schools.mtl"))
    again = mtlfast.load(os.path.join(workdir, "schools.mtl"))
    assert np.array_equal(again.predict(X), model.predict(X))
    print(f"saved and reloaded: same predictions ({os.path.join(workdir, 'schools.mtl')})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    main(a.quick, a.workdir)
