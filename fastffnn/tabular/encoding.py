"""From a user's table to the tabular network's three inputs (P1, E1).

``TableEncoder`` is fitted on the training rows and then turns any table with
the same columns into

- ``numeric`` (n, n_num): each numeric column centered on its median, scaled
  by its interquartile range (half its range where that is 0; a constant
  column becomes 0) and smoothly clipped, ``x / sqrt(1 + (x / 3)^2)`` (P1);
  these columns get PBLD embeddings (E2) in the network;
- ``plain`` (n, n_plain): one-hot features of the categorical columns with at
  most 8 categories, then a missing-cell indicator for every numeric column
  that had missing cells in training, each centered, scaled and clipped like
  the numeric columns (as RealMLP treats its one-hot features);
- ``codes`` (n, n_emb) int64: the categories of columns with 9 or more, for
  learned embeddings (E1); 0 is missing or unknown, 1..c the categories seen.

Missing numeric cells: RealMLP refuses them. Here a missing cell takes the
column's median (0 after centering) and the column gains an indicator, so the
network sees both "missing" and a neutral value, and nothing is dropped.
A category not seen in training is treated as missing (code 0: all-zero
one-hot, the embedding's missing row), as RealMLP does.
"""

import numbers

import numpy as np

#: Columns with at most this many categories are one-hot encoded (RealMLP's 9
#: slots, the missing one included); more get embeddings.
MAX_ONE_HOT = 8
#: P1's smooth clipping bound.
CLIP = 3.0


def smooth_clip(x):
    """P1's ``x / sqrt(1 + (x / 3)^2)``: about x near 0, within (-3, 3)."""
    return x / np.sqrt(1.0 + (x / CLIP) ** 2)


def robust_statistics(x):
    """P1's ``(median, factor)`` of a column's present values: the factor is
    ``1 / IQR``, ``1 / (range / 2)`` when the IQR is 0, and 0 for a constant
    (or empty) column."""
    x = x[~np.isnan(x)]
    if x.size == 0:
        return 0.0, 0.0
    median = float(np.quantile(x, 0.5))
    spread = float(np.quantile(x, 0.75) - np.quantile(x, 0.25))
    if spread == 0:
        spread = 0.5 * float(x.max() - x.min())
    return median, (1.0 / spread if spread > 0 else 0.0)


def _is_missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is _PD_NA


try:  # pandas is optional; its NA is one more spelling of "missing"
    import pandas as _pd

    _PD_NA = _pd.NA
except ImportError:  # pragma: no cover
    _PD_NA = object()


def table_columns(X):
    """``(names or None, [(values, categorical_dtype)])`` of a pandas or
    polars DataFrame, or a 2-D array-like: each column as a 1-D NumPy array
    (float64 with NaN for missing where numeric, object otherwise) and
    whether its dtype marks it categorical (category, string, object, bool)."""
    module = type(X).__module__.split(".")[0]
    if module == "pandas" and hasattr(X, "columns"):
        columns = []
        for name in X.columns:
            series = X[name]
            kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else ""
            if kind and kind in "iuf":
                columns.append((series.to_numpy(dtype=np.float64), False))
            elif str(series.dtype) in (
                "Int8",
                "Int16",
                "Int32",
                "Int64",
                "UInt8",
                "UInt16",
                "UInt32",
                "UInt64",
                "Float32",
                "Float64",
            ):
                columns.append((series.to_numpy(dtype=np.float64, na_value=np.nan), False))
            else:
                columns.append((series.to_numpy(dtype=object), True))
        return [str(name) for name in X.columns], columns
    if module == "polars" and hasattr(X, "columns"):
        columns = []
        for name in X.columns:
            series = X[name]
            if series.dtype.is_numeric():
                columns.append((series.cast(float).to_numpy().astype(np.float64), False))
            else:
                columns.append((np.asarray(series.to_list(), dtype=object), True))
        return list(X.columns), columns
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"Expected a 2-D table (a DataFrame or an array of shape (n_samples, n_features)), "
            f"got an array with {array.ndim} dimension(s). Reshape your data with "
            f"array.reshape(-1, 1) for one feature or array.reshape(1, -1) for one sample."
        )
    if array.dtype.kind in "iufb":
        return None, [(array[:, j].astype(np.float64), False) for j in range(array.shape[1])]
    if array.dtype.kind == "c":
        raise ValueError("Complex data not supported: X holds complex numbers.")
    columns = []
    for j in range(array.shape[1]):
        column = array[:, j].astype(object)
        try:
            columns.append(
                (np.array([np.nan if _is_missing(v) else float(v) for v in column]), False)
            )
        except (TypeError, ValueError):
            columns.append((column, True))
    return None, columns


