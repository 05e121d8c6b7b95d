r"""The operations, each with its vector-Jacobian product.

Every operation computes its value with numpy and, when grad mode is on and an input requires
grad, records a node whose :meth:`~reference.engine.node.Node.apply` maps the gradient of
the output, $\bar{y}$, to the gradients of the inputs. The rules, with $\odot$ the elementwise
product and broadcast dimensions summed back out:

* $y = a + b$: $\bar a = \bar y$, $\bar b = \bar y$; $y = a - b$: $\bar b = -\bar y$;
* $y = a \odot b$: $\bar a = \bar y \odot b$, $\bar b = \bar y \odot a$;
* $y = a / b$: $\bar a = \bar y / b$, $\bar b = -\bar y \odot a / b^2$;
* $y = a^p$: $\bar a = \bar y \odot p\, a^{p-1}$; $y = c^b$: $\bar b = \bar y \odot y \ln c$;
* $y = e^a$: $\bar a = \bar y \odot y$; $y = \ln a$: $\bar a = \bar y / a$;
* $y = \tanh a$: $\bar a = \bar y \odot (1 - y^2)$;
  $y = \sigma(a)$: $\bar a = \bar y \odot y (1 - y)$;
* $y = \max(a, 0)$: $\bar a = \bar y \odot [y > 0]$;
* $Y = A B$: $\bar A = \bar Y B^\top$, $\bar B = A^\top \bar Y$;
* sums and means spread $\bar y$ back over the reduced entries (divided by their count);
* reshapes, transposes, indexing and ``cat`` move $\bar y$ back to where the entries came from.

The vector-Jacobian products are written with these same operations, so a backward pass with
``create_graph=True`` records a graph of its own, which gives second derivatives.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reference.engine.grad_mode import is_grad_enabled
from reference.engine.node import Node
from reference.engine.tensor import Tensor, bool_, float32, float64, int64

_Grads = tuple[Tensor | None, ...]


# ---------------------------------------------------------------- helpers


def as_tensor(value: Any, like: Tensor | None = None, name: str = "other") -> Tensor:
    """``value`` itself if it is a tensor, else a constant tensor (Python numbers take the
    dtype of ``like`` when it is floating point, as PyTorch's scalars do)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, bool | int | float | np.number | np.bool_):
        if like is not None and like.dtype in (float32, float64):
            dtype = like.dtype
        elif isinstance(value, float | np.floating):
            dtype = float32
        elif like is not None and (like.dtype != bool_ or isinstance(value, bool | np.bool_)):
            dtype = like.dtype  # an int next to an integer tensor, a bool next to any
        else:  # an int next to a bool tensor, or alone
            dtype = np.asarray(value).dtype
        return Tensor._wrap(np.asarray(value, dtype=dtype))
    if isinstance(value, list | tuple | np.ndarray):
        return Tensor(value, dtype=like.dtype if like is not None else None)
    raise TypeError(f"{name} must be a Tensor or a number, got {type(value).__name__}")


def _record(
    out: np.ndarray,
    inputs: tuple[Tensor, ...],
    make_node: Callable[[], Node],
    *,
    view_of: Tensor | None = None,
) -> Tensor:
    """Wrap ``out`` and, if recording and an input requires grad, attach the node."""
    result = Tensor._wrap(np.asarray(out), view_of=view_of)
    if is_grad_enabled() and builtins.any(x._requires_grad for x in inputs):
        result._grad_fn = make_node()
        result._requires_grad = True
    return result


def _unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``grad`` over the dimensions broadcasting added to an input of ``shape``.

    Those are the leading dimensions ``grad`` has in excess and the ones where ``shape`` has
    size 1 (summing a dimension of size 1 changes nothing). ``grad`` may also have fewer
    dimensions than ``shape``: a value with leading ones assigned by index (``a[0] = v[None]``).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = [i for i in range(grad.ndim) if i < lead or shape[i - lead] == 1]
    return sum(grad, dims).reshape(shape)


def _dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool) or not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim must be an int in [-{ndim}, {ndim - 1}], got {d!r}")
    return tuple(sorted(d % max(ndim, 1) for d in dims))


