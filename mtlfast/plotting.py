"""Plots where people would rather look than read (matplotlib, an optional
dependency: ``pip install "mtlfast[plot]"``).

plot_path(alphas, coefs)          regularization path: each feature's row norm
                                  across tasks against alpha
plot_cv(cv)                       a CV estimator's mean loss per grid value with
                                  its standard error, the chosen value and the
                                  one-standard-error band
plot_coefficients(model)          task x feature heatmap of coef_ (two-part
                                  models: the shared and specific parts too)
plot_cv_surface(cv)               a PathCV over a crossed grid (alpha_shared x
                                  alpha_specific): the mean loss heatmap
plot_task_graph(similarity)       the task graph: tasks on a circle, edges as wide
                                  as their similarity (the strongest 200 drawn)
plot_convergence(history)         duality gap against time (a ConvergenceRecorder
                                  passed as callback= records it)
report(model, path)               a static HTML page with the model's summary and
                                  these plots, images inline

Every function takes an optional `ax` (or makes its own figure) and returns
the matplotlib Axes (Figure for multi-panel plots).
"""
import base64
import html
import io

import numpy as np


def _plt():
    """pyplot (matplotlib picks a non-interactive backend where there is no
    display)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('mtlfast.plotting needs matplotlib: pip install "mtlfast[plot]"') \
            from None
    return plt


def _axes(ax, figsize=(6.4, 4.0)):
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_path(alphas, coefs, *, ax=None, max_labels=8, feature_names=None):
    """Regularization path from mtlfast.lasso_path / enet_path's (alphas,
    coefs): for each feature that is ever nonzero, its row norm over the tasks
    (|w_j| with one task) against alpha, log scale, largest alpha left."""
    ax = _axes(ax)
    alphas = np.asarray(alphas, dtype=float)
    C = np.asarray(coefs, dtype=float)
    if C.ndim == 2:
        C = C[None]                                 # (1, p, n_alphas)
    if C.ndim != 3 or C.shape[-1] != alphas.size:
        raise ValueError("coefs must be (n_features, n_alphas) or (n_tasks, n_features, "
                         f"n_alphas) with n_alphas={alphas.size}; got shape {np.shape(coefs)}.")
    norms = np.sqrt((C ** 2).sum(axis=0))           # (p, n_alphas)
    active = np.flatnonzero(norms.max(axis=1) > 0)
    for j in active:
        ax.plot(alphas, norms[j], lw=1.2)
    order = active[np.argsort(-norms[active, -1])][:max_labels]
    for j in order:
        name = feature_names[j] if feature_names is not None else f"x{j}"
        ax.annotate(str(name), (alphas[-1], norms[j, -1]), fontsize=7,
                    xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("alpha")
    ax.set_ylabel("row norm over tasks" if np.shape(coefs)[0] > 1 and C.shape[0] > 1
                  else "|coefficient|")
    ax.set_title(f"Regularization path ({active.size} features ever active)")
    return ax


def plot_cv(cv, *, ax=None):
    """The cross-validated loss of a fitted MultiTaskLassoCV,
    MultiTaskElasticNetCV (first l1_ratio) or PathCV: mean over folds with
    its standard error, the chosen value, and the band within one standard
    error of the best mean (the one-standard-error rule's candidates)."""
    ax = _axes(ax)
    if hasattr(cv, "loss_path_"):
        grid, loss, chosen, name = cv.values_, cv.loss_path_, cv.best_value_, cv.param
    elif hasattr(cv, "mse_path_"):
        grid, loss, chosen, name = np.asarray(cv.alphas_), np.asarray(cv.mse_path_), \
            cv.alpha_, "alpha"
        if loss.ndim == 3:                          # (n_l1_ratio, n_alphas, n_folds)
            k = int(np.argmin([abs(r - cv.l1_ratio_) for r in np.atleast_1d(cv.l1_ratio)]))
            loss, grid = loss[k], np.atleast_2d(grid)[k]
    else:
        raise ValueError(f"{type(cv).__name__} is not a fitted mtlfast CV estimator.")
    grid = np.asarray(grid, dtype=float)
    mean = loss.mean(axis=1)
    se = loss.std(axis=1, ddof=1) / np.sqrt(loss.shape[1]) if loss.shape[1] > 1 else 0 * mean
    best = int(np.argmin(mean))
    ax.fill_between(grid, mean - se, mean + se, alpha=0.25, label="mean +- 1 s.e.")
    ax.plot(grid, mean, marker="o", ms=3, label="mean over folds")
    ax.axhspan(mean[best], mean[best] + se[best], color="tab:green", alpha=0.12,
               label="within 1 s.e. of the best")
    ax.axvline(chosen, color="k", ls="--", lw=1, label=f"chosen {name} = {chosen:.3g}")
    positive = np.all(grid > 0)
    if positive:
        ax.set_xscale("log")
    if positive and grid[0] > grid[-1]:
        ax.invert_xaxis()
    ax.set_xlabel(name)
    ax.set_ylabel("loss (lower is better)")
    ax.set_title(f"Cross-validation over {loss.shape[1]} folds")
    ax.legend(fontsize=8)
    return ax


def plot_cv_surface(cv, *, ax=None):
    """A PathCV fitted with a crossed grid (e.g. alpha_shared x
    alpha_specific): the mean CV loss of every combination (rows) and path
    value (columns), the chosen cell marked."""
    ax = _axes(ax)
    if len(getattr(cv, "grid_", [{}])) < 2:
        raise ValueError("plot_cv_surface needs a PathCV fitted with a grid of at least two "
                         "combinations (PathCV(grid=...)); use plot_cv for one path.")
    S = np.asarray(cv.loss_surface_, dtype=float)
    im = ax.imshow(S, aspect="auto", cmap="viridis_r", interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="mean loss (lower is better)")
    c, i = np.unravel_index(int(np.argmin(S)), S.shape)
    ax.plot(i, c, marker="*", ms=14, color="red", label="chosen")
    ax.set_xticks(range(S.shape[1]))
    ax.set_xticklabels([f"{v:.2g}" for v in cv.values_], fontsize=7, rotation=90)
    ax.set_yticks(range(S.shape[0]))
    ax.set_yticklabels([", ".join(f"{v:.2g}" for v in g.values()) for g in cv.grid_],
                       fontsize=7)
    ax.set_xlabel(cv.param)
    ax.set_ylabel(", ".join(cv.grid_[0]))
    ax.set_title("Cross-validation surface: " + ", ".join(
        f"{k} = {v:.3g}" for k, v in cv.best_params_.items()), fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    return ax


def _columns(M, max_features):
    """The nonzero features of M, the largest max_features by sum |M|."""
    cols = np.flatnonzero(np.any(M != 0, axis=0))
    if cols.size > max_features:
        keep = np.argsort(-np.abs(M[:, cols]).sum(axis=0))[:max_features]
        cols = np.sort(cols[keep])
    return cols


def _heat(ax, M, title, labels, cols, names=None):
    """Heatmap of M's columns `cols` (feature indices; labelled by names
    when given), tasks as rows."""
    vmax = float(np.abs(M[:, cols]).max()) if cols.size else 0.0
    vmax = vmax if vmax > 0 else 1.0
    im = ax.imshow(M[:, cols] if cols.size else np.zeros((M.shape[0], 1)), aspect="auto",
                   cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    nz = int(np.count_nonzero(np.any(M[:, cols] != 0, axis=0))) if cols.size else 0
    ax.set_title(f"{title}: {nz} of the {cols.size} features shown are nonzero", fontsize=9)
    ax.set_ylabel("task")
    ax.set_yticks(range(M.shape[0]))
    ax.set_yticklabels([str(v) for v in labels], fontsize=7)
    if cols.size:
        ticks = np.arange(cols.size) if cols.size <= 40 else np.linspace(
            0, cols.size - 1, 12).round().astype(int)
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(cols[k] if names is None else names[cols[k]])
                            for k in ticks], fontsize=6, rotation=90)
    ax.set_xlabel("feature index" if names is None else "feature")
    return im


def plot_coefficients(model, *, max_features=60, fig=None):
    """Task x feature heatmap of a fitted model's coef_ (its nonzero
    features, the largest max_features, labelled by the names it was fitted
    with (feature_names_in_) or by index); for shared +
    specific models also the two parts on the same features. Returns the
    Figure."""
    plt = _plt()
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=float))
    labels = getattr(model, "tasks_", None)
    if labels is None:
        labels = [str(t) for t in range(coef.shape[0])]
    panels = [("coef_ (W, task x feature)", coef)]
    if hasattr(model, "coef_shared_") and hasattr(model, "coef_specific_"):
        shared = np.asarray(model.coef_shared_, dtype=float)
        shared = np.broadcast_to(np.atleast_2d(shared), coef.shape) if shared.ndim == 1 \
            else np.atleast_2d(shared)
        panels += [("shared part", shared),
                   ("task-specific part", np.atleast_2d(np.asarray(model.coef_specific_,
                                                                   dtype=float)))]
    if fig is None:
        fig = plt.figure(figsize=(7.5, 1.2 + 0.25 * coef.shape[0] * len(panels) + 1.2 *
                                  len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    cols = _columns(coef, max_features)        # the same features in every panel
    names = getattr(model, "feature_names_in_", None)
    for ax, (title, M) in zip(axes, panels):
        im = _heat(ax, M, title, labels, cols, names)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(type(model).__name__, fontsize=10)
    return fig


def plot_task_graph(similarity, labels=None, *, ax=None, max_edges=200):
    """The task graph of a similarity matrix (array, sparse or labelled
    DataFrame): tasks on a circle, each edge as wide and dark as its weight;
    only the max_edges strongest edges are drawn (a complete graph of 50
    tasks has 1,225: drawn all, the circle is a solid disc), the title says
    how many of how many."""
    ax = _axes(ax, figsize=(5.0, 5.0))
    if hasattr(similarity, "columns") and labels is None:
        labels = list(similarity.columns)
    A = similarity.toarray() if hasattr(similarity, "toarray") else np.asarray(similarity,
                                                                                 dtype=float)
    T = A.shape[0]
    labels = [str(t) for t in range(T)] if labels is None else [str(v) for v in labels]
    angle = 2 * np.pi * np.arange(T) / T
    xy = np.column_stack([np.cos(angle), np.sin(angle)])
    off = A - np.diag(np.diag(A))
    wmax = off.max() if off.max() > 0 else 1.0
    s_idx, t_idx = np.triu_indices(T, 1)
    w_all = off[s_idx, t_idx]
    edges = np.flatnonzero(w_all > 0)
    shown = edges[np.argsort(-w_all[edges], kind="stable")[:max_edges]]
    for k in shown[::-1]:                       # the strongest drawn last, on top
        w = w_all[k] / wmax
        ax.plot(*xy[[s_idx[k], t_idx[k]]].T, color="tab:blue", lw=0.5 + 4 * w,
                alpha=0.25 + 0.7 * w)
    ax.scatter(*xy.T, s=120, color="tab:orange", zorder=3)
    for (x, y), name in zip(xy, labels):
        ax.annotate(name, (x, y), xytext=(1.12 * x, 1.12 * y), ha="center", va="center",
                    fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.axis("off")
    ax.set_title(f"Task graph ({edges.size} edges" + (
        f"; the {shown.size} strongest drawn)" if shown.size < edges.size else ")"))
    return ax


class ConvergenceRecorder:
    """A callback (``callback=ConvergenceRecorder()``) that records each
    progress report; `history` is the list of the reports' dicts."""

    def __init__(self):
        self.history = []

    def __call__(self, info):
        self.history.append(dict(info))
        return False


def plot_convergence(history, *, ax=None):
    """Duality gap against time (and the target it must reach) from a
    ConvergenceRecorder's history (or any list of the callback's dicts)."""
    ax = _axes(ax)
    history = getattr(history, "history", history)
    if not history:
        raise ValueError("no progress reports to plot (the fit reported none: it converged "
                         "at its first gap).")
    t = np.array([h["elapsed"] for h in history])
    g = np.array([h["gap"] for h in history])
    ax.semilogy(t, np.maximum(g, 1e-300), marker="o", ms=3, label="duality gap")
    ax.axhline(history[-1]["target"], color="k", ls="--", lw=1, label="target (tol)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("duality gap (kernel scaling)")
    ax.set_title(f"Convergence of {history[-1].get('estimator', 'the fit')}")
    ax.legend(fontsize=8)
    return ax


def _png(fig):
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def report(model, path, *, manifest=None, title=None):
    """Write a static HTML report of a fitted model to `path`: the summary
    (class, parameters, convergence, versions when a manifest is given), the
    coefficient heatmap(s), the CV curve (and surface) for CV estimators,
    the fit's duality gaps when the manifest has them (mtlfast fit records
    them), and the task graph for task-graph models. Images are inline PNGs."""
    plt = _plt()
    figs = []
    target = getattr(model, "best_estimator_", model)
    figs.append(("Coefficients", plot_coefficients(target)))
    if hasattr(model, "loss_path_") or hasattr(model, "mse_path_"):
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
        plot_cv(model, ax=ax)
        figs.append(("Cross-validation", fig))
    if len(getattr(model, "grid_", [{}])) > 1:
        fig, ax = plt.subplots(figsize=(7.0, 4.8), layout="constrained")
        plot_cv_surface(model, ax=ax)
        figs.append(("Cross-validation surface", fig))
    history = ((manifest or {}).get("metadata", {}).get("job", {}) or {}).get("convergence")
    if history:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
        plot_convergence([{**h, "estimator": type(target).__name__} for h in history], ax=ax)
        figs.append(("Convergence", fig))
    sim = getattr(target, "similarity", None)
    if sim is not None:
        fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
        plot_task_graph(sim, getattr(target, "tasks_", None), ax=ax)
        figs.append(("Task graph", fig))
    rows = [("estimator", type(model).__name__)]
    for attr in ("n_iter_", "dual_gap_", "eps_", "alpha_", "best_params_", "n_features_in_",
                 "x_passes_"):
        if hasattr(model, attr):
            v = getattr(model, attr)
            rows.append((attr, ", ".join(f"{k} = {x:.4g}" for k, x in v.items())
                         if isinstance(v, dict)
                         else np.array2string(np.asarray(v), precision=4, threshold=8)))
    coef = np.atleast_2d(np.asarray(target.coef_))
    rows.append(("coef_ shape", str(coef.shape)))
    rows.append(("nonzero features", str(int(np.count_nonzero(np.any(coef != 0, axis=0))))))
    if hasattr(target, "tasks_"):
        rows.append(("tasks_", ", ".join(map(str, list(target.tasks_)[:50]))))
    params = {k: v for k, v in model.get_params(deep=False).items()}
    if manifest is not None:
        rows += [("saved", manifest.get("created", "")),
                 ("versions", ", ".join(f"{k} {v}" for k, v in
                                        manifest.get("versions", {}).items()))]
    esc = html.escape
    body = [f"<h1>{esc(title or type(model).__name__)}</h1>", "<h2>Summary</h2><table>"]
    body += [f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows]
    body.append("</table><h2>Parameters</h2><table>")
    body += [f"<tr><th>{esc(k)}</th><td>{esc(repr(v)[:200])}</td></tr>"
             for k, v in params.items()]
    body.append("</table>")
    for name, fig in figs:
        body.append(f"<h2>{esc(name)}</h2><img alt='{esc(name)}' "
                    f"src='data:image/png;base64,{_png(fig)}'>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{esc(title or type(model).__name__)}</title><style>body{{font-family:sans-serif;"
            "max-width:60em;margin:2em auto}}th{{text-align:left;padding-right:1em}}"
            "td,th{{font-size:90%;vertical-align:top}}img{{max-width:100%}}</style></head>"
            "<body>" + "\n".join(body) + "</body></html>\n")
    tmp = str(path) + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    import os
    os.replace(tmp, path)
    return path
