"""The tabular estimators (RealMLP-TD's recipe): every kernel against the
plain-NumPy reference (tests/naive.py) and finite differences, the table
encoding, and the estimators as scikit-learn and a tabular user see them."""

import os
import subprocess
import sys

import naive
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from fastffnn import TabularMLPClassifier, TabularMLPRegressor
from fastffnn.callbacks import AVAILABLE as CALLBACKS
from fastffnn.kernels import tabular as kernels
from fastffnn.kernels.activations import MISH, SELU
from fastffnn.tabular import core
from fastffnn.tabular.encoding import TableEncoder, robust_statistics, smooth_clip
from fastffnn.tabular.network import TabularLayout, initialize

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}
ACTIVATIONS = {SELU: naive.selu, MISH: naive.mish}
DERIVATIVES = {SELU: naive.selu_backward, MISH: naive.mish_backward}


def small_problem(dtype, code=SELU, K=3, n=40, seed=0, members=1):
    """A small network (2 numeric, 1 plain, 2 embedded columns; hidden 6, 5;
    ``members`` BE1 members) with random parameters, its data and layout."""
    rng = np.random.RandomState(seed)
    cardinalities = [10, 12]
    data = core.TabularData(
        rng.randn(n, 2).astype(dtype),
        rng.randn(n, 1).astype(dtype),
        np.column_stack([rng.randint(0, c + 1, n) for c in cardinalities]).astype(np.int64),
        np.ascontiguousarray(rng.dirichlet(np.ones(K), n), dtype=dtype),
        rng.uniform(0.5, 2.0, n).astype(dtype),
    )
    layout = TabularLayout([2, 1, 2], cardinalities, [6, 5], K, members)
    params = initialize(layout, data, code, rng, dtype)
    views = layout.views(params)
    for l in range(3):  # mixing weights, adapters, front scales away from 1
        base = core.FRONT_TENSORS + core.LAYER_TENSORS * l
        for tensor in views[base + 2 : base + 5]:
            tensor[:] = rng.uniform(0.2, 1.5, tensor.size)
        views[base + 1][:] += rng.uniform(-0.5, 0.5, views[base + 1].size).astype(dtype)
    views[5][:] = rng.uniform(0.5, 1.5, views[5].size)
    return layout, params, data


def reference_tensors(layout, params):
    """The tensors in naive.tabular_forward's shapes, in float64."""
    views = [v.astype(np.float64) for v in layout.views(params)]
    n_num = int(layout.widths[0])
    shaped = [
        views[0].reshape(n_num, 16),
        views[1].reshape(n_num, 16),
        views[2].reshape(n_num, 3, 16),
        views[3].reshape(n_num, 3),
        views[4],
        views[5],
    ]
    k = layout.members
    for l in range(1, len(layout.sizes)):
        base = core.FRONT_TENSORS + core.LAYER_TENSORS * (l - 1)
        n_prev, n = int(layout.sizes[l - 1]), int(layout.sizes[l])
        W = views[base].reshape(n_prev, n).T
        adapters = k if k > 1 else 0
        shaped += [
            W,
            views[base + 1].reshape(k, n),
            views[base + 2],
            views[base + 3].reshape(adapters, n_prev),
            views[base + 4].reshape(adapters, n),
        ]
    return shaped


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", [SELU, MISH])
@pytest.mark.parametrize("members", [1, 3])
def test_forward_matches_numpy(dtype, code, members):
    """E1, E2, S2, N1 (or BE1), A12 composed: the compiled output (the
    members' mean) equals the reference's."""
    layout, params, data = small_problem(dtype, code, members=members)
    out = np.empty((len(data.Y), 3), dtype=dtype)
    work = layout.chunks(core.PREDICT_BLOCK, dtype)
    core.predict_rows(data, layout.network(params, code), work, np.int64(3), False, out)
    expected = naive.tabular_forward(
        reference_tensors(layout, params),
        data.numeric.T.astype(float),
        data.plain.T.astype(float),
        data.codes.T,
        layout.first_rows,
        ACTIVATIONS[code],
        members,
    )
    np.testing.assert_allclose(
        out.T, expected, rtol=TOLERANCE[dtype] * 50, atol=TOLERANCE[dtype] * 50
    )
    if members == 1:  # the members' mean of probabilities: in the estimator test below
        probabilities = np.empty_like(out)
        core.predict_rows(
            data, layout.network(params, code), work, np.int64(3), True, probabilities
        )
        np.testing.assert_allclose(probabilities.T, naive.softmax(expected), rtol=1e-4, atol=1e-6)


