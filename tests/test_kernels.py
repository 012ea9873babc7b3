"""The compiled kernels and training loop against the NumPy reference (tests/naive.py).

Kernel arrays are MATH.md-shaped, (units, examples), in Fortran order. References
are computed in float64 from the same (possibly float32) inputs, so a float32
result is measured against the exact answer, not against another float32 result.
"""

import itertools
import warnings
from contextlib import contextmanager

import naive
import numba
import numpy as np
import pytest
import scipy.sparse

from fastffnn import boundary, network, prediction, propagation, solvers, training
from fastffnn.bundles import Batch, Buffers, Dropout, Hyperparameters, Regularization, Step
from fastffnn.kernels import activations, costs, linear, optimizers
from fastffnn.kernels import dropout as dropout_kernels
from fastffnn.registry import REGRESSION_LOSSES

DTYPES = [np.float32, np.float64]

#: The one tolerance per dtype, relative to the largest magnitude of the expected array.
#: float32: eps32 = 1.2e-7; the longest reductions here (300 terms) stay ~1e-6 in practice.
#: float64: eps64 = 2.2e-16; the same reductions stay ~1e-14.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}

#: (units, examples): 1 example, 1 unit, tall, wide, odd batch.
SHAPES = [(5, 1), (1, 9), (300, 3), (3, 300), (7, 131)]

#: (n^[l], n^[l-1], m) for the linear layer: the same cases, plus 1 input unit and a wide fan-in.
LINEAR_SHAPES = [
    (5, 4, 1),
    (1, 4, 9),
    (3, 1, 9),
    (300, 7, 3),
    (3, 7, 300),
    (7, 11, 131),
    (4, 300, 5),
]

NEW_ACTIVATIONS = ["leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "mish"]  # A5-A11
ACTIVATION_NAMES = ["identity", "relu", "logistic", "tanh", "softmax", "exp", *NEW_ACTIVATIONS]
HIDDEN_ACTIVATIONS = ["identity", "relu", "logistic", "tanh", *NEW_ACTIVATIONS]

KERNELS = {
    "identity": (activations.identity_forward, activations.identity_backward),
    "relu": (activations.relu_forward, activations.relu_backward),
    "logistic": (activations.logistic_forward, activations.logistic_backward),
    "tanh": (activations.tanh_forward, activations.tanh_backward),
    "softmax": (activations.softmax_forward, activations.softmax_backward),
    "exp": (activations.exp_forward, activations.exp_backward),
    **{
        name: (getattr(activations, f"{name}_forward"), getattr(activations, f"{name}_backward"))
        for name in NEW_ACTIVATIONS
    },
}


def backward_input(name, Z, A):
    """What the backward kernel of ``name`` reads: Z for A5-A11, A for the others."""
    return Z if name in naive.READS_Z else A


#: Output layer + cost: (output activation, n^[L], target kind, cost). C1-C3, C5-C7 of MATH.md.
OUTPUTS = {
    "C1": ("logistic", 1, "binary", "logistic"),
    "C2": ("softmax", 3, "onehot", "softmax"),
    "C3": ("logistic", 3, "binary", "logistic"),
    "C5": ("identity", 2, "real", "squared_error"),
    "C6": ("exp", 2, "counts", "poisson"),
    "C7": ("identity", 2, "real", "huber"),
    "C8": ("identity", 2, "real", "absolute_error"),
    "C9": ("identity", 2, "real", "quantile"),
}

#: Cost name -> cost code (the classification costs named by their output activation).
COST_CODES = {
    "logistic": costs.LOGISTIC_LOSS,
    "softmax": costs.SOFTMAX_LOSS,
    **costs.REGRESSION_LOSSES,
}

#: The parameter each cost is evaluated with (naive.py's defaults), 0 for those without.
COST_PARAMETERS = {"huber": naive.HUBER_DELTA, "quantile": naive.QUANTILE}


def cost_parameter(cost):
    return COST_PARAMETERS.get(cost, 0.0)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def fortran(rng, shape, dtype, scale=1.0):
    """A random (units, examples) array of ``dtype`` in Fortran order."""
    return np.asfortranarray(scale * rng.standard_normal(shape)).astype(dtype, order="F")


def targets(rng, kind, n, m, dtype):
    """(n, m) targets in Fortran order: independent 0/1 labels, one-hot columns, real
    values (standard normal, every 5th scaled by 10: outliers for Huber's linear part)
    or Poisson counts (zeros included)."""
    if kind == "binary":
        Y = (rng.random((n, m)) < 0.5).astype(dtype)
    elif kind == "real":
        Y = rng.standard_normal((n, m))
        Y[:, ::5] *= 10
        Y = Y.astype(dtype)
    elif kind == "counts":
        Y = rng.poisson(1.5, (n, m)).astype(dtype)
    else:
        Y = np.zeros((n, m), dtype=dtype)
        Y[rng.integers(0, n, m), np.arange(m)] = 1
    return np.asfortranarray(Y)


def sample_weights(rng, m, dtype, weighted):
    """R2's s: ones, or non-uniform weights in [0.2, 3)."""
    if not weighted:
        return np.ones(m, dtype=dtype)
    return rng.uniform(0.2, 3.0, m).astype(dtype)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def assert_close(actual, expected, dtype, scale=None):
    """``actual`` has ``dtype`` and matches ``expected`` within RTOL[dtype] * scale.

    ``scale`` defaults to the largest magnitude in ``expected`` (at least 1e-300), so
    that entries near zero, left by cancellation in sums, are judged on the array's scale.
    """
    actual = np.asarray(actual)
    assert actual.dtype == dtype, f"{actual.dtype} != {np.dtype(dtype)}"
    expected = f64(expected)
    if scale is None:
        scale = max(np.max(np.abs(expected), initial=0.0), 1e-300)
    np.testing.assert_allclose(
        f64(actual), expected, rtol=RTOL[dtype], atol=RTOL[dtype] * scale, strict=True
    )


def return_dtype(dispatcher, *args):
    """The dtype numba compiled ``dispatcher(*args)`` to return (a float32 result is
    boxed as a Python float, so its dtype is only visible in the signature)."""
    key = tuple(numba.typeof(a) for a in args)
    return np.dtype(str(dispatcher.overloads[key].signature.return_type))


@contextmanager
def numba_threads(n):
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2,
    reason="needs NUMBA_NUM_THREADS >= 2 to compare 1 and 2 threads",
)


# --------------------------------------------------------------------------------------
# activations A0-A4: forward (F2) and backward (B1)
# --------------------------------------------------------------------------------------


@numba.njit
def data_cost_as_trained(A, Y, s, cost, delta):
    """costs.data_cost through the registry's table, on copies of A, Y (Fortran
    order) and s typed as training's (whatever the shape)."""
    return costs.data_cost(np.asfortranarray(A.copy()), np.asfortranarray(Y.copy()), s.copy(),
                           cost, delta)  # fmt: skip


@numba.njit
def forward_in_place(code, Z):
    """F2 through the registry's table, in place on a copy of Z typed as
    training's workspace slots are (Fortran order, whatever the shape)."""
    slot = np.asfortranarray(Z.copy())
    activations.activation_forward(code, slot, slot)
    return slot


