"""Specs of gradspec itself: the claim registry, the ``claim`` marker and the ledger.

The rules are checked on small throw-away projects run with pytest's ``pytester``, so they
are tested independently of the real registry; the last spec checks the real registry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REGISTRY = """
[claims.X-HOLDS]
chapter = "demo"
statement = "one plus one is two"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"

[claims.X-WRONG]
chapter = "demo"
statement = "one plus one is three"
source = "test"
verdict = "erratum"
correction = "it is two"
kind = "spec"

[claims.X-UNTESTED]
chapter = "demo"
statement = "nobody checks this"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"

[claims.X-DEF]
chapter = "demo"
title = "A definition"
statement = "a definition, not executable"
source = "test"
verdict = "holds"
correction = ""
kind = "definition"
"""

SPECS = """
import pytest

@pytest.mark.claim("X-HOLDS")
def test_holds(ledger_extra):
    import numpy as np
    ledger_extra("message", "recorded text")
    ledger_extra("loss", np.float64(0.5))  # numpy scalars must survive the trip from a worker
    assert 1 + 1 == 2

@pytest.mark.claim("X-WRONG")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_wrong(n):
    assert n + n != 3 or n == 99  # n = 1 passes, so do 2 and 3

@pytest.mark.claim("X-WRONG")
def test_fails_on_purpose():
    assert 1 + 1 == 3

def test_without_claim():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", claims=REGISTRY)
    pytester.makeini(
        "[pytest]\ngradspec_registry = claims.toml\ngradspec_ledger = out/ledger.json\n"
    )
    return pytester


def read_ledger(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "out" / "ledger.json").read_text(encoding="utf-8"))


def test_unknown_claim_in_a_marker_fails_the_run(project):
    project.makepyfile(
        test_x="""
        import pytest
        @pytest.mark.claim("X-HOLDS")
        def test_ok(): pass
        @pytest.mark.claim("NO-SUCH-CLAIM")
        def test_bad(): pass
        """
    )
    result = project.runpytest("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown claim 'NO-SUCH-CLAIM'*"])
    assert not (project.path / "out" / "ledger.json").exists()


def test_marker_without_a_single_string_id_fails_the_run(project):
    project.makepyfile(
        test_x="""
        import pytest
        @pytest.mark.claim("X-HOLDS", "X-WRONG")
        def test_two_ids(): pass
        """
    )
    result = project.runpytest("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*use @pytest.mark.claim('ID') with one claim ID*"])


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (('correction = "it is two"', 'correction = ""'), "an erratum needs a correction"),
        (('verdict = "holds"', 'verdict = "maybe"'), "verdict must be one of"),
        (('kind = "definition"', 'kind = "axiom"'), "kind must be one of"),
        (("[claims.X-DEF]", "[claims.x_def]"), "IDs look like"),
        (
            ('source = "test"\nverdict = "erratum"', 'verdict = "erratum"'),
            "missing field(s) source",
        ),
        (('title = "A definition"', 'titel = "A definition"'), "unknown field(s) titel"),
    ],
)
def test_malformed_registry_fails_the_run_naming_the_problem(pytester, edit, fragment):
    old, new = edit
    assert old in REGISTRY
    pytester.makefile(".toml", claims=REGISTRY.replace(old, new, 1))
    pytester.makeini("[pytest]\ngradspec_registry = claims.toml\n")
    pytester.makepyfile(test_x="def test_ok(): pass")
    result = pytester.runpytest("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert fragment in result.stderr.str()


def test_ledger_records_each_claim_with_its_specs_and_a_status(project):
    project.makepyfile(test_x=SPECS)
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=1)
    ledger = read_ledger(project)
    claims = ledger["claims"]
    assert list(claims) == ["X-HOLDS", "X-WRONG", "X-UNTESTED", "X-DEF"]
    assert claims["X-HOLDS"]["status"] == "pass"
    assert claims["X-WRONG"]["status"] == "fail"  # one failing spec fails the claim
    assert claims["X-UNTESTED"]["status"] == "not run"
    assert claims["X-DEF"]["status"] == "definition"
    assert claims["X-WRONG"]["verdict"] == "erratum"
    assert claims["X-WRONG"]["correction"] == "it is two"
    wrong = {spec["nodeid"]: spec["outcome"] for spec in claims["X-WRONG"]["specs"]}
    assert wrong == {
        "test_x.py::test_wrong[1]": "passed",
        "test_x.py::test_wrong[2]": "passed",
        "test_x.py::test_wrong[3]": "passed",
        "test_x.py::test_fails_on_purpose": "failed",
    }
    failing = next(s for s in claims["X-WRONG"]["specs"] if s["outcome"] == "failed")
    assert "assert" in failing["message"]
    assert claims["X-HOLDS"]["specs"][0]["extra"] == {"message": "recorded text", "loss": 0.5}
    assert ledger["summary"]["status"] == {"definition": 1, "fail": 1, "not run": 1, "pass": 1}
    assert ledger["summary"]["tests"] == {"failed": 1, "passed": 4}
    assert ledger["summary"]["errata"] == 1
    assert ledger["python"]
    assert ledger["generated"]
    assert "torch" in ledger


