"""The compiled training loop: a chunk's forward and backward pass, a
mini-batch's gradient and optimizer step, whole epochs, and the full-batch
loss and gradient of L-BFGS and the gradient checker.

A whole epoch (every mini-batch's gather, forward, backward and optimizer
step) is one call from Python: per-batch Python calls would cost tens to
hundreds of microseconds each, an epoch call about one.

Where the threads are: a mini-batch is cut into chunks of examples
(``chunked_gradients``), each trained on its own thread with single-threaded
BLAS (``train_chunk``); then ``finish_batch`` adds the chunks' gradients and
takes the optimizer step over blocks of parameters, in parallel. Two
parallel regions per mini-batch, whatever the depth.

Arguments travel as the named bundles of ``fastffnn.bundles``. The two big
bodies, ``train_chunk`` and ``finish_batch``, are called through
``fastffnn._linking.separate``: each is compiled once per signature instead
of once in every caller and parallel wrapper.
"""

import numpy as np
from numba import prange

from fastffnn._jit import inlined, internal, internal_kernel, serial
from fastffnn._linking import separate
from fastffnn.bundles import (
    Batch,
    Buffers,
    Data,
    Dropout,
    Hyperparameters,
    Optimizer,
    Step,
    StepRates,
)
from fastffnn.kernels.costs import GRADIENT_BLOCK, data_cost, gradient_blocks, sum_block_gradients
from fastffnn.kernels.dropout import step_key
from fastffnn.kernels.inputs import (
    empty_row_buffer,
    gathered_rows,
    input_columns,
    n_rows,
    row_block,
)
from fastffnn.kernels.optimizers import (
    ADAM,
    NO_STEP,
    SGD,
    adam_step,
    decay_weights,
    scheduled_rate,
    sgd_step,
)
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.network import workspace_rows
from fastffnn.propagation import backward, call_forward


@serial
def batch_rows(batch, buffers, start, stop):
    """Examples ``start:stop`` of a batch (``bundles.Batch``) as C-ordered rows ``(X, Y, s)``.

    Without ``batch.rows`` they are read in place; otherwise the examples
    ``batch.rows[start:stop]`` are copied into rows ``start:stop`` of
    ``buffers`` first, by the thread that trains them (a batch gathered on
    one core and read on another cost ~50 us per batch). A sparse X's rows
    are taken by id instead (``kernels.inputs.gathered_rows``).
    """
    data, rows = batch.data, batch.rows
    if rows.size == 0:
        return row_block(data.X, start, stop), data.Y[start:stop], data.s[start:stop]
    # element loops, not slice assignments: those compile numba's
    # shape-error formatting, seconds of the first fit
    for k in range(start, stop):
        row = rows[k]
        for j in range(data.Y.shape[1]):
            buffers.Y[k, j] = data.Y[row, j]
        buffers.s[k] = data.s[row]
    X = gathered_rows(data.X, rows, buffers.X, start, stop)
    return X, buffers.Y[start:stop], buffers.s[start:stop]


@internal
def train_chunk(batch, buffers, network, work, regularization, step, c, start, stop):
    """Forward (F1-F3) and backward (B1-B4, seeded with C4-C7) over examples
    ``start:stop`` of a batch, with chunk c's workspaces; returns their data
    cost times their ``sum s`` and leaves their gradient (no R1) in
    ``work.chunk_grads[c]``. An empty range gives a zero gradient.
    """
    grads = work.chunk_grads[c]
    if start == stop:
        for p in range(grads.size):
            grads[p] = 0
        return network.params.dtype.type(0)
    X_c, Y_c, s_c = batch_rows(batch, buffers, start, stop)
    activations, deltas = work.activations[c], work.deltas[c]
    capacity = activations.size // workspace_rows(network.sizes)
    A0, Y_T = input_columns(X_c), Y_c.T
    dropout = Dropout(regularization.dropout, batch.ids[start:stop], step.key, deltas)
    A_out = call_forward(A0, network, activations, capacity, dropout)
    cost = network.codes[network.sizes.size - 1]
    loss = data_cost(A_out, Y_T, s_c, cost, network.cost_parameter) * ordered_sum(s_c)
    backward(A0, Y_T, s_c, batch.weight_total, network, activations, deltas, capacity, grads,
             regularization.dropout)  # fmt: skip
    return loss


