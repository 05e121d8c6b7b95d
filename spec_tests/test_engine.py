"""Specs of gradspec's own autograd engine (reference.engine), on its own.

The autograd claims run against the engine through the ``backend`` fixture (see
test_autograd_*.py); these specs prove the engine independently of them:

* random expression graphs of every supported operation, built by hypothesis and evaluated on
  the engine and on PyTorch in float64: values and gradients agree to 1e-10;
* first and second derivatives agree with finite differences written out here (the oracle
  uses only forward values);
* the chapter-4 autograd digit program, run on the engine, ends at PyTorch's weights (1e-6);
* bad input gets clear errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reference import engine as E
from reference.digits import load_digits
from reference.training.digit_programs import (
    AUTOGRAD_LR,
    AUTOGRAD_TRAIN_IMAGES,
    train_digits_autograd,
)

SHAPE = (3, 4)

# Each operation maps two (3, 4) operands a, b and a (4, 4) matrix w to a (3, 4) result,
# written once for both libraries (m is the module: torch or reference.engine, for cat).
# Denominators and exponents are kept away from their singular points.
OPS = {
    "add": lambda m, a, b, w: a + b,
    "sub": lambda m, a, b, w: a - b,
    "mul": lambda m, a, b, w: a * b,
    "div": lambda m, a, b, w: a / (1.5 + b * b),
    "neg": lambda m, a, b, w: -a,
    "radd": lambda m, a, b, w: 2.5 + a,
    "rsub": lambda m, a, b, w: 1.5 - a,
    "rmul": lambda m, a, b, w: 0.5 * a,
    "rdiv": lambda m, a, b, w: 2.0 / (1.0 + a * a),
    "square": lambda m, a, b, w: (a * 0.5) ** 2,
    "cube": lambda m, a, b, w: a.tanh() ** 3,
    "root": lambda m, a, b, w: (1.0 + a * a) ** 0.5,
    "scalar_pow": lambda m, a, b, w: 1.5 ** a.tanh(),
    "tensor_pow": lambda m, a, b, w: (1.0 + a * a) ** b.tanh(),
    "exp": lambda m, a, b, w: a.tanh().exp(),
    "log": lambda m, a, b, w: (1.0 + a * a).log(),
    "tanh": lambda m, a, b, w: a.tanh(),
    "sigmoid": lambda m, a, b, w: a.sigmoid(),
    "relu": lambda m, a, b, w: a.relu() + b,
    "matmul": lambda m, a, b, w: a @ w,
    "gram": lambda m, a, b, w: a @ (a.T @ b) / 10.0,
    "vec_mat": lambda m, a, b, w: (a[0] @ w) * b,
    "mat_vec": lambda m, a, b, w: (w @ a[1]) + b,
    "dot": lambda m, a, b, w: (a[2] @ b[2]) * a,
    "sum_dim": lambda m, a, b, w: a.sum(dim=0, keepdim=True) * b,
    "mean_dim": lambda m, a, b, w: a.mean(dim=1, keepdim=True) + b,
    "sum_rows": lambda m, a, b, w: a.sum(1).reshape(3, 1) * b,
    "sum_all": lambda m, a, b, w: a.sum() * b / 10.0,
    "mean_all": lambda m, a, b, w: a.mean() + b,
    "reshape": lambda m, a, b, w: a.reshape(4, 3).transpose(0, 1) * b,
    "view": lambda m, a, b, w: a.view(12).view(3, 4) - b,
    "t_reshape": lambda m, a, b, w: a.T.reshape(3, 4),
    "t": lambda m, a, b, w: a.t().t() * b,
    "slice": lambda m, a, b, w: m.cat([a[1:], a[:1]], 0),
    "select": lambda m, a, b, w: a[0] * b,
    "fancy": lambda m, a, b, w: a[[2, 0, 2]] + b,
    "columns": lambda m, a, b, w: m.cat([a[:, :2], b[:, 2:]], 1),
    "to": lambda m, a, b, w: a.to(m.float32).to(m.float64) * 0 + a,
}


def _inputs(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, SHAPE) for _ in range(3)] + [rng.uniform(-1, 1, (4, 4))]


def _evaluate(module, arrays, program, make):
    """Run ``program`` (a list of (op, i, j)) on tensors of ``module``; returns the pool."""
    leaves = [make(a) for a in arrays]
    pool = leaves[:3]
    w = leaves[3]
    for name, i, j in program:
        pool.append(OPS[name](module, pool[i % len(pool)], pool[j % len(pool)], w))
    return leaves, pool


programs = st.lists(
    st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 20), st.integers(0, 20)),
    min_size=1,
    max_size=8,
)


def _engine_leaf(a: np.ndarray) -> E.Tensor:
    return E.tensor(a, requires_grad=True, dtype=E.float64)


def _torch_leaf(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, requires_grad=True, dtype=torch.float64)


def _close(engine_value, torch_value, what: str) -> None:
    if torch_value is None:
        assert engine_value is None, what
        return
    assert engine_value is not None, what
    torch.testing.assert_close(
        torch.tensor(engine_value.detach().numpy()),
        torch_value.detach(),
        rtol=1e-10,
        atol=1e-10,
        msg=what,
    )


@settings(max_examples=80)
@given(program=programs, seed=st.integers(0, 2**16), weight_seed=st.integers(0, 2**16))
def test_random_graphs_match_torch_values_and_gradients(program, seed, weight_seed):
    arrays = _inputs(seed)
    t_leaves, t_pool = _evaluate(torch, arrays, program, _torch_leaf)
    e_leaves, e_pool = _evaluate(E, arrays, program, _engine_leaf)
    t_out, e_out = t_pool[-1], e_pool[-1]
    assume(bool(torch.isfinite(t_out).all()))
    _close(e_out, t_out, f"value of {program}")
    # Backward with a random weight v: the gradient of sum(v * out).
    v = np.random.default_rng(weight_seed).standard_normal(SHAPE)
    t_out.backward(torch.tensor(v))
    e_out.backward(E.tensor(v, dtype=E.float64))
    for k, (e_leaf, t_leaf) in enumerate(zip(e_leaves, t_leaves, strict=True)):
        _close(e_leaf.grad, t_leaf.grad, f"gradient of input {k} of {program}")


# ---------------------------------------------------------------- finite differences


def _forward(arrays, program) -> float:
    """f(x) = sum(v * out) for fixed v, with the engine's forward pass only."""
    with E.no_grad():
        _, pool = _evaluate(E, arrays, program, lambda a: E.tensor(a, dtype=E.float64))
    v = np.linspace(-1, 1, 12).reshape(SHAPE)
    return float((pool[-1].numpy() * v).sum())


