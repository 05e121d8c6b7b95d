"""Specs of the engine's operations (reference.engine.ops), one operation at a time.

Each spec runs the same explicit inputs through the engine and through PyTorch (float64
unless the dtype is the point) and compares what a user can observe: values, dtypes, shapes,
gradients (with broadcasting summed back out), ``grad_fn`` names, version counters, and the
errors raised. Where the engine deliberately differs from PyTorch (an operation it refuses),
the spec says so and checks the engine's own contract against a derivation written here.

torch error wordings change between releases: only stable fragments are matched.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from reference import engine as E
from reference.engine import ops

A = [[1.5, -2.0, 0.5], [0.25, 3.0, -1.0]]  # a (2, 3) operand without zeros
ROW = [0.5, -1.5, 2.0]  # broadcasts against A's rows

# torch's message for an in-place change of a leaf that requires grad (stable since 0.4)
LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation"
# torch's message for a saved tensor changed before backward (stable since 0.4)
# the engine's advice after its in-place refusals
HOW = r"; change it under no_grad\(\) or via \.data$"
MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"


def pair(values: Any, requires_grad: bool = True, dtype: str = "float64") -> tuple[Any, Any]:
    """The same values as an engine tensor and a torch tensor (leaves)."""
    array = np.array(values, dtype=dtype)
    e = E.tensor(array, requires_grad=requires_grad, dtype=np.dtype(dtype))
    t = torch.tensor(array, requires_grad=requires_grad)
    return e, t


def name(t: Any) -> str | None:
    """The node name without torch's C++ namespace (torch::autograd::CopySlices)."""
    return None if t.grad_fn is None else t.grad_fn.name().split("::")[-1]


def same(e: Any, t: Any, exact: bool = False) -> None:
    """Engine tensor ``e`` has torch tensor ``t``'s dtype, shape and values."""
    if t is None:
        assert e is None
        return
    assert e is not None
    assert str(e.dtype) == str(t.dtype).removeprefix("torch."), (e.dtype, t.dtype)
    assert e.shape == tuple(t.shape)
    expected = t.detach().numpy()
    if exact or e.dtype.kind in "bi":
        np.testing.assert_array_equal(e.detach().numpy(), expected)
    else:  # float32: torch may round differently (7 / a is 7 * (1 / a) there)
        rtol = 1e-12 if e.dtype == E.float64 else 1e-6
        np.testing.assert_allclose(e.detach().numpy(), expected, rtol=rtol, atol=1e-300)


def same_graph(e: Any, t: Any) -> None:
    """Same value, same requires_grad and the same node name."""
    same(e, t)
    assert e.requires_grad == t.requires_grad
    assert name(e) == name(t)


