"""Command line: `mtlfast fit | predict | inspect` (batch jobs: mtlfast.cli),
`mtlfast demo`, `mtlfast transfer` and `mtlfast config`."""
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


def transfer_demo(args):
    """Source -> target transfer on a generated problem: held-out error of the
    target fitted alone, the source model, the transfer lasso and the
    weighted pooled fit; every hyper-parameter chosen by 5-fold CV on the
    target's training rows only."""
    from sklearn.model_selection import GridSearchCV, KFold

    import mtlfast
    from mtlfast.datasets import make_transfer_problem

    d = make_transfer_problem(n_target=args.n_target, n_features=args.n_features,
                              seed=args.seed)
    Xs, ys, Xt, yt, Xe, ye = (d[k] for k in ("X_source", "y_source", "X_target", "y_target",
                                             "X_test", "y_test"))
    cv = KFold(5, shuffle=True, random_state=0)
    alphas = np.geomspace(1e-3, 3.0, 10)

    def search(est, grid, X, y):
        return GridSearchCV(est, grid, cv=cv, scoring="neg_mean_squared_error").fit(X, y)

    def mse(pred):
        return float(np.mean((pred - ye) ** 2))

    print(f"transfer demo: source n={len(ys)}, target n={len(yt)} (held-out {len(ye)}), "
          f"p={Xs.shape[1]}; the target differs from the source on 3 of "
          f"{np.count_nonzero(d['w_source'])} active features; noise variance 1")
    print(f"  {'method':<24}{'held-out MSE':>14}  chosen by 5-fold CV on the target",
          flush=True)
    rows = []

    def report(name, params, err):
        rows.append((name, params, err))
        ps = ", ".join(f"{k}={v:.3g}" for k, v in params.items())
        print(f"  {name:<24}{err:>14.3f}  {ps}", flush=True)

    target = search(mtlfast.Lasso(max_iter=10000), {"alpha": alphas}, Xt, yt)
    report("target alone (Lasso)", target.best_params_, mse(target.predict(Xe)))
    source = search(mtlfast.Lasso(max_iter=10000), {"alpha": alphas}, Xs, ys)
    report("source model only", source.best_params_, mse(source.predict(Xe)))
    tl = search(mtlfast.TransferLasso(coef_source=source.best_estimator_.coef_, max_iter=10000),
                {"alpha": alphas, "beta": [0.0, 0.25, 0.5, 0.75, 1.0]}, Xt, yt)
    report("TransferLasso", tl.best_params_, mse(tl.predict(Xe)))

    # weighted pooled objective lam * L_source + (1 - lam) * L_target through
    # task weights: W_t = w_0 + v_t with L1 on both parts, CV over target folds
    best = (np.inf, None)
    for lam in (0.1, 0.3, 0.5, 0.7, 0.9):
        for a in alphas:
            err = 0.0
            for tr, va in cv.split(Xt):
                m = mtlfast.MeanRegularizedMultiTask(a, a, shared_penalty="l1",
                                                     specific_penalty="l1", max_iter=10000)
                m.fit([Xs, Xt[tr]], [ys, yt[tr]], task_weight=[lam, 1 - lam])
                err += np.mean((Xt[va] @ m.coef_[1] + m.intercept_[1] - yt[va]) ** 2)
            best = min(best, (err, (lam, a)), key=lambda v: v[0])
    lam, a = best[1]
    m = mtlfast.MeanRegularizedMultiTask(a, a, shared_penalty="l1", specific_penalty="l1",
                                         max_iter=10000)
    m.fit([Xs, Xt], [ys, yt], task_weight=[lam, 1 - lam])
    report("pooled, task_weight", {"lam": lam, "alpha": a},
           mse(Xe @ m.coef_[1] + m.intercept_[1]))
    return rows


