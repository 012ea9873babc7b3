"""The estimators' common base: ``BaseFFNN`` holds everything FFNNClassifier
and FFNNRegressor share.

Validation and conversion at the boundary (scikit-learn's validation
utilities), the training driver (mini-batch epochs, L-BFGS), the stopping
rules and early stopping, live parameters, pickling, prediction and input
Jacobians. A subclass says what its targets and outputs are through a few
hooks, as scikit-learn's BaseMultilayerPerceptron does:

- ``_encode_targets(y, classes, incremental, keep_weights, dtype)``: y as the
  network's target matrix Y (n_samples, n^[L]) in the training dtype;
- ``_output_layer()``: the output activation's name and code and the cost code
  (``fastffnn.kernels.costs``);
- ``_validation_score(X_val, y_val, s_val)``: early stopping's score;
- ``_stratify(Y, y)``: the early-stopping split's strata, or None;
- ``_target_weights(s, y, dtype)``: per-example weights from the targets
  (class weights), multiplied into ``sample_weight``;
- ``_huber_delta()``: Huber's threshold (C7), 0 for the other costs.

Every number is computed in ``fastffnn.training``.
"""

import warnings
from numbers import Integral, Real

import numba
import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from fastffnn import boundary, registry
from fastffnn.kernels.activations import ACTIVATION_CODES
from fastffnn.network import initial_parameters, pack_parameters, parameter_views
from fastffnn.prediction import (
    INPUT_NOT_FINITE,
    OUTPUT_NOT_FINITE,
    PREDICT_BLOCK,
    predict_example,
    predict_rows,
)
from fastffnn.solvers import EpochRunner, OptimizerState, minimize_lbfgs
from fastffnn.threads import within_share

#: Hidden activations: scikit-learn's four, "sigmoid" for "logistic", and A5-A11.
HIDDEN_ACTIVATIONS = registry.HIDDEN_ACTIVATIONS
_FAST_PATH_MAX_ELEMENTS = 4096  # predict inputs this small skip the full validation
#: Sparse X accepted (as scikit-learn's MLP estimators); CSC is converted to CSR.
SPARSE_FORMATS = ["csr", "csc"]


