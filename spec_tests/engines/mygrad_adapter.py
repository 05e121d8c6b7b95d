"""mygrad (https://github.com/rsokl/MyGrad) under gradspec's autograd specs.

mygrad is a numpy autograd library with its own vocabulary: a tensor is ``constant`` or not
(PyTorch: ``requires_grad``), knows its ``creator`` (``grad_fn``), and keeps ``.grad`` as a
numpy array. This adapter only *translates names*: every PyTorch attribute the specs use is
mapped to mygrad's equivalent when mygrad has one, and raises ``NotImplementedError`` (or
lets mygrad's own behaviour show) when it does not. It never implements autograd behaviour
itself, so the specs measure mygrad. What mygrad does differently is listed, with reasons, in
``spec_tests/engines/mygrad.toml``.

Needs the optional extra: ``pip install -e '.[mygrad]' -c constraints.txt``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import mygrad as mg
import numpy as np
from backends import finite_difference_check
from mygrad.nnet.activations import relu as mg_relu
from mygrad.nnet.activations import sigmoid as mg_sigmoid

__all__ = ["MygradBackend", "MygradTensor"]


def _raw(value: Any) -> Any:
    return value._mg if isinstance(value, MygradTensor) else value


def _wrap(value: Any) -> MygradTensor:
    if isinstance(value, MygradTensor):
        return value
    if not isinstance(value, mg.Tensor):
        value = mg.Tensor(np.asarray(value), constant=True)
    return MygradTensor(value)


class _Creator:
    """mygrad's ``creator`` (an Operation) under PyTorch's ``grad_fn`` interface."""

    def __init__(self, op: Any) -> None:
        self.op = op

    def name(self) -> str:
        return type(self.op).__name__  # mygrad's own names: Add, Multiply, ...


class MygradTensor:
    """A mygrad tensor seen through PyTorch's attribute names."""

    __array_priority__ = 1000

    def __init__(self, t: mg.Tensor) -> None:
        self._mg = t

    # ---- what mygrad has under another name
    @property
    def requires_grad(self) -> bool:
        return not self._mg.constant

    def requires_grad_(self, flag: bool = True) -> MygradTensor:
        # mygrad fixes constant-ness at creation: a new tensor with the same values.
        self._mg = mg.Tensor(self._mg.data, constant=not flag)
        return self

    @property
    def grad_fn(self) -> _Creator | None:
        return None if self._mg.creator is None else _Creator(self._mg.creator)

    @property
    def is_leaf(self) -> bool:
        return self._mg.creator is None

    @property
    def grad(self) -> MygradTensor | None:
        return (
            None
            if self._mg.grad is None
            else _wrap(mg.Tensor(self._mg.grad, copy=False, constant=True))
        )

    def backward(self, gradient: Any = None, retain_graph: Any = None, create_graph: bool = False):
        if create_graph:
            raise NotImplementedError("mygrad has no create_graph (no higher-order gradients)")
        self._mg.backward(None if gradient is None else np.asarray(_raw(gradient).data))

    def retain_grad(self) -> None:
        pass  # mygrad keeps the gradient of every tensor of the graph

    def register_hook(self, hook: Callable[..., Any]) -> None:
        raise NotImplementedError("mygrad has no gradient hooks")

    def detach(self) -> MygradTensor:
        return _wrap(mg.Tensor(self._mg.data, copy=False, constant=True))

    @property
    def data(self) -> MygradTensor:
        return self.detach()

    # ---- values
    shape = property(lambda self: self._mg.shape)
    dtype = property(lambda self: self._mg.dtype)

    def tolist(self) -> Any:
        return self._mg.data.tolist()

    def item(self) -> Any:
        return self._mg.item()

    def data_ptr(self) -> int:
        return int(self._mg.data.__array_interface__["data"][0])

    def __repr__(self) -> str:
        return repr(self._mg)

    # ---- operations (mygrad's functions)
    def _binary(self, other: Any, op: Callable[..., Any], reflected: bool = False):
        a, b = (_raw(other), self._mg) if reflected else (self._mg, _raw(other))
        return _wrap(op(a, b))

    def __add__(self, o):
        return self._binary(o, mg.add)

    def __radd__(self, o):
        return self._binary(o, mg.add, True)

    def __sub__(self, o):
        return self._binary(o, mg.subtract)

    def __rsub__(self, o):
        return self._binary(o, mg.subtract, True)

    def __mul__(self, o):
        return self._binary(o, mg.multiply)

    def __rmul__(self, o):
        return self._binary(o, mg.multiply, True)

    def __truediv__(self, o):
        return self._binary(o, mg.divide)

    def __rtruediv__(self, o):
        return self._binary(o, mg.divide, True)

    def __pow__(self, o):
        return self._binary(o, mg.power)

    def __rpow__(self, o):
        return self._binary(o, mg.power, True)

    def __matmul__(self, o):
        return self._binary(o, mg.matmul)

    def __neg__(self):
        return _wrap(mg.negative(self._mg))

    def __gt__(self, o):
        return _wrap(self._mg.data > np.asarray(_raw(o)))

    def __getitem__(self, key):
        return _wrap(self._mg[_raw(key) if not isinstance(key, tuple) else key])

    def __setitem__(self, key, value):
        self._mg[key] = _raw(value)

    def __iadd__(self, o):
        self._mg += _raw(o)
        return self

    def exp(self):
        return _wrap(mg.exp(self._mg))

    def log(self):
        return _wrap(mg.log(self._mg))

    def tanh(self):
        return _wrap(mg.tanh(self._mg))

    def sigmoid(self):
        return _wrap(mg_sigmoid(self._mg))

    def relu(self):
        return _wrap(mg_relu(self._mg))

    def sum(self, dim=None, keepdim=False):
        return _wrap(mg.sum(self._mg, axis=dim, keepdims=keepdim))

    def mean(self, dim=None, keepdim=False):
        return _wrap(mg.mean(self._mg, axis=dim, keepdims=keepdim))

    def view(self, *shape):
        return _wrap(mg.reshape(self._mg, shape[0] if len(shape) == 1 else shape))

    reshape = view

    def t(self):
        return _wrap(mg.transpose(self._mg))

    def transpose(self, dim0, dim1):
        return _wrap(mg.swapaxes(self._mg, dim0, dim1))

    def argmax(self, dim=None):
        return _wrap(np.argmax(self._mg.data, axis=dim))

    def long(self):
        return _wrap(self._mg.data.astype(np.int64))

    def to(self, dtype):
        return _wrap(self._mg.astype(dtype))

    def double(self):
        return _wrap(self._mg.astype(np.float64))

    def add_(self, o):
        mg.add(self._mg, _raw(o), out=self._mg)
        return self

    def mul_(self, o):
        mg.multiply(self._mg, _raw(o), out=self._mg)
        return self

    def exp_(self):
        mg.exp(self._mg, out=self._mg)
        return self

    def zero_(self):
        return self.fill_(0.0)

    def fill_(self, value):
        if self._mg.constant:  # an untracked tensor: write its numpy array (mygrad's idiom)
            self._mg.data[...] = value
        else:
            self._mg[...] = value
        return self


