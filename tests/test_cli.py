"""The command line: train/predict round trip on a CSV file, bad files, bench smoke test.

Every command runs as ``python -m fastffnn ...`` in a subprocess, as a user runs it.
"""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification

from fastffnn import model_files
from fastffnn.__main__ import main

FEATURES = ["f0", "f1", "f2", "f3", "f4"]
LABELS = np.array(["cat", "dog", "bird"])


def fastffnn(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "fastffnn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def data():
    """240 rows, 5 numeric features, string labels; the label column sits in the middle."""
    X, y = make_classification(
        n_samples=240,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=0,
    )
    return X, LABELS[y]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    """(folder, train result) after ``train`` on a CSV file with string labels."""
    folder = tmp_path_factory.mktemp("cli")
    X, y = data
    header = [*FEATURES[:2], "animal", *FEATURES[2:]]
    rows = [[*x[:2], label, *x[2:]] for x, label in zip(X.tolist(), y)]
    write_csv(folder / "train.csv", header, rows)
    result = fastffnn(
        "train",
        "train.csv",
        "--target",
        "animal",
        "--hidden",
        "16,8",
        "--max-iter",
        "100",
        "--out",
        "model.skops",
        cwd=folder,
    )
    return folder, result


def read_rows(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_train_reports_accuracy_and_writes_the_model(trained, data):
    folder, result = trained
    assert result.returncode == 0, result.stderr
    assert "held-out accuracy: " in result.stdout
    assert "Traceback" not in result.stderr
    bundle = model_files.load(folder / "model.skops")
    assert bundle["feature_names"] == FEATURES
    assert bundle["target"] == "animal"
    assert bundle["classes"] == sorted(LABELS.tolist())
    assert 0.5 < bundle["held_out_accuracy"] <= 1.0
    assert bundle["model"][-1].hidden_layer_sizes == (16, 8)
    assert bundle["model"][-1].n_iter_ >= 1


def test_predict_matches_the_estimator_loaded_from_the_model_file(trained, data):
    folder, result = trained
    assert result.returncode == 0, result.stderr
    X, _ = data
    predicted = fastffnn(
        "predict", "model.skops", "train.csv", "--out", "predictions.csv", cwd=folder
    )
    assert predicted.returncode == 0, predicted.stderr
    rows = read_rows(folder / "predictions.csv")
    assert rows[0] == ["animal"]
    expected = model_files.load(folder / "model.skops")["model"].predict(X)
    assert [row[0] for row in rows[1:]] == expected.tolist()
    assert set(expected) <= set(LABELS)


def test_predict_selects_the_feature_columns_by_name(trained, data):
    """Columns in another order, an extra id column and no target column."""
    folder, result = trained
    assert result.returncode == 0, result.stderr
    X, _ = data
    header = ["id", *reversed(FEATURES)]
    rows = [[f"row{i}", *reversed(x)] for i, x in enumerate(X[:50].tolist())]
    write_csv(folder / "new.csv", header, rows)
    predicted = fastffnn("predict", "model.skops", "new.csv", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    assert "ignoring columns the model does not use: 'id'" in predicted.stderr
    lines = predicted.stdout.splitlines()
    expected = model_files.load(folder / "model.skops")["model"].predict(X[:50])
    assert lines == ["animal", *expected.tolist()]


def test_predict_proba_writes_a_header_of_class_names(trained, data):
    folder, result = trained
    assert result.returncode == 0, result.stderr
    X, _ = data
    predicted = fastffnn("predict", "model.skops", "train.csv", "--proba", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(predicted.stdout.splitlines()))
    model = model_files.load(folder / "model.skops")["model"]
    assert rows[0] == [str(label) for label in model.classes_] == sorted(LABELS.tolist())
    probabilities = np.array(rows[1:], dtype=float)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)


def test_train_without_test_split_and_without_refit(tmp_path, data):
    X, y = data
    write_csv(
        tmp_path / "d.csv", [*FEATURES, "y"], [[*x, label] for x, label in zip(X.tolist(), y)]
    )
    result = fastffnn(
        "train",
        "d.csv",
        "--target",
        "y",
        "--max-iter",
        "5",
        "--test-size",
        "0",
        "--out",
        "all.skops",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "held-out accuracy" not in result.stdout
    assert "fitted on all 240 rows" in result.stdout
    assert model_files.load(tmp_path / "all.skops")["held_out_accuracy"] is None
    result = fastffnn(
        "train",
        "d.csv",
        "--target",
        "y",
        "--max-iter",
        "5",
        "--no-refit",
        "--out",
        "split.skops",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "fitted on the 192 training rows" in result.stdout
    scaler = model_files.load(tmp_path / "split.skops")["model"][0].named_transformers_["numbers"][
        -1
    ]
    assert scaler.n_samples_seen_ == 192


TRAIN = ["train", "--target", "y", "--max-iter", "5"]
BAD_FILES = {  # case -> (command arguments, text the error line must contain)
    "missing file": ([*TRAIN, "missing.csv"], "missing.csv: no such file"),
    "directory": ([*TRAIN, "."], "is a directory"),
    "empty file": ([*TRAIN, "empty.csv"], "empty.csv is empty"),
    "header only": ([*TRAIN, "header_only.csv"], "no data rows"),
    "missing target": (["train", "good.csv", "--target", "label"], "no target column 'label'"),
    "not comma-separated": ([*TRAIN, "semicolons.csv"], "is it comma-separated?"),
    "empty column": ([*TRAIN, "empty_column.csv"], "column 'x2' is empty in every row; drop it"),
    "identifier column": ([*TRAIN, "ids.csv"], "column 'id' holds a different value in every"),
    "infinite number": ([*TRAIN, "inf.csv"], "line 6: column 'x2' holds 'inf', not a number"),
    "drop unknown": ([*TRAIN, "good.csv", "--drop", "zz"], "--drop names no column"),
    "ragged row": ([*TRAIN, "ragged.csv"], "line 6: 2 fields, but the header has 3"),
    "not utf-8": ([*TRAIN, "latin1.csv"], "not a UTF-8 text file"),
    "one class": ([*TRAIN, "one_class.csv"], "one class only"),
    "output folder missing": ([*TRAIN, "good.csv", "--out", "no/m.skops"], "no directory"),
    "model missing": (["predict", "missing.skops", "good.csv"], "no such model file"),
    "model not a model file": (["predict", "text.skops", "good.csv"], "cannot read text.skops"),
    "model not from train": (["predict", "dict.skops", "good.csv"], "not a model written by"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    good = [["1.0", "2.0", "a"], ["3.0", "4.0", "b"], ["5.0", "6.0", "a"], ["7.0", "8.0", "b"]]
    header = ["x1", "x2", "y"]
    write_csv(folder / "good.csv", header, good)
    write_csv(folder / "empty_column.csv", header, [[row[0], "", row[2]] for row in good])
    write_csv(folder / "inf.csv", header, [*good, ["1.5", "inf", "a"]])
    write_csv(folder / "ids.csv", ["id", *header],
              [[f"c{k:03d}", *good[k % 4]] for k in range(30)])  # fmt: skip
    write_csv(folder / "header_only.csv", header, [])
    write_csv(folder / "ragged.csv", header, [*good, ["1.5", "a"]])
    write_csv(folder / "one_class.csv", header, [row[:2] + ["a"] for row in good])
    (folder / "empty.csv").write_text("")
    (folder / "semicolons.csv").write_text("x1;x2;y\n1;2;a\n")
    (folder / "latin1.csv").write_bytes("x1,x2,y\n1,2,caf\xe9\n".encode("latin-1"))
    (folder / "text.skops").write_text("hello")
    model_files.save(folder / "dict.skops", {"some": "dict"})
    return folder


def assert_one_error_line(result, expected):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fastffnn: error: ")
    assert expected in lines[0]


def run_in_process(arguments, capsys):
    """main(arguments) in this process, as a CompletedProcess (faster than a subprocess)."""
    capsys.readouterr()
    returncode = main([str(argument) for argument in arguments])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, returncode, out, err)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_give_one_error_line_and_exit_code_2(bad_files, case, capsys, monkeypatch):
    monkeypatch.chdir(bad_files)
    arguments, expected = BAD_FILES[case]
    assert_one_error_line(run_in_process(arguments, capsys), expected)


@pytest.mark.parametrize("case", ["missing file", "identifier column", "model not a model file"])
def test_bad_files_in_a_real_process(bad_files, case):
    """The same as the user sees it: nothing but the error line, no traceback."""
    arguments, expected = BAD_FILES[case]
    assert_one_error_line(fastffnn(*arguments, cwd=bad_files), expected)


def test_predict_with_wrong_columns_or_bad_values(trained, capsys):
    folder, result = trained
    assert result.returncode == 0, result.stderr
    write_csv(folder / "wrong.csv", ["f0", "f1", "f2", "animal"], [[1, 2, 3, "cat"]])
    assert_one_error_line(
        run_in_process(["predict", folder / "model.skops", folder / "wrong.csv"], capsys),
        "lacks the model's feature columns 'f3', 'f4'",
    )
    # the target column is ignored even when it holds strings; a numeric feature may not
    write_csv(folder / "text.csv", [*FEATURES, "animal"], [[1, 2, "x", 4, 5, "cat"]])
    assert_one_error_line(
        run_in_process(["predict", folder / "model.skops", folder / "text.csv"], capsys),
        "line 2: column 'f2' holds 'x', not a number",
    )


CHURN_HEADER = ["tenure", "city", "plan", "monthly", "postcode", "churn"]
CITIES = ["paris", "lyon", "lille", "nice"]


def churn_rows(n, seed, cities=CITIES):
    """A churn-style table: numbers and categories, empty cells in both."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        tenure, city, plan = rng.integers(1, 60), cities[k % len(cities)], ["basic", "pro"][k % 2]
        monthly = 20 + 30 * (plan == "pro") + rng.normal(0, 3)
        churn = "yes" if tenure < 12 + 10 * (city == "paris") else "no"
        row = [str(tenure), city, plan, f"{monthly:.2f}", f"P{k % 50:02d}", churn]
        if k % 7 == 0:
            row[1] = ""  # a missing category
        if k % 11 == 0:
            row[3] = "NA"  # a missing number
        rows.append(row)
    return rows


def test_train_and_predict_a_table_with_categories_and_missing_cells(tmp_path):
    """Text columns are one-hot encoded (sparse), empty cells imputed; predict applies
    the saved pipeline to a new file, a city unseen in training included."""
    write_csv(tmp_path / "churn.csv", CHURN_HEADER, churn_rows(300, 0))
    result = fastffnn("train", "churn.csv", "--target", "churn", "--hidden", "16",
                      "--max-iter", "200", "--out", "churn.skops", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 numeric and 3 categorical feature columns" in result.stdout
    accuracy = float(result.stdout.split("held-out accuracy: ")[1].split()[0])
    assert accuracy > 0.8, result.stdout
    new_rows = churn_rows(40, 1, cities=[*CITIES, "brest"])
    write_csv(tmp_path / "new.csv", CHURN_HEADER[:-1], [row[:-1] for row in new_rows])
    result = fastffnn("predict", "churn.skops", "new.csv", "--proba", "--out", "p.csv",
                      cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = np.array(read_rows(tmp_path / "p.csv")[1:], dtype=float)

    from fastffnn import tables

    bundle = model_files.load(tmp_path / "churn.skops")
    categorical = ["city", "plan", "postcode"]
    assert bundle["categorical_features"] == categorical
    X = tables.feature_matrix("new.csv", CHURN_HEADER[:-1], [r[:-1] for r in new_rows],
                              list(range(2, 42)), ["tenure", "monthly"], categorical)  # fmt: skip
    np.testing.assert_allclose(written, bundle["model"].predict_proba(X), rtol=1e-12)
    import scipy.sparse

    assert scipy.sparse.issparse(bundle["model"][0].transform(X))  # one-hot: the sparse path


def test_train_model_tabular_and_predict(tmp_path):
    """--model tabular: a TabularMLPClassifier on the columns as read (categories,
    missing cells), saved as a skops file that predict loads; an unseen city."""
    write_csv(tmp_path / "churn.csv", CHURN_HEADER, churn_rows(300, 0))
    result = fastffnn("train", "churn.csv", "--target", "churn", "--model", "tabular",
                      "--max-iter", "60", "--out", "churn.skops", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "TabularMLPClassifier(n_epochs=60)" in result.stdout
    accuracy = float(result.stdout.split("held-out accuracy: ")[1].split()[0])
    assert accuracy > 0.8, result.stdout
    new_rows = churn_rows(40, 1, cities=[*CITIES, "brest"])
    write_csv(tmp_path / "new.csv", CHURN_HEADER[:-1], [row[:-1] for row in new_rows])
    result = fastffnn("predict", "churn.skops", "new.csv", "--proba", "--out", "p.csv",
                      cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = np.array(read_rows(tmp_path / "p.csv")[1:], dtype=float)
    from fastffnn import TabularMLPClassifier, tables

    bundle = model_files.load(tmp_path / "churn.skops")
    assert isinstance(bundle["model"], TabularMLPClassifier)
    categorical = ["city", "plan", "postcode"]
    X = tables.feature_matrix("new.csv", CHURN_HEADER[:-1], [r[:-1] for r in new_rows],
                              list(range(2, 42)), ["tenure", "monthly"], categorical)  # fmt: skip
    np.testing.assert_allclose(written, bundle["model"].predict_proba(X), rtol=1e-6)


def test_drop_leaves_out_an_identifier(tmp_path):
    rows = [[f"id{k}", *row] for k, row in enumerate(churn_rows(60, 2))]
    write_csv(tmp_path / "ids.csv", ["customer", *CHURN_HEADER], rows)
    result = fastffnn("train", "ids.csv", "--target", "churn", "--max-iter", "20",
                      "--drop", "customer", "--out", "m.skops", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "customer" not in model_files.load(tmp_path / "m.skops")["feature_names"]


def test_bench_tiny_writes_json_and_chart(tmp_path):
    """Smoke test of the comparison command (no timing assertions)."""
    result = fastffnn(
        "bench",
        "--tiny",
        "--no-torch",
        "--json",
        tmp_path / "bench.json",
        "--chart",
        tmp_path / "bench.png",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "fastffnn" in result.stdout and "scikit-learn" in result.stdout
    report = json.loads((tmp_path / "bench.json").read_text())
    assert {row["config"]["name"] for row in report["results"]} >= {"S", "D"}
    for row in report["results"]:
        assert row["runs"]["fastffnn"]["seconds_per_epoch"] > 0
        # every library again on one thread (the issue asks for both figures)
        assert set(row["runs_1_thread"]) == set(row["runs"])
        assert row["runs_1_thread"]["fastffnn"]["seconds_per_epoch"] > 0
    assert "1 thread" in result.stdout
    # the inference peer: onnxruntime (a dev dependency) on the same weights
    for dtype in ("float32", "float64"):
        inference = report["inference"][dtype]
        assert inference["onnxruntime_max_difference"] < (1e-5 if dtype == "float32" else 1e-12)
        for key in [k for k in inference if k.endswith("_rows_us")]:
            assert set(inference[key]) == {"fastffnn", "scikit-learn", "onnxruntime"}
            assert min(inference[key].values()) > 0
    assert "onnxruntime" in result.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no chart: matplotlib is not installed" in result.stdout
    else:
        assert (tmp_path / "bench.png").stat().st_size > 0


# ------------------------------------------------------------ regression


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    """A house-price table as pandas' to_csv writes it: an unnamed index column,
    a numeric column with '?' for missing cells, a text column, a continuous target."""
    pd = pytest.importorskip("pandas")
    folder = tmp_path_factory.mktemp("houses")
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"area": rng.uniform(50, 200, n),
                          "rooms": rng.integers(1, 6, n).astype(object),
                          "town": rng.choice(["north", "south", "east"], n)})  # fmt: skip
    frame["price"] = (1000 * frame["area"] + 20000 * (frame["town"] == "north")
                      + rng.normal(0, 5000, n) + 0.5)  # fmt: skip
    frame.loc[::13, "rooms"] = "?"
    frame.to_csv(folder / "houses.csv")
    return folder


def test_train_picks_regression_for_a_continuous_target_and_reports_r2(houses):
    result = fastffnn("train", "houses.csv", "--target", "price", "--na-values", "?",
                      "--max-iter", "300", "--out", "price.skops", cwd=houses)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "continuous: regression" in out
    assert "numeric (numbers in every filled cell): 'area', 'rooms'" in out
    assert "categorical (text, one-hot encoded): 'town'" in out
    assert "dropped 'Unnamed: 0': an unnamed first column: a row index" in out
    r2 = float(out.split("held-out R²: ")[1].split(",")[0])
    assert r2 > 0.9, out
    bundle = model_files.load(houses / "price.skops")
    assert bundle["task"] == "regression" and bundle["held_out_r2"] == pytest.approx(r2, abs=1e-4)
    predicted = fastffnn("predict", "price.skops", "houses.csv", cwd=houses)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(predicted.stdout.splitlines()))
    assert rows[0] == ["price"] and len(rows) == 301
    values = np.array([float(row[0]) for row in rows[1:]])
    prices = np.array([float(row[-1]) for row in list(csv.reader(open(houses / "houses.csv")))[1:]])
    assert np.median(np.abs(values - prices)) < 10000
    refused = fastffnn("predict", "price.skops", "houses.csv", "--proba", cwd=houses)
    assert refused.returncode == 2 and "regression model" in refused.stderr


def test_without_na_values_a_question_mark_column_is_categorical(houses):
    result = fastffnn("train", "houses.csv", "--target", "price", "--max-iter", "5",
                      "--test-size", "0", "--out", "q.skops", cwd=houses)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "categorical (text, one-hot encoded): 'rooms', 'town'" in result.stdout


def test_task_regression_for_a_whole_number_target(tmp_path):
    rng = np.random.default_rng(1)
    rows = [[f"{x:.3f}", str(int(10 * x) + 3)] for x in rng.uniform(0, 5, 200)]
    write_csv(tmp_path / "counts.csv", ["x", "count"], rows)
    auto = fastffnn("train", "counts.csv", "--target", "count", "--max-iter", "5",
                    "--test-size", "0", "--out", "a.skops", cwd=tmp_path)  # fmt: skip
    assert "classes" in auto.stdout  # whole numbers: classes, as type_of_target says
    told = fastffnn("train", "counts.csv", "--target", "count", "--task", "regression",
                    "--max-iter", "50", "--out", "r.skops", cwd=tmp_path)  # fmt: skip
    assert told.returncode == 0, told.stderr
    assert "held-out R²" in told.stdout
    bad = fastffnn("train", "counts.csv", "--target", "x", "--task", "classification",
                   "--max-iter", "2", "--test-size", "0", "--out", "c.skops",
                   cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 0  # 200 distinct values as classes: allowed when asked for
