"""Costs (C1-C3), their backpropagation seeds, the fused seed (C4),
the L2 penalty (R1) and sample weights (R2).

A, Y: (n_L, m) in Fortran order; ``s``: (m,) sample weights. With R2 every
``1/m`` of MATH.md becomes ``1/sum(s)``; unit weights give back the plain
equations. As in scikit-learn, the L2 term is also divided by ``sum(s)``.

Clipping: a cost evaluates ``log`` at ``A`` clipped to ``[eps, 1 - eps]``,
``eps`` the machine epsilon of A's dtype (scikit-learn's rule), so a saturated
output costs at most ``-log(eps)`` (36 in float64, 16 in float32) instead of
``inf``; the general seeds divide by the same clipped ``A``. The fused seed
C4 needs no clipping.
"""

import numpy as np
from numba import prange

from fastffnn._jit import kernel
from fastffnn.kernels.reductions import ordered_sum


@kernel
def logistic_cross_entropy(A, Y, s):
    """C1 / C3: ``-(1/sum s) sum_i s_i sum_j [y log a + (1 - y) log(1 - a)]``.

    A, Y: (n_L, m); s: (m,). C1 is the case n_L = 1; C3 sums the n_L binary
    costs. Returns a scalar of A's dtype.
    """
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    per_example = np.empty(m, dtype=A.dtype)
    for i in prange(m):
        total = A.dtype.type(0)
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            y = Y[j, i]
            # one log per entry for 0/1 targets (a term with weight 0 is skipped)
            if y != 0:
                total += y * np.log(a)
            if y != one:
                total += (one - y) * np.log(one - a)
        per_example[i] = s[i] * total
    return -ordered_sum(per_example) / ordered_sum(s)


@kernel
def softmax_cross_entropy(A, Y, s):
    """C2: ``-(1/sum s) sum_i s_i sum_j y_ji log a_ji``. A, Y: (n_L, m); s: (m,)."""
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    per_example = np.empty(m, dtype=A.dtype)
    for i in prange(m):
        total = A.dtype.type(0)
        for j in range(n):
            if Y[j, i] != 0:  # one-hot targets: one log per example
                a = min(max(A[j, i], eps), one - eps)
                total += Y[j, i] * np.log(a)
        per_example[i] = s[i] * total
    return -ordered_sum(per_example) / ordered_sum(s)


@kernel
def logistic_cross_entropy_seed(A, Y, s, dA):
    """Seed of C1 / C3: ``dA = (s_i / sum s) ((1 - Y) / (1 - A) - Y / A)``.

    A, Y, dA: (n_L, m); s: (m,). A is clipped as in the cost.
    """
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    scale = one / ordered_sum(s)
    for i in prange(m):
        weight = s[i] * scale
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            y = Y[j, i]
            dA[j, i] = weight * ((one - y) / (one - a) - y / a)


@kernel
def softmax_cross_entropy_seed(A, Y, s, dA):
    """Seed of C2: ``dA = -(s_i / sum s) Y / A``. A, Y, dA: (n_L, m); s: (m,)."""
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    scale = one / ordered_sum(s)
    for i in prange(m):
        weight = s[i] * scale
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            dA[j, i] = -weight * Y[j, i] / a


@kernel
def fused_seed(A, Y, s, weight_total, dZ):
    """C4 with R2: ``dz_{:,i} = s_i (a_{:,i} - y_{:,i}) / sum s``.

    Valid for each of sigmoid + C1, softmax + C2 and sigmoid + C3: it is the
    general seed passed through the output activation's backward (A2 / A4)
    in closed form. A, Y, dZ: (n_L, m); s: (m,); ``weight_total`` is the
    ``sum s`` of the whole mini-batch (a chunk of a batch passes the batch's).
    """
    n, m = A.shape
    scale = A.dtype.type(1) / weight_total
    for i in prange(m):
        weight = s[i] * scale
        for j in range(n):
            dZ[j, i] = weight * (A[j, i] - Y[j, i])


@kernel
def squared_norm(W):
    """The ``||W||^2`` of R1 for one layer's weights W: (n_l, n_{l-1}).

    Summed per column (stride 1 in Fortran order), then serially over columns:
    independent of the thread count.
    """
    n, k = W.shape
    per_column = np.empty(k, dtype=W.dtype)
    for p in prange(k):
        total = W.dtype.type(0)
        for j in range(n):
            total += W[j, p] * W[j, p]
        per_column[p] = total
    return ordered_sum(per_column)


@kernel
def add_l2_gradient(W, scale, dW):
    """R1's gradient: ``dW += scale * W`` with ``scale = alpha / sum(s)``.

    W, dW: (n_l, n_{l-1}); ``scale`` has W's dtype.
    """
    n, k = W.shape
    for p in prange(k):
        for j in range(n):
            dW[j, p] += scale * W[j, p]
