"""The tabular network's compiled passes: forward, backward, a whole epoch
and prediction, over the layer kinds of ``fastffnn.kernels.tabular``.

The network, in order (``fastffnn.registry.LAYER_KINDS``): PBLD embeddings
of the numeric columns (E2), the plain columns as they are, embeddings of
the categorical columns (E1), concatenated into A^[0]; the front scale (S2);
then L dense NTK layers (N1), each hidden one followed by a parametric
activation (A12) and dropout (D1); the last layer's Z^[L] is the output
(logits, or the standardized regression target).

Arguments travel as named bundles:

- ``TabularNetwork``: ``params`` the flat parameter buffer, ``offsets``
  (n_tensors + 1,) int64 where each tensor starts (``tensor``), ``sizes``
  (L + 1,) int64 ``n^[0]..n^[L]``, ``widths`` (n_num, n_plain, n_emb) int64,
  ``first_rows`` (n_emb,) int64 each embedding table's first row, ``code``
  the hidden activation's registry code (SELU or Mish).
  ``members`` k, BatchEnsemble members (BE1; 1: none).
- ``TabularData``: ``numeric`` (n, n_num), ``plain`` (n, n_plain), ``codes``
  (n, n_emb) int64, ``Y`` (n, K) targets, ``s`` (n,) sample weights; C order.
- ``TabularWork``: ``buffer`` one flat float buffer and ``slots`` int64 where
  each (rows, capacity) slot starts in it (``slot``), ``codes`` (capacity,
  n_emb) int64, ``grads`` (n_params,): one thread's workspace.
- ``TabularChunks``: C workspaces stacked, ``buffer`` (C, size), ``slots``,
  ``codes`` (C, capacity, n_emb), ``grads`` (C, n_params): a mini-batch is cut
  into C fixed chunks trained in parallel, BLAS on one thread
  (``fastffnn.threads``), and their gradients are added in chunk order.
- ``TabularSchedule``: base learning rate, dropout rate and decay, the fit's
  total steps, Adam's (beta_1, beta_2, epsilon), the mask seed.
- ``TabularOptimizer``: ``moments`` (2, n_params); ``blocks`` (B, 2) int64
  the [start, stop) of each block of parameters, within one tensor, that one
  thread steps; ``factors`` (B, 2) float64 its tensor's learning-rate and
  decay factors (``fastffnn.registry.LAYER_KINDS``).

Tensor order in ``params``: PBLD frequencies, phases, weights, biases;
embedding tables; front scales; then per dense layer l = 1..L its weights
W^[l] stored (n^[l-1], n^[l]) in C order (W of N1 in Fortran order), its
biases, its activation's mixing weights (empty for the output layer).
"""

from collections import namedtuple

import numpy as np
from numba import prange

from fastffnn._jit import kernel, serial
from fastffnn.kernels.activations import softmax_forward
from fastffnn.kernels.dropout import apply_dropout, layer_key, scale_entries, step_key
from fastffnn.kernels.ensemble import (
    EnsembleLayer,
    ensemble_backward,
    ensemble_forward,
    member_mean,
)
from fastffnn.kernels.tabular import (
    EMBEDDING_SIZE,
    PBLD_FREQUENCIES,
    PBLD_OUTPUTS,
    PBLD_WIDTH,
    adam_factor_step,
    coslog4,
    embedding_backward,
    embedding_forward,
    flat_cos,
    front_scale_backward,
    front_scale_forward,
    ntk_backward,
    ntk_forward,
    parametric_backward,
    parametric_forward,
    pbld_backward,
    pbld_forward,
    softmax_seed,
    squared_seed,
)

TabularNetwork = namedtuple(
    "TabularNetwork", ["params", "offsets", "sizes", "widths", "first_rows", "code", "members"]
)
TabularData = namedtuple("TabularData", ["numeric", "plain", "codes", "Y", "s"])
TabularWork = namedtuple("TabularWork", ["buffer", "slots", "codes", "grads"])
TabularChunks = namedtuple("TabularChunks", ["buffer", "slots", "codes", "grads"])
TabularSchedule = namedtuple(
    "TabularSchedule", ["learning_rate", "dropout", "decay", "total_steps", "betas", "seed"]
)
TabularOptimizer = namedtuple("TabularOptimizer", ["moments", "blocks", "factors"])
#: One step's D1 ``rates`` (L - 1,) and ``key``, and each member's
#: ``weight_totals`` (k,): the batch's ``sum s`` (R2).
TabularStep = namedtuple("TabularStep", ["rates", "key", "weight_totals"])

