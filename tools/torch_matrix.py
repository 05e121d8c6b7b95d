"""Run the specs once per torch release and diff each ledger against the pinned release.

``make matrix TORCH="2.13.0 2.14.1"`` calls this script. For each release it

1. writes ``constraints.txt`` with only the torch line changed (``build/matrix/``);
2. makes a fresh venv and installs gradspec (``-e .[test]``) under those constraints;
3. runs the specs in a fixed order (``-p no:randomly``), without ``-x``, writing the ledger
   ``build/ledgers/torch-<release>.json``;
4. removes the venv (``--keep`` leaves it);

then diffs every ledger against the one of the pinned release (``constraints.txt``), writes
``diff-<pinned>-<release>.txt`` and ``.json`` beside the ledgers, and a ``matrix.json`` with
the time and disk each release took. Exit status 1 when a claim's status moved, 2 when the
matrix cannot run (a release not on this disk, an install or a run that broke).

A release counts as on this disk when a torch wheel of it lies in a local source pip is
configured with (``find-links`` folders, ``file://`` indexes); anything else would be
downloaded, and torch releases on PyPI for Linux are CUDA builds of several GB: the script
refuses them unless ``--allow-download`` (``ALLOW_DOWNLOAD=1``).

``--python RELEASE=PATH`` runs a release with an interpreter that already has it (no venv,
nothing installed or removed): for environments made by hand, and for the spec of this tool.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # gradspec_plugin, when run from a checkout

from gradspec_plugin.ledger_diff import diff_ledgers, load_ledger, render_text  # noqa: E402

RELEASE = re.compile(r"^\d+\.\d+(?:\.\d+)?$")
TORCH_PIN = re.compile(r"^torch\s*==\s*(?P<version>[^\s;#]+)", re.IGNORECASE)


class MatrixError(RuntimeError):
    """The matrix cannot run as asked; the message says why and what to do."""


@dataclass
class ReleaseRun:
    """What running the specs on one release took and gave."""

    release: str
    ledger: str = ""
    torch_build: str | None = None
    python: str = ""
    installed_from: str = ""
    install_seconds: float = 0.0
    suite_seconds: float = 0.0
    venv_bytes: int = 0
    venv_removed: bool = False
    pytest_exit: int | None = None
    summary: dict = field(default_factory=dict)
    moved_claims: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- constraints
def pinned_release(constraints: str) -> str:
    """The torch release pinned in a constraints file: ``torch==2.13.0+cpu`` -> ``2.13.0``."""
    for line in constraints.splitlines():
        match = TORCH_PIN.match(line.strip())
        if match:
            return match["version"].split("+", 1)[0]
    raise MatrixError("constraints.txt pins no torch release (no 'torch==...' line)")


def constraints_for(constraints: str, release: str) -> str:
    """The constraints with only the torch line changed to ``release``.

    The pinned release keeps its line as it is (``torch==2.13.0+cpu`` names the CPU wheel).
    """
    lines, found = [], False
    for line in constraints.splitlines(keepends=True):
        match = TORCH_PIN.match(line.strip())
        if match:
            found = True
            if match["version"].split("+", 1)[0] != release:
                line = f"torch=={release}\n"
        lines.append(line)
    if not found:
        raise MatrixError("constraints.txt pins no torch release (no 'torch==...' line)")
    return "".join(lines)


# ---------------------------------------------------------------------------- local wheels
def pip_local_sources(python: str) -> list[Path]:
    """Folders on this disk that pip is configured to install from (find-links, file:// indexes)."""
    completed = subprocess.run(
        [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    values = []
    for line in completed.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.rsplit(".", 1)[-1] in ("find-links", "index-url", "extra-index-url"):
            values += value.strip().strip("'\"").split()
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        values += os.environ.get(name, "").split()
    sources = []
    for value in values:
        parsed = urlparse(value)
        if parsed.scheme in ("", "file"):
            path = Path(unquote(parsed.path if parsed.scheme else value))
            if path.is_dir() and path not in sources:
                sources.append(path)
    return sources


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def local_wheels(release: str, sources: list[Path]) -> list[Path]:
    """Torch wheels of ``release`` (any build tag) that lie in ``sources``.

    A source is a folder of wheels (find-links) or a simple index (``<source>/torch/``).
    """
    name = re.compile(rf"^torch-{re.escape(release)}(?:\+[\w.]+)?-.*\.whl$")
    found = []
    for source in sources:
        found += [path for path in sorted(source.glob("torch-*.whl")) if name.match(path.name)]
        index = source / "torch" / "index.html"
        if index.is_file():
            links = _Links()
            links.feed(index.read_text(encoding="utf-8", errors="replace"))
            for href in links.hrefs:
                path = (index.parent / unquote(href.split("#", 1)[0])).resolve()
                if name.match(path.name) and path.is_file():
                    found.append(path)
    return found


# ---------------------------------------------------------------------------- running
def _disk_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for filename in filenames:
            file = Path(dirpath) / filename
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _run(command: list[str], log: Path, cwd: Path) -> int:
    with log.open("a", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        return subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode


def say(text: str) -> None:
    print(f"[matrix] {text}", flush=True)


def make_venv(release: str, args: argparse.Namespace, run: ReleaseRun, log: Path) -> Path:
    venv = args.work / f"venv-{release}"
    if venv.exists():
        shutil.rmtree(venv)
    constraints = args.work / f"constraints-{release}.txt"
    constraints.write_text(
        constraints_for(args.constraints.read_text(encoding="utf-8"), release), encoding="utf-8"
    )
    say(f"torch {release}: venv {venv}, constraints {constraints} (log {log})")
    start = time.monotonic()
    if _run([sys.executable, "-m", "venv", str(venv)], log, args.root) != 0:
        raise MatrixError(f"torch {release}: could not create the venv (see {log})")
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    install += ["-c", str(constraints), "-e", f".[{args.extras}]"]
    if _run(install, log, args.root) != 0:
        raise MatrixError(f"torch {release}: pip install failed (see {log})")
    run.install_seconds = round(time.monotonic() - start, 1)
    run.venv_bytes = _disk_bytes(venv)
    return python


def run_release(release: str, args: argparse.Namespace) -> ReleaseRun:
    run = ReleaseRun(release)
    log = args.work / f"log-{release}.txt"
    log.write_text("", encoding="utf-8")
    venv = None
    ledger = args.out / f"torch-{release}.json"
    ledger.unlink(missing_ok=True)
    shown = ledger.relative_to(args.root) if ledger.is_relative_to(args.root) else ledger
    try:
        if release in args.pythons:
            python = Path(args.pythons[release])
            run.installed_from = "given interpreter"
        else:
            venv = args.work / f"venv-{release}"
            python = make_venv(release, args, run, log)
            run.installed_from = "venv"
        command = [str(python), "-m", "pytest", args.tests, "-q", "-p", "no:randomly"]
        command += ["-p", "no:cacheprovider", f"--ledger={shown}", *args.pytest_args]
        say(f"torch {release}: running the specs ({' '.join(command[1:])})")
        start = time.monotonic()
        run.pytest_exit = _run(command, log, args.root)
        run.suite_seconds = round(time.monotonic() - start, 1)
    finally:  # a failed install must not leave gigabytes behind either
        if venv is not None and venv.exists() and not args.keep:
            shutil.rmtree(venv)
            run.venv_removed = True
    if run.pytest_exit not in (0, 1) or not ledger.is_file():
        raise MatrixError(
            f"torch {release}: pytest exited {run.pytest_exit} without a ledger (see {log})"
        )
    written = load_ledger(ledger)
    run.ledger = str(shown)
    run.torch_build = written.get("torch_build") or written.get("torch")
    run.python = written.get("python", "")
    run.summary = written.get("summary", {})
    found = str(run.torch_build or "").split("+", 1)[0]
    if found != release:
        raise MatrixError(f"torch {release}: the run imported torch {run.torch_build} instead")
    say(
        f"torch {release}: {run.torch_build}, pytest exit {run.pytest_exit}, "
        f"suite {run.suite_seconds:.0f} s, install {run.install_seconds:.0f} s, "
        f"venv {run.venv_bytes / 2**30:.2f} GiB"
    )
    return run


def check_available(releases: list[str], args: argparse.Namespace) -> None:
    """Refuse, before doing anything, releases that pip would have to download."""
    needed = [release for release in releases if release not in args.pythons]
    if not needed:
        return
    sources = args.wheel_dirs or pip_local_sources(sys.executable)
    missing = [release for release in needed if not local_wheels(release, sources)]
    if missing and not args.allow_download:
        where = ", ".join(map(str, sources)) or "no local source configured"
        raise MatrixError(
            f"torch {', '.join(missing)} not on this disk (looked in: {where}). pip would "
            "download it from the index: for Linux that is a CUDA build of several GB "
            "(torch plus its nvidia-* libraries; a venv of about 6 GB). "
            "Rerun with ALLOW_DOWNLOAD=1 (make) or --allow-download if you mean it."
        )
    for release in missing:
        say(f"torch {release} is not on this disk: pip will download several GB (allowed)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", required=True, help='torch releases, e.g. "2.13.0 2.14.1"')
    parser.add_argument("--root", type=Path, default=ROOT, help="the project (default: here)")
    parser.add_argument("--tests", default="spec_tests", help="what pytest runs (spec_tests)")
    parser.add_argument("--constraints", type=Path, default=None, help="ROOT/constraints.txt")
    parser.add_argument("--pinned", default=None, help="the reference release (constraints)")
    parser.add_argument("--out", type=Path, default=None, help="ledgers (ROOT/build/ledgers)")
    parser.add_argument("--work", type=Path, default=None, help="venvs, logs (ROOT/build/matrix)")
    parser.add_argument("--snapshot", type=Path, default=None, help="also copy ledgers here")
    parser.add_argument("--extras", default="test", help="extras installed with gradspec")
    parser.add_argument("--keep", action="store_true", help="keep each venv after its run")
    parser.add_argument("--allow-download", action="store_true", help="releases not on disk")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="RELEASE=PATH",
        help="run RELEASE with this interpreter (no venv made or removed)",
    )
    parser.add_argument(
        "--wheel-dir",
        dest="wheel_dirs",
        action="append",
        type=Path,
        default=[],
        help="where torch wheels lie (default: the local sources of pip's configuration)",
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    args.root = args.root.resolve()
    args.constraints = args.constraints or args.root / "constraints.txt"
    args.out = (args.out or args.root / "build" / "ledgers").resolve()
    args.work = (args.work or args.root / "build" / "matrix").resolve()
    args.pythons = {}
    for item in args.python:
        release, sep, path = item.partition("=")
        if not sep or not path:
            parser.error(f"--python: use RELEASE=PATH, got {item!r}")
        args.pythons[release] = path
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return matrix(args)
    except MatrixError as error:
        print(f"[matrix] error: {error}", file=sys.stderr, flush=True)
        return 2


def matrix(args: argparse.Namespace) -> int:
    releases = args.releases.split()
    bad = [release for release in releases if not RELEASE.match(release)]
    if bad or not releases:
        raise MatrixError(f'TORCH: give releases like "2.13.0 2.14.1", got {args.releases!r}')
    pinned = args.pinned
    if pinned is None:
        if not args.constraints.is_file():
            raise MatrixError(f"no constraints file at {args.constraints}")
        pinned = pinned_release(args.constraints.read_text(encoding="utf-8"))
    if pinned not in releases:
        say(f"adding the pinned release {pinned}: every other release is diffed against it")
        releases.insert(0, pinned)
    releases = list(dict.fromkeys(releases))
    check_available(releases, args)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    runs = {release: run_release(release, args) for release in releases}
    reference = load_ledger(args.out / f"torch-{pinned}.json")
    moved_any = False
    for release, run in runs.items():
        if release == pinned:
            continue
        diff = diff_ledgers(reference, load_ledger(args.out / f"torch-{release}.json"))
        run.moved_claims = diff.moved_claims()
        moved_any = moved_any or bool(run.moved_claims)
        stem = f"diff-{pinned}-{release}"
        text = render_text(diff, Path(runs[pinned].ledger).name, Path(run.ledger).name)
        (args.out / f"{stem}.txt").write_text(text, encoding="utf-8")
        (args.out / f"{stem}.json").write_text(
            json.dumps(diff.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"\n=== gradspec ledger diff: torch {pinned} -> {release} ===\n{text}", flush=True)

    summary = {
        "pinned": pinned,
        "releases": [asdict(run) for run in runs.values()],
        "total_seconds": round(time.monotonic() - started, 1),
    }
    (args.out / "matrix.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if args.snapshot is not None:
        args.snapshot.mkdir(parents=True, exist_ok=True)
        for run in runs.values():
            name = f"torch-{run.release}.json"
            shutil.copy(args.out / name, args.snapshot / name)
        (args.snapshot / "matrix.json").write_text(
            json.dumps(summary, indent=1) + "\n", encoding="utf-8"
        )
        say(f"snapshots in {args.snapshot}")
    for run in runs.values():
        moved = ", ".join(run.moved_claims) or "none"
        say(
            f"{run.release}: {run.torch_build}, exit {run.pytest_exit}, "
            f"tests {run.summary.get('tests')}, claims moved vs {pinned}: {moved}"
        )
    say(f"total {summary['total_seconds']:.0f} s")
    return 1 if moved_any else 0


if __name__ == "__main__":
    sys.exit(main())
