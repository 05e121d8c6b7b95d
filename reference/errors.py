"""Errors raised by the reference implementation."""

from __future__ import annotations

__all__ = ["DivergenceError"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or non-finite weights.

    Raised by the training loops as soon as the loss or a weight becomes ``inf`` or ``nan``,
    instead of returning a silently useless result. The message names the step (or epoch)
    at which it happened, the learning rate in use and, where the loop can compute it, the
    largest stable learning rate for the data.

    It subclasses :class:`FloatingPointError`, so code that already guards numerical
    failures with ``except FloatingPointError`` keeps working.

    Example:
        >>> from reference.errors import DivergenceError
        >>> issubclass(DivergenceError, FloatingPointError)
        True
    """
