"""The parameters both estimators share: their documentation and their
constraints (scikit-learn's declarative parameter validation).

The choices of ``activation`` and ``solver`` come from ``fastffnn.registry``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from fastffnn import registry

#: Constraints of the shared parameters (``BaseFFNN._parameter_constraints``).
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(registry.HIDDEN_ACTIVATIONS)), list, tuple],
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
    "scoring": [None, str, callable],
}


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
        Share of the data held out for early stopping (unless ``fit`` is
        given ``X_val`` and ``y_val``).
    scoring : str, callable or None, default=None
        The validation score that early stopping follows and
        ``validation_scores_`` records: None for MLPClassifier's and
        MLPRegressor's (accuracy, R²); "loss" for the negated validation
        loss (the data term of the training cost, as HistGradientBoosting's
        "loss"); or any scikit-learn scorer name or callable
        ``scorer(estimator, X, y)``. Higher is better.
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
