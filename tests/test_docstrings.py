"""The Examples sections of the public API's docstrings run as doctests."""

import doctest

import pytest

import fastffnn.estimator
import fastffnn.gradcheck
import fastffnn.jacobian

MODULES = [fastffnn.estimator, fastffnn.gradcheck, fastffnn.jacobian]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if module is fastffnn.estimator:
        assert result.attempted > 0
