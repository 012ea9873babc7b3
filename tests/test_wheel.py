"""Machine code in the wheel (issue 23): a wheel installed anywhere fits with
nothing to compile; any mismatch (another numba, a CPU without the level's
features, edited sources, damaged files) compiles instead, to the same bits.

The wheel is ``FASTFFNN_WHEEL`` (built once by .ci/run) or built by the
``wheel`` fixture (conftest.py).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import pytest
from helpers import COUNT_COMPILES, USER_CALLS

import fastffnn
from fastffnn import _shipped

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# One fit of each estimator; prints what was compiled and a hash of the results.
FIT = (
    COUNT_COMPILES
    + """
import hashlib, json, sys, warnings
import numpy as np
import fastffnn
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier, FFNNRegressor
assert fastffnn.__file__.startswith(sys.argv[1]), fastffnn.__file__
from sklearn.exceptions import ConvergenceWarning
warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = X[:400] / 16.0; y = y[:400]
classifier = FFNNClassifier(max_iter=3, random_state=0).fit(X, y)
regressor = FFNNRegressor(solver="lbfgs", max_iter=5, random_state=0, dtype="float32")
regressor.fit(X, y * 1.0)
arrays = classifier.coefs_ + [classifier.predict_proba(X), regressor.predict(X)]
digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()
print(json.dumps({"compiled": compiled, "results": digest}))
"""
)


def _fit(site, cache, env=None):
    """FIT with the fastffnn of ``site``, a fresh process and cache folder;
    returns (its summary, its standard error)."""
    full_env = dict(os.environ, PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(cache), **(env or {}))
    result = subprocess.run([sys.executable, "-c", FIT, str(site)], env=full_env, cwd=cache.parent,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


def _shipped_folder(site):
    cpu_name, _ = _shipped.level()
    return Path(site) / "fastffnn" / "_machine_code" / _shipped.folder_name(cpu_name)


def test_the_wheel_is_tagged_for_this_python_and_carries_portable_code(wheel):
    python = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert wheel.name.endswith(f"-{python}-{python}-{platform}.whl"), wheel.name
    assert wheel.stat().st_size < 50e6
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        folder = f"fastffnn/_machine_code/{_shipped.folder_name(_shipped.level()[0])}/"
        manifest = json.loads(archive.read(folder + "manifest.json"))
        code = [name for name in names if name.endswith(".nbc")]
        assert len(code) > 100 and all(name.startswith(folder) for name in code)
        # Intel SVML (a library the user's machine may lack) never called
        assert not any(b"svml" in archive.read(name).lower() for name in code)
        sources = {name: archive.read(name) for name in names if name.endswith(".py")}
    assert manifest["cpu_name"] == _shipped.level()[0]
    assert manifest["cpu_features"] == _shipped.level()[1]
    package = Path(fastffnn.__file__).parent
    checkout = {
        f"fastffnn/{path.relative_to(package).as_posix()}": path.read_bytes()
        for path in package.rglob("*.py")
    }
    assert sources == checkout  # the code is keyed by exactly these sources


@pytest.fixture(scope="module")
def shipped_result(unpacked_wheel, tmp_path_factory):
    """FIT on the unpacked wheel: the shipped code's results, nothing compiled."""
    summary, _ = _fit(unpacked_wheel, tmp_path_factory.mktemp("run") / "cache")
    assert summary["compiled"] == []
    return summary["results"]


def test_shipped_code_gives_the_bits_of_code_compiled_here(unpacked_wheel, tmp_path,
                                                           shipped_result):  # fmt: skip
    compiled, _ = _fit(unpacked_wheel, tmp_path / "cache", {"FASTFFNN_SHIPPED_CODE": "0"})
    assert "train_epoch" in compiled["compiled"]
    assert compiled["results"] == shipped_result


def _other_numba(folder):
    folder.rename(folder.with_name(folder.name.replace("numba-", "numba-0.0.1-was-")))


def _missing_cpu_feature(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    host = _shipped.host_features()
    absent = [f for f in ("amx-tile", "avx512fp16", "xop", "fma4", "tbm") if f not in host]
    manifest["cpu_features"].append(absent[0] if absent else "fastffnn-absent-feature")
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edited_source(folder):
    with open(folder.parent.parent / "kernels" / "activations.py", "a") as file:
        file.write("\n# edited after installation\n")


def _damaged_files(folder):
    for epoch_code in folder.glob("training.train_epoch-*.nbc"):
        epoch_code.write_bytes(epoch_code.read_bytes()[:1000])  # truncated
    (chunk_index,) = folder.glob("training.train_chunk-*.nbi")
    data = bytearray(chunk_index.read_bytes())
    data[-20] ^= 0xFF  # one byte changed
    chunk_index.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "mismatch", [_other_numba, _missing_cpu_feature, _edited_source, _damaged_files]
)
def test_a_mismatched_shipped_cache_compiles_to_the_same_bits(unpacked_wheel, tmp_path,
                                                             shipped_result, mismatch):  # fmt: skip
    site = tmp_path / "site"
    shutil.copytree(unpacked_wheel, site)
    mismatch(_shipped_folder(site))
    summary, stderr = _fit(site, tmp_path / "cache")
    assert "train_epoch" in summary["compiled"]
    assert summary["results"] == shipped_result
    if mismatch is _damaged_files:
        assert stderr.count("is damaged") == 1, stderr[-3000:]


