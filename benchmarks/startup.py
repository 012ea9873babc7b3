"""Start-up time against MLPClassifier, each in fresh processes, in one run.

    python benchmarks/startup.py [--repeats 3] [--no-compile-command] [--wheel WHEEL [--only-wheel]]

Every row is the wall clock of a whole fresh interpreter (median of
``--repeats``): scikit-learn's MLPClassifier importing and fitting digits for
10 epochs and predicting a few rows (the peer), fastffnn doing the same with
an empty numba cache (in a temporary NUMBA_CACHE_DIR, so the project's own
cache is left alone), then its first float32 fit on top of that cache, then
with everything cached; importing fastffnn alone; and ``python -m fastffnn
compile`` into an empty cache. With ``--wheel``, each repeat also installs
that wheel into a new virtual environment (not timed) and times, there, the
peer again, fastffnn's first float64 fit, then its first float32, sparse and
L-BFGS fits (each a fresh process; the wheel's machine code, nothing
compiled). Ratios are against the peer's median (the venv's own peer for the
wheel's rows).
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
{prepare}
model = {estimator}(max_iter=10, random_state=0{options}).fit(X, y)
model.predict_proba(X[:5])
"""


def fit_code(module="fastffnn", estimator="FFNNClassifier", dtype="float64", prepare="",
             options=""):  # fmt: skip
    return FIT.format(module=module, estimator=estimator, dtype=dtype, prepare=prepare,
                      options=options)  # fmt: skip


MLP_FIT = fit_code("sklearn.neural_network", "MLPClassifier")
FIRST_FIT = fit_code()
FIRST_FIT_FLOAT32 = fit_code(dtype="float32")
FIRST_FIT_SPARSE = fit_code(prepare="import scipy.sparse; X = scipy.sparse.csr_matrix(X)")
FIRST_FIT_LBFGS = fit_code(options=', solver="lbfgs"')
IMPORT = "import fastffnn"


def wall_seconds(code=None, env=None, command=None, cwd=None):
    """Seconds a fresh interpreter takes to run ``code`` (or ``command``)."""
    start = time.perf_counter()
    subprocess.run(command or [sys.executable, "-c", code], check=True, env=env, cwd=cwd,
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


def measure_wheel(wheel, repeats):
    """{row name: [seconds]} in a new venv per repeat, with ``wheel`` installed."""
    rows = {}
    names = [("MLPClassifier in the venv: import + fit", MLP_FIT),
             ("wheel, fresh venv: import + first float64 fit", FIRST_FIT),
             ("wheel: then its first float32 fit", FIRST_FIT_FLOAT32),
             ("wheel: then its first sparse fit", FIRST_FIT_SPARSE),
             ("wheel: then its first lbfgs fit", FIRST_FIT_LBFGS)]  # fmt: skip
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            venv = os.path.join(folder, "venv")
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
            python = os.path.join(venv, "bin", "python")
            subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                            wheel], check=True)  # fmt: skip
            env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
            env["XDG_CACHE_HOME"] = os.path.join(folder, "user-cache")
            for name, code in names:
                rows.setdefault(name, []).append(
                    wall_seconds(env=env, command=[python, "-c", code], cwd=folder)
                )
    return rows


def report(rows, peer_row):
    peer = statistics.median(rows[peer_row])
    for name, times in rows.items():
        median = statistics.median(times)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:<46} {median:7.2f} s  {median / peer:5.2f}x MLPClassifier  (runs: {runs})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile-command", action="store_true")
    parser.add_argument("--wheel", help="also time this wheel installed in new venvs")
    parser.add_argument("--only-wheel", action="store_true", help="only the wheel's rows")
    args = parser.parse_args()
    if args.wheel:
        report(measure_wheel(os.path.abspath(args.wheel), args.repeats),
               "MLPClassifier in the venv: import + fit")  # fmt: skip
    if not args.only_wheel:
        rows = measure(args.repeats, compile_command=not args.no_compile_command)
        report(rows, "MLPClassifier: import + fit")


if __name__ == "__main__":
    main()
