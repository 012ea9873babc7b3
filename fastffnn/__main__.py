"""Command line: ``python -m fastffnn {demo,train,predict,convert,bench,compile}``
(also ``fastffnn ...``).

demo      train on scikit-learn's bundled digits, print accuracy and time per epoch
train     train a preprocessing + FFNNClassifier (or FFNNRegressor) pipeline on a CSV file, save it
predict   predict labels, values or class probabilities for a CSV file with a saved model
convert   a model file that is a pickle (older train) to a skops file
bench     side-by-side speed comparison with scikit-learn, PyTorch and onnxruntime
compile   compile everything into numba's on-disk cache (for images, CI caches, clusters)

A bad input file is reported as one line on stderr, ``fastffnn: error: ...``,
with exit code 2.
"""

import argparse
import csv
import math
import os
import sys
import time
import warnings

from fastffnn import registry

MODEL_FORMAT = "fastffnn.cli.model/2"  # the "format" key of a file written by train
#: Names of files that once were pickles; a skops file so named gets a note.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
#: Files of numeric columns only, written before categorical columns were read.
NUMERIC_MODEL_FORMAT = "fastffnn.cli.model/1"


class CommandError(Exception):
    """A user-facing error: printed as one ``fastffnn: error:`` line, exit code 2."""


# ------------------------------------------------------------------ demo


def demo(args):
    """Train on scikit-learn's bundled digits and print accuracy and time per epoch."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fastffnn import FFNNClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = make_pipeline(
        StandardScaler(),
        FFNNClassifier(hidden_layer_sizes=(100,), max_iter=args.epochs, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget
        start = time.perf_counter()
        FFNNClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X[:20], y[:20])
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
    network = model[-1]
    print(f"digits: {X_train.shape[0]} training / {X_test.shape[0]} held-out examples, "
          f"{X.shape[1]} features, 10 classes")  # fmt: skip
    print(f"network: {X.shape[1]}-100-10, relu, adam, {network.n_iter_} epochs")
    print(f"held-out accuracy: {model.score(X_test, y_test):.4f}")
    print(f"time per epoch: {1e3 * elapsed / network.n_iter_:.2f} ms "
          f"(compiling or loading the cached core first took {warmup:.2f} s)")  # fmt: skip
    return 0


# ------------------------------------------------------------ CSV files


def read_csv(path):
    """(column names, rows of strings, line number of each row) of a CSV file.

    Comma-separated, UTF-8 (a byte-order mark is allowed), a header line first;
    blank lines are skipped. Raises CommandError for anything unusable.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            if header is None:
                raise CommandError(f"{path} is empty; expected a header line of column names")
            header = [name.strip() for name in header]
            rows, lines = [], []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise CommandError(f"{path}, line {reader.line_num}: {len(row)} fields, but "
                                       f"the header has {len(header)}")  # fmt: skip
                rows.append(row)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not a UTF-8 text file") from None
    except csv.Error as error:
        raise CommandError(f"{path} is not a readable CSV file: {error}") from None
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    if header and not header[0]:
        header[0] = INDEX_COLUMN  # what pandas' to_csv writes for the index, and reads back as
    if any(not name for name in header):
        raise CommandError(f"{path}: the header has an empty column name "
                           f"(column {header.index('') + 1})")  # fmt: skip
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CommandError(f"{path}: duplicate column names in the header: "
                           f"{', '.join(map(repr, duplicates))}")  # fmt: skip
    if not rows:
        raise CommandError(f"{path} has a header but no data rows")
    return header, rows, lines


#: The name of an unnamed first column (a DataFrame's index, as ``to_csv`` writes it).
INDEX_COLUMN = "Unnamed: 0"


def _columns_hint(path, header):
    hint = f"{path} has the columns {', '.join(map(repr, header))}"
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        hint += " (is it comma-separated?)"
    return hint


