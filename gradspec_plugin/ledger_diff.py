"""Compare two ledgers: which claims moved between two runs (two torch releases, say).

A ledger (``build/ledger.json``, written by :mod:`gradspec_plugin.plugin`) records every
claim with its status and specs, each spec with its outcome, failure line and recorded values
(``extra``), and the tests without a claim marker in the section ``unclaimed``.
:func:`diff_ledgers` reports

* claims added to or removed from the registry, and claims whose **status** changed
  (``pass`` -> ``fail``): these are what moved, and the console script exits 1 for them;
* tests whose outcome changed (``passed`` -> ``failed``) with the failure line, claimed or not;
* recorded values that changed.

Before comparing, text is normalised for what legitimately varies between builds, and each
difference that vanishes that way is listed (never dropped silently):

* ``cpp-source-location``: C++ source positions inside torch messages, such as
  ``Triggered internally at /pytorch/aten/src/ATen/core/TensorBody.h:493``, become
  ``TensorBody.h:<line>`` (directory and line number vary from build to build);
* ``version-string``: release strings such as ``2.13.0+cpu`` or ``3.11.2`` become
  ``<version>``;
* ``float-noise``: two floats ``a`` (old) and ``b`` (new) are the same value when

  .. math:: |a - b| \\le \\mathrm{atol} + \\mathrm{rtol}\\,|a|

  (defaults :data:`RTOL` and :data:`ATOL`, the ones of ``numpy.isclose``); this applies to
  JSON numbers with a fraction and to decimal numbers inside text. Integers compare exactly.
  Floats equal within the tolerance but not bit for bit are listed apart as exact-bit changes.

Example:
    >>> old = {"claims": {"A": {"status": "pass", "specs": []}}}
    >>> new = {"claims": {"A": {"status": "fail", "specs": []}}}
    >>> diff_ledgers(old, new).moved_claims()
    ['A']
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RTOL = 1e-5
ATOL = 1e-8


class LedgerError(ValueError):
    """A file that is not a readable gradspec ledger."""


@dataclass(frozen=True)
class Rule:
    """One normalisation: a pattern and what each match becomes."""

    name: str
    pattern: re.Pattern[str]
    replacement: str

    def apply(self, text: str) -> str:
        return self.pattern.sub(self.replacement, text)


RULES: tuple[Rule, ...] = (
    Rule(
        "cpp-source-location",
        re.compile(r"(?:[\w.\-]+[/\\])*([\w\-]+\.(?:h|hh|hpp|c|cc|cpp|cxx|cu|cuh)):\d+"),
        r"\1:<line>",
    ),
    Rule(
        "version-string",
        re.compile(
            r"(?<![\w.])\d+\.\d+\.\d+(?:(?:a|b|rc|\.dev|\.post)\d+)*(?:\+[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?"
        ),
        "<version>",
    ),
)

# A decimal number with a fraction or an exponent; plain integers are not float noise.
_FLOAT = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass
class OutcomeChange:
    """A test whose outcome differs between the two runs."""

    nodeid: str
    claims: list[str]
    old: str | None  # None: the test did not run in OLD
    new: str | None
    failure_line: str = ""  # the line of the run where it does not pass


@dataclass
class StatusChange:
    """A claim whose status moved, with the spec outcomes that moved it."""

    claim: str
    title: str
    old: str
    new: str
    specs: list[OutcomeChange] = field(default_factory=list)


@dataclass
class ValueChange:
    """A recorded value (``extra`` key or failure message) of one test, before and after.

    ``kind`` is ``changed`` (a real difference), ``exact-bit`` (floats within the tolerance,
    not bit for bit) or ``ignored`` (equal once normalised; ``rules`` says by what).
    """

    nodeid: str
    claims: list[str]
    key: str
    old: Any
    new: Any
    kind: str
    rules: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class LedgerDiff:
    """Everything that differs between two ledgers; ``moved_claims()`` decides the exit."""

    old: dict[str, Any]
    new: dict[str, Any]
    rtol: float
    atol: float
    claims_added: list[str] = field(default_factory=list)
    claims_removed: list[str] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    outcome_changes: list[OutcomeChange] = field(default_factory=list)
    value_changes: list[ValueChange] = field(default_factory=list)
    compared_tests: int = 0
    unclaimed_compared: bool = True

    def moved_claims(self) -> list[str]:
        """IDs of the claims present in both ledgers whose status changed."""
        return [change.claim for change in self.status_changes]

    def values(self, kind: str) -> list[ValueChange]:
        return [change for change in self.value_changes if change.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "tolerance": {"rtol": self.rtol, "atol": self.atol},
            "moved_claims": self.moved_claims(),
            "claims_added": self.claims_added,
            "claims_removed": self.claims_removed,
            "status_changes": [asdict(change) for change in self.status_changes],
            "outcome_changes": [asdict(change) for change in self.outcome_changes],
            "value_changes": [asdict(change) for change in self.values("changed")],
            "exact_bit_changes": [asdict(change) for change in self.values("exact-bit")],
            "ignored": [asdict(change) for change in self.values("ignored")],
            "compared_tests": self.compared_tests,
            "unclaimed_compared": self.unclaimed_compared,
        }


# ---------------------------------------------------------------------------- loading
def load_ledger(path: str | Path) -> dict[str, Any]:
    """Read a ledger JSON file; :class:`LedgerError` names the file when it is not one."""
    path = Path(path)
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LedgerError(f"{path}: not a JSON ledger ({error})") from None
    check_ledger(ledger, str(path))
    return ledger


def check_ledger(ledger: Any, name: str = "ledger") -> None:
    """Raise :class:`LedgerError` unless ``ledger`` has a ``claims`` table of claim entries."""
    if not isinstance(ledger, dict) or not isinstance(ledger.get("claims"), dict):
        raise LedgerError(f"{name}: not a gradspec ledger (no 'claims' table)")
    for claim_id, entry in ledger["claims"].items():
        if not isinstance(entry, dict) or "status" not in entry:
            raise LedgerError(f"{name}: claim {claim_id!r} has no status")
        if not isinstance(entry.get("specs", []), list):
            raise LedgerError(f"{name}: claim {claim_id!r}: 'specs' must be a list")
    if not isinstance(ledger.get("unclaimed", []), list):
        raise LedgerError(f"{name}: 'unclaimed' must be a list")


def describe(ledger: dict[str, Any]) -> dict[str, Any]:
    """The header of a ledger: versions and when it was made."""
    keys = ("torch_build", "torch", "python", "platform", "generated", "exitstatus")
    return {key: ledger.get(key) for key in keys if key in ledger}


# ---------------------------------------------------------------------------- normalising
def normalise(text: str) -> tuple[str, list[str]]:
    """``text`` with every rule of :data:`RULES` applied, and the names of those that matched."""
    used = []
    for rule in RULES:
        if rule.pattern.search(text):
            used.append(rule.name)
            text = rule.apply(text)
    return text, used


def floats_close(a: float, b: float, rtol: float, atol: float) -> bool:
    """:math:`|a-b| \\le atol + rtol\\,|a|`; NaN equals NaN, infinities only themselves."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def _text_floats_close(a: str, b: str, rtol: float, atol: float) -> bool:
    """Whether two texts differ only in decimal numbers that are close."""
    if _FLOAT.sub("#", a) != _FLOAT.sub("#", b):
        return False
    pairs = zip(_FLOAT.findall(a), _FLOAT.findall(b), strict=True)
    return all(floats_close(float(x), float(y), rtol, atol) for x, y in pairs)


