"""Model files of the command line: skops files, which load without running code.

``fastffnn train`` writes its model with :func:`save`, a skops file
(``skops.io``): a zip of a JSON description of every object and the arrays in
numpy's format. :func:`load` reads one without running anything from it: it
first lists every type the file names and refuses the file if any is not in
:data:`TRUSTED_TYPES` (the types a fastffnn pipeline is made of) or is stored
otherwise than as data (:data:`TRUSTED_LOADERS`), then lets skops build the
objects, trusting that list and nothing more.

A pickle (joblib) file, as ``fastffnn train`` wrote before skops files, can
run any code when it loads. :func:`load` reads one only when asked
(``allow_pickle=True``, which the command line passes), and warns first.

From Python::

    from fastffnn import model_files

    model = model_files.load("model.skops")["model"]  # the fitted pipeline
"""

import io
import json
import os
import warnings
import zipfile

import numpy as np


class ModelFileError(ValueError):
    """A file that is no model file, or one that cannot be read or written."""


class UntrustedTypesError(ModelFileError):
    """A skops file naming types outside :data:`TRUSTED_TYPES`, or stored by a
    loader outside :data:`TRUSTED_LOADERS`; nothing in it was run.

    ``types`` lists them, as :func:`untrusted_in` does.
    """

    def __init__(self, message, types):
        super().__init__(message)
        self.types = types


class PickleModelWarning(UserWarning):
    """A model file is a pickle: loading it runs whatever code it holds."""


def _type_names(types):
    return tuple(f"{t.__module__}.{t.__name__}" for t in types)


def _trusted_types():
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelBinarizer, LabelEncoder, OneHotEncoder, StandardScaler

    from fastffnn.classifier import FFNNClassifier
    from fastffnn.registry import ParameterGroup
    from fastffnn.regressor import FFNNRegressor
    from fastffnn.solvers import OptimizerState
    from fastffnn.tabular.encoding import TableEncoder
    from fastffnn.tabular.estimators import TabularMLPClassifier, TabularMLPRegressor
    from fastffnn.tabular.network import TabularLayout

    objects = [
        # the pipeline of fastffnn.tables.preprocessing and the network
        Pipeline, ColumnTransformer, SimpleImputer, StandardScaler, OneHotEncoder,
        FFNNClassifier, FFNNRegressor,
        TransformedTargetRegressor,  # the command line's regression: y standardized
        LabelBinarizer,  # FFNNClassifier's labels
        OptimizerState,  # Adam's moments or SGD's velocity, for partial_fit
        # the tabular estimators and their parts (--model tabular)
        TabularMLPClassifier, TabularMLPRegressor, TableEncoder, TabularLayout, ParameterGroup,
        LabelEncoder,
        np.random.RandomState,  # an estimator's random_state, as scikit-learn keeps it
    ]  # fmt: skip
    data = [
        dict, list, tuple, set, str, int, float, bool, slice,
        np.ndarray, np.dtype, np.bool_,
        np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
        np.float16, np.float32, np.float64,
    ]  # fmt: skip
    return _type_names(objects) + _type_names(data)


#: Every type a model file may name (``module.name``): scikit-learn's pipeline
#: and preprocessing classes that ``fastffnn train`` uses, fastffnn's
#: estimators and their parts, containers, numbers, strings, arrays and dtypes.
TRUSTED_TYPES = _trusted_types()


def _schema(file, name):
    """The parsed ``schema.json`` of the skops file ``file`` (a path or a binary file)."""
    try:
        with zipfile.ZipFile(file) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"cannot read {name} as a skops model file "
                             f"({type(error).__name__}: {error})") from None  # fmt: skip
    if not isinstance(schema, dict):
        raise ModelFileError(f"cannot read {name} as a skops model file (no schema)")
    return schema


#: How skops may store the objects of a model file (the ``__loader__`` of each):
#: containers, JSON values, types, objects from their attributes, arrays, dtypes
#: and RandomState. The others (functions, methods, operators, constructor
#: calls, ...) are refused, even for a trusted type: a model file needs none.
TRUSTED_LOADERS = frozenset({
    "DictNode", "ListNode", "TupleNode", "SetNode", "SliceNode", "JsonNode", "TypeNode",
    "ObjectNode", "NdArrayNode", "DTypeNode", "RandomStateNode",
})  # fmt: skip


