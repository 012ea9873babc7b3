"""Multi-label classification: one logistic (sigmoid) output per label
=====================================================================

When y is an indicator matrix (one 0/1 column per label), FFNNClassifier
gives the network one logistic output unit per label and trains it with
binary cross-entropy summed over the labels, so each example can carry any
number of labels. ``predict`` returns an indicator matrix and
``predict_proba`` each label's probability (rows do not sum to one).

Usage::

    python examples/multilabel.py [--max-iter 200]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, hamming_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--max-iter", type=int, default=200, help="epochs (default: 200)")
    args = parser.parse_args()

    X, Y = make_multilabel_classification(
        n_samples=3000, n_features=40, n_classes=6, n_labels=2, random_state=0
    )
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
    print(
        f"{len(X)} examples, {X.shape[1]} features, {Y.shape[1]} labels, "
        f"{Y.sum(axis=1).mean():.2f} labels per example on average\n"
    )

    for name, classifier in [("fastffnn", FFNNClassifier), ("scikit-learn", MLPClassifier)]:
        model = make_pipeline(
            StandardScaler(),
            classifier(hidden_layer_sizes=(64,), max_iter=args.max_iter, random_state=0),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X_train, Y_train)
            elapsed = time.perf_counter() - start
        Y_pred = model.predict(X_test)
        print(
            f"{name}: output activation {model[-1].out_activation_!r}, "
            f"{model[-1].n_outputs_} output units, fit in {elapsed:.2f} s"
        )
        print(
            f"  exact-set accuracy {accuracy_score(Y_test, Y_pred):.4f}, "
            f"Hamming loss {hamming_loss(Y_test, Y_pred):.4f}, "
            f"micro-F1 {f1_score(Y_test, Y_pred, average='micro'):.4f}"
        )

        if name == "fastffnn":
            probabilities = model.predict_proba(X_test[:3])
            print("  first three test examples, probability of each label:")
            for p, truth in zip(probabilities, Y_test[:3]):
                labels = np.flatnonzero(truth).tolist()
                print(
                    f"    {np.array2string(p, precision=2, floatmode='fixed')}"
                    f"  sum {p.sum():.2f}  true labels {labels}"
                )


if __name__ == "__main__":
    main()
