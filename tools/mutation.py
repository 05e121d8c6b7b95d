"""Mutation testing of ``reference/`` with mutmut: run it, then write ``build/mutation.json``.

``make mutation`` calls ``python tools/mutation.py run``. mutmut 3 copies the package into
``mutants/``, rewrites every function of ``reference/`` into a trampoline that can switch to
any of its mutants, runs the specs once to record which specs reach which function, and then
tests each mutant with only those specs (``pytest -x``), two at a time on these two cores.
Its settings live in ``[tool.mutmut]`` of ``pyproject.toml``: no random order, no xdist, no
cache, and a ledger of its own, so ``build/ledger.json`` is never touched.

Subcommands:

* ``run [--modules reference/x.py ...] [--max-children N] [--fresh]``: test the mutants of
  the named modules (default: all of ``reference/``) that were never checked or that the
  last check did not detect; killed verdicts are kept (mutmut itself re-tests the mutants of
  a function whose code changed, and specs added since can only kill more). ``--fresh``
  deletes ``mutants/`` first; so does a run under other ``[tool.mutmut]`` settings than the
  last one (mutmut would discard the verdicts anyway). Then ``report``; a run over all
  modules (not a sample) also copies the report to ``docs/data/mutation.json`` for the
  site. The exit status is 1 when the score misses the target.
* ``report``: read mutmut's results in ``mutants/`` and write ``build/mutation.json``.

The score counts a mutant as *detected* when a spec failed (killed), ran out of time
(timeout: the mutant made a loop run away) or crashed; *undetected* when every spec passed
(survived) or no spec reached its function (no tests). Mutants listed as equivalent in
``spec_tests/mutation_equivalents.toml`` (no spec could tell them apart from the original:
the program computes the same thing) leave the denominator:

    score = detected / (mutants - equivalent - not checked - skipped).

An equivalent entry names the function and the changed lines (``removed`` and ``added``,
compared without surrounding blanks), not mutmut's mutant number, which changes whenever
the function is edited; an entry that matches nothing is reported as stale.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
RUN_INFO = MUTANTS / "gradspec-run.json"  # the commit whose reference/ the mutants come from
REPORT = ROOT / "build" / "mutation.json"
SNAPSHOT = ROOT / "docs" / "data" / "mutation.json"
EQUIVALENTS = ROOT / "spec_tests" / "mutation_equivalents.toml"
TARGET = 0.95
SCHEMA = 1

# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped the way the score counts them.
DETECTED = {"killed", "timeout", "segfault"}
UNDETECTED = {"survived", "no tests", "suspicious"}
STATUS_BY_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    2: "interrupted",
    None: "not checked",
}


def status_of(code: int | None) -> str:
    return STATUS_BY_CODE.get(code, "suspicious")


# ---------------------------------------------------------------------- names and diffs
def module_of(path: str) -> str:
    """``reference/training/fast.py`` -> ``reference.training.fast``."""
    stem = path[: -len(".py")] if path.endswith(".py") else path
    return stem.strip("/").replace("/", ".")


def function_of(mutant: str) -> str:
    """``reference.fc.xǁLayerǁforward__mutmut_3`` -> ``reference.fc.Layer.forward``."""
    mangled = mutant.partition("__mutmut_")[0]
    module, _, name = mangled.rpartition(".")
    if "ǁ" in name:
        _, cls, func = name.split("ǁ")
        return f"{module}.{cls}.{func}"
    return f"{module}.{name.removeprefix('x_')}"


def owner_of(function: str) -> str:
    """The module of ``module.name`` or ``module.Class.name`` (classes are capitalised)."""
    parts = function.split(".")
    return ".".join(parts[:-2] if len(parts) > 2 and parts[-2][:1].isupper() else parts[:-1])


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of a unified diff, stripped of blanks at both ends."""
    removed, added = [], []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    return removed, added


def function_span(source: str, qualname: str) -> tuple[int, int] | None:
    """First and last line (1-based, decorators included) of a top-level function or method."""
    parts = qualname.split(".")
    for node in ast.parse(source).body:
        if len(parts) == 1 and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            target = node if node.name == parts[0] else None
        elif len(parts) == 2 and isinstance(node, ast.ClassDef) and node.name == parts[0]:
            target = next(
                (
                    item
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name == parts[1]
                ),
                None,
            )
        else:
            target = None
        if target is not None:
            first = min([target.lineno, *(d.lineno for d in target.decorator_list)])
            return first, target.end_lineno or target.lineno
    return None