def untrusted_in(schema, trusted=TRUSTED_TYPES):
    """What a skops schema names that a model file does not trust, sorted.

    Every object of a skops file is a JSON object with ``__module__``,
    ``__class__`` and ``__loader__`` keys; all of them are checked, however
    deeply nested, and a JSON object with any of the keys counts, so none is
    missed. A type outside ``trusted`` is listed as ``module.name``; a trusted
    type stored by a loader outside :data:`TRUSTED_LOADERS` as
    ``module.name (stored as Loader)``.
    """
    trusted, found, pending = set(trusted), set(), [schema]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if any(key in item for key in ("__module__", "__class__", "__loader__")):
                name = f"{item.get('__module__')}.{item.get('__class__')}"
                loader = item.get("__loader__")
                if name not in trusted:
                    found.add(name)
                elif loader not in TRUSTED_LOADERS:
                    found.add(f"{name} (stored as {loader})")
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return sorted(found)


_TRUSTED_IN_WORDS = (
    "a model file holds scikit-learn's pipeline and preprocessing classes, fastffnn's "
    "estimators, numbers, strings and arrays only"
)


def save(path, payload, *, trusted=()):
    """Write ``payload`` (e.g. the dict of ``fastffnn train``) to ``path`` as a skops file.

    Raises UntrustedTypesError, and writes nothing, when ``payload`` holds a
    type :func:`load` would refuse (outside :data:`TRUSTED_TYPES` and
    ``trusted``, further ``module.name`` strings).
    """
    import skops.io

    data = skops.io.dumps(payload, compression=zipfile.ZIP_DEFLATED)  # a 14th of the size
    untrusted = untrusted_in(_schema(io.BytesIO(data), "the model"), [*TRUSTED_TYPES, *trusted])
    if untrusted:
        raise UntrustedTypesError(f"cannot save the model: it holds types that model files do not "
                                  f"trust: {', '.join(untrusted)} ({_TRUSTED_IN_WORDS})",
                                  untrusted)  # fmt: skip
    with open(path, "wb") as file:
        file.write(data)


def is_pickle(path):
    """True when ``path`` is a pickle (protocol 2 or later, as joblib writes) and no zip."""
    if zipfile.is_zipfile(path):
        return False
    with open(path, "rb") as file:
        return file.read(1) == b"\x80"


def load(path, *, trusted=(), allow_pickle=False):
    """The object saved in the model file ``path`` by :func:`save` (or ``fastffnn train``).

    A skops file is loaded without running code from it; any type outside
    :data:`TRUSTED_TYPES` and ``trusted`` (further ``module.name`` strings you
    trust) raises UntrustedTypesError, naming them, before anything is built.
    A pickle raises ModelFileError unless ``allow_pickle``: then it loads with
    joblib after a PickleModelWarning, and runs whatever code it holds.
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    name = os.fspath(path)
    if is_pickle(path):
        if not allow_pickle:
            raise ModelFileError(f"{name} is a pickle, which can run any code when it loads; "
                                 "load it with allow_pickle=True only if you trust it")  # fmt: skip
        warnings.warn(
            f"{name} is a pickle (fastffnn train wrote pickles before skops files): loading it "
            "runs whatever code it holds, so load only files you trust. Convert it to a safe "
            f"model file once with: fastffnn convert {name} model.skops",
            PickleModelWarning,
            stacklevel=2,
        )
        import joblib

        try:
            return joblib.load(path)
        except Exception as error:  # unpickling a foreign file can raise almost anything
            raise ModelFileError(f"cannot read {name} as a pickle "
                                 f"({type(error).__name__})") from None  # fmt: skip
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"cannot read {name} as a model file: it is neither a skops file "
                             "nor a pickle")  # fmt: skip
    trusted = [*TRUSTED_TYPES, *trusted]
    untrusted = untrusted_in(_schema(path, name), trusted)
    if untrusted:
        raise UntrustedTypesError(f"{name} holds types that fastffnn model files do not trust: "
                                  f"{', '.join(untrusted)}; it was refused and nothing in it "
                                  f"was run ({_TRUSTED_IN_WORDS})", untrusted)  # fmt: skip
    try:
        return skops.io.load(path, trusted=trusted)
    except UntrustedTypesFoundException as error:  # skops' own audit, after ours
        message = f"{name} holds types that skops does not trust: {_one_line(error)}"
        raise UntrustedTypesError(f"{message}; nothing in it was run", []) from None
    except Exception as error:  # a damaged or foreign file
        raise ModelFileError(f"cannot read {name} as a skops model file "
                             f"({type(error).__name__}: {_one_line(error)})") from None  # fmt: skip


def _one_line(error):
    return " ".join(str(error).split())
