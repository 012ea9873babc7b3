"""Distributed grid search: GridSearchCV over FFNNClassifier on a Dask cluster
==============================================================================

scikit-learn's GridSearchCV runs its fits through joblib; under
``joblib.parallel_backend("dask")`` they run as tasks on the workers of a Dask
cluster, with the same results as a local search. This script starts a local
cluster (worker processes on this machine); the comment next to the
``Client`` shows the one line that points it at a real cluster instead.
Inside a worker, fastffnn limits each fit's numba and BLAS threads to the
worker's threads, so worker processes do not oversubscribe the cores.

Usage::

    pip install -e ".[distributed]"
    python examples/distributed_grid_search.py [--workers 2] [--max-iter 30] [--cv 3]
"""

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier

GRID = {
    "ffnnclassifier__hidden_layer_sizes": [(50,), (100,)],
    "ffnnclassifier__alpha": [1e-4, 1e-2],
}


def ignore_convergence_warnings():
    """Run on every worker: the fixed epoch budget warns on each fit otherwise."""
    warnings.simplefilter("ignore", ConvergenceWarning)


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--max-iter", type=int, default=30, help="epochs per fit (default: 30)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default: 3)")
    args = parser.parse_args()
    try:
        from dask.distributed import Client, LocalCluster
        from joblib import parallel_backend
    except ImportError:
        print("dask.distributed is not installed: pip install 'fastffnn[distributed]'")
        return 0

    X, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(), FFNNClassifier(max_iter=args.max_iter, random_state=0)
    )
    search = GridSearchCV(pipeline, GRID, cv=args.cv, n_jobs=-1)

    # One single-threaded worker process per core, reachable on loopback only.
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None,
    )  # fmt: skip
    client = Client(cluster)
    # On a real cluster, instead of the two lines above:
    #     client = Client("tcp://scheduler:8786")
    with cluster, client:
        client.run(ignore_convergence_warnings)
        workers = client.scheduler_info()["workers"]
        print(f"{len(ParameterGrid(GRID))} candidates x {args.cv} folds on "
              f"{len(workers)} Dask workers ({sum(w['nthreads'] for w in workers.values())} "
              "threads)")  # fmt: skip
        start = time.perf_counter()
        # scatter=[X, y]: the data goes to every worker once, and a worker lost
        # mid-search does not take the only copy with it (Dask reruns its fits).
        with parallel_backend("dask", scatter=[X, y]), warnings.catch_warnings():
            ignore_convergence_warnings()  # the refit runs here
            search.fit(X, y)
        print(f"search took {time.perf_counter() - start:.1f} s")
    print(f"best: {search.best_params_}, accuracy {search.best_score_:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