def _scalar_loss(leaves, program):
    pool = leaves[:3]
    for name, i, j in program:
        pool.append(OPS[name](E, pool[i % len(pool)], pool[j % len(pool)], leaves[3]))
    v = E.tensor(np.linspace(-1, 1, 12).reshape(SHAPE), dtype=E.float64)
    return (pool[-1] * v).sum()


SMOOTH = sorted(set(OPS) - {"relu"})  # finite differences need a differentiable function


@settings(max_examples=40)
@given(
    program=st.lists(
        st.tuples(st.sampled_from(SMOOTH), st.integers(0, 20), st.integers(0, 20)),
        min_size=1,
        max_size=5,
    ),
    seed=st.integers(0, 2**16),
)
def test_first_and_second_derivatives_match_finite_differences(program, seed):
    arrays = _inputs(seed)
    assume(math.isfinite(_forward(arrays, program)))
    leaves = [_engine_leaf(a) for a in arrays]
    loss = _scalar_loss(leaves, program)
    grads = E.grad(loss, leaves, create_graph=True, allow_unused=True)
    rng = np.random.default_rng(seed + 1)
    u = [rng.standard_normal(a.shape) for a in arrays]
    w = [rng.standard_normal(a.shape) for a in arrays]

    def f(t: float, s: float) -> float:
        return _forward(
            [a + t * du + s * dw for a, du, dw in zip(arrays, u, w, strict=True)], program
        )

    # First derivative along u: (f(h) - f(-h)) / 2h, error O(h^2).
    h = 1e-5
    numeric = (f(h, 0) - f(-h, 0)) / (2 * h)
    analytic = sum(
        float((g.detach().numpy() * du).sum())
        for g, du in zip(grads, u, strict=True)
        if g is not None
    )
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-6)

    # Second derivative u^T H w: the mixed central difference of f.
    directional = sum(
        (g * E.tensor(du, dtype=E.float64)).sum()
        for g, du in zip(grads, u, strict=True)
        if g is not None and g.requires_grad
    )
    if not isinstance(directional, E.Tensor):  # f is linear in the inputs: H = 0
        second = 0.0
    else:
        hess = E.grad(directional, leaves, allow_unused=True)
        second = sum(
            float((g.numpy() * dw).sum()) for g, dw in zip(hess, w, strict=True) if g is not None
        )
    h = 1e-4
    numeric2 = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)
    assert second == pytest.approx(numeric2, rel=1e-4, abs=1e-4)


