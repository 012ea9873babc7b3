"""Where a first fit's compile time goes, function by function.

    python benchmarks/compile_profile.py [--dtype float64] [--top 25]

Runs import + ``FFNNClassifier(max_iter=10).fit(digits)`` + ``predict_proba``
in a fresh interpreter with an empty numba cache (a temporary
NUMBA_CACHE_DIR) and lists numba's ``numba:compile`` events: seconds spent in
each function's own compilation (typing, lowering, LLVM), its callees'
compilations subtracted, and the LLVM time of the code libraries finalized
(optimization and machine-code emission, from numba's own timers).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, time, warnings
from collections import defaultdict
from numba.core import event, codegen

exclusive = defaultdict(float)
stack = []
class Listener(event.Listener):
    def on_start(self, ev):
        stack.append([ev.data["dispatcher"].py_func.__qualname__, time.perf_counter(), 0.0])
    def on_end(self, ev):
        name, start, inner = stack.pop()
        spent = time.perf_counter() - start
        exclusive[name] += spent - inner
        if stack:
            stack[-1][2] += spent
event.register("numba:compile", Listener())

llvm = defaultdict(float)
finalize = codegen.CPUCodeLibrary._optimize_final_module
def timed(self):
    start = time.perf_counter()
    finalize(self)
    llvm["module optimization"] += time.perf_counter() - start
    llvm["libraries finalized"] += 1
codegen.CPUCodeLibrary._optimize_final_module = timed
emit = codegen.JITCodeLibrary._finalize_specific
def timed_emit(self):
    start = time.perf_counter()
    emit(self)
    llvm["machine code emission"] += time.perf_counter() - start
codegen.JITCodeLibrary._finalize_specific = timed_emit

start = time.perf_counter()
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(sys.argv[1])
FFNNClassifier(max_iter=10, random_state=0).fit(X, y).predict_proba(X[:5])
total = time.perf_counter() - start
print(json.dumps({"total": total, "functions": exclusive, "llvm": llvm}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", CHILD, args.dtype], env=env, check=True,
                             stdout=subprocess.PIPE, text=True).stdout  # fmt: skip
    report = json.loads(out.splitlines()[-1])
    functions = report["functions"]
    print(f"import + first {args.dtype} fit + predict_proba: {report['total']:.2f} s wall; "
          f"{sum(functions.values()):.2f} s compiling {len(functions)} functions")  # fmt: skip
    for name, value in report["llvm"].items():
        print(f"  LLVM {name}: {value:.2f}" + (" s" if "libraries" not in name else ""))
    print("exclusive compile seconds by function:")
    for name, seconds in sorted(functions.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {seconds:6.2f}  {name}")


if __name__ == "__main__":
    main()
