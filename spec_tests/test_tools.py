"""Specs of the quality tools: the stability comparison (tools/stability.py), the mutation
report (tools/mutation.py) and the mutation page hook (docs/hooks/mutation.py).

They check the pure logic on hand-made inputs; nothing here runs pytest or mutmut.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stability():
    return load("tools/stability.py", "gradspec_tool_stability")


@pytest.fixture(scope="module")
def mutation():
    return load("tools/mutation.py", "gradspec_tool_mutation")


@pytest.fixture(scope="module")
def page():
    return load("docs/hooks/mutation.py", "gradspec_hook_mutation")


# ---------------------------------------------------------------------- stability
JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="spec_tests.test_a" name="test_ok" time="0.1"/>
<testcase classname="spec_tests.test_a" name="test_bad" time="0.1">
  <failure message="assert 1 == 2">boom</failure></testcase>
<testcase classname="spec_tests.test_a" name="test_skip" time="0"><skipped message="x"/></testcase>
<testcase classname="spec_tests.test_a" name="test_teardown" time="0.1"/>
<testcase classname="spec_tests.test_a" name="test_teardown" time="0.1">
  <error message="teardown failed">oops</error></testcase>
</testsuite></testsuites>
"""


def test_junit_outcomes_are_read_per_test_with_the_worst_phase_winning(stability):
    assert stability.outcomes_from_junit(JUNIT) == {
        "spec_tests.test_a::test_ok": "passed",
        "spec_tests.test_a::test_bad": "failed",
        "spec_tests.test_a::test_skip": "skipped",
        "spec_tests.test_a::test_teardown": "error",
    }


def test_a_spec_with_one_outcome_everywhere_is_stable_even_if_it_fails(stability):
    runs = {"seed-1": {"a": "passed", "b": "failed"}, "seed-2": {"a": "passed", "b": "failed"}}
    assert stability.unstable(runs) == {}


def test_a_flipping_or_missing_spec_is_named_with_its_outcome_in_every_run(stability):
    runs = {
        "fresh-1": {"a": "passed", "b": "passed", "c": "passed"},
        "seed-1": {"a": "failed", "b": "passed", "c": "passed"},
        "seed-2": {"a": "passed", "b": "passed"},
    }
    assert stability.unstable(runs) == {
        "a": {"fresh-1": "passed", "seed-1": "failed", "seed-2": "passed"},
        "c": {"fresh-1": "passed", "seed-1": "passed", "seed-2": "missing"},
    }


def test_stability_runs_use_the_seed_or_no_random_order_and_a_ledger_of_their_own(stability):
    seeded = stability.pytest_command(Path("j.xml"), Path("l.json"), seed=7, jobs=1)
    fresh = stability.pytest_command(Path("j.xml"), Path("l.json"), seed=None, jobs=2)
    assert "--randomly-seed=7" in seeded
    assert "no:randomly" not in seeded
    assert "no:randomly" in fresh
    assert fresh[-2:] == ["-n", "2"]
    assert "-n" not in seeded
    for command in (seeded, fresh):
        assert command[command.index("--ledger") + 1] == "l.json"
        assert "no:cacheprovider" in command


# ---------------------------------------------------------------------- mutation report
SOURCE = textwrap.dedent(
    """\
    import torch


    def clip(x, low):
        if x < low:
            return low
        return x


    class Layer:
        def forward(self, x):
            y = x + 1
            return y + 1
    """
)

DIFF_CLIP = """--- reference/toy.py
+++ reference/toy.py
@@ -1,4 +1,4 @@
 def clip(x, low):
-    if x < low:
+    if x <= low:
         return low
     return x"""

DIFF_FORWARD = """--- reference/toy.py
+++ reference/toy.py
@@ -1,3 +1,3 @@
 def forward(self, x):
     y = x + 1
-    return y + 1
+    return y + 2"""


def test_mutant_names_map_to_functions_and_methods(mutation):
    assert mutation.function_of("reference.toy.x_clip__mutmut_3") == "reference.toy.clip"
    assert (
        mutation.function_of("reference.toy.xǁLayerǁforward__mutmut_12")
        == "reference.toy.Layer.forward"
    )
    assert mutation.module_of("reference/training/fast.py") == "reference.training.fast"


def test_the_line_of_a_mutant_is_the_changed_line_of_the_original_file(mutation):
    assert mutation.mutated_line(SOURCE, "clip", DIFF_CLIP) == 5
    # "return y + 1" would also match the line above it textually if it were "y = x + 1";
    # the hunk offset picks the right one among identical lines
    assert mutation.mutated_line(SOURCE, "Layer.forward", DIFF_FORWARD) == 13
    assert mutation.changed_lines(DIFF_CLIP) == (["if x < low:"], ["if x <= low:"])


def test_score_counts_timeouts_as_detected_and_leaves_equivalents_out(mutation):
    counts = mutation.empty_counts()
    counts.update(killed=90, timeout=5, survived=4, **{"no tests": 1, "equivalent": 7})
    assert mutation.score_of(counts) == pytest.approx(95 / 100)
    assert mutation.score_of(mutation.empty_counts()) is None


