"""The benchmark suite runs in two modes (see benchlib.FULL).

* ``make test`` (default): tiny sizes; each contender runs once as a plain test and its
  result is checked; nothing is timed, so pytest-benchmark's fixture is never requested.
* ``make bench`` (``GRADSPEC_BENCH=full``): real sizes, each contender timed by
  pytest-benchmark (``benchmark.pedantic``) and its result checked afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import benchlib
import pytest


@pytest.fixture
def run_contender(request: pytest.FixtureRequest) -> Callable[[benchlib.Benchmark, str], Any]:
    """Run (and under ``make bench`` time) one contender, then check its result."""

    def run(bench: benchlib.Benchmark, name: str) -> Any:
        contender = bench.contenders[name]
        with benchlib.threads(contender.threads):
            result = _run(bench, contender)
        contender.check(result)
        return result

    def _run(bench: benchlib.Benchmark, contender: benchlib.Contender) -> Any:
        name = contender.name
        if not benchlib.FULL:
            result = contender.run()
        else:
            benchmark = request.getfixturevalue("benchmark")
            benchmark.group = bench.group
            benchmark.extra_info.update(
                group=bench.group,
                title=bench.title,
                contender=name,
                scale=contender.scale,
                note=contender.note,
                row=contender.row,
                threads=contender.threads,
                kind=contender.kind,
            )
            result = benchmark.pedantic(
                contender.run, rounds=contender.rounds, iterations=1, warmup_rounds=1
            )
            if contender.pair:  # and once more, alternating with its pair, round by round
                other = bench.contenders[contender.pair]
                mine, theirs = benchlib.time_interleaved(contender, other, contender.rounds)
                benchmark.extra_info["paired"] = {
                    "with": contender.pair,
                    "self": mine,
                    "other": theirs,
                    "rounds": contender.rounds,
                }
        return result

    return run
