"""Input Jacobians (forward and reverse accumulation, T1-T2 and B1/B4), the
gradient checker, and MATH.md's worked example (examples/accumulation_modes.py)."""

import doctest
import functools
import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import naive
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastffnn.jacobian as jacobian_module
from fastffnn import FFNNClassifier, boundary, check_gradients
from fastffnn.gradcheck import _training_problem, compare
from fastffnn.jacobian import choose_mode, forward_jacobian, input_jacobian, reverse_jacobian
from fastffnn.kernels import activations, tangents
from fastffnn.network import parameter_views, workspace_size

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ["identity", "relu", "logistic", "tanh", "leaky_relu", "elu", "selu", "gelu", "silu",
          "softplus", "mish"]  # fmt: skip
KINDS = ["binary", "multiclass", "multilabel"]
N_SAMPLES, N_FEATURES = 40, 4


def data(kind, n_samples=N_SAMPLES, n_features=N_FEATURES, n_labels=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    if kind == "binary":
        y = rng.integers(0, 2, n_samples)
    elif kind == "multiclass":
        y = rng.integers(0, 3, n_samples)
    else:
        y = (rng.random((n_samples, n_labels)) < 0.5).astype(int)
    return X, y


def fit_quietly(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


@functools.cache
def fitted(activation, kind):
    X, y = data(kind)
    model = FFNNClassifier((6, 5), activation=activation, max_iter=30, random_state=0)
    return fit_quietly(model, X, y), X


def proba_differences(model, X, h=1e-6):
    """Central differences of predict_proba, one input feature at a time."""
    columns = []
    for k in range(X.shape[1]):
        plus, minus = X.copy(), X.copy()
        plus[:, k] += h
        minus[:, k] -= h
        columns.append((model.predict_proba(plus) - model.predict_proba(minus)) / (2 * h))
    return np.stack(columns, axis=2)


# --------------------------------------------------------------------------------------
# the T1 / T2 kernels
# --------------------------------------------------------------------------------------

CODES = {name: activations.ACTIVATION_CODES[name] for name in [*HIDDEN, "softmax"]}


@pytest.mark.parametrize("name", list(CODES))
def test_activation_tangents_are_central_differences_of_the_activation(name):
    """T2: dot-A = (da/dz) dot-Z against (g(Z + h D) - g(Z - h D)) / 2h, and equal to
    B1 with dA = dot-Z (every da/dz is symmetric)."""
    rng = np.random.default_rng(1)
    Z = np.asfortranarray(rng.standard_normal((5, 7)))
    D = np.asfortranarray(rng.standard_normal((5, 7)))
    code, h = CODES[name], 1e-6
    A, plus, minus = (np.empty_like(Z, order="F") for _ in range(3))
    activations.activation_forward(code, Z, A)
    activations.activation_forward(code, Z + h * D, plus)
    activations.activation_forward(code, Z - h * D, minus)
    tangent = np.empty_like(Z, order="F")
    reads = Z if name in naive.READS_Z else A  # what the kernels read (A5-A11: Z)
    tangents.activation_tangent(code, reads, D, tangent)
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * h), rtol=0, atol=1e-9)
    backward = np.empty_like(Z, order="F")
    activations.activation_backward(code, reads, D, backward)
    np.testing.assert_allclose(tangent, backward, rtol=1e-15, atol=1e-15)
    in_place = D.copy(order="F")
    tangents.activation_tangent(code, reads, in_place, in_place)
    np.testing.assert_array_equal(in_place, tangent)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_tangents(dtype):
    """T1: W dot-A_prev, and dot-W A_prev + dot-b + W dot-A_prev for parameter directions."""
    rng = np.random.default_rng(2)
    f = lambda *shape: np.asfortranarray(rng.standard_normal(shape)).astype(dtype)  # noqa: E731
    W, dW, A_prev, dA_prev = f(4, 3), f(4, 3), f(3, 6), f(3, 6)
    db = rng.standard_normal(4).astype(dtype)
    dZ, work = f(4, 6), f(4, 6)
    tol = {np.float32: 1e-5, np.float64: 1e-13}[dtype]
    W64, dW64, A64, dA64 = (a.astype(np.float64) for a in (W, dW, A_prev, dA_prev))
    tangents.linear_tangent(W, dA_prev, dZ)
    assert dZ.dtype == dtype
    np.testing.assert_allclose(dZ, W64 @ dA64, rtol=tol, atol=tol)
    tangents.linear_tangent_params(W, dW, db, A_prev, dA_prev, work, dZ)
    expected = dW64 @ A64 + db.astype(np.float64)[:, None] + W64 @ dA64
    np.testing.assert_allclose(dZ, expected, rtol=tol, atol=tol)
    G = f(4, 6)
    assert np.isclose(tangents.contract(G, dZ), np.sum(G.astype(np.float64) * dZ), rtol=tol)


