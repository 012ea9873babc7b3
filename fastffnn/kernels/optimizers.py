"""Optimizer steps on the flat parameter buffer (scikit-learn's update rules).

``params``, ``grads`` and each state vector are 1-D arrays of one dtype holding
every layer's weights and biases (see ``fastffnn.network``); hyperparameters
arrive already cast to that dtype, so float32 training stays float32. The
steps are serial: ``fastffnn.training.finish_batch`` runs them on blocks of
parameters in parallel, right after summing each block's gradient.
"""

import numpy as np

from fastffnn._jit import serial
from fastffnn.registry import NO_STEP, SOLVERS  # noqa: F401  (NO_STEP re-exported for training)

#: Optimizer codes (``fastffnn.registry``, ``bundles.Optimizer.solver``); NO_STEP
#: computes the gradient only.
ADAM, SGD = SOLVERS["adam"].code, SOLVERS["sgd"].code


@serial
def adam_step(params, grads, first_moment, second_moment, step_size, beta_1, beta_2, epsilon):
    """One Adam update, in place (Kingma & Ba, as scikit-learn's AdamOptimizer).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``params -= step_size * m / (sqrt(v) + epsilon)``, where the caller folds
    the bias corrections into ``step_size = lr sqrt(1 - b2^t) / (1 - b1^t)``.
    All arrays: (n_params,).
    """
    one = params.dtype.type(1)
    for p in range(params.size):
        g = grads[p]
        m = beta_1 * first_moment[p] + (one - beta_1) * g
        v = beta_2 * second_moment[p] + (one - beta_2) * g * g
        first_moment[p] = m
        second_moment[p] = v
        params[p] -= step_size * m / (np.sqrt(v) + epsilon)


@serial
def sgd_step(params, grads, velocity, learning_rate, momentum, nesterov):
    """One SGD update with (Nesterov) momentum, in place, as scikit-learn's.

    ``velocity = momentum * velocity - lr * g``; then ``params += velocity``,
    or with Nesterov ``params += momentum * velocity - lr * g``.
    All arrays: (n_params,).
    """
    for p in range(params.size):
        update = momentum * velocity[p] - learning_rate * grads[p]
        velocity[p] = update
        if nesterov:
            update = momentum * update - learning_rate * grads[p]
        params[p] += update


@serial
def decay_weights(params, sizes, start, stop, decay):
    """W1 on parameters [start, stop) of the flat buffer: every weight
    (not bias) ``w -= decay * w``, with ``decay = eta_t * lambda``. ``sizes``:
    the layer sizes (the buffer's layout, ``fastffnn.network``)."""
    one = params.dtype.type(1)
    layer_start = 0
    for l in range(1, sizes.size):
        weights_end = layer_start + sizes[l - 1] * sizes[l]
        weights = params[max(start, layer_start) : min(stop, weights_end)]
        for q in range(weights.size):  # from 0: no wraparound test (see costs._add_chunks)
            weights[q] *= one - decay
        layer_start = weights_end + sizes[l]


@serial
def scheduled_rate(hyper, step):
    """S1: the learning rate of update ``step`` (0, 1, ...) from ``hyper``
    (``bundles.Hyperparameters``): ``eta_0 = hyper.learning_rate`` unless
    ``T = hyper.cosine_steps > 0``, the cosine schedule over T updates after
    ``T_w = hyper.warmup_steps`` updates of linear warm-up::

        eta_0 (step + 1) / T_w                                  step < T_w
        eta_0 (1 + cos(pi (step - T_w) / (T - T_w))) / 2        T_w <= step < T
        0                                                        step >= T
    """
    eta, total, warmup = hyper.learning_rate, hyper.cosine_steps, hyper.warmup_steps
    if total <= 0:
        return eta
    if step < warmup:
        return eta * (step + 1) / warmup
    if step >= total:
        return 0.0
    return 0.5 * eta * (1.0 + np.cos(np.pi * (step - warmup) / (total - warmup)))
