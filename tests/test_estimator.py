"""FFNNClassifier as a scikit-learn estimator: the estimator checks, composition
(pipelines, grid search, cross-validation, pickling), equivalence with
MLPClassifier, accuracy, and sample / class weights."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastffnn import FFNNClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _max_difference(first, second):
    return max(np.abs(a - b).max() for a, b in zip(first, second))


@parametrize_with_checks([FFNNClassifier(hidden_layer_sizes=(20,), max_iter=100)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------- composition


def test_pipeline_grid_search_cross_validation_and_clone():
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), FFNNClassifier(max_iter=300, random_state=0))
    search = GridSearchCV(
        pipeline,
        {
            "ffnnclassifier__hidden_layer_sizes": [(10,), (30,)],
            "ffnnclassifier__alpha": [1e-4, 1e-2],
        },
        cv=3,
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == 4

    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.9

    fitted = pipeline.fit(X, y)
    twin = clone(fitted)
    assert not hasattr(twin[-1], "coefs_")
    assert twin.get_params()["ffnnclassifier__max_iter"] == 300


_PREDICT_IN_NEW_PROCESS = """
import pickle, sys, joblib, numpy as np
X = np.load(sys.argv[1])
pickled = pickle.load(open(sys.argv[2], "rb"))
dumped = joblib.load(sys.argv[3])
np.save(sys.argv[4], np.stack([pickled.predict_proba(X), dumped.predict_proba(X)]))
"""


def test_pickle_and_joblib_round_trips_predict_identically_in_a_new_process(tmp_path):
    X, y = _digits()
    model = FFNNClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(X, y)
    expected = model.predict_proba(X)
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "model.pkl", "wb") as file:
        pickle.dump(model, file)
    joblib.dump(model, tmp_path / "model.joblib")
    subprocess.run(
        [sys.executable, "-c", _PREDICT_IN_NEW_PROCESS, str(tmp_path / "X.npy"),
         str(tmp_path / "model.pkl"), str(tmp_path / "model.joblib"), str(tmp_path / "out.npy")],
        check=True,
    )  # fmt: skip
    from_pickle, from_joblib = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(from_pickle, expected)
    np.testing.assert_array_equal(from_joblib, expected)


def test_unpickled_model_keeps_live_parameters():
    X, y = _digits()
    model = pickle.loads(pickle.dumps(FFNNClassifier((8,), max_iter=5, random_state=0).fit(X, y)))
    before = model.predict_proba(X[:5])
    model.intercepts_[-1][:] += 3.0 * np.arange(10)
    assert not np.allclose(model.predict_proba(X[:5]), before)


def test_dataframe_input_records_feature_names():
    pandas = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True)
    frame = pandas.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    model = FFNNClassifier((10,), max_iter=50, random_state=0).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    assert model.predict(frame).shape == (150,)


def test_string_labels_and_label_order():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = FFNNClassifier((10,), max_iter=300, random_state=0).fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert set(model.predict(X)) <= set(names)
    assert model.score(X, names) > 0.9


# ------------------------------------------------- equivalence with sklearn


def _targets(kind):
    X, y = _digits()
    if kind == "binary":
        return X, (y > 4).astype(int)
    if kind == "multiclass":
        return X, y
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    return X / X.max(), Y


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
def test_predict_proba_matches_mlpclassifier_with_copied_weights(kind, activation):
    X, y = _targets(kind)
    reference = MLPClassifier((12, 7), activation=activation, max_iter=3, random_state=1)
    reference.fit(X, y)
    model = FFNNClassifier((12, 7), activation=activation, max_iter=1, random_state=2).fit(X, y)
    model.coefs_ = [c.copy() for c in reference.coefs_]
    model.intercepts_ = [b.copy() for b in reference.intercepts_]
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_training_trajectory_matches_mlpclassifier(solver, kind):
    """Same random_state, no shuffling: the same initial weights, batches and
    updates, so the compiled core must follow scikit-learn step by step."""
    X, y = _targets(kind)
    settings = dict(hidden_layer_sizes=(30, 20), solver=solver, shuffle=False, random_state=0,
                    max_iter=5, alpha=1e-3, batch_size=64)  # fmt: skip
    reference = MLPClassifier(**settings).fit(X, y)
    model = FFNNClassifier(**settings).fit(X, y)
    assert _max_difference(model.coefs_, reference.coefs_) < 1e-12
    assert _max_difference(model.intercepts_, reference.intercepts_) < 1e-12
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize(
    "settings",
    [dict(), dict(early_stopping=True), dict(solver="sgd"), dict(batch_size=64),
     dict(early_stopping=True, solver="sgd", learning_rate="adaptive")],
    ids=["defaults", "early stopping", "sgd", "batch 64", "sgd adaptive early stopping"],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_default_settings_train_mlpclassifiers_model(kind, settings):
    """Shuffled epochs and the early-stopping split drawn from the estimator's
    RandomState in scikit-learn's order: swapping the class name keeps the model."""
    X, y = _targets(kind)
    settings = dict(hidden_layer_sizes=(30,), max_iter=15, random_state=0, **settings)
    reference = MLPClassifier(**settings).fit(X, y)
    model = FFNNClassifier(**settings).fit(X, y)
    assert model.n_iter_ == reference.n_iter_
    assert _max_difference(model.coefs_, reference.coefs_) < 1e-12
    assert _max_difference(model.intercepts_, reference.intercepts_) < 1e-12
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-12)
    if settings.get("early_stopping"):
        np.testing.assert_array_equal(model.validation_scores_, reference.validation_scores_)


