"""Where a mini-batch's time goes: every step of the compiled chain timed
alone on the shapes one batch of a bench configuration gives it, against the
whole epoch.

    python benchmarks/batch_profile.py [S M "L float64" "L float32" ...]
    python benchmarks/batch_profile.py --perf S [--threads 1] [--epochs 300]

For each configuration: the batch is cut into chunks as training cuts it
(``solvers.batch_chunks``); each kernel of one chunk's forward and backward
(GEMMs bare, then the bias, activation, seed and db passes the kernels add)
is run in a compiled loop on one thread and reported in microseconds per
batch (a chunk's time times the chunks, divided by the cores they run on),
with the gradients' sum and Adam over the parameters (``finish_batch``'s
work) and an empty parallel region of each kind. The last lines compare
the sum with the real epoch per batch (fits of 1 and 1 + E epochs, the
difference), on one thread and on all cores: what the parts do not explain
is the cost of threads meeting (waking, waiting for the slowest chunk, cache
lines moving between cores).

``--perf`` profiles the real epoch instead, with Linux ``perf``: the process
compiles into an empty cache (so every function has its LLVM module), writes
``/tmp/perf-PID.map`` naming the machine code of every compiled function,
then records itself (``perf record -p``) while it trains and prints ``perf
report``'s top symbols. That is how a gradient sum 3x slower in the epoch
than alone was found (numba's wraparound test on a runtime index). Not a
test; no assertions.
"""

import argparse
import gc
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numba
import numpy as np
from numba import prange
from threadpoolctl import threadpool_limits

from fastffnn import FFNNClassifier, bench
from fastffnn.kernels.activations import relu_backward, relu_forward, softmax_forward
from fastffnn.kernels.costs import GRADIENT_BLOCK, fused_seed, sum_block_gradients
from fastffnn.kernels.linear import linear_backward_input, linear_backward_params, linear_forward
from fastffnn.kernels.optimizers import adam_step
from fastffnn.solvers import batch_chunks

REPEATS = 200


@numba.njit
def gather_rows(X, order, buffer, repeats):
    for r in range(repeats):
        start = (r * buffer.shape[0]) % (order.size - buffer.shape[0])
        for i in range(buffer.shape[0]):
            row = order[start + i]
            for j in range(X.shape[1]):
                buffer[i, j] = X[row, j]


@numba.njit
def forward_gemm(W, A_prev, Z, repeats):
    for _ in range(repeats):
        np.dot(A_prev.T, W.T, Z.T)


@numba.njit
def forward_layer(W, b, A_prev, Z, repeats):
    for _ in range(repeats):
        linear_forward(W, b, A_prev, Z)


@numba.njit
def relu_pass(Z, repeats):
    for _ in range(repeats):
        relu_forward(Z, Z)


@numba.njit
def softmax_and_seed(Z, Y, s, dZ, repeats):
    for _ in range(repeats):
        softmax_forward(Z, Z)
        fused_seed(Z, Y, s, 200.0, dZ)


@numba.njit
def params_gemm(dZ, A_prev, dW, repeats):
    for _ in range(repeats):
        np.dot(A_prev, dZ.T, dW.T)


@numba.njit
def params_layer(dZ, A_prev, dW, db, repeats):
    for _ in range(repeats):
        linear_backward_params(dZ, A_prev, dW, db)


@numba.njit
def input_gemm(dZ, W, dA, repeats):
    for _ in range(repeats):
        linear_backward_input(dZ, W, dA)


@numba.njit
def relu_back(A, dA, repeats):
    for _ in range(repeats):
        relu_backward(A, dA, dA)


@numba.njit
def sum_and_adam(chunk_grads, params, sizes, grads, moments, repeats):
    n = params.size
    for _ in range(repeats):
        for start in range(0, n, GRADIENT_BLOCK):
            stop = min(start + GRADIENT_BLOCK, n)
            sum_block_gradients(chunk_grads, params, sizes, 1e-6, start, stop, grads)
            adam_step(params[start:stop], grads[start:stop], moments[0, start:stop],
                      moments[1, start:stop], 1e-9, 0.9, 0.999, 1e-8)  # fmt: skip


@numba.njit(parallel=True)
def one_region(n, out):
    for k in prange(n):
        out[k] += 1.0


