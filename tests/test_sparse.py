"""Sparse input (issue 13): scipy CSR and CSC, matrices and arrays, in fit,
partial_fit, predict*, score and jacobian of both estimators, in both dtypes;
the same model as the dense path on the same data; bad sparse input; memory."""

import json

import numpy as np
import pytest
import scipy.sparse
from helpers import digits, run_python

from fastffnn import FFNNClassifier, FFNNRegressor, boundary
from fastffnn.prediction import predict_rows
from fastffnn.registry import REGRESSION_LOSSES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CONTAINERS = {
    "csr_matrix": scipy.sparse.csr_matrix,
    "csr_array": scipy.sparse.csr_array,
    "csc_matrix": scipy.sparse.csc_matrix,
    "csc_array": scipy.sparse.csc_array,
}


def bag_of_words(n_samples=400, n_features=300, density=0.03, seed=0):
    """Nonnegative sparse counts with a label that depends on a few words."""
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(
        n_samples, n_features, density=density, format="csr", random_state=seed,
        data_rvs=lambda k: rng.integers(1, 4, k),
    )  # fmt: skip
    y = (X[:, :10].sum(axis=1).A.ravel() > X[:, 10:20].sum(axis=1).A.ravel()).astype(int)
    return X, y + (X[:, 20:30].sum(axis=1).A.ravel() > 1)  # 3 classes


def assert_same_model(dense, sparse, tolerance):
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_,
                    strict=True):  # fmt: skip
        np.testing.assert_allclose(b, a, rtol=0, atol=tolerance)


SETTINGS = {
    "adam": dict(),
    "sgd": dict(solver="sgd", learning_rate_init=0.05),
    "lbfgs": dict(solver="lbfgs", max_iter=30),
    "early stopping": dict(early_stopping=True),
    "one chunk per batch": dict(batch_size=40),
    "in order": dict(shuffle=False),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("container", list(CONTAINERS))
def test_classifier_on_sparse_input_trains_the_dense_model(container, name, dtype):
    X, y = bag_of_words()
    settings = dict(hidden_layer_sizes=(16,), random_state=0, dtype=dtype,
                    **{"max_iter": 8, **SETTINGS[name]})  # fmt: skip
    tolerance = 1e-10 if dtype == "float64" else 1e-4
    dense = FFNNClassifier(**settings).fit(X.toarray(), y)
    sparse = FFNNClassifier(**settings).fit(CONTAINERS[container](X), y)
    assert_same_model(dense, sparse, tolerance)
    X_sparse = CONTAINERS[container](X)
    np.testing.assert_allclose(sparse.predict_proba(X_sparse), dense.predict_proba(X.toarray()),
                               atol=tolerance)  # fmt: skip
    np.testing.assert_array_equal(sparse.predict(X_sparse), sparse.predict(X.toarray()))
    assert sparse.score(X_sparse, y) == pytest.approx(dense.score(X.toarray(), y))
    log_proba = sparse.predict_log_proba(X[:5].toarray())
    np.testing.assert_allclose(sparse.predict_log_proba(X_sparse[:5]), log_proba, atol=tolerance)
    np.testing.assert_allclose(sparse.jacobian(X_sparse[:7]), sparse.jacobian(X[:7].toarray()),
                               atol=tolerance)  # fmt: skip


@pytest.mark.parametrize("loss", list(REGRESSION_LOSSES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_regressor_on_sparse_input_trains_the_dense_model(dtype, loss):
    X, y = bag_of_words()
    y = y.astype(float) + 0.5 * X[:, 0].toarray().ravel()
    settings = dict(
        loss=loss, hidden_layer_sizes=(8,), max_iter=10, random_state=0, dtype=dtype, quantile=0.7
    )
    tolerance = 1e-10 if dtype == "float64" else 1e-4
    dense = FFNNRegressor(**settings).fit(X.toarray(), y)
    sparse = FFNNRegressor(**settings).fit(X, y)
    assert_same_model(dense, sparse, tolerance)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), atol=tolerance)


def test_partial_fit_on_sparse_blocks():
    X, y = bag_of_words()
    dense, sparse = (FFNNClassifier((16,), random_state=0) for _ in range(2))
    for start in range(0, 400, 100):
        block = slice(start, start + 100)
        dense.partial_fit(X[block].toarray(), y[block], classes=[0, 1, 2])
        sparse.partial_fit(X[block], y[block], classes=[0, 1, 2])
    assert_same_model(dense, sparse, 1e-10)


def test_sparse_kernels_against_the_dense_ones():
    """F1 and B2-B3 of the input layer (kernels.inputs) over CSR rows taken out of
    order, against the dense kernels on the same rows."""
    X, y = bag_of_words(n_samples=50)
    model = FFNNClassifier((6,), max_iter=2, random_state=0).fit(X, y)
    rows = np.array([7, 3, 3, 41, 0, 19], dtype=np.int64)
    sparse = boundary.compiled_input(X, np.float64)
    sparse = sparse[:3] + (boundary.read_only(rows),)
    out = np.empty((rows.size, 3))
    network, block = model._network_bundle(), np.int64(4)
    assert predict_rows(sparse, network, block, out, True, 1) == 0
    expected = np.empty_like(out)
    dense = boundary.compiled_input(X[rows].toarray(), np.float64)
    predict_rows(dense, network, block, expected, True, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-15)


def test_duplicate_and_unsorted_entries_count_as_scipy_sums_them():
    X, y = bag_of_words(n_samples=60)
    coo = X.tocoo()
    doubled = scipy.sparse.csr_matrix(  # every entry stored as two halves, in reverse order
        (np.r_[coo.data, coo.data][::-1] / 2, (np.r_[coo.row, coo.row][::-1],
                                                 np.r_[coo.col, coo.col][::-1])),
        shape=X.shape,
    )  # fmt: skip
    doubled.has_canonical_format = False
    model = FFNNClassifier((6,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(doubled), model.predict_proba(X), atol=1e-12)


def test_other_sparse_formats_are_converted_and_bad_ones_refused():
    X, y = bag_of_words(n_samples=80)
    model = FFNNClassifier((6,), max_iter=3, random_state=0).fit(X.tocoo(), y)
    np.testing.assert_allclose(model.predict_proba(X.todok()), model.predict_proba(X),
                               atol=1e-12)  # fmt: skip
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FFNNClassifier((6,)).fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :10])
    huge = X.copy()
    huge.data[0] = 1e200
    with pytest.raises(ValueError, match="needs .X. <="):
        FFNNClassifier((6,)).fit(huge, y)


