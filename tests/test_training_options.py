"""Training beyond MLPClassifier (issue 15), through the estimators: dropout,
weight decay, the cosine schedule, label smoothing and activations A5-A11 in
fit, partial_fit, warm_start, early stopping, both dtypes and both estimators;
gradient checks with them; determinism with dropout across threads and
processes; bad settings. The kernels themselves are checked against naive.py
in test_kernels.py (test_train_epoch_options_against_naive and the activation tests)."""

import json

import numpy as np
import pytest
from helpers import digits, run_python
from sklearn.base import clone

from fastffnn import FFNNClassifier, FFNNRegressor, check_gradients
from fastffnn.network import parameter_views

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

NEW_ACTIVATIONS = ["leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "mish"]
OPTIONS = {
    "dropout": {"dropout": 0.3},
    "dropout_per_layer": {"dropout": [0.5, 0.0]},
    "weight_decay": {"weight_decay": 0.05},
    "cosine": {"learning_rate": "cosine", "warmup_iter": 1},
    "tabular": {
        "dropout": 0.1,
        "weight_decay": 1e-3,
        "learning_rate": "cosine",
        "activation": "silu",
    },  # fmt: skip
}


def small_data(n=240, seed=0):
    X, y = digits()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), n, replace=False)
    return X[rows], y[rows]


def make(estimator, **params):
    base = dict(hidden_layer_sizes=(16, 8), max_iter=4, random_state=0)
    cls = FFNNClassifier if estimator == "classifier" else FFNNRegressor
    return cls(**{**base, **params})


def targets(estimator, y):
    return y if estimator == "classifier" else y / 9.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_option_trains_in_fit_partial_fit_warm_start_and_early_stopping(
    option, estimator, dtype
):
    X, y = small_data()
    y = targets(estimator, y)
    params = {**OPTIONS[option], "dtype": dtype}
    plain = make(estimator, dtype=dtype).fit(X, y)
    model = make(estimator, **params).fit(X, y)
    assert model.coefs_[0].dtype == np.dtype(dtype)
    assert np.all(np.isfinite(model.loss_curve_)) and len(model.loss_curve_) == 4
    assert not np.allclose(model.coefs_[0], plain.coefs_[0])  # the option changed training
    # prediction is deterministic: dropout is off outside training
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    # warm start continues from the weights
    warm = make(estimator, warm_start=True, **params).fit(X, y)
    before = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert warm.n_iter_ == 4 and not np.array_equal(before, warm.coefs_[0])
    # partial_fit: one epoch per call, the optimizer state (and the schedule) carried over
    incremental = make(estimator, **params)
    kwargs = {"classes": np.unique(y)} if estimator == "classifier" else {}
    for _ in range(3):
        incremental.partial_fit(X, y, **kwargs)
        kwargs = {}
    assert incremental._optimizer.steps == 3 * 2  # two batches of 200 and 40 per epoch
    # early stopping restores the best weights on the held-out score
    stopped = make(estimator, early_stopping=True, max_iter=8, **params).fit(X, y)
    assert len(stopped.validation_scores_) == stopped.n_iter_


@pytest.mark.parametrize("activation", NEW_ACTIVATIONS)
@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_new_activations_train_and_check_their_gradients(estimator, activation):
    X, y = small_data()
    y = targets(estimator, y)
    # 150 epochs: softplus trains slowest here (R^2 0.16 after 60, 0.71 after 150; relu 0.93)
    model = make(estimator, activation=activation, max_iter=150, learning_rate_init=0.01)
    baseline = make(estimator, max_iter=150, learning_rate_init=0.01).fit(X, y).score(X, y)
    score = model.fit(X, y).score(X, y)
    assert score > 0.6 and score > baseline - 0.25, (score, baseline)  # relu for reference
    report = check_gradients(make(estimator, activation=[activation, "tanh"]), X[:40], y[:40])
    assert report.ok, str(report)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_check_gradients_with_dropout_and_weight_decay(dtype):
    """The checker fixes the dropout mask: backprop, central differences and
    forward-mode tangents then see one cost. Weight decay is not part of the
    cost (W1 acts after the step), so the gradient is the same with it."""
    X, y = small_data(60)
    model = make("classifier", activation=["gelu", "relu"], dropout=[0.4, 0.2], dtype=dtype)
    model.fit(X, y)
    report = check_gradients(model, X, y)
    assert report.ok, str(report)
    decayed = clone(model).set_params(weight_decay=0.1).fit(X, y)
    for name in ("coefs_", "intercepts_"):  # checked at the same weights
        setattr(decayed, name, [a.copy() for a in getattr(model, name)])
    assert check_gradients(decayed, X, y).max_abs_error == report.max_abs_error
    # the mask matters: the same weights without dropout have another gradient
    no_dropout = clone(model).set_params(dropout=0.0).fit(X, y)
    for name in ("coefs_", "intercepts_"):
        setattr(no_dropout, name, [a.copy() for a in getattr(model, name)])
    from fastffnn.gradcheck import _training_problem

    with_mask = _training_problem(model, X, y, None).loss_and_gradient()[1]
    without = _training_problem(no_dropout, X, y, None).loss_and_gradient()[1]
    assert not np.allclose(with_mask, without)


