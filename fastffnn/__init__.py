"""fastffnn: feedforward neural networks trained by a Numba-compiled core,
behind a scikit-learn estimator."""

from fastffnn._jit import configure_threading_layer

configure_threading_layer()

from fastffnn.estimator import FFNNClassifier  # noqa: E402  (after the threading layer)
from fastffnn.gradcheck import check_gradients  # noqa: E402

__version__ = "0.1.0"
__all__ = ["FFNNClassifier", "check_gradients", "__version__"]