def mutated_line(source: str, qualname: str, diff: str) -> int | None:
    """The line of the original file that the mutant changes (first removed line)."""
    span = function_span(source, qualname)
    removed, _ = changed_lines(diff)
    if span is None or not removed:
        return span[0] if span else None
    lines = source.splitlines()
    hits = [
        number
        for number in range(span[0], span[1] + 1)
        if lines[number - 1].strip() == removed[0] and removed[0]
    ]
    if not hits:
        return span[0]
    offset = 0  # where the hunk says the line is, to pick between identical lines
    for line in diff.splitlines():
        if line.startswith("@@"):
            offset = int(line.split()[1].split(",")[0].lstrip("-"))
            break
    for line in diff.splitlines():
        if line.startswith("@@"):
            continue
        if line.startswith("-") and not line.startswith("---"):
            break
        if line.startswith(" "):
            offset += 1
    guess = span[0] + offset - 1
    return min(hits, key=lambda number: abs(number - guess))


# ---------------------------------------------------------------------- equivalents
@dataclass(frozen=True)
class Equivalent:
    function: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    reason: str

    def matches(self, function: str, removed: list[str], added: list[str]) -> bool:
        return (
            self.function == function
            and list(self.removed) == removed
            and list(self.added) == added
        )


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    """Entries of ``[[equivalent]]`` with ``function``, ``removed``, ``added``, ``reason``."""
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for index, entry in enumerate(data.get("equivalent", [])):
        missing = {"function", "removed", "added", "reason"} - set(entry)
        if missing or not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: equivalent #{index + 1} needs {sorted(missing) or 'reason'}")

        def lines(value: str | list[str]) -> tuple[str, ...]:
            return tuple(s.strip() for s in ([value] if isinstance(value, str) else value))

        entries.append(
            Equivalent(
                entry["function"],
                lines(entry["removed"]),
                lines(entry["added"]),
                " ".join(entry["reason"].split()),
            )
        )
    return entries


# ---------------------------------------------------------------------- scoring
def empty_counts() -> dict[str, int]:
    return {
        "mutants": 0,
        "killed": 0,
        "timeout": 0,
        "segfault": 0,
        "survived": 0,
        "no tests": 0,
        "suspicious": 0,
        "equivalent": 0,
        "not checked": 0,
        "skipped": 0,
        "interrupted": 0,
    }


def interval_of(counts: dict[str, int], z: float = 1.96) -> list[float] | None:
    """Wilson 95% interval of the score, for a score estimated from a sample of mutants."""
    detected = sum(counts[s] for s in DETECTED)
    n = detected + sum(counts[s] for s in UNDETECTED)
    if not n:
        return None
    p = detected / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [round(centre - half, 4), round(centre + half, 4)]


def score_of(counts: dict[str, int]) -> float | None:
    """Detected over the mutants that count (not equivalent, checked, not skipped)."""
    detected = sum(counts[s] for s in DETECTED)
    undetected = sum(counts[s] for s in UNDETECTED)
    denominator = detected + undetected
    return detected / denominator if denominator else None


