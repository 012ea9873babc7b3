"""asv benchmarks: input Jacobians by forward and reverse accumulation.

Forward mode makes one tangent pass per input feature, reverse mode one
backward pass per output, and a pass costs about the same either way, so the
faster mode flips with the shape: ``time_jacobian`` times both (and ``auto``)
for few features / many outputs and the opposite, on a multi-label model so
that n_outputs can be large; ``track_auto_over_fastest`` is auto's time over
the faster explicit mode's (1.0 when auto picks the faster one).

Run with ``asv run --python=same --quick --bench Jacobian``, or print the same
comparison without asv: ``python benchmarks/bench_jacobian.py``.
"""

import timeit
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastffnn import FFNNClassifier

#: name -> (n_features, n_outputs)
SHAPES = {"5 features, 50 outputs": (5, 50), "50 features, 5 outputs": (50, 5)}
MODES = ["forward", "reverse", "auto"]
N_SAMPLES = 1000
HIDDEN = (64,)


def make_model(n_features, n_outputs, n_samples=N_SAMPLES, seed=0):
    """A multi-label FFNNClassifier (one logistic output per label) and its inputs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    Y = (rng.random((n_samples, n_outputs)) < 0.5).astype(np.int64)
    model = FFNNClassifier(HIDDEN, activation="tanh", max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    for mode in MODES:
        model.jacobian(X[:4], mode=mode)  # compile or load the drivers
    return model, X


def best_time(model, X, mode, repeat=7):
    """Shortest of ``repeat`` timings of one Jacobian of all of X, in seconds."""
    return min(timeit.repeat(lambda: model.jacobian(X, mode=mode), number=1, repeat=repeat))


class Jacobian:
    """Time of ``FFNNClassifier.jacobian`` on 1000 samples, by mode and shape."""

    params = (MODES, list(SHAPES))
    param_names = ["mode", "shape"]
    timeout = 300
    processes = 1

    def setup(self, mode, shape):
        self.model, self.X = make_model(*SHAPES[shape])

    def time_jacobian(self, mode, shape):
        self.model.jacobian(self.X, mode=mode)


class AutoMode:
    """Whether ``mode="auto"`` picks the faster mode for each shape."""

    params = list(SHAPES)
    param_names = ["shape"]
    timeout = 300
    processes = 1

    def setup(self, shape):
        self.model, self.X = make_model(*SHAPES[shape])

    def track_auto_over_fastest(self, shape):
        times = {mode: best_time(self.model, self.X, mode) for mode in MODES}
        return times["auto"] / min(times["forward"], times["reverse"])

    track_auto_over_fastest.unit = "ratio"


def main():
    print(f"FFNNClassifier.jacobian on {N_SAMPLES} samples, hidden layer {HIDDEN}, "
          "multi-label output, float64; best of 7")  # fmt: skip
    print(f"{'shape':<24} {'forward':>10} {'reverse':>10} {'auto':>10}  {'auto picks':<10} "
          "auto / fastest")  # fmt: skip
    for shape, (n_features, n_outputs) in SHAPES.items():
        model, X = make_model(n_features, n_outputs)
        times = {mode: best_time(model, X, mode) for mode in MODES}
        picked = "forward" if n_features < n_outputs else "reverse"
        ratio = times["auto"] / min(times["forward"], times["reverse"])
        cells = " ".join(f"{1e3 * times[mode]:>8.2f}ms" for mode in MODES)
        print(f"{shape:<24} {cells}  {picked:<10} {ratio:.2f}")


if __name__ == "__main__":
    main()
