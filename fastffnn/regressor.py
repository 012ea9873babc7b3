"""FFNNRegressor: scikit-learn's MLPRegressor, trained by the compiled core.

What concerns regression losses: the targets as a float matrix, the output
layer and cost each ``loss`` selects (identity with half squared error C5,
exp with half Poisson deviance C6, identity with Huber C7, absolute error C8
or the pinball loss C9), R² for early stopping and ``score``. Everything
else is ``fastffnn.estimator.BaseFFNN``.
"""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from fastffnn import registry
from fastffnn.callbacks import with_callbacks
from fastffnn.estimator import BaseFFNN
from fastffnn.parameters import document_shared_parameters
from fastffnn.validation import check_stochastic


@document_shared_parameters
class FFNNRegressor(RegressorMixin, BaseFFNN):
    """Multi-layer perceptron regressor trained by a Numba-compiled core.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    same parameters, defaults and fitted attributes, with whole training
    epochs in compiled code, and Huber, absolute-error and quantile losses
    besides.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "huber", "absolute_error", "quantile"}, \
default="squared_error"
        The cost (C5-C9 of the math page). "squared_error": half the squared
        error, identity output. "poisson": half the Poisson deviance with a
        log link, output ``exp(z)``; y must be non-negative. "huber": squared
        for residuals up to ``huber_delta``, linear beyond (robust to
        outliers in y), identity output. "absolute_error": the mean absolute
        error (predicts the conditional median), identity output.
        "quantile": the pinball loss at level ``quantile`` (predicts that
        conditional quantile), identity output.
    {shared parameters}
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its R² stops
        improving and restore the best weights.
    huber_delta : float, default=1.0
        The residual at which the Huber loss turns from squared to linear, in
        the units of y (used with ``loss="huber"`` only). 1.0 is the usual
        default (PyTorch's ``HuberLoss``) and suits standardized targets:
        residuals within one standard deviation count as squared error,
        outliers beyond it only linearly. Not ``epsilon``, which is Adam's
        here as in MLPRegressor.
    quantile : float in (0, 1), default=None
        The level of ``loss="quantile"`` (required with it; ignored by the
        other losses), as HistGradientBoostingRegressor's ``quantile``: 0.9
        fits the conditional 90th percentile, under which about 90% of
        targets fall.
    Attributes
    ----------
    coefs_ : list of ndarray of shape (fan_in, fan_out)
        Weights of each layer; the live parameters (writing or assigning
        arrays of the same shapes changes predictions).
    intercepts_ : list of ndarray of shape (fan_out,)
        Biases of each layer.
    loss_, best_loss_, loss_curve_ : float, float or None, list
        Training loss (last, best, per epoch), as MLPRegressor reports it.
    validation_scores_, best_validation_score_ : list or None, float or None
        Held-out R² per epoch with early stopping.
    n_iter_, t_ : int
        Epochs run and training samples seen.
    n_layers_, n_outputs_, out_activation_ : int, int, str
        Network shape and output activation ("identity" or "exp").
    n_features_in_, feature_names_in_ : int, ndarray
        Input width and, for DataFrames, column names.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastffnn import FFNNRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = FFNNRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, y) > 0.5)
    True
    """

    _parameter_constraints: dict = {
        **BaseFFNN._parameter_constraints,
        "loss": [StrOptions(set(registry.REGRESSION_LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "quantile": [Interval(Real, 0, 1, closed="neither"), None],
    }

    _numeric_targets = True

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        huber_delta=1.0,
        quantile=None,
        dtype=None,
        dropout=0.0,
        weight_decay=0.0,
        warmup_iter=0,
        scoring=None,
    ):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dtype=dtype,
            dropout=dropout, weight_decay=weight_decay, warmup_iter=warmup_iter, scoring=scoring,
        )  # fmt: skip
        self.loss = loss
        self.huber_delta = huber_delta
        self.quantile = quantile

    @available_if(check_stochastic)
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of updates on ``(X, y)``, keeping weights and optimizer state.

        Returns self.
        """
        return self._partial_fit(X, y, None, sample_weight)

    # ------------------------------------------------------- BaseFFNN hooks

    def _output_layer(self):
        cost = registry.REGRESSION_LOSSES[self.loss]
        return cost.output, registry.ACTIVATIONS[cost.output].code, cost.code

    def _cost_parameter(self):
        cost = registry.REGRESSION_LOSSES[self.loss]
        value = getattr(self, cost.parameter) if cost.parameter else None
        return 0.0 if value is None else float(value)

    def _validation_score(self, outputs, y_val, s_val):
        predictions = _targets(outputs)
        if not np.isfinite(predictions).all():
            return np.nan  # as scikit-learn: never the best score
        from sklearn.metrics import r2_score  # here: a slow import, for early stopping only

        return r2_score(y_val, predictions, sample_weight=s_val)

    def _stratify(self, Y, y):
        return None

    def _loss_targets(self, y_val, dtype):
        """Validation targets as a matrix (the validation loss)."""
        try:
            return self._encode_targets(y_val, None, True, True, dtype)
        except ValueError as error:
            raise ValueError(f"y_val: {error}") from None

    def _encode_targets(self, y, classes, incremental, keep_weights, dtype):
        """y as a (n_samples, n_outputs) matrix in ``dtype`` (C order)."""
        Y = np.ascontiguousarray(np.reshape(y, (y.shape[0], -1)), dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError("y contains values that are too large for "
                             f"{np.dtype(dtype).name}.")  # fmt: skip
        if self.loss == "quantile" and self.quantile is None:
            raise ValueError("loss='quantile' needs the level to fit: quantile=<a number "
                             "strictly between 0 and 1>, such as 0.9.")  # fmt: skip
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                             "regression.")  # fmt: skip
        if keep_weights and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs but the fitted model has "
                             f"{self.n_outputs_}.")  # fmt: skip
        return Y

    # ------------------------------------------------------------- predict

    def predict(self, X):
        """Predicted targets, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        return _targets(self._predicted(X))

    def jacobian(self, X, mode="auto", layer=None):
        """Jacobian of :meth:`predict` (or of :meth:`transform`) with respect
        to the input features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs, validated as by :meth:`predict`.
        mode : {"auto", "forward", "reverse"}, default="auto"
            Forward accumulation (tangents, one pass per input feature) or
            reverse accumulation (backpropagation, one pass per output);
            "auto" takes forward when n_features < n_outputs.
        layer : int or None, default=None
            None: of :meth:`predict`; a hidden layer (as ``transform``'s
            ``layer``): of ``transform(X, layer)``.

        Returns
        -------
        jacobian : ndarray of shape (n_samples, n_outputs, n_features)
            ``jacobian[i, r, k]`` is the derivative of output ``r`` of
            ``predict(X)[i]`` (or of that layer's unit r) with respect to
            ``X[i, k]``.
        """
        return self._output_jacobian(self._validated(X), mode, layer)


def _targets(out):
    """The network's outputs (n_samples, n_outputs) as predictions: one output raveled."""
    return out.ravel() if out.shape[1] == 1 else out
