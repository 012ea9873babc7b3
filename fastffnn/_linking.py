"""Calling a big compiled body instead of linking it into every caller.

numba links the LLVM module of every callee into each caller and optimizes
the whole again, so a body called from several places (a chunk's forward and
backward pass, a prediction block, the optimizer step) is optimized and
turned into machine code once per caller, and again in each parallel
region's wrappers. ``separate(body)`` returns a function that compiled code
calls instead of ``body``: it compiles ``body`` on its own for the argument
types and emits a plain call to it through a symbol named by fastffnn (the
package stamp, the body's module, name and argument types), so the body is compiled once per
signature, whoever calls it.

Where numba loads a caller from its on-disk cache, the call's symbol must
exist before the caller's machine code is linked: each call site registers a
loader (numba runs a library's ``reload_init`` hooks before loading it) that
loads the body (from the cache, or compiles it when its entry is missing or
stale) and binds the symbol to it. The symbol's name does not depend on
numba's per-process mangling, so a recompiled body always satisfies a cached
caller.

This leans on numba internals (``@intrinsic`` lowering, the calling
convention, ``_reload_init``). :data:`ENABLED` is False where they are
missing, or when ``FASTFFNN_LINK_BODIES=1`` asks for numba's ordinary calls;
then ``separate(body)`` is ``body`` itself, and everything is linked as usual
(slower to compile, the same results). Either mode loads code the other
cached: a cached caller binds its symbols and tables on load, whatever the
mode of the process (tested).
"""

import hashlib
import importlib
import os
from dataclasses import dataclass

import numba
import numpy as np

from fastffnn._cache import package_stamp

try:
    import llvmlite.binding as llvm
    import llvmlite.ir as llvmir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    #: The internals are there: tables can be filled (a cached caller may read them).
    AVAILABLE = True
except ImportError:  # pragma: no cover  (a numba whose internals moved)
    AVAILABLE = False
#: New compilations call bodies and kernels through symbols and tables.
ENABLED = AVAILABLE and os.environ.get("FASTFFNN_LINK_BODIES", "") != "1"


def symbol_name(body, argtypes):
    """The symbol a call of ``body`` with ``argtypes`` goes through, named by
    fastffnn's sources too (the stamp that keys its cache entries)."""
    key = (
        f"{package_stamp()}.{body.py_func.__module__}.{body.py_func.__qualname__}{tuple(argtypes)}"
    )
    return "fastffnn.body." + hashlib.sha256(key.encode()).hexdigest()[:32]


def _compile_and_bind(body, argtypes):
    """Compile (or load) ``body`` for ``argtypes`` and bind its symbol; returns
    the compile result."""
    argtypes = tuple(argtypes)
    body.compile(argtypes)
    result = body.overloads[argtypes]
    address = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
    llvm.add_symbol(symbol_name(body, argtypes), address)
    return result


@dataclass(frozen=True)
class BodyLoader:
    """A picklable ``reload_init`` hook: binds a body's symbol before a cached
    caller that calls it is loaded."""

    module: str
    qualname: str
    argtypes: tuple

    def __call__(self):
        body = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            body = getattr(body, part)
        _compile_and_bind(body, self.argtypes)


def _emit_call(context, builder, function, restype, argtypes, values, loader):
    """A call with numba's calling convention (its exceptions propagated), and
    ``loader`` registered to run before the caller loads from the cache."""
    status, value = context.call_conv.call_function(builder, function, restype, argtypes, values)
    with cgutils.if_unlikely(builder, status.is_error):
        context.call_conv.return_status_propagate(builder, status)
    context.active_code_library._reload_init.add(loader)
    return value


def separate(body):
    """A function for compiled code that calls the dispatcher ``body``
    through its own symbol instead of linking it in (see the module's docstring)."""
    if not ENABLED:
        return body
    qualname = body.py_func.__qualname__
    module = body.py_func.__module__

    def typer(typingctx, *args):
        argtypes = tuple(args)
        result = _compile_and_bind(body, argtypes)
        restype = result.signature.return_type
        name = symbol_name(body, argtypes)

        def codegen(context, builder, signature, llargs):
            fnty = context.call_conv.get_function_type(restype, argtypes)
            function = cgutils.get_or_insert_function(builder.module, fnty, name)
            values = cgutils.unpack_tuple(builder, llargs[0], len(argtypes))
            loader = BodyLoader(module, qualname, argtypes)
            return _emit_call(context, builder, function, restype, argtypes, values, loader)

        return restype(types.StarArgTuple.from_types(argtypes)), codegen

    return intrinsic(typer)


