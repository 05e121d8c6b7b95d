"""Figures of the logistic-regression chapter, drawn from reference.logistic.

The training runs are shared between figures (one cached run per setting and loop), so the
whole module trains each of the ten runs once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from matplotlib.figure import Figure

from reference.logistic import (
    LogisticResult,
    binary_cross_entropy,
    decision_boundary,
    sigmoid,
    sigmoid_derivative,
    train_logistic,
    two_blobs,
)

CLASS0 = "#c62828"
CLASS1 = "#1565c0"
CORRECT = "#2e7d32"
SOURCE = "#ef6c00"
SETTINGS = [(1.7, 1.0), (1.0, 1.0), (5.0, 1.0), (1.7, 5.0), (1.7, -1.0)]


@cache
def _run(mean_value: float, bias: float, source_loop: bool) -> LogisticResult:
    x, y = two_blobs(mean_value=mean_value, bias=bias)
    if source_loop:
        return train_logistic(x, y, zero_grad=False, check_every=990)
    return train_logistic(x, y)


def sigmoid_and_loss() -> Figure:
    """The sigmoid with its slope p(1 - p), and p(1 - p) next to the cross-entropy."""
    figure = Figure(figsize=(10, 3.8))
    left, right = figure.subplots(1, 2)
    z = torch.linspace(-8, 8, 401, dtype=torch.float64)
    left.plot(z, sigmoid(z), color=CLASS1, label=r"$\sigma(z) = 1/(1+e^{-z})$")
    left.plot(z, sigmoid_derivative(z), color=SOURCE, label=r"$\sigma'(z) = p(1-p)$")
    left.axhline(0.5, color="#9e9e9e", linewidth=0.8, linestyle=":")
    left.axvline(0.0, color="#9e9e9e", linewidth=0.8, linestyle=":")
    left.set_xlabel("score $z = w^\\top x + b$")
    left.set_title("The sigmoid and its slope")
    left.legend(loc="center right")

    p = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)
    ones, zeros = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    ce1 = [binary_cross_entropy(v.reshape(1), ones).item() for v in p]
    ce0 = [binary_cross_entropy(v.reshape(1), zeros).item() for v in p]
    right.plot(p, ce1, color=CLASS1, label="cross-entropy, label 1: $-\\ln p$")
    right.plot(p, ce0, color=CLASS0, label="cross-entropy, label 0: $-\\ln(1-p)$")
    right.plot(p, p * (1 - p), color=SOURCE, linewidth=2.5, label="$p(1-p)$, either label")
    right.set_ylim(0, 3)
    right.set_xlabel("model output $p$")
    right.set_title("A loss must depend on the label")
    right.legend(loc="upper center")
    figure.tight_layout()
    return figure


def training_curves() -> Figure:
    """Loss, accuracy and the size of the gradient each step uses, with and without zero_grad."""
    correct, source = _run(1.7, 1.0, False), _run(1.7, 1.0, True)
    figure = Figure(figsize=(11, 3.6))
    ax_loss, ax_acc, ax_grad = figure.subplots(1, 3)
    for result, color, label in (
        (correct, CORRECT, "zero_grad every step"),
        (source, SOURCE, "source's loop (no zero_grad)"),
    ):
        steps = np.arange(result.iterations)
        ax_loss.semilogy(steps, result.loss_history, color=color, label=label)
        ax_acc.plot(steps, result.accuracy_history, color=color, label=label)
        ax_grad.semilogy(steps, result.grad_norm_history, color=color, label=label)
    ax_acc.axhline(0.99, color="#616161", linestyle=":", linewidth=1)
    ax_acc.axvline(376, color=CORRECT, linestyle="--", linewidth=0.8)
    ax_acc.axvline(117, color=SOURCE, linestyle="--", linewidth=0.8)
    for check in (0, 990):
        ax_acc.axvline(check, color="#616161", linewidth=0.6)
    ax_acc.set_ylim(0.88, 1.005)
    ax_loss.set_title("loss (BCE)")
    ax_acc.set_title("accuracy (checks of the source: 0, 990)")
    ax_grad.set_title("norm of the gradient the step uses")
    for ax in (ax_loss, ax_acc, ax_grad):
        ax.set_xlabel("iteration")
    ax_loss.legend(loc="lower left")
    figure.tight_layout()
    return figure


def variants() -> Figure:
    """The five settings of the exercise: data and the boundary each loop ends with."""
    # Two rows of three (the sixth cell left empty): five panels in a row were 15 inches
    # wide, unreadable on a phone.
    figure = Figure(figsize=(9.5, 7.6))
    grid = figure.subplots(2, 3)
    grid[1, 2].set_axis_off()
    axes = [*grid[0], *grid[1, :2]]
    xs = torch.linspace(-6, 10, 2, dtype=torch.float64)
    for ax, (mean_value, bias) in zip(axes, SETTINGS, strict=True):
        x, y = two_blobs(mean_value=mean_value, bias=bias)
        ax.scatter(*x[y == 0].T, s=6, color=CLASS0, label="class 0")
        ax.scatter(*x[y == 1].T, s=6, color=CLASS1, label="class 1")
        lines = []
        for source_loop, color, style in ((False, CORRECT, "-"), (True, SOURCE, "--")):
            result = _run(mean_value, bias, source_loop)
            line = decision_boundary(result.weight.double(), result.bias.double(), xs)
            ax.plot(xs, line, color=color, linestyle=style, linewidth=1.6)
            stop = "-" if result.stop_iteration is None else str(result.stop_iteration)
            lines.append(f"{result.accuracy:.3f} @ {stop}")
        ax.set_xlim(-6, 10)
        ax.set_ylim(-6, 10)
        ax.set_aspect("equal")
        ax.set_title(
            f"mean {mean_value:g}, bias {bias:g}\nfixed {lines[0]}\nsource {lines[1]}",
            fontsize=9,
        )
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle(
        "Learned boundary after at most 1000 iterations: solid = zero_grad every step,\n"
        "dashed = the source's loop (accuracy @ stop iteration)",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "logistic-sigmoid": sigmoid_and_loss,
    "logistic-curves": training_curves,
    "logistic-variants": variants,
}
