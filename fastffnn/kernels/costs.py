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

from fastffnn._jit import serial
from fastffnn.kernels.reductions import ordered_sum


@serial
def logistic_cross_entropy(A, Y, s):
    """C1 / C3: ``-(1/sum s) sum_i s_i sum_j [y log a + (1 - y) log(1 - a)]``.

    A, Y: (n_L, m); s: (m,). C1 is the case n_L = 1; C3 sums the n_L binary
    costs. Returns a scalar of A's dtype.
    """
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            y = Y[j, i]
            # one log per entry for 0/1 targets (a term with weight 0 is skipped)
            if y != 0:
                total += y * np.log(a)
            if y != one:
                total += (one - y) * np.log(one - a)
        cost += s[i] * total
    return -cost / ordered_sum(s)


@serial
def softmax_cross_entropy(A, Y, s):
    """C2: ``-(1/sum s) sum_i s_i sum_j y_ji log a_ji``. A, Y: (n_L, m); s: (m,)."""
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            if Y[j, i] != 0:  # one-hot targets: one log per example
                a = min(max(A[j, i], eps), one - eps)
                total += Y[j, i] * np.log(a)
        cost += s[i] * total
    return -cost / ordered_sum(s)


@serial
def logistic_cross_entropy_seed(A, Y, s, dA):
    """Seed of C1 / C3: ``dA = (s_i / sum s) ((1 - Y) / (1 - A) - Y / A)``.

    A, Y, dA: (n_L, m); s: (m,). A is clipped as in the cost.
    """
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    scale = one / ordered_sum(s)
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            y = Y[j, i]
            dA[j, i] = weight * ((one - y) / (one - a) - y / a)


@serial
def softmax_cross_entropy_seed(A, Y, s, dA):
    """Seed of C2: ``dA = -(s_i / sum s) Y / A``. A, Y, dA: (n_L, m); s: (m,)."""
    n, m = A.shape
    eps = np.finfo(A.dtype).eps
    one = A.dtype.type(1)
    scale = one / ordered_sum(s)
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            a = min(max(A[j, i], eps), one - eps)
            dA[j, i] = -weight * Y[j, i] / a


@serial
def fused_seed(A, Y, s, weight_total, dZ):
    """C4 with R2: ``dz_{:,i} = s_i (a_{:,i} - y_{:,i}) / sum s``.

    Valid for each of sigmoid + C1, softmax + C2 and sigmoid + C3: it is the
    general seed passed through the output activation's backward (A2 / A4)
    in closed form. A, Y, dZ: (n_L, m); s: (m,); ``weight_total`` is the
    ``sum s`` of the whole mini-batch (a chunk of a batch passes the batch's).
    """
    n, m = A.shape
    scale = A.dtype.type(1) / weight_total
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            dZ[j, i] = weight * (A[j, i] - Y[j, i])


@serial
def squared_norm(W):
    """The ``||W||^2`` of R1 for one layer's weights W: (n_l, n_{l-1}).

    Summed per column (stride 1 in Fortran order), then over columns in order.
    """
    n, k = W.shape
    norm = W.dtype.type(0)
    for p in range(k):
        total = W.dtype.type(0)
        for j in range(n):
            total += W[j, p] * W[j, p]
        norm += total
    return norm


#: Parameters per block of ``sum_block_gradients``. Fixed, so that no sum
#: depends on the number of threads.
GRADIENT_BLOCK = 4096


@serial
def gradient_blocks(n_params):
    """Number of blocks of GRADIENT_BLOCK parameters (the last one shorter)."""
    return (n_params + GRADIENT_BLOCK - 1) // GRADIENT_BLOCK


@serial
def _add_chunks(chunk_grads, start, stop, scale, params, grads):
    """``grads[p] = sum_c chunk_grads[c, p] (+ scale * params[p])`` for p in
    [start, stop); returns ``sum params[p]^2`` there (0 when ``scale`` is 0).

    Loops run over p innermost (vectorized), chunk after chunk: each
    ``grads[p]`` is still added up in chunk order. The squared norm keeps
    four running sums (p mod 4, from ``start``), added at the end: a fixed
    order, without one long chain of dependent additions.
    """
    n_chunks = chunk_grads.shape[0]
    zero = params.dtype.type(0)
    for p in range(start, stop):
        grads[p] = chunk_grads[0, p]
    for c in range(1, n_chunks):
        for p in range(start, stop):
            grads[p] += chunk_grads[c, p]
    if scale == 0:
        return zero
    for p in range(start, stop):
        grads[p] += scale * params[p]
    s0, s1, s2, s3 = zero, zero, zero, zero
    p = start
    while p + 4 <= stop:
        s0 += params[p] * params[p]
        s1 += params[p + 1] * params[p + 1]
        s2 += params[p + 2] * params[p + 2]
        s3 += params[p + 3] * params[p + 3]
        p += 4
    while p < stop:
        s0 += params[p] * params[p]
        p += 1
    return (s0 + s1) + (s2 + s3)


@serial
def sum_block_gradients(chunk_grads, params, sizes, scale, start, stop, grads):
    """The chunks' gradients added up plus R1's gradient, on parameters [start, stop).

    ``grads = sum_c chunk_grads[c] + scale * W`` on weights (biases get no R1
    term), chunks added in chunk order, with ``scale = alpha / sum s`` (0: no
    penalty). Returns this range's share of ``sum_l ||W^[l]||^2`` (for R1's
    cost). chunk_grads: (C, n_params), each row laid out like ``params``
    (n_params,) (``fastffnn.network``); grads: (n_params,), output, may alias
    a row of chunk_grads.
    """
    zero = params.dtype.type(0)
    norm = zero
    layer_start = 0
    for l in range(1, sizes.size):
        weights_end = layer_start + sizes[l - 1] * sizes[l]
        layer_end = weights_end + sizes[l]
        low, high = max(start, layer_start), min(stop, weights_end)
        if low < high:
            norm += _add_chunks(chunk_grads, low, high, scale, params, grads)
        low, high = max(start, weights_end), min(stop, layer_end)
        if low < high:
            _add_chunks(chunk_grads, low, high, zero, params, grads)
        layer_start = layer_end
    return norm
