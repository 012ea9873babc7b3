"""The compiled training loop: forward (F1-F3), backward (B1-B4) with the
fused seeds (C4, C5-C7), penalties (R1, R2), and whole epochs of mini-batch updates.

A whole epoch (every mini-batch's gather, forward, backward and optimizer
step) is one call from Python: per-batch Python calls would cost tens to
hundreds of microseconds each, an epoch call about one.

Where the threads are: a mini-batch is cut into chunks of examples
(``chunked_gradients``), each trained on its own thread with the serial
kernels of ``fastffnn.kernels``; then ``finish_batch`` adds the chunks'
gradients and takes the optimizer step over blocks of parameters, in
parallel. Two parallel regions per mini-batch, whatever the depth.

Data arrive in the user's layout: ``X`` (n_samples, n^[0]) and ``Y``
(n_samples, n^[L]) C-ordered, which are A^[0] and the targets of MATH.md in
Fortran order; ``s`` (n_samples,) holds the sample weights. X may instead be
a sparse matrix's rows (``fastffnn.kernels.inputs``): every function taking X
is then compiled a second time, for that kind of input.

``codes`` (L + 1,) holds the activation codes of layers 1..L, then the cost
code (``fastffnn.kernels.costs``); ``delta`` is Huber's threshold (C7), of
the parameters' dtype, unused by the other costs.
"""

import numba
import numpy as np
from numba import prange

from fastffnn._jit import inlined, kernel, serial
from fastffnn.kernels.activations import (
    activation_backward,
    activation_forward,
    identity_forward,
    needs_preactivation,
)
from fastffnn.kernels.costs import (
    GRADIENT_BLOCK,
    SQUARED_ERROR,
    data_cost,
    gradient_blocks,
    output_seed,
    squared_norm,
    sum_block_gradients,
)
from fastffnn.kernels.dropout import (
    apply_dropout,
    dropout_rate,
    layer_key,
    scale_entries,
    step_key,
)
from fastffnn.kernels.inputs import (
    all_finite,
    empty_row_buffer,
    gathered_rows,
    input_columns,
    input_example_forward,
    input_layer_forward,
    input_layer_gradient,
    n_examples,
    n_rows,
    row_block,
)
from fastffnn.kernels.linear import (
    example_forward,
    linear_backward_input,
    linear_backward_params,
    linear_forward,
)
from fastffnn.kernels.optimizers import adam_step, decay_weights, scheduled_rate, sgd_step
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.network import layer_parameters, layer_workspace, second_slot

#: Optimizer codes; NO_STEP computes the gradient only.
ADAM, SGD, NO_STEP = 0, 1, -1

#: Rows per block of a prediction: blocks run in parallel, each on one thread.
PREDICT_BLOCK = 256


