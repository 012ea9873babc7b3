"""asv benchmarks: epoch time, peak memory, accuracy, predict latency and cold start.

Run against the current environment with ``asv run --python=same --quick``.
Every ``setup`` compiles (or loads) the core on a tiny fit first, so
compilation is never inside a ``time_`` benchmark; ``timeraw_`` benchmarks
measure cold import and first fit in a fresh interpreter on purpose.
"""

import subprocess
import sys
import timeit
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from fastffnn import FFNNClassifier, bench
from fastffnn.bench import CONFIGS, make_data

from .startup import FIRST_FIT, FIRST_FIT_FLOAT32, IMPORT, MLP_FIT

CONFIG_NAMES = [config.name for config in CONFIGS]
_BY_NAME = {config.name: config for config in CONFIGS}


def _model(estimator_class, config, epochs):
    return estimator_class(
        hidden_layer_sizes=config.hidden, batch_size=config.batch_size, max_iter=epochs,
        tol=0.0, n_iter_no_change=10**9, random_state=0,
    )  # fmt: skip


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


class Benchmark:
    timer = timeit.default_timer
    timeout = 600
    processes = 1


class Epoch(Benchmark):
    """One warm training epoch (Adam) per configuration of the comparison."""

    params = CONFIG_NAMES
    param_names = ["config"]

    def setup(self, name):
        self.config = _BY_NAME[name]
        self.X, _, self.y, _ = make_data(self.config)
        _fit(_model(FFNNClassifier, self.config, 1), self.X[:64], self.y[:64])  # compile / load

    def time_epoch(self, name):
        _fit(_model(FFNNClassifier, self.config, 1), self.X, self.y)

    def time_epoch_mlpclassifier(self, name):
        _fit(_model(MLPClassifier, self.config, 1), self.X, self.y)


class Fit(Benchmark):
    """Peak memory of a fit and held-out accuracy after the comparison's epochs."""

    params = ["S", "D"]
    param_names = ["config"]

    def setup(self, name):
        self.config = _BY_NAME[name]
        self.X, self.X_test, self.y, self.y_test = make_data(self.config)
        _fit(_model(FFNNClassifier, self.config, 1), self.X[:64], self.y[:64])

    def peakmem_fit(self, name):
        _fit(_model(FFNNClassifier, self.config, 2), self.X, self.y)

    def track_accuracy(self, name):
        model = _fit(_model(FFNNClassifier, self.config, self.config.epochs), self.X, self.y)
        return model.score(self.X_test, self.y_test)

    track_accuracy.unit = "accuracy"


class Predict(Benchmark):
    """predict_proba latency on 1 row and throughput on 10,000 rows."""

    def setup(self):
        self.config = _BY_NAME["S"]
        X, X_test, y, _ = make_data(self.config)
        self.model = _fit(_model(FFNNClassifier, self.config, 1), X, y)
        self.row = X_test[:1]
        self.rows = X[:10_000]
        self.model.predict_proba(self.row)

    def time_predict_proba_1_row(self):
        self.model.predict_proba(self.row)

    def time_predict_proba_10000_rows(self):
        self.model.predict_proba(self.rows)


class Inference(Benchmark):
    """predict_proba of the bench's inference network (200-256-128-10) on 10,000
    rows and one row, fastffnn against onnxruntime running the same weights."""

    params = (["float32", "float64"], [10_000, 1])
    param_names = ["dtype", "rows"]

    def setup(self, dtype, rows):
        config = bench.INFERENCE
        config = bench.Config(config.name, config.n_samples, config.n_features,
                              config.n_classes, config.hidden, config.batch_size, dtype,
                              config.epochs)  # fmt: skip
        X, X_test, y, _ = make_data(config)
        self.model = _fit(_model(FFNNClassifier, config, 1), X, y)
        self.session = bench.onnxruntime_session(self.model, X)
        self.rows = np.ascontiguousarray(X_test[:rows])
        self.model.predict_proba(self.rows)

    def time_predict_proba(self, dtype, rows):
        self.model.predict_proba(self.rows)

    def time_onnxruntime(self, dtype, rows):
        if isinstance(self.session, str):
            raise NotImplementedError(self.session)  # asv: skipped, with the reason
        self.session.run(["probabilities"], {self.session.get_inputs()[0].name: self.rows})


