r"""Making tensors, and the fused logistic loss.

``binary_cross_entropy_with_logits`` is the mean over entries of

$$
\ell(z, y) = \max(z, 0) - z y + \log\big(1 + e^{-|z|}\big)
           = -\big[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))\big],
$$

computed in the first form, which never overflows; its derivative is
$\partial \ell / \partial z = \sigma(z) - y$ (and $-z$ for the target).

Example:
    >>> from reference.engine import ones, zeros, binary_cross_entropy_with_logits
    >>> loss = binary_cross_entropy_with_logits(zeros(3), ones(3))  # log 2 each
    >>> round(loss.item(), 6)
    0.693147
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import _validate
from reference.engine.node import Node
from reference.engine.ops import _record, _unbroadcast
from reference.engine.tensor import Tensor, _as_dtype, float32, float64

__all__ = ["binary_cross_entropy_with_logits", "eye", "ones", "randn", "tensor", "zeros"]


def tensor(data: Any, *, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (see :class:`Tensor`)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"shape must be non-negative ints, got {shape!r}")
    return shape


def _filled(value: float, shape: tuple[Any, ...], requires_grad: bool, dtype: Any) -> Tensor:
    array = np.full(_shape(shape), value, dtype=_as_dtype(dtype) or float32)
    return Tensor(array, requires_grad=requires_grad)


def ones(*shape: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of ones (float32 unless ``dtype``)."""
    return _filled(1.0, shape, requires_grad, dtype)


def zeros(*shape: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype``)."""
    return _filled(0.0, shape, requires_grad, dtype)


def eye(n: int, *, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """The $n \\times n$ identity matrix."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return Tensor(np.eye(n, dtype=_as_dtype(dtype) or float32), requires_grad=requires_grad)


def randn(*shape: int, seed: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Standard normal draws from numpy's generator seeded with ``seed``."""
    seed = _validate.seed(seed)
    draws = np.random.default_rng(seed).standard_normal(_shape(shape))
    return Tensor(draws.astype(_as_dtype(dtype) or float32), requires_grad=requires_grad)


class BinaryCrossEntropyWithLogitsBackward0(Node):
    name_ = "BinaryCrossEntropyWithLogitsBackward0"

    def __init__(self, logits: Tensor, target: Tensor) -> None:
        super().__init__((logits, target))
        self.needs = (logits.requires_grad, target.requires_grad)
        self.count = float(max(logits.numel(), 1))
        self.save(logits=logits, target=target)

    def apply(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        z, y = self.saved("logits"), self.saved("target")
        scale = grad / self.count
        gz = _unbroadcast((z.sigmoid() - y) * scale, z.shape) if self.needs[0] else None
        gy = _unbroadcast(-z * scale, y.shape) if self.needs[1] else None
        return gz, gy


def binary_cross_entropy_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    r"""Mean of $\max(z,0) - z y + \log(1 + e^{-|z|})$ over the entries (see the module)."""
    for name, t in (("logits", logits), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a Tensor, got {type(t).__name__}")
        if t.dtype not in (float32, float64):
            raise TypeError(f"{name} must be floating point, got dtype {t.dtype}")
    if logits.shape != target.shape:
        raise ValueError(f"target shape {target.shape} must equal logits shape {logits.shape}")
    z, y = logits._array, target._array
    losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    value = np.asarray(losses.mean(), dtype=np.result_type(z, y))
    return _record(
        value, (logits, target), lambda: BinaryCrossEntropyWithLogitsBackward0(logits, target)
    )
