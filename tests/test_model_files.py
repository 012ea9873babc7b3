"""Safe model files: ``fastffnn train`` writes skops files, ``fastffnn predict``
loads them without running code and refuses any type outside
``fastffnn.model_files.TRUSTED_TYPES``; legacy joblib pickles still load, with a warning.

The command line runs as ``python -m fastffnn ...`` in a subprocess, as a user runs it.
"""

import csv
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from fastffnn import FFNNClassifier, model_files, tables
from fastffnn.__main__ import MODEL_FORMAT, main, read_csv

HEADER = ["tenure", "city", "plan", "monthly", "churn"]
CITIES = ["paris", "lyon", "lille", "nice"]
TRAIN = ["train", "data.csv", "--target", "churn", "--hidden", "12", "--max-iter", "40",
         "--test-size", "0", "--random-state", "3"]  # fmt: skip


def fastffnn(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastffnn", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def rows(n, seed):
    """Numbers and categories, with missing cells in both (the sparse one-hot path)."""
    rng = np.random.default_rng(seed)
    table = []
    for k in range(n):
        tenure, city, plan = rng.integers(1, 60), CITIES[k % 4], ["basic", "pro"][k % 2]
        monthly = 20 + 30 * (plan == "pro") + rng.normal(0, 3)
        churn = "yes" if tenure < 12 + 10 * (city == "paris") else "no"
        row = [str(tenure), city, plan, f"{monthly:.2f}", churn]
        if k % 7 == 0:
            row[1] = ""
        if k % 11 == 0:
            row[3] = "NA"
        table.append(row)
    return table


def write_csv(path, header, table):
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([header, *table])
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with data.csv and model.skops, written by ``fastffnn train`` with its defaults."""
    folder = tmp_path_factory.mktemp("model_files")
    write_csv(folder / "data.csv", HEADER, rows(200, 0))
    result = fastffnn(*TRAIN, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "wrote model.skops" in result.stdout
    return folder


def feature_matrix(path):
    header, table, lines = read_csv(path)
    return tables.feature_matrix(
        path, header, table, lines, ["tenure", "monthly"], ["city", "plan"]
    )


def proba_table(result):
    """The probabilities a ``predict --proba`` result printed, as float64."""
    assert result.returncode == 0, result.stderr
    written = list(csv.reader(result.stdout.splitlines()))
    assert written[0] == ["no", "yes"]
    return np.array(written[1:], dtype=np.float64)


def run_in_process(arguments, capsys):
    """main(arguments) in this process, as a CompletedProcess (faster than a subprocess)."""
    capsys.readouterr()
    returncode = main([str(argument) for argument in arguments])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, returncode, out, err)


@pytest.fixture(scope="module")
def printed(folder):
    """The probabilities ``fastffnn predict model.skops data.csv --proba`` prints."""
    result = fastffnn("predict", "model.skops", "data.csv", "--proba", cwd=folder)
    assert "warning" not in result.stderr
    return proba_table(result)


# ------------------------------------------------------------- round trip


def test_train_writes_a_skops_file_that_loads_with_the_trusted_types_only(folder):
    path = folder / "model.skops"
    assert zipfile.is_zipfile(path) and not model_files.is_pickle(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pickle, no version warning
        bundle = model_files.load(path)
    assert bundle["format"] == MODEL_FORMAT
    assert bundle["numeric_features"] == ["tenure", "monthly"]
    assert bundle["categorical_features"] == ["city", "plan"]
    assert bundle["classes"] == ["no", "yes"]
    network = bundle["model"][-1]
    assert isinstance(network, FFNNClassifier) and network.hidden_layer_sizes == (12,)
    # skops itself needs exactly the fastffnn types and numpy.dtype beyond its defaults,
    # and all of them are in the list
    extra = skops.io.get_untrusted_types(file=path)
    assert set(extra) <= set(model_files.TRUSTED_TYPES)
    assert "fastffnn.classifier.FFNNClassifier" in extra


def test_predict_from_the_file_is_bit_identical_to_the_in_memory_model(folder, printed, capsys):
    """The pipeline ``train`` fits, fitted here in memory the same way, predicts the
    very probabilities ``fastffnn predict`` prints from the skops file."""
    header, table, lines = read_csv(folder / "data.csv")
    X = feature_matrix(folder / "data.csv")
    y = np.array([row[-1] for row in table], dtype=object)
    model = make_pipeline(
        tables.preprocessing(2, 2),
        FFNNClassifier(hidden_layer_sizes=(12,), max_iter=40, random_state=3),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 40 epochs: not converged
        model.fit(X, y)
    expected = model.predict_proba(X)
    np.testing.assert_array_equal(printed, expected)  # bit for bit, through the CSV text
    loaded = model_files.load(folder / "model.skops")["model"]
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    for mine, theirs in zip(model[-1].coefs_ + model[-1].intercepts_,
                            loaded[-1].coefs_ + loaded[-1].intercepts_):  # fmt: skip
        np.testing.assert_array_equal(mine, theirs)
    labels = run_in_process(["predict", folder / "model.skops", folder / "data.csv"], capsys)
    assert labels.stdout.splitlines() == ["churn", *model.predict(X).tolist()]


def test_save_and_load_round_trip_in_process(tmp_path):
    X = feature_matrix(write_csv(tmp_path / "d.csv", HEADER, rows(80, 1)))
    y = np.array([row[-1] for row in rows(80, 1)], dtype=object)
    model = make_pipeline(tables.preprocessing(2, 2),
                          FFNNClassifier((6,), max_iter=5, random_state=0))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    model_files.save(tmp_path / "m.skops", {"model": model})
    loaded = model_files.load(tmp_path / "m.skops")["model"]
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # joblib and pickle of the same pipeline keep working, for Python users
    joblib.dump(model, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict_proba(X),
                                  model.predict_proba(X))  # fmt: skip
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X),
                                  model.predict_proba(X))  # fmt: skip


# ---------------------------------------------------------- crafted files


def _schema(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("schema.json"))


def _rewrite(source, target, schema):
    """``source`` (a skops file) with ``schema`` as its schema.json, written to ``target``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = json.dumps(schema) if item.filename == "schema.json" else old.read(item)
            new.writestr(item.filename, data)
    return target


def _state(obj):
    """The skops state of ``obj``, to put into another file's schema (no memo ids)."""
    text = zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))).read("schema.json")
    state = json.loads(text, object_hook=lambda item: {k: v for k, v in item.items()
                                                       if k != "__id__"})  # fmt: skip
    for key in ("protocol", "_skops_version"):
        state.pop(key)
    return state


