"""Thread policy, BLAS limiting and the build/run-time configuration report."""
import os
import numbers
import time
import platform
import contextlib

from . import _openmp

_controller = None
_CPU_COUNT = os.cpu_count()       # read once (os.cpu_count costs ~10 us a call)


def openmp_enabled():
    """True when the compiled kernels were built with OpenMP."""
    return _openmp.openmp_enabled()


# busy_cores' last reading and when it was taken: fits that follow each other
# within BUSY_TTL seconds (the folds of a CV, a search, a path of small fits)
# share one snapshot of the machine's load instead of reading /proc each time
BUSY_TTL = 0.25
_busy = (-1.0, 0)


def busy_cores():
    """Cores that other processes keep busy: the runnable tasks of the
    machine (Linux: /proc/loadavg) other than this process's own running
    threads, read at most every BUSY_TTL seconds (a reading costs 20-150 us,
    a quarter of a small fit). 0 where the system does not say."""
    global _busy
    now = time.monotonic()
    if now - _busy[0] < BUSY_TTL:
        return _busy[1]
    _busy = (now, _read_busy_cores())
    return _busy[1]


def _read_busy_cores():
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    if running <= 1:                 # this thread alone
        return 0
    own = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
            own += stat[stat.rfind(")") + 2] == "R"     # the state field
    except (OSError, IndexError):
        own = 1
    return max(0, running - max(own, 1))


# a fit whose pass over X reads at most SERIAL_WORK entries x tasks runs on one
# thread by default: its parallel regions last well under a millisecond, less
# than the scheduler time slice (~4 ms) that one of them waits whenever another
# process holds the second core. Measured on a 2-vCPU machine (sweep seed
# 20261208, draws of 0.7-3.1e6 entries x tasks): the default took 0.02-0.03 s
# where one thread took 0.002-0.008 s.
SERIAL_WORK = 4e6


def resolve_n_threads(n_threads, work=None):
    """The one thread policy of mtlfast: the most threads a fit may use.

    work: the entries x tasks one pass over the data reads (None: unknown);
    with n_threads=None, a fit of at most SERIAL_WORK runs on one thread.

    None -> omp_get_max_threads() (honours OMP_NUM_THREADS; the cores this
    process may run on otherwise), lowered to the cores that other processes
    leave free right now (busy_cores; at least 1); -1 -> all cores; k >= 1 ->
    k. Always 1 without OpenMP. Within a fit the kernels' driver times its
    calls and runs each kind on one thread or on all of these, whichever is
    faster at the moment (mtlfast/_driver.pxd, Governor): results never
    depend on it.
    """
    if n_threads is None:
        k = _openmp.openmp_max_threads()
        if work is not None and work <= SERIAL_WORK:
            k = 1
        if k > 1:
            k = min(k, max(1, (_CPU_COUNT or k) - busy_cores()))
    elif isinstance(n_threads, numbers.Integral) and not isinstance(n_threads, bool):
        if n_threads == -1:
            k = _CPU_COUNT or 1
        elif n_threads >= 1:
            k = int(n_threads)
        else:
            raise ValueError(f"n_threads must be None, -1 or a positive integer, got {n_threads!r}.")
    else:
        raise TypeError(f"n_threads must be None, -1 or a positive integer, got {n_threads!r}.")
    if not openmp_enabled():
        return 1
    return max(1, k)


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller


# BLAS calls on operands this small never run threaded (OpenBLAS threads a
# gemm above m n k = 262144 and level-1 calls above n = 10000; MKL's
# thresholds are higher): a fit whose design has at most TINY_BLAS entries per
# task (n p T) and at most TINY_ROWS rows skips the limit (~20 us a fit)
TINY_BLAS = 65536
TINY_ROWS = 8192


@contextlib.contextmanager
def single_threaded_blas(n_samples=None, n_features=None, n_tasks=1):
    """Limit BLAS to one thread while our OpenMP kernels run (no
    oversubscription); a no-op for a problem of n_samples x n_features x
    n_tasks whose BLAS calls are too small to thread (TINY_BLAS)."""
    if (n_samples is not None and n_samples <= TINY_ROWS
            and n_samples * n_features * n_tasks <= TINY_BLAS):
        yield
        return
    with _get_controller().limit(limits=1, user_api="blas"):
        yield


def config():
    """Dictionary of versions, OpenMP status, thread settings and BLAS info."""
    import numpy, scipy, sklearn, threadpoolctl
    from . import __version__
    info = {
        "mtlfast": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "openmp_enabled": openmp_enabled(),
        "openmp_version": _openmp.openmp_version(),
        "openmp_max_threads": _openmp.openmp_max_threads(),
        "default_n_threads": resolve_n_threads(None),
        "cpu_count": os.cpu_count(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "threadpools": [
            {k: v for k, v in lib.items() if k in
             ("user_api", "internal_api", "num_threads", "version", "threading_layer", "architecture", "filepath")}
            for lib in _get_controller().info()
        ],
    }
    return info


def show_config(file=None):
    """Print mtlfast's build and run-time configuration."""
    info = config()
    lines = [f"{k}: {v}" for k, v in info.items() if k != "threadpools"]
    lines.append("threadpools:")
    for lib in info["threadpools"]:
        lines.append("  - " + ", ".join(f"{k}={v}" for k, v in lib.items()))
    print("\n".join(lines), file=file)
