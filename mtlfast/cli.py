"""Batch jobs from the command line: `mtlfast fit`, `cv`, `path`, `predict`,
`inspect`, `report`.

    mtlfast fit --data train.parquet --target y --tasks school \\
                --model MultiTaskLasso --set alpha=0.05 --out model.mtl
    mtlfast predict --model model.mtl --data new.parquet --out predictions.csv
    mtlfast fit job.toml          (the same options as a TOML file)

Exit codes: 0 done; 2 bad input (options, files, columns, parameters);
3 the fit did not converge and --strict was given; 1 an internal error.
Nothing is written when a job fails: the model and predictions files appear
complete or not at all.
"""
import argparse
import ast
import json
import os
import sys
import time
import warnings

import numpy as np

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NOT_CONVERGED = 0, 1, 2, 3

EPILOG = """exit codes: 0 done; 2 bad input (options, files, columns, parameters);
3 not converged (only with --strict); 1 internal error.
data formats: .csv .tsv .parquet .npz .svm/.svmlight/.libsvm .mtx (see --help of fit)."""


class BadInput(Exception):
    """Exit code 2, with this message."""


def estimators():
    """The estimator classes the command line can fit, by name."""
    import mtlfast
    from sklearn.base import BaseEstimator
    return {name: getattr(mtlfast, name) for name in mtlfast.__all__
            if isinstance(getattr(mtlfast, name), type)
            and issubclass(getattr(mtlfast, name), BaseEstimator)}


def parse_value(text):
    """A --set value: a Python literal (number, bool, None, list, string in
    quotes) or else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null"):
            return None
        return text


def parse_sets(items, following=None):
    """--set NAME=VALUE items as a dict. following: the word after a --set
    without '=' on the command line (argparse took it for another argument),
    for the message."""
    params = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            example = f"{item}={following}" if following and sep == "" else "alpha=0.05"
            raise BadInput(f"--set takes NAME=VALUE in one word, got {item!r}: write "
                           f"--set {example}.")
        params[key.strip()] = parse_value(value.strip())
    return params


def _split_names(text):
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return [str(t) for t in text]
    return [t.strip() for t in str(text).split(",") if t.strip()]


def _load_config(path):
    try:
        import tomllib
    except ImportError:                                  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the job file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None
    return cfg


FIT_KEYS = {"data", "target", "tasks", "features", "weight", "model", "params", "threads",
            "out", "summary", "predictions", "strict", "target_file", "standardize"}


def _merge_config(args):
    """Options from a TOML job file, overridden by those on the command line."""
    # "--set alpha 0.01" leaves "0.01" as the job file: say how --set is written
    parse_sets(args.set, following=getattr(args, "config", None))
    if args.config is None:
        return args
    cfg = _load_config(args.config)
    unknown = set(cfg) - FIT_KEYS
    if unknown:
        raise BadInput(f"{args.config}: unknown key(s) {sorted(unknown)}; known: "
                       f"{sorted(FIT_KEYS)}.")
    base = os.path.dirname(os.path.abspath(args.config))

    def rel(p):
        return p if p is None or os.path.isabs(p) else os.path.join(base, p)

    for key in ("data", "target", "tasks", "features", "weight", "model", "threads", "out",
                "summary", "predictions", "target_file"):
        if getattr(args, key, None) is None and key in cfg:
            value = cfg[key]
            setattr(args, key, rel(value) if key in ("data", "out", "summary", "predictions",
                                                     "target_file") else value)
    params = dict(cfg.get("params", {}))
    params.update(parse_sets(args.set))
    args.set = [f"{k}={v!r}" for k, v in params.items()]
    args.strict = args.strict or bool(cfg.get("strict", False))
    args.standardize = args.standardize or bool(cfg.get("standardize", False))
    return args


def _check_outputs(*paths):
    """Output files must be writable where they are to go: checked before any
    work, so that a job does not fit for an hour and then fail to save."""
    for path in paths:
        if path is None:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise BadInput(f"cannot write {path}: no directory {folder}.")
        if not os.access(folder, os.W_OK):
            raise BadInput(f"cannot write {path}: the directory {folder} is not writable.")
        if os.path.isdir(path):
            raise BadInput(f"cannot write {path}: it is a directory.")


def _estimator(name, params, threads):
    table = estimators()
    if name not in table:
        raise BadInput(f"unknown model {name!r}; one of: {', '.join(sorted(table))}.")
    est = table[name]()
    if threads is not None and "n_threads" in est.get_params():
        params = {**params, "n_threads": threads}
    valid = est.get_params()
    bad = [k for k in params if k not in valid]
    if bad:
        raise BadInput(f"{name} has no parameter(s) {bad}; its parameters: "
                       f"{', '.join(sorted(valid))}.")
    est.set_params(**params)
    return est


def _read_problem(args):
    """(table, X, y, fit keyword arguments) of fit, cv and path's data options:
    the target, task and weight columns must exist and are not features."""
    from ._data import read_table
    targets, tasks, weight = _split_names(args.target), args.tasks, args.weight
    exclude = set(targets or ["y"]) | {c for c in (tasks, weight) if c}
    required = {t: "--target" for t in targets or []}
    required.update({c: opt for c, opt in ((tasks, "--tasks"), (weight, "--weight")) if c})
    table = read_table(args.data, _split_names(args.features), args.target_file, exclude,
                       required)
    return (table, *_problem(table, targets, tasks, weight))


def _read_model(path, load=True):
    """(manifest, estimator or None) of a model file; unreadable: bad input."""
    from . import persistence
    try:
        manifest = persistence.read_manifest(path)
    except (OSError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    if not load:
        return manifest, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # an older version's file
        return manifest, persistence.load(path)


def _problem(table, targets, tasks, weight):
    """(X, y, fit keyword arguments) from the table's columns."""
    from ._data import DataError
    X = table.features
    if not targets:
        if "y" in table.columns:
            targets = ["y"]
        else:
            raise BadInput("--target is required (the target column or columns).")
    cols = [np.asarray(table.column(t, "--target")) for t in targets]
    for name, c in zip(targets, cols):
        if c.dtype.kind not in "biuf":
            raise DataError(f"target column {name!r} is not numeric (dtype {c.dtype}).")
    y = cols[0] if len(cols) == 1 else np.column_stack(cols)
    kw = {}
    if tasks is not None:
        if len(cols) > 1:
            raise BadInput("--tasks (one target per row, the long layout) takes one "
                           "--target column, not several.")
        kw["tasks"] = np.asarray(table.column(tasks, "--tasks"))
    if weight is not None:
        kw["sample_weight"] = np.asarray(table.column(weight, "--weight"), dtype=np.float64)
    return X, y, kw


