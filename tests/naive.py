"""Plain-NumPy reference for the training core, written straight from MATH.md.

Notation as in MATH.md: every matrix is (units, examples); column i is
example i; ``W`` is (n^[l], n^[l-1]), ``b`` is (n^[l],). Nothing here is
optimized, clever or in place: each function is one equation, named by its
label, so that a reader can check it against MATH.md line by line. Sample
weights ``s`` (R2) default to ones, which gives back the plain ``1/m``.

Two things are not in MATH.md and are marked where they appear: the clipping
of ``A`` in the costs and general seeds (the rule documented in
``fastffnn/kernels/costs.py``, scikit-learn's), and the optimizer updates
(scikit-learn's rules, documented in ``fastffnn/kernels/optimizers.py``).
"""

import numpy as np
import scipy.special

# ---------------------------------------------------------------------------
# Forward propagation (F1, F2) and the activations (A0-A4)
# ---------------------------------------------------------------------------


def linear_forward(W, b, A_prev):
    """F1: Z = W A^[l-1] + broadcast(b)."""
    return W @ A_prev + b[:, np.newaxis]


def identity(Z):
    """A0: A = Z."""
    return Z.copy()


def relu(Z):
    """A1: A = max(0, Z)."""
    return np.maximum(0, Z)


def sigmoid(Z):
    """A2: A = 1 / (1 + exp(-Z)). (Overflows for Z << 0; use moderate Z.)"""
    return 1 / (1 + np.exp(-Z))


def tanh(Z):
    """A3: A = tanh(Z)."""
    return np.tanh(Z)


def softmax(Z):
    """A4: a_ji = exp(z_ji) / sum_p exp(z_pi), each column's maximum subtracted first."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def identity_backward(Z, dA):
    """A0 backward (B1): dZ = dA."""
    return dA.copy()


def relu_backward(Z, dA):
    """A1 backward (B1): dZ = dA * I(Z > 0)."""
    return dA * (Z > 0)


def sigmoid_backward(Z, dA):
    """A2 backward (B1): dZ = dA * A * (1 - A), with A = g(Z)."""
    A = sigmoid(Z)
    return dA * A * (1 - A)


def tanh_backward(Z, dA):
    """A3 backward (B1): dZ = dA * (1 - A * A), with A = g(Z)."""
    A = tanh(Z)
    return dA * (1 - A * A)


def softmax_backward(Z, dA):
    """A4 backward (B1): dZ = A * (dA - broadcast(sum over axis 0 of (dA * A)))."""
    A = softmax(Z)
    return A * (dA - (dA * A).sum(axis=0, keepdims=True))


def exp(Z):
    """C6's output (the inverse of the log link): A = exp(Z)."""
    return np.exp(Z)


def exp_backward(Z, dA):
    """exp backward (B1): dZ = dA * exp(Z)."""
    return dA * np.exp(Z)


def softmax_backward_jacobian(Z, dA):
    """B1 taken literally for A4: dz_{:,i} = (da_{:,i}/dz_{:,i})^T da_{:,i}, one example at a time.

    The Jacobian of the softmax of one column is diag(a) - a a^T.
    """
    A = softmax(Z)
    dZ = np.empty_like(dA)
    for i in range(Z.shape[1]):
        a = A[:, i]
        jacobian = np.diag(a) - np.outer(a, a)
        dZ[:, i] = jacobian.T @ dA[:, i]
    return dZ


# A5-A11, with scipy's special functions (ndtr, expit, log_expit): written
# independently of the kernels' own overflow-safe forms.
LEAKY_SLOPE = 0.01
SELU_LAMBDA, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


def leaky_relu(Z):
    """A5: g = z if z > 0 else 0.01 z."""
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def leaky_relu_backward(Z, dA):
    return dA * np.where(Z > 0, 1.0, LEAKY_SLOPE)


def elu(Z):
    """A6: g = z if z > 0 else exp(z) - 1."""
    return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0)))


def elu_backward(Z, dA):
    return dA * np.where(Z > 0, 1.0, np.exp(np.minimum(Z, 0)))


def selu(Z):
    """A7: g = lambda (z if z > 0 else alpha (exp(z) - 1))."""
    return SELU_LAMBDA * np.where(Z > 0, Z, SELU_ALPHA * np.expm1(np.minimum(Z, 0)))


def selu_backward(Z, dA):
    return dA * SELU_LAMBDA * np.where(Z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(Z, 0)))


