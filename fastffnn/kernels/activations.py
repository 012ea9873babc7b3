"""Activations (A0-A11, and exp for the Poisson output of C6): forward F2 and
backward B1, with a name -> code registry.

Arrays are (units, examples) in Fortran order; loops run over examples
(axis 1), then units, so every example's column is read with stride 1. The
kernels are serial: training runs them on chunks of examples in parallel
(see ``fastffnn._jit``).

Where a kernel may write in place (A is Z, dZ is dA) and its loop is
vectorizable arithmetic, it has a second loop for that case over the one
array: LLVM guards a two-array loop with an overlap test and runs the scalar
copy when the arrays overlap, as they exactly do in place (every call
training makes). Both loops compute the same operations, so results do not
depend on which runs.

The backward kernels of A0-A4 and exp take the activation ``A`` rather than
``Z``: for ReLU, ``I(Z > 0) == I(A > 0)``, and sigmoid, tanh and softmax
derivatives are written in ``A`` in MATH.md, so training keeps only ``A`` for
them (overwriting ``Z`` in place) and ``dZ`` may alias ``dA``. The backward
kernels of A5-A11 take ``Z``: GELU, SiLU and Mish are not invertible, and for
the others ``Z`` gives the derivative without the rounding of recovering it
from ``A`` (ELU's ``exp(z) = a + 1`` loses all digits for z < -37). Training
keeps their ``Z`` in a second workspace slot (``needs_preactivation``).

Every kernel stays finite for any finite ``z`` (tested to |z| = 1e3 in both
dtypes): each ``exp`` sees only non-positive arguments or is one of
``expm1(z)`` for z <= 0, and ``erfc`` replaces ``1 + erf`` where that cancels.
"""

import math

import numba
import numpy as np
from numba.core import types

from fastffnn._jit import inlined, serial
from fastffnn._linking import AVAILABLE, ENABLED, KernelTable, table_call
from fastffnn.registry import ACTIVATIONS, LEAKY_SLOPE, SELU_ALPHA, SELU_LAMBDA  # noqa: F401

#: Kernel codes, from the registry (``fastffnn.registry``).
IDENTITY, RELU, LOGISTIC, TANH, SOFTMAX, EXP = (
    ACTIVATIONS[name].code for name in ("identity", "relu", "logistic", "tanh", "softmax", "exp")
)
LEAKY_RELU, ELU, SELU, GELU, SILU, SOFTPLUS, MISH = (
    ACTIVATIONS[name].code
    for name in ("leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "mish")
)
#: Whether the backward kernel of each code reads Z (indexed by code).
_READS_Z = np.zeros(max(a.code for a in ACTIVATIONS.values()) + 1, dtype=np.bool_)
for _activation in ACTIVATIONS.values():
    _READS_Z[_activation.code] = _activation.reads == "Z"


#: Activation names (the registry's, plus "sigmoid") -> kernel codes.
ACTIVATION_CODES = {name: a.code for name, a in ACTIVATIONS.items()}
ACTIVATION_CODES["sigmoid"] = LOGISTIC


@serial
def in_place(X, Y):
    """Whether two arrays of one shape start at the same address (one array, in place)."""
    return X.ctypes.data == Y.ctypes.data


@serial
def identity_forward(Z, A):
    """A0: ``A = Z``. Z, A: (n, m); A may be Z."""
    if in_place(Z, A):
        return
    n, m = Z.shape
    for i in range(m):
        for j in range(n):
            A[j, i] = Z[j, i]


@serial
def identity_backward(A, dA, dZ):
    """A0 backward: ``dZ = dA``. A, dA, dZ: (n, m); dZ may be dA."""
    if in_place(dA, dZ):
        return
    n, m = dA.shape
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i]


