"""Forward propagation (F1-F2, with D1) and backpropagation (B1-B4 seeded
with the fused seeds C4, C5-C9) through a whole network, and the cost whose
gradient training follows (F3 with R1).

The passes are serial: training runs them on chunks of examples, one thread
each (``fastffnn.training``); prediction on blocks of rows
(``fastffnn.prediction``). A^[0] arrives dense (n^[0], m) in Fortran order or
as a sparse X's rows (``fastffnn.kernels.inputs``); every other layer lives
in workspace buffers (``fastffnn.network.layer_workspace``): two slots per
layer for ``capacity`` examples.
"""

import numpy as np

from fastffnn._jit import internal, serial
from fastffnn._linking import separate
from fastffnn.kernels.activations import (
    activation_backward,
    activation_forward,
    identity_forward,
    needs_preactivation,
)
from fastffnn.kernels.costs import SQUARED_ERROR, data_cost, output_seed, squared_norm
from fastffnn.kernels.dropout import apply_dropout, dropout_rate, layer_key, scale_entries
from fastffnn.kernels.inputs import (
    input_example_forward,
    input_layer_forward,
    input_layer_gradient,
    n_examples,
)
from fastffnn.kernels.linear import (
    example_forward,
    linear_backward_input,
    linear_backward_params,
    linear_forward,
)
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.network import layer_parameters, layer_workspace, second_slot