def gelu(Z):
    """A8: g = z Phi(z), Phi the standard normal CDF (exact, not the tanh approximation)."""
    return Z * scipy.special.ndtr(Z)


def gelu_backward(Z, dA):
    """g' = Phi(z) + z phi(z)."""
    return dA * (scipy.special.ndtr(Z) + Z * np.exp(-0.5 * Z * Z) / np.sqrt(2 * np.pi))


def silu(Z):
    """A9: g = z sigma(z)."""
    return Z * scipy.special.expit(Z)


def silu_backward(Z, dA):
    """g' = sigma(z) (1 + z (1 - sigma(z)))."""
    s = scipy.special.expit(Z)
    return dA * s * (1 + Z * scipy.special.expit(-Z))


def softplus(Z):
    """A10: g = log(1 + exp(z))."""
    return np.logaddexp(0.0, Z)


def softplus_backward(Z, dA):
    """g' = sigma(z)."""
    return dA * scipy.special.expit(Z)


def mish(Z):
    """A11: g = z tanh(softplus(z))."""
    return Z * np.tanh(softplus(Z))


def mish_backward(Z, dA):
    """g' = t + z sigma(z) (1 - t^2), t = tanh(softplus(z))."""
    t = np.tanh(softplus(Z))
    return dA * (t + Z * scipy.special.expit(Z) * (1 - t * t))


#: Activation name -> (forward g, backward taking Z). "logistic" is scikit-learn's name for A2.
ACTIVATIONS = {
    "identity": (identity, identity_backward),
    "relu": (relu, relu_backward),
    "logistic": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "softmax": (softmax, softmax_backward),
    "exp": (exp, exp_backward),
    "leaky_relu": (leaky_relu, leaky_relu_backward),
    "elu": (elu, elu_backward),
    "selu": (selu, selu_backward),
    "gelu": (gelu, gelu_backward),
    "silu": (silu, silu_backward),
    "softplus": (softplus, softplus_backward),
    "mish": (mish, mish_backward),
}

