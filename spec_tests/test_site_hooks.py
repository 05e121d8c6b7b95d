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
    assert '<code class="gs-spec-id">x.py::<wbr>t_<wbr>FEAT-BIAS</code> **1 of 1 failed**' in row
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


def load_hook(name: str, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"{name}_hook", ROOT / f"docs/hooks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_a_claim_box_shows_the_chinese_and_the_command_that_runs_its_specs(hooks):
    site = hooks.Site()
    claim = site.registry["FEAT-NORM.loop"]
    block = site.expand("[[claim: FEAT-NORM.loop]]", "digits.md")
    assert claim.title_zh
    assert claim.statement_zh
    assert claim.title_zh.replace("归一化", "\u200b归一化\u200b") in block  # segmented term
    assert 'lang="zh-Hans"' in block
    assert "    pytest spec_tests --claim FEAT-NORM.loop" in block
    assert '```bash title="Run its specs"' in block


def test_a_claim_under_a_section_is_one_level_deeper_and_does_not_repeat_its_title(hooks):
    site = hooks.Site()
    title = site.registry["FEAT-BIAS"].title
    under_section = site.expand(f"# Page\n\n## {title}\n\n[[claim: FEAT-BIAS]]\n", "digits.md")
    assert "### FEAT-BIAS <span" in under_section  # the ID, then the Chinese title
    assert f"FEAT-BIAS · {title}" not in under_section
    after_text = site.expand("# Page\n\n## Other\n\nText.\n\n[[claim: FEAT-BIAS]]\n", "digits.md")
    assert f"### FEAT-BIAS · {title}" in after_text
    top = site.expand("# Page\n\n[[claim: FEAT-BIAS]]\n", "digits.md")
    assert f"## FEAT-BIAS · {title}" in top


def test_claims_index_and_downloads_list_every_claim(hooks):
    import csv
    import io

    registry = hooks.load_registry(hooks.REGISTRY_PATH)
    hooks.LEDGER_PATH.write_text(json.dumps(fake_ledger(registry, "FEAT-BIAS")))
    site = hooks.Site()
    page = site.claims_index_page()
    rows = [line for line in page.splitlines() if line.startswith("<tr data-chapter=")]
    assert len(rows) == len(registry)
    bias = next(row for row in rows if "#FEAT-BIAS" in row)
    assert 'data-status="fail"' in bias
    assert 'data-specs="1"' in bias
    assert "search:\n  exclude: true" in page  # the search lands on claims, not on the table
    table = list(csv.DictReader(io.StringIO(site.ledger_csv())))
    assert [row["id"] for row in table] == list(registry)
    assert next(r for r in table if r["id"] == "FEAT-BIAS")["status"] == "fail"
    assert all(row["title_zh"] for row in table)
    assert json.loads(site.ledger_json())["claims"]["FEAT-BIAS"]["status"] == "fail"


def test_errata_page_groups_by_chapter_and_quotes_the_deciding_assertion(hooks):
    site = hooks.Site()
    page = site.errata_page()
    errata = [c for c in site.registry.values() if c.verdict == "erratum"]
    assert "Common misconceptions" in page
    for claim in errata:
        assert f"### {claim.id} · {claim.title}" in page
    chapters = [line for line in page.splitlines() if line.startswith("## ")]
    assert len(chapters) == len({c.chapter for c in errata})
    # FEAT-NORM.loop's first spec marks the erratum with a comment; the assertions after it
    # are quoted by line range.
    source = site.specs["FEAT-NORM.loop"][0]
    start, end = source.deciding
    lines = (ROOT / source.path).read_text().splitlines()
    assert "erratum" in lines[start - 1].lower()
    assert lines[end - 1].strip().startswith("assert")
    assert f'--8<-- "{source.path}:{start}:{end}"' in page


def test_recorded_values_are_laid_out_compactly(hooks):
    text = hooks._format_value({"lr": 0.1, "xs": [1.0, 2.0, 3.0], "grid": [[1, 2], [3, 4]]})
    assert text.splitlines() == ["lr: 0.1", "xs: [1.0, 2.0, 3.0]", "grid: [[1, 2], [3, 4]]"]
    long = hooks._format_value(list(range(60)))
    assert 1 < len(long.splitlines()) < 60
    assert all(len(line) <= 88 for line in long.splitlines())


def test_rest_roles_become_optional_cross_references(monkeypatch):
    reading = load_hook("reading", monkeypatch)
    monkeypatch.setattr(reading, "_names", {"least_squares": ["reference.linear.least_squares"]})
    html = "see :func:<code>least_squares</code> and :class:<code>~torch.nn.Linear</code>."
    out = reading.replace_roles(html, ["reference.linear"])
    assert ":func:" not in out
    assert ":class:" not in out
    assert '<autoref identifier="reference.linear.least_squares" optional>' in out
    assert "<code>least_squares()</code>" in out
    assert '<autoref identifier="torch.nn.Linear" optional><code>Linear</code>' in out


def test_figures_get_numbered_captions(monkeypatch):
    reading = load_hook("reading", monkeypatch)
    html = '<p><img alt="First &amp; best" src="../figures/a.svg" /></p><p>text</p>' * 2
    out = reading.caption_figures(html, "3.", {"a.svg": 500.0})
    assert out.count("<figure") == 2
    assert "<strong>Figure 3.1.</strong> First &amp; best</figcaption>" in out
    assert "<strong>Figure 3.2.</strong>" in out
    assert "--gs-phone-width: 425px" in out


def test_search_text_has_no_tex_but_code_is_left_alone(monkeypatch):
    reading = load_hook("reading", monkeypatch)
    text = r"the step \(\frac{a}{b} \le \sigma\) and <code>match=r'in \[0, 1\)'</code>"
    out = reading.plain_math(text)
    assert out == r"the step (a)/(b) ≤ σ and <code>match=r'in \[0, 1\)'</code>"


def test_benchmark_numbers_have_one_format(monkeypatch):
    bench = load_hook("benchmarks", monkeypatch)
    assert bench.ratio_x(38205.6) == "38,200x"
    assert bench.ratio_x(9073.9) == "9,070x"
    assert bench.ratio_x(0.39190) == "0.392x"
    assert bench.ratio_x(10.18) == "10.2x"
    assert bench.sig3(1480.0) == "1,480"
    # One unit per time column: the fastest still reads 0.01 or more.
    assert bench.time_unit([0.000144, 5.5]) == ("ms", 1e-3)
    assert bench.time_unit([2.0, 30.0]) == ("s", 1.0)
    fast = bench.reference_of("digits")
    entries = {
        fast: {"seconds": 0.000144, "rounds": 200, "scale": 1.0, "note": "n1"},
        "literal loop": {"seconds": 5.5, "rounds": 5, "scale": 50.0, "note": "n2"},
    }
    table = "\n".join(bench.group_table("digits", entries))
    assert f"| Contender | Time (ms) | Ratio to {fast} | Rounds | Time scaled by |" in table
    assert "| literal loop | 5,500 | 38,200x | 5 | 50x |" in table
    assert "- **literal loop**: n2" in table  # notes under the table, not in a wide column
    assert "e+" not in table
