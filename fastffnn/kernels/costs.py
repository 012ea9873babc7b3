"""Costs (C1-C3, C5-C9), their backpropagation seeds, the fused seeds (C4
and its regression forms), the L2 penalty (R1) and sample weights (R2).

A, Y: (n_L, m) in Fortran order; ``s``: (m,) sample weights. With R2 every
``1/m`` of MATH.md becomes ``1/sum(s)``; unit weights give back the plain
equations. As in scikit-learn, the L2 term is also divided by ``sum(s)``.

Clipping: a cost evaluates ``log`` at ``A`` clipped to ``[eps, 1 - eps]``,
``eps`` the machine epsilon of A's dtype (scikit-learn's rule), so a saturated
output costs at most ``-log(eps)`` (36 in float64, 16 in float32) instead of
``inf``; the general seeds divide by the same clipped ``A``. The fused seed
C4 needs no clipping.
"""

import numba
import numpy as np
from numba.core import types

from fastffnn._jit import inlined, serial
from fastffnn._linking import AVAILABLE, ENABLED, KernelTable, table_call
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.registry import COSTS
from fastffnn.registry import REGRESSION_LOSSES as _REGRESSION_COSTS

#: Cost codes (``fastffnn.registry``): the F3 a network is trained on, with the
#: output activation it goes with. Logistic: C1 (one unit) or C3 (several),
#: after sigmoid units; softmax: C2; squared error: C5, identity output;
#: Poisson: C6, exp output; Huber: C7, absolute error: C8, pinball (quantile):
#: C9, identity output.
LOGISTIC_LOSS, SOFTMAX_LOSS, SQUARED_ERROR, POISSON, HUBER, ABSOLUTE_ERROR, QUANTILE = (
    COSTS[name].code
    for name in ("log_loss", "softmax_log_loss", "squared_error", "poisson", "huber",
                 "absolute_error", "quantile")
)  # fmt: skip

#: Loss names (the regressor's ``loss`` parameter) -> cost codes.
REGRESSION_LOSSES = {name: cost.code for name, cost in _REGRESSION_COSTS.items()}


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
def half_squared_error(A, Y, s):
    """C5 as scikit-learn reports it:
    ``(1/(2 sum s)) sum_i s_i sum_j (a_ji - y_ji)^2 / n_L``.

    The mean over the n_L outputs, as scikit-learn's ``loss_``; training
    follows the gradient of the sum over outputs (the fused seed), which is
    this times n_L (the same for one output). A, Y: (n_L, m); s: (m,).
    """
    n, m = A.shape
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            r = A[j, i] - Y[j, i]
            total += r * r
        cost += s[i] * total
    return A.dtype.type(0.5) * cost / (ordered_sum(s) * A.dtype.type(n))


@serial
def poisson_deviance(A, Y, s):
    """C6 with scikit-learn's constant (half the Poisson deviance):
    ``(1/sum s) sum_i s_i sum_j (a - y + y log(y / a))``, ``y log(y / a) = 0``
    for y = 0. A = exp(Z) > 0, Y >= 0: (n_L, m); s: (m,).
    """
    n, m = A.shape
    zero = A.dtype.type(0)
    cost = zero
    for i in range(m):
        total = zero
        for j in range(n):
            a, y = A[j, i], Y[j, i]
            total += a - y
            if y != zero:
                total += y * (np.log(y) - np.log(a))
        cost += s[i] * total
    return cost / ordered_sum(s)


@serial
def huber_loss(A, Y, s, delta):
    """C7: ``(1/sum s) sum_i s_i sum_j rho(a_ji - y_ji)`` with
    ``rho(r) = r^2 / 2`` for ``|r| <= delta``, else ``delta (|r| - delta / 2)``.
    A, Y: (n_L, m); s: (m,); ``delta`` > 0 of A's dtype.
    """
    n, m = A.shape
    half = A.dtype.type(0.5)
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            r = abs(A[j, i] - Y[j, i])
            total += half * r * r if r <= delta else delta * (r - half * delta)
        cost += s[i] * total
    return cost / ordered_sum(s)


@serial
def absolute_error(A, Y, s):
    """C8: ``(1/sum s) sum_i s_i sum_j |a_ji - y_ji|``. A, Y: (n_L, m); s: (m,)."""
    n, m = A.shape
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            total += abs(A[j, i] - Y[j, i])
        cost += s[i] * total
    return cost / ordered_sum(s)