def test_errors_in_setup_and_skips_show_in_the_ledger(project):
    project.makepyfile(
        test_x="""
        import pytest
        @pytest.fixture
        def broken():
            raise RuntimeError("setup broke")
        @pytest.mark.claim("X-HOLDS")
        def test_setup_error(broken): pass
        @pytest.mark.claim("X-WRONG")
        def test_skipped(): pytest.skip("not today")
        """
    )
    project.runpytest("-p", "no:randomly")
    claims = read_ledger(project)["claims"]
    assert claims["X-HOLDS"]["status"] == "fail"
    assert claims["X-HOLDS"]["specs"][0]["outcome"] == "error"
    assert claims["X-WRONG"]["status"] == "skipped"  # a skipped spec is not a pass


def test_ledger_is_the_same_when_the_run_is_spread_over_two_processes(project):
    project.makepyfile(test_x=SPECS)
    serial = project.runpytest_subprocess("-p", "no:randomly")
    serial.assert_outcomes(passed=5, failed=1)
    one = read_ledger(project)["claims"]
    spread = project.runpytest_subprocess("-n", "2", "-p", "no:randomly")
    spread.assert_outcomes(passed=5, failed=1)
    two = read_ledger(project)["claims"]

    def view(claims):
        return {
            claim_id: (
                entry["status"],
                sorted((s["nodeid"], s["outcome"], json.dumps(s["extra"])) for s in entry["specs"]),
            )
            for claim_id, entry in claims.items()
        }

    assert view(one) == view(two)
    assert one["X-HOLDS"]["specs"][0]["extra"] == {"message": "recorded text", "loss": 0.5}


def test_ledger_extra_rejects_values_that_are_not_json(project):
    project.makepyfile(
        test_x="""
        import pytest
        @pytest.mark.claim("X-HOLDS")
        def test_extra(ledger_extra):
            with pytest.raises(TypeError, match="not JSON-serializable"):
                ledger_extra("obj", object())
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_without_a_registry_the_plugin_stays_out_of_the_way(pytester):
    pytester.makepyfile(test_x="def test_ok(): pass")
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
    assert not (pytester.path / "build").exists()


def test_every_registered_claim_of_kind_spec_has_a_spec(request, tmp_path):
    """The meta-spec: collect the whole suite and compare with the registry."""
    root = request.config.rootpath
    registry = tomllib.loads((root / "spec_tests" / "claims.toml").read_text(encoding="utf-8"))
    out = tmp_path / "collected.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "spec_tests",
            "--collect-only",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--claims-collected={out}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    collected = json.loads(out.read_text(encoding="utf-8"))
    spec_claims = {cid for cid, c in registry["claims"].items() if c["kind"] == "spec"}
    without_spec = sorted(spec_claims - set(collected))
    assert without_spec == [], f"claims of kind 'spec' with no spec: {without_spec}"
    assert Path(root / "spec_tests" / "claims.toml").is_file()
