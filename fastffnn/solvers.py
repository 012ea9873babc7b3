"""Solvers on top of the compiled core: mini-batch epochs (Adam, SGD) and L-BFGS.

Python here only keeps the bookkeeping that changes once per epoch (learning
rate schedules, the Adam step count, buffers); every number of an epoch is
computed by ``fastffnn.training``.
"""

import numpy as np

from fastffnn import registry
from fastffnn.bundles import (
    Batching,
    Buffers,
    Hyperparameters,
    Optimizer,
    Regularization,
    Workspaces,
)
from fastffnn.kernels.costs import SQUARED_ERROR
from fastffnn.kernels.inputs import count_rows, row_buffer
from fastffnn.kernels.optimizers import ADAM, SGD
from fastffnn.network import parameter_views, workspace_size
from fastffnn.threads import thread_limits
from fastffnn.training import batch_loss_and_gradient, train_epoch

#: D1's rates for no dropout.
NO_DROPOUT = np.empty(0)


class OptimizerState:
    """Adam's moments or SGD's velocity, the Adam step count and the learning rate.

    Kept on the estimator between ``partial_fit`` calls, as scikit-learn keeps
    its ``_optimizer``. Update rules as scikit-learn's Adam and SGD optimizers.
    """

    def __init__(self, solver, n_params, dtype, *, learning_rate_init, learning_rate="constant",
                 power_t=0.5, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, weight_decay=0.0, cosine_epochs=0,
                 warmup_epochs=0, mask_seed=0):  # fmt: skip
        self.solver = registry.solver(solver).code
        if self.solver is None:
            raise ValueError(f"{solver!r} does not train on mini-batches")
        self.moments = np.zeros(2 * n_params if self.solver == ADAM else n_params, dtype=dtype)
        self.t = 0
        self.steps = 0  # updates so far: the schedule's (S1) and the dropout masks' step
        self.weight_decay = float(weight_decay)
        self.cosine_epochs, self.warmup_epochs = int(cosine_epochs), int(warmup_epochs)
        self.mask_seed = np.int64(mask_seed)
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.schedule = learning_rate
        self.power_t = float(power_t)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterovs_momentum)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def bundle(self, batches_per_epoch):
        """The ``bundles.Optimizer`` of the compiled epoch: the cosine schedule
        (S1) runs over ``cosine_epochs`` epochs of ``batches_per_epoch``
        updates (0: no schedule)."""
        hyper = Hyperparameters(
            float(self.learning_rate), self.beta_1, self.beta_2, self.epsilon, self.momentum,
            self.weight_decay, float(self.cosine_epochs * batches_per_epoch),
            float(self.warmup_epochs * batches_per_epoch),
        )  # fmt: skip
        return Optimizer(np.int64(self.solver), hyper, self.nesterov, self.moments)

    def end_epoch(self, samples_seen):
        """SGD's ``invscaling`` schedule: ``lr = lr_init / (samples_seen + 1) ** power_t``."""
        if self.solver == SGD and self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (samples_seen + 1) ** self.power_t

    def should_stop(self):
        """Called after ``n_iter_no_change`` epochs without progress.

        Stops, except with SGD's ``adaptive`` schedule, which first divides the
        learning rate by 5 until it falls to 1e-6. Returns (stop, message suffix).
        """
        if self.solver == ADAM or self.schedule != "adaptive":
            return True, " Stopping."
        if self.learning_rate <= 1e-6:
            return True, " Learning rate too small. Stopping."
        self.learning_rate /= 5.0
        return False, f" Setting learning rate to {self.learning_rate:f}"


#: Examples per chunk of a batch at least, by the network's size (below).
MIN_CHUNK_EXAMPLES_SMALL, MIN_CHUNK_EXAMPLES_LARGE = 64, 128
#: Parameters up to which a network counts as small: its chunk gradients (one
#: n_params vector per chunk, 512 KiB in float64) stay in a core's cache.
SMALL_NETWORK_PARAMETERS = 65_536
#: Chunks of one batch at most: bounds the chunk gradients of a full batch
#: (L-BFGS) at 16 parameter vectors.
MAX_CHUNKS = 16


