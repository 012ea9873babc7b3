"""Speed comparison as a bar chart: fastffnn against MLPClassifier (and PyTorch)
===============================================================================

Runs the comparison behind ``python -m fastffnn bench`` (same data,
architecture, Adam, batch size, epochs and dtype for every library, warm
timings) and writes milliseconds per epoch as a bar chart PNG (matplotlib is
optional: without it only the table is printed). By default the
configurations are shrunk to smoke-test sizes, which finish in seconds but
say little about speed; ``--full`` runs the real sizes (minutes).

Usage::

    python examples/benchmark_chart.py [--full] [--out benchmark.png] [--no-torch]
"""

import argparse
import warnings

from fastffnn import bench


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--full", action="store_true", help="the real sizes (minutes)")
    parser.add_argument(
        "--out", default="benchmark.png", help="PNG file to write (default: ./benchmark.png)"
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per library (--full)")
    args = parser.parse_args()

    configs = list(bench.CONFIGS) if args.full else [bench.tiny(c) for c in bench.CONFIGS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warm-up fits' max_iter and batch-size notes
        report = bench.compare(
            configs, repeats=args.repeats if args.full else 1, with_torch=not args.no_torch
        )
    print(bench.format_table(report))
    if not args.full:
        print("\n(smoke-test sizes: run with --full for meaningful timings)")
    if bench.bar_chart(report, args.out):
        print(f"\nwrote {args.out}")
    else:
        print(
            "\nmatplotlib is not installed (pip install matplotlib, or fastffnn[examples]); "
            "skipped the chart"
        )


if __name__ == "__main__":
    main()
