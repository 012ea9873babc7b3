"""scikit-learn's callbacks (sklearn.callback, issue 24): a task per epoch (per
L-BFGS iteration), ProgressBar and ScoringMonitor, stopping from a callback,
callbacks propagated by a Pipeline and a GridSearchCV."""

import warnings

import numpy as np
import pytest
import scipy.sparse
from helpers import digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier, FFNNRegressor
from fastffnn.callbacks import AVAILABLE

pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason="scikit-learn < 1.9 has no sklearn.callback"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


class Recorder:
    """Records (estimator, task, id) at each task's end; asks to stop at an epoch."""

    max_propagation_depth = None  # an AutoPropagatedCallback: reaches sub-estimators

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.ended = []
        self.weights = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator):
        self.ended.append((context.estimator_name, context.task_name, context.task_id))
        if context.task_name in ("epoch", "lbfgs-iter"):
            self.weights.append(fitted_estimator.coefs_[0].copy())
            return self.stop_after is not None and context.task_id + 1 == self.stop_after
        return False

    def teardown(self, estimator, context):
        pass


def epochs(recorder, name="epoch"):
    return [task_id for _, task, task_id in recorder.ended if task == name]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("sparse", [False, True])
def test_one_task_per_epoch_and_a_fitted_estimator_of_that_epoch(solver, sparse):
    X, y = digits()
    X = scipy.sparse.csr_matrix(X) if sparse else X
    recorder = Recorder()
    model = FFNNClassifier(solver=solver, max_iter=4, random_state=0).set_callbacks(recorder)
    model.fit(X, y)
    assert epochs(recorder) == [0, 1, 2, 3]
    assert recorder.ended[-1] == ("FFNNClassifier", "fit", 0)
    # the last epoch's fitted_estimator holds the final weights; earlier ones differ
    np.testing.assert_array_equal(recorder.weights[-1], model.coefs_[0])
    assert not np.array_equal(recorder.weights[0], model.coefs_[0])


def test_callbacks_change_nothing_in_the_results():
    X, y = digits()
    plain = FFNNClassifier(max_iter=3, random_state=0).fit(X, y)
    watched = FFNNClassifier(max_iter=3, random_state=0).set_callbacks(Recorder()).fit(X, y)
    for a, b in zip(plain.coefs_ + plain.intercepts_, watched.coefs_ + watched.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_a_callback_stops_training_after_epoch_3():
    X, y = digits()
    recorder = Recorder(stop_after=3)
    model = FFNNClassifier(max_iter=50, random_state=0).set_callbacks(recorder).fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert epochs(recorder) == [0, 1, 2]
    np.testing.assert_array_equal(recorder.weights[-1], model.coefs_[0])
    # the same three epochs as a fit of max_iter=3
    three = FFNNClassifier(max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(three.coefs_[0], model.coefs_[0])


def test_stopping_under_early_stopping_keeps_the_best_epoch():
    X, y = digits()
    recorder = Recorder(stop_after=6)
    model = FFNNClassifier(max_iter=50, early_stopping=True, learning_rate_init=0.05,
                           random_state=0).set_callbacks(recorder).fit(X, y)  # fmt: skip
    assert model.n_iter_ == 6
    best = int(np.argmax(model.validation_scores_))
    np.testing.assert_array_equal(recorder.weights[best], model.coefs_[0])


def test_lbfgs_has_a_task_per_iteration_and_stops():
    X, y = digits()
    recorder = Recorder()
    model = FFNNRegressor(solver="lbfgs", max_iter=5, random_state=0).set_callbacks(recorder)
    model.fit(X, y * 1.0)
    assert epochs(recorder, "lbfgs-iter") == list(range(model.n_iter_))
    stopping = Recorder(stop_after=2)
    model = FFNNClassifier(solver="lbfgs", max_iter=50, random_state=0).set_callbacks(stopping)
    model.fit(X, y)
    assert model.n_iter_ == 2


def test_partial_fit_is_a_task_of_one_epoch():
    X, y = digits()
    recorder = Recorder()
    model = FFNNClassifier(random_state=0).set_callbacks(recorder)
    model.partial_fit(X, y, classes=np.arange(10))
    model.partial_fit(X, y)
    assert epochs(recorder) == [0, 0]


def test_scikit_learn_scoring_monitor_logs_one_row_per_epoch():
    from sklearn.callback import ScoringMonitor

    X, y = digits()
    monitor = ScoringMonitor(scoring="accuracy")
    FFNNClassifier(max_iter=5, random_state=0).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    per_epoch = [row for row in rows if row["task_name"] == "epoch"]
    assert len(per_epoch) == 5
    assert per_epoch[-1]["accuracy"] > per_epoch[0]["accuracy"]


def test_progress_bar_over_a_grid_search_of_a_pipeline():
    pytest.importorskip("rich", reason="sklearn.callback.ProgressBar needs rich")
    from sklearn.callback import ProgressBar

    X, y = digits()
    pipeline = make_pipeline(StandardScaler(), FFNNClassifier(max_iter=20, random_state=0))
    search = GridSearchCV(pipeline, {"ffnnclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(ProgressBar()).fit(X, y)
    assert search.best_score_ > 0.8


def test_callbacks_propagated_by_a_grid_search_reach_every_epoch():
    X, y = digits()
    recorder = Recorder()
    pipeline = make_pipeline(StandardScaler(), FFNNClassifier(max_iter=3, random_state=0))
    search = GridSearchCV(pipeline, {"ffnnclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(recorder).fit(X, y)
    # 2 candidates x 2 folds + the refit, 3 epochs each
    assert len(epochs(recorder)) == 5 * 3


def test_set_callbacks_refuses_what_is_not_a_callback():
    with pytest.raises(TypeError, match="callbacks"):
        FFNNClassifier().set_callbacks("progress")


def test_no_warning_without_callbacks():
    X, y = digits()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        FFNNClassifier(max_iter=2, random_state=0).fit(X, y)


def test_progress_bar_over_a_fit():
    pytest.importorskip("rich", reason="sklearn.callback.ProgressBar needs rich")
    from sklearn.callback import ProgressBar

    X, y = digits()
    model = FFNNClassifier(max_iter=4, random_state=0).set_callbacks(ProgressBar()).fit(X, y)
    assert model.n_iter_ == 4