def loss_and_gradient(layout, params, data, code, classification, dropout):
    """One full batch through ``train_epoch`` with a zero learning rate and
    decay: its cost and the gradient it leaves (the parameters do not move)."""
    work = layout.chunks(len(data.Y), params.dtype)
    optimizer = layout.optimizer(params.dtype)
    schedule = core.TabularSchedule(0.0, dropout, 0.0, 1000.0, (0.9, 0.95, 1e-8), np.int64(7))
    rng = np.random.RandomState(5)
    order = np.stack(
        [np.arange(len(data.Y))] + [rng.permutation(len(data.Y)) for _ in range(layout.members - 1)]
    )
    before = params.copy()
    loss = core.train_epoch(
        data,
        layout.network(params, code),
        work,
        optimizer,
        schedule,
        order,
        np.int64(order.shape[1]),
        np.int64(3),
        classification,
    )
    assert np.array_equal(params, before)
    return loss, work.grads[0].copy()  # the step adds the chunks' gradients there


@pytest.mark.parametrize("code,classification", [(SELU, True), (MISH, False)])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("members", [1, 3])
def test_gradient_matches_finite_differences(code, classification, dropout, members):
    """Every parameter's gradient (E1, E2, S2, N1 or BE1, A12, the seeds, D1's
    masks) against central differences of the cost, float64."""
    layout, params, data = small_problem(np.float64, code, members=members)
    if not classification:
        data = data._replace(Y=np.ascontiguousarray(data.Y * 3 - 1))
    loss, grads = loss_and_gradient(layout, params, data, code, classification, dropout)
    h = 1e-6
    numeric = np.empty_like(grads)
    for p in range(params.size):
        saved = params[p]
        params[p] = saved + h
        up = loss_and_gradient(layout, params, data, code, classification, dropout)[0]
        params[p] = saved - h
        down = loss_and_gradient(layout, params, data, code, classification, dropout)[0]
        params[p] = saved
        numeric[p] = (up - down) / (2 * h)
    scale = np.abs(numeric).max()
    assert scale > 1e-3  # the check sees real gradients
    for a, b in zip(layout.offsets[:-1], layout.offsets[1:]):  # every tensor carries gradient
        if b > a:
            assert np.abs(numeric[a:b]).max() > 0
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-7 * scale)


@pytest.mark.parametrize("code,classification", [(SELU, True), (MISH, False)])
def test_float32_gradient_matches_float64(code, classification):
    """The float32 kernels give the float64 gradient (checked above by finite
    differences) to float32's precision, with D1 on."""
    layout, params, data = small_problem(np.float64, code)
    _, expected = loss_and_gradient(layout, params, data, code, classification, 0.3)
    data32 = core.TabularData(*(a if a.dtype == np.int64 else a.astype(np.float32) for a in data))
    _, grads = loss_and_gradient(
        layout, params.astype(np.float32), data32, code, classification, 0.3
    )
    np.testing.assert_allclose(grads, expected, rtol=2e-3, atol=2e-4 * np.abs(expected).max())