@numba.njit
def empty_region(n, out, repeats):
    for _ in range(repeats):
        one_region(n, out)


def per_call_us(run, *args):
    """Median microseconds of one repetition of a compiled loop ``run(*args, repeats)``."""
    run(*args, 2)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        run(*args, REPEATS)
        times.append((time.perf_counter() - start) / REPEATS)
    return 1e6 * statistics.median(times)


def epoch_us_per_batch(X, y, config, threads, epochs):
    """The compiled epoch per batch (fits of 1 and 1 + ``epochs`` epochs, the difference)."""

    def fit_seconds(n):
        times = []
        for _ in range(3):
            model = bench._sklearn_like(FFNNClassifier, config, n)
            start = time.perf_counter()
            model.fit(X, y)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    with bench.thread_limit(threads):
        fit_seconds(1)
        seconds = fit_seconds(1 + epochs) - fit_seconds(1)
    return 1e6 * seconds / epochs / (X.shape[0] // config.batch_size)


def profile(config, epochs=4):
    X, _, y, _ = bench.make_data(config)
    dtype = np.dtype(config.dtype)
    sizes = np.array([config.n_features, *config.hidden, config.n_classes])
    n_params = int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    chunks = batch_chunks(config.batch_size, n_params)
    m_c = config.batch_size // chunks
    cores = min(chunks, numba.get_num_threads())
    rng = np.random.default_rng(0)

    def fortran(rows, cols):
        return np.asfortranarray(rng.standard_normal((rows, cols)).astype(dtype) * 0.1)

    A = [fortran(n, m_c) for n in sizes]
    W = [fortran(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
    b = [np.zeros(n, dtype) for n in sizes[1:]]
    Y = np.asfortranarray(np.eye(config.n_classes, dtype=dtype)[rng.integers(0, 5, m_c)].T)
    s = np.ones(m_c, dtype)
    rows = []  # (name, us per chunk or per batch, per chunk?)
    with threadpool_limits(1):
        order = rng.permutation(X.shape[0])
        buffer = np.empty((config.batch_size, config.n_features), dtype)
        rows.append(("gather a batch's rows", per_call_us(gather_rows, X.astype(dtype), order,
                                                          buffer), False))  # fmt: skip
        L = len(W)
        for l in range(L):
            gemm = per_call_us(forward_gemm, W[l], A[l], A[l + 1])
            rows.append((f"F1 GEMM layer {l + 1}", gemm, True))
            rows.append((f"F1 bias layer {l + 1}", per_call_us(forward_layer, W[l], b[l], A[l],
                                                               A[l + 1]) - gemm, True))  # fmt: skip
            if l < L - 1:
                rows.append((f"F2 relu layer {l + 1}", per_call_us(relu_pass, A[l + 1]), True))
        dZ = np.asfortranarray(np.empty_like(A[L]))
        rows.append(("softmax + seed", per_call_us(softmax_and_seed, A[L].copy(order="F"), Y, s,
                                                   dZ), True))  # fmt: skip
        grads = [np.empty_like(w, order="F") for w in W]
        for l in range(L - 1, -1, -1):
            dZ_l = A[l + 1]
            gemm = per_call_us(params_gemm, dZ_l, A[l], grads[l])
            rows.append((f"B2 GEMM layer {l + 1}", gemm, True))
            rows.append((f"B3 db layer {l + 1}", per_call_us(params_layer, dZ_l, A[l], grads[l],
                                                             b[l]) - gemm, True))  # fmt: skip
            if l > 0:
                dA = A[l].copy(order="F")
                rows.append((f"B4 GEMM layer {l + 1}", per_call_us(input_gemm, dZ_l, W[l], dA),
                             True))  # fmt: skip
                rows.append((f"B1 relu layer {l}", per_call_us(relu_back, A[l], dA), True))
        chunk_grads = rng.standard_normal((chunks, n_params)).astype(dtype) * 1e-3
        params = rng.standard_normal(n_params).astype(dtype)
        moments = np.zeros((2, n_params), dtype)
        rows.append(("sum chunks + R1 + Adam (1 thread)",
                     per_call_us(sum_and_adam, chunk_grads, params, sizes, np.empty_like(params),
                                 moments), False))  # fmt: skip
    blocks = -(-n_params // GRADIENT_BLOCK)
    for count, what in ((chunks, "chunks"), (blocks, "blocks")):
        us = per_call_us(empty_region, count, np.zeros(count))
        rows.append((f"empty region of {count} {what}", us, False))
    print(f"\n{config.name}: {config.batch_size} examples per batch in {chunks} chunks of "
          f"{m_c}, {n_params:,} parameters, {dtype}; us per batch ({chunks} chunks on {cores} "
          "cores)")  # fmt: skip
    total = 0.0
    for name, us, per_chunk in rows:
        batch_us = us * chunks / cores if per_chunk else us
        if "Adam" in name:
            batch_us /= min(blocks, cores)  # finish_batch runs its blocks in parallel
        total += batch_us
        print(f"  {name:<36} {batch_us:9.1f}")
    print(f"  {'sum of the parts':<36} {total:9.1f}")
    for threads in (1, None):
        real = epoch_us_per_batch(X, y, config, threads, epochs)
        label = "1 thread" if threads == 1 else "all cores"
        print(f"  {'real epoch per batch, ' + label:<36} {real:9.1f}")


def write_perf_map():
    """``/tmp/perf-PID.map``: address, size and name of every function compiled
    in this process (sizes run to the next function's address)."""
    import numba.core.dispatcher

    entries, seen = [], set()
    for obj in gc.get_objects():
        if not isinstance(obj, numba.core.dispatcher.Dispatcher):
            continue
        for cres in obj.overloads.values():
            library = cres.library
            if id(library) in seen:
                continue
            seen.add(id(library))
            for function in library._final_module.functions:
                if not function.is_declaration:
                    address = library.get_pointer_to_function(function.name)
                    if address:
                        entries.append((address, function.name))
    entries.sort()
    path = f"/tmp/perf-{os.getpid()}.map"
    with open(path, "w") as out:
        for (address, name), (following, _) in zip(entries, entries[1:] + [(0, "")]):
            size = following - address if following else 1 << 16
            out.write(f"{address:x} {min(size, 1 << 20):x} {name}\n")
    return path


def perf_profile(config, threads, epochs):
    X, _, y, _ = bench.make_data(config)
    with bench.thread_limit(threads), tempfile.TemporaryDirectory() as folder:
        bench._sklearn_like(FFNNClassifier, config, 1).fit(X, y)  # compiles
        path = write_perf_map()
        data = os.path.join(folder, "perf.data")
        recorder = subprocess.Popen(["perf", "record", "-F", "2000", "-o", data, "-p",
                                     str(os.getpid())], stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1)  # perf attaches
        start = time.perf_counter()
        bench._sklearn_like(FFNNClassifier, config, epochs).fit(X, y)
        seconds = time.perf_counter() - start
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym",
                                 "--stdio"], capture_output=True, text=True).stdout  # fmt: skip
    batches = epochs * (X.shape[0] // config.batch_size)
    print(f"\n{config.name}, {threads or 'all'} thread(s): {1e6 * seconds / batches:.1f} us "
          f"per batch; perf's top symbols (machine code names from {path}):")  # fmt: skip
    lines = [line for line in report.splitlines() if "%" in line and not line.startswith("#")]
    for line in lines[:30]:
        # numba's mangled names end in a unique id and an ABI tag: keep the name
        print("  " + re.sub(r"B\d+v\d+B\w*$", "", line.rstrip())[:110])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=["S", "M"])
    parser.add_argument("--perf", action="store_true", help="profile the real epoch with perf")
    parser.add_argument("--threads", type=int, default=None, help="--perf: threads (all)")
    parser.add_argument("--epochs", type=int, default=300, help="--perf: epochs recorded")
    args = parser.parse_args()
    if args.perf and "NUMBA_CACHE_DIR" not in os.environ:
        # again, compiling everything afresh: code loaded from numba's cache
        # has no LLVM module to name its functions
        with tempfile.TemporaryDirectory() as empty:
            env = dict(os.environ, NUMBA_CACHE_DIR=empty)
            raise SystemExit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)
    warnings.simplefilter("ignore")
    for name in args.configs:
        config = next(c for c in bench.CONFIGS if c.name == name)
        if args.perf:
            perf_profile(config, args.threads, args.epochs)
        else:
            profile(config)