#: Tensors before the dense layers, and per dense layer (W, b, A12's mixing,
#: BE1's r and s).
FRONT_TENSORS, LAYER_TENSORS = 6, 5
#: Workspace slots before the per-layer ones, and per layer: Z (then A12's
#: g(Z) - Z), A, D1's mask, A12's slopes, BE1's T and G (empty for one member).
NUMERIC, PLAIN, TARGETS, INPUTS, SCALED, COSINES, SCRATCH_A, SCRATCH_B, FIRST_LAYER = range(9)
LAYER_SLOTS = 6
#: Rows per block of prediction.
PREDICT_BLOCK = 512
#: Chunks a mini-batch is cut into (fixed: results do not depend on threads).
TRAIN_CHUNKS = 2


@serial
def tensor(buffer, offsets, index):
    """Tensor ``index`` of a flat buffer laid out by ``offsets``, 1-D."""
    return buffer[offsets[index] : offsets[index + 1]]


@serial
def slot(work, index, rows, m):
    """Workspace slot ``index`` as a (rows, m) Fortran-ordered array."""
    start = work.slots[index]
    return work.buffer[start : start + rows * m].reshape((m, rows)).T


@serial
def dense_parameters(buffer, network, layer):
    """``(W, b, mixing, r, s)`` of dense layer ``layer`` (1..L) in ``buffer``
    (the parameters or their gradient): W (n^[l], n^[l-1]) Fortran-ordered;
    b (k, n^[l]) each member's biases; mixing (n^[l],) A12's (empty for the
    output layer); BE1's r (k, n^[l-1]) and s (k, n^[l]), with 0 rows for
    one member (a plain N1 layer)."""
    sizes, offsets = network.sizes, network.offsets
    n_prev, n = sizes[layer - 1], sizes[layer]
    k = network.members
    adapters = k if k > 1 else 0
    base = FRONT_TENSORS + LAYER_TENSORS * (layer - 1)
    W = tensor(buffer, offsets, base).reshape((n_prev, n)).T
    b = tensor(buffer, offsets, base + 1).reshape((k, n))
    r = tensor(buffer, offsets, base + 3).reshape((adapters, n_prev))
    s = tensor(buffer, offsets, base + 4).reshape((adapters, n))
    return W, b, tensor(buffer, offsets, base + 2), r, s


@serial
def front_parameters(buffer, network):
    """``(frequencies, phases, weights, biases, tables, scales)`` in ``buffer``."""
    offsets = network.offsets
    n_num = network.widths[0]
    frequencies = tensor(buffer, offsets, 0).reshape((n_num, PBLD_FREQUENCIES))
    phases = tensor(buffer, offsets, 1).reshape((n_num, PBLD_FREQUENCIES))
    weights = tensor(buffer, offsets, 2).reshape((n_num, PBLD_OUTPUTS, PBLD_FREQUENCIES))
    biases = tensor(buffer, offsets, 3).reshape((n_num, PBLD_OUTPUTS))
    tables = tensor(buffer, offsets, 4)
    tables = tables.reshape((tables.size // EMBEDDING_SIZE, EMBEDDING_SIZE))
    return frequencies, phases, weights, biases, tables, tensor(buffer, offsets, 5)


@serial
def forward(numeric, plain, codes, network, work, m, rates, ids, key, stop):
    """The forward pass over m columns up to dense layer ``stop``'s Z (the
    output's when ``stop`` is L); returns that Z (n^[stop], m).

    numeric (n_num, m), plain (n_plain, m), codes (n_emb, m): the columns'
    inputs, with k > 1 members k blocks of m / k examples, member-major
    (BE1); ``rates`` (L - 1,) the hidden layers' dropout rates (empty: none,
    as in prediction), ``ids`` the columns' mask ids and ``key`` the step's key (D1).
    """
    sizes, params = network.sizes, network.params
    n_num, n_plain = network.widths[0], network.widths[1]
    frequencies, phases, weights, biases, tables, scales = front_parameters(params, network)
    A0 = slot(work, INPUTS, sizes[0], m)
    pbld_forward(
        numeric,
        frequencies,
        phases,
        weights,
        biases,
        A0[: PBLD_WIDTH * n_num],
        slot(work, COSINES, PBLD_FREQUENCIES * n_num, m),
    )
    start = PBLD_WIDTH * n_num
    for i in range(m):
        for j in range(n_plain):
            A0[start + j, i] = plain[j, i]
    embedding_forward(codes, tables, network.first_rows, A0[start + n_plain :])
    A_prev = slot(work, SCALED, sizes[0], m)
    front_scale_forward(A0, scales, A_prev)
    L = sizes.size - 1
    for l in range(1, stop + 1):
        W, b, mixing, r, s = dense_parameters(params, network, l)
        Z = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1), sizes[l], m)
        if network.members > 1:
            T = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 4, sizes[l - 1], m)
            G = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 5, sizes[l], m)
            ensemble_forward(
                EnsembleLayer(W, r, s, b), A_prev, T, G, Z, 1.0 / np.sqrt(sizes[l - 1])
            )
        else:
            ntk_forward(W, b[0], A_prev, Z)
        if l == stop:
            return Z
        A = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 1, sizes[l], m)
        slopes = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 3, sizes[l], m)
        parametric_forward(Z, mixing, network.code, A, slopes)
        if rates.size > 0 and rates[l - 1] > 0:
            mask = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 2, sizes[l], m)
            apply_dropout(A, mask, ids, layer_key(key, l), rates[l - 1])
        A_prev = A
    return slot(work, FIRST_LAYER + LAYER_SLOTS * (L - 1), sizes[L], m)


