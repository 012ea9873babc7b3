"""Gradient checking: the compiled backpropagation against finite differences
and against forward-mode directional derivatives.

:func:`check_gradients` takes the training cost of an :class:`FFNNClassifier`
or :class:`FFNNRegressor` on ``(X, y, sample_weight)`` exactly as ``fit``
defines it (the cost of the output the targets or ``loss`` select, C1-C3 or
C5-C9, the L2 penalty R1 with the estimator's ``alpha``, sample and class
weights R2) and checks its gradient three ways, everything in float64:

1. **backpropagation** (B1-B4 seeded with the fused seed, through
   ``training.batch_loss_and_gradient``: the chunked path L-BFGS trains with)
   gives the gradient ``g``, the quantity under test;
2. **central differences** of the compiled cost, ``(J(p + h e_k) - J(p - h e_k)) / 2h``
   for every parameter ``k`` (or a stratified random subset for big networks),
   compared with ``g`` entry by entry, per layer and block (weights, biases);
3. **forward mode** along random unit directions ``v`` of the parameters:
   tangents T1 (with ``dot-W = v_W``, ``dot-b = v_b``) and T2 carry ``dot-A^[l]``
   up to the output, and the cost's tangent ``dot-J = <dJ/dA^[L], dot-A^[L]>``
   (the general seeds, not the fused ones) plus R1's ``(alpha / sum s) <W, dot-W>``
   is compared with ``g . v``, as is a central difference along ``v``.

Forward mode and backpropagation compute the same derivative exactly (up to
rounding) by two independent routes, so they agree to ~1e-15 relative; finite
differences carry truncation and rounding error of roughly
``1e-16 * |J| / h + h**2 * |J'''|``, about 1e-10 at the default ``h = 1e-6``.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
from sklearn.base import clone
from sklearn.utils import check_random_state

from fastffnn import boundary
from fastffnn._jit import serial
from fastffnn.bundles import Dropout
from fastffnn.kernels.costs import general_seed
from fastffnn.kernels.dropout import dropout_rate, scale_entries, step_key
from fastffnn.kernels.linear import linear_forward
from fastffnn.kernels.reductions import ordered_sum
from fastffnn.kernels.tangents import activation_tangent, contract, linear_tangent_params
from fastffnn.network import (
    count_parameters,
    layer_parameters,
    layer_workspace,
    second_slot,
    workspace_size,
)
from fastffnn.propagation import call_forward, derivative_input, objective
from fastffnn.solvers import chunk_workspaces, regularization
from fastffnn.threads import thread_limits
from fastffnn.training import batch_loss_and_gradient

#: Entries whose gradient is smaller than this (in absolute value, for both the
#: backpropagated and the numerical value) are left out of the relative errors:
#: there the finite difference's own error (~1e-10) is not small against the value.
REL_ERROR_FLOOR = 1e-6

# ----------------------------------------------------------------------------------
# compiled drivers: ``data`` a ``bundles.Data`` (X: (m, n^[0]) and Y: (m, n^[L])
# C-ordered, so X.T = A^[0]), ``network`` a ``bundles.Network``, ``penalty`` a
# ``bundles.Regularization`` (R1's alpha, D1's rates), ``key`` D1's fixed mask key
# ----------------------------------------------------------------------------------


@serial
def full_batch_cost(data, network, penalty, key, activations, masks):
    """J (F1-F3, R1, R2) over all of X: ``propagation.objective``, the cost whose
    gradient training follows, with D1's masks fixed by ``key`` (rows numbered
    from 0)."""
    m = data.X.shape[0]
    dropout = Dropout(penalty.dropout, np.arange(m), key, masks)
    A_out = call_forward(data.X.T, network, activations, m, dropout)
    return objective(A_out, data.Y.T, data.s, network, penalty.alpha)


@serial
def central_differences(data, network, penalty, key, indices, h, activations, masks, out):
    """``out[q] = (J(p + h e_k) - J(p - h e_k)) / (p_k+ - p_k-)`` for ``k = indices[q]``.

    ``params`` is perturbed in place and restored; the denominator is the
    difference of the perturbed values as stored, not ``2 h``, which removes
    the rounding of ``p_k +- h`` from the quotient.
    """
    params = network.params
    for q in range(indices.size):
        k = indices[q]
        saved = params[k]
        params[k] = saved + h
        plus = full_batch_cost(data, network, penalty, key, activations, masks)
        step = params[k]
        params[k] = saved - h
        minus = full_batch_cost(data, network, penalty, key, activations, masks)
        step -= params[k]
        params[k] = saved
        out[q] = (plus - minus) / step


@serial
def directional_derivative(data, network, penalty, key, direction, activations, tangents, work,
                           seed):  # fmt: skip
    """Forward mode: ``dot-J`` of the cost along the parameter direction ``direction``.

    X: (m, n^[0]); Y: (m, n^[L]); s: (m,); ``direction`` is laid out like
    ``params``; ``activations``, ``tangents`` and ``work`` are workspaces for
    m examples; ``seed`` holds m * n^[L] entries for dJ/dA^[L]. T1 at l = 1 is
    F1 applied to ``(dot-W, dot-b)`` (``dot-A^[0] = 0``); then T1 with
    parameter directions and T2 up to ``dot-A^[L]``; ``dot-J`` contracts it
    with the cost's general seed (``costs.general_seed``, R2) and adds R1's
    ``(alpha / sum s) sum_l <W^[l], dot-W^[l]>``.
    """
    X, Y, s = data
    params, sizes, codes = network.params, network.sizes, network.codes
    alpha, dropout = penalty.alpha, penalty.dropout
    m = X.shape[0]
    L = sizes.size - 1
    A0 = X.T
    A_out = call_forward(A0, network, activations, m, Dropout(dropout, np.arange(m), key, work))
    dW, db = layer_parameters(direction, sizes, 1)
    dA = layer_workspace(tangents, sizes, 1, m, m)
    linear_forward(dW, db, A0, dA)  # T1 at l = 1
    activation_tangent(codes[0], derivative_input(activations, sizes, codes, dropout, 1, m, m),
                       dA, dA)  # T2  # fmt: skip
    if dropout_rate(dropout, 1) > 0:  # D1: the tangent of A * M / (1 - p)
        scale_entries(dA, second_slot(work, sizes, 1, m, m))
    for l in range(2, L + 1):
        W, b = layer_parameters(params, sizes, l)
        dW, db = layer_parameters(direction, sizes, l)
        A_prev = layer_workspace(activations, sizes, l - 1, m, m)
        dA_prev = dA
        dA = layer_workspace(tangents, sizes, l, m, m)
        scratch = layer_workspace(work, sizes, l, m, m)
        linear_tangent_params(W, dW, db, A_prev, dA_prev, scratch, dA)  # T1
        activation_tangent(codes[l - 1], derivative_input(activations, sizes, codes, dropout, l,
                                                          m, m), dA, dA)  # fmt: skip
        if dropout_rate(dropout, l) > 0:
            scale_entries(dA, second_slot(work, sizes, l, m, m))
    G = seed[: m * sizes[L]].reshape((m, sizes[L])).T
    general_seed(A_out, Y.T, s, codes[L], network.cost_parameter, G)
    total = contract(G, dA)
    if alpha > 0:
        penalty = contract(
            layer_parameters(params, sizes, 1)[0], layer_parameters(direction, sizes, 1)[0]
        )
        for l in range(2, L + 1):
            W = layer_parameters(params, sizes, l)[0]
            dW = layer_parameters(direction, sizes, l)[0]
            penalty += contract(W, dW)
        total += alpha * penalty / ordered_sum(s)
    return total


# ----------------------------------------------------------------------------------
# the training problem, as fit sees it
# ----------------------------------------------------------------------------------


@dataclass
class _Problem:
    """The cost ``fit`` minimises, in float64: data, targets, weights and parameters."""

    X: np.ndarray
    Y: np.ndarray
    s: np.ndarray
    params: np.ndarray
    sizes: np.ndarray
    codes: np.ndarray
    delta: float
    alpha: float
    fitted: bool
    #: D1's hidden rates (float64, empty: none) and the fixed mask's key
    dropout: np.ndarray
    key: np.uint64

    def workspace(self):
        return np.empty(workspace_size(self.sizes, self.X.shape[0]))

    def data(self):
        """The compiled code's ``bundles.Data`` (``fastffnn.boundary``)."""
        return boundary.training_data(self.X, self.Y, self.s, np.float64)

    def network(self, params=None):
        params = self.params if params is None else params
        return boundary.network(params, self.sizes, self.codes, self.delta)

    def penalty(self, alpha=None):
        alpha = self.alpha if alpha is None else alpha
        return regularization(alpha, np.dtype(np.float64), self.dropout)

    def cost(self, params=None):
        return float(full_batch_cost(self.data(), self.network(params), self.penalty(), self.key,
                                     self.workspace(), self.workspace()))  # fmt: skip

    def loss_and_gradient(self, alpha=None):
        """The training path's gradient: the full batch cut into chunks as
        L-BFGS cuts it (``solvers.chunk_workspaces``), summed in order."""
        work = chunk_workspaces(self.sizes, self.X.shape[0], self.params.size, np.float64)
        with thread_limits():
            batch_loss_and_gradient(self.data(), self.network(), work, self.penalty(alpha),
                                    self.key)  # fmt: skip
        return self.cost(), work.grads.copy()

    def directional(self, direction):
        seed = np.empty(self.X.shape[0] * int(self.sizes[-1]))
        return float(directional_derivative(
            self.data(), self.network(), self.penalty(), self.key, direction, self.workspace(),
            self.workspace(), self.workspace(), seed,
        ))  # fmt: skip


