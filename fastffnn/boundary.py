"""The one place where arrays become what compiled code takes.

Whatever the user passed (NumPy arrays writable or read-only, memory maps,
pandas or polars columns and frames, Fortran order, integer or boolean X),
compiled code sees one type per dtype and kind of input, so each entry point
is compiled once per (dtype, dense or CSR):

- X, never written, is a **read-only** C-ordered array of the training
  dtype: a read-only view of the validated array (no copy), or for a sparse
  X the tuple ``(data, indices, indptr, rows)`` of read-only arrays
  (``fastffnn.kernels.inputs``);
- Y and s, small and read per batch, are **owned** writable C-ordered copies
  in the training dtype, so compiled code never writes to a user's array and
  never meets a read-only one;
- the network's arrays are owned by the estimator, and the kernels of its
  activations are compiled (``kernels.activations.prepare``) before compiled
  code runs it: only the activations a network uses are ever compiled.

Validation of the user's input (what is accepted and the errors for what is
not) comes before, in the estimators; this module converts what passed it,
and refuses codes the registry (``fastffnn.registry``) does not know.
"""

import numpy as np
import scipy.sparse

from fastffnn import registry
from fastffnn.bundles import Data, Network
from fastffnn.kernels import activations, costs


def read_only(array):
    """A read-only view of a plain ndarray (never a copy, never a subclass)."""
    view = array.view(np.ndarray)
    view.flags.writeable = False
    return view


def compiled_input(X, dtype):
    """X as compiled code takes it: dense X as a read-only, aligned, C-ordered
    ndarray of ``dtype`` (copied only when it is not one already); a scipy
    sparse matrix or array as the CSR tuple ``(data, indices, indptr, rows)``
    of read-only arrays (data in ``dtype``, the rest int64)."""
    if type(X) is np.ndarray:  # the common case first: a one-row prediction is ~10 us in all
        flags = X.flags
        if X.dtype == dtype and flags.c_contiguous and flags.aligned:
            view = X.view()
            view.flags.writeable = False
            return view
    if scipy.sparse.issparse(X):
        X = X.tocsr()
        parts = (
            np.ascontiguousarray(X.data, dtype=dtype),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.indptr, dtype=np.int64),
            np.arange(X.shape[0], dtype=np.int64),
        )
        return tuple(read_only(_aligned(part)) for part in parts)
    return read_only(_aligned(np.ascontiguousarray(X, dtype=dtype)))


def _aligned(array):
    return array if array.flags.aligned else array.copy()


def owned(array, dtype):
    """A writable, C-ordered copy of ``array`` in ``dtype``."""
    return np.array(array, dtype=dtype, order="C", copy=True)


def training_data(X, Y, s, dtype):
    """The ``bundles.Data`` of validated X, encoded targets Y (n, n^[L]) and
    sample weights s (n,)."""
    return Data(compiled_input(X, dtype), owned(Y, dtype), owned(s, dtype))


def network(params, sizes, codes, cost_parameter=0.0):
    """The ``bundles.Network`` of a flat parameter buffer (used in place),
    layer sizes and codes (int64 copies) and the cost's parameter (in
    ``params``' dtype)."""
    if not (isinstance(params, np.ndarray) and params.flags.writeable
            and params.flags.c_contiguous and params.ndim == 1):  # fmt: skip
        raise ValueError("the parameter buffer must be a writable 1-D C-ordered array")
    n_layers = len(sizes) - 1
    unknown = [int(c) for c in np.asarray(codes)[:n_layers] if c not in registry.ACTIVATION_CODES]
    if len(codes) not in (n_layers, n_layers + 1) or unknown:
        raise ValueError(f"activation codes {list(codes)} do not match {n_layers} layers of the "
                         "registry's activations (fastffnn.registry)")  # fmt: skip
    if len(codes) > n_layers and codes[n_layers] not in registry.COST_CODES:
        raise ValueError(f"unknown cost code {codes[n_layers]} (fastffnn.registry)")
    activations.prepare(np.asarray(codes)[:n_layers], params.dtype)
    if len(codes) > n_layers:
        costs.prepare(codes[n_layers], params.dtype)
    return Network(
        params,
        owned(sizes, np.int64),
        owned(codes, np.int64),
        params.dtype.type(cost_parameter),
    )
