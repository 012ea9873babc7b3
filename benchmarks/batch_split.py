"""Measure how a mini-batch is cut into chunks of examples (each trained on
one thread with one BLAS thread, side by side): one chunk, the count
``fastffnn.solvers.batch_chunks`` picks, and 4 and 8 chunks, more than this
machine has cores -- what a larger machine's chunk count costs here (the
extra gradient sums and narrower GEMMs), since the count never follows the
machine.

    python benchmarks/batch_split.py [--repeats 5] [--only S,D,L]

Prints ms/epoch per configuration of the comparison for each count (the
estimator's fit, warm, medians of interleaved repeats). Re-run it when
changing ``fastffnn.solvers.batch_chunks``.
"""

import argparse
import statistics
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from fastffnn import FFNNClassifier, solvers
from fastffnn.bench import CONFIGS, make_data
from fastffnn.network import count_parameters


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
    rule = solvers.batch_chunks
    splits = {
        "1 chunk": lambda batch_size, n_params: 1,
        "the rule": rule,
        "4 chunks": lambda batch_size, n_params: 4,
        "8 chunks": lambda batch_size, n_params: 8,
    }
    print(f"{'config':<10} " + " ".join(f"{label:>10}" for label in splits) + "  (rule picks)")
    for config in CONFIGS:
        if config.name.split()[0] not in wanted:
            continue
        X, _, y, _ = make_data(config)
        epochs = max(1, config.epochs // 2)
        times = {label: [] for label in splits}
        try:
            for splitter in splits.values():
                solvers.batch_chunks = splitter
                epoch_seconds(config, X[:512], y[:512], 1)  # compile / warm
            for _ in range(args.repeats):
                for label, splitter in splits.items():
                    solvers.batch_chunks = splitter
                    times[label].append(epoch_seconds(config, X, y, epochs))
        finally:
            solvers.batch_chunks = rule
        n_params = count_parameters([config.n_features, *config.hidden, config.n_classes])
        medians = [1e3 * statistics.median(times[label]) for label in splits]
        print(f"{config.name:<10} " + " ".join(f"{m:>8.2f}ms" for m in medians)
              + f"  ({rule(config.batch_size, n_params)} chunks)")  # fmt: skip


if __name__ == "__main__":
    main()