def batch_chunks(batch_size, n_params):
    """How many chunks of examples a batch of ``batch_size`` is cut into.

    Every chunk runs forward and backward on one thread, with single-threaded
    BLAS, side by side with the others: this is where training is parallel.
    The count depends on the batch size and the network's size alone, never
    on the machine (cores, numba's pool, threads in use, threading layer), so
    a seed trains to the same bits everywhere.

    The cost model. Parallelism wants many chunks; each chunk costs one more
    gradient vector of ``n_params`` to add up per batch, against ``6 * n_params
    * m_c`` flops of GEMM work for its ``m_c`` examples. The ratio is
    ``1 / (6 m_c)`` times (GEMM flop rate / summation rate), whatever the width:
    about 1 when the chunk gradients stay in cache (small networks), 8-10 when
    they stream through memory (8 bytes per parameter at ~8 GB/s against ~50
    GFLOP/s per core). So chunks of at least 64 examples for small networks
    (sums ~2% of the work) and 128 for large ones (~7%; L's parameter passes
    measured 9% of an epoch with 2 chunks of 128). The count is a power of two
    (2, 4, 8 or 16 chunks keep 2, 4, 8 or 16 cores equally busy, where 3
    chunks on 2 cores would take two rounds), at most MAX_CHUNKS.

    What that gives: batches of 128-255 examples of a small network, and
    256-511 of a large one, make 2 chunks (2 busy cores); scikit-learn's
    default batch of 200 makes 2; a machine with more cores than chunks
    leaves the rest idle in training, which needs larger batches to use them.
    L-BFGS's full batch makes up to 16 chunks. More chunks than cores cost
    only the extra sums (``benchmarks/batch_split.py``).
    """
    min_examples = (
        MIN_CHUNK_EXAMPLES_SMALL
        if n_params <= SMALL_NETWORK_PARAMETERS
        else MIN_CHUNK_EXAMPLES_LARGE
    )
    fits = int(batch_size) // min_examples
    if fits < 2:
        return 1
    return min(MAX_CHUNKS, 1 << (fits.bit_length() - 1))


