"""Feedback and control of a running fit: progress reports (verbose, the
`mtlfast` logger, a callback that can stop the fit) and a time budget.

One mechanism for every kernel: an estimator's fit runs inside
``fit_control(...)``; every KernelOptions made meanwhile carries the
control's `deadline` (time.monotonic seconds) and `progress` callable, and
the solver driver (src/mtlfast/_driver.pxd, Watch) stops at the deadline and
calls `progress` after each full duality gap, on the thread that started the
fit, through the same per-gap hook that checks for Ctrl-C. A fit stopped by
either ends normally with the gap of its last point (a certificate of what
was reached); the estimator then warns with a ConvergenceWarning.

The gap and target reported are in the kernel's scaling (the shared design:
n times the objective's; the others: the objective's); their ratio is what
matters: the fit stops when gap <= target.
"""
import contextlib
import contextvars
import logging
import numbers
import sys
import time

logger = logging.getLogger("mtlfast")

_current = contextvars.ContextVar("mtlfast_fit_control", default=None)


class FitControl:
    """What one fit reports and obeys. callback(info) gets a dict with
    `n_iter` (epochs or Newton steps of the block so far), `gap`, `target`,
    `elapsed` (seconds) and `estimator` (the class name); a true return value
    stops the fit."""

    def __init__(self, name, verbose=0, callback=None, max_time=None):
        self.name = name
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time
        timed = isinstance(max_time, numbers.Real) and not isinstance(max_time, bool)
        self.deadline = time.monotonic() + float(max_time) if timed else None
        self.error = None                # an exception raised by the callback
        self.stopped_by_callback = False
        self.reports = 0
        active = bool(verbose) or callback is not None or logger.isEnabledFor(logging.INFO)
        self.progress = self._progress if active else None

    def _progress(self, gap, target, n_iter, elapsed):
        """Called by the kernels with the GIL; never raises (an exception is
        kept and re-raised when the kernel returns)."""
        try:
            self.reports += 1
            line = (f"[mtlfast {self.name}] n_iter {n_iter:>6}  gap {gap:.3e}  "
                    f"target {target:.3e}  {elapsed:.3f} s")
            logger.info(line)
            if self.verbose:
                print(line, file=sys.stderr, flush=True)
            if self.callback is not None:
                stop = bool(self.callback({"estimator": self.name, "n_iter": int(n_iter),
                                           "gap": float(gap), "target": float(target),
                                           "elapsed": float(elapsed)}))
                self.stopped_by_callback |= stop
                return stop
        except BaseException as exc:                       # noqa: BLE001 - re-raised
            self.error = exc
            return True
        return False

    @property
    def out_of_time(self):
        return self.deadline is not None and time.monotonic() >= self.deadline

    def stop_reason(self):
        """Why the fit ended early, or None."""
        if self.stopped_by_callback:
            return "stopped by the callback"
        if self.out_of_time:
            return f"stopped by max_time={self.max_time:g} s"
        return None


@contextlib.contextmanager
def fit_control(control):
    """Run the block with `control` as the current fit's (None: none)."""
    token = _current.set(control)
    try:
        yield control
    finally:
        _current.reset(token)


def current():
    """The current fit's FitControl, or None."""
    return _current.get()


def deadline():
    c = _current.get()
    return None if c is None else c.deadline


def progress():
    c = _current.get()
    return None if c is None else c.progress


def raise_callback_error():
    """After a kernel returns: the callback's exception, if it raised."""
    c = _current.get()
    if c is not None and c.error is not None:
        err, c.error = c.error, None
        raise err
