"""Model files that execute no code when loaded: mtlfast.save / mtlfast.load.

A model file is a zip archive with two members:

  manifest.json   the format's name and version; the versions of mtlfast,
                  numpy, scipy, scikit-learn and Python that wrote it; the
                  estimator's class, its parameters, a summary (feature names,
                  task labels, n_iter_, dual_gap_, convergence) for people and
                  tools that never load it; and the estimator's whole state as
                  typed JSON whose arrays point into arrays.npz
  arrays.npz      every array (coefficients, intercepts, labels, ...), written
                  by numpy.savez and read with allow_pickle=False

Loading builds the estimator with ``cls.__new__(cls)`` and sets its
attributes: no pickle, no constructor, no code from the file. Only classes of
mtlfast and scikit-learn that are estimators or splitters can appear; any
other name in a manifest is refused. The round trip is exact (arrays bit for
bit, Python floats through their shortest repr).

Files written by this version carry FORMAT_VERSION 1; later versions of
mtlfast keep reading them (tests/data holds one such file). A file from a
newer format is refused with a message saying which version wrote it.
"""
import datetime
import importlib
import io
import json
import numbers
import os
import platform
import tempfile
import warnings
import zipfile

import numpy as np
from scipy import sparse

FORMAT = "mtlfast-model"
FORMAT_VERSION = 1
_TRUSTED_PACKAGES = ("mtlfast", "sklearn")