@serial
def forward(A0, params, sizes, codes, activations, capacity, dropout, ids, key, masks):
    """F1-F2 through every layer, with D1 on the hidden layers whose rate in
    ``dropout`` is positive; returns A^[L], a view of ``activations``.

    A0: (n^[0], m), m <= capacity, dense or sparse (``fastffnn.kernels.inputs``);
    ``activations`` is a workspace buffer (``fastffnn.network.layer_workspace``)
    that receives every A^[l], and in its second slots what B1 reads instead
    of A^[l] (``derivative_input``). ``dropout`` (L-1,) holds the hidden
    layers' rates, empty for none (prediction); ``ids`` (m,) the examples'
    rows in the training data and ``key`` the step's key
    (``kernels.dropout.step_key``) choose the masks, which go to the second
    slots of the workspace ``masks`` for backward.
    """
    m = n_examples(A0)
    first = np.int64(1)  # not a literal 1: that compiles second copies of both callees
    W, b = layer_parameters(params, sizes, first)
    A = layer_workspace(activations, sizes, first, m, capacity)
    Z = A
    if needs_preactivation(codes[0]):
        Z = second_slot(activations, sizes, first, m, capacity)
    input_layer_forward(W, b, A0, Z)
    activate(activations, A, Z, sizes, codes, first, dropout, ids, key, masks, capacity)
    for l in range(2, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        A_prev = A
        A = layer_workspace(activations, sizes, l, m, capacity)
        Z = A
        if needs_preactivation(codes[l - 1]):
            Z = second_slot(activations, sizes, l, m, capacity)
        linear_forward(W, b, A_prev, Z)
        activate(activations, A, Z, sizes, codes, l, dropout, ids, key, masks, capacity)
    return A


@serial
def forward_example(A0, params, sizes, codes, activations):
    """``forward`` for one example, without dropout and without BLAS (F1 as
    compiled loops): a one-row prediction, which then needs no BLAS thread
    limits. A0: (n^[0], 1); ``activations``: a workspace for one example."""
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


@serial
def activate(activations, A, Z, sizes, codes, l, dropout, ids, key, masks, capacity):
    """F2 of layer l, ``A = g(Z)`` (A may be Z), then D1 when its rate is positive.

    With dropout, an activation whose B1 reads A keeps A before the mask in
    the layer's second slot of ``activations`` (``derivative_input``).
    """
    code = codes[l - 1]
    activation_forward(code, Z, A)
    rate = dropout_rate(dropout, l)
    if rate > 0:
        m = A.shape[1]
        if not needs_preactivation(code):
            identity_forward(A, second_slot(activations, sizes, l, m, capacity))  # a copy
        apply_dropout(A, second_slot(masks, sizes, l, m, capacity), ids, layer_key(key, l), rate)


@serial
def derivative_input(activations, sizes, codes, dropout, l, m, capacity):
    """What layer l's B1 (and T2) reads: Z^[l] for A5-A11, A^[l] before
    dropout when the layer drops out, else A^[l] itself (see ``forward``)."""
    if needs_preactivation(codes[l - 1]) or dropout_rate(dropout, l) > 0:
        return second_slot(activations, sizes, l, m, capacity)
    return layer_workspace(activations, sizes, l, m, capacity)


@serial
def penalty(params, sizes, alpha, weight_total):
    """R1's cost term ``alpha / (2 sum s) * sum_l ||W^[l]||^2``."""
    total = params.dtype.type(0)
    for l in range(1, sizes.size):
        W, b = layer_parameters(params, sizes, l)
        total += squared_norm(W)
    return params.dtype.type(0.5) * alpha * total / weight_total


@kernel
def finish_batch(chunk_grads, params, sizes, alpha, weight_total, grads, solver, hyper, nesterov,
                 t, state):  # fmt: skip
    """Add up the chunks' gradients with R1's into ``grads``, then, unless
    ``solver`` is NO_STEP, update ``params`` with it; returns R1's cost term.

    chunk_grads: (C, n_params), may be ``grads`` seen as (1, n_params);
    ``weight_total`` is ``sum s`` of the batch. ``state`` holds Adam's two
    moment vectors or SGD's velocity (first n_params entries); ``hyper`` =
    [learning_rate, beta_1, beta_2, epsilon, momentum, weight_decay,
    cosine_steps, warmup_steps] in float64 (``solvers.OptimizerState``),
    its learning rate this step's; ``t`` is the Adam step count of this update
    (already incremented). With a positive weight decay the weights (not the
    biases) then shrink by ``learning_rate * weight_decay`` (W1).

    Parallel over fixed blocks of parameters: each block is summed, penalized
    and stepped by one thread while it is in that core's cache, in one
    parallel region instead of three (2-4 us each, and a cold cache after).
    """
    n = params.size
    dtype = params.dtype.type
    if solver == ADAM:
        # scikit-learn's bias corrections, folded into the step size
        step = dtype(hyper[0] * np.sqrt(1.0 - hyper[2] ** t) / (1.0 - hyper[1] ** t))
    else:
        step = dtype(hyper[0])
    beta_1, beta_2, epsilon = dtype(hyper[1]), dtype(hyper[2]), dtype(hyper[3])
    momentum = dtype(hyper[4])
    decay = dtype(hyper[0] * hyper[5])  # W1: eta_t * lambda
    scale = alpha / weight_total
    block_norms = np.empty(gradient_blocks(n), dtype=params.dtype)
    for k in prange(block_norms.size):
        start = k * GRADIENT_BLOCK
        stop = min(start + GRADIENT_BLOCK, n)
        block_norms[k] = sum_block_gradients(chunk_grads, params, sizes, scale, start, stop, grads)
        if solver == ADAM:
            adam_step(params[start:stop], grads[start:stop], state[start:stop],
                      state[n + start : n + stop], step, beta_1, beta_2, epsilon)  # fmt: skip
        elif solver == SGD:
            sgd_step(params[start:stop], grads[start:stop], state[start:stop], step, momentum,
                     nesterov)  # fmt: skip
        if solver != NO_STEP and decay > 0:
            decay_weights(params, sizes, start, stop, decay)
    if alpha == 0:
        return dtype(0)
    return dtype(0.5) * alpha * ordered_sum(block_norms) / weight_total


@serial
def no_step(params):
    """Optimizer arguments ``(solver, hyper, nesterov, t, state)`` for NO_STEP
    (the gradient alone, for L-BFGS and the gradient checker).

    Returned from a function, so typed int64 / bool like the training loop's
    own arguments: literal constants would compile second copies of the
    callees (numba specializes on literals; seconds each).
    """
    return np.int64(NO_STEP), np.zeros(8), params.size < 0, np.int64(0), params[:0]


@serial
def objective(A, Y, s, params, sizes, codes, delta, alpha):
    """F3 with R1: the cost whose gradient training follows (the gradient
    checker's J). A, Y: (n^[L], m); s: (m,).

    The data term is ``data_cost``, except squared error: scikit-learn
    reports C5 as a mean over outputs but trains on the sum, so here it is
    ``n^[L]`` times the reported term.
    """
    cost = codes[sizes.size - 1]
    loss = data_cost(A, Y, s, cost, delta)
    if cost == SQUARED_ERROR:
        loss *= params.dtype.type(sizes[sizes.size - 1])
    if alpha > 0:
        loss += penalty(params, sizes, alpha, ordered_sum(s))
    return loss


@serial
def backward(A0, Y, s, weight_total, params, sizes, codes, delta, activations, deltas, capacity,
             grads, dropout):  # fmt: skip
    """B1-B4 seeded with the cost's fused seed (C4, C5-C7; without R1), with
    D1's masks (``forward`` left them in ``deltas``' second slots); fills ``grads``.

    A0: (n^[0], m); Y: (n^[L], m); s: (m,); ``weight_total`` is ``sum s`` of the
    whole mini-batch. ``activations`` holds the forward pass of these
    examples, ``deltas`` is a workspace for every dZ^[l]; ``grads`` is a flat
    buffer laid out like ``params``.
    """
    L = sizes.size - 1
    m = n_examples(A0)
    A_out = layer_workspace(activations, sizes, L, m, capacity)
    dZ = layer_workspace(deltas, sizes, L, m, capacity)
    output_seed(A_out, Y, s, weight_total, codes[L], delta, dZ)
    for l in range(L, 0, -1):
        W, b = layer_parameters(params, sizes, l)
        dW, db = layer_parameters(grads, sizes, l)
        dZ = layer_workspace(deltas, sizes, l, m, capacity)
        if l > 1:
            A_prev = layer_workspace(activations, sizes, l - 1, m, capacity)
            linear_backward_params(dZ, A_prev, dW, db)
            dA_prev = layer_workspace(deltas, sizes, l - 1, m, capacity)
            linear_backward_input(dZ, W, dA_prev)
            if dropout_rate(dropout, l - 1) > 0:
                scale_entries(dA_prev, second_slot(deltas, sizes, l - 1, m, capacity))
            D = derivative_input(activations, sizes, codes, dropout, l - 1, m, capacity)
            activation_backward(codes[l - 2], D, dA_prev, dA_prev)
        else:
            input_layer_gradient(dZ, A0, dW, db)


@inlined
def chunk_gradient(A0, Y, s, weight_total, params, sizes, codes, delta, activations, deltas,
                   capacity, grads, dropout, ids, key):  # fmt: skip
    """Forward (F1-F3) and backward (B1-B4, seeded with C4) over some examples;
    returns their data cost times their ``sum s``, fills ``grads`` (no R1).

    A0: (n^[0], m), Y: (n^[L], m), s: (m,), m <= capacity; ``weight_total`` is
    ``sum s`` of the whole batch these examples belong to; ``grads`` is a flat
    buffer laid out like ``params``; dropout as in ``forward``.
    """
    A_out = forward(A0, params, sizes, codes, activations, capacity, dropout, ids, key, deltas)
    loss = data_cost(A_out, Y, s, codes[sizes.size - 1], delta) * ordered_sum(s)
    backward(A0, Y, s, weight_total, params, sizes, codes, delta, activations, deltas, capacity,
             grads, dropout)  # fmt: skip
    return loss


@serial
def batch_rows(X, Y, s, rows, X_batch, Y_batch, s_batch, start, stop):
    """Examples ``start:stop`` of a batch as C-ordered rows ``(X, Y, s)``.

    A batch is either all of X, Y (n, n^[0]), (n, n^[L]) and s (n,), when
    ``rows`` is empty, or the examples ``rows`` (m,) of them: those are
    copied into rows ``start:stop`` of the buffers X_batch (m_max, n^[0]),
    Y_batch, s_batch first, by the thread that trains them (a batch gathered
    on one core and read on another cost ~50 us per batch here). A sparse X's
    rows are taken by id instead (``kernels.inputs.gathered_rows``).
    """
    if rows.size == 0:
        return row_block(X, start, stop), Y[start:stop], s[start:stop]
    # element loops, not slice assignments: those compile numba's shape-error
    # formatting, seconds of the first fit
    for k in range(start, stop):
        row = rows[k]
        for j in range(Y.shape[1]):
            Y_batch[k, j] = Y[row, j]
        s_batch[k] = s[row]
    return gathered_rows(X, rows, X_batch, start, stop), Y_batch[start:stop], s_batch[start:stop]


@serial
def batch_weight(s, rows):
    """``sum s`` over a batch (see ``batch_rows``), added in example order."""
    if rows.size == 0:
        return ordered_sum(s)
    total = s[rows[0]]
    for k in range(1, rows.size):
        total += s[rows[k]]
    return total


@kernel
def chunked_gradients(X, Y, s, rows, X_batch, Y_batch, s_batch, weight_total, params, sizes,
                      codes, delta, activations, deltas, chunk_grads, dropout, ids,
                      key):  # fmt: skip
    """``chunk_gradient`` of one batch (see ``batch_rows``) cut into fixed
    chunks of examples that run in parallel, each on one thread with
    single-threaded BLAS; returns the summed data cost times ``sum s``.

    The batch is cut into C = ``chunk_grads.shape[0]`` equal chunks; chunk c
    uses ``activations[c]`` and ``deltas[c]`` (workspaces for ceil(m_max / C)
    examples) and writes its gradient to ``chunk_grads[c]``. The cut depends
    only on m and C, never on the number of threads, so results do not either;
    dropout masks depend on ``ids`` (m,), the batch's rows, not on the cut.
    """
    m = rows.size if rows.size > 0 else n_rows(X)
    n_chunks = chunk_grads.shape[0]
    capacity = activations.shape[1] // workspace_rows(sizes)
    size = (m + n_chunks - 1) // n_chunks
    chunk_losses = np.zeros(n_chunks, dtype=params.dtype)
    for c in prange(n_chunks):  # a small body: parfor compilation is slow
        chunk_losses[c] = train_chunk(X, Y, s, rows, X_batch, Y_batch, s_batch,
                                      min(c * size, m), min(c * size + size, m), weight_total,
                                      params, sizes, codes, delta, activations[c], deltas[c],
                                      capacity, chunk_grads[c], dropout, ids, key)  # fmt: skip
    return ordered_sum(chunk_losses)


@inlined
def train_chunk(X, Y, s, rows, X_batch, Y_batch, s_batch, start, stop, weight_total, params,
                sizes, codes, delta, activations, deltas, capacity, grads, dropout, ids,
                key):  # fmt: skip
    """``chunk_gradient`` of examples ``start:stop`` of a batch (see
    ``batch_rows``); an empty range gives a zero gradient."""
    if start == stop:
        for p in range(grads.size):
            grads[p] = 0
        return params.dtype.type(0)
    X_c, Y_c, s_c = batch_rows(X, Y, s, rows, X_batch, Y_batch, s_batch, start, stop)
    return chunk_gradient(input_columns(X_c), Y_c.T, s_c, weight_total, params, sizes, codes,
                          delta, activations, deltas, capacity, grads, dropout,
                          ids[start:stop], key)  # fmt: skip


@inlined
def batch_step(X, Y, s, rows, X_batch, Y_batch, s_batch, params, sizes, codes, delta, alpha,
               activations, deltas, chunk_grads, grads, solver, hyper, nesterov, t, state,
               dropout, ids, key):  # fmt: skip
    """J of one mini-batch and its gradient into ``grads``, then (unless
    ``solver`` is NO_STEP) one optimizer step; returns J before the step.

    The batch is given by X, Y, s and ``rows`` as in ``batch_rows``.
    ``activations``, ``deltas`` and ``chunk_grads`` have C rows (workspaces,
    gradients): with C > 1 the batch is split into C chunks trained in
    parallel (``chunked_gradients``); with C = 1 it runs whole on one thread
    (BLAS may use several). Optimizer arguments as ``finish_batch``; ``ids``
    (m,) the batch's rows in the training data, ``dropout`` and ``key`` as in
    ``forward``.
    """
    weight_total = batch_weight(s, rows)
    if chunk_grads.shape[0] > 1:
        loss = chunked_gradients(X, Y, s, rows, X_batch, Y_batch, s_batch, weight_total,
                                 params, sizes, codes, delta, activations, deltas,
                                 chunk_grads, dropout, ids, key)  # fmt: skip
    else:
        m = rows.size if rows.size > 0 else n_rows(X)
        capacity = activations.shape[1] // workspace_rows(sizes)
        # np.int64(0), not 0: a literal argument compiles another train_chunk
        loss = train_chunk(X, Y, s, rows, X_batch, Y_batch, s_batch, np.int64(0), m,
                           weight_total, params, sizes, codes, delta, activations[0], deltas[0],
                           capacity, chunk_grads[0], dropout, ids, key)  # fmt: skip
    return loss / weight_total + finish_batch(chunk_grads, params, sizes, alpha, weight_total,
                                              grads, solver, hyper, nesterov, t, state)  # fmt: skip


@serial
def batch_loss_and_gradient(X, Y, s, params, sizes, codes, delta, alpha, activations, deltas,
                            chunk_grads, grads, dropout, key):  # fmt: skip
    """J over all of X, Y, s (C-ordered rows, used in place) and its gradient
    into ``grads``; returns J. Workspaces as ``batch_step``; L-BFGS's entry
    (``dropout`` empty) and the gradient checker's (a fixed dropout mask:
    ``key``, rows numbered from 0)."""
    no_rows = np.empty(0, dtype=np.int64)
    ids = np.arange(n_rows(X))
    solver, hyper, nesterov, t, state = no_step(params)
    return batch_step(X, Y, s, no_rows, empty_row_buffer(X), Y, s, params, sizes, codes, delta,
                      alpha, activations, deltas, chunk_grads, grads, solver, hyper, nesterov, t,
                      state, dropout, ids, key)  # fmt: skip


@serial
def workspace_rows(sizes):
    """Entries per example in a workspace: two slots of ``n^[1] + ... + n^[L]``
    (``fastffnn.network.workspace_size``)."""
    total = 0
    for l in range(1, sizes.size):
        total += sizes[l]
    return 2 * total


@serial
def train_epoch(
    X,
    Y,
    s,
    order,
    shuffle,
    batch_size,
    params,
    sizes,
    codes,
    delta,
    alpha,
    solver,
    hyper,
    nesterov,
    t,
    step,
    grads,
    state,
    X_batch,
    Y_batch,
    s_batch,
    activations,
    deltas,
    chunk_grads,
    dropout,
    seed,
):
    """One epoch of mini-batch training; returns ``(summed batch loss * m, t)``.

    With ``shuffle``, batches are the examples ``order`` (n_samples,) in
    turn, a permutation the caller draws (numpy's ``Generator.shuffle``,
    done in Python: compiling numba's copy of it cost 5 s of the first fit);
    otherwise ``order`` is ``0..n_samples-1`` and batches are read straight
    from X without copying. ``X_batch``, ``Y_batch``
    and ``s_batch`` hold ``batch_size`` examples; ``activations``, ``deltas``
    and ``chunk_grads`` are laid out for ``batch_loss_and_gradient``;
    ``grads`` and ``state`` are preallocated too, so an epoch allocates nothing
    of the size of X. ``hyper`` is ``finish_batch``'s, its learning rate
    replaced per step by ``kernels.optimizers.scheduled_rate`` (S1); ``step``
    numbers this epoch's first update since the fit began; ``dropout``
    (L-1,) holds the hidden layers' rates (D1, empty for none) and ``seed``
    the fit's mask seed.
    """
    n_samples = n_rows(X)
    total = 0.0
    rates = hyper.copy()
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        m = stop - start
        if solver == ADAM:
            t += 1
        rates[0] = scheduled_rate(hyper, step)
        key = step_key(seed, step)
        step += 1
        if shuffle:
            loss = batch_step(
                X, Y, s, order[start:stop], X_batch, Y_batch, s_batch, params, sizes, codes,
                delta, alpha, activations, deltas, chunk_grads, grads, solver, rates, nesterov, t,
                state, dropout, order[start:stop], key,
            )  # fmt: skip
        else:
            loss = batch_step(
                row_block(X, start, stop), Y[start:stop], s[start:stop], order[:0], X_batch,
                Y_batch, s_batch, params, sizes, codes, delta, alpha, activations, deltas,
                chunk_grads, grads, solver, rates, nesterov, t, state, dropout,
                order[start:stop], key,
            )  # fmt: skip
        total += float(loss) * m
    return total, t


#: What ``predict_rows`` returns: all finite, X not finite, outputs not finite.
FINITE, INPUT_NOT_FINITE, OUTPUT_NOT_FINITE = 0, 2, 1


@kernel
def predict_rows(X, params, sizes, codes, block, out, check_input, threads):
    """A^[L] (F1-F2) for every row of X, written into ``out``; returns
    INPUT_NOT_FINITE when ``check_input`` and X holds NaN or inf, else
    OUTPUT_NOT_FINITE when an output overflowed, else FINITE.

    X: (n_samples, n^[0]); out: (n_samples, n^[L]); ``threads``: the caller's
    ``numba.get_num_threads()`` (inside compiled code it would stop numba
    caching this function). The rows are cut into
    fixed blocks of ``block`` rows from the first, run in parallel, each on
    one thread (single-threaded BLAS): every row is computed the same way
    whatever the threads. Each thread reuses one workspace for its blocks
    (fresh memory per block cost 10-25% in page faults), so memory grows with
    the threads, not with n_samples. A single block runs without a parallel
    region (2-4 us: most of a one-row prediction). Checking X here, a block
    at a time while it is in cache, replaces a separate pass over X.
    """
    n_samples = n_rows(X)
    n_blocks = (n_samples + block - 1) // block
    size = min(block, n_samples) * workspace_rows(sizes)
    if n_blocks == 1:
        return predict_block(X, params, sizes, codes, np.int64(0), n_samples, out,
                             np.empty(size, dtype=params.dtype), check_input)  # fmt: skip
    workspaces = np.empty((threads, size), dtype=params.dtype)
    status = np.zeros(n_blocks, dtype=np.int64)
    for k in prange(n_blocks):
        status[k] = predict_block(X, params, sizes, codes, k * block,
                                  min(k * block + block, n_samples), out,
                                  workspaces[numba.get_thread_id()], check_input)  # fmt: skip
    return status.max()


@serial
def predict_block(X, params, sizes, codes, start, stop, out, activations, check_input):
    """A^[L] of rows ``start:stop`` of X into the same rows of ``out``, with
    ``activations`` as workspace; returns ``predict_rows``'s status of the block."""
    m = stop - start
    rows = row_block(X, start, stop)
    if check_input and not all_finite(rows):
        return INPUT_NOT_FINITE
    A_out = forward(
        input_columns(rows),
        params,
        sizes,
        codes,
        activations,
        m,
        np.empty(0),
        np.empty(0, dtype=np.int64),
        np.uint64(0),
        activations,
    )
    return copy_outputs(A_out, out, start)


@serial
def predict_example(X, params, sizes, codes, out, check_input):
    """``predict_rows`` for an X of one row, through ``forward_example``: no BLAS
    call, so no BLAS thread limits needed. A function of its own, compiled on
    the first one-row prediction: inside predict_rows it cost ~6 s of every
    first fit's compilation."""
    rows = row_block(X, np.int64(0), np.int64(1))
    if check_input and not all_finite(rows):
        return INPUT_NOT_FINITE
    activations = np.empty(workspace_rows(sizes), dtype=params.dtype)
    A_out = forward_example(input_columns(rows), params, sizes, codes, activations)
    return copy_outputs(A_out, out, np.int64(0))


@serial
def copy_outputs(A_out, out, start):
    """A^[L] (n^[L], m) into rows ``start:start + m`` of ``out``; returns
    OUTPUT_NOT_FINITE if any value is NaN or inf, else FINITE."""
    m = A_out.shape[1]
    # element loops, not a slice assignment (see batch_rows)
    status = FINITE
    for i in range(m):
        for j in range(A_out.shape[0]):
            value = A_out[j, i]
            out[start + i, j] = value
            if not np.isfinite(value):
                status = OUTPUT_NOT_FINITE
    return status