def text_transfer_demo(args):
    """Source -> target transfer on real text (mtlfast.datasets.
    load_docstring_corpus: "signal processing" against "linear algebra"
    docstrings, source scipy.signal / scipy.linalg, target numpy.fft /
    numpy.linalg + scipy.sparse.linalg). Each draw labels `labels` target documents per
    class, holds out the rest, and compares four classifiers on the held-out
    target documents, every hyper-parameter chosen by cross-validation on
    the labelled target documents only (the source model's on the source):
    the target alone (L1 logistic), the source model alone, the transfer
    model (TransferLogisticRegression toward the source coefficients) and
    the pooled fit lam * L_source + (1 - lam) * L_target (SourceWeighted,
    folds from SourceTargetSplit: the source rows in every training fold).
    TF-IDF is fitted on the source and the labelled target texts of the draw."""
    import warnings

    from scipy import sparse
    from sklearn import config_context
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    import mtlfast
    from mtlfast.datasets import load_docstring_corpus
    from mtlfast.model_selection import SourceTargetSplit
    from mtlfast.transfer import SourceWeighted

    d = load_docstring_corpus()
    ys, yt = d["y_source"], d["y_target"]
    rng = np.random.default_rng(args.seed)
    alphas = np.geomspace(3e-4, 3e-2, 5)
    k = args.labels
    print(f"text transfer demo: signal processing (1) against linear algebra (0); source "
          f"{len(ys)} docstrings (scipy.signal {ys.sum()}, scipy.linalg {len(ys) - ys.sum()}), "
          f"target {len(yt)} (numpy.fft {yt.sum()}, numpy.linalg + scipy.sparse.linalg "
          f"{len(yt) - yt.sum()}); {k} labelled target docstrings per class, the other "
          f"{len(yt) - 2 * k} held out; {args.draws} draws")
    names = ("target alone", "source model only", "TransferLogisticRegression",
             "pooled (SourceWeighted)")
    acc = {n: [] for n in names}
    for draw in range(args.draws):
        lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), k, replace=False)
                              for c in (1, 0)])
        test = np.setdiff1d(np.arange(len(yt)), lab)
        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english",
                              token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
        vec.fit(d["text_source"] + [d["text_target"][i] for i in lab])
        Xs = vec.transform(d["text_source"])
        Xt = vec.transform([d["text_target"][i] for i in lab])
        Xe = vec.transform([d["text_target"][i] for i in test])
        cv_t = StratifiedKFold(3, shuffle=True, random_state=draw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            l1 = mtlfast.MultiTaskLogisticRegression(penalty="l1")
            alone = GridSearchCV(l1, {"alpha": alphas}, cv=cv_t).fit(Xt, yt[lab])
            source = GridSearchCV(l1, {"alpha": alphas},
                                  cv=StratifiedKFold(5, shuffle=True, random_state=0)
                                  ).fit(Xs, ys)
            # a search clones its parameters: the fitted source model goes frozen
            tl = mtlfast.TransferLogisticRegression(
                coef_source=FrozenEstimator(source.best_estimator_))
            transfer = GridSearchCV(tl, {"alpha": alphas, "beta": [0.0, 0.25, 0.5]},
                                    cv=cv_t).fit(Xt, yt[lab])
            Xp = sparse.vstack([Xs, Xt], format="csr")
            tasks = np.r_[np.full(len(ys), "source"), np.full(len(lab), "target")]
            with config_context(enable_metadata_routing=True):
                pooled = GridSearchCV(SourceWeighted(l1, target="target"),
                                      {"source_weight": [0.1, 0.3, 0.5, 0.7, 0.9],
                                       "estimator__alpha": alphas},
                                      cv=SourceTargetSplit("target", n_splits=3)
                                      ).fit(Xp, np.r_[ys, yt[lab]], tasks=tasks)
        for name, model in zip(names, (alone, source, transfer, pooled)):
            acc[name].append(float(np.mean(model.predict(Xe) == yt[test])))
        if args.verbose:
            print(f"  draw {draw}: " + "  ".join(f"{a[-1]:.3f}" for a in acc.values()),
                  flush=True)
    wins = int(np.sum(np.array(acc[names[2]]) > np.array(acc[names[0]])))
    ties = int(np.sum(np.array(acc[names[2]]) == np.array(acc[names[0]])))
    print(f"  {'method':<28}{'held-out accuracy: mean +- sd':>30}{'worst draw':>12}")
    for name in names:
        print(f"  {name:<28}{np.mean(acc[name]):>22.3f} +- {np.std(acc[name]):.3f}"
              f"{np.min(acc[name]):>12.3f}")
    print(f"  TransferLogisticRegression beats the target alone in {wins} of {args.draws} "
          f"draws ({ties} ties)")
    return acc


def main(argv=None):
    from .cli import add_commands, run
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="mtlfast", description="Fast regularized multi-task and transfer learning: "
        "batch jobs (fit, cv, path, predict, inspect, report), demos and the build's "
        "configuration. `mtlfast COMMAND --help` documents each command.")
    parser.add_argument("--version", action="version", version=f"mtlfast {__version__}")
    sub = parser.add_subparsers(dest="command")
    add_commands(sub)
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
    t = sub.add_parser("transfer", help="source -> target transfer on a generated problem: "
                                        "held-out error with and without transfer")
    t.add_argument("--n-target", type=int, default=40)
    t.add_argument("--n-features", type=int, default=200)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--text", action="store_true",
                   help="classification on real text (docstrings shipped with scipy): "
                        "target alone, source model, transfer and pooled fits")
    t.add_argument("--draws", type=int, default=20,
                   help="--text: random draws of the labelled target documents")
    t.add_argument("--labels", type=int, default=3,
                   help="--text: labelled target documents per class")
    t.add_argument("--verbose", action="store_true", help="--text: one line per draw")
    sub.add_parser("config", help="show build and run-time configuration")
    args = parser.parse_args(argv)
    if args.command is None:          # a bare `mtlfast`: the overview, not an error
        parser.print_help()
        return 0
    if hasattr(args, "run"):
        return run(args)
    if args.command == "config":
        import mtlfast
        mtlfast.show_config()
        return 0
    if args.command == "transfer":
        (text_transfer_demo if args.text else transfer_demo)(args)
        return 0
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