#: The parameters both estimators document alike: each one's docstring says
#: ``{shared parameters}`` where they go (``document_shared_parameters``).
SHARED_PARAMETERS = """\
    hidden_layer_sizes : array-like of int or int, default=(100,)
        Units of each hidden layer.
    activation : str or list of str, default="relu"
        Hidden activation: scikit-learn's "identity", "logistic" ("sigmoid"),
        "tanh", "relu", or "leaky_relu" (slope 0.01), "elu", "selu", "gelu"
        (the exact erf form), "silu", "softplus", "mish" (MATH.md A5-A11); a
        list gives one per hidden layer. Weights are initialized by the rule
        of each layer's activation: Glorot uniform as scikit-learn for its
        four (which keeps MLPClassifier's results), He normal
        ``N(0, 2 / fan_in)`` for leaky_relu, elu, gelu, silu, softplus and
        mish, LeCun normal ``N(0, 1 / fan_in)`` for selu, biases 0 for both;
        the output layer follows the last hidden layer.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Weight optimizer; lbfgs is full-batch scipy L-BFGS-B.
    alpha : float, default=0.0001
        L2 penalty strength (MATH.md R1).
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Learning-rate schedule. "constant", "invscaling" and "adaptive" are
        scikit-learn's, for sgd only (adam ignores them, as scikit-learn's
        does). "cosine" (MATH.md S1), for adam and sgd, decays the rate from
        ``learning_rate_init`` to 0 along half a cosine over ``max_iter``
        epochs, step by step, after ``warmup_iter`` epochs of linear warm-up.
        Early stopping may end training before the rate reaches 0. A
        ``warm_start`` fit restarts the schedule; successive ``partial_fit``
        calls continue it, ``max_iter`` calls spanning the whole cosine, after
        which the rate stays 0 (the weights stop changing).
    learning_rate_init : float, default=0.001
        Initial learning rate (adam, sgd).
    power_t : float, default=0.5
        Exponent of the invscaling schedule.
    max_iter : int, default=200
        Epochs (adam, sgd) or iterations (lbfgs).
    shuffle : bool, default=True
        Shuffle the examples every epoch (adam, sgd).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the early-stopping split.
    tol : float, default=1e-4
        Tolerance of the stopping rule.
    verbose : bool or int, default=False
        Print one line per epoch as scikit-learn does (any true value but 2);
        2 shows a progress bar (tqdm's when installed) with the loss and the
        validation score.
    warm_start : bool, default=False
        Start ``fit`` from the current weights.
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (sgd).
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    max_fun : int, default=15000
        Maximum loss evaluations (lbfgs).
    dropout : float in [0, 1) or list of them, default=0.0
        Inverted dropout on the hidden activations during training (MATH.md
        D1): each unit of each example is zeroed with this probability at
        every step and the kept ones scaled by ``1 / (1 - rate)``; a list
        gives one rate per hidden layer. Prediction, ``score`` and the
        validation score of early stopping use the whole network. The masks
        are a function of ``random_state``, the step and the example, so a
        seed trains to the same bits on any number of threads. adam and sgd
        only.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW / SGDW, MATH.md W1): after each update,
        every weight (not bias) shrinks by ``learning_rate * weight_decay``
        times itself, independently of ``alpha``'s L2 term, which goes
        through the gradient (and Adam's scaling). adam and sgd only.
    warmup_iter : int, default=0
        Epochs of linear warm-up of ``learning_rate="cosine"`` (MATH.md S1),
        at most ``max_iter``.
    dtype : {"float32", "float64"} or None, default=None
        Training precision. None follows X: float32 X trains in float32.
        X with values beyond the square root of the largest number of the
        training dtype (about 1.8e19 in float32, 1.3e154 in float64) raises
        ValueError instead of overflowing; there is no silent float64 fallback,
        which would copy X. Training that still diverges (too large a
        learning rate) stops at the last finite weights with a ConvergenceWarning.
"""


def document_shared_parameters(cls):
    """Class decorator: SHARED_PARAMETERS where ``cls``'s docstring asks for them."""
    if cls.__doc__:  # None under python -OO
        cls.__doc__ = cls.__doc__.replace("    {shared parameters}\n", SHARED_PARAMETERS)
    return cls


class FastffnnVersionWarning(UserWarning):
    """A pickled estimator was saved by another fastffnn version."""


def _check_magnitude(X, dtype):
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


def _stochastic(estimator):
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver!r} is not stochastic.")  # fmt: skip
    return True


