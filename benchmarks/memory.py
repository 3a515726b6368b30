"""Peak resident memory of one call, on Linux: reset the high-water mark
(/proc/self/clear_refs, "5"), run, read VmHWM, subtract the resident size
before the call. Returns None where the kernel interface is missing."""
import os


def _status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024     # kB -> bytes
    return None


def _trim():
    """Return freed heap pages to the OS (glibc), so reused memory counts."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_extra_bytes(fn):
    """(result, peak resident bytes above the resident size before fn())."""
    _trim()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = _status("VmRSS")
    except OSError:
        return fn(), None
    out = fn()
    hwm = _status("VmHWM")
    if before is None or hwm is None:
        return out, None
    return out, max(0, hwm - before)


if __name__ == "__main__" and os.path.exists("/proc/self/status"):
    import numpy as np
    _, b = peak_extra_bytes(lambda: np.ones(10_000_000).sum())
    print(f"80 MB array: peak extra {b / 1e6:.1f} MB")
