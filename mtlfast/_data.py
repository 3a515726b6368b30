"""Data files for batch jobs: read a table (CSV, Parquet, NPZ, svmlight/libsvm,
Matrix Market) into features, targets, tasks and weights chosen by column
name, and write predictions in the input's format family.

Formats (by file extension):
  .csv .tsv .txt          pandas.read_csv (pip install "mtlfast[io]")
  .parquet .pq            pandas.read_parquet through pyarrow ("mtlfast[io]")
  .npz                    np.savez arrays named as columns: X (the features;
                          dense), or a scipy.sparse.save_npz file (features
                          only), plus one 1-D array per other column (y, task,
                          weight, ...)
  .svm .svmlight .libsvm  sklearn's load_svmlight_file: sparse features, the
                          target column "y", and "qid" (query ids) usable as
                          the task column
  .mtx                    scipy.io.mmread: sparse features only; the target
                          comes from --target-file
Sparse features stay sparse (CSC).
"""
import hashlib
import os

import numpy as np
from scipy import sparse

TABLE = (".csv", ".tsv", ".txt", ".parquet", ".pq")
FORMATS = TABLE + (".npz", ".svm", ".svmlight", ".libsvm", ".mtx")


class DataError(ValueError):
    """A data file or a column choice that cannot be used (exit code 2)."""


def file_hash(path, chunk=1 << 20):
    """sha256 of a file's bytes (the run summary's input fingerprint)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _ext(path):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise DataError(f"{path}: unknown data format {ext!r}; expected one of "
                        f"{', '.join(FORMATS)}.")
    return ext


def _pandas():
    try:
        import pandas
    except ImportError:
        raise DataError('reading CSV or Parquet needs pandas: pip install "mtlfast[io]"') from None
    return pandas


def _read_frame(path, ext):
    pd = _pandas()
    try:
        if ext in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if ext == ".tsv" else ",")
    except ImportError as exc:
        raise DataError(f'{path}: {exc} (pip install "mtlfast[io]")') from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


class Table:
    """Columns of a data file: `features` (a 2-D array or CSC matrix, with
    `feature_names`) and 1-D `columns` by name (targets, tasks, weights)."""

    def __init__(self, path, features, feature_names, columns, fmt):
        self.path, self.features, self.feature_names = path, features, list(feature_names)
        self.columns, self.format = columns, fmt
        self.n_rows = features.shape[0]

    def column(self, name, role):
        if name not in self.columns:
            raise DataError(f"{self.path}: no column {name!r} for {role}; columns: "
                            f"{', '.join(map(str, self.columns)) or '(none)'}.")
        return self.columns[name]

    def values(self, name, role):
        """Any column by name, a feature column included (a dense table's)."""
        if name in self.columns or name not in self.feature_names or sparse.issparse(
                self.features):
            return self.column(name, role)
        return np.asarray(self.features[:, self.feature_names.index(name)])


def read_table(path, features=None, target_file=None, exclude=(), required=None):
    """Read `path` into a Table. features: the feature columns by name (CSV,
    Parquet; None: every column not in `exclude`); required: {column: role}
    that must exist (checked first, so that a misspelt task column is named
    as such)."""
    path = os.fspath(path)
    ext = _ext(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file.")
    if ext in TABLE:
        df = _read_frame(path, ext)
        for name, role in (required or {}).items():
            if name not in df.columns:
                raise DataError(f"{path}: no column {name!r} for {role}; columns: "
                                f"{', '.join(map(str, df.columns))}.")
        if features is None:
            names = [c for c in df.columns if c not in set(exclude)]
        else:
            missing = [c for c in features if c not in df.columns]
            if missing:
                raise DataError(f"{path}: no feature column(s) {missing}.")
            names = list(features)
        if not names:
            raise DataError(f"{path}: no feature columns left.")
        bad = [c for c in names if df[c].dtype.kind not in "biuf"]
        if bad:
            raise DataError(f"{path}: feature column(s) {bad[:5]} are not numeric.")
        missing = df[names].isna().sum()
        missing = missing[missing > 0]
        if len(missing):
            shown = ", ".join(f"{c!r} ({k} rows)" for c, k in list(missing.items())[:5])
            raise DataError(f"{path}: feature column(s) with missing values (NaN): {shown}; "
                            "drop or impute those rows first, or leave the columns out "
                            "(--features).")
        X = np.asfortranarray(df[names].to_numpy(dtype=np.float64))
        cols = {c: df[c].to_numpy() for c in df.columns if c not in names}
        return Table(path, X, names, cols, ext)
    if ext == ".npz":
        try:
            return _read_npz(path, ext)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
    if ext == ".mtx":
        from scipy.io import mmread
        try:
            X = sparse.csc_matrix(mmread(path))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
        cols = {}
        if target_file is not None:
            cols["y"] = _read_target_file(target_file)
        return Table(path, X, [f"x{j}" for j in range(X.shape[1])], cols, ext)
    from sklearn.datasets import load_svmlight_file
    try:
        X, y, qid = load_svmlight_file(path, query_id=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    cols = {"y": y}
    if qid.size and np.any(qid != 0):
        cols["qid"] = qid
    X = sparse.csc_matrix(X)
    return Table(path, X, [f"x{j}" for j in range(X.shape[1])], cols, ext)


def _read_npz(path, ext):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if {"data", "indices", "indptr", "format", "shape"} <= set(arrays):
        X = sparse.load_npz(path).tocsc()
        cols = {}
    else:
        if "X" not in arrays:
            raise DataError(f"{path}: an .npz data file needs an array 'X' (the features) "
                            f"or scipy.sparse.save_npz's arrays; found {sorted(arrays)}.")
        X = arrays.pop("X")
        if X.ndim != 2:
            raise DataError(f"{path}: X must be 2-D, got shape {X.shape}.")
        X = np.asfortranarray(X)
        cols = {}
        for k, v in arrays.items():
            if v.ndim == 1:
                cols[k] = v
            elif v.ndim == 2:          # a 2-D target: its columns as k0, k1, ...
                for j in range(v.shape[1]):
                    cols[f"{k}{j}"] = v[:, j]
    return Table(path, X, [f"x{j}" for j in range(X.shape[1])], cols, ext)


def _read_target_file(path):
    try:
        y = np.load(path) if path.endswith(".npy") else np.loadtxt(path, ndmin=1)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the targets: {exc}") from None
    return np.asarray(y).ravel()


def write_predictions(path, columns, like):
    """Write named 1-D columns to `path`, whose extension picks the format
    (the input's family by default: see predictions_path)."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    tmp = path + ".part"
    try:
        if ext in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
            pd = _pandas()
            df = pd.DataFrame(columns)
            if ext in (".parquet", ".pq"):
                df.to_parquet(tmp, index=False)
            else:
                df.to_csv(tmp, sep="\t" if ext == ".tsv" else ",", index=False)
        elif ext == ".npz":
            with open(tmp, "wb") as f:
                np.savez(f, **{k: np.asarray(v) for k, v in columns.items()})
        else:
            raise DataError(f"{path}: predictions are written as .csv, .tsv, .parquet or "
                            f".npz, not {ext!r}.")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def default_predictions_ext(fmt):
    """The input's format family for predictions: tables as themselves,
    NPZ as NPZ, text formats (svmlight, Matrix Market) as CSV."""
    return fmt if fmt in (".csv", ".tsv", ".parquet", ".pq", ".npz") else ".csv"
