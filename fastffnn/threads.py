"""The threads that compiled training and prediction run on.

BLAS on one thread, always. numba's parallel loops run over fixed chunks of
examples (training) and fixed blocks of rows (prediction), each chunk with its
own GEMMs: OpenBLAS's multi-threaded GEMM gives different last bits than its
single-threaded one (it splits the matrix between threads and the edge tiles
take other kernels), so with BLAS threads the same model would predict and
train differently depending on ``OPENBLAS_NUM_THREADS``, threadpoolctl or any
library that changed them. :func:`thread_limits` puts every BLAS library of
the process on one thread while a compiled call runs, and restores them after
the last concurrent call ends (process-wide, so counted across threads).

Inside a Dask worker it also lowers numba's threads to the worker's
``nthreads`` (for the calling thread: ``numba.set_num_threads`` is
thread-local): a Dask worker process runs ``nthreads`` tasks at a time on its
share of the machine, but numba's pool is sized for every core, so two
single-threaded workers on a 2-core machine would each train on 2 numba
threads, 4 threads fighting for 2 cores. Neither limit changes a result: the
work is cut the same way whatever the threads.

joblib's loky workers need nothing more: joblib starts them with
``NUMBA_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` etc. set to the worker's share
of the cores, and numba and OpenBLAS read them at start-up.
"""

import functools
import itertools
import sys
import threading

import numba

_blas_lock = threading.Lock()
_blas_depth = 0  # calls inside thread_limits, all threads of this process
_blas_lowered = []  # (threadpoolctl library controller, threads before) to restore at depth 0
_blas_libraries = None  # (get_num_threads, set_num_threads) of each BLAS library loaded


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
    """BLAS of the process on one thread; numba threads of the calling thread
    at most ``share`` (None: unchanged)."""

    __slots__ = ("share", "numba_before")

    def __init__(self, share):
        self.share = share
        self.numba_before = None

    def __enter__(self):
        if self.share is not None:
            self.numba_before = numba.get_num_threads()
            if self.share < self.numba_before:
                numba.set_num_threads(self.share)
        _enter_blas()
        return self

    def __exit__(self, *exc_info):
        _exit_blas()
        if self.numba_before is not None:
            numba.set_num_threads(self.numba_before)
        return False


class _OpenBLASThreads:
    """OpenBLAS's own ``get/set_num_threads``, called directly.

    threadpoolctl's OpenBLAS controller lets only the first Python thread that
    set a limit set one again (others "silently do nothing"), so a fit in a
    worker thread would keep multi-threaded BLAS. The C functions act
    process-wide from any thread, at ~0.2 us a call against ~1-3 us.
    """

    __slots__ = ("get_num_threads", "set_num_threads")

    def __init__(self, dynlib):
        for prefix, suffix in itertools.product(("", "scipy_"), ("", "64_", "_64")):
            get = getattr(dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if get is not None:
                self.get_num_threads = get
                self.set_num_threads = getattr(dynlib, f"{prefix}openblas_set_num_threads{suffix}")
                return
        raise LookupError("no openblas_get_num_threads in this library")


def _blas_thread_controls():
    """(get_num_threads, set_num_threads) of every BLAS library loaded."""
    from threadpoolctl import ThreadpoolController

    controls = []
    for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
        if lib.internal_api == "openblas" and getattr(lib, "threading_layer", "") != "openmp":
            try:
                native = _OpenBLASThreads(lib.dynlib)
                controls.append((native.get_num_threads, native.set_num_threads))
                continue
            except (AttributeError, LookupError):
                pass
        controls.append((lib.get_num_threads, lib.set_num_threads))
    return controls


def _enter_blas():
    # Process-wide while calls run on several threads: the first call in
    # lowers the libraries, the last one out restores them. Only libraries
    # above one thread are touched (numpy and scipy each load an OpenBLAS).
    global _blas_depth, _blas_libraries
    with _blas_lock:
        if _blas_depth == 0:
            if _blas_libraries is None:
                # ~20 ms, once per process; fastffnn has loaded scipy's BLAS
                # (the one numba calls) and numpy's by now
                _blas_libraries = _blas_thread_controls()
            for get_num_threads, set_num_threads in _blas_libraries:
                before = get_num_threads()
                if before is not None and before > 1:
                    set_num_threads(1)
                    _blas_lowered.append((set_num_threads, before))
        _blas_depth += 1


def _exit_blas():
    global _blas_depth
    with _blas_lock:
        _blas_depth -= 1
        if _blas_depth == 0:
            while _blas_lowered:
                set_num_threads, before = _blas_lowered.pop()
                set_num_threads(before)


def thread_limits():
    """Context manager for compiled calls: BLAS on one thread and, inside a
    Dask worker, numba's threads limited to :func:`worker_share`."""
    return _Limits(worker_share())


def within_share(method):
    """Decorator: run ``method`` under :func:`thread_limits`."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        with _Limits(worker_share()):
            return method(*args, **kwargs)

    return limited
