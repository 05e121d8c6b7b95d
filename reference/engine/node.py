r"""Backward nodes: the recorded graph.

Every operation on tensors that require grad records one :class:`Node`, the tensor's
``grad_fn``. A node knows the nodes that made its inputs (``next_functions``, ``None`` for an
input that does not require grad) and how to turn the gradient of its output into gradients
of its inputs, the vector-Jacobian product

$$
\bar{x}_k = \Big(\frac{\partial y}{\partial x_k}\Big)^{\!\top} \bar{y},
\qquad \bar{y} = \frac{\partial L}{\partial y}.
$$

Nodes that need values from the forward pass keep them as saved tensors. A backward pass
frees them (unless ``retain_graph=True``); a second pass through such a node is then refused.
Each saved tensor remembers the version of its data at saving time: an in-place change before
the backward pass is detected instead of giving a wrong gradient.

A leaf that requires grad is represented by an :class:`AccumulateGrad` node, which adds the
incoming gradient to the leaf's ``.grad``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference.engine.tensor import Tensor

__all__ = ["AccumulateGrad", "Node", "describe"]

_sequence = itertools.count()


def describe(t: Tensor) -> str:
    """A short description of a tensor for error messages: ``[float32 tensor of shape (2,)]``."""
    return f"[{t.dtype} tensor of shape {t.shape}]"


class Node:
    """One recorded operation.

    Subclasses set :attr:`name` (PyTorch's name for the same node, e.g. ``"MulBackward0"``)
    and implement :meth:`apply`, which maps the output gradient to one gradient per input
    (``None`` where an input needs none). :meth:`apply` is written with tensor operations, so
    that with ``create_graph=True`` the gradient is itself differentiable.
    """

    name_: str = "Node"

    def __init__(self, inputs: tuple[Any, ...]) -> None:
        from reference.engine.tensor import Tensor

        self.next_functions: tuple[tuple[Node | None, int], ...] = tuple(
            (x._edge() if isinstance(x, Tensor) else None, 0) for x in inputs
        )
        self.sequence_nr = next(_sequence)
        self._saved: dict[str, tuple[Tensor, int, str]] = {}
        self._released = False
        self.pre_hooks: list[Callable[[Tensor], Tensor | None]] = []
        self.retained: Any = None  # weak reference to the output tensor that retains .grad

    def name(self) -> str:
        """PyTorch's name for this node (``"AddBackward0"``, ``"MulBackward0"``, ...)."""
        return self.name_

    def __repr__(self) -> str:
        return f"<{self.name_}>"

    # ------------------------------------------------------------ saved tensors
    def save(self, **tensors: Tensor) -> None:
        """Keep forward values for the backward pass, with their current versions."""
        for key, t in tensors.items():
            origin = t.grad_fn.name() if t.grad_fn is not None else "a leaf"
            self._saved[key] = (t, t._version, origin)

    def saved(self, key: str) -> Tensor:
        """A saved tensor, checked: not freed by an earlier backward, not modified since."""
        if self._released:
            raise RuntimeError(
                f"Trying to backward through the graph a second time: {self.name_} needs "
                "values saved in the forward pass, and the first backward pass freed them. "
                "Pass retain_graph=True to the first backward() (or grad()) to keep them."
            )
        t, version, origin = self._saved[key]
        if t._version != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {describe(t)}, which is output 0 of {origin}, "
                f"is at version {t._version}; expected version {version} instead. "
                "Compute with a copy (clone) or make the change out of place."
            )
        return t

    def release(self) -> None:
        """Free the saved tensors (after a backward pass without ``retain_graph``)."""
        if self._saved:
            self._saved.clear()
            self._released = True

    # ------------------------------------------------------------ the derivative
    def apply(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        """Gradients of the inputs from the gradient ``grad`` of the output."""
        raise NotImplementedError


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: it adds incoming gradients to ``leaf.grad``."""

    name_ = "AccumulateGrad"

    def __init__(self, variable: Tensor) -> None:
        super().__init__(())
        self.variable = variable

    def apply(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        return ()