_TOKEN = re.compile(r"[\w.+]+|\s+|.", re.DOTALL)


def excerpt(old: str, new: str, context: int = 30, limit: int = 3) -> str:
    """Where two texts differ, word by word, with context: ``…TensorBody.h:[-493.-][+488.+])…``.

    Words are runs of letters, digits, ``.`` and ``+``, so a release string (``2.13.0+cpu``)
    or a line number changes as one piece.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    parts = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before = "".join(a[:i1])[-context:].replace("\n", " ")
        after = "".join(a[i2:])[:context].replace("\n", " ")
        removed = f"[-{''.join(a[i1:i2])}-]" if i2 > i1 else ""
        added = f"[+{''.join(b[j1:j2])}+]" if j2 > j1 else ""
        parts.append(f"…{before}{removed}{added}{after}…")
        if len(parts) == limit:
            break
    return " ".join(parts)


def compare_values(old: Any, new: Any, rtol: float, atol: float) -> tuple[str, list[str], str]:
    """Classify a pair of recorded JSON values.

    Returns ``(kind, rules, detail)`` with kind ``same``, ``ignored``, ``exact-bit`` or
    ``changed``.
    """
    if type(old) is type(new) and old == new:
        return "same", [], ""
    numbers = (int, float)
    if (
        isinstance(old, numbers)
        and isinstance(new, numbers)
        and not isinstance(old, bool)
        and not isinstance(new, bool)
    ):
        if isinstance(old, int) and isinstance(new, int):
            return "changed", [], ""
        if floats_close(float(old), float(new), rtol, atol):
            return "exact-bit", ["float-noise"], f"|Δ| = {abs(float(new) - float(old)):.3g}"
        return "changed", [], ""
    if isinstance(old, str) and isinstance(new, str):
        norm_old, rules_old = normalise(old)
        norm_new, rules_new = normalise(new)
        rules = [rule.name for rule in RULES if rule.name in rules_old or rule.name in rules_new]
        detail = excerpt(old, new)
        if norm_old == norm_new:
            return "ignored", _responsible(old, new), detail
        if _text_floats_close(norm_old, norm_new, rtol, atol):
            return "exact-bit", [*_responsible(old, new), "float-noise"], detail
        return "changed", rules, detail
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        return _combine([compare_values(old[k], new[k], rtol, atol) for k in old])
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return _combine([compare_values(a, b, rtol, atol) for a, b in zip(old, new, strict=True)])
    return "changed", [], ""


def _responsible(old: str, new: str) -> list[str]:
    """The rules whose matches differ between the two texts (those that hid a difference)."""

    def matches(rule: Rule, text: str) -> list[str]:
        return [match.group(0) for match in rule.pattern.finditer(text)]

    return [rule.name for rule in RULES if matches(rule, old) != matches(rule, new)]


_RANK = ("same", "ignored", "exact-bit", "changed")


def _combine(parts: list[tuple[str, list[str], str]]) -> tuple[str, list[str], str]:
    kind = max((part[0] for part in parts), key=_RANK.index, default="same")
    rules = sorted({rule for part in parts for rule in part[1]})
    detail = " ".join(part[2] for part in parts if part[2])
    return kind, rules, detail


# ---------------------------------------------------------------------------- comparing
def _tests(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Node id -> {outcome, message, extra, claims} for every test the ledger recorded."""
    tests: dict[str, dict[str, Any]] = {}
    for claim_id, entry in ledger["claims"].items():
        for spec in entry.get("specs", []):
            test = tests.setdefault(spec["nodeid"], {**spec, "claims": []})
            test["claims"].append(claim_id)
    for test in ledger.get("unclaimed", []):
        tests.setdefault(test["nodeid"], {**test, "claims": []})
    return tests


