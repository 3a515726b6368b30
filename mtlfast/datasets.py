"""Built-in generated problems (seeded), used by the demo, tests and benchmarks."""
import numpy as np
from scipy import sparse


def make_multitask_regression(n_samples=500, n_features=2000, n_tasks=10, n_informative=20,
                              rho=0.0, noise=0.5, density=1.0, dtype=np.float64, seed=0):
    """Multi-task regression with one support shared by all tasks.

    Columns follow an AR(1) correlation with coefficient `rho` (as in MEG/EEG
    source imaging); `density` < 1 returns a CSC sparse X. The informative
    rows are spread evenly over the features.

    Returns
    -------
    X : ndarray (Fortran-ordered) or CSC matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
    W : ndarray of shape (n_features, n_tasks), the true coefficients
    """
    rng = np.random.default_rng(seed)
    if density < 1.0:
        X = sparse.random(n_samples, n_features, density=density, format="csc",
                          random_state=rng, data_rvs=rng.standard_normal, dtype=np.float64)
    else:
        X = rng.standard_normal((n_samples, n_features))
        if rho:
            # AR(1) across columns: X_j = rho X_{j-1} + sqrt(1 - rho^2) e_j
            for j in range(1, n_features):
                X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * X[:, j]
        X = np.asfortranarray(X)
    W = np.zeros((n_features, n_tasks))
    support = np.linspace(0, n_features - 1, n_informative).astype(int)
    W[support] = rng.standard_normal((n_informative, n_tasks))
    Y = np.asarray(X @ W) + noise * rng.standard_normal((n_samples, n_tasks))
    return X.astype(dtype), np.asfortranarray(Y, dtype=dtype), W


def make_per_task_regression(task_sizes, n_features=2000, n_informative=20, shared=0.8,
                             noise=0.5, density=1.0, dtype=np.float64, seed=0):
    """Per-task designs of unequal sizes (long layout) with related tasks.

    Task t has task_sizes[t] rows of its own X. Its coefficients share one
    support: w_t = sqrt(shared) * w + sqrt(1 - shared) * e_t on the
    informative features (w, e_t standard normal). `density` < 1 returns a
    CSC X.

    Returns
    -------
    X : ndarray (Fortran-ordered) or CSC of shape (sum(task_sizes), n_features)
    y : ndarray of shape (sum(task_sizes),)
    tasks : ndarray of int, the task of each row (rows grouped by task)
    W : ndarray of shape (n_features, n_tasks)
    """
    rng = np.random.default_rng(seed)
    sizes = np.asarray(task_sizes, dtype=int)
    N, T = int(sizes.sum()), len(sizes)
    if density < 1.0:
        X = sparse.random(N, n_features, density=density, format="csc", random_state=rng,
                          data_rvs=rng.standard_normal, dtype=np.float64)
    else:
        X = np.asfortranarray(rng.standard_normal((N, n_features)))
    W = np.zeros((n_features, T))
    support = np.linspace(0, n_features - 1, n_informative).astype(int)
    W[support] = (np.sqrt(shared) * rng.standard_normal((n_informative, 1))
                  + np.sqrt(1 - shared) * rng.standard_normal((n_informative, T)))
    tasks = np.repeat(np.arange(T), sizes)
    y = np.asarray((X @ W)[np.arange(N), tasks]).ravel() if not sparse.issparse(X) else \
        np.asarray(X.multiply(W[:, tasks].T).sum(axis=1)).ravel()
    y = y + noise * rng.standard_normal(N)
    return X.astype(dtype), y.astype(dtype), tasks, W


def make_transfer_problem(n_source=1000, n_target=40, n_test=1000, n_features=200,
                          n_informative=10, n_changed=3, noise=1.0, seed=0):
    """A source task with many samples and a target task with few, whose
    coefficients differ from the source's on `n_changed` features.

    Returns a dict with X_source, y_source, X_target, y_target, X_test,
    y_test (target task) and the true w_source, w_target.
    """
    rng = np.random.default_rng(seed)
    w_s = np.zeros(n_features)
    support = rng.choice(n_features, n_informative, replace=False)
    w_s[support] = rng.choice([-1, 1], n_informative) * rng.uniform(1, 2, n_informative)
    w_t = w_s.copy()
    changed = rng.choice(n_features, n_changed, replace=False)
    w_t[changed] += rng.choice([-1, 1], n_changed) * rng.uniform(1, 2, n_changed)

    def draw(n, w):
        X = rng.standard_normal((n, n_features))
        return X, X @ w + noise * rng.standard_normal(n)
    Xs, ys = draw(n_source, w_s)
    Xt, yt = draw(n_target, w_t)
    Xe, ye = draw(n_test, w_t)
    return dict(X_source=Xs, y_source=ys, X_target=Xt, y_target=yt, X_test=Xe, y_test=ye,
                w_source=w_s, w_target=w_t)


# the text transfer demo's categories: "signal processing" (1) against
# "linear algebra" (0), in a source domain and a related target domain
DOCSTRING_SOURCE = (("scipy.signal",), ("scipy.linalg",))
DOCSTRING_TARGET = (("numpy.fft",), ("numpy.linalg", "scipy.sparse.linalg"))


def _docstrings(modules, min_length):
    """The docstrings (inspect.getdoc) of the public names of `modules`, in
    sorted order, those of at least min_length characters."""
    import importlib
    import inspect
    out = []
    for name in modules:
        mod = importlib.import_module(name)
        for attr in sorted(dir(mod)):
            if attr.startswith("_"):
                continue
            doc = inspect.getdoc(getattr(mod, attr))
            if doc and len(doc) >= min_length:
                out.append(doc)
    return out


def load_docstring_corpus(source=DOCSTRING_SOURCE, target=DOCSTRING_TARGET, min_length=200):
    """A two-domain text classification corpus from documentation that the
    installed packages ship (nothing is downloaded): the docstrings of the
    public functions and classes of some modules, labelled 1 or 0 by the
    modules they come from.

    source, target : (modules of label 1, modules of label 0) of each
        domain; by default "signal processing against linear algebra",
        source scipy.signal / scipy.linalg, target numpy.fft /
        numpy.linalg + scipy.sparse.linalg (related topics, other words).
    min_length : shorter docstrings are left out.

    Returns a dict with text_source, y_source, text_target, y_target
    (lists of str, int arrays); a docstring that appears more than once
    (re-exported names) is kept once, in its first place. The texts (and
    so any figures computed from them) depend on the installed versions.
    """
    seen = set()
    out = {}
    for domain, (pos, neg) in (("source", source), ("target", target)):
        texts, labels = [], []
        for label, modules in ((1, pos), (0, neg)):
            for doc in _docstrings(modules, min_length):
                if doc not in seen:
                    seen.add(doc)
                    texts.append(doc)
                    labels.append(label)
        out["text_" + domain], out["y_" + domain] = texts, np.array(labels)
    return out
