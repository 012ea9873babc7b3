"""Command line: ``python -m fastffnn demo``."""

import argparse
import sys
import time
import warnings


def demo(args):
    """Train on scikit-learn's bundled digits and print accuracy and time per epoch."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fastffnn import FFNNClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = make_pipeline(
        StandardScaler(),
        FFNNClassifier(hidden_layer_sizes=(100,), max_iter=args.epochs, random_state=0),
    )
    start = time.perf_counter()
    FFNNClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X[:20], y[:20])
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget
        model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    network = model[-1]
    print(f"digits: {X_train.shape[0]} training / {X_test.shape[0]} held-out examples, "
          f"{X.shape[1]} features, 10 classes")  # fmt: skip
    print(f"network: {X.shape[1]}-100-10, relu, adam, {network.n_iter_} epochs")
    print(f"held-out accuracy: {model.score(X_test, y_test):.4f}")
    print(f"time per epoch: {1e3 * elapsed / network.n_iter_:.2f} ms "
          f"(compiling or loading the cached core first took {warmup:.2f} s)")  # fmt: skip
    return 0


def _bench(args):
    from fastffnn.bench import main as bench_main

    return bench_main(args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastffnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help=demo.__doc__)
    demo_parser.add_argument("--epochs", type=int, default=100)
    demo_parser.set_defaults(run=demo)

    bench_parser = commands.add_parser("bench", help="side-by-side speed comparison")
    bench_parser.add_argument("--tiny", action="store_true", help="tiny sizes (smoke test)")
    bench_parser.add_argument("--only", help="comma-separated configs: S,L,D")
    bench_parser.add_argument("--repeats", type=int, default=3)
    bench_parser.add_argument("--no-torch", action="store_true")
    bench_parser.add_argument("--json", default="bench_results.json")
    bench_parser.add_argument("--chart", default="bench_results.png")
    bench_parser.set_defaults(run=_bench)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