@pytest.mark.parametrize("code,classification", [(SELU, True), (MISH, False)])
def test_loss_matches_numpy(code, classification):
    """The cost train_epoch returns is the reference's C2 with smoothed
    targets (or the mean squared error), weighted (R2)."""
    layout, params, data = small_problem(np.float64, code)
    loss, _ = loss_and_gradient(layout, params, data, code, classification, 0.0)
    Z = naive.tabular_forward(
        reference_tensors(layout, params),
        data.numeric.T,
        data.plain.T,
        data.codes.T,
        layout.first_rows,
        ACTIVATIONS[code],
    )
    cost = naive.smoothed_softmax_cost if classification else naive.mean_squared_cost
    assert loss == pytest.approx(cost(Z, data.Y.T, data.s), rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", [SELU, MISH])
def test_parametric_activation_against_reference(dtype, code):
    """A12 with A7/A11: values, g(z) - z and g'(z) against the reference, over
    a range that reaches each formula's far tails (no overflow, no NaN)."""
    z = np.concatenate([np.linspace(-60, 60, 2001), [-1e3, -88, 88, 1e3]])
    Z = np.ascontiguousarray(np.tile(z, (3, 1)), dtype=dtype)
    Zf = np.asfortranarray(Z)
    mixing = np.array([1.0, 0.5, 0.0], dtype=dtype)
    A, slopes, gaps = np.empty_like(Zf), np.empty_like(Zf), Zf.copy()
    kernels.parametric_forward(gaps, mixing, np.int64(code), A, slopes)
    g = ACTIVATIONS[code](z.astype(np.float64))
    slope = DERIVATIVES[code](z.astype(np.float64), np.ones_like(z))
    tol = dict(rtol=10 * np.finfo(dtype).eps, atol=10 * np.finfo(dtype).eps)
    for row, alpha in enumerate(mixing):  # z + alpha (g - z) rounds at |z|'s scale
        expected = z + float(alpha) * (g - z)
        assert np.all(np.abs(A[row] - expected) <= 10 * np.finfo(dtype).eps * (1 + np.abs(z)))
    np.testing.assert_allclose(slopes[0], slope, **tol)
    np.testing.assert_allclose(gaps[0], g - z, rtol=tol["rtol"], atol=tol["atol"] * 100)
    dA = np.asfortranarray(np.ones_like(Zf))
    dZ, d_mixing = np.empty_like(Zf), np.empty(3, dtype=dtype)
    kernels.parametric_backward(gaps, slopes, mixing, dA, dZ, d_mixing)
    np.testing.assert_allclose(dZ[1], 1 + 0.5 * (slope - 1), **tol)
    np.testing.assert_allclose(d_mixing[0], np.sum(g - z), rtol=1e-5)


@pytest.mark.parametrize("code", [SELU, MISH])
def test_activation_derivative_by_finite_differences(code):
    """g'(z) of the one-exp formulas against central differences of g, float64,
    away from SELU's kink at 0."""
    z = np.linspace(-15, 15, 301)
    z = z[np.abs(z) > 1e-3]
    Z = np.asfortranarray(z[np.newaxis, :])
    mixing = np.ones(1)
    h = 1e-6
    values = {}
    for shift in (-h, 0.0, h):
        gaps, A, slopes = Z + shift, np.empty_like(Z), np.empty_like(Z)
        gaps = np.asfortranarray(gaps)
        kernels.parametric_forward(gaps, mixing, np.int64(code), A, slopes)
        values[shift] = (A[0], slopes[0])
    numeric = (values[h][0] - values[-h][0]) / (2 * h)
    np.testing.assert_allclose(values[0.0][1], numeric, rtol=1e-7, atol=1e-8)


def test_schedules_against_reference():
    """S3: coslog4 and flat_cos at many fractions t."""
    for t in np.linspace(0, 1, 97):
        assert kernels.coslog4(t) == pytest.approx(naive.coslog4(t), abs=1e-14)
        assert kernels.flat_cos(t) == pytest.approx(float(naive.flat_cos(t)), abs=1e-14)
    assert kernels.coslog4(0.0) == 0 and kernels.coslog4(1.0) == pytest.approx(0, abs=1e-15)
    assert kernels.coslog4((2**0.5 - 1) / 15) == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_step_against_reference(dtype):
    """W2 then Adam (PyTorch's form), 3 steps on a whole network's blocks,
    each parameter with its tensor's factors from the registry; the chunks'
    gradients added."""
    layout, params, _ = small_problem(dtype)
    rng = np.random.RandomState(1)
    optimizer = layout.optimizer(dtype)
    lr_f = np.concatenate([np.full(c, g.lr_factor) for g, c in layout.groups])
    decay_f = np.concatenate([np.full(c, g.decay_factor) for g, c in layout.groups])
    assert set(lr_f) == {0.1, 1.0, 6.0} and set(decay_f) == {0.0, 0.01, 1.0, 36.0}
    p, m, v = params.astype(float), np.zeros(params.size), np.zeros(params.size)
    for t in (1, 2, 3):
        grads = rng.randn(2, params.size).astype(dtype)
        g = grads[0].astype(float) + grads[1]
        summed = grads[0] + grads[1]
        core.optimizer_step(params, grads, optimizer, 0.01, 0.02, t, (0.9, 0.95, 1e-8))
        np.testing.assert_array_equal(grads[0], summed)  # the batch's gradient, left there
        p = p * (1 - 0.01 * 0.02 * decay_f)
        m = 0.9 * m + 0.1 * g
        v = 0.95 * v + 0.05 * g**2
        p = p - 0.01 * lr_f / (1 - 0.9**t) * m / (np.sqrt(v / (1 - 0.95**t)) + 1e-8)
    np.testing.assert_allclose(params, p, rtol=TOLERANCE[dtype] * 10, atol=1e-6)


def test_optimizer_blocks_cover_each_tensor_once():
    layout = TabularLayout([3, 2, 1], [40], [300, 300], 4)
    optimizer = layout.optimizer(np.float32)
    blocks = optimizer.blocks
    assert blocks[0, 0] == 0 and blocks[-1, 1] == layout.n_params
    assert np.array_equal(blocks[1:, 0], blocks[:-1, 1])
    assert (blocks[:, 1] - blocks[:, 0]).max() <= 16384
    for start, stop in blocks:  # no block crosses a tensor's end
        assert not np.any((layout.offsets > start) & (layout.offsets < stop))


# -- the table encoding (P1, E1's inputs) -----------------------------------


def test_robust_statistics_and_clipping():
    """P1: median, 1 / IQR, half the range when the IQR is 0, 0 for a constant."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])
    median, factor = robust_statistics(x)
    assert median == 3.0 and factor == pytest.approx(1 / (4.0 - 2.0))
    assert robust_statistics(np.array([0.0] * 9 + [1.0]))[1] == pytest.approx(2.0)
    assert robust_statistics(np.array([5.0, 5.0, np.nan])) == (5.0, 0.0)
    assert smooth_clip(np.array([0.0, 3.0, 1e9])) == pytest.approx([0.0, 3 / np.sqrt(2), 3.0])


def mixed_frame(n=300, seed=0):
    """A table as users have them: numbers with missing cells, strings,
    a category column with many levels, a boolean column."""
    rng = np.random.RandomState(seed)
    age = rng.normal(40, 10, n)
    age[rng.rand(n) < 0.1] = np.nan
    city = rng.choice(["paris", "lyon", "nice"], n).astype(object)
    city[rng.rand(n) < 0.05] = None
    shop = pd.Categorical(rng.choice([f"s{k}" for k in range(15)], n))
    frame = pd.DataFrame(
        {
            "age": age,
            "income": rng.lognormal(10, 1, n),
            "city": city,
            "shop": shop,
            "member": rng.rand(n) < 0.5,
        }
    )
    logit = 0.05 * np.nan_to_num(age - 40) + (city == "paris") + rng.randn(n) * 0.5
    return frame, np.where(logit > 0.3, "yes", "no")


def test_encoder_kinds_one_hot_embeddings_and_missing():
    """Strings and booleans one-hot (RealMLP's +1/-1 for two levels), 15
    levels embedded, the numeric column with missing cells gains an indicator."""
    frame, _ = mixed_frame()
    encoder = TableEncoder()
    numeric, plain, codes = encoder.fit_transform(frame)
    assert numeric.shape[1] == 2 and codes.shape[1] == 1
    assert plain.shape[1] == 3 + 1 + 1  # city one-hot, member +-1, age's indicator
    assert np.isfinite(numeric).all() and np.abs(numeric).max() < 3
    assert codes.min() >= 1 and codes.max() == 15
    unseen = frame.head(3).copy()
    unseen["shop"] = pd.Categorical(["nowhere", "s1", None])
    unseen["city"] = ["mars", None, "lyon"]
    _, plain_u, codes_u = encoder.transform(unseen)
    assert codes_u[:, 0].tolist()[0] == 0 and codes_u[2, 0] == 0 and codes_u[1, 0] > 0
    np.testing.assert_array_equal(plain_u[0, :3], plain_u[1, :3])  # unseen city = missing city


def test_encoder_refuses_what_it_cannot_read():
    frame, _ = mixed_frame()
    encoder = TableEncoder()
    encoder.fit_transform(frame)
    with pytest.raises(ValueError, match=r"missing \['income'\]"):
        encoder.transform(frame.drop(columns="income"))
    changed = frame.assign(income=["a"] * len(frame))
    with pytest.raises(ValueError, match="'income' was numeric in fit"):
        encoder.transform(changed)
    with pytest.raises(ValueError, match="'city' held string values in fit but holds number"):
        encoder.transform(frame.assign(city=np.arange(len(frame))))
    with pytest.raises(ValueError, match="not in categorical_features"):
        TableEncoder(categorical_features=[3]).fit_transform(frame)
    with pytest.raises(ValueError, match="infinity"):
        TableEncoder().fit_transform(frame.assign(income=np.inf))


# -- the estimators ---------------------------------------------------------

FAST = dict(n_epochs=6, hidden_layer_sizes=(16, 16), random_state=0)


#: check_estimator's tiny sets make one mini-batch an epoch: enough steps to learn them.
CHECKED = dict(FAST, n_epochs=60)


@pytest.mark.parametrize(
    "estimator",
    [TabularMLPClassifier(**CHECKED), TabularMLPRegressor(**CHECKED)],
    ids=["classifier", "regressor"],
)
def test_check_estimator(estimator):
    """Everything scikit-learn's check_estimator asks holds, except weights as
    repeated rows: a weight of 2 is not two copies of a row for mini-batch
    training with a held-out split (scikit-learn expects the same failure of
    its MLPs and SGD estimators); the test below checks what does hold."""
    reason = "mini-batches and the validation split see repeated rows, not weights"
    expected = {"check_sample_weight_equivalence_on_dense_data": reason}
    if isinstance(estimator, TabularMLPClassifier):
        # 50 training rows, a 10-row validation split and weights 1e7 apart: the
        # weighted validation error is flat after one step and the epoch kept is
        # that one (82% of class 0 where 87% is asked); test_class_weight below
        # checks the weights on a real split
        expected["check_class_weight_classifiers"] = "10 validation rows choose the epoch"
    check_estimator(estimator, expected_failed_checks=expected)


def test_class_weight_moves_predictions():
    frame, y = mixed_frame(400)
    plain = TabularMLPClassifier(n_epochs=20, random_state=0).fit(frame, y)
    weighted = TabularMLPClassifier(
        n_epochs=20, random_state=0, class_weight={"yes": 20.0, "no": 1.0}
    ).fit(frame, y)
    assert (weighted.predict(frame) == "yes").mean() > (plain.predict(frame) == "yes").mean()


def test_classifier_on_a_mixed_frame_learns_and_keeps_the_best_epoch():
    frame, y = mixed_frame(600)
    model = TabularMLPClassifier(n_epochs=30, random_state=0).fit(frame[:450], y[:450])
    assert model.score(frame[450:], y[450:]) > 0.75
    assert 1 <= model.best_epoch_ <= 30 and len(model.validation_scores_) == 30
    assert model.best_validation_score_ == min(model.validation_scores_)
    proba = model.predict_proba(frame[450:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert list(model.feature_names_in_) == list(frame.columns)


def test_polars_and_pandas_give_the_same_bits():
    frame, y = mixed_frame(200)
    polars_frame = pl.DataFrame(
        {
            "age": frame["age"].to_numpy(),  # NaN, a float; nulls below
            "income": frame["income"].to_numpy(),
            "city": [None if pd.isna(v) else v for v in frame["city"]],
            "shop": pl.Series(frame["shop"].astype(str).tolist(), dtype=pl.Categorical),
            "member": frame["member"].to_numpy(),
        }
    ).with_columns(pl.col("age").fill_nan(None))
    pandas_model = TabularMLPClassifier(**FAST).fit(frame, y)
    polars_model = TabularMLPClassifier(**FAST).fit(polars_frame, y)
    assert np.array_equal(
        pandas_model.predict_proba(frame), polars_model.predict_proba(polars_frame)
    )


def test_bad_input_at_predict_leaves_the_model_unchanged():
    frame, y = mixed_frame(200)
    model = TabularMLPClassifier(**FAST).fit(frame, y)
    before = model.predict_proba(frame)
    with pytest.raises(ValueError, match="missing"):
        model.predict(frame.drop(columns="age"))
    with pytest.raises(ValueError, match="numeric in fit"):
        model.predict(frame.assign(age="old"))
    assert np.array_equal(model.predict_proba(frame), before)


def test_validation_data_given_and_errors():
    frame, y = mixed_frame(300)
    model = TabularMLPClassifier(**FAST).fit(frame[:200], y[:200], X_val=frame[200:], y_val=y[200:])
    error = 1 - model.score(frame[200:], y[200:])
    assert model.best_validation_score_ == pytest.approx(error)
    with pytest.raises(ValueError, match="X_val and y_val go together"):
        TabularMLPClassifier(**FAST).fit(frame, y, X_val=frame)
    with pytest.raises(ValueError, match="labels not in y"):
        TabularMLPClassifier(**FAST).fit(frame, y, X_val=frame[:5], y_val=["maybe"] * 5)


def test_scoring_chooses_the_epoch():
    frame, y = mixed_frame(300)
    model = TabularMLPClassifier(scoring="neg_log_loss", **FAST).fit(frame, y)
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_regressor_standardizes_and_clamps():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 3)
    y = 1000 + 50 * X[:, 0] + 5 * rng.randn(400)
    model = TabularMLPRegressor(n_epochs=40, random_state=0).fit(X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.9
    far = model.predict(np.full((1, 3), 1e6))
    assert y[:300].min() <= far[0] <= y[:300].max() * (1 + 1e-6)
    Y2 = np.column_stack([y, -y])
    assert TabularMLPRegressor(**FAST).fit(X, Y2).predict(X).shape == (400, 2)


def test_same_seed_same_bits_and_float32_close_to_float64():
    frame, y = mixed_frame(200)
    a = TabularMLPClassifier(**FAST).fit(frame, y).predict_proba(frame)
    b = clone(TabularMLPClassifier(**FAST)).fit(frame, y).predict_proba(frame)
    assert np.array_equal(a, b)
    c = TabularMLPClassifier(dtype=np.float64, **FAST).fit(frame, y).predict_proba(frame)
    np.testing.assert_allclose(a, c, atol=2e-3)


_THREADS_SCRIPT = """
import numpy as np, sys
sys.path.insert(0, {tests!r})
from test_tabular import mixed_frame, FAST
from fastffnn import TabularMLPRegressor
frame, y = mixed_frame(300)
target = np.nan_to_num(frame["age"].to_numpy()) + (y == "yes")
model = TabularMLPRegressor(**FAST).fit(frame, target)
sys.stdout.write(model.predict(frame).tobytes().hex())
"""


def test_bits_do_not_depend_on_threads():
    """Fits in fresh processes with 1, 2 or 4 numba threads and 1 or 2 BLAS threads."""
    tests = os.path.dirname(os.path.abspath(__file__))
    outputs = set()
    for numba_threads, blas_threads in [(1, 1), (2, 2), (4, 1), (4, 2)]:
        env = dict(
            os.environ, NUMBA_NUM_THREADS=str(numba_threads), OPENBLAS_NUM_THREADS=str(blas_threads)
        )
        result = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT.format(tests=tests)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_a_failed_fit_leaves_the_fitted_model_as_it_was():
    frame, y = mixed_frame(200)
    model = TabularMLPClassifier(**FAST).fit(frame, y)
    before = model.predict_proba(frame)
    with pytest.raises(ValueError, match="infinity"):
        model.fit(frame.assign(income=np.inf), y)
    with pytest.raises(ValueError, match="only one class"):
        model.fit(frame, np.full(len(y), "yes"))
    assert list(model.classes_) == ["no", "yes"]
    assert np.array_equal(model.predict_proba(frame), before)


@pytest.mark.skipif(not CALLBACKS, reason="sklearn.callback needs scikit-learn >= 1.9")
def test_callbacks_see_each_epoch_and_can_stop():
    """scikit-learn's callbacks: a subtask per epoch with that epoch's model;
    a callback returning True stops after that epoch."""
    from sklearn.callback import ScoringMonitor

    frame, y = mixed_frame(200)

    class StopAfterThree:
        def __init__(self):
            self.fitted = []

        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator):
            if context.task_name == "epoch":
                self.fitted.append(fitted_estimator)
                return len(self.fitted) >= 3
            return False

        def teardown(self, estimator, context):
            pass

    stop = StopAfterThree()
    model = TabularMLPClassifier(**dict(FAST, n_epochs=10)).set_callbacks(stop)
    model.fit(frame, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    first = stop.fitted[0].predict_proba(frame)
    assert not np.array_equal(first, stop.fitted[2].predict_proba(frame))
    monitored = TabularMLPClassifier(**FAST).set_callbacks(ScoringMonitor(scoring="accuracy"))
    monitored.fit(frame, y)
    assert monitored.n_iter_ == FAST["n_epochs"]


def test_members_train_an_ensemble():
    """n_members=4 (BE1): the members' adapters are trained and differ, the
    ensemble predicts probabilities and learns the table."""
    frame, y = mixed_frame(600)
    model = TabularMLPClassifier(n_members=4, n_epochs=20, random_state=0)
    model.fit(frame[:450], y[:450])
    assert model.score(frame[450:], y[450:]) > 0.75
    proba = model.predict_proba(frame[450:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    views = model._layout.views(model._params)
    r = views[core.FRONT_TENSORS + 3].reshape(4, -1)
    assert not np.allclose(r[0], r[1])  # the first layer's input scales: one row a member
    b = views[core.FRONT_TENSORS + 1].reshape(4, -1)
    assert not np.allclose(b[0], b[1])
    regressor = TabularMLPRegressor(n_members=3, n_epochs=40, random_state=0)
    target = np.nan_to_num(frame["age"].to_numpy()) + (y == "yes")
    assert regressor.fit(frame, target).score(frame, target) > 0.5
