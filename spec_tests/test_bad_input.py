"""Bad input at the public boundary: every public callable refuses it clearly, or copes.

The catalog of valid calls and argument kinds is ``spec_tests/bad_input.py``; its docstring
states the contract. Three specs per callable:

* ``test_valid_call_leaves_arguments_and_rng_alone``: the valid call itself works, writes
  nothing into its arguments (values, ``.grad``) and does not advance a global RNG;
* ``test_every_bad_value_is_refused_or_handled``: every (argument, bad value) pair of the
  catalog, in a fixed order, is refused with a ``ValueError``/``TypeError`` naming the
  argument, or (for extreme values) answered with a finite result;
* ``test_fuzzed_bad_input``: hypothesis draws the valid arguments' data and then one or two
  attacks at once; ``make fuzz`` runs it with many more examples
  (``GRADSPEC_FUZZ_EXAMPLES``).

A meta-spec fails when an exported callable is in neither the catalog nor the list of
non-entry points, and when a catalog entry names a parameter the callable does not have.
"""

from __future__ import annotations

import inspect
import math
import os
import random
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from bad_input import (
    CARRIED,
    CATALOG,
    NOT_ENTRY_POINTS,
    REFUSE,
    Bad,
    Entry,
    attacks,
    exempt,
    minimum_of,
    public_callables,
    signature_names,
    signature_target,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.errors import DivergenceError

CALLABLES = public_callables()
# make test: a few derandomized examples per callable (the same on every run); make fuzz:
# many more, from a fresh random seed each run (hypothesis prints how to reproduce a failure).
FUZZ_EXAMPLES = int(os.environ.get("GRADSPEC_FUZZ_EXAMPLES", "8"))
FUZZ_RANDOM = os.environ.get("GRADSPEC_FUZZ_RANDOM") == "1"


# ----------------------------------------------------------------------------- helpers


def _snapshot(value: Any) -> Any:
    """A deep record of every tensor reachable in ``value`` (values, grad, shape, dtype)."""
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            return ("meta", tuple(value.shape), value.dtype)
        grad = _grad(value)
        grad = grad.detach().clone() if grad is not None else None
        return ("tensor", value.detach().clone(), grad, value.requires_grad)
    if isinstance(value, torch.nn.Module):
        return ("module", {k: _snapshot(v) for k, v in value.state_dict().items()})
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_snapshot(v) for v in value]
    if isinstance(value, np.ndarray):
        return ("ndarray", value.copy())
    return ("other", None)


def _grad(t: torch.Tensor) -> torch.Tensor | None:
    """``t.grad`` of a leaf (a non-leaf has none unless retained, and asking warns)."""
    return t.grad if t.is_leaf or t.retains_grad else None


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        nan_a, nan_b = torch.isnan(a), torch.isnan(b)
        return torch.equal(nan_a, nan_b) and torch.equal(a[~nan_a], b[~nan_b])
    return torch.equal(a, b)


def _unchanged(before: Any, value: Any, path: str = "") -> list[str]:
    """Names of the places where ``value`` no longer matches its snapshot."""
    changes: list[str] = []
    if isinstance(before, tuple) and before and before[0] == "tensor":
        _, data, grad, requires_grad = before
        if not _same_tensor(data, value.detach()):
            changes.append(f"{path}: values changed")
        now = _grad(value)
        if (grad is None) != (now is None) or (grad is not None and not _same_tensor(grad, now)):
            changes.append(f"{path}: .grad changed")
        if requires_grad != value.requires_grad:
            changes.append(f"{path}: requires_grad changed")
    elif isinstance(before, tuple) and before and before[0] == "module":
        changes += _unchanged(before[1], value.state_dict(), path)
    elif isinstance(before, tuple) and before and before[0] == "ndarray":
        if not np.array_equal(before[1], value, equal_nan=True):
            changes.append(f"{path}: array changed")
    elif isinstance(before, dict):
        for key in before:
            changes += _unchanged(before[key], value[key], f"{path}[{key!r}]")
    elif isinstance(before, list):
        for i, (b, v) in enumerate(zip(before, value, strict=True)):
            changes += _unchanged(b, v, f"{path}[{i}]")
    return changes


def _rng_states() -> tuple[Any, ...]:
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def _same_rng(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, torch.nn.Module):
        return list(value.parameters())
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _tensors_in(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for name in value.__dataclass_fields__ for t in _tensors_in(getattr(value, name))]
    return []


def _non_finite_result(result: Any) -> str | None:
    if isinstance(result, float) and not math.isfinite(result):
        return f"returned {result}"
    if isinstance(result, torch.Tensor | torch.nn.Module | list | tuple | dict) or hasattr(
        result, "__dataclass_fields__"
    ):
        for t in _tensors_in(result):
            if (t.is_floating_point() or t.is_complex()) and not bool(
                torch.isfinite(t.detach()).all()
            ):
                return "returned a tensor with inf or nan"
        if isinstance(result, list | tuple):
            for v in result:
                if isinstance(v, float) and not math.isfinite(v):
                    return f"returned {v} inside a sequence"
    return None


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) is not None


