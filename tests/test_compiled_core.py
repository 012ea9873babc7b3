"""The compiled core's shape: named bundles instead of long argument lists."""

import importlib
import inspect
import pkgutil

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
