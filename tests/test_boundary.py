"""The input boundary (fastffnn.boundary): whatever container or flags the user's
arrays have, training gives the bytes writable NumPy input gives, compiled code
never writes to the user's arrays, and each entry point is compiled once per
dtype and kind of input."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from helpers import digits, run_python

from fastffnn import FFNNClassifier, FFNNRegressor, boundary, registry

pl = pytest.importorskip("polars", reason="polars (the dev extra) converts X and y here")

SOLVERS = list(registry.SOLVERS)


def read_only(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


def problem(task, n=150):
    X, y = digits()
    X, y = X[:n], y[:n]
    if task == "regression":
        y = X[:, 20] + y / 9.0
    weights = np.linspace(0.5, 1.5, n)
    return X, y, weights


def fit_bytes(estimator, X, y, sample_weight):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        model = estimator.fit(X, y, sample_weight=sample_weight)
    return b"".join(a.tobytes() for a in model.coefs_ + model.intercepts_)


def containers(X, y, s, tmp_path):
    """{name: (X, y, s)}: the same data in the containers users pass."""
    path = tmp_path / "X.npy"
    np.save(path, X)
    columns = [f"f{k}" for k in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    return {
        "read-only numpy": (read_only(X), read_only(y), read_only(s)),
        "memmap X": (np.load(path, mmap_mode="r"), y, s),
        "pandas": (frame, pd.Series(y, name="target"), pd.Series(s)),
        "pandas column of a frame": (
            frame,
            frame.assign(target=y)["target"],
            frame.assign(w=s)["w"],
        ),  # fmt: skip
        "polars": (pl.DataFrame(X, schema=columns), pl.Series(y), pl.Series(s)),
        "Fortran X": (np.asfortranarray(X), y, s),
    }


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_container_trains_to_the_bytes_of_writable_numpy(solver, task, sparse, tmp_path):
    X, y, s = problem(task)
    cls = FFNNClassifier if task == "classification" else FFNNRegressor
    model = cls(hidden_layer_sizes=(8,), solver=solver, max_iter=3, random_state=0)
    to_X = scipy.sparse.csr_matrix if sparse else (lambda X: X)
    expected = fit_bytes(model, to_X(X.copy()), y.copy(), s.copy())
    for name, (X_in, y_in, s_in) in containers(X, y, s, tmp_path).items():
        if sparse:
            if not isinstance(X_in, np.ndarray):
                continue  # pandas/polars frames are dense
            X_in = to_X(X_in)
            X_in.data.setflags(write=False)
        assert fit_bytes(model, X_in, y_in, s_in) == expected, name


@pytest.mark.parametrize("solver", SOLVERS)
def test_integer_and_boolean_X_train_as_their_float_values(solver):
    X, y, _ = problem("classification")
    X_int = (X * 16).astype(np.int64)
    model = FFNNClassifier((8,), solver=solver, max_iter=3, random_state=0)
    assert fit_bytes(model, X_int, y, None) == fit_bytes(model, X_int.astype(float), y, None)
    X_bool = X > 0.5
    assert fit_bytes(model, X_bool, y, None) == fit_bytes(model, X_bool.astype(float), y, None)


@pytest.mark.parametrize("solver", SOLVERS)
def test_compiled_code_never_writes_to_the_users_arrays(solver):
    X, y, s = problem("regression")
    X[0, 0] = 2.0  # something the magnitude check reads, too
    copies = X.copy(), y.copy(), s.copy()
    model = FFNNRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, sample_weight=s)
        model.predict(X)
        model.jacobian(X[:3])
    for original, after in zip(copies, (X, y, s), strict=True):
        assert original.tobytes() == after.tobytes()


def test_the_boundary_hands_compiled_code_one_type_per_dtype_and_kind():
    X, y, s = problem("classification")
    views = [boundary.compiled_input(X_in, np.float64)
             for X_in in (X, read_only(X), np.asfortranarray(X), X.astype(np.float32))]  # fmt: skip
    assert all(not v.flags.writeable and v.flags.c_contiguous for v in views)
    assert np.shares_memory(views[0], X)  # a view: no copy of a conforming X
    data = boundary.training_data(X, read_only(np.eye(3)[y % 3]), read_only(s), np.float64)
    assert data.Y.flags.writeable and data.s.flags.writeable
    sparse = boundary.compiled_input(scipy.sparse.csc_matrix(X), np.float32)
    assert all(not part.flags.writeable for part in sparse)
    assert sparse[0].dtype == np.float32 and sparse[1].dtype == sparse[2].dtype == np.int64


def test_the_boundary_refuses_codes_the_registry_does_not_know():
    params = np.zeros(3 * 2 + 2 + 2 * 1 + 1)
    sizes = np.array([3, 2, 1])
    with pytest.raises(ValueError, match="activation codes"):
        boundary.network(params, sizes, np.array([1, 99, 2]))
    with pytest.raises(ValueError, match="unknown cost code"):
        boundary.network(params, sizes, np.array([1, 1, 99]))
    with pytest.raises(ValueError, match="writable"):
        boundary.network(read_only(params), sizes, np.array([1, 1, 2]))


# In a fresh process: every kind of input above, in every solver, then the
# number of compiled versions of each entry point.
SIGNATURES = """
import json, tempfile, warnings
import numpy as np, pandas as pd, polars as pl, scipy.sparse
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier, FFNNRegressor, check_gradients
from fastffnn import prediction, training
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X, y = X[:120] / 16.0, y[:120]
frozen = X.copy(); frozen.setflags(write=False)
path = tempfile.mktemp(suffix=".npy"); np.save(path, X)
inputs = [X, frozen, np.load(path, mmap_mode="r"), pd.DataFrame(X), pl.DataFrame(X),
          np.asfortranarray(X), (X * 16).astype(int)]
targets = [y, pd.Series(y), pl.Series(y)]
for k, X_in in enumerate(inputs):
    y_in = targets[k % 3]
    for solver in ("adam", "sgd", "lbfgs"):
        model = FFNNClassifier((4,), solver=solver, max_iter=2, random_state=0)
        model.fit(X_in, y_in, sample_weight=pd.Series(np.ones(len(y))))
        model.predict_proba(X_in)
    regressor = FFNNRegressor(hidden_layer_sizes=(4,), max_iter=2, early_stopping=True)
    regressor.fit(X_in, pd.Series(y * 1.0))
    FFNNClassifier((4,), max_iter=2).partial_fit(X_in, y_in, classes=np.arange(10))
for X_in in (scipy.sparse.csr_matrix(X), scipy.sparse.csc_matrix(frozen)):
    for solver in ("adam", "lbfgs"):
        FFNNClassifier((4,), solver=solver, max_iter=2).fit(X_in, y).predict_proba(X_in)
print(json.dumps({f.__name__: len(f.signatures) for f in (
    training.train_epoch, training.batch_loss_and_gradient, training.train_chunk,
    training.finish_batch, prediction.predict_rows, prediction.predict_block)}))
"""


def test_each_entry_point_is_compiled_once_per_input_kind(tmp_path):
    """float64 dense and sparse: two versions of each, whatever the containers;
    one of the optimizer step, which never sees X."""
    out = run_python(SIGNATURES, env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")}, timeout=900)
    counts = json.loads(out.splitlines()[-1])
    assert counts == {"train_epoch": 2, "batch_loss_and_gradient": 2, "train_chunk": 2,
                      "finish_batch": 1, "predict_rows": 2, "predict_block": 2}  # fmt: skip
