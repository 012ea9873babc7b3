"""Start-up time: a fresh interpreter imports fastffnn and fits digits (10 epochs).

    python benchmarks/startup.py [--repeats 3]

Prints, as medians of fresh processes (wall clock, the whole process):
``python -c pass``, importing scikit-learn and numba alone (the floor no
library built on them can go below), import + first fit with a warm on-disk
numba cache, and the same with an empty cache (everything compiled, in a
temporary NUMBA_CACHE_DIR so the project's own cache is left alone).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_FIT = """
import warnings
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier
X, y = load_digits(return_X_y=True)
FFNNClassifier(max_iter=10, random_state=0).fit(X / 16.0, y)
"""

FLOOR = "import sklearn.neural_network, sklearn.datasets, numba, scipy.optimize"


def wall_seconds(code, env=None):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = {}
    rows["python -c pass"] = [wall_seconds("pass") for _ in range(args.repeats)]
    rows["import scikit-learn + numba"] = [wall_seconds(FLOOR) for _ in range(args.repeats)]
    wall_seconds(FIRST_FIT)  # the project's cache is warm from here on
    rows["import + first fit, warm cache"] = [wall_seconds(FIRST_FIT) for _ in range(args.repeats)]
    cold = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(wall_seconds(FIRST_FIT, dict(os.environ, NUMBA_CACHE_DIR=cache)))
    rows["import + first fit, empty cache"] = cold
    for name, times in rows.items():
        print(f"{name:<34} median {statistics.median(times):6.2f} s  (runs: "
              + ", ".join(f"{t:.2f}" for t in times) + ")")  # fmt: skip


if __name__ == "__main__":
    main()