class Targets(Benchmark):
    """The speed targets' figures as asv tracks them over commits, each from
    peers measured in the same process: a configuration's share of the GEMM
    peak, its speed-up over MLPClassifier (and PyTorch, when installed), and
    ``predict_proba`` on 10,000 rows against onnxruntime."""

    params = ["S", "M", "L float64", "L float32"]
    param_names = ["config"]
    timeout = 1200

    def setup_cache(self):
        from fastffnn.bench import gemm_peak

        return {dtype: gemm_peak(np.dtype(dtype)) for dtype in ("float64", "float32")}

    def setup(self, peaks, name):
        self.config = _BY_NAME[name]
        self.data = make_data(self.config)
        _fit(_model(FFNNClassifier, self.config, 1), self.data[0][:64], self.data[2][:64])
        self.ours = bench.run_fastffnn(self.config, self.data, 3)["seconds_per_epoch"]

    def track_percent_of_gemm_peak(self, peaks, name):
        flops = 6 * bench.n_weights(self.config) * self.data[0].shape[0]
        return 100 * flops / self.ours / 1e9 / peaks[self.config.dtype]

    track_percent_of_gemm_peak.unit = "% of peak"

    def track_speedup_vs_mlpclassifier(self, peaks, name):
        return bench.run_sklearn(self.config, self.data, 3)["seconds_per_epoch"] / self.ours

    track_speedup_vs_mlpclassifier.unit = "x"

    def track_speedup_vs_pytorch(self, peaks, name):
        outcome = bench.run_torch(self.config, self.data, 3)
        if "skipped" in outcome:
            raise NotImplementedError(outcome["skipped"])  # asv: skipped, with the reason
        return outcome["seconds_per_epoch"] / self.ours

    track_speedup_vs_pytorch.unit = "x"


class InferenceTargets(Benchmark):
    """fastffnn's ``predict_proba`` speed over onnxruntime's on the same network
    and rows (``bench.time_inference``), as asv tracks it."""

    params = (["float32", "float64"], [10_000, 1])
    param_names = ["dtype", "rows"]

    def track_speedup_vs_onnxruntime(self, dtype, rows):
        result = bench.time_inference(dtype, rows=(rows,))
        times = result[f"{rows}_rows_us"]
        if "onnxruntime" not in times:
            raise NotImplementedError(result["onnxruntime"]["skipped"])
        return times["onnxruntime"] / times["fastffnn"]

    track_speedup_vs_onnxruntime.unit = "x"


class ColdStart(Benchmark):
    """Fresh interpreters (``benchmarks/startup.py`` prints the same rows as
    ratios against MLPClassifier): import, the first fit with an empty numba
    cache in float64 and then float32, the first fit with a warm cache, and
    the compile-everything command. Each cold run gets a new temporary
    NUMBA_CACHE_DIR, so no repeat finds the previous one's machine code."""

    number = 1
    repeat = 3
    warmup_time = 0
    timeout = 1200

    def setup(self):
        subprocess.run([sys.executable, "-c", FIRST_FIT], check=True)  # the warm rows' cache
        subprocess.run([sys.executable, "-c", FIRST_FIT_FLOAT32], check=True)

    def timeraw_import(self):
        return IMPORT

    def timeraw_first_fit_warm_cache(self):
        return FIRST_FIT

    def timeraw_first_fit_empty_cache(self):
        return _EMPTY_CACHE + FIRST_FIT

    def timeraw_first_float32_fit_after_float64(self):
        # the float64 fit is in the timed code too: subtract timeraw_first_fit_empty_cache
        return _EMPTY_CACHE + FIRST_FIT + FIRST_FIT_FLOAT32

    def timeraw_compile_command(self):
        return _EMPTY_CACHE + "from fastffnn.precompile import compile_all\ncompile_all()\n"

    def timeraw_mlpclassifier_import_and_fit(self):
        return MLP_FIT


_EMPTY_CACHE = """
import atexit, os, shutil, tempfile
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastffnn-asv-")
atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], True)
"""