def _recorded(test: dict[str, Any]) -> dict[str, Any]:
    """The values a test recorded: ``extra.KEY`` for each extra, ``message`` if it failed."""
    values = {f"extra.{key}": value for key, value in test.get("extra", {}).items()}
    if test.get("message") is not None:
        values["message"] = test["message"]
    return values


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def diff_ledgers(
    old: dict[str, Any], new: dict[str, Any], *, rtol: float = RTOL, atol: float = ATOL
) -> LedgerDiff:
    """Everything that differs between ledger ``old`` and ledger ``new``.

    Args:
        old: the reference ledger (the pinned release).
        new: the ledger compared with it.
        rtol: relative tolerance of float noise, :math:`\\ge 0`.
        atol: absolute tolerance of float noise, :math:`\\ge 0`.
    """
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not isinstance(value, int | float) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    check_ledger(old, "old")
    check_ledger(new, "new")
    diff = LedgerDiff(describe(old), describe(new), float(rtol), float(atol))
    old_claims, new_claims = old["claims"], new["claims"]
    diff.claims_added = [c for c in new_claims if c not in old_claims]
    diff.claims_removed = [c for c in old_claims if c not in new_claims]
    # Old ledgers (before the 'unclaimed' section) recorded only marked tests: compare the
    # unmarked ones only when both ledgers have them.
    diff.unclaimed_compared = "unclaimed" in old and "unclaimed" in new
    old_tests, new_tests = _tests(old), _tests(new)
    if not diff.unclaimed_compared:
        old_tests = {k: v for k, v in old_tests.items() if v["claims"]}
        new_tests = {k: v for k, v in new_tests.items() if v["claims"]}

    for nodeid in sorted(old_tests.keys() | new_tests.keys()):
        before, after = old_tests.get(nodeid), new_tests.get(nodeid)
        claims = sorted(set((before or {}).get("claims", []) + (after or {}).get("claims", [])))
        old_outcome = before["outcome"] if before else None
        new_outcome = after["outcome"] if after else None
        if before and after:
            diff.compared_tests += 1
        if old_outcome != new_outcome:
            failing = after if new_outcome not in (None, "passed") else before
            line = _first_line((failing or {}).get("message"))
            diff.outcome_changes.append(
                OutcomeChange(nodeid, claims, old_outcome, new_outcome, line)
            )
            continue
        if not (before and after):
            continue
        old_values, new_values = _recorded(before), _recorded(after)
        for key in sorted(old_values.keys() | new_values.keys()):
            if key not in old_values or key not in new_values:
                diff.value_changes.append(
                    ValueChange(
                        nodeid, claims, key, old_values.get(key), new_values.get(key), "changed"
                    )
                )
                continue
            kind, rules, detail = compare_values(old_values[key], new_values[key], rtol, atol)
            if kind != "same":
                diff.value_changes.append(
                    ValueChange(
                        nodeid, claims, key, old_values[key], new_values[key], kind, rules, detail
                    )
                )

    by_claim: dict[str, list[OutcomeChange]] = {}
    for change in diff.outcome_changes:
        for claim_id in change.claims:
            by_claim.setdefault(claim_id, []).append(change)
    for claim_id, entry in old_claims.items():
        if claim_id in new_claims and entry["status"] != new_claims[claim_id]["status"]:
            title = new_claims[claim_id].get("title") or entry.get("title") or ""
            diff.status_changes.append(
                StatusChange(
                    claim_id,
                    title,
                    entry["status"],
                    new_claims[claim_id]["status"],
                    by_claim.get(claim_id, []),
                )
            )
    return diff