def test_engine_gradcheck_catches_a_wrong_derivative():
    # The checker must be able to fail: a hook that doubles the gradient breaks the Jacobian.
    x = E.tensor([0.3, -1.2], requires_grad=True, dtype=E.float64)
    assert E.gradcheck(lambda t: t * t, [x])
    x.register_hook(lambda g: g * 2)
    with pytest.raises(E.GradcheckError, match="Jacobian mismatch"):
        E.gradcheck(lambda t: t * t, [x])


# ---------------------------------------------------------------- the chapter-4 program


def _digit_program_on_the_engine(steps: int):
    """The program of reference.training.digit_programs for ``steps`` steps, on the engine;
    returns the engine's weights as a torch tensor and torch's run of the same program."""
    reference = train_digits_autograd(seed=0, steps=steps)
    _, labels = load_digits()
    X = E.tensor(reference.train_features.numpy())
    targets = E.tensor(labels[:AUTOGRAD_TRAIN_IMAGES].numpy().astype(np.float32).reshape(-1, 1))
    weights = E.tensor(reference.initial_weights.numpy(), requires_grad=True)
    assert X.dtype == E.float32
    assert weights.dtype == E.float32
    for _ in range(steps):  # the program of reference.training.digit_programs, on the engine
        loss = (0.5 * (X.mm(weights) - targets) ** 2).sum()
        loss.backward()
        with E.no_grad():
            weights -= AUTOGRAD_LR * weights.grad
        weights.grad.zero_()
    return torch.tensor(weights.detach().numpy()), reference


@pytest.mark.long_run
def test_autograd_digit_program_reaches_torchs_weights_on_the_engine():
    weights, reference = _digit_program_on_the_engine(5000)
    torch.testing.assert_close(weights, reference.weights, rtol=0, atol=1e-6)
    assert not torch.equal(reference.weights, reference.initial_weights)  # it did train


def test_autograd_digit_program_first_steps_match_torch_on_the_engine():
    # the long run above, cut to its first steps: each step must already agree
    for steps in (1, 2, 25):
        weights, reference = _digit_program_on_the_engine(steps)
        torch.testing.assert_close(weights, reference.weights, rtol=0, atol=1e-6)
        assert not torch.equal(reference.weights, reference.initial_weights)


# ---------------------------------------------------------------- validation


def test_engine_rejects_bad_input_with_clear_errors():
    with pytest.raises(TypeError, match="dtype must be"):
        E.tensor([1.0], dtype="complex64")
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        E.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        E.tensor([1.0], requires_grad=1)
    with pytest.raises(ValueError, match="@: shapes"):
        E.ones(2, 3) @ E.ones(2, 3)
    with pytest.raises(TypeError, match="other must be a Tensor or a number"):
        E.ones(2) + "x"
    x = E.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(E.ones(3))
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        E.grad((x * 2).sum(), [x, E.ones(1, requires_grad=True)])
    assert E.grad((x * 2).sum(), [x, E.ones(1, requires_grad=True)], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        E.ones(2).sum().backward()
    with pytest.raises(ValueError, match="seed must be"):
        E.randn(2, seed=-1)


def test_hooks_can_be_removed_and_no_grad_nests():
    x = E.ones(2, requires_grad=True)
    y = x * 3
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    handle.remove()  # a second call does nothing
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with E.no_grad():
        with E.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert E.is_grad_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None  # a leaf's .grad never warns


def test_a_power_with_an_exponent_of_another_kind_names_its_type():
    with pytest.raises(TypeError, match=r"^exponent must be a number or a Tensor, got str$"):
        E.tensor([1.0]) ** "a"
    with pytest.raises(TypeError, match=r"^exponent must be a number or a Tensor, got list$"):
        E.tensor([1.0]) ** [2]
