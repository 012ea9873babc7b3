"""Jacobians of a network's outputs with respect to its inputs, by forward or
reverse accumulation (MATH.md, "Forward versus reverse accumulation").

For every example ``i`` the Jacobian ``J_i = d a^[L]_i / d x_i`` has shape
(n^[L], n^[0]). Both modes first run the forward pass (F1-F2) of a chunk of
examples, keeping every ``A^[l]``, then:

- **forward** (:func:`forward_jacobian`): one tangent pass per input feature
  ``k``, batched over the chunk's examples: ``dot-A^[0] = e_k`` in every column,
  then T1 and T2 layer by layer up to ``dot-A^[L]``, which is column ``k`` of
  every ``J_i``. n^[0] passes.
- **reverse** (:func:`reverse_jacobian`): one backward pass per output ``r``:
  ``dA^[L] = e_r`` in every column, through the output activation's backward
  (B1), then B4 and B1 layer by layer down to ``dA^[0]``, which is row ``r`` of
  every ``J_i``. n^[L] passes. B2-B3 (the parameter gradients) are not needed.

A pass of either mode costs about the same (one GEMM per layer of the same
size), so the cheaper mode is the one with fewer passes: forward when
n^[0] < n^[L] (:func:`choose_mode`).

Examples are processed ``CHUNK`` at a time, so workspace memory does not
grow with n_samples; the result itself is (n_samples, n^[L], n^[0]). BLAS
runs on one thread (``fastffnn.threads``), so the result does not depend on
the BLAS threads.
"""

import numpy as np
import scipy.sparse

from fastffnn import boundary
from fastffnn._jit import serial
from fastffnn.bundles import Dropout
from fastffnn.kernels.activations import activation_backward
from fastffnn.kernels.linear import linear_backward_input
from fastffnn.kernels.tangents import activation_tangent, basis_direction, linear_tangent
from fastffnn.network import layer_parameters, layer_workspace, workspace_size
from fastffnn.propagation import call_forward, derivative_input
from fastffnn.threads import thread_limits

MODES = ("auto", "forward", "reverse")

#: Examples per chunk: bounds the workspaces.
CHUNK = 4096


@serial
def forward_jacobian(X, network, activations, tangents, seed, capacity, out):
    """Forward accumulation: ``out[i, :, k] = dot-A^[L]`` of example i for ``dot-x = e_k``.

    X: (n_samples, n^[0]); out: (n_samples, n^[L], n^[0]), output.
    ``activations`` and ``tangents`` are workspace buffers for ``capacity``
    examples (``fastffnn.network.workspace_size``); ``seed`` holds
    ``capacity * n^[0]`` entries for ``dot-A^[0]``. Per chunk: F1-F2 once, then
    for each feature k, ``dot-A^[0] = e_k`` and T1, T2 through every layer.
    """
    params, sizes, codes = network.params, network.sizes, network.codes
    n_samples = X.shape[0]
    n_in = sizes[0]
    L = sizes.size - 1
    no_dropout = np.empty(0)
    dropout = Dropout(no_dropout, np.empty(0, dtype=np.int64), np.uint64(0), activations)
    for start in range(0, n_samples, capacity):
        stop = min(start + capacity, n_samples)
        m = stop - start
        call_forward(X[start:stop].T, network, activations, capacity, dropout)
        dA0 = seed[: m * n_in].reshape((m, n_in)).T
        for k in range(n_in):
            basis_direction(k, dA0)
            dA_prev = dA0
            for l in range(1, L + 1):
                W, b = layer_parameters(params, sizes, l)
                D = derivative_input(activations, sizes, codes, no_dropout, l, m, capacity)
                dA = layer_workspace(tangents, sizes, l, m, capacity)
                linear_tangent(W, dA_prev, dA)  # T1: dot-Z^[l]
                activation_tangent(codes[l - 1], D, dA, dA)  # T2: dot-A^[l], in place
                dA_prev = dA
            out[start:stop, :, k] = dA_prev.T


