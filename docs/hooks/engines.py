"""mkdocs hook: the Engines page, the claims x engines matrix from the ledgers.

``make test`` runs the autograd and tensor specs on PyTorch and on gradspec's engine and
writes ``build/ledger.json``; ``make engines`` runs them on every adapter (mygrad too) and
writes ``build/engines-ledger.json``. For each engine the newer ledger that ran it wins. The
directive ``[[engines-matrix]]`` (alone on a line, in ``engines.md``) expands into:

* one table row per claim that has engine specs, one column per engine (PyTorch first), each
  cell the claim's status on that engine: pass, FAIL, differs (with the reason from
  ``spec_tests/engines/<name>.toml``) or unexpectedly holds;
* per engine, every listed difference with its reason and its chapter link;
* the engines' adapters and the commands that produced the columns.

Without any ledger the page says how to produce one (a strict build of a fresh checkout
still passes).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from matrix import Cell, matrix_table

from gradspec_plugin.registry import load_registry

log = logging.getLogger("mkdocs.hooks.engines")

ROOT = Path(__file__).resolve().parents[2]
LEDGERS = (ROOT / "build" / "ledger.json", ROOT / "build" / "engines-ledger.json")
REGISTRY = ROOT / "spec_tests" / "claims.toml"
DIRECTIVE = re.compile(r"^\[\[engines-matrix\]\][ \t]*$", re.MULTILINE)
ORDER = ("torch", "engine", "mygrad")  # known engines first, others after, by name
TITLE = {"torch": "PyTorch", "engine": "gradspec's engine", "mygrad": "mygrad"}


def _load() -> list[dict[str, Any]]:
    ledgers = []
    for path in LEDGERS:
        if path.is_file():
            ledger = json.loads(path.read_text(encoding="utf-8"))
            ledger["_path"] = path.relative_to(ROOT).as_posix()
            ledgers.append(ledger)
    return sorted(ledgers, key=lambda ledger: ledger.get("generated", ""))


def engine_columns(ledgers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Engine -> the newest ledger that ran it."""
    newest: dict[str, dict[str, Any]] = {}
    for ledger in ledgers:  # oldest first: later ones overwrite
        for name in ledger.get("backends", {}):
            newest[name] = ledger
    return dict(sorted(newest.items(), key=lambda kv: (_rank(kv[0]), kv[0])))


def _rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else len(ORDER)


def render() -> str:
    registry = load_registry(REGISTRY)
    ledgers = _load()
    columns = engine_columns(ledgers)
    if not columns:
        return (
            "*No ledger with engine outcomes yet: run `make test` (PyTorch and gradspec's "
            "engine) and `make engines` (every adapter), then rebuild the site.*\n"
        )
    claim_ids = [
        claim_id
        for claim_id in registry
        if any(ledger["claims"].get(claim_id, {}).get("backends") for ledger in ledgers)
    ]
    rows = []
    for claim_id in claim_ids:
        claim = registry[claim_id]
        cells = []
        for name, ledger in columns.items():
            status = ledger["claims"].get(claim_id, {}).get("backends", {}).get(name, "not run")
            note = ""
            if status == "differs":
                note = ledger["backends"][name]["differences"].get(claim_id, "")
            cells.append(Cell(status, note))
        label = f"[{claim_id}]({claim.chapter}.md#{claim_id})<br><small>{claim.title}</small>"
        rows.append((label, cells))
    headings = [TITLE.get(name, f"`{name}`") for name in columns]
    lines = [matrix_table(headings, rows), "## Every difference, explained", ""]
    for name, ledger in columns.items():
        info = ledger["backends"][name]
        listed = info.get("differences", {})
        lines.append(f"### {TITLE.get(name, name)}")
        lines.append("")
        if not listed:
            lines.append("Reproduces every claim above: its list of differences is empty.")
        for claim_id, reason in sorted(listed.items()):
            chapter = registry[claim_id].chapter if claim_id in registry else ""
            lines.append(f"- [{claim_id}]({chapter}.md#{claim_id}): {reason}")
        for claim_id in info.get("unexpectedly_holds", []):
            lines.append(f"- **{claim_id} unexpectedly holds**: remove it from the list.")
        lines.append("")
    lines += ["## Where the columns come from", ""]
    lines += ["| Engine | Adapter | Ledger | Run |", "|---|---|---|---|"]
    for name, ledger in columns.items():
        adapter = ledger["backends"][name].get("adapter") or name
        command = "pytest " + " ".join(ledger.get("args", []))
        lines.append(
            f"| {TITLE.get(name, name)} | `{adapter}` | `{ledger['_path']}` "
            f"({ledger.get('generated', '?')}) | `{command}` |"
        )
    lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not DIRECTIVE.search(markdown):
        return markdown
    table = render()
    return DIRECTIVE.sub(lambda _: table, markdown)
