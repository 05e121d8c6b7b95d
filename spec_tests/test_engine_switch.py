"""Specs of the engine switch (``--backend``), the expected-differences files, and the guide.

A throwaway pytester project checks the mechanics on a two-claim registry: each selected
engine gets its own copy of every spec taking ``backend``; a listed claim that fails is
reported as an expected difference; a listed claim that holds fails the run; bad adapters
and bad lists stop the run with a usage error. The last spec takes the adapter printed in
docs/check-your-engine.md, verbatim, and runs gradspec's own autograd specs through it.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

REGISTRY = """
[claims.X-ADD]
chapter = "x"
statement = "1 + 1 is 2."
source = "here"
verdict = "holds"
correction = ""
kind = "spec"

[claims.X-MUL]
chapter = "x"
statement = "2 * 3 is 6."
source = "here"
verdict = "holds"
correction = ""
kind = "spec"
"""

# Two toy "engines": one right, one whose multiplication is off by one.
ADAPTERS = """
class Toy:
    float32 = float64 = float
    def __init__(self, name, mul):
        self.name, self.mul = name, mul
    def _missing(self, *args, **kwargs):
        raise NotImplementedError
    tensor = ones = zeros = eye = cat = randn = grad = no_grad = _missing
    bce_with_logits = gradcheck = gradgradcheck = values = _missing

def good():
    return Toy("good", lambda a, b: a * b)

def broken():
    return Toy("broken", lambda a, b: a * b + 1)

def listed():
    toy = Toy("listed", lambda a, b: a * b + 1)
    toy.expected_differences = {"X-MUL": "multiplies off by one, on purpose"}
    return toy
"""

SPECS = """
import pytest

@pytest.mark.claim("X-ADD")
def test_add(backend):
    assert 1 + 1 == 2

@pytest.mark.claim("X-MUL")
def test_mul(backend):
    assert backend.mul(2, 3) == 6

@pytest.mark.claim("X-ADD")
def test_without_engine():
    assert 2 - 1 == 1
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".toml", claims=REGISTRY)
    pytester.makeini(
        "[pytest]\ngradspec_registry = claims.toml\ngradspec_ledger = ledger.json\n"
        "gradspec_backends = toy_adapters:good\n"
    )
    pytester.makepyfile(toy_adapters=ADAPTERS, test_x=SPECS)
    pytester.syspathinsert()
    (pytester.path / "engines").mkdir()
    return pytester


def _ledger(pytester) -> dict:
    return json.loads((pytester.path / "ledger.json").read_text(encoding="utf-8"))


def test_each_engine_gets_its_own_copy_of_the_engine_specs(project):
    result = project.runpytest(
        "-p", "no:randomly", "-v", "--backend", "toy_adapters:good,toy_adapters:broken"
    )
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_mul?good? PASSED*", "*test_mul?broken? FAILED*"])
    ledger = _ledger(project)
    assert ledger["claims"]["X-MUL"]["backends"] == {"broken": "fail", "good": "pass"}
    assert ledger["claims"]["X-ADD"]["backends"] == {"broken": "pass", "good": "pass"}
    backends = {s["nodeid"]: s["backend"] for s in ledger["claims"]["X-ADD"]["specs"]}
    assert backends == {
        "test_x.py::test_add[good]": "good",
        "test_x.py::test_add[broken]": "broken",
        "test_x.py::test_without_engine": None,
    }
    assert ledger["backends"]["broken"]["adapter"] == "toy_adapters:broken"


def test_the_default_comes_from_the_ini_option(project):
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=3)
    assert set(_ledger(project)["backends"]) == {"good"}


def test_a_listed_failing_claim_is_an_expected_difference(project):
    (project.path / "engines" / "broken.toml").write_text(
        '[differences]\n"X-MUL" = "multiplies off by one, on purpose"\n', encoding="utf-8"
    )
    result = project.runpytest("-p", "no:randomly", "-rx", "--backend", "toy_adapters:broken")
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["*expected difference on broken: multiplies off by one*"])
    ledger = _ledger(project)
    mul = ledger["claims"]["X-MUL"]
    assert mul["backends"] == {"broken": "differs"}
    assert mul["specs"] == []  # kept out of the claim's own specs ...
    assert [s["nodeid"] for s in mul["differences"]] == ["test_x.py::test_mul[broken]"]
    assert ledger["backends"]["broken"]["differences"] == {
        "X-MUL": "multiplies off by one, on purpose"
    }
    assert ledger["exitstatus"] == 0


def test_an_adapter_can_carry_its_own_differences(project):
    result = project.runpytest("-p", "no:randomly", "--backend", "toy_adapters:listed")
    result.assert_outcomes(passed=2, xfailed=1)
    assert _ledger(project)["claims"]["X-MUL"]["backends"] == {"listed": "differs"}