# ---------------------------------------------------------------- elementwise arithmetic


class AddBackward0(Node):
    name_ = "AddBackward0"

    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__((a, b))
        self.shapes = (a.shape, b.shape)

    def apply(self, grad: Tensor) -> _Grads:
        return _unbroadcast(grad, self.shapes[0]), _unbroadcast(grad, self.shapes[1])


class SubBackward0(AddBackward0):
    name_ = "SubBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return _unbroadcast(grad, self.shapes[0]), _unbroadcast(-grad, self.shapes[1])


class RsubBackward1(SubBackward0):
    name_ = "RsubBackward1"


class MulBackward0(Node):
    name_ = "MulBackward0"

    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__((a, b))
        self.shapes = (a.shape, b.shape)
        self.needs = (a._requires_grad, b._requires_grad)
        if self.needs[1]:
            self.save(a=a)
        if self.needs[0]:
            self.save(b=b)

    def apply(self, grad: Tensor) -> _Grads:
        ga = _unbroadcast(grad * self.saved("b"), self.shapes[0]) if self.needs[0] else None
        gb = _unbroadcast(grad * self.saved("a"), self.shapes[1]) if self.needs[1] else None
        return ga, gb


class DivBackward0(Node):
    name_ = "DivBackward0"

    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__((a, b))
        self.shapes = (a.shape, b.shape)
        self.needs = (a._requires_grad, b._requires_grad)
        self.save(b=b)
        if self.needs[1]:
            self.save(a=a)

    def apply(self, grad: Tensor) -> _Grads:
        b = self.saved("b")
        ga = _unbroadcast(grad / b, self.shapes[0]) if self.needs[0] else None
        a = self.saved("a") if self.needs[1] else None
        gb = _unbroadcast(-grad * a / (b * b), self.shapes[1]) if a is not None else None
        return ga, gb


class NegBackward0(Node):
    name_ = "NegBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (-grad,)


def add(a: Any, b: Any) -> Tensor:
    """$a + b$ with broadcasting."""
    a, b = _operands(a, b)
    return _record(a._array + b._array, (a, b), lambda: AddBackward0(a, b))


def sub(a: Any, b: Any) -> Tensor:
    """$a - b$ with broadcasting (``RsubBackward1`` when ``a`` was a Python number)."""
    node = RsubBackward1 if not isinstance(a, Tensor) else SubBackward0
    a, b = _operands(a, b)
    return _record(a._array - b._array, (a, b), lambda: node(a, b))


def mul(a: Any, b: Any) -> Tensor:
    r"""$a \odot b$ with broadcasting."""
    a, b = _operands(a, b)
    return _record(a._array * b._array, (a, b), lambda: MulBackward0(a, b))


def div(a: Any, b: Any) -> Tensor:
    """$a / b$ with broadcasting (integers divide into float32, as in PyTorch)."""
    a, b = _operands(a, b)
    if a.dtype not in (float32, float64):  # then b is not floating either
        a, b = _cast(a, float32), _cast(b, float32)
    return _record(a._array / b._array, (a, b), lambda: DivBackward0(a, b))


def neg(a: Tensor) -> Tensor:
    """$-a$."""
    return _record(-a._array, (a,), lambda: NegBackward0((a,)))


