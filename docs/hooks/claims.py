"""mkdocs hook: claims, specs and the ledger on the site.

At build time it reads the claim registry (``spec_tests/claims.toml``), the ledger of the last
test run (``build/ledger.json``) and the spec sources, and

* generates ``ledger.md`` (every claim, its status, its specs) and ``errata.md``;
* expands these directives, each alone on a line, in any page:

  - ``[[claim: ID]]``: heading with anchor ``#ID``, the statement, verdict and live status,
    and for an erratum the correction;
  - ``[[specs: ID]]``: the source of every spec marked with the claim, included from
    ``spec_tests/`` by line range (pymdownx.snippets), with the outcomes of the last run;
  - ``[[extra: ID key]]``: the value specs of ``ID`` recorded with ``ledger_extra(key, ...)``;
  - ``[[ledger-summary]]``: the headline numbers of the last run;
  - ``[[chapters]]``: a table of the chapters with their claim counts and status.

It fails the (strict) build when a directive names an unknown claim, when a registered claim
is missing from its chapter page, or when the ledger is missing or older than the registry.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from gradspec_plugin.registry import Claim, load_registry

log = logging.getLogger("mkdocs.hooks.claims")

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec_tests"
REGISTRY_PATH = SPEC_DIR / "claims.toml"
LEDGER_PATH = ROOT / "build" / "ledger.json"

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<name>claim|specs|extra|ledger-summary|chapters)"
    r"(?::\s*(?P<args>[^\]]*))?\]\][ \t]*$",
    re.MULTILINE,
)

STATUS_LABEL = {
    "pass": "pass",
    "fail": "FAIL",
    "skipped": "skipped",
    "not run": "not run",
    "definition": "definition",
}


@dataclass(frozen=True)
class SpecSource:
    """Where a spec function stands in spec_tests/."""

    path: str  # relative to ROOT
    qualname: str  # "test_x" or "TestClass::test_x"
    first_line: int  # first decorator line
    last_line: int


def _is_claim_marker(node: ast.expr) -> str | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr != "claim":
        return None
    mark = node.func.value
    if not (isinstance(mark, ast.Attribute) and mark.attr == "mark"):
        return None
    if len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
        value = node.args[0].value
        return value if isinstance(value, str) else None
    return None


def scan_specs() -> dict[str, list[SpecSource]]:
    """Claim ID -> spec functions carrying its marker, by reading the spec sources."""
    found: dict[str, list[SpecSource]] = defaultdict(list)
    for path in sorted(SPEC_DIR.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(body: list[ast.stmt], prefix: str, relative: str) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}::", relative)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    ids = [i for i in map(_is_claim_marker, node.decorator_list) if i]
                    if not ids:
                        continue
                    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    source = SpecSource(relative, prefix + node.name, first, node.end_lineno)
                    for claim_id in ids:
                        found[claim_id].append(source)

        visit(tree.body, "", path.relative_to(ROOT).as_posix())
    return found


class Site:
    """Everything the directives need, loaded once per build."""

    def __init__(self) -> None:
        self.registry: dict[str, Claim] = load_registry(REGISTRY_PATH)
        self.specs = scan_specs()
        self.ledger: dict[str, Any] | None = None
        if LEDGER_PATH.is_file():
            self.ledger = json.loads(LEDGER_PATH.read_text(encoding="utf-8"))
        self.shown: dict[str, str] = {}  # claim ID -> page it was shown on

    # ------------------------------------------------------------------ ledger access
    def entry(self, claim_id: str) -> dict[str, Any]:
        if self.ledger is None:
            return {"status": "not run", "specs": []}
        return self.ledger["claims"].get(claim_id, {"status": "not run", "specs": []})

    def status(self, claim_id: str) -> str:
        return self.entry(claim_id)["status"]

    def outcomes_by_function(self, claim_id: str) -> dict[tuple[str, str], list[str]]:
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for spec in self.entry(claim_id)["specs"]:
            path, _, rest = spec["nodeid"].partition("::")
            function = rest.split("[", 1)[0]
            grouped[(path, function)].append(spec["outcome"])
        return grouped

    def check_ledger(self) -> None:
        if self.ledger is None:
            log.warning(f"no ledger at {LEDGER_PATH}: run 'make test' before building the docs")
            return
        missing = [claim_id for claim_id in self.registry if claim_id not in self.ledger["claims"]]
        if missing:
            log.warning(
                "build/ledger.json is older than the registry (no entry for "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}): run 'make test'"
            )

    # ------------------------------------------------------------------ rendering
    def badge(self, status: str) -> str:
        css = "gs-" + status.replace(" ", "-")
        return f'<span class="gs-badge {css}">{STATUS_LABEL[status]}</span>'

    def verdict_badge(self, claim: Claim) -> str:
        return f'<span class="gs-badge gs-{claim.verdict}">{claim.verdict}</span>'

    def claim_block(self, claim_id: str, page: str) -> str:
        claim = self.registry[claim_id]
        if claim.chapter + ".md" != page:
            raise PluginError(
                f"{page}: [[claim: {claim_id}]] belongs on {claim.chapter}.md (its chapter)"
            )
        self.shown[claim_id] = page
        lines = [
            f"## {claim_id} · {claim.title} {{#{claim_id} data-toc-label='{claim_id}'}}",
            "",
            f"{self.verdict_badge(claim)}{self.badge(self.status(claim_id))}"
            f" <small>[ledger](ledger.md#ledger-{claim_id.lower().replace('.', '-')})</small>",
            "",
            '!!! quote "The claim, as the source states it"',
            "",
            f"    {claim.statement}",
            "",
            f"    <small>Source: {claim.source}</small>",
            "",
        ]
        if claim.verdict == "erratum":
            lines += [
                '!!! failure "Erratum: what is actually true"',
                "",
                f"    {claim.correction}",
                "",
            ]
        return "\n".join(lines)

    def specs_block(self, claim_id: str, page: str) -> str:
        claim = self.registry[claim_id]
        sources = self.specs.get(claim_id, [])
        if not sources:
            if claim.kind == "definition":
                return "*A definition: nothing to execute.*\n"
            raise PluginError(f"{page}: [[specs: {claim_id}]] but no spec carries that marker")
        outcomes = self.outcomes_by_function(claim_id)
        blocks = []
        for index, source in enumerate(sources):
            results = outcomes.get((source.path, source.qualname), [])
            if not results:
                summary = "not run"
            else:
                passed = results.count("passed")
                summary = (
                    f"passed ({passed} of {len(results)})"
                    if passed == len(results)
                    else f"FAILED ({len(results) - passed} of {len(results)} not passing: "
                    f"{', '.join(sorted(set(r for r in results if r != 'passed')))})"
                )
            opener = "???+" if index == 0 else "???"
            kind = "success" if summary.startswith("passed") else "failure"
            if summary == "not run":
                kind = "example"
            blocks += [
                f'{opener} {kind} "Spec `{source.qualname}` — {summary}"',
                "",
                f'    ```python linenums="{source.first_line}" title="{source.path}"',
                f'    --8<-- "{source.path}:{source.first_line}:{source.last_line}"',
                "    ```",
                "",
            ]
        return "\n".join(blocks)

    def extra_block(self, claim_id: str, key: str, page: str) -> str:
        values = []
        for spec in self.entry(claim_id)["specs"]:
            if key in spec.get("extra", {}):
                value = spec["extra"][key]
                text = value if isinstance(value, str) else json.dumps(value, indent=1)
                if text not in values:
                    values.append(text)
        if not values:
            log.warning(f"{page}: [[extra: {claim_id} {key}]]: the last run recorded no such value")
            return "*(not recorded in the last run)*\n"
        torch_version = (self.ledger or {}).get("torch", "?")
        blocks = []
        for text in values:
            blocks += [
                f'```text title="recorded by the last run (torch {torch_version})"',
                text,
                "```",
                "",
            ]
        return "\n".join(blocks)

    def summary_block(self) -> str:
        if self.ledger is None:
            return "*No test run recorded yet: run `make test`.*\n"
        counts = self.ledger["summary"]["status"]
        total = self.ledger["summary"]["claims"]
        errata = self.ledger["summary"]["errata"]
        return (
            f'<p class="gs-headline"><strong>{total}</strong> claims · '
            f"<strong>{counts.get('pass', 0)}</strong> passing · "
            f"<strong>{counts.get('fail', 0)}</strong> failing · "
            f"<strong>{errata}</strong> errata · "
            f"<strong>{counts.get('definition', 0)}</strong> definitions — last run "
            f"{self.ledger['generated']}, torch {self.ledger['torch']}, "
            f"Python {self.ledger['python']}</p>\n"
        )

    def by_chapter(self) -> dict[str, list[Claim]]:
        chapters: dict[str, list[Claim]] = defaultdict(list)
        for claim in self.registry.values():
            chapters[claim.chapter].append(claim)
        return chapters

    def chapter_title(self, chapter: str) -> str:
        """The chapter page's first heading, or its slug when there is none."""
        page = ROOT / "docs" / f"{chapter}.md"
        if page.is_file():
            first = page.read_text(encoding="utf-8").lstrip().splitlines()[0]
            if first.startswith("# "):
                return first[2:].strip()
        return chapter

    def chapters_block(self) -> str:
        rows = ["| Chapter | Claims | Passing | Errata |", "|---|---:|---:|---:|"]
        for chapter, claims in self.by_chapter().items():
            passing = sum(self.status(c.id) == "pass" for c in claims)
            errata = sum(c.verdict == "erratum" for c in claims)
            rows.append(
                f"| [{self.chapter_title(chapter)}]({chapter}.md) | {len(claims)} "
                f"| {passing} | {errata} |"
            )
        return "\n".join(rows) + "\n"

    # ------------------------------------------------------------------ generated pages
    def chapter_link(self, claim: Claim) -> str:
        return f"[{claim.id}]({claim.chapter}.md#{claim.id})"

    def ledger_page(self) -> str:
        lines = [
            "# Claim ledger",
            "",
            "Every claim of the registry with what the **last test run** saw. A claim passes",
            "when every spec that carries its marker passed; one failing spec fails it.",
            "Regenerate with `make test` (or `pytest spec_tests`), then `make docs`.",
            "",
            "[[ledger-summary]]",
            "",
        ]
        if self.ledger is not None:
            lines += [
                f"Command: `pytest {' '.join(self.ledger['args'])}` · exit status "
                f"{self.ledger['exitstatus']} · {self.ledger['platform']}",
                "",
            ]
        for chapter, claims in self.by_chapter().items():
            lines += [
                f"## {self.chapter_title(chapter)}",
                "",
                '<div class="gs-ledger" markdown>',
                "",
                "| Claim | Verdict | Status | Specs in the last run |",
                "|---|---|---|---|",
            ]
            for claim in claims:
                anchor = "ledger-" + claim.id.lower().replace(".", "-")
                lines.append(
                    f'| <span id="{anchor}"></span>{self.chapter_link(claim)}<br>{claim.title} '
                    f"| {self.verdict_badge(claim)} | {self.badge(self.status(claim.id))} "
                    f"| {self.spec_summary(claim)} |"
                )
            lines += ["", "</div>", ""]
        return "\n".join(lines)

    def spec_summary(self, claim: Claim) -> str:
        """One line per spec function: its node id and how its cases ended."""
        grouped = self.outcomes_by_function(claim.id)
        if not grouped:
            return "—" if claim.kind == "definition" else "*no spec ran*"
        cells = []
        for (path, function), results in sorted(grouped.items()):
            passed = results.count("passed")
            if passed == len(results):
                verdict = "passed" if passed == 1 else f"{passed} cases passed"
            else:
                bad = sorted(set(r for r in results if r != "passed"))
                verdict = f"**{len(results) - passed} of {len(results)} {'/'.join(bad)}**"
            cells.append(f"`{path}::{function}` {verdict}")
        return "<br>".join(cells)

    def errata_page(self) -> str:
        errata = [claim for claim in self.registry.values() if claim.verdict == "erratum"]
        lines = [
            "# Errata",
            "",
            f"The source material states {len(errata)} things that do not hold as stated.",
            "Each is registered as an erratum: its spec asserts what is actually true and shows",
            "that the original statement fails. Status is from the last test run.",
            "",
        ]
        for claim in errata:
            lines += [
                f"## {claim.id} · {claim.title}",
                "",
                f"{self.badge(self.status(claim.id))} Explained in {self.chapter_link(claim)}.",
                "",
                f"**The claim:** {claim.statement}",
                "",
                f"**What is true:** {claim.correction}",
                "",
            ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ expansion
    def expand(self, markdown: str, page: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name, args = match["name"], (match["args"] or "").split()
            if name == "ledger-summary":
                return self.summary_block()
            if name == "chapters":
                return self.chapters_block()
            if not args or args[0] not in self.registry:
                raise PluginError(f"{page}: [[{name}: ...]] names an unknown claim: {args!r}")
            if name == "claim":
                return self.claim_block(args[0], page)
            if name == "specs":
                return self.specs_block(args[0], page)
            if len(args) != 2:
                raise PluginError(f"{page}: use [[extra: ID key]], got {match[0]!r}")
            return self.extra_block(args[0], args[1], page)

        return DIRECTIVE.sub(replace, markdown)


_site: Site | None = None


def on_pre_build(config: Any) -> None:
    global _site
    _site = Site()
    _site.check_ledger()


def on_files(files: Files, config: Any) -> Files:
    assert _site is not None
    for name, content in (("ledger.md", _site.ledger_page()), ("errata.md", _site.errata_page())):
        existing = files.get_file_from_path(name)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, name, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    assert _site is not None
    chapters = {claim.chapter + ".md" for claim in _site.registry.values()}
    if page.file.src_uri in chapters:
        # A learner searching "least squares" wants the chapter before the API entry.
        page.meta.setdefault("search", {}).setdefault("boost", 3)
    return _site.expand(markdown, page.file.src_uri)


def on_env(env: Any, config: Any, files: Files) -> Any:
    assert _site is not None
    missing = [
        f"{claim.id} (on {claim.chapter}.md)"
        for claim in _site.registry.values()
        if claim.id not in _site.shown
    ]
    if missing:
        raise PluginError(
            "registered claims not shown on their chapter page with [[claim: ID]]: "
            + ", ".join(missing)
        )
    return env
