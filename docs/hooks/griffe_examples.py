"""griffe extension (loaded by mkdocstrings for the API pages): read ``Example:`` as examples.

Google-style docstrings here head their doctest with ``Example:``; griffe only knows the
plural ``Examples:`` as an examples section and renders the singular as an admonition, where
the ``>>>`` prompts turn into three nested quotes. Renaming the heading in the parsed docstring
text (the source files are untouched) makes the example render as a Python console block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

EXAMPLE_HEADING = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)


class ExamplesSection(griffe.Extension):
    """Rename a docstring's ``Example:`` heading to ``Examples:`` before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = EXAMPLE_HEADING.sub(r"\g<indent>Examples:", docstring.value)
