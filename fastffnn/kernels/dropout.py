"""Inverted dropout (D1) with masks that are a pure function of
(seed, step, layer, example, unit), so that training is bit-identical for a
seed whatever the threads, chunks or processes.

An example is named by its row in the training data (``ids``), a step by
its number since the fit began; ``step_key`` mixes the seed and the step,
``layer_key`` the layer. Unit j of example i is kept when a 32-bit hash of
(layer key, row i, j) is at least ``rate * 2**32``: kept with probability
``1 - rate`` to within 2**-32, and a kept activation is scaled by
``1 / (1 - rate)``. The hash is a splitmix64 step per example and murmur3's
32-bit finalizer per unit: integer arithmetic that vectorizes across units.
Arrays are (units, examples) in Fortran order, as everywhere in
``fastffnn.kernels``.
"""

import numpy as np

from fastffnn._jit import serial

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW32 = np.uint64(0xFFFFFFFF)


@serial
def _splitmix64(x):
    """splitmix64's output function (Steele, Lea, Flood 2014) of a uint64."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@serial
def step_key(seed, step):
    """The key of one optimizer step: uint64 from an int64 seed and step number."""
    return _splitmix64(np.uint64(seed) ^ _splitmix64(np.uint64(step)))


@serial
def layer_key(key, layer):
    """A step key's key for hidden layer ``layer`` (1..L-1)."""
    return _splitmix64(key ^ (np.uint64(layer) * _GOLDEN))


@serial
def apply_dropout(A, mask, ids, key, rate):
    """D1 in place: ``A = A * M / (1 - rate)`` for the mask of ``key`` (a
    ``layer_key``) and examples ``ids``; ``mask`` receives ``M / (1 - rate)``
    (0 or the scale), which backward multiplies into dA (``scale_entries``).

    A, mask: (n, m); ids: (m,) int64, the training-data rows of A's columns.
    """
    n, m = A.shape
    threshold = np.uint64(rate * 4294967296.0)
    scale = A.dtype.type(1.0 / (1.0 - rate))
    zero = A.dtype.type(0)
    for i in range(m):
        example = _splitmix64(key ^ np.uint64(ids[i])) & _LOW32
        for j in range(n):
            h = (example ^ (np.uint64(j) * np.uint64(0x9E3779B1))) & _LOW32
            h = ((h ^ (h >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & _LOW32
            h = ((h ^ (h >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & _LOW32
            h = h ^ (h >> np.uint64(16))
            mask[j, i] = scale if h >= threshold else zero
        for j in range(n):
            A[j, i] *= mask[j, i]


@serial
def scale_entries(dA, mask):
    """D1's B1 factor: ``dA = dA * mask`` in place. dA, mask: (n, m)."""
    n, m = dA.shape
    for i in range(m):
        for j in range(n):
            dA[j, i] *= mask[j, i]


@serial
def dropout_rate(dropout, layer):
    """The rate of hidden layer ``layer`` (1..L-1) in ``dropout`` (L-1,), 0
    when ``dropout`` is empty (prediction, L-BFGS) or for the output layer."""
    if layer <= dropout.size:
        return dropout[layer - 1]
    return 0.0
