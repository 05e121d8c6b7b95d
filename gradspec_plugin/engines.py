"""The engine switch: run the autograd specs against any autograd engine.

``pytest spec_tests --backend torch,engine`` (the default, also ini ``gradspec_backends``)
parametrizes every spec that takes the argument ``backend`` with each selected engine. An
entry is a built-in name (resolved by ``get(name)`` of the module named by ini
``gradspec_backend_module``, ``backends`` from spec_tests/) or ``package.module:factory``,
any importable callable that returns an adapter (see ``spec_tests/backends.py`` and the
"Check your own engine" page).

Expected differences: ``spec_tests/engines/<name>.toml`` (next to the registry) lists, under
``[differences]``, claims the engine named ``<name>`` is known not to reproduce, each with a
one-line reason; an adapter may also carry them as a mapping ``expected_differences``. On that
engine a failing spec of a listed claim is reported as xfailed (the ledger says "differs");
if every spec of a listed claim passes, the claim *unexpectedly holds* and the run fails, so
a list cannot go stale (judged only on runs not filtered by -k, -m or --deselect, which may
leave out the spec that differs).

In the ledger each spec entry names its ``backend``; each claim gets ``backends``
(engine -> pass / fail / differs / unexpectedly holds / skipped) and ``differences`` (the
specs that failed as expected, kept out of ``specs`` so that the claim's own status is what
the reference engine and the engine-free specs say); the top level gets ``backends`` (each
engine, its adapter and its listed differences).
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = ["BACKEND_PROPERTY", "REQUIRED", "BackendSwitch", "add_backend_outcomes"]

BACKEND_PROPERTY = "gradspec_backend"
PLUGIN_NAME = "gradspec-backend-switch"
DEFAULT = "torch,engine"
REFERENCE = "torch"  # the engine whose behaviour the claims describe

# What an adapter must have (the protocol in spec_tests/backends.py).
REQUIRED = (
    "name", "float32", "float64", "tensor", "ones", "zeros", "eye", "cat", "randn", "grad",
    "no_grad", "bce_with_logits", "gradcheck", "gradgradcheck", "values",
)  # fmt: skip


def addoption(parser: pytest.Parser, group: Any) -> None:
    group.addoption(
        "--backend",
        default=None,
        metavar="NAMES",
        help="comma-separated autograd engines for the specs that take 'backend': built-in "
        f"names (torch, engine, mygrad) or package.module:factory (default: {DEFAULT})",
    )
    parser.addini("gradspec_backends", "engines used without --backend", default=DEFAULT)
    parser.addini(
        "gradspec_backend_module", "module whose get(name) gives built-ins", default="backends"
    )


def load_differences(path: Path, registry: Mapping[str, Any]) -> dict[str, str]:
    """``{claim: reason}`` from an engines file (empty when there is no file)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise pytest.UsageError(f"gradspec: {path}: {error}") from None
    table = data.get("differences", {})
    if set(data) - {"differences"} or not isinstance(table, dict):
        raise pytest.UsageError(f"gradspec: {path}: only a [differences] table is allowed")
    return check_differences(table, registry, str(path))


