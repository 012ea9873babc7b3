"""ONNX export: skl2onnx converters for FFNNClassifier and FFNNRegressor.

Optional (``pip install "fastffnn[onnx]"``: skl2onnx and onnxruntime).
Importing this module registers both converters with skl2onnx (where skl2onnx
is installed), so skl2onnx converts the estimators, alone or inside
pipelines, as it converts scikit-learn's; :func:`to_onnx` does the import and
the conversion in one call::

    from fastffnn.onnx_export import to_onnx

    onx = to_onnx(model, X[:1].astype("float32"), options={"zipmap": False})

Without this import, skl2onnx knows nothing of fastffnn and raises its
``MissingShapeCalculator`` (fastffnn does not import skl2onnx itself: it
costs half a second at every start).

The graph is the network's forward pass (F1-F2): MatMul and Add per layer,
each layer's own activation (per-layer lists included), then the output
activation: probabilities ``[1 - p, p]`` for two classes, softmax, one
sigmoid per label, identity, or exp for the Poisson loss. The classifier's
label is the class of the largest probability (0.5 thresholds for
multi-label); the regressor's output is (n_samples, n_outputs). Float input
computes in float32, double in float64, so predictions match fastffnn's
within float32 rounding (float) or 1e-12 (double).
"""

import numpy as np

from fastffnn.registry import ACTIVATIONS, LEAKY_SLOPE, SELU_ALPHA, SELU_LAMBDA

_REGISTERED = False


#: Activation name -> ONNX operator of one node, or None for no node (the
#: registry's ``onnx`` form where it is one operator; composites are built below).
ONNX_ACTIVATIONS = {
    name: entry.onnx or None
    for name, entry in ACTIVATIONS.items()
    if entry.onnx.isalpha() or not entry.onnx
}


def _activate(scope, container, proto, activation, z):
    """The nodes of ``activation`` applied to variable ``z``; returns the result's name.

    A5-A11 are built from elementary operators (Max, Min, Where, Exp, Log,
    Sigmoid, Tanh, Erf) rather than LeakyRelu, Elu, Selu, Softplus, Gelu
    (opset 20) or Mish (opset 18): onnxruntime implements those in float32
    only. It has no double Erf either, so GELU's erf runs in float32 in a
    double graph (the only part of a double model computed in float32).
    """

    def node(op, inputs, **attributes):
        output = scope.get_unique_variable_name(op.lower())
        container.add_node(op, inputs, output, name=scope.get_unique_operator_name(op),
                           **attributes)  # fmt: skip
        return output

    def constant(value):
        name = scope.get_unique_variable_name("c")
        container.add_initializer(name, proto, [], [value])
        return name

    def expm1_negative(z):  # exp(min(z, 0)) - 1: ELU's branch for z <= 0
        return node("Sub", [node("Exp", node("Min", [z, constant(0.0)])), constant(1.0)])

    def softplus(z):  # max(z, 0) + log(1 + exp(-|z|)): no overflow
        tail = node("Log", node("Add", [constant(1.0), node("Exp", node("Neg", node("Abs", z)))]))
        return node("Add", [node("Max", [z, constant(0.0)]), tail])

    positive = lambda z: node("Greater", [z, constant(0.0)])  # noqa: E731
    if activation in ONNX_ACTIVATIONS:
        op = ONNX_ACTIVATIONS[activation]
        return z if op is None else node(op, z, **({"axis": 1} if op == "Softmax" else {}))
    if activation == "leaky_relu":  # max(z, slope z), as the slope is below 1
        return node("Max", [z, node("Mul", [z, constant(LEAKY_SLOPE)])])
    if activation in ("elu", "selu"):
        scale, alpha = (SELU_LAMBDA, SELU_ALPHA) if activation == "selu" else (1, 1)
        negative = node("Mul", [expm1_negative(z), constant(scale * alpha)])
        return node("Where", [positive(z), node("Mul", [z, constant(scale)]), negative])
    if activation == "softplus":
        return softplus(z)
    if activation == "silu":  # z sigma(z)
        return node("Mul", [z, node("Sigmoid", z)])
    if activation == "mish":  # z tanh(softplus(z))
        return node("Mul", [z, node("Tanh", softplus(z))])
    if activation == "gelu":  # z (1 + erf(z / sqrt 2)) / 2
        from skl2onnx.proto import onnx_proto

        scaled = node("Mul", [z, constant(0.7071067811865476)])
        if proto == onnx_proto.TensorProto.DOUBLE:
            erf = node("Cast", node("Erf", node("Cast", scaled, to=onnx_proto.TensorProto.FLOAT)),
                       to=proto)  # fmt: skip
        else:
            erf = node("Erf", scaled)
        half = node("Mul", [z, constant(0.5)])
        return node("Mul", [half, node("Add", [erf, constant(1.0)])])
    raise ValueError(f"No ONNX conversion for activation {activation!r}.")


