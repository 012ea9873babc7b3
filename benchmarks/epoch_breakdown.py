"""Where the time goes: a training epoch of a small network and a 10,000-row
prediction, against their GEMMs (and Adam, row gathers) timed alone.

    python benchmarks/epoch_breakdown.py [S M ...]

Training: fastffnn's epoch (1 thread, then all cores) against the same
mini-batches' GEMMs (forward, dW, dA of every chunk, fixed buffers), Adam
steps over the parameter vector and shuffled-row gathers, each on one
thread. Prediction: ``predict_rows`` of the bench's inference network on 1
and 2 threads against numpy's single-threaded GEMMs of the same blocks, and
onnxruntime. Prints milliseconds and shares; not a test, no assertions.
"""

import statistics
import sys
import time
import warnings

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from fastffnn import FFNNClassifier, bench, boundary
from fastffnn.kernels.optimizers import adam_step
from fastffnn.prediction import PREDICT_BLOCK, predict_rows
from fastffnn.solvers import batch_chunks
from fastffnn.threads import thread_limits


@numba.njit
def chunk_gemms(m_c, n_chunks, As, Ws, Zs):
    """Per chunk and layer: Z = A W (forward), W = A^T Z (dW), A = Z W^T (dA, not layer 1)."""
    for _ in range(n_chunks):
        for l in range(len(Ws)):
            A, W, Z = As[l][:m_c], Ws[l], Zs[l][:m_c]
            np.dot(A, W, Z)
            np.dot(A.T, Z, W)
            if l > 0:
                np.dot(Z, W.T, A)


@numba.njit
def gather(X, order, buffer):
    batch = buffer.shape[0]
    for start in range(0, order.size - batch + 1, batch):
        for i in range(batch):
            row = order[start + i]
            for j in range(X.shape[1]):
                buffer[i, j] = X[row, j]


def median_seconds(call, repeats=5):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def epoch_breakdown(config):
    X, _, y, _ = bench.make_data(config)
    sizes = [config.n_features, *config.hidden, config.n_classes]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    chunks = batch_chunks(config.batch_size, n_params)
    m_c, batches = config.batch_size // chunks, X.shape[0] // config.batch_size
    dtype = np.dtype(config.dtype)
    As = tuple(np.ones((m_c, a), dtype) for a in sizes[:-1])
    Ws = tuple(np.full((a, b), 1e-3, dtype) for a, b in zip(sizes[:-1], sizes[1:]))
    Zs = tuple(np.ones((m_c, b), dtype) for b in sizes[1:])
    params, grads = np.zeros(n_params, dtype), np.full(n_params, 1e-3, dtype)
    moments = np.zeros(n_params, dtype), np.zeros(n_params, dtype)
    order = np.random.default_rng(0).permutation(X.shape[0])
    buffer = np.empty((config.batch_size, config.n_features), dtype)
    with threadpool_limits(1):
        gemms = median_seconds(lambda: chunk_gemms(m_c, batches * chunks, As, Ws, Zs))
        adam = median_seconds(
            lambda: [adam_step(params, grads, *moments, 1e-3, 0.9, 0.999, 1e-8)
                     for _ in range(batches)]
        )  # fmt: skip
        gathers = median_seconds(lambda: gather(X, order, buffer))

    def fit():
        bench._sklearn_like(FFNNClassifier, config, 3).fit(X, y)

    for threads in (1, None):
        with bench.thread_limit(threads):
            epoch = median_seconds(fit, 3) / 3  # 3 epochs a fit
        cores = 1 if threads == 1 else numba.get_num_threads()
        parts = {"GEMMs": gemms / cores, "Adam": adam, "gathers": gathers / cores}
        rest = epoch - sum(parts.values())
        shares = ", ".join(
            f"{k} {1e3 * v:.1f} ms ({100 * v / epoch:.0f}%)" for k, v in parts.items()
        )
        print(f"{config.name} {'1 thread' if threads == 1 else 'all cores'}: epoch "
              f"{1e3 * epoch:.1f} ms; {shares}; rest {1e3 * rest:.1f} ms "
              f"({1e6 * rest / batches:.0f} us per batch of {chunks} chunks x {m_c})")  # fmt: skip


def prediction_breakdown(dtype):
    config = bench.INFERENCE
    config = bench.Config(config.name, config.n_samples, config.n_features, config.n_classes,
                          config.hidden, config.batch_size, dtype, 2)  # fmt: skip
    X_train, X_test, y, _ = bench.make_data(config)
    X = np.ascontiguousarray(np.concatenate([X_test, X_train])[:10_000])
    model = FFNNClassifier(hidden_layer_sizes=config.hidden, max_iter=2).fit(X_train, y)
    network, out = model._network_bundle(), np.empty((X.shape[0], config.n_classes), dtype)
    X, block = boundary.compiled_input(X, dtype), np.int64(PREDICT_BLOCK)
    line = [f"predict {dtype}, 10,000 rows, blocks of {block}:"]
    for threads in (1, 2):

        def call(threads=threads):
            with thread_limits():
                predict_rows(X, network, block, out, True, threads)

        with bench.thread_limit(threads):
            line.append(f"{threads} thread(s) {1e3 * median_seconds(call, 15):.1f} ms")
    W = model.coefs_

    def gemms():
        with thread_limits():
            for start in range(0, X.shape[0], block):
                (X[start : start + block] @ W[0]) @ W[1] @ W[2]

    line.append(f"numpy GEMMs of the blocks, 1 thread {1e3 * median_seconds(gemms, 15):.1f} ms")
    session = bench.onnxruntime_session(model, X)
    if not isinstance(session, str):
        name = session.get_inputs()[0].name
        seconds = median_seconds(lambda: session.run(["probabilities"], {name: X}), 15)
        line.append(f"onnxruntime {1e3 * seconds:.1f} ms")
    print(" | ".join(line))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    for name in sys.argv[1:] or ["S", "M"]:
        epoch_breakdown(next(c for c in bench.CONFIGS if c.name == name))
    for dtype in ("float32", "float64"):
        prediction_breakdown(dtype)
