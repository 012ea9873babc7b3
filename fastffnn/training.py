"""The compiled training loop: forward (F1-F3), backward (B1-B4) with the
fused seed (C4), penalties (R1, R2), and whole epochs of mini-batch updates.

A whole epoch (shuffle, every mini-batch's gather, forward, backward and
optimizer step) is one call from Python: per-batch Python calls would cost
tens to hundreds of microseconds each, an epoch call about one.

Data arrive in the user's layout: ``X`` (n_samples, n^[0]) and ``Y``
(n_samples, n^[L]) C-ordered, which are A^[0] and the targets of MATH.md in
Fortran order; ``s`` (n_samples,) holds the sample weights.
"""

import numpy as np
from numba import prange

from fastffnn._jit import kernel, serial
from fastffnn.kernels.activations import SOFTMAX, activation_backward, activation_forward
from fastffnn.kernels.costs import (
    add_l2_gradient,
    fused_seed,
    logistic_cross_entropy,
    softmax_cross_entropy,
    squared_norm,
)
from fastffnn.kernels.linear import linear_backward_input, linear_backward_params, linear_forward
from fastffnn.kernels.optimizers import adam_step, sgd_step
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.network import layer_parameters, layer_workspace

ADAM, SGD = 0, 1

#: Examples per chunk when predicting: bounds the activation workspace.
PREDICT_CHUNK = 4096


