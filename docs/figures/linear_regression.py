"""Figures of the linear-regression chapter, drawn from reference.training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from reference.training import (
    fit_ten_x,
    fit_two_points,
    least_squares_test_mse,
    mse_stable_lr,
    synthetic_data,
    ten_x_data,
    train_linear_concise,
    train_linear_scratch,
)

BLUE, TEAL, ORANGE, RED = "#1a237e", "#00838f", "#ef6c00", "#c62828"


def minibatch_losses() -> Figure:
    """Mean squared error after each epoch, for the scratch and the concise loop."""
    X, y = synthetic_data([2.0, -3.4], 4.2, 1000, seed=0)
    epochs = 4
    scratch = train_linear_scratch(X, y, num_epochs=epochs, seed=0)
    concise = train_linear_concise(X, y, num_epochs=epochs, seed=0)
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    ax = figure.subplots()
    ticks = range(1, epochs + 1)
    # the scratch loop records half the MSE: double it to compare
    ax.semilogy(ticks, [2 * v for v in scratch.losses], marker="o", color=BLUE,
                label="from scratch (lr 0.03 on MSE/2)")  # fmt: skip
    ax.semilogy(ticks, concise.losses, marker="s", color=ORANGE,
                label="nn.Linear + optim.SGD (lr 0.03 on MSE)")  # fmt: skip
    ax.axhline(0.01**2, color="#757575", linestyle="--", linewidth=1)
    ax.annotate("noise variance 1e-4", (epochs, 1e-4), textcoords="offset points",
                xytext=(-110, 6), color="#757575")  # fmt: skip
    ax.set_xticks(list(ticks))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error (log)")
    ax.legend()
    ax.set_title("Minibatch SGD, batch size 10, 1000 examples")
    return figure


def two_point_trajectory() -> Figure:
    """w0, w1, b over 2000 epochs of the two-point fit, with the derived limit."""
    # chain 20-epoch runs (each restarts from where the last stopped): the same float32 path
    epochs = np.arange(0, 2001, 20)
    w, b = [1.0, 2.0], 0.0
    path = [[*w, b]]
    for _ in epochs[1:]:
        fit = fit_two_points(20, w0=w, b0=b)
        w, b = fit.w.tolist(), fit.b.item()
        path.append([*w, b])
    path = np.array(path)
    limit = (562 / 9, -142 / 9, 473 / 9)
    losses = fit_two_points(2000).losses
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    for k, (name, color) in enumerate((("w0", BLUE), ("w1", TEAL), ("b", ORANGE))):
        left.plot(epochs, path[:, k], color=color, label=name)
        left.axhline(limit[k], color=color, linestyle=":", linewidth=1)
    left.axvline(100, color="#9e9e9e", linewidth=0.8)
    left.annotate("epoch 100", (100, 0), textcoords="offset points", xytext=(4, 0))
    left.set_xlabel("epoch")
    left.set_ylabel("parameter")
    left.set_title("Dotted: the exact fit nearest the start")
    left.legend(loc="center right")
    right.semilogy(np.arange(1, 2001), losses, color=RED)
    right.set_xlabel("epoch")
    right.set_ylabel("loss (log)")
    right.set_title("The loss falls towards 0 (float32 floor)")
    return figure


def ten_x_runs() -> Figure:
    """The ten-x exercise: the loss blowing up at lr 5e-4 next to the runs that fit."""
    x, y = ten_x_data()
    bound = mse_stable_lr(x)
    written = fit_ten_x(90, lr=0.0005)  # stops short of the overflow (step ~96)
    slow = fit_ten_x(1000, lr=0.9 * bound)
    fixed = fit_ten_x(1000, lr=0.1, standardize=True)
    A = np.c_[x.numpy(), np.ones(len(x))]
    coef = np.linalg.lstsq(A, y.numpy(), rcond=None)[0]
    floor = float(np.mean((A @ coef - y.numpy()) ** 2))
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.semilogy(range(1, 91), written.losses, color=RED)
    left.set_xlabel("step")
    left.set_ylabel("MSE (log)")
    left.set_title(f"As written: lr 5e-4 > 2/lambda_max = {bound:.2e}")
    for fit, color, name in ((slow, TEAL, f"raw x, lr {0.9 * bound:.2e}"),
                             (fixed, BLUE, "standardized x, lr 0.1")):  # fmt: skip
        right.semilogy(range(1, 1001), fit.losses, color=color,
                       label=f"{name}: w={fit.w.item():.4f}, b={fit.b.item():.3f}")  # fmt: skip
    right.axhline(floor, color="#757575", linestyle="--", linewidth=1)
    right.annotate(f"least squares: w={coef[0]:.4f}, b={coef[1]:.3f}", (400, floor),
                   textcoords="offset points", xytext=(0, -14), color="#757575")  # fmt: skip
    right.set_ylim(floor / 8, 1e5)
    right.set_xlabel("step")
    right.set_ylabel("MSE (log)")
    right.set_title("Below the bound: stable; standardized: fitted")
    right.legend(fontsize=8)
    return figure


def generalization() -> Figure:
    """Average test MSE of least squares against the training size, two settings."""
    seeds = range(60)
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    sizes = np.array([8, 10, 12, 16, 20, 30, 40, 80, 160])
    avg = [np.mean([least_squares_test_mse(int(n), [1.0] * 5, n_test=200, seed=s)
                    for s in seeds]) for n in sizes]  # fmt: skip
    left.plot(sizes, avg, marker="o", color=BLUE, label="measured (60 seeds)")
    fine = np.linspace(7.2, 160, 300)
    left.plot(fine, 1 + 5 / (fine - 6), color="#757575", linestyle="--",
              label="σ²(1 + d/(n - d - 1))")  # fmt: skip
    left.set_xscale("log")
    left.set_xlabel("training samples n (d = 5)")
    left.set_ylabel("test MSE")
    left.set_title("n >> d: more data helps, on average")
    left.legend()
    d = 40
    w = [1 / np.sqrt(d)] * d
    sizes2 = np.array([5, 10, 15, 20, 25, 30, 34, 36])
    avg2 = [np.mean([least_squares_test_mse(int(n), w, noise_std=0.5, n_test=200, seed=s)
                     for s in seeds]) for n in sizes2]  # fmt: skip
    right.plot(sizes2, avg2, marker="o", color=RED, label="measured (60 seeds)")
    fine2 = np.linspace(5, 36.5, 300)
    right.plot(fine2, 0.25 + (1 - fine2 / d) + 0.25 * fine2 / (d - fine2 - 1), color="#757575",
               linestyle="--", label="σ² + |w|²(1 - n/d) + σ² n/(d - n - 1)")  # fmt: skip
    right.set_xlabel("training samples n (d = 40, minimum-norm fit)")
    right.set_ylabel("test MSE")
    right.set_title("n < d: more data can hurt")
    right.legend(fontsize=8)
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "lin-minibatch-loss": minibatch_losses,
    "lin-two-points": two_point_trajectory,
    "lin-ten-x": ten_x_runs,
    "lin-generalize": generalization,
}
