"""The named bundles compiled code takes instead of long argument lists.

Each bundle is a named tuple: compiled code reads its fields by name
(``network.params``, ``optimizer.hyper.beta_1``), and a function of the
training chain takes a handful of them. Python builds them in one place
(``fastffnn.boundary`` for the data, ``fastffnn.solvers`` for the rest), so
every call hands compiled code the same types and each entry point is
compiled once per dtype and kind of input.
"""

from collections import namedtuple

#: The network: ``params`` the flat parameter buffer (``fastffnn.network``),
#: ``sizes`` (L + 1,) int64 layer sizes, ``codes`` (L + 1,) int64 activation
#: codes of layers 1..L then the cost code (``fastffnn.registry``),
#: ``cost_parameter`` the cost's parameter in the parameters' dtype (Huber's
#: delta, C7; 0 for the costs without one).
Network = namedtuple("Network", ["params", "sizes", "codes", "cost_parameter"])

#: Training examples: X (n, n^[0]) read-only, dense or a sparse X's tuple
#: (``fastffnn.kernels.inputs``); Y (n, n^[L]) targets and s (n,) sample
#: weights (R2), owned, C-ordered, of the parameters' dtype.
Data = namedtuple("Data", ["X", "Y", "s"])

#: One mini-batch: ``data`` whole (when ``rows`` is empty) or its examples
#: ``rows`` (m,); ``ids`` (m,) the examples' rows in the training data
#: (dropout masks follow them); ``weight_total`` the batch's ``sum s``.
Batch = namedtuple("Batch", ["data", "rows", "ids", "weight_total"])

#: Where a batch's examples are gathered: rows of X (or a sparse X's row
#: ids), of Y and of s for ``batch_size`` examples; writable.
Buffers = namedtuple("Buffers", ["X", "Y", "s"])

#: Workspaces of the chunks a batch is cut into (``solvers.chunk_workspaces``):
#: ``activations`` and ``deltas`` (C, workspace size), ``chunk_grads`` (C,
#: n_params), and ``grads`` (n_params,) the batch's gradient.
Workspaces = namedtuple("Workspaces", ["activations", "deltas", "chunk_grads", "grads"])

#: Optimizer hyperparameters in float64 (``learning_rate`` is this step's).
#: ``cosine_steps``/``warmup_steps``: S1's schedule in updates (0: none).
Hyperparameters = namedtuple(
    "Hyperparameters",
    ["learning_rate", "beta_1", "beta_2", "epsilon", "momentum", "weight_decay",
     "cosine_steps", "warmup_steps"],
)  # fmt: skip

#: The optimizer: ``solver`` code (``fastffnn.registry``: ADAM, SGD or
#: NO_STEP), its hyperparameters, ``nesterov`` (bool), ``state`` Adam's two
#: moment vectors or SGD's velocity (first n_params entries).
Optimizer = namedtuple("Optimizer", ["solver", "hyper", "nesterov", "state"])

#: What an update step reads besides the gradient: the learning rate of this
#: step (S1, float64), Adam's step count ``t`` (after this step), and D1's
#: ``key`` for this step's masks (``kernels.dropout.step_key``).
Step = namedtuple("Step", ["learning_rate", "t", "key"])

#: Regularization: R1's ``alpha`` (parameters' dtype), D1's hidden-layer rates
#: ``dropout`` (L - 1,) float64, empty for none, and the fit's mask ``seed``.
Regularization = namedtuple("Regularization", ["alpha", "dropout", "seed"])

#: How an epoch draws its batches: ``order`` (n,) the examples in this
#: epoch's order (a permutation with ``shuffle``, else 0..n-1, read in place),
#: ``batch_size``, and the ``buffers`` shuffled batches are gathered into.
Batching = namedtuple("Batching", ["order", "shuffle", "batch_size", "buffers"])

#: D1 in a forward pass: the hidden layers' ``rates`` (L - 1,) float64 (empty:
#: none), ``ids`` (m,) the examples' rows in the training data, this step's
#: ``key``, and the workspace whose second slots receive the masks for backward.
Dropout = namedtuple("Dropout", ["rates", "ids", "key", "masks"])

#: One optimizer step's numbers in the parameters' dtype: the step ``size``
#: (Adam's bias corrections folded in), Adam's and SGD's constants, W1's
#: ``decay = eta_t * lambda`` and R1's gradient ``scale = alpha / sum s``.
StepRates = namedtuple("StepRates", ["size", "beta_1", "beta_2", "epsilon", "momentum", "decay",
                                     "scale"])  # fmt: skip
