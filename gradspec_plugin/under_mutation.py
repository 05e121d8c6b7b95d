"""What ``make mutation`` adds to each mutant's pytest session: spec order and a warm start.

mutmut (``[tool.mutmut]`` in ``pyproject.toml`` loads this module with ``-p``) runs one short
pytest session per mutant in a process forked from a fork server, which collected the suite
once to warm up. Two costs came back in every one of those sessions; this plugin removes both.
Neither changes which specs run, so a mutant's verdict is the same.

**Spec order.** mutmut passes the node ids of the specs that reach the mutated function in
the order of a set, so the files interleave (``test_a.py::x``, ``test_b.py::y``,
``test_a.py::z``). pytest runs node ids in the order given and tears a module-scoped fixture
down whenever the next spec lives in another file, so a trained model or a generated data set
was rebuilt at every switch. Here the specs of one file stay together in the file's own order,
and files run cheapest first, by the summed duration mutmut measured for their selected specs
(``duration_by_test`` in ``mutants/mutmut-stats.json``): a mutant that a quick spec kills stops
(``pytest -x``) before the slow files start.

**Warm start.** Each session imported again what the specs import lazily: ``torch.testing``
pulls in ``torch.distributed.tensor`` and with it sympy and mpmath (about 500 modules), numba
its compiler. At the end of mutmut's stats run (every spec, once) the modules loaded from
outside the project are listed in ``mutants/gradspec-preload.txt``; the fork server imports
them when it loads this plugin, and every forked session inherits them.

On ``features.py`` (217 mutants, two children, the same verdicts): 200 s in mutmut's order,
132 s grouped by file; the warm start saves a further 0.3 to 1 s per session that reaches
those imports.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from pathlib import Path

import pytest

# mutmut runs pytest inside mutants/: both files are relative to it
STATS = Path("mutmut-stats.json")
PRELOAD = Path("gradspec-preload.txt")

_durations: dict[str, float] | None = None


def durations() -> dict[str, float]:
    """mutmut's measured duration per spec node id (empty before its stats run)."""
    global _durations
    if _durations is None:
        try:
            _durations = json.loads(STATS.read_text(encoding="utf-8"))["duration_by_test"]
        except (OSError, ValueError, KeyError):
            return {}
    return _durations


def file_order(items: list[pytest.Item], cost: dict[str, float]) -> list[pytest.Item]:
    """``items`` grouped by file, files by summed cost (ascending, ties by first position),
    the specs of a file in the order they are written (by line; as given within a line)."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(item.nodeid.partition("::")[0], []).append(item)
    for group in groups.values():
        group.sort(key=lambda item: item.location[1] or 0)  # stable: parametrized cases keep order
    total = {
        name: sum(cost.get(item.nodeid, 0.0) for item in group) for name, group in groups.items()
    }
    ranked = sorted(enumerate(groups), key=lambda pair: (total[pair[1]], pair[0]))
    return [item for _, name in ranked for item in groups[name]]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items[:] = file_order(items, durations())


# ---------------------------------------------------------------------- warm start
def outside_modules(project: Path) -> list[str]:
    """Names of the loaded modules whose file is not under ``project``, in load order."""
    names = []
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and not Path(where).resolve().is_relative_to(project):
            names.append(name)
    return names


def merge_preload(path: Path, names: list[str]) -> None:
    """Add ``names`` to the list in ``path`` (a stats run of new specs only sees a part)."""
    known = path.read_text(encoding="utf-8").split() if path.is_file() else []
    seen = set(known)
    path.write_text("\n".join(known + [n for n in names if n not in seen]) + "\n", "utf-8")


def preload(path: Path) -> int:
    """Import every module listed in ``path``; one that fails to import is passed over."""
    if not path.is_file():
        return 0
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in path.read_text(encoding="utf-8").split():
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # a warm start is best effort
                continue
            count += 1
    return count


def pytest_sessionfinish(session: pytest.Session) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        merge_preload(PRELOAD, outside_modules(Path.cwd().resolve()))


preload(PRELOAD)  # once per process: in the fork server, before any mutant is forked
