"""Reliability (issue 7): bad input gives a clear error and loses nothing;
numerical extremes, determinism, interruption, concurrency, persistence and
memory under load. Determinism has its own module, test_reproducibility.py.

Bad input: every case raises ValueError, TypeError or NotFittedError with a
message naming the problem (never a numba error), and a fitted model is left
exactly as it was, whether the input came through ``fit``, a ``warm_start``
fit or ``partial_fit``.
"""

import json
import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse
from helpers import digits, run_python
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastffnn
from fastffnn import FFNNClassifier
from fastffnn.estimator import FastffnnVersionWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CLEAR_ERRORS = (ValueError, TypeError, NotFittedError)

_rng = np.random.RandomState(0)
X = _rng.rand(60, 5)
Y = np.arange(60) % 3


def _sparse_with_nan(X):
    sparse = scipy.sparse.csr_matrix(X)
    sparse.data[3] = np.nan
    return sparse


_NAN_X = np.where(X > 0.9, np.nan, X)


def _assert_clear_error(error):
    assert not type(error).__module__.startswith("numba"), repr(error)
    assert "numba" not in str(error).lower() and "nopython" not in str(error), str(error)


def _fingerprint(model):
    """Everything fitted (not the constructor parameters), as bytes, and the predictions."""
    parameters = model.get_params(deep=False)
    fitted = {k: v for k, v in vars(model).items() if k not in parameters}
    if not hasattr(model, "coefs_"):
        return pickle.dumps(fitted)
    weights = b"".join(a.tobytes() for a in model.coefs_ + model.intercepts_)
    return pickle.dumps(fitted), weights, model.predict_proba(X).tobytes()


# ------------------------------------------------------------- bad input

FRESH, FIT, WARM, PARTIAL = "fresh fit", "refit", "warm_start fit", "partial_fit"
ALL = (FRESH, FIT, WARM, PARTIAL)
INCREMENTAL = (WARM, PARTIAL)