@numba.njit
def backward_in_place(code, A, dA):
    """B1 through the registry's table, dZ overwriting a copy of dA (see forward_in_place)."""
    slot = np.asfortranarray(dA.copy())
    activations.activation_backward(code, np.asfortranarray(A.copy()), slot, slot)
    return slot


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_forward(dtype, shape, name):
    rng = np.random.default_rng(0)
    Z = fortran(rng, shape, dtype, scale=3.0)
    A = np.full(shape, np.nan, dtype=dtype, order="F")
    KERNELS[name][0](Z, A)
    assert_close(A, naive.ACTIVATIONS[name][0](f64(Z)), dtype)
    # F2 in place, as training runs it (A overwrites Z), and through the registry
    in_place = forward_in_place(activations.ACTIVATION_CODES[name], Z)
    np.testing.assert_array_equal(in_place, A)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_backward(dtype, shape, name):
    """Kernels take A (A5-A11: Z); the reference takes Z as MATH.md writes it (e.g. I(Z > 0))."""
    rng = np.random.default_rng(1)
    Z = fortran(rng, shape, dtype, scale=3.0)
    A = np.asfortranarray(naive.ACTIVATIONS[name][0](f64(Z))).astype(dtype, order="F")
    A = backward_input(name, Z, A)
    dA = fortran(rng, shape, dtype)
    dZ = np.full(shape, np.nan, dtype=dtype, order="F")
    KERNELS[name][1](A, dA, dZ)
    assert_close(dZ, naive.ACTIVATIONS[name][1](f64(Z), f64(dA)), dtype)
    # dZ aliasing dA, as training runs it, and through the registry
    in_place = backward_in_place(activations.ACTIVATION_CODES[name], A, dA)
    np.testing.assert_array_equal(in_place, dZ)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_naive_softmax_backward_is_b1_with_jacobian(shape):
    """The reference's A4 backward agrees with B1 applied literally (a check on naive.py)."""
    rng = np.random.default_rng(2)
    Z, dA = rng.standard_normal(shape), rng.standard_normal(shape)
    np.testing.assert_allclose(
        naive.softmax_backward(Z, dA), naive.softmax_backward_jacobian(Z, dA), rtol=0, atol=1e-14
    )


# --------------------------------------------------------------------------------------
# linear layer: F1, B2-B4
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _linear_forward_f(W_t, b, A_prev_t, Z_t):
    """F1 on Fortran-typed views, as the training loop hands them over (see below)."""
    linear.linear_forward(W_t.T, b, A_prev_t.T, Z_t.T)


@numba.njit(cache=True)
def _example_forward_f(W_t, b, A_prev_t, Z_t):
    """F1 of one example (the compiled loops of a one-row prediction), as above."""
    linear.example_forward(W_t.T, b, A_prev_t.T, Z_t.T)


@numba.njit(cache=True)
def _linear_backward_f(dZ_t, A_prev_t, W_t, dW_t, db, dA_prev_t):
    """B2-B4 on Fortran-typed views, as the training loop hands them over (see below)."""
    linear.linear_backward_params(dZ_t.T, A_prev_t.T, dW_t.T, db)
    linear.linear_backward_input(dZ_t.T, W_t.T, dA_prev_t.T)


# The training loop's views (network.layer_workspace / layer_parameters) are typed as
# Fortran-ordered arrays by numba whatever their shape. From Python, numba types an
# array with a dimension of 1 as C-ordered (it is both), which the linear kernels cannot
# compile for; kernels are internal and documented to take views made in compiled code
# (fastffnn/kernels/__init__.py), so the tests call them through the wrappers above.


