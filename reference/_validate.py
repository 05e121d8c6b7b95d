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
from numbers import Integral, Real

import numpy as np
import torch


def tensor(
    value: object,
    name: str,
    *,
    floating: bool = False,
    allow_bool: bool = False,
    finite: bool = False,
) -> torch.Tensor:
    """Check that ``value`` is a tensor of real numbers with data, and return it.

    Every public function of gradspec works on real numbers: integer or floating dtypes pass,
    complex ones never, ``torch.bool`` only with ``allow_bool``. Tensors on the ``meta``
    device (a shape and a dtype, but no values) are always refused: nothing can be computed
    from them.

    Args:
        value: the argument to check.
        name: the argument's name, used in the messages.
        floating: require a floating-point dtype.
        allow_bool: let ``torch.bool`` pass too.
        finite: also run :func:`finite` on the tensor.

    Returns:
        ``value`` itself.

    Raises:
        TypeError: ``"{name} must be a torch.Tensor, got {type}"``,
            ``"{name} must be a floating-point tensor, got dtype {dtype}"`` or
            ``"{name} must be a real-valued tensor, got dtype {dtype}"``.
        ValueError: ``"{name} is a meta tensor ..."``; with ``finite``, as :func:`finite`.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.device.type == "meta":
        raise ValueError(f"{name} is a meta tensor: it has a shape but no values to compute with")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.is_complex() or (value.dtype == torch.bool and not allow_bool):
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


def integer(
    value: object, name: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Check that ``value`` is an integer (not a ``bool``) in ``[minimum, maximum]``.

    Any :class:`numbers.Integral` is accepted (``int``, NumPy integers) and returned as a
    Python ``int``.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: ``"{name} must be an int, got {type}"``.
        ValueError: ``"{name} must be >= {minimum}, got {value}"`` or
            ``"{name} must be <= {maximum}, got {value}"``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return number


#: Seeds are 64-bit signed integers in torch and fit numpy's generators too.
SEED_LIMIT = 2**63


def seed(value: object, name: str = "seed") -> int:
    """Check a random seed: an integer with ``0 <= seed < 2**63``, returned as an ``int``.

    Both torch (``torch.Generator.manual_seed``) and NumPy (``default_rng``) take every seed
    in that range, so a seed that passes here never fails inside either library.

    Raises:
        TypeError: ``"{name} must be an int, got {type}"``.
        ValueError: ``"{name} must be in [0, 2**63), got {value}"``.

    Example:
        >>> seed(7)
        7
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    number = int(value)
    if not 0 <= number < SEED_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**63), got {value}")
    return number


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the strings ``options``.

    Raises:
        ValueError: ``"{name} must be one of {options}, got {value!r}"``.
    """
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def floating_dtype(value: object, name: str) -> torch.dtype:
    """Check that ``value`` is a floating ``torch.dtype``.

    Raises:
        TypeError: ``"{name} must be a floating torch.dtype, got {value!r}"``.
    """
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise TypeError(f"{name} must be a floating torch.dtype, got {value!r}")
    return value


def learning_rate(value: object, dtype: torch.dtype, name: str = "lr") -> float:
    """A learning rate: a finite number > 0 that ``dtype`` (the parameters' dtype) can hold.

    A rate beyond the dtype's range cannot even be applied once (torch refuses to convert it),
    so it is refused here with the range in the message.

    Raises:
        TypeError: as :func:`real_number`.
        ValueError: ``"{name} must be > 0, got ..."``, ``"{name} must be finite, got ..."`` or
            ``"{name} = ... is beyond the range of {dtype} ..."``.
    """
    eta = real_number(value, name, minimum=0, exclusive=True)
    if eta > torch.finfo(dtype).max:
        raise ValueError(
            f"{name} = {value!r} is beyond the range of {dtype} (largest "
            f"{torch.finfo(dtype).max:.3g}), the dtype of the parameters it updates"
        )
    return eta


def no_overflow(result: torch.Tensor, what: str, names: str) -> torch.Tensor:
    """Refuse a result that overflowed although every input was finite.

    Called on what a function computed from inputs already checked to be finite: a
    non-finite entry can then only come from overflow, and the caller's arguments were too
    large for float64 (or the working dtype) to hold ``what``.

    Raises:
        ValueError: ``"{what} overflows {dtype}: {names} too large ..."``.
    """
    if result.is_floating_point() and not bool(torch.isfinite(result).all()):
        raise ValueError(
            f"{what} overflows {result.dtype} (it is not finite although every input is): "
            f"{names} too large; rescale the data"
        )
    return result


def boolean(value: object, name: str) -> bool:
    """Check that ``value`` is a ``bool`` (``0`` and ``1`` are not).

    Raises:
        TypeError: ``"{name} must be a bool, got {type}"``.
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


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
        if number.device.type == "meta":
            raise ValueError(f"{name} is a meta tensor: it has no value")
        if number.is_complex():
            raise TypeError(f"{name} must be a real number, got a complex tensor")
        number = number.item()
    if isinstance(number, bool | np.bool_) or not isinstance(number, Real):
        raise TypeError(f"{name} must be a real number, got {type(number).__name__}")
    try:
        v = float(number)
    except OverflowError:  # an int or Fraction beyond float's range (its sign survives)
        v = math.inf if number > 0 else -math.inf
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


def projection_dim(value: object, name: str) -> int:
    """Check a projection dimension: ``0`` (column sums) or ``1`` (row sums), not a bool.

    Raises:
        ValueError: ``"{name} must be 0 (column sums) or 1 (row sums), got {value!r}"``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral) or value not in (0, 1):
        raise ValueError(f"{name} must be 0 (column sums) or 1 (row sums), got {value!r}")
    return int(value)


def float64_matrix(value: object, name: str) -> torch.Tensor:
    """A non-empty, real, 2-D tensor ``[n, k]`` as float64 on the CPU, C-contiguous.

    Only metadata are checked (type, dtype, device, shape; :func:`tensor` refuses meta and
    complex tensors): no pass over the values. The
    tensor itself is returned, detached, when it already is float64, CPU and contiguous;
    otherwise a converted copy (the only copy a caller then makes).

    Raises:
        TypeError: as :func:`tensor`.
        ValueError: as :func:`tensor`, or
            ``"{name} must be a non-empty 2-D tensor [n, k], got shape {shape}"``.
    """
    value = tensor(value, name)
    if value.dim() != 2 or value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D tensor [n, k], got shape {tuple(value.shape)}"
        )
    return value.detach().to(device="cpu", dtype=torch.float64).contiguous()


def float64_vector(value: object, name: str, length: int, what: str) -> torch.Tensor:
    """A real tensor of shape ``[length]`` or ``[length, 1]`` as a float64 CPU vector.

    Like :func:`float64_matrix`: metadata checks only, no copy when none is needed (the
    ``[length, 1]`` form is reshaped as a view). ``what`` names the argument whose size
    fixed ``length`` (for the message).

    Raises:
        TypeError: as :func:`tensor`.
        ValueError: as :func:`tensor`, or
            ``"{name} must have shape [{length}] or [{length}, 1] to match {what}, got ..."``.
    """
    value = tensor(value, name)
    if not (value.dim() == 1 or (value.dim() == 2 and value.shape[1] == 1)) or (
        value.shape[0] != length
    ):
        raise ValueError(
            f"{name} must have shape [{length}] or [{length}, 1] to match {what}, "
            f"got {tuple(value.shape)}"
        )
    return value.detach().to(device="cpu", dtype=torch.float64).reshape(length).contiguous()


def name_non_finite(*tensors: tuple[torch.Tensor, str]) -> None:
    """Raise :func:`finite`'s error for the first ``(tensor, name)`` holding inf or nan.

    Meant for the error path of a computation that learned from its own result that some
    input was not finite (a sum of products became inf or nan): only then are the inputs
    scanned, to name the culprit. Returns quietly when every tensor is finite.
    """
    for value, name in tensors:
        finite(value, name)
