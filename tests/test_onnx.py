"""ONNX export (issue 13): skl2onnx converters for both estimators, run by
onnxruntime; predictions equal fastffnn's within float32 rounding (float
input) or 1e-12 (double input, float64 model)."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier, FFNNRegressor
from fastffnn.registry import REGRESSION_LOSSES

skl2onnx = pytest.importorskip("skl2onnx", reason="the onnx extra (skl2onnx) is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra (onnxruntime) is not installed")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", autouse=True)
def converters():
    from fastffnn.onnx_export import register

    register()
    register()  # a second call changes nothing


def run(model, X, **options):
    onx = skl2onnx.to_onnx(model, X[:1], options=options or None)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def data(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6)).astype(dtype)
    score = X[:, 0] - X[:, 1] * X[:, 2]
    return X, np.digitize(score, [-1, 0, 1])


TARGETS = {
    "binary": lambda y: y % 2,
    "multiclass": lambda y: y,
    "strings": lambda y: np.array(["low", "mid", "high", "top"])[y],
    "multilabel": lambda y: np.c_[y % 2, y > 1, y == 3].astype(int),
}


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", ["tanh", "relu"],
                                        "leaky_relu", "elu", "selu", "gelu", "silu", "softplus",
                                        "mish"],
                         ids=str)  # fmt: skip
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_in_onnxruntime_predicts_as_fastffnn(dtype, target, activation):
    X, y = data(dtype)
    y = TARGETS[target](y)
    model = FFNNClassifier((12, 7), activation=activation, max_iter=20, random_state=0).fit(X, y)
    label, proba = run(model, X, zipmap=False)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    if activation == "gelu" and dtype == np.float64:
        tolerance = 1e-6  # onnxruntime has no double Erf: that part runs in float32
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(label, model.predict(X))


def test_classifier_default_zipmap_gives_one_dict_per_row():
    X, y = data(np.float32)
    model = FFNNClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    label, rows = run(model, X[:5])
    assert len(rows) == 5 and sorted(rows[0]) == sorted(model.classes_.tolist())
    np.testing.assert_allclose([rows[0][c] for c in model.classes_], model.predict_proba(X[:1])[0],
                               rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize("loss", list(REGRESSION_LOSSES))
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_in_onnxruntime_predicts_as_fastffnn(dtype, n_outputs, loss):
    X, y = data(dtype)
    Y = np.c_[y, y % 2, 3 - y][:, :n_outputs].astype(float)
    model = FFNNRegressor(loss=loss, hidden_layer_sizes=(10,), activation=["tanh"], max_iter=30,
                          quantile=0.7, random_state=0)  # fmt: skip
    model.fit(X, Y.ravel() if n_outputs == 1 else Y)
    (out,) = run(model, X)
    assert out.shape == (len(X), n_outputs)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    expected = model.predict(X).reshape(len(X), -1)
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)


def test_a_pipeline_converts_with_its_scaler():
    X, y = data(np.float32)
    pipeline = make_pipeline(StandardScaler(), FFNNClassifier((8,), max_iter=20, random_state=0))
    pipeline.fit(X * 10 + 3, y)
    label, proba = run(pipeline, X * 10 + 3, zipmap=False)
    np.testing.assert_allclose(proba, pipeline.predict_proba(X * 10 + 3), rtol=1e-4, atol=1e-5)


def test_to_onnx_registers_and_converts():
    from fastffnn.onnx_export import to_onnx

    X, y = data(np.float32)
    model = FFNNClassifier((8,), max_iter=20, random_state=0).fit(X, y)
    onx = to_onnx(model, X[:1], options={"zipmap": False})
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    _, proba = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_importing_the_module_registers_the_converters():
    """In a fresh process: skl2onnx alone does not know fastffnn (its own error);
    after ``import fastffnn.onnx_export`` it converts with no register() call."""
    from helpers import run_python

    out = run_python("""
import numpy as np, skl2onnx
from fastffnn import FFNNRegressor
X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
model = FFNNRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, 0])
try:
    skl2onnx.to_onnx(model, X[:1])
    print("converted without the converters")
except Exception as error:
    print(type(error).__name__)
import fastffnn.onnx_export
print(len(skl2onnx.to_onnx(model, X[:1]).graph.node) > 0)
""")
    assert out.split() == ["MissingShapeCalculator", "True"]
