"""Reproducibility (issue 12): the same data, parameters and ``random_state``
give bit-identical ``coefs_``, losses, ``predict``, ``predict_proba``,
``predict_log_proba`` and ``jacobian`` whatever the number of cores (numba's
pool size), the numba threads in use, the BLAS threads (threadpoolctl,
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``), the process, the cache state
and pickling; for every solver, both dtypes, early stopping, partial_fit, one
and several chunks per batch, binary, multiclass and multi-label targets.

Every comparison is of bytes: no tolerance.
"""

import pickle

import numba
import numpy as np
import pytest
from helpers import digits, run_python
from threadpoolctl import threadpool_limits

from fastffnn.solvers import batch_chunks

_FIT_ALL = """
import warnings
import numpy as np
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier

CONFIGS = {  # name: (target, parameters)
    "adam": ("multiclass", {}),
    "adam float32": ("multiclass", {"dtype": "float32"}),
    "sgd": ("multiclass", {"solver": "sgd", "learning_rate_init": 0.05}),
    "sgd float32": ("multiclass", {"solver": "sgd", "learning_rate_init": 0.05,
                                   "dtype": "float32"}),
    "lbfgs": ("multiclass", {"solver": "lbfgs", "max_iter": 15}),
    "lbfgs float32": ("multiclass", {"solver": "lbfgs", "max_iter": 15, "dtype": "float32"}),
    "early stopping": ("multiclass", {"early_stopping": True, "n_iter_no_change": 2}),
    "early stopping float32": ("multiclass", {"early_stopping": True, "n_iter_no_change": 2,
                                              "dtype": "float32"}),
    "one chunk per batch": ("multiclass", {"batch_size": 50}),
    "large batches": ("multiclass", {"batch_size": 1000}),
    "binary": ("binary", {}),
    "multilabel": ("multilabel", {"activation": "tanh"}),
    "partial_fit": ("multiclass", {}),
}


def fit_all():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    targets = {"multiclass": y, "binary": y % 2,
               "multilabel": np.c_[y % 2, y % 3 == 0, y > 6].astype(int)}
    out, models = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        for name, (target, parameters) in CONFIGS.items():
            model = FFNNClassifier((100,), random_state=0, **{"max_iter": 8, **parameters})
            if name == "partial_fit":
                for _ in range(3):
                    model.partial_fit(X, y, classes=np.unique(y))
            else:
                model.fit(X, targets[target])
            models[name] = model
            for k, array in enumerate(model.coefs_ + model.intercepts_):
                out[f"{name}: layer parameters {k}"] = array
            out[f"{name}: loss"] = np.array(getattr(model, "loss_curve_", None) or [model.loss_])
            out[f"{name}: predict"] = model.predict(X)
            out[f"{name}: predict_proba"] = model.predict_proba(X)
            out[f"{name}: predict_log_proba"] = model.predict_log_proba(X)
            out[f"{name}: jacobian"] = model.jacobian(X[:40])
            out[f"{name}: one-row predict_proba"] = model.predict_proba(X[:1])
    return out, models
"""
exec(_FIT_ALL)  # defines fit_all here exactly as in the subprocesses

_CHILD = (
    _FIT_ALL
    + """
import pickle, sys
out, _ = fit_all()
with warnings.catch_warnings():
    warnings.simplefilter("error")  # a same-version pickle loads silently
    with open(sys.argv[2], "rb") as file:
        pickled = pickle.load(file)
X = np.load(sys.argv[3])
for name, model in pickled.items():
    out[f"unpickled {name}: predict_proba"] = model.predict_proba(X)
np.savez(sys.argv[1], **out)
"""
)


def _assert_bitwise_equal(expected, got):
    assert expected.keys() == got.keys()
    different = [
        name
        for name in expected
        if expected[name].dtype != got[name].dtype
        or expected[name].shape != got[name].shape
        or expected[name].tobytes() != got[name].tobytes()
    ]
    assert not different, different