def test_dropout_is_bit_identical_across_threads_and_processes():
    """The guarantee of the reproducibility issue holds with dropout: numba
    threads 1, 2 and 4, BLAS threads 1 and 2, fresh processes."""
    code = """
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier
X, y = load_digits(return_X_y=True)
X = X[:600] / 16.0; y = y[:600]
model = FFNNClassifier(hidden_layer_sizes=(64, 32), dropout=[0.3, 0.2], weight_decay=1e-3,
                       learning_rate="cosine", warmup_iter=1, activation=["mish", "relu"],
                       batch_size=256, max_iter=3, random_state=4).fit(X, y)
print(json.dumps([float(np.sum(np.abs(c))) for c in model.coefs_]
                 + [model.coefs_[0].tobytes().hex()[:4000], model.loss_]))
"""
    runs = {
        (numba_threads, blas): run_python(code, env={
            "NUMBA_NUM_THREADS": str(numba_threads), "OPENBLAS_NUM_THREADS": str(blas),
            "OMP_NUM_THREADS": str(blas),
        }).splitlines()[-1]
        for numba_threads, blas in [(1, 1), (2, 2), (4, 1)]
    }  # fmt: skip
    assert len(set(runs.values())) == 1, runs
    # and the same seed in this process, whatever the threads here
    X, y = digits()
    model = FFNNClassifier(hidden_layer_sizes=(64, 32), dropout=[0.3, 0.2], weight_decay=1e-3,
                           learning_rate="cosine", warmup_iter=1, activation=["mish", "relu"],
                           batch_size=256, max_iter=3,
                           random_state=4).fit(X[:600], y[:600])  # fmt: skip
    assert json.loads(runs[(1, 1)])[-1] == model.loss_


