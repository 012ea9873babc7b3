"""BatchEnsemble dense layers (BE1, docs/math.md): k members that share one
weight matrix W, each with its own adapters r_i (input scales), s_i (output
scales) and b_i (biases), as TabM trains them (Gorishniy, Kotelnikov and
Babenko, ICLR 2025).

Arrays are (units, columns) in Fortran order, as everywhere in
``fastffnn.kernels``. The k members' examples are column blocks of one
array, member-major: member i owns columns ``i m .. (i + 1) m - 1``, so the
members' products with W are one GEMM over k m columns. Every sum over
columns runs in column order within a member.
"""

from collections import namedtuple

import numpy as np

from fastffnn._jit import serial

#: One BE1 layer's tensors, or their gradients: ``W`` (n, n_prev) shared,
#: ``r`` (k, n_prev), ``s`` (k, n), ``b`` (k, n) per member.
EnsembleLayer = namedtuple("EnsembleLayer", ["W", "r", "s", "b"])


@serial
def ensemble_forward(layer, A_prev, T, G, Z, scale):
    """BE1: ``T_i = A_i * r_i``, ``G = scale W T``, ``Z_i = G_i * s_i + b_i``
    (``scale`` 1, or N1's ``1 / sqrt(n_prev)``).

    layer: an ``EnsembleLayer``; A_prev, T: (n_prev, k m); G, Z: (n, k m);
    T and G are kept for the backward pass.
    """
    W, r, s, b = layer
    n_prev, columns = A_prev.shape
    k = r.shape[0]
    m = columns // k
    scale = G.dtype.type(scale)
    for i in range(k):
        scales = r[i]
        for c in range(i * m, (i + 1) * m):
            for j in range(n_prev):
                T[j, c] = A_prev[j, c] * scales[j]
    np.dot(T.T, W.T, G.T)
    n = G.shape[0]
    for i in range(k):
        scales, biases = s[i], b[i]
        for c in range(i * m, (i + 1) * m):
            for j in range(n):
                g = G[j, c] * scale
                G[j, c] = g
                Z[j, c] = g * scales[j] + biases[j]


@serial
def ensemble_backward(dZ, A_prev, T, G, layer, grads, scale, dA_prev):
    """BE1's gradients from ``dZ`` (n, k m), after ``ensemble_forward`` with
    the same ``scale``: ``db_i = sum_c dZ_i``, ``ds_i = sum_c dZ_i * G_i``,
    ``dG_i = scale dZ_i * s_i`` (in place in dZ), ``dW = dG T^T``, ``dT = W^T dG``,
    ``dr_i = sum_c dT_i * A_i``, ``dA_i = dT_i * r_i`` (into dA_prev).

    Shapes as ``ensemble_forward``; ``grads``: an ``EnsembleLayer`` of the
    gradients, and dA_prev (n_prev, k m), all overwritten.
    """
    W, r, s, _ = layer
    dW, dr, ds, db = grads
    n, columns = dZ.shape
    k = r.shape[0]
    m = columns // k
    n_prev = A_prev.shape[0]
    scale = dZ.dtype.type(scale)
    for i in range(k):
        first = i * m
        for j in range(n):
            db[i, j] = dZ[j, first]
            ds[i, j] = dZ[j, first] * G[j, first]
        for c in range(first + 1, first + m):
            for j in range(n):
                db[i, j] += dZ[j, c]
                ds[i, j] += dZ[j, c] * G[j, c]
        scales = s[i]
        for c in range(first, first + m):
            for j in range(n):
                dZ[j, c] *= scales[j] * scale
    np.dot(T, dZ.T, dW.T)
    np.dot(dZ.T, W, dA_prev.T)
    for i in range(k):
        first = i * m
        scales = r[i]
        for j in range(n_prev):
            dr[i, j] = dA_prev[j, first] * A_prev[j, first]
        for c in range(first + 1, first + m):
            for j in range(n_prev):
                dr[i, j] += dA_prev[j, c] * A_prev[j, c]
        for c in range(first, first + m):
            for j in range(n_prev):
                dA_prev[j, c] *= scales[j]


@serial
def member_mean(Z, k, out):
    """The mean over k members of ``Z`` (n, k m), member-major columns, into
    ``out`` (n, m): the ensemble's prediction (of probabilities, for
    classifiers), added in member order."""
    n, columns = Z.shape
    m = columns // k
    inverse = Z.dtype.type(1.0 / k)
    for c in range(m):
        for j in range(n):
            total = Z[j, c]
            for i in range(1, k):
                total += Z[j, i * m + c]
            out[j, c] = total * inverse
