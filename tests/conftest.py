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