@serial
def relu_forward(Z, A):
    """A1: ``A = max(0, Z)``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    if in_place(Z, A):
        for i in range(m):
            for j in range(n):
                a = A[j, i]
                A[j, i] = a if a > zero else zero
        return
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
    if in_place(dA, dZ):
        for i in range(m):
            for j in range(n):
                dZ[j, i] = dZ[j, i] * (A[j, i] > zero)
        return
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
    if in_place(dA, dZ):
        for i in range(m):
            for j in range(n):
                a = A[j, i]
                dZ[j, i] = dZ[j, i] * a * (one - a)
        return
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
    if in_place(dA, dZ):
        for i in range(m):
            for j in range(n):
                a = A[j, i]
                dZ[j, i] = dZ[j, i] * (one - a * a)
        return
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
    if in_place(dA, dZ):
        for i in range(m):
            for j in range(n):
                dZ[j, i] = dZ[j, i] * A[j, i]
        return
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


@serial
def leaky_relu_forward(Z, A):
    """A5: ``A = z if z > 0 else 0.01 z``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    zero, slope = Z.dtype.type(0), Z.dtype.type(LEAKY_SLOPE)
    if in_place(Z, A):
        for i in range(m):
            for j in range(n):
                a = A[j, i]
                A[j, i] = a if a > zero else slope * a
        return
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z if z > zero else slope * z


@serial
def leaky_relu_backward(Z, dA, dZ):
    """A5 backward: ``dZ = dA * (1 if z > 0 else 0.01)``. Z, dA, dZ: (n, m); dZ may be dA."""
    n, m = Z.shape
    zero, one, slope = Z.dtype.type(0), Z.dtype.type(1), Z.dtype.type(LEAKY_SLOPE)
    if in_place(dA, dZ):
        for i in range(m):
            for j in range(n):
                dZ[j, i] = dZ[j, i] * (one if Z[j, i] > zero else slope)
        return
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i] * (one if Z[j, i] > zero else slope)


@serial
def elu_forward(Z, A):
    """A6: ``A = z if z > 0 else exp(z) - 1`` (``expm1``: exact near 0). Z, A: (n, m)."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z if z > zero else np.expm1(z)


@serial
def elu_backward(Z, dA, dZ):
    """A6 backward: ``dZ = dA * (1 if z > 0 else exp(z))``. Z, dA, dZ: (n, m)."""
    n, m = Z.shape
    zero, one = Z.dtype.type(0), Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            dZ[j, i] = dA[j, i] * (one if z > zero else np.exp(z))


@serial
def selu_forward(Z, A):
    """A7: ``A = lambda (z if z > 0 else alpha (exp(z) - 1))``. Z, A: (n, m)."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    scale, alpha = Z.dtype.type(SELU_LAMBDA), Z.dtype.type(SELU_ALPHA)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = scale * z if z > zero else scale * alpha * np.expm1(z)


@serial
def selu_backward(Z, dA, dZ):
    """A7 backward: ``dZ = dA * (lambda if z > 0 else lambda alpha exp(z))``."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    scale, alpha = Z.dtype.type(SELU_LAMBDA), Z.dtype.type(SELU_ALPHA)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            dZ[j, i] = dA[j, i] * (scale if z > zero else scale * alpha * np.exp(z))


@serial
def gelu_forward(Z, A):
    """A8: ``A = z Phi(z)``, the exact (erf) form. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    half, root_half = Z.dtype.type(0.5), Z.dtype.type(0.7071067811865476)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z * half * math.erfc(-z * root_half)


@serial
def gelu_backward(Z, dA, dZ):
    """A8 backward: ``dZ = dA * (Phi(z) + z phi(z))``, phi the normal density."""
    n, m = Z.shape
    half, root_half = Z.dtype.type(0.5), Z.dtype.type(0.7071067811865476)
    density = Z.dtype.type(0.3989422804014327)  # 1 / sqrt(2 pi)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            cdf = half * math.erfc(-z * root_half)
            dZ[j, i] = dA[j, i] * (cdf + z * density * np.exp(-half * z * z))


