"""pytest plugin: the ``claim`` marker, registry checks, and the ledger writer.

What it does, in the order pytest calls it:

1. ``pytest_configure`` finds the registry (``--claims-registry``, else the ini option
   ``gradspec_registry``, default ``spec_tests/claims.toml`` under the rootdir) and loads it.
   No registry file there: the plugin stays passive, so it never disturbs other projects.
2. ``pytest_collection_modifyitems`` (before any deselection) reads every item's
   ``@pytest.mark.claim("ID")`` markers. A marker without exactly one string argument, or
   naming a claim that is not registered, stops the run with a usage error listing them all.
   The claim IDs are attached to the item's ``user_properties``, which pytest copies into
   each test report, so the information survives the trip from pytest-xdist workers.
3. ``LedgerRecorder.pytest_runtest_logreport`` (controlling process only) folds each report
   into one outcome per test: passed, failed, error, skipped, xfailed or xpassed.
4. ``LedgerRecorder.pytest_sessionfinish`` writes the ledger JSON: every claim of the
   registry with its specs, their outcomes and extras, a status per claim, and the versions
   the run used. Tests without a claim marker (docstring examples, specs of gradspec itself)
   are recorded too, in their own section ``unclaimed``, so a release that breaks one shows;
   ``torch_build`` is the torch release with its build tag (``2.13.0+cpu``, ``2.14.1+cu130``).

The fixture ``ledger_extra(key, value)`` lets a spec record a JSON value (for instance the
full text of a torch error) in its ledger entry.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gradspec_plugin import engines
from gradspec_plugin.registry import Claim, RegistryError, load_registry

CLAIMS_PROPERTY = "gradspec_claims"
EXTRA_PROPERTY = "gradspec_extra"
LEDGER_SCHEMA = 1

# The outcome of a test, worst first; a test's outcome is the worst of its phases.
_SEVERITY = ("error", "failed", "xpassed", "skipped", "xfailed", "passed")

_registry_key = pytest.StashKey[dict[str, Claim]]()
_registry_path_key = pytest.StashKey[Path]()
_collected_key = pytest.StashKey[dict[str, list[str]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradspec", "gradspec claim registry and ledger")
    group.addoption(
        "--claims-registry",
        default=None,
        help="path of the claim registry (default: ini gradspec_registry)",
    )
    group.addoption(
        "--ledger",
        default=None,
        help="where to write the ledger JSON (default: ini gradspec_ledger)",
    )
    group.addoption(
        "--claims-collected",
        default=None,
        metavar="PATH",
        help="write {claim: [node ids]} of every collected spec to PATH (used by the meta-spec)",
    )
    engines.addoption(parser, group)
    group.addoption(
        "--claim",
        action="append",
        default=[],
        metavar="ID",
        help="run only the specs of claim ID, or of every claim under the prefix ID "
        "(--claim AG-LEAF: AG-LEAF.grad-fn, AG-LEAF-INPLACE.error, ...); repeatable",
    )
    parser.addini(
        "gradspec_registry",
        "claim registry, relative to the rootdir",
        default="spec_tests/claims.toml",
    )
    parser.addini(
        "gradspec_ledger",
        "ledger JSON written after each run, relative to the rootdir",
        default="build/ledger.json",
    )


def _registry_path(config: pytest.Config) -> tuple[Path, bool]:
    explicit = config.getoption("claims_registry")
    if explicit:
        return Path(explicit).resolve(), True
    return (config.rootpath / config.getini("gradspec_registry")).resolve(), False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claim(id): the registered claim (spec_tests/claims.toml) this spec asserts"
    )
    path, explicit = _registry_path(config)
    if not path.is_file():
        if explicit:
            raise pytest.UsageError(f"--claims-registry: no such file: {path}")
        return
    try:
        config.stash[_registry_key] = load_registry(path)
    except RegistryError as error:
        raise pytest.UsageError(f"gradspec: {error}") from None
    config.stash[_registry_path_key] = path
    engines.register(config, config.stash[_registry_key], path)
    if not hasattr(config, "workerinput"):  # pytest-xdist workers only forward reports
        config.pluginmanager.register(LedgerRecorder(config), "gradspec-ledger-recorder")


def _active(config: pytest.Config) -> bool:
    return _registry_key in config.stash


def registry_of(config: pytest.Config) -> dict[str, Claim]:
    """The registry loaded for this run (empty when the plugin is passive)."""
    return config.stash.get(_registry_key, {})


def _marker_claims(item: pytest.Item) -> tuple[list[str], list[str]]:
    ids, problems = [], []
    for marker in item.iter_markers("claim"):
        if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
            problems.append(f"{item.nodeid}: use @pytest.mark.claim('ID') with one claim ID")
            continue
        ids.append(marker.args[0])
    return ids, problems


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _active(config):
        return
    registry = config.stash[_registry_key]
    collected: dict[str, list[str]] = {}
    problems: list[str] = []
    for item in items:
        ids, bad = _marker_claims(item)
        problems += bad
        for claim_id in ids:
            if claim_id not in registry:
                problems.append(f"{item.nodeid}: unknown claim {claim_id!r} (not in the registry)")
            collected.setdefault(claim_id, []).append(item.nodeid)
        if ids:
            item.user_properties.append((CLAIMS_PROPERTY, sorted(set(ids))))
    if problems:
        where = config.stash[_registry_path_key]
        raise pytest.UsageError(
            f"gradspec: claim markers that do not match the registry {where}:\n  "
            + "\n  ".join(problems)
        )
    config.stash[_collected_key] = collected
    out = config.getoption("claims_collected")
    if out:
        Path(out).write_text(json.dumps(collected, indent=1, sort_keys=True), encoding="utf-8")
    _select_claims(config, items)


def claim_matches(claim_id: str, wanted: str) -> bool:
    """``wanted`` names ``claim_id`` itself or a prefix of it ending at a ``.`` or ``-``."""
    return claim_id == wanted or claim_id.startswith((wanted + ".", wanted + "-"))


def _select_claims(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--claim ID``: keep only the specs of the claims ID names; deselect the rest."""
    wanted = config.getoption("claim", default=None) or []
    if not wanted:
        return
    registry = config.stash[_registry_key]
    unknown = [w for w in wanted if not any(claim_matches(c, w) for c in registry)]
    if unknown:
        raise pytest.UsageError(
            f"--claim: no registered claim is or starts with {', '.join(map(repr, unknown))}"
        )
    selected, deselected = [], []
    for item in items:
        ids = dict(item.user_properties).get(CLAIMS_PROPERTY, [])
        keep = any(claim_matches(c, w) for c in ids for w in wanted)
        (selected if keep else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _phase_outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when != "call" and report.failed:
        return "error"
    return report.outcome


def _claim_status(claim: Claim, specs: list[dict[str, Any]]) -> str:
    if claim.kind == "definition" and not specs:
        return "definition"
    outcomes = {spec["outcome"] for spec in specs}
    if not outcomes:
        return "not run"
    if outcomes & {"failed", "error", "xpassed", None}:
        return "fail"
    if outcomes & {"skipped", "xfailed"}:
        return "skipped"
    return "pass"


def build_ledger(
    config: pytest.Config, outcomes: dict[str, dict[str, Any]], exitstatus: int
) -> dict[str, Any]:
    """Assemble the ledger from the registry and the outcomes gathered in this run."""
    registry = config.stash[_registry_key]
    by_claim: dict[str, list[dict[str, Any]]] = {claim_id: [] for claim_id in registry}
    test_counts: dict[str, int] = {}
    unclaimed, unclaimed_counts = unclaimed_tests(outcomes)
    for nodeid, entry in sorted(outcomes.items()):
        if not entry["claims"]:
            continue
        outcome = entry["outcome"] or "error"
        test_counts[outcome] = test_counts.get(outcome, 0) + 1
        for claim_id in entry["claims"]:
            spec = {"nodeid": nodeid, "outcome": outcome, "extra": entry["extra"]}
            if "message" in entry:
                spec["message"] = entry["message"]
            by_claim.setdefault(claim_id, []).append(spec)
    claims = {}
    status_counts: dict[str, int] = {}
    for claim_id, claim in registry.items():
        status = _claim_status(claim, by_claim[claim_id])
        status_counts[status] = status_counts.get(status, 0) + 1
        claims[claim_id] = {**claim.to_dict(), "status": status, "specs": by_claim[claim_id]}
    torch_version = None
    if "torch" in sys.modules:
        torch_version = sys.modules["torch"].__version__
    else:  # the specs always import torch; this only covers runs that never did
        try:
            from importlib.metadata import version

            torch_version = version("torch")
        except Exception:
            torch_version = None
    ledger = {
        "schema": LEDGER_SCHEMA,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch_version,
        "torch_build": torch_build_tag(),
        "platform": platform.platform(),
        "args": [str(arg) for arg in config.invocation_params.args],
        "exitstatus": int(exitstatus),
        "summary": {
            "claims": len(registry),
            "errata": sum(claim.verdict == "erratum" for claim in registry.values()),
            "definitions": sum(claim.kind == "definition" for claim in registry.values()),
            "status": dict(sorted(status_counts.items())),
            "tests": dict(sorted(test_counts.items())),
            "unclaimed": dict(sorted(unclaimed_counts.items())),
        },
        "claims": claims,
        "unclaimed": unclaimed,
    }
    return engines.add_backend_outcomes(config, ledger, _claim_status)


def unclaimed_tests(
    outcomes: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The tests without a claim marker, by node id, and their counts per outcome."""
    tests, counts = [], {}
    for nodeid, entry in sorted(outcomes.items()):
        if entry["claims"]:
            continue
        outcome = entry["outcome"] or "error"
        counts[outcome] = counts.get(outcome, 0) + 1
        test = {"nodeid": nodeid, "outcome": outcome, "extra": entry["extra"]}
        if "message" in entry:
            test["message"] = entry["message"]
        tests.append(test)
    return tests, counts


def torch_build_tag() -> str | None:
    """The torch release with its build tag, ``2.13.0+cpu`` or ``2.14.1+cu130``.

    Wheels usually carry the tag in ``torch.__version__``; when one does not, the tag is made
    from ``torch.version.cuda`` (``12.8`` -> ``cu128``) or is ``cpu``. A run that never
    imported torch gets the installed distribution's version as it is (None without torch):
    importing torch only to name it would cost every small run a second.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            from importlib.metadata import version as installed

            return installed("torch")
        except Exception:
            return None
    version = str(getattr(torch, "__version__", "")) or None
    if version is None or "+" in version:
        return version
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    tag = "cu" + str(cuda).replace(".", "") if cuda else "cpu"
    return f"{version}+{tag}"


def _ledger_path(config: pytest.Config) -> Path:
    explicit = config.getoption("ledger")
    if explicit:
        return Path(explicit).resolve()
    return (config.rootpath / config.getini("gradspec_ledger")).resolve()


class LedgerRecorder:
    """Collects outcomes in the controlling process and writes the ledger at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.written = ""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        claims = dict(report.user_properties).get(CLAIMS_PROPERTY) or []  # [] = unclaimed
        entry = self.outcomes.setdefault(
            report.nodeid, {"claims": claims, "outcome": None, "extra": {}}
        )
        for key, value in report.user_properties:
            if key == EXTRA_PROPERTY:
                entry["extra"].update(value)
        if report.failed and "message" not in entry:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else report.longreprtext
            entry["message"] = text.strip()[:1000]
        outcome = _phase_outcome(report)
        if report.when != "call" and outcome == "passed":
            return  # a passing setup or teardown says nothing about the test
        current = entry["outcome"]
        if current is None or _SEVERITY.index(outcome) < _SEVERITY.index(current):
            entry["outcome"] = outcome

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if config.getoption("claim", default=None) and not config.getoption("ledger"):
            # A run of a few claims must not overwrite the full run's ledger the site shows.
            self.written = "gradspec ledger: not written (--claim run; pass --ledger PATH)"
            return
        if config.option.collectonly or int(exitstatus) in (
            pytest.ExitCode.USAGE_ERROR,
            pytest.ExitCode.INTERNAL_ERROR,
        ):
            return
        ledger = build_ledger(config, self.outcomes, exitstatus)
        path = _ledger_path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(ledger, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        counts = ", ".join(f"{n} {s}" for s, n in ledger["summary"]["status"].items())
        self.written = f"gradspec ledger: {path} (claims: {counts})"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            terminalreporter.write_line(self.written)


@pytest.fixture
def ledger_extra(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """Record ``value`` under ``key`` in this spec's ledger entry (``extra``).

    The value must be JSON-serializable; the docs show it with ``[[extra: ID key]]``.
    """

    def record(key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be a non-empty string, got {key!r}")
        try:
            # The round trip also turns float subclasses (numpy scalars) into plain floats,
            # which pytest-xdist can send from a worker to the controller.
            plain = json.loads(json.dumps(value))
        except (TypeError, ValueError) as error:
            raise TypeError(f"value for {key!r} is not JSON-serializable: {error}") from None
        request.node.user_properties.append((EXTRA_PROPERTY, {key: plain}))

    return record