def chunk_workspaces(sizes, batch_size, n_params, dtype):
    """The ``bundles.Workspaces`` of batches of up to ``batch_size`` examples,
    split as ``batch_chunks`` says."""
    n_chunks = batch_chunks(batch_size, n_params)
    workspace = workspace_size(sizes, -(-batch_size // n_chunks))
    activations = np.empty((n_chunks, workspace), dtype=dtype)
    deltas = np.empty_like(activations)
    chunk_grads = np.empty((n_chunks, n_params), dtype=dtype)
    return Workspaces(activations, deltas, chunk_grads, np.zeros(n_params, dtype=dtype))


def regularization(alpha, dtype, dropout=NO_DROPOUT, seed=0):
    """The ``bundles.Regularization``: R1's alpha in ``dtype``, D1's rates
    (float64, empty for none) and mask seed."""
    return Regularization(dtype.type(alpha), np.array(dropout, dtype=np.float64), np.int64(seed))


class EpochRunner:
    """Preallocated workspaces for training on one ``bundles.Data``; one call per epoch.

    ``data`` and ``network`` come from ``fastffnn.boundary``. Nothing of the
    size of X is allocated here: batches are gathered into ``batch_size``-row
    buffers. BLAS runs on one thread during each epoch (``fastffnn.threads``).
    """

    def __init__(self, data, network, alpha, batch_size, shuffle, rng, dropout=NO_DROPOUT):
        dtype = network.params.dtype
        self.data, self.network = data, network
        self.regularization = regularization(alpha, dtype, dropout)
        self.rng = rng
        self.n_samples = count_rows(data.X)
        batch_size = int(batch_size)
        self.batches_per_epoch = -(-self.n_samples // batch_size)
        buffers = Buffers(row_buffer(data.X, batch_size),
                          np.empty((batch_size, data.Y.shape[1]), dtype=dtype),
                          np.empty(batch_size, dtype=dtype))  # fmt: skip
        order = np.arange(self.n_samples, dtype=np.int64)
        self.batching = Batching(order, bool(shuffle), np.int64(batch_size), buffers)
        self.work = chunk_workspaces(network.sizes, batch_size, network.params.size, dtype)

    def run(self, optimizer):
        """Train one epoch in place; returns the mean training loss (scikit-learn's ``loss_``)."""
        with thread_limits():
            return self._run(optimizer)

    def _run(self, optimizer):
        if self.batching.shuffle:
            self.rng.shuffle(self.batching.order)
        regularization = self.regularization._replace(seed=optimizer.mask_seed)
        total, optimizer.t = train_epoch(
            self.data, self.batching, self.network, self.work,
            optimizer.bundle(self.batches_per_epoch), regularization, np.int64(optimizer.t),
            np.int64(optimizer.steps),
        )  # fmt: skip
        optimizer.steps += self.batches_per_epoch
        return total / self.n_samples


def lbfgs_objective(data, network, alpha):
    """``(loss_and_gradient, reported)``: the function L-BFGS minimizes, flat
    float64 parameters -> ``(f, gradient)`` (it writes them into
    ``network.params``), and ``reported(f)``, the training loss (scikit-learn's
    ``loss_``) at the parameters ``f`` was evaluated at.

    Squared error over several outputs: J (scikit-learn's ``loss_``) is the
    mean over the outputs but its gradient is the sum's (C5), so ``f`` is the
    sum's value, consistent with the gradient (scikit-learn's issue #8349
    hands scipy the mean with the sum's gradient); ``reported`` turns it back
    into J. For every other cost f is J.
    """
    params = network.params
    work = chunk_workspaces(network.sizes, count_rows(data.X), params.size, params.dtype)
    penalty = regularization(alpha, params.dtype)
    n_outputs = int(network.sizes[-1])
    summed = n_outputs > 1 and int(network.codes[-1]) == SQUARED_ERROR
    weights = parameter_views(params, network.sizes)[0]
    weight_total = float(np.sum(data.s, dtype=np.float64))

    def penalty_value():  # R1 at the current parameters
        squares = sum(float(np.dot(W.ravel(), W.ravel())) for W in weights)
        return alpha * squares / (2 * weight_total)

    def loss_and_gradient(flat):
        params[:] = flat
        J = float(batch_loss_and_gradient(data, network, work, penalty, np.uint64(0)))
        if summed:
            P = penalty_value()
            J = P + n_outputs * (J - P)
        return J, work.grads.astype(np.float64)

    def reported(f):
        if not summed:
            return f
        P = penalty_value()
        return P + (f - P) / n_outputs

    return loss_and_gradient, reported


def minimize_lbfgs(data, network, alpha, *, max_iter, max_fun, tol, callback=None):
    """Minimize the full-batch cost with scipy's L-BFGS-B; ``network.params``
    is updated in place.

    Loss and gradient come from one compiled pass over all of ``data`` (used
    in place), split into chunks like a mini-batch (:func:`lbfgs_objective`).
    scipy works in float64; a float32 network is evaluated in float32.
    scipy's own vector arithmetic runs under the same single-threaded BLAS as
    the compiled passes (``fastffnn.threads``), so its results do not depend
    on BLAS threads either. Returns scipy's ``OptimizeResult``, with
    ``reported_loss``, the training loss at its ``x``.
    """
    params = network.params
    loss_and_gradient, reported = lbfgs_objective(data, network, alpha)

    with thread_limits():
        import scipy.optimize  # here: importing it costs ~0.2 s of every warm start

        result = scipy.optimize.minimize(
            loss_and_gradient,
            params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
        )
    params[:] = result.x
    result.reported_loss = reported(float(result.fun))
    return result
