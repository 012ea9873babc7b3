"""Quickstart: FFNNClassifier in a scikit-learn Pipeline, against MLPClassifier
==============================================================================

Trains the same 64-100-10 network on scikit-learn's bundled digits with
fastffnn and with scikit-learn's MLPClassifier (same parameters, same
random_state) and prints the held-out accuracy and training time of each.

Usage::

    python examples/quickstart.py [--max-iter 200]
"""

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--max-iter", type=int, default=200, help="epochs (default: 200)")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"digits: {len(X_train)} training and {len(X_test)} test images, 64 pixels, 10 classes")

    # The first fit in a process loads (or, the very first time, compiles) the core.
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        FFNNClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X[:20], y[:20])
    print(f"loading the compiled core: {time.perf_counter() - start:.2f} s (once per process)\n")

    print(f"{'':<14} {'accuracy':>8} {'fit time':>9} {'epochs':>6}")
    times = {}
    for name, classifier in [("fastffnn", FFNNClassifier), ("scikit-learn", MLPClassifier)]:
        model = make_pipeline(
            StandardScaler(),
            classifier(hidden_layer_sizes=(100,), max_iter=args.max_iter, random_state=0),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times[name] = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
        print(f"{name:<14} {accuracy:>8.4f} {times[name]:>8.2f}s {model[-1].n_iter_:>6}")
    print(f"\nfastffnn trained {times['scikit-learn'] / times['fastffnn']:.1f}x faster")


if __name__ == "__main__":
    main()
