"""Compiled kernels, one per equation of the math reference (docs/math.md).

Layout, chosen once for every kernel: an (n, m) matrix of MATH.md (units on
axis 0, examples on axis 1) is held in Fortran order. Its bytes are those of
the (m, n) C-ordered array that scikit-learn uses, so the user's ``X`` of shape
(n_samples, n_features) *is* A^[0] with no copy or transpose, each example's
column is contiguous (per-example loops such as the softmax stride 1), and
``W^[l]`` in Fortran order is exactly ``coefs_[l - 1]`` of shape
(fan_in, fan_out). GEMMs are handed to BLAS through the C-ordered transposes
(``Z.T = A.T @ W.T``), which cost nothing: BLAS gets a transpose flag.

Kernels are internal: they are called from compiled drivers
(``fastffnn.training``) on views made there (``fastffnn.network``), which numba
types as Fortran-ordered whatever their shape. Called directly from Python, an
array with a dimension of 1 is typed C-ordered (it is both), and the linear
kernels' BLAS calls do not compile for it.
"""
