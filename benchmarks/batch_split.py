"""Measure the parallel split of a mini-batch: one batch on one thread (BLAS
on all cores) versus fixed chunks of examples side by side, each on one
thread with one BLAS thread.

    python benchmarks/batch_split.py [--repeats 5] [--only S,D]

Prints ms/epoch per configuration of the comparison for both splits (the
estimator's fit, warm, medians of interleaved repeats) and the split that
``fastffnn.solvers.batch_chunks`` picks. Re-run it when changing
``fastffnn.solvers.batch_chunks``.
"""

import argparse
import statistics
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from fastffnn import FFNNClassifier, solvers
from fastffnn.bench import CONFIGS, make_data


def epoch_seconds(config, X, y, epochs):
    model = FFNNClassifier(hidden_layer_sizes=config.hidden, batch_size=config.batch_size,
                           max_iter=epochs, tol=0.0, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="S,D,L")
    args = parser.parse_args()
    wanted = args.only.split(",")
    chunked = solvers.batch_chunks
    splits = ((lambda batch_size: 1, "one batch"), (chunked, "chunks"))
    print(f"{'config':<10} {'one batch':>10} {'chunks':>10} {'ratio':>7}  picked")
    for config in CONFIGS:
        if config.name.split()[0] not in wanted:
            continue
        X, _, y, _ = make_data(config)
        epochs = max(1, config.epochs // 2)
        times = {"one batch": [], "chunks": []}
        for splitter, _label in splits:
            solvers.batch_chunks = splitter
            epoch_seconds(config, X[:512], y[:512], 1)  # compile / warm
        for _ in range(args.repeats):
            for splitter, label in splits:
                solvers.batch_chunks = splitter
                times[label].append(epoch_seconds(config, X, y, epochs))
        solvers.batch_chunks = chunked
        picked = chunked(config.batch_size)
        one, split = (1e3 * statistics.median(times[k]) for k in ("one batch", "chunks"))
        print(f"{config.name:<10} {one:>8.2f}ms {split:>8.2f}ms {one / split:>6.2f}x  "
              f"{picked} chunk(s)")  # fmt: skip


if __name__ == "__main__":
    main()