# --------------------------------------------------------------------------------------
# input Jacobians
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_modes_agree_and_match_finite_differences(activation, kind):
    model, X = fitted(activation, kind)
    forward = model.jacobian(X, mode="forward")
    reverse = model.jacobian(X, mode="reverse")
    n_outputs = model.predict_proba(X[:1]).shape[1]
    assert forward.shape == reverse.shape == (len(X), n_outputs, X.shape[1])
    assert forward.dtype == reverse.dtype == np.float64
    np.testing.assert_allclose(forward, reverse, rtol=0, atol=1e-12)
    np.testing.assert_allclose(forward, proba_differences(model, X), rtol=0, atol=1e-6)
    if kind == "binary":  # predict_proba is [1 - p, p]
        np.testing.assert_array_equal(forward[:, 0], -forward[:, 1])
    if kind != "multilabel":  # probabilities sum to 1, so their derivatives to 0
        np.testing.assert_allclose(forward.sum(axis=1), 0, atol=1e-15)


def test_one_feature_one_output():
    """n^[0] = 1 and n^[L] = 1: every matrix of both modes has a dimension of 1."""
    X, y = data("binary", n_features=1)
    model = fit_quietly(FFNNClassifier((3,), activation="tanh", max_iter=20, random_state=0), X, y)
    forward = model.jacobian(X, mode="forward")
    assert forward.shape == (N_SAMPLES, 2, 1)
    np.testing.assert_allclose(forward, model.jacobian(X, mode="reverse"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(forward, proba_differences(model, X), rtol=0, atol=1e-6)


@pytest.mark.parametrize("driver", [forward_jacobian, reverse_jacobian])
def test_chunks_give_the_same_jacobian(driver):
    """23 rows in chunks of 7 (7, 7, 7, 2) equal the whole batch at once."""
    model, X = fitted("tanh", "multiclass")
    X = np.ascontiguousarray(np.vstack([X, X])[:23])
    network, sizes = model._network_bundle(), model._sizes
    X = boundary.compiled_input(X, np.float64)
    results = []
    for capacity in (7, 23):
        out = np.full((23, sizes[-1], sizes[0]), np.nan)
        work = np.empty(workspace_size(sizes, capacity))
        driver(X, network, work, work.copy(), np.empty(capacity * sizes[0]), capacity, out)
        results.append(out)
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-15)


def test_auto_picks_forward_when_fewer_features_than_outputs(monkeypatch):
    assert choose_mode(5, 50) == "forward"
    assert choose_mode(50, 5) == "reverse"
    assert choose_mode(5, 5) == "reverse"  # a tie: the same number of passes
    called = []
    for name in ("forward_jacobian", "reverse_jacobian"):
        original = getattr(jacobian_module, name)
        spy = functools.partial(lambda _f, _n, *a: called.append(_n) or _f(*a), original, name)
        monkeypatch.setattr(jacobian_module, name, spy)
    cases = [  # (n_features, n_labels, mode auto must pick)
        (2, 5, "forward_jacobian"),
        (6, 2, "reverse_jacobian"),
    ]
    for n_features, n_labels, expected in cases:
        X, y = data("multilabel", n_features=n_features, n_labels=n_labels)
        model = fit_quietly(FFNNClassifier((4,), max_iter=5, random_state=0), X, y)
        called.clear()
        auto = model.jacobian(X)
        assert called == [expected]
        mode = expected.split("_")[0]
        np.testing.assert_array_equal(auto, model.jacobian(X, mode=mode))
    # binary: one output unit, so one reverse pass, even though predict_proba has 2 columns
    X, y = data("binary", n_features=1)
    model = fit_quietly(FFNNClassifier((4,), max_iter=5, random_state=0), X, y)
    called.clear()
    model.jacobian(X)
    assert called == ["reverse_jacobian"]


def test_float32():
    X, y = data("multiclass")
    X32 = X.astype(np.float32)
    model = fit_quietly(FFNNClassifier((6,), activation="tanh", max_iter=20, random_state=0),
                        X32, y)  # fmt: skip
    params = model._live_parameters()
    assert params.dtype == np.float32
    exact = input_jacobian(params.astype(np.float64), model._sizes, model._codes,
                           X32.astype(np.float64), mode="forward")  # fmt: skip
    scale = np.abs(exact).max()
    for mode in ("forward", "reverse", "auto"):
        J = model.jacobian(X32, mode=mode)
        assert J.dtype == np.float32
        np.testing.assert_allclose(J, exact, rtol=0, atol=1e-5 * scale)
    assert model.jacobian(X, mode="reverse").dtype == np.float32  # X follows the model


def test_bad_input_gives_the_same_errors_as_predict_proba():
    X, y = data("multiclass")
    with pytest.raises(NotFittedError):
        FFNNClassifier().jacobian(X)
    model, X = fitted("relu", "multiclass")
    bad_inputs = [
        X[:, :3],  # too few features
        np.where(X > 1, np.nan, X),
        np.where(X > 1, np.inf, X),
        X[0],  # 1-D
        np.empty((0, N_FEATURES)),
        [["a", "b", "c", "d"]],
    ]
    for bad in bad_inputs:
        with pytest.raises(Exception) as expected:
            model.predict_proba(bad)
        with pytest.raises(type(expected.value)) as got:
            model.jacobian(bad)
        assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError, match="mode must be one of"):
        model.jacobian(X, mode="backward")
    # lists and DataFrames are accepted as by predict_proba
    np.testing.assert_array_equal(model.jacobian(X[:3].tolist()), model.jacobian(X[:3]))
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=list("abcd"))
    named = fit_quietly(
        FFNNClassifier((3,), max_iter=5, random_state=0), frame, data("multiclass")[1]
    )
    assert named.jacobian(frame.iloc[:2]).shape == (2, 3, 4)


