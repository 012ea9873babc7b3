"""What each activation, cost and solver is, written once.

Everything else reads these tables: the kernels' codes and what B1 reads
(``fastffnn.kernels``), the initialization rules (``fastffnn.network``), the
estimators' parameter constraints, the command line's choices, the ONNX
export, the documentation's tables and the tests' parametrization. The
boundary (``fastffnn.boundary``) rejects a code that is not here, so no
kernel ever falls through to a default. Pure Python: compiled code reads the
codes as constants.
"""

from dataclasses import dataclass

#: A5's slope for z < 0 (PyTorch's and Keras's default).
LEAKY_SLOPE = 0.01
#: A7's constants (Klambauer et al. 2017).
SELU_LAMBDA, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


@dataclass(frozen=True)
class Activation:
    """One activation g of F2 and its B1 (MATH.md ``equation``).

    ``reads``: what its backward kernel reads, "A" (g(Z), overwriting Z) or
    "Z" (kept in a second workspace slot). ``init``: the rule that draws the
    weights of a layer with this activation ("glorot_uniform" as
    scikit-learn, "he_normal", "lecun_normal"). ``hidden``: offered for
    hidden layers. ``onnx``: the ONNX operator of one node, "" for none, or
    the composite's formula (``fastffnn.onnx_export`` builds it).
    """

    name: str
    code: int
    equation: str
    reads: str
    init: str
    hidden: bool
    onnx: str


@dataclass(frozen=True)
class Cost:
    """One cost F3 (MATH.md ``equation``) with the output activation it
    goes with; ``parameter`` the estimator parameter it takes (or None);
    ``task`` "classification" or "regression"."""

    name: str
    code: int
    equation: str
    output: str
    parameter: str | None
    task: str


@dataclass(frozen=True)
class Solver:
    """One weight optimizer; ``code`` is compiled code's (``kernels.optimizers``),
    None for L-BFGS (scipy's, full batch); ``stochastic``: trains on mini-batches."""

    name: str
    code: int | None
    stochastic: bool


_ACTIVATIONS = [
    Activation("identity", 0, "A0", "A", "glorot_uniform", True, ""),
    Activation("logistic", 2, "A2", "A", "glorot_uniform", True, "Sigmoid"),
    Activation("tanh", 3, "A3", "A", "glorot_uniform", True, "Tanh"),
    Activation("relu", 1, "A1", "A", "glorot_uniform", True, "Relu"),
    Activation("softmax", 4, "A4", "A", "glorot_uniform", False, "Softmax"),
    Activation("exp", 5, "C6", "A", "glorot_uniform", False, "Exp"),
    Activation("leaky_relu", 6, "A5", "Z", "he_normal", True, "max(z, 0.01 z)"),
    Activation("elu", 7, "A6", "Z", "he_normal", True, "where(z > 0, z, exp(min(z, 0)) - 1)"),
    Activation(
        "selu",
        8,
        "A7",
        "Z",
        "lecun_normal",
        True,
        "lambda where(z > 0, z, alpha (exp(min(z, 0)) - 1))",
    ),  # fmt: skip
    Activation("gelu", 9, "A8", "Z", "he_normal", True, "z (1 + erf(z / sqrt 2)) / 2"),
    Activation("silu", 10, "A9", "Z", "he_normal", True, "z sigmoid(z)"),
    Activation("softplus", 11, "A10", "Z", "he_normal", True, "max(z, 0) + log(1 + exp(-|z|))"),
    Activation("mish", 12, "A11", "Z", "he_normal", True, "z tanh(softplus(z))"),
]
#: name -> Activation, every kernel's; "sigmoid" is another name of "logistic".
ACTIVATIONS = {a.name: a for a in _ACTIVATIONS}
ALIASES = {"sigmoid": "logistic"}
#: Names a hidden layer may take (the estimators' ``activation``), aliases included.
HIDDEN_ACTIVATIONS = tuple(
    name
    for a in _ACTIVATIONS
    if a.hidden
    for name in [a.name, *(alias for alias, target in ALIASES.items() if target == a.name)]
)

