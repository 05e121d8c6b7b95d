"""Meta-spec: every registered claim has a Chinese title and a one-sentence Chinese statement.

The source notes are Chinese and so are many of their readers: the claim boxes and the claims
index show ``title_zh`` and ``statement_zh`` under the English, and the site search finds a
claim by its Chinese words. Both fields are written by us (never the notes' sentences).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REGISTRY = Path(__file__).resolve().parent / "claims.toml"
CJK = re.compile(r"[\u4e00-\u9fff]")
CLAIMS = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["claims"]


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_claim_has_a_chinese_title_and_statement(claim_id):
    fields = CLAIMS[claim_id]
    missing = [name for name in ("title_zh", "statement_zh") if not fields.get(name, "").strip()]
    assert missing == [], f"{claim_id}: add {' and '.join(missing)} to spec_tests/claims.toml"
    for name in ("title_zh", "statement_zh"):
        assert CJK.search(fields[name]), f"{claim_id}: {name} has no Chinese text"
    title, statement = fields["title_zh"], fields["statement_zh"]
    assert len(title) <= 40, f"{claim_id}: title_zh is a title, keep it short"
    assert statement.endswith("。"), f"{claim_id}: statement_zh is one sentence ending in 。"
    assert statement.count("。") == 1, f"{claim_id}: statement_zh should be one sentence"


def test_chinese_fields_follow_the_statement_in_each_table():
    """Kept right after ``statement`` so appends by others never conflict with them."""
    current, previous, misplaced = None, "", []
    for line in REGISTRY.read_text(encoding="utf-8").splitlines():
        if line.startswith("[claims."):
            current, previous = line, ""
            continue
        key = line.split("=", 1)[0].strip()
        if key == "title_zh" and previous != "statement":
            misplaced.append(current)
        if key == "statement_zh" and previous != "title_zh":
            misplaced.append(current)
        if key:
            previous = key
    assert misplaced == []