# --------------------------------------------------------------------------------------
# check_gradients
# --------------------------------------------------------------------------------------


def weights_for(n_samples=20, seed=3):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n_samples)


@pytest.mark.parametrize("state", ["unfitted", "fitted"])
@pytest.mark.parametrize("kind", KINDS)  # C1, C2, C3
@pytest.mark.parametrize("activation", HIDDEN)
def test_check_gradients_on_every_activation_and_cost(activation, kind, state):
    X, y = data(kind, n_samples=20, n_features=3)
    model = FFNNClassifier((5, 4), activation=activation, alpha=0.3, max_iter=30, random_state=0)
    s = weights_for()
    if state == "fitted":
        fit_quietly(model, X, y, sample_weight=s)
    report = check_gradients(model, X, y, sample_weight=s)
    assert report.ok, str(report)
    assert report.n_checked == report.n_parameters
    assert len(report.blocks) == 6 and len(report.directions) == 5
    assert report.max_abs_error < 1e-6
    assert report.max_rel_error < 1e-4
    assert report.max_forward_rel_error < 1e-10
    assert report.max_directional_fd_rel_error < 1e-6
    assert np.isfinite(report.loss) and report.alpha == 0.3


def test_unfitted_check_uses_the_weights_fit_starts_from():
    """fit with a learning rate of 1e-300 moves no weight: its coefs_ are the initial ones."""
    X, y = data("multiclass", n_samples=20, n_features=3)
    model = FFNNClassifier((5,), activation="logistic", random_state=7)
    report = check_gradients(model, X, y)
    assert not hasattr(model, "coefs_")  # the estimator passed in is untouched
    frozen = FFNNClassifier((5,), activation="logistic", random_state=7, solver="sgd",
                            learning_rate_init=1e-300, momentum=0.0, max_iter=1)  # fmt: skip
    fit_quietly(frozen, X, y)
    np.testing.assert_array_equal(report.parameters, frozen._live_parameters())
    # a fitted estimator is checked at its current weights, and not modified
    before = frozen._live_parameters().copy()
    report = check_gradients(frozen, X, y)
    np.testing.assert_array_equal(report.parameters, before)
    np.testing.assert_array_equal(frozen._live_parameters(), before)


def test_check_gradients_float32_estimator_and_mixed_activations():
    X, y = data("multilabel", n_samples=20, n_features=3)
    model = FFNNClassifier((4, 3), activation=["tanh", "relu"], max_iter=20, random_state=0)
    fit_quietly(model, X.astype(np.float32), y)
    report = check_gradients(model, X, y)
    assert report.ok, str(report)
    assert report.parameters.dtype == np.float64


