"""numba's on-disk cache, keyed by all of fastffnn's sources.

numba keys a function's cached machine code by the contents of the function's
own file. That machine code also holds every callee it inlined from other
files, so a change to ``kernels/activations.py`` alone (an upgrade, or an edit
in a checkout) would leave ``training.py``'s cached epoch running the old
activations, silently. For functions defined in fastffnn the key is instead a
hash of every ``.py`` file of the package; everything else numba keys as
usual (its own version, the CPU name and features, the signature).

This uses numba's cache locators, an internal extension point
(``CacheImpl._locator_classes``); if a numba release changes it,
:func:`install` leaves numba's own keys in place and says so.
"""

import functools
import hashlib
import os
import warnings

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def package_stamp():
    """SHA-256 of every ``.py`` file under the package, with its relative path."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, PACKAGE_DIR).encode())
            with open(path, "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()


def _in_package(py_file):
    return os.path.abspath(py_file).startswith(PACKAGE_DIR + os.sep)


def _package_locator(base):
    """``base`` (one of numba's locators) for fastffnn's files, stamped by the package."""

    class PackageLocator(base):
        def get_source_stamp(self):
            return package_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_package(py_file):
                return None
            return super().from_function(py_func, py_file)

    PackageLocator.__name__ = PackageLocator.__qualname__ = f"Package{base.__name__}"
    return PackageLocator


def install():
    """Put the package-stamped locators first in numba's list (once); call
    before any fastffnn function is decorated. Returns whether fastffnn may
    use numba's on-disk cache: not when NUMBA_CACHE_LOCATOR_CLASSES replaces
    numba's locators (and so fastffnn's stamped ones), where a cached epoch
    could run stale callees."""
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        warnings.warn(
            "NUMBA_CACHE_LOCATOR_CLASSES is set: it would bypass fastffnn's cache keys "
            "(a hash of all its sources), so fastffnn compiles without numba's on-disk "
            "cache in this process.",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    try:
        from numba.core import caching

        classes = caching.CacheImpl._locator_classes
        bases = [
            caching.UserProvidedCacheLocator,
            caching.InTreeCacheLocator,
            caching.UserWideCacheLocator,
        ]
    except AttributeError:  # a numba whose internals moved
        warnings.warn(
            "fastffnn could not key numba's cache by its own sources; after upgrading "
            "fastffnn, delete its numba cache files (*.nbi, *.nbc) to be safe.",
            RuntimeWarning,
            stacklevel=2,
        )
        return True
    if not any(getattr(c, "_fastffnn", False) for c in classes):
        locators = [_package_locator(base) for base in bases]
        for locator in locators:
            locator._fastffnn = True
        classes[:0] = locators
    return True
