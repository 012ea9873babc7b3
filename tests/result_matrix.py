"""Every training option's results as bytes, through the public API only.

    python tests/result_matrix.py OUT.npz [COMPILED.txt]

Run by ``tests/test_previous_code.py`` with this checkout and with the code
before the compiled core's redesign (an older commit on sys.path), so it may
use nothing that either lacks. Each entry is one fitted model's weights,
loss curve and predictions.
"""

import sys
import warnings

import numpy as np
import scipy.sparse
from sklearn.datasets import load_digits

from fastffnn import FFNNClassifier, FFNNRegressor

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "silu", "softplus", "mish"]  # fmt: skip

# name: (estimator, target, parameters)
CASES = {}
for solver in ("adam", "sgd", "lbfgs"):
    for dtype in ("float64", "float32"):
        CASES[f"{solver} {dtype}"] = ("classifier", "multiclass",
                                      {"solver": solver, "dtype": dtype})  # fmt: skip
        for loss in ("squared_error", "poisson", "huber"):
            CASES[f"regressor {loss} {solver} {dtype}"] = (
                "regressor",
                "two outputs",
                {"solver": solver, "dtype": dtype, "loss": loss},
            )
for activation in ACTIVATIONS:
    CASES[f"activation {activation}"] = ("classifier", "multiclass", {"activation": activation})
CASES.update({
    "binary": ("classifier", "binary", {}),
    "multilabel": ("classifier", "multilabel", {"activation": "tanh"}),
    "dropout": ("classifier", "multiclass", {"hidden_layer_sizes": (16, 8),
                                             "dropout": [0.2, 0.1]}),
    "dropout gelu float32": ("classifier", "multiclass", {"activation": "gelu", "dropout": 0.3,
                                                          "dtype": "float32"}),
    "weight decay sgd": ("classifier", "multiclass", {"solver": "sgd", "weight_decay": 1e-2}),
    "cosine warm-up": ("classifier", "multiclass", {"learning_rate": "cosine", "warmup_iter": 1}),
    "nesterov off": ("classifier", "multiclass", {"solver": "sgd", "nesterovs_momentum": False}),
    "invscaling": ("classifier", "multiclass", {"solver": "sgd", "learning_rate": "invscaling"}),
    "label smoothing": ("classifier", "multiclass", {"label_smoothing": 0.1}),
    "class weight": ("classifier", "multiclass", {"class_weight": "balanced"}),
    "early stopping": ("classifier", "multiclass", {"early_stopping": True,
                                                    "n_iter_no_change": 1}),
    "early stopping regressor": ("regressor", "two outputs", {"early_stopping": True}),
    "no shuffle": ("classifier", "multiclass", {"shuffle": False}),
    "one chunk": ("classifier", "multiclass", {"batch_size": 50}),
    "large batches": ("classifier", "multiclass", {"batch_size": 300}),
    "sparse adam": ("classifier", "multiclass", {"sparse": True}),
    "sparse lbfgs float32": ("classifier", "multiclass", {"sparse": True, "solver": "lbfgs",
                                                          "dtype": "float32"}),
    "sparse regressor": ("regressor", "two outputs", {"sparse": True}),
    "partial_fit": ("classifier", "multiclass", {"partial_fit": True}),
    "partial_fit float32": ("classifier", "multiclass", {"partial_fit": True,
                                                         "dtype": "float32"}),
})  # fmt: skip


def data():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    targets = {
        "multiclass": y,
        "binary": y % 2,
        "multilabel": np.c_[y % 2, y % 3 == 0, y > 6].astype(int),
        "two outputs": np.c_[y / 9.0, X[:, 20] + 0.5],
    }
    return X, targets


def results():
    """{name: array} for every case."""
    X_dense, targets = data()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (kind, target, parameters) in CASES.items():
            parameters = dict(parameters)
            sparse = parameters.pop("sparse", False)
            incremental = parameters.pop("partial_fit", False)
            X = scipy.sparse.csr_matrix(X_dense) if sparse else X_dense
            y = targets[target]
            cls = FFNNClassifier if kind == "classifier" else FFNNRegressor
            settings = {"hidden_layer_sizes": (16,), "max_iter": 4, "random_state": 0}
            model = cls(**{**settings, **parameters})
            if incremental:
                for _ in range(3):
                    model.partial_fit(X, y, classes=np.unique(y))
            else:
                model.fit(X, y)
            for k, array in enumerate(model.coefs_ + model.intercepts_):
                out[f"{name}: parameters {k}"] = array
            curve = getattr(model, "loss_curve_", None)
            out[f"{name}: loss"] = np.array(curve if curve else [model.loss_])
            if kind == "classifier":
                out[f"{name}: predict_proba"] = model.predict_proba(X)
            else:
                out[f"{name}: predict"] = model.predict(X)
            out[f"{name}: one row"] = (
                model.predict_proba(X[:1]) if kind == "classifier" else model.predict(X[:1])
            )
            out[f"{name}: jacobian"] = model.jacobian(X[:5])
    return out


if __name__ == "__main__":
    from helpers import COUNT_COMPILES  # a numba:compile listener appending to ``compiled``

    listener = {}
    exec(COUNT_COMPILES, listener)
    np.savez(sys.argv[1], **results())
    if len(sys.argv) > 2:  # where to write the names of the functions compiled
        with open(sys.argv[2], "w") as file:
            file.write("\n".join(listener["compiled"]))
