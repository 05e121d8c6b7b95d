r"""Projection features of an image, their normalization, and the bias column.

The first chapters describe an image by its *projections*: the ink in each column (the
vertical projection) or in each row (the horizontal projection). Normalized by their total
and extended with a constant 1, they become the rows of the design matrix of a linear model.

For an image $I \in \mathbb{R}^{H \times W}$:

$$
\text{projection}(I, 0)_j = \sum_{i=1}^{H} I_{ij}, \qquad
\text{projection}(I, 1)_i = \sum_{j=1}^{W} I_{ij}.
$$
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from reference import _validate

__all__ = [
    "design_matrix",
    "normalize",
    "projection",
    "sequential_normalize",
    "with_bias",
]

Normalization = Literal["proper", "sequential"]
_NORMALIZATIONS = ("proper", "sequential")


def _check_non_negative_finite(value: torch.Tensor, name: str) -> None:
    _validate.finite(value, name)
    if value.dtype != torch.bool and bool((value < 0).any()):
        raise ValueError(f"{name} has negative entries; projections need non-negative pixels")


def _as_float(value: torch.Tensor) -> torch.Tensor:
    """Floating tensors keep their dtype; integer and bool tensors become float32."""
    return value if value.is_floating_point() else value.to(torch.float32)


def projection(image: torch.Tensor, dim: int) -> torch.Tensor:
    r"""Sum a 2-D image over one dimension: its vertical or horizontal projection.

    ``dim=0`` sums each column (the vertical projection, $W$ numbers), ``dim=1`` sums each
    row (the horizontal projection, $H$ numbers):

    $$
    p_j = \sum_i I_{ij} \quad (\text{dim} = 0), \qquad p_i = \sum_j I_{ij} \quad (\text{dim} = 1).
    $$

    Args:
        image: a 2-D tensor of non-negative, finite pixel values, any $H \times W$.
        dim: 0 for column sums, 1 for row sums.

    Returns:
        A float32 tensor with one entry per column (``dim=0``) or per row (``dim=1``). It is
        already floating point, so it can be normalized without the integer-division trap of
        claim FEAT-FLOAT.

    Raises:
        TypeError: ``image`` is not a real tensor.
        ValueError: ``image`` is not 2-D, is a meta tensor, has negative or non-finite
            pixels, its sums overflow float32, or ``dim`` is not the int 0 or 1.

    Example:
        >>> from reference.digits import load_digits
        >>> images, _ = load_digits()
        >>> projection(images[0], 0)
        tensor([0., 3., 2., 2., 3., 0.])
    """
    image = _validate.tensor(image, "image", allow_bool=True)
    if image.dim() != 2:
        raise ValueError(f"image must be 2-D (H x W), got shape {tuple(image.shape)}")
    dim = _validate.projection_dim(dim, "dim")
    _check_non_negative_finite(image, "image")
    return _validate.no_overflow(
        image.to(torch.float32).sum(dim=dim), "the float32 projection of image", "its pixels are"
    )


def _check_vector(v: object, name: str = "v") -> torch.Tensor:
    v = _validate.tensor(v, name, allow_bool=True)
    if v.dim() != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {tuple(v.shape)}")
    if v.numel() == 0:
        raise ValueError(f"{name} is empty")
    _check_non_negative_finite(v, name)
    if float(v.detach().to(torch.float64).sum()) == 0.0:
        raise ValueError(f"{name} sums to 0 (a blank image?); it cannot be normalized by its sum")
    return v


def normalize(v: torch.Tensor) -> torch.Tensor:
    r"""Divide a non-negative vector by its sum, so that its entries add up to 1.

    $$
    \hat v_i = \frac{v_i}{\sum_j v_j}, \qquad 0 \le \hat v_i \le 1, \qquad \sum_i \hat v_i = 1.
    $$

    The sum is computed once, before any division (compare :func:`sequential_normalize`).

    Args:
        v: a 1-D tensor of non-negative, finite numbers with a positive sum.

    Returns:
        A new tensor (the input is not modified); float inputs keep their dtype, integer
        inputs give float32.

    Raises:
        TypeError: ``v`` is not a real tensor.
        ValueError: ``v`` is not 1-D, is empty, has negative or non-finite entries, or sums
            to 0. (A sum that overflows the dtype is not an error: ``v`` is then divided by
            its largest entry before it is summed.)

    Example:
        >>> normalize(torch.tensor([0.0, 3.0, 2.0, 2.0, 3.0, 0.0]))
        tensor([0.0000, 0.3000, 0.2000, 0.2000, 0.3000, 0.0000])
    """
    v = _as_float(_check_vector(v))
    total = v.sum()
    if not bool(torch.isfinite(total)):
        # The sum overflowed the dtype although every entry is finite: divide by the
        # largest entry first (exact scaling by a power of two would also do), then sum.
        v = v / v.max()
        total = v.sum()
    return v / total


def sequential_normalize(v: torch.Tensor) -> torch.Tensor:
    r"""What the source's in-place normalization loop really computes (claim FEAT-NORM).

    The source divides entry $i$ by the sum of the vector *as it stands at that moment*,
    writing the result back before moving on. With $u^{(0)} = v$:

    $$
    u_i \leftarrow \frac{u_i}{S_i}, \qquad
    S_i = \sum_{j < i} u_j + \sum_{j \ge i} v_j ,
    $$

    where the first sum runs over entries already divided. Every later entry is divided by a
    smaller total than the true $\sum_j v_j$, so the result stays in $[0, 1]$ but does not
    add up to 1 and does not keep the ratios of $v$ (it is *not* :func:`normalize`).

    The arithmetic follows the source step for step: integer input is converted to float32
    first (as the source's ``.float()`` does), each running sum adds the entries left to
    right in the working dtype, and each division rounds to that dtype, so float32 results
    match the source bit for bit.

    Args:
        v: a 1-D tensor of non-negative, finite numbers with a positive sum.

    Returns:
        A new tensor; the input is not modified.

    Raises:
        TypeError: ``v`` is not a real tensor.
        ValueError: as for :func:`normalize`, and when a running sum overflows the working
            dtype (rescaling would change what the loop computes, so it is refused).

    Example:
        >>> sequential_normalize(torch.tensor([0.0, 3.0, 2.0, 2.0, 3.0, 0.0]))
        tensor([0.0000, 0.3000, 0.2740, 0.3588, 0.7628, 0.0000])
    """
    u = _as_float(_check_vector(v)).clone()
    for i in range(u.shape[0]):
        total = u[0].clone()
        for j in range(1, u.shape[0]):
            total = total + u[j]
        if not bool(torch.isfinite(total)):
            # The loop's running sum is the source's own arithmetic: rescaling would change
            # what it computes, so an overflow of the working dtype is refused instead.
            raise ValueError(
                f"v is too large for {u.dtype}: the running sum of the in-place loop overflows "
                f"at entry {i}; convert v to float64 or rescale it"
            )
        u[i] = u[i] / total
    return u


def with_bias(x: torch.Tensor) -> torch.Tensor:
    r"""Append a constant 1 along the last dimension: the bias feature.

    With $\tilde x = (x_1, \dots, x_k, 1)$ a linear model needs no separate intercept:
    $\tilde x \cdot w = w_1 x_1 + \dots + w_k x_k + w_{k+1}$.

    Args:
        x: a tensor with at least one dimension, e.g. ``[6]``, ``[1, 6]`` or ``[n, 6]``.

    Returns:
        A new tensor of the same dtype whose last dimension is one longer and ends in 1
        (``[6] -> [7]``, ``[1, 6] -> [1, 7]``, ``[n, 6] -> [n, 7]``).

    Raises:
        TypeError: ``x`` is not a real tensor.
        ValueError: ``x`` is 0-dimensional or has non-finite entries.

    Example:
        >>> with_bias(torch.tensor([[0.5, 0.5]]))
        tensor([[0.5000, 0.5000, 1.0000]])
    """
    x = _validate.tensor(x, "x", finite=True)
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension to append the bias to, got a scalar")
    ones = torch.ones((*x.shape[:-1], 1), dtype=x.dtype, device=x.device)
    return torch.cat([x, ones], dim=-1)


def design_matrix(
    images: torch.Tensor | Sequence[torch.Tensor],
    dim: int = 0,
    normalization: Normalization = "proper",
) -> torch.Tensor:
    r"""Stack the normalized projections of several images, with the bias column, as rows.

    Row $r$ is $(\hat p^{(r)}_1, \dots, \hat p^{(r)}_k, 1)$ where $\hat p^{(r)}$ is the
    normalized projection of image $r$ over ``dim``. This is the matrix $X$ of the linear
    model $y = X w$ used in the least-squares and digit-recognition chapters.

    Args:
        images: a tensor ``[n, H, W]`` or a sequence of 2-D tensors of one shape.
        dim: 0 for column sums ($k = W$), 1 for row sums ($k = H$).
        normalization: ``"proper"`` divides by the total in float64 (:func:`normalize`);
            ``"sequential"`` reproduces the source's in-place loop in float32
            (:func:`sequential_normalize`) and then widens to float64.

    Returns:
        A float64 tensor of shape ``[n, k + 1]`` whose last column is all ones.

    Raises:
        TypeError: ``images`` is not a tensor or a sequence of tensors.
        ValueError: ``images`` is empty or not ``[n, H, W]``, an image is blank or has bad
            pixels (the message names its index), ``dim`` is not 0 or 1, or
            ``normalization`` is unknown.

    Example:
        >>> from reference.digits import load_digits
        >>> images, _ = load_digits()
        >>> X = design_matrix(images, dim=0)
        >>> X.shape, X.dtype
        (torch.Size([10, 7]), torch.float64)
    """
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    if isinstance(images, torch.Tensor):
        _validate.tensor(images, "images", allow_bool=True)
        if images.dim() != 3:
            raise ValueError(f"images must have shape [n, H, W], got {tuple(images.shape)}")
        batch = list(images)
    elif isinstance(images, Sequence) and not isinstance(images, str):
        batch = list(images)
        for r, image in enumerate(batch):
            _validate.tensor(image, f"images[{r}]", allow_bool=True)
    else:
        raise TypeError(
            f"images must be a tensor [n, H, W] or a sequence of 2-D tensors, "
            f"got {type(images).__name__}"
        )
    if not batch:
        raise ValueError("images is empty; need at least one image")
    rows = []
    for r, image in enumerate(batch):
        try:
            p = projection(image, dim)
            if normalization == "proper":
                features = normalize(p.to(torch.float64))
            else:
                features = sequential_normalize(p).to(torch.float64)
        except ValueError as error:
            if "dim must be" in str(error):
                raise
            raise ValueError(f"images[{r}]: {error}") from None
        rows.append(features)
    if len({row.shape for row in rows}) != 1:
        raise ValueError("images must all have the same shape")
    return with_bias(torch.stack(rows))
