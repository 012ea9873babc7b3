"""The network's input A^[0]: dense columns or sparse rows, and the input
layer's forward (F1) and weight gradient (B2-B3) for each.

A dense X (n_samples, n^[0]) C-ordered is A^[0] in Fortran order (its ``.T``).
A sparse X (scipy CSR) travels as the tuple ``(data, indices, indptr, rows)``:
the CSR arrays of the whole matrix (``indices`` and ``indptr`` int64) and the
int64 ids of the rows taken, in order. Slicing or gathering examples only
changes ``rows``, so a batch of a sparse X is never copied or densified.

The functions here are numba overloads, one implementation per kind of
input; the compiled training and prediction code calls them and is compiled
once for each kind it meets. Every other layer is dense, as are Y and s.
"""

import numpy as np
from numba import types
from numba.extending import overload

from fastffnn._jit import OVERLOAD_OPTIONS
from fastffnn.kernels.linear import example_forward, linear_backward_params, linear_forward


def _sparse(X):
    return isinstance(X, types.BaseTuple)


def n_rows(X):
    """Examples in X (rows of the data, in the user's layout)."""
    raise NotImplementedError("compiled code only")


def row_block(X, start, stop):
    """Rows ``start:stop`` of X, without copying."""
    raise NotImplementedError("compiled code only")


def gathered_rows(X, rows, buffer, start, stop):
    """The rows ``rows[start:stop]`` of X; dense rows are copied into rows
    ``start:stop`` of ``buffer`` (m_max, n^[0]), sparse ones only have their ids
    written into ``buffer`` (m_max,) int64."""
    raise NotImplementedError("compiled code only")


def empty_row_buffer(X):
    """A zero-row buffer of the kind ``gathered_rows`` takes, for calls that gather nothing."""
    raise NotImplementedError("compiled code only")


def input_columns(X):
    """A^[0] for rows of X: dense X.T (n^[0], m) in Fortran order, sparse X as is."""
    raise NotImplementedError("compiled code only")


def n_examples(A0):
    """m, the examples (columns) of A^[0]."""
    raise NotImplementedError("compiled code only")


def all_finite(X):
    """Whether every stored value of X (as ``row_block`` gives it) is finite."""
    raise NotImplementedError("compiled code only")


def input_layer_forward(W, b, A0, Z):
    """F1 for layer 1: ``Z = W A^[0] + broadcast(b)``. W: (n^[1], n^[0]); b: (n^[1],);
    Z: (n^[1], m), output."""
    raise NotImplementedError("compiled code only")


def input_example_forward(W, b, A0, Z):
    """F1 for layer 1 and one example without BLAS (``linear.example_forward``
    for a dense row, the sparse loops for a sparse one). Z: (n^[1], 1), output."""
    raise NotImplementedError("compiled code only")


def input_layer_gradient(dZ, A0, dW, db):
    """B2-B3 for layer 1: ``dW = dZ A^[0]^T``, ``db`` = sums of dZ over examples.
    dZ: (n^[1], m); dW: (n^[1], n^[0]) and db: (n^[1],), outputs."""
    raise NotImplementedError("compiled code only")


@overload(n_rows, jit_options=OVERLOAD_OPTIONS)
def _n_rows(X):
    if _sparse(X):
        return lambda X: X[3].size
    return lambda X: X.shape[0]


@overload(all_finite, jit_options=OVERLOAD_OPTIONS)
def _all_finite(X):
    if _sparse(X):

        def sparse_finite(X):
            data, _, indptr, rows = X
            for r in rows:
                for p in range(indptr[r], indptr[r + 1]):
                    if not np.isfinite(data[p]):
                        return False
            return True

        return sparse_finite

    def dense_finite(X):
        # a row's test without an exit per element: that loop vectorizes
        for i in range(X.shape[0]):
            finite = True
            for j in range(X.shape[1]):
                finite &= np.isfinite(X[i, j])
            if not finite:
                return False
        return True

    return dense_finite


@overload(row_block, jit_options=OVERLOAD_OPTIONS)
def _row_block(X, start, stop):
    if _sparse(X):
        return lambda X, start, stop: (X[0], X[1], X[2], X[3][start:stop])
    return lambda X, start, stop: X[start:stop]


