"""Cold start (issue 14): the compile command leaves a cache that fresh
processes load without compiling anything; a read-only installation still
caches; the command's workers serialize numba's cache writes."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import COUNT_COMPILES, USER_CALLS, run_python

import fastffnn


@pytest.mark.slow
def test_compile_command_leaves_a_cache_that_loads_without_compiling(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    result = subprocess.run([sys.executable, "-m", "fastffnn", "compile"], env=env,
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "compiled everything" in result.stdout
    assert any(cache.rglob("*.nbc"))
    out = run_python(COUNT_COMPILES + USER_CALLS + "print(json.dumps(compiled))",
                     env={"NUMBA_CACHE_DIR": str(cache)})  # fmt: skip
    assert json.loads(out.splitlines()[-1]) == []
    # the same calls with an empty cache do compile: the check can fail
    out = run_python(COUNT_COMPILES + USER_CALLS + "print(json.dumps(compiled))",
                     env={"NUMBA_CACHE_DIR": str(tmp_path / "empty")})  # fmt: skip
    assert "train_epoch" in json.loads(out.splitlines()[-1])


def test_a_read_only_installation_caches_in_the_user_cache():
    """numba falls back from ``__pycache__`` beside the sources to the user
    cache folder when the sources are not writable. Root writes through any
    file mode, so as root (CI here) each child runs in its own mount
    namespace with the sources bind-mounted read-only (gone when it exits)."""
    read_only = _read_only_command()
    root = Path(tempfile.mkdtemp(prefix="fastffnn-readonly-"))
    try:
        site, user_cache = root / "site", root / "user-cache"
        shutil.copytree(Path(fastffnn.__file__).parent, site / "fastffnn",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        for path in [site, *site.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        user_cache.mkdir()
        env = dict(os.environ, PYTHONPATH=str(site), XDG_CACHE_HOME=str(user_cache))
        env.pop("NUMBA_CACHE_DIR", None)
        call = "import json\n" + COUNT_COMPILES + READ_ONLY_CALL.format(site=str(site))
        runs = []
        for _ in range(2):
            # from root: in the checkout, "" on sys.path would find its fastffnn first
            result = subprocess.run(read_only(site, [sys.executable, "-c", call]), env=env,
                                    cwd=root, capture_output=True, text=True,
                                    timeout=300)  # fmt: skip
            assert result.returncode == 0, result.stderr[-3000:]
            runs.append(json.loads(result.stdout.splitlines()[-1]))
        assert runs == [["workspace_rows"], []]
        assert not list(site.rglob("*.nbi"))
        assert list(user_cache.rglob("*workspace_rows*.nbi"))
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755)
        shutil.rmtree(root)


READ_ONLY_CALL = """
import numpy as np, fastffnn
from fastffnn.network import workspace_rows
assert fastffnn.__file__.startswith({site!r}), fastffnn.__file__
workspace_rows(np.array([3, 4, 5]))
print(json.dumps(compiled))
"""


def _read_only_command():
    """A function wrapping a command so that it sees a folder read-only."""
    if os.geteuid() != 0:
        return lambda folder, command: command
    if shutil.which("unshare") is None:
        pytest.skip("running as root, which writes through file modes, without unshare(1) "
                    "to mount the sources read-only")  # fmt: skip

    def wrapped(folder, command):
        mount = (f'mount --bind "{folder}" "{folder}" && '
                 f'mount -o remount,ro,bind "{folder}" "{folder}" && exec "$@"')  # fmt: skip
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh",
                *command]  # fmt: skip

    return wrapped


def test_compile_workers_serialize_cache_writes(tmp_path):
    """The lock is held during each cache write and released after it."""
    code = """
import fcntl, os, sys
import numpy as np
from numba.core import caching
from fastffnn import precompile
lock_path = sys.argv[1]
held = []
original = caching.IndexDataCacheFile.save
def spy(self, key, data):
    with open(lock_path, "a") as other:
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_UN)
            held.append(False)
        except BlockingIOError:
            held.append(True)
    return original(self, key, data)
caching.IndexDataCacheFile.save = spy
with precompile._serialized_cache_writes(lock_path):
    from fastffnn.network import workspace_rows
    workspace_rows(np.array([3, 4, 5]))