def check_differences(table: Any, registry: Mapping[str, Any], where: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise pytest.UsageError(f"gradspec: {where}: differences must be a mapping")
    problems = []
    for claim_id, reason in table.items():
        if claim_id not in registry:
            problems.append(f"{claim_id!r} is not a registered claim")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{claim_id!r} needs a one-line reason")
    if problems:
        raise pytest.UsageError(f"gradspec: {where}: " + "; ".join(problems))
    return {str(k): str(v).strip() for k, v in table.items()}


class BackendSwitch:
    """Parametrizes ``backend``, applies expected differences, and keeps their outcomes."""

    def __init__(self, config: pytest.Config, registry: Mapping[str, Any], engines_dir: Path):
        self.config = config
        self.registry = registry
        self.engines_dir = engines_dir
        raw = config.getoption("backend") or config.getini("gradspec_backends")
        self.specs = [part.strip() for part in str(raw).split(",") if part.strip()]
        if not self.specs:
            raise pytest.UsageError("--backend: name at least one engine")
        self._backends: list[tuple[str, Any]] | None = None
        self.error: pytest.UsageError | None = None
        self.differences: dict[str, dict[str, str]] = {}  # engine -> claim -> reason
        self.adapters: dict[str, str] = {}
        # Controller side: engine -> claim -> outcomes of its specs; node id -> engine.
        self.outcomes: dict[str, dict[str, list[str]]] = {}
        self.node_backend: dict[str, str] = {}

    # ------------------------------------------------------------ loading adapters
    def _load(self, spec: str) -> Any:
        if ":" in spec:
            module_name, _, attribute = spec.partition(":")
            try:
                factory = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError) as error:
                raise pytest.UsageError(f"--backend {spec}: cannot import it: {error}") from None
            return factory() if callable(factory) else factory
        module = importlib.import_module(self.config.getini("gradspec_backend_module"))
        try:
            return module.get(spec)
        except KeyError as error:
            raise pytest.UsageError(f"--backend: {error.args[0]}") from None
        except ImportError as error:
            raise pytest.UsageError(
                f"--backend {spec}: its package is not installed ({error}); "
                f"pip install -e '.[{spec}]' -c constraints.txt"
            ) from None

    def backends(self) -> list[tuple[str, Any]]:
        """``(name, adapter)`` for every selected engine, loaded once."""
        if self._backends is None:
            loaded = []
            for spec in self.specs:
                adapter = self._load(spec)
                missing = [a for a in REQUIRED if not hasattr(adapter, a)]
                if missing:
                    raise pytest.UsageError(
                        f"--backend {spec}: the adapter lacks {', '.join(missing)} "
                        "(see spec_tests/backends.py)"
                    )
                name = adapter.name
                if not isinstance(name, str) or not name or any(c in name for c in "[]:/ "):
                    raise pytest.UsageError(f"--backend {spec}: name must be a plain word")
                if name in self.adapters:
                    raise pytest.UsageError(f"--backend: engine {name!r} selected twice")
                self.adapters[name] = spec
                listed = load_differences(self.engines_dir / f"{name}.toml", self.registry)
                own = getattr(adapter, "expected_differences", None)
                if own:
                    listed.update(check_differences(own, self.registry, f"{spec}"))
                self.differences[name] = listed
                loaded.append((name, adapter))
            self._backends = loaded
        return self._backends

    # ------------------------------------------------------------ pytest hooks
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "backend" not in metafunc.fixturenames or self.error is not None:
            return
        try:
            backends = self.backends()
        except pytest.UsageError as error:  # reported as a usage error after collection
            self.error = error
            return
        metafunc.parametrize(
            "backend", [adapter for _, adapter in backends], ids=[name for name, _ in backends]
        )

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.error is not None:
            raise self.error
        names = {id(adapter): name for name, adapter in self._backends or []}
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "backend" in callspec.params:
                name = names.get(id(callspec.params["backend"]))
                if name is not None:
                    item.user_properties.append((BACKEND_PROPERTY, name))

    def _listed(self, item: pytest.Item) -> tuple[str, str] | None:
        name = dict(item.user_properties).get(BACKEND_PROPERTY)
        if name is None:
            return None
        for marker in item.iter_markers("claim"):
            reason = self.differences.get(name, {}).get(marker.args[0] if marker.args else "")
            if reason:
                return name, reason
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        listed = self._listed(item)
        if listed and report.when == "call" and report.failed:
            report.outcome = "skipped"
            report.wasxfail = f"expected difference on {listed[0]}: {listed[1]}"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        name = props.get(BACKEND_PROPERTY)
        if name is None:
            return
        self.node_backend[report.nodeid] = name
        if report.when != "call" and not (report.failed or report.skipped):
            return
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = (
                report.outcome
                if report.when == "call"
                else ("error" if report.failed else "skipped")
            )
        for claim_id in props.get("gradspec_claims") or []:
            self.outcomes.setdefault(name, {}).setdefault(claim_id, []).append(outcome)

    def filtered(self) -> bool:
        """Whether -k, -m or --deselect may have left out some specs of a claim."""
        option = self.config.option
        return bool(
            getattr(option, "keyword", "")
            or getattr(option, "markexpr", "")
            or getattr(option, "deselect", None)
        )

    def unexpected(self) -> list[tuple[str, str]]:
        """``(engine, claim)`` pairs listed as differences whose specs all passed.

        Not judged in runs filtered by -k/-m/--deselect: the spec that fails might be the
        one left out.
        """
        if self.filtered():
            return []
        found = []
        for name, listed in self.differences.items():
            for claim_id in listed:
                results = self.outcomes.get(name, {}).get(claim_id, [])
                if results and all(r == "passed" for r in results):
                    found.append((name, claim_id))
        return found

    def differences_known(self) -> dict[str, dict[str, str]]:
        """Differences of every engine seen (xdist controllers load the files lazily)."""
        for name in self.node_backend.values():
            if name not in self.differences:
                path = self.engines_dir / f"{name}.toml"
                self.differences[name] = load_differences(path, self.registry)
        return self.differences

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        self.differences_known()
        if self.unexpected() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        yield

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for name, claim_id in self.unexpected():
            terminalreporter.write_line(
                f"gradspec: {claim_id} unexpectedly holds on {name}: remove it from "
                f"spec_tests/engines/{name}.toml (or the adapter's expected_differences)",
                red=True,
            )


