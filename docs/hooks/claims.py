"""mkdocs hook: claims, specs and the ledger on the site.

At build time it reads the claim registry (``spec_tests/claims.toml``), the ledger of the last
test run (``build/ledger.json``) and the spec sources, and

* generates ``ledger.md`` (every claim, its status, its specs), ``claims.md`` (one index of
  every claim, filtered and sorted in the browser), ``errata.md`` (each erratum with the
  assertion that decides it) and the downloads ``downloads/ledger.json`` and ``.csv``;
* expands these directives, each alone on a line, in any page:

  - ``[[claim: ID]]``: heading with anchor ``#ID``, the statement, verdict and live status,
    and for an erratum the correction;
  - ``[[specs: ID]]``: the source of every spec marked with the claim, included from
    ``spec_tests/`` by line range (pymdownx.snippets), with the outcomes of the last run;
  - ``[[extra: ID key]]``: the value specs of ``ID`` recorded with ``ledger_extra(key, ...)``;
  - ``[[ledger-summary]]``: the headline numbers of the last run;
  - ``[[chapters]]``: a table of the chapters with their claim counts and status.

Each claim box shows the claim in English and in Chinese (``title_zh``, ``statement_zh``) and
the command that runs its specs (``pytest spec_tests --claim ID``). The reading aids applied
after rendering (figure captions, cross-references, search) live in ``reading.py``.

It fails the (strict) build when a directive names an unknown claim, when a registered claim
is missing from its chapter page, or when the ledger is missing or older than the registry.
"""

from __future__ import annotations

import ast
import csv
import html
import io
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
GLOSSARY_PATH = ROOT / "docs" / "glossary.md"
LEDGER_PATH = ROOT / "build" / "ledger.json"

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<name>claim|specs|extra|ledger-summary|chapters)"
    r"(?::\s*(?P<args>[^\]]*))?\]\][ \t]*$",
    re.MULTILINE,
)

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*(?:\{[^}]*\})?\s*$")

CONFIRMED = {"pass": " (what is true, confirmed)", "fail": " (a spec of the truth failed)"}

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
    deciding: tuple[int, int] | None = None  # lines of the assertions that decide an erratum


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


