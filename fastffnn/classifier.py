"""FFNNClassifier: scikit-learn's MLPClassifier, trained by the compiled core.

What concerns labels and probabilities: LabelBinarizer, the output layer the
targets select (logistic or softmax with their cross-entropy), class weights,
accuracy for early stopping, ``predict_proba``. Everything else is
``fastffnn.estimator.BaseFFNN``.
"""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from fastffnn.callbacks import with_callbacks
from fastffnn.estimator import BaseFFNN
from fastffnn.kernels.activations import LOGISTIC, SOFTMAX
from fastffnn.kernels.costs import LOGISTIC_LOSS, SOFTMAX_LOSS
from fastffnn.parameters import document_shared_parameters
from fastffnn.validation import check_stochastic

_SUPPORTED_TARGETS = ("binary", "multiclass", "multilabel-indicator")
_LABEL_CHUNK = 65536  # rows of y one-hot encoded at a time


@document_shared_parameters
class FFNNClassifier(ClassifierMixin, BaseFFNN):
    """Multi-layer perceptron classifier trained by a Numba-compiled core.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    same parameters, defaults and fitted attributes, with whole training
    epochs in compiled code. The output layer follows the targets: one
    logistic unit and binary cross-entropy for two classes, softmax and
    categorical cross-entropy for more, one logistic unit per label for a
    multi-label indicator matrix.

    Parameters
    ----------
    {shared parameters}
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for two
        classes, as scikit-learn does), stop when its accuracy stops improving
        and restore the best weights.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight`` (not for multi-label).
    label_smoothing : float in [0, 1), default=0.0
        Train on smoothed targets (MATH.md L1): ``(1 - eps) y + eps / K`` for
        K classes with softmax, ``(1 - eps) y + eps / 2`` for each logistic
        output (two classes, multi-label), as PyTorch's
        ``CrossEntropyLoss(label_smoothing=eps)``. ``loss_`` is the
        cross-entropy against the smoothed targets; validation scores and
        ``score`` use the true labels.
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.
    coefs_ : list of ndarray of shape (fan_in, fan_out)
        Weights of each layer; the live parameters (writing or assigning
        arrays of the same shapes changes predictions).
    intercepts_ : list of ndarray of shape (fan_out,)
        Biases of each layer.
    loss_, best_loss_, loss_curve_ : float, float or None, list
        Training loss (last, best, per epoch).
    validation_scores_, best_validation_score_ : list or None, float or None
        Held-out accuracy per epoch with early stopping.
    n_iter_, t_ : int
        Epochs run and training samples seen.
    n_layers_, n_outputs_, out_activation_ : int, int, str
        Network shape and output activation ("logistic" or "softmax").
    n_features_in_, feature_names_in_ : int, ndarray
        Input width and, for DataFrames, column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fastffnn import FFNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FFNNClassifier(hidden_layer_sizes=(20,), max_iter=300, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **BaseFFNN._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
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
        class_weight=None,
        dtype=None,
        dropout=0.0,
        weight_decay=0.0,
        warmup_iter=0,
        label_smoothing=0.0,
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
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    @available_if(check_stochastic)
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of updates on ``(X, y)``, keeping weights and optimizer state.

        ``classes`` (all labels that will ever appear) is required on the first
        call unless ``y`` is a multi-label indicator matrix. Returns self.
        """
        return self._partial_fit(X, y, classes, sample_weight)

    # ------------------------------------------------------- BaseFFNN hooks

    def _output_layer(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", SOFTMAX, SOFTMAX_LOSS
        return "logistic", LOGISTIC, LOGISTIC_LOSS

    def _validation_score(self, outputs, y_val, s_val):
        labels = self._label_binarizer.inverse_transform(outputs)
        from sklearn.metrics import accuracy_score  # here: a slow import, for early stopping only

        return accuracy_score(y_val, labels, sample_weight=s_val)

    def _stratify(self, Y, y):
        # as scikit-learn: stratified for a single output (two classes) only, on
        # the binarized targets as booleans, so the split, the model and the
        # error for a class too small are MLPClassifier's
        binary = Y.shape[1] == 1 and self._label_binarizer.y_type_ == "binary"
        return Y > 0.5 if binary else None  # > 0.5: the targets may be smoothed (L1)

    def _target_weights(self, s, y, dtype):
        if self.class_weight is None:
            return s
        s = s * compute_sample_weight(self.class_weight, y).astype(dtype)
        if not (np.isfinite(s).all() and (s >= 0).all()):
            raise ValueError(f"class_weight must be finite and non-negative, got "
                             f"{self.class_weight!r}.")  # fmt: skip
        return s

    def _loss_targets(self, y_val, dtype):
        """Validation labels one-hot, unsmoothed (the validation loss)."""
        try:
            return self._one_hot_targets(y_val, None, True, True, dtype)
        except ValueError as error:
            raise ValueError(f"y_val: {error}") from None

    def _encode_targets(self, y, classes, incremental, keep_weights, dtype):
        """``_one_hot_targets`` smoothed by ``label_smoothing`` (L1): softmax
        targets ``(1 - eps) Y + eps / K``, logistic ones ``(1 - eps) Y + eps / 2``."""
        Y = self._one_hot_targets(y, classes, incremental, keep_weights, dtype)
        eps = float(self.label_smoothing)
        if eps > 0:
            share = eps / Y.shape[1] if self._label_binarizer.y_type_ == "multiclass" else eps / 2
            Y *= Y.dtype.type(1 - eps)
            Y += Y.dtype.type(share)
        return Y

    def _one_hot_targets(self, y, classes, incremental, keep_weights, dtype):
        """Class labels one-hot (one column for two classes), or a multi-label
        indicator matrix, in ``dtype``; records ``classes_`` on a new fit."""
        target = type_of_target(y, input_name="y")
        if target not in _SUPPORTED_TARGETS:
            raise ValueError(f"Unknown label type: {target!r}. FFNNClassifier needs class "
                             "labels or a multi-label indicator matrix.")  # fmt: skip
        if target == "multilabel-indicator" and self.class_weight is not None:
            raise ValueError("class_weight is not supported for multi-label targets.")
        if not keep_weights:
            binarizer = LabelBinarizer()
            if incremental and target != "multilabel-indicator":
                if classes is None:
                    raise ValueError("classes must be passed on the first call to partial_fit.")
                binarizer.fit(np.asarray(classes))
                known = set(binarizer.classes_.tolist())
                unseen = [label for label in unique_labels(y).tolist() if label not in known]
                if unseen:
                    raise ValueError(f"y contains labels {unseen} that are not "
                                     f"in classes={binarizer.classes_.tolist()}.")  # fmt: skip
            else:
                binarizer.fit(y)  # one class trains too, as MLPClassifier: predict gives it
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={list(classes)}` is not the same as on the first "
                                 f"call to partial_fit, {list(self.classes_)}.")  # fmt: skip
            if target == "multilabel-indicator":
                if y.ndim != 2 or y.shape[1] != len(self.classes_):
                    raise ValueError("y has a different number of labels than the fitted model.")
            elif not incremental:  # scikit-learn's messages, word for word
                labels = unique_labels(y)
                if set(labels) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes "
                                     "as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {labels}")  # fmt: skip
            elif not set(unique_labels(y)) <= set(self.classes_.tolist()):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {unique_labels(y)}.")  # fmt: skip
        if target != "multilabel-indicator":
            # Class labels: one-hot straight into ``dtype`` (LabelBinarizer.transform
            # re-validates y, 0.5 ms of a 25 ms fit on digits). y is within classes_.
            index = np.searchsorted(self.classes_, np.asarray(y).ravel())
            if self._label_binarizer.y_type_ == "binary":
                return (index == 1).astype(dtype).reshape(-1, 1)
            Y = np.zeros((index.size, self.classes_.size), dtype=dtype)
            Y[np.arange(index.size), index] = 1
            return Y
        # Chunk by chunk into ``dtype``: transform(y) at once builds an int64
        # matrix twice the size of float32 targets (76 MiB for 1e6 rows x 10 classes).
        first = self._label_binarizer.transform(y[:_LABEL_CHUNK])
        Y = np.empty((y.shape[0], first.shape[1]), dtype=dtype)
        Y[: first.shape[0]] = first
        for start in range(_LABEL_CHUNK, y.shape[0], _LABEL_CHUNK):
            Y[start : start + _LABEL_CHUNK] = self._label_binarizer.transform(
                y[start : start + _LABEL_CHUNK]
            )
        return Y

    # ------------------------------------------------------------- predict

    def predict(self, X):
        """Predicted labels (or label indicator matrix) for ``X`` (n_samples, n_features)."""
        outputs = self._predicted(X)  # first: an unfitted model raises NotFittedError
        return self._label_binarizer.inverse_transform(outputs)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes).

        For multi-label targets: each label's probability, (n_samples, n_labels).
        A model fitted on a single class gives it probability 1 (one column).
        """
        probabilities = self._predicted(X)
        if len(self.classes_) == 1:
            return np.ones_like(probabilities)
        if probabilities.shape[1] == 1 and self._label_binarizer.y_type_ == "binary":
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def jacobian(self, X, mode="auto", layer=None):
        """Jacobian of :meth:`predict_proba` (or of :meth:`transform`) with
        respect to the input features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs, validated as by :meth:`predict_proba`.
        mode : {"auto", "forward", "reverse"}, default="auto"
            Forward accumulation propagates tangents (MATH.md T1-T2), one pass
            per input feature; reverse accumulation runs the backward pass
            (B1, B4), one pass per output unit. Both give the same Jacobian;
            "auto" takes forward when n_features < n_outputs (output units of
            the network; a binary classifier has one) and reverse otherwise.
        layer : int or None, default=None
            None: of :meth:`predict_proba`; a hidden layer (as
            ``transform``'s ``layer``): of ``transform(X, layer)``.

        Returns
        -------
        jacobian : ndarray of shape (n_samples, n_outputs, n_features)
            ``jacobian[i, r, k]`` is the derivative of ``predict_proba(X)[i, r]``
            (or of that layer's unit r) with respect to ``X[i, k]``; n_outputs
            is the number of columns of :meth:`predict_proba` (for two
            classes, row 0 is minus row 1) or of the layer.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from fastffnn import FFNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = FFNNClassifier((10,), solver="lbfgs", random_state=0).fit(X, y)
        >>> J = clf.jacobian(X[:2])
        >>> J.shape
        (2, 3, 4)
        >>> bool(np.allclose(J.sum(axis=1), 0))  # the probabilities always sum to 1
        True
        >>> bool(np.allclose(J, clf.jacobian(X[:2], mode="reverse"), rtol=0, atol=1e-12))
        True
        """
        jacobian = self._output_jacobian(self._validated(X), mode, layer)
        if layer is not None:
            return jacobian
        if len(self.classes_) == 1:
            return np.zeros_like(jacobian)  # the probability of the one class is 1
        if self._sizes[-1] == 1 and self._label_binarizer.y_type_ == "binary":
            return np.concatenate([-jacobian, jacobian], axis=1)  # [1 - p, p]
        return jacobian

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