assert caching.IndexDataCacheFile.save is spy
print(held)
"""
    out = run_python(code, tmp_path / "lock", env={"NUMBA_CACHE_DIR": str(tmp_path / "c")})
    assert out.strip() == "[True]"


def test_editing_any_source_file_invalidates_every_cached_function(tmp_path):
    """numba keys a cached function by its own file only, but the machine code
    inlines callees from other files: fastffnn's key covers the whole package."""
    site = tmp_path / "site"
    shutil.copytree(Path(fastffnn.__file__).parent, site / "fastffnn",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    call = "import json\n" + COUNT_COMPILES + READ_ONLY_CALL.format(site=str(site))
    env = {"PYTHONPATH": str(site), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def compiled():
        return json.loads(run_python(call, env=env, cwd=tmp_path).splitlines()[-1])

    assert compiled() == ["workspace_rows"]
    assert compiled() == []
    with open(site / "fastffnn" / "kernels" / "activations.py", "a") as file:
        file.write("\n# an edit in another file than network.py\n")
    assert compiled() == ["workspace_rows"]
    assert compiled() == []


# A fit and a prediction, printing the compilations and the predictions' bytes.
FIT_AND_PREDICT = """
import json
from sklearn.datasets import load_digits
from fastffnn import FFNNClassifier
X, y = load_digits(return_X_y=True)
X = X[:300] / 16.0
model = FFNNClassifier((8,), max_iter=3, random_state=0).fit(X, y[:300])
proba = model.predict_proba(X)
print(json.dumps(compiled))
print(proba.tobytes().hex())
"""


def _fit_and_predict(env):
    lines = run_python(COUNT_COMPILES + FIT_AND_PREDICT, env=env, timeout=600).splitlines()
    return json.loads(lines[-2]), lines[-1]


@pytest.mark.slow
def test_a_cached_caller_whose_callee_was_deleted_recompiles_it_alone(tmp_path):
    """train_chunk and predict_block are called through symbols of their own
    (fastffnn._linking): with only their cache files gone, the cached epoch
    and prediction load, recompile the bodies, and compute the same bits."""
    cache = tmp_path / "cache"
    env = {"NUMBA_CACHE_DIR": str(cache)}
    compiled, expected = _fit_and_predict(env)
    assert "train_epoch" in compiled and "train_chunk" in compiled
    deleted = [path for path in cache.rglob("*") if "train_chunk" in path.name
               or "predict_block" in path.name]  # fmt: skip
    assert deleted
    for path in deleted:
        path.unlink()
    compiled, got = _fit_and_predict(env)
    assert got == expected
    assert "train_chunk" in compiled and "predict_block" in compiled
    assert not {"train_epoch", "chunked_gradients", "predict_rows", "forward"} & set(compiled)
    assert _fit_and_predict(env) == ([], expected)


@pytest.mark.slow
def test_ordinary_calls_instead_of_body_symbols_give_the_same_bits(tmp_path):
    """FASTFFNN_LINK_BODIES=1 (numba's own linking, the fallback where its
    internals move) compiles differently and computes the same bits; each
    cache it leaves serves the other way too."""
    cache = str(tmp_path / "cache")
    separate = _fit_and_predict({"NUMBA_CACHE_DIR": cache})[1]
    linked = _fit_and_predict({"NUMBA_CACHE_DIR": str(tmp_path / "linked"),
                               "FASTFFNN_LINK_BODIES": "1"})  # fmt: skip
    assert linked[1] == separate
    assert _fit_and_predict({"NUMBA_CACHE_DIR": cache, "FASTFFNN_LINK_BODIES": "1"}) == (
        [],
        separate,
    )


def test_a_user_cache_locator_turns_fastffnn_caching_off_with_a_warning(tmp_path):
    """NUMBA_CACHE_LOCATOR_CLASSES replaces numba's locators, fastffnn's stamped
    ones included: fastffnn then compiles without the on-disk cache (and says
    so) rather than risk running stale callees from it."""
    out = run_python(
        """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastffnn._jit
print(fastffnn._jit.CACHE, any("NUMBA_CACHE_LOCATOR_CLASSES" in str(w.message)
                                              for w in caught))
""",
        env={"NUMBA_CACHE_LOCATOR_CLASSES": "UserWideCacheLocator"},
    )
    assert out.split() == ["False", "True"]