def _is_check(node: ast.stmt) -> bool:
    """An assert, a call of an ``assert*`` helper, or a ``with pytest.raises(...)`` block."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name.startswith("assert")
    if isinstance(node, ast.With):
        return any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr in ("raises", "warns")
            for item in node.items
        )
    return False


def deciding_lines(
    function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]
) -> tuple[int, int] | None:
    """The lines of a spec that decide an erratum: from a comment naming the erratum (or the
    source) to the end of the checks after it; else the last check of the function."""
    checks = [node for node in ast.walk(function) if isinstance(node, ast.stmt) and _is_check(node)]
    if not checks:
        return None
    body_start = function.body[0].lineno
    for number in range(body_start, function.end_lineno + 1):
        comment = lines[number - 1].strip().lower()
        if comment.startswith("#") and ("erratum" in comment or "the source" in comment):
            after = [node for node in checks if node.lineno > number]
            if after:
                last = max(node.end_lineno or node.lineno for node in after)
                return number, last
    final = max(checks, key=lambda node: node.lineno)
    return final.lineno, final.end_lineno or final.lineno


def scan_specs() -> dict[str, list[SpecSource]]:
    """Claim ID -> spec functions carrying its marker, by reading the spec sources."""
    found: dict[str, list[SpecSource]] = defaultdict(list)
    for path in sorted(SPEC_DIR.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        lines = text.splitlines()

        def visit(body: list[ast.stmt], prefix: str, relative: str, lines: list[str]) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}::", relative, lines)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    ids = [i for i in map(_is_claim_marker, node.decorator_list) if i]
                    if not ids:
                        continue
                    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    source = SpecSource(
                        relative,
                        prefix + node.name,
                        first,
                        node.end_lineno,
                        deciding_lines(node, lines),
                    )
                    for claim_id in ids:
                        found[claim_id].append(source)

        visit(tree.body, "", path.relative_to(ROOT).as_posix(), lines)
    return found


def _format_value(value: Any, width: int = 88) -> str:
    """A recorded JSON value laid out for reading: flat lists on as few lines as fit, one row
    of a matrix per line, one key of a mapping per line."""

    def flat(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False)

    def wrap(items: list[Any], indent: str) -> list[str]:
        if all(not isinstance(i, list | dict) for i in items):
            text = flat(items)
            if len(indent) + len(text) <= width:
                return [indent + text]
            out, line = [], indent + "["
            for position, item in enumerate(items):
                piece = flat(item) + ("," if position < len(items) - 1 else "]")
                if len(line) + len(piece) + 1 > width and line.strip() != "[":
                    out.append(line.rstrip())
                    line = indent + " "
                line += piece + " "
            out.append(line.rstrip())
            return out
        out = [indent + "["]
        for item in items:
            out += block(item, indent + " ")
        return [*out, indent + "]"]

    def block(item: Any, indent: str) -> list[str]:
        if isinstance(item, list):
            return wrap(item, indent)
        if isinstance(item, dict):
            out = []
            for key, inner in item.items():
                text = flat(inner)
                if len(indent) + len(str(key)) + len(text) + 2 <= width:
                    out.append(f"{indent}{key}: {text}")
                else:
                    out.append(f"{indent}{key}:")
                    out += block(inner, indent + "  ")
            return out
        return [indent + flat(item)]

    if isinstance(value, str):
        return value
    return "\n".join(block(value, ""))


def load_glossary(path: Path = GLOSSARY_PATH) -> list[tuple[str, str, str]]:
    """(Chinese term, English term, explained-in link) for every row of the glossary tables."""
    rows = []
    if not path.is_file():
        return rows
    row = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*\[[^\]]*\]\(([^)]+)\)\s*\|\s*$")
    for line in path.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match and not match[1].startswith("原文"):
            rows.append((match[1], match[2], match[3]))
    return rows


WORD_JOINER = "\u2060"


def prefix_terms(terms: list[str]) -> set[str]:
    """Terms that begin a longer term: 梯度 (in 梯度下降, 梯度清零, ...)."""
    return {t for t in terms if any(o != t and o.startswith(t) for o in terms)}


def segment_chinese(text: str, terms: list[str]) -> str:
    """Put a zero-width space around every glossary term in ``text`` (longest first), so the
    search (whose separator includes U+200B) indexes 梯度下降 or 叶子节点 as words.

    Material splits a Chinese query at the longest index word that *begins* it, and drops the
    rest when what follows is no word: were 梯度 a word of the index, the query 梯度下降 would
    become 梯度. So a term that begins a longer one is indexed with an invisible word joiner
    (U+2060) after it: still found by the query 梯度, never a prefix that cuts 梯度下降 short.
    """
    if not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)))
    joined = prefix_terms(terms)

    def mark(match: re.Match[str]) -> str:
        word = match[0] + (WORD_JOINER if match[0] in joined else "")
        return f"\u200b{word}\u200b"

    return pattern.sub(mark, text)


class Site:
    """Everything the directives need, loaded once per build."""

    def __init__(self) -> None:
        self.registry: dict[str, Claim] = load_registry(REGISTRY_PATH)
        self.specs = scan_specs()
        self.ledger: dict[str, Any] | None = None
        if LEDGER_PATH.is_file():
            self.ledger = json.loads(LEDGER_PATH.read_text(encoding="utf-8"))
        self.shown: dict[str, str] = {}  # claim ID -> page it was shown on
        self.glossary = load_glossary()
        self.zh_terms = [chinese for chinese, _, _ in self.glossary]

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

    def zh(self, text: str, tag: str = "span", css: str = "gs-zh") -> str:
        """Chinese text, marked up for the browser (lang) and segmented for the search."""
        if not text:
            return ""
        body = html.escape(segment_chinese(text, self.zh_terms), quote=False)
        return f'<{tag} class="{css}" lang="zh-Hans">{body}</{tag}>'

    def run_command(self, claim_id: str) -> str:
        return f"pytest spec_tests --claim {claim_id}"

    def claim_block(self, claim_id: str, page: str, level: int = 2, section: str = "") -> str:
        claim = self.registry[claim_id]
        if claim.chapter + ".md" != page:
            raise PluginError(
                f"{page}: [[claim: {claim_id}]] belongs on {claim.chapter}.md (its chapter)"
            )
        self.shown[claim_id] = page
        # Under a section heading that already says the title, the claim heading gives the ID.
        same = section.strip().lower().rstrip(".") == claim.title.strip().lower().rstrip(".")
        title = claim_id if same else f"{claim_id} · {claim.title}"
        # The Chinese title is part of the heading, so the search ranks it as a title.
        zh_title = (
            " " + self.zh(claim.title_zh, "span", "gs-zh gs-zh-title") if claim.title_zh else ""
        )
        lines = [
            f"{'#' * level} {title}{zh_title} {{#{claim_id} data-toc-label='{claim_id}'}}",
            "",
        ]
        lines += [
            f"{self.verdict_badge(claim)}{self.badge(self.status(claim_id))}"
            f" <small>[ledger](ledger.md#ledger-{claim_id.lower().replace('.', '-')})"
            f" · [index](claims.md)</small>",
            "",
            '!!! quote "The claim, as the source states it"',
            "",
            f"    {claim.statement}",
            "",
        ]
        if claim.statement_zh:
            lines += [f"    {self.zh(claim.statement_zh, 'p')}", ""]
        lines += [f"    <small>Source: {claim.source}</small>", ""]
        if claim.kind != "definition" or self.specs.get(claim_id):
            lines += [
                '    ```bash title="Run its specs"',
                f"    {self.run_command(claim_id)}",
                "    ```",
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

    def spec_summary_text(self, source: SpecSource, claim_id: str) -> str:
        results = self.outcomes_by_function(claim_id).get((source.path, source.qualname), [])
        if not results:
            return "not run"
        passed = results.count("passed")
        if passed == len(results):
            return f"passed ({passed} of {len(results)})"
        bad = ", ".join(sorted(set(r for r in results if r != "passed")))
        return f"FAILED ({len(results) - passed} of {len(results)} not passing: {bad})"

    def spec_box(self, source: SpecSource, claim_id: str, opener: str, indent: str = "") -> str:
        summary = self.spec_summary_text(source, claim_id)
        kind = "success" if summary.startswith("passed") else "failure"
        if summary == "not run":
            kind = "example"
        lines = [
            f'{opener} {kind} "Spec `{source.qualname}` — {summary}"',
            "",
            f'    ```python linenums="{source.first_line}" title="{source.path}"',
            f'    --8<-- "{source.path}:{source.first_line}:{source.last_line}"',
            "    ```",
            "",
        ]
        return "\n".join(indent + line if line else "" for line in lines)

    def specs_block(self, claim_id: str, page: str) -> str:
        claim = self.registry[claim_id]
        sources = self.specs.get(claim_id, [])
        if not sources:
            if claim.kind == "definition":
                return "*A definition: nothing to execute.*\n"
            raise PluginError(f"{page}: [[specs: {claim_id}]] but no spec carries that marker")
        blocks = [
            self.spec_box(source, claim_id, "???+" if index == 0 else "???")
            for index, source in enumerate(sources)
        ]
        return "\n".join(blocks)

    def extra_block(self, claim_id: str, key: str, page: str) -> str:
        values = []
        for spec in self.entry(claim_id)["specs"]:
            if key in spec.get("extra", {}):
                text = _format_value(spec["extra"][key])
                if text not in values:
                    values.append(text)
        if not values:
            log.warning(f"{page}: [[extra: {claim_id} {key}]]: the last run recorded no such value")
            return "*(not recorded in the last run)*\n"
        torch_version = (self.ledger or {}).get("torch", "?")
        blocks = []
        for text in values:
            blocks += [
                f'```text title="{key}, recorded by the last run (torch {torch_version})"',
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

    def definitions(self, chapter: str) -> list[tuple[str, str]]:
        """(term, link) for the glossary terms a chapter explains, in glossary order."""
        found = []
        for chinese, english, link in self.glossary:
            if link.split("#", 1)[0] == f"{chapter}.md":
                term = english.split("(", 1)[0].strip()
                found.append((f'{term} <span lang="zh-Hans">{chinese}</span>', link))
        return found

    def chapters_block(self) -> str:
        rows = [
            '<div class="gs-chapters" markdown>',
            "",
            "| Chapter | Definitions | Claims | Pass | Errata |",
            "|---|---|---:|---:|---:|",
        ]
        for chapter, claims in self.by_chapter().items():
            passing = sum(self.status(c.id) == "pass" for c in claims)
            errata = sum(c.verdict == "erratum" for c in claims)
            terms = ", ".join(f"[{term}]({link})" for term, link in self.definitions(chapter))
            # Raw links: the index reads its filter from the query string, in the browser.
            count = f'<a href="claims/?chapter={chapter}">{len(claims)}</a>'
            errata_cell = f"[{errata}](errata.md#{chapter})" if errata else "0"
            rows.append(
                f"| [{self.chapter_title(chapter)}]({chapter}.md) | {terms or '—'} "
                f"| {count} | {passing} | {errata_cell} |"
            )
        return "\n".join([*rows, "", "</div>"]) + "\n"

    # ------------------------------------------------------------------ generated pages
    def chapter_link(self, claim: Claim) -> str:
        return f"[{claim.id}]({claim.chapter}.md#{claim.id})"

    def downloads_line(self) -> str:
        return (
            "Download the last run's ledger: "
            "[JSON](downloads/ledger.json){download} · "
            "[CSV](downloads/ledger.csv){download} (one row per claim)"
        )

    def ledger_page(self) -> str:
        lines = [
            "# Claim ledger",
            "",
            "Every claim of the registry with what the **last test run** saw. A claim passes",
            "when every spec that carries its marker passed; one failing spec fails it.",
            "Regenerate with `make test` (or `pytest spec_tests`), then `make docs`. To filter",
            "and sort the claims, use the [claims index](claims.md).",
            "",
            "[[ledger-summary]]",
            "",
            self.downloads_line(),
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
                '<div class="gs-ledger gs-cards" markdown>',
                "",
                "| Claim | Verdict · status | Specs in the last run |",
                "|---|---|---|",
            ]
            for claim in claims:
                anchor = "ledger-" + claim.id.lower().replace(".", "-")
                lines.append(
                    f'| <span id="{anchor}"></span>{self.chapter_link(claim)}<br>{claim.title} '
                    f"| {self.verdict_badge(claim)}{self.badge(self.status(claim.id))} "
                    f"| {self.spec_summary(claim)} |"
                )
            lines += ["", "</div>", ""]
        return "\n".join(lines)

    def spec_summary(self, claim: Claim) -> str:
        """One line per spec function: its file, its name and how its cases ended."""
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
            # Break long names only between words: after '::' and '_' (never mid-word).
            name = html.escape(f"{path.removeprefix('spec_tests/')}::{function}")
            name = name.replace("::", "::<wbr>").replace("_", "_<wbr>")
            cells.append(f'<code class="gs-spec-id">{name}</code> {verdict}')
        return "<br>".join(cells)

    def claims_rows(self) -> list[dict[str, Any]]:
        """One record per claim: what the index page and the CSV download show."""
        rows = []
        for claim in self.registry.values():
            entry = self.entry(claim.id)
            rows.append(
                {
                    "id": claim.id,
                    "chapter": claim.chapter,
                    "title": claim.title,
                    "title_zh": claim.title_zh,
                    "verdict": claim.verdict,
                    "kind": claim.kind,
                    "status": entry["status"],
                    "specs": len({s["nodeid"].split("[", 1)[0] for s in entry["specs"]}),
                    "cases": len(entry["specs"]),
                    "statement": claim.statement,
                    "statement_zh": claim.statement_zh,
                    "correction": claim.correction,
                }
            )
        return rows

    def ledger_csv(self) -> str:
        rows = self.claims_rows()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def ledger_json(self) -> str:
        if self.ledger is None:
            return json.dumps({"claims": {}, "note": "no test run recorded"}) + "\n"
        return json.dumps(self.ledger, indent=1, ensure_ascii=False) + "\n"

    def claims_index_page(self) -> str:
        order = list(self.by_chapter())
        lines = [
            "---",
            "search:",
            "  exclude: true  # the search lands on the claims themselves, not on this table",
            "---",
            "",
            "# Claims index",
            "",
            "Every claim on one page. Filter by chapter, verdict or status, type a word (English",
            "or Chinese) to search the titles, and click a column heading to sort. Everything",
            "runs in your browser, offline. Status is from the last test run.",
            "",
            self.downloads_line(),
            "",
            '<div class="gs-index-controls" id="gs-index-controls" hidden>',
            '<label>Chapter <select data-filter="chapter"><option value="">all</option>',
            *[f'<option value="{c}">{html.escape(self.chapter_title(c))}</option>' for c in order],
            "</select></label>",
            '<label>Verdict <select data-filter="verdict"><option value="">all</option>'
            '<option value="holds">holds</option><option value="erratum">erratum</option>'
            "</select></label>",
            '<label>Status <select data-filter="status"><option value="">all</option>',
            *[
                f'<option value="{s}">{STATUS_LABEL[s]}</option>'
                for s in ("pass", "fail", "skipped", "not run", "definition")
            ],
            "</select></label>",
            '<label>Words <input type="search" data-filter="text" placeholder="e.g. leaf, 梯度">'
            "</label>",
            '<output id="gs-index-count" aria-live="polite"></output>',
            "</div>",
            "",
            '<div class="gs-index gs-cards" markdown>',
            "",
            '<table id="gs-claims-index">',
            "<thead><tr>",
            '<th data-sort="id" aria-sort="none"><button type="button">Claim</button></th>',
            '<th data-sort="chapter"><button type="button">Chapter</button></th>',
            '<th data-sort="title"><button type="button">Title</button></th>',
            '<th data-sort="verdict"><button type="button">Verdict</button></th>',
            '<th data-sort="status"><button type="button">Status</button></th>',
            '<th data-sort="specs" data-numeric><button type="button">Specs</button></th>',
            "</tr></thead>",
            "<tbody>",
        ]
        for number, row in enumerate(self.claims_rows()):
            claim = self.registry[row["id"]]
            chapter_number = order.index(row["chapter"])
            lines.append(
                f'<tr data-chapter="{row["chapter"]}" data-verdict="{row["verdict"]}" '
                f'data-status="{row["status"]}" data-specs="{row["specs"]}" '
                f'data-id="{number:04d}" data-chapter-order="{chapter_number:02d}">'
                f'<td data-label="Claim"><a href="../{claim.chapter}/#{claim.id}">'
                f'<code class="gs-id">{claim.id}</code></a></td>'
                f'<td data-label="Chapter">{html.escape(self.chapter_title(claim.chapter))}</td>'
                f'<td data-label="Title">{html.escape(claim.title)}'
                f"{'<br>' + self.zh(claim.title_zh) if claim.title_zh else ''}</td>"
                f'<td data-label="Verdict">{self.verdict_badge(claim)}</td>'
                f'<td data-label="Status">{self.badge(row["status"])}</td>'
                f'<td data-label="Specs">{row["specs"]}</td>'
                "</tr>"
            )
        lines += ["</tbody>", "</table>", "", "</div>", ""]
        return "\n".join(lines)

    def errata_page(self) -> str:
        errata = [claim for claim in self.registry.values() if claim.verdict == "erratum"]
        chapters: dict[str, list[Claim]] = defaultdict(list)
        for claim in errata:
            chapters[claim.chapter].append(claim)
        passing = sum(self.status(c.id) == "pass" for c in errata)
        lines = [
            "# Errata",
            "",
            f"The source material states {len(errata)} things that do not hold as stated. Each",
            "is registered as an erratum, and its specs assert what is actually true. Below, for",
            "every erratum: what the notes said, what is true, the assertion that decides it (the",
            "whole spec is folded under it) and the verdict of the last test run, which was",
            f"**{passing} of {len(errata)} errata confirmed**.",
            "",
            '!!! abstract "Common misconceptions"',
            "",
            "    Most errata come from four habits. **Reasoning to first order only:** a step",
            "    against the gradient lowers the loss only when the learning rate suits the",
            "    curvature (below 2/L), so neither 'any positive rate works' nor 'every update",
            "    shrinks the loss' holds; too large a rate diverges, while the rate 0.1 of the",
            "    notes shrinks y = x² at every step without any oscillation. **Trusting exact",
            "    arithmetic:** in floating point no method is exact, a loop that rewrites the",
            "    values it sums (the in-place normalization) computes something else, and 'stop",
            "    when the output equals the target' never fires. **Old or imagined torch",
            "    behaviour:** grad_fn names, what counts as a leaf, when a graph refuses a second",
            "    backward, whether a hook clears a gradient, whether `torch.tensor` is a class,",
            "    whether `nn.Linear` needs a batch or a 2-D input: each is checked here against",
            "    the torch of the last run. **Reading one run as a law:** more data can make a",
            "    single fit worse, and training on one feature set while testing on another",
            "    measures nothing.",
            "",
            self.errata_index(chapters),
            "",
        ]
        for chapter, claims in chapters.items():
            lines += [f"## {self.chapter_title(chapter)} {{#{chapter}}}", ""]
            for claim in claims:
                lines += self.erratum_entry(claim)
        return "\n".join(lines)

    def errata_index(self, chapters: dict[str, list[Claim]]) -> str:
        return " · ".join(
            f"[{self.chapter_title(chapter)}](#{chapter}) ({len(claims)})"
            for chapter, claims in chapters.items()
        )

    def erratum_entry(self, claim: Claim) -> list[str]:
        zh_title = (
            " " + self.zh(claim.title_zh, "span", "gs-zh gs-zh-title") if claim.title_zh else ""
        )
        lines = [
            f"### {claim.id} · {claim.title}{zh_title} {{#{claim.id} data-toc-label='{claim.id}'}}",
            "",
        ]
        lines += [
            f"Last run: {self.badge(self.status(claim.id))}"
            f"{CONFIRMED.get(self.status(claim.id), '')} · explained in "
            f"{self.chapter_link(claim)} · run it: `{self.run_command(claim.id)}`",
            "",
            '!!! quote "What the notes said"',
            "",
            f"    {claim.statement}",
            "",
        ]
        if claim.statement_zh:
            lines += [f"    {self.zh(claim.statement_zh, 'p')}", ""]
        lines += ['!!! success "What is true"', "", f"    {claim.correction}", ""]
        sources = self.specs.get(claim.id, [])
        if not sources:
            return [*lines, "*No spec carries this claim's marker.*", ""]
        first = sources[0]
        if first.deciding is not None:
            start, end = first.deciding
            lines += [
                f"The deciding assertion, from `{first.qualname}`"
                f" ({self.spec_summary_text(first, claim.id)}):",
                "",
                f'```python linenums="{start}" title="{first.path}"',
                f'--8<-- "{first.path}:{start}:{end}"',
                "```",
                "",
            ]
        lines += [self.spec_box(source, claim.id, "???") for source in sources]
        return lines

    # ------------------------------------------------------------------ expansion
    def expand(self, markdown: str, page: str) -> str:
        headings: list[tuple[int, int, str]] = []  # (offset, level, text) of page headings
        fence = False
        offset = 0
        for line in markdown.splitlines(keepends=True):
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
            match = None if fence else HEADING.match(line)
            if match:
                headings.append((offset, len(match["hashes"]), match["text"]))
            offset += len(line)

        def context(position: int) -> tuple[int, str]:
            """Level for a claim heading here (one below the section it sits in) and the
            section's title when nothing but blank lines separates them."""
            before = [h for h in headings if h[0] < position]
            if not before:
                return 2, ""
            start, level, text = before[-1]
            between = (
                markdown[start:position].split("\n", 1)[1]
                if "\n" in markdown[start:position]
                else ""
            )
            adjacent = not between.strip()
            return min(level + 1, 6), (text if adjacent and level > 1 else "")

        def replace(match: re.Match[str]) -> str:
            name, args = match["name"], (match["args"] or "").split()
            if name == "ledger-summary":
                return self.summary_block()
            if name == "chapters":
                return self.chapters_block()
            if not args or args[0] not in self.registry:
                raise PluginError(f"{page}: [[{name}: ...]] names an unknown claim: {args!r}")
            if name == "claim":
                level, section = context(match.start())
                return self.claim_block(args[0], page, level, section)
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
    generated = {
        "ledger.md": _site.ledger_page(),
        "claims.md": _site.claims_index_page(),
        "errata.md": _site.errata_page(),
        "downloads/ledger.json": _site.ledger_json(),
        "downloads/ledger.csv": _site.ledger_csv(),
    }
    for name, content in generated.items():
        existing = files.get_file_from_path(name)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, name, content=content))
    return files


def glossary_cells(markdown: str, terms: list[str]) -> str:
    """Glossary rows whose Chinese term begins a longer one get the word joiner too (see
    :func:`segment_chinese`), so the search's Chinese queries are not cut short."""
    joined = prefix_terms(terms)
    return re.sub(
        r"(?m)^\|\s*([^|\s]+)\s*\|",
        lambda m: f"| {m[1]}{WORD_JOINER} |" if m[1] in joined else m[0],
        markdown,
    )


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    assert _site is not None
    if page.file.src_uri == "glossary.md":
        markdown = glossary_cells(markdown, _site.zh_terms)
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
