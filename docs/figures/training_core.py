"""Figures of the training-core chapter, drawn from reference.training.fast."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.figure import Figure

from reference.digits import load_digits
from reference.features import design_matrix
from reference.training.fast import epoch_map, sgd_per_sample_fast

INK, ACCENT, MUTED = "#1a237e", "#e65100", "#9e9e9e"


def _digit_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images, labels = load_digits()
    X = design_matrix(images[:5], dim=0, normalization="sequential")
    w0 = torch.rand(7, 1, generator=torch.Generator().manual_seed(0))
    return X, labels[:5].to(torch.float64), w0


def spectrum() -> Figure:
    """|eigenvalues| of the digit program's epoch map and of full-batch GD against lr."""
    X, y, _ = _digit_data()
    Xn = X.numpy()
    k = Xn.shape[1]
    per_sample = 2.0 / float(np.max(np.sum(Xn * Xn, axis=1)))
    eigenvalues = np.linalg.eigvalsh(Xn.T @ Xn)
    full_batch = 2.0 / float(eigenvalues[-1])
    rates = np.geomspace(0.02 * per_sample, 2.5 * per_sample, 240)
    sgd = np.array(
        [
            np.sort(np.abs(np.linalg.eigvals(epoch_map(X, y, float(lr)).numpy()[:k, :k])))
            for lr in rates
        ]
    )
    gd = np.array([np.sort(np.abs(1.0 - lr * eigenvalues)) for lr in rates])
    figure = Figure(figsize=(10, 3.8))
    left, right = figure.subplots(1, 2, sharey=True)
    for ax, values, bound, title in (
        (left, sgd, per_sample, "per-sample SGD: epoch map M (5 samples)"),
        (right, gd, full_batch, "full-batch GD: I - lr X^T X"),
    ):
        for column in range(values.shape[1]):
            ax.plot(rates, values[:, column], color=INK, linewidth=1.0)
        ax.plot(rates, values[:, -1], color=ACCENT, linewidth=2.0, label="spectral radius rho")
        ax.axhline(1.0, color=MUTED, linestyle="--", linewidth=1.0)
        ax.axvline(bound, color=ACCENT, linestyle=":", linewidth=1.2)
        ax.text(bound, 0.05, " stable bound", color=ACCENT, fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel("learning rate")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    left.set_ylabel("|eigenvalue| (every line one eigenvalue)")
    figure.suptitle(
        "The digit program: growth factors per epoch (left) and per step (right) against lr",
        fontsize=10,
    )
    return figure


def history() -> Figure:
    """The loss of every epoch of the digit program, computed from the powers of M."""
    X, y, w0 = _digit_data()
    _, losses = sgd_per_sample_fast(X, y, w0, 0.05, 3000, history=True)
    figure = Figure(figsize=(7, 3.4))
    ax = figure.subplots()
    ax.plot(np.arange(1, 3001), losses.numpy(), color=INK)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss of the epoch")
    ax.set_title("Digit program, lr 0.05: per-epoch loss from M^e w0 (no loop)", fontsize=10)
    ax.grid(color="#e0e0e0")
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "training-core-spectrum": spectrum,
    "training-core-history": history,
}
