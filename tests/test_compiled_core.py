"""The compiled core's shape: named bundles instead of long argument lists."""

import importlib
import inspect
import json
import pkgutil

from helpers import run_python
from numba.core.registry import CPUDispatcher

import fastffnn


def compiled_functions():
    """{module.name: dispatcher} of every function fastffnn compiles with numba."""
    found = {}
    for info in pkgutil.walk_packages(fastffnn.__path__, "fastffnn."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


def test_no_compiled_function_takes_more_than_ten_arguments():
    functions = compiled_functions()
    assert len(functions) > 50  # the walk found the kernels
    counts = {name: len(inspect.signature(f.py_func).parameters) for name, f in functions.items()}
    assert {name: n for name, n in counts.items() if n > 10} == {}
    assert counts["fastffnn.training.train_epoch"] <= 8


def test_a_network_compiles_the_kernels_of_its_own_activations_only(tmp_path):
    out = run_python(
        """
import json
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier
from fastffnn.kernels import activations
X, y = load_digits(return_X_y=True)
FFNNClassifier((8,), activation="tanh", max_iter=2).fit(X[:100], y[:100]).predict(X[:100])
print(json.dumps({f.__name__: len(f.signatures) for f in (
    activations.tanh_forward, activations.tanh_backward, activations.softmax_forward,
    activations.softmax_backward, activations.gelu_forward, activations.relu_backward)}))
""",
        env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert json.loads(out.splitlines()[-1]) == {
        "tanh_forward": 1, "tanh_backward": 1, "softmax_forward": 1, "softmax_backward": 1,
        "gelu_forward": 0, "relu_backward": 0,
    }  # fmt: skip


def test_a_kernel_the_boundary_never_prepared_raises_instead_of_running(tmp_path):
    """Compiled code that reaches a table entry nobody filled gets an error, not a crash."""
    out = run_python(
        """
import numpy as np
from fastffnn.kernels import activations
Z = np.asfortranarray(np.ones((3, 4)))
try:
    activations.activation_forward(activations.GELU, Z, Z)
except RuntimeError as error:
    print(error)
activations.prepare([activations.GELU], Z.dtype)
activations.activation_forward(activations.GELU, Z, Z)
print(round(float(Z[0, 0]), 6))
""",
        env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "used before fastffnn.boundary prepared it" in out
    assert out.splitlines()[-1] == "0.841345"