# (name, data for the call, parameters set first, error, message, modes)
_FIT_CASES = [
    ("X with NaN", dict(X=_NAN_X), {}, ValueError, "NaN", ALL),
    ("X with +inf", dict(X=np.where(X > 0.9, np.inf, X)), {}, ValueError, "infinity", ALL),
    ("X with -inf", dict(X=np.where(X > 0.9, -np.inf, X)), {}, ValueError, "infinity", ALL),
    (
        "X of words",
        dict(X=np.full(X.shape, "abc")),
        {},
        ValueError,
        "could not convert string",
        ALL,
    ),
    (
        "X with an object",
        dict(X=np.array([[{"a": 1}] * 5] * 60, dtype=object)),
        {},
        TypeError,
        "dict",
        ALL,
    ),
    ("X with None", dict(X=np.where(X > 0.9, None, X.astype(object))), {}, ValueError, "NaN", ALL),
    ("X complex", dict(X=X + 1j), {}, ValueError, "Complex data not supported", ALL),
    ("X 1-D", dict(X=X[:, 0]), {}, ValueError, "Expected 2D array", ALL),
    ("X 3-D", dict(X=X[:, :, None]), {}, ValueError, "dim 3", ALL),
    ("X None", dict(X=None), {}, ValueError, "Expected 2D array|None", ALL),
    ("X sparse with NaN", dict(X=_sparse_with_nan(X)), {}, ValueError, "NaN", ALL),
    ("X zero rows", dict(X=X[:0], y=Y[:0]), {}, ValueError, "0 sample", ALL),
    ("X zero features", dict(X=X[:, :0]), {}, ValueError, "0 feature", ALL),
    ("X beyond sqrt(max float)", dict(X=X * 1e160), {}, ValueError, "Scale the features", ALL),
    ("len(X) != len(y)", dict(y=Y[:-1]), {}, ValueError, "inconsistent numbers of samples", ALL),
    ("y continuous", dict(y=np.linspace(0, 1, 60)), {}, ValueError, "Unknown label type", ALL),
    ("y with NaN", dict(y=np.where(Y == 0, np.nan, Y)), {}, ValueError, "NaN", ALL),
    ("y None", dict(y=None), {}, ValueError, "requires y", ALL),
    ("y multiclass-multioutput", dict(y=np.c_[Y, Y]), {}, ValueError, "Unknown label type", ALL),
    ("y 3-D", dict(y=Y[:, None, None]), {}, ValueError, "y|dim", ALL),
    (
        "sample_weight NaN",
        dict(sample_weight=np.where(Y == 0, np.nan, 1.0)),
        {},
        ValueError,
        "NaN",
        ALL,
    ),
    ("sample_weight inf", dict(sample_weight=np.full(60, np.inf)), {}, ValueError, "infinity", ALL),
    ("sample_weight negative", dict(sample_weight=-np.ones(60)), {}, ValueError, "Negative", ALL),
    ("sample_weight all zero", dict(sample_weight=np.zeros(60)), {}, ValueError, "non-zero", ALL),
    ("sample_weight wrong length", dict(sample_weight=np.ones(59)), {}, ValueError, "shape", ALL),
    ("sample_weight 2-D", dict(sample_weight=np.ones((60, 2))), {}, ValueError, "1D|shape", ALL),
    (
        "class_weight negative",
        {},
        dict(class_weight={0: -1.0}),
        ValueError,
        "class_weight must be finite and non-negative",
        ALL,
    ),
    (
        "class_weight NaN",
        {},
        dict(class_weight={0: np.nan}),
        ValueError,
        "class_weight must be finite and non-negative",
        ALL,
    ),
    (
        "labels outside the fitted classes",
        dict(y=np.where(Y == 0, 7, Y)),
        {},
        ValueError,
        "warm_start can only be used where `y` has the same classes|not in `self.classes_`",
        INCREMENTAL,
    ),
    (
        "wrong number of features",
        dict(X=X[:, :3]),
        {},
        ValueError,
        "3 features, but FFNNClassifier is expecting 5",
        INCREMENTAL,
    ),
    (
        "multi-label y for a multiclass model",
        dict(y=np.eye(3)[Y]),
        {},
        ValueError,
        "multilabel",
        INCREMENTAL,
    ),
    (
        "other architecture",
        {},
        dict(hidden_layer_sizes=(8,)),
        ValueError,
        "set warm_start=False",
        INCREMENTAL,
    ),
    (
        "validation set too small",
        {},
        dict(early_stopping=True, validation_fraction=0.01),
        ValueError,
        "validation set is too small",
        (FRESH, FIT, WARM),
    ),
    (
        "early_stopping in partial_fit",
        {},
        dict(early_stopping=True),
        ValueError,
        "partial_fit does not support early_stopping",
        (PARTIAL,),
    ),
    (
        "classes changed in partial_fit",
        dict(classes=[0, 1, 2, 3]),
        {},
        ValueError,
        "not the same as on the first call",
        (PARTIAL,),
    ),
]
_INVALID_PARAMETERS = [
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(10, -2)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=-3), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(3.5,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(True,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="ab"), "hidden_layer_sizes"),
    (dict(activation="swish"), "activation"),
    (dict(activation=["relu", "tanh"]), "one activation per hidden layer"),
    (dict(activation=3), "activation"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-1), "batch_size"),
    (dict(alpha=-1.0), "alpha"),
    (dict(alpha=np.nan), "alpha"),
    (dict(learning_rate_init=0.0), "learning_rate_init"),
    (dict(learning_rate_init=-0.1), "learning_rate_init"),
    (dict(learning_rate_init=np.nan), "learning_rate_init"),
    (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"),
    (dict(momentum=1.5), "momentum"),
    (dict(beta_1=1.0), "beta_1"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(dtype="int32"), "dtype"),
    (dict(learning_rate="fast"), "learning_rate"),
]
for _params, _message in _INVALID_PARAMETERS:
    _FIT_CASES.append((f"parameter {_params}", {}, _params, ValueError, _message, ALL))


def _fitted(mode):
    model = FFNNClassifier((7,), max_iter=3, random_state=0, warm_start=mode == WARM)
    return model if mode == FRESH else model.fit(X, Y)


_FIT_CALLS = [(case[:5], mode) for case in _FIT_CASES for mode in case[5]]