def test_partial_fit_trains_mlpclassifiers_model():
    X, y = _digits()
    reference, model = MLPClassifier((30,), random_state=0), FFNNClassifier((30,), random_state=0)
    for _ in range(4):
        reference.partial_fit(X, y, classes=np.arange(10))
        model.partial_fit(X, y, classes=np.arange(10))
    assert _max_difference(model.coefs_, reference.coefs_) < 1e-12
    assert (model.n_iter_, model.t_) == (reference.n_iter_, reference.t_)


def test_lbfgs_matches_mlpclassifier():
    X, y = _digits()
    reference = MLPClassifier((30,), solver="lbfgs", random_state=0, max_iter=20).fit(X, y)
    model = FFNNClassifier((30,), solver="lbfgs", random_state=0, max_iter=20).fit(X, y)
    assert model.n_iter_ == reference.n_iter_
    assert _max_difference(model.coefs_, reference.coefs_) < 1e-9
    assert model.loss_ == pytest.approx(reference.loss_, rel=1e-10)


def test_same_random_state_gives_bitwise_identical_weights():
    X, y = _digits()
    first = FFNNClassifier((20,), max_iter=5, random_state=3).fit(X, y)
    second = FFNNClassifier((20,), max_iter=5, random_state=3).fit(X, y)
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert first.loss_curve_ == second.loss_curve_
    other = FFNNClassifier((20,), max_iter=5, random_state=4).fit(X, y)
    assert _max_difference(first.coefs_, other.coefs_) > 0


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("loader", [load_digits, load_breast_cancer, load_wine, load_iris])
def test_cross_validated_accuracy_is_within_one_point_of_mlpclassifier(loader):
    X, y = loader(return_X_y=True)
    settings = dict(hidden_layer_sizes=(100,), max_iter=300, random_state=0)
    ours = cross_val_score(make_pipeline(StandardScaler(), FFNNClassifier(**settings)), X, y, cv=5)
    theirs = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(**settings)), X, y, cv=5)
    assert ours.mean() >= theirs.mean() - 0.01, (ours.mean(), theirs.mean())


# ------------------------------------------------------- weights and classes