def _operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors; an integer or bool one takes the other's floating dtype, as in
    PyTorch (numpy would widen int64 with float32 to float64)."""
    if isinstance(a, Tensor):
        b = as_tensor(b, a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, b, "self")
    if a.dtype in (float32, float64) and b.dtype not in (float32, float64):
        return a, _cast(b, a.dtype)
    if b.dtype in (float32, float64) and a.dtype not in (float32, float64):
        return _cast(a, b.dtype), b
    return a, b


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    """An integer or bool tensor (never on the graph) in ``dtype``, sharing its version counter
    (a node that saves it still sees in-place changes of the original)."""
    return Tensor._wrap(t._array.astype(dtype), version=t._version_counter)


# ---------------------------------------------------------------- powers


class PowBackward0(Node):
    name_ = "PowBackward0"

    def __init__(self, a: Tensor, exponent: float) -> None:
        super().__init__((a,))
        self.exponent = exponent
        self.save(a=a)

    def apply(self, grad: Tensor) -> _Grads:
        a, p = self.saved("a"), self.exponent
        if p == 0:
            return (grad * 0.0,)
        return (grad * (p * a ** (p - 1)),)


class PowBackward1(Node):
    name_ = "PowBackward1"

    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__((a, b))
        self.shapes = (a.shape, b.shape)
        self.needs = (a._requires_grad, b._requires_grad)
        self.save(a=a, b=b)

    def apply(self, grad: Tensor) -> _Grads:
        a, b = self.saved("a"), self.saved("b")
        ga = _unbroadcast(grad * b * a ** (b - 1.0), self.shapes[0]) if self.needs[0] else None
        gb = _unbroadcast(grad * a**b * log(a), self.shapes[1]) if self.needs[1] else None
        return ga, gb


class PowBackward2(Node):
    name_ = "PowBackward2"

    def __init__(self, base: float, b: Tensor) -> None:
        super().__init__((b,))
        self.log_base = float(np.log(base))

    def apply(self, grad: Tensor) -> _Grads:
        return (grad * self.saved("result") * self.log_base,)


def _with_number(t: Tensor, number: float) -> np.dtype:
    """The dtype of ``t`` combined with a Python number, as PyTorch: a float turns an integer
    tensor into float32, otherwise the tensor's dtype wins."""
    return float32 if isinstance(number, float) and t.dtype not in (float32, float64) else t.dtype


def pow(a: Any, b: Any) -> Tensor:
    r"""$a^b$: tensor to a number, tensor to a tensor, or number to a tensor."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        if not isinstance(b, int | float) or isinstance(b, bool):
            raise TypeError(f"exponent must be a number or a Tensor, got {type(b).__name__}")
        exponent, dtype = b, _with_number(a, b)
        return _record(
            np.power(a._array.astype(dtype), np.asarray(exponent, dtype=dtype)),
            (a,),
            lambda: PowBackward0(a, exponent),
        )
    if isinstance(a, Tensor):
        a, b = _operands(a, b)
        return _record(np.power(a._array, b._array), (a, b), lambda: PowBackward1(a, b))
    if not isinstance(a, int | float) or isinstance(a, bool) or a <= 0:
        raise ValueError(f"base must be a positive number when the exponent is a Tensor, got {a!r}")
    base, dtype = a, _with_number(b, a)
    out = np.power(np.asarray(base, dtype=dtype), b._array.astype(dtype))
    result = _record(out, (b,), lambda: PowBackward2(base, b))
    if result._grad_fn is not None:  # the node saves the result itself: attach it now
        result._grad_fn.save(result=result)
    return result


# ---------------------------------------------------------------- unary functions


class _SavesResult(Node):
    """A node whose derivative is a function of its output (saved once the output exists)."""

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))


class ExpBackward0(_SavesResult):
    name_ = "ExpBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (grad * self.saved("result"),)


class TanhBackward0(_SavesResult):
    name_ = "TanhBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        y = self.saved("result")
        return (grad * (1.0 - y * y),)


class SigmoidBackward0(_SavesResult):
    name_ = "SigmoidBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        y = self.saved("result")
        return (grad * (y * (1.0 - y)),)


class ReluBackward0(_SavesResult):
    name_ = "ReluBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        y = self.saved("result")
        return (grad * Tensor._wrap((y._array > 0).astype(y.dtype)),)


class LogBackward0(Node):
    name_ = "LogBackward0"

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))
        self.save(a=a)

    def apply(self, grad: Tensor) -> _Grads:
        return (grad / self.saved("a"),)


class AbsBackward0(Node):
    name_ = "AbsBackward0"

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))
        self.save(a=a)

    def apply(self, grad: Tensor) -> _Grads:
        return (grad * Tensor._wrap(np.sign(self.saved("a")._array)),)


def _unary(a: Tensor, value: np.ndarray, node: type[_SavesResult]) -> Tensor:
    result = _record(value, (a,), lambda: node(a))
    if result._grad_fn is not None:  # the node saves the result itself: attach it now
        result._grad_fn.save(result=result)
    return result


def _floating(a: Tensor) -> np.ndarray:
    """``a``'s values, integers and bools as float32 (PyTorch's default dtype)."""
    return a._array if a.dtype in (float32, float64) else a._array.astype(float32)


def exp(a: Tensor) -> Tensor:
    """$e^a$ elementwise."""
    return _unary(a, np.exp(_floating(a)), ExpBackward0)


def log(a: Tensor) -> Tensor:
    r"""$\ln a$ elementwise (``nan``/``-inf`` outside $a > 0$, as PyTorch)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.log(_floating(a))
    return _record(value, (a,), lambda: LogBackward0(a))


