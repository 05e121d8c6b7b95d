"""Specs of the release matrix (``tools/torch_matrix.py``, behind ``make matrix``).

The whole tool runs on a throw-away project (pytester) with two fake "releases": two
environments whose ``torch`` is a small module of our own, where release 2.0.0 changes the
one behaviour a claim relies on. No real torch is installed: each environment is the
interpreter of this run with the fake module first on its path.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("torch_matrix", ROOT / "tools/torch_matrix.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


REGISTRY = """
[claims.X-STABLE]
chapter = "demo"
statement = "the answer does not depend on the release"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"

[claims.X-MOVES]
chapter = "demo"
statement = "the library rounds halves to even"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"
"""

SPECS = """
import pytest
import torch

@pytest.mark.claim("X-STABLE")
def test_stable(ledger_extra):
    ledger_extra("warning", torch.WARNING)  # its C++ line number differs between releases
    assert torch.add(2, 2) == 4

@pytest.mark.claim("X-MOVES")
def test_rounds_half_to_even():
    assert torch.round_half(2.5) == 2

def test_unmarked():
    assert torch.add(1, 1) == 2
"""

# Release 2.0.0 rounds halves away from zero: the claim X-MOVES stops holding there.
FAKE_TORCH = """
__version__ = "{version}+fake"
WARNING = "deprecated (Triggered internally at /src/{version}/aten/Core.h:{line}.)"

def add(a, b):
    return a + b

def round_half(x):
    return {rounding}
"""


def fake_release(root: Path, version: str, line: int, rounding: str) -> Path:
    """An environment: a folder with the fake torch, and a python that puts it first."""
    env = root / f"env-{version}"
    (env / "torch").mkdir(parents=True)
    (env / "torch" / "__init__.py").write_text(
        FAKE_TORCH.format(version=version, line=line, rounding=rounding), encoding="utf-8"
    )
    python = env / "python"
    path = f'PYTHONPATH="{env}${{PYTHONPATH:+:$PYTHONPATH}}"'
    python.write_text(f'#!/bin/sh\n{path} exec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    return python


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", claims=REGISTRY)
    pytester.makeini("[pytest]\ngradspec_registry = claims.toml\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_demo.py").write_text(SPECS, encoding="utf-8")
    envs = pytester.path / "envs"
    fake_release(envs, "1.0.0", 101, "round(x)")  # Python's round: halves to even
    fake_release(envs, "2.0.0", 107, "int(x + 0.5)")  # halves up
    return pytester


def run_matrix(project: pytest.Pytester, releases: str, *more: str) -> subprocess.CompletedProcess:
    envs = project.path / "envs"
    command = [
        sys.executable,
        str(ROOT / "tools" / "torch_matrix.py"),
        "--releases",
        releases,
        "--root",
        str(project.path),
        "--tests",
        "tests",
        "--pinned",
        "1.0.0",
        "--python",
        f"1.0.0={envs / 'env-1.0.0' / 'python'}",
        "--python",
        f"2.0.0={envs / 'env-2.0.0' / 'python'}",
        *more,
    ]
    return subprocess.run(
        command, cwd=project.path, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_matrix_names_the_claim_that_moved_between_two_releases(project):
    completed = run_matrix(project, "1.0.0 2.0.0", "--snapshot", "snap")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output  # a claim's status changed
    assert "X-MOVES (" in output
    assert "pass -> fail" in output
    assert "1 claim(s) moved: X-MOVES" in output
    assert "X-STABLE" not in output.split("Test outcomes that changed")[0].split("moved:")[1]
    ledgers = project.path / "build" / "ledgers"
    old = json.loads((ledgers / "torch-1.0.0.json").read_text(encoding="utf-8"))
    new = json.loads((ledgers / "torch-2.0.0.json").read_text(encoding="utf-8"))
    assert (old["torch_build"], new["torch_build"]) == ("1.0.0+fake", "2.0.0+fake")
    assert old["claims"]["X-MOVES"]["status"] == "pass"
    assert new["claims"]["X-MOVES"]["status"] == "fail"
    assert "no:randomly" in new["args"]  # a fixed order
    assert [t["nodeid"] for t in new["unclaimed"]] == ["tests/test_demo.py::test_unmarked"]
    # The diff against the pinned release, for people and for machines.
    text = (ledgers / "diff-1.0.0-2.0.0.txt").read_text(encoding="utf-8")
    assert "1 claim(s) moved: X-MOVES" in text
    # The C++ line and the version in the warning differ, and are listed as ignored.
    ignored = text.split("Differences ignored after normalisation: 1")[1]
    assert "extra.warning [cpp-source-location, version-string]" in ignored
    report = json.loads((ledgers / "diff-1.0.0-2.0.0.json").read_text(encoding="utf-8"))
    assert report["moved_claims"] == ["X-MOVES"]
    summary = json.loads((ledgers / "matrix.json").read_text(encoding="utf-8"))
    assert [run["release"] for run in summary["releases"]] == ["1.0.0", "2.0.0"]
    assert summary["releases"][1]["moved_claims"] == ["X-MOVES"]
    assert sorted(p.name for p in (project.path / "snap").iterdir()) == [
        "matrix.json",
        "torch-1.0.0.json",
        "torch-2.0.0.json",
    ]


def test_two_runs_of_the_same_release_move_nothing(project):
    completed = run_matrix(project, "1.0.0")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (project.path / "build" / "ledgers" / "torch-1.0.0.json").is_file()


def test_a_release_not_on_this_disk_is_refused_saying_how_big(project, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    completed = run_matrix(project, "1.0.0 9.9.9", "--wheel-dir", str(wheels))
    assert completed.returncode == 2
    assert "torch 9.9.9 not on this disk" in completed.stderr
    assert "several GB" in completed.stderr
    assert "ALLOW_DOWNLOAD=1" in completed.stderr
    assert not (project.path / "build" / "ledgers").exists()  # refused before any work


def test_a_bad_release_list_is_refused(project):
    completed = run_matrix(project, "2.13 latest")
    assert completed.returncode == 2
    assert "give releases like" in completed.stderr


def test_local_wheels_are_found_in_folders_and_file_indexes(tool, tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    (folder / "torch-2.13.1-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    index = tmp_path / "simple"
    (index / "torch").mkdir(parents=True)
    (tmp_path / "files").mkdir()
    wheel = tmp_path / "files" / "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.touch()
    (index / "torch" / "index.html").write_text(
        f'<html><body><a href="../../files/{wheel.name}#sha256=00">{wheel.name}</a></body></html>',
        encoding="utf-8",
    )
    sources = [folder, index]
    assert [p.name for p in tool.local_wheels("2.13.0", sources)] == [
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    ]
    assert tool.local_wheels("2.14.1", sources) == [wheel.resolve()]
    assert tool.local_wheels("2.14.0", sources) == []


def test_constraints_per_release_change_only_the_torch_line(tool):
    pinned = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert tool.pinned_release(pinned) == "2.13.0"
    moved = tool.constraints_for(pinned, "2.14.1")
    changed = [
        (a, b) for a, b in zip(pinned.splitlines(), moved.splitlines(), strict=True) if a != b
    ]
    assert changed == [("torch==2.13.0+cpu", "torch==2.14.1")]
    assert tool.constraints_for(pinned, "2.13.0") == pinned  # the pin keeps its CPU tag
