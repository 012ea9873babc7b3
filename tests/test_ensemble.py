"""BatchEnsemble layers (BE1): the kernels against the plain-NumPy
reference (tests/naive.py) and finite differences, both dtypes."""

import naive
import numpy as np
import pytest

from fastffnn.kernels import ensemble

K, M, N_PREV, N = 3, 5, 4, 6
#: N1's factor, as the tabular network uses BE1 (1 / sqrt(n_prev)).
SCALE = 0.5


def problem(dtype, seed=0):
    rng = np.random.RandomState(seed)

    def F(*shape):
        return np.asfortranarray(rng.randn(*shape)).astype(dtype, order="F")

    return dict(W=F(N, N_PREV), r=rng.randn(K, N_PREV).astype(dtype),
                s=rng.randn(K, N).astype(dtype), b=rng.randn(K, N).astype(dtype),
                A_prev=F(N_PREV, K * M))  # fmt: skip


def forward(p):
    dtype = p["W"].dtype
    T = np.empty((N_PREV, K * M), dtype=dtype, order="F")
    G = np.empty((N, K * M), dtype=dtype, order="F")
    Z = np.empty((N, K * M), dtype=dtype, order="F")
    layer = ensemble.EnsembleLayer(p["W"], p["r"], p["s"], p["b"])
    ensemble.ensemble_forward(layer, p["A_prev"], T, G, Z, SCALE)
    return T, G, Z


def gradients(p, dZ):
    """Every gradient of BE1 for the incoming ``dZ``."""
    T, G, _ = forward(p)
    dtype = p["W"].dtype
    out = dict(W=np.empty((N, N_PREV), dtype, order="F"), r=np.empty((K, N_PREV), dtype),
               s=np.empty((K, N), dtype), b=np.empty((K, N), dtype),
               A_prev=np.empty((N_PREV, K * M), dtype, order="F"))  # fmt: skip
    layer = ensemble.EnsembleLayer(p["W"], p["r"], p["s"], p["b"])
    grads = ensemble.EnsembleLayer(out["W"], out["r"], out["s"], out["b"])
    ensemble.ensemble_backward(np.asfortranarray(dZ.copy()), p["A_prev"], T, G, layer, grads,
                               SCALE, out["A_prev"])  # fmt: skip
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(dtype):
    p = problem(dtype)
    _, _, Z = forward(p)
    W, r, s, b, A = (p[key].astype(float) for key in ("W", "r", "s", "b", "A_prev"))
    expected = naive.batch_ensemble(W * SCALE, r, s, b, A)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(Z, expected, rtol=tol, atol=tol)


def test_gradients_match_finite_differences():
    """The gradient of J = sum(C * Z) for a random C, every parameter and the
    input, against central differences, float64."""
    p = problem(np.float64)
    C = np.random.RandomState(1).randn(N, K * M)
    got = gradients(p, C)
    h = 1e-6
    for key, array in p.items():
        numeric = np.empty(array.shape)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = np.sum(C * forward(p)[2])
            array[index] = saved - h
            down = np.sum(C * forward(p)[2])
            array[index] = saved
            numeric[index] = (up - down) / (2 * h)
        assert np.abs(numeric).max() > 1e-3
        np.testing.assert_allclose(got[key], numeric, rtol=1e-6, atol=1e-8, err_msg=key)


def test_float32_gradients_match_float64():
    p64 = problem(np.float64)
    p32 = {key: value.astype(np.float32, order="K") for key, value in p64.items()}
    C = np.random.RandomState(1).randn(N, K * M)
    expected, got = gradients(p64, C), gradients(p32, C.astype(np.float32))
    for key in expected:
        scale = np.abs(expected[key]).max()
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=key)  # fmt: skip


def test_one_member_with_unit_adapters_is_a_dense_layer():
    """k = 1, r = s = 1: T is A and Z is W A + b (F1), the adapters exact."""
    p = problem(np.float64)
    one = dict(p, r=np.ones((1, N_PREV)), s=np.ones((1, N)), b=p["b"][:1],
               A_prev=np.asfortranarray(p["A_prev"][:, :M]))  # fmt: skip
    T = np.empty((N_PREV, M), order="F")
    G, Z = np.empty((N, M), order="F"), np.empty((N, M), order="F")
    layer = ensemble.EnsembleLayer(one["W"], one["r"], one["s"], one["b"])
    ensemble.ensemble_forward(layer, one["A_prev"], T, G, Z, 1.0)
    np.testing.assert_array_equal(T, one["A_prev"])
    np.testing.assert_array_equal(Z, G + one["b"][0][:, np.newaxis])
    np.testing.assert_allclose(G, one["W"] @ one["A_prev"], rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_member_mean(dtype):
    Z = np.asfortranarray(np.random.RandomState(2).randn(3, K * M).astype(dtype))
    out = np.empty((3, M), dtype=dtype, order="F")
    ensemble.member_mean(Z, K, out)
    np.testing.assert_allclose(out, naive.member_mean(Z.astype(float), K), rtol=1e-6)