class MygradBackend:
    """mygrad 2.5 as the engine under test (through :class:`MygradTensor`)."""

    name = "mygrad"
    float32 = np.float32
    float64 = np.float64

    def tensor(self, data: Any, *, requires_grad: bool = False, dtype: Any = None) -> Any:
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.ndarray):
            array = array.astype(np.float32)  # PyTorch's default dtype for Python floats
        return _wrap(mg.Tensor(array, constant=not requires_grad))

    def ones(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.tensor(np.ones(shape, dtype or np.float32), requires_grad=requires_grad)

    def zeros(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.tensor(np.zeros(shape, dtype or np.float32), requires_grad=requires_grad)

    def eye(self, n: int, *, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.tensor(np.eye(n, dtype=dtype or np.float32), requires_grad=requires_grad)

    def cat(self, tensors: Sequence[Any], dim: int = 0) -> Any:
        return _wrap(mg.concatenate([_raw(t) for t in tensors], axis=dim))

    def randn(self, *shape: int, seed: int, requires_grad: bool = False) -> Any:
        draws = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        return self.tensor(draws, requires_grad=requires_grad)

    def grad(
        self, outputs: Any, inputs: Any, *, create_graph: bool = False, retain_graph: Any = None
    ) -> tuple[Any, ...]:
        # mygrad has no functional grad(): backward, then read the inputs' .grad.
        if create_graph:
            raise NotImplementedError("mygrad has no create_graph (no higher-order gradients)")
        inputs = [inputs] if isinstance(inputs, MygradTensor) else list(inputs)
        outputs.backward()
        return tuple(x.grad for x in inputs)

    def no_grad(self) -> AbstractContextManager[Any]:
        return mg.no_autodiff

    def bce_with_logits(self, logits: Any, target: Any) -> Any:
        # mygrad has no fused logistic loss: the stable formula from its functions.
        z, y = _raw(logits), _raw(target)
        return _wrap(mg.mean(mg.maximum(z, 0) - z * y + mg.log1p(mg.exp(-mg.absolute(z)))))

    def gradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool:
        return finite_difference_check(self, fn, inputs)

    def gradgradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool:
        return finite_difference_check(self, fn, inputs, order=2)

    def values(self, t: Any) -> Any:
        return _raw(t).data.tolist() if isinstance(t, MygradTensor) else np.asarray(t).tolist()