def fit_command(args):
    from . import persistence
    from ._data import file_hash, write_predictions
    from sklearn.exceptions import ConvergenceWarning
    args = _merge_config(args)
    if args.data is None or args.model is None or args.out is None:
        raise BadInput("fit needs --data, --model and --out (or a job file with them).")
    _check_outputs(args.out, args.summary, args.predictions)
    if getattr(args, "scheduler", None):
        return _fit_on_cluster(args)
    targets, tasks, weight = _split_names(args.target), args.tasks, args.weight
    t0 = time.perf_counter()
    table, X, y, kw = _read_problem(args)
    t_read = time.perf_counter() - t0
    scaling = _standardizer(X, kw.get("sample_weight")) if args.standardize else None
    X = _standardize(X, scaling)
    est = _estimator(args.model, parse_sets(args.set), args.threads)
    # the fit's duality gaps, for the model file and the report's convergence
    # plot (cv: the refit's, recorded by a second, short fit is not worth it)
    recorder = None
    if args.command == "fit" and "callback" in est.get_params() and est.callback is None:
        from .plotting import ConvergenceRecorder
        recorder = ConvergenceRecorder()
        est.set_params(callback=recorder)
    if args.command == "cv":
        est = _path_cv(est, args)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            try:
                est.fit(X, y, **kw)
            finally:
                if recorder is not None:
                    est.set_params(callback=None)      # a callable is not saved
        except (ValueError, TypeError) as exc:
            raise BadInput(f"{args.model}.fit: {exc}") from None
    t_fit = time.perf_counter() - t0
    _name_features(est, table.feature_names)
    not_converged = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    job = {"data": os.path.abspath(args.data), "format": table.format,
           "features": table.feature_names, "targets": targets or ["y"], "tasks": tasks,
           "weight": weight, "standardize": scaling}
    if recorder is not None:
        job["convergence"] = [{k: h[k] for k in ("n_iter", "gap", "target", "elapsed")}
                              for h in recorder.history]
    t0 = time.perf_counter()
    persistence.save(est, args.out, metadata={"job": job})
    pred_path = None
    if args.predictions:
        pred_path = write_predictions(args.predictions, _prediction_columns(est, table, X, kw,
                                                                            job), table)
    t_write = time.perf_counter() - t0
    summary = {
        "command": "fit", "model": args.model, "params": _plain(est.get_params(deep=False)),
        "data": {"path": os.path.abspath(args.data), "sha256": file_hash(args.data),
                 "n_rows": int(table.n_rows), "n_features": len(table.feature_names),
                 "features": list(table.feature_names),
                 "sparse": bool(hasattr(X, "tocsc")), "targets": targets or ["y"],
                 "tasks": tasks, "weight": weight},
        "timings_s": {"read": round(t_read, 6), "fit": round(t_fit, 6),
                      "write": round(t_write, 6)},
        "n_iter": _plain(getattr(est, "n_iter_", None)),
        "dual_gap": _plain(getattr(est, "dual_gap_", None)),
        "converged": not not_converged, "warnings": not_converged,
        "model_file": os.path.abspath(args.out), "predictions_file": pred_path,
        "versions": persistence._versions(),
    }
    if args.command == "cv":
        summary["cv"] = {"param": est.param, "best_value": est.best_value_,
                         "best_params": _plain(est.best_params_),
                         "values": est.values_.tolist(),
                         "mean_loss": est.loss_path_.mean(axis=1).tolist(),
                         "folds": int(est.loss_path_.shape[1])}
        if est.grid_ != [{}]:
            # the CV surface: mean loss per combination (rows) and path value
            summary["cv"]["grid"] = _plain(est.grid_)
            summary["cv"]["loss_surface"] = est.loss_surface_.tolist()
    _emit_summary(summary, args.summary)
    if not_converged and args.strict:
        print(f"mtlfast fit: not converged (--strict): {not_converged[0]}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def _fit_on_cluster(args):
    """mtlfast fit --scheduler ADDRESS: the same job on a Dask cluster
    (mtlfast.dask.fit_distributed), reading a Parquet dataset partitioned by
    the task column on the workers."""
    from . import persistence
    if args.command != "fit":
        raise BadInput("--scheduler runs mtlfast fit only.")
    if args.standardize:
        raise BadInput("--standardize is not available with --scheduler (the data stay on "
                       "the workers): standardize the Parquet dataset's columns first.")
    if not args.tasks:
        raise BadInput("fit --scheduler needs --tasks (the task column; every Parquet "
                       "partition must hold whole tasks).")
    if args.predictions:
        raise BadInput("fit --scheduler does not write training predictions (the data stay "
                       "on the workers): use mtlfast predict with the model file.")
    targets = _split_names(args.target)
    if not targets or len(targets) != 1:
        raise BadInput("fit --scheduler needs one --target column (the long layout).")
    try:
        import dask.dataframe as dd
        from distributed import Client
    except ImportError as exc:
        raise BadInput("fit --scheduler needs dask[distributed] (pip install "
                       "'mtlfast[dask]').") from exc
    from .dask import fit_distributed
    est = _estimator(args.model, parse_sets(args.set), args.threads)
    t0 = time.perf_counter()
    ddf = dd.read_parquet(args.data)
    features = _split_names(args.features) if args.features else None
    with Client(args.scheduler) as client:
        try:
            fit_distributed(est, ddf, client, task=args.tasks, target=targets[0],
                            features=features, sample_weight=args.weight)
        except ValueError as exc:
            raise BadInput(f"{args.model} on the cluster: {exc}") from None
    t_fit = time.perf_counter() - t0
    job = {"data": os.path.abspath(args.data), "format": "parquet-dataset",
           "features": list(est.feature_names_in_), "targets": targets, "tasks": args.tasks,
           "weight": args.weight, "scheduler": args.scheduler}
    persistence.save(est, args.out, metadata={"job": job})
    converged = est.n_iter_ < est.max_iter      # the fit stopped on its gap, not max_iter
    summary = {"command": "fit", "model": args.model,
               "params": _plain(est.get_params(deep=False)), "data": job,
               "timings_s": {"fit": round(t_fit, 6)}, "n_iter": _plain(est.n_iter_),
               "dual_gap": _plain(est.dual_gap_), "converged": converged,
               "shards": [[_plain(t) for t in s] for s in est.shards_],
               "model_file": os.path.abspath(args.out),
               "versions": persistence._versions()}
    _emit_summary(summary, args.summary)
    if not converged and args.strict:
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def _path_cv(est, args):
    """The estimator wrapped in PathCV for `mtlfast cv` (per-task data: folds
    within each task)."""
    from .model_selection import PathCV
    param, grid = args.param, None
    strengths = getattr(est, "_strengths", ("alpha",))
    if args.values is None and param == "alpha" and param not in strengths:
        # a two-part structured model: both parts' strengths on their own
        # automatic grids, crossed (alpha_shared x alpha_specific)
        param, grid = strengths[-1], "auto"
    values = args.n_values if args.n_values is not None else (10 if grid else 30)
    if args.values is not None:
        try:
            values = [float(v) for v in _split_names(args.values)]
        except ValueError:
            raise BadInput(f"--values takes comma-separated numbers, got {args.values!r}.") \
                from None
    return PathCV(est, param=param, values=values, grid=grid, cv=args.folds,
                  scoring=args.scoring, n_jobs=args.n_jobs)


def path_command(args):
    """Fit along a grid of one parameter (warm starts) and write one row per
    value: the value, nonzero features, duality gap, epochs, seconds."""
    from ._data import write_predictions
    from ._cv_engine import _auto_grid, _prepare
    _check_outputs(args.out, args.summary)
    table, X, y, kw = _read_problem(args)
    if args.standardize:
        X = _standardize(X, _standardizer(X, kw.get("sample_weight")))
    est = _estimator(args.model, parse_sets(args.set), args.threads)
    if not hasattr(est, "_fit_path"):
        raise BadInput(f"{args.model} has no regularization path; use mtlfast cv.")
    try:
        if args.values is not None:
            values = sorted((float(v) for v in _split_names(args.values)), reverse=True)
        else:
            if args.param != "alpha":
                raise BadInput("an automatic grid exists only for --param alpha: give --values.")
            Xv, Y, sw, tk, _ = _prepare(est, X, y, kw.get("sample_weight"), kw.get("tasks"))
            values = _auto_grid(est, Xv, Y, sw, tk, None, args.eps, args.n_values or 30).tolist()
        rows = {"value": [], "nonzero_features": [], "dual_gap": [], "n_iter": [],
                "seconds": []}
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fitted in est._fit_path(X, y, kw.get("sample_weight"), kw.get("tasks"),
                                        param=args.param, values=values):
                coef = np.atleast_2d(fitted.coef_)
                rows["value"].append(getattr(fitted, args.param))
                rows["nonzero_features"].append(int(np.count_nonzero(np.any(coef != 0,
                                                                               axis=0))))
                rows["dual_gap"].append(float(np.max(fitted.dual_gap_)))
                rows["n_iter"].append(int(np.max(fitted.n_iter_)))
                rows["seconds"].append(time.perf_counter() - t0)
    except ValueError as exc:
        raise BadInput(f"{args.model} path: {exc}") from None
    write_predictions(args.out, rows, table)
    _emit_summary({"command": "path", "model": args.model, "param": args.param,
                   "n_values": len(rows["value"]), "out": os.path.abspath(args.out)},
                  args.summary)
    return EXIT_OK


def _standardizer(X, sample_weight=None):
    """--standardize: each feature column's (weighted) mean and standard
    deviation, as glmnet's standardize=TRUE (a constant column keeps scale
    1); sparse X is scaled, not centered (centering would densify it; the
    intercepts absorb the means). Stored in the model file's job."""
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if hasattr(X, "tocsc"):
        Xc = X.tocsc()
        mean = np.zeros(X.shape[1])
        sq = np.asarray(Xc.multiply(Xc).T @ (np.ones(X.shape[0]) if w is None else w)).ravel()
        m1 = np.asarray(Xc.T @ (np.ones(X.shape[0]) if w is None else w)).ravel()
        total = X.shape[0] if w is None else w.sum()
        var = np.maximum(sq / total - (m1 / total) ** 2, 0.0)
    else:
        mean = np.average(X, axis=0, weights=w)
        var = np.average((X - mean) ** 2, axis=0, weights=w)
    scale = np.sqrt(var)
    scale[~(scale > 0)] = 1.0
    return {"mean": mean.tolist(), "scale": scale.tolist()}


def _standardize(X, scaling):
    """X with --standardize's scaling applied (None: X itself)."""
    if not scaling:
        return X
    mean, scale = np.asarray(scaling["mean"]), np.asarray(scaling["scale"])
    if len(scale) != X.shape[1]:
        raise BadInput(f"the model standardized {len(scale)} features; the data have "
                       f"{X.shape[1]}.")
    if hasattr(X, "tocsc"):
        from scipy import sparse
        return sparse.csc_matrix(X @ sparse.diags(1.0 / scale))
    return (X - mean) / scale


def _name_features(est, names):
    """The table's feature columns as the fitted model's (and a CV model's
    refit's) feature_names_in_: the command line fits arrays read by column
    name, and model files, reports and plots then show the names."""
    names = np.asarray(names, dtype=object)
    for m in (est, getattr(est, "best_estimator_", None)):
        if m is not None and getattr(m, "n_features_in_", None) == len(names):
            m.feature_names_in_ = names


def _prediction_columns(est, table, X, kw, job, proba=False, keep=()):
    """The output's columns: the kept input columns (keep), the task column,
    then per target its prediction ({target}_pred) and, with proba, the
    probability of its positive (second) class ({target}_proba)."""
    tasks = kw.get("tasks")
    if proba and not hasattr(est, "predict_proba"):
        raise BadInput(f"--proba needs a classifier; {type(est).__name__} predicts values.")
    args = (X, tasks) if tasks is not None else (X,)
    with warnings.catch_warnings():
        # the columns were selected by name (the model's feature names): the
        # array read from them carries none
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        pred = np.asarray(est.predict(*args))
        prob = np.asarray(est.predict_proba(*args)) if proba else None
    if prob is not None and (prob.ndim == 1 or pred.ndim == 1):
        prob = prob.reshape(len(prob), -1)[:, -1]        # (n, 2): the positive class
    out = {name: table.values(name, "--keep") for name in keep}
    if tasks is not None:
        out[job["tasks"]] = tasks
    if pred.ndim == 1:
        names = ["prediction" if len(job["targets"]) != 1 else job["targets"][0]]
        pred, prob = pred[:, None], None if prob is None else prob[:, None]
    else:
        names = job["targets"] if len(job["targets"]) == pred.shape[1] else [
            f"task{t}" for t in range(pred.shape[1])]
    for j, name in enumerate(names):
        out[f"{name}_pred"] = pred[:, j]
        if prob is not None:
            out[f"{name}_proba"] = prob[:, j]
    return out


def predict_command(args):
    from ._data import read_table, write_predictions, default_predictions_ext
    if args.model is None or args.data is None:
        raise BadInput("predict needs --model and --data.")
    _check_outputs(args.out, args.summary)
    manifest, est = _read_model(args.model)
    job = manifest.get("metadata", {}).get("job", {})
    tasks_col = args.tasks or job.get("tasks")
    features = _split_names(args.features) or None
    table_ext = os.path.splitext(args.data)[1].lower()
    if features is None and job.get("features") and table_ext in (".csv", ".tsv", ".parquet",
                                                                  ".pq"):
        features = job["features"]
    keep = _split_names(args.keep) or []
    table = read_table(args.data, features, None,
                       set(job.get("targets", [])) | {c for c in (tasks_col,
                                                                  job.get("weight")) if c},
                       required={c: "--keep" for c in keep})
    n_in = getattr(est, "n_features_in_", None)
    if n_in is not None and table.features.shape[1] != n_in:
        raise BadInput(f"{args.data}: {table.features.shape[1]} feature columns, the model "
                       f"was fitted on {n_in}.")
    kw = {}
    if getattr(est, "_per_task", False):
        if tasks_col is None:
            raise BadInput("the model was fitted on per-task data: pass --tasks COLUMN.")
        kw["tasks"] = np.asarray(table.column(tasks_col, "--tasks"))
    out = args.out or (os.path.splitext(args.data)[0] + ".predictions"
                       + default_predictions_ext(table.format))
    try:
        cols = _prediction_columns(est, table, _standardize(table.features,
                                                            job.get("standardize")), kw,
                                   {"tasks": tasks_col, "targets": job.get("targets", ["y"])},
                                   proba=args.proba, keep=keep)
    except ValueError as exc:
        raise BadInput(f"predict: {exc}") from None
    write_predictions(out, cols, table)
    _emit_summary({"command": "predict", "model_file": os.path.abspath(args.model),
                   "data": os.path.abspath(args.data), "n_rows": int(table.n_rows),
                   "predictions_file": os.path.abspath(out)}, args.summary)
    return EXIT_OK


def inspect_command(args):
    manifest, _ = _read_model(args.model, load=False)
    shown = {k: manifest[k] for k in ("format", "format_version", "versions", "created",
                                      "estimator", "params", "summary", "metadata")
             if k in manifest}
    print(json.dumps(shown, indent=1))
    return EXIT_OK


def report_command(args):
    import importlib.util
    if importlib.util.find_spec("matplotlib") is None:
        raise BadInput("report draws with matplotlib, which is not installed: "
                       "pip install 'mtlfast[plot]'")
    from .plotting import report
    manifest, est = _read_model(args.model)
    if not hasattr(est, "coef_") and not hasattr(est, "best_estimator_"):
        raise BadInput(f"{args.model}: the model is not fitted; nothing to report.")
    out = args.out or os.path.splitext(args.model)[0] + ".html"
    _check_outputs(out)
    report(est, out, manifest=manifest, title=f"{type(est).__name__}: {args.model}")
    print(os.path.abspath(out))
    return EXIT_OK


def _plain(v):
    from .persistence import _jsonable
    return _jsonable(v)


def _emit_summary(summary, path):
    text = json.dumps(summary, indent=1)
    if path is None:
        print(text)
        return
    tmp = path + ".part"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def add_commands(sub):
    """The batch-job subcommands, on an argparse subparsers object."""
    def data_options(p):
        p.add_argument("--data", help="training data: .csv .tsv .parquet .npz .svm .mtx")
        p.add_argument("--target", help="target column(s), comma-separated (several: one "
                                        "task per column on a shared design); default 'y'")
        p.add_argument("--tasks", help="the task column (long layout: one row per sample, "
                                       "its task's label in this column)")
        p.add_argument("--features", help="feature columns, comma-separated (default: all "
                                          "columns but the target, task and weight columns)")
        p.add_argument("--weight", help="a sample-weight column")
        p.add_argument("--target-file", help="targets for a Matrix Market (.mtx) data file "
                                             "(.npy or text, one value per row)")
        p.add_argument("--model", help="estimator class, e.g. MultiTaskLasso, Lasso, "
                                       "DirtyMultiTaskLasso, MultiTaskLogisticRegression")
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="an estimator parameter (repeatable), e.g. --set alpha=0.05")
        p.add_argument("--threads", type=int, help="OpenMP threads (n_threads); default: "
                                                   "the idle cores")
        p.add_argument("--summary", help="write the JSON run summary here (default: stdout)")
        p.add_argument("--standardize", action="store_true",
                       help="fit on features scaled to unit (weighted) standard deviation "
                            "and, dense data, zero mean (glmnet's default); the scaling is "
                            "stored in the model file and applied by mtlfast predict; "
                            "coefficients are then per standard deviation")

    def grid_options(p):
        p.add_argument("--param", default="alpha", help="the parameter to vary (default "
                                                        "alpha)")
        p.add_argument("--values", help="its values, comma-separated (default: an automatic "
                                        "alpha grid from alpha_max)")
        p.add_argument("--n-values", type=int, default=None,
                       help="size of the automatic grid (default 30; 10 per part for the "
                            "two-part structured models, whose two strengths cv crosses)")
        p.add_argument("--eps", type=float, default=1e-3, help="the automatic grid ends at "
                                                               "eps * alpha_max")

    c = sub.add_parser(
        "cv", help="choose a parameter by cross-validation (PathCV), refit, save",
        description="Cross-validate one parameter of an estimator along its path (every fold "
                    "warm-started from large to small alpha; per-task data split within "
                    "each task), refit the best on all rows and save it (a PathCV model: "
                    "predict and report work on it).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_options(c)
    grid_options(c)
    c.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    c.add_argument("--scoring", help="a scikit-learn scorer name (default: the MSE, or the "
                                     "log-loss for classifiers)")
    c.add_argument("--n-jobs", type=int, default=None, help="folds run in parallel")
    c.add_argument("--out", help="the model file to write")
    c.add_argument("--predictions", help="also write the training predictions here")
    c.add_argument("--strict", action="store_true",
                   help="exit with code 3 when a fit does not converge")
    c.set_defaults(run=fit_command, config=None, target_file=None)

    pa = sub.add_parser(
        "path", help="fit along a grid of one parameter; one row per value",
        description="Fit along a grid of one parameter with warm starts and write a table: "
                    "value, nonzero features, duality gap, epochs, seconds (cumulative).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_options(pa)
    grid_options(pa)
    pa.add_argument("--out", required=True, help="the table to write (.csv .tsv .parquet "
                                                 ".npz)")
    pa.set_defaults(run=path_command)

    f = sub.add_parser(
        "fit", help="fit a model on a data file and save it",
        description="Fit an mtlfast estimator on a data file and write the model file "
                    "(mtlfast.save's format), a JSON run summary (stdout or --summary) and, "
                    "on request, the training predictions.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("config", nargs="?", default=None,
                   help="a TOML job file with the options below as keys (data, target, "
                        "tasks, features, weight, model, threads, out, summary, predictions, "
                        "strict, target_file, standardize) and a [params] table; options "
                        "given on the command line win")
    data_options(f)
    f.add_argument("--out", help="the model file to write")
    f.add_argument("--predictions", help="also write the training predictions here")
    f.add_argument("--strict", action="store_true",
                   help="exit with code 3 when the fit does not converge")
    f.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the fit on this Dask cluster (mtlfast.dask.fit_distributed): "
                        "--data is then a Parquet dataset whose partitions each hold whole "
                        "tasks (e.g. partitioned by the --tasks column), read on the workers")
    f.set_defaults(run=fit_command)

    p = sub.add_parser("predict", help="predict with a saved model",
                       description="Predict with a model file on a data file; the feature, "
                                   "task and target columns default to those of the fit.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a model file written by mtlfast fit or mtlfast.save")
    p.add_argument("--data", help="the rows to predict")
    p.add_argument("--tasks", help="the task column (default: the fit's)")
    p.add_argument("--features", help="feature columns (default: the fit's)")
    p.add_argument("--out", help="predictions file (.csv .tsv .parquet .npz; default: next "
                                 "to the data, in its format family)")
    p.add_argument("--proba", action="store_true",
                   help="classifiers: also write each target's probability of its positive "
                        "(second) class, as the column TARGET_proba")
    p.add_argument("--keep", metavar="COLUMNS",
                   help="input columns to copy to the output (comma-separated, e.g. "
                        "--keep id,date), first and in the input's row order")
    p.add_argument("--summary", help="write the JSON run summary here (default: stdout)")
    p.set_defaults(run=predict_command)

    i = sub.add_parser("inspect", help="show a model file's manifest (no model code runs)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("model", help="a model file")
    i.set_defaults(run=inspect_command)

    r = sub.add_parser("report", help="a static HTML report of a model file: summary and "
                                      "plots, images inline (needs matplotlib)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("model", help="a model file")
    r.add_argument("--out", help="the HTML file (default: next to the model, .html)")
    r.set_defaults(run=report_command)


def run(args):
    """Run a parsed batch command; returns the exit code."""
    from ._data import DataError
    try:
        return args.run(args)
    except (BadInput, DataError) as exc:
        print(f"mtlfast {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"mtlfast {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:                      # noqa: BLE001 - reported, exit code 1
        import traceback
        traceback.print_exc()
        print(f"mtlfast {args.command}: internal error: {exc!r}", file=sys.stderr)
        return EXIT_INTERNAL