@serial
def backward(numeric, codes, network, work, m, rates, dZ_out):
    """Every parameter's gradient into ``work.grads`` from the output's
    ``dZ_out`` (n^[L], m), after ``forward`` over the same examples."""
    sizes, params, grads = network.sizes, network.params, work.grads
    n_num, n_plain = network.widths[0], network.widths[1]
    L = sizes.size - 1
    dZ = dZ_out
    for l in range(L, 0, -1):
        W, b, _, r, s = dense_parameters(params, network, l)
        dW, db, _, dr, ds = dense_parameters(grads, network, l)
        if l > 1:
            A_prev = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 2) + 1, sizes[l - 1], m)
        else:
            A_prev = slot(work, SCALED, sizes[0], m)
        scratch = SCRATCH_B if (L - l) % 2 == 0 else SCRATCH_A
        dA_prev = slot(work, scratch, sizes[l - 1], m)
        if network.members > 1:
            T = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 4, sizes[l - 1], m)
            G = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 1) + 5, sizes[l], m)
            ensemble_backward(
                dZ,
                A_prev,
                T,
                G,
                EnsembleLayer(W, r, s, b),
                EnsembleLayer(dW, dr, ds, db),
                1.0 / np.sqrt(sizes[l - 1]),
                dA_prev,
            )
        else:
            ntk_backward(dZ, A_prev, W, dW, db[0], dA_prev)
        if l > 1:
            if rates.size > 0 and rates[l - 2] > 0:
                scale_entries(
                    dA_prev, slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 2) + 2, sizes[l - 1], m)
                )
            mixing = dense_parameters(params, network, l - 1)[2]
            d_mixing = dense_parameters(grads, network, l - 1)[2]
            gaps = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 2), sizes[l - 1], m)
            slopes = slot(work, FIRST_LAYER + LAYER_SLOTS * (l - 2) + 3, sizes[l - 1], m)
            parametric_backward(gaps, slopes, mixing, dA_prev, dA_prev, d_mixing)
        dZ = dA_prev
    frequencies, phases, weights, _, _, scales = front_parameters(params, network)
    d_freq, d_phase, d_w, d_b, d_tables, d_scales = front_parameters(grads, network)
    A0 = slot(work, INPUTS, sizes[0], m)
    dA0 = slot(work, SCRATCH_A if L % 2 == 1 else SCRATCH_B, sizes[0], m)
    front_scale_backward(A0, scales, dZ, d_scales, dA0)
    pbld_backward(
        numeric,
        frequencies,
        phases,
        weights,
        slot(work, COSINES, PBLD_FREQUENCIES * n_num, m),
        dA0[: PBLD_WIDTH * n_num],
        d_freq,
        d_phase,
        d_w,
        d_b,
    )
    embedding_backward(codes, network.first_rows, dA0[PBLD_WIDTH * n_num + n_plain :], d_tables)


