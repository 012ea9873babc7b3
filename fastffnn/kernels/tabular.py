"""Kernels of the tabular recipe's layer kinds (MATH.md P1-S3, docs/math.md):
PBLD numeric embeddings (E2), categorical embeddings (E1), the front scale
(S2), NTK-parametrized dense layers (N1), parametric activations (A12), the
smoothed softmax and squared-error seeds, the S3 schedules and W2 + Adam
with each tensor's learning-rate and decay factors.

Arrays are (units, examples) in Fortran order, as everywhere in
``fastffnn.kernels``; every sum over examples runs in example order, so
results do not depend on threads. The kernels are serial: the tabular
epoch (``fastffnn.tabular.core``) calls them once per mini-batch.
"""

import math

import numpy as np

from fastffnn._jit import serial
from fastffnn.kernels.activations import SELU
from fastffnn.kernels.elementary import fast_exp
from fastffnn.registry import SELU_ALPHA, SELU_LAMBDA

#: E2's sizes: 16 periodic features per column, mapped to 3 values, plus the value itself.
PBLD_FREQUENCIES = 16
PBLD_OUTPUTS = 3
PBLD_WIDTH = PBLD_OUTPUTS + 1
#: E1's embedding size.
EMBEDDING_SIZE = 8
TWO_PI = 2.0 * math.pi


@serial
def pbld_forward(X, frequencies, phases, weights, biases, out, cosines):
    """E2: for column j and example i, ``h = cos(2 pi w_j x + b_j)`` (16,),
    ``out[4j:4j+3, i] = V_j h + c_j`` and ``out[4j+3, i] = x``.

    X: (n_num, m); frequencies, phases: (n_num, 16); weights: (n_num, 3, 16);
    biases: (n_num, 3); out: (4 n_num, m), its first rows of the layer input;
    cosines: (16 n_num, m), receives h for the backward pass.
    """
    n_num, m = X.shape
    two_pi = X.dtype.type(TWO_PI)
    for j in range(n_num):
        for i in range(m):
            x = X[j, i]
            for k in range(PBLD_FREQUENCIES):
                cosines[j * PBLD_FREQUENCIES + k, i] = np.cos(
                    two_pi * frequencies[j, k] * x + phases[j, k]
                )
            for r in range(PBLD_OUTPUTS):
                e = biases[j, r]
                for k in range(PBLD_FREQUENCIES):
                    e += weights[j, r, k] * cosines[j * PBLD_FREQUENCIES + k, i]
                out[j * PBLD_WIDTH + r, i] = e
            out[j * PBLD_WIDTH + PBLD_OUTPUTS, i] = x


@serial
def pbld_backward(X, frequencies, phases, weights, cosines, d_out, d_freq, d_phase, d_w, d_b):
    """E2's gradients: ``dV_j = sum_i de h^T``, ``dc_j = sum_i de``, ``dh = V_j^T de``,
    ``dw_j = sum_i -2 pi x sin(2 pi w_j x + b_j) dh``, ``db_j`` likewise without ``2 pi x``.

    Shapes as ``pbld_forward``; d_out: (4 n_num, m) the gradient of its output;
    d_freq, d_phase, d_w, d_b: the parameters' gradients, overwritten.
    """
    n_num, m = X.shape
    two_pi = X.dtype.type(TWO_PI)
    zero = X.dtype.type(0)
    for j in range(n_num):
        for k in range(PBLD_FREQUENCIES):
            d_freq[j, k] = zero
            d_phase[j, k] = zero
            for r in range(PBLD_OUTPUTS):
                d_w[j, r, k] = zero
        for r in range(PBLD_OUTPUTS):
            d_b[j, r] = zero
        for i in range(m):
            x = X[j, i]
            for r in range(PBLD_OUTPUTS):
                d_b[j, r] += d_out[j * PBLD_WIDTH + r, i]
            for k in range(PBLD_FREQUENCIES):
                h = cosines[j * PBLD_FREQUENCIES + k, i]
                dh = zero
                for r in range(PBLD_OUTPUTS):
                    de = d_out[j * PBLD_WIDTH + r, i]
                    d_w[j, r, k] += de * h
                    dh += weights[j, r, k] * de
                d_angle = -np.sin(two_pi * frequencies[j, k] * x + phases[j, k]) * dh
                d_freq[j, k] += d_angle * two_pi * x
                d_phase[j, k] += d_angle


@serial
def embedding_forward(codes, tables, first_rows, out):
    """E1: column j's code k (0 missing or unknown, 1..c_j) selects row
    ``first_rows[j] + k`` of ``tables``. codes: (n_emb, m) int64; tables:
    (rows, 8); first_rows: (n_emb,) int64; out: (8 n_emb, m)."""
    n_emb, m = codes.shape
    for j in range(n_emb):
        for i in range(m):
            row = first_rows[j] + codes[j, i]
            for r in range(EMBEDDING_SIZE):
                out[j * EMBEDDING_SIZE + r, i] = tables[row, r]


