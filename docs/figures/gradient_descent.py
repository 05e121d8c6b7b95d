"""Figures of the gradient-descent chapter, drawn from reference.descent."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.figure import Figure

from reference.descent import descend, quadratic_regime

RATES = (0.1, 0.6, 1.0, 1.1)
COLORS = ("#1a237e", "#00838f", "#ef6c00", "#c62828")


def _square_grad(x):
    return 2 * x


def parabola_paths() -> Figure:
    """Eight steps of descent from x = 5 on y = x² for four learning rates, on the curve."""
    # Two by two: tick labels of neighbouring panels never meet, and it reads on a phone.
    figure = Figure(figsize=(7, 5.6), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True, sharey=True).ravel()
    grid = np.linspace(-7.5, 7.5, 301)
    for ax, lr, color in zip(axes, RATES, COLORS, strict=True):
        xs = np.array(descend(_square_grad, 5.0, lr, 8))
        ax.plot(grid, grid**2, color="#9e9e9e", linewidth=1)
        ax.plot(xs, xs**2, color=color, linewidth=1, alpha=0.6)
        ax.scatter(xs, xs**2, color=color, s=14, zorder=3)
        ax.annotate("start", (xs[0], xs[0] ** 2), textcoords="offset points", xytext=(4, -12))
        ax.set_title(f"lr = {lr}: {quadratic_regime(lr)}")
        ax.set_xlim(-7.5, 7.5)
        ax.set_xticks([-5, 0, 5])
        ax.set_ylim(-2, 56)
    for ax in axes[2:]:
        ax.set_xlabel("x")
    for ax in axes[::2]:
        ax.set_ylabel("y = x²")
    return figure


def iterates_over_time() -> Figure:
    """x_t against t for the four learning rates: shrink, flip and shrink, cycle, blow up."""
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    ax = figure.subplots()
    steps = 12
    for lr, color in zip(RATES, COLORS, strict=True):
        xs = descend(_square_grad, 5.0, lr, steps)
        ax.plot(range(steps + 1), xs, marker="o", markersize=3, color=color, label=f"lr = {lr}")
    ax.axhline(0, color="#9e9e9e", linewidth=0.8)
    ax.set_xlabel("step t")
    ax.set_ylabel("x_t")
    ax.set_ylim(-20, 20)
    ax.legend(loc="lower left", ncols=2)
    ax.set_title("x_t = (1 - 2 lr)^t · 5")
    return figure


def float_floor() -> Figure:
    """lr = 0.1 for 5000 steps in float64 and float32: x falls, then freezes on a subnormal."""
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    ax = figure.subplots()
    for dtype, color, name in ((None, COLORS[0], "float64"), (torch.float32, COLORS[2], "float32")):
        xs = np.array(descend(_square_grad, 5.0, 0.1, 5000, dtype=dtype))
        ax.plot(np.log10(xs), color=color, label=f"x_t in {name}")
        squares = xs * xs if dtype is None else (xs.astype(np.float32) ** 2)
        first_zero = int(np.argmax(squares == 0))
        tiny = np.finfo(np.float64 if dtype is None else np.float32).smallest_subnormal
        units = round(float(xs[-1] / tiny))
        ax.axvline(first_zero, color=color, linestyle=":", linewidth=1)
        ax.annotate(
            f"{name}: y = x² is 0 from step {first_zero},\n"
            f"x frozen at {xs[-1]:.2g} ({units} x the smallest subnormal)",
            (first_zero, np.log10(xs[first_zero])),
            # float32's note sits in the empty band above its floor, away from the title.
            textcoords="data" if dtype is not None else "offset points",
            xytext=(1900, -30) if dtype is not None else (8, -4),
            arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.6}
            if dtype is not None
            else None,
            color=color,
            fontsize=8,
        )
    ax.set_xlabel("step t")
    ax.set_ylabel("log10 x_t")
    ax.legend(loc="lower left")
    ax.set_title("lr = 0.1: monotone all the way down, then a floating-point floor")
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "gd-parabola-paths": parabola_paths,
    "gd-iterates": iterates_over_time,
    "gd-float-floor": float_floor,
}
