"""Side-by-side speed comparison: ``python -m fastffnn bench``.

The same data, architecture, optimizer (Adam), batch size, epochs and dtype
through fastffnn, scikit-learn's MLPClassifier and (when installed) PyTorch on
the CPU, with a plain GEMM as the ceiling. Every timing is warm: compilation
(fastffnn) and first-call set-up are done before the clock starts and reported
separately. Every library runs twice: on all cores, then on one thread
(numba, BLAS and PyTorch limited to 1). Prints the tables, writes JSON and,
with matplotlib, a bar chart.
"""

import contextlib
import json
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Config:
    """One configuration of the comparison: data, network, batch size, dtype, epochs."""

    name: str
    n_samples: int
    n_features: int
    n_classes: int
    hidden: tuple
    batch_size: int
    dtype: str
    epochs: int
    digits: bool = False
    nonzeros_per_row: int = 0  # > 0: sparse (CSR) X, a bag of words


CONFIGS = (
    Config("S", 20_000, 50, 5, (100,), 200, "float64", 10),
    Config("M", 30_000, 40, 5, (64, 64), 128, "float64", 5),
    Config("L float64", 20_000, 256, 10, (512, 256), 256, "float64", 3),
    Config("L float32", 20_000, 256, 10, (512, 256), 256, "float32", 3),
    Config("W", 20_000, 20_000, 5, (100,), 200, "float64", 2, nonzeros_per_row=50),
    Config("D", 1_797, 64, 10, (100,), 200, "float64", 20, digits=True),
)


def tiny(config):
    """The same configuration shrunk for a smoke test."""
    return Config(config.name, min(config.n_samples, 600), min(config.n_features, 16),
                  config.n_classes, tuple(min(h, 16) for h in config.hidden),
                  min(config.batch_size, 64), config.dtype, 2, config.digits,
                  min(config.nonzeros_per_row, 4))  # fmt: skip


def bag_of_words(config):
    """A sparse (CSR) X of ``nonzeros_per_row`` word weights in (0, 1] per row and
    classes from the quintiles of a random linear score: (X, y), fixed seeds."""
    import scipy.sparse

    rng = np.random.default_rng(0)
    X = scipy.sparse.random(config.n_samples, config.n_features,
                            density=config.nonzeros_per_row / config.n_features, format="csr",
                            random_state=0, dtype=config.dtype)  # fmt: skip
    score = X @ rng.standard_normal(config.n_features)
    quantiles = np.quantile(score, np.linspace(0, 1, config.n_classes + 1)[1:-1])
    return X, np.digitize(score, quantiles)


def make_data(config):
    """Standardized (X_train, X_test, y_train, y_test) for ``config``, fixed seeds
    (a bag of words is left unscaled, as sparse input is)."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if config.nonzeros_per_row:
        X, y = bag_of_words(config)
        return train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    if config.digits:
        X, y = load_digits(return_X_y=True)
        X, y = X[: config.n_samples, : config.n_features], y[: config.n_samples]
    else:
        X, y = make_classification(
            n_samples=config.n_samples, n_features=config.n_features,
            n_informative=min(config.n_features // 2, 30), n_redundant=0,
            n_classes=config.n_classes,
            n_clusters_per_class=1, random_state=0,
        )  # fmt: skip
    X = StandardScaler().fit_transform(X).astype(config.dtype)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)


def n_weights(config):
    """Weights an example's forward pass multiplies by: a sparse example only its
    nonzeros' rows of the first layer."""
    sizes = [config.nonzeros_per_row or config.n_features, *config.hidden, config.n_classes]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def gemm_peak(dtype, n=2048, repeats=5):
    """GFLOP/s of numpy ``a @ b`` on n x n matrices (median of ``repeats``)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def _sklearn_like(estimator_class, config, epochs):
    return estimator_class(
        hidden_layer_sizes=config.hidden, batch_size=config.batch_size, max_iter=epochs,
        tol=0.0, n_iter_no_change=10**9, random_state=0, alpha=1e-4,
    )  # fmt: skip


def time_fit(make_model, X, y, epochs, repeats):
    """Median seconds per epoch of ``make_model().fit(X, y)``, and the last model."""
    from sklearn.exceptions import ConvergenceWarning

    times, model = [], None
    for _ in range(repeats):
        model = make_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, y)
            times.append((time.perf_counter() - start) / epochs)
    return statistics.median(times), model


def run_fastffnn(config, data, repeats):
    """fastffnn's seconds per epoch, held-out accuracy and first-fit (compile) time."""
    from fastffnn import FFNNClassifier

    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch on a few batches: compile only
        _sklearn_like(FFNNClassifier, config, 1).fit(X_train[: 2 * config.batch_size],
                                                     y_train[: 2 * config.batch_size])  # fmt: skip
    warmup = time.perf_counter() - start
    seconds, model = time_fit(lambda: _sklearn_like(FFNNClassifier, config, config.epochs),
                              X_train, y_train, config.epochs, repeats)  # fmt: skip
    return {"seconds_per_epoch": seconds, "accuracy": model.score(X_test, y_test),
            "warmup_seconds": warmup}  # fmt: skip