def register(config: pytest.Config, registry: Mapping[str, Any], registry_path: Path) -> None:
    """Set the switch up for this run (called from the plugin's ``pytest_configure``)."""
    switch = BackendSwitch(config, registry, registry_path.parent / "engines")
    config.pluginmanager.register(switch, PLUGIN_NAME)


def _claim_status(outcomes: list[str]) -> str:
    if not outcomes:
        return "not run"
    if set(outcomes) & {"failed", "error", "xpassed"}:
        return "fail"
    if "xfailed" in outcomes:
        return "differs"
    if set(outcomes) & {"skipped"}:
        return "skipped"
    return "pass"


def add_backend_outcomes(
    config: pytest.Config, ledger: dict[str, Any], claim_status: Any
) -> dict[str, Any]:
    """Per-engine outcomes in the ledger (see the module docstring); returns ``ledger``."""
    switch = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if switch is None:
        return ledger
    differences = switch.differences_known()
    unexpected = set(switch.unexpected())
    registry = switch.registry
    engines = sorted(set(switch.node_backend.values()) | set(switch.adapters))
    status_counts: dict[str, int] = {}
    for claim_id, entry in ledger["claims"].items():
        kept, moved = [], []
        per_engine: dict[str, list[str]] = {}
        for spec in entry["specs"]:
            name = switch.node_backend.get(spec["nodeid"])
            spec["backend"] = name
            if name is not None:
                per_engine.setdefault(name, []).append(spec["outcome"])
            if name is not None and name != REFERENCE and spec["outcome"] == "xfailed":
                moved.append(spec)
            else:
                kept.append(spec)
        entry["specs"] = kept
        entry["differences"] = moved
        entry["backends"] = {}
        for name in engines if per_engine else ():  # claims without engine specs: none
            status = _claim_status(per_engine.get(name, []))
            if (name, claim_id) in unexpected:
                status = "unexpectedly holds"
            entry["backends"][name] = status
        if moved:
            entry["status"] = claim_status(registry[claim_id], kept)
        status_counts[entry["status"]] = status_counts.get(entry["status"], 0) + 1
    ledger["summary"]["status"] = dict(sorted(status_counts.items()))
    ledger["backends"] = {
        name: {
            "adapter": switch.adapters.get(name),
            "differences": differences.get(name, {}),
            "unexpectedly_holds": sorted(c for n, c in unexpected if n == name),
        }
        for name in engines
    }
    if unexpected and ledger["exitstatus"] == 0:
        ledger["exitstatus"] = int(pytest.ExitCode.TESTS_FAILED)
    return ledger
