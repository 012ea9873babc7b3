"""Per-epoch output: verbose=1 lines as MLPClassifier's, verbose=2 a progress bar."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier
from fastffnn.progress import EpochReporter


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return FFNNClassifier(hidden_layer_sizes=(8,), random_state=0, **params).fit(X, y)


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` raises ImportError


def test_verbose_0_prints_nothing(iris, capsys):
    fit(*iris, max_iter=5, verbose=0)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", [1, True])
def test_verbose_1_prints_scikit_learn_lines(iris, capsys, verbose):
    model = fit(*iris, max_iter=4, verbose=verbose)
    out, err = capsys.readouterr()
    expected = [f"Iteration {k}, loss = {loss:.8f}" for k, loss in enumerate(model.loss_curve_, 1)]
    assert out.splitlines() == expected
    assert err == ""


def test_verbose_1_prints_the_stopping_message(iris, capsys):
    model = fit(*iris, max_iter=500, tol=10.0, n_iter_no_change=2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert model.n_iter_ == 4  # the best loss is epoch 1's; epochs 2-4 do not beat it by tol
    assert lines[:-1] == [f"Iteration {k}, loss = {loss:.8f}" for k, loss in
                          enumerate(model.loss_curve_, 1)]  # fmt: skip
    assert lines[-1] == (
        "Training loss did not improve more than tol=10.000000 for 2 consecutive epochs. Stopping."
    )


def test_verbose_2_draws_a_tqdm_bar(iris, capsys):
    pytest.importorskip("tqdm")
    model = fit(*iris, max_iter=7, verbose=2)
    out, err = capsys.readouterr()
    assert "Iteration" not in out
    assert "7/7" in err
    assert f"loss={model.loss_curve_[-1]:.6f}" in err


def test_verbose_2_bar_shows_the_validation_score(iris, capsys):
    pytest.importorskip("tqdm")
    model = fit(*iris, max_iter=6, verbose=2, early_stopping=True, n_iter_no_change=100)
    err = capsys.readouterr().err
    assert f"validation score={model.validation_scores_[-1]:.4f}" in err


def test_verbose_2_without_tqdm_prints_plain_lines(iris, capsys, no_tqdm):
    model = fit(*iris, max_iter=30, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    # the first epoch at once, then at most one line every 0.5 s, and the last epoch
    assert lines[0] == f"epoch 1/30: loss={model.loss_curve_[0]:.6f}"
    assert lines[-1] == f"epoch 30/30: loss={model.loss_curve_[-1]:.6f}"
    assert len(lines) <= 30


def test_partial_fit_with_verbose_2_prints_a_line_per_call(iris, capsys):
    X, y = iris
    model = FFNNClassifier(hidden_layer_sizes=(8,), random_state=0, verbose=2)
    for _ in range(3):
        model.partial_fit(X, y, classes=np.unique(y))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"epoch {k}: loss={loss:.6f}" for k, loss in enumerate(model.loss_curve_, 1)]


def test_plain_reporter_throttles_and_flushes(capsys):
    reporter = EpochReporter(2, total=5, use_tqdm=False, interval=3600)
    for epoch in range(1, 6):
        reporter.epoch(epoch, 1.0 / epoch)
        reporter.end_epoch()
        if epoch == 3:
            reporter.message("a message")
    reporter.close()
    reporter.close()  # idempotent
    assert capsys.readouterr().out.splitlines() == [
        "epoch 1/5: loss=1.000000",
        "epoch 3/5: loss=0.333333",  # flushed before the message
        "a message",
        "epoch 5/5: loss=0.200000",
    ]


def test_plain_reporter_reads_the_latest_validation_score(capsys):
    scores = []
    reporter = EpochReporter(2, total=2, validation_scores=scores, use_tqdm=False, interval=0)
    for epoch, score in [(1, 0.5), (2, 0.75)]:
        reporter.epoch(epoch, 0.1)
        scores.append(score)
        reporter.end_epoch()
    reporter.close()
    assert capsys.readouterr().out.splitlines() == [
        "epoch 1/2: loss=0.100000, validation score=0.5000",
        "epoch 2/2: loss=0.100000, validation score=0.7500",
    ]


def test_verbose_0_reporter_is_silent(capsys):
    reporter = EpochReporter(0, total=3)
    reporter.epoch(1, 0.5)
    reporter.end_epoch()
    reporter.message("stop")
    reporter.close()
    assert capsys.readouterr() == ("", "")
