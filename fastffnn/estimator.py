"""The estimators' common base: ``BaseFFNN`` holds everything FFNNClassifier
and FFNNRegressor share.

Here: ``fit`` and ``partial_fit`` (putting the estimator back as it was
when they fail), the training problem both ``fit`` and the gradient checker
start from, the live parameters behind ``coefs_``/``intercepts_``, pickling,
and prediction. Elsewhere, each in a module of its own: the parameters'
documentation and constraints (``fastffnn.parameters``), the checks of
parameters and inputs (``fastffnn.validation``), the training driver with
its stopping rules (``fastffnn.driver``), the conversion of arrays for
compiled code (``fastffnn.boundary``). A subclass says what its targets and
outputs are through a few hooks, as scikit-learn's BaseMultilayerPerceptron
does:

- ``_encode_targets(y, classes, incremental, keep_weights, dtype)``: y as the
  network's target matrix Y (n_samples, n^[L]) in the training dtype;
- ``_output_layer()``: the output activation's name and code and the cost code
  (``fastffnn.registry``);
- ``_validation_score(outputs, y_val, s_val)``: early stopping's score;
- ``_stratify(Y, y)``: the early-stopping split's strata, or None;
- ``_target_weights(s, y, dtype)``: per-example weights from the targets
  (class weights), multiplied into ``sample_weight``;
- ``_cost_parameter()``: the cost's parameter (Huber's threshold C7, the
  pinball loss's level C9), 0 for the others.

Every number is computed in compiled code (``fastffnn.training``,
``fastffnn.prediction``).
"""

import numbers
import warnings

import numba
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from fastffnn import boundary
from fastffnn.callbacks import CallbackSupportMixin, with_callbacks
from fastffnn.driver import TrainingDriver
from fastffnn.kernels.activations import ACTIVATION_CODES
from fastffnn.network import (
    count_parameters,
    initial_parameters,
    pack_parameters,
    parameter_views,
)
from fastffnn.parameters import PARAMETER_CONSTRAINTS
from fastffnn.prediction import (
    INPUT_NOT_FINITE,
    OUTPUT_NOT_FINITE,
    PREDICT_BLOCK,
    predict_example,
    predict_rows,
)
from fastffnn.threads import within_share
from fastffnn.validation import SPARSE_FORMATS, Validation, check_magnitude


class FastffnnVersionWarning(UserWarning):
    """A pickled estimator was saved by another fastffnn version."""