@pytest.mark.parametrize(
    "case, mode", _FIT_CALLS, ids=[f"{case[0]}-{mode}" for case, mode in _FIT_CALLS]
)
def test_bad_training_input_is_a_clear_error_and_changes_nothing(case, mode):
    _, data, params, error, message = case
    model = _fitted(mode)
    before = _fingerprint(model)
    model.set_params(**params)
    call = {"X": X, "y": Y, "sample_weight": None, **data}
    with pytest.raises(error, match=message) as excinfo:
        if mode == PARTIAL:
            model.partial_fit(call["X"], call["y"], classes=call.get("classes"),
                              sample_weight=call["sample_weight"])  # fmt: skip
        else:
            model.fit(call["X"], call["y"], sample_weight=call["sample_weight"])
    _assert_clear_error(excinfo.value)
    assert _fingerprint(model) == before


_PREDICT_CASES = [
    ("NaN", _NAN_X, ValueError, "NaN"),
    ("inf", np.where(X > 0.9, np.inf, X), ValueError, "infinity"),
    ("words", np.full(X.shape, "abc"), ValueError, "could not convert string"),
    ("complex", X + 1j, ValueError, "Complex data not supported"),
    ("1-D", X[0], ValueError, "Expected 2D array"),
    ("3-D", X[:, :, None], ValueError, "dim 3"),
    ("None", None, ValueError, "Expected 2D array"),
    ("sparse with NaN", _sparse_with_nan(X), ValueError, "NaN"),
    ("sparse, too few features", scipy.sparse.csr_matrix(X[:, :3]), ValueError, "features"),
    ("zero rows", X[:0], ValueError, "0 sample"),
    ("zero features", X[:, :0], ValueError, "0 feature"),
    ("fewer features", X[:, :4], ValueError, "4 features, but FFNNClassifier is expecting 5"),
    ("more features", np.c_[X, X], ValueError, "10 features, but FFNNClassifier is expecting 5"),
    ("one row, wrong features", X[:1, :4], ValueError, "4 features"),
    ("outputs overflow", np.sign(X - 0.5) * 1e308, ValueError, "overflowed"),
]


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
@pytest.mark.parametrize(
    "X_bad, error, message", [c[1:] for c in _PREDICT_CASES], ids=[c[0] for c in _PREDICT_CASES]
)
def test_bad_prediction_input_is_a_clear_error_and_changes_nothing(X_bad, error, message, method):
    model = FFNNClassifier((30, 30), activation="identity", max_iter=3, random_state=0).fit(X, Y)
    before = _fingerprint(model)
    arguments = (
        (X_bad, Y[: np.shape(X_bad)[0]] if np.ndim(X_bad) else Y) if method == "score" else (X_bad,)
    )
    with pytest.raises(error, match=message) as excinfo:
        getattr(model, method)(*arguments)
    _assert_clear_error(excinfo.value)
    assert _fingerprint(model) == before


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_using_an_unfitted_model_is_not_fitted_error(method):
    model = FFNNClassifier()
    arguments = (X, Y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(model, method)(*arguments)


@pytest.mark.parametrize(
    "classes, y, message",
    [
        (None, Y, "classes must be passed on the first call"),
        ([0, 1], Y, r"y contains labels \[2\] that are not in classes=\[0, 1\]"),
    ],
)
def test_bad_first_partial_fit_is_a_clear_error_and_leaves_the_model_unfitted(classes, y, message):
    model = FFNNClassifier((7,))
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X, y, classes=classes)
    assert vars(model).keys() == model.get_params().keys()


def test_failed_refit_keeps_the_fitted_width_and_classes():
    """The two ways a failed fit used to corrupt a fitted model: validation
    resets n_features_in_ before y is checked, and classes_ before the sample
    weights are."""
    model = FFNNClassifier((7,), max_iter=3, random_state=0).fit(X, Y)
    expected = model.predict(X)
    with pytest.raises(ValueError, match="Unknown label type"):
        model.fit(X[:, :3], np.linspace(0, 1, 60))
    with pytest.raises(ValueError, match="Negative"):
        model.fit(X, Y + 10, sample_weight=-np.ones(60))
    assert model.n_features_in_ == 5
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    np.testing.assert_array_equal(model.predict(X), expected)


