"""Specs of the engine's derivative checks, its tensor factories and its fused logistic loss.

* ``gradcheck`` / ``gradgradcheck`` (reference.engine.checks) accept what
  ``torch.autograd.gradcheck`` / ``gradgradcheck`` accept (several inputs and outputs,
  outputs that do not require grad, inputs that are unused or do not require grad) and fail
  on derivatives made wrong by a known amount, exactly at the documented tolerance
  $|a - n| \\le \\mathrm{atol} + \\mathrm{rtol}\\,|n|$ with the default eps, atol and rtol. What
  the checks do is observed from inside ``fn``: the points it is evaluated at (central
  differences at $x \\pm \\varepsilon e_i$) and the weights the backward pass is seeded with
  (one-hot rows for ``gradcheck``, numpy's ``default_rng(seed).standard_normal`` for
  ``gradgradcheck``, both in the output's dtype, as in torch).
* ``zeros`` / ``ones`` / ``eye`` / ``randn`` against torch and numpy: shapes as ints or as one
  sequence, dtypes, ``requires_grad``, and randn's seed contract.
* ``binary_cross_entropy_with_logits`` against ``torch.nn.functional``: value, both
  gradients, second derivatives, extreme logits, and its errors.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference import engine as E

EPS = 1e-6  # the documented default step of both checks
EXACT_EPS = 2.0**-10  # a step for which x +- eps and linear maps of it are exact in binary


def _leaf(*values: float) -> E.Tensor:
    return E.tensor(list(values), requires_grad=True, dtype=E.float64)


def _torch_leaf(*values: float) -> torch.Tensor:
    return torch.tensor(list(values), requires_grad=True, dtype=torch.float64)


def _shifted_by(delta: float) -> E.Tensor:
    """x = [0.5] whose backward gradient is off by ``delta`` (a hook on the leaf)."""
    x = _leaf(0.5)
    x.register_hook(lambda g: g + delta)
    return x


# ---------------------------------------------------------------- gradcheck: what passes


def test_gradcheck_passes_where_torch_gradcheck_passes_with_several_inputs_and_outputs() -> None:
    def program(m, a, b):  # m: torch or the engine, for the same function in both
        return a * b + a.exp(), (a * a * b).sum(), b.tanh() * 2.0

    values = ((0.5, -1.0, 2.0), (1.5, 0.25, -0.75))
    assert torch.autograd.gradcheck(
        lambda a, b: program(torch, a, b), [_torch_leaf(*v) for v in values]
    )
    assert E.gradcheck(lambda a, b: program(E, a, b), [_leaf(*v) for v in values]) is True


def test_gradcheck_checks_a_scalar_output_as_one_entry() -> None:
    # The 0-d output is one output, not a sequence of outputs: its wrong derivative is found.
    assert E.gradcheck(lambda t: (t * t).sum(), [_leaf(0.5, -1.5)]) is True
    with pytest.raises(E.GradcheckError, match=r"output 0 entry 0 w\.r\.t\. input entry 0"):
        E.gradcheck(lambda t: (t * t).sum(), [_shifted_by(0.5)])


def test_gradcheck_accepts_unused_inputs_and_inputs_that_do_not_require_grad() -> None:
    # c requires grad but fn ignores it (its Jacobian is zero); b is a float32 constant.
    def fn(m, a, b, c):
        return a * b.to(m.float64)

    assert torch.autograd.gradcheck(
        lambda a, b, c: fn(torch, a, b, c),
        [_torch_leaf(0.5, 2.0), torch.tensor([3.0, -1.0]), _torch_leaf(1.0, 2.0, 3.0)],
    )
    a, b, c = _leaf(0.5, 2.0), E.tensor([3.0, -1.0]), _leaf(1.0, 2.0, 3.0)
    assert b.dtype == E.float32
    assert not b.requires_grad
    assert E.gradcheck(lambda a, b, c: fn(E, a, b, c), (a, b, c)) is True


def test_gradcheck_accepts_outputs_that_do_not_require_grad() -> None:
    # Their backward Jacobian is zero, and so are the finite differences of a constant.
    x = _torch_leaf(0.5, 2.0)
    assert torch.autograd.gradcheck(lambda t: torch.ones(3, dtype=torch.float64), [x])
    assert torch.autograd.gradcheck(lambda t: (t * 2, torch.ones(3, dtype=torch.float64)), [x])
    x = _leaf(0.5, 2.0)
    assert E.gradcheck(lambda t: E.ones(3, dtype=E.float64), [x]) is True
    assert E.gradcheck(lambda t: (t * 2.0, E.ones(3, dtype=E.float64)), [x]) is True


# ---------------------------------------------------------------- gradcheck: how it checks


def _evaluation_points(check: Callable[..., bool], x: E.Tensor, **kwargs: float) -> set:
    """The distinct points ``check`` evaluates fn(t) = 3 t^2 at, as tuples."""
    seen: set[tuple[float, ...]] = set()

    def fn(t: E.Tensor) -> E.Tensor:
        seen.add(tuple(t.tolist()))
        return t * t * 3.0

    assert check(fn, [x], **kwargs) is True
    return seen


@pytest.mark.parametrize("check", [E.gradcheck, E.gradgradcheck], ids=["grad", "gradgrad"])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_checks_take_central_differences_at_x_plus_and_minus_eps(check, eps) -> None:
    x = _leaf(0.5, -1.25)
    kwargs = {} if eps is None else {"eps": eps}
    step = EPS if eps is None else eps
    expected = (
        {(0.5, -1.25)}
        | {(0.5 + s, -1.25) for s in (step, -step)}
        | {(0.5, -1.25 + s) for s in (step, -step)}
    )
    assert _evaluation_points(check, x, **kwargs) == expected
    assert x.tolist() == [0.5, -1.25]  # each entry is put back


def test_gradcheck_seeds_the_backward_with_one_hot_rows_in_the_output_dtype() -> None:
    # As torch's gradcheck does: row j of the Jacobian is the backward of e_j, made with the
    # output's dtype (here float32, from a float64 input). 0.5 +- 2^-10 and 3 times it are
    # exact in float32, so the finite differences of this float32 output are exact too.
    seeds: list[np.ndarray] = []

    def fn(t: E.Tensor) -> E.Tensor:
        out = t.to(E.float32) * 3.0
        if out.requires_grad:
            out.register_hook(lambda g: seeds.append(g.numpy().copy()))
        return out

    assert E.gradcheck(fn, [_leaf(0.5, 2.0, -1.0)], eps=EXACT_EPS, atol=0.0, rtol=0.0)
    assert [s.tolist() for s in seeds] == np.eye(3).tolist()
    assert {s.dtype for s in seeds} == {np.dtype(np.float32)}


def test_gradcheck_default_tolerances_are_atol_1e_5_and_rtol_1e_3() -> None:
    # Where the true derivative is 0 only atol counts: an error of 5e-6 passes, 2e-5 fails.
    assert E.gradcheck(lambda t: t * 0.0, [_shifted_by(5e-6)])
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        E.gradcheck(lambda t: t * 0.0, [_shifted_by(2e-5)])
    # Where it is 1000, rtol dominates: an error of 0.5 (5e-4 relative) passes, 2 fails.
    assert E.gradcheck(lambda t: t * 1000.0, [_shifted_by(0.5)])
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        E.gradcheck(lambda t: t * 1000.0, [_shifted_by(2.0)])


@pytest.mark.parametrize(
    ("atol", "rtol", "error", "passes"),
    [
        (0.0, 0.0, 0.0, True),  # exact agreement passes with no tolerance at all
        (2.0**-20, 0.0, 2.0**-20, True),  # |a - n| = atol: the bound is inclusive
        (2.0**-20, 0.0, 2.0**-19, False),
        (0.0, 2.0**-10, 2.0**-9, True),  # |a - n| = rtol |n| with n = 2
        (0.0, 2.0**-10, 2.0**-8, False),
    ],
)
def test_gradcheck_passes_exactly_when_the_error_is_within_atol_plus_rtol_n(
    atol: float, rtol: float, error: float, passes: bool
) -> None:
    # f(t) = 2 t at 0.5 with eps = 2^-10: the finite differences are exactly 2, and
    # the hook makes the backward give exactly 2 + error (every number here is a power of 2).
    def check() -> bool:
        return E.gradcheck(
            lambda t: t * 2.0, [_shifted_by(error)], eps=EXACT_EPS, atol=atol, rtol=rtol
        )

    if passes:
        assert check() is True
    else:
        with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
            check()


def test_gradcheck_names_the_first_entry_that_disagrees() -> None:
    # Output 1 is t * t.detach(): its backward gives t instead of 2 t, which agrees at t = 0
    # (entry 0) and not at t = 1.5 (entry 1, where the finite differences give 3).
    x = _leaf(0.0, 1.5)
    with pytest.raises(E.GradcheckError) as caught:
        E.gradcheck(lambda t: (t * 2.0, t * t.detach()), [x])
    message = str(caught.value)
    prefix = "Jacobian mismatch for output 1 entry 1 w.r.t. input entry 1: backward gives 1.5, "
    assert message.startswith(prefix + "finite differences ")
    assert float(message.removeprefix(prefix + "finite differences ")) == pytest.approx(3.0)
    # Like torch's, the error is a RuntimeError.
    torch_gradcheck = importlib.import_module("torch.autograd.gradcheck")
    assert issubclass(torch_gradcheck.GradcheckError, RuntimeError)
    assert issubclass(E.GradcheckError, RuntimeError)


def test_checks_reject_bad_inputs_and_outputs() -> None:
    x = _leaf(0.5, 2.0)
    for check in (E.gradcheck, E.gradgradcheck):
        with pytest.raises(TypeError, match=r"inputs\[1\] must be a Tensor, got list"):
            check(lambda a, b: a, [x, [1.0]])
        with pytest.raises(ValueError, match=r"inputs\[1\] must be float64 for a finite-diff"):
            check(lambda a, b: a * b, [x, E.ones(2, requires_grad=True)])
        with pytest.raises(ValueError, match=r"^at least one of inputs must require grad$"):
            check(lambda a: a * 2.0, [E.tensor([0.5], dtype=E.float64)])
        with pytest.raises(TypeError, match="fn must return Tensors, output 1 is float"):
            check(lambda a: (a * 2.0, 3.0), [x])
    # torch raises a ValueError too when no input requires grad (wording not stable: type only).
    with pytest.raises(ValueError):
        torch.autograd.gradcheck(lambda t: t * 2, [torch.ones(2, dtype=torch.float64)])


# ---------------------------------------------------------------- gradgradcheck


def test_gradgradcheck_passes_where_torch_gradgradcheck_passes() -> None:
    # Several outputs, a float32 constant input and an unused input (c) among the inputs.
    def program(m, a, b, c):
        return a * a * b.to(m.float64), (a.exp() * a).sum(), a.tanh()

    def leaves(make, constant):
        return [make(0.5, -1.0), constant([2.0, 3.0]), make(1.0, 2.0, 3.0)]

    assert torch.autograd.gradgradcheck(
        lambda a, b, c: program(torch, a, b, c), leaves(_torch_leaf, torch.tensor)
    )
    assert E.gradgradcheck(lambda a, b, c: program(E, a, b, c), leaves(_leaf, E.tensor)) is True


@pytest.mark.parametrize("seed", [None, 0, 7])
def test_gradgradcheck_weights_the_output_by_numpy_normal_draws_of_the_seed(seed) -> None:
    # The first derivative is the gradient of v . y for v = default_rng(seed).standard_normal
    # (seed 0 by default), in the output's dtype (float32 here), as torch draws its weights in
    # the output's dtype. A hook on y sees every v the backward passes start from.
    seen: list[np.ndarray] = []

    def fn(t: E.Tensor) -> E.Tensor:
        out = (t * t * t).to(E.float32)
        if out.requires_grad:
            out.register_hook(lambda g: seen.append(g.numpy().copy()))
        return out

    kwargs = {} if seed is None else {"seed": seed}
    assert E.gradgradcheck(fn, [_leaf(0.5, -1.0, 2.0)], **kwargs) is True
    v = np.random.default_rng(0 if seed is None else seed).standard_normal(3).astype(np.float32)
    assert seen
    for g in seen:
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, v)


def _second_derivative_off_by(error: float) -> Callable[[E.Tensor], E.Tensor]:
    """f(t) = t^3 / 6 + d/2 t t.detach() at a 0-d t, d chosen so the second derivative is off by
    ``error`` once weighted by gradgradcheck's default v.

    The backward of the detached factor is the constant (d/2) t, so the checked first derivative
    is v (t^2 / 2 + d t / 2) while its own backward gives v t: the finite differences are
    v (t + d / 2), off by |v| d / 2 = error, with v = default_rng(0).standard_normal(()).
    """
    v = float(np.random.default_rng(0).standard_normal(()))
    d = 2 * error / abs(v)
    return lambda t: t * t * t / 6.0 + (d / 2) * t * t.detach()


def _gradgradcheck_at(at: float, error: float, **kwargs: float) -> bool:
    x = E.tensor(at, requires_grad=True, dtype=E.float64)
    return E.gradgradcheck(_second_derivative_off_by(error), [x], **kwargs)


def test_gradgradcheck_catches_a_wrong_second_derivative_at_the_default_tolerances() -> None:
    # At t = 0 the second derivative is 0: atol = 1e-5 decides.
    assert _gradgradcheck_at(0.0, 5e-6) is True
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch for output 0 entry 0"):
        _gradgradcheck_at(0.0, 2e-5)
    # At t = 100 it is 100 v: rtol = 1e-3 decides.
    v = abs(float(np.random.default_rng(0).standard_normal(())))
    assert _gradgradcheck_at(100.0, 0.5e-3 * 100 * v) is True
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        _gradgradcheck_at(100.0, 2e-3 * 100 * v)


def test_gradgradcheck_uses_the_tolerances_it_is_given() -> None:
    assert _gradgradcheck_at(0.0, 5e-4, atol=1e-3) is True
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        _gradgradcheck_at(0.0, 2e-6, atol=1e-6)
    v = abs(float(np.random.default_rng(0).standard_normal(())))
    assert _gradgradcheck_at(100.0, 5e-3 * 100 * v, rtol=1e-2) is True
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        _gradgradcheck_at(100.0, 2e-4 * 100 * v, rtol=1e-4)


def test_gradgradcheck_checks_second_derivatives_not_only_first_ones() -> None:
    # A hook that detaches the gradient keeps every first derivative right and cuts the graph
    # of the gradient: its backward then gives 0 for the second derivative 6 t v of t^3.
    x = _leaf(0.5, -1.0)
    x.register_hook(lambda g: g.detach())
    assert E.gradcheck(lambda t: t * t * t, [x]) is True
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        E.gradgradcheck(lambda t: t * t * t, [x])


# ---------------------------------------------------------------- factories


SHAPES = [(3,), (2, 3), ((2, 3),), ([2, 3],), (0,), (2, 0), ((),), ([4],)]


@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize("shape", SHAPES, ids=repr)
def test_zeros_and_ones_take_the_shape_as_ints_or_as_one_sequence_like_torch(name, shape) -> None:
    made = getattr(E, name)(*shape)
    expected = getattr(torch, name)(*shape)
    assert made.shape == tuple(expected.shape)
    assert made.dtype == E.float32
    assert expected.dtype == torch.float32
    assert made.requires_grad is expected.requires_grad is False
    np.testing.assert_array_equal(made.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_and_ones_take_dtype_and_requires_grad(name) -> None:
    made = getattr(E, name)(2, 3, dtype=E.float64, requires_grad=True)
    expected = getattr(torch, name)(2, 3, dtype=torch.float64, requires_grad=True)
    assert made.dtype == E.float64
    assert made.requires_grad
    assert made.is_leaf
    np.testing.assert_array_equal(made.detach().numpy(), expected.detach().numpy())
    assert getattr(E, name)((2,), dtype=E.int64).numpy().dtype == np.int64


@pytest.mark.parametrize("name", ["zeros", "ones", "randn"])
@pytest.mark.parametrize("shape", [(-1,), (2, -3), (2.0,), (True,), ((2, 3), 4), ([2, "3"],)])
def test_factories_reject_a_shape_that_is_not_non_negative_ints(name, shape) -> None:
    kwargs = {"seed": 0} if name == "randn" else {}
    with pytest.raises(ValueError, match=r"^shape must be non-negative ints, got "):
        getattr(E, name)(*shape, **kwargs)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_eye_is_torchs_identity(n: int) -> None:
    made, expected = E.eye(n), torch.eye(n)
    assert made.shape == (n, n) == tuple(expected.shape)
    assert made.dtype == E.float32
    assert expected.dtype == torch.float32
    assert made.requires_grad is expected.requires_grad is False
    np.testing.assert_array_equal(made.numpy(), expected.numpy())
    made = E.eye(n, dtype=E.float64, requires_grad=True)
    assert made.dtype == E.float64
    assert made.requires_grad
    np.testing.assert_array_equal(made.detach().numpy(), np.eye(n))


@pytest.mark.parametrize("n", [-1, 2.0, True, "3"])
def test_eye_rejects_a_size_that_is_not_a_non_negative_int(n) -> None:
    with pytest.raises(ValueError, match=r"^n must be a non-negative int, got "):
        E.eye(n)


@pytest.mark.parametrize("shape", [(2, 3), ((2, 3),), ([2, 3],)], ids=repr)
def test_randn_draws_numpy_standard_normals_from_the_seed(shape) -> None:
    # The contract: np.random.default_rng(seed).standard_normal(shape), as float32 unless dtype.
    draws = np.random.default_rng(12).standard_normal((2, 3))
    made = E.randn(*shape, seed=12)
    assert made.dtype == E.float32
    assert made.requires_grad is False
    np.testing.assert_array_equal(made.numpy(), draws.astype(np.float32))
    made = E.randn(*shape, seed=12, dtype=E.float64, requires_grad=True)
    assert made.dtype == E.float64
    assert made.requires_grad
    assert made.is_leaf
    np.testing.assert_array_equal(made.detach().numpy(), draws)
    assert not np.array_equal(E.randn(*shape, seed=13).numpy(), made.detach().numpy())


def test_randn_needs_a_seed() -> None:
    with pytest.raises(TypeError):
        E.randn(2)  # no global generator: the seed is a required keyword
    with pytest.raises(TypeError, match="seed must be an int"):
        E.randn(2, seed=1.5)


# ---------------------------------------------------------------- the fused logistic loss


LOGITS = [-800.0, -30.0, -2.0, -0.1, 0.0, 0.3, 5.0, 40.0, 800.0]
TARGETS = [0.0, 1.0, 0.25, 1.0, 0.5, 0.0, 0.75, 0.0, 1.0]


def _bce_both(logits, targets, dtype=np.float64, grad=(True, True)):
    """The loss and the gradients of both arguments, on the engine and on torch."""
    results = []
    for make, dt, f in (
        (E.tensor, {np.float64: E.float64, np.float32: E.float32}[dtype], None),
        (torch.tensor, {np.float64: torch.float64, np.float32: torch.float32}[dtype], F),
    ):
        z = make(logits, dtype=dt, requires_grad=grad[0])
        y = make(targets, dtype=dt, requires_grad=grad[1])
        loss = (
            E.binary_cross_entropy_with_logits(z, y)
            if f is None
            else f.binary_cross_entropy_with_logits(z, y)
        )
        (loss * 3.0).backward()  # the incoming gradient 3 scales both gradients
        results.append((loss, z.grad, y.grad))
    return results


def _as_numpy(t) -> np.ndarray | None:
    return None if t is None else np.asarray(t.detach().numpy())


@pytest.mark.parametrize(
    ("logits", "targets"),
    [(LOGITS, TARGETS), ([0.7], [0.2]), (-1.3, 1.0), ([[2.0, -3.0], [0.5, 9.0]], [[1, 0], [0, 1]])],
    ids=["extremes", "one-entry", "0-d", "matrix"],
)
def test_bce_with_logits_value_and_gradients_match_torch(logits, targets) -> None:
    (loss, gz, gy), (t_loss, t_gz, t_gy) = _bce_both(logits, targets)
    assert loss.dtype == E.float64
    assert loss.shape == ()
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(_as_numpy(gz), t_gz.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_as_numpy(gy), t_gy.numpy(), rtol=1e-12, atol=1e-15)
    assert type(t_loss.grad_fn).__name__ == loss.grad_fn.name()


def test_bce_with_logits_in_float32_matches_torch() -> None:
    (loss, gz, gy), (t_loss, t_gz, t_gy) = _bce_both(LOGITS, TARGETS, np.float32)
    assert loss.dtype == E.float32
    assert t_loss.dtype == torch.float32
    assert gz.dtype == gy.dtype == E.float32
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-6)
    np.testing.assert_allclose(_as_numpy(gz), t_gz.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_as_numpy(gy), t_gy.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("grad", [(True, False), (False, True)], ids=["logits", "target"])
def test_bce_with_logits_gives_gradients_only_to_what_requires_them(grad) -> None:
    (loss, gz, gy), (_, t_gz, t_gy) = _bce_both(LOGITS[2:7], TARGETS[2:7], grad=grad)
    assert loss.requires_grad
    for mine, theirs in ((gz, t_gz), (gy, t_gy)):
        assert (mine is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(_as_numpy(mine), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("grad", [(True, False), (False, True)], ids=["logits", "target"])
def test_bce_with_logits_node_returns_none_for_the_argument_without_grad(grad) -> None:
    # Called on the output's gradient, the node gives a gradient for each argument that
    # requires grad and None for the other, as torch's node does when called.
    results = []
    for make, dtype, bce in ((E.tensor, E.float64, E), (torch.tensor, torch.float64, F)):
        z = make([0.3, -2.0], dtype=dtype, requires_grad=grad[0])
        y = make([1.0, 0.25], dtype=dtype, requires_grad=grad[1])
        node = bce.binary_cross_entropy_with_logits(z, y).grad_fn
        one = make(1.0, dtype=dtype)
        results.append(node.apply(one) if bce is E else node(one))
    for mine, theirs in zip(*results, strict=True):
        assert (mine is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(_as_numpy(mine), theirs.detach().numpy(), rtol=1e-12)


def test_bce_with_logits_second_derivatives_match_torch_and_the_derivation() -> None:
    # l = mean(max(z, 0) - z y + log(1 + e^-|z|)): dl/dz = (sigma(z) - y) / n, dl/dy = -z / n,
    # so along the direction w in both arguments the Hessian gives (sigma'(z) - 1) w / n for z
    # and -w / n for y. Each library differentiates the graph of its own backward pass.
    z_values, y_values, w = [-2.0, 0.3, 5.0], [0.25, 1.0, 0.0], [1.0, -2.0, 0.5]
    products = []
    for make, dtype, grad, bce in (
        (E.tensor, E.float64, E.grad, E),
        (torch.tensor, torch.float64, torch.autograd.grad, F),
    ):
        z = make(z_values, dtype=dtype, requires_grad=True)
        y = make(y_values, dtype=dtype, requires_grad=True)
        gz, gy = grad(bce.binary_cross_entropy_with_logits(z, y), [z, y], create_graph=True)
        direction = make(w, dtype=dtype)
        products.append(grad((gz * direction).sum() + (gy * direction).sum(), [z, y]))
    for mine, theirs in zip(*products, strict=True):
        np.testing.assert_allclose(_as_numpy(mine), theirs.numpy(), rtol=1e-12, atol=1e-15)
    sigma = 1 / (1 + np.exp(-np.array(z_values)))
    derived = ((sigma * (1 - sigma) - 1) * w / 3, -np.array(w) / 3)
    for mine, expected in zip(products[0], derived, strict=True):
        np.testing.assert_allclose(_as_numpy(mine), expected, rtol=1e-12)


def test_bce_with_logits_promotes_mixed_float_dtypes() -> None:
    # The engine's loss has the promoted dtype of its arguments (numpy's and torch.result_type's
    # rule: float64 here, either way round). torch 2.13's own F.binary_cross_entropy_with_logits
    # returns the target's dtype instead; the engine follows type promotion.
    z32, y64 = E.tensor([0.3, -2.0]), E.tensor([1.0, 0.25], dtype=E.float64)
    expected = F.binary_cross_entropy_with_logits(
        torch.tensor([0.3, -2.0]).double(), torch.tensor([1.0, 0.25], dtype=torch.float64)
    ).item()
    for z, y in ((z32, y64), (z32.to(E.float64), y64.to(E.float32))):
        assert torch.result_type(torch.tensor(z.numpy()), torch.tensor(y.numpy())) == torch.float64
        loss = E.binary_cross_entropy_with_logits(z, y)
        assert loss.dtype == E.float64
        assert loss.item() == pytest.approx(expected, rel=1e-7)


def test_bce_with_logits_rejects_bad_arguments() -> None:
    z, y = E.zeros(2), E.ones(2)
    with pytest.raises(TypeError, match=r"^logits must be a Tensor, got list$"):
        E.binary_cross_entropy_with_logits([0.0, 0.0], y)
    with pytest.raises(TypeError, match=r"^target must be a Tensor, got float$"):
        E.binary_cross_entropy_with_logits(z, 1.0)
    with pytest.raises(TypeError, match=r"^logits must be floating point, got dtype int64$"):
        E.binary_cross_entropy_with_logits(E.tensor([0, 1]), y)
    with pytest.raises(TypeError, match=r"^target must be floating point, got dtype bool$"):
        E.binary_cross_entropy_with_logits(z, E.tensor([True, False]))
    # torch raises a ValueError for different shapes too (its wording differs: type only).
    with pytest.raises(ValueError):
        F.binary_cross_entropy_with_logits(torch.zeros(2), torch.ones(3))
    with pytest.raises(ValueError, match=r"^target shape \(3,\) must equal logits shape \(2,\)$"):
        E.binary_cross_entropy_with_logits(z, E.ones(3))
