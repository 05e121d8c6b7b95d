"""The examples in the reference docstrings run and print what they say.

The API pages show these examples, so a stale one would mislead a reader; this runs each
module's doctests with the standard library's doctest.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import reference

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(reference.__path__, prefix="reference.")
    if not info.name.rsplit(".", 1)[-1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_of(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
