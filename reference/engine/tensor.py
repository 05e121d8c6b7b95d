r"""The :class:`Tensor`: a numpy array with the bookkeeping reverse-mode autograd needs.

A tensor holds its values (a numpy array, float32 by default like PyTorch), whether it
requires grad, the node that made it (``grad_fn``, ``None`` for a leaf), the gradient
accumulated into it (``.grad``, leaves only unless :meth:`Tensor.retain_grad`), and a version
counter that every in-place operation bumps. Views (``view``, basic indexing, ``transpose``)
and :meth:`Tensor.detach` share the values and the version counter with their source;
:attr:`Tensor.data` shares the values but not the counter, which is why an in-place change
through ``.data`` goes unnoticed by autograd.

The arithmetic lives in :mod:`reference.engine.ops`; this module only routes the Python
operators there.

Example:
    >>> from reference.engine import Tensor
    >>> x = Tensor([[1.0, 1.0]], requires_grad=True)
    >>> y = ((x + 2) * (x + 2) * 3).sum()
    >>> y.backward()
    >>> x.grad.tolist()  # d/dx 3 (x + 2)^2 = 6 (x + 2)
    [[18.0, 18.0]]
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reference.engine.node import AccumulateGrad, Node

__all__ = ["Tensor", "bool_", "float32", "float64", "int64"]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
_DTYPES = {float32, float64, int64, bool_, np.dtype(np.int32)}
_FLOATING = {float32, float64}


class _Version:
    """A counter of in-place changes, shared by a tensor, its views and its detached copies."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def _as_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a numpy dtype such as float32, got {dtype!r}") from None
    if resolved not in _DTYPES:
        raise TypeError(f"dtype must be float32, float64, int64 or bool, got {resolved}")
    return resolved


def _infer_array(data: Any, dtype: np.dtype | None) -> np.ndarray:
    """PyTorch's inference: Python floats give float32, ints int64, bools bool; arrays keep."""
    if isinstance(data, Tensor):
        array = data._array.copy()
    elif isinstance(data, np.ndarray | np.generic):
        array = np.array(data)
    else:
        try:
            array = np.array(data, dtype=dtype)
        except ValueError as error:
            raise ValueError(
                f"data must be a number or a rectangular nested list: {error}"
            ) from None
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)
        elif dtype is None and array.dtype.kind in "iu":
            array = array.astype(np.int64)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"data must hold numbers or bools, got dtype {array.dtype}")
    if dtype is not None:
        array = array.astype(dtype)
    return array


