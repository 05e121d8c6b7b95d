"""Specs of the docs build hook (docs/hooks/claims.py): the site tells what the ledger says.

A failing claim must show as failing on the site; a directive naming an unknown claim, or a
claim shown on the wrong page, must stop the build.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hooks(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("claims_hook", ROOT / "docs/hooks/claims.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "LEDGER_PATH", tmp_path / "ledger.json")
    return module


def fake_ledger(registry: dict, failing: str) -> dict:
    claims = {}
    for claim_id, claim in registry.items():
        status = "definition" if claim.kind == "definition" else "pass"
        outcome = "passed"
        if claim_id == failing:
            status, outcome = "fail", "failed"
        specs = (
            []
            if status == "definition"
            else [{"nodeid": f"x.py::t_{claim_id}", "outcome": outcome, "extra": {}}]
        )
        claims[claim_id] = {**claim.to_dict(), "status": status, "specs": specs}
    return {
        "generated": "2026-01-01T00:00:00+00:00",
        "torch": "9.9",
        "python": "3.11",
        "platform": "test",
        "args": ["spec_tests"],
        "exitstatus": 1,
        "summary": {
            "claims": len(claims),
            "errata": 0,
            "definitions": 0,
            "status": {"pass": len(claims) - 1, "fail": 1},
            "tests": {},
        },
        "claims": claims,
    }


def test_a_failing_claim_shows_as_failing_on_the_ledger_and_its_chapter(hooks):
    registry = hooks.load_registry(hooks.REGISTRY_PATH)
    hooks.LEDGER_PATH.write_text(json.dumps(fake_ledger(registry, "FEAT-BIAS")))
    site = hooks.Site()
    ledger_page = site.ledger_page()
    row = next(line for line in ledger_page.splitlines() if 'id="ledger-feat-bias"' in line)
    assert "gs-fail" in row
    assert "FAIL" in row
    assert "`x.py::t_FEAT-BIAS` **1 of 1 failed**" in row
    other = next(line for line in ledger_page.splitlines() if 'id="ledger-dig-data"' in line)
    assert "gs-pass" in other
    block = site.expand("[[claim: FEAT-BIAS]]", "digits.md")
    assert "gs-fail" in block
    assert "{#FEAT-BIAS" in block


def test_an_unknown_claim_or_a_claim_on_the_wrong_page_stops_the_build(hooks):
    site = hooks.Site()
    with pytest.raises(PluginError, match="unknown claim"):
        site.expand("[[claim: NOPE-1]]", "digits.md")
    with pytest.raises(PluginError, match=r"belongs on digits\.md"):
        site.expand("[[claim: FEAT-BIAS]]", "glossary.md")


def test_specs_directive_includes_the_spec_source_by_line_range(hooks):
    site = hooks.Site()
    block = site.expand("[[specs: FEAT-BIAS]]", "digits.md")
    source = (ROOT / "spec_tests/test_digits.py").read_text().splitlines()
    first = next(i for i, line in enumerate(source, 1) if "def test_bias_column_turns" in line)
    # The range starts at the first decorator, one line above the def.
    assert f'--8<-- "spec_tests/test_digits.py:{first - 1}:' in block
    assert source[first - 2].strip() == '@pytest.mark.claim("FEAT-BIAS")'


def test_a_missing_extra_value_is_reported_not_invented(hooks, caplog):
    registry = hooks.load_registry(hooks.REGISTRY_PATH)
    ledger = fake_ledger(registry, failing="")
    with_extra = copy.deepcopy(ledger)
    with_extra["claims"]["FEAT-BIAS"]["specs"][0]["extra"] = {"message": "boom: text"}
    hooks.LEDGER_PATH.write_text(json.dumps(with_extra))
    site = hooks.Site()
    assert "boom: text" in site.expand("[[extra: FEAT-BIAS message]]", "digits.md")
    assert "not recorded" in site.expand("[[extra: DIG-DATA message]]", "digits.md")
    assert "recorded no such value" in caplog.text