def _venv(wheel, python):
    """A fresh virtual environment of ``python`` with the wheel installed by
    pip (not editable; no checkout on the path), readable by every user;
    returns (its folder, its python)."""
    root = Path(tempfile.mkdtemp(prefix="fastffnn-wheel-"))
    root.chmod(0o755)
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", str(wheel), "pandas", "polars"],
                   check=True, timeout=900)  # fmt: skip
    return root, venv / "bin" / "python"


def _remove(root):
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(root)


@pytest.fixture(scope="module")
def wheel_venv(wheel):
    root, python = _venv(wheel, sys.executable)
    yield root, python
    _remove(root)


def _python_every_user_runs():
    """An interpreter of this CPython version that users other than this one
    can run: this one where every folder above it is open to all, else the
    system's python3.X."""
    candidates = [Path(sys.executable).resolve(), Path(f"/usr/bin/python3.{sys.version_info[1]}")]
    for candidate in candidates:
        if candidate.exists() and all(p.stat().st_mode & 0o005 == 0o005 for p in
                                      [candidate, *candidate.parents]):  # fmt: skip
            return str(candidate)
    return None


DEMO = (
    COUNT_COMPILES
    + """
import json, fastffnn
from fastffnn.__main__ import main
assert "site-packages" in fastffnn.__file__, fastffnn.__file__
main(["demo"])
print(json.dumps(compiled))
"""
)


def test_a_fresh_venv_runs_the_demo_and_user_calls_without_compiling(wheel_venv):
    root, python = wheel_venv
    for script in (DEMO, COUNT_COMPILES + USER_CALLS + "print(json.dumps(compiled))"):
        result = subprocess.run([str(python), "-c", script], cwd=root, capture_output=True,
                                text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads(result.stdout.splitlines()[-1]) == []


READ_ONLY_CHECK = """
import os, sysconfig
site = sysconfig.get_paths()["platlib"]
assert not os.access(site, os.W_OK) and not os.access(site + "/fastffnn", os.W_OK)
"""


@pytest.mark.skipif(os.geteuid() == 0 and not _python_every_user_runs(),
                    reason="runs as root with no Python of this version that the user "
                    "nobody can run")  # fmt: skip
def test_a_read_only_install_used_by_another_user_compiles_nothing(wheel):
    """site-packages owned by this user (root in CI) and not writable; the calls
    made by another user (nobody, where these tests run as root)."""
    python = _python_every_user_runs() or sys.executable
    root, venv_python = _venv(wheel, python)
    try:
        site = subprocess.run([str(venv_python), "-c", "import sysconfig; print(sysconfig."
                               "get_paths()['platlib'])"], capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
        for path in [Path(site), *Path(site).rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o555 if path.is_dir() else 0o444)
        home = root / "home"
        home.mkdir()
        home.chmod(0o777)
        command = [str(venv_python), "-c", COUNT_COMPILES + READ_ONLY_CHECK + USER_CALLS
                   + "print(json.dumps(compiled))"]  # fmt: skip
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        env = {"PATH": os.environ["PATH"], "HOME": str(home),
               "XDG_CACHE_HOME": str(home / "cache")}  # fmt: skip
        result = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True,
                                timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads(result.stdout.splitlines()[-1]) == []
    finally:
        _remove(root)


def test_a_wheel_built_from_the_sdist_is_pure_python_and_compiles_on_first_use(tmp_path):
    """An sdist's isolated build may hold another numba than the one installed
    beside the package: no machine code is shipped from it."""
    run = dict(capture_output=True, text=True, timeout=1800)
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                             str(tmp_path)], cwd=ROOT, **run)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (sdist,) = tmp_path.glob("*.tar.gz")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                             str(tmp_path), str(sdist)], **run)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = tmp_path.glob("*.whl")
    assert built.name.endswith("-py3-none-any.whl"), built.name
    with zipfile.ZipFile(built) as archive:
        assert not [name for name in archive.namelist() if "_machine_code" in name]


def test_a_damaged_file_in_the_writable_cache_is_compiled_around_and_rewritten(tmp_path):
    """A truncated epoch in numba's cache folder used to make every fit raise
    an UnpicklingError until deleted by hand."""
    checkout = Path(fastffnn.__file__).parent.parent
    cache = tmp_path / "cache"
    first, _ = _fit(checkout, cache)
    assert "train_epoch" in first["compiled"]
    _damaged_files(next(cache.glob("fastffnn_*")))
    second, stderr = _fit(checkout, cache)
    assert "train_epoch" in second["compiled"] and second["results"] == first["results"]
    assert stderr.count("is damaged") == 1, stderr[-3000:]
    third, stderr = _fit(checkout, cache)
    assert third["compiled"] == [] and third["results"] == first["results"]
    assert "is damaged" not in stderr