def numeric_columns(path, header, rows, lines, names):
    """The columns ``names`` of ``rows`` as a float64 array (n_rows, len(names)).

    Every value must be a finite number; the first one that is not is reported
    with its line and column.
    """
    import numpy as np

    index = [header.index(name) for name in names]
    cells = [[row[i] for i in index] for row in rows]
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(rows), len(names))
    except ValueError:
        X = None
    if X is not None and np.isfinite(X).all():
        return X
    values = []
    for row, line in zip(cells, lines):
        for name, cell in zip(names, row):
            try:
                value = float(cell)
            except ValueError:
                if not cell.strip():
                    raise CommandError(f"{path}, line {line}: column {name!r} is empty; feature "
                                       "columns need a number in every row") from None  # fmt: skip
                raise CommandError(f"{path}, line {line}: column {name!r} holds {cell!r}, not a "
                                   "number; feature columns must be numeric") from None  # fmt: skip
            if not math.isfinite(value):
                raise CommandError(f"{path}, line {line}: column {name!r} holds {cell!r}; "
                                   "feature values must be finite numbers")  # fmt: skip
            values.append(value)
    return np.array(values, dtype=np.float64).reshape(len(rows), len(names))


def _one_line(error):
    return " ".join(str(error).split())


def _report_warnings(caught):
    seen = set()
    for warning in caught:
        text = _one_line(warning.message)
        if text not in seen:
            seen.add(text)
            if "Maximum iterations" in text:
                text += " A larger --max-iter may give a better model."
            print(f"fastffnn: warning: {text}", file=sys.stderr)


def _check_output_dir(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"cannot write {path}: no directory {directory}")


# ----------------------------------------------------------------- train


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected positive layer sizes separated by commas, like 100,50; got {text!r}"
        )
    return sizes


