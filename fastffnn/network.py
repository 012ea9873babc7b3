"""A network's shape in memory: layer sizes, the flat parameter buffer and
its per-layer views, and the per-layer workspaces.

Every parameter of the network lives in one 1-D buffer, layer after layer:
``[coef_1, b_1, coef_2, b_2, ...]`` with ``coef_l`` of shape (fan_in, fan_out)
in C order, i.e. ``W^[l]`` of MATH.md in Fortran order. The optimizers update
that buffer with one parallel loop, L-BFGS hands it to scipy as is, and the
estimator's ``coefs_`` / ``intercepts_`` are views of it.

``sizes`` is an int64 array ``(n^[0], ..., n^[L])`` and ``codes`` an int64
array of L activation codes (``fastffnn.kernels.activations``).
"""

import numpy as np

from fastffnn import registry
from fastffnn._jit import serial


def count_parameters(sizes):
    """Number of weights and biases of a network with layer ``sizes``."""
    return int(sum(sizes[l - 1] * sizes[l] + sizes[l] for l in range(1, len(sizes))))


def parameter_views(params, sizes):
    """``(coefs, intercepts)``: per-layer views of the flat ``params`` buffer.

    ``coefs[l - 1]`` has shape (n^[l-1], n^[l]) and ``intercepts[l - 1]`` (n^[l],),
    scikit-learn's layout. Writing into a view changes the buffer.
    """
    coefs, intercepts = [], []
    offset = 0
    for l in range(1, len(sizes)):
        fan_in, fan_out = int(sizes[l - 1]), int(sizes[l])
        coefs.append(params[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out))
        offset += fan_in * fan_out
        intercepts.append(params[offset : offset + fan_out])
        offset += fan_out
    return coefs, intercepts


def pack_parameters(coefs, intercepts, dtype):
    """A new flat buffer holding ``coefs`` and ``intercepts`` (copied, cast to ``dtype``)."""
    pieces = []
    for coef, intercept in zip(coefs, intercepts):
        pieces.append(np.asarray(coef, dtype=dtype).ravel())
        pieces.append(np.asarray(intercept, dtype=dtype).ravel())
    return np.concatenate(pieces)


def workspace_size(sizes, capacity):
    """Length of a workspace buffer: two slots per layer 1..L for ``capacity``
    examples (``layer_workspace`` and ``second_slot``)."""
    return int(2 * capacity * sum(int(n) for n in sizes[1:]))


@serial
def workspace_rows(sizes):
    """Entries per example in a workspace: two slots of ``n^[1] + ... + n^[L]``
    (``workspace_size``)."""
    total = 0
    for l in range(1, sizes.size):
        total += sizes[l]
    return 2 * total


@serial
def layer_parameters(params, sizes, layer):
    """``(W, b)`` of ``layer`` (1..L) as views of the flat buffer ``params``.

    W: (n^[l], n^[l-1]) in Fortran order (that is, coef_l transposed); b: (n^[l],).
    """
    offset = 0
    for l in range(1, layer):
        offset += sizes[l - 1] * sizes[l] + sizes[l]
    fan_in = sizes[layer - 1]
    fan_out = sizes[layer]
    end = offset + fan_in * fan_out
    W = params[offset:end].reshape((fan_in, fan_out)).T
    return W, params[end : end + fan_out]


@serial
def layer_workspace(buffer, sizes, layer, m, capacity):
    """The (n^[l], m) Fortran-ordered slot of ``layer`` (1..L) in a workspace buffer.

    Each layer owns ``capacity * n^[l]`` entries; a batch of ``m <= capacity``
    examples uses a contiguous prefix of its slot.
    """
    offset = 0
    for l in range(1, layer):
        offset += capacity * sizes[l]
    n = sizes[layer]
    return buffer[offset : offset + m * n].reshape((m, n)).T


@serial
def second_slot(buffer, sizes, layer, m, capacity):
    """The layer's second (n^[l], m) slot in a workspace buffer, after every
    layer's first one: an activations buffer keeps there what the layer's B1
    reads when that is not A^[l] (Z^[l] for A5-A11, A^[l] before dropout),
    a deltas buffer the layer's dropout mask (D1)."""
    total = 0
    for l in range(1, sizes.size):
        total += sizes[l]
    return layer_workspace(buffer[capacity * total :], sizes, layer, m, capacity)


def initial_parameters(sizes, init_activations, random_state, dtype):
    """Initial flat parameter buffer, layer by layer by the rule of
    ``init_activations[l - 1]`` (the registry's ``init``); draws are float64, then cast.

    scikit-learn's activations: Glorot uniform as MLPClassifier draws it,
    ``coef`` then ``intercept`` ~ U(-r, r), ``r = sqrt(factor / (fan_in +
    fan_out))``, ``factor`` 2 for logistic and 6 otherwise; MLPClassifier uses
    its hidden activation for every layer, the output one included, so
    passing the same name L times reproduces its draws from the same
    ``random_state`` exactly. He normal (He et al. 2015) for the ReLU-like
    A5, A6, A8-A11: ``coef ~ N(0, 2 / fan_in)``; LeCun normal for SELU (A7),
    which its self-normalization assumes: ``coef ~ N(0, 1 / fan_in)``; both
    with zero biases.
    """
    coefs, intercepts = [], []
    for l in range(1, len(sizes)):
        name = init_activations[l - 1]
        rule = registry.activation(name).init
        fan_in, fan_out = int(sizes[l - 1]), int(sizes[l])
        if rule in ("he_normal", "lecun_normal"):
            gain = 2.0 if rule == "he_normal" else 1.0
            coefs.append(random_state.normal(0.0, np.sqrt(gain / fan_in), (fan_in, fan_out)))
            intercepts.append(np.zeros(fan_out))
            continue
        factor = 2.0 if name in ("logistic", "sigmoid") else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(random_state.uniform(-bound, bound, fan_out))
    return pack_parameters(coefs, intercepts, dtype)
