"""Specs of the plugin's ``--claim ID`` option: run the specs of one claim, or of a prefix.

Checked on a throw-away project with ``pytester`` (independent of the real registry), and
once on the real suite with ``--collect-only``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

REGISTRY = "\n".join(
    f"""
[claims."{claim_id}"]
chapter = "demo"
statement = "statement of {claim_id}"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"
"""
    for claim_id in ("AG-LEAF.grad-fn", "AG-LEAF.memory", "AG-LEAF-INPLACE.error", "AG-LEAFY")
)

SPECS = """
import pytest

@pytest.mark.claim("AG-LEAF.grad-fn")
@pytest.mark.parametrize("n", [1, 2])
def test_grad_fn(n): pass

@pytest.mark.claim("AG-LEAF.memory")
def test_memory(): pass

@pytest.mark.claim("AG-LEAF-INPLACE.error")
def test_inplace(): pass

@pytest.mark.claim("AG-LEAFY")
def test_leafy(): pass

def test_without_claim(): pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", claims=REGISTRY)
    pytester.makeini("[pytest]\ngradspec_registry = claims.toml\ngradspec_ledger = ledger.json\n")
    pytester.makepyfile(test_x=SPECS)
    return pytester


def ran(result: pytest.RunResult) -> set[str]:
    return {
        line.split(" ", 1)[0].split("::", 1)[1]
        for line in result.outlines
        if line.startswith("test_x.py::") and " PASSED" in line
    }


def test_claim_runs_exactly_the_specs_of_that_claim(project):
    result = project.runpytest("-v", "-p", "no:randomly", "--claim", "AG-LEAF.memory")
    result.assert_outcomes(passed=1, deselected=5)
    assert ran(result) == {"test_memory"}


def test_claim_prefix_runs_every_claim_under_it_at_a_dot_or_dash(project):
    result = project.runpytest("-v", "-p", "no:randomly", "--claim", "AG-LEAF")
    result.assert_outcomes(passed=4, deselected=2)
    # AG-LEAFY shares the letters but not the prefix; the spec without a claim never runs.
    assert ran(result) == {"test_grad_fn[1]", "test_grad_fn[2]", "test_memory", "test_inplace"}


def test_claim_can_be_repeated(project):
    result = project.runpytest(
        "-v", "-p", "no:randomly", "--claim", "AG-LEAFY", "--claim", "AG-LEAF.grad-fn"
    )
    result.assert_outcomes(passed=3, deselected=3)
    assert ran(result) == {"test_grad_fn[1]", "test_grad_fn[2]", "test_leafy"}


def test_claim_naming_nothing_registered_is_a_usage_error(project):
    result = project.runpytest("-p", "no:randomly", "--claim", "AG-LEA")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--claim: no registered claim is or starts with 'AG-LEA'*"])


def test_a_claim_run_leaves_the_full_ledger_alone_unless_told(project):
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=6)
    full = json.loads((project.path / "ledger.json").read_text(encoding="utf-8"))
    assert full["claims"]["AG-LEAFY"]["status"] == "pass"
    result = project.runpytest("-p", "no:randomly", "--claim", "AG-LEAF.memory")
    result.stdout.fnmatch_lines(["*ledger: not written (--claim run*"])
    assert json.loads((project.path / "ledger.json").read_text(encoding="utf-8")) == full
    project.runpytest("-p", "no:randomly", "--claim", "AG-LEAF.memory", "--ledger", "part.json")
    part = json.loads((project.path / "part.json").read_text(encoding="utf-8"))
    assert part["claims"]["AG-LEAF.memory"]["status"] == "pass"
    assert part["claims"]["AG-LEAFY"]["status"] == "not run"


def test_claim_on_the_real_suite_collects_only_that_claims_specs(request, tmp_path):
    """``pytest spec_tests --claim FEAT-NORM.loop`` against the markers in the sources."""
    root = request.config.rootpath
    everything = tmp_path / "collected.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "spec_tests/test_digits.py",
            "--collect-only",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--claims-collected={everything}",
            "--claim",
            "FEAT-NORM.loop",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    selected = {line for line in completed.stdout.splitlines() if "::" in line}
    expected = set(json.loads(everything.read_text(encoding="utf-8"))["FEAT-NORM.loop"])
    assert expected, "FEAT-NORM.loop has specs in test_digits.py"
    assert selected == expected