@serial
def _gather(data, work, order, start, m):
    """Member i's examples ``order[i, start:start + m]`` into columns
    ``i m .. (i + 1) m - 1`` of the workspace's input slots (k = order.shape[0]);
    returns them and each column's D1 id (``row k + i``)."""
    n_num, n_plain = data.numeric.shape[1], data.plain.shape[1]
    k = order.shape[0]
    columns = k * m
    numeric = slot(work, NUMERIC, n_num, columns)
    plain = slot(work, PLAIN, n_plain, columns)
    Y = slot(work, TARGETS, data.Y.shape[1], columns)
    codes = work.codes[:columns]
    ids = np.empty(columns, dtype=np.int64)
    for i in range(k):
        for t in range(m):
            row = order[i, start + t]
            c = i * m + t
            ids[c] = row * k + i
            for j in range(n_num):
                numeric[j, c] = data.numeric[row, j]
            for j in range(n_plain):
                plain[j, c] = data.plain[row, j]
            for j in range(codes.shape[1]):
                codes[c, j] = data.codes[row, j]
            for j in range(Y.shape[0]):
                Y[j, c] = data.Y[row, j]
    return numeric, plain, codes.T, Y, ids


@serial
def chunk_work(chunks, c):
    """Chunk c's workspace (``TabularWork``) in the stacked ``TabularChunks``."""
    return TabularWork(chunks.buffer[c], chunks.slots, chunks.codes[c], chunks.grads[c])


@serial
def chunk_gradient(data, network, chunks, c, order, start, m, step, classification):
    """Forward with D1, the seed and backward over each member's examples
    ``order[i, start:start + m]`` on chunk c's workspace; its gradient (a share
    of the batch's) into ``chunks.grads[c]``; returns the examples' weighted
    cost. ``step``: a ``TabularStep``. One member: weights ``s`` over the
    batch's ``weight_totals[0]``; k members: ``s / (k weight_totals[i])``, so
    that the cost is the mean of the members' (BE1). m may be 0."""
    rates, key, weight_totals = step
    work = chunk_work(chunks, c)
    if m == 0:
        for p in range(work.grads.size):
            work.grads[p] = 0
        return 0.0
    L = network.sizes.size - 1
    k = order.shape[0]
    numeric, plain, codes, Y, ids = _gather(data, work, order, start, m)
    s = np.empty(k * m, dtype=data.s.dtype)
    if k == 1:
        weight_total = weight_totals[0]
        for t in range(m):
            s[t] = data.s[order[0, start + t]]
    else:
        weight_total = data.s.dtype.type(1)
        for i in range(k):
            share = data.s.dtype.type(k) * weight_totals[i]
            for t in range(m):
                s[i * m + t] = data.s[order[i, start + t]] / share
    Z = forward(numeric, plain, codes, network, work, k * m, rates, ids, key, L)
    dZ = slot(work, SCRATCH_A, network.sizes[L], k * m)
    if classification:
        loss = softmax_seed(Z, Y, s, weight_total, dZ)
    else:
        loss = squared_seed(Z, Y, s, weight_total, dZ)
    backward(numeric, codes, network, work, k * m, rates, dZ)
    return loss


@kernel
def chunked_gradients(data, network, chunks, order, start, m, step, classification):
    """``chunk_gradient`` of a batch's m examples per member cut into
    C = ``chunks.grads.shape[0]`` fixed chunks, one thread each (BLAS on one
    thread); returns the batch's weighted cost, added in chunk order. The cut
    depends only on m and C, never on the threads."""
    n_chunks = chunks.grads.shape[0]
    size = (m + n_chunks - 1) // n_chunks
    losses = np.zeros(n_chunks)
    # a parallel loop's body takes flat tuples: the step is put together again there
    rates, key, weight_totals = step
    for c in prange(n_chunks):
        first = min(c * size, m)
        last = min(first + size, m)
        losses[c] = chunk_gradient(
            data,
            network,
            chunks,
            c,
            order,
            start + first,
            last - first,
            TabularStep(rates, key, weight_totals),
            classification,
        )
    total = 0.0
    for c in range(n_chunks):
        total += losses[c]
    return total