@serial
def pinball_loss(A, Y, s, tau):
    """C9: ``(1/sum s) sum_i s_i sum_j rho(a_ji - y_ji)`` with
    ``rho(r) = (1 - tau) r`` for ``r >= 0``, else ``-tau r``.
    A, Y: (n_L, m); s: (m,); ``tau`` in (0, 1) of A's dtype.
    """
    n, m = A.shape
    one = A.dtype.type(1)
    cost = A.dtype.type(0)
    for i in range(m):
        total = A.dtype.type(0)
        for j in range(n):
            r = A[j, i] - Y[j, i]
            total += (one - tau) * r if r >= 0 else -tau * r
        cost += s[i] * total
    return cost / ordered_sum(s)


@serial
def _absolute_cost(A, Y, s, delta):
    return absolute_error(A, Y, s)


@serial
def _logistic_cost(A, Y, s, delta):
    return logistic_cross_entropy(A, Y, s)


@serial
def _softmax_cost(A, Y, s, delta):
    return softmax_cross_entropy(A, Y, s)


@serial
def _squared_cost(A, Y, s, delta):
    return half_squared_error(A, Y, s)


@serial
def _poisson_cost(A, Y, s, delta):
    return poisson_deviance(A, Y, s)


@serial
def _unprepared_cost(A, Y, s, delta):
    """A table entry whose kernel was never compiled (see ``data_cost``)."""
    if delta == delta:  # always: typed as the kernels, which return a number
        raise RuntimeError("fastffnn: a cost kernel used before fastffnn.boundary prepared it")
    return delta


def _cost_arrays(dtype):
    """A, Y: (n_L, m) Fortran-ordered; s: (m,); delta: a scalar; all of ``dtype``."""
    scalar = numba.from_dtype(dtype)
    matrix = types.Array(scalar, 2, "F")
    return (matrix, matrix, types.Array(scalar, 1, "C"), scalar)


#: F3 of every cost code with a uniform signature ``(A, Y, s, delta)``, called
#: through a table of pointers (``fastffnn._linking.KernelTable``): a network
#: compiles the cost it trains on only.
COSTS_TABLE = KernelTable("data_cost", {
    LOGISTIC_LOSS: _logistic_cost, SOFTMAX_LOSS: _softmax_cost, SQUARED_ERROR: _squared_cost,
    POISSON: _poisson_cost, HUBER: huber_loss, ABSOLUTE_ERROR: _absolute_cost,
    QUANTILE: pinball_loss,
}, _unprepared_cost, _cost_arrays)  # fmt: skip
_call_cost = table_call(COSTS_TABLE, __name__, "COSTS_TABLE")


def prepare(cost, dtype):
    """Compile the data cost of code ``cost`` for ``dtype``."""
    if AVAILABLE:  # even with ordinary calls: code from the cache may read the table
        COSTS_TABLE.prepare([cost], dtype)


@inlined
def _linked_data_cost(A, Y, s, cost, delta):
    """F3: the data term of the cost with code ``cost`` (C1-C3, C5-C9).

    A, Y: (n_L, m); s: (m,); ``delta`` is the cost's parameter (Huber's
    threshold, the pinball loss's level; unused by the others). Normalized by
    ``sum s`` of these examples.
    """
    if cost == LOGISTIC_LOSS:
        return logistic_cross_entropy(A, Y, s)
    if cost == SOFTMAX_LOSS:
        return softmax_cross_entropy(A, Y, s)
    if cost == SQUARED_ERROR:
        return half_squared_error(A, Y, s)
    if cost == POISSON:
        return poisson_deviance(A, Y, s)
    if cost == ABSOLUTE_ERROR:
        return absolute_error(A, Y, s)
    if cost == QUANTILE:
        return pinball_loss(A, Y, s, delta)
    # HUBER. No raise for unknown codes: this runs inside the training's
    # parallel loop, where the mere presence of a raise made a 2-thread L
    # epoch 1.5x slower; codes come from the registries above (tests cover each).
    return huber_loss(A, Y, s, delta)


if ENABLED:

    @inlined
    def data_cost(A, Y, s, cost, delta):
        """F3: the data term of the cost with code ``cost`` (C1-C3, C5-C9).

        A, Y: (n_L, m) Fortran-ordered; s: (m,); ``delta`` is the cost's
        parameter (Huber's threshold, the pinball loss's level). Normalized by ``sum s`` of these
        examples. The kernel must have been prepared (``prepare``).
        """
        return _call_cost(cost, A, Y, s, delta)

else:
    data_cost = _linked_data_cost


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
def huber_seed(A, Y, s, weight_total, delta, dZ):
    """C7's seed with R2 (identity output): ``dz = s_i clip(a - y, -delta, delta) / sum s``.

    A, Y, dZ: (n_L, m); s: (m,); ``weight_total`` as in ``fused_seed``.
    """
    n, m = A.shape
    scale = A.dtype.type(1) / weight_total
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            dZ[j, i] = weight * min(max(A[j, i] - Y[j, i], -delta), delta)