# ---------------------------------------------------------------------------- reporting
def _short(value: Any, width: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def _header(name: str, path: str, info: dict[str, Any]) -> str:
    torch = info.get("torch_build") or info.get("torch") or "?"
    return (
        f"{name} {path}: torch {torch}, Python {info.get('python', '?')}, "
        f"run {info.get('generated', '?')}"
    )


def render_text(diff: LedgerDiff, old_name: str = "OLD", new_name: str = "NEW") -> str:
    """The report of ``gradspec ledger diff`` for people."""
    lines = [
        _header("old", old_name, diff.old),
        _header("new", new_name, diff.new),
        f"floats are equal within rtol={diff.rtol:g}, atol={diff.atol:g} "
        "(|new - old| <= atol + rtol*|old|); integers and other text compare exactly",
        "",
    ]
    moved = diff.moved_claims()
    lines.append(f"Claims whose status moved: {len(moved)}")
    for change in diff.status_changes:
        lines.append(f"  {change.claim} ({change.title}): {change.old} -> {change.new}")
        for spec in change.specs:
            lines.append(f"    {spec.nodeid}: {spec.old} -> {spec.new}")
            if spec.failure_line:
                lines.append(f"      {_short(spec.failure_line)}")
    for title, ids in (
        ("Claims added", diff.claims_added),
        ("Claims removed", diff.claims_removed),
    ):
        lines.append(f"{title}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
    lines.append(f"Test outcomes that changed: {len(diff.outcome_changes)}")
    for change in diff.outcome_changes:
        owner = ", ".join(change.claims) if change.claims else "no claim"
        lines.append(f"  {change.nodeid} [{owner}]: {change.old} -> {change.new}")
        if change.failure_line:
            lines.append(f"    {_short(change.failure_line)}")
    sections = (
        ("Recorded values that changed", "changed"),
        ("Exact-bit changes within the tolerance (not counted as changes)", "exact-bit"),
        ("Differences ignored after normalisation", "ignored"),
    )
    for title, kind in sections:
        changes = diff.values(kind)
        lines.append(f"{title}: {len(changes)}")
        for change in changes:
            owner = ", ".join(change.claims) if change.claims else "no claim"
            how = f" [{', '.join(change.rules)}]" if change.rules else ""
            lines.append(f"  {change.nodeid} [{owner}] {change.key}{how}")
            if change.detail:
                lines.append(f"    {_short(change.detail, 240)}")
            else:
                lines += [f"    - {_short(change.old)}", f"    + {_short(change.new)}"]
    if not diff.unclaimed_compared:
        lines.append("Tests without a claim marker: not compared (a ledger has no such section)")
    lines += [
        "",
        f"{diff.compared_tests} tests compared; "
        + (f"{len(moved)} claim(s) moved: {', '.join(moved)}" if moved else "no claim moved"),
    ]
    return "\n".join(lines) + "\n"