@serial
def reverse_jacobian(X, network, activations, deltas, inputs, capacity, out):
    """Reverse accumulation: ``out[i, r, :] = dA^[0]`` of example i for ``dA^[L] = e_r``.

    X: (n_samples, n^[0]); out: (n_samples, n^[L], n^[0]), output.
    ``activations`` and ``deltas`` are workspace buffers for ``capacity``
    examples; ``inputs`` holds ``capacity * n^[0]`` entries for ``dA^[0]``.
    Per chunk: F1-F2 once, then for each output r, the seed ``e_r`` through
    B1 at layer L, and B4, B1 down to ``dA^[0]``.
    """
    params, sizes, codes = network.params, network.sizes, network.codes
    n_samples = X.shape[0]
    n_in = sizes[0]
    L = sizes.size - 1
    no_dropout = np.empty(0)
    dropout = Dropout(no_dropout, np.empty(0, dtype=np.int64), np.uint64(0), activations)
    for start in range(0, n_samples, capacity):
        stop = min(start + capacity, n_samples)
        m = stop - start
        call_forward(X[start:stop].T, network, activations, capacity, dropout)
        dA0 = inputs[: m * n_in].reshape((m, n_in)).T
        for r in range(sizes[L]):
            dZ = layer_workspace(deltas, sizes, L, m, capacity)
            basis_direction(r, dZ)  # dA^[L] = e_r
            D = derivative_input(activations, sizes, codes, no_dropout, L, m, capacity)
            activation_backward(codes[L - 1], D, dZ, dZ)  # B1: dZ^[L], in place
            for l in range(L, 1, -1):
                W, b = layer_parameters(params, sizes, l)
                D = derivative_input(activations, sizes, codes, no_dropout, l - 1, m, capacity)
                dA_prev = layer_workspace(deltas, sizes, l - 1, m, capacity)
                linear_backward_input(dZ, W, dA_prev)  # B4
                activation_backward(codes[l - 2], D, dA_prev, dA_prev)  # B1
                dZ = dA_prev
            W, b = layer_parameters(params, sizes, 1)
            linear_backward_input(dZ, W, dA0)  # B4 at l = 1: dA^[0]
            out[start:stop, r, :] = dA0.T


def choose_mode(n_features, n_outputs):
    """The mode ``"auto"`` picks: ``"forward"`` when n_features < n_outputs, else ``"reverse"``.

    ``n_outputs`` counts the network's output units, i.e. the reverse passes
    needed (for a binary classifier that is 1, although ``predict_proba`` has
    two columns: the column ``1 - p`` costs no pass of its own). On a tie the
    passes cost the same and reverse is used.
    """
    return "forward" if n_features < n_outputs else "reverse"


def input_jacobian(params, sizes, codes, X, mode="auto"):
    """Jacobian of the network's outputs with respect to its inputs, for every row of X.

    Parameters
    ----------
    params : ndarray of shape (n_parameters,)
        The flat parameter buffer (``fastffnn.network``); its dtype is the
        computation's dtype.
    sizes : ndarray of int64, shape (L + 1,)
        Layer sizes ``(n^[0], ..., n^[L])``.
    codes : ndarray of int64, shape (L,) or (L + 1,)
        Activation codes of layers 1..L (a trailing cost code is ignored).
    X : ndarray or scipy sparse matrix of shape (n_samples, n^[0])
        Inputs, already validated; converted to C order and ``params``' dtype
        when they are not (a sparse X chunk by chunk).
    mode : {"auto", "forward", "reverse"}, default="auto"
        Accumulation mode; "auto" is :func:`choose_mode`.

    Returns
    -------
    jacobian : ndarray of shape (n_samples, n_outputs, n^[0])
        ``jacobian[i, r, k] = d proba[i, r] / d X[i, k]``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}.")
    dtype = params.dtype
    sparse = scipy.sparse.issparse(X)
    if not sparse:
        X = boundary.compiled_input(X, dtype)
    n_samples, n_in = X.shape
    if n_in != sizes[0]:
        raise ValueError(f"X has {n_in} features, but the network expects {int(sizes[0])}.")
    n_out = int(sizes[-1])
    if mode == "auto":
        mode = choose_mode(n_in, n_out)
    out = np.empty((n_samples, n_out, n_in), dtype=dtype)
    capacity = max(1, min(n_samples, CHUNK))
    activations = np.empty(workspace_size(sizes, capacity), dtype=dtype)
    work = np.empty_like(activations)
    inputs = np.empty(capacity * n_in, dtype=dtype)
    network = boundary.network(params, sizes, codes)
    if n_samples:
        driver = forward_jacobian if mode == "forward" else reverse_jacobian
        with thread_limits():
            if not sparse:
                driver(X, network, activations, work, inputs, capacity, out)
            # a sparse X, one chunk densified at a time: the result is denser than X anyway
            for start in range(0, n_samples if sparse else 0, capacity):
                stop = min(start + capacity, n_samples)
                rows = boundary.compiled_input(X[start:stop].toarray(), dtype)
                driver(rows, network, activations, work, inputs, capacity, out[start:stop])
    return out