@serial
def _sigmoid_pair(z, one):
    """``(sigma(z), sigma(-z))`` with one ``exp(-|z|)``: never overflows, and
    ``sigma(-z) = 1 - sigma(z)`` without cancellation. ``one``: 1 in z's dtype."""
    e = np.exp(-abs(z))
    big, small = one / (one + e), e / (one + e)
    return (big, small) if z >= 0 else (small, big)


@serial
def silu_forward(Z, A):
    """A9: ``A = z sigma(z)``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z * _sigmoid_pair(z, one)[0]


@serial
def silu_backward(Z, dA, dZ):
    """A9 backward: ``dZ = dA * sigma(z) (1 + z (1 - sigma(z)))``. Z, dA, dZ: (n, m)."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            s, s_neg = _sigmoid_pair(z, one)
            dZ[j, i] = dA[j, i] * s * (one + z * s_neg)


@serial
def _softplus(z, zero):
    """``log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))``: no overflow."""
    return max(z, zero) + np.log1p(np.exp(-abs(z)))


@serial
def softplus_forward(Z, A):
    """A10: ``A = log(1 + exp(z))``, computed without overflow. Z, A: (n, m)."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    for i in range(m):
        for j in range(n):
            A[j, i] = _softplus(Z[j, i], zero)


@serial
def softplus_backward(Z, dA, dZ):
    """A10 backward: ``dZ = dA * sigma(z)``. Z, dA, dZ: (n, m); dZ may be dA."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            dZ[j, i] = dA[j, i] * _sigmoid_pair(Z[j, i], one)[0]


@serial
def _mish_parts(z, one):
    """``(t, 1 - t^2)`` for ``t = tanh(softplus(z))``, both without cancellation:
    with ``u = -2 softplus(z)`` (<= 0) and ``e = exp(u)``,
    ``t = -expm1(u) / (1 + e)`` and ``1 - t^2 = 4 e / (1 + e)^2``.
    ``one``: 1 in z's dtype."""
    u = -(one + one) * _softplus(z, one - one)
    e = np.exp(u)
    return -np.expm1(u) / (one + e), (one + one) * (one + one) * e / ((one + e) * (one + e))