def _test_size(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _drop(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _na_values(text):
    return tuple(value.strip() for value in text.split(",") if value.strip())


def _task(y, asked):
    """ "classification" or "regression": as asked, or by scikit-learn's
    ``type_of_target`` of the target column read as numbers where it can be."""
    if asked != "auto":
        return asked
    import numpy as np
    from sklearn.utils.multiclass import type_of_target

    try:
        values = np.array(y, dtype=np.float64)
    except ValueError:
        return "classification"  # labels that are not numbers
    return "regression" if type_of_target(values) == "continuous" else "classification"


def train(args):
    """Train a preprocessing + FFNNClassifier (or FFNNRegressor) pipeline on a CSV file and save it.

    Numeric columns are median-imputed and standardized, text columns imputed
    and one-hot encoded (``fastffnn.tables``). The task is regression when
    the target is continuous (scikit-learn's ``type_of_target``) or --task
    says so; a regressor learns the standardized target. The held-out
    accuracy (R² and mean absolute error for regression) is measured on a
    --test-size split (stratified for classes); then, unless --no-refit, the
    pipeline is fitted again on every row and that model is saved, as a skops
    file (``fastffnn.model_files``), which loads without running code.
    """
    from fastffnn import tables

    header, rows, lines = read_csv(args.data)
    if args.target not in header:
        raise CommandError(f"no target column {args.target!r}: {_columns_hint(args.data, header)}")
    unknown = [name for name in args.drop if name not in header]
    if unknown:
        raise CommandError(f"--drop names no column of {args.data}: "
                           f"{', '.join(map(repr, unknown))}")  # fmt: skip
    dropped = {name: "--drop" for name in args.drop}
    if header[0] == INDEX_COLUMN and INDEX_COLUMN != args.target:
        dropped.setdefault(INDEX_COLUMN, "an unnamed first column: a row index, as written by "
                                         "pandas' to_csv")  # fmt: skip
    features = [name for name in header if name != args.target and name not in dropped]
    if not features:
        raise CommandError(f"{args.data} has no feature columns besides the target {args.target!r}")
    try:
        columns = [[row[header.index(name)] for row in rows] for name in features]
        numeric, categorical = tables.column_kinds(args.data, features, columns, args.na_values)
        X = tables.feature_matrix(args.data, header, rows, lines, numeric, categorical,
                                  args.na_values)  # fmt: skip
    except tables.TableError as error:
        raise CommandError(str(error)) from None
    target_index = header.index(args.target)
    y = [row[target_index].strip() for row in rows]
    for label, line in zip(y, lines):
        if not label or label in args.na_values:
            raise CommandError(f"{args.data}, line {line}: the target column {args.target!r} "
                               "is empty")  # fmt: skip
    _check_output_dir(args.out)

    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    import fastffnn
    from fastffnn import FFNNClassifier, FFNNRegressor, model_files

    task = _task(y, args.task)
    tabular = args.model == "tabular"
    epochs = args.max_iter or (256 if tabular else 200)
    settings = dict(hidden_layer_sizes=args.hidden, activation=args.activation,
                    max_iter=epochs, random_state=args.random_state,
                    verbose=args.verbose)  # fmt: skip
    if task == "regression":
        try:
            y = np.array(y, dtype=np.float64)
        except ValueError:
            raise CommandError(f"--task regression: the target column {args.target!r} holds "
                               "values that are not numbers") from None  # fmt: skip
        if not np.isfinite(y).all():
            raise CommandError(f"the target column {args.target!r} holds values that are not "
                               "finite numbers")  # fmt: skip
        stratify, classes = None, None
    else:
        y = np.array(y, dtype=object)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise CommandError(f"the target column {args.target!r} holds one class only "
                               f"({classes[0]!r}); a classifier needs two or more")  # fmt: skip
        stratify = y

    def new_model():
        if tabular:  # encodes the columns itself; the regressor standardizes y itself
            from fastffnn import TabularMLPClassifier, TabularMLPRegressor

            kind = TabularMLPClassifier if task == "classification" else TabularMLPRegressor
            text_columns = list(range(len(numeric), len(numeric) + len(categorical)))
            return kind(n_epochs=epochs, random_state=args.random_state,
                        verbose=bool(args.verbose), categorical_features=text_columns)  # fmt: skip
        preprocessing = tables.preprocessing(len(numeric), len(categorical))
        if task == "classification":
            return make_pipeline(preprocessing, FFNNClassifier(**settings))
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler

        return TransformedTargetRegressor(make_pipeline(preprocessing, FFNNRegressor(**settings)),
                                          transformer=StandardScaler())  # fmt: skip

    what = (f"target {args.target!r} with {len(classes)} classes" if task == "classification"
            else f"target {args.target!r}, continuous: regression")  # fmt: skip
    print(f"data: {len(rows)} rows, {len(numeric)} numeric and {len(categorical)} categorical "
          f"feature columns, {what}")  # fmt: skip
    print(f"columns: numeric (numbers in every filled cell): {_names(numeric)}")
    print(f"columns: categorical (text, one-hot encoded): {_names(categorical)}")
    for name, why in dropped.items():
        print(f"columns: dropped {name!r}: {why}")
    if tabular:
        estimator = ("TabularMLPClassifier" if task == "classification"
                     else "TabularMLPRegressor")  # fmt: skip
        print(f"model: {estimator}(n_epochs={epochs}): RealMLP-TD's recipe, the best epoch on "
              "a 20% validation split")  # fmt: skip
    else:
        estimator = "FFNNClassifier" if task == "classification" else "FFNNRegressor"
        print(f"model: impute + scale / one-hot + {estimator}(hidden_layer_sizes={args.hidden}, "
              f"activation={args.activation!r}, max_iter={epochs})")  # fmt: skip
    held_out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if args.test_size > 0:
                if stratify is not None and counts.min() < 2:
                    rare = classes[counts.argmin()]
                    raise CommandError(
                        f"class {rare!r} of {args.target!r} has a single row; a stratified "
                        "split needs two or more per class (or use --test-size 0, or --task "
                        "regression for a number)"
                    )
                try:
                    X_train, X_test, y_train, y_test = train_test_split(
                        X, y, test_size=args.test_size, stratify=stratify,
                        random_state=args.random_state,
                    )  # fmt: skip
                except ValueError as error:
                    raise CommandError(f"cannot split {len(rows)} rows for testing: "
                                       f"{_one_line(error)}") from None  # fmt: skip
                model = new_model().fit(X_train, y_train)
                kind = "stratified " if stratify is not None else ""
                split = (f"({len(y_test)} rows, {kind}{args.test_size:.0%} split, "
                         f"random_state={args.random_state})")  # fmt: skip
                if task == "classification":
                    held_out["accuracy"] = float(model.score(X_test, y_test))
                    print(f"held-out accuracy: {held_out['accuracy']:.4f} {split}")
                else:
                    from sklearn.metrics import mean_absolute_error

                    predicted = model.predict(X_test)
                    held_out["r2"] = float(model.score(X_test, y_test))
                    held_out["mae"] = float(mean_absolute_error(y_test, predicted))
                    print(f"held-out R²: {held_out['r2']:.4f}, mean absolute error: "
                          f"{held_out['mae']:.6g} {split}")  # fmt: skip
            if args.test_size == 0 or args.refit:
                model = new_model().fit(X, y)
                print(f"{'refitted' if args.test_size > 0 else 'fitted'} on all {len(rows)} rows")
            else:
                print(f"saved the model fitted on the {len(y_train)} training rows (--no-refit)")
        except ValueError as error:
            raise CommandError(f"training failed: {_one_line(error)}") from None
        finally:
            _report_warnings(caught)
    bundle = {
        "format": MODEL_FORMAT,
        "task": task,
        "model": model,
        "feature_names": numeric + categorical,
        "numeric_features": numeric,
        "categorical_features": categorical,
        "na_values": list(args.na_values),
        "target": args.target,
        "classes": [str(label) for label in model.classes_] if task == "classification" else [],
        "held_out_accuracy": held_out.get("accuracy"),
        "held_out_r2": held_out.get("r2"),
        "held_out_mae": held_out.get("mae"),
        "fastffnn_version": getattr(fastffnn, "__version__", None),
    }
    try:
        model_files.save(args.out, bundle)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    except model_files.ModelFileError as error:
        raise CommandError(str(error)) from None
    print(f"wrote {args.out}")
    if os.path.splitext(args.out)[1].lower() in PICKLE_SUFFIXES:
        print(f"fastffnn: note: {args.out} is a skops file, not a pickle, whatever its name; "
              "load it from Python with fastffnn.model_files.load", file=sys.stderr)  # fmt: skip
    return 0


def _names(names):
    return ", ".join(map(repr, names)) if names else "none"


# --------------------------------------------------------------- predict


def _print_warning(message, *args, **kwargs):
    print(f"fastffnn: warning: {_one_line(message)}", file=sys.stderr)


def load_model(path, allow_pickle=False):
    """The dict written by ``train`` (model, feature_names, target, classes).

    A skops file loads without running code from it, or not at all when it
    names a type outside ``fastffnn.model_files.TRUSTED_TYPES``. A pickle, as
    ``train`` wrote before skops files, is refused unless ``allow_pickle``
    (``--allow-pickle``): then it loads, after a warning.
    """
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such model file" if not os.path.exists(path)
                           else f"{path} is not a model file")  # fmt: skip
    from fastffnn import model_files

    if model_files.is_pickle(path) and not allow_pickle:
        raise CommandError(f"{path} is a pickle (fastffnn train wrote pickles before skops "
                           "files), which runs whatever code it holds when loaded; if you trust "
                           f"it, convert it once to a safe model file with: fastffnn convert "
                           f"{path} model.skops (or pass --allow-pickle)")  # fmt: skip

    with warnings.catch_warnings():
        # printed as they come: the pickle warning before the pickle runs
        warnings.showwarning = _print_warning
        warnings.simplefilter("always", model_files.PickleModelWarning)
        try:
            bundle = model_files.load(path, allow_pickle=True)
        except model_files.ModelFileError as error:
            raise CommandError(str(error)) from None
    if not isinstance(bundle, dict) or bundle.get("format") not in (
        MODEL_FORMAT,
        NUMERIC_MODEL_FORMAT,
    ):
        raise CommandError(f"{path} is not a model written by 'fastffnn train'")
    if bundle["format"] == NUMERIC_MODEL_FORMAT:
        bundle = {**bundle, "numeric_features": bundle["feature_names"],
                  "categorical_features": []}  # fmt: skip
    return {"task": "classification", "na_values": [], **bundle}


def convert(args):
    """Convert a model file that is a pickle (older train) to a skops file."""
    from fastffnn import model_files

    bundle = load_model(args.model, allow_pickle=True)
    _check_output_dir(args.out)
    try:
        model_files.save(args.out, bundle)
    except (OSError, model_files.ModelFileError) as error:
        raise CommandError(f"cannot write {args.out}: {_one_line(error)}") from None
    print(f"wrote {args.out}, a skops model file that loads without running code")
    return 0


def predict(args):
    """Predict labels or values (or, with --proba, class probabilities) for a CSV file's rows."""
    bundle = load_model(args.model, args.allow_pickle)
    if args.proba and bundle["task"] == "regression":
        raise CommandError(f"{args.model} is a regression model: it predicts values, not class "
                           "probabilities; leave out --proba")  # fmt: skip
    header, rows, lines = read_csv(args.data)
    features = bundle["feature_names"]
    missing = [name for name in features if name not in header]
    if missing:
        raise CommandError(f"{args.data} lacks the model's feature column"
                           f"{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(map(repr, missing))}; the model was trained on "
                           f"{', '.join(map(repr, features))}")  # fmt: skip
    ignored = [name for name in header if name not in features and name != bundle["target"]]
    if ignored:
        print(f"fastffnn: note: ignoring columns the model does not use: "
              f"{', '.join(map(repr, ignored))}", file=sys.stderr)  # fmt: skip
    from fastffnn import tables

    if bundle["format"] == NUMERIC_MODEL_FORMAT:  # its pipeline takes numbers only
        X = numeric_columns(args.data, header, rows, lines, features)
    else:
        try:
            X = tables.feature_matrix(
                args.data,
                header,
                rows,
                lines,
                bundle["numeric_features"],
                bundle["categorical_features"],
                tuple(bundle["na_values"]),
            )
        except tables.TableError as error:
            raise CommandError(str(error)) from None
    if args.out:
        _check_output_dir(args.out)
    model = bundle["model"]
    if args.proba:
        table = [bundle["classes"], *model.predict_proba(X).tolist()]
    else:
        table = [[bundle["target"]], *([label] for label in model.predict(X).tolist())]
    if args.out:
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as file:
                csv.writer(file).writerows(table)
        except OSError as error:
            raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
        print(f"wrote {len(rows)} {'probability rows' if args.proba else 'predictions'} "
              f"to {args.out}", file=sys.stderr)  # fmt: skip
    else:
        csv.writer(sys.stdout, lineterminator="\n").writerows(table)
    return 0


# ----------------------------------------------------------------- bench


def _bench(args):
    from fastffnn.bench import main as bench_main

    return bench_main(args)


def compile_command(args):
    """Compile everything a user can call into numba's on-disk cache."""
    from fastffnn.precompile import compile_all

    try:
        seconds = compile_all(args.jobs)
    except RuntimeError as error:
        raise CommandError(str(error)) from None

    print(f"compiled everything in {seconds:.1f} s; cache: {_cache_location()}")
    return 0


def _cache_location():
    import numba

    return numba.config.CACHE_DIR or "__pycache__ beside fastffnn's sources (or the user cache)"


# ------------------------------------------------------------------ main


def build_parser():
    """The ``argparse`` parser of the command line, one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog="fastffnn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help=demo.__doc__)
    demo_parser.add_argument(
        "--epochs", type=int, default=100, help="training epochs (default: 100)"
    )
    demo_parser.set_defaults(run=demo)

    train_parser = commands.add_parser(
        "train",
        help="train a preprocessing + FFNNClassifier pipeline (or a tabular model) on a CSV file",
        description=train.__doc__ + "\nThe CSV file has a header line; feature columns may "
        "hold numbers or text (categories) and empty cells; the target column may hold any "
        "labels (strings).",
    )
    train_parser.add_argument("data", metavar="DATA.csv")
    train_parser.add_argument(
        "--target", required=True, metavar="COLUMN", help="name of the label column"
    )
    train_parser.add_argument(
        "--drop",
        type=_drop,
        default=[],
        metavar="COLUMNS",
        help="comma-separated columns to leave out (identifiers, free text)",
    )
    train_parser.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=(100,),
        metavar="SIZES",
        help="hidden layer sizes, comma-separated (default: 100)",
    )
    train_parser.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto (default): regression when the target is continuous (scikit-learn's "
        "type_of_target), else classification",
    )
    train_parser.add_argument(
        "--na-values",
        type=_na_values,
        default=(),
        metavar="MARKERS",
        help="more cell values meaning missing, comma-separated, like '?,-' (empty, nan, NA, "
        "N/A, null and None always are)",
    )
    train_parser.add_argument(
        "--activation",
        default="relu",
        choices=[name for name in registry.HIDDEN_ACTIVATIONS if name not in registry.ALIASES],
        help="hidden activation (default: relu)",
    )
    train_parser.add_argument(
        "--model",
        choices=["ffnn", "tabular"],
        default="ffnn",
        help="ffnn (default): one-hot/scaling + FFNNClassifier or FFNNRegressor, "
        "MLPClassifier's model; tabular: TabularMLPClassifier or TabularMLPRegressor "
        "(RealMLP-TD's recipe; --hidden and --activation do not apply)",
    )
    train_parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        metavar="N",
        help="training epochs at most (default: 200, or 256 with --model tabular)",
    )
    train_parser.add_argument(
        "--test-size",
        type=_test_size,
        default=0.2,
        metavar="FRACTION",
        help="share of rows held out to measure accuracy; 0 skips the measurement (default: 0.2)",
    )
    train_parser.add_argument(
        "--no-refit",
        dest="refit",
        action="store_false",
        help="save the model fitted on the training split instead of refitting on all rows",
    )
    train_parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the split and the network (default: 0)",
    )
    train_parser.add_argument(
        "--verbose",
        type=int,
        default=0,
        metavar="LEVEL",
        help="1: a line per epoch, 2: a progress bar (default: 0)",
    )
    train_parser.add_argument(
        "--out",
        default="model.skops",
        metavar="MODEL",
        help="where to write the model, a skops file (default: model.skops)",
    )
    train_parser.set_defaults(run=train)

    predict_parser = commands.add_parser(
        "predict",
        help="predict the rows of a CSV file with a model written by train",
        description=predict.__doc__ + " The file needs the model's feature columns (by "
        "name, in any order); the target column and other columns are ignored. A skops "
        "model file loads without running code from it; a pickle (a .joblib file of an "
        "older train) runs whatever code it holds: load only pickles you trust.",
    )
    predict_parser.add_argument("model", metavar="MODEL.skops")
    predict_parser.add_argument("data", metavar="DATA.csv")
    predict_parser.add_argument(
        "--proba", action="store_true", help="write class probabilities, one column per class"
    )
    predict_parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load a model file that is a pickle (runs its code; only for files you trust)",
    )
    predict_parser.add_argument(
        "--out", metavar="PREDICTIONS.csv", help="output CSV file (default: standard output)"
    )
    predict_parser.set_defaults(run=predict)

    convert_parser = commands.add_parser(
        "convert",
        help=convert.__doc__,
        description=convert.__doc__ + " Loading the pickle "
        "runs whatever code it holds: convert only files you trust.",
    )
    convert_parser.add_argument("model", metavar="OLD.joblib")
    convert_parser.add_argument("out", metavar="NEW.skops")
    convert_parser.set_defaults(run=convert)

    bench_parser = commands.add_parser(
        "bench", help="side-by-side speed comparison (training and predict_proba)"
    )
    bench_parser.add_argument("--tiny", action="store_true", help="tiny sizes (smoke test)")
    bench_parser.add_argument("--only", help="comma-separated configs: S,M,L,W,D")
    bench_parser.add_argument(
        "--repeats", type=int, default=3, help="timed fits per library (default: 3)"
    )
    bench_parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    bench_parser.add_argument(
        "--no-single-thread", action="store_true", help="skip the 1-thread run of every library"
    )
    bench_parser.add_argument(
        "--json", default="bench_results.json", help="report file (default: bench_results.json)"
    )
    bench_parser.add_argument(
        "--chart", default="bench_results.png", help="bar chart PNG (default: bench_results.png)"
    )
    bench_parser.set_defaults(run=_bench)

    compile_parser = commands.add_parser(
        "compile",
        help=compile_command.__doc__,
        description=compile_command.__doc__ + " Both dtypes, dense and sparse input, every "
        "solver, predict and jacobian, in parallel worker processes. The cache goes where "
        "numba puts it: NUMBA_CACHE_DIR if set, else __pycache__ beside the sources.",
    )
    compile_parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="worker processes (default: cores)"
    )
    compile_parser.set_defaults(run=compile_command)
    return parser


def main(argv=None):
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CommandError as error:
        print(f"fastffnn: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `fastffnn predict ... | head`
        sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
