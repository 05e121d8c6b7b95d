"""Argument checks shared by the reference modules (private).

Every function takes the value to check and the ``name`` the caller's argument has, and
either returns the value (converted where the docstring says so) or raises with a message
that starts with that name, so that an error always says which argument was wrong. The
wording is part of the specs, which match fragments of it such as ``"lr must be > 0"``,
``"must be an int"``, ``"must be a torch.Tensor"`` or ``"has non-finite entries"``.

``bool`` is never accepted where a number is expected, although it is a subclass of
``int``: ``True`` as a learning rate or an epoch count is almost certainly a mistake.

Example:
    >>> integer(3, "epochs", 0)
    3
    >>> real_number(0.5, "lr", minimum=0, exclusive=True)
    0.5
    >>> integer(-1, "seed", 0)
    Traceback (most recent call last):
        ...
    ValueError: seed must be >= 0, got -1
"""

from __future__ import annotations

import math
from numbers import Real

import torch


def tensor(
    value: object,
    name: str,
    *,
    floating: bool = False,
    real: bool = False,
    allow_bool: bool = False,
    finite: bool = False,
) -> torch.Tensor:
    """Check that ``value`` is a tensor, optionally of a kind of dtype, and return it.

    Args:
        value: the argument to check.
        name: the argument's name, used in the messages.
        floating: require a floating-point dtype.
        real: require a real numeric dtype: integer or floating point, not complex, and
            not ``torch.bool`` unless ``allow_bool``.
        allow_bool: with ``real``, let ``torch.bool`` pass too.
        finite: also run :func:`finite` on the tensor.

    Returns:
        ``value`` itself.

    Raises:
        TypeError: ``"{name} must be a torch.Tensor, got {type}"``,
            ``"{name} must be a floating-point tensor, got dtype {dtype}"`` or
            ``"{name} must be a real-valued tensor, got dtype {dtype}"``.
        ValueError: with ``finite``, as :func:`finite`.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if real and (value.is_complex() or (value.dtype == torch.bool and not allow_bool)):
        raise TypeError(f"{name} must be a real-valued tensor, got dtype {value.dtype}")
    if finite:
        _finite(value, name)
    return value


def finite(value: torch.Tensor, name: str) -> None:
    """Check that a floating-point tensor holds no ``inf`` or ``nan``.

    Tensors of other dtypes pass unchecked (an integer or bool tensor is always finite).

    Raises:
        ValueError: ``"{name} has non-finite entries (inf or nan)"``.
    """
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} has non-finite entries (inf or nan)")


_finite = finite  # tensor() has a parameter of the same name


def integer(value: object, name: str, minimum: int | None = None) -> int:
    """Check that ``value`` is an ``int`` (not a ``bool``), at least ``minimum`` if given.

    Returns:
        ``value`` itself.

    Raises:
        TypeError: ``"{name} must be an int, got {type}"``.
        ValueError: ``"{name} must be >= {minimum}, got {value}"``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def optional_integer(value: object, name: str, minimum: int | None = None) -> int | None:
    """Like :func:`integer`, but ``None`` is also accepted (and returned).

    Raises:
        TypeError: ``"{name} must be an int or None, got {type}"``.
        ValueError: ``"{name} must be >= {minimum}, got {value}"``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, got {type(value).__name__}")
    return integer(value, name, minimum)


def boolean(value: object, name: str) -> bool:
    """Check that ``value`` is a ``bool`` (``0`` and ``1`` are not).

    Raises:
        TypeError: ``"{name} must be a bool, got {type}"``.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def real_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    exclusive: bool = False,
    finite: bool = True,
    allow_tensor: bool = False,
) -> float:
    """Check that ``value`` is a real number and return it as a ``float``.

    Any :class:`numbers.Real` but ``bool`` is accepted (``int``, ``float``, NumPy scalars,
    ``fractions.Fraction``); with ``allow_tensor`` so is a one-element real tensor, which is
    read with ``.item()``. Messages quote ``value`` as it was passed, with ``repr``.

    Args:
        value: the argument to check.
        name: the argument's name, used in the messages.
        minimum: the smallest value allowed, or ``None`` for no bound.
        exclusive: whether ``minimum`` itself is excluded (``value > minimum``).
        finite: reject ``inf`` and ``nan`` (checked before ``minimum``).
        allow_tensor: accept a one-element, non-bool, real tensor.

    Raises:
        TypeError: ``"{name} must be a real number, got {type}"`` (or ``got a complex
            tensor``).
        ValueError: ``"{name} must be finite, got {value!r}"``, or
            ``"{name} must be > {minimum}, got {value!r}"`` (``>=`` unless ``exclusive``);
            ``nan`` fails the bound too.
    """
    number = value
    if (
        allow_tensor
        and isinstance(number, torch.Tensor)
        and number.numel() == 1
        and number.dtype != torch.bool
    ):
        if number.is_complex():
            raise TypeError(f"{name} must be a real number, got a complex tensor")
        number = number.item()
    if isinstance(number, bool) or not isinstance(number, Real):
        raise TypeError(f"{name} must be a real number, got {type(number).__name__}")
    v = float(number)
    if finite and not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and not (v > minimum if exclusive else v >= minimum):
        raise ValueError(f"{name} must be {'>' if exclusive else '>='} {minimum}, got {value!r}")
    return v


def positive_finite(value: object, name: str, *, allow_tensor: bool = False) -> float:
    """A real number that is finite and > 0, as a ``float``; one message for both failures.

    Type checks are those of :func:`real_number`.

    Raises:
        TypeError: ``"{name} must be a real number, got {type}"``.
        ValueError: ``"{name} must be a finite number > 0, got {value!r}"``.
    """
    v = real_number(value, name, finite=False, allow_tensor=allow_tensor)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def projection_dim(value: object, name: str = "dim") -> int:
    """Check a projection dimension: ``0`` (column sums) or ``1`` (row sums), not a bool.

    Raises:
        ValueError: ``"{name} must be 0 (column sums) or 1 (row sums), got {value!r}"``.
    """
    if isinstance(value, bool) or value not in (0, 1):
        raise ValueError(f"{name} must be 0 (column sums) or 1 (row sums), got {value!r}")
    return 1 if value == 1 else 0
