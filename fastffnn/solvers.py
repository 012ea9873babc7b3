"""Solvers on top of the compiled core: mini-batch epochs (Adam, SGD) and L-BFGS.

Python here only keeps the bookkeeping that changes once per epoch (learning
rate schedules, the Adam step count, buffers); every number of an epoch is
computed by ``fastffnn.training``.
"""

import contextlib

import numba
import numpy as np
import scipy.optimize
import threadpoolctl

from fastffnn.network import workspace_size
from fastffnn.training import ADAM, SGD, batch_loss_and_gradient, train_epoch


class OptimizerState:
    """Adam's moments or SGD's velocity, the Adam step count and the learning rate.

    Kept on the estimator between ``partial_fit`` calls, as scikit-learn keeps
    its ``_optimizer``. Update rules as scikit-learn's Adam and SGD optimizers.
    """

    def __init__(self, solver, n_params, dtype, *, learning_rate_init, learning_rate="constant",
                 power_t=0.5, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8):  # fmt: skip
        self.solver = ADAM if solver == "adam" else SGD
        self.moments = np.zeros(2 * n_params if self.solver == ADAM else n_params, dtype=dtype)
        self.t = 0
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.schedule = learning_rate
        self.power_t = float(power_t)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterovs_momentum)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def hyperparameters(self):
        """``[learning_rate, beta_1, beta_2, epsilon, momentum]`` for the compiled step."""
        return np.array([self.learning_rate, self.beta_1, self.beta_2, self.epsilon, self.momentum])

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


_blas_controller = None


def batch_chunks(batch_size):
    """How many chunks of examples a batch of ``batch_size`` is split into.

    Every chunk runs forward and backward on one thread, with single-threaded
    BLAS, side by side with the others: this is where training is parallel.
    Measured on the 2-core machine (``benchmarks/batch_split.py``, ms/epoch),
    two chunks beat one whole batch on two BLAS threads for every
    configuration of the comparison, large layers included (L: 256 x 256 x 512
    GEMMs) -- one batch would also pay 2-4 us per parallel region of each
    elementwise kernel. At least 32 examples per chunk.

    Fixed by the batch size and numba's pool size (NUMBA_NUM_THREADS), never
    by the threads in use, so results do not change with
    ``numba.set_num_threads``. The workqueue threading layer cannot nest
    parallel regions: no chunks.
    """
    n_chunks = min(numba.config.NUMBA_NUM_THREADS, batch_size // 32)
    if n_chunks < 2:
        return 1
    if numba.config.THREADING_LAYER == "workqueue":
        return 1
    return n_chunks


def single_threaded_blas():
    """Context: BLAS on one thread (chunks run GEMMs side by side; BLAS threads
    inside a parallel region were 8x slower here)."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = threadpoolctl.ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def chunk_workspaces(sizes, batch_size, n_params, dtype):
    """``(activations, deltas, chunk_grads)`` for ``training.batch_loss_and_gradient``
    on batches of up to ``batch_size`` examples, split as ``batch_chunks`` says."""
    n_chunks = batch_chunks(batch_size)
    workspace = workspace_size(sizes, -(-batch_size // n_chunks))
    activations = np.empty((n_chunks, workspace), dtype=dtype)
    deltas = np.empty_like(activations)
    chunk_grads = np.empty((n_chunks, n_params), dtype=dtype)
    return activations, deltas, chunk_grads


def blas_for(activations):
    """BLAS on one thread while chunks run side by side, else left alone (~25 us)."""
    return single_threaded_blas() if activations.shape[0] > 1 else contextlib.nullcontext()


class EpochRunner:
    """Preallocated workspaces for training on one (X, Y, s); one call per epoch.

    X: (n_samples, n_features) C-ordered, Y: (n_samples, n_outputs), s:
    (n_samples,), all of the parameters' dtype. Nothing of the size of X is
    allocated here: batches are gathered into ``batch_size``-row buffers.
    When batches are split into chunks, BLAS runs on one thread during
    each epoch (about 25 us to set and restore).
    """

    def __init__(self, X, Y, s, params, sizes, codes, alpha, batch_size, shuffle, rng):
        dtype = params.dtype
        self.X, self.Y, self.s = X, Y, s
        self.params, self.sizes, self.codes = params, sizes, codes
        self.alpha = dtype.type(alpha)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.rng = rng
        self.order = np.arange(X.shape[0], dtype=np.int64)
        self.grads = np.zeros_like(params)
        self.X_batch = np.empty((self.batch_size, X.shape[1]), dtype=dtype)
        self.Y_batch = np.empty((self.batch_size, Y.shape[1]), dtype=dtype)
        self.s_batch = np.empty(self.batch_size, dtype=dtype)
        self.activations, self.deltas, self.chunk_grads = chunk_workspaces(
            sizes, self.batch_size, params.size, dtype
        )

    def run(self, optimizer):
        """Train one epoch in place; returns the mean training loss (scikit-learn's ``loss_``)."""
        with blas_for(self.activations):
            return self._run(optimizer)

    def _run(self, optimizer):
        if self.shuffle:
            self.rng.shuffle(self.order)
        total, optimizer.t = train_epoch(
            self.X, self.Y, self.s, self.order, self.shuffle, self.batch_size,
            self.params, self.sizes, self.codes, self.alpha, optimizer.solver,
            optimizer.hyperparameters(), optimizer.nesterov, optimizer.t, self.grads,
            optimizer.moments, self.X_batch, self.Y_batch, self.s_batch, self.activations,
            self.deltas, self.chunk_grads,
        )  # fmt: skip
        return total / self.X.shape[0]


def minimize_lbfgs(X, Y, s, params, sizes, codes, alpha, *, max_iter, max_fun, tol, callback=None):
    """Minimize the full-batch cost with scipy's L-BFGS-B; ``params`` is updated in place.

    Loss and gradient come from one compiled pass over all of X (used in
    place), split into chunks like a mini-batch. scipy works in float64; a
    float32 network is evaluated in float32. Returns scipy's ``OptimizeResult``.
    """
    dtype = params.dtype
    alpha = dtype.type(alpha)
    grads = np.zeros_like(params)
    activations, deltas, chunk_grads = chunk_workspaces(sizes, X.shape[0], params.size, dtype)

    def loss_and_gradient(flat):
        params[:] = flat
        with blas_for(activations):
            loss = batch_loss_and_gradient(
                X, Y, s, params, sizes, codes, alpha, activations, deltas, chunk_grads, grads
            )
        return float(loss), grads.astype(np.float64)

    result = scipy.optimize.minimize(
        loss_and_gradient,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    params[:] = result.x
    return result
