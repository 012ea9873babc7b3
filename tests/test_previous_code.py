"""Results bit-identical to the code before the compiled core's redesign (issue 22).

The code of commit ``BEFORE`` (taken from this checkout's git history) and this
checkout each train every case of ``tests/result_matrix.py`` in a fresh
process; every array must have the same bytes. A second pair of processes
repeats this checkout's run with 1 numba thread and 2 BLAS threads.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The last commit before the compiled core was redesigned.
BEFORE = "cf6b575"


def _git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def _has_before():
    return shutil.which("git") is not None and _git("cat-file", "-e", BEFORE).returncode == 0


def _results(tmp_path, name, source, env=None, compiled=None):
    """The matrix's arrays from ``source`` in a fresh process with an empty
    cache folder; the names of the functions it compiled appended to ``compiled``."""
    out, names = tmp_path / f"{name}.npz", tmp_path / f"{name}.txt"
    full_env = dict(os.environ, PYTHONPATH=str(source), NUMBA_CACHE_DIR=str(tmp_path / name),
                    **(env or {}))  # fmt: skip
    script = str(ROOT / "tests" / "result_matrix.py")
    result = subprocess.run([sys.executable, script, str(out), str(names)],
                            env=full_env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    if compiled is not None:
        compiled.extend(names.read_text().split())
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


#: Cases whose results changed on purpose since ``BEFORE``: L-BFGS on several
#: outputs with squared error now hands scipy a loss consistent with its
#: gradient (issue 24; ``fastffnn.solvers.lbfgs_objective``).
CHANGED_ON_PURPOSE = (
    "regressor squared_error lbfgs float64",
    "regressor squared_error lbfgs float32",
)


def _assert_same_bytes(expected, got):
    assert expected.keys() == got.keys()
    different = [key for key in expected if expected[key].dtype != got[key].dtype
                 or expected[key].tobytes() != got[key].tobytes()]  # fmt: skip
    unexpected = [key for key in different if not key.startswith(CHANGED_ON_PURPOSE)]
    assert not unexpected, unexpected


needs_before = pytest.mark.skipif(
    not _has_before(), reason=f"needs git and commit {BEFORE} in this checkout"
)


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """The matrix's arrays from the code of ``BEFORE``."""
    tmp_path = tmp_path_factory.mktemp("before")
    before = tmp_path / "before"
    before.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "fastffnn"],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    return _results(tmp_path, "before", before)


@pytest.mark.slow
@needs_before
def test_every_option_trains_to_the_bytes_of_the_code_before_the_redesign(tmp_path, expected):
    now = _results(tmp_path, "now", ROOT)
    assert len(now) > 400
    _assert_same_bytes(expected, now)
    threads = {"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    _assert_same_bytes(expected, _results(tmp_path, "one thread", ROOT, threads))


@pytest.mark.slow
@needs_before
def test_the_installed_wheel_trains_to_those_bytes_without_compiling(tmp_path, expected,
                                                                     unpacked_wheel):  # fmt: skip
    """The wheel's shipped machine code (x86-64-v3) gives every option's bytes
    of the code before the redesign compiled for this CPU, and compiles nothing."""
    compiled = []
    _assert_same_bytes(expected, _results(tmp_path, "wheel", unpacked_wheel, compiled=compiled))
    assert compiled == []