def test_dropout_masks_change_with_the_seed_and_every_step():
    X, y = small_data()
    a = make("classifier", dropout=0.5, random_state=1).fit(X, y)
    b = make("classifier", dropout=0.5, random_state=1).fit(X, y)
    c = make("classifier", dropout=0.5, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    # dropout 0 draws nothing from random_state: the model is MLPClassifier's
    np.testing.assert_array_equal(
        make("classifier", dropout=0.0).fit(X, y).coefs_[0], make("classifier").fit(X, y).coefs_[0]
    )


def test_weight_decay_shrinks_weights_but_not_biases():
    X, y = small_data()
    sgd = dict(solver="sgd", learning_rate_init=0.05, max_iter=20)
    plain = make("classifier", **sgd).fit(X, y)
    decayed = make("classifier", weight_decay=0.5, **sgd).fit(X, y)
    for l in range(len(plain.coefs_)):  # 40 steps of (1 - 0.025): about 0.36 of the norm
        assert np.linalg.norm(decayed.coefs_[l]) < 0.6 * np.linalg.norm(plain.coefs_[l])
    # biases are not decayed: a network of biases only (no weights) is unchanged by it
    sizes = np.array([X.shape[1], 16, 8, 10], dtype=np.int64)
    params = np.zeros(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    params[:] = 1.0
    coefs, intercepts = parameter_views(params, sizes)
    from fastffnn.kernels.optimizers import decay_weights

    decay_weights(params, sizes, np.int64(0), np.int64(params.size), 0.5)
    assert all(np.all(c == 0.5) for c in coefs) and all(np.all(b == 1.0) for b in intercepts)
    # over blocks that start and end inside weights and biases (as finish_batch's
    # blocks do), each weight is decayed once and no bias is
    params[:] = 1.0
    edges = [0, 5, 700, 1040, 1041, 1180, params.size]
    for start, stop in zip(edges[:-1], edges[1:]):
        decay_weights(params, sizes, np.int64(start), np.int64(stop), 0.5)
    assert all(np.all(c == 0.5) for c in coefs) and all(np.all(b == 1.0) for b in intercepts)


def test_cosine_schedule_ends_at_zero_and_warm_start_restarts_it():
    """After max_iter epochs the rate is 0: one more partial_fit changes nothing;
    a warm_start fit starts the cosine again."""
    X, y = small_data()
    model = make("classifier", learning_rate="cosine", max_iter=3)
    for _ in range(3):
        model.partial_fit(X, y, classes=np.arange(10))
    before = [c.copy() for c in model.coefs_]
    model.partial_fit(X, y)
    for a, b in zip(before, model.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    warm = make("classifier", learning_rate="cosine", max_iter=3, warm_start=True).fit(X, y)
    before = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert not np.array_equal(before, warm.coefs_[0])
    # the whole cosine in one fit equals it in max_iter partial_fit calls
    np.testing.assert_allclose(
        make("classifier", learning_rate="cosine", max_iter=3, shuffle=False).fit(X, y).coefs_[0],
        _partial_fits(make("classifier", learning_rate="cosine", max_iter=3, shuffle=False), X, y,
                      3).coefs_[0],
        rtol=0, atol=0,
    )  # fmt: skip


def _partial_fits(model, X, y, n):
    for _ in range(n):
        model.partial_fit(X, y, classes=np.arange(10))
    return model


def test_label_smoothing_trains_on_smoothed_targets():
    X, y = small_data()
    eps = 0.2
    for labels, per_output in ((y, 10), (y > 4, 2), (np.stack([y > 4, y % 2 == 0], axis=1), 2)):
        model = make("classifier", label_smoothing=eps)
        from fastffnn.gradcheck import _training_problem

        Y = _training_problem(model, X, labels, None).Y
        hard = _training_problem(make("classifier"), X, labels, None).Y
        np.testing.assert_allclose(Y, (1 - eps) * hard + eps / per_output, rtol=1e-15)
        model.fit(X, labels)
        assert report_ok(model, X, labels)
    # long training pulls the confidence towards the smoothed target 1 - eps + eps / K
    # (0.82), where without smoothing it goes to 1
    smoothed = make("classifier", label_smoothing=eps, max_iter=300).fit(X, y)
    plain = make("classifier", max_iter=300).fit(X, y)
    confidence = smoothed.predict_proba(X).max(axis=1).mean()
    assert 0.6 < confidence < 0.86 < plain.predict_proba(X).max(axis=1).mean()
    assert smoothed.score(X, y) > 0.9  # scored on the true labels


def report_ok(model, X, y):
    report = check_gradients(model, X[:40], y[:40])
    return report.ok


def test_he_and_lecun_initialization():
    X, y = digits()
    for activation, gain in (("leaky_relu", 2.0), ("selu", 1.0), ("gelu", 2.0)):
        model = FFNNClassifier((400,), activation=activation, max_iter=1, learning_rate_init=1e-12,
                               random_state=0).fit(X, y)  # fmt: skip
        W = model.coefs_[0]
        assert abs(W.std() / np.sqrt(gain / 64) - 1) < 0.02
        assert np.all(model.intercepts_[0] == 0) or np.abs(model.intercepts_[0]).max() < 1e-9
    # scikit-learn's activations keep Glorot uniform (MLPClassifier's draws)
    relu = FFNNClassifier((400,), max_iter=1, learning_rate_init=1e-12, random_state=0).fit(X, y)
    bound = np.sqrt(6 / (64 + 400))
    assert np.abs(relu.coefs_[0]).max() <= bound


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "lbfgs", "dropout": 0.2}, "dropout needs a mini-batch solver"),
        ({"solver": "lbfgs", "weight_decay": 0.1}, "weight_decay needs a mini-batch solver"),
        ({"warmup_iter": 2}, "warmup_iter is the warm-up of learning_rate='cosine'"),
        ({"learning_rate": "cosine", "warmup_iter": 9, "max_iter": 4}, "exceeds max_iter"),
        ({"dropout": [0.1]}, "dropout has 1 rates but there are 2 hidden layers"),
        ({"dropout": [0.1, 1.0]}, "Each dropout rate must be a number in \\[0, 1\\)"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"weight_decay": -1.0}, "'weight_decay' parameter"),
        ({"label_smoothing": 1.0}, "'label_smoothing' parameter"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_bad_settings_are_clear_errors(params, message):
    X, y = small_data()
    model = make("classifier", **params)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")
