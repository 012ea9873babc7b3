"""Machine code shipped in the wheel, built for a portable CPU level.

``python -m build --wheel`` (``setup.py``) runs the workload of ``python -m
fastffnn compile`` with numba targeting a CPU *level* rather than the build
machine (:func:`level`: x86-64-v3 on x86-64, numba's ``generic`` elsewhere)
and writes the cache into the package, in a folder named by everything the
code depends on (:func:`folder_name`: numba's version, the CPython minor,
NumPy's major version, the level), with a manifest.

At run time :func:`tier` finds that folder and hands it to
:mod:`fastffnn._cache` as a read-only tier, after checking the manifest: the
same sources (the package stamp), and a CPU with every feature the level
requires (code for a feature the CPU lacks would crash it). Anything else,
and fastffnn compiles as a source install does.
"""

import functools
import json
import os
import platform
import shutil
import sys

import numpy as np

from fastffnn._cache import PACKAGE_DIR, package_stamp

#: Where wheels keep their machine code, inside the package.
SHIPPED_DIR = os.path.join(PACKAGE_DIR, "_machine_code")

#: Set (to the target folder) in the processes that build a wheel's machine code.
BUILD_ENV = "FASTFFNN_BUILD_MACHINE_CODE"

# LLVM's feature names (llvmlite.binding.get_host_cpu_features) of the
# x86-64 micro-architecture levels (the x86-64 psABI), each adding to the one before.
_X86_64_V1 = "64bit cmov cx8 fxsr mmx sse sse2".split()
_X86_64_V2 = _X86_64_V1 + "cx16 popcnt sahf sse3 sse4.1 sse4.2 ssse3".split()
_X86_64_V3 = _X86_64_V2 + "avx avx2 bmi bmi2 f16c fma lzcnt movbe xsave".split()
_X86_64_V4 = _X86_64_V3 + "avx512f avx512bw avx512cd avx512dq avx512vl".split()

#: CPU levels a wheel can be built for: numba CPU name -> features it requires.
LEVELS = {
    "x86-64-v2": _X86_64_V2,
    "x86-64-v3": _X86_64_V3,
    "x86-64-v4": _X86_64_V4,
    "generic": [],  # numba's portable CPU, for machines other than x86-64
}

#: Chooses the level a wheel is built for (default: :func:`level`).
LEVEL_ENV = "FASTFFNN_CPU_LEVEL"


def level():
    """(CPU name, required features) a wheel built here targets: ``FASTFFNN_CPU_LEVEL``,
    else x86-64-v3 on x86-64 and numba's ``generic`` CPU elsewhere."""
    default = "x86-64-v3" if platform.machine() in ("x86_64", "AMD64") else "generic"
    name = os.environ.get(LEVEL_ENV) or default
    if name not in LEVELS:
        raise ValueError(f"{LEVEL_ENV}={name!r}: choose one of {sorted(LEVELS)}")
    return name, LEVELS[name]


def _prefix():
    """What every shipped folder usable by this process starts with."""
    import numba

    python = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    numpy_major = np.__version__.split(".")[0]
    return f"numba-{numba.__version__}_{python}_numpy-{numpy_major}_"


def folder_name(cpu_name):
    """The shipped folder's name: what numba's cached code depends on."""
    return _prefix() + cpu_name


def host_features():
    import llvmlite.binding as llvm

    return {name for name, present in llvm.get_host_cpu_features().items() if present}


class Tier:
    """The shipped machine code of this installation, usable on this CPU."""

    def __init__(self, folder, manifest):
        self.folder = folder
        self.manifest = manifest

    def magic_tuple(self, codegen):
        """numba's key of the shipped entries: (target triple, CPU name, CPU
        features) as the build set them, the level with no extra features."""
        return (codegen.magic_tuple()[0], self.manifest["cpu_name"], "")


def _read_manifest(folder):
    try:
        with open(os.path.join(folder, "manifest.json")) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


@functools.cache
def tier():
    """The shipped tier usable here (the level with the most features, where a
    wheel ships several), or None where there is none or this process may not use it."""
    if os.environ.get("FASTFFNN_SHIPPED_CODE", "1") == "0" or os.environ.get(BUILD_ENV):
        return None
    try:
        names = sorted(os.listdir(SHIPPED_DIR))
    except OSError:
        return None
    usable = []
    host = None
    for name in names:
        if not name.startswith(_prefix()):  # another numba, CPython or NumPy
            continue
        folder = os.path.join(SHIPPED_DIR, name)
        manifest = _read_manifest(folder)
        if manifest is None or folder_name(manifest.get("cpu_name", "")) != name:
            continue
        if manifest.get("package_stamp") != package_stamp():  # edited sources
            continue
        host = host_features() if host is None else host
        features = manifest.get("cpu_features")
        if not isinstance(features, list) or not set(features) <= host:
            continue  # this CPU lacks a feature the code uses
        usable.append((len(features), folder, manifest))
    if not usable:
        return None
    _, folder, manifest = max(usable, key=lambda entry: entry[0])
    return Tier(folder, manifest)


def build_folder():
    """The folder this process writes machine code into (building a wheel), or None."""
    return os.environ.get(BUILD_ENV) or None


def build(jobs=None):
    """Compile the workload into this package's shipped folder, for
    :func:`level`; returns the folder. Run from the build's copy of the package."""
    from fastffnn.precompile import compile_all

    cpu_name, features = level()
    missing = sorted(set(features) - host_features())
    if missing:
        raise SystemExit(
            f"this machine lacks {', '.join(missing)} of {cpu_name}, so it cannot run the "
            "code it would ship; build with FASTFFNN_MACHINE_CODE=0 for a wheel that "
            "compiles on first use"
        )
    shutil.rmtree(SHIPPED_DIR, ignore_errors=True)
    folder = os.path.join(SHIPPED_DIR, folder_name(cpu_name))
    os.makedirs(folder)
    # the workers inherit these before they import numba
    os.environ.update({
        BUILD_ENV: folder,
        "NUMBA_CPU_NAME": cpu_name,
        "NUMBA_CPU_FEATURES": "",
        "NUMBA_DISABLE_INTEL_SVML": "1",  # the user's machine may have no SVML
        "PYTHONDONTWRITEBYTECODE": "1",
    })  # fmt: skip
    seconds = compile_all(jobs)
    import numba

    manifest = {
        "numba": numba.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu_name": cpu_name,
        "cpu_features": features,
        "package_stamp": package_stamp(),
        "compile_seconds": round(seconds, 1),
    }
    with open(os.path.join(folder, "manifest.json"), "w") as file:
        json.dump(manifest, file, indent=1)
    return folder


def main():
    """Build this package's shipped folder and say where and how big (setup.py runs this)."""
    folder = build()
    size = sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )
    print(f"machine code for the wheel: {folder} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