@serial
def mish_forward(Z, A):
    """A11: ``A = z tanh(softplus(z))``. Z, A: (n, m); A may be Z."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            A[j, i] = z * _mish_parts(z, one)[0]


@serial
def mish_backward(Z, dA, dZ):
    """A11 backward: ``dZ = dA * (t + z sigma(z) (1 - t^2))``, t = tanh(softplus(z))."""
    n, m = Z.shape
    one = Z.dtype.type(1)
    for i in range(m):
        for j in range(n):
            z = Z[j, i]
            t, sech2 = _mish_parts(z, one)
            dZ[j, i] = dA[j, i] * (t + z * _sigmoid_pair(z, one)[0] * sech2)


@serial
def needs_preactivation(code):
    """Whether the backward kernel of ``code`` reads Z (A5-A11) instead of A
    (the registry's ``reads``)."""
    return _READS_Z[code]


@serial
def _unprepared_forward(Z, A):
    """A table entry whose kernel was never compiled (see ``activation_forward``)."""
    raise RuntimeError("fastffnn: an activation kernel used before fastffnn.boundary prepared it")


@serial
def _unprepared_backward(A, dA, dZ):
    """A table entry whose kernel was never compiled (see ``activation_backward``)."""
    raise RuntimeError("fastffnn: an activation kernel used before fastffnn.boundary prepared it")


def _layer_arrays(count):
    """The argument types of a table's kernels: ``count`` (n, m) workspace slots."""
    return lambda dtype: (types.Array(numba.from_dtype(dtype), 2, "F"),) * count


#: The forward and backward kernels of every registry code, called through
#: tables of pointers (``fastffnn._linking.KernelTable``): a network compiles
#: the kernels of its own activations only, on first use.
FORWARD = KernelTable("activation_forward", {
    IDENTITY: identity_forward, RELU: relu_forward, LOGISTIC: logistic_forward,
    TANH: tanh_forward, SOFTMAX: softmax_forward, EXP: exp_forward,
    LEAKY_RELU: leaky_relu_forward, ELU: elu_forward, SELU: selu_forward, GELU: gelu_forward,
    SILU: silu_forward, SOFTPLUS: softplus_forward, MISH: mish_forward,
}, _unprepared_forward, _layer_arrays(2))  # fmt: skip
BACKWARD = KernelTable("activation_backward", {
    IDENTITY: identity_backward, RELU: relu_backward, LOGISTIC: logistic_backward,
    TANH: tanh_backward, SOFTMAX: softmax_backward, EXP: exp_backward,
    LEAKY_RELU: leaky_relu_backward, ELU: elu_backward, SELU: selu_backward,
    GELU: gelu_backward, SILU: silu_backward, SOFTPLUS: softplus_backward,
    MISH: mish_backward,
}, _unprepared_backward, _layer_arrays(3))  # fmt: skip
_call_forward = table_call(FORWARD, __name__, "FORWARD")
_call_backward = table_call(BACKWARD, __name__, "BACKWARD")


def prepare(codes, dtype):
    """Compile the forward and backward kernels of activation ``codes`` for
    ``dtype`` (once per process; loaded from the cache when there)."""
    if AVAILABLE:  # even with ordinary calls: code from the cache may read the tables
        FORWARD.prepare(codes, dtype)
        BACKWARD.prepare(codes, dtype)


@inlined
def _linked_forward(code, Z, A):
    """``activation_forward`` by numba's ordinary calls (every kernel linked in)."""
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
    elif code == LEAKY_RELU:
        leaky_relu_forward(Z, A)
    elif code == ELU:
        elu_forward(Z, A)
    elif code == SELU:
        selu_forward(Z, A)
    elif code == GELU:
        gelu_forward(Z, A)
    elif code == SILU:
        silu_forward(Z, A)
    elif code == SOFTPLUS:
        softplus_forward(Z, A)
    elif code == MISH:
        mish_forward(Z, A)
    else:  # IDENTITY; no raise inside training's parallel loop (see costs.data_cost)
        identity_forward(Z, A)


@inlined
def _linked_backward(code, A, dA, dZ):
    """``activation_backward`` by numba's ordinary calls (every kernel linked in)."""
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
    elif code == LEAKY_RELU:
        leaky_relu_backward(A, dA, dZ)
    elif code == ELU:
        elu_backward(A, dA, dZ)
    elif code == SELU:
        selu_backward(A, dA, dZ)
    elif code == GELU:
        gelu_backward(A, dA, dZ)
    elif code == SILU:
        silu_backward(A, dA, dZ)
    elif code == SOFTPLUS:
        softplus_backward(A, dA, dZ)
    elif code == MISH:
        mish_backward(A, dA, dZ)
    else:  # IDENTITY; no raise inside training's parallel loop (see costs.data_cost)
        identity_backward(A, dA, dZ)


if ENABLED:

    @inlined
    def activation_forward(code, Z, A):
        """F2 for the activation with kernel ``code``: ``A = g(Z)``. Z, A: (n, m)
        Fortran-ordered, of the dtype ``prepare`` was called for."""
        _call_forward(code, Z, A)

    @inlined
    def activation_backward(code, A, dA, dZ):
        """B1 for the activation with kernel ``code``. A, dA, dZ: (n, m),
        Fortran-ordered, of the dtype ``prepare`` was called for.

        ``A`` is what the kernel reads: the activations for A0-A4 and exp, the
        pre-activations Z for A5-A11 (``needs_preactivation``).
        """
        _call_backward(code, A, dA, dZ)

else:
    activation_forward, activation_backward = _linked_forward, _linked_backward