def tanh(a: Tensor) -> Tensor:
    r"""$\tanh a$ elementwise."""
    return _unary(a, np.tanh(_floating(a)), TanhBackward0)


def sigmoid(a: Tensor) -> Tensor:
    r"""$\sigma(a) = 1 / (1 + e^{-a})$ elementwise, computed without overflow."""
    x = _floating(a)
    e = np.exp(-np.abs(x))  # in (0, 1]: no overflow; e / (1 + e) keeps the tiny values of x < 0
    value = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return _unary(a, value, SigmoidBackward0)


def relu(a: Tensor) -> Tensor:
    r"""$\max(a, 0)$ elementwise."""
    return _unary(a, np.maximum(a._array, 0), ReluBackward0)


def abs(a: Tensor) -> Tensor:
    """$|a|$ elementwise."""
    return _record(np.abs(a._array), (a,), lambda: AbsBackward0(a))


# ---------------------------------------------------------------- matrix product


class _MatmulBackward(Node):
    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__((a, b))
        self.needs = (a._requires_grad, b._requires_grad)
        self.ndims = (a.ndim, b.ndim)
        if self.needs[1]:
            self.save(a=a)
        if self.needs[0]:
            self.save(b=b)

    def apply(self, grad: Tensor) -> _Grads:
        return (
            self._grad_a(grad) if self.needs[0] else None,
            self._grad_b(grad) if self.needs[1] else None,
        )

    def _grad_a(self, grad: Tensor) -> Tensor:
        b, (nda, ndb) = self.saved("b"), self.ndims
        if nda == 2 and ndb == 2:
            return grad @ b.t()
        if nda == 2:  # (m, k) @ (k,) -> (m,)
            return grad.reshape(-1, 1) @ b.reshape(1, -1)
        if ndb == 2:  # (k,) @ (k, n) -> (n,)
            return b @ grad
        return grad * b

    def _grad_b(self, grad: Tensor) -> Tensor:
        a, (nda, ndb) = self.saved("a"), self.ndims
        if nda == 2:  # (m, k) @ (k, n) or (m, k) @ (k,)
            return a.t() @ grad
        if ndb == 2:
            return a.reshape(-1, 1) @ grad.reshape(1, -1)
        return grad * a


class MmBackward0(_MatmulBackward):
    name_ = "MmBackward0"


class MvBackward0(_MatmulBackward):
    name_ = "MvBackward0"


class DotBackward0(_MatmulBackward):
    name_ = "DotBackward0"


class SqueezeBackward4(_MatmulBackward):
    name_ = "SqueezeBackward4"  # PyTorch's name for vector @ matrix (a squeezed mm)