def summarize(mutants: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts and score over all mutants, and per module."""
    total = empty_counts()
    modules: dict[str, dict[str, int]] = {}
    for mutant in mutants:
        counts = modules.setdefault(mutant["module"], empty_counts())
        for bucket in (total, counts):
            bucket["mutants"] += 1
            bucket[mutant["status"]] += 1
    result = {
        name: {**c, "score": score_of(c), "interval": interval_of(c)}
        for name, c in sorted(modules.items())
    }
    return {**total, "score": score_of(total), "interval": interval_of(total)}, result


# ---------------------------------------------------------------------- reading mutmut
def read_results(root: Path = ROOT) -> list[dict[str, Any]]:
    """Every mutant of ``reference/`` that mutmut recorded, with its status."""
    out = []
    for meta in sorted((root / "mutants" / "reference").rglob("*.py.meta")):
        path = meta.relative_to(root / "mutants").as_posix()[: -len(".meta")]
        data = json.loads(meta.read_text(encoding="utf-8"))
        for mutant, code in data["exit_code_by_key"].items():
            out.append({"mutant": mutant, "module": path, "status": status_of(code)})
    return out


def diff_of(mutant: str, path: str) -> str:
    """mutmut's diff of the mutant against the original function."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return get_diff_for_mutant(mutant, path=path)
    finally:
        os.chdir(cwd)


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("mutmut", "torch", "pytest"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "reference", "spec_tests"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def mutmut_settings() -> dict[str, Any]:
    """``[tool.mutmut]`` of ``pyproject.toml``: recorded with each run, because mutmut itself
    discards every verdict when its test selection or execution settings change."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data.get("tool", {}).get("mutmut", {})


def settings_changed() -> bool:
    """Whether ``mutants/`` was made under other ``[tool.mutmut]`` settings than today's."""
    if not RUN_INFO.is_file():
        return False
    recorded = json.loads(RUN_INFO.read_text(encoding="utf-8")).get("settings")
    return recorded != mutmut_settings()


def earlier_runs() -> list[dict[str, Any]]:
    """The invocations since ``mutants/`` was made: when, how long, how many mutants each
    tested (the first tests them all; a later one the undetected ones after new specs)."""
    if not RUN_INFO.is_file():
        return []
    return list(json.loads(RUN_INFO.read_text(encoding="utf-8")).get("runs", []))


def write_run_info(runs: list[dict[str, Any]]) -> None:
    info = {"commit": git_commit(), "settings": mutmut_settings(), "runs": runs}
    RUN_INFO.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def mutated_commit() -> str | None:
    """The commit recorded when the mutants were generated (HEAD may have moved since)."""
    if RUN_INFO.is_file():
        return json.loads(RUN_INFO.read_text(encoding="utf-8")).get("commit")
    return git_commit()


def build_report(
    mutants: list[dict[str, Any]],
    equivalents: list[Equivalent],
    *,
    diff: Any = diff_of,
    sources: dict[str, str] | None = None,
    command: str = "make mutation",
    seconds: float | None = None,
) -> dict[str, Any]:
    """Classify equivalents, attach file:line and diff to the undetected, count, score."""
    sources = {} if sources is None else sources
    used = [False] * len(equivalents)
    survivors, equivalent_list = [], []
    for mutant in mutants:
        if mutant["status"] not in UNDETECTED:
            continue
        text = diff(mutant["mutant"], mutant["module"])
        function = function_of(mutant["mutant"])
        removed, added = changed_lines(text)
        if mutant["module"] not in sources:
            sources[mutant["module"]] = (ROOT / mutant["module"]).read_text(encoding="utf-8")
        qualname = function[len(module_of(mutant["module"])) + 1 :]
        entry = {
            "mutant": mutant["mutant"],
            "module": mutant["module"],
            "function": function,
            "line": mutated_line(sources[mutant["module"]], qualname, text),
            "status": mutant["status"],
            "diff": text,
        }
        match = next(
            (i for i, eq in enumerate(equivalents) if eq.matches(function, removed, added)), None
        )
        if match is not None:
            used[match] = True
            mutant["status"] = "equivalent"
            equivalent_list.append({**entry, "reason": equivalents[match].reason})
        else:
            survivors.append(entry)
    summary, modules = summarize(mutants)
    # An entry can only be stale if its module was in the run (a run of some modules says
    # nothing of the others' entries), and only once every mutant of its function has been
    # checked (an unchecked one may be the entry's).
    ran = {module_of(m["module"]) for m in mutants}
    unchecked = {function_of(m["mutant"]) for m in mutants if m["status"] == "not checked"}
    stale = [
        {"function": eq.function, "removed": list(eq.removed), "added": list(eq.added)}
        for eq, hit in zip(equivalents, used, strict=True)
        if not hit and owner_of(eq.function) in ran and eq.function not in unchecked
    ]
    key = {"survived": 0, "no tests": 1, "suspicious": 2}
    return {
        "schema": SCHEMA,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "commit": mutated_commit(),
        "versions": versions(),
        "machine": {"cores": os.cpu_count(), "system": platform.platform()},
        "seconds": seconds,
        "target": TARGET,
        "meets_target": summary["score"] is not None and summary["score"] >= TARGET,
        "summary": summary,
        "modules": modules,
        "survivors": sorted(
            survivors, key=lambda s: (s["module"], s["line"] or 0, key[s["status"]], s["mutant"])
        ),
        "equivalents": sorted(equivalent_list, key=lambda s: (s["module"], s["line"] or 0)),
        "stale_equivalents": stale,
    }


def print_summary(report: dict[str, Any]) -> None:
    def pct(value: float | None) -> str:
        return "  n/a" if value is None else f"{100 * value:5.1f}%"

    print(f"{'module':42} {'score':>6} {'killed':>6} {'t/o':>4} {'surv':>5} {'none':>5} {'eq':>4}")
    for name, c in [*report["modules"].items(), ("all", report["summary"])]:
        print(
            f"{name:42} {pct(c['score'])} {c['killed']:6} {c['timeout'] + c['segfault']:4} "
            f"{c['survived'] + c['suspicious']:5} {c['no tests']:5} {c['equivalent']:4}"
        )
    for eq in report["stale_equivalents"]:
        print(f"stale equivalent (matches no mutant): {eq['function']}: {eq['removed']}")
    print(
        f"mutation score {pct(report['summary']['score'])} (target {100 * TARGET:.0f}%), "
        f"{len(report['survivors'])} undetected; report: {REPORT.relative_to(ROOT)}"
    )


def write_report(report: dict[str, Any], *, snapshot: bool) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    REPORT.write_text(text, encoding="utf-8")
    if snapshot:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------- commands
def selected(modules: list[str]) -> list[dict[str, Any]]:
    return [m for m in read_results() if not modules or m["module"] in modules]


def generate(max_children: int) -> None:
    """Let mutmut write the mutants (``mutants/``) without testing any, as ``mutmut run``
    does first; new or edited functions get fresh mutants, the others keep their verdicts."""
    from mutmut.__main__ import create_mutants
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        MUTANTS.mkdir(exist_ok=True)
        copy_src_dir()
        copy_also_copy_files()
        setup_source_paths()
        create_mutants(max_children)
    finally:
        os.chdir(cwd)


def pending(modules: list[str], sample: int | None, seed: int) -> list[str]:
    """The mutants a run must (re)test: never checked, or not detected by the last check.

    Killed and timed-out verdicts are kept: mutmut re-tests a function's mutants by itself
    when the function changes, and added specs can only kill more. With ``sample`` the run
    is limited to that many mutants drawn uniformly (``random.Random(seed)``) from the whole
    selection, the same ones on every run of the same code; the others stay unchecked and
    leave the score, which is then an estimate (its 95% interval is in the report).
    """
    found = selected(modules)
    if sample is not None:
        chosen = set(
            random.Random(seed).sample(sorted(m["mutant"] for m in found), min(sample, len(found)))
        )
        found = [m for m in found if m["mutant"] in chosen]
    return [m["mutant"] for m in found if m["status"] in UNDETECTED | {"not checked"}]


def run(
    modules: list[str], max_children: int, *, fresh: bool, sample: int | None, seed: int
) -> int:
    for module in modules:
        if not (ROOT / module).is_file() or not module.startswith("reference/"):
            print(f"--modules: {module} is not a file under reference/", file=sys.stderr)
            return 2
    if not fresh and MUTANTS.exists() and settings_changed():
        # mutmut would reset every verdict after choosing what to re-test from the old ones
        print("[tool.mutmut] changed since the last run: starting afresh", flush=True)
        fresh = True
    if fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    env = {
        **os.environ,
        # one thread per mutant worker: the workers are the parallelism on two cores
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
    started = datetime.now(UTC)
    runs = earlier_runs()
    generate(max_children)
    write_run_info(runs)
    names = pending(modules, sample, seed)
    if names:
        mutmut = Path(sys.executable).with_name("mutmut")
        command = [str(mutmut), "run", "--max-children", str(max_children), *names]
        shown = command[:4] + (names if len(names) < 4 else [f"<{len(names)} mutants>"])
        print("$", " ".join(shown), flush=True)
        completed = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if completed.returncode != 0:
            print(f"mutmut failed (exit {completed.returncode})", file=sys.stderr)
            return completed.returncode
    else:
        print("nothing to test: every mutant of the selection is detected or equivalent")
    seconds = (datetime.now(UTC) - started).total_seconds()
    shown = "make mutation" + (f" MODULES='{' '.join(modules)}'" if modules else "")
    shown += f" SAMPLE={sample} SEED={seed}" if sample is not None else ""
    runs.append(
        {
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "tested": len(names),
            "command": shown,
        }
    )
    write_run_info(runs)
    mutants = selected(modules)
    report = build_report(mutants, load_equivalents(), command=shown, seconds=seconds)
    report["sample"] = None if sample is None else {"size": sample, "seed": seed}
    report["runs"] = runs
    write_report(report, snapshot=not modules and sample is None)
    print_summary(report)
    return 0 if report["meets_target"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run mutmut, then write the report")
    run_parser.add_argument("--modules", nargs="*", default=[], help="e.g. reference/features.py")
    run_parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    run_parser.add_argument("--fresh", action="store_true", help="delete mutants/ first")
    run_parser.add_argument("--sample", type=int, default=None, help="test only N mutants")
    run_parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    report_parser = sub.add_parser("report", help="write build/mutation.json from mutants/")
    report_parser.add_argument("--modules", nargs="*", default=[])
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(
            args.modules, args.max_children, fresh=args.fresh, sample=args.sample, seed=args.seed
        )
    report = build_report(
        selected(args.modules), load_equivalents(), command="python tools/mutation.py report"
    )
    write_report(report, snapshot=False)
    print_summary(report)
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
