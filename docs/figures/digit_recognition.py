"""Figures of the digit-recognition chapter, drawn from reference.training and reference.linear."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from matplotlib.figure import Figure

from reference.digits import load_digits
from reference.features import design_matrix
from reference.linear import classify, least_squares
from reference.training import (
    DigitProgramResult,
    gd_full_batch,
    stable_learning_rate,
    train_digits_autograd,
    train_digits_manual,
)

INK = "#1a237e"
ACCENT = "#e65100"
GREY = "#bdbdbd"
DIGITS = np.arange(10)


@cache
def _program_1() -> DigitProgramResult:
    return train_digits_manual(seed=0)


@cache
def _homework() -> DigitProgramResult:
    return train_digits_autograd(seed=0)


def loss_curves() -> Figure:
    """The loss each program prints, per epoch (program 1) and per step (the homework)."""
    manual, homework = _program_1(), _homework()
    figure = Figure(figsize=(10, 3.8))
    left, right = figure.subplots(1, 2)
    left.semilogy(np.arange(1, 3001), manual.loss_history.numpy(), color=INK)
    left.set_title("Program 1: per-sample updates, lr 0.05, images 0-4", fontsize=10)
    left.set_xlabel("epoch")
    left.set_ylabel("loss summed over the epoch")
    right.plot(np.arange(1, 5001), homework.loss_history.numpy(), color=ACCENT, label="homework")
    right.axhline(0, color="black", linestyle="--", linewidth=1, label="best possible (0)")
    right.set_title("Homework: autograd, full batch, lr 0.0005, images 0-5", fontsize=10)
    right.set_xlabel("step")
    right.set_ylabel("summed loss")
    right.set_ylim(bottom=-0.5)
    right.legend(fontsize=8)
    return figure


def _bars(ax, predictions: np.ndarray, title: str) -> None:
    right = classify(torch.from_numpy(predictions)).numpy() == DIGITS
    ax.bar(DIGITS - 0.2, DIGITS, width=0.4, color=GREY, label="true label")
    ax.bar(
        DIGITS + 0.2,
        predictions,
        width=0.4,
        color=[INK if ok else ACCENT for ok in right],
        label="model output",
    )
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(DIGITS)
    ax.set_title(f"{title}: {int(right.sum())}/10 right", fontsize=10)


def predictions() -> Figure:
    """Predicted versus true labels for all ten digits, for both programs and the optimum."""
    manual, homework = _program_1(), _homework()
    images, _ = load_digits()
    rows = design_matrix(images, 1, "sequential")
    homework_rows = (rows.to(torch.float32) @ homework.weights).view(10)
    w_star = least_squares(homework.train_features.double(), torch.arange(6, dtype=torch.float64))
    optimum_rows = rows @ w_star
    optimum_cols = design_matrix(images, 0, "sequential") @ w_star
    figure = Figure(figsize=(10, 6.5))
    axes = figure.subplots(2, 2, sharex=True)
    _bars(axes[0, 0], manual.predictions.double().numpy(), "Program 1 (trained on 0-4)")
    _bars(axes[0, 1], homework.predictions.double().numpy(), "Homework as written (rows -> cols)")
    _bars(axes[1, 0], homework_rows.double().numpy(), "Homework weights, row features")
    _bars(axes[1, 1], optimum_rows.numpy(), "Optimum for the homework data, rows")
    axes[1, 1].plot(
        DIGITS + 0.2, optimum_cols.numpy(), "x", color="black", label="same weights, columns"
    )
    axes[1, 1].legend(fontsize=8, loc="lower left")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    for ax in axes[1]:
        ax.set_xlabel("digit")
    for ax in axes[:, 0]:
        ax.set_ylabel("output")
    figure.suptitle("Outputs for all ten digits (blue: rounds to the right digit, orange: wrong)")
    return figure


def learning_rates() -> Figure:
    """Full-batch GD on the digits below, near and above the stable learning rate."""
    images, labels = load_digits()
    X, y = design_matrix(images, dim=1), labels.double()
    bound = stable_learning_rate(X)
    figure = Figure(figsize=(7, 4.2))
    ax = figure.subplots()
    for factor, color in ((0.5, INK), (0.99, "#00897b"), (1.02, ACCENT)):
        _, losses = gd_full_batch(X, y, torch.zeros(7), lr=factor * bound, steps=300, history=True)
        ax.semilogy(losses.numpy(), color=color, label=rf"lr = {factor} $\times$ {bound:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel("summed loss")
    ax.set_title(r"Stable bound $2/\lambda_{\max}(X^\top X)$ on the ten digits (row features)")
    ax.legend(fontsize=8)
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "digit-recognition-loss-curves": loss_curves,
    "digit-recognition-predictions": predictions,
    "digit-recognition-learning-rates": learning_rates,
}
