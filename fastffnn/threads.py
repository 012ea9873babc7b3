"""Keep compiled training and prediction within this process's share of the cores.

A Dask worker process runs ``nthreads`` tasks at a time on its share of the
machine, but numba's thread pool is sized for every core: two single-threaded
workers on a 2-core machine would each train on 2 numba threads, 4 threads
fighting for 2 cores. Inside a Dask worker, :func:`thread_limits` lowers
numba's threads (for the calling thread: ``numba.set_num_threads`` is
thread-local) and the BLAS threads (``threadpoolctl``, process-wide) to the
worker's ``nthreads``, and restores them afterwards. It never raises a limit:
Dask's nanny already starts workers with ``OPENBLAS_NUM_THREADS=1`` and that
stays.

joblib's loky workers need nothing here: joblib starts them with
``NUMBA_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` etc. set to the worker's share
of the cores, and numba and OpenBLAS read them at start-up.

Outside a Dask worker (the usual case) :func:`thread_limits` is a no-op that
costs about 0.2 us (one-row ``predict_proba`` takes about 16 us here).
"""

import functools
import sys
import threading
from contextlib import nullcontext

import numba

_NO_LIMITS = nullcontext()
_blas_lock = threading.Lock()
_blas_depth = 0  # calls inside thread_limits, all threads of this process
_blas_lowered = []  # (threadpoolctl library controller, threads before) to restore at depth 0
_blas_controller = None


def worker_share():
    """Threads this process may use for one task, or None outside a Dask worker.

    Inside a Dask worker: the worker's ``nthreads`` (1 for the usual one
    single-threaded worker per core), capped at numba's pool size.
    """
    worker_module = sys.modules.get("distributed.worker")
    if worker_module is None:  # distributed never imported: not a Dask worker
        return None
    current = getattr(worker_module, "_worker_cvar", None)
    if current is not None:
        # What get_worker() reads, without its exception outside tasks (0.1 us
        # instead of 0.7 in a client process); tests/test_distributed.py checks it.
        worker = current.get(None)
        if worker is None:
            return None
    else:
        try:
            worker = worker_module.get_worker()
        except ValueError:  # not inside a task
            return None
    state = getattr(worker, "state", None)
    nthreads = getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)
    if not nthreads:
        return None
    return max(1, min(int(nthreads), numba.config.NUMBA_NUM_THREADS))


class _Limits:
    """numba threads of the calling thread and BLAS threads of the process <= share."""

    __slots__ = ("share", "numba_before")

    def __init__(self, share):
        self.share = share
        self.numba_before = None

    def __enter__(self):
        self.numba_before = numba.get_num_threads()
        if self.share < self.numba_before:
            numba.set_num_threads(self.share)
        _enter_blas(self.share)
        return self

    def __exit__(self, *exc_info):
        _exit_blas()
        numba.set_num_threads(self.numba_before)
        return False


def _enter_blas(share):
    # BLAS limits are process-wide while tasks run on several threads: the
    # first task in lowers them, the last one out restores them. Only libraries
    # above the share are touched (numpy and scipy each load an OpenBLAS).
    global _blas_depth, _blas_controller
    with _blas_lock:
        if _blas_depth == 0:
            if _blas_controller is None:
                from threadpoolctl import ThreadpoolController

                _blas_controller = ThreadpoolController()  # ~20 ms, once per process
            for lib in _blas_controller.select(user_api="blas").lib_controllers:
                before = lib.num_threads
                if before > share:
                    lib.set_num_threads(share)
                    _blas_lowered.append((lib, before))
        _blas_depth += 1


def _exit_blas():
    global _blas_depth
    with _blas_lock:
        _blas_depth -= 1
        if _blas_depth == 0:
            while _blas_lowered:
                lib, before = _blas_lowered.pop()
                lib.set_num_threads(before)


def thread_limits():
    """Context manager: inside a Dask worker, numba and BLAS threads limited to
    :func:`worker_share`; elsewhere nothing."""
    share = worker_share()
    return _NO_LIMITS if share is None else _Limits(share)


def within_share(method):
    """Decorator: run ``method`` under :func:`thread_limits`."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        share = worker_share()
        if share is None:
            return method(*args, **kwargs)
        with _Limits(share):
            return method(*args, **kwargs)

    return limited