class KernelTable:
    """Kernels of one family (an activation's forward pass, ...), one per
    registry code, called through a table of pointers indexed by the code.

    Compiled code calls ``table.call(code, *args)``; the arguments' types
    must be ``signature(dtype)`` for the dtype of the first. Only the kernels
    of the codes a network uses are compiled: ``prepare(codes, dtype)``
    compiles them and fills their entries (``fastffnn.boundary`` calls it for
    every network it hands to compiled code); every other entry holds
    ``unprepared``, which raises instead of computing. A cached caller binds
    the table's symbol on load (``reload_init``), as ``separate`` does.
    """

    def __init__(self, name, kernels, unprepared, signature):
        self.name = name
        self.kernels = dict(kernels)  # code -> dispatcher
        self.unprepared = unprepared
        self.signature = signature
        self.size = max(self.kernels) + 1
        self._arrays = {}  # symbol -> ctypes array of entries
        self._prepared = set()  # (dtype, codes) filled in already

    def symbol(self, argtypes):
        key = f"{package_stamp()}.{self.name}{tuple(argtypes)}"
        return "fastffnn.table." + hashlib.sha256(key.encode()).hexdigest()[:32]

    def entries(self, argtypes):
        """The table for ``argtypes`` (allocated and bound on first use)."""
        symbol = self.symbol(argtypes)
        if symbol not in self._arrays:
            import ctypes

            trap = _address(self.unprepared, argtypes)
            array = (ctypes.c_void_p * self.size)(*([trap] * self.size))
            self._arrays[symbol] = array
            llvm.add_symbol(symbol, ctypes.addressof(array))
        return self._arrays[symbol]

    def prepare(self, codes, dtype):
        """Compile the kernels of ``codes`` (other codes are ignored) for
        ``dtype`` and fill their entries."""
        key = (np.dtype(dtype), tuple(int(c) for c in codes))
        if key in self._prepared:  # every prediction passes here: a set lookup
            return
        argtypes = tuple(self.signature(dtype))
        array = self.entries(argtypes)
        restype = self.unprepared.overloads[argtypes].signature.return_type
        for code in set(key[1]):
            if code in self.kernels:
                kernel = self.kernels[code]
                address = _address(kernel, argtypes)
                # every entry is called as the trap is typed: one return type
                if kernel.overloads[argtypes].signature.return_type != restype:
                    raise TypeError(f"{self.name}: the kernel of code {code} returns "
                                    f"{kernel.overloads[argtypes].signature.return_type}, "
                                    f"not {restype}")  # fmt: skip
                array[code] = address
        self._prepared.add(key)


def _address(dispatcher, argtypes):
    argtypes = tuple(argtypes)
    dispatcher.compile(argtypes)
    result = dispatcher.overloads[argtypes]
    return result.library.get_pointer_to_function(result.fndesc.llvm_func_name)


@dataclass(frozen=True)
class TableLoader:
    """A picklable ``reload_init`` hook: binds a table's symbol before a
    cached caller that reads it is loaded."""

    module: str
    name: str
    argtypes: tuple

    def __call__(self):
        table = getattr(importlib.import_module(self.module), self.name)
        table.entries(self.argtypes)


def table_call(table, module, attribute):
    """The function compiled code calls as ``call(code, *args)`` to run
    ``table``'s kernel of ``code``; ``module.attribute`` names the table (for
    cached callers)."""

    def typer(typingctx, code, *args):
        given = tuple(args)
        argtypes = tuple(table.signature(numba.np.numpy_support.as_dtype(given[0].dtype)))
        # arrays as the table's kernels take them; scalars converted (a float
        # threshold to the arrays' dtype)
        if len(given) != len(argtypes) or any(
            g != a and (isinstance(a, types.Array) or typingctx.can_convert(g, a) is None)
            for g, a in zip(given, argtypes)
        ):
            raise numba.core.errors.TypingError(f"{table.name} takes {argtypes}, got {given}")
        table.entries(argtypes)  # compiles the trap for argtypes, binds the symbol
        restype = table.unprepared.overloads[argtypes].signature.return_type
        symbol = table.symbol(argtypes)

        def codegen(context, builder, signature, llargs):
            fnty = context.call_conv.get_function_type(restype, argtypes)
            table_type = llvmir.ArrayType(fnty.as_pointer(), table.size)
            global_table = builder.module.globals.get(symbol)
            if global_table is None:
                global_table = cgutils.add_global_variable(builder.module, table_type, symbol)
                global_table.linkage = "external"
            slot = builder.gep(global_table, [cgutils.int32_t(0), llargs[0]])
            function = builder.load(slot)
            values = [
                context.cast(builder, value, g, a)
                for value, g, a in zip(
                    cgutils.unpack_tuple(builder, llargs[1], len(given)), given, argtypes
                )
            ]
            loader = TableLoader(module, attribute, argtypes)
            return _emit_call(context, builder, function, restype, argtypes, values, loader)

        return restype(code, types.StarArgTuple.from_types(given)), codegen

    return intrinsic(typer)


__all__ = ["ENABLED", "KernelTable", "separate", "symbol_name", "table_call"]