def _versions():
    import scipy
    import sklearn
    from . import __version__
    return {"mtlfast": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def _trusted_class(obj_or_cls):
    """Estimators and splitters of mtlfast and scikit-learn."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return (cls.__module__.split(".")[0] in _TRUSTED_PACKAGES
            and issubclass(cls, (BaseEstimator, BaseCrossValidator, BaseShuffleSplit)))


class _Encoder:
    """Python objects -> typed JSON, arrays set aside for the npz member."""

    def __init__(self):
        self.arrays = {}

    def array(self, a, where):
        a = np.asarray(a)
        tag = {"__array__": None}
        if a.dtype.kind == "O":
            values = a.ravel().tolist()
            if all(isinstance(v, str) for v in values):
                a = a.astype(str)
            elif all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                     for v in values):
                a = a.astype(np.int64)
            else:
                raise TypeError(f"cannot save {where}: an object array of "
                                f"{sorted({type(v).__name__ for v in values})}.")
            tag["object"] = True
        if a.dtype.kind not in "biufcUS":
            raise TypeError(f"cannot save {where}: arrays of dtype {a.dtype} are not supported.")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        tag["__array__"] = key
        return tag

    def __call__(self, obj, where="model"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, numbers.Integral) and type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if np.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, np.generic):
            return {"__scalar__": self.array(np.asarray(obj), where)}
        if isinstance(obj, np.ndarray):
            return self.array(obj, where)
        if sparse.issparse(obj):
            m = sparse.csr_array(obj) if obj.format not in ("csr", "csc") else obj
            return {"__sparse__": m.format, "matrix": isinstance(obj, sparse.spmatrix),
                    "shape": list(m.shape), "data": self.array(m.data, where),
                    "indices": self.array(m.indices, where),
                    "indptr": self.array(m.indptr, where)}
        if isinstance(obj, (list, tuple)):
            items = [self(v, f"{where}[{i}]") for i, v in enumerate(obj)]
            return items if type(obj) is list else {"__tuple__": items}
        if isinstance(obj, dict):
            if all(type(k) is str for k in obj) and not any(k.startswith("__") for k in obj):
                return {k: self(v, f"{where}.{k}") for k, v in obj.items()}
            return {"__items__": [[self(k, where), self(v, f"{where}[{k!r}]")]
                                  for k, v in obj.items()]}
        if isinstance(obj, np.dtype):
            if obj.kind not in "biufcUS":
                raise TypeError(f"cannot save {where}: dtype {obj}.")
            return {"__dtype__": obj.str}
        if isinstance(obj, np.random.RandomState):
            return {"__random_state__": self(obj.get_state(), where)}
        if isinstance(obj, type) and obj.__module__.split(".")[0] in (
                _TRUSTED_PACKAGES + ("numpy", "builtins")):
            return {"__type__": f"{obj.__module__}:{obj.__qualname__}"}
        if _trusted_class(obj):
            cls = type(obj)
            return {"__object__": f"{cls.__module__}:{cls.__qualname__}",
                    "state": self(dict(vars(obj)), f"{where}<{cls.__name__}>")}
        raise TypeError(f"cannot save {where}: objects of type {type(obj).__qualname__} are "
                        "not supported by mtlfast.save (use pickle or joblib for such models).")


def _resolve(name, trusted_check=True):
    module, _, qual = name.partition(":")
    if module.split(".")[0] not in _TRUSTED_PACKAGES + ("numpy", "builtins"):
        raise ValueError(f"the model file names {name!r}, which is not a class of mtlfast or "
                         "scikit-learn: refused.")
    obj = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"the model file names {name!r}, which this installation does "
                             "not have.")
    if not isinstance(obj, type) or (trusted_check and not _trusted_class(obj)):
        raise ValueError(f"the model file names {name!r}, which is not an estimator or "
                         "splitter class: refused.")
    return obj


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays

    def array(self, tag):
        a = self.arrays[tag["__array__"]]
        if tag.get("object"):
            a = a.astype(object)
            if a.dtype == object and a.size and isinstance(a.flat[0], np.str_):
                a = np.array([str(v) for v in a.ravel()], dtype=object).reshape(a.shape)
            elif a.size and isinstance(a.flat[0], np.integer):
                a = np.array([int(v) for v in a.ravel()], dtype=object).reshape(a.shape)
        return a

    def __call__(self, obj):
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__array__" in obj:
            return self.array(obj)
        if "__scalar__" in obj:
            return self.array(obj["__scalar__"])[()]
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(self(v) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {_hashable(self(k)): self(v) for k, v in obj["__items__"]}
        if "__sparse__" in obj:
            parts = (self.array(obj["data"]), self.array(obj["indices"]),
                     self.array(obj["indptr"]))
            kind = {"csr": sparse.csr_matrix if obj["matrix"] else sparse.csr_array,
                    "csc": sparse.csc_matrix if obj["matrix"] else sparse.csc_array}
            return kind[obj["__sparse__"]](parts, shape=tuple(obj["shape"]))
        if "__dtype__" in obj:
            return np.dtype(obj["__dtype__"])
        if "__random_state__" in obj:
            rs = np.random.RandomState()
            rs.set_state(self(obj["__random_state__"]))
            return rs
        if "__type__" in obj:
            return _resolve(obj["__type__"], trusted_check=False)
        if "__object__" in obj:
            cls = _resolve(obj["__object__"])
            est = cls.__new__(cls)
            est.__dict__.update(self(obj["state"]))
            _add_new_parameters(est)
            return est
        return {k: self(v) for k, v in obj.items()}


def _add_new_parameters(est):
    """A model saved before its class gained a constructor parameter: the
    parameter gets its default (what the older version did), so that
    get_params, clone and fit keep working."""
    import inspect
    try:
        params = inspect.signature(type(est).__init__).parameters
    except (TypeError, ValueError):
        return
    for name, p in params.items():
        if (name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                and p.default is not p.empty and name not in est.__dict__):
            setattr(est, name, p.default)


def _hashable(v):
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def _summary(est):
    """What a reader of the manifest wants without loading the model."""
    out = {}
    for attr in ("n_features_in_", "n_iter_", "dual_gap_", "eps_", "alpha_", "x_passes_"):
        v = getattr(est, attr, None)
        if v is not None:
            out[attr] = v.item() if isinstance(v, np.generic) else v
    for attr in ("feature_names_in_", "tasks_", "classes_"):
        v = getattr(est, attr, None)
        if v is not None:
            out[attr] = np.asarray(v).tolist() if not isinstance(v, list) else v
    coef = getattr(est, "coef_", None)
    if coef is not None:
        coef = np.atleast_2d(coef)
        out["coef_shape"] = list(coef.shape)
        out["nonzero_features"] = int(np.count_nonzero(np.any(coef != 0, axis=0)))
    return out


def save(model, path, *, metadata=None):
    """Write a fitted (or unfitted) mtlfast estimator to `path` (a new file;
    an existing file is replaced only once the new one is complete).
    metadata: a JSON-able dict kept in the manifest (the command line keeps
    its job there: feature, target and task columns).

    The file holds no pickle: see the module docstring for its layout. Raises
    TypeError when the estimator holds an object that the format cannot
    represent (nothing is written then).
    """
    if not _trusted_class(model):
        raise TypeError(f"mtlfast.save writes mtlfast estimators, got {type(model).__name__}.")
    enc = _Encoder()
    cls = type(model)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "versions": _versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "estimator": f"{cls.__module__}:{cls.__qualname__}",
        "params": {k: _jsonable(v) for k, v in model.get_params(deep=False).items()},
        "summary": _jsonable(_summary(model)),
        "metadata": _jsonable(metadata or {}),
        "state": enc(dict(vars(model)), cls.__name__),
    }
    buf = io.BytesIO()
    np.savez(buf, **enc.arrays)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mtlfast-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.json", json.dumps(manifest, indent=1, allow_nan=False))
            z.writestr("arrays.npz", buf.getvalue())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp's file is private (0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _jsonable(v):
    """A readable JSON rendering for the manifest's informational parts."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return repr(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray) and v.size <= 64:
        return _jsonable(v.tolist())
    if isinstance(v, np.ndarray):
        return f"<array {v.shape} {v.dtype}>"
    return f"<{type(v).__name__}>"


def read_manifest(path):
    """The manifest of a model file (a dict), without loading the model."""
    try:
        with zipfile.ZipFile(path) as z:
            manifest = json.loads(z.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not an mtlfast model file ({exc}).") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not an mtlfast model file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in model format {version!r} by mtlfast "
            f"{manifest.get('versions', {}).get('mtlfast', '?')}; this mtlfast reads format "
            f"{FORMAT_VERSION} and older: upgrade mtlfast.")
    return manifest


def load(path):
    """Read a model file written by mtlfast.save: the estimator, as saved."""
    manifest = read_manifest(path)
    with zipfile.ZipFile(path) as z:
        with np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    cls = _resolve(manifest["estimator"])
    saved = manifest["versions"].get("mtlfast")
    from . import __version__
    if saved != __version__:
        warnings.warn(f"{path} was saved by mtlfast {saved}; this is mtlfast {__version__}.",
                      UserWarning, stacklevel=2)
    est = cls.__new__(cls)
    est.__dict__.update(_Decoder(arrays)(manifest["state"]))
    _add_new_parameters(est)
    return est


def skops_trusted_types():
    """The type names to pass as ``trusted=`` to ``skops.io.load`` for a file
    of an mtlfast estimator written by ``skops.io.dump``: mtlfast's estimator
    and splitter classes, and numpy's dtype (some estimators keep theirs).
    skops then builds them without unpickling anything else."""
    from .cli import estimators
    from .model_selection import TaskKFold
    names = [f"{c.__module__}.{c.__qualname__}" for c in estimators().values()]
    names.append(f"{TaskKFold.__module__}.{TaskKFold.__qualname__}")
    return sorted(set(names)) + ["numpy.dtype"]