def weight(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed, non-symmetric weight for vector-Jacobian products."""
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64) * 0.7 - 1.3).reshape(shape)


def backward_both(e_out: Any, t_out: Any) -> None:
    """Backpropagate the same weight through both results."""
    v = weight(tuple(t_out.shape))
    e_out.backward(E.tensor(v, dtype=e_out.dtype))
    t_out.backward(torch.tensor(v, dtype=t_out.dtype))


# ---------------------------------------------------------------- arithmetic and broadcasting

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}

SHAPES = [  # (left, right): equal, row, column, 0-d, both broadcast, fewer dims on the left
    ([[1.5, 2.0, 0.5], [0.25, 3.0, 1.25]], [[0.5, 1.5, 2.0], [1.0, 0.75, 2.5]]),
    ([[1.5, 2.0, 0.5], [0.25, 3.0, 1.25]], [0.5, 1.5, 2.0]),
    ([[1.5, 2.0, 0.5], [0.25, 3.0, 1.25]], [[0.5], [1.5]]),
    ([[1.5, 2.0, 0.5], [0.25, 3.0, 1.25]], 1.75),
    ([[1.5], [0.25]], [[0.5, 1.5, 2.0]]),
    ([0.5, 1.5, 2.0], [[[1.5, 2.0, 0.5]], [[0.25, 3.0, 1.25]]]),
]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", range(len(SHAPES)))
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_binary_operations_match_torch_values_gradients_and_nodes(op, shapes, needs):
    left, right = SHAPES[shapes]
    ea, ta = pair(left, needs[0])
    eb, tb = pair(right, needs[1])
    e_out, t_out = BINARY[op](ea, eb), BINARY[op](ta, tb)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    for e_leaf, t_leaf in ((ea, ta), (eb, tb)):
        same(e_leaf.grad, t_leaf.grad)


SCALAR_OPS: dict[str, Callable[[Any], Any]] = {
    "radd": lambda a: 2.5 + a,
    "add": lambda a: a + 2,
    "rsub": lambda a: 1.5 - a,
    "sub": lambda a: a - 3,
    "rmul": lambda a: 0.5 * a,
    "mul": lambda a: a * -2,
    "rdiv": lambda a: 2.0 / a,
    "div": lambda a: a / 4,
    "neg": lambda a: -a,
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "root": lambda a: (a * a) ** 0.5,
    "inverse": lambda a: a**-1,
    "one": lambda a: a**1,
    "rpow": lambda a: 1.5**a,
    "rpow_int": lambda a: 3**a,
    "exp": lambda a: a.exp(),
    "log": lambda a: (a * a).log(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: a.abs(),
    "clone": lambda a: a.clone(),
}


@pytest.mark.parametrize("op", sorted(SCALAR_OPS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_and_scalar_operations_match_torch(op, dtype):
    ea, ta = pair(A, dtype=dtype)
    e_out, t_out = SCALAR_OPS[op](ea), SCALAR_OPS[op](ta)
    # torch computes 2 / a as reciprocal(a) * 2 (MulBackward0); the engine divides
    assert name(e_out) == ("DivBackward0" if op == "rdiv" else name(t_out))
    if dtype == "float32":  # numpy and torch may round float32 functions differently
        assert str(e_out.dtype) == "float32"
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6)
        return
    same(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_python_numbers_take_the_tensor_dtype_like_torch_scalars():
    for dtype in ("float32", "float64"):
        e, t = pair(A, requires_grad=False, dtype=dtype)
        for op in (lambda a: a + 1, lambda a: 1.5 * a, lambda a: a - np.float32(2.0)):
            same(op(e), op(t))
    e, t = pair([1, 2, 3], requires_grad=False, dtype="int64")
    same(e + 2, t + 2)
    same(2 * e, 2 * t)
    e, t = pair([True, False], requires_grad=False, dtype="bool")
    same(e * True, t * True)
    same(e == False, t == False)  # noqa: E712 (the comparison is the operation under test)


def test_numbers_alone_become_tensors_as_torch_tensor_infers_them():
    for value in (2.5, 2, True, False, np.int32(3), np.bool_(True)):
        same(ops.as_tensor(value), torch.tensor(value))
    same(ops.as_tensor([1.5, 2.0]), torch.tensor([1.5, 2.0]))
    x = E.tensor([1.0], dtype=E.float64)
    assert ops.as_tensor(x) is x
    with pytest.raises(TypeError, match=r"^bias must be a Tensor or a number, got set$"):
        ops.as_tensor({1.0}, name="bias")


def test_numbers_with_integer_and_bool_tensors_keep_torchs_result_dtype():
    for dtype in ("int32", "int64"):
        e, t = pair([1, 2, 3], requires_grad=False, dtype=dtype)
        same(e + 2, t + 2)
        same(3 * e, 3 * t)
        same(e == 2, t == 2)
        for op in (lambda a: a * 1.5, lambda a: 1.5 - a, lambda a: a / 2, lambda a: 7 / a):
            same(op(e), op(t))
        f, u = pair([0.5, 1.5, 2.5], requires_grad=False, dtype="float32")
        for op in (lambda a, b: a + b, lambda a, b: b * a, lambda a, b: a / b, lambda a, b: b / a):
            same(op(e, f), op(t, u))
        same(e / e, t / t)
    e, t = pair([True, False], requires_grad=False, dtype="bool")
    same(e * 1.5, t * 1.5)
    same(e * True, t * True)
    same(e + 2, t + 2)
    same(3 * e, 3 * t)
    same(e == 1, t == 1)
    same(E.tensor([2, 3], dtype=np.int32) * True, torch.tensor([2, 3], dtype=torch.int32) * True)


def test_lists_and_arrays_as_operands_take_the_tensor_dtype():
    # Engine contract (torch refuses a list operand): the list becomes a tensor of the
    # other operand's dtype; the expected values are numpy's.
    e = E.tensor(A, dtype=E.float64)
    row = [0.1, 0.2, 0.3]  # not float32 numbers: the list must be read in float64
    for out in (e + row, row + e):
        assert out.dtype == E.float64
        np.testing.assert_array_equal(out.numpy(), np.array(A) + np.array(row))
    out = E.tensor([1.0, 2.0], dtype=E.float32) * np.array([0.5, 0.25])
    assert out.dtype == E.float32
    assert out.tolist() == [0.5, 0.5]
    out = [10.0, 20.0] - E.tensor([1.0, 2.0], dtype=E.float32)
    assert out.dtype == E.float32
    assert out.tolist() == [9.0, 18.0]


def test_operands_that_are_not_numbers_are_named_in_the_error():
    x = E.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"^other must be a Tensor or a number, got str$"):
        x + "1"
    with pytest.raises(TypeError, match=r"^self must be a Tensor or a number, got str$"):
        "1" - x
    with pytest.raises(TypeError, match=r"^other must be a Tensor or a number, got dict$"):
        x < {}  # noqa: B015
    with pytest.raises(TypeError, match=r"^value must be a Tensor or a number, got str$"):
        x[0] = "1"
    with pytest.raises(TypeError, match=r"^source must be a Tensor or a number, got NoneType$"):
        x.copy_(None)


def test_only_inputs_that_require_grad_are_recorded():
    ea, ta = pair(SHAPES[1][0], requires_grad=False)
    eb, tb = pair(SHAPES[1][1], requires_grad=False)
    for op in BINARY.values():
        e_out, t_out = op(ea, eb), op(ta, tb)
        assert e_out.requires_grad is False
        assert e_out.grad_fn is None
        assert t_out.requires_grad is False
    with E.no_grad():
        x = E.tensor(A, requires_grad=True)
        assert not (x * 2).requires_grad
        assert (x * 2).grad_fn is None


# ---------------------------------------------------------------- what each node saves


@pytest.mark.parametrize("op", ["mul", "div", "pow"])
@pytest.mark.parametrize("changed", ["left", "right"])
@pytest.mark.parametrize("needs", [(True, False), (False, True)])
def test_a_node_refuses_only_the_saved_inputs_it_needs_after_they_changed(op, changed, needs):
    # Like torch, mul saves the other operand of each input that needs a gradient, div always
    # saves the divisor: changing (under no_grad) an input the node saved makes backward
    # refuse, changing one it did not save does not.
    ea, ta = pair(SHAPES[1][0], needs[0])
    eb, tb = pair(SHAPES[1][1], needs[1])
    e_out, t_out = BINARY[op](ea, eb), BINARY[op](ta, tb)
    e_target, t_target = (ea, ta) if changed == "left" else (eb, tb)
    with E.no_grad():
        e_target.mul_(2.0)
    with torch.no_grad():
        t_target.mul_(2.0)
    assert e_target._version == t_target._version == 1
    # what torch saves: pow both operands; mul each operand for the other's gradient; div
    # the divisor always and the dividend for the divisor's gradient
    saved = op == "pow" or (needs[1] if changed == "left" else needs[0] or op == "div")
    if saved:
        with pytest.raises(RuntimeError, match=MODIFIED):
            t_out.sum().backward()
        with pytest.raises(RuntimeError, match=MODIFIED):
            e_out.sum().backward()
        return
    t_out.sum().backward()
    e_out.sum().backward()
    same(ea.grad, ta.grad)
    same(eb.grad, tb.grad)


@pytest.mark.parametrize(
    "op", [lambda a: a.exp(), lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: a.relu()]
)
def test_functions_of_their_output_refuse_a_changed_output(op):
    # exp, tanh, sigmoid and relu save their result: changing it before backward is caught.
    ea, ta = pair(A)
    e_out, t_out = op(ea * 1.0), op(ta * 1.0)
    e_out.add_(1.0)
    t_out.add_(1.0)
    assert e_out._version == t_out._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        t_out.sum().backward()
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0"):
        e_out.sum().backward()


@pytest.mark.parametrize(
    "op", [lambda a: a.log(), lambda a: a.abs(), lambda a: a**2, lambda a: a**a]
)
def test_functions_of_their_input_refuse_a_changed_input(op):
    ea, ta = pair(A)
    e_mid, t_mid = ea * 1.0, ta * 1.0
    e_out, t_out = op(e_mid), op(t_mid)
    e_mid.mul_(3.0)
    t_mid.mul_(3.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        t_out.sum().backward()
    with pytest.raises(RuntimeError, match=MODIFIED):
        e_out.sum().backward()


# ---------------------------------------------------------------- powers


def test_power_gradients_at_zero_and_special_exponents():
    # d/da a^0 = 0 everywhere (also at a = 0, where p a^(p-1) would be 0 * inf).
    for exponent in (0, 0.0, 1, 2, 0.5, -2, 3.0):
        ea, ta = pair([0.0, 2.0, 4.0] if exponent in (0, 1, 2, 3.0) else [1.0, 2.0, 4.0])
        e_out, t_out = ea**exponent, ta**exponent
        same_graph(e_out, t_out)
        e_out.sum().backward()
        t_out.sum().backward()
        same(ea.grad, ta.grad)


def test_power_keeps_the_dtype_of_the_tensor():
    for dtype in ("float32", "float64", "int64"):
        e, t = pair([1, 2, 3], requires_grad=False, dtype=dtype)
        same(e**2, t**2)
        if dtype != "int64":
            same(2.0**e, 2.0**t)
            same(e**0.5, t**0.5)


def test_power_rejects_what_it_cannot_differentiate():
    x = E.tensor([1.0, 2.0], requires_grad=True)
    for exponent in ("2", None, True):  # torch accepts True (as 1); the engine refuses bools
        with pytest.raises(TypeError, match=r"^exponent must be a number or a Tensor, got "):
            x**exponent
    for base in (0, -2.0, True):  # d/db c^b = c^b ln c needs c > 0
        with pytest.raises(
            ValueError, match=r"^base must be a positive number when the exponent is a Tensor, got "
        ):
            base**x


def test_tensor_power_gradients_for_both_operands():
    ea, ta = pair([[0.5, 1.5, 2.0]])
    eb, tb = pair([[2.0], [-1.0]])
    e_out, t_out = ea**eb, ta**tb
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    same(eb.grad, tb.grad)


# ---------------------------------------------------------------- unary functions


def test_sigmoid_is_accurate_and_silent_far_from_zero():
    values = [-800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0]
    ea, ta = pair(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from numpy
        e_out = ea.sigmoid()
    t_out = ta.sigmoid()
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_log_outside_its_domain_is_silent_like_torch():
    ea, ta = pair([0.0, -1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e_out = ea.log()
    t_out = ta.log()
    np.testing.assert_array_equal(e_out.detach().numpy(), t_out.detach().numpy())
    assert name(e_out) == name(t_out) == "LogBackward0"


def test_relu_and_abs_have_gradient_zero_at_zero():
    # torch's subgradient choices: relu'(0) = 0 (result > 0), |.|'(0) = sign(0) = 0.
    for op in (lambda a: a.relu(), lambda a: a.abs()):
        ea, ta = pair([-2.0, -0.0, 0.0, 3.0, 1e-300])
        e_out, t_out = op(ea), op(ta)
        same_graph(e_out, t_out)
        backward_both(e_out, t_out)
        same(ea.grad, ta.grad, exact=True)


def test_relu_and_abs_keep_integer_dtypes():
    e, t = pair([-2, 0, 3], requires_grad=False, dtype="int64")
    same(e.relu(), t.relu())
    same(e.abs(), t.abs())
    e, t = pair([-2.5, 0.0, 3.5], requires_grad=False, dtype="float32")
    same(e.relu(), t.relu())
    same(e.abs(), t.abs())


def test_second_derivatives_through_unary_functions():
    # create_graph=True: the backward of each node is recorded and differentiable again.
    ops = [
        lambda a: a.exp(),
        lambda a: a.tanh(),
        lambda a: a.sigmoid(),
        lambda a: (a * a + 1.0).log(),
        lambda a: a**3,
        lambda a: 1.5**a,
        lambda a: a.abs() * a,
        lambda a: a.relu() * a,
        lambda a: 1.0 / a,
        lambda a: (a * a) ** a,
    ]
    for op in ops:
        ea, ta = pair([0.5, -1.25, 2.0])
        (e_g,) = E.grad(op(ea).sum(), [ea], create_graph=True)
        (t_g,) = torch.autograd.grad(op(ta).sum(), [ta], create_graph=True)
        same(e_g, t_g)
        (e_h,) = E.grad((e_g * E.tensor(ROW, dtype=E.float64)).sum(), [ea])
        (t_h,) = torch.autograd.grad((t_g * torch.tensor(ROW, dtype=torch.float64)).sum(), [ta])
        same(e_h, t_h)


# ---------------------------------------------------------------- matrix products

MATMUL = [((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((3,), (3, 4))]


@pytest.mark.parametrize("shapes", MATMUL)
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_matrix_products_match_torch(shapes, needs):
    ea, ta = pair(weight(shapes[0]), needs[0])
    eb, tb = pair(weight(shapes[1])[::-1].copy() + 0.5, needs[1])
    e_out, t_out = ea @ eb, ta @ tb
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    same(eb.grad, tb.grad)
    same(ea.mm(eb) if len(shapes[0]) == 2 else ea.matmul(eb), ta @ tb)


def test_matrix_products_reject_bad_operands():
    m = E.ones(2, 3)
    with pytest.raises(TypeError, match=r"^both operands of @ must be Tensors$"):
        m @ [[1.0], [2.0], [3.0]]
    with pytest.raises(TypeError, match=r"^both operands of @ must be Tensors$"):
        np.ones((3, 2)) @ m
    with pytest.raises(ValueError, match=r"^@ supports 1-D and 2-D tensors, got shapes \("):
        E.ones(2, 2, 3) @ E.ones(3)
    with pytest.raises(ValueError, match=r"^@ supports 1-D and 2-D tensors, got shapes \("):
        E.ones(3) @ E.ones(2, 3, 2)
    with pytest.raises(
        ValueError, match=r"^@ supports 1-D and 2-D tensors, got shapes \(\) and \(1,\)$"
    ):
        E.tensor(1.0) @ E.ones(1)
    for right in (E.ones(2, 3), E.ones(2)):
        with pytest.raises(
            ValueError, match=r"^@: shapes \(2, 3\) and \(2,.*\) cannot be multiplied$"
        ):
            m @ right
        with pytest.raises(RuntimeError):
            torch.ones(2, 3) @ torch.ones(*right.shape)


# ---------------------------------------------------------------- reductions

REDUCTIONS = [None, 0, 1, -1, -2, (0, 1), (1, 0), (-1,), [0]]


@pytest.mark.parametrize("dim", REDUCTIONS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reductions_match_torch(dim, keepdim, reduction):
    ea, ta = pair(weight((2, 3)))
    if dim is None:
        e_out, t_out = getattr(ea, reduction)(), getattr(ta, reduction)()
    else:
        e_out = getattr(ea, reduction)(dim, keepdim)
        t_out = getattr(ta, reduction)(dim, keepdim=keepdim)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_reductions_of_zero_dimensional_and_three_dimensional_tensors():
    ea, ta = pair(3.5)
    for dim in (0, -1):
        same_graph(ea.sum(dim), ta.sum(dim))
        same_graph(ea.mean(dim, True), ta.mean(dim, keepdim=True))
    ea, ta = pair(weight((2, 3, 4)))
    for dim in ((0, 2), 1, (-1, -3)):
        e_out, t_out = ea.mean(dim), ta.mean(dim)
        same_graph(e_out, t_out)
        backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_sums_keep_the_dtype_and_means_need_floats():
    for dtype in ("float32", "int64"):
        e, t = pair([[1, 2, 3], [4, 5, 6]], requires_grad=False, dtype=dtype)
        same(e.sum(), t.sum())
        same(e.sum(1), t.sum(1))
    same(*(x.mean(0) for x in pair(A, requires_grad=False, dtype="float32")))
    for dtype in (E.int64, E.bool_):
        with pytest.raises(
            TypeError, match=f"^mean needs a floating-point tensor, got dtype {dtype}$"
        ):
            E.ones(2, dtype=dtype).mean()
    with pytest.raises(RuntimeError):  # torch refuses too, with a RuntimeError
        torch.ones(2, dtype=torch.int64).mean()


def test_reduction_dims_out_of_range_are_index_errors_like_torch():
    x, t = pair(A)
    for dim in (2, -3):
        with pytest.raises(IndexError, match=r"^dim must be an int in \[-2, 1\], got"):
            x.sum(dim)
        with pytest.raises(IndexError):
            t.sum(dim)
    for dim in (True, "0", (0, 1.0)):  # the engine refuses what is not an int
        with pytest.raises(IndexError, match=r"^dim must be an int in \[-2, 1\], got"):
            x.mean(dim)
    with pytest.raises(IndexError, match=r"^dim must be an int in \[-0, -1\], got 1$"):
        E.tensor(1.0).sum(1)
    with pytest.raises(IndexError):
        E.tensor(1.0).sum(-2)


def test_gradient_of_a_reduction_is_differentiable_again():
    # x.sum() * c: d/dx = c everywhere, an expansion of c; d/dc of sum(v * d/dx) = sum(v).
    for reduce in (lambda x: x.sum(), lambda x: x.mean(1), lambda x: x.sum((0, 1), True)):
        ex, tx = pair(A)
        ec, tc = pair(2.5)
        (e_g,) = E.grad((reduce(ex) * ec).sum(), [ex], create_graph=True)
        (t_g,) = torch.autograd.grad((reduce(tx) * tc).sum(), [tx], create_graph=True)
        same(e_g, t_g)
        v = weight((2, 3))
        (e_h,) = E.grad((e_g * E.tensor(v, dtype=E.float64)).sum(), [ec])
        (t_h,) = torch.autograd.grad((t_g * torch.tensor(v)).sum(), [tc])
        same(e_h, t_h)


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "shape", [(6,), (3, 2), (-1,), (3, -1), (-1, 1), ((2, 3),), ([6],), ((1, -1),), (1, 6, 1)]
)
def test_reshape_and_view_match_torch(shape):
    ea, ta = pair(A)
    for method in ("reshape", "view"):
        e_out, t_out = getattr(ea, method)(*shape), getattr(ta, method)(*shape)
        same_graph(e_out, t_out)
        backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_reshape_of_a_transpose_copies_and_view_refuses():
    ea, ta = pair(A)
    e_out, t_out = ea.t().reshape(6), ta.t().reshape(6)
    same_graph(e_out, t_out)  # UnsafeViewBackward0: a copy
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    fragment = "view size is not compatible with input tensor's size and stride"
    with pytest.raises(RuntimeError, match=fragment):
        ta.t().view(6)
    with pytest.raises(
        RuntimeError, match=rf"^{fragment}: .*; use \.reshape\(\.\.\.\), which copies$"
    ):
        ea.t().view(6)
    with E.no_grad():  # the copy is new memory, the view is not
        copy, view = ea.t().reshape(6), ea.reshape(6)
        copy.mul_(0.0)
        assert ea.tolist() == A
        view.mul_(2.0)
    assert ea._version == 1
    np.testing.assert_array_equal(ea.detach().numpy(), 2 * np.array(A))


def test_bad_shapes_are_refused_like_torch():
    ea, ta = pair(A)
    for shape in ((4, 4), (-1, 4), (-2, -3), (5,), (0, -1), (2, -2, -3), (-2, -1, 3)):
        with pytest.raises(RuntimeError):
            ta.reshape(*shape)
        with pytest.raises(RuntimeError, match=r"^shape '\[.*\]' is invalid for input of size 6$"):
            ea.reshape(*shape)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 6"):
        ta.view(4, 4)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 6"):
        ea.view(4, 4)
    for shape in ((-1, -1), (-1, 2, -1)):
        with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
            ta.view(*shape)
        with pytest.raises(RuntimeError, match=r"^only one dimension can be inferred \(at most"):
            ea.view(*shape)
    for shape in ((2.0, 3), (True, 6), ("6",)):
        with pytest.raises(TypeError, match=r"^shape must be ints, got \("):
            ea.reshape(*shape)
    zero = E.zeros(0, 3)
    with pytest.raises(RuntimeError):  # -1 could be any size
        torch.zeros(0, 3).reshape(3, 0, -1)
    with pytest.raises(
        RuntimeError, match=r"^shape '\[3, 0, -1\]' is invalid for input of size 0$"
    ):
        zero.reshape(3, 0, -1)
    assert zero.reshape(-1).shape == tuple(torch.zeros(0, 3).reshape(-1).shape)
    assert zero.view(3, 0).shape == tuple(torch.zeros(0, 3).view(3, 0).shape)


@pytest.mark.parametrize(
    "op",
    [
        lambda a: a.transpose(0, 1),
        lambda a: a.transpose(-1, 0),
        lambda a: a.transpose(1, 1),
        lambda a: a.t(),
        lambda a: a.T,
        lambda a: a.T.T,
    ],
)
def test_transposes_match_torch_and_share_memory(op):
    ea, ta = pair(A)
    e_out, t_out = op(ea), op(ta)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    with E.no_grad():
        op(ea).mul_(2.0)
    with torch.no_grad():
        op(ta).mul_(2.0)
    same(ea, ta)
    assert ea._version == ta._version


def test_transposes_of_three_and_zero_dimensional_tensors():
    ea, ta = pair(weight((2, 3, 4)))
    for dims in ((0, 2), (2, 1), (-1, -3)):
        e_out, t_out = ea.transpose(*dims), ta.transpose(*dims)
        same_graph(e_out, t_out)
        backward_both(e_out, t_out)
    e_out, t_out = ea.T, ta.permute(2, 1, 0)
    same(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    ea, ta = pair(2.0)
    same(ea.transpose(0, -1), ta.transpose(0, -1))
    with pytest.raises(IndexError):
        ta.transpose(0, 1)
    with pytest.raises(IndexError, match="dim must be an int"):
        ea.transpose(0, 1)


# ---------------------------------------------------------------- indexing

KEYS = [
    0,
    -1,
    (1, 2),
    (1, -1),
    slice(1, None),
    (slice(None), 0),
    (slice(None), slice(0, 3, 2)),
    (Ellipsis, 1),
    np.int64(1),
    [1, 0, 1],
    ([0, 1, 1], [2, 0, 0]),
    (slice(None), [2, 2, 0]),
    "mask",
    "index_tensor",
]


def _key(key: Any, module: Any) -> Any:
    if isinstance(key, str) and key == "mask":
        return module.tensor([[True, False, True], [False, True, True]])
    if isinstance(key, str):
        return module.tensor([1, 1, 0])
    return key


@pytest.mark.parametrize("key", range(len(KEYS)))
def test_indexing_matches_torch_values_gradients_and_nodes(key):
    ea, ta = pair(A)
    e_out, t_out = ea[_key(KEYS[key], E)], ta[_key(KEYS[key], torch)]
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)  # repeated indices add up


def test_basic_indexing_gives_views_and_advanced_indexing_copies():
    ea, ta = pair(A, requires_grad=False)
    for key in (0, (1, 2), slice(0, 1), [0, 1]):
        e_out, t_out = ea[key], ta[key]
        e_out.mul_(10.0)
        t_out.mul_(10.0)
        same(ea, ta)
        assert ea._version == ta._version
        assert e_out._version == t_out._version


def test_negative_and_zero_slice_steps_are_refused():
    ea, ta = pair(A)
    for step in (-1, 0):
        with pytest.raises(ValueError):
            ta[::step]
        with pytest.raises(ValueError, match=f"^slice step must be positive, got {step}$"):
            ea[::step]
        with pytest.raises(ValueError, match="slice step must be positive"):
            ea[0, ::step]
    same(ea[::1], ta[::1])


def test_gradient_of_indexing_is_differentiable_again():
    # grad of sum(w * x[idx]) w.r.t. x scatters w (repeated indices add up); its gradient
    # w.r.t. w gathers v back from the same places.
    for key in ([0, 0, 2], (slice(1, None),), 1, ([1, 1], [0, 0])):
        ex, tx = pair(weight((3, 2)))
        ew, tw = pair(np.ones(np.empty((3, 2))[key].shape) * 1.5)
        (e_g,) = E.grad((ex[key] * ew).sum(), [ex], create_graph=True)
        (t_g,) = torch.autograd.grad((tx[key] * tw).sum(), [tx], create_graph=True)
        same(e_g, t_g)
        v = weight((3, 2))
        (e_h,) = E.grad((e_g * E.tensor(v, dtype=E.float64)).sum(), [ew])
        (t_h,) = torch.autograd.grad((t_g * torch.tensor(v)).sum(), [tw])
        same(e_h, t_h)


# ---------------------------------------------------------------- index assignment

ASSIGNMENTS = [  # (key, value shape): the value is broadcast into a[key]
    (0, (3,)),
    (0, ()),
    ((slice(None), 1), (2,)),
    ((slice(None), 1), (1,)),
    (slice(0, 2), (1, 3)),
    (slice(1, 2), (3,)),
    (1, (1, 3)),  # leading ones of the value are dropped
    ((1, slice(None)), (1, 1, 3)),
    ([1, 0], (2, 3)),
    (([0, 1], [2, 0]), ()),
    ((1, 2), ()),
    (Ellipsis, (3,)),
]


@pytest.mark.parametrize("case", range(len(ASSIGNMENTS)))
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_index_assignment_matches_torch(case, needs):
    key, value_shape = ASSIGNMENTS[case]
    ea, ta = pair(A, needs[0])
    ev, tv = pair(weight(value_shape) + 10.0, needs[1])
    e_b, t_b = ea * 1.0, ta * 1.0  # a non-leaf (when a requires grad) to assign into
    e_b[key] = ev
    t_b[key] = tv
    same(e_b, t_b)
    assert e_b.requires_grad == t_b.requires_grad
    # torch names an assignment that covers a whole tensor CopyBackwards, and one at tensor
    # indices IndexPutBackward0; the engine records every assignment as CopySlices
    assert name(e_b) == (None if t_b.grad_fn is None else "CopySlices")
    assert e_b._version == t_b._version == 1
    if not t_b.requires_grad:
        return
    backward_both(e_b, t_b)
    same(ea.grad, ta.grad)
    same(ev.grad, tv.grad)


def test_index_assignment_of_numbers_and_lists_takes_the_tensor_dtype():
    for dtype in ("float32", "float64", "int64"):
        ea, ta = pair([[1, 2, 3], [4, 5, 6]], requires_grad=False, dtype=dtype)
        ea[0] = 7
        ta[0] = 7
        ea[1, 1:] = [8, 9]
        ta[1, 1:] = torch.tensor([8, 9])
        same(ea, ta)
        assert ea._version == ta._version == 2


def test_index_assignment_into_a_leaf_that_requires_grad_is_refused():
    ea, ta = pair(A)
    with pytest.raises(RuntimeError, match=LEAF_IN_PLACE):
        ta[0] = 1.0
    with pytest.raises(RuntimeError, match=rf"^{LEAF_IN_PLACE} \(index assignment\){HOW}"):
        ea[0] = 1.0
    # nothing changed: same values, still a leaf, version 0
    same(ea, ta)
    assert ea.is_leaf
    assert ea._version == ta._version == 0
    with E.no_grad():
        ea[0] = 1.0
    with torch.no_grad():
        ta[0] = 1.0
    same(ea, ta)
    assert ea.is_leaf
    assert ea.grad_fn is None
    assert ea._version == ta._version == 1


def test_assigning_a_tensor_that_requires_grad_into_a_plain_leaf_records_it():
    ea, ta = pair(A, requires_grad=False)
    ev, tv = pair(ROW)
    ea[1] = ev * 2.0
    ta[1] = tv * 2.0
    same_graph(ea, ta)
    assert ea.is_leaf is ta.is_leaf is False
    backward_both(ea, ta)
    same(ev.grad, tv.grad)


def test_index_assignment_that_does_not_fit_is_refused():
    ea, ta = pair(A, requires_grad=False)
    with pytest.raises(RuntimeError):
        ta[0] = torch.ones(2)
    with pytest.raises(ValueError):  # numpy's broadcasting error; torch: RuntimeError
        ea[0] = E.ones(2)


# ---------------------------------------------------------------- in-place operations

IN_PLACE: dict[str, Callable[[Any], Any]] = {
    "add_": lambda a: a.add_(2.0),
    "sub_": lambda a: a.sub_(0.5),
    "mul_": lambda a: a.mul_(3.0),
    "div_": lambda a: a.div_(4.0),
    "exp_": lambda a: a.exp_(),
    "fill_": lambda a: a.fill_(1.5),
    "zero_": lambda a: a.zero_(),
    "copy_": lambda a: a.copy_(torch.ones(3) if isinstance(a, torch.Tensor) else E.ones(3)),
    "iadd": lambda a: a.__iadd__(1.0),
    "isub": lambda a: a.__isub__(1.0),
    "imul": lambda a: a.__imul__(2.0),
    "itruediv": lambda a: a.__itruediv__(2.0),
}

WHAT = {"zero_": "fill_", "iadd": "add_", "isub": "sub_", "imul": "mul_", "itruediv": "div_"}


@pytest.mark.claim("AG-LEAF-INPLACE.error")
@pytest.mark.parametrize("op", sorted(IN_PLACE))
def test_in_place_operations_on_a_leaf_that_requires_grad_are_refused(op):
    ea, ta = pair(A)
    with pytest.raises(RuntimeError, match=LEAF_IN_PLACE):
        IN_PLACE[op](ta)
    # the engine names the operation (its own wording)
    what = WHAT.get(op, op)
    with pytest.raises(RuntimeError, match=rf"^{LEAF_IN_PLACE} \({what}\){HOW}"):
        IN_PLACE[op](ea)
    same(ea, ta)
    assert ea._version == ta._version == 0
    assert ea.is_leaf
    assert ea.requires_grad


@pytest.mark.claim("AG-VERSION")
@pytest.mark.parametrize("op", sorted(IN_PLACE))
def test_in_place_operations_on_a_non_leaf_extend_its_history(op):
    ea, ta = pair(A)
    e_b, t_b = ea * 1.5, ta * 1.5
    assert IN_PLACE[op](e_b) is e_b
    assert IN_PLACE[op](t_b) is t_b
    assert e_b._version == t_b._version == 1
    same(e_b, t_b)
    assert e_b.requires_grad
    assert not e_b.is_leaf
    if op not in ("zero_",):  # torch names zero_ ZeroBackward0, the engine FillBackward2
        assert name(e_b) == name(t_b)
    backward_both(e_b, t_b)
    same(ea.grad, ta.grad)


@pytest.mark.parametrize("op", sorted(IN_PLACE))
def test_in_place_operations_under_no_grad_change_values_not_history(op):
    ea, ta = pair(A)
    e_b, t_b = ea * 1.5, ta * 1.5
    with E.no_grad():
        IN_PLACE[op](e_b)
        IN_PLACE[op](ea)
    with torch.no_grad():
        IN_PLACE[op](t_b)
        IN_PLACE[op](ta)
    same_graph(e_b, t_b)
    same(ea, ta)
    assert ea.is_leaf
    assert ea.grad_fn is None
    assert e_b._version == t_b._version == ea._version == ta._version == 1


def test_in_place_operation_with_an_input_that_requires_grad_records_it():
    ea, ta = pair(A, requires_grad=False)
    ew, tw = pair(ROW)
    ea.mul_(ew)
    ta.mul_(tw)
    same_graph(ea, ta)
    ea.add_(ew)
    ta.add_(tw)
    same_graph(ea, ta)
    backward_both(ea, ta)
    same(ew.grad, tw.grad)
    assert ea._version == ta._version == 2


def test_in_place_operation_keeps_the_dtype_of_its_target():
    e, t = pair(A, requires_grad=False, dtype="float32")
    e.add_(E.tensor(ROW, dtype=E.float64))
    t.add_(torch.tensor(ROW, dtype=torch.float64))
    same(e, t)
    e, t = pair([1, 2, 3], requires_grad=False, dtype="int64")
    e.mul_(E.tensor([2, 3, 4]))
    t.mul_(torch.tensor([2, 3, 4]))
    same(e, t)


def test_in_place_result_that_does_not_fit_is_refused():
    ea, ta = pair(ROW, requires_grad=False)
    with pytest.raises(RuntimeError):
        ta.add_(torch.ones(2, 3))
    with pytest.raises(
        RuntimeError, match=r"^add_: the result has shape \(2, 3\), which does not fit in \(3,\)$"
    ):
        ea.add_(E.ones(2, 3))
    assert ea._version == 0


def test_in_place_changes_through_views_bump_the_shared_version():
    ea, ta = pair(A, requires_grad=False)
    e_v, t_v = ea[0], ta[0]
    e_v.add_(1.0)
    t_v.add_(1.0)
    e_r, t_r = ea.view(6), ta.view(6)
    e_r.mul_(2.0)
    t_r.mul_(2.0)
    same(ea, ta)
    assert ea._version == e_v._version == e_r._version == ta._version == 2
    e_d, t_d = ea.detach(), ta.detach()
    e_d.zero_()
    t_d.zero_()
    assert ea._version == ta._version == 3
    e_c, t_c = ea.clone(), ta.clone()
    e_c.fill_(5.0)
    t_c.fill_(5.0)
    assert ea._version == ta._version == 3
    same(ea, ta)
    same(e_c, t_c)


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_refused():
    ea, ta = pair(A)
    for key in (0, slice(1, 2)):
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            ta[key].mul_(2.0)
        with pytest.raises(RuntimeError, match=rf"^a view of {LEAF_IN_PLACE} \(mul_\){HOW}"):
            ea[key].mul_(2.0)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        ea.view(6)[0] = 1.0
    same(ea, ta)
    assert ea._version == ta._version == 0
    with E.no_grad():
        ea[0].mul_(2.0)
    with torch.no_grad():
        ta[0].mul_(2.0)
    same(ea, ta)


def test_in_place_on_a_view_of_a_non_leaf_is_refused_by_the_engine():
    # Engine contract: torch rebases the view's history, the engine refuses it instead.
    ea, ta = pair(A)
    e_b, t_b = ea * 1.0, ta * 1.0
    t_b[0].mul_(2.0)  # torch: allowed
    with pytest.raises(
        RuntimeError,
        match=r"^exp_ on a view of a tensor that requires grad is not supported by this engine; "
        r"change the tensor itself or clone the view first$",
    ):
        e_b[0].exp_()
    assert e_b._version == 0
    e_v = e_b[0]
    with E.no_grad():
        e_v.mul_(2.0)  # but not under no_grad
    assert e_b._version == 1
    e_v = E.tensor(A).view(6)  # nor on a view of a tensor that does not require grad
    e_v.add_(1.0)
    assert e_v._version == 1


@pytest.mark.claim("AG-VERSION")
def test_the_version_counter_catches_an_assignment_to_a_saved_tensor():
    ea, ta = pair([1.0, 2.0, 3.0, 4.0])
    e_b, t_b = ea + 2, ta + 2
    e_loss, t_loss = (e_b * e_b).mean(), (t_b * t_b).mean()
    assert e_b._version == t_b._version == 0
    e_b[0] = 1000
    t_b[0] = 1000
    assert e_b._version == t_b._version == 1
    with pytest.raises(RuntimeError, match=rf"{MODIFIED}.*version 1; expected version 0"):
        t_loss.backward()
    with pytest.raises(RuntimeError, match=rf"{MODIFIED}.*version 1; expected version 0"):
        e_loss.backward()


# ---------------------------------------------------------------- joining, types, copies


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cat_matches_torch(dim):
    parts = [weight((2, 3)), weight((2, 3)) + 5.0, weight((2, 3))[::-1].copy()]
    if dim in (1, -1):
        parts[1] = weight((2, 1)) + 5.0
    pairs = [pair(p, requires_grad=i != 1) for i, p in enumerate(parts)]
    e_out = E.cat([e for e, _ in pairs], dim)
    t_out = torch.cat([t for _, t in pairs], dim)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    for e, t in pairs:
        same(e.grad, t.grad)


def test_cat_of_three_dimensional_tensors_along_the_last_dimension():
    pairs = [pair(weight((2, 2, n)) * n) for n in (1, 3)]
    e_out = E.cat(tuple(e for e, _ in pairs), dim=2)
    t_out = torch.cat(tuple(t for _, t in pairs), dim=2)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    for e, t in pairs:
        same(e.grad, t.grad)
    same(E.cat([pairs[0][0]]), torch.cat([pairs[0][1]]))


def test_cat_rejects_what_is_not_a_list_of_tensors():
    x = E.ones(2)
    for bad in (x, [], (), iter([x]), None):
        with pytest.raises(TypeError, match=r"^tensors must be a non-empty list of Tensors$"):
            E.cat(bad)
    with pytest.raises(TypeError, match=r"^tensors\[1\] must be a Tensor, got list$"):
        E.cat([x, [1.0]])
    with pytest.raises(IndexError, match="dim must be an int"):
        E.cat([x, x], 1)
    with pytest.raises(ValueError):
        E.cat([x, E.ones(2, 1)])


@pytest.mark.parametrize("dtype", [E.float32, E.float64, E.int64, E.bool_])
def test_conversions_match_torch(dtype):
    ea, ta = pair([[1.5, -2.0, 0.0], [0.25, 3.0, -1.0]])
    t_dtype = getattr(torch, "bool" if dtype == E.bool_ else str(dtype))
    e_out, t_out = ea.to(dtype), ta.to(t_dtype)
    same_graph(e_out, t_out)
    assert (e_out is ea) == (t_out is ta)
    if t_out.requires_grad and t_out is not ta:
        backward_both(e_out, t_out)
        same(ea.grad, ta.grad)
        assert ea.grad.dtype == E.float64
    assert ea.to(None) is ea
    same(ea.double(), ta.double())
    same(ea.float(), ta.float())
    same(ea.long(), ta.long())


def test_clone_is_new_memory_on_the_graph():
    ea, ta = pair(A)
    e_c, t_c = ea.clone(), ta.clone()
    same_graph(e_c, t_c)
    e_c.mul_(2.0)
    t_c.mul_(2.0)
    same(ea, ta)
    assert ea._version == ta._version == 0
    backward_both(e_c, t_c)
    same(ea.grad, ta.grad)
    e, t = pair([1, 2], requires_grad=False, dtype="int64")
    same_graph(e.clone(), t.clone())


@pytest.mark.parametrize(
    "source",
    [
        lambda m: m.tensor([0.5, -1.5, 2.0], dtype=m.float64, requires_grad=True),
        lambda m: m.tensor([[0.5], [-1.5]], dtype=m.float32, requires_grad=True),
        lambda m: m.tensor(2.5, dtype=m.float64, requires_grad=True),
        lambda m: m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=m.float64),
        lambda m: m.tensor([1, 2, 3]),
    ],
)
@pytest.mark.parametrize("target_needs", [True, False])
def test_copy_into_a_tensor_matches_torch(source, target_needs):
    ea, ta = pair(A, requires_grad=target_needs)
    e_src, t_src = source(E), source(torch)
    e_b, t_b = ea * 1.0, ta * 1.0
    e_b.copy_(e_src)
    t_b.copy_(t_src)
    same_graph(e_b, t_b)
    assert e_b._version == t_b._version == 1
    if t_b.requires_grad:
        backward_both(e_b, t_b)
        same(ea.grad, ta.grad)
        same(e_src.grad, t_src.grad)


def test_copy_of_a_number_broadcasts_it():
    ea, ta = pair(A, requires_grad=False, dtype="float32")
    ea.copy_(2.5)
    ta.copy_(torch.tensor(2.5))
    same(ea, ta)


def test_fill_gives_a_zero_gradient():
    ea, ta = pair(A)
    e_b, t_b = ea * 2.0, ta * 2.0
    e_b.fill_(3.0)
    t_b.fill_(3.0)
    same_graph(e_b, t_b)
    backward_both(e_b * ea, t_b * ta)
    same(ea.grad, ta.grad)


# operator.lt(a, b) is a < b: the six comparisons as Python spells them, reflected included
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(operator, name) for name in ("eq", "ne", "lt", "le", "gt", "ge")
}


@pytest.mark.claim("AG-PROPAGATE.integer-results")
@pytest.mark.parametrize("op", sorted(COMPARISONS))
def test_comparisons_are_bool_tensors_that_never_require_grad(op):
    ea, ta = pair([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    eb, tb = pair([2.0, 2.0, 2.0])
    for e_out, t_out in (
        (COMPARISONS[op](ea, eb), COMPARISONS[op](ta, tb)),
        (COMPARISONS[op](ea, 2), COMPARISONS[op](ta, 2)),
        (COMPARISONS[op](ea, 2.0), COMPARISONS[op](ta, 2.0)),
        (COMPARISONS[op](2.0, ea), COMPARISONS[op](2.0, ta)),
    ):
        same_graph(e_out, t_out)
        assert e_out.is_leaf


@pytest.mark.claim("AG-PROPAGATE.integer-results")
def test_argmax_is_an_int64_tensor_that_never_requires_grad():
    ea, ta = pair([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    for dim in (None, 0, 1, -1):
        same_graph(ea.argmax(dim), ta.argmax(dim))
    same_graph(ea.argmax(), ta.argmax())


# ---------------------------------------------------------------- integer inputs, float32 gradients


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_functions_of_integer_tensors_are_float32_like_torch(dtype):
    values = [True, False] if dtype == "bool" else [1, 0, 2]
    e, t = pair(values, requires_grad=False, dtype=dtype)
    for op in (lambda a: a.exp(), lambda a: a.log(), lambda a: a.tanh(), lambda a: a.sigmoid()):
        e_out, t_out = op(e), op(t)
        assert e_out.dtype == E.float32
        np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-6)
    if dtype != "bool":
        for op in (lambda a: a.relu(), lambda a: a.abs(), lambda a: a**2, lambda a: 2**a):
            same(op(e), op(t))
        for op in (lambda a: a**0.5, lambda a: 2.5**a, lambda a: a**1.0):
            e_out, t_out = op(e), op(t)
            assert e_out.dtype == E.float32
            np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-6)


FLOAT32_OPS: list[Callable[[Any, Any], Any]] = [
    lambda a, b: a[[1, 0, 1]] * b[0],
    lambda a, b: a[:, 1:] + b[:, :1],
    lambda a, b: a.sum(0) * b.mean(1, keepdim=True),
    lambda a, b: (a - b[0]) / (b * b + 1.0),
    lambda a, b: a.T @ b,
    lambda a, b: (a.reshape(3, 2) ** 2) ** b[0, :2],
    lambda a, b: E.cat([a, b], 1) if isinstance(a, E.Tensor) else torch.cat([a, b], 1),
    lambda a, b: (a.double() * 2.0).float() * b,
    lambda a, b: a.sigmoid() * b.tanh() + a.exp() + b.relu() + a.abs() + 1.5**b,
]


@pytest.mark.parametrize("op", range(len(FLOAT32_OPS)))
def test_float32_gradients_stay_float32(op):
    ea, ta = pair(A, dtype="float32")
    eb, tb = pair(weight((2, 3)), dtype="float32")
    e_out, t_out = FLOAT32_OPS[op](ea, eb), FLOAT32_OPS[op](ta, tb)
    assert str(e_out.dtype) == str(t_out.dtype).removeprefix("torch.")
    backward_both(e_out, t_out)
    for e, t in ((ea, ta), (eb, tb)):
        assert e.grad.dtype == E.float32
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_powers_of_one_and_reductions_of_vectors():
    ea, ta = pair([0.5, -1.0, 2.0])
    e_out, t_out = 1**ea + ea.sum(-1) + ea.mean(0, keepdim=True), 1**ta + ta.sum(-1)
    t_out = t_out + ta.mean(0, keepdim=True)
    same_graph(e_out, t_out)
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)


def test_copy_from_is_the_source_in_the_targets_shape_and_dtype():
    # ops.copy_from is what copy_ writes: the source broadcast to the target's shape and dtype
    target = E.zeros(2, 3, dtype=E.float64)
    out = ops.copy_from(target, E.tensor([1, 2, 3]))
    assert out.dtype == E.float64
    assert out.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    assert ops.copy_from(E.zeros(2, dtype=E.int64), 2.75).tolist() == [2, 2]


def test_assignments_and_copies_cast_into_integer_tensors_like_torch():
    e, t = pair([1, 2, 3], requires_grad=False, dtype="int64")
    e[0] = 7.9
    t[0] = 7.9
    e.copy_(E.tensor([[4.5, -5.5, 6.25]], dtype=E.float64)[0])
    t.copy_(torch.tensor([[4.5, -5.5, 6.25]], dtype=torch.float64)[0])
    e[1:] = E.tensor([8.5, 9.5])
    t[1:] = torch.tensor([8.5, 9.5])
    same(e, t)
    e.fill_(2.5)
    t.fill_(2.5)
    same(e, t)


def test_second_derivatives_through_assignments_copies_and_cat():
    def program(m: Any, x: Any, v: Any, c: Any) -> Any:
        y = x * x
        y[0] = v * v
        z = y * 1.0
        z[1, 1:] = v[1:] * c
        w = x * 1.0
        w.copy_(z * c)
        parts = m.cat([w, x * c], 1)
        return (parts * parts).sum()

    ex, tx = pair(A)
    ev, tv = pair(ROW)
    ec, tc = pair(1.25)
    e_grads = E.grad(program(E, ex, ev, ec), [ex, ev, ec], create_graph=True)
    t_grads = torch.autograd.grad(program(torch, tx, tv, tc), [tx, tv, tc], create_graph=True)
    for e_g, t_g in zip(e_grads, t_grads, strict=True):
        same(e_g, t_g)
    e_s = sum((g * g).sum() for g in e_grads)
    t_s = sum((g * g).sum() for g in t_grads)
    for e_h, t_h in zip(
        E.grad(e_s, [ex, ev, ec]), torch.autograd.grad(t_s, [tx, tv, tc]), strict=True
    ):
        same(e_h, t_h)


def test_numbers_are_not_rounded_to_float32_next_to_float64_tensors():
    # 0.1 is not a float32 number: a float64 tensor must meet it in float64, as in torch.
    ea, ta = pair([0.1, 0.2], requires_grad=False)
    same(ea == 0.1, ta == 0.1)
    same(ea < 0.1, ta < 0.1)
    same(ea + 0.1, ta + 0.1, exact=True)
    same(0.1 * ea, 0.1 * ta, exact=True)
    ea[1] = 0.1
    ta[1] = 0.1
    same(ea, ta, exact=True)
    ea.copy_(0.3)
    ta.copy_(torch.tensor(0.3, dtype=torch.float64))
    same(ea, ta, exact=True)
    ea.fill_(0.7)
    ta.fill_(0.7)
    same(ea, ta, exact=True)
    same(ea**0.1, ta**0.1, exact=True)
    same(0.1**ea, 0.1**ta)


def test_the_ops_functions_defaults_are_torchs():
    # reference.engine.ops is public: its functions called without the optional arguments
    ea, ta = pair(A)
    same_graph(ops.sum(ea), ta.sum())
    same_graph(ops.sum(ea, 1), ta.sum(1))
    same_graph(ops.mean(ea), ta.mean())
    same_graph(ops.mean(ea, 0), ta.mean(0))
    same_graph(ops.transpose(ea, 0, 1), ta.transpose(0, 1))
    same_graph(ops.cat([ea, ea * 2.0]), torch.cat([ta, ta * 2.0]))
    same(ops.as_tensor(1.5), torch.tensor(1.5))
    with pytest.raises(TypeError, match=r"^other must be a Tensor or a number, got str$"):
        ops.as_tensor("1.5")


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reducing_everything_can_keep_the_dimensions(reduction):
    ea, ta = pair(weight((2, 3)))
    e_out = getattr(ea, reduction)(None, True)
    t_out = getattr(ta, reduction)(None, keepdim=True)
    same(e_out, t_out)  # torch names an explicit dim=None SumBackward1/MeanBackward1
    backward_both(e_out, t_out)
    same(ea.grad, ta.grad)
    ea, ta = pair(2.5)
    same(getattr(ea, reduction)(0, True), getattr(ta, reduction)(0, keepdim=True))


def test_in_place_results_of_a_higher_kind_are_refused_like_torch():
    cases = [
        ("int64", [1, 2], lambda a: a.add_(1.5), "add_", "float32", "int64"),
        ("int64", [1, 2], lambda a: a.div_(2), "div_", "float32", "int64"),
        ("bool", [True, False], lambda a: a.add_(1), "add_", "int64", "bool"),
        ("int64", [1, 2], lambda a: a.exp_(), "exp_", "float32", "int64"),
    ]
    for dtype, values, op, what, result, target in cases:
        e, t = pair(values, requires_grad=False, dtype=dtype)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            op(t)
        with pytest.raises(
            RuntimeError,
            match=rf"^{what}: result type {result} can't be cast to the desired output type "
            rf"{target}$",
        ):
            op(e)
        same(e, t)
        assert e._version == t._version == 0
    for dtype, other in (("int32", [1, 2]), ("float32", [0.5, 0.25]), ("int64", [True, False])):
        e, t = pair([3, 4], requires_grad=False, dtype=dtype)
        e.mul_(E.tensor(other))
        t.mul_(torch.tensor(other))
        same(e, t)


def test_an_integer_operand_saved_for_backward_is_still_watched():
    # the integer tensor is used in float: changing it in place still makes backward refuse
    ea, ta = pair([0.5, 1.5])
    e_n, t_n = E.tensor([2, 3]), torch.tensor([2, 3])
    e_out, t_out = ea * e_n, ta * t_n
    same_graph(e_out, t_out)
    e_n.add_(1)
    t_n.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        t_out.sum().backward()
    with pytest.raises(RuntimeError, match=MODIFIED):
        e_out.sum().backward()


def test_only_the_gradients_that_are_needed_are_computed():
    # Like torch, a node computes no gradient for an input that does not require grad: here
    # the unneeded one would overflow (a warning, an error under these specs).
    cases = [  # (a, b, needs, op, the weight of the output)
        ([1e-200], [-1.0], (False, True), lambda a, b: a**b, [1.0]),
        ([0.0, 2.0], [2.0, 3.0], (True, False), lambda a, b: a**b, [1.0, 1.0]),
        ([1e-100], [1e-10], (False, True), lambda a, b: a / b, [1e300]),
    ]
    for a, b, needs, op, v in cases:
        ea, ta = pair(a, needs[0])
        eb, tb = pair(b, needs[1])
        e_out, t_out = op(ea, eb), op(ta, tb)
        t_out.backward(torch.tensor(v, dtype=torch.float64))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            e_out.backward(E.tensor(v, dtype=E.float64))
        same(ea.grad, ta.grad)
        same(eb.grad, tb.grad)


@pytest.mark.parametrize(
    "dtypes",
    [
        ("float32", "float64"),
        ("float64", "float32"),
        ("int32", "int64"),
        ("int64", "int32"),
        ("bool", "int32"),
        ("int32", "float32"),
    ],
)
def test_tensors_of_two_dtypes_promote_like_torch(dtypes):
    ea, ta = pair([[1, 2, 3], [4, 5, 6]], requires_grad=False, dtype=dtypes[0])
    eb, tb = pair([1, 0, 2], requires_grad=False, dtype=dtypes[1])
    for op in (lambda a, b: a + b, lambda a, b: b * a, lambda a, b: a - b):
        if "bool" in dtypes and op(1, 1) == 0:  # torch refuses subtraction with bools
            continue
        same(op(ea, eb), op(ta, tb))
    e_out, t_out = ea / (eb + 1), ta / (tb + 1)
    same(e_out, t_out)