def test_a_listed_claim_that_holds_fails_the_run(project):
    (project.path / "engines" / "good.toml").write_text(
        '[differences]\n"X-MUL" = "stale: it was fixed"\n', encoding="utf-8"
    )
    result = project.runpytest("-p", "no:randomly", "--backend", "toy_adapters:good")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # every spec passed, yet the run fails
    result.stdout.fnmatch_lines(["*X-MUL unexpectedly holds on good*"])
    ledger = _ledger(project)
    assert ledger["claims"]["X-MUL"]["backends"] == {"good": "unexpectedly holds"}
    assert ledger["backends"]["good"]["unexpectedly_holds"] == ["X-MUL"]
    assert ledger["exitstatus"] == 1
    # A run filtered with -k may have left out the spec that differs: no verdict then.
    filtered = project.runpytest("-p", "no:randomly", "--backend", "toy_adapters:good", "-k", "mul")
    assert filtered.ret == pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["--backend", "no_such_module:make"], "*--backend no_such_module:make: cannot*"),
        (None, ["--backend", "toy_adapters:good,toy_adapters:good"], "*selected twice*"),
        ("class Half:\n    name = 'half'\n", ["--backend", "half:Half"], "*lacks float32*"),
        ("engines/good.toml", ["--backend", "toy_adapters:good"], "*X-NOPE*not a registered*"),
    ],
)
def test_bad_adapters_and_lists_stop_the_run(project, setup, args, message):
    if setup == "engines/good.toml":
        (project.path / setup).write_text('[differences]\n"X-NOPE" = "?"\n', encoding="utf-8")
    elif setup is not None:
        project.makepyfile(half=setup)
    result = project.runpytest("-p", "no:randomly", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_adapter_from_the_guide_runs_the_autograd_specs(pytester):
    # Written from docs/check-your-engine.md alone: its adapter, verbatim, around a stand-in
    # engine module (gradspec's engine under another name, as a learner's would be).
    guide = (ROOT / "docs" / "check-your-engine.md").read_text(encoding="utf-8")
    adapter = re.search(r"```python\n(.*?)```", guide, re.DOTALL)
    assert adapter is not None
    assert len(adapter[1].splitlines()) <= 60
    pytester.makepyfile(
        my_adapter=adapter[1],
        myengine=textwrap.dedent(
            """
            from reference.engine import (Tensor, binary_cross_entropy_with_logits, cat,
                                          float32, float64, grad, no_grad)
            """
        ),
    )
    ledger = pytester.path / "ledger.json"
    result = pytester.runpytest_subprocess(
        str(ROOT / "spec_tests" / "test_autograd_pitfalls.py"),
        "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
        "--backend", "my_adapter:make_backend", "--ledger", str(ledger),
        "-p", "no:randomly", "-p", "no:cacheprovider", "-q",
    )  # fmt: skip
    outcomes = result.parseoutcomes()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 15  # every spec of the module
    assert "failed" not in outcomes
    written = json.loads(ledger.read_text(encoding="utf-8"))
    assert written["backends"]["myengine"]["adapter"] == "my_adapter:make_backend"
    assert written["claims"]["AG-VERSION"]["backends"] == {"myengine": "pass"}
    assert written["claims"]["AG-NO-GRAD.detach"]["specs"][0]["nodeid"].endswith("[myengine]")


def _engines_hook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("engines_hook", ROOT / "docs/hooks/engines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engines_page_shows_each_difference_with_its_reason(tmp_path, monkeypatch):
    hook = _engines_hook()

    def ledger(generated, backends, claims):
        return {"generated": generated, "args": ["spec_tests"], "backends": backends,
                "claims": claims}  # fmt: skip

    main = ledger(
        "2026-01-02",
        {"torch": {"adapter": "torch", "differences": {}},
         "engine": {"adapter": "engine", "differences": {}}},
        {"AG-HOOK.order": {"backends": {"torch": "pass", "engine": "pass"}}},
    )  # fmt: skip
    engines = ledger(
        "2026-01-01",  # older: its torch and engine columns give way to the main ledger
        {"torch": {"adapter": "torch", "differences": {}},
         "engine": {"adapter": "engine", "differences": {}},
         "mygrad": {"adapter": "x:y", "differences": {"AG-HOOK.order": "no hooks | at all"}}},
        {"AG-HOOK.order": {"backends": {"torch": "fail", "engine": "fail", "mygrad": "differs"}}},
    )  # fmt: skip
    paths = (tmp_path / "ledger.json", tmp_path / "engines-ledger.json")
    for path, data in zip(paths, (main, engines), strict=True):
        path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(hook, "LEDGERS", paths)
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    page = hook.render()
    row = next(line for line in page.splitlines() if line.startswith("| [AG-HOOK.order]"))
    assert row.count("gs-pass") == 2  # torch and engine from the newer ledger
    assert "gs-differs" in row
    assert "no hooks \\| at all" in row  # the reason, escaped for the table
    assert "| Claim | PyTorch | gradspec's engine | mygrad |" in page
    assert "- [AG-HOOK.order](autograd.md#AG-HOOK.order): no hooks | at all" in page
    monkeypatch.setattr(hook, "LEDGERS", (tmp_path / "none.json",))
    assert "make engines" in hook.render()
