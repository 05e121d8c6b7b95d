"""Specs of the Releases page hook (docs/hooks/releases.py).

Hand-made snapshots of two releases, one claim moved between them: the page must show both
columns, name the claim that moved with its recorded text before and after, and list what
the diff normalised away. ``[[torch-version]]`` must come from the ledger, not from prose.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]


def load_hook(name: str, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"{name}_hook", ROOT / f"docs/hooks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hook(monkeypatch, tmp_path):
    module = load_hook("releases", monkeypatch)
    monkeypatch.setattr(module, "LEDGER_PATH", tmp_path / "ledger.json")
    return module


def snapshot(registry, torch: str, moved: str | None, line: int) -> dict:
    """A ledger of the real registry where every spec passes except claim ``moved``."""
    claims = {}
    for claim_id, claim in registry.items():
        if claim.kind == "definition":
            claims[claim_id] = {**claim.to_dict(), "status": "definition", "specs": []}
            continue
        spec = {"nodeid": f"spec_tests/x.py::test_{claim_id}", "outcome": "passed", "extra": {}}
        if claim_id == moved:
            spec.update(outcome="failed", message="AssertionError: dtype is float64 now")
        claims[claim_id] = {
            **claim.to_dict(),
            "status": "fail" if claim_id == moved else "pass",
            "specs": [spec],
        }
    first = next(c for c in claims.values() if c["status"] != "definition")
    first["specs"][0]["extra"]["warning"] = f"(Triggered internally at core/TensorBody.h:{line}.)"
    return {
        "generated": "2026-12-01T07:00:00+00:00",
        "python": "3.11.7",
        "torch": torch,
        "torch_build": torch,
        "summary": {"tests": {"passed": len(claims)}, "unclaimed": {"passed": 31}},
        "claims": claims,
        "unclaimed": [{"nodeid": "reference/a.py::a", "outcome": "passed", "extra": {}}],
    }


def write_snapshots(folder: Path, registry, moved: str | None) -> None:
    folder.mkdir()
    for torch, changed, line in (("2.13.0+cpu", None, 493), ("2.14.1+cu130", moved, 488)):
        ledger = snapshot(registry, torch, changed, line)
        name = f"torch-{torch.split('+')[0]}.json"
        (folder / name).write_text(json.dumps(ledger), encoding="utf-8")
    runs = {"releases": [{"release": "2.14.1", "suite_seconds": 95.0, "venv_bytes": 6 * 2**30}]}
    (folder / "matrix.json").write_text(json.dumps(runs), encoding="utf-8")


def test_the_page_shows_both_releases_and_the_claim_that_moved(hook, tmp_path):
    registry = hook.load_registry(hook.REGISTRY_PATH)
    moved = [c for c in registry.values() if c.kind == "spec"][1].id  # [0] records the warning
    write_snapshots(tmp_path / "ledgers", registry, moved=moved)
    page = hook.Releases(tmp_path / "ledgers").block()
    header = next(line for line in page.splitlines() if line.startswith("| Claim |"))
    assert header == "| Claim | `2.13.0+cpu` | `2.14.1+cu130` |"
    assert "**1 claim(s) moved**: " + moved in page
    assert f"#### {moved} ·" in page
    row = next(line for line in page.splitlines() if line.startswith(f"| [{moved}]"))
    assert row.count("gs-pass") == 1
    assert row.count("gs-fail") == 1
    assert "moved: pass on 2.13.0" in row
    # The recorded text before and after (here the failure message), each under its release.
    after = page.split('title="2.14.1+cu130"')
    assert any(part.lstrip("\n ").startswith("AssertionError: dtype") for part in after[1:])
    # What the diff set aside is listed, with both texts.
    ignored = page.split("Differences normalised away: 1")[1]
    assert "cpp-source-location" in ignored
    assert "TensorBody.h:493" in ignored
    assert "TensorBody.h:488" in ignored
    assert "| `2.14.1+cu130` | 3.11.7 |" in page
    assert "95 s | 6.0 GiB" in page


def test_no_claim_moved_is_said_plainly(hook, tmp_path):
    registry = hook.load_registry(hook.REGISTRY_PATH)
    write_snapshots(tmp_path / "ledgers", registry, moved=None)
    page = hook.Releases(tmp_path / "ledgers").block()
    assert "**No claim moved**" in page
    assert "moved:" not in page


def test_without_snapshots_the_page_says_how_to_make_them(hook, tmp_path):
    (tmp_path / "empty").mkdir()
    assert "make matrix" in hook.Releases(tmp_path / "empty").block()


def test_torch_version_in_prose_comes_from_the_ledger(hook, tmp_path):
    (tmp_path / "ledger.json").write_text(
        json.dumps({"torch": "9.1.2+cu999", "torch_build": "9.1.2+cu999", "claims": {}}),
        encoding="utf-8",
    )
    text = "dtype in torch [[torch-version]]; built as [[torch-version: build]]."
    page = type("Page", (), {})()
    assert (
        hook.on_page_markdown(text, page, None, None)
        == "dtype in torch 9.1.2; built as 9.1.2+cu999."
    )
    with pytest.raises(PluginError, match="torch-version: nightly"):
        hook.on_page_markdown("[[torch-version: nightly]]", page, None, None)


def test_without_a_ledger_the_pinned_release_is_named(hook):
    assert not hook.LEDGER_PATH.exists()
    assert hook.torch_version(None) == hook.pinned_release()
    assert hook.pinned_release() is not None


def test_no_page_hard_codes_the_torch_release():
    """Prose names the release through [[torch-version]]; code blocks may show commands."""
    offenders = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        in_code = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
            if not in_code and ("torch 2.13" in line or "torch\n2.13" in line):
                offenders.append(f"{page.name}:{number}")
    assert offenders == []