_COSTS = [
    Cost("log_loss", 0, "C1/C3", "logistic", None, "classification"),
    Cost("softmax_log_loss", 1, "C2", "softmax", None, "classification"),
    Cost("squared_error", 2, "C5", "identity", None, "regression"),
    Cost("poisson", 3, "C6", "exp", None, "regression"),
    Cost("huber", 4, "C7", "identity", "huber_delta", "regression"),
    Cost("absolute_error", 5, "C8", "identity", None, "regression"),
    Cost("quantile", 6, "C9", "identity", "quantile", "regression"),
]
#: name -> Cost.
COSTS = {c.name: c for c in _COSTS}
#: The regressor's ``loss`` choices.
REGRESSION_LOSSES = {c.name: c for c in _COSTS if c.task == "regression"}

SOLVERS = {
    "adam": Solver("adam", 0, True),
    "sgd": Solver("sgd", 1, True),
    "lbfgs": Solver("lbfgs", None, False),
}
#: Compiled code's solver code for "compute the gradient, take no step".
NO_STEP = -1


@dataclass(frozen=True)
class ParameterGroup:
    """One trained tensor of a layer kind: its ``name``, its ``shape`` as a
    formula of the layer's sizes (for the docs), Adam's learning-rate factor
    and W2's decay factor (RealMLP-TD's, as pytabkit applies them: the decay
    factor is its (wd factor x lr factor)^2)."""

    name: str
    shape: str
    lr_factor: float
    decay_factor: float


@dataclass(frozen=True)
class LayerKind:
    """One layer kind of the tabular network (``fastffnn.tabular``), in the
    order the network applies them; ``equation`` its MATH label, ``groups``
    its trained tensors."""

    name: str
    equation: str
    groups: tuple


_LAYER_KINDS = [
    LayerKind("pbld", "E2", (
        ParameterGroup("frequencies", "(n_num, 16)", 0.1, 0.01),
        ParameterGroup("phases", "(n_num, 16)", 0.1, 0.01),
        ParameterGroup("weights", "(n_num, 3, 16)", 0.1, 0.01),
        ParameterGroup("biases", "(n_num, 3)", 0.1, 0.01),
    )),
    LayerKind("embedding", "E1", (ParameterGroup("tables", "(sum_j (c_j + 1), 8)", 1.0, 1.0),)),
    LayerKind("front_scale", "S2", (ParameterGroup("scales", "(n^[0],)", 6.0, 36.0),)),
    LayerKind("dense_ntk", "N1", (
        ParameterGroup("weights", "(n^[l], n^[l-1])", 1.0, 1.0),
        ParameterGroup("biases", "(k, n^[l])", 0.1, 0.0),
    )),
    LayerKind("parametric_activation", "A12",
              (ParameterGroup("mixing", "(n^[l],)", 0.1, 0.01),)),
    # k > 1 members only; not decayed (r, s = 0 would cut a member's signal)
    LayerKind("batch_ensemble", "BE1", (
        ParameterGroup("input_scales", "(k, n^[l-1])", 1.0, 0.0),
        ParameterGroup("output_scales", "(k, n^[l])", 1.0, 0.0),
    )),
]  # fmt: skip
#: name -> LayerKind, the tabular network's layer kinds.
LAYER_KINDS = {k.name: k for k in _LAYER_KINDS}

ACTIVATION_CODES = frozenset(a.code for a in _ACTIVATIONS)
COST_CODES = frozenset(c.code for c in _COSTS)


def activation(name):
    """The Activation of ``name`` (aliases accepted); ValueError naming the choices."""
    entry = ACTIVATIONS.get(ALIASES.get(name, name))
    if entry is None:
        raise ValueError(f"Unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}.")
    return entry


def solver(name):
    """The Solver of ``name``; ValueError naming the choices."""
    if name not in SOLVERS:
        raise ValueError(f"Unknown solver {name!r}; choose from {', '.join(SOLVERS)}.")
    return SOLVERS[name]