def _training_problem(estimator, X, y, sample_weight):
    """The problem ``fit`` would minimise, from the estimator's own
    ``_training_problem``. A fitted estimator keeps its current weights and
    labels; an unfitted one is cloned first, so the estimator passed in is
    never modified."""
    fitted = hasattr(estimator, "coefs_")
    model = estimator if fitted else clone(estimator)
    X, Y, s, params, sizes, codes, delta, alpha, dropout = model._training_problem(
        X, y, sample_weight
    )
    if scipy.sparse.issparse(X):
        # densified: the checker's problems are small, and the sparse input
        # kernels are tested against the dense ones (tests/test_sparse.py)
        X = X.toarray()
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return _Problem(as64(X), as64(Y), as64(s), np.array(params, dtype=np.float64), sizes, codes,
                    float(delta), float(alpha), fitted, np.asarray(dropout, dtype=np.float64),
                    np.uint64(step_key(np.int64(0), np.int64(0))))  # fmt: skip


# ----------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------


@dataclass
class BlockErrors:
    """Backpropagation against central differences for one layer's weights or biases.

    ``max_rel_error`` is the largest ``|g - fd| / max(|g|, |fd|)`` over the
    checked entries whose ``max(|g|, |fd|)`` is at least ``REL_ERROR_FLOOR``
    (0.0 when there is none); ``max_abs_error`` covers every checked entry.
    """

    layer: int
    block: str
    n_checked: int
    n_total: int
    max_abs_error: float
    max_rel_error: float
    max_gradient: float


