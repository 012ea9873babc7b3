"""Start-up time against MLPClassifier, each in fresh processes, in one run.

    python benchmarks/startup.py [--repeats 3] [--no-compile-command]

Every row is the wall clock of a whole fresh interpreter (median of
``--repeats``): scikit-learn's MLPClassifier importing and fitting digits for
10 epochs and predicting a few rows (the peer), fastffnn doing the same with
an empty numba cache (in a temporary NUMBA_CACHE_DIR, so the project's own
cache is left alone), then its first float32 fit on top of that cache, then
with everything cached; importing fastffnn alone; and ``python -m fastffnn
compile`` into an empty cache. Ratios are against the peer's median.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIT = """
import warnings
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from {module} import {estimator}
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype("{dtype}")
model = {estimator}(max_iter=10, random_state=0).fit(X, y)
model.predict_proba(X[:5])
"""

MLP_FIT = FIT.format(module="sklearn.neural_network", estimator="MLPClassifier", dtype="float64")
FIRST_FIT = FIT.format(module="fastffnn", estimator="FFNNClassifier", dtype="float64")
FIRST_FIT_FLOAT32 = FIT.format(module="fastffnn", estimator="FFNNClassifier", dtype="float32")
IMPORT = "import fastffnn"


def wall_seconds(code=None, env=None, command=None):
    """Seconds a fresh interpreter takes to run ``code`` (or ``command``)."""
    start = time.perf_counter()
    subprocess.run(command or [sys.executable, "-c", code], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def measure(repeats, compile_command=True):
    """{row name: [seconds of each repeat]}."""
    rows = {"MLPClassifier: import + fit": [], "fastffnn, empty cache: first float64 fit": [],
            "then its first float32 fit": []}  # fmt: skip
    for _ in range(repeats):  # interleaved, so that the machine's drift hits every row alike
        rows["MLPClassifier: import + fit"].append(wall_seconds(MLP_FIT))
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            rows["fastffnn, empty cache: first float64 fit"].append(wall_seconds(FIRST_FIT, env))
            rows["then its first float32 fit"].append(wall_seconds(FIRST_FIT_FLOAT32, env))
    wall_seconds(FIRST_FIT)  # the project's own cache is warm from here on
    wall_seconds(FIRST_FIT_FLOAT32)
    rows["fastffnn, warm cache: import + fit"] = [wall_seconds(FIRST_FIT) for _ in range(repeats)]
    rows["import fastffnn (warm)"] = [wall_seconds(IMPORT) for _ in range(repeats)]
    if compile_command:
        times = []
        for _ in range(max(1, repeats // 2)):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache)
                times.append(wall_seconds(env=env, command=[sys.executable, "-m", "fastffnn",
                                                            "compile"]))  # fmt: skip
        rows["python -m fastffnn compile (empty cache)"] = times
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile-command", action="store_true")
    args = parser.parse_args()
    rows = measure(args.repeats, compile_command=not args.no_compile_command)
    peer = statistics.median(rows["MLPClassifier: import + fit"])
    for name, times in rows.items():
        median = statistics.median(times)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:<42} {median:7.2f} s  {median / peer:5.2f}x MLPClassifier  (runs: {runs})")


if __name__ == "__main__":
    main()