#: The activations whose backward kernel reads Z, not A (MATH.md: "these need Z").
READS_Z = ("leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "mish")


def dropout_masks(rates, keep):
    """D1's ``M / (1 - p)`` per layer from boolean keep matrices (None: no dropout)."""
    return [None if p == 0 else k / (1 - p) for p, k in zip(rates, keep, strict=True)]


# ---------------------------------------------------------------------------
# Backward propagation of the linear layer (B2-B4)
# ---------------------------------------------------------------------------


def linear_backward_params(dZ, A_prev):
    """B2, B3: dW = dZ A^[l-1]^T and db = sum over axis 1 of dZ. Returns (dW, db)."""
    return dZ @ A_prev.T, dZ.sum(axis=1)


def linear_backward_input(dZ, W):
    """B4: dA^[l-1] = W^T dZ."""
    return W.T @ dZ


# ---------------------------------------------------------------------------
# Costs (C1-C3, C5-C7), their seeds, the fused seed (C4), R1 and R2
# ---------------------------------------------------------------------------


def _weights(s, m):
    """R2: the sample weights, ones when ``s`` is None (then sum_i s_i = m)."""
    return np.ones(m) if s is None else np.asarray(s, dtype=float)


def clip(A, eps):
    """Not in MATH.md: costs.py evaluates log (and the general seeds divide) at A
    clipped to [eps, 1 - eps], eps the machine epsilon of A's dtype."""
    return np.clip(A, eps, 1 - eps)


def logistic_cross_entropy(A, Y, s=None):
    """C1 (one unit) and C3 (several, summed), with R2:
    J = -(1 / sum_i s_i) sum_i s_i sum_j [y_ji log a_ji + (1 - y_ji) log(1 - a_ji)]."""
    s = _weights(s, A.shape[1])
    per_example = (Y * np.log(A) + (1 - Y) * np.log(1 - A)).sum(axis=0)
    return -(s * per_example).sum() / s.sum()


def softmax_cross_entropy(A, Y, s=None):
    """C2 with R2: J = -(1 / sum_i s_i) sum_i s_i sum_j y_ji log a_ji."""
    s = _weights(s, A.shape[1])
    per_example = (Y * np.log(A)).sum(axis=0)
    return -(s * per_example).sum() / s.sum()


def logistic_cross_entropy_seed(A, Y, s=None):
    """Seed of C1 / C3 with R2: dA = (s_i / sum_i s_i) ((1 - Y) / (1 - A) - Y / A)."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * ((1 - Y) / (1 - A) - Y / A)


def softmax_cross_entropy_seed(A, Y, s=None):
    """Seed of C2 with R2: dA = -(s_i / sum_i s_i) Y / A."""
    s = _weights(s, A.shape[1])
    return -(s / s.sum()) * Y / A


def fused_seed(A, Y, s=None):
    """C4 with R2: dz_{:,i} = s_i (a_{:,i} - y_{:,i}) / sum_i s_i."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * (A - Y)


def half_squared_error(A, Y, s=None):
    """C5 with R2: J = (1 / (2 sum_i s_i)) sum_i s_i sum_j (a_ji - y_ji)^2 (summed over
    outputs: the cost training follows; scikit-learn's loss_ reports J / n^[L])."""
    s = _weights(s, A.shape[1])
    return (s * ((A - Y) ** 2).sum(axis=0)).sum() / (2 * s.sum())


def half_squared_error_seed(A, Y, s=None):
    """Seed of C5 with R2: dA = (s_i / sum_i s_i) (A - Y)."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * (A - Y)


def poisson_deviance(A, Y, s=None):
    """C6 with R2 and scikit-learn's constant, A = exp(Z):
    J = (1 / sum_i s_i) sum_i s_i sum_j (a_ji - y_ji log a_ji + y_ji log y_ji - y_ji),
    with y log y = 0 at y = 0."""
    s = _weights(s, A.shape[1])
    y_log_y = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0.0)
    return (s * (A - Y * np.log(A) + y_log_y - Y).sum(axis=0)).sum() / s.sum()


def poisson_deviance_seed(A, Y, s=None):
    """Seed of C6 with R2: dA = (s_i / sum_i s_i) (1 - Y / A)."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * (1 - Y / A)


#: Huber's threshold used wherever the reference evaluates C7 without being told one.
HUBER_DELTA = 0.5


def huber(A, Y, s=None, delta=HUBER_DELTA):
    """C7 with R2, r = a - y: rho(r) = r^2 / 2 for |r| <= delta, else delta (|r| - delta / 2);
    J = (1 / sum_i s_i) sum_i s_i sum_j rho(r_ji)."""
    s = _weights(s, A.shape[1])
    r = np.abs(A - Y)
    rho = np.where(r <= delta, r**2 / 2, delta * (r - delta / 2))
    return (s * rho.sum(axis=0)).sum() / s.sum()


def huber_seed(A, Y, s=None, delta=HUBER_DELTA):
    """Seed of C7 with R2: dA = (s_i / sum_i s_i) clip(A - Y, -delta, delta)."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * np.clip(A - Y, -delta, delta)


def absolute_error(A, Y, s=None):
    """C8 with R2: J = (1 / sum_i s_i) sum_i s_i sum_j |a_ji - y_ji|."""
    s = _weights(s, A.shape[1])
    return (s * np.abs(A - Y).sum(axis=0)).sum() / s.sum()


def absolute_error_seed(A, Y, s=None):
    """Seed of C8 with R2: dA = (s_i / sum_i s_i) sign(A - Y), sign(0) = 1."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * np.where(A >= Y, 1.0, -1.0)


#: The pinball loss's level wherever the reference evaluates C9 without being told one.
QUANTILE = 0.8


def pinball(A, Y, s=None, tau=QUANTILE):
    """C9 with R2, r = a - y: rho(r) = max((1 - tau) r, -tau r);
    J = (1 / sum_i s_i) sum_i s_i sum_j rho(r_ji)."""
    s = _weights(s, A.shape[1])
    r = A - Y
    return (s * np.maximum((1 - tau) * r, -tau * r).sum(axis=0)).sum() / s.sum()


def pinball_seed(A, Y, s=None, tau=QUANTILE):
    """Seed of C9 with R2: dA = (s_i / sum_i s_i) ([A >= Y] - tau)."""
    s = _weights(s, A.shape[1])
    return (s / s.sum()) * (np.where(A >= Y, 1.0, 0.0) - tau)


#: Cost -> (J, its general seed dA^[L]). The classification costs are named by their
#: output activation: sigmoid -> C1/C3, softmax -> C2.
COSTS = {
    "logistic": (logistic_cross_entropy, logistic_cross_entropy_seed),
    "softmax": (softmax_cross_entropy, softmax_cross_entropy_seed),
    "squared_error": (half_squared_error, half_squared_error_seed),
    "poisson": (poisson_deviance, poisson_deviance_seed),
    "huber": (huber, huber_seed),
    "absolute_error": (absolute_error, absolute_error_seed),
    "quantile": (pinball, pinball_seed),
}


def squared_norm(W):
    """||W||^2 of R1: the sum of the squares of W's entries."""
    return (W * W).sum()


def l2_penalty(Ws, alpha, s_sum):
    """R1 (with R2's 1/m -> 1/sum_i s_i): (alpha / (2 sum_i s_i)) sum_l ||W^[l]||^2."""
    return alpha / (2 * s_sum) * sum(squared_norm(W) for W in Ws)


def l2_gradient(W, alpha, s_sum):
    """R1's gradient term (with R2): (alpha / sum_i s_i) W^[l], added to dW^[l]."""
    return alpha / s_sum * W


# ---------------------------------------------------------------------------
# A whole network
# ---------------------------------------------------------------------------


def forward(A0, Ws, bs, activations, masks=None):
    """F1-F2 through layers 1..L, with D1 when ``masks`` gives layer l's
    ``M / (1 - p)`` as ``masks[l - 1]`` (None: no dropout on that layer).
    Returns (Zs, As), As[0] = A0, Zs[0] = None; As hold the dropped-out activations."""
    Zs, As = [None], [A0]
    for l, (W, b, name) in enumerate(zip(Ws, bs, activations, strict=True), start=1):
        g = ACTIVATIONS[name][0]
        Z = linear_forward(W, b, As[-1])
        Zs.append(Z)
        A = g(Z)
        if masks is not None and masks[l - 1] is not None:
            A = A * masks[l - 1]  # D1
        As.append(A)
    return Zs, As


def cost(A0, Y, Ws, bs, activations, alpha=0.0, s=None, cost_name=None, masks=None):
    """F3 with R1 and R2: the output's cost (``cost_name``, by default the one named by the
    output activation: C1-C3) plus the L2 penalty; ``masks`` as in :func:`forward`."""
    s = _weights(s, A0.shape[1])
    _, As = forward(A0, Ws, bs, activations, masks)
    J = COSTS[cost_name or activations[-1]][0](As[-1], Y, s)
    return J + l2_penalty(Ws, alpha, s.sum())


def backprop(A0, Y, Ws, bs, activations, alpha=0.0, s=None, cost_name=None, masks=None):
    """B1-B4 seeded with the general dA^[L] of the cost (not a fused seed), plus R1's
    gradient; ``cost_name`` as in :func:`cost`; with D1 (``masks`` as in
    :func:`forward`) B1 of a dropped-out layer is ``dZ = g'(Z) * (dA * mask)``.

    Returns (J, dWs, dbs), one dW^[l] (n^[l], n^[l-1]) and db^[l] per layer.
    """
    s = _weights(s, A0.shape[1])
    L = len(Ws)
    Zs, As = forward(A0, Ws, bs, activations, masks)
    J_out, seed = COSTS[cost_name or activations[-1]]
    J = J_out(As[L], Y, s) + l2_penalty(Ws, alpha, s.sum())
    dA = seed(As[L], Y, s)
    dWs, dbs = [None] * L, [None] * L
    for l in range(L, 0, -1):
        if masks is not None and masks[l - 1] is not None:
            dA = dA * masks[l - 1]  # D1
        dZ = ACTIVATIONS[activations[l - 1]][1](Zs[l], dA)  # B1
        dW, db = linear_backward_params(dZ, As[l - 1])  # B2, B3
        dWs[l - 1] = dW + l2_gradient(Ws[l - 1], alpha, s.sum())  # R1
        dbs[l - 1] = db
        dA = linear_backward_input(dZ, Ws[l - 1])  # B4
    return J, dWs, dbs


# ---------------------------------------------------------------------------
# Optimizers (not in MATH.md: scikit-learn's update rules, per optimizers.py)
# ---------------------------------------------------------------------------


def adam_step(params, grads, first_moment, second_moment, t, learning_rate, beta_1, beta_2, eps):
    """scikit-learn's Adam step t (1, 2, ...). Returns new (params, first, second)."""
    first = beta_1 * first_moment + (1 - beta_1) * grads
    second = beta_2 * second_moment + (1 - beta_2) * grads**2
    step = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return params - step * first / (np.sqrt(second) + eps), first, second


def sgd_step(params, grads, velocity, learning_rate, momentum, nesterov):
    """scikit-learn's SGD step with (Nesterov) momentum. Returns new (params, velocity)."""
    velocity = momentum * velocity - learning_rate * grads
    update = momentum * velocity - learning_rate * grads if nesterov else velocity
    return params + update, velocity


# ---------------------------------------------------------------------------
# The tabular recipe (docs/math.md P1-W2): the whole network in float64
# ---------------------------------------------------------------------------


def smooth_clip(x):
    """P1's smooth clipping."""
    return x / np.sqrt(1 + (x / 3) ** 2)


def pbld(x, w, b, V, c):
    """E2 for one column: x (m,), w, b (16,), V (3, 16), c (3,) -> (4, m):
    the 3 values V h + c, then x."""
    h = np.cos(2 * np.pi * np.outer(w, x) + b[:, np.newaxis])
    return np.vstack([V @ h + c[:, np.newaxis], x[np.newaxis, :]])


def embedding(codes, table):
    """E1: each code's row of ``table``, (8, m)."""
    return table[codes].T


def parametric(Z, alpha, g):
    """A12: Z + alpha (g(Z) - Z), alpha per unit (row)."""
    return Z + alpha[:, np.newaxis] * (g(Z) - Z)


def ntk_linear(W, b, A_prev):
    """N1: W A / sqrt(n^[l-1]) + b."""
    return W @ A_prev / np.sqrt(W.shape[1]) + b[:, np.newaxis]


def coslog4(t):
    """S3's learning-rate schedule."""
    return (1 - np.cos(2 * np.pi * np.log2(1 + 15 * t))) / 2


def flat_cos(t):
    """S3's dropout and decay schedule."""
    return np.where(t < 0.5, 1.0, (1 + np.cos(2 * np.pi * (t - 0.5))) / 2)


def tabular_forward(tensors, numeric, plain, codes, first_rows, g, members=1):
    """The tabular network's output Z^[L] (K, m) from its tensors (the
    estimator's layout order, ``fastffnn.tabular.core``) and the encoded rows
    numeric (n_num, m), plain (n_plain, m), codes (n_emb, m); with k > 1
    members (BE1) the mean of the members' outputs."""
    freq, phase, V, c, tables, scales = tensors[:6]
    tables = tables.reshape(-1, 8)
    pieces = [pbld(numeric[j], freq[j], phase[j], V[j], c[j]) for j in range(numeric.shape[0])]
    pieces.append(plain)
    pieces += [embedding(codes[j], tables[first_rows[j] :]) for j in range(codes.shape[0])]
    A0 = np.vstack(pieces) * scales[:, np.newaxis]
    dense = tensors[6:]
    L = len(dense) // 5
    outputs = []
    for i in range(members):
        A = A0
        for l in range(L):
            W, b, alpha, r, s = dense[5 * l : 5 * l + 5]
            if members > 1:  # BE1 with N1's scale
                Z = (W @ (A * r[i][:, np.newaxis])) / np.sqrt(W.shape[1])
                Z = Z * s[i][:, np.newaxis] + b[i][:, np.newaxis]
            else:
                Z = ntk_linear(W, b[0], A)
            if l == L - 1:
                outputs.append(Z)
            else:
                A = parametric(Z, alpha, g)
    return np.mean(outputs, axis=0)


def smoothed_softmax_cost(Z, Y, s):
    """C2 with L1's targets Y (K, m) on logits Z, weighted by s (R2)."""
    log_p = Z - scipy.special.logsumexp(Z, axis=0)
    return float(np.sum(s * -(Y * log_p).sum(axis=0)) / s.sum())


def mean_squared_cost(Z, Y, s):
    """The mean over outputs of the squared error, weighted by s (R2)."""
    return float(np.sum(s * ((Z - Y) ** 2).mean(axis=0)) / s.sum())


def batch_ensemble(W, r, s, b, A_prev):
    """BE1 for k members, member-major column blocks of A_prev (n_prev, k m):
    Z_i = (W (A_i * r_i)) * s_i + b_i."""
    k = r.shape[0]
    blocks = np.split(A_prev, k, axis=1)
    return np.hstack([
        (W @ (A * r[i][:, np.newaxis])) * s[i][:, np.newaxis] + b[i][:, np.newaxis]
        for i, A in enumerate(blocks)
    ])  # fmt: skip


def member_mean(Z, k):
    """The mean of the k members' column blocks."""
    return np.mean(np.split(Z, k, axis=1), axis=0)
