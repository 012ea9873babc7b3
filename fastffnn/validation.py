"""What the estimators accept, checked before anything is converted or trained.

``Validation`` is a base of the estimators (``fastffnn.estimator.BaseFFNN``):
the network's shape from the parameters (hidden sizes, activations, dropout
rates), the options that go together, the training dtype, sample weights,
and X for prediction (with a fast path for one small row). scikit-learn's
own validation utilities do the work wherever they apply; the conversion of
what passed into what compiled code takes is ``fastffnn.boundary``'s.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fastffnn import registry

#: Sparse X accepted (as scikit-learn's MLP estimators); CSC is converted to CSR.
SPARSE_FORMATS = ["csr", "csc"]
#: predict inputs this small skip the full validation
_FAST_PATH_MAX_ELEMENTS = 4096


def check_magnitude(X, dtype):
    """Refuse X whose square overflows ``dtype``: the first update moves the
    weights by about |X| and the next forward pass multiplies them by X again,
    so training would overflow to inf/NaN. Two passes over X, no copy."""
    limit = float(np.sqrt(np.finfo(dtype).max))  # 1.8e19 in float32, 1.3e154 in float64
    if X.shape[0] == 0 or X.shape[1] == 0:
        return
    largest = max(float(X.max()), -float(X.min()))
    if largest > limit:
        hint = " or train in float64 (dtype='float64')" if np.dtype(dtype) == np.float32 else ""
        raise ValueError(
            f"X has values up to {largest:.3g} in magnitude; training in {np.dtype(dtype).name} "
            f"needs |X| <= {limit:.3g} (the square root of the largest {np.dtype(dtype).name}), "
            "else: Solver produced non-finite parameter weights. The input data may contain "
            f"large values and need to be preprocessed. Scale the features (e.g. "
            f"StandardScaler){hint}."
        )


def check_stochastic(estimator):
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver!r} is not stochastic.")  # fmt: skip
    return True


class Validation:
    """Checks of the parameters and inputs, shared by both estimators."""

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, Integral | np.integer) or size <= 0:
                raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
        return [int(size) for size in sizes]

    def _hidden_activations(self, n_hidden):
        activation = self.activation
        names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(names) != n_hidden:
            raise ValueError(f"activation has {len(names)} entries but there are {n_hidden} "
                             "hidden layers; give one activation per hidden layer.")  # fmt: skip
        for name in names:
            if name not in registry.HIDDEN_ACTIVATIONS:
                raise ValueError(f"Unknown activation {name!r}; choose from "
                                 f"{', '.join(registry.HIDDEN_ACTIVATIONS)}.")  # fmt: skip
        return ["logistic" if name == "sigmoid" else name for name in names]

    def _dropout_rates(self, n_hidden):
        """D1's rate per hidden layer, float64 (n_hidden,); empty when all are 0."""
        rates = self.dropout
        if isinstance(rates, (list, tuple)):
            if len(rates) != n_hidden:
                raise ValueError(f"dropout has {len(rates)} rates but there are {n_hidden} "
                                 "hidden layers; give one rate per hidden layer.")  # fmt: skip
            for rate in rates:
                if isinstance(rate, bool) or not isinstance(rate, Real) or not 0 <= rate < 1:
                    raise ValueError(f"Each dropout rate must be a number in [0, 1); got "
                                     f"{rate!r}.")  # fmt: skip
            rates = np.array(rates, dtype=np.float64)
        else:
            rates = np.full(n_hidden, float(rates))
        return rates if np.any(rates > 0) else np.empty(0)

    def _check_training_options(self, dropout):
        """The options only mini-batch training has, refused for lbfgs."""
        if self.solver == "lbfgs":
            for name, used in (("dropout", dropout.size > 0),
                               ("weight_decay", self.weight_decay > 0)):  # fmt: skip
                if used:
                    raise ValueError(f"{name} needs a mini-batch solver ('adam' or 'sgd'); "
                                     "solver='lbfgs' minimizes one fixed cost (use alpha "
                                     "for L2 regularization).")  # fmt: skip
        if self.warmup_iter > 0 and self.learning_rate != "cosine":
            raise ValueError("warmup_iter is the warm-up of learning_rate='cosine'; got "
                             f"learning_rate={self.learning_rate!r}.")  # fmt: skip
        if self.warmup_iter > self.max_iter:
            raise ValueError(f"warmup_iter={self.warmup_iter} exceeds max_iter={self.max_iter}.")

    def _training_dtype(self, X):
        if self.dtype is not None:
            dtype = np.dtype(self.dtype)
            if dtype not in (np.float32, np.float64):
                raise ValueError(f"dtype must be 'float32', 'float64' or None, got {self.dtype!r}.")
            return dtype.type
        dtypes = getattr(X, "dtypes", None)  # a DataFrame's columns
        if dtypes is not None and len(dtypes) and all(d == np.float32 for d in dtypes):
            return np.float32
        return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64

    def _sample_weights(self, sample_weight, X, y, dtype):
        """R2's weights, checked: ``sample_weight`` times the subclass's
        ``_target_weights`` (class weights), positive sum, training dtype."""
        s = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
        s = self._target_weights(s, y, dtype)
        if not s.sum() > 0:
            raise ValueError("sample_weight must have a positive sum; got all zero weights.")
        return np.ascontiguousarray(s, dtype=dtype)

    def _validated(self, X, check_finite=True):
        """X checked and converted for prediction (its values' finiteness only
        with ``check_finite``).

        A small, already conforming ndarray (the one-row case) needs no more
        than that: scikit-learn's full validation would cost several times the
        compiled forward pass. Anything else takes the full path.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and 0 < X.size <= _FAST_PATH_MAX_ELEMENTS
            and hasattr(self, "_sizes")
            and X.dtype == self._dtype
            and X.flags.c_contiguous
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and (not check_finite or np.isfinite(X).all())
        ):
            return X
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self._dtype, order="C",
                             accept_sparse=SPARSE_FORMATS,
                             ensure_all_finite=check_finite)  # fmt: skip