def _says_what_was_given(message: str, kwargs: dict[str, Any], attacked: dict[str, Bad]) -> bool:
    """A TypeError says what it was given: the type (``got str``), the value itself (``got
    None``, ``got 'float32'``) or, for a container, the type of the offending item. An
    attacked array may instead be refused for its dtype, device or layout, which the
    message then names."""
    values = [kwargs[name] for name in attacked if name in kwargs]
    if any(isinstance(v, torch.Tensor | np.ndarray) for v in values):
        return True
    types, reprs = set(), set()
    for v in values:
        types.add(type(v).__name__)
        reprs.add(repr(v))
        if isinstance(v, dict):
            types |= {type(item).__name__ for item in [*v, *v.values()]}
        elif isinstance(v, list | tuple):
            types |= {type(item).__name__ for item in v}
    return any(_names(message, t) for t in types) or any(r in message for r in reprs)


def _call(qualname: str, entry: Entry, kwargs: dict[str, Any]) -> Any:
    target = entry.call or CALLABLES[qualname]
    return target(**kwargs)


def _check_attack(
    qualname: str, entry: Entry, kwargs: dict[str, Any], attacked: dict[str, Bad]
) -> list[str]:
    """Run one call with bad arguments; return the broken promises (empty when kept)."""
    problems: list[str] = []
    what = ", ".join(f"{name}={bad.label}" for name, bad in attacked.items())
    before = _snapshot(kwargs)
    rng_before = _rng_states()
    refused = any(bad.expect == REFUSE for bad in attacked.values())
    carried = any(bad.expect == CARRIED for bad in attacked.values())
    try:
        result = _call(qualname, entry, kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        if isinstance(error, DivergenceError):  # pragma: no cover - not a ValueError
            raise
        if not any(_names(message, name) for name in attacked):
            problems.append(f"{what}: {type(error).__name__} does not name the argument: {message}")
        elif isinstance(error, TypeError) and not _says_what_was_given(message, kwargs, attacked):
            problems.append(f"{what}: TypeError does not say what was given: {message}")
    except DivergenceError as error:
        if not entry.trains:
            problems.append(f"{what}: DivergenceError from a function that does not train: {error}")
        elif any(b.label.startswith(("nan", "inf", "-inf")) for b in attacked.values()):
            problems.append(f"{what}: non-finite input reported as a divergence: {error}")
    except Exception as error:
        problems.append(f"{what}: raised {type(error).__name__}: {error}")
    else:
        if refused:
            problems.append(f"{what}: accepted")
        elif not carried:
            bad_result = _non_finite_result(result)
            if bad_result:
                problems.append(f"{what}: {bad_result}")
    problems += [f"{what}: {change}" for change in _unchanged(before, kwargs)]
    if not _same_rng(rng_before, _rng_states()):
        problems.append(f"{what}: advanced a global random number generator")
    return problems


ENTRIES = sorted(CATALOG)


# ----------------------------------------------------------------------------- meta-specs


def test_every_public_callable_is_in_the_catalog():
    missing = sorted(q for q in CALLABLES if q not in CATALOG and exempt(q) is None)
    assert not missing, f"public callables without a bad-input catalog entry: {missing}"
    stale = sorted((set(CATALOG) | set(NOT_ENTRY_POINTS)) - set(CALLABLES))
    assert not stale, f"catalog entries that are not public callables: {stale}"


@pytest.mark.parametrize("qualname", ENTRIES)
def test_catalog_names_real_parameters(qualname):
    parameters = signature_names(CALLABLES[qualname])
    unknown = set(CATALOG[qualname].args) - parameters
    assert not unknown, f"{qualname} has no parameters {sorted(unknown)}"


# ----------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("qualname", ENTRIES)
def test_valid_call_leaves_arguments_and_rng_alone(qualname):
    entry = CATALOG[qualname]
    kwargs = entry.valid(np.random.default_rng(0))
    before = _snapshot(kwargs)
    rng_before = _rng_states()
    result = _call(qualname, entry, kwargs)
    assert _non_finite_result(result) is None
    assert _unchanged(before, kwargs) == []
    assert _same_rng(rng_before, _rng_states()), "a global random number generator advanced"


@pytest.mark.parametrize("qualname", ENTRIES)
def test_every_bad_value_is_refused_or_handled(qualname):
    entry = CATALOG[qualname]
    problems: list[str] = []
    for name, bad in attacks(entry):
        kwargs = entry.valid(np.random.default_rng(1))
        kwargs[name] = bad.make(kwargs.get(name, _default_for(qualname, name)))
        problems += _check_attack(qualname, entry, kwargs, {name: bad})
    assert not problems, f"{qualname}:\n" + "\n".join(problems)


COUNTS = [
    (qualname, name)
    for qualname in ENTRIES
    for name, arg in CATALOG[qualname].args.items()
    if arg.kind == "count"
]


@pytest.mark.parametrize(("qualname", "name"), COUNTS)
def test_a_count_is_refused_just_below_its_minimum_and_accepted_at_it(qualname, name):
    """The catalog states each count's smallest valid value; one below it is refused with a
    message that gives the bound, and the bound itself passes the range check."""
    entry = CATALOG[qualname]
    smallest = minimum_of(entry.args[name])
    kwargs = entry.valid(np.random.default_rng(2))
    kwargs[name] = smallest - 1
    bound = rf"must be >= {smallest}(?!\d)" + ("|must be a non-negative" if smallest == 0 else "")
    with pytest.raises(ValueError, match=rf"(?<![\w.]){name} ({bound})"):
        _call(qualname, entry, kwargs)
    kwargs = entry.valid(np.random.default_rng(2))
    kwargs[name] = smallest
    refusal = None
    try:
        _call(qualname, entry, kwargs)
    except (ValueError, TypeError) as error:
        refusal = str(error)
    assert refusal is None or f"{name} must be" not in refusal, f"{name}={smallest}: {refusal}"


def _default_for(qualname: str, name: str) -> Any:
    default = inspect.signature(signature_target(CALLABLES[qualname])).parameters[name].default
    if isinstance(default, tuple | list) and all(isinstance(v, int | float) for v in default):
        return torch.tensor(default, dtype=torch.float64)
    return default


@st.composite
def _fuzz_case(draw: Callable[..., Any], qualname: str) -> tuple[dict[str, Any], dict[str, Bad]]:
    entry = CATALOG[qualname]
    seed = draw(st.integers(0, 2**32 - 1))
    kwargs = entry.valid(np.random.default_rng(seed))
    pairs = list(attacks(entry))
    if not pairs:
        return kwargs, {}
    chosen = draw(
        st.lists(st.sampled_from(pairs), min_size=1, max_size=2, unique_by=lambda p: p[0])
    )
    attacked = {}
    for name, bad in chosen:
        kwargs[name] = bad.make(kwargs.get(name, _default_for(qualname, name)))
        attacked[name] = bad
    return kwargs, attacked


@pytest.mark.parametrize("qualname", [q for q in ENTRIES if CATALOG[q].args])
def test_fuzzed_bad_input(qualname):
    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=not FUZZ_RANDOM,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=_fuzz_case(qualname))
    def run(case):
        kwargs, attacked = case
        problems = _check_attack(qualname, CATALOG[qualname], kwargs, attacked)
        assert not problems, "\n".join(problems)

    run()


