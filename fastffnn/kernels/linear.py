"""The linear layer: forward (F1) and backward (B2-B4).

Every matrix argument is a MATH.md-shaped (units, examples) array in Fortran
order (see ``fastffnn.kernels``). GEMMs run in BLAS outside any prange body:
BLAS threads inside a parallel region were 8x slower here.
"""

import numpy as np

from fastffnn._jit import serial


@serial
def linear_forward(W, b, A_prev, Z):
    """F1: ``Z = W @ A_prev + broadcast(b)``, written into ``Z``.

    W: (n_l, n_{l-1}); b: (n_l,); A_prev: (n_{l-1}, m); Z: (n_l, m), output.
    """
    np.dot(A_prev.T, W.T, Z.T)
    n, m = Z.shape
    for i in range(m):
        for j in range(n):
            Z[j, i] += b[j]


@serial
def example_forward(W, b, A_prev, Z):
    """F1 for one example as compiled loops, no BLAS: a one-row prediction's
    layers (``propagation.forward_example``). As fast as the BLAS call here (a
    matrix-vector product bound by reading W) and, calling no BLAS, it needs no
    BLAS thread limits. Only prediction uses it: in every level of the training
    chain it cost ~8 s of the first fit's compilation.

    W: (n_l, n_{l-1}); b: (n_l,); A_prev: (n_{l-1}, 1); Z: (n_l, 1), output.
    """
    n, n_prev = W.shape
    for j in range(n):  # element loops, not slice assignments (see kernels.inputs)
        Z[j, 0] = b[j]
    # columns of W (stride 1, vectorized across units), four a pass: a quarter
    # of Z's loads and stores (2x faster in float64 here)
    four = n_prev - n_prev % 4
    for k in range(0, four, 4):
        a0, a1, a2, a3 = A_prev[k, 0], A_prev[k + 1, 0], A_prev[k + 2, 0], A_prev[k + 3, 0]
        w0, w1, w2, w3 = W[:, k], W[:, k + 1], W[:, k + 2], W[:, k + 3]
        for j in range(n):
            Z[j, 0] = (((Z[j, 0] + a0 * w0[j]) + a1 * w1[j]) + a2 * w2[j]) + a3 * w3[j]
    for k in range(four, n_prev):
        a, w = A_prev[k, 0], W[:, k]
        for j in range(n):
            Z[j, 0] += a * w[j]


@serial
def linear_backward_params(dZ, A_prev, dW, db):
    """B2, B3: ``dW = dZ @ A_prev.T`` and ``db = sum over axis 1 of dZ``.

    dZ: (n_l, m); A_prev: (n_{l-1}, m); dW: (n_l, n_{l-1}), output;
    db: (n_l,), output. Each unit's sum runs over examples in order; the loop
    walks examples outside and units inside, so it reads dZ with stride 1 and
    vectorizes across units (the same sums, in the same order).
    """
    np.dot(A_prev, dZ.T, dW.T)
    n, m = dZ.shape
    for j in range(n):
        db[j] = dZ[j, 0]
    for i in range(1, m):
        for j in range(n):
            db[j] += dZ[j, i]


@serial  # one GEMM, no loop of its own to parallelize
def linear_backward_input(dZ, W, dA_prev):
    """B4: ``dA_prev = W.T @ dZ``, written into ``dA_prev``.

    dZ: (n_l, m); W: (n_l, n_{l-1}); dA_prev: (n_{l-1}, m), output.
    """
    np.dot(dZ.T, W, dA_prev.T)
