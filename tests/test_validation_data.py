"""Validation data you choose (issue 24): fit's X_val, y_val, sample_weight_val as
HistGradientBoosting's, and ``scoring`` for early stopping and validation_scores_."""

import numpy as np
import pytest
import scipy.sparse
import sklearn
from helpers import digits
from sklearn.metrics import log_loss, mean_absolute_error
from sklearn.pipeline import make_pipeline

from fastffnn import FFNNClassifier, FFNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def split():
    X, y = digits()
    return X[:1400], y[:1400], X[1400:], y[1400:]


@pytest.mark.parametrize("sparse", [False, True])
def test_early_stopping_on_the_given_validation_data_keeps_the_best_epoch(sparse):
    X, y, X_val, y_val = split()
    if sparse:
        X, X_val = scipy.sparse.csr_matrix(X), scipy.sparse.csr_matrix(X_val)
    model = FFNNClassifier(max_iter=200, early_stopping=True, random_state=0)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.validation_scores_) == model.n_iter_ == len(model.validation_loss_curve_)
    assert model.n_iter_ < 200  # it stopped on the validation score
    assert (
        model.score(X_val, y_val) == model.best_validation_score_ == max(model.validation_scores_)
    )


def test_validation_loss_is_the_cost_on_the_validation_data():
    X, y, X_val, y_val = split()
    model = FFNNClassifier(max_iter=5, random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(model.validation_loss_curve_[-1],
                               log_loss(y_val, model.predict_proba(X_val)), rtol=1e-10)  # fmt: skip
    # without early stopping the stopping rule stays the training loss's
    assert len(model.validation_scores_) == 5 and model.best_validation_score_ is None


def test_scoring_loss_and_scorer_names():
    X, y, X_val, y_val = split()
    by_loss = FFNNClassifier(max_iter=6, scoring="loss", random_state=0)
    by_loss.fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(by_loss.validation_scores_,
                               -np.asarray(by_loss.validation_loss_curve_))  # fmt: skip
    Xr, yr = X, y * 1.0
    regressor = FFNNRegressor(max_iter=6, scoring="neg_mean_absolute_error", random_state=0)
    regressor.fit(Xr, yr, X_val=X_val, y_val=y_val * 1.0)
    assert regressor.validation_scores_[-1] == pytest.approx(
        -mean_absolute_error(y_val, regressor.predict(X_val))
    )


def test_scoring_loss_with_the_split_of_early_stopping():
    X, y = digits()
    model = FFNNClassifier(max_iter=40, early_stopping=True, scoring="loss", random_state=0)
    model.fit(X, y)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert all(score < 0 for score in model.validation_scores_)


def test_defaults_are_unchanged():
    """No X_val, scoring=None: the same model as before (MLPClassifier's)."""
    X, y = digits()
    a = FFNNClassifier(max_iter=20, early_stopping=True, random_state=0).fit(X, y)
    b = FFNNClassifier(max_iter=20, early_stopping=True, random_state=0, scoring=None).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier(max_iter=20, early_stopping=True, random_state=0).fit(X, y)
    np.testing.assert_allclose(a.validation_scores_, mlp.validation_scores_)


def test_sample_weight_val_weighs_the_validation_loss():
    X, y, X_val, y_val = split()
    weights = np.where(y_val == 3, 5.0, 1.0)
    model = FFNNClassifier(max_iter=3, random_state=0)
    model.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=weights)
    expected = log_loss(y_val, model.predict_proba(X_val), sample_weight=weights)
    np.testing.assert_allclose(model.validation_loss_curve_[-1], expected, rtol=1e-10)


def test_validation_data_routed_through_a_pipeline():
    X, y, X_val, y_val = split()
    with sklearn.config_context(enable_metadata_routing=True):
        model = FFNNClassifier(max_iter=3, random_state=0).set_fit_request(X_val=True, y_val=True)
        pipeline = make_pipeline(model).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(pipeline[-1].validation_scores_) == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(X_val="given"), "together"),
        (dict(y_val="given"), "together"),
        (dict(sample_weight_val="ones"), "without X_val"),
    ],
)
def test_incomplete_validation_data_is_refused(kwargs, message):
    X, y, X_val, y_val = split()
    given = {"X_val": X_val, "y_val": y_val, "sample_weight_val": np.ones(len(y_val))}
    kwargs = {name: given[name] for name in kwargs}
    with pytest.raises(ValueError, match=message):
        FFNNClassifier(max_iter=2).fit(X, y, **kwargs)


def test_bad_validation_data_is_refused_and_loses_nothing():
    X, y, X_val, y_val = split()
    model = FFNNClassifier(max_iter=2, random_state=0).fit(X, y)
    before = model.coefs_[0].copy()
    with pytest.raises(ValueError, match="y_val"):
        model.fit(X, y, X_val=X_val, y_val=y_val + 20)  # labels the model does not know
    with pytest.raises(ValueError, match="features"):
        model.fit(X, y, X_val=X_val[:, :10], y_val=y_val)
    with pytest.raises(ValueError, match="rows"):
        model.fit(X, y, X_val=X_val, y_val=y_val[:5])
    with pytest.raises(ValueError, match="lbfgs"):
        FFNNClassifier(solver="lbfgs").fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(model.coefs_[0], before)


def test_validation_data_routed_through_a_grid_search():
    from sklearn.model_selection import GridSearchCV

    X, y, X_val, y_val = split()
    with sklearn.config_context(enable_metadata_routing=True):
        model = FFNNClassifier(max_iter=4, early_stopping=True, scoring="loss", random_state=0)
        model.set_fit_request(X_val=True, y_val=True)
        search = GridSearchCV(model, {"alpha": [1e-4, 1e-2]}, cv=2)
        search.fit(X, y, X_val=X_val, y_val=y_val)
    best = search.best_estimator_
    assert len(best.validation_loss_curve_) == best.n_iter_
    # the kept (best) weights' loss on the given validation data is the best score:
    # the curve is of X_val, not of a split of the training data
    expected = log_loss(y_val, best.predict_proba(X_val))
    assert -best.best_validation_score_ == pytest.approx(expected, rel=1e-10)


def test_nan_in_the_validation_data_is_refused_and_loses_nothing():
    X, y, X_val, y_val = split()
    model = FFNNClassifier(max_iter=2, random_state=0).fit(X, y)
    before = [c.copy() for c in model.coefs_]
    bad = X_val.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X, y, X_val=bad, y_val=y_val)
    for a, b in zip(before, model.coefs_):
        np.testing.assert_array_equal(a, b)
    assert model.n_iter_ == 2