def matmul(a: Any, b: Any) -> Tensor:
    r"""$a b$ for 1-D and 2-D operands (vector-vector, matrix-vector, matrix-matrix)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("both operands of @ must be Tensors")
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError(f"@ supports 1-D and 2-D tensors, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"@: shapes {a.shape} and {b.shape} cannot be multiplied")
    node = {(2, 2): MmBackward0, (2, 1): MvBackward0, (1, 1): DotBackward0}.get(
        (a.ndim, b.ndim), SqueezeBackward4
    )
    return _record(np.matmul(a._array, b._array), (a, b), lambda: node(a, b))


# ---------------------------------------------------------------- reductions


class ExpandBackward0(Node):
    name_ = "ExpandBackward0"

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))
        self.shape = a.shape

    def apply(self, grad: Tensor) -> _Grads:
        return (_unbroadcast(grad, self.shape),)


def expand(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``a`` broadcast to ``shape`` (a copy)."""
    return _record(np.broadcast_to(a._array, shape).copy(), (a,), lambda: ExpandBackward0(a))


class _ReduceBackward(Node):
    def __init__(self, a: Tensor, dims: tuple[int, ...] | None) -> None:
        super().__init__((a,))
        self.shape, self.dims = a.shape, dims
        # a 0-d tensor reduced along dim 0 (or -1) is its own single entry, as in PyTorch
        self.count = int(np.prod([a.shape[d] for d in dims])) if dims and a.ndim else a.numel()

    def _spread(self, grad: Tensor) -> Tensor:
        if self.dims is not None:  # put the reduced dimensions back (kept ones stay)
            kept = tuple(1 if i in self.dims else n for i, n in enumerate(self.shape))
            grad = grad.reshape(kept)
        return expand(grad, self.shape)


class SumBackward0(_ReduceBackward):
    name_ = "SumBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (self._spread(grad),)


class SumBackward1(SumBackward0):
    name_ = "SumBackward1"


class MeanBackward0(_ReduceBackward):
    name_ = "MeanBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (self._spread(grad) / float(self.count),)


class MeanBackward1(MeanBackward0):
    name_ = "MeanBackward1"


def sum(a: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    r"""$\sum$ of all entries, or along ``dim``."""
    dims = _dims(dim, a.ndim)
    node = SumBackward0 if dims is None else SumBackward1
    axis = dims if a.ndim else None
    value = np.sum(a._array, axis=axis, keepdims=keepdim)
    dtype = a.dtype if a.dtype in (float32, float64) else int64  # PyTorch sums ints into int64
    return _record(np.asarray(value, dtype=dtype), (a,), lambda: node(a, dims))


def mean(a: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    r"""The mean of all entries, or along ``dim``: $\frac1n \sum$."""
    if a.dtype not in (float32, float64):
        raise TypeError(f"mean needs a floating-point tensor, got dtype {a.dtype}")
    dims = _dims(dim, a.ndim)
    node = MeanBackward0 if dims is None else MeanBackward1
    axis = dims if a.ndim else None
    value = np.mean(a._array, axis=axis, keepdims=keepdim)  # float32 stays float32
    return _record(np.asarray(value), (a,), lambda: node(a, dims))


# ---------------------------------------------------------------- shapes


def _parse_shape(shape: tuple[Any, ...], numel: int) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    if not builtins.all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"shape must be ints, got {shape!r}")
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred (at most one -1 in the shape)")
    known = int(np.prod([n for n in shape if n != -1]))  # >= 0 once no n < -1 is left
    if builtins.any(n < -1 for n in shape) or (
        (-1 in shape and (known <= 0 or numel % known)) or (-1 not in shape and known != numel)
    ):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)  # numpy infers the -1


class ViewBackward0(Node):
    name_ = "ViewBackward0"

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))
        self.shape = a.shape

    def apply(self, grad: Tensor) -> _Grads:
        return (grad.reshape(self.shape),)


class UnsafeViewBackward0(ViewBackward0):
    name_ = "UnsafeViewBackward0"