def test_integer_sample_weights_equal_repeated_rows():
    """lbfgs in float64 is deterministic, so weight k and k copies of a row give
    the same cost and gradient up to summation order: the fitted weights agree
    to ~1e-9 after 30 iterations (rounding amplified by the optimizer)."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.random.RandomState(0).randint(0, 4, size=len(y))
    settings = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30, random_state=0)
    weighted = FFNNClassifier(**settings).fit(X, y, sample_weight=weights)
    repeated = FFNNClassifier(**settings).fit(np.repeat(X, weights, 0), np.repeat(y, weights))
    assert _max_difference(weighted.coefs_, repeated.coefs_) < 1e-7
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-9)


def test_balanced_class_weight_improves_balanced_accuracy():
    X, y = make_classification(n_samples=3000, n_features=10, weights=[0.95, 0.05],
                               class_sep=0.6, random_state=0)  # fmt: skip
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    settings = dict(hidden_layer_sizes=(20,), max_iter=100, random_state=0)
    plain = FFNNClassifier(**settings).fit(X_train, y_train)
    balanced = FFNNClassifier(class_weight="balanced", **settings).fit(X_train, y_train)
    plain_score = balanced_accuracy_score(y_test, plain.predict(X_test))
    balanced_score = balanced_accuracy_score(y_test, balanced.predict(X_test))
    assert balanced_score > plain_score + 0.05, (plain_score, balanced_score)


# ----------------------------------------------------- behaviour and errors


def test_output_layer_follows_the_targets():
    X, y = _digits()
    binary = FFNNClassifier((5,), max_iter=2).fit(X, y > 4)
    multiclass = FFNNClassifier((5,), max_iter=2).fit(X, y)
    X_multi, Y_multi = make_multilabel_classification(n_samples=100, n_classes=3, random_state=0)
    multilabel = FFNNClassifier((5,), max_iter=2).fit(X_multi, Y_multi)
    assert (binary.out_activation_, binary.n_outputs_) == ("logistic", 1)
    assert (multiclass.out_activation_, multiclass.n_outputs_) == ("softmax", 10)
    assert (multilabel.out_activation_, multilabel.n_outputs_) == ("logistic", 3)
    assert binary.predict_proba(X[:4]).shape == (4, 2)
    assert multilabel.predict(X_multi[:4]).shape == (4, 3)
    assert multiclass.n_layers_ == 3 and len(multiclass.coefs_) == 2


def test_one_activation_per_hidden_layer():
    X, y = _digits()
    model = FFNNClassifier((16, 8), activation=["tanh", "relu"], max_iter=30, random_state=0)
    assert model.fit(X, y).score(X, y) > 0.8
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        FFNNClassifier((16, 8), activation=["tanh"]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        FFNNClassifier((16,), activation=["swish"]).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_x_or_the_parameter(dtype):
    X, y = _digits()
    model = FFNNClassifier((10,), max_iter=3).fit(X.astype(dtype), y)
    assert all(c.dtype == dtype for c in model.coefs_ + model.intercepts_)
    assert model.predict_proba(X).dtype == dtype
    forced = FFNNClassifier((10,), max_iter=3, dtype="float32").fit(X, y)
    assert forced.coefs_[0].dtype == np.float32


def test_partial_fit_needs_classes_then_learns_incrementally():
    X, y = _digits()
    model = FFNNClassifier((30,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X[:100], y[:100])
    model.partial_fit(X[:500], y[:500], classes=np.arange(10))
    first = model.score(X, y)
    for _ in range(20):
        model.partial_fit(X, y)
    assert model.score(X, y) > first
    assert model.t_ == 500 + 20 * len(X)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        model.partial_fit(X[:10], np.full(10, 11))
    assert not hasattr(FFNNClassifier(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_from_the_current_weights():
    X, y = _digits()
    model = FFNNClassifier((20,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    after_three = [c.copy() for c in model.coefs_]
    model.fit(X, y)
    assert len(model.loss_curve_) == 6
    assert _max_difference(model.coefs_, after_three) > 0
    cold = FFNNClassifier((20,), max_iter=3, random_state=0).fit(X, y)
    assert _max_difference(cold.coefs_, after_three) == 0


def test_early_stopping_restores_the_best_weights():
    X, y = _digits()
    settings = dict(hidden_layer_sizes=(30,), early_stopping=True, n_iter_no_change=3,
                    random_state=0)  # fmt: skip
    model = FFNNClassifier(max_iter=200, **settings).fit(X, y)
    assert model.n_iter_ < 200
    assert model.best_loss_ is None
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    best_epoch = int(np.argmax(model.validation_scores_)) + 1
    assert best_epoch < model.n_iter_
    # Training is deterministic, so a run stopped right at the best epoch ends
    # with exactly the weights that early stopping must have restored.
    stopped_at_best = FFNNClassifier(max_iter=best_epoch, **settings).fit(X, y)
    assert _max_difference(model.coefs_, stopped_at_best.coefs_) == 0


def test_max_iter_warns_and_verbose_prints_one_line_per_epoch(capsys):
    X, y = _digits()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        FFNNClassifier((10,), max_iter=3, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]


def test_assigned_coefs_change_predictions_and_bad_shapes_are_named():
    X, y = _digits()
    model = FFNNClassifier((10,), max_iter=5, random_state=0).fit(X, y)
    model.coefs_ = [np.zeros_like(c) for c in model.coefs_]
    model.intercepts_ = [np.zeros_like(b) for b in model.intercepts_]
    np.testing.assert_allclose(model.predict_proba(X[:3]), np.full((3, 10), 0.1))
    model.coefs_ = [np.zeros((3, 3)), model.coefs_[1]]
    with pytest.raises(ValueError, match=r"Layer 0: coefs_ must have shape \(64, 10\)"):
        model.predict(X)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes must be positive"),
        (dict(activation="swish"), "activation"),
        (dict(batch_size=0), "batch_size"),
        (dict(alpha=-1.0), "alpha"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(dtype="int32"), "dtype"),
    ],
)
def test_invalid_parameters_are_named(bad, message):
    X, y = _digits()
    with pytest.raises(ValueError, match=message):
        FFNNClassifier(**bad).fit(X, y)


def test_a_single_class_trains_and_predicts_it_as_mlp_classifier():
    X, y = _digits()
    one = np.full(len(X), 7)
    ours = FFNNClassifier((5,), max_iter=3, random_state=0).fit(X, one)
    reference = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, one)
    np.testing.assert_array_equal(ours.classes_, [7])
    np.testing.assert_array_equal(ours.predict(X[:4]), [7, 7, 7, 7])
    np.testing.assert_array_equal(ours.predict_proba(X[:4]), np.ones((4, 1)))
    # MLPClassifier predicts the class too (its predict_proba has a spurious second column)
    np.testing.assert_array_equal(reference.predict(X[:4]), [7, 7, 7, 7])


def test_clear_errors_on_bad_input():
    X, y = _digits()
    with pytest.raises(NotFittedError):
        FFNNClassifier().predict(X)
    with pytest.raises(ValueError, match="NaN"):
        FFNNClassifier().fit(np.where(X == 0, np.nan, X), y)
    with pytest.raises(ValueError, match="(?i)negative"):
        FFNNClassifier().fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        FFNNClassifier().fit(X, np.linspace(0, 1, len(X)))
    model = FFNNClassifier((5,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X[:2])