@serial
def absolute_error_seed(A, Y, s, weight_total, dZ):
    """C8's seed with R2 (identity output): ``dz = s_i sign(a - y) / sum s``,
    ``sign(0) = 1``. Arrays as in ``fused_seed``."""
    n, m = A.shape
    scale = A.dtype.type(1) / weight_total
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            dZ[j, i] = weight if A[j, i] >= Y[j, i] else -weight


@serial
def pinball_seed(A, Y, s, weight_total, tau, dZ):
    """C9's seed with R2 (identity output): ``dz = s_i ([a >= y] - tau) / sum s``.
    Arrays as in ``fused_seed``; ``tau`` in (0, 1)."""
    n, m = A.shape
    one = A.dtype.type(1)
    scale = one / weight_total
    for i in range(m):
        weight = s[i] * scale
        for j in range(n):
            dZ[j, i] = weight * (one - tau) if A[j, i] >= Y[j, i] else -weight * tau


@inlined
def output_seed(A, Y, s, weight_total, cost, delta, dZ):
    """dZ^[L] for the cost with code ``cost``, in closed form (with R2).

    ``fused_seed`` for C1-C3 (C4), for C5 (identity output) and for C6 (exp
    output: d/dz of ``exp(z) - y z`` is ``a - y``); ``huber_seed`` for C7,
    ``absolute_error_seed`` for C8, ``pinball_seed`` for C9. Arrays as in
    ``fused_seed``.
    """
    if cost == HUBER:
        huber_seed(A, Y, s, weight_total, delta, dZ)
    elif cost == ABSOLUTE_ERROR:
        absolute_error_seed(A, Y, s, weight_total, dZ)
    elif cost == QUANTILE:
        pinball_seed(A, Y, s, weight_total, delta, dZ)
    else:
        fused_seed(A, Y, s, weight_total, dZ)


@serial
def general_seed(A, Y, s, cost, delta, dA):
    """dA^[L] = dJ/dA^[L] for the cost with code ``cost`` (before the output
    activation's backward); the gradient checker's forward mode contracts it.

    C1-C3 as their seed kernels; C5 ``s_i (a - y) / sum s`` (the sum over
    outputs that training follows); C6 ``s_i (1 - y / a) / sum s``; C7
    ``s_i clip(a - y, -delta, delta) / sum s``; C8 and C9 as their seeds
    (identity output). A, Y, dA: (n_L, m); s: (m,).
    """
    if cost == LOGISTIC_LOSS:
        logistic_cross_entropy_seed(A, Y, s, dA)
    elif cost == SOFTMAX_LOSS:
        softmax_cross_entropy_seed(A, Y, s, dA)
    elif cost == POISSON:
        n, m = A.shape
        one = A.dtype.type(1)
        scale = one / ordered_sum(s)
        for i in range(m):
            for j in range(n):
                dA[j, i] = s[i] * scale * (one - Y[j, i] / A[j, i])
    elif cost == HUBER:
        huber_seed(A, Y, s, ordered_sum(s), delta, dA)
    elif cost == SQUARED_ERROR:
        fused_seed(A, Y, s, ordered_sum(s), dA)
    elif cost == ABSOLUTE_ERROR:
        absolute_error_seed(A, Y, s, ordered_sum(s), dA)
    elif cost == QUANTILE:
        pinball_seed(A, Y, s, ordered_sum(s), delta, dA)
    else:
        raise ValueError("unknown cost code")


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
    ``grads[p]`` is still added up in chunk order. They index views of the
    range from 0: an index numba cannot prove non-negative gets a wraparound
    test per element, which kept these loops scalar. The squared
    norm keeps four running sums (p mod 4, from ``start``), added at the end:
    a fixed order, without one long chain of dependent additions.
    """
    n_chunks = chunk_grads.shape[0]
    zero = params.dtype.type(0)
    total, first = grads[start:stop], chunk_grads[0, start:stop]
    for q in range(total.size):
        total[q] = first[q]
    for c in range(1, n_chunks):
        chunk = chunk_grads[c, start:stop]
        for q in range(total.size):
            total[q] += chunk[q]
    if scale == 0:
        return zero
    weights = params[start:stop]
    for q in range(total.size):
        total[q] += scale * weights[q]
    s0, s1, s2, s3 = zero, zero, zero, zero
    q = 0
    while q + 4 <= weights.size:
        s0 += weights[q] * weights[q]
        s1 += weights[q + 1] * weights[q + 1]
        s2 += weights[q + 2] * weights[q + 2]
        s3 += weights[q + 3] * weights[q + 3]
        q += 4
    while q < weights.size:
        s0 += weights[q] * weights[q]
        q += 1
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
