"""NumPy twin of mtlfast._cd_structured: cyclic block coordinate descent over
features for the structured models of mtlfast.penalties.structured on a
per-task quadratic datafit; the models' row updates and gaps are the
models' own methods."""
import numpy as np


def block_norms2(df, blocks):
    """||y_eff||^2 of each block of tasks (all tasks: one block)."""
    ye = df.y_eff.astype(np.float64)
    yy = np.array([ye[s] @ ye[s] for s in df.task_slices()])
    return yy if blocks == df.n_tasks else np.array([yy.sum()])


def bcd_structured(df, model, parts0=None, max_epochs=100, tol=None):
    """Cyclic block coordinate descent over features for a structured model
    (the NumPy twin of mtlfast._cd_structured.solve_structured).

    Per feature j: g_t = x_jt . r_t and H_t = ||x_jt||^2 over each task's
    rows, then model.row_update, then r_t -= d_t x_jt.
    tol: stop when every block's gap <= tol * ||y_block||^2 (checked after
    each epoch; None: run max_epochs). Returns (parts, gaps, epochs).
    """
    p, T = df.n_features, df.n_tasks
    sl = df.task_slices()
    X = df.design_dense()
    parts = model.init_parts(p, T) if parts0 is None else \
        [np.array(Pk, dtype=np.float64) for Pk in parts0]
    H = np.array([[X[s, j] @ X[s, j] for s in sl] for j in range(p)])
    r = df.residual(model.effective(parts))
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        for j in range(p):
            g = np.array([X[s, j] @ r[s] for s in sl])
            delta = model.row_update(parts, j, g, H[j])
            for t, s in enumerate(sl):
                if delta[t] != 0:
                    r[s] -= X[s, j] * delta[t]
        if tol is not None:
            gaps = model.gaps(df, parts)
            if np.all(gaps <= tol * block_norms2(df, len(gaps))):
                break
    return parts, model.gaps(df, parts), epoch