def run_sklearn(config, data, repeats):
    """MLPClassifier's seconds per epoch and held-out accuracy."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = data
    seconds, model = time_fit(lambda: _sklearn_like(MLPClassifier, config, config.epochs),
                              X_train, y_train, config.epochs, repeats)  # fmt: skip
    return {"seconds_per_epoch": seconds, "accuracy": model.score(X_test, y_test)}


@contextlib.contextmanager
def thread_limit(n_threads):
    """Numba's and BLAS's threads limited to ``n_threads`` (None: unchanged)."""
    if n_threads is None:
        yield
        return
    import numba
    import threadpoolctl

    before = numba.get_num_threads()
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpoolctl.threadpool_limits(n_threads):
            yield
    finally:
        numba.set_num_threads(before)


def run_torch(config, data, repeats, n_threads=None):
    """The same MLP in PyTorch: Linear/ReLU layers, softmax cross-entropy, Adam,
    L2 as weight decay on the weights matching ``alpha / n_batch``."""
    if config.nonzeros_per_row:
        return {"skipped": "sparse input (not compared)"}
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed"}
    X_train, X_test, y_train, y_test = data
    torch.manual_seed(0)
    torch.set_num_threads(n_threads or os.cpu_count() or 1)
    dtype = torch.float32 if config.dtype == "float32" else torch.float64
    X = torch.from_numpy(np.ascontiguousarray(X_train)).to(dtype)
    y = torch.from_numpy(y_train.astype(np.int64))
    sizes = [config.n_features, *config.hidden, config.n_classes]

    def build():
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out, dtype=dtype), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers[:-1])

    def train(model, epochs):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_function = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            order = torch.randperm(X.shape[0])
            for start in range(0, X.shape[0], config.batch_size):
                batch = order[start : start + config.batch_size]
                optimizer.zero_grad()
                loss_function(model(X[batch]), y[batch]).backward()
                optimizer.step()

    train(build(), 1)  # warm-up
    times = []
    for _ in range(repeats):
        model = build()
        start = time.perf_counter()
        train(model, config.epochs)
        times.append((time.perf_counter() - start) / config.epochs)
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(X_test)).to(dtype))
    accuracy = float((logits.argmax(1).numpy() == y_test).mean())
    return {"seconds_per_epoch": statistics.median(times), "accuracy": accuracy}


#: The inference comparison's network and data: 200 features, hidden (256, 128), 10 classes.
INFERENCE = Config("I", 12_000, 200, 10, (256, 128), 200, "float64", 2)
INFERENCE_ROWS = (10_000, 1)


def onnxruntime_session(model, X):
    """An onnxruntime session running ``model``'s ONNX graph (fastffnn's converter,
    the same weights) on all cores, or the reason there is none."""
    try:
        import onnxruntime
        from skl2onnx import to_onnx

        from fastffnn.onnx_export import register
    except ImportError:
        return "onnxruntime or skl2onnx is not installed (the onnx extra)"
    register()
    graph = to_onnx(model, X[:1], options={"zipmap": False})
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = onnxruntime.InferenceSession(graph.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])  # fmt: skip
    return session


def median_seconds(call, argument, repeats):
    """Median seconds of ``call(argument)`` over ``repeats`` calls, after one untimed call."""
    call(argument)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(argument)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_inference(dtype, repeats=30, config=INFERENCE, rows=INFERENCE_ROWS):
    """Median microseconds of ``predict_proba`` on 10,000 rows and on one row:
    fastffnn, onnxruntime running the same network (intra-op threads = cores)
    and MLPClassifier, each given X in ``dtype``. Returns a JSON-ready dict."""
    from sklearn.neural_network import MLPClassifier

    from fastffnn import FFNNClassifier

    config = Config(config.name, config.n_samples, config.n_features, config.n_classes,
                    config.hidden, config.batch_size, dtype, config.epochs)  # fmt: skip
    X_train, X_test, y_train, _ = make_data(config)
    X = np.concatenate([X_test, X_train])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _sklearn_like(FFNNClassifier, config, config.epochs).fit(X_train, y_train)
        mlp = _sklearn_like(MLPClassifier, config, config.epochs).fit(X_train, y_train)
    session = onnxruntime_session(ours, X)
    predictors = {"fastffnn": ours.predict_proba, "scikit-learn": mlp.predict_proba}
    if isinstance(session, str):
        result = {"onnxruntime": {"skipped": session}}
    else:
        name = session.get_inputs()[0].name
        predictors["onnxruntime"] = lambda X: session.run(["probabilities"], {name: X})[0]
        result = {}
        difference = predictors["onnxruntime"](X[: rows[0]]) - ours.predict_proba(X[: rows[0]])
        result["onnxruntime_max_difference"] = float(np.abs(difference).max())
    result["network"] = "-".join(map(str, (config.n_features, *config.hidden, config.n_classes)))
    for n_rows in rows:
        block = np.ascontiguousarray(X[:n_rows])
        n_rows = block.shape[0]  # fewer for --tiny
        calls = repeats if n_rows > 1 else 100 * repeats
        result[f"{n_rows}_rows_us"] = {
            library: 1e6 * median_seconds(predict, block, calls)
            for library, predict in predictors.items()
        }  # fmt: skip
    return result


def compare(configs=CONFIGS, repeats=3, with_torch=True, single_thread=True):
    """Run every configuration; returns a JSON-ready dict.

    ``runs`` holds each library on all cores, ``runs_1_thread`` (with
    ``single_thread``) the same on one thread.
    """
    import numba
    import threadpoolctl

    peaks = {"float64": gemm_peak(np.float64), "float32": gemm_peak(np.float32)}
    results = []
    for config in configs:
        data = make_data(config)
        flops = 6 * n_weights(config) * data[0].shape[0]
        row = {"config": asdict(config), "flop_per_epoch": flops}
        runners = [("fastffnn", run_fastffnn), ("scikit-learn", run_sklearn)]
        if with_torch:
            runners.append(("pytorch", run_torch))
        for key, n_threads in (("runs", None), ("runs_1_thread", 1)):
            if n_threads == 1 and not single_thread:
                continue
            row[key] = {}
            for name, runner in runners:
                with thread_limit(n_threads):
                    if name == "pytorch":
                        outcome = runner(config, data, repeats, n_threads)
                    else:
                        outcome = runner(config, data, repeats)
                if "skipped" in outcome:
                    row[key][name] = outcome
                    continue
                outcome["gflops"] = flops / outcome["seconds_per_epoch"] / 1e9
                outcome["percent_of_peak"] = 100 * outcome["gflops"] / peaks[config.dtype]
                row[key][name] = outcome
        results.append(row)
    return {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "numba": numba.__version__,
            "threading_layer": numba.threading_layer(),
            "numba_threads": numba.get_num_threads(),
            "blas": [
                {k: info[k] for k in ("internal_api", "num_threads", "version") if k in info}
                for info in threadpoolctl.threadpool_info()
                if info.get("user_api") == "blas"
            ],
        },
        "gemm_peak_gflops": peaks,
        "results": results,
    }


def format_table(report):
    """The report of :func:`compare` (and the inference timings) as text tables."""
    lines = [
        f"GEMM peak: {report['gemm_peak_gflops']['float64']:.0f} GFLOP/s float64, "
        f"{report['gemm_peak_gflops']['float32']:.0f} GFLOP/s float32; "
        f"threading layer {report['machine']['threading_layer']}, "
        f"{report['machine']['numba_threads']} numba threads",
        "",
    ]
    for key, title in (("runs", "all cores"), ("runs_1_thread", "1 thread")):
        if not any(key in row for row in report["results"]):
            continue
        lines += [
            "",
            f"{title} (% peak: of the {report['machine']['cpu_count']}-core GEMM peak)",
            f"{'config':<11} {'library':<13} {'ms/epoch':>9} {'GFLOP/s':>8} {'% peak':>7} "
            f"{'accuracy':>8} {'fastffnn faster':>16}",
        ]
        for row in report["results"]:
            ours = row[key]["fastffnn"]["seconds_per_epoch"]
            for name, run in row[key].items():
                if "skipped" in run:
                    lines.append(
                        f"{row['config']['name']:<11} {name:<13} skipped: {run['skipped']}"
                    )
                    continue
                ratio = "" if name == "fastffnn" else f"{run['seconds_per_epoch'] / ours:.2f}x"
                lines.append(
                    f"{row['config']['name']:<11} {name:<13} "
                    f"{1e3 * run['seconds_per_epoch']:>9.2f} {run['gflops']:>8.1f} "
                    f"{run['percent_of_peak']:>6.0f}% {run['accuracy']:>8.3f} {ratio:>16}"
                )
    if "inference" in report:
        lines += ["", format_inference(report["inference"])]
    return "\n".join(lines)


def format_inference(inference):
    """The inference table: predict_proba microseconds per library, rows and dtype."""
    network = next(iter(inference.values()))["network"]
    lines = [
        f"predict_proba, a {network} network (onnxruntime: the same weights, "
        "intra-op threads = cores)",
        f"{'dtype':<8} {'rows':>6} {'library':<13} {'us':>10} {'fastffnn faster':>16}",
    ]
    for dtype, result in inference.items():
        for key, timings in result.items():
            if not key.endswith("_rows_us"):
                continue
            ours = timings["fastffnn"]
            for library, micros in timings.items():
                ratio = "" if library == "fastffnn" else f"{micros / ours:.2f}x"
                lines.append(f"{dtype:<8} {key.split('_')[0]:>6} {library:<13} {micros:>10.1f} "
                             f"{ratio:>16}")  # fmt: skip
        skipped = result.get("onnxruntime", {}).get("skipped")
        if skipped:
            lines.append(f"{dtype:<8} onnxruntime skipped: {skipped}")
    return "\n".join(lines)


def bar_chart(report, path):
    """Milliseconds per epoch per configuration and library, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    libraries = ["fastffnn", "scikit-learn", "pytorch"]
    figure, axis = plt.subplots(figsize=(8, 4))
    width = 0.27
    for k, library in enumerate(libraries):
        values = [
            1e3 * row["runs"].get(library, {}).get("seconds_per_epoch", np.nan)
            for row in report["results"]
        ]
        positions = np.arange(len(values)) + (k - 1) * width
        axis.bar(positions, values, width, label=library)
    axis.set_xticks(np.arange(len(report["results"])))
    axis.set_xticklabels([row["config"]["name"] for row in report["results"]])
    axis.set_ylabel("ms per epoch (lower is faster)")
    axis.set_yscale("log")
    axis.legend()
    axis.set_title("Training time per epoch, Adam, warm")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def main(args):
    """``python -m fastffnn bench``: run, print, write the JSON report and the chart."""
    configs = [tiny(c) for c in CONFIGS] if args.tiny else list(CONFIGS)
    if args.only:
        configs = [c for c in configs if c.name.split()[0] in args.only.split(",")]
    report = compare(configs, repeats=1 if args.tiny else args.repeats,
                     with_torch=not args.no_torch,
                     single_thread=not getattr(args, "no_single_thread", False))  # fmt: skip
    report["inference"] = {
        dtype: time_inference(dtype, repeats=2 if args.tiny else 30,
                              config=tiny(INFERENCE) if args.tiny else INFERENCE)
        for dtype in ("float32", "float64")
    }  # fmt: skip
    print(format_table(report))
    with open(args.json, "w") as file:
        json.dump(report, file, indent=2)
    print(f"\nwrote {args.json}")
    if args.chart and bar_chart(report, args.chart):
        print(f"wrote {args.chart}")
    elif args.chart:
        print("no chart: matplotlib is not installed")
    return 0
