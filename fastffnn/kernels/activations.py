"""Activations (A0-A4, and exp for the Poisson output of C6): forward F2 and
backward B1, with a name -> code registry.

Arrays are (units, examples) in Fortran order; loops run over examples
(axis 1), then units, so every example's column is read with stride 1. The
kernels are serial: training runs them on chunks of examples in parallel
(see ``fastffnn._jit``).

The backward kernels take the activation ``A`` rather than ``Z``: for ReLU,
``I(Z > 0) == I(A > 0)``, and sigmoid, tanh and softmax derivatives are written
in ``A`` in MATH.md. Training therefore keeps only ``A`` (overwriting ``Z`` in
place) and ``dZ`` may alias ``dA``.
"""

import numpy as np

from fastffnn._jit import inlined, serial

IDENTITY, RELU, LOGISTIC, TANH, SOFTMAX, EXP = 0, 1, 2, 3, 4, 5

#: Activation names (scikit-learn's, plus "sigmoid" and "softmax") -> kernel codes.
ACTIVATION_CODES = {
    "identity": IDENTITY,
    "relu": RELU,
    "logistic": LOGISTIC,
    "sigmoid": LOGISTIC,
    "tanh": TANH,
    "softmax": SOFTMAX,
    "exp": EXP,
}


@serial
def identity_forward(Z, A):
    """A0: ``A = Z``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    for i in range(m):
        for j in range(n):
            A[j, i] = Z[j, i]


@serial
def identity_backward(A, dA, dZ):
    """A0 backward: ``dZ = dA``. A, dA, dZ: (n, m); dZ may be dA."""
    n, m = dA.shape
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i]


@serial
def relu_forward(Z, A):
    """A1: ``A = max(0, Z)``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z if z > zero else zero


@serial
def relu_backward(A, dA, dZ):
    """A1 backward: ``dZ = dA * I(Z > 0)``, using ``A > 0`` (the same set).

    A, dA, dZ: (n, m); dZ may be dA. A product with the indicator, not a
    branch: which units are active is unpredictable, and the branch (taken
    in the scalar loop that runs when dZ aliases dA) cost ~100 us per batch
    of the comparison's S configuration, 40% of its epoch, in mispredictions.
    So a non-finite ``dA`` at an inactive unit gives NaN, not 0: only after
    the weights have already diverged, which fit detects from the loss.
    """
    n, m = A.shape
    zero = A.dtype.type(0)
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i] * (A[j, i] > zero)


@serial
def logistic_forward(Z, A):
    """A2: ``A = 1 / (1 + exp(-Z))``. Z, A: (n, m); A may be Z.

    ``exp`` only ever sees ``-|z|``, so it cannot overflow for large |z|.
    """
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            e = np.exp(-abs(z))
            A[j, i] = one / (one + e) if z >= 0 else e / (one + e)


@serial
def logistic_backward(A, dA, dZ):
    """A2 backward: ``dZ = dA * A * (1 - A)``. A, dA, dZ: (n, m); dZ may be dA."""
    n, m = A.shape
    one = A.dtype.type(1)
    for i in range(m):
        for j in range(n):
            a = A[j, i]
            dZ[j, i] = dA[j, i] * a * (one - a)


@serial
def tanh_forward(Z, A):
    """A3: ``A = tanh(Z)``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    for i in range(m):
        for j in range(n):
            A[j, i] = np.tanh(Z[j, i])


@serial
def tanh_backward(A, dA, dZ):
    """A3 backward: ``dZ = dA * (1 - A * A)``. A, dA, dZ: (n, m); dZ may be dA."""
    n, m = A.shape
    one = A.dtype.type(1)
    for i in range(m):
        for j in range(n):
            a = A[j, i]
            dZ[j, i] = dA[j, i] * (one - a * a)


@serial
def exp_forward(Z, A):
    """The log link's inverse (C6's output): ``A = exp(Z)``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    for i in range(m):
        for j in range(n):
            A[j, i] = np.exp(Z[j, i])


@serial
def exp_backward(A, dA, dZ):
    """exp backward: ``dZ = dA * A``. A, dA, dZ: (n, m); dZ may be dA."""
    n, m = A.shape
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i] * A[j, i]


@serial
def softmax_forward(Z, A):
    """A4: ``a_ji = exp(z_ji - max_p z_pi) / sum_p exp(z_pi - max_p z_pi)``.

    Z, A: (n, m); A may be Z. Subtracting each column's maximum keeps every
    ``exp`` argument <= 0: no overflow, and the largest term is exactly 1.
    """
    n, m = Z.shape
    for i in range(m):
        top = Z[0, i]
        for j in range(1, n):
            top = max(top, Z[j, i])
        total = Z.dtype.type(0)
        for j in range(n):
            e = np.exp(Z[j, i] - top)
            A[j, i] = e
            total += e
        for j in range(n):
            A[j, i] /= total


@serial
def softmax_backward(A, dA, dZ):
    """A4 backward: ``dZ = A * (dA - broadcast(sum over axis 0 of dA * A))``.

    A, dA, dZ: (n, m); dZ may be dA. The reduction runs over axis 0 (units):
    one number per example, computed before that example's column is written.
    """
    n, m = A.shape
    for i in range(m):
        dot = A.dtype.type(0)
        for j in range(n):
            dot += dA[j, i] * A[j, i]
        for j in range(n):
            dZ[j, i] = A[j, i] * (dA[j, i] - dot)


@inlined
def activation_forward(code, Z, A):
    """F2 for the activation with kernel ``code``: ``A = g(Z)``. Z, A: (n, m)."""
    if code == RELU:
        relu_forward(Z, A)
    elif code == LOGISTIC:
        logistic_forward(Z, A)
    elif code == TANH:
        tanh_forward(Z, A)
    elif code == SOFTMAX:
        softmax_forward(Z, A)
    elif code == EXP:
        exp_forward(Z, A)
    else:  # IDENTITY; no raise inside training's parallel loop (see costs.data_cost)
        identity_forward(Z, A)


@inlined
def activation_backward(code, A, dA, dZ):
    """B1 for the activation with kernel ``code``. A, dA, dZ: (n, m)."""
    if code == RELU:
        relu_backward(A, dA, dZ)
    elif code == LOGISTIC:
        logistic_backward(A, dA, dZ)
    elif code == TANH:
        tanh_backward(A, dA, dZ)
    elif code == SOFTMAX:
        softmax_backward(A, dA, dZ)
    elif code == EXP:
        exp_backward(A, dA, dZ)
    else:  # IDENTITY; no raise inside training's parallel loop (see costs.data_cost)
        identity_backward(A, dA, dZ)