def test_accepted_conversions_train_like_floats():
    """Not bad input: numbers as object arrays, numeric strings (converted as
    scikit-learn's check_array converts them), lists, ints and bools."""
    reference = FFNNClassifier((7,), max_iter=3, random_state=0).fit(X, Y).predict_proba(X)
    for converted in (X.astype(object), X.astype(str), X.tolist()):
        model = FFNNClassifier((7,), max_iter=3, random_state=0).fit(converted, Y)
        np.testing.assert_array_equal(model.predict_proba(converted), reference)
    for integral in ((X * 10).astype(np.int64), X > 0.5):
        proba = FFNNClassifier((7,), max_iter=3).fit(integral, Y).predict_proba(integral)
        assert np.isfinite(proba).all()


# ------------------------------------------------------- property based


def _as_kind(values, kind):
    if kind == "str":
        return values.astype(str)
    if kind == "complex":
        return values + 1j
    if kind == "object":
        return values.astype(object)
    if kind in ("int64", "bool"):
        return np.clip(np.nan_to_num(values, nan=0, posinf=1, neginf=-1), -1e6, 1e6).astype(kind)
    return values.astype(kind)


_FLOATS = st.one_of(
    st.floats(-100, 100, width=32),
    st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e30, -1e25, 1e-30]),
)


