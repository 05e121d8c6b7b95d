"""Figures of the tensors chapter: which results share memory, and what rand/randn draw.

The memory picture is measured, not drawn by hand: for every result it reads ``data_ptr()``,
``stride()`` and ``shape`` and works out which bytes of the source each element occupies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

SHARED = "#dbe6fb"
SHARED_EDGE = "#1f4e9c"
COPY = "#fde2cf"
COPY_EDGE = "#c0581b"
EMPTY = "#f5f5f5"


def _element_addresses(t: torch.Tensor) -> list[int]:
    """Byte address of each element of ``t``, in row-major order of its indices."""
    size = t.element_size()
    if t.dim() == 0:
        return [t.data_ptr()]
    return [
        t.data_ptr() + size * sum(i * s for i, s in zip(index, t.stride(), strict=True))
        for index in itertools.product(*(range(n) for n in t.shape))
    ]


def memory_sharing() -> Figure:
    """Each result drawn over the six 4-byte cells of x = arange(6.): numbers give the
    position of the result's elements (row-major); results that copy get their own cells."""
    x = torch.arange(6.0)
    results = {
        "x": x,
        "x.view(2, 3)": x.view(2, 3),
        "x.view(2, 3).t()": x.view(2, 3).t(),
        "x[2:5]": x[2:5],
        "x[4]": x[4],
        "x[[0, 2]]": x[[0, 2]],
        "x[x > 2]": x[x > 2],
        "x.clone()": x.clone(),
    }
    base, size, n = x.data_ptr(), x.element_size(), x.numel()
    fig = Figure(figsize=(8.4, 0.42 * len(results) + 1.0))
    ax = fig.add_subplot()
    for row, (expr, t) in enumerate(results.items()):
        y = -row
        ax.text(-0.3, y + 0.4, expr, ha="right", va="center", fontsize=9, family="monospace")
        cells = [(a - base) // size for a in _element_addresses(t)]
        inside = all(0 <= c < n for c in cells)
        for c in range(n):
            ax.add_patch(Rectangle((c, y), 0.95, 0.8, fc=EMPTY, ec="#cccccc", lw=0.8))
        if inside:
            for order, c in enumerate(cells):
                ax.add_patch(Rectangle((c, y), 0.95, 0.8, fc=SHARED, ec=SHARED_EDGE, lw=1.2))
                ax.text(c + 0.47, y + 0.4, str(order), ha="center", va="center", fontsize=8)
            note = f"shares x's memory, stride {tuple(t.stride())}"
        else:
            for order in range(t.numel()):
                ax.add_patch(
                    Rectangle((n + 0.6 + order, y), 0.95, 0.8, fc=COPY, ec=COPY_EDGE, lw=1.2)
                )
                ax.text(n + 1.07 + order, y + 0.4, str(order), ha="center", va="center",
                        fontsize=8)  # fmt: skip
            note = "own memory (a copy)"
        ax.text(n + 0.6 + 6.3, y + 0.4, note, ha="left", va="center", fontsize=8)
    for c in range(n):
        ax.text(c + 0.47, 1.05, f"+{c * size}", ha="center", va="bottom", fontsize=7.5)
    ax.text(n / 2, 1.55, "bytes of x (offset from x.data_ptr())", ha="center", fontsize=8.5)
    ax.text(n + 3.6, 1.05, "elsewhere", ha="center", va="bottom", fontsize=8.5)
    ax.set_xlim(-3.2, n + 11.5)
    ax.set_ylim(-len(results) + 0.6, 2.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def rand_and_randn() -> Figure:
    """Histograms of 100000 seeded draws of rand and randn against their densities."""
    g = torch.Generator().manual_seed(2026)
    u = torch.rand(100_000, generator=g).numpy()
    z = torch.randn(100_000, generator=g).numpy()
    fig = Figure(figsize=(8.0, 2.8))
    left, right = fig.subplots(1, 2)
    left.hist(u, bins=40, range=(0, 1), density=True, color=SHARED, ec=SHARED_EDGE, lw=0.5)
    left.plot([0, 1], [1, 1], color="black", lw=1.2, label="density 1 on [0, 1)")
    left.set_title("torch.rand", fontsize=10)
    left.legend(fontsize=8, loc="lower center")
    left.set_ylim(0, 1.3)
    grid = np.linspace(-4.5, 4.5, 400)
    right.hist(z, bins=60, range=(-4.5, 4.5), density=True, color=COPY, ec=COPY_EDGE, lw=0.5)
    right.plot(grid, np.exp(-(grid**2) / 2) / math.sqrt(2 * math.pi), color="black", lw=1.2,
               label="standard normal density")  # fmt: skip
    right.set_title("torch.randn", fontsize=10)
    right.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


FIGURES: dict[str, Callable[[], Figure]] = {
    "tensors-memory": memory_sharing,
    "tensors-rand": rand_and_randn,
}
