"""The Examples sections of the public API's docstrings run as doctests."""

import doctest

import pytest

import fastffnn.classifier
import fastffnn.gradcheck
import fastffnn.jacobian
import fastffnn.regressor

MODULES = [fastffnn.classifier, fastffnn.regressor, fastffnn.gradcheck, fastffnn.jacobian]
WITH_EXAMPLES = (fastffnn.classifier, fastffnn.regressor, fastffnn.gradcheck)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if module in WITH_EXAMPLES:
        assert result.attempted > 0