@st.composite
def _problems(draw):
    n = draw(st.integers(0, 24))
    shape = draw(st.sampled_from([(n,), (n, 0), (n, 1), (n, 3), (n, 5), (n, 2, 2)]))
    values = draw(hnp.arrays(np.float64, shape, elements=_FLOATS))
    kind = draw(st.sampled_from(["float64", "float32", "int64", "bool", "object", "str",
                                 "complex"]))  # fmt: skip
    n_y = draw(st.sampled_from([n, n, n, max(n - 1, 0), n + 1]))
    n_classes = draw(st.integers(1, 4))
    labels = draw(hnp.arrays(np.int64, (n_y,), elements=st.integers(0, n_classes - 1)))
    label_kind = draw(st.sampled_from(["int", "str", "continuous", "nan"]))
    if label_kind == "str":
        labels = np.array(["a", "b", "c", "d"])[labels]
    elif label_kind == "continuous":
        labels = labels + draw(st.floats(0.01, 0.99))
    elif label_kind == "nan":
        labels = np.where(labels == 0, np.nan, labels)
    n_predict_features = draw(st.sampled_from([None, 1, 3, 5]))
    solver = draw(st.sampled_from(["adam", "sgd", "lbfgs"]))
    return _as_kind(values, kind), labels, n_predict_features, solver


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(_problems())
def test_random_input_gives_a_correct_result_or_a_clear_error(problem):
    X_random, y_random, n_predict_features, solver = problem
    model = FFNNClassifier((3,), solver=solver, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X_random, y_random)
        except CLEAR_ERRORS as error:
            _assert_clear_error(error)
            return
        X_new = X_random if n_predict_features is None else np.ones((4, n_predict_features))
        try:
            proba = model.predict_proba(X_new)
            labels = model.predict(X_new)
        except CLEAR_ERRORS as error:
            _assert_clear_error(error)
            return
    n = np.shape(X_new)[0]
    assert proba.shape == (n, len(model.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(labels.tolist()) <= set(model.classes_.tolist())


# ------------------------------------------------------ numerical extremes


def _extreme(X_base, transform):
    X_out = X_base.copy()
    if transform == "scaled 1e6":
        return X_out * 1e6
    if transform == "scaled 1e-6":
        return X_out * 1e-6
    if transform == "constant features":
        X_out[:, ::2] = 3.0
        return X_out
    return np.ones_like(X_out)  # "every feature constant"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(
    "transform", ["scaled 1e6", "scaled 1e-6", "constant features", "every feature constant"]
)
def test_extreme_feature_scales_give_finite_probabilities(transform, solver, dtype):
    X_digits, y_digits = digits()
    X_extreme = _extreme(X_digits[:600], transform).astype(dtype)
    model = FFNNClassifier((20,), solver=solver, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_extreme, y_digits[:600])
    assert all(np.isfinite(a).all() for a in model.coefs_ + model.intercepts_)
    proba = model.predict_proba(X_extreme)
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize(
    "settings, dtype",
    [
        (dict(solver="sgd", learning_rate_init=10.0, activation="identity"), np.float64),
        (dict(solver="sgd", learning_rate_init=1e4, momentum=0.99), np.float32),
        (dict(solver="sgd", learning_rate_init=10.0, activation="identity"), np.float32),
    ],
)
def test_divergence_stops_at_the_last_finite_weights_and_warns(settings, dtype):
    X_digits, y_digits = load_digits(return_X_y=True)  # unscaled: 0..16
    X_digits = X_digits.astype(dtype)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model = FFNNClassifier((20,), max_iter=50, random_state=0, **settings)
        model.fit(X_digits, y_digits)
    weights = model.coefs_ + model.intercepts_
    assert all(np.isfinite(a).all() for a in weights)
    assert len(model.loss_curve_) == model.n_iter_ and np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.predict_proba(X_digits)).all()
    if model.n_iter_:  # the kept weights are exactly those of the last finite epoch
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", ConvergenceWarning)
            shorter = FFNNClassifier((20,), max_iter=model.n_iter_, random_state=0, **settings)
            shorter.fit(X_digits, y_digits)
        for a, b in zip(weights, shorter.coefs_ + shorter.intercepts_):
            np.testing.assert_array_equal(a, b)
    else:  # diverged in the first epoch: the initial weights, unchanged
        initial = FFNNClassifier((20,), max_iter=1, random_state=0, **settings)
        initial._fit_stochastic = lambda *args: None  # initialise only
        initial.fit(X_digits, y_digits)
        for a, b in zip(weights, initial.coefs_ + initial.intercepts_):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_on_huge_inputs_never_returns_non_finite_weights(dtype):
    """L-BFGS-B's line search backs off from inf losses: it stops with a
    ConvergenceWarning and finite weights."""
    X_digits, y_digits = digits()
    scale = 1e150 if dtype == np.float64 else 1e18  # just inside the allowed range
    X_huge = (X_digits[:300] * scale).astype(dtype)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        model = FFNNClassifier((20,), solver="lbfgs", max_iter=20, random_state=0)
        model.fit(X_huge, y_digits[:300])
    assert all(np.isfinite(a).all() for a in model.coefs_ + model.intercepts_)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_overflowing_data_is_a_clear_error_not_nan(solver):
    """The documented choice (FFNNClassifier's ``dtype``): values whose square
    overflows the training dtype raise; no silent float64 copy of X."""
    X_digits, y_digits = digits()
    X_huge = (X_digits * 1e30).astype(np.float32)  # finite in float32; squares are not
    model = FFNNClassifier((20,), solver=solver, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match=r"float32 needs \|X\| <= 1.84e\+19.*dtype='float64'"):
        model.fit(X_huge, y_digits)
    assert not hasattr(model, "coefs_")
    fitted = FFNNClassifier((20,), solver=solver, max_iter=5, random_state=0, dtype="float64")
    assert np.isfinite(fitted.fit(X_huge, y_digits).predict_proba(X_huge)).all()
    assert "1.8e19" in FFNNClassifier.__doc__


# --------------------------------------------- interruption, concurrency