def os_system_node(command):
    """A skops node that calls ``os.system(command)`` when built: skops constructs a
    ConstructorFromReduceNode by calling its type with its content as arguments."""
    return {"__class__": "system", "__module__": "os", "__loader__": "ConstructorFromReduceNode",
            "content": _state((command,))}  # fmt: skip


def _find_object(schema, class_name):
    """The state of the first object of ``class_name`` in a skops schema."""
    pending = [schema]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("__class__") == class_name and item.get("__loader__") == "ObjectNode":
                return item
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    raise LookupError(class_name)


@pytest.fixture
def crafted(folder, tmp_path):
    """(path of the crafted file, marker file): model.skops with os.system(...) hidden
    in the network's ``activation`` attribute; the marker exists if the command ran."""
    marker = tmp_path / "pwned"
    schema = _schema(folder / "model.skops")
    network = _find_object(schema, "FFNNClassifier")
    network["content"]["content"]["activation"] = os_system_node(f'echo pwned > "{marker}"')
    return _rewrite(folder / "model.skops", tmp_path / "crafted.skops", schema), marker


@pytest.mark.skipif(os.name != "posix", reason="the crafted command is a POSIX shell command")
def test_the_crafted_file_really_runs_its_command_when_its_type_is_trusted(crafted):
    """The control: skops told to trust ``os.system`` does run the command, so the
    refusal tested next is what keeps it from running."""
    path, marker = crafted
    skops.io.load(path, trusted=[*model_files.TRUSTED_TYPES, "os.system"])
    assert marker.read_text().strip() == "pwned"