def _as_categories(values):
    """A column's values as objects (a numeric column's NaN as None)."""
    if values.dtype == object:
        return values
    return np.array([None if np.isnan(v) else v for v in values.tolist()], dtype=object)


def _value_kind(values):
    """ "number", "string" or "bool": what a categorical column's present values are."""
    present = [v for v in values if not _is_missing(v)]
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if all(isinstance(v, numbers.Number) for v in present):
        return "number"
    return "string"


class TableEncoder:
    """P1 and E1's inputs, fitted on training rows (see the module docstring).

    ``categorical_features`` as HistGradientBoosting's: "from_dtype" (category,
    string, object and bool columns; any column of an array whose values are
    not numbers), None, indices, names, or a boolean mask.
    """

    def __init__(self, categorical_features="from_dtype", owner="the model"):
        self.categorical_features = categorical_features
        self.owner = owner  # named in errors

    # -- fitting ---------------------------------------------------------
    def fit_transform(self, X):
        names, columns = table_columns(X)
        self.feature_names_in_ = None if names is None else np.asarray(names, dtype=object)
        self.n_features_in_ = len(columns)
        if self.n_features_in_ == 0:
            raise ValueError("X has 0 feature(s); at least one is required.")
        categorical = self._categorical_mask(names, columns)
        self.is_categorical_ = categorical
        self.numeric_columns_ = [j for j in range(len(columns)) if not categorical[j]]
        self.categories_, self.value_kinds_ = {}, {}
        for j in np.flatnonzero(categorical):
            columns[j] = (_as_categories(columns[j][0]), True)
            values = columns[j][0]
            present = [v for v in values if not _is_missing(v)]
            self.value_kinds_[j] = _value_kind(values)
            self.categories_[j] = sorted(set(present), key=lambda v: (str(type(v)), v))
        self.one_hot_columns_ = [
            j for j in self.categories_ if len(self.categories_[j]) <= MAX_ONE_HOT
        ]
        self.embedding_columns_ = [
            j for j in self.categories_ if len(self.categories_[j]) > MAX_ONE_HOT
        ]
        numeric = (
            np.column_stack([columns[j][0] for j in self.numeric_columns_])
            if self.numeric_columns_
            else np.empty((len(columns[0][0]), 0))
        )
        if np.isinf(numeric).any():
            raise ValueError("Input X contains infinity in a numeric column.")
        self.missing_columns_ = [
            k for k in range(numeric.shape[1]) if np.isnan(numeric[:, k]).any()
        ]
        self.numeric_statistics_ = np.array(
            [robust_statistics(numeric[:, k]) for k in range(numeric.shape[1])]
        ).reshape(-1, 2)
        plain = self._plain_raw(columns, numeric)
        self.plain_statistics_ = np.array(
            [robust_statistics(plain[:, k]) for k in range(plain.shape[1])]
        ).reshape(-1, 2)
        return self._finish(columns, numeric, plain)

    def _categorical_mask(self, names, columns):
        n = len(columns)
        spec = self.categorical_features
        mask = np.zeros(n, dtype=bool)
        if isinstance(spec, str) and spec == "from_dtype":
            for j, (_, by_dtype) in enumerate(columns):
                mask[j] = by_dtype
            return mask
        if spec is None:
            for j, (values, _) in enumerate(columns):
                if values.dtype == object:
                    raise ValueError(
                        f"Column {self._name(names, j)} holds non-numeric values but "
                        f"categorical_features=None; name it in categorical_features."
                    )
            return mask
        spec = np.asarray(spec)
        if spec.dtype == bool:
            if spec.shape != (n,):
                raise ValueError(
                    f"categorical_features as a mask has {spec.size} entries; X has {n} columns."
                )
            mask[:] = spec
        elif spec.dtype.kind in "iu":
            if spec.size and (spec.min() < -n or spec.max() >= n):
                raise ValueError(f"categorical_features has an index outside 0..{n - 1}.")
            mask[spec] = True
        else:
            if names is None:
                raise ValueError(
                    "categorical_features names columns, but X has no column names "
                    "(pass a DataFrame, or indices)."
                )
            unknown = [str(s) for s in spec if str(s) not in names]
            if unknown:
                raise ValueError(f"categorical_features names unknown columns: {unknown}.")
            for s in spec:
                mask[names.index(str(s))] = True
        for j in np.flatnonzero(~mask):
            if columns[j][0].dtype == object:
                raise ValueError(
                    f"Column {self._name(names, j)} holds non-numeric values but is not in "
                    f"categorical_features."
                )
        return mask

    @staticmethod
    def _name(names, j):
        return repr(names[j]) if names is not None else f"{j}"

    # -- encoding ----------------------------------------------------------
    def _codes(self, column, j):
        lookup = {v: k + 1 for k, v in enumerate(self.categories_[j])}
        codes = np.zeros(len(column), dtype=np.int64)
        for i, v in enumerate(column):
            if not _is_missing(v):
                codes[i] = lookup.get(v, 0)
        return codes

    def _plain_raw(self, columns, numeric):
        """One-hot features (RealMLP's: one category: +1/-1 for present/missing;
        two: +1/-1, missing 0; 3-8: one column each, missing all zeros), then
        the missing-cell indicators."""
        n = numeric.shape[0]
        pieces = []
        for j in self.one_hot_columns_:
            codes = self._codes(columns[j][0], j)
            count = len(self.categories_[j])
            if count <= 1:
                pieces.append(np.where(codes == 1, 1.0, -1.0)[:, None])
            elif count == 2:
                pieces.append(np.select([codes == 1, codes == 2], [1.0, -1.0], 0.0)[:, None])
            else:
                pieces.append((codes[:, None] == np.arange(1, count + 1)[None, :]).astype(float))
        for k in self.missing_columns_:
            pieces.append(np.isnan(numeric[:, k]).astype(float)[:, None])
        return np.hstack(pieces) if pieces else np.empty((n, 0))

    def _finish(self, columns, numeric, plain):
        numeric = numeric.copy()
        for k, (median, factor) in enumerate(self.numeric_statistics_):
            column = (numeric[:, k] - median) * factor
            numeric[:, k] = smooth_clip(np.where(np.isnan(column), 0.0, column))
        for k, (median, factor) in enumerate(self.plain_statistics_):
            plain[:, k] = smooth_clip((plain[:, k] - median) * factor)
        n = numeric.shape[0]
        codes = np.zeros((n, len(self.embedding_columns_)), dtype=np.int64)
        for k, j in enumerate(self.embedding_columns_):
            codes[:, k] = self._codes(columns[j][0], j)
        return (np.ascontiguousarray(numeric), np.ascontiguousarray(plain), codes)

    def transform(self, X):
        names, columns = table_columns(X)
        if self.feature_names_in_ is not None and names is not None:
            expected = list(self.feature_names_in_)
            missing = [c for c in expected if c not in names]
            unexpected = [c for c in names if c not in expected]
            if missing or unexpected:
                raise ValueError(
                    "X's columns differ from those seen in fit: "
                    + (f"missing {missing}" if missing else "")
                    + ("; " if missing and unexpected else "")
                    + (f"unexpected {unexpected}" if unexpected else "")
                    + "."
                )
            columns = [columns[names.index(c)] for c in expected]
        if len(columns) != self.n_features_in_:
            raise ValueError(
                f"X has {len(columns)} features, but {self.owner} is expecting "
                f"{self.n_features_in_} features as input."
            )
        for j in self.categories_:
            columns[j] = (_as_categories(columns[j][0]), True)
            kind = _value_kind(columns[j][0])
            present = any(not _is_missing(v) for v in columns[j][0])
            if present and kind != self.value_kinds_[j] and self.categories_[j]:
                raise ValueError(
                    f"Categorical column {self._column_name(j)} held {self.value_kinds_[j]} "
                    f"values in fit but holds {kind} values now."
                )
        for j in self.numeric_columns_:
            if columns[j][0].dtype == object:
                raise ValueError(
                    f"Column {self._column_name(j)} was numeric in fit but holds non-numeric "
                    f"values now."
                )
        numeric = (
            np.column_stack([columns[j][0] for j in self.numeric_columns_])
            if self.numeric_columns_
            else np.empty((len(columns[0][0]), 0))
        )
        if np.isinf(numeric).any():
            raise ValueError("Input X contains infinity in a numeric column.")
        return self._finish(columns, numeric, self._plain_raw(columns, numeric))

    def _column_name(self, j):
        if self.feature_names_in_ is not None:
            return repr(self.feature_names_in_[j])
        return str(j)

    @property
    def embedding_cardinalities(self):
        """Categories of each embedded column (their tables have one more row)."""
        return [len(self.categories_[j]) for j in self.embedding_columns_]
