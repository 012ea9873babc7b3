"""FFNNClassifier on a real Dask cluster: 2 worker processes on 127.0.0.1.

Grid search under joblib's dask backend against the local backend, a worker
killed mid-search, out-of-core training with dask-ml's Incremental, thread
limits inside workers and numba's cache in fresh workers.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

_EXTRA = "needs the distributed extra: pip install -e '.[distributed]'"
pytest.importorskip("dask", reason=_EXTRA)
pytest.importorskip("distributed", reason=_EXTRA)
pytest.importorskip("dask_ml", reason=_EXTRA)

import dask.array as da  # noqa: E402
import numba  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402
from dask_ml.wrappers import Incremental  # noqa: E402
from joblib import parallel_backend  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from fastffnn import FFNNClassifier  # noqa: E402
from fastffnn import threads as fastffnn_threads  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]}  # 4 candidates


@pytest.fixture(scope="module")
def client():
    # One fit here first: if numba's cache is stale this process compiles and
    # writes it, so workers (started next) only ever load it.
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    FFNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
        ) as cluster,
        Client(cluster) as dask_client,
    ):  # fmt: skip
        dask_client.wait_for_workers(2, timeout=120)
        yield dask_client


def _search(X, y, max_iter, n_jobs=None):
    estimator = FFNNClassifier(max_iter=max_iter, random_state=0)
    return GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs).fit(X, y)


def _assert_same_search(got, expected):
    assert got.best_params_ == expected.best_params_
    np.testing.assert_array_equal(
        got.cv_results_["mean_test_score"], expected.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        got.cv_results_["std_test_score"], expected.cv_results_["std_test_score"]
    )


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_outside_a_worker_thread_limits_only_put_blas_on_one_thread():
    before, blas_before = numba.get_num_threads(), _blas_threads()
    assert fastffnn_threads.worker_share() is None
    with fastffnn_threads.thread_limits():
        assert numba.get_num_threads() == before
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == blas_before


def test_limits_lower_numba_and_blas_threads_then_restore_them(monkeypatch):
    from threadpoolctl import threadpool_info

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    numba_before, blas_before = numba.get_num_threads(), blas()
    if numba_before < 2 and max(blas_before, default=1) < 2:
        pytest.skip("a single thread here: nothing to lower")
    monkeypatch.setattr(fastffnn_threads, "worker_share", lambda: 1)  # as in a 1-thread worker
    with fastffnn_threads.thread_limits():
        with fastffnn_threads.thread_limits():  # nested, as _forward inside fit
            assert numba.get_num_threads() == 1
            assert all(n == 1 for n in blas())
        assert numba.get_num_threads() == 1
        assert all(n == 1 for n in blas())
    assert numba.get_num_threads() == numba_before
    assert blas() == blas_before


def test_worker_tasks_run_on_the_workers_share_of_threads(client):
    def threads_in_a_task():
        import numba
        from threadpoolctl import threadpool_info

        from fastffnn.threads import within_share

        def blas():
            return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

        inside = within_share(lambda: (numba.get_num_threads(), blas()))()
        return inside, numba.get_num_threads()

    for worker in client.scheduler_info()["workers"]:
        (numba_threads, blas_threads), after = client.submit(
            threads_in_a_task, workers=[worker], pure=False
        ).result()
        assert numba_threads == 1  # threads_per_worker=1
        assert all(n == 1 for n in blas_threads)
        assert after == numba.config.NUMBA_NUM_THREADS  # restored after the task


def test_grid_search_on_dask_matches_local_backend(client):
    X, y = make_classification(
        n_samples=300, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    local = _search(X, y, max_iter=40)
    with parallel_backend("dask"):
        distributed = _search(X, y, max_iter=40, n_jobs=-1)
    assert len(distributed.cv_results_["params"]) == 4
    _assert_same_search(distributed, local)


def test_workers_load_numba_cache_instead_of_compiling(client):
    def cache_stats_after_a_fit():
        from sklearn.datasets import make_classification

        from fastffnn import FFNNClassifier
        from fastffnn.prediction import predict_rows
        from fastffnn.training import train_epoch

        X, y = make_classification(n_samples=60, n_features=5, random_state=0)
        FFNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y).predict(X)
        return {
            f.__name__: (sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values()))
            for f in (train_epoch, predict_rows)
        }

    for worker in client.scheduler_info()["workers"]:
        stats = client.submit(cache_stats_after_a_fit, workers=[worker], pure=False).result()
        for name, (hits, misses) in stats.items():
            assert hits >= 1 and misses == 0, f"{worker} compiled {name}: {stats}"


def test_incremental_over_dask_blocks_matches_in_memory_fit(client):
    """Out-of-core: 20 blocks of 200 rows, 15 passes.

    One pass of Incremental calls partial_fit once per block (one epoch of
    mini-batches on that block, blocks in shuffled order); ``fit`` with
    max_iter=15 runs 15 epochs over all rows. With batch_size=50 both take 80
    optimizer steps per pass and see the same 60,000 samples in all.
    """
    X, y = make_classification(
        n_samples=5000, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    X_train, y_train, X_test, y_test = X[:4000], y[:4000], X[4000:], y[4000:]
    params = {"hidden_layer_sizes": (32,), "batch_size": 50, "random_state": 0}
    n_passes = 15

    in_memory = FFNNClassifier(max_iter=n_passes, tol=0, n_iter_no_change=10**6, **params)
    in_memory.fit(X_train, y_train)

    X_blocks = da.from_array(X_train, chunks=(200, -1))
    y_blocks = da.from_array(y_train, chunks=200)
    assert X_blocks.numblocks[0] == 20
    incremental = Incremental(FFNNClassifier(**params), shuffle_blocks=True)
    for n in range(n_passes):
        incremental.set_params(random_state=n)  # a new block order every pass
        incremental.partial_fit(X_blocks, y_blocks, classes=[0, 1, 2])

    assert in_memory.n_iter_ == n_passes
    assert incremental.estimator_.t_ == in_memory.t_ == n_passes * 4000
    in_memory_accuracy = in_memory.score(X_test, y_test)
    incremental_accuracy = incremental.score(X_test, y_test)
    assert in_memory_accuracy > 0.8
    assert abs(incremental_accuracy - in_memory_accuracy) <= 0.01


def test_grid_search_survives_a_killed_worker(client):
    """SIGKILL one worker process while it runs a fit; Dask reruns its tasks
    on the other worker (and the nanny's restarted one).

    ``scatter=[X, y]`` puts the data on every worker. joblib's dask backend
    scatters any other argument over 1 kB to a single worker, and a killed
    worker holding the only copy fails the search (FutureCancelledError);
    150 samples keep the fold indices under that size, and int8 labels y
    (150 bytes) wherever a copy of y travels instead of the scattered one.
    """
    X, y = make_classification(
        n_samples=150, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    y = y.astype(np.int8)
    client.wait_for_workers(2, timeout=120)  # both hold the scattered data
    local = _search(X, y, max_iter=300)
    pids = client.run(os.getpid)
    killed = {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not finished.is_set():
            busy = [worker for worker, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed["worker"] = busy[0]
                return
            time.sleep(0.005)

    finished = threading.Event()
    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        with parallel_backend("dask", scatter=[X, y]):
            distributed = _search(X, y, max_iter=300, n_jobs=-1)
    finally:
        finished.set()
        killer.join()
    assert "worker" in killed, "no worker was busy: the search ended before the kill"
    _assert_same_search(distributed, local)
    client.wait_for_workers(2, timeout=120)  # the nanny restarted it
    assert pids[killed["worker"]] not in client.run(os.getpid).values()
