"""Forward-mode tangents: the linear layer's tangent (T1) and each activation's (T2).

A tangent ``dot-X`` is the directional derivative of ``X`` along one direction of
the inputs (or of the parameters) and has the shape of ``X``. Arrays are
MATH.md-shaped (units, examples) in Fortran order, as everywhere in
``fastffnn.kernels``; loops run over examples, then units (serial
kernels, see ``fastffnn._jit``).

Every activation's Jacobian ``da/dz`` is symmetric (diagonal, or
``diag(a) - a a^T`` for softmax), so T2 is B1's formula with ``dA`` replaced by
``dot-Z``: ``activation_tangent`` calls the backward kernels of
``fastffnn.kernels.activations`` rather than repeating them.
"""

import numpy as np

from fastffnn._jit import serial
from fastffnn.kernels.activations import activation_backward
from fastffnn.kernels.reductions import ordered_sum


@serial
def basis_direction(k, D):
    """The unit direction ``e_k`` in every column: ``D[k, i] = 1``, every other entry 0.

    D: (n, m), output; 0 <= k < n. Seeds one forward pass (``dot-A^[0] = e_k``,
    input feature k) or one reverse pass (``dA^[L] = e_k``, output k).
    """
    n, m = D.shape
    zero = D.dtype.type(0)
    one = D.dtype.type(1)
    for i in range(m):
        for j in range(n):
            D[j, i] = zero
        D[k, i] = one


@serial  # one GEMM, no loop of its own to parallelize
def linear_tangent(W, dA_prev, dZ):
    """T1 for an input direction: ``dot-Z = W @ dot-A_prev`` (no bias: it is constant).

    W: (n_l, n_{l-1}); dA_prev: (n_{l-1}, m), the tangent ``dot-A^[l-1]``;
    dZ: (n_l, m), output ``dot-Z^[l]``; it must not alias dA_prev.
    """
    np.dot(dA_prev.T, W.T, dZ.T)


@serial
def linear_tangent_params(W, dW, db, A_prev, dA_prev, work, dZ):
    """T1 for a parameter direction: ``dot-Z = dot-W @ A_prev + dot-b + W @ dot-A_prev``.

    W, dW: (n_l, n_{l-1}), the weights and their tangent ``dot-W``; db: (n_l,),
    ``dot-b``; A_prev, dA_prev: (n_{l-1}, m), ``A^[l-1]`` and ``dot-A^[l-1]``;
    work: (n_l, m), scratch; dZ: (n_l, m), output ``dot-Z^[l]``. dZ and work must
    not alias each other or the inputs. (At l = 1, ``dot-A^[0] = 0`` and T1 is
    F1 applied to ``(dot-W, dot-b)``: ``kernels.linear.linear_forward`` serves.)
    """
    np.dot(A_prev.T, dW.T, dZ.T)
    np.dot(dA_prev.T, W.T, work.T)
    n, m = dZ.shape
    for i in range(m):
        for j in range(n):
            dZ[j, i] += work[j, i] + db[j]


@serial
def contract(G, D):
    """The chain rule's last step to a scalar: ``dot-J = sum_ji G_ji D_ji``.

    G: (n, k), a gradient ``dJ/dX``; D: (n, k), a tangent ``dot-X``. Summed per
    column, then serially over columns: independent of the thread count.
    Returns a scalar of G's dtype.
    """
    n, k = G.shape
    per_column = np.empty(k, dtype=G.dtype)
    for i in range(k):
        total = G.dtype.type(0)
        for j in range(n):
            total += G[j, i] * D[j, i]
        per_column[i] = total
    return ordered_sum(per_column)


@serial
def activation_tangent(code, A, dZ, dA):
    """T2 for the activation with kernel ``code``: ``dot-A = (da/dz) dot-Z``.

    A: (n, m), what the activation's backward kernel reads (A^[l], or Z^[l]
    for A5-A11: ``propagation.derivative_input``); dZ: (n, m), ``dot-Z``; dA: (n, m),
    output ``dot-A``; dA may be dZ. Every activation's per-example Jacobian
    ``da/dz`` is symmetric (diagonal for A0-A3 and A5-A11, ``diag(a) - a a^T``
    for A4), so
    ``(da/dz) dot-Z == (da/dz)^T dot-Z``: the tangent is exactly the backward
    kernel (B1) applied to ``dot-Z``, and reuses it.
    """
    activation_backward(code, A, dZ, dA)
