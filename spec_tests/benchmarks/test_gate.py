"""Specs of the benchmark regression gate (benchlib.gate and ``make bench-check``).

The gate's logic is fed fabricated ratios; the injected-slowdown spec slows the fast path on
purpose (monkeypatch) by a margin no machine noise can hide, and asserts only that the gate
then fails naming the ratio.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import benchlib
import pytest

from reference.training import fast

BASELINE = Path(benchlib.__file__).with_name("baseline.json")
TARGETS = {"speed.a": 100.0, "speed.b": 0.5}
BASE = {"speed.a": 400.0, "speed.b": 2.0}


@pytest.mark.claim("CORE-GATE")
def test_gate_passes_when_every_ratio_meets_target_and_baseline():
    assert benchlib.gate({"speed.a": 400.0, "speed.b": 2.0}, BASE, TARGETS) == []
    # exactly 30% below the baseline is still allowed; so is anything faster
    assert benchlib.gate({"speed.a": 280.0, "speed.b": 1.4}, BASE, TARGETS) == []
    assert benchlib.gate({"speed.a": 9e9, "speed.b": 9e9}, BASE, TARGETS) == []


@pytest.mark.claim("CORE-GATE")
def test_gate_names_a_ratio_below_its_target():
    problems = benchlib.gate({"speed.a": 99.0, "speed.b": 2.0}, {}, TARGETS)
    assert problems == ["speed.a: 99 is below its target 100"]


@pytest.mark.claim("CORE-GATE")
def test_gate_names_a_ratio_more_than_30_percent_below_the_baseline():
    # 270 meets the target 100 but is 32.5% below the baseline 400
    problems = benchlib.gate({"speed.a": 270.0, "speed.b": 2.0}, BASE, TARGETS)
    assert len(problems) == 1
    assert problems[0].startswith("speed.a: 270 is more than 30% below the baseline 400")


@pytest.mark.claim("CORE-GATE")
def test_gate_names_a_ratio_that_was_not_measured_and_every_failure():
    problems = benchlib.gate({"speed.b": 0.1}, BASE, TARGETS)
    assert problems[0] == "speed.a: not measured"
    assert [p.split(":")[0] for p in problems[1:]] == ["speed.b", "speed.b"]  # target, base


@pytest.mark.claim("CORE-GATE")
def test_bench_check_command_exits_1_naming_the_ratio(tmp_path, capsys):
    def report(values):
        ratios = {k: {"value": v, "target": benchlib.TARGETS[k]} for k, v in values.items()}
        return json.dumps({"ratios": ratios})

    good = {name: 2 * target for name, target in benchlib.TARGETS.items()}
    (tmp_path / "base.json").write_text(report(good))
    (tmp_path / "good.json").write_text(report(good))
    assert benchlib._main(["check", str(tmp_path / "good.json"), str(tmp_path / "base.json")]) == 0
    slow = dict(good, **{"digits.literal/public": 1.2 * benchlib.TARGETS["digits.literal/public"]})
    (tmp_path / "slow.json").write_text(report(slow))
    assert benchlib._main(["check", str(tmp_path / "slow.json"), str(tmp_path / "base.json")]) == 1
    err = capsys.readouterr().err
    assert "FAIL digits.literal/public:" in err
    assert "more than 30% below the baseline" in err


@pytest.mark.claim("CORE-GATE")
def test_an_injected_slowdown_of_the_fast_path_fails_the_gate(monkeypatch):
    # Slow the closed form behind the public sgd_per_sample down by a quarter of a second
    # per call: the literal loop scaled to 3000 epochs takes seconds, so literal / public
    # falls to a few tens at most, three orders of magnitude below the target of 10^4.
    original = fast._sgd_closed_form

    def slowed(*args, **kwargs):
        time.sleep(0.25)
        return original(*args, **kwargs)

    monkeypatch.setattr(fast, "_sgd_closed_form", slowed)
    bench = benchlib.digits_benchmark()
    times = {
        "digits": {
            name: benchlib.time_contender(bench.contenders[name], rounds=1)
            for name in ("literal loop", benchlib.PUBLIC_SGD)
        }
    }
    ratios = benchlib.compute_ratios(times)
    baseline = {}
    if BASELINE.is_file():
        committed = json.loads(BASELINE.read_text(encoding="utf-8"))["ratios"]
        baseline = {k: v["value"] for k, v in committed.items() if k in ratios}
    targets = {k: v for k, v in benchlib.TARGETS.items() if k in ratios}
    problems = benchlib.gate(ratios, baseline, targets)
    assert any(
        p.startswith("digits.literal/public: ") and "below its target" in p for p in problems
    )


@pytest.mark.claim("CORE-GATE")
def test_the_report_divides_minimum_times_and_prefers_interleaved_timings():
    # A fabricated pytest-benchmark JSON: the digit group timed separately, the n = 10^6
    # group with an interleaved pair. time = min * scale; ratio = slow / fast.
    def entry(group, contender, minimum, scale=1.0, **extra):
        info = {"group": group, "contender": contender, "scale": scale, **extra}
        stats = {"min": minimum, "median": 2 * minimum, "rounds": 3}
        return {"extra_info": info, "stats": stats}

    stream, public = (
        benchlib.with_threads(row, 2) for row in (benchlib.STREAM, benchlib.PUBLIC_GD)
    )
    paired = {"with": stream, "self": 0.004, "other": 0.002, "rounds": 9}
    raw = {
        "machine_info": {"node": "test", "cpu": {"brand_raw": "cpu", "count": 2}},
        "benchmarks": [
            entry("digits", benchlib.PUBLIC_SGD, 1e-4),
            entry("digits", "literal loop", 0.05, scale=60.0),
            entry("fullbatch-n1e6", public, 0.010, paired=paired, threads=2),
            entry("fullbatch-n1e6", stream, 0.001),
        ],
    }
    report = benchlib.build_report(raw)
    assert report["times"]["digits"]["literal loop"]["seconds"] == pytest.approx(3.0)
    assert report["times"]["fullbatch-n1e6"][public]["threads"] == 2
    ratios = report["ratios"]
    assert ratios["digits.literal/public"]["value"] == pytest.approx(3.0 / 1e-4)
    assert ratios["digits.literal/public"]["meets_target"] is True
    assert ratios["digits.literal/public"]["interleaved"] is False
    # interleaved: 0.002 / 0.004, not the separate minima 0.001 / 0.010; the target at
    # n = 10^6 is 1/2 (the call costs at most two reads of the data)
    ratio = ratios["fullbatch-n1e6.read/public@2t"]
    assert ratio["value"] == pytest.approx(0.5)
    assert ratio["interleaved"] is True
    assert ratio["meets_target"] is True


@pytest.mark.claim("CORE-GATE")
def test_a_baseline_keeps_each_ratio_at_its_lowest_over_the_runs(tmp_path):
    runs = []
    for index, values in enumerate([{"a": 10.0, "b": 3.0}, {"a": 8.0, "b": 4.0}]):
        path = tmp_path / f"run{index}.json"
        ratios = {name: {"value": value, "target": 1.0} for name, value in values.items()}
        path.write_text(json.dumps({"generated": f"run {index}", "ratios": ratios}))
        runs.append(path)
    baseline = benchlib.make_baseline(runs)
    assert {name: r["value"] for name, r in baseline["ratios"].items()} == {"a": 8.0, "b": 3.0}
    assert baseline["runs"] == ["run 0", "run 1"]
