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


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel of this checkout: ``FASTFFNN_WHEEL`` (built once by .ci/run),
    else built here with ``python -m build --wheel`` (about a minute)."""
    import subprocess
    import sys
    from pathlib import Path

    given = os.environ.get("FASTFFNN_WHEEL")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out)],
                            cwd=root, capture_output=True, text=True,
                            timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def unpacked_wheel(wheel, tmp_path_factory):
    """The wheel's files unpacked into a folder (what pip puts in site-packages)."""
    import zipfile

    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site
