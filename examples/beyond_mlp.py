"""Beyond MLPClassifier: quantiles, validation data, hidden features, callbacks
============================================================================

Four features of fastffnn's estimators that scikit-learn's MLP lacks:

* ``loss="quantile"``: a prediction interval from two quantile regressors
  (the pinball loss, C9 of the math page), with its held-out coverage;
* ``fit(..., X_val=, y_val=)`` with ``scoring="loss"``: early stopping on
  validation data of your choosing and on its loss, as HistGradientBoosting;
* ``transform``: the hidden layer as features for a logistic regression;
* scikit-learn's callbacks: ``ScoringMonitor`` logs a score after every epoch
  (scikit-learn >= 1.9).

Usage::

    python examples/beyond_mlp.py [--max-iter 200]
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier, FFNNRegressor
from fastffnn.callbacks import AVAILABLE as HAS_CALLBACKS


def quantile_interval(max_iter):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (4000, 3))
    # the noise grows with |x_1|: a fixed-width interval would be wrong
    y = X[:, 0] + (0.3 + 0.5 * np.abs(X[:, 1])) * rng.standard_normal(len(X))
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    bounds = {}
    for level in (0.1, 0.9):
        model = FFNNRegressor(loss="quantile", quantile=level, hidden_layer_sizes=(32,),
                              max_iter=max_iter, random_state=0).fit(X_train, y_train)  # fmt: skip
        bounds[level] = model.predict(X_test)
    inside = np.mean((bounds[0.1] <= y_test) & (y_test <= bounds[0.9]))
    width = np.mean(bounds[0.9] - bounds[0.1])
    print(f"80% prediction interval (quantiles 0.1 and 0.9): held-out coverage {inside:.3f}, "
          f"mean width {width:.2f}")  # fmt: skip


def validation_data(max_iter):
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16.0, y, test_size=0.3,
                                                      random_state=0)  # fmt: skip
    model = FFNNClassifier(early_stopping=True, scoring="loss", max_iter=max_iter,
                           random_state=0)  # fmt: skip
    model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    best = int(np.argmax(model.validation_scores_))
    print(f"early stopping on the validation loss: {model.n_iter_} epochs, best epoch "
          f"{best + 1} with validation loss {model.validation_loss_curve_[best]:.4f}; "
          f"validation accuracy of the kept weights {model.score(X_val, y_val):.4f}")  # fmt: skip


def hidden_features(max_iter):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipeline = make_pipeline(StandardScaler(),
                             FFNNClassifier((32,), max_iter=max_iter, random_state=0),
                             LogisticRegression(max_iter=1000))  # fmt: skip
    pipeline.fit(X_train, y_train)
    names = pipeline[:-1].get_feature_names_out()
    print(f"logistic regression on the network's {len(names)} hidden units "
          f"({names[0]}, ..., {names[-1]}): held-out accuracy "
          f"{pipeline.score(X_test, y_test):.4f}")  # fmt: skip


def callbacks(max_iter):
    if not HAS_CALLBACKS:
        print("callbacks: scikit-learn >= 1.9 needed (sklearn.callback)")
        return
    from sklearn.callback import ScoringMonitor

    X, y = load_digits(return_X_y=True)
    monitor = ScoringMonitor(scoring="accuracy")
    FFNNClassifier(max_iter=min(max_iter, 10), random_state=0).set_callbacks(monitor).fit(
        X / 16.0, y
    )
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    scores = ", ".join(f"{row['accuracy']:.3f}" for row in rows)
    print(f"ScoringMonitor, training accuracy after each of {len(rows)} epochs: {scores}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--max-iter", type=int, default=200, help="epochs at most (default: 200)")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        quantile_interval(args.max_iter)
        validation_data(args.max_iter)
        hidden_features(args.max_iter)
        callbacks(args.max_iter)


if __name__ == "__main__":
    main()
