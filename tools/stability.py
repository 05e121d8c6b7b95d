"""Order and rerun stability of the specs: ``make stability``.

Runs ``pytest spec_tests`` several times and compares the outcome of every spec across the
runs:

* ``--orders`` runs (20 by default) in the random orders of pytest-randomly, one seed each
  (seeds ``1 .. orders`` plus ``--seed-offset``, so a run can be repeated exactly);
* ``--fresh`` runs (2 by default) in file order with pytest's cache disabled
  (``-p no:cacheprovider``) and no Hypothesis database, each in a new temporary directory.

Each run writes a JUnit XML file under ``build/stability/`` (and its ledger there too, so
``build/ledger.json`` is left alone). A spec is *unstable* when its outcome (passed, failed,
error, skipped) is not the same in every run, or when some runs do not have it at all.
The result goes to ``build/stability.json``; the exit status is 1 when any spec is unstable,
and every unstable spec is named with its outcome in each run.

``--jobs N`` passes ``-n N`` to pytest-xdist (pytest-randomly shuffles each worker's share
with the same seed); the default 1 keeps each run a single ordered process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "stability"
REPORT = ROOT / "build" / "stability.json"
MISSING = "missing"


def outcomes_from_junit(text: str) -> dict[str, str]:
    """``{test id: outcome}`` from a JUnit XML report, outcome one of passed, failed, error,
    skipped; the test id is ``classname::name`` as pytest writes them."""
    outcomes: dict[str, str] = {}
    for case in ET.fromstring(text).iter("testcase"):
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        if "error" in tags:
            outcome = "error"
        elif "failure" in tags:
            outcome = "failed"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        # a test with a failing teardown appears twice: keep the worse outcome
        worst = ("error", "failed", "skipped", "passed")
        previous = outcomes.get(test)
        if previous is None or worst.index(outcome) < worst.index(previous):
            outcomes[test] = outcome
    return outcomes


def unstable(runs: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The tests whose outcome differs between runs, with their outcome in every run.

    ``runs`` maps a run's name to its ``{test: outcome}``; a test that a run does not have is
    reported as ``"missing"`` there. Tests with one outcome everywhere are left out.
    """
    tests = sorted(set().union(*(set(r) for r in runs.values()))) if runs else []
    out: dict[str, dict[str, str]] = {}
    for test in tests:
        seen = {name: outcomes.get(test, MISSING) for name, outcomes in runs.items()}
        if len(set(seen.values())) > 1:
            out[test] = seen
    return out


def pytest_command(junit: Path, ledger: Path, *, seed: int | None, jobs: int) -> list[str]:
    command = [sys.executable, "-m", "pytest", "spec_tests", "-q", "-p", "no:cacheprovider"]
    command += [f"--junitxml={junit}", "--ledger", str(ledger)]
    if seed is None:
        command += ["-p", "no:randomly"]
    else:
        command += [f"--randomly-seed={seed}"]
    if jobs > 1:
        command += ["-n", str(jobs)]
    return command


def run_once(name: str, *, seed: int | None, jobs: int) -> dict[str, str]:
    junit, ledger = OUT / f"{name}.xml", OUT / f"{name}-ledger.json"
    command = pytest_command(junit, ledger, seed=seed, jobs=jobs)
    with tempfile.TemporaryDirectory(prefix="gradspec-stability-") as tmp:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if seed is None:  # a fresh run: no Hypothesis example database either
            env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(Path(tmp) / "hypothesis")
        command += ["--basetemp", str(Path(tmp) / "basetemp")]
        completed = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
    tail = completed.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"{name:>10}: exit {completed.returncode}, {tail[0]}", flush=True)
    if completed.returncode not in (0, 1) or not junit.is_file():
        sys.stdout.write(completed.stdout[-3000:] + completed.stderr[-3000:])
        raise SystemExit(f"{name}: pytest could not run the suite (exit {completed.returncode})")
    return outcomes_from_junit(junit.read_text(encoding="utf-8"))


def summarize(runs: dict[str, dict[str, str]], started: datetime, planned: int) -> dict:
    """Compare the runs so far and write ``build/stability.json`` (also mid-way)."""
    flips = unstable(runs)
    failing = sorted(
        {t for r in runs.values() for t, o in r.items() if o in ("failed", "error")} - set(flips)
    )
    report = {
        "generated": started.isoformat(timespec="seconds"),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "command": "make stability",
        "planned_runs": planned,
        "runs": {name: len(outcomes) for name, outcomes in runs.items()},
        "tests": len(set().union(*(set(r) for r in runs.values()))),
        "unstable": flips,
        "failing_in_every_run": failing,
    }
    REPORT.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=20, help="random orders (default 20)")
    parser.add_argument("--fresh", type=int, default=2, help="runs without cache (default 2)")
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="pytest-xdist workers per run")
    args = parser.parse_args(argv)
    if args.orders < 0 or args.fresh < 0 or args.orders + args.fresh < 2:
        parser.error("need at least two runs to compare")
    OUT.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    runs: dict[str, dict[str, str]] = {}
    plan = [(f"fresh-{i + 1}", None) for i in range(args.fresh)] + [
        (f"seed-{seed}", seed)
        for seed in range(1 + args.seed_offset, 1 + args.seed_offset + args.orders)
    ]
    for name, seed in plan:
        runs[name] = run_once(name, seed=seed, jobs=args.jobs)
        report = summarize(runs, started, planned=len(plan))  # written after every run
    flips = report["unstable"]
    failing = report["failing_in_every_run"]
    print(f"{report['tests']} specs, {len(runs)} runs; report: {REPORT.relative_to(ROOT)}")
    for test, seen in flips.items():
        print(f"UNSTABLE {test}: " + ", ".join(f"{run}={o}" for run, o in seen.items()))
    for test in failing:
        print(f"FAILING (in every run) {test}")
    if flips:
        print(f"{len(flips)} spec(s) change outcome between runs")
        return 1
    print("every spec has the same outcome in every run")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
