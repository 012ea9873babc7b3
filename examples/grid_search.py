"""Grid search: GridSearchCV over hidden layer sizes, activation and alpha
=========================================================================

FFNNClassifier is a scikit-learn estimator, so it goes into a Pipeline and
GridSearchCV as MLPClassifier would (parameters are addressed as
``ffnnclassifier__<name>``). Prints the five best candidates.

Usage::

    python examples/grid_search.py [--max-iter 100] [--cv 5] [--n-jobs 1]
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
    "ffnnclassifier__hidden_layer_sizes": [(50,), (100,), (100, 50)],
    "ffnnclassifier__activation": ["relu", "tanh"],
    "ffnnclassifier__alpha": [1e-4, 1e-2],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--max-iter", type=int, default=100, help="epochs per fit (default: 100)")
    parser.add_argument("--cv", type=int, default=5, help="cross-validation folds (default: 5)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel fits (default: 1)")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(), FFNNClassifier(max_iter=args.max_iter, random_state=0)
    )
    search = GridSearchCV(pipeline, GRID, cv=args.cv, n_jobs=args.n_jobs)
    n_candidates = len(ParameterGrid(GRID))
    print(
        f"{n_candidates} candidates x {args.cv} folds on digits ({len(X)} images), "
        f"{args.max_iter} epochs each"
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget
        search.fit(X, y)
    print(f"search took {time.perf_counter() - start:.1f} s\n")

    results = search.cv_results_
    order = sorted(range(len(results["params"])), key=lambda i: results["rank_test_score"][i])
    print(f"{'rank':>4} {'accuracy':>15} {'fit s':>6}  hidden      activation  alpha")
    for i in order[:5]:
        params = results["params"][i]
        print(
            f"{results['rank_test_score'][i]:>4} "
            f"{results['mean_test_score'][i]:>7.4f} ± {results['std_test_score'][i]:.4f} "
            f"{results['mean_fit_time'][i]:>6.2f}  "
            f"{str(params['ffnnclassifier__hidden_layer_sizes']):<11} "
            f"{params['ffnnclassifier__activation']:<11} "
            f"{params['ffnnclassifier__alpha']:g}"
        )
    print(f"\nbest: {search.best_params_}")


if __name__ == "__main__":
    main()
