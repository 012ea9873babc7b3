"""Helpers shared by several test modules."""

import os
import subprocess
import sys
import textwrap

from sklearn.datasets import load_digits


def digits():
    """scikit-learn's digits, X scaled to [0, 1]: (1797, 64) and labels 0-9."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def run_python(code, *args, env=None, timeout=300, cwd=None):
    """Run ``code`` in a fresh interpreter (this one's environment plus ``env``);
    returns its standard output, failing the test on a non-zero exit."""
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
