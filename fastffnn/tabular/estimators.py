"""TabularMLPClassifier and TabularMLPRegressor: RealMLP-TD's recipe
(Holzmueller et al., NeurIPS 2024) trained by the compiled core.

The estimators take a table as it comes (a pandas or polars DataFrame with
numeric, categorical and string columns and missing cells, or an array),
encode it (``fastffnn.tabular.encoding``), hold out a validation split
(or take ``X_val``/``y_val``), train 256 epochs with one compiled call each
(``fastffnn.tabular.core.train_epoch``) and keep the epoch that scored best on
the validation data. Their defaults are RealMLP-TD's, as pytabkit sets them.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import check_scoring
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from fastffnn.callbacks import CallbackSupportMixin, TrainingTasks, with_callbacks
from fastffnn.kernels.activations import MISH, SELU
from fastffnn.tabular import core
from fastffnn.tabular.encoding import TableEncoder
from fastffnn.tabular.network import TabularLayout, initialize
from fastffnn.threads import within_share

#: Adam's (beta_1, beta_2, epsilon) in RealMLP-TD.
ADAM_BETAS = (0.9, 0.95, 1e-8)


def _as_table(X):
    """A pandas or polars DataFrame as it is, anything else as an array."""
    if type(X).__module__.split(".")[0] in ("pandas", "polars") and hasattr(X, "columns"):
        return X
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(
            "Sparse input is not supported by the tabular estimators; pass a "
            "dense array or a DataFrame."
        )
    return np.asarray(X)


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


class BaseTabularMLP(CallbackSupportMixin, BaseEstimator):
    """Base of the tabular estimators; not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "n_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_members": [Interval(numbers.Integral, 1, None, closed="left")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "scoring": [str, callable, None],
        "dtype": [type, str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes,
        learning_rate,
        n_epochs,
        batch_size,
        dropout,
        weight_decay,
        validation_fraction,
        n_members,
        categorical_features,
        scoring,
        dtype,
        random_state,
        verbose,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.n_members = n_members
        self.categorical_features = categorical_features
        self.scoring = scoring
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    # -- fitting -----------------------------------------------------------
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    @within_share
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Train on ``(X, y)``; keep the epoch that scores best on ``X_val``
        (``y_val``), or on a random ``validation_fraction`` of X when none is given.
        With scikit-learn's callbacks (``set_callbacks``) each epoch is a
        subtask; a callback that asks to stop ends training after that epoch.
        A fit that fails leaves the estimator as it was.

        X: a DataFrame (pandas or polars) or array, (n_samples, n_features);
        y: (n_samples,) (or (n_samples, n_targets) for the regressor);
        sample_weight: (n_samples,) or None.
        """
        before = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, sample_weight, X_val, y_val, sample_weight_val):
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}.")
        hidden = [int(h) for h in np.atleast_1d(self.hidden_layer_sizes)]
        if not hidden or min(hidden) < 1:
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes}."
            )
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val go together: pass both or neither.")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = _as_table(X)
        n = _n_rows(X)
        n_columns = X.shape[1] if len(getattr(X, "shape", ())) == 2 else None
        if n == 0 or n_columns == 0:
            raise ValueError(
                f"Found array with {n} sample(s) and {n_columns} feature(s) (shape=({n}, "
                f"{n_columns})) while a minimum of 1 is required."
            )
        y = self._check_y(y, n)
        sample_weight = _check_sample_weight(
            sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True
        )
        random_state = check_random_state(self.random_state)
        if X_val is None:
            if n < 2:
                raise ValueError(f"n_samples={n}: at least 2 are needed to hold out validation.")
            order = random_state.permutation(n)
            n_train = max(1, min(n - 1, int(np.ceil((1 - self.validation_fraction) * n))))
            train, val = np.sort(order[:n_train]), np.sort(order[n_train:])
            X_val, y_val = _safe_indexing(X, val), y[val]
            sample_weight_val = sample_weight[val]
            X, y, sample_weight = _safe_indexing(X, train), y[train], sample_weight[train]
        else:
            X_val = _as_table(X_val)
            y_val = self._check_y(y_val, _n_rows(X_val), fitting=False)
            sample_weight_val = _check_sample_weight(
                sample_weight_val, np.empty((len(y_val), 0)), dtype=np.float64
            )
        self._encoder = TableEncoder(self.categorical_features, type(self).__name__)
        encoded = self._encoder.fit_transform(X)
        self.n_features_in_ = self._encoder.n_features_in_
        if self._encoder.feature_names_in_ is not None:
            self.feature_names_in_ = self._encoder.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        Y = self._encode_targets(y, dtype)
        weights = (sample_weight * self._target_weights(y)).astype(dtype)
        if not weights.sum() > 0:
            raise ValueError("sample_weight sums to 0: nothing to train on.")
        data = core.TabularData(*(self._cast(a, dtype) for a in encoded), Y, weights)
        val_data = self._encode_rows(X_val, dtype)
        sample_weight_val = sample_weight_val * self._target_weights(y_val)
        scorer = None if self.scoring is None else check_scoring(self, self.scoring)

        widths = [a.shape[1] for a in encoded]
        self._layout = TabularLayout(
            widths, self._encoder.embedding_cardinalities, hidden, Y.shape[1], self.n_members
        )
        code = self._activation_code
        params = initialize(self._layout, data, code, random_state, dtype)
        self._params = params
        network = self._layout.network(params, code)
        n_train = len(Y)
        batch_size = min(self.batch_size, n_train)
        chunk = -(-batch_size // core.TRAIN_CHUNKS)
        work = self._layout.chunks(max(chunk, core.PREDICT_BLOCK), dtype)
        optimizer = self._layout.optimizer(dtype)
        n_batches = n_train // batch_size
        learning_rate = (
            self._default_learning_rate if self.learning_rate is None else self.learning_rate
        )
        schedule = core.TabularSchedule(
            float(learning_rate),
            float(self.dropout),
            float(self.weight_decay),
            float(self.n_epochs * n_batches),
            ADAM_BETAS,
            np.int64(random_state.randint(2**31)),
        )
        tasks = TrainingTasks.start(self, X, y, self.n_epochs)
        try:
            best = self._run_epochs(
                data,
                network,
                work,
                optimizer,
                schedule,
                batch_size,
                random_state,
                (val_data, X_val, y_val, sample_weight_val),
                scorer,
                tasks,
            )
        finally:
            if tasks is not None:
                tasks.close()
        self.best_validation_score_ = -best if scorer is not None else best
        return self

    def _run_epochs(
        self,
        data,
        network,
        work,
        optimizer,
        schedule,
        batch_size,
        random_state,
        validation,
        scorer,
        tasks,
    ):
        """Train epoch after epoch, scoring each on ``validation`` (encoded rows,
        X_val, y_val, weights); leave the best epoch's parameters in place and
        return its validation error."""
        val_data, X_val, y_val, sample_weight_val = validation
        params = network.params
        n_train = len(data.Y)
        n_batches = n_train // batch_size
        classification = isinstance(self, ClassifierMixin)
        best, best_params = np.inf, params.copy()
        self.loss_curve_, self.validation_scores_ = [], []
        self.best_epoch_ = self.n_iter_ = 0
        for epoch in range(self.n_epochs):
            if tasks is not None:
                tasks.begin()
            order = np.stack([random_state.permutation(n_train) for _ in range(self.n_members)])
            order = order.astype(np.int64)
            loss = core.train_epoch(
                data,
                network,
                work,
                optimizer,
                schedule,
                order,
                np.int64(batch_size),
                np.int64(epoch * n_batches),
                classification,
            )
            if not np.isfinite(loss):
                params[:] = best_params
                raise ValueError(
                    f"Training diverged at epoch {epoch + 1} (loss {loss}); try a smaller "
                    f"learning_rate or float64."
                )
            self.loss_curve_.append(loss / max(n_batches, 1))
            error = self._validation_error(val_data, y_val, sample_weight_val, work, scorer, X_val)
            self.validation_scores_.append(-error if scorer is not None else error)
            self.n_iter_ = epoch + 1
            if error <= best:  # ties go to the later epoch, as RealMLP's selection
                best, self.best_epoch_ = error, epoch + 1
                best_params[:] = params
            if self.verbose:
                print(
                    f"epoch {epoch + 1}: loss {self.loss_curve_[-1]:.5f}, "
                    f"validation {self.validation_scores_[-1]:.5f}"
                )
            if tasks is not None and tasks.end():
                break  # a callback asked to stop after this epoch
        params[:] = best_params
        return best

    def _reconstruction_attributes(self):
        """A copy of the parameters, from which callbacks rebuild this epoch's model."""
        return {"_params": self._params.copy()}

    @staticmethod
    def _cast(array, dtype):
        return array if array.dtype == np.int64 else np.ascontiguousarray(array, dtype=dtype)

    def _encode_rows(self, X, dtype):
        numeric, plain, codes = self._encoder.transform(X)
        n = numeric.shape[0]
        return core.TabularData(
            self._cast(numeric, dtype),
            self._cast(plain, dtype),
            codes,
            np.empty((n, 0), dtype=dtype),
            np.empty(n, dtype=dtype),
        )

    def _outputs(self, data, work=None, softmax=False):
        dtype = self._params.dtype
        n = data.numeric.shape[0]
        if work is None:
            work = self._layout.chunks(core.PREDICT_BLOCK, dtype)
        out = np.empty((n, int(self._layout.sizes[-1])), dtype=dtype)
        network = self._layout.network(self._params, self._activation_code)
        core.predict_rows(data, network, work, np.int64(len(self._layout.sizes) - 1), softmax, out)
        return out

    def _validation_error(self, data, y_val, weights, work, scorer, X_val):
        if scorer is not None:
            return -float(scorer(self, X_val, y_val, sample_weight=weights))
        # one member: argmax of the logits; k: of the mean of the members' probabilities
        probabilities = isinstance(self, ClassifierMixin) and self.n_members > 1
        return self._default_error(self._outputs(data, work, softmax=probabilities), y_val, weights)

    def _check_fitted_rows(self, X):
        check_is_fitted(self, "_params")
        return self._encode_rows(_as_table(X), self._params.dtype)


class TabularMLPClassifier(ClassifierMixin, BaseTabularMLP):
    """A classifier with RealMLP-TD's recipe on the compiled core.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 256, 256)
        Widths of the hidden dense layers (N1).
    learning_rate : float or None, default=None
        Adam's base learning rate, on the coslog4 schedule (S3); None: 0.04.
    n_epochs : int, default=256
        Epochs; the one scoring best on the validation data is kept.
    batch_size : int, default=256
        Mini-batch size (at most the training rows); the last incomplete batch
        of an epoch is dropped.
    dropout : float, default=0.15
        D1's rate after each hidden layer, on the flat_cos schedule (S3).
    weight_decay : float, default=0.02
        W2's decoupled decay, on the flat_cos schedule.
    label_smoothing : float, default=0.1
        L1's epsilon.
    validation_fraction : float, default=0.2
        The share of X held out (at random) to choose the epoch, unless ``X_val`` is given.
    n_members : int, default=1
        BatchEnsemble members (BE1, TabM's parameter-efficient ensemble): k
        members share every weight matrix, each with its own input and output
        scales and biases, each trained on its own order of the rows; the
        prediction is the mean of the members' (probabilities). The rest of the
        recipe stays RealMLP-TD's. An epoch costs about k times one member's.
    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        As HistGradientBoosting's: "from_dtype" takes category, string, object and
        bool columns; indices, names or a boolean mask name them; None: none.
    class_weight : dict, "balanced" or None, default=None
        Per-class weights multiplied into ``sample_weight``.
    scoring : str, callable or None, default=None
        The validation score that chooses the epoch; None: the error rate
        (1 - accuracy), as RealMLP-TD.
    dtype : {np.float32, np.float64}, default=np.float32
        The training and prediction dtype.
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False
        Print each epoch's loss and validation score.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels.
    n_features_in_ : int
        Columns of X in fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined when X has column names.
    best_epoch_ : int
        The kept epoch (1-based).
    best_validation_score_ : float
        Its validation error (or ``scoring``'s score).
    loss_curve_ : list of float
        Each epoch's mean training loss.
    validation_scores_ : list of float
        Each epoch's validation error (or ``scoring``'s score).
    n_iter_ : int
        Epochs trained.
    """

    _parameter_constraints: dict = {
        **BaseTabularMLP._parameter_constraints,
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _default_learning_rate = 0.04
    _activation_code = SELU

    def __init__(
        self,
        *,
        hidden_layer_sizes=(256, 256, 256),
        learning_rate=None,
        n_epochs=256,
        batch_size=256,
        dropout=0.15,
        weight_decay=0.02,
        label_smoothing=0.1,
        validation_fraction=0.2,
        n_members=1,
        categorical_features="from_dtype",
        class_weight=None,
        scoring=None,
        dtype=np.float32,
        random_state=None,
        verbose=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            learning_rate=learning_rate,
            n_epochs=n_epochs,
            batch_size=batch_size,
            dropout=dropout,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            n_members=n_members,
            categorical_features=categorical_features,
            scoring=scoring,
            dtype=dtype,
            random_state=random_state,
            verbose=verbose,
        )
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    def _check_y(self, y, n, fitting=True):
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)}.")
        if fitting:
            check_classification_targets(y)
            self._label_encoder = LabelEncoder().fit(y)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"The classifier needs samples of at least 2 classes in the data, but "
                    f"the data contains only one class: {self.classes_[0]!r}."
                )
        else:
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(f"y_val has labels not in y: {unseen.tolist()}.")
        return y

    def _encode_targets(self, y, dtype):
        K = len(self.classes_)
        Y = np.zeros((len(y), K))
        Y[np.arange(len(y)), self._label_encoder.transform(y)] = 1.0
        eps = self.label_smoothing
        return np.ascontiguousarray((1 - eps) * Y + eps / K, dtype=dtype)

    def _target_weights(self, y):
        if self.class_weight is None:
            return np.ones(len(y))
        return compute_sample_weight(self.class_weight, y)

    def _default_error(self, logits, y_val, weights):
        predicted = self.classes_[np.argmax(logits, axis=1)]
        return float(np.average(predicted != y_val, weights=weights))

    @within_share
    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes)."""
        return self._outputs(self._check_fitted_rows(X), softmax=True)

    def predict_log_proba(self, X):
        """Logarithms of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class TabularMLPRegressor(RegressorMixin, BaseTabularMLP):
    """A regressor with RealMLP-TD's recipe on the compiled core: the target
    standardized in training, predictions clamped to the training targets' range.

    Parameters are the classifier's (``TabularMLPClassifier``) without
    ``label_smoothing`` and ``class_weight``; ``learning_rate`` None is 0.2, the
    hidden activation Mish (A11) and ``scoring`` None the root mean squared error.

    Attributes
    ----------
    n_features_in_ : int
        Columns of X in fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined when X has column names.
    best_epoch_ : int
        The kept epoch (1-based).
    best_validation_score_ : float
        Its validation error (or ``scoring``'s score).
    loss_curve_ : list of float
        Each epoch's mean training loss.
    validation_scores_ : list of float
        Each epoch's validation error (or ``scoring``'s score).
    n_iter_ : int
        Epochs trained.
    """

    _default_learning_rate = 0.2
    _activation_code = MISH

    def __init__(
        self,
        *,
        hidden_layer_sizes=(256, 256, 256),
        learning_rate=None,
        n_epochs=256,
        batch_size=256,
        dropout=0.15,
        weight_decay=0.02,
        validation_fraction=0.2,
        n_members=1,
        categorical_features="from_dtype",
        scoring=None,
        dtype=np.float32,
        random_state=None,
        verbose=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            learning_rate=learning_rate,
            n_epochs=n_epochs,
            batch_size=batch_size,
            dropout=dropout,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            n_members=n_members,
            categorical_features=categorical_features,
            scoring=scoring,
            dtype=dtype,
            random_state=random_state,
            verbose=verbose,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_y(self, y, n, fitting=True):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2) or len(y) != n:
            raise ValueError(f"y must have {n} rows (one or more targets), got shape {y.shape}.")
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        return y

    def _encode_targets(self, y, dtype):
        Y = y.reshape(len(y), -1)
        self._y_mean, self._y_scale = Y.mean(axis=0), Y.std(axis=0) + 1e-30
        self._y_min, self._y_max = Y.min(axis=0), Y.max(axis=0)
        self._y_ndim = y.ndim
        return np.ascontiguousarray((Y - self._y_mean) / self._y_scale, dtype=dtype)

    def _target_weights(self, y):
        return np.ones(len(y))

    def _values(self, outputs):
        values = np.clip(outputs * self._y_scale + self._y_mean, self._y_min, self._y_max)
        return values[:, 0] if self._y_ndim == 1 else values

    def _default_error(self, outputs, y_val, weights):
        residual = (self._values(outputs) - y_val).reshape(len(y_val), -1)
        return float(np.sqrt(np.average((residual**2).mean(axis=1), weights=weights)))

    @within_share
    def predict(self, X):
        """Predicted targets, (n_samples,) or (n_samples, n_targets)."""
        return self._values(self._outputs(self._check_fitted_rows(X)).astype(np.float64))