@overload(gathered_rows, jit_options=OVERLOAD_OPTIONS)
def _gathered_rows(X, rows, buffer, start, stop):
    if _sparse(X):

        def sparse_rows(X, rows, buffer, start, stop):
            ids = X[3]
            for k in range(start, stop):
                buffer[k] = ids[rows[k]]
            return (X[0], X[1], X[2], buffer[start:stop])

        return sparse_rows

    def dense_rows(X, rows, buffer, start, stop):
        # element loops, not slice assignments: those compile numba's
        # shape-error formatting, seconds of the first fit
        for k in range(start, stop):
            row = rows[k]
            for j in range(X.shape[1]):
                buffer[k, j] = X[row, j]
        return buffer[start:stop]

    return dense_rows


@overload(empty_row_buffer, jit_options=OVERLOAD_OPTIONS)
def _empty_row_buffer(X):
    if _sparse(X):
        return lambda X: np.empty(0, dtype=np.int64)
    return lambda X: np.empty((0, X.shape[1]), dtype=X.dtype)  # writable, as gather buffers are


@overload(input_columns, jit_options=OVERLOAD_OPTIONS)
def _input_columns(X):
    if _sparse(X):
        return lambda X: X
    return lambda X: X.T


@overload(n_examples, jit_options=OVERLOAD_OPTIONS)
def _n_examples(A0):
    if _sparse(A0):
        return lambda A0: A0[3].size
    return lambda A0: A0.shape[1]


@overload(input_layer_forward, jit_options=OVERLOAD_OPTIONS)
def _input_layer_forward(W, b, A0, Z):
    if _sparse(A0):

        def sparse_forward(W, b, A0, Z):
            data, indices, indptr, rows = A0
            n, m = Z.shape
            for i in range(m):
                for j in range(n):
                    Z[j, i] = b[j]
                r = rows[i]
                for p in range(indptr[r], indptr[r + 1]):
                    k, value = indices[p], data[p]
                    for j in range(n):  # column k of W: stride 1
                        Z[j, i] += value * W[j, k]

        return sparse_forward
    return lambda W, b, A0, Z: linear_forward(W, b, A0, Z)


@overload(input_example_forward, jit_options=OVERLOAD_OPTIONS)
def _input_example_forward(W, b, A0, Z):
    if _sparse(A0):
        return lambda W, b, A0, Z: input_layer_forward(W, b, A0, Z)
    return lambda W, b, A0, Z: example_forward(W, b, A0, Z)


@overload(input_layer_gradient, jit_options=OVERLOAD_OPTIONS)
def _input_layer_gradient(dZ, A0, dW, db):
    if _sparse(A0):

        def sparse_gradient(dZ, A0, dW, db):
            data, indices, indptr, rows = A0
            n, m = dZ.shape
            zero = dW.dtype.type(0)
            for k in range(dW.shape[1]):
                for j in range(n):
                    dW[j, k] = zero
            for j in range(n):
                db[j] = zero
            for i in range(m):  # examples in order: the same sums whatever the threads
                for j in range(n):
                    db[j] += dZ[j, i]
                r = rows[i]
                for p in range(indptr[r], indptr[r + 1]):
                    k, value = indices[p], data[p]
                    for j in range(n):
                        dW[j, k] += dZ[j, i] * value

        return sparse_gradient
    return lambda dZ, A0, dW, db: linear_backward_params(dZ, A0, dW, db)


def row_buffer(X, n_rows):
    """The buffer ``gathered_rows`` fills for batches of up to ``n_rows`` examples
    of X (as ``fastffnn.boundary.compiled_input`` gives it): rows of floats, or
    row ids of a sparse X."""
    if isinstance(X, tuple):
        return np.empty(n_rows, dtype=np.int64)
    return np.empty((n_rows, X.shape[1]), dtype=X.dtype)


def count_rows(X):
    """Examples in X as ``fastffnn.boundary.compiled_input`` gives it."""
    return X[3].size if isinstance(X, tuple) else X.shape[0]
