"""adelie worker for the mtlfast benchmark, run by the Python of a separate
environment that has adelie (adelie pins numpy < 2):

    python adelie_fit.py DIR        then lines  "TOL LAMBDA_FILE OUT_PREFIX"

Fits  1/(2n) ||Y - X W||_F^2 + alpha * sum_j ||W_j||_2  with adelie's grouped
multi-response Gaussian GLM. adelie's loss is divided by the number of
responses K (see adelie.glm.multigaussian), so it is given lambda = alpha / K;
each feature's K coefficients form one group with penalty factor 1 (adelie's
default is sqrt(group size)); no intercept, no early exit along the path.
T = 1 uses adelie.glm.gaussian (lambda = alpha). Writes W (p x T x L,
column-major float64), the time of the grpnet() call alone, its peak resident
memory and the adelie version. The problem is read once; each line on stdin
asks for one fit, acknowledged by a line "ok" (or "error: ...") on stdout.
"""
import sys
import time

import numpy as np
import adelie as ad


_KEEP = []


def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def load(d):
    n, p, T, is_sparse = (int(float(v)) for v in open(f"{d}/shape.txt").read().split())
    if is_sparse:
        from scipy import sparse
        indptr = np.fromfile(f"{d}/indptr.bin", dtype="<i4")
        X = sparse.csc_matrix((np.fromfile(f"{d}/data.bin", dtype="<f8"),
                               np.fromfile(f"{d}/indices.bin", dtype="<i4"), indptr),
                              shape=(n, p))
        Xm = ad.matrix.sparse(X, method="naive", n_threads=1)
    else:
        X = np.fromfile(f"{d}/X.bin", dtype="<f8").reshape((n, p), order="F")
        Xm = ad.matrix.dense(X, method="naive", n_threads=1)
    Y = np.fromfile(f"{d}/Y.bin", dtype="<f8").reshape((n, T), order="F")
    _KEEP.append(X)          # adelie's matrix wraps X without copying it
    return Xm, Y, p, T


def fit(Xm, Y, p, T, tol, lam_file, out):
    alphas = np.fromfile(lam_file, dtype="<f8")
    if T == 1:
        glm, lmda = ad.glm.gaussian(np.ascontiguousarray(Y[:, 0])), alphas
    else:
        glm, lmda = ad.glm.multigaussian(np.ascontiguousarray(Y)), alphas / T
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        rss0 = status("VmRSS")
    except OSError:
        rss0 = None
    t0 = time.perf_counter()
    state = ad.grpnet(Xm, glm, lmda_path=lmda, intercept=False, alpha=1.0,
                      penalty=np.ones(p), tol=tol, early_exit=False,
                      progress_bar=False, n_threads=1, max_iters=10**8)
    elapsed = time.perf_counter() - t0
    peak = None if rss0 is None else status("VmHWM") - rss0
    betas = state.betas.toarray()            # (L, p*T), feature-major
    W = betas.reshape(len(alphas), p, T).transpose(1, 2, 0)
    np.asfortranarray(W).ravel(order="F").astype("<f8").tofile(out + ".W.bin")
    with open(out + ".info.txt", "w") as fh:
        fh.write(f"{elapsed:.9f}\n{'nan' if peak is None else peak}\n{ad.__version__}\n")


def main(d):
    data = load(d)
    for line in sys.stdin:
        tol, lam_file, out = line.split()
        try:
            fit(*data, float(tol), lam_file, out)
            reply = "ok"
        except Exception as e:          # reported to the benchmark, which raises
            reply = "error: " + repr(e).replace("\n", " ")
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