call_train_chunk = separate(train_chunk)


@serial
def finish_batch(network, work, optimizer, regularization, step, weight_total):
    """Add up the chunks' gradients with R1's into ``work.grads``, then, unless
    the solver is NO_STEP, update ``network.params`` with it; returns R1's cost term.

    ``weight_total`` is ``sum s`` of the batch; ``step`` carries this step's
    learning rate and Adam's step count (already incremented). With a
    positive weight decay the weights (not the biases) then shrink by
    ``learning_rate * weight_decay`` (W1).

    Parallel over fixed blocks of parameters (``step_blocks``): each block is
    summed, penalized and stepped by one thread while it is in that core's
    cache, in one parallel region.
    """
    params, hyper = network.params, optimizer.hyper
    dtype = params.dtype.type
    t = step.t
    if optimizer.solver == ADAM:
        # scikit-learn's bias corrections, folded into the step size
        size = dtype(step.learning_rate * np.sqrt(1.0 - hyper.beta_2**t) / (1.0 - hyper.beta_1**t))
    else:
        size = dtype(step.learning_rate)
    rates = StepRates(size, dtype(hyper.beta_1), dtype(hyper.beta_2), dtype(hyper.epsilon),
                      dtype(hyper.momentum),
                      dtype(step.learning_rate * hyper.weight_decay),  # W1: eta_t * lambda
                      regularization.alpha / weight_total)  # fmt: skip
    block_norms = np.empty(gradient_blocks(params.size), dtype=params.dtype)
    step_blocks(network, work, optimizer.state, optimizer.solver, optimizer.nesterov, rates,
                block_norms)  # fmt: skip
    alpha = regularization.alpha
    if alpha == 0:
        return dtype(0)
    return dtype(0.5) * alpha * ordered_sum(block_norms) / weight_total


@internal_kernel
def step_blocks(network, work, state, solver, nesterov, rates, block_norms):
    """``step_block`` of every block of parameters in parallel, each block's
    share of ``sum ||W||^2`` into ``block_norms``."""
    for k in prange(block_norms.size):
        block_norms[k] = call_step_block(network, work, state, solver, nesterov, rates,
                                         np.int64(k))  # fmt: skip


@internal
def step_block(network, work, state, solver, nesterov, rates, k):
    """Block k of GRADIENT_BLOCK parameters: the chunks' gradients summed with
    R1's (``sum_block_gradients``), then the solver's step on the block and
    W1; returns the block's share of ``sum ||W||^2``. ``rates``: a
    ``bundles.StepRates`` in the parameters' dtype."""
    params, sizes, grads = network.params, network.sizes, work.grads
    n = params.size
    start = k * GRADIENT_BLOCK
    stop = min(start + GRADIENT_BLOCK, n)
    norm = sum_block_gradients(work.chunk_grads, params, sizes, rates.scale, start, stop, grads)
    if solver == ADAM:
        adam_step(params[start:stop], grads[start:stop], state[start:stop],
                  state[n + start : n + stop], rates.size, rates.beta_1, rates.beta_2,
                  rates.epsilon)  # fmt: skip
    elif solver == SGD:
        sgd_step(params[start:stop], grads[start:stop], state[start:stop], rates.size,
                 rates.momentum, nesterov)  # fmt: skip
    if solver != NO_STEP and rates.decay > 0:
        decay_weights(params, sizes, start, stop, rates.decay)
    return norm


call_step_block = separate(step_block)


call_finish_batch = separate(finish_batch)


@internal_kernel
def chunked_gradients(batch, buffers, network, work, regularization, step):
    """``train_chunk`` over a batch cut into C = ``work.chunk_grads.shape[0]``
    fixed chunks that run in parallel, each on one thread; returns the summed
    data cost times ``sum s``.

    The cut depends only on the batch's size and C, never on the number of
    threads, so results do not either; dropout masks depend on the examples'
    ids, not on the cut.
    """
    m = batch_size(batch)
    n_chunks = work.chunk_grads.shape[0]
    size = (m + n_chunks - 1) // n_chunks
    chunk_losses = np.zeros(n_chunks, dtype=network.params.dtype)
    # a parallel loop's body takes arrays, scalars and flat tuples: the nested
    # batch is taken apart here and put together again in the body
    (X, Y, s), rows, ids, weight_total = batch
    for c in prange(n_chunks):  # a small body: parfor compilation is slow
        k = np.int64(c)
        chunk = Batch(Data(X, Y, s), rows, ids, weight_total)
        chunk_losses[c] = call_train_chunk(chunk, buffers, network, work, regularization, step, k,
                                           min(k * size, m), min(k * size + size, m))  # fmt: skip
    return ordered_sum(chunk_losses)