class BaseFFNN(BaseEstimator):
    """Base of FFNNClassifier and FFNNRegressor; not for direct use.

    Parameters and their defaults are those of scikit-learn's MLP estimators
    plus ``dtype``; see the subclasses for their documentation.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions(set(registry.SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), type, None],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        *,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dtype,
        dropout,
        weight_decay,
        warmup_iter,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.warmup_iter = warmup_iter

    #: Targets are numbers (regression), not labels: validate_data's y_numeric.
    _numeric_targets = False

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    @within_share
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and targets ``y``.

        ``sample_weight`` (n_samples,) weighs each example's loss (MATH.md
        R2). With ``warm_start`` a fitted model continues from its weights.
        Returns self.
        """
        incremental = self.warm_start and hasattr(self, "coefs_")
        return self._fit_or_restore(X, y, sample_weight, classes=None, incremental=False,
                                    keep_weights=incremental)  # fmt: skip

    @within_share
    def _partial_fit(self, X, y, classes, sample_weight):
        """One epoch on ``(X, y)`` keeping weights and optimizer state (partial_fit)."""
        first_call = not hasattr(self, "coefs_")
        if not first_call:  # scikit-learn's _fit_context skips this once fitted
            self._validate_params()
        return self._fit_or_restore(X, y, sample_weight, classes=classes, incremental=True,
                                    keep_weights=not first_call)  # fmt: skip

    def _fit_or_restore(self, *args, **kwargs):
        """``_fit``; when it raises, the estimator's attributes are put back as
        they were, so bad input found late (labels, sample weights, the
        validation split) never leaves a half-reset model."""
        state = self.__dict__.copy()
        try:
            return self._fit(*args, **kwargs)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, y, sample_weight, *, classes, incremental, keep_weights):
        hidden = self._hidden_sizes()
        hidden_activations = self._hidden_activations(len(hidden))
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        dropout = self._dropout_rates(len(hidden))
        self._check_training_options(dropout)
        X, Y, y, s = self._training_data(
            X, y, sample_weight, classes=classes, incremental=incremental, keep_weights=keep_weights
        )
        dtype = X.dtype.type
        sizes, codes = self._network(X.shape[1], hidden, hidden_activations, Y.shape[1])

        # Drawn afresh on every call, as scikit-learn does: the same random_state
        # gives the same initial weights, validation split and shuffles.
        self._random_state = check_random_state(self.random_state)
        if keep_weights:
            params = self._live_parameters()
            if not np.array_equal(self._sizes, sizes):
                raise ValueError(
                    f"The network has layer sizes {self._sizes.tolist()} but this data and "
                    f"hidden_layer_sizes need {sizes.tolist()}; set warm_start=False to refit."
                )
        else:
            params = self._initial_parameters(sizes, hidden_activations, self._random_state,
                                              dtype)  # fmt: skip
            self.n_iter_ = 0
            self.t_ = 0
            self.n_layers_ = len(sizes)
            self.n_outputs_ = int(sizes[-1])
            self.out_activation_ = self._output_layer()[0]
            self._dtype = np.dtype(dtype)
            self._sizes = sizes
            self._optimizer = None
            if self.solver != "lbfgs":
                self.loss_curve_ = []
                self._no_improvement_count = 0
                if self.early_stopping:
                    self.validation_scores_ = []
                    self.best_validation_score_ = -np.inf
                    self.best_loss_ = None
                else:
                    self.validation_scores_ = None
                    self.best_validation_score_ = None
                    self.best_loss_ = np.inf
        self._codes = codes
        self._set_parameters(params)

        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, s)
        else:
            if not incremental or getattr(self, "_optimizer", None) is None:
                self._optimizer = self._new_optimizer(params.size, dtype, dropout)
            self._fit_stochastic(X, Y, y, s, incremental, dropout)
        return self

    def _training_data(self, X, y, sample_weight, *, classes, incremental, keep_weights):
        """``(X, Y, y, s)`` as training uses them: X validated, C-ordered, in the
        training dtype; Y the encoded targets; y the targets as given (validated);
        s the sample weights (R2)."""
        dtype = self._training_dtype(X) if not keep_weights else self._dtype
        X, y = validate_data(
            self, X, y, reset=not keep_weights, dtype=dtype, order="C",
            multi_output=True, y_numeric=self._numeric_targets, accept_sparse=SPARSE_FORMATS,
        )  # fmt: skip
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        _check_magnitude(X, dtype)
        Y = self._encode_targets(y, classes, incremental, keep_weights, dtype)
        s = self._sample_weights(sample_weight, X, y, dtype)
        return X, Y, y, s

    def _network(self, n_features, hidden, hidden_activations, n_outputs):
        """``(sizes, codes)`` of the network: layer sizes, then the activation
        codes of layers 1..L followed by the cost code."""
        sizes = np.array([n_features, *hidden, n_outputs], dtype=np.int64)
        _, output_code, cost_code = self._output_layer()
        codes = np.array([ACTIVATION_CODES[a] for a in hidden_activations]
                         + [output_code, cost_code], dtype=np.int64)  # fmt: skip
        return sizes, codes

    def _initial_parameters(self, sizes, hidden_activations, random_state, dtype):
        """Weights drawn by each layer's activation's rule (``network.initial_parameters``:
        Glorot uniform as scikit-learn for its activations); the output layer
        follows the last hidden activation, as scikit-learn's follows ``activation``."""
        init_names = [
            *hidden_activations,
            hidden_activations[-1]
            if hidden_activations
            else (self.activation if isinstance(self.activation, str) else "relu"),
        ]
        return initial_parameters(sizes, init_names, random_state, dtype)

    def _training_problem(self, X, y, sample_weight=None):
        """What ``fit`` would minimise on ``(X, y, sample_weight)``, without fitting.

        Returns ``(X, Y, s, params, sizes, codes, delta, alpha)``. A fitted
        estimator gives its current weights; an unfitted one the initial
        weights ``fit`` would draw (same ``random_state``). Call it on a clone
        of an unfitted estimator: it records labels and feature counts as
        ``fit`` does.
        """
        fitted = hasattr(self, "coefs_")
        hidden = self._hidden_sizes()
        hidden_activations = self._hidden_activations(len(hidden))
        X, Y, _, s = self._training_data(X, y, sample_weight, classes=None, incremental=False,
                                         keep_weights=fitted)  # fmt: skip
        if fitted:
            params, sizes, codes = self._live_parameters(), self._sizes, self._codes
            if Y.shape[1] != sizes[-1]:
                raise ValueError(f"y has {Y.shape[1]} output columns but the network has "
                                 f"{int(sizes[-1])} output units.")  # fmt: skip
        else:
            sizes, codes = self._network(X.shape[1], hidden, hidden_activations, Y.shape[1])
            params = self._initial_parameters(sizes, hidden_activations,
                                              check_random_state(self.random_state),
                                              X.dtype.type)  # fmt: skip
        dropout = self._dropout_rates(len(hidden))
        return X, Y, s, params, sizes, codes, self._huber_delta(), float(self.alpha), dropout

    def _huber_delta(self):
        return 0.0

    def _target_weights(self, s, y, dtype):
        return s

    def _fit_stochastic(self, X, Y, y, s, incremental, dropout):
        params = self._params
        self.n_iter_ = 0  # as scikit-learn: n_iter_ counts this call's epochs (1 for partial_fit)
        X_val = y_val = s_val = None
        if self.early_stopping:
            X, X_val, Y, y_val, s, s_val = self._validation_split(X, Y, y, s)

        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped", stacklevel=3)  # fmt: skip
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        runner = EpochRunner(boundary.training_data(X, Y, s, self._dtype), self._network_bundle(),
                             self.alpha, batch_size, self.shuffle, self._random_state,
                             dropout)  # fmt: skip
        best_params = params.copy() if self.early_stopping else None
        last_good = params.copy()
        from fastffnn.progress import EpochReporter

        reporter = EpochReporter(self.verbose, None if incremental else self.max_iter,
                                 self.validation_scores_)  # fmt: skip
        try:
            for _ in range(1 if incremental else self.max_iter):
                loss = runner.run(self._optimizer)
                if not (np.isfinite(loss) and np.all(np.isfinite(params))):
                    params[:] = last_good
                    warnings.warn(
                        f"Training diverged in epoch {self.n_iter_ + 1} (non-finite loss or "
                        "weights); stopped and kept the weights of the last finite epoch. "
                        "Scale the inputs or lower learning_rate_init.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
                    break
                last_good[:] = params
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(loss)
                reporter.epoch(self.n_iter_, loss, len(self.loss_curve_))
                if self._update_no_improvement(X_val, y_val, s_val):
                    best_params = params.copy()
                reporter.end_epoch()
                self._optimizer.end_epoch(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    message = (f"{what} did not improve more than tol={self.tol:f} for "
                               f"{self.n_iter_no_change} consecutive epochs.")  # fmt: skip
                    stop, suffix = self._optimizer.should_stop()
                    reporter.message(message + suffix)
                    if stop:
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
        except KeyboardInterrupt:
            if not np.all(np.isfinite(params)):
                params[:] = last_good
            warnings.warn("Training interrupted by user; keeping the weights of the last "
                          "completed epoch.", stacklevel=3)  # fmt: skip
        reporter.close()
        if self.early_stopping:
            params[:] = best_params

    def _fit_lbfgs(self, X, Y, s):
        params = self._params
        start = params.copy()
        iteration = [0]

        def report(_):
            iteration[0] += 1
            if self.verbose:
                print(f"Iteration {iteration[0]}")

        try:
            result = minimize_lbfgs(
                boundary.training_data(X, Y, s, self._dtype), self._network_bundle(), self.alpha,
                max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol, callback=report,
            )  # fmt: skip
        except KeyboardInterrupt:
            if not np.all(np.isfinite(params)):
                params[:] = start
            warnings.warn("Training interrupted by user.", stacklevel=3)
            self.n_iter_ = iteration[0]
            return
        if not np.all(np.isfinite(params)):
            params[:] = start
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        if not result.success:
            message = result.message
            if isinstance(message, bytes):
                message = message.decode("latin1")
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}): {message}. Increase max_iter or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _update_no_improvement(self, X_val, y_val, s_val):
        """scikit-learn's stopping bookkeeping; returns True when weights improved
        on the validation set (early stopping only)."""
        if self.early_stopping:
            score = self._validation_score(X_val, y_val, s_val)
            self.validation_scores_.append(score)
            if self.verbose and self.verbose != 2:  # verbose=2: the progress bar shows it
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        loss = self.loss_curve_[-1]
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, loss)
        return False

    def _validation_split(self, X, Y, y, s):
        stratify = self._stratify(Y, y)
        from sklearn.model_selection import train_test_split  # a slow import; early stopping only

        X_train, X_val, Y_train, _, s_train, s_val, _, y_val = train_test_split(
            X, Y, s, y, random_state=self._random_state,
            test_size=self.validation_fraction, stratify=stratify,
        )  # fmt: skip
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")  # fmt: skip
        if not scipy.sparse.issparse(X_train):
            X_train = np.ascontiguousarray(X_train)
        return (X_train, X_val, np.ascontiguousarray(Y_train), y_val,
                np.ascontiguousarray(s_train), s_val)  # fmt: skip

    def _new_optimizer(self, n_params, dtype, dropout):
        cosine = self.learning_rate == "cosine"
        # drawn only with dropout, so that without it the shuffles stay scikit-learn's
        mask_seed = self._random_state.randint(2**31) if dropout.size else 0
        return OptimizerState(
            self.solver, n_params, dtype,
            learning_rate_init=self.learning_rate_init, learning_rate=self.learning_rate,
            power_t=self.power_t, momentum=self.momentum,
            nesterovs_momentum=self.nesterovs_momentum, beta_1=self.beta_1,
            beta_2=self.beta_2, epsilon=self.epsilon, weight_decay=self.weight_decay,
            cosine_epochs=self.max_iter if cosine else 0,
            warmup_epochs=self.warmup_iter if cosine else 0, mask_seed=mask_seed,
        )  # fmt: skip

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

    # ------------------------------------------------------- input handling

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
            if name not in HIDDEN_ACTIVATIONS:
                raise ValueError(f"Unknown activation {name!r}; choose from "
                                 f"{', '.join(HIDDEN_ACTIVATIONS)}.")  # fmt: skip
        return ["logistic" if name == "sigmoid" else name for name in names]

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

    # ------------------------------------------------------------ parameters

    def _set_parameters(self, params):
        self._params = params
        self.coefs_, self.intercepts_ = parameter_views(params, self._sizes)
        self._views = (list(self.coefs_), list(self.intercepts_))

    def _live_parameters(self):
        """The flat buffer behind ``coefs_`` / ``intercepts_``.

        When the user assigned new arrays, a new buffer is packed from them
        (checked against the network's shapes); writes into the views need nothing.
        """
        coefs, intercepts = self.coefs_, self.intercepts_
        linked = getattr(self, "_views", None)
        if (
            linked is not None
            and len(coefs) == len(linked[0])
            and len(intercepts) == len(linked[1])
            and all(a is b for a, b in zip(coefs + intercepts, linked[0] + linked[1]))
        ):
            return self._params
        sizes = self._sizes
        if len(coefs) != len(sizes) - 1 or len(intercepts) != len(sizes) - 1:
            raise ValueError(f"coefs_ and intercepts_ need {len(sizes) - 1} arrays each.")
        for l, (coef, intercept) in enumerate(zip(coefs, intercepts)):
            if np.shape(coef) != (sizes[l], sizes[l + 1]) or np.shape(intercept) != (sizes[l + 1],):
                raise ValueError(
                    f"Layer {l}: coefs_ must have shape {(int(sizes[l]), int(sizes[l + 1]))} "
                    f"and intercepts_ {(int(sizes[l + 1]),)}; got {np.shape(coef)} and "
                    f"{np.shape(intercept)}."
                )
        return pack_parameters(coefs, intercepts, self._dtype)

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never touch the live __dict__
        for derived in ("_params", "_views"):
            state.pop(derived, None)
        from fastffnn import __version__  # here: the package imports this module first

        state["_fastffnn_version"] = __version__
        return state

    def __setstate__(self, state):
        from fastffnn import __version__

        state = dict(state)
        saved = state.pop("_fastffnn_version", "unknown")
        if saved != __version__:
            warnings.warn(
                f"Trying to unpickle {type(self).__name__} from fastffnn version {saved} when "
                f"using version {__version__}. This might lead to breaking code or invalid "
                "results. Use at your own risk.",
                FastffnnVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)
        if "coefs_" in state:
            self._set_parameters(pack_parameters(self.coefs_, self.intercepts_, self._dtype))

    # --------------------------------------------------------------- predict

    def _forward(self, X, check_finite=True, unchecked=None):
        """Output activations A^[L] for validated X, shape (n_samples, n_outputs).

        Outputs that overflowed raise ValueError, unless ``check_finite`` is
        False (early stopping's validation score, which then counts as NaN).
        ``unchecked``: the user's X when X was validated without its
        finiteness, which the compiled pass then checks a block at a time.
        """
        if X.shape[0] == 1:  # no BLAS call (training.predict_example), no parallel region
            return self._compiled_forward(X, check_finite, unchecked)
        return self._limited_forward(X, check_finite, unchecked)

    def _network_bundle(self, params=None):
        """The ``bundles.Network`` of the live parameters (or ``params``)."""
        params = self._live_parameters() if params is None else params
        return boundary.network(params, self._sizes, self._codes, self._huber_delta())

    def _compiled_forward(self, X, check_finite, unchecked):
        network = self._network_bundle()
        out = np.empty((X.shape[0], self._sizes[-1]), dtype=self._dtype)
        A0, check_input = boundary.compiled_input(X, self._dtype), unchecked is not None
        if X.shape[0] == 1:
            status = predict_example(A0, network, out, check_input)
        else:
            status = predict_rows(A0, network, np.int64(PREDICT_BLOCK), out, check_input,
                                  numba.get_num_threads())  # fmt: skip
        if status == INPUT_NOT_FINITE:
            self._validated(unchecked)  # raises scikit-learn's error, which names the problem
            raise ValueError("Input X contains NaN or infinity.")
        if check_finite and status == OUTPUT_NOT_FINITE:
            raise ValueError("The network's outputs overflowed to NaN or inf on this X: its values "
                             "are finite but too large in magnitude. Scale X as the training "
                             "data was scaled.")  # fmt: skip
        return out

    _limited_forward = within_share(_compiled_forward)

    def _predicted(self, X):
        """A^[L] for the user's X: validated, with X's finiteness checked inside
        the compiled forward pass rather than by a pass of its own over X."""
        return self._forward(self._validated(X, check_finite=False), unchecked=X)

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _output_jacobian(self, X, mode):
        """Jacobian of the network's outputs A^[L] with respect to validated X,
        shape (n_samples, n^[L], n_features)."""
        from fastffnn.jacobian import input_jacobian

        return input_jacobian(self._live_parameters(), self._sizes, self._codes, X, mode=mode)
