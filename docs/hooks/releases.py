"""mkdocs hook: the Releases page, and torch releases named in prose from the ledger.

* ``[[releases]]`` (alone on a line, in ``releases.md``) becomes the claims x torch releases
  matrix from the ledgers ``make matrix`` measured and that are committed as snapshots in
  ``docs/data/ledgers/`` (``torch-<release>.json``, with ``matrix.json`` for time and disk):
  where each release was measured, each claim that moved against the pinned release with
  its failing spec and the recorded text before and after, the test outcomes and recorded
  values that differ, and the differences ``gradspec ledger diff`` normalised away.
* ``[[torch-version]]`` (anywhere in a line) becomes the torch release the last test run
  used, read from ``build/ledger.json`` (``2.13.0``); ``[[torch-version: build]]`` gives the
  build tag as well (``2.13.0+cpu``). Without a ledger, the release pinned in
  ``constraints.txt``. Prose never hard-codes the release it describes.

The table layout is the one of the engines matrix (``docs/hooks/matrix.py``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

from gradspec_plugin.ledger_diff import LedgerError, diff_ledgers, load_ledger
from gradspec_plugin.registry import load_registry

sys.path.insert(0, str(Path(__file__).parent))
from matrix import STATUS_LABEL, Cell, matrix_table  # docs/hooks/matrix.py, shared

log = logging.getLogger("mkdocs.hooks.releases")

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "docs" / "data" / "ledgers"
LEDGER_PATH = ROOT / "build" / "ledger.json"
CONSTRAINTS = ROOT / "constraints.txt"
REGISTRY_PATH = ROOT / "spec_tests" / "claims.toml"

RELEASES = re.compile(r"^\[\[releases\]\][ \t]*$", re.MULTILINE)
TORCH_VERSION = re.compile(r"\[\[torch-version(?::\s*(?P<form>[^\]]*?))?\s*\]\]")
TORCH_PIN = re.compile(r"^torch\s*==\s*(?P<version>[^\s;#]+)", re.MULTILINE)
SHOWN_DIFFERENCES = 25  # per section; the rest is counted


def cell(status: str, note: str = "") -> Cell:
    """A matrix cell; a status the shared table has no badge for is shown as its note."""
    if status in STATUS_LABEL:
        return Cell(status, note)
    return Cell("not run", "; ".join(part for part in (status, note) if part))


def release_of(version: str | None) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``."""
    return (version or "?").split("+", 1)[0]


def _sort_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def pinned_release() -> str | None:
    if not CONSTRAINTS.is_file():
        return None
    match = TORCH_PIN.search(CONSTRAINTS.read_text(encoding="utf-8"))
    return release_of(match["version"]) if match else None


def torch_version(form: str | None) -> str:
    """What ``[[torch-version]]`` stands for: the release of the last run, from its ledger."""
    form = (form or "release").strip()
    if form not in ("release", "build"):
        raise PluginError(
            f"[[torch-version: {form}]]: use [[torch-version]] or [[torch-version: build]]"
        )
    version = None
    if LEDGER_PATH.is_file():
        ledger = json.loads(LEDGER_PATH.read_text(encoding="utf-8"))
        version = ledger.get("torch_build") or ledger.get("torch")
    if version is None:
        version = pinned_release()
        log.info(f"no ledger at {LEDGER_PATH}: [[torch-version]] is the pinned release {version}")
    if version is None:
        raise PluginError("[[torch-version]]: no ledger and no torch pin in constraints.txt")
    return version if form == "build" else release_of(version)