@serial
def forward(A0, params, sizes, codes, activations, capacity):
    """F1-F2 through every layer; returns A^[L], a view of ``activations``.

    A0: (n^[0], m), m <= capacity; ``activations`` is a workspace buffer
    (``fastffnn.network.layer_workspace``) that receives every A^[l].
    """
    m = A0.shape[1]
    W, b = layer_parameters(params, sizes, 1)
    A = layer_workspace(activations, sizes, 1, m, capacity)
    linear_forward(W, b, A0, A)
    activation_forward(codes[0], A, A)
    for l in range(2, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        A_prev = A
        A = layer_workspace(activations, sizes, l, m, capacity)
        linear_forward(W, b, A_prev, A)
        activation_forward(codes[l - 1], A, A)
    return A


@serial
def data_cost(A, Y, s, codes):
    """F3: the cross-entropy of the output, C2 after a softmax, else C1 / C3.

    A, Y: (n^[L], m); s: (m,). Normalized by ``sum s`` of these examples.
    """
    if codes[codes.size - 1] == SOFTMAX:
        return softmax_cross_entropy(A, Y, s)
    return logistic_cross_entropy(A, Y, s)


@serial
def penalty(params, sizes, alpha, weight_total):
    """R1's cost term ``alpha / (2 sum s) * sum_l ||W^[l]||^2``."""
    total = params.dtype.type(0)
    for l in range(1, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        total += squared_norm(W)
    return params.dtype.type(0.5) * alpha * total / weight_total


@serial
def add_penalty_gradient(params, sizes, alpha, weight_total, grads):
    """R1's gradient ``dW^[l] += (alpha / sum s) W^[l]`` for every layer, in place."""
    scale = alpha / weight_total
    for l in range(1, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        dW, db = layer_parameters(grads, sizes, l)
        add_l2_gradient(W, scale, dW)


@serial
def cost(A, Y, s, params, sizes, codes, alpha):
    """F3 with R1: the cross-entropy of the output (C1-C3) plus the L2 penalty.

    A, Y: (n^[L], m); s: (m,). The cost follows the output activation:
    softmax -> C2, logistic -> C1 (one unit) or C3 (several).
    """
    loss = data_cost(A, Y, s, codes)
    if alpha > 0:
        loss += penalty(params, sizes, alpha, ordered_sum(s))
    return loss


@serial
def backward(A0, Y, s, weight_total, params, sizes, codes, activations, deltas, capacity, grads):
    """B1-B4 seeded with the fused seed C4 (without R1); fills ``grads``.

    A0: (n^[0], m); Y: (n^[L], m); s: (m,); ``weight_total`` is ``sum s`` of the
    whole mini-batch. ``activations`` holds the forward pass of these
    examples, ``deltas`` is a workspace for every dZ^[l]; ``grads`` is a flat
    buffer laid out like ``params``.
    """
    L = sizes.size - 1
    m = A0.shape[1]
    A_out = layer_workspace(activations, sizes, L, m, capacity)
    dZ = layer_workspace(deltas, sizes, L, m, capacity)
    fused_seed(A_out, Y, s, weight_total, dZ)
    for l in range(L, 0, -1):
        W, b = layer_parameters(params, sizes, l)
        dW, db = layer_parameters(grads, sizes, l)
        dZ = layer_workspace(deltas, sizes, l, m, capacity)
        if l > 1:
            A_prev = layer_workspace(activations, sizes, l - 1, m, capacity)
            linear_backward_params(dZ, A_prev, dW, db)
            dA_prev = layer_workspace(deltas, sizes, l - 1, m, capacity)
            linear_backward_input(dZ, W, dA_prev)
            activation_backward(codes[l - 2], A_prev, dA_prev, dA_prev)
        else:
            linear_backward_params(dZ, A0, dW, db)


@serial
def loss_and_gradient(A0, Y, s, params, sizes, codes, alpha, activations, deltas, capacity, grads):
    """J (F3, R1, R2) of one batch and its gradient into ``grads``; returns J."""
    weight_total = ordered_sum(s)
    A_out = forward(A0, params, sizes, codes, activations, capacity)
    loss = data_cost(A_out, Y, s, codes)
    backward(A0, Y, s, weight_total, params, sizes, codes, activations, deltas, capacity, grads)
    if alpha > 0:
        loss += penalty(params, sizes, alpha, weight_total)
        add_penalty_gradient(params, sizes, alpha, weight_total, grads)
    return loss


@kernel
def chunked_loss_and_gradient(X, Y, s, params, sizes, codes, alpha, activations, deltas,
                              chunk_grads, grads):  # fmt: skip
    """``loss_and_gradient`` of one batch, split into fixed chunks of examples
    processed in parallel, each with single-threaded BLAS.

    X: (m, n^[0]) and Y: (m, n^[L]) C-ordered rows of the batch (A^[0] and the
    targets in Fortran order); s: (m,). The batch is cut into
    C = ``chunk_grads.shape[0]`` equal chunks; chunk c uses ``activations[c]``
    and ``deltas[c]`` (workspaces for ceil(m_max / C) examples) and writes its
    gradient to ``chunk_grads[c]``; the chunks' gradients are then added in
    chunk order into ``grads``. The cut depends only on m and C, never on the
    number of threads, so results do not either.
    """
    m = X.shape[0]
    n_chunks = chunk_grads.shape[0]
    n_params = grads.size
    capacity = activations.shape[1] // workspace_rows(sizes)
    size = (m + n_chunks - 1) // n_chunks
    weight_total = ordered_sum(s)
    chunk_losses = np.zeros(n_chunks, dtype=params.dtype)
    for c in prange(n_chunks):
        start = min(c * size, m)
        stop = min(start + size, m)
        if start == stop:
            chunk_grads[c, :] = 0
            continue
        A0 = X[start:stop].T
        Y_chunk = Y[start:stop].T
        s_chunk = s[start:stop]
        A_out = forward(A0, params, sizes, codes, activations[c], capacity)
        chunk_losses[c] = data_cost(A_out, Y_chunk, s_chunk, codes) * ordered_sum(s_chunk)
        backward(A0, Y_chunk, s_chunk, weight_total, params, sizes, codes, activations[c],
                 deltas[c], capacity, chunk_grads[c])  # fmt: skip
    for p in prange(n_params):
        total = chunk_grads[0, p]
        for c in range(1, n_chunks):
            total += chunk_grads[c, p]
        grads[p] = total
    loss = ordered_sum(chunk_losses) / weight_total
    if alpha > 0:
        loss += penalty(params, sizes, alpha, weight_total)
        add_penalty_gradient(params, sizes, alpha, weight_total, grads)
    return loss


@serial
def batch_loss_and_gradient(X, Y, s, params, sizes, codes, alpha, activations, deltas,
                            chunk_grads, grads):  # fmt: skip
    """J of one mini-batch and its gradient into ``grads``; returns J.

    X: (m, n^[0]), Y: (m, n^[L]) C-ordered rows; s: (m,). ``activations`` and
    ``deltas`` are (C, workspace) arrays: with C > 1 the batch is split into C
    chunks trained in parallel (``chunked_loss_and_gradient``, which needs
    ``chunk_grads`` of shape (C, n_params)); with C = 1 it runs whole, with
    the kernels' own parallel loops.
    """
    if activations.shape[0] > 1:
        return chunked_loss_and_gradient(X, Y, s, params, sizes, codes, alpha, activations,
                                         deltas, chunk_grads, grads)  # fmt: skip
    capacity = activations.shape[1] // workspace_rows(sizes)
    return loss_and_gradient(X.T, Y.T, s, params, sizes, codes, alpha, activations[0],
                             deltas[0], capacity, grads)  # fmt: skip


@serial
def workspace_rows(sizes):
    """Entries per example in a workspace: ``n^[1] + ... + n^[L]``."""
    total = 0
    for l in range(1, sizes.size):
        total += sizes[l]
    return total


@kernel
def gather_batch(X, Y, s, order, start, X_batch, Y_batch, s_batch):
    """Copy examples ``order[start:start + m]`` into the batch buffers.

    X: (n_samples, n^[0]); Y: (n_samples, n^[L]); s: (n_samples,);
    X_batch: (m, n^[0]), Y_batch: (m, n^[L]), s_batch: (m,), outputs.
    """
    for k in prange(X_batch.shape[0]):
        row = order[start + k]
        X_batch[k, :] = X[row, :]
        Y_batch[k, :] = Y[row, :]
        s_batch[k] = s[row]


@serial
def _optimizer_step(params, grads, state, solver, hyper, nesterov, t):
    """Apply one update of ``solver``; returns the new Adam step count ``t``.

    ``state`` holds Adam's two moment vectors or SGD's velocity (first half);
    ``hyper`` = [learning_rate, beta_1, beta_2, epsilon, momentum] in float64.
    """
    n = params.size
    dtype = params.dtype.type
    if solver == ADAM:
        t += 1
        step = hyper[0] * np.sqrt(1.0 - hyper[2] ** t) / (1.0 - hyper[1] ** t)
        adam_step(
            params,
            grads,
            state[:n],
            state[n:],
            dtype(step),
            dtype(hyper[1]),
            dtype(hyper[2]),
            dtype(hyper[3]),
        )
    else:
        sgd_step(params, grads, state[:n], dtype(hyper[0]), dtype(hyper[4]), nesterov)
    return t


@serial
def train_epoch(
    X,
    Y,
    s,
    order,
    rng,
    shuffle,
    batch_size,
    params,
    sizes,
    codes,
    alpha,
    solver,
    hyper,
    nesterov,
    t,
    grads,
    state,
    X_batch,
    Y_batch,
    s_batch,
    activations,
    deltas,
    chunk_grads,
):
    """One epoch of mini-batch training; returns ``(summed batch loss * m, t)``.

    ``order`` (n_samples,) is the running permutation of the examples, shuffled
    in place with the numpy Generator ``rng`` when ``shuffle``; otherwise
    batches are read straight from X without copying. ``X_batch``, ``Y_batch``
    and ``s_batch`` hold ``batch_size`` examples; ``activations``, ``deltas``
    and ``chunk_grads`` are laid out for ``batch_loss_and_gradient``;
    ``grads`` and ``state`` are preallocated too, so an epoch allocates nothing
    of the size of X.
    """
    n_samples = X.shape[0]
    if shuffle:
        rng.shuffle(order)
    total = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        m = stop - start
        if shuffle:
            gather_batch(X, Y, s, order, start, X_batch[:m], Y_batch[:m], s_batch[:m])
            loss = batch_loss_and_gradient(
                X_batch[:m], Y_batch[:m], s_batch[:m], params, sizes, codes, alpha,
                activations, deltas, chunk_grads, grads,
            )  # fmt: skip
        else:
            loss = batch_loss_and_gradient(
                X[start:stop], Y[start:stop], s[start:stop], params, sizes, codes, alpha,
                activations, deltas, chunk_grads, grads,
            )  # fmt: skip
        t = _optimizer_step(params, grads, state, solver, hyper, nesterov, t)
        total += float(loss) * m
    return total, t


@serial
def full_batch_loss_and_gradient(X, Y, s, params, sizes, codes, alpha, activations, deltas, grads):
    """J and its gradient over all of X at once, for L-BFGS. Returns J.

    X: (n_samples, n^[0]); Y: (n_samples, n^[L]); s: (n_samples,); the
    workspaces hold ``n_samples`` examples. X is used in place, not copied.
    """
    return loss_and_gradient(
        X.T, Y.T, s, params, sizes, codes, alpha, activations, deltas, X.shape[0], grads
    )


@serial
def predict_in_chunks(X, params, sizes, codes, activations, capacity, out):
    """A^[L] for every row of X, written into ``out``, ``capacity`` rows at a time.

    X: (n_samples, n^[0]); out: (n_samples, n^[L]); ``activations`` holds
    ``capacity`` examples, so memory does not grow with n_samples.
    """
    n_samples = X.shape[0]
    for start in range(0, n_samples, capacity):
        stop = min(start + capacity, n_samples)
        A_out = forward(X[start:stop].T, params, sizes, codes, activations, capacity)
        out[start:stop, :] = A_out.T