def mutant(name: str, status: str) -> dict[str, str]:
    return {"mutant": f"reference.toy.{name}", "module": "reference/toy.py", "status": status}


def test_report_matches_equivalents_by_function_and_lines_and_reports_stale_ones(mutation):
    mutants = [
        mutant("x_clip__mutmut_1", "survived"),
        mutant("xǁLayerǁforward__mutmut_2", "survived"),
        mutant("x_clip__mutmut_3", "killed"),
    ]
    diffs = {
        "reference.toy.x_clip__mutmut_1": DIFF_CLIP,
        "reference.toy.xǁLayerǁforward__mutmut_2": DIFF_FORWARD,
    }
    equivalents = [
        mutation.Equivalent(
            "reference.toy.clip", ("if x < low:",), ("if x <= low:",), "same at x == low"
        ),
        mutation.Equivalent("reference.toy.clip", ("return x",), ("return None",), "never"),
    ]
    report = mutation.build_report(
        mutants,
        equivalents,
        diff=lambda name, path: diffs[name],
        sources={"reference/toy.py": SOURCE},
    )
    assert report["summary"]["killed"] == 1
    assert report["summary"]["equivalent"] == 1
    assert report["summary"]["survived"] == 1
    assert report["summary"]["score"] == pytest.approx(0.5)
    assert not report["meets_target"]
    [survivor] = report["survivors"]
    assert (survivor["function"], survivor["line"]) == ("reference.toy.Layer.forward", 13)
    [equivalent] = report["equivalents"]
    assert (equivalent["line"], equivalent["reason"]) == (5, "same at x == low")
    assert report["stale_equivalents"] == [
        {"function": "reference.toy.clip", "removed": ["return x"], "added": ["return None"]}
    ]
    assert report["modules"]["reference/toy.py"]["mutants"] == 3


def test_the_committed_equivalents_file_is_well_formed(mutation):
    for entry in mutation.load_equivalents():
        assert entry.function.startswith("reference.")
        assert entry.reason
        assert entry.removed != entry.added


def test_an_equivalent_without_a_reason_is_refused(mutation, tmp_path):
    path = tmp_path / "eq.toml"
    path.write_text('[[equivalent]]\nfunction = "reference.x.f"\nremoved = "a"\nadded = "b"\n')
    with pytest.raises(ValueError, match="reason"):
        mutation.load_equivalents(path)


# ---------------------------------------------------------------------- mutation page
def test_the_page_shows_score_survivors_with_file_line_and_equivalent_reasons(page, mutation):
    report = mutation.build_report(
        [
            mutant("x_clip__mutmut_1", "survived"),
            mutant("xǁLayerǁforward__mutmut_2", "timeout"),
        ],
        [],
        diff=lambda name, path: DIFF_CLIP,
        sources={"reference/toy.py": SOURCE},
    )
    text = page.render(report)
    assert "**Score: 50.0%**" in text
    assert "misses" in text
    assert "`reference/toy.py:5` in `reference.toy.clip` (survived)" in text
    assert "+    if x <= low:" in text
    assert "| `reference/toy.py` | 2 | 0 | 1 | 1 | 0 | 0 | 50.0% |" in text


def test_without_a_snapshot_the_page_says_how_to_make_one(page, tmp_path):
    assert page.load(tmp_path / "none.json") is None
    assert "make mutation" in page.render(None)


def test_a_run_of_some_modules_reports_no_other_modules_entries_as_stale(mutation):
    equivalents = [
        mutation.Equivalent("reference.other.clip", ("a",), ("b",), "elsewhere"),
        mutation.Equivalent("reference.toy.Layer.forward", ("a",), ("b",), "here, a method"),
        mutation.Equivalent("reference.toy.clip", ("a",), ("b",), "here, a function"),
    ]
    report = mutation.build_report(
        [mutant("x_clip__mutmut_3", "killed")],
        equivalents,
        diff=lambda name, path: DIFF_CLIP,
        sources={"reference/toy.py": SOURCE},
    )
    assert [entry["function"] for entry in report["stale_equivalents"]] == [
        "reference.toy.Layer.forward",
        "reference.toy.clip",
    ]
    assert mutation.owner_of("reference.training.fast._epoch_losses") == "reference.training.fast"
    assert mutation.owner_of("reference.fc.Layer.forward") == "reference.fc"


def test_an_entry_whose_function_still_has_unchecked_mutants_is_not_stale(mutation):
    equivalent = mutation.Equivalent("reference.toy.clip", ("a",), ("b",), "here")
    report = mutation.build_report(
        [mutant("x_clip__mutmut_1", "not checked"), mutant("x_clip__mutmut_3", "killed")],
        [equivalent],
        diff=lambda name, path: DIFF_CLIP,
        sources={"reference/toy.py": SOURCE},
    )
    assert report["stale_equivalents"] == []


