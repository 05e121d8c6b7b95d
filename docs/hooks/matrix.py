"""Shared by the docs hooks: one markdown table of claims (rows) against columns.

The Engines page (claims x engines) and the Releases page (claims x torch releases) draw the
same kind of table: a label per row, one status cell per column, an optional note (the
reason for a difference) under the badge. This module only renders; each hook decides what
the rows, columns and statuses are. It is not a hook itself (it is not listed in mkdocs.yml);
a hook imports it with::

    sys.path.insert(0, str(Path(__file__).parent))
    from matrix import Cell, matrix_table

Example:
    >>> print(matrix_table(["torch"], [("AG-SCALAR", [Cell("pass")])]))
    <div class="gs-matrix" markdown>
    <BLANKLINE>
    | Claim | torch |
    |---|---|
    | AG-SCALAR | <span class="gs-badge gs-pass">pass</span> |
    <BLANKLINE>
    </div>
    <BLANKLINE>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["STATUS_LABEL", "Cell", "matrix_table"]

# Status -> badge text. The CSS class is "gs-" + the status with spaces as dashes.
STATUS_LABEL = {
    "pass": "pass",
    "fail": "FAIL",
    "differs": "differs",
    "unexpectedly holds": "unexpectedly holds",
    "skipped": "skipped",
    "not run": "not run",
}


@dataclass(frozen=True)
class Cell:
    """One cell: a status badge (a key of :data:`STATUS_LABEL`) and an optional note."""

    status: str
    note: str = ""

    def render(self) -> str:
        if self.status not in STATUS_LABEL:
            raise ValueError(f"status must be one of {sorted(STATUS_LABEL)}, got {self.status!r}")
        css = "gs-" + self.status.replace(" ", "-")
        badge = f'<span class="gs-badge {css}">{STATUS_LABEL[self.status]}</span>'
        note = self.note.replace("|", "\\|").replace("\n", " ")
        return f"{badge}<br><small>{note}</small>" if note else badge


def matrix_table(
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[Cell]]],
    *,
    corner: str = "Claim",
) -> str:
    """A markdown table with a header ``corner | columns...`` and one line per row.

    Args:
        columns: the column headings (markdown allowed).
        rows: ``(label, cells)`` pairs; ``label`` is markdown (a link to the claim, say) and
            ``cells`` has one :class:`Cell` per column.
        corner: the heading of the label column.

    Raises:
        ValueError: a row whose number of cells is not the number of columns.
    """
    lines = [
        '<div class="gs-matrix" markdown>',
        "",
        "| " + " | ".join([corner, *columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for label, cells in rows:
        if len(cells) != len(columns):
            raise ValueError(f"row {label!r} has {len(cells)} cells for {len(columns)} columns")
        lines.append("| " + " | ".join([label, *(c.render() for c in cells)]) + " |")
    lines += ["", "</div>", ""]
    return "\n".join(lines)