def reshape(a: Tensor, shape: tuple[Any, ...], *, view: bool) -> Tensor:
    """``a`` with another shape: a view when the memory layout allows it.

    ``view=True`` (``Tensor.view``) refuses when it would need a copy; ``reshape`` copies.
    """
    new = _parse_shape(shape, a.numel())
    try:
        out = np.reshape(a._array, new, copy=False)
        return _record(out, (a,), lambda: ViewBackward0(a), view_of=a)
    except ValueError:
        if view:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride: the entries "
                "are not laid out so that one stride per dimension reaches them; use "
                ".reshape(...), which copies"
            ) from None
    return _record(np.reshape(a._array, new).copy(), (a,), lambda: UnsafeViewBackward0(a))


class TransposeBackward0(Node):
    name_ = "TransposeBackward0"

    def __init__(self, a: Tensor, dim0: int, dim1: int) -> None:
        super().__init__((a,))
        self.dims = (dim0, dim1)

    def apply(self, grad: Tensor) -> _Grads:
        return (transpose(grad, *self.dims),)


class TBackward0(TransposeBackward0):
    name_ = "TBackward0"


class PermuteBackward0(Node):
    name_ = "PermuteBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (permute_reversed(grad),)


def transpose(a: Tensor, dim0: int, dim1: int, name: str | None = None) -> Tensor:
    """``a`` with dimensions ``dim0`` and ``dim1`` swapped (a view); ``name="TBackward0"``
    records the node of ``t()``, anything else ``TransposeBackward0``."""
    d0, d1 = (_dims(d, a.ndim)[0] for d in (dim0, dim1))  # type: ignore[index]
    node = TBackward0 if name == "TBackward0" else TransposeBackward0
    out = np.swapaxes(a._array, d0, d1) if a.ndim else a._array
    return _record(out, (a,), lambda: node(a, d0, d1), view_of=a)


def permute_reversed(a: Tensor) -> Tensor:
    """``a.T``: all dimensions reversed (a view)."""
    return _record(a._array.T, (a,), lambda: PermuteBackward0((a,)), view_of=a)


# ---------------------------------------------------------------- indexing


def _key(key: Any) -> Any:
    """Tensors inside an index become arrays; basic indices get a trailing ``...`` so that an
    integer index gives a 0-d view instead of a numpy scalar."""
    parts = key if isinstance(key, tuple) else (key,)
    parts = tuple(p._array if isinstance(p, Tensor) else p for p in parts)
    basic = builtins.all(
        p is None or p is Ellipsis or isinstance(p, slice) or _is_int(p) for p in parts
    )
    for p in parts:
        if isinstance(p, slice) and p.step is not None and p.step <= 0:
            raise ValueError(f"slice step must be positive, got {p.step}")
    if basic and Ellipsis not in parts:
        parts = (*parts, Ellipsis)
    return parts, basic


def _is_int(p: Any) -> bool:
    return isinstance(p, int | np.integer) and not isinstance(p, bool | np.bool_)


class _IndexBackward(Node):
    def __init__(self, a: Tensor, key: Any) -> None:
        super().__init__((a,))
        self.shape, self.key = a.shape, key

    def apply(self, grad: Tensor) -> _Grads:
        return (index_add_into_zeros(grad, self.key, self.shape),)


class SelectBackward0(_IndexBackward):
    name_ = "SelectBackward0"


class SliceBackward0(_IndexBackward):
    name_ = "SliceBackward0"


class IndexBackward0(_IndexBackward):
    name_ = "IndexBackward0"


class IndexAddBackward0(Node):
    """Backward of :func:`index_add_into_zeros`, itself the backward of indexing."""

    name_ = "IndexAddBackward0"

    def __init__(self, g: Tensor, key: Any) -> None:
        super().__init__((g,))
        self.key = key

    def apply(self, grad: Tensor) -> _Grads:
        return (_index(grad, self.key),)