_INTERRUPTED_FIT = """
import json, os, signal, threading, time, warnings
# a process started in the background by a shell inherits SIGINT ignored: restore
# Python's handler, so that the test does not depend on how pytest was started
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier

X, y = load_digits(return_X_y=True)
X = np.tile(X / 16.0, (3, 1)) + np.random.RandomState(0).normal(0, 0.05, (3 * len(X), 64))
y = np.tile(y, 3)
import fastffnn.solvers

evaluations = [0]  # L-BFGS loss evaluations, counted to time the interrupt
evaluate = fastffnn.solvers.batch_loss_and_gradient

def counted(*args):
    evaluations[0] += 1
    return evaluate(*args)

fastffnn.solvers.batch_loss_and_gradient = counted
progress = {"adam": lambda model: len(vars(model).get("loss_curve_", ())),
            "lbfgs": lambda model: evaluations[0]}

def interrupt_after_five_steps(model, solver):
    deadline = time.perf_counter() + 120
    while progress[solver](model) < 5 and time.perf_counter() < deadline:
        time.sleep(0.002)
    os.kill(os.getpid(), signal.SIGINT)

report = {}
for solver in ("adam", "lbfgs"):
    model = FFNNClassifier((64,), solver=solver, max_iter=10**6, max_fun=10**7, tol=0.0,
                           n_iter_no_change=np.inf, random_state=0)
    timer = threading.Thread(target=interrupt_after_five_steps, args=(model, solver))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        timer.start()
        started = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - started
    timer.join()
    proba = model.predict_proba(X)
    report[solver] = dict(
        elapsed=elapsed, n_iter=int(model.n_iter_),
        messages=[str(w.message) for w in caught],
        finite=bool(np.isfinite(proba).all()),
        sums_to_one=bool(np.allclose(proba.sum(axis=1), 1)),
        weights_finite=bool(all(np.isfinite(a).all() for a in model.coefs_ + model.intercepts_)),
        accuracy=float(model.score(X, y)),
    )
print(json.dumps(report))
"""


def test_sigint_during_fit_leaves_a_usable_model_and_warns():
    """SIGINT is sent by another thread of the training process once a fit
    that would otherwise run for hours has taken five steps (adam epochs,
    L-BFGS loss evaluations)."""
    report = json.loads(run_python(_INTERRUPTED_FIT).strip().splitlines()[-1])
    for solver, outcome in report.items():
        assert outcome["elapsed"] < 60, (solver, outcome)
        assert any("interrupted by user" in m for m in outcome["messages"]), (solver, outcome)
        assert outcome["n_iter"] >= 1, (solver, outcome)
        assert outcome["finite"] and outcome["sums_to_one"] and outcome["weights_finite"]
        assert outcome["accuracy"] > 0.2, (solver, outcome)  # it learned: chance is 0.1


