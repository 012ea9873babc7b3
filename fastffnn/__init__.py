"""fastffnn: feedforward neural networks trained by a Numba-compiled core,
behind scikit-learn estimators."""

from fastffnn._jit import configure_threading_layer

configure_threading_layer()

# after the threading layer
from fastffnn.classifier import FFNNClassifier  # noqa: E402
from fastffnn.gradcheck import check_gradients  # noqa: E402
from fastffnn.regressor import FFNNRegressor  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "FFNNClassifier",
    "FFNNRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "check_gradients",
    "__version__",
]


def __getattr__(name):
    # the tabular estimators load on first use: the FFNN estimators' start-up
    # does not pay for their modules
    if name in ("TabularMLPClassifier", "TabularMLPRegressor"):
        from fastffnn.tabular import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'fastffnn' has no attribute {name!r}")