@serial
def embedding_backward(codes, first_rows, d_out, d_tables):
    """E1's gradient: ``dE[row] = sum of d_out over the examples holding row``,
    a scatter-add in example order. d_tables: (rows, 8), overwritten."""
    n_emb, m = codes.shape
    zero = d_tables.dtype.type(0)
    for row in range(d_tables.shape[0]):
        for r in range(EMBEDDING_SIZE):
            d_tables[row, r] = zero
    for j in range(n_emb):
        for i in range(m):
            row = first_rows[j] + codes[j, i]
            for r in range(EMBEDDING_SIZE):
                d_tables[row, r] += d_out[j * EMBEDDING_SIZE + r, i]


@serial
def front_scale_forward(A, scales, out):
    """S2: ``out[j, i] = s_j A[j, i]``. A, out: (n, m); scales: (n,)."""
    n, m = A.shape
    for i in range(m):
        for j in range(n):
            out[j, i] = scales[j] * A[j, i]


@serial
def front_scale_backward(A, scales, d_out, d_scales, dA):
    """S2's gradients: ``ds_j = sum_i d_out[j, i] A[j, i]``, ``dA = s * d_out``.
    A, d_out, dA: (n, m); scales, d_scales: (n,)."""
    n, m = A.shape
    for j in range(n):
        d_scales[j] = d_out[j, 0] * A[j, 0]
    for i in range(1, m):
        for j in range(n):
            d_scales[j] += d_out[j, i] * A[j, i]
    for i in range(m):
        for j in range(n):
            dA[j, i] = scales[j] * d_out[j, i]


@serial
def ntk_forward(W, b, A_prev, Z):
    """N1: ``Z = W A_prev / sqrt(n_prev) + b``. W: (n, n_prev); b: (n,);
    A_prev: (n_prev, m); Z: (n, m), output."""
    np.dot(A_prev.T, W.T, Z.T)
    n, m = Z.shape
    scale = Z.dtype.type(1.0 / np.sqrt(W.shape[1]))
    for i in range(m):
        for j in range(n):
            Z[j, i] = Z[j, i] * scale + b[j]


@serial
def ntk_backward(dZ, A_prev, W, dW, db, dA_prev):
    """N1's gradients: ``db = sum_i dZ``, ``dW = dZ A_prev^T / sqrt(n_prev)``,
    ``dA_prev = W^T dZ / sqrt(n_prev)``. dZ is scaled in place by
    ``1 / sqrt(n_prev)`` after db is taken. dA_prev may be an empty array
    (the first layer's input needs none when nothing is below it)."""
    n, m = dZ.shape
    for j in range(n):
        db[j] = dZ[j, 0]
    for i in range(1, m):
        for j in range(n):
            db[j] += dZ[j, i]
    scale = dZ.dtype.type(1.0 / np.sqrt(W.shape[1]))
    for i in range(m):
        for j in range(n):
            dZ[j, i] *= scale
    np.dot(A_prev, dZ.T, dW.T)
    if dA_prev.shape[0] > 0:
        np.dot(dZ.T, W, dA_prev.T)


@serial
def _selu_pair(z, one, scale, alpha):
    """``(g(z), g'(z))`` of SELU (A7; ``scale``, ``alpha`` in z's dtype), one
    vectorizable exp (``fast_exp``)."""
    e = fast_exp(min(z, one - one))
    if z > 0:
        return scale * z, scale
    return scale * alpha * (e - one), scale * alpha * e


@serial
def _mish_pair(z, one, cap):
    """``(g(z), g'(z))`` of Mish (A11) from one vectorizable exp: with
    ``e = exp(z)`` and ``n = e (e + 2)``, ``tanh(softplus(z)) = n / (n + 2)``
    and ``1 - tanh^2 = 4 (n + 1) / (n + 2)^2``, no cancellation for any z; z
    is capped at ``cap`` = 40 inside the exp (t is 1 and z (1 - t^2) below
    1e-30 beyond), so n stays finite in float32."""
    two = one + one
    e = fast_exp(min(z, cap))
    n = e * (e + two)
    inverse = one / (n + two)
    t = n * inverse
    sech2 = two * two * (n + one) * inverse * inverse
    return z * t, t + z * (e / (one + e)) * sech2


