"""The data set of the first chapters: ten 6x6 binary bitmaps of the digits 0-9.

Each bitmap is written below as six rows of six characters, top row first, ``1`` for ink.
:func:`load_digits` turns them into tensors.
"""

from __future__ import annotations

import torch

__all__ = ["DIGIT_ROWS", "IMAGE_SIZE", "load_digits"]

IMAGE_SIZE = 6
"""Height and width of every bitmap, in pixels."""

DIGIT_ROWS: tuple[tuple[str, ...], ...] = (
    ("001100", "010010", "010010", "010010", "001100", "000000"),  # 0
    ("000100", "001100", "000100", "000100", "001110", "000000"),  # 1
    ("001100", "010010", "000100", "001000", "011110", "000000"),  # 2
    ("001100", "000010", "001100", "000010", "001100", "000000"),  # 3
    ("000010", "000110", "001010", "011111", "000010", "000000"),  # 4
    ("011100", "010000", "011100", "000010", "011100", "000000"),  # 5
    ("001100", "010000", "011100", "010010", "001100", "000000"),  # 6
    ("011110", "000010", "000100", "000100", "000100", "000000"),  # 7
    ("001100", "010010", "001100", "010010", "001100", "000000"),  # 8
    ("001110", "010010", "001110", "010010", "000010", "000000"),  # 9
)
"""The ten bitmaps, digit ``d`` at index ``d``; each is six rows of six ``0``/``1`` characters."""


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    r"""Return the ten digit images and their labels.

    Image $d$ shows the digit $d$, so the labels are $0, 1, \dots, 9$. Every call builds new
    tensors: a caller may modify what it gets without affecting later calls.

    Returns:
        ``(images, labels)``: ``images`` is an int64 tensor of shape ``[10, 6, 6]`` holding 0
        (background) and 1 (ink), row 0 at the top; ``labels`` is the int64 tensor
        ``[0, 1, ..., 9]``.

    Example:
        >>> images, labels = load_digits()
        >>> images.shape, labels.tolist()
        (torch.Size([10, 6, 6]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        >>> images[1, 4].tolist()  # the foot of the "1"
        [0, 0, 1, 1, 1, 0]
    """
    images = torch.tensor(
        [[[int(pixel) for pixel in row] for row in bitmap] for bitmap in DIGIT_ROWS],
        dtype=torch.int64,
    )
    labels = torch.arange(len(DIGIT_ROWS), dtype=torch.int64)
    return images, labels
