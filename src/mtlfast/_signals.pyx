"""The abort generation shared by every kernel (see _signals.pxd)."""

cdef unsigned long _generation = 0


cdef unsigned long abort_generation() noexcept nogil:
    return _generation


def request_abort():
    """Ask every fit now running (in any thread) to stop at its next check;
    each raises KeyboardInterrupt. Fits started later are not affected."""
    global _generation
    _generation += 1