@serial
def train_epoch(
    data, network, chunks, optimizer, schedule, order, batch_size, first_step, classification
):
    """One epoch: ``order.shape[1] // batch_size`` mini-batches, member i's
    taken from its own permutation ``order[i]`` (k = order.shape[0]; the last
    incomplete batch is dropped, as RealMLP does), each a forward pass with
    D1, the seed (C2 with L1's targets, or the squared error; the mean of the
    members' costs), the backward pass (``chunked_gradients``) and W2 + Adam
    at this step's S3 schedules (``optimizer_step``, which leaves the batch's
    gradient in ``chunks.grads[0]``). Steps are numbered from ``first_step``;
    returns the sum over batches of their weighted mean cost.
    """
    L = network.sizes.size - 1
    k = order.shape[0]
    n_batches = order.shape[1] // batch_size
    rates = np.empty(L - 1, dtype=np.float64)
    weight_totals = np.empty(k, dtype=data.s.dtype)
    total = 0.0
    m = batch_size
    for batch in range(n_batches):
        start = batch * m
        step = first_step + batch
        t = step / schedule.total_steps
        for l in range(L - 1):
            rates[l] = schedule.dropout * flat_cos(t)
        for i in range(k):
            weight_total = data.s.dtype.type(0)
            for j in range(m):
                weight_total += data.s[order[i, start + j]]
            weight_totals[i] = weight_total
        key = step_key(schedule.seed, step)
        loss = chunked_gradients(
            data,
            network,
            chunks,
            order,
            start,
            m,
            TabularStep(rates, key, weight_totals),
            classification,
        )
        total += loss / float(weight_totals[0]) if k == 1 else loss
        optimizer_step(
            network.params,
            chunks.grads,
            optimizer,
            schedule.learning_rate * coslog4(t),
            schedule.decay * flat_cos(t),
            step + 1,
            schedule.betas,
        )
    return total


@kernel
def optimizer_step(params, grads, optimizer, rate, decay, t, betas):
    """W2 and Adam (``adam_factor_step``) on every block of parameters, the
    blocks in parallel (each parameter's update reads only its own entries)."""
    blocks, factors, moments = optimizer.blocks, optimizer.factors, optimizer.moments
    for k in prange(blocks.shape[0]):
        adam_factor_step(
            params, grads, moments, blocks[k, 0], blocks[k, 1], factors[k], rate, decay, t, betas
        )


@serial
def _predict_block(data, network, work, start, stop_row, stop, softmax, out):
    """``predict_rows`` for rows ``start:stop_row``: read in place for one
    member, gathered once per member for k (every member sees every row)."""
    m = stop_row - start
    k = network.members
    no_rates = np.empty(0, dtype=np.float64)
    key = step_key(0, 0)
    if k == 1:
        ids = np.empty(0, dtype=np.int64)
        Z = forward(
            data.numeric[start:stop_row].T,
            data.plain[start:stop_row].T,
            data.codes[start:stop_row].T,
            network,
            work,
            m,
            no_rates,
            ids,
            key,
            stop,
        )
    else:
        order = np.empty((k, stop_row), dtype=np.int64)
        for i in range(k):
            for t in range(start, stop_row):
                order[i, t] = t
        numeric, plain, codes, _, ids = _gather(data, work, order, start, m)
        Z = forward(numeric, plain, codes, network, work, k * m, no_rates, ids, key, stop)
    if softmax:
        softmax_forward(Z, Z)  # A4, in place
    if k == 1:
        for i in range(m):
            for j in range(Z.shape[0]):
                out[start + i, j] = Z[j, i]
    else:
        member_mean(Z, k, out[start:stop_row].T)


@kernel
def predict_rows(data, network, chunks, stop, softmax, out):
    """Dense layer ``stop``'s Z for every row of ``data`` into ``out`` (n,
    n^[stop]), in blocks of PREDICT_BLOCK rows; with ``softmax`` each row
    becomes its softmax (class probabilities); with k members, the mean of
    the members' (BE1). Chunk c's workspace takes blocks c, c + C, ... (C =
    the chunks), the C lanes in parallel."""
    n = data.numeric.shape[0]
    n_chunks = chunks.grads.shape[0]
    n_blocks = (n + PREDICT_BLOCK - 1) // PREDICT_BLOCK
    for c in prange(n_chunks):
        work = chunk_work(chunks, c)
        for block in range(c, n_blocks, n_chunks):
            start = block * PREDICT_BLOCK
            _predict_block(
                data, network, work, start, min(start + PREDICT_BLOCK, n), stop, softmax, out
            )