def _forward(scope, operator, container):
    """The forward pass's nodes; returns (output variable name, proto dtype)."""
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    model = operator.raw_operator
    proto = guess_proto_type(operator.inputs[0].type)
    if proto != onnx_proto.TensorProto.DOUBLE:
        proto = onnx_proto.TensorProto.FLOAT
    dtype = np.float64 if proto == onnx_proto.TensorProto.DOUBLE else np.float32
    name = scope.get_unique_variable_name("input")
    container.add_node("Cast", operator.inputs[0].full_name, name, to=proto,
                       name=scope.get_unique_operator_name("Cast"))  # fmt: skip
    hidden = model._hidden_activations(len(model.coefs_) - 1)
    for W, b, activation in zip(model.coefs_, model.intercepts_,
                                [*hidden, model.out_activation_], strict=True):  # fmt: skip
        weights, biases = scope.get_unique_variable_name("W"), scope.get_unique_variable_name("b")
        container.add_initializer(weights, proto, W.shape, np.asarray(W, dtype).ravel())
        container.add_initializer(biases, proto, [1, b.size], np.asarray(b, dtype))
        product = scope.get_unique_variable_name("product")
        container.add_node("MatMul", [name, weights], product,
                           name=scope.get_unique_operator_name("MatMul"))  # fmt: skip
        name = scope.get_unique_variable_name("z")
        container.add_node("Add", [product, biases], name,
                           name=scope.get_unique_operator_name("Add"))  # fmt: skip
        name = _activate(scope, container, proto, activation, name)
    return name, proto, dtype


def convert_classifier(scope, operator, container):
    """skl2onnx converter for FFNNClassifier: outputs (label, probabilities)."""
    from skl2onnx.proto import onnx_proto

    model = operator.raw_operator
    output, proto, dtype = _forward(scope, operator, container)
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    multilabel = model._label_binarizer.y_type_ == "multilabel-indicator"
    if model.coefs_[-1].shape[1] == 1 and not multilabel:  # [1 - p, p]
        one, negative = scope.get_unique_variable_name("one"), scope.get_unique_variable_name("q")
        container.add_initializer(one, proto, [], [1.0])
        container.add_node("Sub", [one, output], negative,
                           name=scope.get_unique_operator_name("Sub"))  # fmt: skip
        container.add_node("Concat", [negative, output], probabilities, axis=1,
                           name=scope.get_unique_operator_name("Concat"))  # fmt: skip
    else:
        container.add_node("Identity", output, probabilities,
                           name=scope.get_unique_operator_name("Identity"))  # fmt: skip
    if multilabel:
        half, above = scope.get_unique_variable_name("half"), scope.get_unique_variable_name("gt")
        container.add_initializer(half, proto, [], [0.5])
        container.add_node("Greater", [output, half], above,
                           name=scope.get_unique_operator_name("Greater"))  # fmt: skip
        container.add_node("Cast", above, label, to=onnx_proto.TensorProto.INT64,
                           name=scope.get_unique_operator_name("Cast"))  # fmt: skip
        return
    classes = model.classes_
    if np.issubdtype(classes.dtype, np.integer) or classes.dtype == np.bool_:
        class_proto, values = onnx_proto.TensorProto.INT64, classes.astype(np.int64)
    elif np.issubdtype(classes.dtype, np.floating):
        class_proto, values = onnx_proto.TensorProto.INT64, classes.astype(np.int64)
    else:
        class_proto = onnx_proto.TensorProto.STRING
        values = np.array([str(c).encode("utf-8") for c in classes])
    names = scope.get_unique_variable_name("classes")
    best = scope.get_unique_variable_name("argmax")
    container.add_initializer(names, class_proto, [len(values)], values)
    container.add_node("ArgMax", probabilities, best, axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))  # fmt: skip
    container.add_node("Gather", [names, best], label, axis=0,
                       name=scope.get_unique_operator_name("Gather"))  # fmt: skip


def convert_regressor(scope, operator, container):
    """skl2onnx converter for FFNNRegressor: one output (n_samples, n_outputs)."""
    output, _, _ = _forward(scope, operator, container)
    container.add_node("Identity", output, operator.outputs[0].full_name,
                       name=scope.get_unique_operator_name("Identity"))  # fmt: skip


def classifier_shapes(operator):
    """skl2onnx's classifier shapes; a multi-label label is (N, n_labels) int64."""
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if model._label_binarizer.y_type_ == "multilabel-indicator":
        n = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([n, len(model.classes_)])


def regressor_shapes(operator):
    """Output (N, n_outputs) in the input's float type (skl2onnx's MLP gives (N, 1))."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = operator.inputs[0].type.__class__
    kind = kind if kind in (FloatTensorType, DoubleTensorType) else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = kind([n, operator.raw_operator.n_outputs_])


def register():
    """Register both converters with skl2onnx (once per process; later calls do nothing)."""
    global _REGISTERED
    if _REGISTERED:
        return
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError("ONNX export needs skl2onnx and onnxruntime: "
                          'pip install "fastffnn[onnx]"') from error  # fmt: skip

    from fastffnn import FFNNClassifier, FFNNRegressor

    options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    update_registered_converter(FFNNClassifier, "FastffnnFFNNClassifier", classifier_shapes,
                                convert_classifier, options=options)  # fmt: skip
    update_registered_converter(FFNNRegressor, "FastffnnFFNNRegressor", regressor_shapes,
                                convert_regressor)  # fmt: skip
    _REGISTERED = True


def to_onnx(model, X, **kwargs):
    """Convert ``model`` (an estimator or a pipeline holding fastffnn's
    estimators) with ``skl2onnx.to_onnx(model, X, **kwargs)``, the converters
    registered; ``X`` is a sample of the input (its dtype picks float32 or
    float64 computation). Returns the ONNX model."""
    register()
    from skl2onnx import to_onnx as convert

    return convert(model, X, **kwargs)


try:  # registered on import where skl2onnx is installed
    import skl2onnx  # noqa: F401
except ImportError:
    pass
else:
    register()