@pytest.mark.parametrize("n, n_prev", [(5, 4), (130, 7), (2, 3), (1, 1), (300, 9)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_example_forward(dtype, n, n_prev):
    """F1 of a single example as loops (four columns of W a pass, then the rest)."""
    rng = np.random.default_rng(4)
    W, A_prev = fortran(rng, (n, n_prev), dtype), fortran(rng, (n_prev, 1), dtype)
    b = rng.standard_normal(n).astype(dtype)
    Z = np.full((n, 1), np.nan, dtype=dtype, order="F")
    _example_forward_f(W.T, b, A_prev.T, Z.T)
    scale = np.max(np.abs(f64(W)) @ np.abs(f64(A_prev)) + np.abs(f64(b))[:, None])
    assert_close(Z, naive.linear_forward(f64(W), f64(b), f64(A_prev)), dtype, scale)


@pytest.mark.parametrize("n, n_prev, m", LINEAR_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_forward(dtype, n, n_prev, m):
    rng = np.random.default_rng(3)
    W, A_prev = fortran(rng, (n, n_prev), dtype), fortran(rng, (n_prev, m), dtype)
    b = rng.standard_normal(n).astype(dtype)
    Z = np.full((n, m), np.nan, dtype=dtype, order="F")
    _linear_forward_f(W.T, b, A_prev.T, Z.T)
    # error bound of a dot product: eps * sum |w||a|, hence the scale |W| |A| + |b|
    scale = np.max(np.abs(f64(W)) @ np.abs(f64(A_prev)) + np.abs(f64(b))[:, None])
    assert_close(Z, naive.linear_forward(f64(W), f64(b), f64(A_prev)), dtype, scale)


@pytest.mark.parametrize("n, n_prev, m", LINEAR_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_backward(dtype, n, n_prev, m):
    rng = np.random.default_rng(4)
    dZ, A_prev = fortran(rng, (n, m), dtype), fortran(rng, (n_prev, m), dtype)
    W = fortran(rng, (n, n_prev), dtype)
    dW = np.full((n, n_prev), np.nan, dtype=dtype, order="F")
    db = np.full(n, np.nan, dtype=dtype)
    dA_prev = np.full((n_prev, m), np.nan, dtype=dtype, order="F")
    _linear_backward_f(dZ.T, A_prev.T, W.T, dW.T, db, dA_prev.T)
    dW_ref, db_ref = naive.linear_backward_params(f64(dZ), f64(A_prev))
    assert_close(dW, dW_ref, dtype, np.max(np.abs(f64(dZ)) @ np.abs(f64(A_prev)).T))
    assert_close(db, db_ref, dtype, np.max(np.abs(f64(dZ)).sum(axis=1)))
    scale = np.max(np.abs(f64(W)).T @ np.abs(f64(dZ)))
    assert_close(dA_prev, naive.linear_backward_input(f64(dZ), f64(W)), dtype, scale)


# --------------------------------------------------------------------------------------
# costs C1-C3, seeds, C4, R1, R2
# --------------------------------------------------------------------------------------


def cost_inputs(rng, output, shape, dtype, weighted):
    """A in (0, 1) from the output activation, matching targets Y, and weights s."""
    n, m = shape
    Z = 3.0 * rng.standard_normal((n, m))
    if output == "softmax":
        A, Y = naive.softmax(Z), targets(rng, "onehot", n, m, dtype)
    elif output == "poisson":
        A, Y = naive.exp(Z / 3), targets(rng, "counts", n, m, dtype)
    elif output in ("squared_error", "huber", "absolute_error", "quantile"):
        A, Y = Z, targets(rng, "real", n, m, dtype)
    else:
        A, Y = naive.sigmoid(Z), targets(rng, "binary", n, m, dtype)
    return np.asfortranarray(A).astype(dtype, order="F"), Y, sample_weights(rng, m, dtype, weighted)


COST_KERNELS = {
    "logistic": (costs.logistic_cross_entropy, costs.logistic_cross_entropy_seed),
    "softmax": (costs.softmax_cross_entropy, costs.softmax_cross_entropy_seed),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "R2"])
@pytest.mark.parametrize("output", ["logistic", "softmax"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_costs_and_seeds(dtype, shape, output, weighted):
    """C1/C3 (logistic) or C2 (softmax), its general seed, and C4, against naive.py.

    The reference takes A clipped as costs.py documents (only a 1-unit softmax, A = 1,
    reaches the clip here).
    """
    rng = np.random.default_rng(5)
    A, Y, s = cost_inputs(rng, output, shape, dtype, weighted)
    A_ref = naive.clip(f64(A), np.finfo(dtype).eps)
    cost_kernel, seed_kernel = COST_KERNELS[output]
    cost_ref, seed_ref = naive.COSTS[output]

    J = cost_kernel(A, Y, s)
    assert return_dtype(cost_kernel, A, Y, s) == dtype
    assert_close(np.asarray(J, dtype=dtype), cost_ref(A_ref, f64(Y), f64(s)), dtype)

    dA = np.full(shape, np.nan, dtype=dtype, order="F")
    seed_kernel(A, Y, s, dA)
    assert_close(dA, seed_ref(A_ref, f64(Y), f64(s)), dtype)

    dZ = np.full(shape, np.nan, dtype=dtype, order="F")
    costs.fused_seed(A, Y, s, s.sum(), dZ)
    assert_close(dZ, naive.fused_seed(f64(A), f64(Y), f64(s)), dtype)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "R2"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cost", list(REGRESSION_LOSSES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_costs_and_seeds(dtype, cost, shape, weighted):
    """C5-C9 (data_cost, as scikit-learn reports them), their general seeds and their
    fused seeds (output_seed) against naive.py."""
    rng = np.random.default_rng(5)
    A, Y, s = cost_inputs(rng, cost, shape, dtype, weighted)
    code = COST_CODES[cost]
    delta = dtype(cost_parameter(cost))
    cost_ref, seed_ref = naive.COSTS[cost]
    J = data_cost_as_trained(A, Y, s, code, delta)
    assert return_dtype(data_cost_as_trained, A, Y, s, code, delta) == dtype
    # scikit-learn's loss_ for squared error is the mean over outputs (naive: the sum)
    expected = cost_ref(f64(A), f64(Y), f64(s)) / (shape[0] if cost == "squared_error" else 1)
    assert_close(np.asarray(J, dtype=dtype), expected, dtype)

    dA = np.full(shape, np.nan, dtype=dtype, order="F")
    costs.general_seed(A, Y, s, code, delta, dA)
    assert_close(dA, seed_ref(f64(A), f64(Y), f64(s)), dtype)

    dZ = np.full(shape, np.nan, dtype=dtype, order="F")
    costs.output_seed(A, Y, s, s.sum(), code, delta, dZ)
    activation = OUTPUTS[REGRESSION_LOSSES[cost].equation][0]
    Z = np.log(f64(A)) if activation == "exp" else f64(A)
    expected = naive.ACTIVATIONS[activation][1](Z, seed_ref(f64(A), f64(Y), f64(s)))
    assert_close(dZ, expected, dtype)


def test_huber_cost_is_quadratic_then_linear():
    """C7's two pieces: r^2 / 2 up to delta, delta (|r| - delta / 2) beyond; seed clipped."""
    A = np.asfortranarray([[0.0, 0.3, -0.3, 2.0, -5.0]])
    Y = np.zeros_like(A, order="F")
    s = np.ones(5)
    per_example = np.array([0.0, 0.045, 0.045, 0.5 * (2.0 - 0.25), 0.5 * (5.0 - 0.25)])
    J = data_cost_as_trained(A, Y, s, costs.HUBER, 0.5)
    np.testing.assert_allclose(J, per_example.mean(), rtol=1e-15)
    dZ = np.empty_like(A)
    costs.output_seed(A, Y, s, 5.0, costs.HUBER, 0.5, dZ)
    np.testing.assert_allclose(dZ, [[0.0, 0.06, -0.06, 0.1, -0.1]], rtol=1e-15)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "R2"])
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("m", [1, 9, 131])
def test_general_seeds_agree_with_fused_seed(output, m, weighted):
    """The general seed passed through the output activation's backward is the fused
    seed: C4 for C1-C3 (A2 / A4), and C5-C7's through identity or exp."""
    activation, n, kind, cost = OUTPUTS[output]
    rng = np.random.default_rng(6)
    Z = fortran(rng, (n, m), np.float64, scale=2.0)
    Y, s = targets(rng, kind, n, m, np.float64), sample_weights(rng, m, np.float64, weighted)
    forward, backward = KERNELS[activation]
    A = np.empty_like(Z)
    forward(Z, A)
    dA, dZ_general, dZ_fused = (np.empty_like(Z) for _ in range(3))
    costs.general_seed(A, Y, s, COST_CODES[cost], cost_parameter(cost), dA)
    backward(A, dA, dZ_general)
    costs.output_seed(A, Y, s, s.sum(), COST_CODES[cost], cost_parameter(cost), dZ_fused)
    scale = np.max(np.abs(dZ_fused))
    np.testing.assert_allclose(dZ_general, dZ_fused, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_squared_norm(dtype, shape):
    """R1's ||W||^2."""
    rng = np.random.default_rng(7)
    W = fortran(rng, shape, dtype)
    norm = costs.squared_norm(W)
    assert return_dtype(costs.squared_norm, W) == dtype
    assert_close(np.asarray(norm, dtype=dtype), naive.squared_norm(f64(W)), dtype)


@pytest.mark.parametrize("scale", [0.0, 0.12])
@pytest.mark.parametrize("n_chunks", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_block_gradients(dtype, n_chunks, scale):
    """Chunks added up plus R1's gradient dW += (alpha / sum s) W on the weights only,
    over ranges that start and end inside weights and biases of different layers."""
    sizes = np.array([3, 4, 2], dtype=np.int64)  # W1 [0, 12), b1 [12, 16), W2 [16, 24), b2
    n_params = network.count_parameters(sizes)
    rng = np.random.default_rng(11)
    params = rng.standard_normal(n_params).astype(dtype)
    chunk_grads = rng.standard_normal((n_chunks, n_params)).astype(dtype)
    is_weight = np.zeros(n_params, dtype=bool)
    is_weight[0:12] = is_weight[16:24] = True
    expected = f64(chunk_grads).sum(axis=0) + scale * np.where(is_weight, f64(params), 0.0)
    grads = np.full(n_params, np.nan, dtype=dtype)
    norms = []
    for start, stop in [(0, 5), (5, 14), (14, 17), (17, n_params)]:
        norms.append(costs.sum_block_gradients(
            chunk_grads, params, sizes, dtype(scale), start, stop, grads
        ))  # fmt: skip
    assert_close(grads, expected, dtype)
    expected_norm = np.sum(f64(params)[is_weight] ** 2) if scale else 0.0
    assert_close(np.asarray(sum(norms), dtype=dtype), expected_norm, dtype)


# --------------------------------------------------------------------------------------
# optimizers (scikit-learn's rules) and the network's memory layout
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 9, 917])
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step(dtype, size):
    rng = np.random.default_rng(8)
    params, grads = (rng.standard_normal(size).astype(dtype) for _ in range(2))
    first = rng.standard_normal(size).astype(dtype)
    second = rng.uniform(0.0, 1.0, size).astype(dtype)
    t, lr, b1, b2, eps = 3, 1e-3, 0.9, 0.999, 1e-8
    expected = naive.adam_step(f64(params), f64(grads), f64(first), f64(second), t, lr, b1, b2, eps)
    step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)  # bias corrections folded in by the caller
    hyper = (dtype(step), dtype(b1), dtype(b2), dtype(eps))
    optimizers.adam_step(params, grads, first, second, *hyper)
    for actual, reference in zip((params, first, second), expected, strict=True):
        assert_close(actual, reference, dtype)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("size", [1, 9, 917])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_step(dtype, size, nesterov):
    rng = np.random.default_rng(9)
    params, grads, velocity = (rng.standard_normal(size).astype(dtype) for _ in range(3))
    expected = naive.sgd_step(f64(params), f64(grads), f64(velocity), 0.1, 0.9, nesterov)
    optimizers.sgd_step(params, grads, velocity, dtype(0.1), dtype(0.9), nesterov)
    assert_close(params, expected[0], dtype)
    assert_close(velocity, expected[1], dtype)


def test_network_views():
    """layer_parameters gives W^[l] = coef_l^T and b^[l] as views; workspaces are (n^[l], m)."""
    sizes = np.array([3, 5, 2], dtype=np.int64)
    params = np.arange(network.count_parameters(sizes), dtype=np.float64)
    coefs, intercepts = network.parameter_views(params, sizes)
    assert params.size == 3 * 5 + 5 + 5 * 2 + 2
    for l in (1, 2):
        W, b = network.layer_parameters(params, sizes, l)
        assert W.flags.f_contiguous and W.shape == (sizes[l], sizes[l - 1])
        np.testing.assert_array_equal(W, coefs[l - 1].T)
        np.testing.assert_array_equal(b, intercepts[l - 1])
    capacity, m = 7, 4
    buffer = np.zeros(network.workspace_size(sizes, capacity))
    assert buffer.size == 2 * capacity * (5 + 2)  # two slots per layer
    A2 = network.layer_workspace(buffer, sizes, 2, m, capacity)
    assert A2.shape == (2, m) and A2.flags.f_contiguous
    A2[...] = 1.0
    assert np.count_nonzero(buffer[: capacity * 5]) == 0  # layer 1's slot untouched
    assert np.count_nonzero(buffer[capacity * 5 :]) == 2 * m
    Z1 = network.second_slot(buffer, sizes, 1, m, capacity)
    assert Z1.shape == (5, m) and Z1.flags.f_contiguous
    Z1[...] = 2.0
    assert np.count_nonzero(buffer[: capacity * 7]) == 2 * m  # the first slots untouched
    assert np.count_nonzero(buffer[capacity * 7 : capacity * 7 + 5 * m] == 2.0) == 5 * m


# --------------------------------------------------------------------------------------
# whole networks: loss_and_gradient against finite differences and against naive.py
# --------------------------------------------------------------------------------------


def make_network(seed, n_hidden, hidden, output, dtype, m=6, n_in=3, weighted=False):
    """A small random network and batch. Returns a dict of everything the kernels need."""
    out_activation, n_out, kind, cost = OUTPUTS[output]
    widths = [4, 5, 3][:n_hidden]
    sizes = np.array([n_in, *widths, n_out], dtype=np.int64)
    names = (list(hidden) if isinstance(hidden, list) else [hidden] * n_hidden) + [out_activation]
    rng = np.random.default_rng(seed)
    Ws = [
        1.2 * rng.standard_normal((sizes[l], sizes[l - 1])) / np.sqrt(sizes[l - 1])
        for l in range(1, len(sizes))
    ]
    bs = [0.5 * rng.standard_normal(sizes[l]) for l in range(1, len(sizes))]
    X = np.ascontiguousarray(rng.standard_normal((m, n_in))).astype(dtype)  # C order: A0 = X.T
    Y = np.ascontiguousarray(targets(rng, kind, n_out, m, dtype).T)
    return {
        "sizes": sizes,
        "names": names,
        "codes": np.array(
            [activations.ACTIVATION_CODES[n] for n in names] + [COST_CODES[cost]], dtype=np.int64
        ),
        "cost": cost,
        "delta": dtype(cost_parameter(cost)),
        "params": network.pack_parameters([W.T for W in Ws], bs, dtype),
        "X": X,
        "Y": Y,
        "s": sample_weights(rng, m, dtype, weighted),
    }


def reference_parameters(net):
    """(Ws, bs) in MATH.md's layout, float64, read through network.parameter_views."""
    coefs, intercepts = network.parameter_views(f64(net["params"]), net["sizes"])
    return [c.T for c in coefs], list(intercepts)


def network_bundle(net, params=None):
    """The ``bundles.Network`` of ``net`` (or of ``params`` in its layout)."""
    params = net["params"] if params is None else params
    return boundary.network(params, net["sizes"], net["codes"], net["delta"])


def training_data(net):
    return boundary.training_data(net["X"], net["Y"], net["s"], net["X"].dtype)


def loss_and_gradient_arguments(net, params, alpha, n_chunks=1):
    """The arguments of training.batch_loss_and_gradient on the whole batch cut into
    ``n_chunks``, with fresh NaN-filled workspaces; ``work.grads`` receives the gradient."""
    X, sizes = net["X"], net["sizes"]
    size = network.workspace_size(sizes, -(-X.shape[0] // n_chunks))
    work = solvers.Workspaces(
        np.full((n_chunks, size), np.nan, dtype=params.dtype),
        np.full((n_chunks, size), np.nan, dtype=params.dtype),
        np.full((n_chunks, params.size), np.nan, dtype=params.dtype),
        np.full(params.size, np.nan, dtype=params.dtype),
    )
    penalty = solvers.regularization(alpha, params.dtype)
    return (training_data(net), network_bundle(net, params), work, penalty, np.uint64(0))


def kernel_loss_and_gradient(net, params, alpha, n_chunks=1):
    """training.batch_loss_and_gradient (L-BFGS's entry); returns (J as training reports
    it, grads as a flat buffer)."""
    arguments = loss_and_gradient_arguments(net, params, alpha, n_chunks)
    J = training.batch_loss_and_gradient(*arguments)
    return J, arguments[2].grads


def kernel_objective(net, params, alpha):
    """propagation.objective: the cost whose gradient training follows (for squared error
    n^[L] times the reported J)."""
    X, sizes = net["X"], net["sizes"]
    m = X.shape[0]
    work = np.empty(network.workspace_size(sizes, m), dtype=params.dtype)
    model = network_bundle(net, params)
    no_dropout = Dropout(np.empty(0), np.empty(0, dtype=np.int64), np.uint64(0), work)
    return forward_objective(X, net["Y"], net["s"], model, work, no_dropout, alpha)


@numba.njit
def forward_objective(X, Y, s, model, work, no_dropout, alpha):
    """F1-F3 with R1 as compiled code runs them (A^[L] stays a workspace slot)."""
    A_out = propagation.forward(X.T, model, work, X.shape[0], no_dropout)
    return propagation.objective(A_out, Y.T, s, model, model.params.dtype.type(alpha))


def well_posed(net, margin=1e-3):
    """True when every hidden pre-activation is at least ``margin`` from 0 (ReLU's kink, far
    compared with the finite-difference step) and every hidden unit is active on some
    example (no ReLU layer dead, so that no gradient is trivially 0)."""
    Ws, bs = reference_parameters(net)
    Zs, _ = naive.forward(f64(net["X"]).T, Ws, bs, net["names"])
    hidden = Zs[1:-1]
    return all(np.min(np.abs(Z)) > margin and np.all((Z > 0).any(axis=1)) for Z in hidden)


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


PENALTIES = {"plain": (0.0, False), "R1": (0.3, False), "R2": (0.0, True), "R1+R2": (0.3, True)}

#: (hidden activation, number of hidden layers): 1 to 3 of each, and none at all once.
HIDDEN_STACKS = [("none", 0)] + [(g, k) for g in HIDDEN_ACTIVATIONS for k in (1, 2, 3)]


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("hidden, n_hidden", HIDDEN_STACKS)
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_gradient_finite_differences(output, hidden, n_hidden, penalty):
    """Central differences of J (float64) w.r.t. every W^[l] and b^[l], relative error <= 1e-6."""
    alpha, weighted = PENALTIES[penalty]
    h = 1e-6
    for seed in itertools.count(10):  # the first well-posed network (seeds fixed: reproducible)
        net = make_network(seed, n_hidden, hidden, output, np.float64, m=8, weighted=weighted)
        if well_posed(net):
            break
    params = net["params"]
    _, grads = kernel_loss_and_gradient(net, params, alpha)
    numeric = np.empty_like(params)
    for k in range(params.size):
        plus, minus = params.copy(), params.copy()
        plus[k] += h
        minus[k] -= h
        J_plus = kernel_objective(net, plus, alpha)
        J_minus = kernel_objective(net, minus, alpha)
        numeric[k] = (J_plus - J_minus) / (2 * h)
    coefs, intercepts = network.parameter_views(grads, net["sizes"])
    coefs_fd, intercepts_fd = network.parameter_views(numeric, net["sizes"])
    for l in range(len(coefs)):
        assert relative_error(coefs[l], coefs_fd[l]) <= 1e-6, f"dW^[{l + 1}]"
        assert relative_error(intercepts[l], intercepts_fd[l]) <= 1e-6, f"db^[{l + 1}]"


@pytest.mark.parametrize("penalty", ["plain", "R1+R2"])
@pytest.mark.parametrize("hidden, n_hidden", HIDDEN_STACKS)
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_and_gradient_against_naive_backprop(dtype, output, hidden, n_hidden, penalty):
    """J and every dW^[l], db^[l] against naive.backprop (general seeds, not the fused ones),
    on the whole batch and cut into 3 chunks."""
    alpha, weighted = PENALTIES[penalty]
    net = make_network(20, n_hidden, hidden, output, dtype, m=13, weighted=weighted)
    alpha = dtype(alpha)  # hyperparameters arrive in the parameters' dtype
    J, grads = kernel_loss_and_gradient(net, net["params"], alpha)
    arguments = loss_and_gradient_arguments(net, net["params"], alpha)
    assert return_dtype(training.batch_loss_and_gradient, *arguments) == dtype

    Ws, bs = reference_parameters(net)
    J_ref, dWs, dbs = naive.backprop(
        f64(net["X"]).T, f64(net["Y"]).T, Ws, bs, net["names"], float(alpha), f64(net["s"]),
        cost_name=net["cost"],
    )  # fmt: skip
    assert_close(np.asarray(kernel_objective(net, net["params"], alpha), dtype=dtype), J_ref,
                 dtype)  # fmt: skip
    if net["cost"] == "squared_error":  # reported as scikit-learn's loss_: mean over outputs
        J_ref = J_ref - naive.l2_penalty(Ws, float(alpha), f64(net["s"]).sum())
        J_ref = J_ref / net["sizes"][-1] + naive.l2_penalty(Ws, float(alpha), f64(net["s"]).sum())
    assert_close(np.asarray(J, dtype=dtype), J_ref, dtype)
    coefs, intercepts = network.parameter_views(grads, net["sizes"])
    for l in range(len(Ws)):
        # one scale per layer: a single output's db (a sum over examples that
        # cancels to ~1e-4 of its terms) cannot be judged on its own magnitude in float32
        scale = max(np.max(np.abs(dWs[l])), np.max(np.abs(dbs[l])))
        assert_close(coefs[l].T, dWs[l], dtype, scale=scale)
        assert_close(intercepts[l], dbs[l], dtype, scale=scale)

    # cut into 3 chunks (5, 5, 3 examples): the same within rounding
    J_chunked, grads_chunked = kernel_loss_and_gradient(net, net["params"], alpha, n_chunks=3)
    assert_close(np.asarray(J_chunked, dtype=dtype), J_ref, dtype)
    assert_close(grads_chunked, f64(grads), dtype)


# --------------------------------------------------------------------------------------
# extremes
# --------------------------------------------------------------------------------------

#: Columns: saturated either way, a tie at +1000, and zeros.
Z_EXTREME = np.array(
    [[1000.0, -1000.0, 1000.0, 0.0], [-1000.0, 1000.0, 1000.0, 0.0], [0.0, 0.0, -1000.0, 0.0]]
)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_at_extremes(dtype, name):
    Z = np.asfortranarray(Z_EXTREME, dtype=dtype)
    A = np.empty_like(Z)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        KERNELS[name][0](Z, A)
    if name == "exp":  # unbounded by definition: exactly inf above its range, 0 below
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(A, np.exp(Z_EXTREME.astype(dtype)))
        return
    assert np.all(np.isfinite(A))
    if name == "logistic":
        expected = np.where(Z_EXTREME > 0, 1.0, np.where(Z_EXTREME < 0, 0.0, 0.5))
        np.testing.assert_array_equal(A, expected.astype(dtype))  # exactly 0 and 1
    if name == "tanh":
        np.testing.assert_array_equal(A, np.sign(Z_EXTREME).astype(dtype))
    if name == "softmax":
        assert np.all((A >= 0) & (A <= 1))
        assert_close(A.sum(axis=0), np.ones(4), dtype, scale=1.0)
        expected = [[1, 0, 0.5, 1 / 3], [0, 1, 0.5, 1 / 3], [0, 0, 0, 1 / 3]]
        assert_close(A, expected, dtype)
    if name in ("identity", "relu", *NEW_ACTIVATIONS):
        assert_close(A, naive.ACTIVATIONS[name][0](Z_EXTREME), dtype)


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_new_activations_stay_finite_and_accurate_to_1e3(dtype, name):
    """A5-A11 forward and backward for z in [-1e3, 1e3] (saturated tails, the
    cancellation-prone range around 0, and z where exp(z) under- or overflows),
    against scipy-based float64 references."""
    z = np.concatenate([np.linspace(-1e3, 1e3, 401), np.linspace(-40, 40, 801), [0.0]])
    Z = np.asfortranarray(z.reshape(1, -1)).astype(dtype)
    A, dZ = np.empty_like(Z), np.empty_like(Z)
    KERNELS[name][0](Z, A)
    KERNELS[name][1](Z, np.ones_like(Z), dZ)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    # relative to the value, plus an absolute floor of a few ulps of 1: near a zero
    # of g' (SiLU's at z = -1.28, Mish's at -1.19) its terms of size ~0.2 cancel, and
    # in the underflowing tails (|g| < 1e-30) relative accuracy means nothing
    rtol = {np.float32: 2e-6, np.float64: 1e-13}[dtype]
    atol = {np.float32: 1e-7, np.float64: 1e-15}[dtype]
    forward_ref, backward_ref = naive.ACTIVATIONS[name]
    for got, expected in ((A, forward_ref(f64(Z))), (dZ, backward_ref(f64(Z), np.ones(Z.shape)))):
        error = np.abs(f64(got) - expected)
        worst = np.max(error - rtol * np.abs(expected))
        assert worst <= atol, (name, float(worst))


@pytest.mark.parametrize("output", ["logistic", "softmax"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_costs_with_saturated_outputs(dtype, output):
    """A exactly 0 or 1 (wrong and right): finite costs and seeds, as the clipped reference."""
    if output == "logistic":
        A = np.array([[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.5]])
        Y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]])
    else:
        A = np.array([[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.0]])
        Y = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]])
    A_k, Y_k = np.asfortranarray(A, dtype=dtype), np.asfortranarray(Y, dtype=dtype)
    s = np.array([1.0, 2.0, 0.5, 1.0], dtype=dtype)
    A_ref = naive.clip(A, np.finfo(dtype).eps)
    cost_kernel, seed_kernel = COST_KERNELS[output]
    cost_ref, seed_ref = naive.COSTS[output]
    J = cost_kernel(A_k, Y_k, s)
    assert np.isfinite(J)
    assert_close(np.asarray(J, dtype=dtype), cost_ref(A_ref, Y, f64(s)), dtype)
    dA = np.empty_like(A_k)
    seed_kernel(A_k, Y_k, s, dA)
    assert np.all(np.isfinite(dA))
    assert_close(dA, seed_ref(A_ref, Y, f64(s)), dtype)


