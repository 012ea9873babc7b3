"""exp as arithmetic that a loop can vectorize.

``np.exp`` in compiled code is a call into libm per element (2.4 ns in
float32 here): a loop that calls it stays scalar. ``fast_exp`` computes the
same function with Cody-Waite range reduction, ``exp(x) = 2^k exp(r)`` with
``k = round(x / ln 2)`` and ``|r| <= ln(2) / 2``, a polynomial for
``exp(r)`` and the exponent's bits for ``2^k``: multiplications, additions,
a floor and a bit cast, all of which LLVM vectorizes.

Accuracy, tested against NumPy over the whole range: a few ulp in both
dtypes. ``x`` is clamped to where ``exp`` is a normal number (float32
[-87, 88], float64 [-708, 709]): below, the result is the smallest normal
instead of a denormal or 0 (callers multiply it by other numbers, where the
difference is below their own rounding); above, it is finite where exp
would overflow, and callers cap their arguments anyway.
"""

import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from fastffnn._jit import OVERLOAD_OPTIONS

_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact (Cody and Waite)
_LN2_HI_32, _LN2_LO_32 = 0.693359375, -2.12194440e-4
_LN2_HI_64, _LN2_LO_64 = 6.93145751953125e-1, 1.42860682030941723212e-6


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float whose IEEE bits are ``bits``: int32 -> float32, int64 -> float64."""
    result = {types.int32: types.float32, types.int64: types.float64}.get(bits)
    if result is None:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(bits), codegen


def fast_exp(x):
    """exp(x) for a float32 or float64 scalar in compiled code (see the module)."""
    return np.exp(x)


@overload(fast_exp, jit_options=OVERLOAD_OPTIONS)
def _fast_exp(x):
    if x == types.float32:

        def exp32(x):
            x = min(max(x, np.float32(-87.0)), np.float32(88.0))
            k = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
            r = x - k * np.float32(_LN2_HI_32) - k * np.float32(_LN2_LO_32)
            # Cephes' expf polynomial
            p = np.float32(1.9875691500e-4)
            p = p * r + np.float32(1.3981999507e-3)
            p = p * r + np.float32(8.3334519073e-3)
            p = p * r + np.float32(4.1665795894e-2)
            p = p * r + np.float32(1.6666665459e-1)
            p = p * r + np.float32(5.0000001201e-1)
            p = p * r * r + r + np.float32(1.0)
            # numba widens int32 arithmetic to int64: narrow the exponent's bits again
            return p * _float_from_bits(np.int32((np.int64(k) + 127) << 23))

        return exp32
    if x == types.float64:

        def exp64(x):
            x = min(max(x, -708.0), 709.0)
            k = np.floor(x * _LOG2E + 0.5)
            r = x - k * _LN2_HI_64 - k * _LN2_LO_64
            # Taylor to r^13: the remainder is below 1e-17 for |r| <= ln(2) / 2
            p = 1.0 / 6227020800.0  # 1 / 13!
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            return p * _float_from_bits((np.int64(k) + np.int64(1023)) << np.int64(52))

        return exp64
    return None
