"""Shared test settings."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run in CI (FASTFFNN_SLOW=1, set by .ci/run) and are
    skipped by default locally, where they would dominate the run."""
    if os.environ.get("FASTFFNN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set FASTFFNN_SLOW=1 (as .ci/run does) to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def every_activation_kernel():
    """Tests call the activation and cost kernels through the registry's tables directly,
    without the boundary that prepares a network's own (fastffnn.boundary):
    prepare every code in both dtypes once."""
    import numpy as np

    from fastffnn import registry
    from fastffnn.kernels import activations, costs

    codes = [entry.code for entry in registry.ACTIVATIONS.values()]
    for dtype in (np.float32, np.float64):
        activations.prepare(codes, np.dtype(dtype))
        for cost in registry.COSTS.values():
            costs.prepare(cost.code, np.dtype(dtype))
