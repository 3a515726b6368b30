# Stopping a running fit from outside: Ctrl-C (Python's signal handlers, run
# with the GIL from the thread that started the fit) and an abort request
# (mtlfast._signals.request_abort(): fits running in worker threads, which
# never see signals, stop at their next check).
cdef unsigned long abort_generation() noexcept nogil
