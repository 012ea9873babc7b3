"""What dropout costs per epoch on the bench's S and L configurations.

    python benchmarks/dropout_overhead.py [--repeats 5] [--rate 0.1]

For each configuration, fits of one epoch (warm, compiled) with dropout 0 and
with ``--rate`` on every hidden layer alternate ``--repeats`` times; prints
the median ms per epoch of each and their ratio (the issue's budget: at most
1.10).
"""

import argparse
import statistics
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from fastffnn import FFNNClassifier
from fastffnn.bench import CONFIGS, make_data


def epoch_ms(config, X, y, rate):
    model = FFNNClassifier(
        hidden_layer_sizes=config.hidden, batch_size=config.batch_size, max_iter=1,
        dropout=rate, dtype=config.dtype, random_state=0,
    )  # fmt: skip
    start = time.perf_counter()
    model.fit(X, y)
    return 1e3 * (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.1)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    for config in CONFIGS:
        if not (config.name == "S" or config.name.startswith("L")):
            continue
        X, _, y, _ = make_data(config)
        for rate in (0.0, args.rate):  # compile / load both, outside the timing
            epoch_ms(config, X[:500], y[:500], rate)
        times = {0.0: [], args.rate: []}
        for _ in range(args.repeats):
            for rate in times:
                times[rate].append(epoch_ms(config, X, y, rate))
        plain, dropped = (statistics.median(times[rate]) for rate in times)
        print(f"{config.name:<10} dropout 0: {plain:8.2f} ms   dropout {args.rate}: "
              f"{dropped:8.2f} ms   ratio {dropped / plain:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
