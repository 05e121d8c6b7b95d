"""Specs of ``gradspec ledger diff`` and of what the ledger records for it.

The ledgers here are made by hand (or by a throw-away pytester project), so every expected
difference is written in the test: one claim moved, a C++ line number that changed inside a
torch warning, float noise inside and beyond the tolerance.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from gradspec_plugin import plugin
from gradspec_plugin.cli import main
from gradspec_plugin.ledger_diff import diff_ledgers, normalise

WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
    "(Triggered internally at /pytorch/build/aten/src/ATen/core/TensorBody.h:{line}.)"
)


def spec(nodeid: str, outcome: str = "passed", **extra) -> dict:
    return {"nodeid": nodeid, "outcome": outcome, "extra": extra}


def ledger(torch: str = "2.13.0+cpu") -> dict:
    """A small ledger as the plugin writes it: three claims, one unmarked test."""
    return {
        "schema": 1,
        "generated": "2026-12-01T06:00:00+00:00",
        "python": "3.11.2",
        "torch": torch,
        "torch_build": torch,
        "platform": "Linux",
        "args": ["spec_tests"],
        "exitstatus": 0,
        "summary": {},
        "claims": {
            "GD-TRACE": {
                "title": "Descent from x = 5",
                "status": "pass",
                "specs": [spec("t.py::test_trace", loss=0.1, steps=12)],
            },
            "AG-LEAF": {
                "title": "Grad of a non-leaf",
                "status": "pass",
                "specs": [spec("t.py::test_nonleaf", warning=WARNING.format(line=493))],
            },
            "TENSOR-DEF": {"title": "A tensor", "status": "definition", "specs": []},
        },
        "unclaimed": [spec("reference/x.py::reference.x.f")],
    }


def write(path: Path, content: dict) -> str:
    path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def run_cli(capsys, tmp_path, old: dict, new: dict, *options: str) -> tuple[int, str]:
    paths = [write(tmp_path / "a.json", old), write(tmp_path / "b.json", new)]
    status = main(["ledger", "diff", *paths, *options])
    return status, capsys.readouterr().out


def test_one_claim_that_moved_exits_1_naming_it_and_its_failure_line(capsys, tmp_path):
    old, new = ledger(), ledger()
    new["claims"]["GD-TRACE"]["status"] = "fail"
    failing = new["claims"]["GD-TRACE"]["specs"][0]
    failing["outcome"] = "failed"
    failing["message"] = "AssertionError: x after 1 step is 4.5, not 4.0\nmore detail"
    status, out = run_cli(capsys, tmp_path, old, new)
    assert status == 1
    assert "Claims whose status moved: 1" in out
    assert "GD-TRACE (Descent from x = 5): pass -> fail" in out
    assert "t.py::test_trace: passed -> failed" in out
    assert "AssertionError: x after 1 step is 4.5, not 4.0" in out
    assert "more detail" not in out  # the failure line, not the whole report
    assert "1 claim(s) moved: GD-TRACE" in out
    assert "AG-LEAF" not in out.split("Test outcomes")[0]


def test_same_outcomes_exit_0_and_the_ignored_differences_are_listed(capsys, tmp_path):
    old, new = ledger("2.13.0+cpu"), ledger("2.14.1+cu130")
    new["claims"]["AG-LEAF"]["specs"][0]["extra"]["warning"] = WARNING.format(line=488)
    status, out = run_cli(capsys, tmp_path, old, new)
    assert status == 0
    assert "no claim moved" in out
    assert "torch 2.13.0+cpu" in out
    assert "torch 2.14.1+cu130" in out
    ignored = out.split("Differences ignored after normalisation: 1")[1]
    assert "t.py::test_nonleaf [AG-LEAF] extra.warning [cpp-source-location]" in ignored
    assert "TensorBody.h:[-493.-][+488.+])" in ignored  # where the two texts differ
    assert "Recorded values that changed: 0" in out


def test_a_cpp_location_is_ignored_but_a_changed_word_is_not():
    text, rules = normalise(WARNING.format(line=493))
    assert "TensorBody.h:<line>" in text
    assert "/pytorch/" not in text
    assert rules == ["cpp-source-location"]
    old, new = ledger(), ledger()
    reworded = WARNING.format(line=493).replace("being accessed", "read")
    new["claims"]["AG-LEAF"]["specs"][0]["extra"]["warning"] = reworded
    diff = diff_ledgers(old, new)
    [change] = diff.values("changed")
    assert change.key == "extra.warning"
    assert change.claims == ["AG-LEAF"]
    assert diff.moved_claims() == []


def test_version_strings_are_normalised():
    old, new = ledger(), ledger()
    old["claims"]["AG-LEAF"]["specs"][0]["extra"]["warning"] = "deprecated since torch 2.13.0+cpu"
    new["claims"]["AG-LEAF"]["specs"][0]["extra"]["warning"] = "deprecated since torch 2.14.1"
    [change] = diff_ledgers(old, new).value_changes
    assert (change.kind, change.rules) == ("ignored", ["version-string"])


@pytest.mark.parametrize(
    ("new_loss", "kind"),
    [
        (0.1, None),  # bit for bit: no entry at all
        (0.1 + 0.1 * 1e-7, "exact-bit"),  # relative change 1e-7 < rtol 1e-5
        (0.1 * (1 + 1e-3), "changed"),  # relative change 1e-3 > rtol 1e-5
    ],
)
def test_float_noise_within_the_tolerance_is_listed_apart_from_changes(new_loss, kind):
    old, new = ledger(), ledger()
    new["claims"]["GD-TRACE"]["specs"][0]["extra"]["loss"] = new_loss
    diff = diff_ledgers(old, new)
    assert [c.kind for c in diff.value_changes] == ([kind] if kind else [])
    assert diff.moved_claims() == []


def test_decimal_numbers_inside_text_are_compared_with_the_tolerance():
    old, new = ledger(), ledger()
    old_extra = old["claims"]["GD-TRACE"]["specs"][0]["extra"]
    new_extra = new["claims"]["GD-TRACE"]["specs"][0]["extra"]
    old_extra["printed"], new_extra["printed"] = (
        "tensor([0.1000000, 2.5])",
        "tensor([0.1000001, 2.5])",
    )
    assert [c.kind for c in diff_ledgers(old, new).value_changes] == ["exact-bit"]
    new_extra["printed"] = "tensor([0.1010000, 2.5])"
    assert [c.kind for c in diff_ledgers(old, new).value_changes] == ["changed"]
    loose = diff_ledgers(old, new, rtol=0.05)  # a stated, looser tolerance
    assert [c.kind for c in loose.value_changes] == ["exact-bit"]


def test_integers_compare_exactly():
    old, new = ledger(), ledger()
    new["claims"]["GD-TRACE"]["specs"][0]["extra"]["steps"] = 13
    [change] = diff_ledgers(old, new, rtol=0.5).value_changes
    assert (change.kind, change.old, change.new) == ("changed", 12, 13)


def test_added_and_removed_claims_and_unmarked_tests_are_reported(capsys, tmp_path):
    old, new = ledger(), ledger()
    del new["claims"]["TENSOR-DEF"]
    new["claims"]["NEW-CLAIM"] = {"title": "new", "status": "pass", "specs": []}
    new["unclaimed"][0].update(outcome="failed", message="Expected:\n 3\nGot:\n 4")
    status, out = run_cli(capsys, tmp_path, old, new)
    assert status == 0  # nothing that existed before changed status
    assert "Claims added: 1 (NEW-CLAIM)" in out
    assert "Claims removed: 1 (TENSOR-DEF)" in out
    assert "reference/x.py::reference.x.f [no claim]: passed -> failed" in out
    assert "Expected:" in out


def test_a_ledger_without_the_unclaimed_section_is_compared_on_claims_only(capsys, tmp_path):
    old, new = ledger(), ledger()
    del old["unclaimed"]
    new["unclaimed"][0]["outcome"] = "failed"
    status, out = run_cli(capsys, tmp_path, old, new)
    assert status == 0
    assert "Test outcomes that changed: 0" in out
    assert "Tests without a claim marker: not compared" in out


def test_json_output_names_the_moved_claim(capsys, tmp_path):
    old, new = ledger(), ledger()
    new["claims"]["AG-LEAF"]["status"] = "skipped"
    new["claims"]["AG-LEAF"]["specs"][0]["outcome"] = "skipped"
    status, out = run_cli(capsys, tmp_path, old, new, "--json")
    assert status == 1
    report = json.loads(out)
    assert report["moved_claims"] == ["AG-LEAF"]
    assert report["status_changes"][0]["specs"][0]["new"] == "skipped"
    assert report["tolerance"] == {"rtol": 1e-5, "atol": 1e-8}
    assert report["new"]["torch_build"] == "2.13.0+cpu"


def test_a_file_that_is_not_a_ledger_is_a_usage_error_naming_it(capsys, tmp_path):
    good = write(tmp_path / "good.json", ledger())
    bad = tmp_path / "bad.json"
    bad.write_text('{"tests": []}', encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["ledger", "diff", good, str(bad)])
    assert stop.value.code == 2
    assert "bad.json: not a gradspec ledger" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["ledger", "diff", good, str(tmp_path / "missing.json")])
    assert "missing.json: no such file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rtol must be a number >= 0"):
        diff_ledgers(ledger(), ledger(), rtol=-1)


def test_the_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "gradspec"
    assert script.is_file(), "reinstall gradspec (pip install -e .) to get the console script"
    old, new = ledger(), copy.deepcopy(ledger())
    new["claims"]["GD-TRACE"]["status"] = "fail"
    completed = subprocess.run(
        [
            str(script),
            "ledger",
            "diff",
            write(tmp_path / "a.json", old),
            write(tmp_path / "b.json", new),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert "GD-TRACE" in completed.stdout


# ---------------------------------------------------------------- what the ledger records
REGISTRY = """
[claims.X-ONE]
chapter = "demo"
statement = "one is one"
source = "test"
verdict = "holds"
correction = ""
kind = "spec"
"""


def test_the_ledger_records_unmarked_tests_in_their_own_section(pytester):
    pytester.makefile(".toml", claims=REGISTRY)
    pytester.makeini("[pytest]\ngradspec_registry = claims.toml\ngradspec_ledger = ledger.json\n")
    pytester.makepyfile(
        test_x="""
        import pytest
        @pytest.mark.claim("X-ONE")
        def test_marked(): assert 1 == 1
        def test_unmarked_passes(): pass
        def test_unmarked_fails(): assert 2 + 2 == 5, "arithmetic moved"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2, failed=1)
    written = json.loads((pytester.path / "ledger.json").read_text(encoding="utf-8"))
    unclaimed = {test["nodeid"]: test for test in written["unclaimed"]}
    assert set(unclaimed) == {"test_x.py::test_unmarked_passes", "test_x.py::test_unmarked_fails"}
    assert unclaimed["test_x.py::test_unmarked_fails"]["outcome"] == "failed"
    assert "arithmetic moved" in unclaimed["test_x.py::test_unmarked_fails"]["message"]
    assert written["summary"]["unclaimed"] == {"failed": 1, "passed": 1}
    assert written["summary"]["tests"] == {"passed": 1}  # marked specs only, as before
    assert [s["nodeid"] for s in written["claims"]["X-ONE"]["specs"]] == ["test_x.py::test_marked"]
    assert written["torch_build"]


@pytest.mark.parametrize(
    ("version", "cuda", "expected"),
    [
        ("2.13.0+cpu", None, "2.13.0+cpu"),
        ("2.14.1+cu130", "13.0", "2.14.1+cu130"),
        ("2.14.1", "13.0", "2.14.1+cu130"),  # a wheel without the tag in __version__
        ("2.14.1", None, "2.14.1+cpu"),
    ],
)
def test_the_torch_build_tag(monkeypatch, version, cuda, expected):
    fake = types.SimpleNamespace(__version__=version, version=types.SimpleNamespace(cuda=cuda))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert plugin.torch_build_tag() == expected
