"""A batch job through the command line: fit from a Parquet file with a
task column, predict new rows, write an HTML report; exit codes checked
as a scheduler would.

    python examples/batch_job.py [--quick] [--workdir DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

from mtlfast.datasets import make_per_task_regression


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "mtlfast", *args], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"mtlfast {args[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def main(quick=False, workdir=None):
    workdir = workdir or tempfile.mkdtemp()
    sizes = np.full(5 if quick else 30, 40)
    X, y, tasks, _ = make_per_task_regression(sizes, n_features=20, n_informative=4, seed=3)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df.insert(0, "store", np.array([f"store-{t}" for t in tasks]))
    df["sales"] = y
    train, new = df.iloc[::2], df.iloc[1::2].drop(columns=["sales"])
    train.to_parquet(os.path.join(workdir, "train.parquet"))
    new.to_parquet(os.path.join(workdir, "new.parquet"))
    os.chdir(workdir)
    summary = json.loads(run("fit", "--data", "train.parquet", "--target", "sales",
                             "--tasks", "store", "--model", "MultiTaskLasso",
                             "--set", "alpha=0.05", "--out", "model.mtl", "--strict"))
    print(f"fit: {summary['data']['n_rows']} rows, converged {summary['converged']}, "
          f"{summary['timings_s']['fit']:.3f} s")
    run("predict", "--model", "model.mtl", "--data", "new.parquet",
        "--out", "predictions.parquet", "--summary", "predict.json")
    pred = pd.read_parquet("predictions.parquet")
    print(f"predict: {len(pred)} rows -> {os.path.join(workdir, 'predictions.parquet')}")
    try:
        import matplotlib  # noqa: F401
        run("report", "model.mtl", "--out", "report.html")
        print(f"report: {os.path.join(workdir, 'report.html')}")
    except ImportError:
        print("report skipped (matplotlib not installed)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    main(a.quick, a.workdir)
