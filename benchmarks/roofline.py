"""One full pass over all features on dense X, against one core's measured
matrix-multiply peak (T >= 16, compute-bound) and memory bandwidth (T = 1,
bandwidth-bound), all measured in the same run with BLAS on one thread."""
import time

import numpy as np
from threadpoolctl import threadpool_limits

from mtlfast.datafits import QuadraticShared
from mtlfast.penalties import L1, L21
from mtlfast.solver import solve


def _best(f, repeat=5):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_peak(n=2000):
    A = np.asfortranarray(np.random.default_rng(0).standard_normal((n, n)))
    with threadpool_limits(1, user_api="blas"):
        A @ A
        t = _best(lambda: A @ A, 3)
    return 2.0 * n ** 3 / t / 1e9


def bandwidth(n_bytes=400_000_000):
    a = np.ones(n_bytes // 8)
    a.sum()
    t = _best(lambda: a.sum(), 5)       # one streaming read of the array
    return n_bytes / t / 1e9


def epoch_time(n, p, T, quick):
    """Seconds per plain epoch (strategy 'cd', no Anderson step, no
    screening): the difference between 6 and
    1 epochs, so the set-up and the gaps computed at the first and last epoch
    cancel out."""
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    Y = np.asfortranarray(rng.standard_normal((n, T)))
    df = QuadraticShared(X, Y, None, False)
    pen = L21(1e-6) if T > 1 else L1(1e-6)      # tiny alpha: nearly all rows move
    # plain epochs only: no extrapolation, no screening
    kw = dict(tol=-1.0, strategy="cd", n_threads=1, anderson_k=0, screening=False)
    W0 = solve(df, pen, max_iter=3, **kw).coef
    run = lambda k: solve(df, pen, W0, max_iter=k, **kw)
    t1 = _best(lambda: run(1), 3)
    t6 = _best(lambda: run(6), 3)
    return (t6 - t1) / 5.0


def roofline(quick=False):
    peak = gemm_peak(1500 if quick else 2000)
    bw = bandwidth(200_000_000 if quick else 400_000_000)
    out = dict(gemm_peak_gflops=peak, bandwidth_gbs=bw, passes=[])
    shapes = [(1000, 5000, 20), (300, 10000, 50)] if not quick else [(500, 2000, 20)]
    for n, p, T in shapes:
        t = epoch_time(n, p, T, quick)
        gf = 4.0 * n * p * T / t / 1e9              # X_j^T R and the rank update
        out["passes"].append(dict(n=n, p=p, T=T, seconds=t, gflops=gf,
                                  fraction_of_peak=gf / peak))
    n, p = (50000, 500) if not quick else (20000, 500)
    t = epoch_time(n, p, 1, quick)
    gbs = 8.0 * n * p / t / 1e9                      # X read once per pass
    out["passes"].append(dict(n=n, p=p, T=1, seconds=t, gbs=gbs, fraction_of_bandwidth=gbs / bw))
    return out


def describe(r):
    lines = [f"one core: dgemm {r['gemm_peak_gflops']:.1f} GFLOP/s, streaming read "
             f"{r['bandwidth_gbs']:.1f} GB/s"]
    for q in r["passes"]:
        if q["T"] > 1:
            lines.append(f"  full pass n={q['n']} p={q['p']} T={q['T']}: {q['gflops']:.1f} GFLOP/s "
                         f"= {100 * q['fraction_of_peak']:.0f}% of dgemm peak")
        else:
            lines.append(f"  full pass n={q['n']} p={q['p']} T=1: {q['gbs']:.1f} GB/s "
                         f"= {100 * q['fraction_of_bandwidth']:.0f}% of bandwidth")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(roofline()))
