"""Dense gap passes against BLAS on the same operands (issue 28: within 1.3x).

    python benchmarks/gap_pass.py [--repeat 5]

For tall dense problems (fit_intercept=False, one thread, BLAS on one
thread): a MultiTaskLasso / Lasso fit's seconds in its duality gaps per
pass over X (solver_info_: seconds["gaps"] / gap_passes) against one X^T R
(numpy, dgemm for T > 1, dgemv for T = 1) on an (n, T) residual; also the
fraction of the machine's peaks each reaches (dgemm GFLOP/s on a 2000 x 2000
product, streaming read GB/s of a 400 MB array, measured in the same run),
and the fit's X-passes by phase. Never run two benchmarks at once.
"""
import argparse
import os
import sys
import warnings

import numpy as np
from threadpoolctl import threadpool_limits, threadpool_info

import mtlfast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roofline import _best  # noqa: E402  (best of `repeat` timings)

SHAPES = [(35861, 678, 16), (20000, 500, 5), (10000, 300, 64), (20000, 1000, 1),
          (5000, 2000, 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print("BLAS:", [(d.get("internal_api"), d.get("num_threads")) for d in threadpool_info()
                    if d.get("user_api") == "blas"], "-> limited to 1 thread")
    with threadpool_limits(1, user_api="blas"):
        A = rng.standard_normal((2000, 2000))
        peak = 2 * 2000 ** 3 / _best(lambda: A @ A, 3) / 1e9
        big = np.ones(50_000_000)
        bw = big.nbytes / _best(big.sum, 5) / 1e9
        del A, big
        print(f"dgemm peak {peak:.1f} GFLOP/s, streaming read {bw:.1f} GB/s (one core)\n")
        print("| n x p x T | gap s / pass | X^T R s | ratio | gap GFLOP/s (% peak) | "
              "gap GB/s (% stream) | x_passes: gaps + epochs + Grams |")
        print("|---|---|---|---|---|---|---|")
        for n, p, T in SHAPES:
            X = np.asfortranarray(rng.standard_normal((n, p)))
            W = np.zeros((p, T))
            W[:10] = rng.standard_normal((10, T))
            Y = np.asfortranarray(X @ W + rng.standard_normal((n, T)))
            Est = mtlfast.MultiTaskLasso if T > 1 else mtlfast.Lasso
            y = Y if T > 1 else Y[:, 0]
            est = Est(alpha=0.01, fit_intercept=False, n_threads=1, tol=1e-8).fit(X, y)
            info = est.solver_info_
            per_pass = info["seconds"]["gaps"] / info["gap_passes"]
            R = np.asfortranarray(Y - X @ W)
            r = R[:, 0].copy()
            t_blas = _best((lambda: X.T @ R) if T > 1 else (lambda: X.T @ r), args.repeat)
            flops = 2.0 * n * p * T / per_pass / 1e9
            gbs = 8.0 * n * p / per_pass / 1e9
            print(f"| {n} x {p} x {T} | {per_pass:.4f} | {t_blas:.4f} | {per_pass / t_blas:.2f} | "
                  f"{flops:.1f} ({100 * flops / peak:.0f}%) | {gbs:.1f} ({100 * gbs / bw:.0f}%) | "
                  f"{info['gap_passes']:.1f} + {info['epoch_passes']:.1f} + "
                  f"{info['gram_passes']:.1f} (+1 norms) |", flush=True)


if __name__ == "__main__":
    main()
