"""Where a tabular mini-batch's time goes: every kernel of one chunk timed
alone on the chunk's shapes, against the real epoch per batch.

    python benchmarks/tabular_batch.py [--numeric 9] [--plain 20] [--embedded 0]
                                       [--dtype float32] [--regression]

The network is TabularMLP's default (3 x 256 hidden, batch 256 cut into
``TRAIN_CHUNKS`` chunks); the inputs are random. GEMM-bound time is the
batch's FLOPs over this machine's measured float32/float64 GEMM rate on all
cores (``numpy.dot`` of 1024 x 1024 matrices).
"""

import argparse
import time

import numpy as np

from fastffnn.kernels import tabular as kernels
from fastffnn.kernels.activations import MISH, SELU
from fastffnn.kernels.dropout import apply_dropout, scale_entries, step_key
from fastffnn.tabular import core
from fastffnn.tabular.network import TabularLayout, initialize
from fastffnn.threads import thread_limits


def median_us(function, *args, repeats=30):
    function(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e6


def gemm_rate(dtype):
    """FLOP/s of a large GEMM on all cores."""
    a = np.ones((1024, 1024), dtype=dtype)
    seconds = median_us(np.dot, a, a, repeats=5) / 1e6
    return 2 * 1024**3 / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numeric", type=int, default=9)
    parser.add_argument("--plain", type=int, default=20)
    parser.add_argument("--embedded", type=int, default=0)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--regression", action="store_true")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    code = MISH if args.regression else SELU
    rng = np.random.RandomState(0)
    n, batch = 2560, 256
    m = batch // core.TRAIN_CHUNKS
    cardinalities = [20] * args.embedded
    data = core.TabularData(
        rng.randn(n, args.numeric).astype(dtype),
        rng.randn(n, args.plain).astype(dtype),
        rng.randint(0, 21, (n, args.embedded)).astype(np.int64),
        np.full((n, 2), 0.5, dtype=dtype),
        np.ones(n, dtype=dtype),
    )
    layout = TabularLayout([args.numeric, args.plain, args.embedded], cardinalities,
                           [256, 256, 256], 2)  # fmt: skip
    params = initialize(layout, data, code, rng, dtype)
    network = layout.network(params, code)
    chunks = layout.chunks(512, dtype)
    optimizer = layout.optimizer(dtype)
    schedule = core.TabularSchedule(0.04, 0.15, 0.02, 1e4, (0.9, 0.95, 1e-8), np.int64(1))
    order = np.arange(n, dtype=np.int64)[np.newaxis, :]  # one member

    def F(*shape):
        return np.asfortranarray(rng.randn(*shape).astype(dtype))

    sizes = [int(s) for s in layout.sizes]
    rows = {}
    with thread_limits():
        epoch = median_us(core.train_epoch, data, network, chunks, optimizer, schedule, order,
                          np.int64(batch), np.int64(0), True, repeats=5) / (n // batch)  # fmt: skip
        k = args.numeric
        X, cos = F(k, m), F(16 * k, m)
        out = F(4 * k, m)
        freq, phase = F(k, 16) * 0.1, F(k, 16)
        w, b = rng.randn(k, 3, 16).astype(dtype), F(k, 3)
        rows["E2 PBLD forward"] = median_us(kernels.pbld_forward, X, freq, phase, w, b, out, cos)
        grads = (freq.copy(), phase.copy(), w.copy(), b.copy())
        rows["E2 PBLD backward"] = median_us(kernels.pbld_backward, X, freq, phase, w, cos, out,
                                             *grads)  # fmt: skip
        codes = rng.randint(0, 21, (max(args.embedded, 1), m)).astype(np.int64)
        tables = F(21 * max(args.embedded, 1), 8)
        first = np.arange(max(args.embedded, 1), dtype=np.int64) * 21
        emb = F(8 * max(args.embedded, 1), m)
        if args.embedded:
            rows["E1 embedding forward"] = median_us(kernels.embedding_forward, codes, tables,
                                                     first, emb)  # fmt: skip
            rows["E1 embedding backward"] = median_us(kernels.embedding_backward, codes, first,
                                                      emb, tables.copy())  # fmt: skip
        A0 = F(sizes[0], m)
        ones = np.ones(sizes[0], dtype=dtype)
        rows["S2 front scale forward"] = median_us(kernels.front_scale_forward, A0, ones, A0.copy())
        rows["S2 front scale backward"] = median_us(kernels.front_scale_backward, A0, ones, A0,
                                                    ones.copy(), A0.copy(order="F"))  # fmt: skip
        gemm = 0.0
        for l in range(1, len(sizes)):
            W, bias = F(sizes[l], sizes[l - 1]), np.zeros(sizes[l], dtype=dtype)
            A_prev, Z = F(sizes[l - 1], m), F(sizes[l], m)
            gemm += median_us(kernels.ntk_forward, W, bias, A_prev, Z)
            gemm += median_us(kernels.ntk_backward, Z, A_prev, W, W.copy(order="F"), bias.copy(),
                              A_prev.copy(order="F"))  # fmt: skip
        rows["N1 dense layers (GEMMs + bias), forward and backward"] = gemm
        hidden = F(256, m)
        mixing = np.ones(256, dtype=dtype)
        slopes = F(256, m)
        forward = median_us(kernels.parametric_forward, hidden.copy(order="F"), mixing,
                            np.int64(code), F(256, m), slopes)  # fmt: skip
        backward = median_us(kernels.parametric_backward, hidden, slopes, mixing, F(256, m),
                             F(256, m), mixing.copy())  # fmt: skip
        rows["A12 activations, 3 layers"] = 3 * (forward + backward)
        ids = np.arange(m)
        masks = median_us(apply_dropout, hidden, slopes, ids, step_key(1, 1), 0.15)
        rows["D1 dropout, 3 layers"] = 3 * (masks + median_us(scale_entries, hidden, slopes))
    flops = 2 * batch * sum(sizes[l - 1] * sizes[l] for l in range(1, len(sizes))) * 3
    bound = flops / gemm_rate(dtype) * 1e6
    total = sum(rows.values())
    activation = "Mish" if args.regression else "SELU"
    print(f"one chunk of {m} rows, single thread ({dtype.name}, {activation}):")
    for name, us in rows.items():
        print(f"  {name:55s} {us:8.1f} us  {us / total:5.1%}")
    print(f"  {'sum of the parts':55s} {total:8.1f} us")
    print(
        f"real epoch per batch of {batch} ({core.TRAIN_CHUNKS} chunks, all threads): {epoch:.1f} us"
    )
    print(
        f"GEMM-bound time per batch ({flops / 1e6:.0f} MFLOP at the machine's rate): {bound:.1f} us"
    )


if __name__ == "__main__":
    main()