def index_add_into_zeros(g: Tensor, key: Any, shape: tuple[int, ...]) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices add up)."""
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, key, g._array)
    return _record(out, (g,), lambda: IndexAddBackward0(g, key))


def _index(a: Tensor, key: Any) -> Tensor:
    """``a[key]`` as a copy: advanced indexing, and the gradient of an assigned value."""
    return _record(np.array(a._array[key]), (a,), lambda: IndexBackward0(a, key))


def getitem(a: Tensor, key: Any) -> Tensor:
    """``a[key]``: basic indexing (ints, slices) gives a view, advanced indexing a copy."""
    parts, basic = _key(key)
    if not basic:
        return _index(a, parts)
    node = SelectBackward0 if builtins.any(_is_int(p) for p in parts) else SliceBackward0
    return _record(a._array[parts], (a,), lambda: node(a, parts), view_of=a)


class CopySlices(Node):
    name_ = "CopySlices"

    def __init__(self, a: Tensor, value: Tensor, key: Any) -> None:
        super().__init__((a, value))
        self.key, self.value_shape = key, value.shape

    def apply(self, grad: Tensor) -> _Grads:
        ga = index_put(grad, self.key, as_tensor(0.0))  # cast into grad's dtype by numpy
        gv = _unbroadcast(_index(grad, self.key), self.value_shape)
        return ga, gv


def index_put(a: Tensor, key: Any, value: Tensor) -> Tensor:
    """A copy of ``a`` with ``value`` written at ``key`` (out of place)."""
    out = a._array.copy()
    out[key] = value._array
    return _record(out, (a, value), lambda: CopySlices(a, value, key))


def setitem(a: Tensor, key: Any, value: Any) -> None:
    """``a[key] = value``, an in-place operation (see :func:`in_place`)."""
    parts, _ = _key(key)
    value = as_tensor(value, a, "value")
    in_place(a, lambda old: index_put(old, parts, value), "index assignment")


# ---------------------------------------------------------------- joining, types, copies


class CatBackward0(Node):
    name_ = "CatBackward0"

    def __init__(self, tensors: Sequence[Tensor], dim: int) -> None:
        super().__init__(tuple(tensors))
        self.dim, self.sizes = dim, [t.shape[dim] for t in tensors]

    def apply(self, grad: Tensor) -> _Grads:
        grads, start = [], 0
        for n in self.sizes:
            index = (slice(None),) * self.dim + (slice(start, start + n),)
            grads.append(getitem(grad, index))
            start += n
        return tuple(grads)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along ``dim``."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence) or not tensors:
        raise TypeError("tensors must be a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"tensors[{i}] must be a Tensor, got {type(t).__name__}")
    d = _dims(dim, tensors[0].ndim)[0]  # type: ignore[index]
    out = np.concatenate([t._array for t in tensors], axis=d)
    return _record(out, tuple(tensors), lambda: CatBackward0(tensors, d))


class ToCopyBackward0(Node):
    name_ = "ToCopyBackward0"

    def __init__(self, a: Tensor) -> None:
        super().__init__((a,))
        self.dtype = a.dtype

    def apply(self, grad: Tensor) -> _Grads:
        return (to(grad, self.dtype),)


def to(a: Tensor, dtype: np.dtype | None) -> Tensor:
    """``a`` converted to ``dtype`` (``a`` itself when it already has it)."""
    if dtype is None or dtype == a.dtype:
        return a
    out = a._array.astype(dtype)
    if dtype not in (float32, float64):
        return Tensor._wrap(out)  # integer and bool results never require grad
    return _record(out, (a,), lambda: ToCopyBackward0(a))


class CloneBackward0(Node):
    name_ = "CloneBackward0"

    def apply(self, grad: Tensor) -> _Grads:
        return (grad,)


def clone(a: Tensor) -> Tensor:
    """A copy of ``a`` in new memory, still on the graph."""
    return _record(a._array.copy(), (a,), lambda: CloneBackward0((a,)))


class FillBackward2(Node):
    name_ = "FillBackward2"

    def apply(self, grad: Tensor) -> _Grads:
        return (grad * 0.0,)


def full_like(a: Tensor, value: float) -> Tensor:
    """A tensor of ``a``'s shape filled with ``value`` (gradient zero for ``a``)."""
    return _record(np.full_like(a._array, value), (a,), lambda: FillBackward2((a,)))