class _Registration:
    """One registration of a hook: the same function registered twice is two of them, and
    a handle removes its own (as PyTorch's handles do)."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable[[Tensor], Tensor | None]) -> None:
        self.hook = hook

    def __call__(self, grad: Tensor) -> Tensor | None:
        return self.hook(grad)


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Callable[..., Any]], hook: Callable[..., Any]) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        for i, registered in enumerate(self._hooks):
            if registered is self._hook:
                del self._hooks[i]
                return


class Tensor:
    """An n-dimensional array that can record the operations made with it.

    Args:
        data: a number, a nested list, a numpy array or a tensor (always copied).
        requires_grad: record operations on this tensor so that ``backward`` reaches it;
            only floating-point tensors can require grad.
        dtype: ``float32`` or ``float64`` (or ``int64``/``bool`` for data without gradients);
            inferred as PyTorch does when omitted.

    Raises:
        TypeError: bad ``dtype``, or non-numeric ``data``.
        RuntimeError: ``requires_grad=True`` for a tensor that is not floating point.
    """

    __array_priority__ = 1000  # numpy scalars on the left defer to our reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        self._setup(_infer_array(data, _as_dtype(dtype)))
        if requires_grad:
            self.requires_grad_(True)

    def _setup(self, array: np.ndarray, version: _Version | None = None) -> None:
        self._array = array
        self._requires_grad = False
        self._grad_fn: Node | None = None
        self._grad: Tensor | None = None
        self._retains_grad = False
        self._version_counter = version if version is not None else _Version()
        self._accumulator: AccumulateGrad | None = None
        self._hooks: list[Callable[[Tensor], Tensor | None]] = []
        self._view_of: Tensor | None = None  # the tensor this is a view of (autograd views)

    @classmethod
    def _wrap(
        cls, array: np.ndarray, *, view_of: Tensor | None = None, version: _Version | None = None
    ) -> Tensor:
        """A tensor around ``array`` without copying.

        A view (``view_of``) shares its source's version counter; ``version`` shares a
        counter without making a view (``detach``).
        """
        t = cls.__new__(cls)
        if view_of is not None:
            version = view_of._version_counter
        t._setup(array, version)
        t._view_of = view_of
        return t

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded (for its ``backward``)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Switch recording for this leaf on or off (in place); refused on non-leaves."""
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if self._grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; this tensor was "
                f"computed ({self._grad_fn.name()}): use .detach() for an untracked copy"
            )
        if requires_grad and self.dtype not in _FLOATING:
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}"
            )
        self._requires_grad = requires_grad
        return self

    @property
    def grad_fn(self) -> Node | None:
        """The node that made this tensor, ``None`` for a leaf."""
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded operation (all that do not require grad)."""
        return self._grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient: leaves that require grad, and tensors that retain it.

        Reading it on another non-leaf warns (it is always ``None`` there).
        """
        if self._grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad of a tensor that is not a leaf Tensor is being accessed: backward "
                "does not fill it. Call .retain_grad() on it before backward to keep it, or "
                "read the gradient of the leaf instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise ValueError(f"grad must have shape {self.shape}, got {value.shape}")
        self._grad = value

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad`` during backward passes."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on a tensor that does not require grad")
            return  # leaves keep their gradient anyway
        self._retains_grad = True
        self._grad_fn.retained = weakref.ref(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        A hook that returns a tensor replaces the gradient passed on. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        hooks = self._grad_fn.pre_hooks if self._grad_fn is not None else self._hooks
        registration = _Registration(hook)
        hooks.append(registration)
        return RemovableHandle(hooks, registration)

    def _edge(self) -> Node | None:
        """Where a gradient for this tensor goes: its node, its accumulator, or nowhere."""
        if not self._requires_grad:
            return None
        if self._grad_fn is not None:
            return self._grad_fn
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        r"""Accumulate $\partial (v \cdot y) / \partial \ell$ into every leaf $\ell$.

        ``gradient`` is $v$; it may be omitted only for a one-element tensor ($v = 1$).
        Saved values are freed unless ``retain_graph`` (default: ``create_graph``).
        """
        from reference.engine.autograd import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    # ------------------------------------------------------------ values
    @property
    def data(self) -> Tensor:
        """The same values, untracked, with a version counter of their own."""
        return Tensor._wrap(self._array)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._array = value._array  # share the other tensor's memory; no version bump

    def detach(self) -> Tensor:
        """The same values (and version counter), cut from the graph."""
        return Tensor._wrap(self._array, version=self._version_counter)

    @property
    def _version(self) -> int:
        return self._version_counter.value

    def _bump(self) -> None:
        self._version_counter.value += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._array.shape)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    def numel(self) -> int:
        return int(self._array.size)

    def element_size(self) -> int:
        return int(self._array.itemsize)

    def data_ptr(self) -> int:
        """Address of the first element (views into the same memory differ by offsets)."""
        return int(self._array.__array_interface__["data"][0])

    def stride(self) -> tuple[int, ...]:
        """Steps between elements along each dimension, in elements (not bytes)."""
        return tuple(s // self._array.itemsize for s in self._array.strides)

    def numpy(self) -> np.ndarray:
        """The values as a numpy array sharing memory (refused while recording)."""
        if self._requires_grad:
            raise RuntimeError("call .detach().numpy() on a tensor that requires grad")
        return self._array

    def tolist(self) -> Any:
        return self._array.tolist()

    def item(self) -> float | int | bool:
        if self._array.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self._array.item()

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._array)

    def __bool__(self) -> bool:
        return bool(self._array)

    def __float__(self) -> float:
        return float(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self._array, separator=", ", prefix="tensor(")
        extra = f", dtype={self.dtype}" if self.dtype not in (float32, int64, bool_) else ""
        if self._grad_fn is not None:
            extra += f", grad_fn=<{self._grad_fn.name()}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------ operators (see ops.py)
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __getitem__(self, key: Any) -> Tensor:
        return _ops.getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        _ops.setitem(self, key, value)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.compare(self, other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.compare(self, other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return _ops.compare(self, other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return _ops.compare(self, other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return _ops.compare(self, other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return _ops.compare(self, other, np.greater_equal)

    # ------------------------------------------------------------ methods (see ops.py)
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.mean(self, dim, keepdim)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def matmul(self, other: Tensor) -> Tensor:
        return _ops.matmul(self, other)

    def mm(self, other: Tensor) -> Tensor:
        return _ops.matmul(self, other)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return _ops.reshape(self, shape, view=False)

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        return _ops.reshape(self, shape, view=True)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return _ops.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return _ops.transpose(self, 0, -1, name="TBackward0")  # a view, as in torch, for any ndim

    @property
    def T(self) -> Tensor:
        return _ops.permute_reversed(self)

    def to(self, dtype: Any) -> Tensor:
        return _ops.to(self, _as_dtype(dtype))

    def double(self) -> Tensor:
        return _ops.to(self, float64)

    def float(self) -> Tensor:
        return _ops.to(self, float32)

    def long(self) -> Tensor:
        return _ops.to(self, int64)

    def clone(self) -> Tensor:
        return _ops.clone(self)

    def argmax(self, dim: int | None = None) -> Tensor:
        return Tensor._wrap(np.asarray(np.argmax(self._array, axis=dim)).astype(np.int64))

    def abs(self) -> Tensor:
        return _ops.abs(self)

    # ------------------------------------------------------------ in place (see ops.py)
    def add_(self, other: Any) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.add(old, other), "add_")

    def sub_(self, other: Any) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.sub(old, other), "sub_")

    def mul_(self, other: Any) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.mul(old, other), "mul_")

    def div_(self, other: Any) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.div(old, other), "div_")

    def exp_(self) -> Tensor:
        return _ops.in_place(self, _ops.exp, "exp_")

    def zero_(self) -> Tensor:
        return self.fill_(0.0)

    def fill_(self, value: float) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.full_like(old, value), "fill_")

    def copy_(self, source: Tensor) -> Tensor:
        return _ops.in_place(self, lambda old: _ops.copy_from(old, source), "copy_")


from reference.engine import ops as _ops  # noqa: E402  (ops needs Tensor defined first)
