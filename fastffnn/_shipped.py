"""Machine code shipped in the wheel, built for a portable CPU level.

``python -m build --wheel`` (``setup.py``) runs the workload of ``python -m
fastffnn compile`` with numba targeting a CPU *level* rather than the build
machine (:data:`LEVELS`: x86-64-v3 on x86-64, numba's ``generic`` elsewhere)
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
# x86-64 micro-architecture levels, v1 to v3 (the x86-64 psABI).
_X86_64_V3 = (
    "64bit cmov cx8 fxsr mmx sse sse2 "  # v1
    "cx16 popcnt sahf sse3 sse4.1 sse4.2 ssse3 "  # v2
    "avx avx2 bmi bmi2 f16c fma lzcnt movbe xsave"  # v3
).split()

#: Machine (``platform.machine()``) -> (numba CPU name, features it requires).
#: Other machines get numba's "generic" CPU, which requires none.
LEVELS = {
    "x86_64": ("x86-64-v3", _X86_64_V3),
    "AMD64": ("x86-64-v3", _X86_64_V3),
}
GENERIC = ("generic", [])


def level():
    """(CPU name, required features) the wheel's code is built for on this machine."""
    return LEVELS.get(platform.machine(), GENERIC)


def folder_name(cpu_name):
    """The shipped folder's name: what numba's cached code depends on."""
    import numba

    python = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    numpy_major = np.__version__.split(".")[0]
    return f"numba-{numba.__version__}_{python}_numpy-{numpy_major}_{cpu_name}"


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
    """The shipped tier, or None where there is none or this process may not use it."""
    if os.environ.get("FASTFFNN_SHIPPED_CODE", "1") == "0" or os.environ.get(BUILD_ENV):
        return None
    cpu_name, _ = level()
    folder = os.path.join(SHIPPED_DIR, folder_name(cpu_name))
    manifest = _read_manifest(folder)
    if manifest is None:
        return None
    if manifest.get("package_stamp") != package_stamp():  # edited sources
        return None
    if not set(manifest.get("cpu_features", ["unknown"])) <= host_features():
        return None  # this CPU lacks a feature the code uses
    if manifest.get("cpu_name") != cpu_name:
        return None
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


if __name__ == "__main__":
    folder = build()
    size = sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )
    print(f"machine code for the wheel: {folder} ({size / 1e6:.1f} MB)")
