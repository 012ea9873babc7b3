"""fastffnn's speed against another version of its code, interleaved in one run.

    python benchmarks/compare_code.py BEFORE_TREE [--rounds 3] [--only S,M,D]

``BEFORE_TREE`` is a folder holding another ``fastffnn`` package (for
example ``git archive cf6b575 fastffnn | tar -x -C /tmp/before``). Each
round runs both versions in fresh processes, one after the other (each with
its own warm numba cache), timing the bench's configurations
(``fastffnn.bench.run_fastffnn``: seconds per epoch, median of 3 fits) and
``predict_proba`` on 10,000 rows and on one row in float64 and float32; the report gives each
figure's median over the rounds and the ratio now / before (below 1: faster
now). The budget of a change is 1.03 on every row.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time, statistics, warnings
import numpy as np
from fastffnn import bench, FFNNClassifier
warnings.simplefilter("ignore")
names = sys.argv[1].split(",")
out = {}
for config in bench.CONFIGS:
    if config.name.split()[0] in names or config.name in names:
        data = bench.make_data(config)
        out[f"{config.name}: seconds per epoch"] = bench.run_fastffnn(config, data, 3)[
            "seconds_per_epoch"]
X = np.random.default_rng(0).standard_normal((10_000, 200))
y = np.arange(10_000) % 10
for dtype in ("float64", "float32"):
    model = FFNNClassifier((256, 128), max_iter=1, random_state=0, dtype=dtype)
    model.fit(X[:2000], y[:2000])
    for rows, repeats in ((10_000, 15), (1, 2000)):
        part = X[:rows].astype(dtype)
        model.predict_proba(part)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict_proba(part)
            times.append(time.perf_counter() - start)
        out[f"predict_proba {dtype} {rows} row(s): microseconds"] = 1e6 * statistics.median(times)
print(json.dumps(out))
"""


def run(tree, names, cache):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(cache))
    result = subprocess.run([sys.executable, "-c", CHILD, names], env=env, cwd=cache,
                            stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="folder holding the other fastffnn package")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="S,M,D,L", help="bench configurations (default S,M,D,L)")
    args = parser.parse_args()
    now = Path(__file__).resolve().parent.parent
    trees = {"before": args.before.resolve(), "now": now}
    with tempfile.TemporaryDirectory() as folder:
        caches = {name: Path(folder) / name for name in trees}
        for name, tree in trees.items():  # compile into each cache, untimed
            caches[name].mkdir()
            run(tree, args.only, caches[name])
        rounds = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                rounds[name].append(run(tree, args.only, caches[name]))
    print(f"{'figure':<42} {'before':>10} {'now':>10}  now/before")
    for key in rounds["now"][0]:
        before = statistics.median(r[key] for r in rounds["before"])
        after = statistics.median(r[key] for r in rounds["now"])
        print(f"{key:<42} {before:10.5g} {after:10.5g}  {after / before:.3f}")


if __name__ == "__main__":
    main()