@serial
def parametric_forward(Z, mixing, code, A, slopes):
    """A12: ``A = Z + alpha (g(Z) - Z)``, one alpha per unit, g SELU or Mish
    by ``code``. Z, A, slopes: (n, m); mixing: (n,). For the backward pass Z
    is overwritten with ``g(Z) - Z`` and ``slopes`` receives ``g'(Z)``. One
    loop per activation, so that each vectorizes."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    if code == SELU:
        scale, alpha = Z.dtype.type(SELU_LAMBDA), Z.dtype.type(SELU_ALPHA)
        for i in range(m):
            for j in range(n):
                z = Z[j, i]
                g, slope = _selu_pair(z, one, scale, alpha)
                A[j, i] = z + mixing[j] * (g - z)
                Z[j, i] = g - z
                slopes[j, i] = slope
        return
    cap = Z.dtype.type(40)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            g, slope = _mish_pair(z, one, cap)
            A[j, i] = z + mixing[j] * (g - z)
            Z[j, i] = g - z
            slopes[j, i] = slope


@serial
def parametric_backward(gaps, slopes, mixing, dA, dZ, d_mixing):
    """A12's gradients: ``dZ = dA (1 + alpha (g'(z) - 1))``,
    ``d alpha_j = sum_i dA (g(z) - z)``, from what the forward pass left:
    gaps ``g(Z) - Z`` and ``slopes`` g'(Z). gaps, slopes, dA, dZ: (n, m), dZ
    may be dA; mixing, d_mixing: (n,)."""
    n, m = gaps.shape
    one = gaps.dtype.type(1)
    for j in range(n):
        d_mixing[j] = dA[j, 0] * gaps[j, 0]
    for i in range(1, m):
        for j in range(n):
            d_mixing[j] += dA[j, i] * gaps[j, i]
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i] * (one + mixing[j] * (slopes[j, i] - one))


@serial
def softmax_seed(Z, Y, s, weight_total, dZ):
    """C2 with L1's smoothed targets on the output's logits: the softmax
    ``P`` of each column, ``dZ = s_i (P - Y) / sum s`` (C4 with R2); returns
    ``sum_i s_i (-sum_k y_k log p_k)``. Z, Y, dZ: (K, m); s: (m,)."""
    K, m = Z.shape
    total = 0.0
    for i in range(m):
        top = Z[0, i]
        for k in range(1, K):
            top = max(top, Z[k, i])
        norm = Z.dtype.type(0)
        for k in range(K):
            norm += np.exp(Z[k, i] - top)
        log_norm = np.log(norm)
        weight = s[i] / weight_total
        loss = Z.dtype.type(0)
        for k in range(K):
            log_p = Z[k, i] - top - log_norm
            loss -= Y[k, i] * log_p
            dZ[k, i] = weight * (np.exp(log_p) - Y[k, i])
        total += float(s[i] * loss)
    return total


@serial
def squared_seed(Z, Y, s, weight_total, dZ):
    """The mean squared error over outputs (C5 without its 1/2, as RealMLP
    trains): ``dZ = 2 s_i (Z - Y) / (K sum s)``; returns ``sum_i s_i mean_k (z - y)^2``."""
    K, m = Z.shape
    total = 0.0
    factor = Z.dtype.type(2.0 / K)
    for i in range(m):
        weight = s[i] / weight_total
        loss = Z.dtype.type(0)
        for k in range(K):
            r = Z[k, i] - Y[k, i]
            loss += r * r
            dZ[k, i] = weight * factor * r
        total += float(s[i] * loss) / K
    return total


@serial
def coslog4(t):
    """S3: ``(1 - cos(2 pi log2(1 + 15 t))) / 2``, t in [0, 1]."""
    return 0.5 * (1.0 - np.cos(TWO_PI * np.log2(1.0 + 15.0 * t)))


@serial
def flat_cos(t):
    """S3: 1 for t < 1/2, then ``(1 + cos(2 pi (t - 1/2))) / 2``."""
    if t < 0.5:
        return 1.0
    return 0.5 * (1.0 + np.cos(TWO_PI * (t - 0.5)))


@serial
def adam_factor_step(params, grads, moments, start, stop, factors, rate, decay, t, betas):
    """W2 then Adam, in place, on parameters ``start:stop`` of the flat buffer,
    one tensor's (or part of one): first the decoupled decay
    ``p *= 1 - rate * decay * d``, then PyTorch's Adam with step size
    ``rate * f``: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= rate f / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    params: (n,); grads: (C, n) the chunks' gradients, added in chunk order
    into ``grads[0]``;
    moments: (2, n); factors: (f, d), the tensor's learning-rate and decay
    factors; rate, decay: this step's scheduled learning rate and decay
    (float64); t: the step count (from 1); betas: (beta_1, beta_2, epsilon).
    """
    beta_1, beta_2, epsilon = betas
    dtype = params.dtype.type
    b1, b2, eps = dtype(beta_1), dtype(beta_2), dtype(epsilon)
    one = dtype(1)
    step = dtype(rate * factors[0] / (1.0 - beta_1**t))
    root = dtype(1.0 / np.sqrt(1.0 - beta_2**t))
    keep = one - dtype(rate * decay * factors[1])
    # views from 0: indexing from a runtime start keeps numba's wraparound
    # test in the loop, which then does not vectorize
    values = params[start:stop]
    first, second = moments[0, start:stop], moments[1, start:stop]
    total = grads[0, start:stop]  # the chunks' sum, in chunk order, in place of the first's
    for c in range(1, grads.shape[0]):
        other = grads[c, start:stop]
        for p in range(total.size):
            total[p] += other[p]
    for p in range(total.size):
        g = total[p]
        m = b1 * first[p] + (one - b1) * g
        v = b2 * second[p] + (one - b2) * g * g
        first[p] = m
        second[p] = v
        values[p] = values[p] * keep - step * m / (np.sqrt(v) * root + eps)