class CopyBackwards(Node):
    name_ = "CopyBackwards"

    def __init__(self, a: Tensor, source: Tensor) -> None:
        super().__init__((a, source))
        self.source = (source.shape, source.dtype)

    def apply(self, grad: Tensor) -> _Grads:
        return grad * 0.0, to(_unbroadcast(grad, self.source[0]), self.source[1])


def copy_from(a: Tensor, source: Any) -> Tensor:
    """``source`` broadcast into ``a``'s shape and dtype."""
    source = as_tensor(source, a, "source")
    out = np.broadcast_to(source._array, a.shape).astype(a.dtype)
    return _record(out, (a, source), lambda: CopyBackwards(a, source))


def compare(a: Tensor, b: Any, op: Callable[..., np.ndarray]) -> Tensor:
    """An elementwise comparison: a bool tensor that never requires grad."""
    b = as_tensor(b, a)
    return Tensor._wrap(np.asarray(op(a._array, b._array)))


# ---------------------------------------------------------------- in-place operations

_LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation"


def in_place(target: Tensor, compute: Callable[[Tensor], Tensor], what: str) -> Tensor:
    """Write ``compute(target)`` into ``target``'s memory and bump its version.

    The rules PyTorch applies:

    * while recording, a leaf that requires grad cannot be changed in place (its gradient
      would refer to values that no longer exist): ``RuntimeError``; under ``no_grad`` (or
      through ``.data``) it can;
    * otherwise, while recording, the tensor's history is extended: its ``grad_fn`` becomes
      the node of the operation, whose input is the tensor as it was before;
    * every in-place change bumps the version counter shared with views and detached copies,
      so that a node that saved the old values refuses to use them;
    * the result must fit the tensor: its shape, and a dtype of the same kind or lower (an
      integer tensor cannot take a float result, a bool tensor an integer one).
    """
    recording = is_grad_enabled()
    if recording and target._requires_grad and target._grad_fn is None:
        raise RuntimeError(f"{_LEAF_IN_PLACE} ({what}); change it under no_grad() or via .data")
    base = target._view_of
    if recording and base is not None and base._requires_grad:
        if base._grad_fn is None:
            raise RuntimeError(
                f"a view of {_LEAF_IN_PLACE} ({what}); change it under no_grad() or via .data"
            )
        raise RuntimeError(
            f"{what} on a view of a tensor that requires grad is not supported by this engine; "
            "change the tensor itself or clone the view first"
        )
    if recording:
        old = Tensor._wrap(target._array.copy())
        old._requires_grad, old._grad_fn = target._requires_grad, target._grad_fn
        result = compute(old)
    else:
        result = compute(target)
    if result.shape != target.shape:
        raise RuntimeError(
            f"{what}: the result has shape {result.shape}, which does not fit in {target.shape}"
        )
    if not np.can_cast(result.dtype, target.dtype, casting="same_kind"):  # PyTorch's rule too
        raise RuntimeError(
            f"{what}: result type {result.dtype} can't be cast to the desired output type "
            f"{target.dtype}"
        )
    np.copyto(target._array, result._array)
    target._bump()
    if recording and result._requires_grad:
        target._grad_fn, target._requires_grad = result._grad_fn, True
    return target


__all__ = [
    "abs",
    "add",
    "as_tensor",
    "cat",
    "clone",
    "compare",
    "copy_from",
    "div",
    "exp",
    "expand",
    "full_like",
    "getitem",
    "in_place",
    "index_add_into_zeros",
    "index_put",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "permute_reversed",
    "pow",
    "relu",
    "reshape",
    "setitem",
    "sigmoid",
    "sub",
    "sum",
    "tanh",
    "to",
    "transpose",
]
