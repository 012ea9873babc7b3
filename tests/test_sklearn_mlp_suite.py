"""scikit-learn's own tests of its MLP (``sklearn/neural_network/tests/test_mlp.py``,
the copy installed with scikit-learn) run against fastffnn: the file is copied,
its import rewritten so that FFNNClassifier and FFNNRegressor stand in for
MLPClassifier and MLPRegressor, and run by pytest in a fresh interpreter. So
the suite follows the installed scikit-learn.

Left out, with the reason:

- ``test_fit`` and ``test_gradient`` drive MLPClassifier's private
  ``_forward_pass`` / ``_backprop`` / ``_loss_grad_lbfgs``, which fastffnn
  replaces by its compiled core; the same checks (one SGD step by hand,
  backpropagation against finite differences) are tests/test_kernels.py's
  ``test_train_epoch_against_naive`` and ``test_gradient_finite_differences``
  and tests/test_jacobian.py's ``check_gradients`` tests.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

PRIVATE_INTERNALS = ["test_fit", "test_gradient"]


def test_scikit_learns_mlp_tests_pass_with_fastffnn(tmp_path):
    origin = Path(importlib.util.find_spec("sklearn.neural_network").origin).parent
    source = (origin / "tests" / "test_mlp.py").read_text()
    original_import = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    assert source.count(original_import) == 1, "the suite's import changed: update this test"
    rewritten = source.replace(
        original_import,
        "from fastffnn import FFNNClassifier as MLPClassifier, FFNNRegressor as MLPRegressor",
    )
    (tmp_path / "test_mlp_fastffnn.py").write_text(rewritten)
    deselect = [arg for name in PRIVATE_INTERNALS
                for arg in ("--deselect", f"test_mlp_fastffnn.py::{name}")]  # fmt: skip
    result = subprocess.run(
        # sklearn.conftest as a plugin: the global_random_seed fixture the suite uses
        [sys.executable, "-m", "pytest", "test_mlp_fastffnn.py", "-q", "-rfEs", "-p",
         "sklearn.conftest", "-p", "no:cacheprovider", "-p", "no:randomly", *deselect],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 50, summary
    assert not re.search(r"failed|error", summary), summary


if __name__ == "__main__":
    pytest.main([__file__, "-s"])
