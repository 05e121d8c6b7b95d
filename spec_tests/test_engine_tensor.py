"""Specs of the engine's Tensor, backward pass, nodes and grad modes, against PyTorch.

Each spec runs the same small program on ``reference.engine`` and on ``torch`` (the oracle)
and compares what a user can observe: values, dtypes, shapes, gradients and how they
accumulate, ``retain_graph``/``create_graph``, hooks (order, replacement, removal),
``retain_grad``, the non-leaf ``.grad`` warning, grad modes, in-place rules, ``repr`` and
the Python protocol methods (comparisons, ``len``, ``bool``, ``float``, ``hash``).

Errors: where the engine mimics a PyTorch error, the spec matches the fragment both share,
anchored at the start (torch's wordings change between releases; these fragments have been
stable). Where the engine's contract differs (a ``ValueError`` where torch raises
``RuntimeError``, or a check torch does not make), the engine's documented wording is
written out here.
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

Module = Any  # torch or reference.engine: the specs below use only their shared API


def _np(t: Any) -> np.ndarray:
    """The values of a torch or engine tensor as a numpy array."""
    return np.asarray(t.detach().numpy())


def _same(engine_value: Any, torch_value: Any) -> None:
    """Same values, shape and dtype (by name: float32, int64, bool, ...)."""
    e, t = _np(engine_value), _np(torch_value)
    assert e.shape == t.shape
    assert e.dtype == t.dtype
    np.testing.assert_array_equal(e, t)


def _both(program: Callable[[Module], Any]) -> tuple[Any, Any]:
    """``program`` run on the engine, then on torch."""
    return program(E), program(torch)


def _grad_fn(m: Module) -> Callable[..., Any]:
    return torch.autograd.grad if m is torch else E.grad


def _node_name(node: Any) -> str:
    """A node's name without torch's C++ namespace (``torch::autograd::CopyBackwards``)."""
    return node.name().removeprefix("torch::autograd::")


def _no_warnings() -> Any:
    """A context in which any warning fails the spec."""
    catcher = warnings.catch_warnings()
    catcher.__enter__()
    warnings.simplefilter("error")
    return catcher


# ---------------------------------------------------------------- comparisons


# operator.lt(a, b) is a < b: the six comparisons as Python spells them, reflected included
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(operator, name) for name in ("eq", "ne", "lt", "le", "gt", "ge")
}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_are_elementwise_bool_tensors_like_torch(name: str) -> None:
    # a = [1, 2, 3] against 2: every operator gives a different pattern of the three.
    compare = COMPARISONS[name]
    for other in ("tensor", "number", "reflected"):

        def program(m: Module, other: str = other) -> Any:
            a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
            b = m.tensor([2.0, 2.0, 2.0])
            if other == "tensor":
                return compare(a, b)
            if other == "number":
                return compare(a, 2.0)
            return compare(2.0, a)

        e, t = _both(program)
        _same(e, t)
        assert e.requires_grad is False
        assert e.grad_fn is None


def test_comparisons_broadcast_like_torch() -> None:
    e, t = _both(lambda m: m.tensor([[1.0], [3.0]]) <= m.tensor([1.0, 2.0, 3.0]))
    _same(e, t)


# ---------------------------------------------------------------- Python protocols


def test_len_is_the_first_dimension_and_refused_for_a_0d_tensor() -> None:
    for data in ([1.0, 2.0, 3.0], [[1.0, 2.0]] * 4):
        assert len(E.tensor(data)) == len(torch.tensor(data))
    for m in (E, torch):
        # the same message in both (stable since torch 1.x)
        with pytest.raises(TypeError, match=r"^len\(\) of a 0-d tensor$"):
            len(m.tensor(2.0))


def test_bool_and_float_of_one_element_tensors_like_torch() -> None:
    for data in (0.0, 1.5, [0.0], [[-2.0]]):
        assert bool(E.tensor(data)) is bool(torch.tensor(data))
    for data in (True, False):
        assert bool(E.tensor(data)) is bool(torch.tensor(data))
    for data in (2.5, [-0.25], [[3.0]]):
        value = float(E.tensor(data, requires_grad=True))
        assert type(value) is float
        assert value == float(torch.tensor(data))
    assert float(E.tensor(7)) == float(torch.tensor(7)) == 7.0


def test_bool_of_a_many_element_tensor_is_ambiguous() -> None:
    # torch raises RuntimeError, the engine numpy's ValueError; both say "ambiguous"
    with pytest.raises(ValueError, match="ambiguous"):
        bool(E.tensor([1.0, 1.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(torch.tensor([1.0, 1.0]))


def test_item_returns_the_python_number_of_a_one_element_tensor() -> None:
    for data in (2.5, [3], [[True]], [[-1.25]]):
        e, t = E.tensor(data).item(), torch.tensor(data).item()
        assert type(e) is type(t)
        assert e == t


def test_item_refuses_a_tensor_of_several_or_no_elements() -> None:
    for data in ([1.0, 2.0], [[1.0, 2.0, 3.0]], []):
        with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
            torch.tensor(data).item()
        # the engine raises ValueError naming the shape (its documented wording)
        shape = np.shape(data)
        with pytest.raises(
            ValueError, match=rf"^item\(\) needs a one-element tensor, got shape {re_tuple(shape)}$"
        ):
            E.tensor(data).item()


def re_tuple(shape: tuple[int, ...]) -> str:
    """A shape tuple as a regular expression."""
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_tensors_hash_by_identity_so_equal_values_stay_distinct_keys() -> None:
    # == is elementwise, so hashing by value would be meaningless; torch hashes by identity.
    for m in (E, torch):
        a, b = m.tensor(1.0), m.tensor(1.0)
        assert len({a, b}) == 2
        assert hash(a) == hash(a)
        assert hash(a) != hash(b)
        c, d = m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0])
        table = {c: "c", d: "d"}
        assert table[c] == "c"
        assert table[d] == "d"


# ---------------------------------------------------------------- shape, strides, sizes


def test_size_is_the_shape_or_one_dimension_of_it() -> None:
    e, t = E.tensor(np.zeros((2, 3, 4))), torch.zeros(2, 3, 4)
    assert e.size() == tuple(t.size()) == (2, 3, 4)
    for dim in (0, 1, 2, -1, -3):
        assert e.size(dim) == t.size(dim)
        assert type(e.size(dim)) is int


def test_strides_count_elements_like_torch_also_for_views() -> None:
    def program(m: Module) -> list[tuple[int, ...]]:
        a = m.tensor(np.arange(24.0).reshape(2, 3, 4))
        return [a.stride(), a.transpose(0, 2).stride(), a[1].stride(), a[:, 1].t().stride()]

    e, t = _both(program)
    assert e == t
    assert all(type(s) is int for strides in e for s in strides)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_element_size_is_bytes_per_element(dtype: str) -> None:
    assert E.tensor(
        [1], dtype=getattr(E, dtype if dtype != "bool" else "bool_")
    ).element_size() == (torch.tensor([1], dtype=getattr(torch, dtype)).element_size())


# ---------------------------------------------------------------- repr


REPRS: dict[str, Callable[[Module], Any]] = {
    "float32": lambda m: m.tensor([1.0, 2.0, 3.0]),
    "matrix": lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    "scalar": lambda m: m.tensor(3.0),
    "int64": lambda m: m.tensor([1, -2]),
    "bool": lambda m: m.tensor([True, False]),
    "float64": lambda m: m.tensor([1.0, 2.0], dtype=m.float64),
    "leaf": lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True),
    "float64 leaf": lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True),
    "result": lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
    "float64 result": lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True) + 1,
    "detached": lambda m: (m.tensor([1.0, 2.0], requires_grad=True) * 2).detach(),
}


@pytest.mark.parametrize("case", sorted(REPRS))
def test_repr_is_torchs_for_integer_valued_tensors(case: str) -> None:
    # Integer-valued floats print the same in both ("1."); the engine's dtypes are numpy
    # dtypes, named without torch's "torch." prefix.
    e, t = _both(REPRS[case])
    assert repr(e) == repr(t).replace("dtype=torch.", "dtype=")


# ---------------------------------------------------------------- operators and methods


def _values_and_grads(program: Callable[[Module, Any], Any], *data: Any) -> None:
    """``program(m, *leaves)`` on both libraries: same values, then the same gradients."""

    def run(m: Module) -> tuple[Any, list[Any]]:
        leaves = [m.tensor(d, dtype=m.float64, requires_grad=True) for d in data]
        out = program(m, *leaves)
        out.backward(
            m.ones(out.shape, dtype=m.float64)
            * m.tensor(np.linspace(1, 2, out.numel()).reshape(out.shape))
        )
        return out, leaves

    (e_out, e_leaves), (t_out, t_leaves) = _both(run)
    np.testing.assert_allclose(_np(e_out), _np(t_out), rtol=1e-12)
    assert _node_name(e_out.grad_fn) == _node_name(t_out.grad_fn)
    for e_leaf, t_leaf in zip(e_leaves, t_leaves, strict=True):
        np.testing.assert_allclose(_np(e_leaf.grad), _np(t_leaf.grad), rtol=1e-12)


A = [[1.0, -2.0, 3.0], [0.5, -0.25, 4.0]]
W = [[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]]


def test_matmul_method_and_reflected_matmul_like_torch() -> None:
    _values_and_grads(lambda m, a, w: a.matmul(w), A, W)
    # x.__rmatmul__(y) is y @ x (what Python calls when the left operand cannot)
    _values_and_grads(lambda m, a, w: w.__rmatmul__(a), A, W)
    _values_and_grads(lambda m, a, v: a.__rmatmul__(v), A, [2.0, -1.0])


def test_abs_clone_relu_float_values_gradients_and_nodes_like_torch() -> None:
    data = [[1.5, -2.0, 0.25], [-0.5, 3.0, -4.0]]
    _values_and_grads(lambda m, a: a.abs() * a, data)
    _values_and_grads(lambda m, a: a.clone() * 3, data)
    _values_and_grads(lambda m, a: a.relu(), data)
    _values_and_grads(lambda m, a: a.abs(), data)
    _values_and_grads(lambda m, a: a.clone(), data)


def test_float_casts_to_float32_and_passes_the_gradient_back() -> None:
    def program(m: Module) -> tuple[Any, Any]:
        x = m.tensor([1.0, 2.5], dtype=m.float64, requires_grad=True)
        y = x.float()
        (y * y).sum().backward()
        return y, x.grad

    (e_y, e_g), (t_y, t_g) = _both(program)
    _same(e_y, t_y)
    _same(e_g, t_g)
    assert e_y.grad_fn.name() == t_y.grad_fn.name()
    # on an integer tensor too
    _same(E.tensor([1, 2]).float(), torch.tensor([1, 2]).float())


def test_argmax_over_all_or_along_a_dimension_is_int64_like_torch() -> None:
    data = [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]
    for dim in (None, 0, 1, -1):

        def program(m: Module, dim: int | None = dim) -> Any:
            return m.tensor(data).argmax(dim=dim)

        e, t = _both(program)
        _same(e, t)


# ---------------------------------------------------------------- in place


IN_PLACE: dict[str, Callable[[Any, Any], Any]] = {
    "add_": lambda y, v: y.add_(v),
    "sub_": lambda y, v: y.sub_(v),
    "mul_": lambda y, v: y.mul_(v),
    "div_": lambda y, v: y.div_(v),
    "copy_": lambda y, v: y.copy_(v),
    "exp_": lambda y, v: y.exp_(),
    "fill_": lambda y, v: y.fill_(2.5),
    "zero_": lambda y, v: y.zero_(),
    "+=": lambda y, v: y.__iadd__(v),
    "-=": lambda y, v: y.__isub__(v),
    "*=": lambda y, v: y.__imul__(v),
    "/=": lambda y, v: y.__itruediv__(v),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_on_a_result_extends_its_history_like_torch(name: str) -> None:
    op = IN_PLACE[name]

    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=m.float64, requires_grad=True)
        v = m.tensor([1.5, -2.0, 0.5], dtype=m.float64, requires_grad=True)
        y = x * 2
        version = y._version
        same = op(y, v) is y
        (y * m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=m.float64)).sum().backward()
        return y, x.grad, v.grad, same, y._version - version, _node_name(y.grad_fn)

    e, t = _both(program)
    np.testing.assert_allclose(_np(e[0]), _np(t[0]), rtol=1e-12)
    np.testing.assert_allclose(_np(e[1]), _np(t[1]), rtol=1e-12)
    if t[2] is None:
        assert e[2] is None
    else:
        np.testing.assert_allclose(_np(e[2]), _np(t[2]), rtol=1e-12)
    assert e[3] is True  # in place: the same tensor is returned
    assert t[3] is True
    assert e[4] == t[4] == 1  # one version bump
    if name != "zero_":  # torch names zero_'s node ZeroBackward0, the engine FillBackward2
        assert e[5] == t[5]


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_under_no_grad_changes_values_only(name: str) -> None:
    op = IN_PLACE[name]

    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
        with m.no_grad():
            out = op(x, m.tensor([1.5, -2.0, 0.5]))
        return x, out is x, x.requires_grad, x.grad_fn, x._version

    e, t = _both(program)
    np.testing.assert_allclose(_np(e[0]), _np(t[0]), rtol=1e-6)
    assert e[1:] == (True, True, None, 1) == t[1:]


@pytest.mark.parametrize(
    "name", ["add_", "sub_", "mul_", "div_", "copy_", "exp_", "fill_", "zero_"]
)
def test_in_place_on_a_leaf_that_requires_grad_is_refused_naming_the_operation(name: str) -> None:
    ops = IN_PLACE
    for m in (E, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        # torch's fragment; the engine adds the operation's name in parentheses
        with pytest.raises(
            RuntimeError, match=r"^a leaf Variable that requires grad is being used in an in-place"
        ) as caught:
            ops[name](x, m.tensor([3.0, 4.0]))
        if m is E and name != "zero_":  # zero_ is fill_(0) and says so
            assert f"({name})" in str(caught.value)
        assert x._version == 0


def test_in_place_results_that_do_not_fit_are_refused_naming_the_operation() -> None:
    for name in ("add_", "mul_", "div_", "sub_"):
        x = E.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match=rf"^{name}: the result has shape \(2, 2\)"):
            IN_PLACE[name](x, E.tensor([[1.0], [2.0]]))
        with pytest.raises(RuntimeError):
            IN_PLACE[name](torch.tensor([1.0, 2.0]), torch.tensor([[1.0], [2.0]]))


def test_copy_keeps_the_target_dtype_and_broadcasts_the_source() -> None:
    def program(m: Module) -> Any:
        target = m.tensor([[1, 2, 3], [4, 5, 6]])
        return target.copy_(m.tensor([7.9, -8.2, 9.5]))

    e, t = _both(program)
    _same(e, t)


# ---------------------------------------------------------------- retain_grad, .grad


def test_retain_grad_keeps_a_non_leaf_gradient_and_stops_the_warning() -> None:
    def program(m: Module) -> tuple[Any, Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        (y * m.tensor([3.0, 4.0])).sum().backward()
        catcher = _no_warnings()
        try:
            return y.grad, x.grad
        finally:
            catcher.__exit__(None, None, None)

    (e_y, e_x), (t_y, t_x) = _both(program)
    _same(e_y, t_y)
    _same(e_x, t_x)


def test_retain_grad_on_a_leaf_is_a_no_op_when_it_requires_grad() -> None:
    def program(m: Module) -> Any:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.retain_grad()
        (x * 3).sum().backward()
        return x.grad

    e, t = _both(program)
    _same(e, t)


def test_retain_grad_is_refused_on_a_tensor_that_does_not_require_grad() -> None:
    for m in (E, torch):
        with pytest.raises(RuntimeError, match=r"^can't retain_grad on "):
            m.tensor([1.0]).retain_grad()


def test_reading_the_grad_of_a_non_leaf_warns_and_gives_none() -> None:
    for m in (E, torch):
        y = m.tensor([1.0], requires_grad=True) * 2
        y.sum().backward()
        # a fragment both libraries share (torch: "The .grad attribute of a Tensor that ...")
        with pytest.warns(UserWarning, match=r"^The \.grad .*not a leaf Tensor is being accessed"):
            assert y.grad is None
    y = E.tensor([1.0], requires_grad=True) * 2
    with pytest.warns(UserWarning, match="not a leaf") as record:
        y.grad
    assert record[0].filename == __file__  # the warning points at the reading line


def test_reading_a_leaf_grad_does_not_warn() -> None:
    for m in (E, torch):
        catcher = _no_warnings()
        try:
            assert m.tensor([1.0], requires_grad=True).grad is None
            assert m.tensor([1.0]).grad is None
        finally:
            catcher.__exit__(None, None, None)


# ---------------------------------------------------------------- hooks


def test_hooks_replace_the_gradient_in_registration_order_and_can_be_removed() -> None:
    def program(m: Module) -> tuple[list[tuple[str, list[float]]], Any, Any]:
        calls: list[tuple[str, list[float]]] = []
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3

        def hook(name: str, factor: float | None) -> Callable[[Any], Any]:
            def record(g: Any) -> Any:
                calls.append((name, g.tolist()))
                return None if factor is None else g * factor

            return record

        y.register_hook(hook("y-first", 2.0))
        removed = y.register_hook(hook("y-removed", 100.0))
        y.register_hook(hook("y-observer", None))
        x.register_hook(hook("x-first", None))
        x.register_hook(hook("x-second", -1.0))
        x_removed = x.register_hook(hook("x-removed", 100.0))
        removed.remove()
        removed.remove()  # a second remove does nothing
        x_removed.remove()
        (y * m.tensor([1.0, 10.0])).sum().backward()
        return calls, x.grad, x

    (e_calls, e_grad, _), (t_calls, t_grad, _) = _both(program)
    assert e_calls == t_calls
    _same(e_grad, t_grad)


def test_removing_one_hook_keeps_an_equal_one() -> None:
    # handle.remove() unregisters its own hook, not the first one that compares equal
    def program(m: Module) -> list[str]:
        calls: list[str] = []
        x = m.tensor([1.0], requires_grad=True)
        first = x.register_hook(lambda g: calls.append("first"))
        x.register_hook(lambda g: calls.append("second"))
        third = x.register_hook(lambda g: calls.append("third"))
        third.remove()
        first.remove()
        (x * 2).sum().backward()
        return calls

    e, t = _both(program)
    assert e == t == ["second"]


def test_register_hook_needs_a_tensor_that_requires_grad() -> None:
    for m in (E, torch):
        with pytest.raises(RuntimeError, match=r"^cannot register a hook on a tensor that do"):
            m.tensor([1.0]).register_hook(lambda g: g)


def test_register_hook_refuses_a_non_callable() -> None:
    # torch accepts it and fails later; the engine refuses at once (its documented wording)
    with pytest.raises(TypeError, match=r"^hook must be callable, got int$"):
        E.tensor([1.0], requires_grad=True).register_hook(5)


# ---------------------------------------------------------------- backward and grad


def test_backward_accumulates_in_place_into_the_same_grad_tensor() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([2.0, 3.0], requires_grad=True)
        v = m.tensor([1.0, 1.0])
        x.backward(v)
        v.add_(1)  # the stored gradient is a copy of v
        first = x.grad
        snapshot = first.clone()
        (x * x).backward(v)
        return x.grad, first is x.grad, snapshot, first.requires_grad

    e, t = _both(program)
    _same(e[0], t[0])
    assert e[1] is t[1] is True
    _same(e[2], t[2])
    assert e[3] is t[3] is False


def test_create_graph_makes_a_differentiable_grad_accumulated_out_of_place() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([2.0, 3.0], dtype=m.float64, requires_grad=True)
        (x * x * x).sum().backward(create_graph=True)
        first = x.grad
        (x * x).sum().backward(create_graph=True)
        second = x.grad
        (g,) = _grad_fn(m)(second.sum(), x)
        return first, second, first is second, second.requires_grad, g

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on reference cycles
        e, t = _both(program)
    np.testing.assert_allclose(_np(e[0]), _np(t[0]))
    np.testing.assert_allclose(_np(e[1]), _np(t[1]))
    assert e[2] is t[2] is False
    assert e[3] is t[3] is True
    np.testing.assert_allclose(_np(e[4]), _np(t[4]))


def test_a_second_backward_needs_retain_graph() -> None:
    def program(m: Module) -> Any:
        x = m.tensor([2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)
        y.backward()
        return x.grad

    e, t = _both(program)
    _same(e, t)
    for m in (E, torch):
        x = m.tensor([2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(
            RuntimeError, match=r"^Trying to backward through the graph a second time"
        ):
            y.backward()


def test_create_graph_keeps_the_graph_by_default() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([2.0], dtype=m.float64, requires_grad=True)
        y = (x * x * x).sum()
        (g,) = _grad_fn(m)(y, x, create_graph=True)
        (h,) = _grad_fn(m)(g.sum(), x, retain_graph=True)
        (g2,) = _grad_fn(m)(y, x)  # the graph of y was kept by create_graph...
        with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second"):
            _grad_fn(m)(y, x)  # ...and freed by the pass without it
        return g, h, g2

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)


def test_implicit_gradient_only_for_one_element_outputs() -> None:
    def program(m: Module) -> Any:
        x = m.tensor([[2.0]], dtype=m.float64, requires_grad=True)
        (x * 3).backward()  # one element, any number of dimensions
        return x.grad

    e, t = _both(program)
    _same(e, t)
    for m in (E, torch):
        y = m.tensor([1.0, 2.0], requires_grad=True) * 2
        with pytest.raises(
            RuntimeError, match=r"^grad can be implicitly created only for scalar outputs"
        ):
            y.backward()


def test_backward_checks_its_output_and_gradient() -> None:
    for m in (E, torch):
        with pytest.raises(
            RuntimeError,
            match=r"^element 0 of tensors does not require grad and does not have a grad_fn",
        ):
            m.tensor(1.0).backward()
        y = m.tensor([1.0, 2.0], requires_grad=True) * 2
        with pytest.raises(RuntimeError, match=r"^Mismatch in shape"):
            y.backward(m.tensor([1.0, 2.0, 3.0]))
        with pytest.raises(TypeError):
            y.backward([1.0, 1.0])
    with pytest.raises(TypeError, match=r"^gradient must be a Tensor or None, got list$"):
        (E.tensor([1.0], requires_grad=True) * 2).backward([1.0])
    with pytest.raises(TypeError, match=r"^tensor must be a Tensor, got int$"):
        E.backward(5)


def test_grad_returns_gradients_without_storing_them() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        w = m.tensor([3.0, -1.0], dtype=m.float64, requires_grad=True)
        h = x * w
        y = (h * h).sum()
        gx, gh = _grad_fn(m)(y, [x, h])
        return gx, gh, x.grad, w.grad, gx.requires_grad, gx.grad_fn

    e, t = _both(program)
    _same(e[0], t[0])
    _same(e[1], t[1])
    assert e[2:] == (None, None, False, None) == t[2:]


def test_grad_of_several_outputs_sums_their_weighted_gradients() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x * x
        z = (x * 3).sum()
        v = m.tensor([1.0, -2.0], dtype=m.float64)
        (a,) = _grad_fn(m)([y, z], [x], grad_outputs=[v, None], retain_graph=True)
        (b,) = _grad_fn(m)([y, y], x, grad_outputs=[v, v], retain_graph=True)  # y twice
        (c,) = _grad_fn(m)([z, z * 2], x)
        return a, b, c

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)


def test_grad_allow_unused_gives_none_for_an_input_not_on_the_graph() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        unused = m.tensor([5.0], requires_grad=True)
        return _grad_fn(m)((x * 2).sum(), [unused, x], allow_unused=True)

    (e_unused, e_x), (t_unused, t_x) = _both(program)
    assert e_unused is None
    assert t_unused is None
    _same(e_x, t_x)
    for m in (E, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        unused = m.tensor([5.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            _grad_fn(m)((x * 2).sum(), [x, unused])
    x, unused = E.tensor([1.0], requires_grad=True), E.tensor([5.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^One of the differentiated Tensors \(inputs\[1\]\)"):
        E.grad((x * 2).sum(), [x, unused])
    for m in (E, torch):  # both name the way out
        x, unused = m.tensor([1.0], requires_grad=True), m.tensor([5.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="allow_unused=True"):
            _grad_fn(m)((x * 2).sum(), [x, unused])


def test_grad_checks_its_arguments() -> None:
    x = E.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    # the engine's documented wordings (torch's differ between releases or are assertions)
    with pytest.raises(ValueError, match=r"^outputs must not be empty$"):
        E.grad([], [x])
    with pytest.raises(ValueError, match=r"^inputs must not be empty$"):
        E.grad(y, [])
    with pytest.raises(TypeError, match=r"^outputs\[1\] must be a Tensor, got int$"):
        E.grad([y, 3], [x])
    with pytest.raises(TypeError, match=r"^inputs\[1\] must be a Tensor, got float$"):
        E.grad(y, [x, 1.0])
    with pytest.raises(ValueError, match=r"^grad_outputs has 1 entries for 2 outputs$"):
        E.grad([y, y], [x], grad_outputs=[None])
    with pytest.raises(RuntimeError, match=r"^inputs\[1\] does not require grad$"):
        E.grad(y, [x, E.tensor([1.0])])
    for m in (E, torch):
        x = m.tensor(2.0, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"^element 1 of tensors does not require grad"):
            _grad_fn(m)([x * 3, m.tensor(1.0)], [x])


def test_grad_runs_only_the_nodes_between_the_outputs_and_its_inputs() -> None:
    # torch skips what no input needs: hooks there do not fire, saved values there stay.
    def program(m: Module) -> tuple[Any, ...]:
        calls: list[str] = []
        x = m.tensor([1.0, 2.0], requires_grad=True)
        w = m.tensor([3.0, -1.0], requires_grad=True)
        x.register_hook(lambda g: calls.append("x"))
        w.register_hook(lambda g: calls.append("w"))
        below = x * x  # below the input h: grad(y, [h]) must not run it
        below.register_hook(lambda g: calls.append("below"))
        h = below * w
        h.register_hook(lambda g: calls.append("h"))
        side = w * 2  # beside the path to h
        side.register_hook(lambda g: calls.append("side"))
        y = (h * h).sum() + (side * side).sum()
        (gh,) = _grad_fn(m)(y, [h])
        (gw,) = _grad_fn(m)(h.sum(), [w], retain_graph=True)  # h's node was not freed
        h.sum().backward()
        return calls, gh, gw, x.grad, w.grad

    e, t = _both(program)
    # grad(y, [h]) fires h's hook only; grad(h.sum(), [w]) h's and w's; backward all of h's
    assert e[0] == t[0] == ["h", "h", "w", "h", "w", "below", "x"]
    for a, b in zip(e[1:], t[1:], strict=True):
        _same(a, b)


def test_a_retained_gradient_accumulates_into_a_new_tensor_a_leaf_gradient_in_place() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        s = (y * 3).sum()
        s.backward(retain_graph=True)
        first_y, first_x, version = y.grad, x.grad, x.grad._version
        s.backward()
        return first_y, y.grad, first_y is y.grad, first_x is x.grad, x.grad._version - version

    e, t = _both(program)
    _same(e[0], t[0])  # the first retained gradient was not changed by the second pass
    _same(e[1], t[1])
    assert e[2:] == t[2:] == (False, True, 1)


def test_a_plain_backward_after_create_graph_adds_in_place_to_the_grad() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        (x * x * x).sum().backward(create_graph=True)
        first = x.grad
        (x * 3).sum().backward()
        return x.grad, first is x.grad, x.grad.requires_grad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on reference cycles
        e, t = _both(program)
    _same(e[0], t[0])
    assert e[1:] == t[1:] == (True, True)


# ---------------------------------------------------------------- grad modes


def test_grad_modes_nest_and_restore_like_torch() -> None:
    def program(m: Module) -> list[tuple[bool, bool]]:
        x = m.tensor([1.0], requires_grad=True)
        seen: list[tuple[bool, bool]] = []

        def look() -> None:
            seen.append((m.is_grad_enabled(), (x * 2).requires_grad))

        look()
        with m.no_grad():
            look()
            with m.enable_grad():
                look()
                with m.set_grad_enabled(False):
                    look()
                look()
            look()
            with m.set_grad_enabled(True):
                look()
            look()
        look()
        return seen

    e, t = _both(program)
    assert e == t
    assert [enabled for enabled, _ in e] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]


def test_grad_modes_restore_after_an_exception() -> None:
    for m in (E, torch):
        for mode in (m.no_grad, m.enable_grad):
            with m.no_grad():
                with pytest.raises(KeyError), mode():
                    raise KeyError("inside")
                assert m.is_grad_enabled() is False
            with pytest.raises(KeyError), mode():
                raise KeyError("inside")
            assert m.is_grad_enabled() is True


def test_grad_modes_decorate_functions_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)

        @m.no_grad()
        def untracked(a: Any, *, factor: float) -> Any:
            """Scale without recording."""
            return a * factor, m.is_grad_enabled()

        @m.enable_grad()
        def tracked(a: Any) -> Any:
            return a * 3, m.is_grad_enabled()

        @m.set_grad_enabled(False)
        def switched_off(a: Any) -> Any:
            return a + 1, m.is_grad_enabled()

        out: list[Any] = []
        for f in (lambda: untracked(x, factor=2.0), lambda: tracked(x), lambda: switched_off(x)):
            value, enabled = f()
            out += [value.tolist(), value.requires_grad, enabled, m.is_grad_enabled()]
        with m.no_grad():
            value, enabled = tracked(x)
            out += [value.requires_grad, enabled, m.is_grad_enabled()]
        out += [untracked.__name__, untracked.__doc__]
        return out

    e, t = _both(program)
    assert e == t


def test_a_grad_mode_object_can_be_entered_again_while_active() -> None:
    # The engine keeps a stack per object (torch keeps one previous state, so this is the
    # engine's own contract): leaving restores the state before each entry.
    mode = E.no_grad()
    with mode:
        with E.enable_grad():
            with mode:
                assert E.is_grad_enabled() is False
            assert E.is_grad_enabled() is True
        assert E.is_grad_enabled() is False
    assert E.is_grad_enabled() is True


def test_set_grad_enabled_needs_a_bool() -> None:
    with pytest.raises(TypeError, match=r"^set_grad_enabled\(\): argument 'enabled'"):
        torch.set_grad_enabled(1)
    with pytest.raises(TypeError, match=r"^mode must be a bool, got int$"):
        E.set_grad_enabled(1)
    assert E.is_grad_enabled() is True


def test_backward_runs_with_recording_off_unless_create_graph() -> None:
    def program(m: Module) -> list[bool]:
        seen: list[bool] = []
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: seen.append(m.is_grad_enabled()))
        (x * x).sum().backward()
        y = (x * x).sum()
        with m.no_grad():
            _grad_fn(m)(y, x, create_graph=True)  # create_graph records even under no_grad
            seen.append(m.is_grad_enabled())
        _grad_fn(m)((x * x).sum(), x)
        seen.append(m.is_grad_enabled())
        return seen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        e, t = _both(program)
    assert e == t == [False, True, False, False, True]


# ---------------------------------------------------------------- nodes


def test_nodes_link_to_the_nodes_of_their_inputs_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        c = m.tensor([3.0, 4.0])
        a, b = x * c, x * 3
        y = a + b
        accumulate = a.grad_fn.next_functions[0][0]
        return [
            [(_node_name(n) if n is not None else None, i) for n, i in y.grad_fn.next_functions],
            [(_node_name(n) if n is not None else None, i) for n, i in a.grad_fn.next_functions],
            accumulate is b.grad_fn.next_functions[0][0],  # one accumulator per leaf
            accumulate.variable is x,
            accumulate.next_functions,
            repr(y.grad_fn).startswith("<AddBackward0"),
            x.grad_fn is None,
        ]

    e, t = _both(program)
    assert e == t
    assert e[1] == [("AccumulateGrad", 0), (None, 0)]


def test_a_leaf_node_passes_nothing_on() -> None:
    x = E.tensor([1.0], requires_grad=True)
    accumulate = (x * 2).grad_fn.next_functions[0][0]
    assert isinstance(accumulate, E.AccumulateGrad)
    assert accumulate.apply(E.tensor([1.0])) == ()
    assert accumulate.name() == "AccumulateGrad"
    with pytest.raises(NotImplementedError):
        E.Node(()).apply(E.tensor([1.0]))


def test_later_nodes_run_first_and_have_larger_sequence_numbers() -> None:
    x = E.tensor([1.0], requires_grad=True)
    first = x * 2
    second = x * 3
    assert second.grad_fn.sequence_nr > first.grad_fn.sequence_nr


def test_a_graph_without_saved_values_can_be_run_twice_like_torch() -> None:
    def program(m: Module) -> Any:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1).sum() - (2.0 - x).sum()  # add, sub and sum save nothing
        y.backward()
        y.backward()
        return x.grad

    e, t = _both(program)
    _same(e, t)


def test_a_freed_node_is_named_in_the_error() -> None:
    x = E.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    # torch's opening; the engine then names the node and what to do (its own wording)
    with pytest.raises(
        RuntimeError,
        match=r"^Trying to backward through the graph a second time: MulBackward0 needs values "
        r"saved in the forward pass, .* Pass retain_graph=True ",
    ):
        y.backward()


@pytest.mark.parametrize("saved", ["result", "leaf"])
def test_a_saved_value_changed_in_place_is_refused_naming_its_versions(saved: str) -> None:
    def program(m: Module) -> None:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        if saved == "result":
            y = x * 2
            s = y * y
            y.add_(1)
        else:
            leaf = m.tensor([1.0, 2.0], dtype=m.float64)
            s = x * leaf
            leaf.mul_(2)
            leaf.mul_(2)
        s.sum().backward()

    start = (
        r"^one of the variables needed for gradient computation has been modified by an "
        r"inplace operation: "
    )
    versions = (
        "is at version 1; expected version 0 instead"
        if saved == "result"
        else ("is at version 2; expected version 0 instead")
    )
    for m in (E, torch):
        with pytest.raises(RuntimeError, match=start + ".*" + versions):
            program(m)
    # the engine describes the tensor and what made it (its own wording)
    origin = "MulBackward0" if saved == "result" else "a leaf"
    with pytest.raises(
        RuntimeError,
        match=start + rf"\[float64 tensor of shape \(2,\)\], which is output 0 of {origin}, ",
    ):
        program(E)


def test_describe_names_dtype_and_shape() -> None:
    from reference.engine.node import describe

    assert describe(E.tensor([[1, 2, 3]])) == "[int64 tensor of shape (1, 3)]"


# ---------------------------------------------------------------- construction and state


CONSTRUCTIONS: dict[str, Callable[[Module], Any]] = {
    "floats": lambda m: m.tensor([1.0, 2.5]),
    "ints": lambda m: m.tensor([[1, 2], [3, -4]]),
    "bools": lambda m: m.tensor([True, False]),
    "mixed": lambda m: m.tensor([1, 2.5]),
    "bool and int": lambda m: m.tensor([True, 2]),
    "number": lambda m: m.tensor(3.25),
    "float64 array": lambda m: m.tensor(np.array([1.5, -2.0])),
    "int32 array": lambda m: m.tensor(np.array([1, 2], dtype=np.int32)),
    "numpy scalar": lambda m: m.tensor(np.float64(2.0)),
    "ints as float64": lambda m: m.tensor([1, 2], dtype=m.float64),
    "0.1 as float64": lambda m: m.tensor([0.1, 1 / 3], dtype=m.float64),  # not via float32
    "huge int as float64": lambda m: m.tensor([2**70], dtype=m.float64),
    "floats as int64": lambda m: m.tensor([1.7, -2.9], dtype=m.int64),
    "tensor": lambda m: m.tensor(m.tensor([1.0, 2.0], dtype=m.float64)),
}


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")  # torch's advice
@pytest.mark.parametrize("case", sorted(CONSTRUCTIONS))
def test_construction_infers_dtypes_like_torch(case: str) -> None:
    e, t = _both(CONSTRUCTIONS[case])
    _same(e, t)
    assert e.requires_grad is False


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")  # torch's advice
def test_construction_copies_its_data() -> None:
    for m in (E, torch):
        source = np.array([1.0, 2.0])
        t = m.tensor(source)
        source[0] = 5.0
        original = m.tensor([1.0, 2.0])
        copy = m.tensor(original)
        original.add_(1)
        assert t.tolist() == [1.0, 2.0]
        assert copy.tolist() == [1.0, 2.0]


def test_construction_refuses_bad_data_and_dtypes() -> None:
    # ragged lists: ValueError in both; the rest is the engine's documented wording
    with pytest.raises(ValueError, match="expected sequence of length"):
        torch.tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match=r"^data must be a number or a rectangular nested list: "):
        E.Tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match=r"^data must hold numbers or bools, got dtype <U1$"):
        E.Tensor(["a"])
    with pytest.raises(TypeError, match=r"^data must hold numbers or bools, got dtype complex128$"):
        E.Tensor(np.array([1j]))
    with pytest.raises(TypeError, match=r"^dtype must be float32, float64, int64 or bool, got "):
        E.Tensor([1.0], dtype=np.complex64)
    with pytest.raises(TypeError, match=r"^dtype must be a numpy dtype such as float32, got "):
        E.Tensor([1.0], dtype=object())
    with pytest.raises(TypeError, match=r"^requires_grad must be a bool, got int$"):
        E.Tensor([1.0], requires_grad=1)


def test_requires_grad_only_on_floating_point_leaves() -> None:
    for m in (E, torch):
        with pytest.raises(RuntimeError, match=r"^only .*floating point.* can require gradients"):
            m.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match=r"^only .*floating point.* can require gradients"):
            m.tensor([True]).requires_grad = True
        y = m.tensor([1.0], requires_grad=True) * 2
        with pytest.raises(
            RuntimeError, match=r"^you can only change requires_grad flags of leaf variables"
        ):
            y.requires_grad_(False)
        with pytest.raises(TypeError):
            m.tensor([1.0]).requires_grad_(1)
    with pytest.raises(TypeError, match=r"^requires_grad must be a bool, got int$"):
        E.tensor([1.0]).requires_grad_(1)
    y = E.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"this tensor was computed \(MulBackward0\)"):
        y.requires_grad_(True)


def test_requires_grad_switches_a_leaf_on_and_off_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], dtype=m.float64)
        out: list[Any] = [x.requires_grad_() is x, x.requires_grad, (x * 2).requires_grad]
        x.requires_grad = False
        out += [x.requires_grad, (x * 2).requires_grad, x.is_leaf]
        x.requires_grad_(True)
        x.requires_grad_(False)
        out += [x.requires_grad]
        return out

    e, t = _both(program)
    assert e == t == [True, True, True, False, False, True, False]


def test_grad_can_be_set_and_is_accumulated_into() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.grad = m.tensor([10.0, 20.0])
        (x * 3).sum().backward()
        out = [x.grad.tolist()]
        x.grad = None
        out.append(x.grad)
        (x * 3).sum().backward()
        return [*out, x.grad.tolist()]

    e, t = _both(program)
    assert e == t
    for m in (E, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(TypeError):
            x.grad = [1.0, 2.0]
        with pytest.raises((ValueError, RuntimeError)):  # torch: RuntimeError
            x.grad = m.tensor([1.0])
    x = E.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^grad must be a Tensor or None, got list$"):
        x.grad = [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^grad must have shape \(2,\), got \(1,\)$"):
        x.grad = E.tensor([1.0])


def test_data_and_numpy_share_memory_with_the_tensor() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        d = x.data
        d.mul_(3)  # through .data: no version bump, no error
        out = [x.tolist(), d.requires_grad, x._version, d.is_leaf]
        x.data = m.tensor([5.0, 6.0])
        out += [x.tolist(), x.requires_grad, x._version]
        plain = m.tensor([1.0, 2.0])
        plain.numpy()[0] = 9.0
        out += [plain.tolist()]
        return out

    e, t = _both(program)
    assert e == t
    for m in (E, torch):
        with pytest.raises(TypeError):
            m.tensor([1.0]).data = [1.0]
        with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
            m.tensor([1.0], requires_grad=True).numpy()
    with pytest.raises(TypeError, match=r"^data must be a Tensor, got list$"):
        E.tensor([1.0]).data = [1.0]
    with pytest.raises(RuntimeError, match=r"^call \.detach\(\)\.numpy\(\) on a tensor that"):
        E.tensor([1.0], requires_grad=True).numpy()


def test_detach_shares_values_and_version_but_not_the_graph() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        d = y.detach()
        out = [d.requires_grad, d.grad_fn, d.is_leaf, d._version]
        d.add_(1)
        return [*out, y.tolist(), y._version]

    e, t = _both(program)
    assert e == t


def test_sizes_dims_pointers_and_lists_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        a = m.tensor(np.arange(24.0).reshape(2, 3, 4))
        view = a[1, 2]
        return [
            a.dim(),
            a.ndim,
            a.numel(),
            tuple(a.shape),
            view.data_ptr() - a.data_ptr(),
            m.tensor(5.0).dim(),
            m.tensor(5.0).numel(),
            view.tolist(),
            m.tensor([[True, False]]).tolist(),
        ]

    e, t = _both(program)
    assert e == t


def test_transposes_and_casts_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        a = m.tensor([[1.5, -2.75, 3.0], [4.0, 5.25, -6.5]], requires_grad=True)  # exact sums
        v = m.tensor([1.0, 2.0])
        outs = [a.t(), a.T, v.t(), m.tensor(2.0).t(), a.double(), a.long(), a.to(m.float64)]
        (outs[0] * m.tensor([[1.0, 2.0]] * 3)).sum().backward()
        return [*outs, a.grad, _node_name(outs[0].grad_fn), _node_name(outs[1].grad_fn)]

    e, t = _both(program)
    for a, b in zip(e[:-2], t[:-2], strict=True):
        _same(a, b)
    assert e[-2:] == t[-2:]
    with pytest.raises(RuntimeError, match=r"^t\(\) expects a tensor with <= 2 dimensions"):
        torch.zeros(2, 2, 2).t()
    with pytest.raises(ValueError, match=r"^t\(\) expects a tensor with <= 2 dimensions, got 3$"):
        E.zeros(2, 2, 2).t()


def test_to_accepts_dtype_names_and_refuses_other_dtypes() -> None:
    _same(E.tensor([1.5]).to("float64"), torch.tensor([1.5]).to(torch.float64))
    _same(E.tensor([1.5]).to(np.int64), torch.tensor([1.5]).to(torch.int64))
    with pytest.raises(TypeError, match=r"^dtype must be float32, float64, int64 or bool, got "):
        E.tensor([1.5]).to(np.complex64)


def test_a_handle_removes_its_own_registration_of_a_hook_registered_twice() -> None:
    def program(m: Module, remove: int) -> list[str]:
        calls: list[str] = []
        x = m.tensor([1.0], requires_grad=True)

        def f(g: Any) -> None:
            calls.append(f"f {g.item()}")

        handles = [x.register_hook(f), x.register_hook(lambda g: calls.append(f"g {g.item()}"))]
        handles.append(x.register_hook(f))
        handles[remove].remove()
        (x * 2).sum().backward()
        return calls

    for remove in (0, 2):
        assert program(E, remove) == program(torch, remove)


def test_grad_with_create_graph_returns_differentiable_gradients() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, -2.0], dtype=m.float64, requires_grad=True)
        h = x * x
        (gx, gh) = _grad_fn(m)((h * x).sum(), [x, h], create_graph=True)
        (second,) = _grad_fn(m)(gx.sum(), x)
        return [gx, gh, second, gx.requires_grad, gh.requires_grad, x.grad]

    e, t = _both(program)
    for a, b in zip(e[:3], t[:3], strict=True):
        _same(a, b)
    assert e[3:] == t[3:] == [True, True, None]


def test_an_output_that_feeds_another_output_waits_for_it() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = (x * x).sum()
        z = y * y
        return _grad_fn(m)([y, z], [x, y])  # y is an output and on z's graph

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)


def test_a_retained_tensor_that_is_gone_does_not_stop_the_pass() -> None:
    def program(m: Module) -> Any:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        z = (y + 1).sum()  # saves nothing: y's node stays, y itself goes
        del y
        z.backward()
        return x.grad

    e, t = _both(program)
    _same(e, t)


def test_a_graph_of_shared_subexpressions_is_walked_once_per_node() -> None:
    # y = 2^40 x through 40 nodes, each using the previous one twice: 2^40 paths, 40 nodes.
    def program(m: Module) -> tuple[Any, Any]:
        x = m.tensor([1.0, -3.0], dtype=m.float64, requires_grad=True)
        y = x
        for _ in range(40):
            y = y + y
        (g,) = _grad_fn(m)(y.sum(), [x], retain_graph=True)
        y.sum().backward()
        return g, x.grad

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)
        assert a.tolist() == [2.0**40, 2.0**40]


def test_nodes_run_newest_first_once_all_their_uses_have_run() -> None:
    def program(m: Module) -> tuple[list[str], Any]:
        calls: list[str] = []
        x = m.tensor([1.0, 2.0], requires_grad=True)
        c = m.tensor([3.0, -1.0])
        a = c * x  # an input without grad first
        b = a * 3
        d = a + 1
        y = (b * d).sum()
        for name, t in (("a", a), ("b", b), ("d", d), ("x", x), ("y", y)):
            t.register_hook(lambda g, name=name: calls.append(name))
        y.backward()
        return calls, x.grad

    (e_calls, e_grad), (t_calls, t_grad) = _both(program)
    assert e_calls == t_calls == ["y", "d", "b", "a", "x"]
    _same(e_grad, t_grad)


def test_grad_outputs_may_be_one_tensor_for_one_output() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        v = m.tensor([0.5, -3.0], dtype=m.float64)
        return _grad_fn(m)(x * x, x, grad_outputs=v)

    e, t = _both(program)
    _same(e[0], t[0])


def test_t_of_a_vector_or_a_number_is_a_new_view_like_torch() -> None:
    def program(m: Module) -> list[Any]:
        out: list[Any] = []
        for data in ([1.0, 2.0], 2.0):
            x = m.tensor(data, requires_grad=True)
            view = x.t()
            (view * 3).sum().backward()
            out += [view is x, _node_name(view.grad_fn), x.grad.tolist()]
            with m.no_grad():
                view.mul_(2)  # shares memory and version with x
            out += [x.tolist(), x._version]
        return out

    e, t = _both(program)
    assert e == t


def test_the_backward_function_frees_the_graph_and_records_nothing_by_default() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        backward = torch.autograd.backward if m is torch else E.backward
        backward(y)
        out: list[Any] = [x.grad.tolist(), x.grad.requires_grad]
        with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second"):
            backward(y)
        return out

    e, t = _both(program)
    assert e == t == [[2.0, 4.0], False]


def test_sum_and_mean_drop_the_reduced_dimensions_unless_asked_to_keep_them() -> None:
    def program(m: Module) -> list[Any]:
        a = m.tensor([[1.5, -2.75, 3.0], [4.0, 5.25, -6.5]])  # sums and means are exact
        return [a.sum(), a.sum(0), a.sum(1, keepdim=True), a.mean(), a.mean(1), a.mean(0, True)]

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)


def test_the_in_place_error_ends_with_the_engines_advice() -> None:
    x = E.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    s = y * y
    y.add_(1)
    # the engine's own closing advice (torch's closing hint is about anomaly detection)
    with pytest.raises(
        RuntimeError,
        match=r"expected version 0 instead\. Compute with a copy \(clone\) or make the change "
        r"out of place\.$",
    ):
        s.sum().backward()


def test_a_retained_gradient_is_differentiable_under_create_graph() -> None:
    def program(m: Module) -> list[Any]:
        x = m.tensor([1.0, -2.0], dtype=m.float64, requires_grad=True)
        y = x * x
        y.retain_grad()
        (y * y).sum().backward(create_graph=True)  # y.grad = 2 y = 2 x^2
        first = [y.grad.tolist(), y.grad.requires_grad]
        (second,) = _grad_fn(m)(y.grad.sum(), x)  # 4 x; this pass adds d(sum 2y)/dy = 2 to y.grad
        return [*first, second.tolist(), y.grad.tolist()]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on reference cycles
        e, t = _both(program)
    assert e == t == [[2.0, 8.0], True, [4.0, -8.0], [4.0, 10.0]]


def test_grad_goes_on_past_an_input_with_nothing_asked_below_it() -> None:
    def program(m: Module) -> tuple[Any, ...]:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        w = m.tensor([3.0, -1.0], requires_grad=True)
        a = w * 3  # older than h: runs after h's node
        h = x * 2
        y = (h * h).sum() + a.sum()
        return _grad_fn(m)(y, [h, w])

    e, t = _both(program)
    for a, b in zip(e, t, strict=True):
        _same(a, b)