class Releases:
    """The snapshots of ``docs/data/ledgers/`` and what the page shows of them."""

    def __init__(self, folder: Path = SNAPSHOTS) -> None:
        self.ledgers: dict[str, dict[str, Any]] = {}
        for path in sorted(folder.glob("torch-*.json")):
            try:
                ledger = load_ledger(path)
            except LedgerError as error:
                raise PluginError(f"releases: {error}") from None
            self.ledgers[release_of(ledger.get("torch_build") or ledger.get("torch"))] = ledger
        self.ledgers = dict(sorted(self.ledgers.items(), key=lambda item: _sort_key(item[0])))
        runs_file = folder / "matrix.json"
        runs = json.loads(runs_file.read_text(encoding="utf-8")) if runs_file.is_file() else {}
        self.runs = {run["release"]: run for run in runs.get("releases", [])}
        pinned = pinned_release()
        self.reference = pinned if pinned in self.ledgers else next(iter(self.ledgers), None)
        self.registry = load_registry(REGISTRY_PATH)

    def build(self, release: str) -> str:
        ledger = self.ledgers[release]
        return ledger.get("torch_build") or ledger.get("torch") or release

    # ------------------------------------------------------------------ blocks
    def provenance(self) -> list[str]:
        lines = [
            "| torch | Python | Tests passed | Without a claim marker | Suite | venv | Measured |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for release, ledger in self.ledgers.items():
            summary = ledger.get("summary", {})
            tests = summary.get("tests", {})
            unclaimed = summary.get("unclaimed", {})
            run = self.runs.get(release, {})
            suite = f"{run['suite_seconds']:.0f} s" if run.get("suite_seconds") else "—"
            disk = f"{run['venv_bytes'] / 2**30:.1f} GiB" if run.get("venv_bytes") else "—"
            pinned = " (pinned)" if release == self.reference else ""
            lines.append(
                f"| `{self.build(release)}`{pinned} | {ledger.get('python', '?')} "
                f"| {tests.get('passed', 0)} of {sum(tests.values())} "
                f"| {unclaimed.get('passed', 0)} of {sum(unclaimed.values())} passed "
                f"| {suite} | {disk} | {str(ledger.get('generated', '?'))[:10]} |"
            )
        return [*lines, ""]

    def claim_label(self, claim_id: str) -> str:
        claim = self.registry.get(claim_id)
        if claim is None:
            return f"{claim_id} <small>(no longer registered)</small>"
        return f"[{claim_id}]({claim.chapter}.md#{claim_id})<br><small>{claim.title}</small>"

    def table(self) -> list[str]:
        """Claims x releases; a cell that differs from the pinned release says what it was."""
        releases = list(self.ledgers)
        ids = [claim_id for claim_id, claim in self.registry.items() if claim.kind != "definition"]
        for ledger in self.ledgers.values():
            ids += [
                claim_id
                for claim_id, entry in ledger["claims"].items()
                if claim_id not in ids
                and claim_id not in self.registry
                and entry["status"] != "definition"
            ]
        rows, passing = [], dict.fromkeys(releases, 0)
        for claim_id in ids:
            statuses = {
                release: self.ledgers[release]["claims"].get(claim_id, {}).get("status")
                for release in releases
            }
            reference = statuses.get(self.reference)
            cells = []
            for release, status in statuses.items():
                passing[release] += status == "pass"
                if status is None:
                    cells.append(Cell("not run", "not measured"))
                elif status != reference and reference is not None:
                    cells.append(cell(status, f"moved: {reference} on {self.reference}"))
                else:
                    cells.append(cell(status))
            rows.append((self.claim_label(claim_id), cells))
        columns = [f"`{self.build(release)}`" for release in releases]
        unmeasured = [
            claim_id
            for claim_id in ids
            if any(claim_id not in ledger["claims"] for ledger in self.ledgers.values())
        ]
        definitions = sum(claim.kind == "definition" for claim in self.registry.values())
        counts = ", ".join(f"{passing[r]} on `{self.build(r)}`" for r in releases)
        lines = [
            f"{len(ids)} executable claims ({definitions} definitions have nothing to run); "
            f"passing: {counts}.",
            "",
            matrix_table(columns, rows),
        ]
        if unmeasured:
            lines.append(
                f"*{len(unmeasured)} claim(s) not in every snapshot (registered after it was "
                "measured, or removed since): run `make matrix` again.*\n"
            )
        return lines

    @staticmethod
    def _text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)

    def before_after(self, old: Any, new: Any, old_name: str, new_name: str) -> list[str]:
        return [
            f'```text title="{old_name}"',
            self._text(old) if old is not None else "(nothing recorded)",
            "```",
            "",
            f'```text title="{new_name}"',
            self._text(new) if new is not None else "(nothing recorded)",
            "```",
            "",
        ]

    @staticmethod
    def _recorded(ledger: dict[str, Any], nodeid: str) -> dict[str, Any]:
        tests = [s for entry in ledger["claims"].values() for s in entry.get("specs", [])]
        tests += ledger.get("unclaimed", [])
        for test in tests:
            if test["nodeid"] == nodeid:
                values = {f"extra.{k}": v for k, v in test.get("extra", {}).items()}
                if test.get("message") is not None:
                    values["message"] = test["message"]
                return values
        return {}

    def comparison(self, release: str) -> list[str]:
        old, new = self.ledgers[self.reference], self.ledgers[release]
        old_name, new_name = self.build(self.reference), self.build(release)
        diff = diff_ledgers(old, new)
        lines = [f"### `{old_name}` → `{new_name}`", ""]
        moved = diff.moved_claims()
        lines.append(
            f"**{len(moved)} claim(s) moved**: {', '.join(moved)}."
            if moved
            else f"**No claim moved**: every claim has the same status on both releases "
            f"({diff.compared_tests} tests compared)."
        )
        lines.append("")
        for change in diff.status_changes:
            lines += [
                f"#### {change.claim} · {cell(change.old).render()} → {cell(change.new).render()}",
                "",
                self.claim_label(change.claim).replace("<br>", " — "),
                "",
            ]
            for spec in change.specs:
                lines += [f"- `{spec.nodeid}`: {spec.old} → {spec.new}", ""]
                before = self._recorded(old, spec.nodeid)
                after = self._recorded(new, spec.nodeid)
                for key in sorted(before.keys() | after.keys()):
                    if before.get(key) != after.get(key):
                        lines += [f"    Recorded `{key}`:", ""]
                        lines += [
                            "    " + line if line else ""
                            for line in self.before_after(
                                before.get(key), after.get(key), old_name, new_name
                            )
                        ]
        shown = {spec.nodeid for change in diff.status_changes for spec in change.specs}
        others = [change for change in diff.outcome_changes if change.nodeid not in shown]
        sections = (
            ("Test outcomes that changed", others, "outcome"),
            ("Recorded values that changed", diff.values("changed"), "value"),
            (
                "Floats equal within the tolerance, not bit for bit",
                diff.values("exact-bit"),
                "value",
            ),
            ("Differences normalised away", diff.values("ignored"), "value"),
        )
        for title, changes, kind in sections:
            lines += [f"**{title}: {len(changes)}**", ""]
            for change in changes[:SHOWN_DIFFERENCES]:
                owner = ", ".join(change.claims) if change.claims else "no claim marker"
                if kind == "outcome":
                    line = f"- `{change.nodeid}` ({owner}): {change.old} → {change.new}"
                    if change.failure_line:
                        line += f" — `{change.failure_line[:200]}`"
                    lines += [line, ""]
                    continue
                why = f" (normalised: {', '.join(change.rules)})" if change.rules else ""
                lines += [f"- `{change.nodeid}` ({owner}), `{change.key}`{why}:", ""]
                lines += [
                    "    " + line if line else ""
                    for line in self.before_after(change.old, change.new, old_name, new_name)
                ]
            if len(changes) > SHOWN_DIFFERENCES:
                lines += [f"*… and {len(changes) - SHOWN_DIFFERENCES} more.*", ""]
        lines += [
            f"Reproduce: `gradspec ledger diff docs/data/ledgers/torch-{self.reference}.json "
            f"docs/data/ledgers/torch-{release}.json` (tolerance rtol = {diff.rtol:g}, "
            f"atol = {diff.atol:g}).",
            "",
        ]
        return lines

    def block(self) -> str:
        if not self.ledgers:
            return (
                "*No snapshots in `docs/data/ledgers/` yet: run "
                '`make matrix TORCH="2.13.0 2.14.1"`.*\n'
            )
        lines = ["## Where each release was measured", "", *self.provenance()]
        lines += ["## Claims x releases", "", *self.table()]
        lines += [f"## What moved against the pinned release ({self.reference})", ""]
        for release in self.ledgers:
            if release != self.reference:
                lines += self.comparison(release)
        if len(self.ledgers) == 1:
            lines += ["*Only one release measured: nothing to compare.*", ""]
        return "\n".join(lines)


_releases: Releases | None = None


def on_pre_build(config: Any) -> None:
    global _releases
    _releases = None  # loaded on first use: only releases.md needs the snapshots


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    global _releases
    if RELEASES.search(markdown):
        if _releases is None:
            _releases = Releases()
        markdown = RELEASES.sub(lambda _: _releases.block(), markdown)
    return TORCH_VERSION.sub(lambda match: torch_version(match["form"]), markdown)