# ---------------------------------------------------------------------- under mutation
def test_under_mutation_specs_run_file_by_file_cheapest_first(pytester, monkeypatch):
    from gradspec_plugin import under_mutation

    monkeypatch.setattr(under_mutation, "_durations", None)
    setups = pytester.path / "setups.txt"
    pytester.makepyfile(
        test_a=f"""
            import pytest

            @pytest.fixture(scope="module")
            def built():
                with open({str(setups)!r}, "a") as log:
                    log.write("a\\n")

            def test_one(built): pass
            def test_two(built): pass
        """,
        test_b="def test_one(): pass",
    )
    (pytester.path / "mutmut-stats.json").write_text(
        '{"duration_by_test": {"test_a.py::test_one": 2.0, "test_a.py::test_two": 1.0,'
        ' "test_b.py::test_one": 0.5}}'
    )
    nodes = ["test_a.py::test_one", "test_b.py::test_one", "test_a.py::test_two"]
    result = pytester.runpytest("-p", "gradspec_plugin.under_mutation", "-p", "no:randomly",
                                "-v", *nodes)  # fmt: skip
    result.assert_outcomes(passed=3)
    ran = [line.split()[0] for line in result.outlines if " PASSED" in line]
    assert ran == ["test_b.py::test_one", "test_a.py::test_one", "test_a.py::test_two"]
    assert setups.read_text().split() == ["a"]  # the module fixture was built once


def test_under_mutation_without_stats_files_keep_their_first_order(pytester, monkeypatch):
    from gradspec_plugin import under_mutation

    monkeypatch.setattr(under_mutation, "_durations", None)
    pytester.makepyfile(test_a="def test_one(): pass\ndef test_two(): pass",
                        test_b="def test_one(): pass")  # fmt: skip
    nodes = ["test_b.py::test_one", "test_a.py::test_two", "test_a.py::test_one"]
    result = pytester.runpytest("-p", "gradspec_plugin.under_mutation", "-p", "no:randomly",
                                "-v", *nodes)  # fmt: skip
    ran = [line.split()[0] for line in result.outlines if " PASSED" in line]
    assert ran == ["test_b.py::test_one", "test_a.py::test_one", "test_a.py::test_two"]


def test_the_warm_start_list_grows_and_imports_what_it_can(tmp_path):
    from gradspec_plugin import under_mutation

    listed = tmp_path / "preload.txt"
    under_mutation.merge_preload(listed, ["json", "colorsys"])
    under_mutation.merge_preload(listed, ["colorsys", "gradspec_no_such_module", "json"])
    assert listed.read_text().split() == ["json", "colorsys", "gradspec_no_such_module"]
    sys.modules.pop("colorsys", None)
    assert under_mutation.preload(listed) == 1  # colorsys; json was loaded; the third fails
    assert "colorsys" in sys.modules
    assert under_mutation.preload(tmp_path / "absent.txt") == 0
    outside = under_mutation.outside_modules(ROOT / "gradspec_plugin")
    assert "json" in outside
    assert "pytest" in outside
    assert "gradspec_plugin.under_mutation" not in outside  # the project's own code


def test_a_run_under_changed_mutmut_settings_starts_afresh(mutation, tmp_path, monkeypatch):
    info = tmp_path / "gradspec-run.json"
    monkeypatch.setattr(mutation, "RUN_INFO", info)
    assert not mutation.settings_changed()  # no earlier run
    settings = mutation.mutmut_settings()
    assert settings["source_paths"] == ["reference/"]
    info.write_text(json.dumps({"commit": "abc", "settings": settings}))
    assert not mutation.settings_changed()
    info.write_text(json.dumps({"commit": "abc", "settings": {**settings, "timeout": 9}}))
    assert mutation.settings_changed()
    info.write_text(json.dumps({"commit": "abc"}))  # a run recorded before settings were
    assert mutation.settings_changed()


def test_the_page_gives_the_first_pass_and_the_re_runs_their_own_times(page):
    one = {"seconds": 2520.0, "runs": [{"seconds": 2520.0, "tested": 9152}]}
    assert page.timing(one) == " in 42 minutes"
    assert page.timing({"seconds": None}) == ""
    runs = [
        {"seconds": 2520.0, "tested": 9152},
        {"seconds": 300.0, "tested": 120},
        {"seconds": 120.0, "tested": 40},
    ]
    assert page.timing({"seconds": 120.0, "runs": runs}) == (
        "; its first pass tested 9152 mutants in 42 minutes, then 2 re-runs after new specs "
        "re-tested the undetected and the new or changed ones (160 mutants) in 7 minutes"
    )


def test_each_invocation_is_recorded_until_a_fresh_start(mutation, tmp_path, monkeypatch):
    monkeypatch.setattr(mutation, "RUN_INFO", tmp_path / "gradspec-run.json")
    assert mutation.earlier_runs() == []
    mutation.write_run_info([{"seconds": 1.0, "tested": 3}])
    mutation.write_run_info([*mutation.earlier_runs(), {"seconds": 2.0, "tested": 1}])
    assert [run["tested"] for run in mutation.earlier_runs()] == [3, 1]
    assert not mutation.settings_changed()  # the settings were recorded with the runs