_MEMORY_PROBE = """
import json, resource, sys, warnings
import numpy as np, scipy.sparse
from fastffnn import FFNNClassifier
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
n_samples, n_features, per_row = 25_000, 2_500, 20   # dense float64: 500 MB
X = scipy.sparse.random(n_samples, n_features, density=per_row / n_features, format="csr",
                        random_state=0, dtype=np.float64)
y = rng.integers(0, 5, n_samples)
FFNNClassifier((50,), max_iter=1, random_state=0).fit(X[:500], y[:500])  # compile first
def rss():
    with open("/proc/self/status") as status:
        return {k: int(v.split()[0]) * 1024 for k, v in
                (line.split(":", 1) for line in status) if k in ("VmRSS", "VmHWM")}
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
before = rss()["VmRSS"]
model = FFNNClassifier((50,), max_iter=2, random_state=0).fit(X, y)
peak = rss()["VmHWM"]
sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
model_bytes = sum(a.nbytes for a in model.coefs_ + model.intercepts_)
print(json.dumps(dict(grown=peak - before, sparse=sparse_bytes, model=model_bytes,
                      dense=n_samples * n_features * 8)))
"""


@pytest.mark.slow
def test_fitting_a_csr_matrix_never_densifies_it():
    """A 25,000 x 2,500 CSR matrix (500 MB dense, 20 nonzeros a row): the fit grows
    the process by at most 4 x (the sparse data + the model), far below dense X."""
    report = json.loads(run_python(_MEMORY_PROBE, timeout=900).strip().splitlines()[-1])
    bound = 4 * (report["sparse"] + report["model"])
    print(f"grown {report['grown'] / 2**20:.0f} MiB, bound {bound / 2**20:.0f} MiB, dense "
          f"X {report['dense'] / 2**20:.0f} MiB")  # fmt: skip
    assert report["grown"] < bound, report
    assert report["grown"] < report["dense"] / 10, report


def test_digits_as_sparse_equal_dense_through_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler

    X, y = digits()
    pipeline = make_pipeline(MaxAbsScaler(), FFNNClassifier((20,), max_iter=10, random_state=0))
    sparse = pipeline.fit(scipy.sparse.csr_matrix(X), y).predict_proba(X)
    dense = pipeline.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(sparse, dense, atol=1e-10)


@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_check_gradients_takes_sparse_input(estimator):
    """check_gradients on a sparse X checks the same cost as on its dense copy
    (it crashed with numpy's "setting an array element with a sequence")."""
    from fastffnn import check_gradients

    X, y = bag_of_words(n_samples=60, n_features=40, density=0.2)
    if estimator == "regressor":
        model = FFNNRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
        y = y.astype(float)
    else:
        model = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    model.fit(X, y)
    sparse_report = check_gradients(model, X, y)
    dense_report = check_gradients(model, X.toarray(), y)
    assert sparse_report.ok, sparse_report
    assert sparse_report.max_abs_error == dense_report.max_abs_error
