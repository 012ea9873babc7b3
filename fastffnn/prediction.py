"""Compiled prediction: the network's outputs A^[L] (F1-F2) for many rows,
in fixed blocks run in parallel, and for one row without BLAS.

X arrives as ``fastffnn.boundary.compiled_input`` gives it (read-only dense
rows or a sparse X's tuple), the network as a ``bundles.Network``; ``out``
(n_samples, n^[L]) receives the outputs in the user's layout.
"""

import numba
import numpy as np
from numba import prange

from fastffnn._jit import internal, kernel, serial
from fastffnn._linking import separate
from fastffnn.bundles import Dropout, Network
from fastffnn.kernels.inputs import all_finite, input_columns, n_rows, row_block
from fastffnn.network import workspace_rows
from fastffnn.propagation import call_forward, forward_example

#: Rows per block of a prediction: blocks run in parallel, each on one thread.
PREDICT_BLOCK = 256

#: What the prediction functions return: all finite, X not finite, outputs not finite.
FINITE, INPUT_NOT_FINITE, OUTPUT_NOT_FINITE = 0, 2, 1


@internal
def predict_block(X, network, start, stop, out, activations, check_input):
    """A^[L] of rows ``start:stop`` of X into the same rows of ``out``, with
    ``activations`` as workspace; returns ``predict_rows``'s status of the block."""
    m = stop - start
    rows = row_block(X, start, stop)
    if check_input and not all_finite(rows):
        return INPUT_NOT_FINITE
    no_dropout = Dropout(np.empty(0), np.empty(0, dtype=np.int64), np.uint64(0), activations)
    A_out = call_forward(input_columns(rows), network, activations, m, no_dropout)
    return copy_outputs(A_out, out, start)


call_predict_block = separate(predict_block)


@kernel
def predict_rows(X, network, block, out, check_input, threads):
    """A^[L] (F1-F2) for every row of X, written into ``out``; returns
    INPUT_NOT_FINITE when ``check_input`` and X holds NaN or inf, else
    OUTPUT_NOT_FINITE when an output overflowed, else FINITE.

    X: (n_samples, n^[0]); out: (n_samples, n^[L]); ``threads``: the caller's
    ``numba.get_num_threads()`` (inside compiled code it would stop numba
    caching this function). The rows are cut into fixed blocks of ``block``
    rows from the first, run in parallel, each on one thread
    (single-threaded BLAS): every row is computed the same way whatever the
    threads. Each thread reuses one workspace for its blocks, so memory grows
    with the threads, not with n_samples. A single block runs without a
    parallel region. Checking X here, a block at a time while it is in
    cache, replaces a separate pass over X.
    """
    n_samples = n_rows(X)
    n_blocks = (n_samples + block - 1) // block
    size = min(block, n_samples) * workspace_rows(network.sizes)
    dtype = network.params.dtype
    if n_blocks == 1:
        return call_predict_block(X, network, np.int64(0), n_samples, out,
                                  np.empty(size, dtype=dtype), check_input)  # fmt: skip
    workspaces = np.empty((threads, size), dtype=dtype)
    status = np.zeros(n_blocks, dtype=np.int64)
    for k in prange(n_blocks):
        start = np.int64(k) * block
        status[k] = call_predict_block(X, network, start, min(start + block, n_samples), out,
                                       workspaces[numba.get_thread_id()], check_input)  # fmt: skip
    return status.max()


@serial
def predict_example(X, params, sizes, codes, out, check_input):
    """``predict_rows`` for an X of one row, through ``forward_example``: no BLAS
    call, so no BLAS thread limits needed; compiled on the first one-row
    prediction only. Takes the network's arrays (``params``, ``sizes``,
    ``codes`` of a ``bundles.Network`` made by the boundary) rather than the
    bundle: numba types a tuple argument in ~20 us, an array in well under 1."""
    network = Network(params, sizes, codes, params.dtype.type(0))
    rows = row_block(X, np.int64(0), np.int64(1))
    if check_input and not all_finite(rows):
        return INPUT_NOT_FINITE
    activations = np.empty(workspace_rows(network.sizes), dtype=network.params.dtype)
    A_out = forward_example(input_columns(rows), network, activations)
    return copy_outputs(A_out, out, np.int64(0))


@internal
def copy_outputs(A_out, out, start):
    """A^[L] (n^[L], m) into rows ``start:start + m`` of ``out``; returns
    OUTPUT_NOT_FINITE if any value is NaN or inf, else FINITE."""
    m = A_out.shape[1]
    # element loops, not a slice assignment (see training.batch_rows)
    status = FINITE
    for i in range(m):
        for j in range(A_out.shape[0]):
            value = A_out[j, i]
            out[start + i, j] = value
            if not np.isfinite(value):
                status = OUTPUT_NOT_FINITE
    return status
