"""Helpers shared by several test modules."""

import os
import subprocess
import sys
import textwrap

from sklearn.datasets import load_digits


def digits():
    """scikit-learn's digits, X scaled to [0, 1]: (1797, 64) and labels 0-9."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def run_python(code, *args, env=None, timeout=300, cwd=None):
    """Run ``code`` in a fresh interpreter (this one's environment plus ``env``);
    returns its standard output, failing the test on a non-zero exit."""
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# Counts numba's compilations in this process: numba fires "numba:compile"
# only on a cache miss (a signature loaded from the cache fires nothing).
COUNT_COMPILES = """
from numba.core import event
compiled = []
class Count(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Count())
"""

# What users do, on other shapes, labels and containers than the compile
# command's own workload.
USER_CALLS = """
import json, warnings
import numpy as np, scipy.sparse
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from fastffnn import FFNNClassifier, FFNNRegressor, check_gradients
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X[:300] / 16.0; y = y[:300]
make_pipeline(StandardScaler(), FFNNClassifier(max_iter=3, random_state=0)).fit(X, y).score(X, y)
frozen = np.asfortranarray(X); frozen.setflags(write=False)
model = FFNNClassifier(hidden_layer_sizes=(20, 10), activation=["tanh", "relu"], max_iter=3,
                       early_stopping=True, class_weight="balanced", random_state=0)
model.fit(frozen, np.where(y > 4, "big", "small"), sample_weight=np.ones(len(y)))
model.predict(frozen[:1]); model.predict_log_proba(X); model.jacobian(X[:3])
model.predict_proba(np.tile(frozen, (34, 1))[:10000])  # parallel prediction blocks
model.transform(X); model.transform(frozen[:1]); model.jacobian(X[:2], layer=1)
FFNNClassifier((12,), max_iter=3, early_stopping=True, scoring="loss").fit(
    X[:200], y[:200], X_val=X[200:], y_val=y[200:])
FFNNRegressor(loss="quantile", quantile=0.9, max_iter=2).fit(X, y * 1.0, X_val=X, y_val=y * 1.0)
FFNNClassifier(solver="sgd", nesterovs_momentum=True, max_iter=2).fit(X.astype(np.float32), y)
FFNNClassifier(solver="lbfgs", max_iter=3, dtype="float32").fit(X, y).predict_proba(X)
FFNNClassifier(max_iter=2, warm_start=True).fit(X, y > 4).fit(X, y > 4)
FFNNClassifier((8, 8), activation=["gelu", "selu"], dropout=[0.2, 0.1], weight_decay=1e-3,
               learning_rate="cosine", warmup_iter=1, label_smoothing=0.1, max_iter=2).fit(X, y)
FFNNClassifier(max_iter=2).fit(X, np.stack([y > 4, y % 2 == 0], axis=1))
FFNNClassifier().partial_fit(X.astype(np.int64), y, classes=np.arange(10))
from fastffnn.registry import REGRESSION_LOSSES
for loss in REGRESSION_LOSSES:
    two = np.stack([y, y + 1.0], axis=1)
    FFNNRegressor(loss=loss, quantile=0.7, max_iter=2).fit(X, two).predict(X)
csc = scipy.sparse.csc_matrix(X)
sparse_model = FFNNClassifier(max_iter=2, early_stopping=True).fit(csc, y)
sparse_model.predict_proba(scipy.sparse.csr_array(X)); sparse_model.jacobian(csc[:2])
FFNNRegressor(solver="lbfgs", max_iter=2, dtype="float32").fit(csc, y * 1.0).predict(csc)
check_gradients(sparse_model, csc[:50], y[:50])
# pandas 3 (read-only columns), polars, a memory map, read-only arrays, in every solver
import tempfile
import pandas as pd, polars as pl
frame = pd.DataFrame(X).assign(target=y * 1.0, weight=1.0)
path = tempfile.mktemp(suffix=".npy"); np.save(path, X)
mapped = np.load(path, mmap_mode="r")
frozen_y = y.copy(); frozen_y.setflags(write=False)
for solver in ("adam", "sgd", "lbfgs"):
    FFNNRegressor(solver=solver, max_iter=2).fit(frame.drop(columns=["target", "weight"]),
                                                 frame["target"], sample_weight=frame["weight"])
    FFNNClassifier(solver=solver, max_iter=2).fit(mapped, frozen_y).predict(pl.DataFrame(X))
    FFNNClassifier(solver=solver, max_iter=2).fit(pl.DataFrame(X), pl.Series(y))
# the tabular estimators on frames with strings, categories and missing cells
from fastffnn import TabularMLPClassifier, TabularMLPRegressor
table = pd.DataFrame({"a": X[:, 10], "b": np.where(y > 4, "x", "y"),
                      "c": pd.Categorical([f"k{v}" for v in y]), "d": X[:, 20]})
table.loc[::7, "a"] = np.nan
tabular = TabularMLPClassifier(n_epochs=2, random_state=0).fit(table, y)
tabular.predict_proba(table); tabular.predict(table.head(1))
polars_table = pl.DataFrame({c: table[c].astype(str).tolist() if c in "bc" else table[c].to_numpy()
                             for c in table.columns})
TabularMLPRegressor(n_epochs=2, random_state=0).fit(polars_table, y * 1.0).predict(polars_table)
TabularMLPClassifier(n_epochs=2, dtype=np.float64).fit(mapped, frozen_y).predict(mapped)
"""
