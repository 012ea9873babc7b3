"""The tabular network's layout in memory and its initialization.

``TabularLayout`` turns the encoded table's widths and the layer sizes into
the flat buffers compiled code takes (``fastffnn.tabular.core``): where each
tensor starts, the per-parameter learning-rate and decay factors read from
the layer-kind registry (``fastffnn.registry.LAYER_KINDS``), and the
workspace's slots. ``initialize`` draws RealMLP-TD's initial parameters,
the dense layers' from the training data (N1's "std" weights and "he+5"
biases), running the compiled forward pass layer by layer.
"""

import numpy as np

from fastffnn.kernels.tabular import (
    EMBEDDING_SIZE,
    PBLD_FREQUENCIES,
    PBLD_OUTPUTS,
    PBLD_WIDTH,
)
from fastffnn.registry import LAYER_KINDS
from fastffnn.tabular import core

#: Parameters one thread steps at a time (W2 + Adam).
STEP_BLOCK = 16384
#: E2's frequency scale (sigma) and N1's "he+5" draw count.
PBLD_SIGMA = 0.1
HE_PLUS_POINTS = 5


class TabularLayout:
    """Tensors, factors and workspace slots of one tabular network.

    ``widths``: (n_num, n_plain, n_emb) of the encoded table;
    ``cardinalities``: categories of each embedded column; ``hidden``:
    hidden layer sizes; ``n_outputs``: K; ``members``: k BatchEnsemble
    members (BE1; 1, the default, is a plain network).
    """

    def __init__(self, widths, cardinalities, hidden, n_outputs, members=1):
        self.members = k = int(members)
        n_num, n_plain, n_emb = widths
        self.widths = np.asarray(widths, dtype=np.int64)
        table_rows = [c + 1 for c in cardinalities]
        self.first_rows = np.asarray(np.cumsum([0, *table_rows])[:-1], dtype=np.int64)
        n_inputs = PBLD_WIDTH * n_num + n_plain + EMBEDDING_SIZE * n_emb
        self.sizes = np.asarray([n_inputs, *hidden, n_outputs], dtype=np.int64)
        pbld, embedding, front, dense, act, adapters = (
            LAYER_KINDS[kind].groups
            for kind in ("pbld", "embedding", "front_scale", "dense_ntk",
                         "parametric_activation", "batch_ensemble")
        )  # fmt: skip
        self.groups = [
            (pbld[0], n_num * PBLD_FREQUENCIES),
            (pbld[1], n_num * PBLD_FREQUENCIES),
            (pbld[2], n_num * PBLD_OUTPUTS * PBLD_FREQUENCIES),
            (pbld[3], n_num * PBLD_OUTPUTS),
            (embedding[0], sum(table_rows) * EMBEDDING_SIZE),
            (front[0], n_inputs),
        ]
        L = len(self.sizes) - 1
        for l in range(1, L + 1):
            fan_in, fan_out = int(self.sizes[l - 1]), int(self.sizes[l])
            adapted = k if k > 1 else 0
            self.groups += [
                (dense[0], fan_in * fan_out),
                (dense[1], k * fan_out),
                (act[0], fan_out if l < L else 0),
                (adapters[0], adapted * fan_in),
                (adapters[1], adapted * fan_out),
            ]
        counts = [count for _, count in self.groups]
        self.offsets = np.asarray(np.cumsum([0, *counts]), dtype=np.int64)
        self.n_params = int(self.offsets[-1])

    def optimizer(self, dtype):
        """A new ``core.TabularOptimizer``: zero moments, and the parameters
        cut into blocks of at most ``STEP_BLOCK`` within one tensor, each with
        its tensor's learning-rate and decay factors."""
        blocks, factors = [], []
        for (group, _), start, stop in zip(self.groups, self.offsets[:-1], self.offsets[1:]):
            for first in range(int(start), int(stop), STEP_BLOCK):
                blocks.append((first, min(first + STEP_BLOCK, int(stop))))
                factors.append((group.lr_factor, group.decay_factor))
        return core.TabularOptimizer(
            np.zeros((2, self.n_params), dtype=dtype),
            np.asarray(blocks, dtype=np.int64).reshape(-1, 2),
            np.asarray(factors, dtype=np.float64).reshape(-1, 2),
        )

    def network(self, params, code):
        return core.TabularNetwork(
            params,
            self.offsets,
            self.sizes,
            self.widths,
            self.first_rows,
            np.int64(code),
            np.int64(self.members),
        )

    def chunks(self, capacity, dtype, n_chunks=core.TRAIN_CHUNKS):
        """``n_chunks`` workspaces for ``capacity`` examples (per member) a pass each."""
        capacity = capacity * self.members
        n_num, n_plain, n_emb = (int(w) for w in self.widths)
        sizes = [int(s) for s in self.sizes]
        widest = max(sizes)
        rows = [
            n_num,
            n_plain,
            sizes[-1],
            sizes[0],
            sizes[0],
            PBLD_FREQUENCIES * n_num,
            widest,
            widest,
        ]
        for n_prev, n in zip(sizes[:-1], sizes[1:]):
            ensemble = self.members > 1  # BE1's T and G
            rows += [n, n, n, n, n_prev if ensemble else 0, n if ensemble else 0]
        slots = np.asarray(np.cumsum([0, *(r * capacity for r in rows)]), dtype=np.int64)
        return core.TabularChunks(
            np.zeros((n_chunks, int(slots[-1])), dtype=dtype),
            slots,
            np.zeros((n_chunks, capacity, n_emb), dtype=np.int64),
            np.zeros((n_chunks, self.n_params), dtype=dtype),
        )

    def views(self, params):
        """Each tensor of ``params`` as a 1-D view, in layout order."""
        return [params[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def initialize(layout, data, code, random_state, dtype):
    """RealMLP-TD's initial parameters for ``layout`` (a new flat buffer).

    E2: frequencies ~ N(0, 0.1^2), phases ~ U[-pi, pi], the linear map's
    weights and biases ~ U[-1/4, 1/4]; E1: tables ~ N(0, 1); S2 and A12: 1.
    Dense layers, first to last, on the rows of ``data`` (``core.TabularData``):
    W ~ N(0, 1), each unit's column then divided by the standard deviation
    of its pre-activation ``W a / sqrt(n^[l-1])`` over the rows, so that it
    starts at unit scale; each bias ``-sum_k lambda_k z_k`` over 5 random
    rows' pre-activations with lambda uniform on the simplex ("he+5": every
    unit's kink starts inside the data). With k > 1 members (BE1) every
    member starts with these biases and s = 1, r = 1, except the first
    layer's r: random signs (TabM's), which makes the members differ.
    """
    params = np.zeros(layout.n_params, dtype=dtype)
    views = layout.views(params)
    n_num = int(layout.widths[0])
    shape = (n_num, PBLD_FREQUENCIES)
    views[0][:] = random_state.normal(0.0, PBLD_SIGMA, shape).ravel()
    views[1][:] = random_state.uniform(-np.pi, np.pi, shape).ravel()
    bound = 1.0 / np.sqrt(PBLD_FREQUENCIES)
    views[2][:] = random_state.uniform(-bound, bound, views[2].size)
    views[3][:] = random_state.uniform(-bound, bound, views[3].size)
    views[4][:] = random_state.normal(0.0, 1.0, views[4].size)
    views[5][:] = 1
    network = layout.network(params, code)
    n = data.numeric.shape[0]
    work = layout.chunks(core.PREDICT_BLOCK, dtype)
    L = len(layout.sizes) - 1
    for l in range(1, L + 1):
        fan_in, fan_out = int(layout.sizes[l - 1]), int(layout.sizes[l])
        base = core.FRONT_TENSORS + core.LAYER_TENSORS * (l - 1)
        weights = random_state.normal(0.0, 1.0, (fan_in, fan_out))
        views[base][:] = weights.ravel()
        views[base + 1][:] = 0
        views[base + 2][:] = 1
        views[base + 3][:] = 1
        views[base + 4][:] = 1
        Z = np.empty((n, fan_out), dtype=dtype)
        core.predict_rows(data, network, work, np.int64(l), False, Z)
        deviation = Z.astype(np.float64).std(axis=0)
        deviation[deviation == 0] = 1.0
        weights /= deviation
        Z = Z.astype(np.float64) / deviation
        views[base][:] = weights.ravel()
        rows = random_state.randint(0, n, (HE_PLUS_POINTS, fan_out))
        mix = random_state.exponential(1.0, (HE_PLUS_POINTS, fan_out))
        mix /= mix.sum(axis=0)
        biases = -(mix * Z[rows, np.arange(fan_out)]).sum(axis=0)
        views[base + 1][:] = np.tile(biases, layout.members)
    if layout.members > 1:
        r = views[core.FRONT_TENSORS + 3]
        r[:] = random_state.choice([-1.0, 1.0], size=r.size)
    return params
