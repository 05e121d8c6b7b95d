"""Figures of the least-squares chapter, drawn from reference.linear and reference.features."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.figure import Figure

from reference.digits import load_digits
from reference.features import design_matrix
from reference.linear import classify, gaussian_nll, least_squares, normal_equations, solve_exact

INK = "#1a237e"
ACCENT = "#e65100"
LABELS = torch.arange(10, dtype=torch.float64)


def digit_fits() -> Figure:
    """Least-squares predictions versus true labels, for each projection and normalization."""
    images, _ = load_digits()
    figure = Figure(figsize=(10, 6))
    axes = figure.subplots(2, 2, sharex=True, sharey=True)
    digits = np.arange(10)
    for row, dim in enumerate((0, 1)):
        for col, normalization in enumerate(("proper", "sequential")):
            ax = axes[row, col]
            X = design_matrix(images, dim=dim, normalization=normalization)
            y_hat = X @ least_squares(X, LABELS)
            right = classify(y_hat) == LABELS.long()
            sse = float(((y_hat - LABELS) ** 2).sum())
            ax.bar(digits - 0.2, digits, width=0.4, color="#bdbdbd", label="true label")
            ax.bar(
                digits + 0.2,
                y_hat.numpy(),
                width=0.4,
                color=[INK if ok else ACCENT for ok in right.tolist()],
                label="least-squares output",
            )
            name = "columns (dim 0)" if dim == 0 else "rows (dim 1)"
            ax.set_title(
                f"{name}, {normalization}: SSE {sse:.2f}, {int(right.sum())}/10 right",
                fontsize=10,
            )
            ax.set_xticks(digits)
            ax.axhline(0, color="black", linewidth=0.5)
    axes[1, 0].set_xlabel("digit")
    axes[1, 1].set_xlabel("digit")
    axes[0, 0].set_ylabel("output")
    axes[1, 0].set_ylabel("output")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    figure.suptitle(
        "Best linear fit on projection features (blue: rounds to the right digit, orange: wrong)"
    )
    return figure


def normal_equations_accuracy() -> Figure:
    """Error of the normal equations versus the SVD route, as the conditioning worsens."""
    t = torch.linspace(0, 1, 60, dtype=torch.float64)
    sizes = list(range(3, 13))
    conds, err_normal, err_svd = [], [], []
    for k in sizes:
        X = torch.stack([t**p for p in range(k)], dim=1)
        w_true = torch.ones(k, dtype=torch.float64)
        y = X @ w_true
        conds.append(float(np.linalg.cond(X.numpy())))
        A, b = normal_equations(X, y)
        err_normal.append(float((solve_exact(A, b) - w_true).abs().max()))
        err_svd.append(float((least_squares(X, y) - w_true).abs().max()))
    eps = float(np.finfo(np.float64).eps)
    figure = Figure(figsize=(7, 4.2))
    ax = figure.subplots()
    ax.loglog(conds, np.maximum(err_normal, eps), "o-", color=ACCENT, label="normal equations")
    ax.loglog(conds, np.maximum(err_svd, eps), "s-", color=INK, label="SVD (least_squares)")
    c = np.array(conds)
    ax.loglog(c, c * eps, ":", color=INK, linewidth=1, label=r"$\kappa\,\varepsilon$")
    ax.loglog(c, c**2 * eps, ":", color=ACCENT, linewidth=1, label=r"$\kappa^2\varepsilon$")
    ax.set_xlabel(r"condition number $\kappa(X)$ (polynomial fits with 3 to 12 terms)")
    ax.set_ylabel(r"max error in $w$")
    ax.set_ylim(1e-17, 1e2)
    ax.legend(fontsize=8)
    ax.set_title("Both are 'analytic'; only one keeps its digits")
    return figure


def likelihood_slices() -> Figure:
    """NLL along one line through the least-squares solution, for several sigmas."""
    g = torch.Generator().manual_seed(7)
    X = torch.cat([torch.rand(40, 1, generator=g, dtype=torch.float64), torch.ones(40, 1)], 1)
    y = X @ torch.tensor([2.0, 1.0], dtype=torch.float64)
    y = y + 0.3 * torch.randn(40, generator=g, dtype=torch.float64)
    w_star = least_squares(X, y)
    slopes = np.linspace(float(w_star[0]) - 1.5, float(w_star[0]) + 1.5, 121)
    figure = Figure(figsize=(7, 4.2))
    ax = figure.subplots()
    for sigma, color in ((0.3, INK), (0.6, "#00897b"), (1.2, ACCENT)):
        nll = [
            gaussian_nll(X, y, torch.tensor([s, float(w_star[1])], dtype=torch.float64), sigma)
            for s in slopes
        ]
        nll = np.array(nll)
        ax.plot(slopes, nll - nll.min(), color=color, label=rf"$\sigma = {sigma}$")
    ax.axvline(float(w_star[0]), color="black", linestyle="--", linewidth=1, label="least squares")
    ax.set_xlabel("slope $w_1$ (intercept fixed at its least-squares value)")
    ax.set_ylabel("NLL minus its minimum")
    ax.set_ylim(0, 40)
    ax.legend(fontsize=8)
    ax.set_title(r"Changing $\sigma$ rescales the curve; the minimizer stays put")
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "least-squares-digit-fits": digit_fits,
    "least-squares-normal-vs-svd": normal_equations_accuracy,
    "least-squares-likelihood": likelihood_slices,
}