@internal
def batch_size(batch):
    """Examples in a batch."""
    return batch.rows.size if batch.rows.size > 0 else n_rows(batch.data.X)


@inlined
def batch_step(batch, buffers, network, work, optimizer, regularization, step):
    """J of one mini-batch and its gradient into ``work.grads``, then (unless
    the solver is NO_STEP) one optimizer step; returns J before the step.

    With C = ``work.chunk_grads.shape[0]`` > 1 the batch is split into C
    chunks trained in parallel (``chunked_gradients``); with C = 1 it runs
    whole on one thread (BLAS may use several).
    """
    if work.chunk_grads.shape[0] > 1:
        loss = chunked_gradients(batch, buffers, network, work, regularization, step)
    else:
        loss = call_train_chunk(batch, buffers, network, work, regularization, step, np.int64(0),
                                np.int64(0), batch_size(batch))  # fmt: skip
    weight_total = batch.weight_total
    return loss / weight_total + call_finish_batch(network, work, optimizer, regularization, step,
                                                   weight_total)  # fmt: skip


@serial
def batch_loss_and_gradient(data, network, work, regularization, key):
    """J over all of ``data`` (a ``bundles.Data``, used in place) and its
    gradient into ``work.grads``; returns J. L-BFGS's entry (no dropout) and
    the gradient checker's (a fixed dropout mask: ``key``, rows numbered from 0)."""
    dtype = network.params.dtype
    ids = np.arange(n_rows(data.X))
    batch = Batch(data, ids[:0], ids, ordered_sum(data.s))
    buffers = Buffers(empty_row_buffer(data.X), np.empty((0, data.Y.shape[1]), dtype=dtype),
                      np.empty(0, dtype=dtype))  # fmt: skip
    # nesterov: a computed False, not a literal, which numba would type as a
    # literal and so compile a second batch_step
    no_step = Optimizer(np.int64(NO_STEP), Hyperparameters(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
                        network.sizes.size < 0, network.params[:0])  # fmt: skip
    step = Step(0.0, np.int64(0), key)
    return batch_step(batch, buffers, network, work, no_step, regularization, step)


@internal
def batch_weight(s, rows):
    """``sum s`` over a batch's examples (all of s when ``rows`` is empty), in example order."""
    if rows.size == 0:
        return ordered_sum(s)
    total = s[rows[0]]
    for k in range(1, rows.size):
        total += s[rows[k]]
    return total


@serial
def train_epoch(data, batching, network, work, optimizer, regularization, t, first_step):
    """One epoch of mini-batch training; returns ``(summed batch loss * m, t)``.

    ``batching`` (``bundles.Batching``) says how batches are drawn: with
    ``shuffle`` the examples ``order`` (a permutation the caller draws) are
    gathered into ``buffers``, otherwise batches are read from the data in
    place. ``t`` is Adam's step count so far; ``first_step`` numbers this
    epoch's first update since the fit began (S1's schedule and D1's masks).
    An epoch allocates nothing of the size of X.
    """
    n_samples = n_rows(data.X)
    batch_size = batching.batch_size
    order = batching.order
    total = 0.0
    number = first_step
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        m = stop - start
        if optimizer.solver == ADAM:
            t += 1
        step = Step(scheduled_rate(optimizer.hyper, number), t,
                    step_key(regularization.seed, number))  # fmt: skip
        number += 1
        ids = order[start:stop]
        if batching.shuffle:
            batch = Batch(data, ids, ids, batch_weight(data.s, ids))
        else:
            part = Data(row_block(data.X, start, stop), data.Y[start:stop], data.s[start:stop])
            batch = Batch(part, ids[:0], ids, ordered_sum(part.s))
        loss = batch_step(batch, batching.buffers, network, work, optimizer, regularization, step)
        total += float(loss) * m
    return total, t