class BaseFFNN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, CallbackSupportMixin,
               TrainingDriver, Validation, BaseEstimator):  # fmt: skip
    """Base of FFNNClassifier and FFNNRegressor; not for direct use.

    Parameters and their defaults are those of scikit-learn's MLP estimators
    plus ``dtype``; see the subclasses for their documentation.
    """

    _parameter_constraints: dict = dict(PARAMETER_CONSTRAINTS)

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
        scoring=None,
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
        self.scoring = scoring

    #: Targets are numbers (regression), not labels: validate_data's y_numeric.
    _numeric_targets = False

    # ------------------------------------------------------------------ fit

    def _reconstruction_attributes(self):
        """Copies of the weights, from which callbacks rebuild this epoch's model."""
        return {
            "coefs_": [c.copy() for c in self.coefs_],
            "intercepts_": [b.copy() for b in self.intercepts_],
        }

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @within_share
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the network to ``X`` (n_samples, n_features) and targets ``y``.

        ``sample_weight`` (n_samples,) weighs each example's loss (MATH.md
        R2). With ``warm_start`` a fitted model continues from its weights.
        ``X_val``, ``y_val`` (and ``sample_weight_val``), as
        HistGradientBoosting's: validation data of your choosing, scored after
        every epoch (``validation_scores_``, ``validation_loss_curve_``);
        with ``early_stopping`` it replaces the ``validation_fraction`` split.
        adam and sgd only. Returns self.
        """
        incremental = self.warm_start and hasattr(self, "coefs_")
        validation = self._given_validation(X_val, y_val, sample_weight_val)
        return self._fit_or_restore(X, y, sample_weight, classes=None, incremental=False,
                                    keep_weights=incremental,
                                    validation=validation)  # fmt: skip

    def _given_validation(self, X_val, y_val, sample_weight_val):
        """``(X_val, y_val, sample_weight_val)`` as given to ``fit``, checked for
        presence (None when not given); validated against the fit's data later."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val was given without X_val and y_val.")
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        if self.solver == "lbfgs":
            raise ValueError("X_val and y_val need a mini-batch solver (adam or sgd); lbfgs "
                             "scores no epochs.")  # fmt: skip
        return X_val, y_val, sample_weight_val

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

    def _fit(self, X, y, sample_weight, *, classes, incremental, keep_weights, validation=None):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, Y, y, s, sizes, codes, hidden_activations, dropout = self._problem(
            X, y, sample_weight, classes=classes, incremental=incremental, keep_weights=keep_weights
        )
        dtype = X.dtype.type

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
            self._fit_lbfgs(X, Y, y, s)
        else:
            if not incremental or getattr(self, "_optimizer", None) is None:
                self._optimizer = self._new_optimizer(params.size, dtype, dropout)
            self._fit_stochastic(X, Y, y, s, incremental, dropout, validation)
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
        check_magnitude(X, dtype)
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

    def _problem(self, X, y, sample_weight, *, classes, incremental, keep_weights):
        """The training problem from the parameters and the data, checked: ``(X,
        Y, y, s, sizes, codes, hidden_activations, dropout)`` (``_training_data``,
        ``_network``; D1's rates). ``fit`` and ``_training_problem`` both start here."""
        hidden = self._hidden_sizes()
        hidden_activations = self._hidden_activations(len(hidden))
        dropout = self._dropout_rates(len(hidden))
        self._check_training_options(dropout)
        X, Y, y, s = self._training_data(
            X, y, sample_weight, classes=classes, incremental=incremental, keep_weights=keep_weights
        )
        sizes, codes = self._network(X.shape[1], hidden, hidden_activations, Y.shape[1])
        return X, Y, y, s, sizes, codes, hidden_activations, dropout

    def _training_problem(self, X, y, sample_weight=None):
        """What ``fit`` would minimise on ``(X, y, sample_weight)``, without fitting.

        Returns ``(X, Y, s, params, sizes, codes, delta, alpha, dropout)``. A
        fitted estimator gives its current weights; an unfitted one the initial
        weights ``fit`` would draw (same ``random_state``). Parameters are
        validated as ``fit`` validates them. Call it on a clone of an unfitted
        estimator: it records labels and feature counts as ``fit`` does.
        """
        self._validate_params()
        fitted = hasattr(self, "coefs_")
        X, Y, _, s, sizes, codes, hidden_activations, dropout = self._problem(
            X, y, sample_weight, classes=None, incremental=False, keep_weights=fitted
        )
        if fitted:
            params, sizes, codes = self._live_parameters(), self._sizes, self._codes
            if Y.shape[1] != sizes[-1]:
                raise ValueError(f"y has {Y.shape[1]} output columns but the network has "
                                 f"{int(sizes[-1])} output units.")  # fmt: skip
        else:
            params = self._initial_parameters(sizes, hidden_activations,
                                              check_random_state(self.random_state),
                                              X.dtype.type)  # fmt: skip
        return X, Y, s, params, sizes, codes, self._cost_parameter(), float(self.alpha), dropout

    def _cost_parameter(self):
        return 0.0

    def _target_weights(self, s, y, dtype):
        return s

    # ------------------------------------------------------- input handling

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
        for derived in ("_params", "_views", "_network_cache", "_network_arrays"):
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

    def _forward(self, X, check_finite=True, unchecked=None, network=None):
        """Output activations A^[L] for validated X, shape (n_samples, n_outputs).

        Outputs that overflowed raise ValueError, unless ``check_finite`` is
        False (early stopping's validation score, which then counts as NaN).
        ``unchecked``: the user's X when X was validated without its
        finiteness, which the compiled pass then checks a block at a time.
        ``network``: another network bundle than the estimator's (a hidden
        layer's, for ``transform``).
        """
        if X.shape[0] == 1:  # no BLAS call (prediction.predict_example), no parallel region
            return self._compiled_forward(X, check_finite, unchecked, network)
        return self._limited_forward(X, check_finite, unchecked, network)

    def _network_bundle(self):
        """The ``bundles.Network`` of the live parameters, built once per
        parameter buffer, sizes and codes (``fit`` sets new ones), so a one-row
        prediction spends no time here."""
        params = self._live_parameters()
        cached = getattr(self, "_network_cache", None)
        if (
            cached is None
            or cached.params is not params
            or self._network_arrays[0] is not self._sizes
            or self._network_arrays[1] is not self._codes
        ):
            cached = boundary.network(params, self._sizes, self._codes, self._cost_parameter())
            self._network_cache, self._network_arrays = cached, (self._sizes, self._codes)
        return cached

    def _compiled_forward(self, X, check_finite, unchecked, network=None):
        network = network or self._network_bundle()
        out = np.empty((X.shape[0], network.sizes[-1]), dtype=self._dtype)
        A0, check_input = boundary.compiled_input(X, self._dtype), unchecked is not None
        if X.shape[0] == 1:
            status = predict_example(A0, network.params, network.sizes, network.codes, out,
                                     check_input)  # fmt: skip
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

    def transform(self, X, layer=-1):
        """The activations of a hidden layer: the network as features.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs, validated as by ``predict``.
        layer : int, default=-1
            Which hidden layer: 1 for the first, -1 for the last (Python's
            indexing of ``hidden_layer_sizes``).

        Returns
        -------
        features : ndarray of shape (n_samples, units of that layer)
            A^[layer] (F1-F2) of every row, in the training dtype.
        """
        check_is_fitted(self)
        network = self._hidden_network(self._hidden_layer(layer))
        return self._forward(self._validated(X, check_finite=False), unchecked=X,
                             network=network)  # fmt: skip

    def set_output(self, *, transform=None):
        """Set the container :meth:`transform` returns (scikit-learn's ``set_output`` API).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            "default": NumPy arrays; "pandas" or "polars": a DataFrame whose
            columns are :meth:`get_feature_names_out`; None leaves it unchanged.

        Returns
        -------
        self : estimator instance
        """
        return super().set_output(transform=transform)

    def _hidden_layer(self, layer):
        """``layer`` of ``transform`` / ``jacobian`` as l in 1..L-1, checked."""
        n_hidden = len(self._sizes) - 2
        if n_hidden == 0:
            raise ValueError("The network has no hidden layer to transform X into "
                             "(hidden_layer_sizes=()).")  # fmt: skip
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
            raise TypeError(f"layer must be an int, got {layer!r}.")
        if not (-n_hidden <= layer <= n_hidden) or layer == 0:
            raise ValueError(f"layer={layer}: the network has hidden layers 1 to {n_hidden} "
                             f"(or -1 to -{n_hidden} from the last).")  # fmt: skip
        return int(layer) if layer > 0 else n_hidden + 1 + int(layer)

    def _hidden_arrays(self, l):
        """``(params, sizes, codes)`` of the network cut after hidden layer l:
        a prefix of the live buffer (layers are stored in order), its sizes,
        its activations and the cost code."""
        sizes = self._sizes[: l + 1]
        codes = np.concatenate([self._codes[:l], self._codes[-1:]])
        return self._live_parameters()[: count_parameters(sizes)], sizes, codes

    def _hidden_network(self, l):
        params, sizes, codes = self._hidden_arrays(l)
        return boundary.network(params, sizes, codes, self._cost_parameter())

    @property
    def _n_features_out(self):
        """Columns of ``transform``'s output (the last hidden layer), for feature names."""
        return int(self._sizes[-2])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _output_jacobian(self, X, mode, layer=None):
        """Jacobian of the network's outputs A^[L] (or of hidden layer
        ``layer``'s activations, ``transform``'s) with respect to validated X,
        shape (n_samples, n^[L], n_features)."""
        from fastffnn.jacobian import input_jacobian

        if layer is not None:
            params, sizes, codes = self._hidden_arrays(self._hidden_layer(layer))
            return input_jacobian(params, sizes, codes, X, mode=mode)
        return input_jacobian(self._live_parameters(), self._sizes, self._codes, X, mode=mode)