# C6 is left out: its exp output overflows for pre-activations in the thousands, by
# definition; the estimators stop at the last finite weights (test_reliability.py).
@pytest.mark.parametrize("output", ["C1", "C2", "C3", "C5", "C7"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_saturated_network_gives_finite_loss_and_gradient(dtype, output):
    """Weights x1000: pre-activations in the thousands, outputs exactly 0 / 1."""
    net = make_network(30, 2, "tanh", output, dtype, m=9)
    params = net["params"] * dtype(1000)
    J, grads = kernel_loss_and_gradient(net, params, dtype(0.1))
    assert np.isfinite(J) and 0 <= J <= 1e9
    assert np.all(np.isfinite(grads))


# --------------------------------------------------------------------------------------
# thread-count independence
# --------------------------------------------------------------------------------------


def _kernel_cases(n=37, m=131):
    """name -> function(rng) that runs one parallel kernel on fresh (n, m) float64 inputs
    (n_prev = 11 inputs for the linear layer, 999 parameters for the optimizers), returning
    its outputs as a list of arrays."""
    n_prev, f8 = 11, np.float64

    def activation_case(name, direction):
        def run(rng):
            Z = fortran(rng, (n, m), f8, 3.0)
            out = np.empty_like(Z)
            if direction == "forward":
                KERNELS[name][0](Z, out)
            else:
                A = backward_input(name, Z, np.asfortranarray(naive.ACTIVATIONS[name][0](Z)))
                KERNELS[name][1](A, fortran(rng, (n, m), f8), out)
            return [out]

        return run

    def cost_case(output, which):
        def run(rng):
            A, Y, s = cost_inputs(rng, output, (n, m), f8, True)
            if which == "cost":
                return [np.float64(COST_KERNELS[output][0](A, Y, s))]
            dA = np.empty_like(A)
            if which == "seed":
                COST_KERNELS[output][1](A, Y, s, dA)
            else:
                costs.fused_seed(A, Y, s, s.sum(), dA)
            return [dA]

        return run

    def linear_forward(rng):
        W, A_prev = fortran(rng, (n, n_prev), f8), fortran(rng, (n_prev, m), f8)
        Z = np.empty((n, m), order="F")
        linear.linear_forward(W, rng.standard_normal(n), A_prev, Z)
        return [Z]

    def linear_backward(rng):
        dZ, A_prev = fortran(rng, (n, m), f8), fortran(rng, (n_prev, m), f8)
        dW, db = np.empty((n, n_prev), order="F"), np.empty(n)
        linear.linear_backward_params(dZ, A_prev, dW, db)
        dA_prev = np.empty((n_prev, m), order="F")
        linear.linear_backward_input(dZ, fortran(rng, (n, n_prev), f8), dA_prev)
        return [dW, db, dA_prev]

    def squared_norm(rng):
        return [np.float64(costs.squared_norm(fortran(rng, (n, m), f8)))]

    def finish_batch(rng):
        sizes = np.array([n_prev, 300, 40], dtype=np.int64)  # 6 blocks of parameters
        n_params = network.count_parameters(sizes)
        params, state = rng.standard_normal(n_params), rng.random(2 * n_params)
        chunk_grads, grads = rng.standard_normal((3, n_params)), np.empty(n_params)
        work = solvers.Workspaces(np.empty((3, 0)), np.empty((3, 0)), chunk_grads, grads)
        penalty = training.finish_batch(
            boundary.network(params, sizes, np.zeros(2)), work,
            solvers.Optimizer(np.int64(optimizers.ADAM), HYPER, False, state),
            solvers.regularization(1e-2, params.dtype), Step(HYPER.learning_rate, 4, np.uint64(0)),
            3.0,
        )  # fmt: skip
        return [np.float64(penalty), grads, params, state]

    def adam(rng):
        p, g, v1 = (rng.standard_normal(999) for _ in range(3))
        v2 = rng.random(999)
        optimizers.adam_step(p, g, v1, v2, 1e-3, 0.9, 0.999, 1e-8)
        return [p, v1, v2]

    def sgd(rng):
        p, g, v = (rng.standard_normal(999) for _ in range(3))
        optimizers.sgd_step(p, g, v, 0.1, 0.9, True)
        return [p, v]

    def gather(rng):
        X, Y, s = rng.standard_normal((50, 4)), rng.standard_normal((50, 3)), rng.random(50)
        rows = rng.permutation(50)[17:37]
        Xb, Yb, sb = np.empty((20, 4)), np.empty((20, 3)), np.empty(20)
        data, buffers = boundary.training_data(X, Y, s, np.float64), Buffers(Xb, Yb, sb)
        batch = Batch(data, rows, rows, 1.0)
        X_c, Y_c, s_c = training.batch_rows(batch, buffers, 5, 20)
        np.testing.assert_array_equal(X_c, X[rows[5:]])
        np.testing.assert_array_equal(Y_c, Y[rows[5:]])
        np.testing.assert_array_equal(s_c, s[rows[5:]])
        whole = training.batch_rows(batch._replace(rows=rows[:0]), buffers, 3, 9)
        np.testing.assert_array_equal(whole[0], X[3:9])
        return [Xb[5:], Yb[5:], sb[5:]]

    cases = {}
    for name in ACTIVATION_NAMES:
        for direction in ("forward", "backward"):
            cases[f"{name}_{direction}"] = activation_case(name, direction)
    for output in ("logistic", "softmax"):
        for which in ("cost", "seed"):
            cases[f"{output}_cross_entropy_{which}"] = cost_case(output, which)
    cases["fused_seed"] = cost_case("logistic", "fused")
    cases.update(
        linear_forward=linear_forward,
        linear_backward=linear_backward,
        squared_norm=squared_norm,
        finish_batch=finish_batch,
        adam_step=adam,
        sgd_step=sgd,
        batch_rows=gather,
    )
    return cases


KERNEL_CASES = _kernel_cases()

#: The kernels that end in a reduction over examples (costs: sum_i; seeds: sum_i s_i) or
#: columns (||W||^2), on 100003 of them, where a change of summation order shows.
REDUCTION_CASES = {
    name: case
    for name, case in _kernel_cases(n=3, m=100003).items()
    if "cross_entropy" in name or name in ("fused_seed", "squared_norm")
}


def run_with_threads(case, threads):
    with numba_threads(threads):
        return case(np.random.default_rng(40))


@needs_two_threads
@pytest.mark.parametrize("case", list(KERNEL_CASES))
def test_kernels_independent_of_thread_count(case):
    """1 and 2 numba threads agree within RTOL[float64] (the brief's <= 1e-12)."""
    one, two = (run_with_threads(KERNEL_CASES[case], threads) for threads in (1, 2))
    for a, b in zip(one, two, strict=True):
        assert_close(b, a, np.float64)


#: Bitwise: every kernel but the reductions, which run on 100003 examples (columns) instead,
#: where a change of summation order shows reliably. sgd_step makes no promise and is
#: left to the test above: as loaded from numba's cache (every process but the one that
#: compiled it), its Nesterov update differs by 1 ulp at the ends of the threads' chunks;
#: freshly compiled, it does not.
BITWISE_CASES = [c for c in KERNEL_CASES if c not in REDUCTION_CASES and c != "sgd_step"] + [
    f"{c}[m=100003]" for c in REDUCTION_CASES
]


@needs_two_threads
@pytest.mark.parametrize("case", BITWISE_CASES)
def test_kernels_bitwise_independent_of_thread_count(case):
    """1 thread once and 2 threads five times give the same bits.

    activations.py and squared_norm promise this ("no result depends on the number of
    threads"). Fails today for the cost kernels and squared_norm (kernel bug): with
    parallel=True numba turns their final ``np.sum`` over examples or columns into a
    parallel reduction (fused into the prange loop), so the summation order follows the
    thread count and, with 2 threads, tbb's scheduling (different bits from run to run).
    """
    name = case.removesuffix("[m=100003]")
    run = REDUCTION_CASES[name] if case.endswith("[m=100003]") else KERNEL_CASES[name]
    reference = run_with_threads(run, 1)
    for _ in range(5):
        for a, b in zip(reference, run_with_threads(run, 2), strict=True):
            np.testing.assert_array_equal(b, a)


# --------------------------------------------------------------------------------------
# train_epoch and predict_rows
# --------------------------------------------------------------------------------------

HYPER = Hyperparameters(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum=0.9,
                        weight_decay=0.0, cosine_steps=0.0, warmup_steps=0.0)  # fmt: skip


def make_training(dtype, output="C2", hidden="relu", n_samples=23, batch_size=8, alpha=1e-3,
                  n_chunks=1):  # fmt: skip
    """Inputs of train_epoch; ``n_chunks`` > 1 splits each batch (chunked_gradients)."""
    net = make_network(50, 2, hidden, output, dtype, m=n_samples, weighted=True)
    sizes = net["sizes"]
    size = network.workspace_size(sizes, -(-batch_size // n_chunks))
    net.update(
        batch_size=batch_size,
        alpha=dtype(alpha),
        buffers=Buffers(
            np.empty((batch_size, sizes[0]), dtype=dtype),
            np.empty((batch_size, sizes[-1]), dtype=dtype),
            np.empty(batch_size, dtype=dtype),
        ),  # fmt: skip
        work=solvers.Workspaces(
            np.empty((n_chunks, size), dtype=dtype),
            np.empty((n_chunks, size), dtype=dtype),
            np.empty((n_chunks, net["params"].size), dtype=dtype),
            np.empty(net["params"].size, dtype=dtype),
        ),  # fmt: skip
    )
    return net


def run_epochs(net, n_epochs, shuffle, solver, seed=0, nesterov=True, hyper=None,
               dropout=None, mask_seed=0):  # fmt: skip
    """train_epoch ``n_epochs`` times from the same start. Returns (params, losses, orders, t)."""
    params = net["params"].copy()
    state = np.zeros(2 * params.size, dtype=params.dtype)
    order = np.arange(net["X"].shape[0], dtype=np.int64)
    rng = np.random.default_rng(seed)
    t, step, losses, orders = 0, 0, [], []
    hyper = HYPER if hyper is None else hyper
    dropout = np.empty(0) if dropout is None else np.asarray(dropout, dtype=np.float64)
    batching = solvers.Batching(order, shuffle, np.int64(net["batch_size"]), net["buffers"])
    optimizer = solvers.Optimizer(np.int64(solver), hyper, nesterov, state)
    penalty = Regularization(net["alpha"], dropout, np.int64(mask_seed))
    for _ in range(n_epochs):
        if shuffle:
            rng.shuffle(order)  # as solvers.EpochRunner does
        total, t = training.train_epoch(
            training_data(net), batching, network_bundle(net, params), net["work"], optimizer,
            penalty, np.int64(t), np.int64(step),
        )  # fmt: skip
        step += -(-net["X"].shape[0] // net["batch_size"])
        losses.append(total)
        orders.append(order.copy())
    return params, losses, orders, t


def naive_rate(hyper, step):
    """S1 as MATH.md writes it, for update ``step`` (0, 1, ...): warm-up, then cosine."""
    eta, total, warmup = hyper[0], hyper[6], hyper[7]
    if total == 0:
        return eta
    if step < warmup:
        return eta * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (total - warmup))
    return eta * (1 + np.cos(np.pi * progress)) / 2


def reference_masks(net, dropout, mask_seed, step, rows):
    """D1's masks of one update (``M / (1 - p)`` per layer, None for no dropout), drawn by
    the dropout kernel on ones: the mask is defined by that hash of (seed, step, layer,
    row, unit); what this checks is that training applies it where D1 says."""
    if dropout is None:
        return None
    key = np.uint64(dropout_kernels.step_key(np.int64(mask_seed), np.int64(step)))
    masks = []
    for l, rate in enumerate([*dropout, 0.0], start=1):
        if rate == 0:
            masks.append(None)
            continue
        ones = np.ones((int(net["sizes"][l]), rows.size), order="F")
        mask = np.empty_like(ones)
        layer = np.uint64(dropout_kernels.layer_key(key, np.int64(l)))
        dropout_kernels.apply_dropout(ones, mask, rows.astype(np.int64), layer, rate)
        masks.append(mask)
    return masks


def naive_epochs(net, orders, solver, nesterov=True, hyper=None, dropout=None, mask_seed=0):
    """The same mini-batch training with naive.backprop and naive's optimizer steps,
    plus W1 (weight decay after the step), S1 (``naive_rate``) and D1."""
    params = f64(net["params"]).copy()
    first, second = np.zeros_like(params), np.zeros_like(params)
    X, Y, s = f64(net["X"]), f64(net["Y"]), f64(net["s"])
    hyper = HYPER if hyper is None else hyper
    _, b1, b2, eps, momentum, decay = hyper[:6]
    t, step, losses, batch = 0, 0, [], net["batch_size"]
    is_weight = network.pack_parameters(
        [np.ones((int(a), int(b))) for a, b in zip(net["sizes"][:-1], net["sizes"][1:])],
        [np.zeros(int(b)) for b in net["sizes"][1:]], np.float64,
    ) > 0  # fmt: skip
    for order in orders:
        total = 0.0
        for start in range(0, X.shape[0], batch):
            rows = order[start : start + batch]
            lr = naive_rate(hyper, step)
            masks = reference_masks(net, dropout, mask_seed, step, rows)
            step += 1
            coefs, intercepts = network.parameter_views(params, net["sizes"])
            Ws, bs = [c.T for c in coefs], list(intercepts)
            J, dWs, dbs = naive.backprop(
                X[rows].T, Y[rows].T, Ws, bs, net["names"], float(net["alpha"]), s[rows],
                cost_name=net["cost"], masks=masks,
            )  # fmt: skip
            total += J * rows.size
            grads = network.pack_parameters([dW.T for dW in dWs], dbs, np.float64)
            if solver == optimizers.ADAM:
                t += 1
                params, first, second = naive.adam_step(
                    params, grads, first, second, t, lr, b1, b2, eps
                )
            else:
                params, first = naive.sgd_step(params, grads, first, lr, momentum, nesterov)
            params = np.where(is_weight, params - lr * decay * params, params)  # W1
        losses.append(total)
    return params, losses, t


@pytest.mark.parametrize("output", ["C2", "C6", "C7"])
@pytest.mark.parametrize("n_chunks", [1, 2, 3], ids=lambda c: f"{c}chunks")
@pytest.mark.parametrize("solver", [optimizers.ADAM, optimizers.SGD], ids=["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["in_order", "shuffled"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_against_naive(dtype, shuffle, solver, n_chunks, output):
    """Three epochs of 3 batches (8, 8, 7 examples) replayed with naive.py, each batch
    whole or cut into chunks (7 examples in 3 chunks: 3, 3, 1)."""
    net = make_training(dtype, output=output, n_chunks=n_chunks)
    params, losses, orders, t = run_epochs(net, 3, shuffle, solver)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(23))
    if not shuffle:
        np.testing.assert_array_equal(orders[-1], np.arange(23))
    else:
        assert not np.array_equal(orders[0], np.arange(23))
    expected_params, expected_losses, expected_t = naive_epochs(net, orders, solver)
    assert t == (expected_t if solver == optimizers.ADAM else 0)
    assert params.dtype == dtype
    assert_close(params, expected_params, dtype)
    np.testing.assert_allclose(losses, expected_losses, rtol=RTOL[dtype])


#: Options of issue 15: (weight decay, cosine steps, warm-up steps, dropout rates of 2 layers)
TRAINING_OPTIONS = {
    "weight_decay": (0.05, 0, 0, None),
    "cosine": (0.0, 9, 0, None),
    "cosine_warmup": (0.0, 9, 4, None),
    "dropout": (0.0, 0, 0, [0.3, 0.0]),
    "all": (0.05, 9, 2, [0.2, 0.5]),
}


@pytest.mark.parametrize("option", list(TRAINING_OPTIONS))
@pytest.mark.parametrize("n_chunks", [1, 3], ids=lambda c: f"{c}chunks")
@pytest.mark.parametrize("solver", [optimizers.ADAM, optimizers.SGD], ids=["adam", "sgd"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_options_against_naive(dtype, solver, n_chunks, option):
    """W1, S1 (with and without warm-up) and D1 on two hidden layers (tanh, then
    gelu, whose B1 reads Z): three shuffled epochs against naive_epochs."""
    decay, cosine, warmup, dropout = TRAINING_OPTIONS[option]
    net = make_training(dtype, hidden=["tanh", "gelu"], n_chunks=n_chunks)
    hyper = HYPER._replace(learning_rate=0.05, weight_decay=decay, cosine_steps=float(cosine),
                           warmup_steps=float(warmup))  # fmt: skip
    params, losses, orders, _ = run_epochs(net, 3, True, solver, hyper=hyper, dropout=dropout,
                                           mask_seed=11)  # fmt: skip
    expected_params, expected_losses, _ = naive_epochs(net, orders, solver, hyper=hyper,
                                                       dropout=dropout, mask_seed=11)  # fmt: skip
    assert_close(params, expected_params, dtype)
    np.testing.assert_allclose(losses, expected_losses, rtol=RTOL[dtype])
    # the option changes training (the comparison is not vacuous)
    plain_hyper = hyper._replace(weight_decay=0.0, cosine_steps=0.0, warmup_steps=0.0)
    plain, _, _, _ = run_epochs(net, 3, True, solver, hyper=plain_hyper)
    assert not np.allclose(plain, params, rtol=1e-3, atol=0)


def test_cosine_schedule_rates():
    """S1 step by step: warm-up from eta_0 / T_w to eta_0, then half a cosine to 0, then 0."""
    hyper = HYPER._replace(learning_rate=0.1, cosine_steps=10.0, warmup_steps=4.0)
    rates = [optimizers.scheduled_rate(hyper, np.int64(k)) for k in range(12)]
    np.testing.assert_allclose(rates[:4], [0.025, 0.05, 0.075, 0.1])
    cosine = [0.1 * (1 + np.cos(np.pi * k / 6)) / 2 for k in range(6)]  # T - T_w = 6 steps
    np.testing.assert_allclose(rates[4:10], cosine, rtol=1e-12)
    assert rates[9] > 0 and rates[10] == rates[11] == 0.0
    constant = hyper._replace(cosine_steps=0.0, warmup_steps=0.0)
    assert optimizers.scheduled_rate(constant, np.int64(5)) == 0.1


def test_dropout_masks_are_a_function_of_seed_step_layer_row_and_unit():
    """Kept with probability 1 - p; the same (key, row) gives the same column wherever
    the row sits in a batch; other steps, layers or rows give other masks."""
    key = np.uint64(dropout_kernels.step_key(np.int64(5), np.int64(0)))
    rows = np.arange(2000, dtype=np.int64)

    def mask(rows, key, layer=1, rate=0.3, n=50):
        A = np.ones((n, rows.size), order="F")
        out = np.empty_like(A)
        layer_key = np.uint64(dropout_kernels.layer_key(key, np.int64(layer)))
        dropout_kernels.apply_dropout(A, out, rows, layer_key, rate)
        np.testing.assert_array_equal(A, out)
        return out

    M = mask(rows, key)
    assert set(np.unique(M)) == {0.0, 1 / 0.7}
    kept = (M > 0).mean()
    assert abs(kept - 0.7) < 4 * np.sqrt(0.7 * 0.3 / M.size)  # binomial, 4 sigma
    reordered = rows[::-1].copy()
    np.testing.assert_array_equal(mask(reordered, key)[:, ::-1], M)
    other_step = np.uint64(dropout_kernels.step_key(np.int64(5), np.int64(1)))
    for other in (mask(rows, other_step), mask(rows, key, layer=2), mask(rows + 2000, key)):
        agreement = ((other > 0) == (M > 0)).mean()
        assert abs(agreement - (0.7**2 + 0.3**2)) < 0.01  # independent masks agree by chance
    assert np.all(mask(rows[:100], key, rate=0.0) == 1.0)


@pytest.mark.parametrize("solver", [optimizers.ADAM, optimizers.SGD], ids=["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["in_order", "shuffled"])
def test_train_epoch_reproducible(shuffle, solver):
    """The same Generator seed gives bitwise-identical parameters, twice."""
    net = make_training(np.float64)
    first = run_epochs(net, 3, shuffle, solver, seed=7)
    second = run_epochs(net, 3, shuffle, solver, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[2], second[2])  # the same shuffles
    # losses within tolerance only: see test_loss_and_gradient_against_naive_backprop
    np.testing.assert_allclose(first[1], second[1], rtol=RTOL[np.float64])
    assert not np.array_equal(first[0], net["params"])  # it did train


@needs_two_threads
@pytest.mark.parametrize("solver", [optimizers.ADAM, optimizers.SGD], ids=["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["in_order", "shuffled"])
@pytest.mark.parametrize("n_chunks", [1, 2], ids=lambda c: f"{c}chunks")
def test_train_epoch_independent_of_thread_count(shuffle, solver, n_chunks):
    """Three epochs (200 examples, batches of 32) with 1 and 2 threads, within RTOL[float64].

    Not bitwise: the epoch losses come from the cost kernels and SGD's steps from
    sgd_step, whose bits depend on the thread count (see the bitwise kernel test).
    """
    net = make_training(np.float64, n_samples=200, batch_size=32, n_chunks=n_chunks)
    one, two = (
        run_with_threads(lambda rng: run_epochs(net, 3, shuffle, solver, seed=3), threads)
        for threads in (1, 2)
    )
    assert_close(two[0], one[0], np.float64)
    np.testing.assert_allclose(two[1], one[1], rtol=RTOL[np.float64])
    np.testing.assert_array_equal(two[2], one[2])  # the same shuffles


@pytest.mark.parametrize("hidden", ["tanh", "gelu"])
@pytest.mark.parametrize("m", [23, 1], ids=["23 rows", "one row"])
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_rows(dtype, output, m, hidden):
    """Blocks of 7 over 23 rows (7, 7, 7, 2, in parallel), and one row (the
    forward_example loops), against naive.forward on all rows."""
    net = make_network(60, 2, hidden, output, dtype, m=m)
    sizes = net["sizes"]
    out = np.full((m, sizes[-1]), np.nan, dtype=dtype)
    X = boundary.compiled_input(net["X"], dtype)
    if m == 1:
        model = network_bundle(net)
        status = prediction.predict_example(X, model.params, model.sizes, model.codes, out, True)
    else:
        status = prediction.predict_rows(X, network_bundle(net), np.int64(7), out, True,
                                         numba.get_num_threads())  # fmt: skip
    assert status == prediction.FINITE
    Ws, bs = reference_parameters(net)
    _, As = naive.forward(f64(net["X"]).T, Ws, bs, net["names"])
    assert_close(out, As[-1].T, dtype)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("n_rows", [1, 5, 23], ids=["one row", "one block", "four blocks"])
def test_predict_rows_reports_what_is_not_finite(n_rows, sparse):
    """predict_rows' status: X's NaN or inf (in any block, checked only when asked)
    before outputs that overflowed; finite outputs are those of every block."""
    net = make_network(60, 2, "identity", "C5", np.float64, m=n_rows)
    sizes, X = net["sizes"], np.ascontiguousarray(net["X"])

    def status(X, check_input=True, params=net["params"]):
        out = np.empty((n_rows, sizes[-1]))
        A0 = boundary.compiled_input(scipy.sparse.csr_matrix(X) if sparse else X, np.float64)
        model = network_bundle(net, params)
        if n_rows == 1:
            return prediction.predict_example(A0, model.params, model.sizes, model.codes, out,
                                              check_input)  # fmt: skip
        return prediction.predict_rows(A0, model, np.int64(7), out, check_input,
                                       numba.get_num_threads())  # fmt: skip

    assert status(X) == prediction.FINITE
    for bad in (np.nan, np.inf, -np.inf):
        broken = X.copy()
        broken[-1, 1] = bad  # the last row: the last block
        assert status(broken) == prediction.INPUT_NOT_FINITE
        assert status(broken, check_input=False) == prediction.OUTPUT_NOT_FINITE
    huge = X.copy()
    huge[n_rows // 2] = 1e300  # finite, but W x overflows with these weights
    assert status(huge, params=net["params"] * 1e10) == prediction.OUTPUT_NOT_FINITE


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_rows_finds_a_non_finite_value_in_any_row_and_column(dtype):
    """X's check tests each row whole (a loop without an exit per element, so it
    vectorizes): NaN and inf are found wherever they are, at a row's first, a
    middle and its last column, in the first, a middle and the last row."""
    net = make_network(37, 2, "relu", "C2", dtype, m=23, n_in=37)
    model = network_bundle(net)
    X = np.ascontiguousarray(net["X"])
    out = np.empty((X.shape[0], int(net["sizes"][-1])), dtype=dtype)

    def status(X):
        return prediction.predict_rows(boundary.compiled_input(X, dtype), model, np.int64(7),
                                       out, True, numba.get_num_threads())  # fmt: skip

    assert status(X) == prediction.FINITE
    for row, column, bad in itertools.product((0, 11, 22), (0, 18, 36), (np.nan, np.inf, -np.inf)):
        broken = X.copy()
        broken[row, column] = bad
        assert status(broken) == prediction.INPUT_NOT_FINITE, (row, column, bad)


def test_every_registered_code_has_its_own_kernel():
    """The dispatchers end in identity (forward, backward) and Huber (cost) without
    raising for unknown codes (a raise inside training's parallel loop cost 1.5x), so
    every code of the registries must reach its own branch: a code that fell through
    would compute identity / Huber and differ from the reference."""
    rng = np.random.default_rng(3)
    Z = fortran(rng, (4, 6), np.float64)
    for name, code in activations.ACTIVATION_CODES.items():
        A = np.empty_like(Z)
        activations.activation_forward(code, Z, A)
        reference = naive.ACTIVATIONS["logistic" if name == "sigmoid" else name][0](Z)
        np.testing.assert_allclose(A, reference, rtol=1e-13, atol=1e-15, err_msg=name)
        dA, dZ = fortran(rng, (4, 6), np.float64), np.empty_like(Z)
        activations.activation_backward(code, backward_input(name, Z, A), dA, dZ)
        expected = naive.ACTIVATIONS["logistic" if name == "sigmoid" else name][1](Z, dA)
        np.testing.assert_allclose(dZ, expected, rtol=1e-12, atol=1e-14, err_msg=name)
    for name, code in COST_CODES.items():
        A, Y, s = cost_inputs(rng, name, (3, 8), np.float64, weighted=True)
        expected = naive.COSTS[name][0](
            naive.clip(A, np.finfo(np.float64).eps) if name in ("logistic", "softmax") else A, Y, s
        )
        expected /= 3 if name == "squared_error" else 1  # reported as the mean over outputs
        J = data_cost_as_trained(A, Y, s, code, cost_parameter(name))
        np.testing.assert_allclose(J, expected, rtol=1e-12, err_msg=name)
