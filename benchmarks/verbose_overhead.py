"""What printing progress costs: FFNNClassifier fits at verbose=0, 1 and 2.

    python benchmarks/verbose_overhead.py [--epochs 200] [--rounds 9]

Two measurements, both with the output going to a file (as in a log or a
captured notebook cell; a slow terminal costs more per line):

1. whole fits on scikit-learn's digits (64-100-10, adam, a fixed number of
   epochs), the three levels interleaved round by round; median fit time per
   level and its difference from verbose=0. On a busy machine this difference
   is within the noise, hence
2. the reporter alone: the per-epoch calls the estimator makes at each level
   (EpochReporter.epoch, end_epoch), timed over many epochs, as a share of the
   median verbose=0 time per epoch from 1.
"""

import argparse
import contextlib
import statistics
import tempfile
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier
from fastffnn.progress import EpochReporter

LEVELS = (0, 1, 2)


def fit_seconds(X, y, epochs, verbose, sink):
    model = FFNNClassifier(hidden_layer_sizes=(100,), max_iter=epochs, tol=0.0,
                           n_iter_no_change=10**9, random_state=0, verbose=verbose)  # fmt: skip
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start
    assert model.n_iter_ == epochs
    return elapsed


def reporter_seconds_per_epoch(verbose, epochs, sink):
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        reporter = EpochReporter(verbose, total=epochs)
        for epoch in range(1, epochs + 1):
            reporter.epoch(epoch, 1.0 / epoch)
            reporter.end_epoch()
        reporter.close()
        return (time.perf_counter() - start) / epochs


def reporter_setup_seconds(verbose, sink, repeats=200):
    """Creating and closing a reporter once per fit (tqdm's bar at verbose=2)."""
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        for _ in range(repeats):
            EpochReporter(verbose, total=200).close()
        return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    warnings.simplefilter("ignore", ConvergenceWarning)
    with tempfile.TemporaryFile("w+") as sink:
        for verbose in LEVELS:  # warm-up: load the core, import tqdm
            fit_seconds(X, y, 2, verbose, sink)
        times = {verbose: [] for verbose in LEVELS}
        for _ in range(args.rounds):
            for verbose in LEVELS:
                times[verbose].append(fit_seconds(X, y, args.epochs, verbose, sink))
        per_call = {v: reporter_seconds_per_epoch(v, 20_000, sink) for v in LEVELS}
        setup = {v: reporter_setup_seconds(v, sink) for v in LEVELS}

    base = statistics.median(times[0])
    print(f"digits, 64-100-10, adam, {args.epochs} epochs, median of {args.rounds} rounds "
          "(output to a file)")  # fmt: skip
    print(f"{'verbose':>7} {'fit s':>8} {'min s':>8} {'vs verbose=0':>13} "
          f"{'reporter us/epoch':>18} {'set-up us/fit':>14} {'reporter share':>15}")  # fmt: skip
    for verbose in LEVELS:
        median = statistics.median(times[verbose])
        share = (args.epochs * per_call[verbose] + setup[verbose]) / base
        print(f"{verbose:>7} {median:>8.4f} {min(times[verbose]):>8.4f} "
              f"{100 * (median / base - 1):>+12.2f}% {1e6 * per_call[verbose]:>18.2f} "
              f"{1e6 * setup[verbose]:>14.1f} {100 * share:>14.3f}%")  # fmt: skip
    print("reporter share: (epochs x reporter time per epoch + set-up) / median verbose=0 fit")


if __name__ == "__main__":
    main()