@internal
def forward(A0, network, activations, capacity, dropout):
    """F1-F2 through every layer, with D1 on the hidden layers whose rate in
    ``dropout.rates`` is positive; returns A^[L], a view of ``activations``.

    A0: (n^[0], m), m <= capacity, dense or sparse; ``network`` a
    ``bundles.Network``; ``activations`` a workspace buffer that receives
    every A^[l], and in its second slots what B1 reads instead of A^[l]
    (``derivative_input``); ``dropout`` a ``bundles.Dropout`` (its masks go
    to the second slots of ``dropout.masks`` for backward).
    """
    params, sizes, codes = network.params, network.sizes, network.codes
    m = n_examples(A0)
    first = np.int64(1)  # not a literal 1: that compiles second copies of both callees
    W, b = layer_parameters(params, sizes, first)
    A = layer_workspace(activations, sizes, first, m, capacity)
    Z = A
    if needs_preactivation(codes[0]):
        Z = second_slot(activations, sizes, first, m, capacity)
    input_layer_forward(W, b, A0, Z)
    activate(network, first, A, Z, activations, capacity, dropout)
    for l in range(2, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        A_prev = A
        A = layer_workspace(activations, sizes, l, m, capacity)
        Z = A
        if needs_preactivation(codes[l - 1]):
            Z = second_slot(activations, sizes, l, m, capacity)
        linear_forward(W, b, A_prev, Z)
        activate(network, l, A, Z, activations, capacity, dropout)
    return A


#: ``forward`` as compiled code calls it: compiled once per signature and
#: shared by training, prediction, Jacobians and the gradient checker
#: (``fastffnn._linking.separate``).
call_forward = separate(forward)


@internal
def forward_example(A0, network, activations):
    """``forward`` for one example, without dropout and without BLAS (F1 as
    compiled loops). A0: (n^[0], 1); ``activations``: a workspace for one example."""
    params, sizes, codes = network.params, network.sizes, network.codes
    one = np.int64(1)
    W, b = layer_parameters(params, sizes, one)
    A = layer_workspace(activations, sizes, one, one, one)
    Z = second_slot(activations, sizes, one, one, one) if needs_preactivation(codes[0]) else A
    input_example_forward(W, b, A0, Z)
    activation_forward(codes[0], Z, A)
    for l in range(2, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        A_prev = A
        A = layer_workspace(activations, sizes, l, one, one)
        Z = A
        if needs_preactivation(codes[l - 1]):
            Z = second_slot(activations, sizes, l, one, one)
        example_forward(W, b, A_prev, Z)
        activation_forward(codes[l - 1], Z, A)
    return A


@internal
def activate(network, l, A, Z, activations, capacity, dropout):
    """F2 of layer l, ``A = g(Z)`` (A may be Z), then D1 when its rate is positive.

    With dropout, an activation whose B1 reads A keeps A before the mask in
    the layer's second slot of ``activations`` (``derivative_input``).
    """
    sizes = network.sizes
    code = network.codes[l - 1]
    activation_forward(code, Z, A)
    rate = dropout_rate(dropout.rates, l)
    if rate > 0:
        m = A.shape[1]
        if not needs_preactivation(code):
            identity_forward(A, second_slot(activations, sizes, l, m, capacity))  # a copy
        apply_dropout(A, second_slot(dropout.masks, sizes, l, m, capacity), dropout.ids,
                      layer_key(dropout.key, l), rate)  # fmt: skip


@serial
def derivative_input(activations, sizes, codes, rates, l, m, capacity):
    """What layer l's B1 (and T2) reads: Z^[l] for A5-A11, A^[l] before
    dropout when the layer drops out (``rates``: D1's), else A^[l] itself."""
    if needs_preactivation(codes[l - 1]) or dropout_rate(rates, l) > 0:
        return second_slot(activations, sizes, l, m, capacity)
    return layer_workspace(activations, sizes, l, m, capacity)


@internal
def penalty(network, alpha, weight_total):
    """R1's cost term ``alpha / (2 sum s) * sum_l ||W^[l]||^2``."""
    params, sizes = network.params, network.sizes
    total = params.dtype.type(0)
    for l in range(1, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        total += squared_norm(W)
    return params.dtype.type(0.5) * alpha * total / weight_total


@serial
def objective(A, Y, s, network, alpha):
    """F3 with R1: the cost whose gradient training follows (the gradient
    checker's J). A, Y: (n^[L], m); s: (m,).

    The data term is ``data_cost``, except squared error: scikit-learn
    reports C5 as a mean over outputs but trains on the sum, so here it is
    ``n^[L]`` times the reported term.
    """
    sizes = network.sizes
    cost = network.codes[sizes.size - 1]
    loss = data_cost(A, Y, s, cost, network.cost_parameter)
    if cost == SQUARED_ERROR:
        loss *= network.params.dtype.type(sizes[sizes.size - 1])
    if alpha > 0:
        loss += penalty(network, alpha, ordered_sum(s))
    return loss


@internal
def backward(A0, Y, s, weight_total, network, activations, deltas, capacity, grads, rates):
    """B1-B4 seeded with the cost's fused seed (C4, C5-C9; without R1), with
    D1's masks (``forward`` left them in ``deltas``' second slots); fills ``grads``.

    A0: (n^[0], m); Y: (n^[L], m); s: (m,); ``weight_total`` is ``sum s`` of the
    whole mini-batch. ``activations`` holds the forward pass of these
    examples, ``deltas`` is a workspace for every dZ^[l]; ``grads`` is a flat
    buffer laid out like ``params``; ``rates``: D1's (L - 1,), empty for none.
    """
    params, sizes, codes = network.params, network.sizes, network.codes
    L = sizes.size - 1
    m = n_examples(A0)
    A_out = layer_workspace(activations, sizes, L, m, capacity)
    dZ = layer_workspace(deltas, sizes, L, m, capacity)
    output_seed(A_out, Y, s, weight_total, codes[L], network.cost_parameter, dZ)
    for l in range(L, 0, -1):
        W, b = layer_parameters(params, sizes, l)
        dW, db = layer_parameters(grads, sizes, l)
        dZ = layer_workspace(deltas, sizes, l, m, capacity)
        if l > 1:
            A_prev = layer_workspace(activations, sizes, l - 1, m, capacity)
            linear_backward_params(dZ, A_prev, dW, db)
            dA_prev = layer_workspace(deltas, sizes, l - 1, m, capacity)
            linear_backward_input(dZ, W, dA_prev)
            if dropout_rate(rates, l - 1) > 0:
                scale_entries(dA_prev, second_slot(deltas, sizes, l - 1, m, capacity))
            D = derivative_input(activations, sizes, codes, rates, l - 1, m, capacity)
            activation_backward(codes[l - 2], D, dA_prev, dA_prev)
        else:
            input_layer_gradient(dZ, A0, dW, db)