def test_predict_proba_from_four_threads_equals_serial_calls():
    X_digits, y_digits = digits()
    model = FFNNClassifier((100,), max_iter=5, random_state=0).fit(X_digits, y_digits)
    X_big = np.tile(X_digits, (10, 1))
    inputs = [X_big, X_big[::-1].copy(), X_digits[:1], X_big[:5000]]
    serial = [model.predict_proba(x) for x in inputs]
    start = threading.Barrier(4)

    def work(k):
        start.wait()
        return [model.predict_proba(inputs[(k + j) % 4]) for j in range(8)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for k, outputs in enumerate(results):
        for j, proba in enumerate(outputs):
            np.testing.assert_array_equal(proba, serial[(k + j) % 4])


# ------------------------------------------------------------ persistence


def test_pickle_from_another_fastffnn_version_warns(monkeypatch):
    X_digits, y_digits = digits()
    model = FFNNClassifier((8,), max_iter=2, random_state=0).fit(X_digits, y_digits)
    assert model.__getstate__()["_fastffnn_version"] == fastffnn.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = pickle.loads(pickle.dumps(model))
    assert "_fastffnn_version" not in vars(same)
    monkeypatch.setattr(fastffnn, "__version__", "0.0.1")
    old = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(FastffnnVersionWarning, match=r"fastffnn version 0\.0\.1 when using"):
        loaded = pickle.loads(old)
    np.testing.assert_array_equal(loaded.predict_proba(X_digits), model.predict_proba(X_digits))
    state = model.__getstate__()
    del state["_fastffnn_version"]  # a pickle written before versions were recorded
    with pytest.warns(FastffnnVersionWarning, match="unknown"):
        FFNNClassifier.__new__(FFNNClassifier).__setstate__(state)


# ------------------------------------------------------ memory under load

_MEMORY_PROBE = """
import json, resource, sys, warnings
import numpy as np
from fastffnn import FFNNClassifier
warnings.simplefilter("ignore")

def rss():  # resident now, bytes
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * resource.getpagesize()

def peak():  # highest resident since reset_peak(), bytes (VmHWM)
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

def reset_peak():
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0). ru_maxrss cannot be
    # reset: with a cold compile cache it kept the warm-up's compilation spike.
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")

what, n_rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
# Warm up with the same configuration on small data: compiled code, BLAS
# buffers and scikit-learn's lazy imports are loaded before the baseline.
X_small = rng.standard_normal((2000, 100), dtype=np.float32)
y_small = rng.integers(0, 10, 2000)
for hidden in ((32,), (100,)):
    FFNNClassifier(hidden, max_iter=2, random_state=0).fit(X_small, y_small).predict_proba(X_small)
del X_small, y_small
baseline = rss()
reset_peak()
X = rng.standard_normal((n_rows, 100), dtype=np.float32)  # no float64 temporary
y = (X[:, 0] > 0) * 5 + rng.integers(0, 5, n_rows)
report = dict(baseline=baseline, X=X.nbytes, y=y.nbytes)
if what == "fit":
    model = FFNNClassifier((32,), max_iter=10, random_state=0).fit(X, y)
    report["peak"] = peak()
else:
    model = FFNNClassifier(max_iter=2, random_state=0).fit(X[:20000], y[:20000])
    report["before_predict"] = rss()
    reset_peak()
    proba = model.predict_proba(X)
    report["peak"] = peak()
    report["output"] = proba.nbytes
report["model"] = sum(a.nbytes for a in model.coefs_ + model.intercepts_)
report["n_iter"] = model.n_iter_
print(json.dumps(report))
"""

_N_ROWS = 1_000_000


@pytest.mark.slow
def test_fit_on_a_million_rows_keeps_peak_memory_below_one_and_a_half_data_plus_model():
    """Measured: the peak resident memory (VmHWM, reset after the warm-up) of a
    fresh process fitting 1,000,000
    x 100 float32 (10 classes, 32 hidden units, adam, 10 epochs), minus its resident memory just
    before X was created (after imports and a warm-up fit, so compiled code
    and libraries are not counted). That difference contains X itself, so the
    bound 1.5 x (X + model) leaves half of X for everything fit adds (y, the
    one-hot targets, sample weights, workspaces): a copy of X fails it."""
    report = json.loads(run_python(_MEMORY_PROBE, "fit", _N_ROWS, timeout=1800))
    assert report["n_iter"] == 10
    used = report["peak"] - report["baseline"]
    bound = 1.5 * (report["X"] + report["model"])
    print(f"fit: {used / 2**20:.0f} MiB above baseline, bound {bound / 2**20:.0f} MiB")
    assert used < bound, report


@pytest.mark.slow
def test_predict_proba_on_a_million_rows_streams_in_chunks():
    """predict_proba's peak, above the resident memory before the call, stays
    near its output (1,000,000 x 10) and far below the activations of every
    row at once (1,000,000 x (100 + 10) values, 420 MiB)."""
    report = json.loads(run_python(_MEMORY_PROBE, "predict", _N_ROWS, timeout=1800))
    used = report["peak"] - report["before_predict"]
    all_rows = _N_ROWS * (100 + 10) * 4
    print(f"predict_proba: {used / 2**20:.0f} MiB above before, output "
          f"{report['output'] / 2**20:.0f} MiB")  # fmt: skip
    assert used < 2 * report["output"] + 32 * 2**20, report
    assert used < all_rows / 4, report


@pytest.mark.parametrize(
    "estimator, message",
    [
        (fastffnn.FFNNRegressor(loss="bogus"), "'loss' parameter"),
        (fastffnn.FFNNClassifier(alpha=-1.0), "'alpha' parameter"),
        (fastffnn.FFNNClassifier(solver="lbfgs", dropout=0.5), "dropout needs a mini-batch"),
    ],
    ids=["unknown loss", "negative alpha", "lbfgs with dropout"],
)
def test_check_gradients_validates_the_parameters_as_fit_does(estimator, message):
    """check_gradients builds the problem fit would solve, with fit's checks:
    an invalid parameter is the error fit gives, not a KeyError or a mismatch."""
    X, y = digits()
    with pytest.raises(ValueError, match=message):
        fastffnn.check_gradients(estimator, X[:20], y[:20] * 1.0)
