"""Hidden features (issue 24): transform(X) returns a hidden layer's activations,
with feature names and set_output, in pipelines and feature unions, and its Jacobian."""

import numpy as np
import pytest
import scipy.sparse
from helpers import digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from fastffnn import FFNNClassifier, FFNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def hidden_reference(model, X, layer):
    """A^[layer] in float64 NumPy (F1-F2) from the model's weights."""
    activations = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}
    names = model.activation if isinstance(model.activation, list) else [model.activation] * 3
    A = np.asarray(X, dtype=np.float64)
    for l in range(layer):
        Z = A @ model.coefs_[l].astype(np.float64) + model.intercepts_[l]
        A = activations[names[l]](Z)
    return A


@pytest.mark.parametrize("estimator", [FFNNClassifier, FFNNRegressor])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sparse", [False, True])
def test_transform_is_the_hidden_layers_activations(estimator, dtype, sparse):
    X, y = digits()
    model = estimator(hidden_layer_sizes=(24, 12), activation=["tanh", "relu"], max_iter=5,
                      random_state=0, dtype=dtype).fit(X, y)  # fmt: skip
    X_in = scipy.sparse.csr_matrix(X) if sparse else X
    tolerance = 1e-12 if dtype == "float64" else 2e-5
    for layer, expected_layer in ((-1, 2), (2, 2), (1, 1), (-2, 1)):
        H = model.transform(X_in, layer=layer)
        assert H.dtype == np.dtype(dtype)
        np.testing.assert_allclose(H, hidden_reference(model, X, expected_layer),
                                   rtol=tolerance, atol=tolerance)  # fmt: skip
    np.testing.assert_allclose(model.transform(X[:1]), model.transform(X)[:1], rtol=1e-6,
                               atol=1e-7)  # fmt: skip


def test_feature_names_and_set_output():
    pd = pytest.importorskip("pandas")
    X, y = digits()
    model = FFNNClassifier((10,), max_iter=3, random_state=0).fit(X, y)
    names = model.get_feature_names_out()
    assert list(names) == [f"ffnnclassifier{k}" for k in range(10)]
    frame = model.set_output(transform="pandas").transform(X[:4])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)


def test_in_a_pipeline_and_a_feature_union():
    X, y = digits()
    pipeline = make_pipeline(StandardScaler(), FFNNClassifier((32,), max_iter=30, random_state=0),
                             LogisticRegression(max_iter=1000))  # fmt: skip
    assert pipeline.fit(X, y).score(X, y) > 0.9
    hidden = FFNNClassifier((8,), max_iter=5, random_state=0)
    union = FeatureUnion([("scaled", StandardScaler()), ("hidden", hidden)])
    assert union.fit_transform(X, y).shape == (len(X), 64 + 8)
    assert list(union.get_feature_names_out()[-2:]) == ["hidden__ffnnclassifier6",
                                                          "hidden__ffnnclassifier7"]  # fmt: skip


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_transform_matches_finite_differences(mode):
    X, y = digits()
    model = FFNNRegressor(hidden_layer_sizes=(12, 6), activation="tanh", max_iter=5,
                          random_state=0).fit(X, y * 1.0)  # fmt: skip
    rows, h = X[:3], 1e-6
    J = model.jacobian(rows, mode=mode, layer=1)
    assert J.shape == (3, 12, 64)
    for k in (0, 20, 37):
        step = np.zeros(64)
        step[k] = h
        numeric = (model.transform(rows + step, layer=1)
                   - model.transform(rows - step, layer=1)) / (2 * h)  # fmt: skip
        np.testing.assert_allclose(J[:, :, k], numeric, rtol=1e-6, atol=1e-8)


def test_bad_layers_and_unfitted_models_are_refused():
    X, y = digits()
    with pytest.raises(NotFittedError):
        FFNNClassifier().transform(X)
    model = FFNNClassifier((5, 4), max_iter=2, random_state=0).fit(X, y)
    for layer in (0, 3, -3):
        with pytest.raises(ValueError, match="hidden layers 1 to 2"):
            model.transform(X, layer=layer)
    with pytest.raises(TypeError, match="layer must be an int"):
        model.transform(X, layer=1.5)
    flat = FFNNClassifier((), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no hidden layer"):
        flat.transform(X)