def test_check_gradients_detects_wrong_gradients():
    """The check must fail for gradients with known mistakes, and pass the right one
    computed the same way (so a failure cannot come from the comparison itself)."""
    X, y = data("multiclass", n_samples=20, n_features=3)
    model = FFNNClassifier((5, 4), activation="tanh", alpha=0.3, random_state=0)
    problem = _training_problem(model, X, y, weights_for())
    _, right = problem.loss_and_gradient()
    indices = np.arange(right.size)

    def check(gradient):
        return compare(problem, gradient, indices, 5, 1e-6, np.random.default_rng(0))

    assert check(right).ok

    # one entry of W^[2] off by 1e-4: only layer 2's weights are flagged
    wrong = right.copy()
    coefs, _ = parameter_views(wrong, problem.sizes)
    coefs[1][2, 1] += 1e-4
    report = check(wrong)
    assert not report.ok and "MISMATCH" in str(report)
    errors = {(b.layer, b.block): b.max_abs_error for b in report.blocks}
    assert errors.pop((2, "weights")) == pytest.approx(1e-4, rel=1e-3)
    assert max(errors.values()) < 1e-8
    assert report.max_forward_rel_error > 1e-7

    # the L2 term forgotten: every weight block is wrong, the biases (not penalised) are not
    _, without_l2 = problem.loss_and_gradient(alpha=0.0)
    report = check(without_l2)
    assert not report.ok
    for block in report.blocks:
        assert (block.max_abs_error > 1e-3) == (block.block == "weights"), str(report)

    # sample weights ignored
    unweighted = _training_problem(model, X, y, None)
    _, ignoring_weights = unweighted.loss_and_gradient()
    report = check(ignoring_weights)
    assert not report.ok and report.max_abs_error > 1e-3


def test_check_gradients_subset_for_big_networks():
    X, y = data("multiclass", n_samples=20, n_features=10)
    model = FFNNClassifier((30,), random_state=0)  # 10*30 + 30 + 30*3 + 3 = 423 parameters
    report = check_gradients(model, X, y, n_directions=2, max_parameters=50)
    assert report.ok, str(report)
    assert report.n_parameters == 423 and 50 <= report.n_checked < 100
    assert [b.n_checked for b in report.blocks if b.block == "biases"] == [8, 3]
    assert np.isnan(report.numerical).sum() == 423 - report.n_checked
    assert len(report.directions) == 2


def test_report_prints_a_table():
    X, y = data("binary", n_samples=20, n_features=3)
    report = check_gradients(FFNNClassifier((4,), random_state=0), X, y, n_directions=2)
    text = str(report)
    for piece in ("network 3-4-1", "layer", "weights", "biases", "forward mode", "OK:"):
        assert piece in text
    assert len(text.splitlines()) == 5 + 4 + 3 + 2 + 2
    assert repr(report).startswith("GradientReport(ok=True, max_abs_error=")
    with pytest.raises(ValueError, match="epsilon"):
        check_gradients(FFNNClassifier(), X, y, epsilon=0)


def test_docstring_examples():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for obj in (FFNNClassifier.jacobian, check_gradients):
            for test in finder.find(obj, obj.__qualname__, globs={}):
                runner.run(test)
    assert runner.tries >= 10 and runner.failures == 0


# --------------------------------------------------------------------------------------
# MATH.md's worked example
# --------------------------------------------------------------------------------------

EXAMPLE = ROOT / "examples" / "accumulation_modes.py"


def test_worked_example_runs_and_agrees_with_the_closed_form():
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "one pass per input (3 passes)" in out and "one pass per output (2 passes)" in out
    assert out.count("dot-x = e") == 3 and out.count("bar-y = e") == 2
    assert "OK: both modes match the closed form" in out


def test_worked_example_exits_non_zero_on_a_mismatch():
    spec = importlib.util.spec_from_file_location("accumulation_modes", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # MATH.md's test point
    expected = [[1.0, 0.5, -0.5], [-2.0, 0.0, np.log(0.5)]]
    np.testing.assert_allclose(example.closed_form([0.5, 2.0, 1.0]), expected, rtol=1e-15)
    example.closed_form = lambda x: np.zeros((2, 3))
    assert example.main([]) == 1
