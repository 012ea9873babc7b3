"""numba's on-disk cache for fastffnn: keyed by all its sources, checked, in two tiers.

* **Keyed by the package.** numba keys a function's cached machine code by
  the contents of the function's own file. That machine code also holds
  every callee it inlined from other files, so a change to
  ``kernels/activations.py`` alone (an upgrade, or an edit in a checkout)
  would leave ``training.py``'s cached epoch running the old activations,
  silently. For functions defined in fastffnn the key is instead a hash of
  every ``.py`` file of the package; everything else numba keys as usual
  (its own version, the CPU name and features, the signature).
* **Checked.** Each index and data file carries a SHA-256 of its contents:
  a truncated or altered file is a cache miss (fastffnn says so once and
  compiles, and the file is rewritten), never an unpickling error on every
  fit nor machine code run from changed bytes.
* **Two tiers.** A function is looked up in numba's writable cache
  (``__pycache__`` beside the sources, ``NUMBA_CACHE_DIR`` or the user's cache
  folder), then in the machine code a wheel ships (:mod:`fastffnn._shipped`),
  which is built for a portable CPU level and used only on a CPU with every
  feature of that level. New compilations go to the writable tier.

This uses numba internals (cache locators, ``Cache``, ``IndexDataCacheFile``);
where a numba release moves them, :func:`attach` falls back to numba's own
cache and :func:`install` says so.
"""

import functools
import hashlib
import os
import pickle
import warnings

import numba

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: Written first in every index: numba's version and this file format.
FORMAT = (numba.__version__, "fastffnn-checked-1")


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


class DamagedCacheFile(Exception):
    """A cache file whose contents do not match their checksum (or do not parse)."""


_said_damaged = []


def _say_damaged(error):
    """Warn once per process that a damaged cache file is being compiled around."""
    if not _said_damaged:
        _said_damaged.append(str(error))
        warnings.warn(
            f"fastffnn: a cached machine-code file is damaged ({error}); compiling "
            "instead, and writing a good file where the cache is writable.",
            RuntimeWarning,
            stacklevel=4,
        )


try:
    from numba.core import caching

    class CheckedCacheFile(caching.IndexDataCacheFile):
        """numba's index and data files, each written as SHA-256 + pickle."""

        def __init__(self, cache_path, filename_base, source_stamp):
            super().__init__(cache_path, filename_base, source_stamp)
            self._version = FORMAT  # a plain numba index (or another format) is a miss

        def _dump(self, obj):
            payload = pickle.dumps(obj, protocol=-1)
            return hashlib.sha256(payload).digest() + payload

        @staticmethod
        def _checked(data, path):
            digest, payload = data[:32], data[32:]
            if len(digest) < 32 or hashlib.sha256(payload).digest() != digest:
                raise DamagedCacheFile(path)
            try:
                return pickle.loads(payload)
            except Exception as error:  # checksummed yet unreadable: another writer's bug
                raise DamagedCacheFile(path) from error

        def _load_index(self):
            try:
                with open(self._index_path, "rb") as file:
                    version = pickle.load(file)
                    data = file.read()
            except FileNotFoundError:
                return {}
            except Exception as error:  # truncated or garbled before the checksum
                raise DamagedCacheFile(self._index_path) from error
            if version != self._version:
                return {}
            stamp, overloads = self._checked(data, self._index_path)
            return overloads if stamp == self._source_stamp else {}

        def _load_data(self, name):
            path = self._data_path(name)
            with open(path, "rb") as file:
                return self._checked(file.read(), path)

        def save(self, key, data):
            try:
                return super().save(key, data)
            except DamagedCacheFile:  # a damaged index is replaced by a new one
                os.unlink(self._index_path)
                return super().save(key, data)

    class TieredCache(caching.FunctionCache):
        """A dispatcher's cache: the writable tier, then the shipped one."""

        def __init__(self, py_func, shipped=None, write_to=None):
            """``shipped``: the :class:`fastffnn._shipped.Tier` to read after the
            writable one (or None); ``write_to``: a folder that replaces the
            writable tier (building a wheel's machine code)."""
            super().__init__(py_func)
            base = self._impl.filename_base
            stamp = package_stamp()
            if write_to is not None:
                self._cache_path = _mirror(write_to, py_func)
            self._cache_file = CheckedCacheFile(self._cache_path, base, stamp)
            self._shipped = None
            if shipped is not None:
                folder = _mirror(shipped.folder, py_func)
                self._shipped = (CheckedCacheFile(folder, base, stamp), shipped)

        def load_overload(self, sig, target_context):
            # numba's cache calls target_context.refresh() here, which loads
            # every lowering registry (0.3 s of a first fit) that machine code
            # loaded from disk does not use (a compilation refreshes the
            # context itself). Loaded code does need the symbols that refresh
            # registers: the runtime's (NRT_*) and the hash secret's.
            _runtime_symbols(target_context)
            if not self._enabled:
                return None
            codegen = target_context.codegen()
            (signature, _, code_hashes) = self._index_key(sig, codegen)
            tiers = [(self._cache_file, codegen.magic_tuple())]
            if self._shipped is not None:
                shipped_file, shipped = self._shipped
                tiers.append((shipped_file, shipped.magic_tuple(codegen)))
            for cache_file, magic_tuple in tiers:
                try:
                    data = cache_file.load((signature, magic_tuple, code_hashes))
                except DamagedCacheFile as error:
                    _say_damaged(error)
                    continue
                if data is not None:
                    return self._impl.rebuild(target_context, data)
            return None

        def _save_overload(self, sig, data):
            if not self._enabled or not self._impl.check_cachable(data):
                return
            try:
                os.makedirs(self._cache_path, exist_ok=True)
            except OSError:  # e.g. a read-only NUMBA_CACHE_DIR: run uncached
                return
            self._cache_file.save(self._index_key(sig, data.codegen), self._impl.reduce(data))

    def _runtime_symbols(target_context):
        from numba.core.runtime import rtsys
        from numba.cpython import hashing  # noqa: F401  (adds _Py_HashSecret_* on import)

        rtsys.initialize(target_context)

    AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover  (a numba whose internals moved)
    AVAILABLE = False


def _mirror(folder, py_func):
    """Where ``py_func``'s files go under ``folder``: its source file's
    folder relative to the package (``kernels/`` for the kernels)."""
    import inspect

    relative = os.path.relpath(os.path.dirname(inspect.getfile(py_func)), PACKAGE_DIR)
    return os.path.normpath(os.path.join(folder, relative))


def attach(dispatcher, shipped=None, write_to=None):
    """Give ``dispatcher`` fastffnn's cache (numba's own where its internals moved)."""
    if AVAILABLE:
        dispatcher._cache = TieredCache(dispatcher.py_func, shipped, write_to)
    else:  # pragma: no cover
        dispatcher.enable_caching()
    return dispatcher