def test_predict_refuses_a_crafted_file_without_running_it(crafted, folder):
    path, marker = crafted
    result = fastffnn("predict", path, "data.csv", cwd=folder)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastffnn: error: "), result.stderr
    assert "do not trust: os.system;" in lines[0]
    assert "nothing in it was run" in lines[0]
    assert result.stdout == ""
    assert not marker.exists()
    with pytest.raises(model_files.UntrustedTypesError) as refused:
        model_files.load(path)
    assert refused.value.types == ["os.system"]
    assert not marker.exists()


def test_a_scikit_learn_type_that_train_never_writes_is_refused_too(folder, tmp_path, capsys):
    """skops trusts every scikit-learn estimator by default; model files trust only
    the pipeline's own classes."""
    bundle = model_files.load(folder / "model.skops")
    bundle["model"].steps.insert(0, ("scale", MinMaxScaler()))
    with pytest.raises(model_files.UntrustedTypesError, match="MinMaxScaler"):
        model_files.save(tmp_path / "refused.skops", bundle)
    assert not (tmp_path / "refused.skops").exists()  # nothing written
    skops.io.dump(bundle, tmp_path / "other.skops")  # written by skops directly
    result = run_in_process(["predict", tmp_path / "other.skops", folder / "data.csv"], capsys)
    assert result.returncode == 2
    assert "do not trust: sklearn.preprocessing._data.MinMaxScaler;" in result.stderr
    loaded = model_files.load(tmp_path / "other.skops",
                              trusted=["sklearn.preprocessing._data.MinMaxScaler"])  # fmt: skip
    assert isinstance(loaded["model"][0], MinMaxScaler)


def test_a_trusted_type_stored_as_a_method_is_refused(crafted, folder, tmp_path, capsys):
    """A bound method of a trusted type: model files hold no methods, so it is
    refused, whatever types the caller trusts."""
    path, _ = crafted
    schema = _schema(path)
    network = _find_object(schema, "FFNNClassifier")
    network["content"]["content"]["activation"] = {
        "__class__": "Pipeline", "__module__": "sklearn.pipeline", "__loader__": "MethodNode",
        "content": {"func": "fit", "obj": _state(make_pipeline(StandardScaler()))},
    }  # fmt: skip
    method = _rewrite(path, tmp_path / "method.skops", schema)
    # the control: skops told to trust the method loads it as the network's activation
    loaded = skops.io.load(
        method, trusted=[*model_files.TRUSTED_TYPES, "sklearn.pipeline.Pipeline.fit"]
    )
    assert callable(loaded["model"][-1].activation)
    result = run_in_process(["predict", method, folder / "data.csv"], capsys)
    assert result.returncode == 2
    assert "do not trust: sklearn.pipeline.Pipeline (stored as MethodNode);" in result.stderr
    with pytest.raises(model_files.UntrustedTypesError, match="stored as MethodNode"):
        model_files.load(method, trusted=["sklearn.pipeline.Pipeline.fit"])


def test_untrusted_in_finds_every_type_however_deep():
    schema = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
              "content": {
        "a": [{"x": {"__module__": "os", "__class__": "system"}}],
        "b": {"__class__": "lonely"},  # part of a node still counts
        "c": {"__class__": "str", "__module__": "builtins", "__loader__": "FunctionNode"},
        "d": {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode"},
    }}  # fmt: skip
    assert model_files.untrusted_in(schema) == [
        "None.lonely",
        "builtins.str (stored as FunctionNode)",
        "os.system",
    ]


