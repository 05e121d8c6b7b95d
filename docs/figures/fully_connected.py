"""Figures of the fully-connected chapter, drawn from reference.fc."""

from __future__ import annotations

from collections.abc import Callable

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from reference.fc import FullyConnected, fc_backward

INPUT = "#1565c0"
OUTPUT = "#2e7d32"
WEIGHT = "#6a1b9a"
GRAD = "#c62828"


def network() -> Figure:
    """Three inputs, two outputs: every input feeds every output (edge width = |w_ij|)."""
    layer = FullyConnected(3, 2, seed=0)
    w = layer.w.detach()
    figure = Figure(figsize=(4.6, 3.4))
    ax = figure.subplots()
    inputs = [(0.0, 2.0 - i) for i in range(3)]
    outputs = [(2.0, 1.5 - j) for j in range(2)]
    for i, (xi, yi) in enumerate(inputs):
        for j, (xo, yo) in enumerate(outputs):
            ax.plot([xi, xo], [yi, yo], color=WEIGHT, linewidth=0.6 + 1.6 * abs(float(w[i, j])))
            ax.text(
                xi + 0.3 * (xo - xi), yi + 0.3 * (yo - yi) + 0.06,
                f"$w_{{{i + 1}{j + 1}}}$", fontsize=8, color=WEIGHT, ha="center",
            )  # fmt: skip
    for i, (x, y) in enumerate(inputs):
        ax.scatter([x], [y], s=500, color=INPUT, zorder=3)
        ax.text(x, y, f"$x_{i + 1}$", color="white", ha="center", va="center", zorder=4)
    for j, (x, y) in enumerate(outputs):
        ax.scatter([x], [y], s=500, color=OUTPUT, zorder=3)
        ax.text(x, y, f"$y_{j + 1}$", color="white", ha="center", va="center", zorder=4)
        ax.text(x + 0.25, y, f"$+\\,b_{j + 1}$", va="center", fontsize=9)
    ax.set_xlim(-0.4, 2.7)
    ax.set_ylim(-0.6, 2.4)
    ax.set_axis_off()
    ax.set_title("$y_j = \\sum_i x_i\\, w_{ij} + b_j$: all 3 x 2 connections")
    return figure


def _matrix(ax, x: float, y: float, rows: int, cols: int, color: str, label: str) -> None:
    """A [rows, cols] block drawn cell by cell, its top-left corner at (x, y)."""
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(
                Rectangle((x + c, y - r - 1), 1, 1, facecolor=color, edgecolor="white", alpha=0.8)
            )
    ax.text(x + cols / 2, y + 0.35, label, ha="center", va="bottom", fontsize=9)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color))


def shapes() -> Figure:
    """Forward and backward shapes for batch 4, in 3, out 2, computed with fc_backward."""
    batch, n_in, n_out = 4, 3, 2
    x = torch.ones(batch, n_in)
    w = torch.ones(n_in, n_out)
    grad_x, grad_w, grad_b = fc_backward(x, w, torch.ones(batch, n_out))
    figure = Figure(figsize=(9, 6.6))
    ax = figure.subplots()
    # forward: X [B, in] @ W [in, out] + b [out] = Y [B, out]
    _matrix(ax, 0, 12, batch, n_in, INPUT, f"X\n{list(x.shape)}")
    ax.text(4.25, 10, "@", ha="center", va="center", fontsize=14)
    _matrix(ax, 5.5, 11.5, n_in, n_out, WEIGHT, f"W\n{list(w.shape)}")
    ax.text(8.75, 10, "+", ha="center", va="center", fontsize=14)
    _matrix(ax, 10, 10.5, 1, n_out, WEIGHT, f"b\n[{n_out}]")
    _arrow(ax, (12.6, 10), (14.6, 10), OUTPUT)
    ax.text(13.6, 10.3, "forward", ha="center", fontsize=9, color=OUTPUT)
    _matrix(ax, 15, 12, batch, n_out, OUTPUT, f"Y\n{[batch, n_out]}")
    # backward: G = dL/dY [B, out] gives three gradients
    _matrix(ax, 15, 5.5, batch, n_out, GRAD, f"G = dL/dY\n{[batch, n_out]}")
    _arrow(ax, (14.6, 3.5), (12.6, 3.5), GRAD)
    ax.text(13.6, 3.8, "backward", ha="center", fontsize=9, color=GRAD)
    _matrix(ax, 0, 5.5, batch, n_in, GRAD, f"dL/dX = G W$^T$\n{list(grad_x.shape)}")
    _matrix(ax, 5.5, 5.5, n_in, n_out, GRAD, f"dL/dW = X$^T$ G\n{list(grad_w.shape)}")
    _matrix(ax, 10, 5.5, 1, n_out, GRAD, f"dL/db = rows of G summed\n{list(grad_b.shape)}")
    ax.text(1.5, 0.8, "passed to the previous layer", ha="center", fontsize=8)
    ax.text(8.75, 1.8, "used to update the layer", ha="center", fontsize=8)
    ax.set_xlim(-1, 18)
    ax.set_ylim(0.3, 13.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title("Shapes of the fully connected layer (batch 4, in 3, out 2)")
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "fc-network": network,
    "fc-shapes": shapes,
}
