"""Command line: `python -m mtlfast demo` and `python -m mtlfast config`."""
import argparse
import sys
import time

import numpy as np


def demo(args):
    import sklearn
    import sklearn.linear_model as sk
    from threadpoolctl import threadpool_limits

    import mtlfast
    from mtlfast.datasets import make_multitask_regression

    X, Y, W_true = make_multitask_regression(args.n_samples, args.n_features, args.n_tasks,
                                             args.n_informative, rho=0.5, seed=args.seed)
    n = X.shape[0]
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    alpha_max = np.linalg.norm(Xc.T @ Yc, axis=1).max() / n
    alpha = alpha_max * args.alpha_ratio
    print(f"mtlfast {mtlfast.__version__} demo: multi-task lasso (L2,1), shared support")
    print(f"  problem: n={n}, p={X.shape[1]}, T={Y.shape[1]}, {args.n_informative} informative "
          f"features, AR(1) rho=0.5; alpha = alpha_max * {args.alpha_ratio:g} = {alpha:.4g}")
    print(f"  threads: mtlfast n_threads={mtlfast.resolve_n_threads(args.n_threads)} "
          f"(OpenMP {'on' if mtlfast.openmp_enabled() else 'OFF'}), BLAS limited to 1 thread for both")

    results = {}
    for name, est in [("mtlfast", mtlfast.MultiTaskLasso(alpha=alpha, tol=args.tol,
                                                          n_threads=args.n_threads)),
                      (f"scikit-learn {sklearn.__version__}",
                       sk.MultiTaskLasso(alpha=alpha, tol=args.tol))]:
        best = np.inf
        for _ in range(args.repeat):
            with threadpool_limits(1, user_api="blas"):
                t0 = time.perf_counter()
                est.fit(X, Y)
                best = min(best, time.perf_counter() - t0)
        results[name] = (est, best)

    true_support = np.flatnonzero(np.any(W_true != 0, axis=1))
    print(f"\n  {'solver':<22}{'time (s)':>10}{'epochs':>8}{'dual gap':>12}{'tolerance':>12}"
          f"{'support':>9}{'recall':>8}{'precision':>11}")
    for name, (est, t) in results.items():
        support = np.flatnonzero(np.any(est.coef_ != 0, axis=0))
        hit = np.intersect1d(support, true_support).size
        recall = hit / max(true_support.size, 1)
        precision = hit / max(support.size, 1)
        print(f"  {name:<22}{t:>10.3f}{est.n_iter_:>8}{est.dual_gap_:>12.2e}"
              f"{est.eps_ / n:>12.2e}{support.size:>9}{recall:>8.2f}{precision:>11.2f}")
    (m, tm), (s, ts) = results.values()
    print(f"\n  certificate: mtlfast duality gap {m.dual_gap_:.2e} <= tol * ||Y||^2 / n = "
          f"{m.eps_ / n:.2e}: {'certified' if m.dual_gap_ * n <= m.eps_ else 'NOT converged'}")
    print(f"  max |coef difference| vs scikit-learn: {np.abs(m.coef_ - s.coef_).max():.2e}")
    print(f"  time ratio scikit-learn / mtlfast: {ts / tm:.2f}x (best of {args.repeat})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mtlfast")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fit a multi-task lasso on a generated problem, "
                                    "next to scikit-learn")
    d.add_argument("--n-samples", type=int, default=500)
    d.add_argument("--n-features", type=int, default=3000)
    d.add_argument("--n-tasks", type=int, default=20)
    d.add_argument("--n-informative", type=int, default=30)
    d.add_argument("--alpha-ratio", type=float, default=0.1)
    d.add_argument("--tol", type=float, default=1e-6)
    d.add_argument("--n-threads", type=int, default=None)
    d.add_argument("--repeat", type=int, default=3)
    d.add_argument("--seed", type=int, default=0)
    sub.add_parser("config", help="show build and run-time configuration")
    args = parser.parse_args(argv)
    if args.command == "config":
        import mtlfast
        mtlfast.show_config()
        return 0
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
