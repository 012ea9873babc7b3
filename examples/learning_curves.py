"""Learning curves: training loss and validation score per epoch, with early stopping
===================================================================================

With ``early_stopping=True`` FFNNClassifier holds out a stratified
``validation_fraction`` of the training data, scores it after every epoch
(``validation_scores_``), stops when the score has not improved for
``n_iter_no_change`` epochs and restores the best weights. ``loss_curve_``
holds the training loss of every epoch. This example plots both to a PNG
(matplotlib is optional: without it the curves are printed only).

Usage::

    python examples/learning_curves.py [--out learning_curves.png] [--max-iter 300]
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier


def plot(network, path):
    """Loss and validation score against the epoch; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = np.arange(1, network.n_iter_ + 1)
    best = int(np.argmax(network.validation_scores_)) + 1
    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(epochs, network.loss_curve_, color="tab:blue", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:blue")
    score_axis = loss_axis.twinx()
    score_axis.plot(
        epochs, network.validation_scores_, color="tab:orange", label="validation accuracy"
    )
    score_axis.set_ylabel("validation accuracy", color="tab:orange")
    score_axis.axvline(best, color="gray", linestyle="--", linewidth=1)
    score_axis.annotate(
        f"best epoch {best}: {network.best_validation_score_:.4f}",
        xy=(best, network.best_validation_score_),
        xytext=(-8, -40),
        textcoords="offset points",
        horizontalalignment="right",
        fontsize=9,
    )
    loss_axis.set_title("FFNNClassifier on digits, early stopping")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--out",
        default="learning_curves.png",
        help="PNG file to write (default: ./learning_curves.png)",
    )
    parser.add_argument("--max-iter", type=int, default=300, help="epoch budget (default: 300)")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = make_pipeline(
        StandardScaler(),
        FFNNClassifier(
            hidden_layer_sizes=(100,),
            max_iter=args.max_iter,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=0,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a small --max-iter may not converge
        model.fit(X_train, y_train)
    network = model[-1]
    best = int(np.argmax(network.validation_scores_)) + 1
    print(
        f"{network.n_iter_} epochs run; best validation accuracy "
        f"{network.best_validation_score_:.4f} at epoch {best} (its weights are kept)"
    )
    print(f"test accuracy: {model.score(X_test, y_test):.4f}\n")
    print(f"{'epoch':>5} {'training loss':>14} {'validation':>10}")
    step = max(1, network.n_iter_ // 10)
    for epoch in [*range(1, network.n_iter_, step), network.n_iter_]:
        print(
            f"{epoch:>5} {network.loss_curve_[epoch - 1]:>14.6f} "
            f"{network.validation_scores_[epoch - 1]:>10.4f}"
        )

    if plot(network, args.out):
        print(f"\nwrote {args.out}")
    else:
        print(
            "\nmatplotlib is not installed (pip install matplotlib, or fastffnn[examples]); "
            "skipped the plot"
        )


if __name__ == "__main__":
    main()
