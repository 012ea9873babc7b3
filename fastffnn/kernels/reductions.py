"""Sums in a fixed order.

Inside a ``parallel=True`` kernel numba turns ``np.sum`` into a parallel
reduction whose order depends on the thread count and the scheduler (the same
call gave costs one ulp apart). The parallel drivers reduce per chunk of
examples or per block of parameters, then add those partial results here,
serially and in index order.
"""

from fastffnn._jit import serial


@serial
def ordered_sum(values):
    """``values[0] + values[1] + ...`` left to right; values: (n,), n >= 1."""
    total = values[0]
    for k in range(1, values.size):
        total += values[k]
    return total