@dataclass
class DirectionalCheck:
    """The check along one random unit direction v of the parameters.

    ``g . v`` by backpropagation, ``dot-J`` by forward mode (T1-T2) and a
    central difference of J along v.

    The errors are relative to ``gradient_norm`` = ``||g||``, the largest
    directional derivative along any unit direction: ``g . v`` itself can be
    close to 0 by cancellation, and dividing by it would magnify rounding.
    """

    backprop: float
    forward_mode: float
    finite_difference: float
    gradient_norm: float

    @property
    def forward_rel_error(self):
        return _rel(self.forward_mode, self.backprop, self.gradient_norm)

    @property
    def fd_rel_error(self):
        return _rel(self.finite_difference, self.backprop, self.gradient_norm)


def _rel(a, b, scale):
    scale = max(scale, abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


@dataclass
class GradientReport:
    """What :func:`check_gradients` found. Print it for a table.

    Attributes
    ----------
    loss : float
        The training cost J at the checked parameters.
    blocks : list of BlockErrors
        Per layer, weights then biases: backpropagation against central differences.
    directions : list of DirectionalCheck
        Backpropagation against forward mode and a central difference along
        random directions.
    gradient : ndarray of shape (n_parameters,)
        The backpropagated gradient, laid out like the flat parameter buffer
        (``fastffnn.network``: coef_1, b_1, coef_2, ...).
    numerical : ndarray of shape (n_parameters,)
        The central differences; NaN for parameters not checked.
    parameters : ndarray of shape (n_parameters,)
        The parameters the gradient was checked at, float64.
    """

    loss: float
    alpha: float
    n_samples: int
    epsilon: float
    fitted: bool
    sizes: tuple
    blocks: list
    directions: list
    gradient: np.ndarray = field(repr=False)
    numerical: np.ndarray = field(repr=False)
    parameters: np.ndarray = field(repr=False)

    #: The thresholds of :attr:`ok`.
    atol = 1e-6
    forward_rtol = 1e-10

    @property
    def n_parameters(self):
        return int(self.gradient.size)

    @property
    def n_checked(self):
        return sum(b.n_checked for b in self.blocks)

    @property
    def max_abs_error(self):
        """Largest ``|g - fd|`` over every checked parameter."""
        return max(b.max_abs_error for b in self.blocks)

    @property
    def max_rel_error(self):
        """Largest entry-wise relative error (see :class:`BlockErrors`)."""
        return max(b.max_rel_error for b in self.blocks)

    @property
    def max_forward_rel_error(self):
        """Largest difference between forward mode and ``g . v``, relative to ``||g||``."""
        return max((d.forward_rel_error for d in self.directions), default=0.0)

    @property
    def max_directional_fd_rel_error(self):
        """Largest difference between a central difference along v and ``g . v``,
        relative to ``||g||``."""
        return max((d.fd_rel_error for d in self.directions), default=0.0)

    @property
    def ok(self):
        """True when backpropagation matches central differences within ``atol``
        (absolute, per parameter) and forward mode within ``forward_rtol`` (relative)."""
        return bool(self.max_abs_error <= self.atol
                    and self.max_forward_rel_error <= self.forward_rtol)  # fmt: skip

    def __str__(self):
        state = "fitted" if self.fitted else "initial (as fit would start)"
        lines = [
            f"Gradient check of the training cost (float64), network "
            f"{'-'.join(map(str, self.sizes))}, {state} weights",
            f"  J = {self.loss:.10g} on {self.n_samples} samples, alpha = {self.alpha:g}; "
            f"{self.n_checked} of {self.n_parameters} parameters checked, h = {self.epsilon:g}",
            "",
            "Backpropagation (B1-B4) against central differences:",
            f"  {'layer':>5}  {'block':<7} {'checked':>11}  {'max |g|':>9}  "
            f"{'max abs err':>11}  {'max rel err':>11}",
        ]
        for b in self.blocks:
            lines.append(
                f"  {b.layer:>5}  {b.block:<7} {f'{b.n_checked}/{b.n_total}':>11}  "
                f"{b.max_gradient:>9.2e}  {b.max_abs_error:>11.2e}  {b.max_rel_error:>11.2e}"
            )
        if self.directions:
            lines += [
                "",
                f"Along {len(self.directions)} random unit directions v of the parameters:",
                f"  {'g . v (backprop)':>22}  {'forward mode (T1-T2)':>22}  {'err/|g|':>8}  "
                f"{'central difference':>22}  {'err/|g|':>8}",
            ]
            for d in self.directions:
                lines.append(
                    f"  {d.backprop:>22.15e}  {d.forward_mode:>22.15e}  "
                    f"{d.forward_rel_error:>8.1e}  "
                    f"{d.finite_difference:>22.15e}  {d.fd_rel_error:>8.1e}"
                )
        verdict = "OK" if self.ok else "MISMATCH"
        lines += [
            "",
            f"{verdict}: max abs error {self.max_abs_error:.2e} (tolerance {self.atol:g}), "
            f"max rel error {self.max_rel_error:.2e}; forward mode: max error/|g| "
            f"{self.max_forward_rel_error:.1e} (tolerance {self.forward_rtol:g})",
        ]
        return "\n".join(lines)

    def __repr__(self):
        return (f"GradientReport(ok={self.ok}, max_abs_error={self.max_abs_error:.3g}, "
                f"max_rel_error={self.max_rel_error:.3g}, "
                f"max_forward_rel_error={self.max_forward_rel_error:.3g}, "
                f"n_checked={self.n_checked}/{self.n_parameters})")  # fmt: skip


# ----------------------------------------------------------------------------------
# the check
# ----------------------------------------------------------------------------------


def _block_slices(sizes):
    """(layer, "weights" | "biases", slice of the flat buffer) in buffer order."""
    blocks, offset = [], 0
    for l in range(1, len(sizes)):
        n_w = int(sizes[l - 1] * sizes[l])
        blocks.append((l, "weights", slice(offset, offset + n_w)))
        offset += n_w
        blocks.append((l, "biases", slice(offset, offset + int(sizes[l]))))
        offset += int(sizes[l])
    return blocks


def _choose_indices(sizes, max_parameters, rng):
    """Every parameter, or per block a share of ``max_parameters`` proportional
    to its size (at least 8 entries, or the whole block), drawn without replacement."""
    total = count_parameters(sizes)
    if max_parameters is None or total <= max_parameters:
        return np.arange(total, dtype=np.int64)
    chosen = []
    for _, _, sl in _block_slices(sizes):
        n = sl.stop - sl.start
        k = min(n, max(8, int(np.ceil(max_parameters * n / total))))
        chosen.append(sl.start + np.sort(rng.choice(n, size=k, replace=False)))
    return np.concatenate(chosen).astype(np.int64)


def compare(problem, gradient, indices, n_directions, epsilon, rng, loss=None):
    """Check ``gradient`` (a flat buffer) against ``problem``'s cost; a GradientReport.

    The gradient under test is an argument so that a test can hand in a wrong
    one and see the check fail; :func:`check_gradients` passes backpropagation's.
    """
    params = problem.params.copy()
    numerical = np.full(params.size, np.nan)
    values = np.empty(indices.size)
    central_differences(
        problem.data(), problem.network(params), problem.penalty(), problem.key, indices,
        float(epsilon), problem.workspace(), problem.workspace(), values,
    )  # fmt: skip
    numerical[indices] = values

    checked = np.zeros(params.size, dtype=bool)
    checked[indices] = True
    blocks = []
    for layer, name, sl in _block_slices(problem.sizes):
        mask = checked[sl]
        g, fd = gradient[sl][mask], numerical[sl][mask]
        err = np.abs(g - fd)
        scale = np.maximum(np.abs(g), np.abs(fd))
        big = scale >= REL_ERROR_FLOOR
        blocks.append(BlockErrors(
            layer, name, int(mask.sum()), sl.stop - sl.start,
            float(err.max(initial=0.0)),
            float((err[big] / scale[big]).max(initial=0.0)),
            float(np.abs(g).max(initial=0.0)),
        ))  # fmt: skip

    directions = []
    norm = float(np.linalg.norm(gradient))
    for _ in range(n_directions):
        v = rng.standard_normal(params.size)
        v /= np.linalg.norm(v)
        plus, minus = params + epsilon * v, params - epsilon * v
        fd = (problem.cost(plus) - problem.cost(minus)) / (2 * epsilon)
        directions.append(DirectionalCheck(float(gradient @ v), problem.directional(v), fd, norm))

    return GradientReport(
        loss=problem.cost() if loss is None else loss,
        alpha=problem.alpha,
        n_samples=int(problem.X.shape[0]),
        epsilon=float(epsilon),
        fitted=problem.fitted,
        sizes=tuple(int(n) for n in problem.sizes),
        blocks=blocks,
        directions=directions,
        gradient=gradient,
        numerical=numerical,
        parameters=params,
    )


def check_gradients(estimator, X, y, sample_weight=None, n_directions=5, epsilon=1e-6,
                    random_state=0, *, max_parameters=5000):  # fmt: skip
    """Check the compiled gradient of an estimator's training cost.

    The cost is the one ``fit`` minimises on ``(X, y, sample_weight)``: the
    cross-entropy of the output layer the targets select (classifier) or the
    regressor's ``loss`` (for squared error the sum over outputs that training
    follows, not the mean that ``loss_`` reports), the L2 penalty
    ``alpha`` and the sample (and class) weights. Its gradient by the compiled
    backpropagation is compared with central differences of the compiled cost,
    parameter by parameter, and with forward-mode directional derivatives
    (tangents T1-T2) along random directions. Everything runs in float64,
    whatever the estimator's dtype (float32 differences would be too noisy to
    tell a wrong gradient from rounding); the estimator is not modified.

    Parameters
    ----------
    estimator : FFNNClassifier or FFNNRegressor
        Fitted: checked at its current weights (``coefs_``, ``intercepts_``)
        with its labels. Unfitted: checked at the initial weights ``fit`` would
        draw from its ``random_state`` on this data (give an int random_state
        to make that reproducible).
    X : array-like of shape (n_samples, n_features)
        Data; every cost evaluation runs over all of it, so keep it small.
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Targets, as for ``fit``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, as for ``fit``.
    n_directions : int, default=5
        Random unit directions for the forward-mode check (0 to skip it).
    epsilon : float, default=1e-6
        Step ``h`` of the central differences.
    random_state : int, RandomState instance or None, default=0
        Seeds the directions and, for big networks, the checked subset.
    max_parameters : int or None, default=5000
        With more parameters than this, a random subset of about this many is
        checked by central differences, each layer's weights and biases in
        proportion to their size (at least 8 of each, or all of them); None
        checks every parameter. The directional checks always cover all.

    Returns
    -------
    GradientReport
        Per layer and block the largest absolute and relative errors, the
        directional comparisons, and ``ok``; ``print(report)`` shows a table.

    Examples
    --------
    >>> import numpy as np
    >>> from fastffnn import FFNNClassifier, check_gradients
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    >>> report = check_gradients(FFNNClassifier((4,), alpha=0.1, random_state=0), X, y)
    >>> report.ok, report.max_abs_error < 1e-6
    (True, True)
    """
    if n_directions < 0:
        raise ValueError(f"n_directions must be >= 0, got {n_directions}.")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}.")
    rng = check_random_state(random_state)
    problem = _training_problem(estimator, X, y, sample_weight)
    loss, gradient = problem.loss_and_gradient()
    indices = _choose_indices(problem.sizes, max_parameters, rng)
    return compare(problem, gradient, indices, n_directions, epsilon, rng, loss=loss)