@pytest.fixture(scope="module")
def in_process():
    return fit_all()  # noqa: F821  (defined by exec above)


@pytest.fixture(scope="module")
def pickled_models(in_process, tmp_path_factory):
    """Two fitted models pickled by this process, the data, and their predictions here."""
    folder = tmp_path_factory.mktemp("pickles")
    X, _ = digits()
    models = {name: in_process[1][name] for name in ("adam", "lbfgs float32")}
    with open(folder / "models.pkl", "wb") as file:
        pickle.dump(models, file)
    np.save(folder / "X.npy", X)
    expected = {f"unpickled {n}: predict_proba": m.predict_proba(X) for n, m in models.items()}
    return folder, expected


def _child_results(tmp_path, pickled_models, env, timeout=600):
    folder, expected_unpickled = pickled_models
    run_python(_CHILD, tmp_path / "out.npz", folder / "models.pkl", folder / "X.npy", env=env,
               timeout=timeout)  # fmt: skip
    with np.load(tmp_path / "out.npz") as data:
        child = {name: data[name] for name in data.files}
    unpickled = {name: child.pop(name) for name in list(child) if name.startswith("unpickled")}
    _assert_bitwise_equal(expected_unpickled, unpickled)
    return child


def test_same_random_state_is_bitwise_identical_within_a_process(in_process):
    _assert_bitwise_equal(in_process[0], fit_all()[0])  # noqa: F821


def test_numba_threads_in_use_do_not_change_a_bit(in_process):
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = fit_all()[0]  # noqa: F821
    finally:
        numba.set_num_threads(before)
    _assert_bitwise_equal(in_process[0], single)


@pytest.mark.parametrize("blas_threads", [1, 2])
def test_blas_threads_set_by_threadpoolctl_do_not_change_a_bit(in_process, blas_threads):
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        limited = fit_all()[0]  # noqa: F821
    _assert_bitwise_equal(in_process[0], limited)


@pytest.mark.parametrize("blas_threads", [1, 2])
@pytest.mark.parametrize("numba_threads", [1, 2, 4])
def test_fresh_processes_with_any_core_count_and_blas_threads_give_the_same_bits(
    in_process, pickled_models, tmp_path, numba_threads, blas_threads
):
    """NUMBA_NUM_THREADS is the size of numba's pool, which defaults to the
    number of cores: 4 on this 2-core machine stands for a larger machine.
    Each child also loads this process's pickles and predicts the same bits."""
    env = {
        "NUMBA_NUM_THREADS": str(numba_threads),
        "OPENBLAS_NUM_THREADS": str(blas_threads),
        "OMP_NUM_THREADS": str(blas_threads),
    }
    _assert_bitwise_equal(in_process[0], _child_results(tmp_path, pickled_models, env))


@pytest.mark.slow
def test_freshly_compiled_code_trains_to_the_same_bits_as_cached_code(
    in_process, pickled_models, tmp_path
):
    """The child compiles everything into an empty NUMBA_CACHE_DIR (one to
    several minutes); this process runs code from the warm cache."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "empty_cache")}
    child = _child_results(tmp_path, pickled_models, env, timeout=1800)
    assert any((tmp_path / "empty_cache").rglob("*.nbc"))  # it really compiled afresh
    _assert_bitwise_equal(in_process[0], child)


def test_batch_chunks_read_nothing_of_the_machine(monkeypatch):
    """The cut of a batch into chunks follows the batch and the network alone."""
    cases = [(32, 7_000), (64, 7_000), (128, 7_000), (200, 7_000), (256, 265_000),
             (1797, 7_000), (20_000, 265_000)]  # fmt: skip
    expected = [batch_chunks(*case) for case in cases]
    assert expected == [1, 1, 2, 2, 2, 16, 16]
    for threads, layer in [(1, "tbb"), (64, "tbb"), (8, "workqueue")]:
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", threads)
        monkeypatch.setattr(numba.config, "THREADING_LAYER", layer)
        assert [batch_chunks(*case) for case in cases] == expected
