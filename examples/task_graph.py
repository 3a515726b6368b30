"""Related tasks pulled together by a task graph: sensors in two groups,
similarity given as a labelled DataFrame (aligned by label, not position).

    python examples/task_graph.py [--quick]
"""
import argparse

import numpy as np
import pandas as pd

import mtlfast


def main(quick=False):
    rng = np.random.default_rng(2)
    names = ["north-1", "north-2", "north-3", "south-1", "south-2", "south-3"]
    p, n_t = (20, 15) if quick else (100, 25)
    base = {"north": rng.standard_normal(p) * (rng.random(p) < 0.3),
            "south": rng.standard_normal(p) * (rng.random(p) < 0.3)}
    X, y, tasks = [], [], []
    for name in names:
        w = base[name.split("-")[0]] + 0.1 * rng.standard_normal(p)
        Xt = rng.standard_normal((n_t, p))
        X.append(Xt)
        y.append(Xt @ w + 0.5 * rng.standard_normal(n_t))
        tasks += [name] * n_t
    X, y, tasks = np.vstack(X), np.concatenate(y), np.array(tasks)
    group = np.array([n.split("-")[0] for n in names])
    A = pd.DataFrame((group[:, None] == group[None, :]).astype(float), index=names,
                     columns=names)
    A = A.loc[names[::-1], names[::-1]]               # any order: aligned by label
    Xte = rng.standard_normal((200, p))
    for graph_alpha in (0.0, 1.0):
        m = mtlfast.TaskGraphMultiTask(alpha=0.02, graph_alpha=graph_alpha, similarity=A)
        m.fit(X, y, tasks=tasks)
        err = np.mean([np.mean((Xte @ (m.coef_[k] - base[lbl.split("-")[0]])) ** 2)
                       for k, lbl in enumerate(m.tasks_)])
        print(f"graph_alpha={graph_alpha}: mean squared error of the task models' "
              f"predictions against their group's true model {err:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
