"""Compile everything a user can call into numba's on-disk cache, in parallel.

``python -m fastffnn compile`` runs :func:`run_workload`, tiny calls of the
public API (both estimators; adam, sgd, lbfgs; early stopping, partial_fit,
predict, predict_proba, jacobian in both modes, check_gradients; the tabular
estimators) for every dtype and kind of input, one group per worker process. A later process (a
container built from the image, a CI job restoring the cache, a Dask worker)
then loads machine code instead of compiling it.

The groups compile different signatures of the same functions (``forward``
in float64 and in float32, ...), and numba saves a signature by reading the
function's cache index, adding an entry and writing the index back: two
processes doing that at once can lose an entry, or map one signature to the
other's machine code. Each worker therefore holds one file lock (shared by
the workers of a run) around each of numba's cache writes, where the index is
re-read; compiling itself stays parallel.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

#: (dtype, input kind) groups, one worker process each.
GROUPS = [(dtype, kind) for kind in ("dense", "sparse") for dtype in ("float64", "float32")]

#: Environment variable naming the lock file of a run's workers.
LOCK_ENV = "FASTFFNN_COMPILE_LOCK"


def _data(dtype, kind, n_features=6):
    """A tiny classification and regression problem of this dtype and kind."""
    import scipy.sparse

    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(40, n_features)).astype(dtype)
    X[X < -0.5] = 0
    y = np.arange(40) % 3
    y_reg = X[:, 0] + 0.5
    if kind == "sparse":
        X = scipy.sparse.csr_matrix(X)
    return X, y, y_reg


def run_workload(dtype, kind):
    """Call every compiled entry point once for one (dtype, input kind), and
    compile every activation and cost kernel of the registry for ``dtype``
    (a network compiles its own only: ``fastffnn.boundary``)."""
    from sklearn.exceptions import ConvergenceWarning

    from fastffnn import FFNNClassifier, FFNNRegressor, check_gradients, registry
    from fastffnn.kernels import activations, costs

    activations.prepare([a.code for a in registry.ACTIVATIONS.values()], np.dtype(dtype))
    for cost in registry.COSTS.values():
        costs.prepare(cost.code, np.dtype(dtype))
    X, y, y_reg = _data(dtype, kind)
    small = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("adam", "sgd", "lbfgs"):
            model = FFNNClassifier(solver=solver, **small).fit(X, y)
            model.predict_proba(X[:1])  # one block: no parallel region
            model.predict_proba(X)
        FFNNClassifier(early_stopping=True, **small).fit(X, y)
        FFNNClassifier(early_stopping=True, scoring="loss", **small).fit(X, y, X_val=X, y_val=y)
        # the validation loss calls a cost kernel from Python; one output is a
        # C-ordered (1, m) array to numba, another signature: binary, and each loss
        FFNNClassifier(early_stopping=True, **small).fit(X, y % 2)
        for loss in registry.REGRESSION_LOSSES:
            FFNNRegressor(loss=loss, quantile=0.5, early_stopping=True, **small).fit(X, y_reg)
        FFNNClassifier(**small).partial_fit(X, y, classes=[0, 1, 2])
        for mode in ("forward", "reverse"):
            model.jacobian(X[:2], mode=mode)
        model.transform(X), model.transform(X[:1])
        regressor = FFNNRegressor(**small).fit(X, y_reg)
        regressor.predict(X)
        FFNNRegressor(solver="lbfgs", **small).fit(X, y_reg)
        check_gradients(model, X, y)
        check_gradients(regressor, X, y_reg)
        if kind == "dense":
            _tabular_workload(dtype)


def _tabular_workload(dtype):
    """The tabular estimators' compiled paths for ``dtype``: a table with
    numbers (one missing), a one-hot column and an embedded one."""
    from fastffnn import TabularMLPClassifier, TabularMLPRegressor

    rng = np.random.RandomState(0)
    X = np.empty((40, 3), dtype=object)
    X[:, 0] = rng.uniform(-1, 1, 40)
    X[0, 0] = np.nan
    X[:, 1] = rng.choice(["a", "b", "c"], 40)
    X[:, 2] = [f"level{k % 12}" for k in range(40)]
    y = np.arange(40) % 3
    small = dict(hidden_layer_sizes=(3,), n_epochs=2, random_state=0, dtype=dtype,
                 categorical_features=[1, 2])  # fmt: skip
    TabularMLPClassifier(**small).fit(X, y).predict_proba(X)
    TabularMLPRegressor(**small).fit(X, rng.uniform(size=40)).predict(X)


@contextlib.contextmanager
def _serialized_cache_writes(lock_path):
    """Hold an exclusive lock on ``lock_path`` during each numba cache write."""
    import fcntl

    from numba.core import caching

    original = caching.IndexDataCacheFile.save

    def locked_save(self, key, data):
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return original(self, key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    caching.IndexDataCacheFile.save = locked_save
    try:
        yield
    finally:
        caching.IndexDataCacheFile.save = original


def _worker(dtype, kind):
    lock_path = os.environ.get(LOCK_ENV)
    with _serialized_cache_writes(lock_path) if lock_path else contextlib.nullcontext():
        run_workload(dtype, kind)


def compile_all(jobs=None, out=sys.stdout):
    """Run :func:`run_workload` for every group of :data:`GROUPS` in ``jobs`` worker processes
    (default: one per core, at most one per group); returns the seconds taken.

    Workers inherit the environment, so ``NUMBA_CACHE_DIR``,
    ``NUMBA_CPU_NAME`` and friends choose where and for which CPU the cache is
    written. Raises RuntimeError naming a group whose worker failed.
    """
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(GROUPS)))
    if not hasattr(os, "fork") and jobs > 1:  # no fcntl locks: compile one group at a time
        jobs = 1
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, **{LOCK_ENV: os.path.join(tmp, "cache.lock")})
        pending = list(GROUPS)
        running = {}
        while pending or running:
            while pending and len(running) < jobs:
                group = pending.pop(0)
                command = [sys.executable, "-m", "fastffnn.precompile", *group]
                running[group] = (subprocess.Popen(command, env=env), time.perf_counter())
            group, (process, began) = _wait_any(running)
            del running[group]
            if process.returncode != 0:
                for other, _ in running.values():
                    other.kill()
                raise RuntimeError(f"compiling {' '.join(group)} failed (exit code "
                                   f"{process.returncode})")  # fmt: skip
            print(f"compiled {group[0]} {group[1]} in {time.perf_counter() - began:.1f} s",
                  file=out)  # fmt: skip
    return time.perf_counter() - start


def _wait_any(running):
    while True:
        for group, (process, began) in running.items():
            if process.poll() is not None:
                return group, (process, began)
        time.sleep(0.05)


if __name__ == "__main__":
    _worker(*sys.argv[1:3])
