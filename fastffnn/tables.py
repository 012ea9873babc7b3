"""CSV tables for the command line: which columns are numbers and which are
categories, missing cells, and the preprocessing the saved model applies to
every file it reads.

A feature column is numeric when every cell that is not missing reads as a
number (which must then be finite); any other column is categorical (text). Missing cells (empty,
or ``nan``, ``NA``, ``N/A``, ``null``, ``None`` in any case) are filled by the
model: numeric columns with the training median, categorical ones with a
category of their own. The preprocessing is scikit-learn's own pieces, fitted
with the network in one pipeline, so ``predict`` transforms new files exactly
as the training file was: numbers imputed and standardized, categories
imputed and one-hot encoded (categories unseen in training are ignored), the
one-hot columns sparse, which the network trains on without densifying them.
"""

import math

import numpy as np

#: Cells read as missing (compared stripped and lower-cased).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})

#: A categorical column with a different value in every row is an identifier
#: (nothing to learn from) once the table has at least this many rows.
IDENTIFIER_MIN_ROWS = 20

#: The category that stands for a missing cell.
MISSING_CATEGORY = "(missing)"


class TableError(ValueError):
    """A column or cell the command line cannot use; the message says which."""


def _missing(cell, na_values=()):
    cell = cell.strip()
    return cell.lower() in MISSING or cell in na_values


def _number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def column_kinds(path, names, cells, na_values=()):
    """``(numeric, categorical)``: the feature columns ``names`` split by kind.

    ``cells[k]`` is the list of column k's cells (strings); ``na_values``
    are further markers of missing cells (``?``, say). Raises TableError
    for a column that cannot be used: empty in every row, or an identifier.
    """
    numeric, categorical = [], []
    for name, column in zip(names, cells):
        present = [cell.strip() for cell in column if not _missing(cell, na_values)]
        if not present:
            raise TableError(f"{path}: column {name!r} is empty in every row; drop it with "
                             f"--drop {name}")  # fmt: skip
        if all(_number(cell) is not None for cell in present):
            numeric.append(name)  # an infinite value is refused by feature_matrix
            continue
        if len(present) == len(column) >= IDENTIFIER_MIN_ROWS and len(set(present)) == len(present):
            raise TableError(f"{path}: column {name!r} holds a different value in every row "
                             f"(an identifier?), which a model cannot learn from; drop it with "
                             f"--drop {name}")  # fmt: skip
        categorical.append(name)
    return numeric, categorical


def feature_matrix(path, header, rows, lines, numeric, categorical, na_values=()):
    """The columns ``numeric`` then ``categorical`` of ``rows`` as an object
    array (n_rows, n_columns): floats (NaN where missing), then strings (NaN
    where missing, ``na_values`` included). A numeric column's cell that is
    no finite number raises TableError naming its line."""
    columns = numeric + categorical
    index = [header.index(name) for name in columns]
    X = np.empty((len(rows), len(columns)), dtype=object)
    for r, (row, line) in enumerate(zip(rows, lines)):
        for c, (name, i) in enumerate(zip(columns, index)):
            cell = row[i]
            if _missing(cell, na_values):
                X[r, c] = np.nan
            elif c < len(numeric):
                value = _number(cell)
                if value is None or not math.isfinite(value):
                    raise TableError(f"{path}, line {line}: column {name!r} holds {cell!r}, not a "
                                     "number; the model reads this column as numbers")  # fmt: skip
                X[r, c] = value
            else:
                X[r, c] = cell.strip()
    return X


def preprocessing(n_numeric, n_categorical):
    """The ColumnTransformer for :func:`feature_matrix`'s columns: numbers
    median-imputed and standardized, categories imputed and one-hot encoded
    (unseen ones ignored), sparse when the result is mostly zeros."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
        OneHotEncoder(handle_unknown="ignore"),
    )
    return ColumnTransformer(
        [("numbers", numbers, list(range(n_numeric))),
         ("categories", categories, list(range(n_numeric, n_numeric + n_categorical)))],
        sparse_threshold=0.3,
    )  # fmt: skip
