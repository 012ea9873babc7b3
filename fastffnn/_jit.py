"""Every jit option and the threading-layer choice, defined once.

Kernels import :func:`kernel` (parallel) or :func:`serial` from here and never
pass options of their own: numba's cache key ignores jit options, so options
switched anywhere else would silently reuse stale machine code.
"""

import ctypes
import glob
import os
import sys

import numba

from fastffnn import _cache, _shipped

# before any kernel is decorated: numba picks a function's cache locator then
CACHE = _cache.install()
# building a wheel: machine code goes to the package's shipped folder only
_BUILD_FOLDER = _shipped.build_folder()
# the machine code a wheel ships, where this CPU can run it
_SHIPPED = None if _BUILD_FOLDER else _shipped.tier()

# Only "contract" (fused multiply-add). "reassoc" and "arcp" made machine code
# loaded from the cache differ by an ulp from freshly compiled code, so two
# processes trained to different bits; nothing here needs them to vectorize.
# Never "nnan"/"ninf": they make np.isnan(nan) return False.
FASTMATH = {"contract"}

# error_model="numpy": division follows IEEE (inf/nan) instead of raising, which
# lets division loops vectorize (7x faster here). nogil=True: compiled predict
# and training release the GIL. The on-disk cache (a second process loads
# machine code instead of compiling: 0.3 s vs ~5 s) is fastffnn's, attached
# by _compiled.
JIT_OPTIONS = {
    "nogil": True,
    "error_model": "numpy",
    "fastmath": FASTMATH,
}


# Where the parallelism is. Each parallel region costs 2-4 us here (tbb,
# measured with an empty kernel), and a region started from inside another
# costs as much again, so the per-example kernels (fastffnn.kernels: linear,
# activations, costs, tangents) are serial. Parallel are only the drivers
# that cut work into large pieces: training.chunked_gradients (chunks of a
# batch's examples, one thread each) and training.finish_batch (blocks of
# parameters). A mini-batch step is two parallel regions, whatever the depth.
def _compiled(function, **options):
    dispatcher = numba.njit(**options, **JIT_OPTIONS)(function)
    if CACHE:
        _cache.attach(dispatcher, shipped=_SHIPPED, write_to=_BUILD_FOLDER)
    return dispatcher


#: jit options of the ``@overload`` implementations (kernels/inputs.py): they
#: are compiled into their callers; their own cache entries only speed up a
#: caller's compilation, and have no place in a wheel.
OVERLOAD_OPTIONS = {"cache": CACHE and not _BUILD_FOLDER}


def kernel(function):
    """Compile ``function`` as a parallel kernel (its ``prange`` loops run on threads)."""
    return _compiled(function, parallel=True)


def serial(function):
    """Compile ``function`` without parallel loops (drivers that call kernels and BLAS)."""
    return _compiled(function, parallel=False)


def internal(function):
    """``serial``, for functions only compiled code calls: numba builds no
    Python or C entry point for them (~10% of a first fit's compilation).
    Calling one from Python crashes the process."""
    return _compiled(function, parallel=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)


def internal_kernel(function):
    """``kernel`` (parallel), for functions only compiled code calls (see ``internal``)."""
    return _compiled(function, parallel=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)


def inlined(function):
    """``serial``, but merged into each caller before compilation.

    For the thin drivers between an epoch and the kernels. numba compiles
    every function into its own LLVM module, links its callees' modules in
    and optimizes the whole again, so each level of calls re-optimizes
    everything below it. Inlining three such levels cut the first fit's
    compilation from 25 s to 19 s here; the machine code does not change.
    """
    return _compiled(function, parallel=False, inline="always")


def _load_pip_tbb():
    """Make a pip-installed libtbb visible to numba's loader.

    ``pip install tbb`` puts libtbb.so.12 in ``<prefix>/lib``, where numba does
    not look (numba issues 6108, 7148, 9740); loading it globally first lets
    numba's tbb layer find it.
    """
    for prefix in dict.fromkeys([sys.prefix, sys.base_prefix]):
        for path in sorted(glob.glob(os.path.join(prefix, "lib", "libtbb.so.12*"))):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return True
            except OSError:
                continue
    return False


def configure_threading_layer():
    """Pick numba's threading layer before the first parallel region runs.

    Measured on the code before training moved to chunks of examples
    (with a script since removed with that design, 2-core machine, parallel elementwise
    kernels next to 2 BLAS threads, ms per epoch of train_epoch):

    ===========  =======  ========  =======
    layer        S        L         D
    ===========  =======  ========  =======
    tbb          20.7     480       2.16
    omp          22.6     5700      257
    omp PASSIVE  33.3     468       4.12
    workqueue    98.4     592       9.20
    ===========  =======  ========  =======

    numba's default ``omp`` busy-waits after each parallel region and fights
    OpenBLAS's threads (12x slower on L, 120x on D); ``tbb`` parks its
    workers and is never badly slow; ``workqueue`` never spins but costs
    ~90 us per region and is not safe for parallel calls from several threads
    at once, so it is only the fallback. Batches are chunked the same way
    on every layer (``fastffnn.solvers.batch_chunks``), so results do not
    depend on the layer either.
    Re-measured after the move to chunks (BLAS on one thread while chunks
    run): ``omp`` is no longer pathological and was ~10% faster on S in one
    interleaved comparison, equal on L, but GNU OpenMP is not fork-safe (a
    process forked after a fit hangs in its next parallel region), so tbb
    stays. A user's explicit NUMBA_THREADING_LAYER wins.
    """
    if not os.environ.get("NUMBA_THREADING_LAYER"):
        if _load_pip_tbb():
            numba.config.THREADING_LAYER = "tbb"
        else:
            try:
                from numba.np.ufunc import tbbpool  # noqa: F401  (system-wide TBB)

                numba.config.THREADING_LAYER = "tbb"
            except Exception:  # no usable TBB anywhere
                numba.config.THREADING_LAYER = "workqueue"
    # Start the pool now. numba starts it when a parallel function is dispatched
    # from Python; our parallel kernels are only called from compiled drivers,
    # and drivers loaded from the on-disk cache then ran parallel regions on a
    # pool that was never started: a segfault in a fresh process.
    from numba.np.ufunc.parallel import _launch_threads

    _launch_threads()
