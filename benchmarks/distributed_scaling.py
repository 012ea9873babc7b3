"""Grid search on a 2-worker Dask LocalCluster against a serial search, with and
without fastffnn's worker thread limits; and a fresh worker's first task with
numba's cache against one that compiles.

Needs the distributed extra (``pip install -e ".[distributed]"``). Usage, from
the repository root::

    python benchmarks/distributed_scaling.py             # search timings (~5 min)
    python benchmarks/distributed_scaling.py --cache     # also first-task times (+1-2 min)
    python benchmarks/distributed_scaling.py --worker-layer workqueue

``--worker-layer`` sets NUMBA_THREADING_LAYER in the workers: fastffnn picks
tbb where its wheel exists (x86-64) and falls back to workqueue elsewhere,
where threads oversubscribed across processes hurt more.

Search: make_classification (6,000 x 64, 10 classes), FFNNClassifier(max_iter=100,
tol=0), 8 candidates (hidden (64,)/(128,) x alpha 1e-4/1e-2 x
learning_rate_init 1e-3/3e-3) x 3 folds = 24 fits of exactly 100 epochs on
4,000 rows each. Modes, interleaved
within every repeat (rotating order) so machine noise hits them alike:

- serial: ``GridSearchCV(n_jobs=None)`` in this process; each fit may use
  every core through numba and BLAS threads.
- serial-1thread: the same with numba and BLAS limited to 1 thread.
- dask: ``parallel_backend("dask")`` on ``LocalCluster(n_workers=2,
  threads_per_worker=1)``: fastffnn limits each task to 1 numba/BLAS thread.
- dask-unlimited: the same cluster with the limits switched off in the workers
  (numba then runs every core's worth of threads in each worker; BLAS stays at
  the 1 thread Dask's nanny sets with OPENBLAS_NUM_THREADS=1).
- loky: ``n_jobs=2`` on joblib's default backend, for reference.

Reported: median wall time per mode, speed-up over serial, and the median of
cv_results_'s mean_fit_time (time of one fit, measured where it ran).
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np

GRID = {
    "hidden_layer_sizes": [(64,), (128,)],
    "alpha": [1e-4, 1e-2],
    "learning_rate_init": [1e-3, 3e-3],
}


def _search(X, y, n_jobs):
    from sklearn.model_selection import GridSearchCV

    from fastffnn import FFNNClassifier

    estimator = FFNNClassifier(max_iter=100, tol=0, n_iter_no_change=10**6, random_state=0)
    return GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs).fit(X, y)


def _set_worker_limits(enabled):
    """Run on every worker (client.run): switch fastffnn's thread limits."""
    from fastffnn import threads

    original = getattr(threads, "_original_worker_share", threads.worker_share)
    threads._original_worker_share = original
    threads.worker_share = original if enabled else (lambda: None)
    return enabled


def _threading_layer():
    import numba

    return numba.threading_layer()


def _first_task():
    """A fresh worker's first task: import fastffnn, fit and predict a small model."""
    start = time.perf_counter()
    from sklearn.datasets import make_classification

    from fastffnn import FFNNClassifier

    imported = time.perf_counter()
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        FFNNClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X, y).predict(X)
    done = time.perf_counter()
    return imported - start, done - imported


def measure_cache():
    from dask.distributed import Client, LocalCluster

    print("first task in a fresh 1-thread worker (import fastffnn; fit+predict 200x10):")
    with tempfile.TemporaryDirectory() as empty_cache:
        for label, env in [
            ("numba cache (fastffnn/__pycache__)", {}),
            ("empty NUMBA_CACHE_DIR (compiles)", {"NUMBA_CACHE_DIR": empty_cache}),
        ]:
            with (
                LocalCluster(
                    n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, env=env,
                ) as cluster,
                Client(cluster) as client,
            ):  # fmt: skip
                start = time.perf_counter()
                import_s, fit_s = client.submit(_first_task, pure=False).result()
                total = time.perf_counter() - start
                print(f"  {label:36s} import {import_s:6.2f} s  first fit+predict "
                      f"{fit_s:6.2f} s  submit->result {total:6.2f} s")  # fmt: skip


def measure_search(repeats, worker_env):
    import numba
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_backend
    from sklearn.datasets import make_classification
    from threadpoolctl import threadpool_limits

    import fastffnn  # noqa: F401  (picks numba's threading layer first)

    X, y = make_classification(
        n_samples=6000, n_features=64, n_informative=32, n_classes=10, random_state=0
    )
    times = {m: [] for m in ("serial", "serial-1thread", "dask", "dask-unlimited", "loky")}
    fit_times = {m: [] for m in times}
    scores = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, env=worker_env,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip

        def run(mode):
            if mode.startswith("dask"):
                client.run(_set_worker_limits, mode == "dask")
                with parallel_backend("dask"):
                    return _search(X, y, n_jobs=-1)
            if mode == "serial-1thread":
                before = numba.get_num_threads()
                numba.set_num_threads(1)
                try:
                    with threadpool_limits(1, user_api="blas"):
                        return _search(X, y, n_jobs=None)
                finally:
                    numba.set_num_threads(before)
            return _search(X, y, n_jobs=2 if mode == "loky" else None)

        modes = list(times)
        for mode in modes:  # warm-up: worker imports, loky pool start
            run(mode)
        print(f"  workers' numba threading layer: {set(client.run(_threading_layer).values())}")
        for r in range(repeats):
            for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:
                start = time.perf_counter()
                search = run(mode)
                times[mode].append(time.perf_counter() - start)
                fit_times[mode].append(float(np.median(search.cv_results_["mean_fit_time"])))
                scores[mode] = search.cv_results_["mean_test_score"]
                print(f"  repeat {r + 1} {mode:15s} {times[mode][-1]:6.2f} s", flush=True)
    for mode in modes:
        if not np.array_equal(scores[mode], scores["serial"]):
            print(f"  note: {mode} scores differ from serial")
    serial = statistics.median(times["serial"])
    print(f"\n24 fits, median of {repeats} (load average before: {_load()}):")
    print(f"  {'mode':15s} {'wall s':>7s} {'speed-up':>9s} {'median fit s':>13s}")
    for mode in modes:
        wall = statistics.median(times[mode])
        print(f"  {mode:15s} {wall:7.2f} {serial / wall:8.2f}x "
              f"{statistics.median(fit_times[mode]):13.3f}")  # fmt: skip


def _load():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "n/a"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cache", action="store_true", help="also time a fresh worker's first task"
    )
    parser.add_argument("--worker-layer", help="NUMBA_THREADING_LAYER for the Dask workers")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"  # worker processes: no ConvergenceWarnings
    print(f"{os.cpu_count()} CPUs, load average {_load()}")
    worker_env = {"NUMBA_THREADING_LAYER": args.worker_layer} if args.worker_layer else {}
    measure_search(args.repeats, worker_env)
    if args.cache:
        measure_cache()


if __name__ == "__main__":
    main()
