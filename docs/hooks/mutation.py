"""mkdocs hook: the mutation-testing page, rendered from the committed snapshot.

``make mutation`` (not part of CI: it takes about an hour) writes ``build/mutation.json`` and,
for a run over all of ``reference/``, the copy ``docs/data/mutation.json`` that is committed.
At build time this hook expands the directive ``[[mutation]]`` (alone on a line, in
``mutation.md``) into the provenance of that run, the score against its target, a table per
module, every undetected mutant (file:line, function and the mutation as a diff) and the
mutants listed as equivalent with their reasons.

Without the JSON the page says how to produce it, so a strict build of a fresh checkout
still passes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "mutation.json"
DIRECTIVE = re.compile(r"^\[\[mutation\]\][ \t]*$", re.MULTILINE)


def load(path: Path = DATA) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def timing(data: dict[str, Any]) -> str:
    """How long the run took: the first pass, then any re-runs of the undetected mutants."""
    runs = data.get("runs") or []
    if len(runs) < 2:
        return f" in {data['seconds'] / 60:.0f} minutes" if data.get("seconds") else ""
    first, later = runs[0], runs[1:]
    again = sum(run["seconds"] for run in later)
    return (
        f"; its first pass tested {first['tested']} mutants in {first['seconds'] / 60:.0f} "
        f"minutes, then {len(later)} re-run{'s' if len(later) > 1 else ''} after new specs "
        f"re-tested the undetected and the new or changed ones "
        f"({sum(run['tested'] for run in later)} mutants) in "
        f"{again / 60:.0f} minutes"
    )


def provenance(data: dict[str, Any]) -> list[str]:
    v = data["versions"]
    took = timing(data)
    return [
        '!!! info "Where these numbers come from"',
        "",
        f"    `{data['command']}` at commit `{data.get('commit') or '?'}`, "
        f"{data['generated']}{took}, on {data['machine'].get('cores') or '?'} cores "
        f"({data['machine'].get('system') or '?'}): mutmut {v.get('mutmut')}, Python "
        f"{v.get('python')}, torch {v.get('torch')}, pytest {v.get('pytest')}.",
        "",
    ]


def headline(data: dict[str, Any]) -> list[str]:
    s = data["summary"]
    partial = not data.get("sample") and s["not checked"] > 0
    met = "meets" if data["meets_target"] else "**misses**"
    target = f"which {met} the target of {percent(data['target'])}"
    if partial:  # a run stopped before the end: no verdict on the target
        target = f"so far (the target is {percent(data['target'])} of a whole run)"
    counted = s["mutants"] - s["equivalent"] - s["not checked"] - s["skipped"]
    sample = data.get("sample")
    estimate = []
    if sample and s.get("interval"):
        low, high = s["interval"]
        estimate = [
            f"This run tested a uniform sample of {sample['size']} mutants (seed "
            f"{sample['seed']}) out of {s['mutants']}; the score is an estimate, 95% interval "
            f"{percent(low)} to {percent(high)}. The {s['not checked']} mutants not checked "
            "(outside the sample, or not reached when the run stopped) are counted nowhere.",
            "",
        ]
    if partial:
        estimate = [
            f"The run was stopped before it reached {s['not checked']} of the {s['mutants']} "
            "mutants (mutmut tests the cheapest first, so those left are the functions most "
            "specs reach); they are counted nowhere, and the score is not a whole run's.",
            "",
        ]
    return [
        f"**Score: {percent(s['score'])}** of {counted} non-equivalent mutants detected, "
        f"{target}. Of {s['mutants']} mutants, "
        f"{s['killed']} were killed by a failing spec, {s['timeout']} timed out, "
        f"{s['segfault']} crashed, {s['survived']} survived, {s['no tests']} were reached by "
        f"no spec, {s['suspicious']} were suspicious and {s['equivalent']} are equivalent.",
        "",
        *estimate,
    ]


def module_table(data: dict[str, Any]) -> list[str]:
    rows = [
        "| Module | Mutants | Killed | Timeout | Survived | No spec | Equivalent | Score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in data["modules"].items():
        rows.append(
            f"| `{name}` | {c['mutants']} | {c['killed']} | {c['timeout'] + c['segfault']} | "
            f"{c['survived'] + c['suspicious']} | {c['no tests']} | {c['equivalent']} | "
            f"{percent(c['score'])} |"
        )
    return [*rows, ""]


def fence(text: str) -> list[str]:
    """A diff as an indented fenced block (inside a list item or an admonition)."""
    body = [line for line in text.splitlines() if not line.startswith(("---", "+++"))]
    return ["    ```diff", *(f"    {line}" for line in body), "    ```", ""]


def mutant_list(entries: list[dict[str, Any]], *, with_reason: bool) -> list[str]:
    lines: list[str] = []
    for entry in entries:
        where = f"`{entry['module']}:{entry['line']}`" if entry.get("line") else entry["module"]
        status = "" if with_reason else f" ({entry['status']})"
        lines.append(f"- {where} in `{entry['function']}`{status}")
        if with_reason:
            lines += ["", f"    {entry['reason']}"]
        lines += ["", *fence(entry["diff"])]
    return lines


def render(data: dict[str, Any] | None) -> str:
    if data is None:
        return (
            '!!! warning "No mutation run yet"\n\n'
            "    Run `make mutation` (about an hour) to mutate `reference/`; it writes "
            "`docs/data/mutation.json`, which this page is built from.\n"
        )
    lines = [*provenance(data), *headline(data), "## Per module", "", *module_table(data)]
    lines += ["## Undetected mutants {#survivors}", ""]
    if data["survivors"]:
        lines += [
            "Each one is a change to `reference/` that every spec reaching the function let "
            "pass (survived), or that no spec reaches at all (no tests).",
            "",
            *mutant_list(data["survivors"], with_reason=False),
        ]
    else:
        lines += ["None: every non-equivalent mutant was detected.", ""]
    lines += ["## Equivalent mutants {#equivalents}", ""]
    if data["equivalents"]:
        lines += [
            "Listed in `spec_tests/mutation_equivalents.toml`, each with the reason why no "
            "spec can tell it from the original; they leave the score's denominator.",
            "",
            *mutant_list(data["equivalents"], with_reason=True),
        ]
    else:
        lines += ["None.", ""]
    if data.get("stale_equivalents"):
        lines += [
            '!!! warning "Stale entries in the equivalents file"',
            "",
            *(
                f"    - `{e['function']}`: `{' / '.join(e['removed'])}`"
                for e in data["stale_equivalents"]
            ),
            "",
        ]
    lines += ["The raw numbers: [mutation.json](data/mutation.json).", ""]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not DIRECTIVE.search(markdown):
        return markdown
    return DIRECTIVE.sub(lambda _: render(load()), markdown)