# ----------------------------------------------------------------------------- named cases
# Calls that once misbehaved, each with the answer an independent derivation gives.


def test_normalize_of_entries_whose_sum_overflows_float32():
    from reference.features import normalize

    # 3e38 + 3e38 overflows float32, yet each entry is half the total: [0.5, 0.5].
    out = normalize(torch.tensor([3e38, 3e38]))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([0.5, 0.5]), rtol=0, atol=0)
    out = normalize(torch.tensor([1e308, 1e308, 1e308], dtype=torch.float64))
    torch.testing.assert_close(out, torch.full((3,), 1 / 3, dtype=torch.float64))


def test_sequential_normalize_refuses_a_running_sum_that_overflows():
    from reference.features import sequential_normalize

    with pytest.raises(ValueError, match=r"v is too large for torch\.float32"):
        sequential_normalize(torch.tensor([3e38, 3e38]))


def test_projection_refuses_a_float_dim():
    from reference.features import projection

    with pytest.raises(ValueError, match=r"dim must be 0 \(column sums\) or 1"):
        projection(torch.ones(6, 6), 1.0)


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64])
def test_seeds_outside_the_int64_range_are_refused_by_name(seed):
    from reference.logistic import two_blobs
    from reference.training import synthetic_data

    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*63\)"):
        two_blobs(seed=seed)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*63\)"):
        synthetic_data([1.0], 0.0, 3, seed=seed)


def test_train_logistic_on_a_single_sample():
    from reference.logistic import train_logistic

    # One point of class 1 at (1, 2): the first prediction sigma(w.x + b) is already right
    # or becomes right after a few steps; either way the accuracy on it is 1.
    result = train_logistic(torch.tensor([[1.0, 2.0]]), torch.tensor([1.0]), max_iters=50)
    assert result.accuracy == 1.0
    assert result.loss_history.shape[0] == result.iterations


def test_least_squares_of_huge_entries_scales_exactly():
    from reference.linear import least_squares, solve_exact

    # X = 2^900 A and y = 2^900 b have the solution of A w = b: w = [1, 2] for this A, b.
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    b = A @ torch.tensor([1.0, 2.0], dtype=torch.float64)
    scale = 2.0**900
    for solve in (least_squares, solve_exact):
        w = solve(A * scale, b * scale)
        torch.testing.assert_close(w, torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_predict_refuses_an_overflowing_product():
    from reference.linear import predict

    with pytest.raises(ValueError, match=r"X @ w overflows"):
        predict(
            torch.tensor([[1e300, 1e300]], dtype=torch.float64),
            torch.tensor([1e300, 1.0], dtype=torch.float64),
        )
