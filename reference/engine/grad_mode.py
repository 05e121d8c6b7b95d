"""Grad mode: whether operations record the graph.

Inside ``with no_grad():`` every operation computes its value and records nothing, so its
result has ``requires_grad=False`` and ``grad_fn=None`` whatever its inputs are. The backward
pass itself runs with recording off unless ``create_graph=True`` asked for a differentiable
gradient.

Example:
    >>> from reference.engine import Tensor, no_grad
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_enabled = [True]  # a one-element stack top, module-wide (the engine is single-threaded)

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph."""
    return _enabled[0]


class set_grad_enabled:  # noqa: N801 - named like the context manager it mirrors
    """Context manager (and decorator) that switches recording to ``mode`` inside."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"mode must be a bool, got {type(mode).__name__}")
        self.mode = mode
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_enabled[0])
        _enabled[0] = self.mode

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _enabled[0] = self._previous.pop()

    def __call__(self, function: F) -> F:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):  # noqa: N801
    """Recording off: results of operations inside do not require grad."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):  # noqa: N801
    """Recording on, for instance inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)