# ---------------------------------------------------------- legacy pickles


def test_a_legacy_joblib_file_is_refused_naming_the_conversion_and_loads_when_allowed(
    folder, printed, tmp_path, capsys
):
    """Written as ``train`` wrote before skops files: the dict, by joblib.dump."""
    shutil.copy(folder / "data.csv", tmp_path / "data.csv")
    joblib.dump(model_files.load(folder / "model.skops"), tmp_path / "legacy.joblib")
    refused = fastffnn("predict", "legacy.joblib", "data.csv", "--proba", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "is a pickle" in refused.stderr
    assert "fastffnn convert legacy.joblib model.skops" in refused.stderr
    # --allow-pickle: loads after the warning
    result = fastffnn("predict", "legacy.joblib", "data.csv", "--proba", "--allow-pickle",
                      cwd=tmp_path)  # fmt: skip
    np.testing.assert_array_equal(proba_table(result), printed)
    warning = result.stderr.splitlines()[0]
    assert warning.startswith("fastffnn: warning: legacy.joblib is a pickle"), result.stderr
    assert "runs whatever code it holds" in warning
    # the conversion the error names gives a skops model predicting the same
    converted = fastffnn("convert", "legacy.joblib", "model.skops", cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    assert zipfile.is_zipfile(tmp_path / "model.skops")
    again = run_in_process(["predict", str(tmp_path / "model.skops"),
                            str(tmp_path / "data.csv"), "--proba"], capsys)  # fmt: skip
    assert again.stderr == ""
    np.testing.assert_array_equal(proba_table(again), printed)
    # from Python: refused unless asked for, then a PickleModelWarning
    with pytest.raises(model_files.ModelFileError, match="is a pickle"):
        model_files.load(tmp_path / "legacy.joblib")
    with pytest.warns(model_files.PickleModelWarning, match="is a pickle"):
        bundle = model_files.load(tmp_path / "legacy.joblib", allow_pickle=True)
    assert bundle["format"] == MODEL_FORMAT


class _Loud:
    """Unpickling one writes to stderr: a stand-in for code a pickle runs."""

    def __reduce__(self):
        return os.write, (2, b"code from the pickle ran\n")


def test_the_pickle_warning_comes_before_the_pickle_runs(folder, tmp_path):
    with open(tmp_path / "loud.joblib", "wb") as file:
        pickle.dump(_Loud(), file, protocol=4)
    result = fastffnn("predict", tmp_path / "loud.joblib", "data.csv", "--allow-pickle",
                      cwd=folder)  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("fastffnn: warning: ") and "is a pickle" in lines[0], lines
    assert lines[1] == "code from the pickle ran"  # what the warning is about
    assert lines[2].startswith("fastffnn: error: ") and "not a model written by" in lines[2]


def test_a_file_neither_skops_nor_pickle_is_refused_unread(tmp_path):
    (tmp_path / "notes.skops").write_text("hello")
    with pytest.raises(model_files.ModelFileError, match="neither a skops file nor a pickle"):
        model_files.load(tmp_path / "notes.skops")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "a zip, but no skops file")
    with pytest.raises(model_files.ModelFileError, match="cannot read .* as a skops model file"):
        model_files.load(tmp_path / "other.zip")


def test_a_model_named_like_a_pickle_is_still_a_skops_file(folder, tmp_path, capsys):
    """The format follows the content, not the name; the name gets a note."""
    arguments = [*TRAIN, "--max-iter", "3", "--out", tmp_path / "m.joblib"]
    arguments[1] = folder / "data.csv"
    result = run_in_process(arguments, capsys)
    assert result.returncode == 0, result.stderr
    assert "m.joblib is a skops file, not a pickle" in result.stderr
    assert zipfile.is_zipfile(tmp_path / "m.joblib")
    assert model_files.load(tmp_path / "m.joblib")["format"] == MODEL_FORMAT
