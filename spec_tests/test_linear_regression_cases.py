"""Chapter 7 — three worked cases: LIN-GENERALIZE, LIN-TWO-POINTS, LIN-TEN-X.

Oracles: the expected test error of least squares under a Gaussian design (formulas
derived in the comments), exact rational arithmetic (fractions.Fraction) for the
two-point fit's limit, the numbers printed by the source, and numpy (eigenvalues of the
Hessian, least squares) for the ten-x exercise.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from reference.errors import DivergenceError
from reference.training import (
    fit_ten_x,
    fit_two_points,
    least_squares_test_mse,
    mse_stable_lr,
    ten_x_data,
)

SEEDS = range(200)


def average_test_mse(n: int, w: list[float], sigma: float) -> tuple[float, float]:
    """Mean over 200 seeds of the test MSE, and its standard error."""
    values = np.array(
        [least_squares_test_mse(n, w, noise_std=sigma, n_test=200, seed=s) for s in SEEDS]
    )
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


# ---------------------------------------------------------------- LIN-GENERALIZE


@pytest.mark.claim("LIN-GENERALIZE.average")
def test_average_test_error_of_least_squares_falls_with_n_as_derived(ledger_extra):
    # d = 5 features, x ~ N(0, I), noise sigma = 1. For a fresh point the expected squared
    # error of w_hat is sigma² + |w_hat - w|², and for n > d + 1 (Gaussian design)
    # E|w_hat - w|² = sigma² tr E[(X^T X)^-1] = sigma² d / (n - d - 1)  (inverse Wishart mean).
    # So E[test MSE] = sigma² (1 + d / (n - d - 1)): decreasing in n, towards sigma².
    d, sigma = 5, 1.0
    w = [1.0] * d
    sizes = [12, 20, 40, 160]
    curve = []
    for n in sizes:
        mean, se = average_test_mse(n, w, sigma)
        expected = sigma**2 * (1 + d / (n - d - 1))
        assert abs(mean - expected) < 5 * se, (n, mean, expected, se)
        curve.append(mean)
    assert all(b < a for a, b in itertools.pairwise(curve))
    ledger_extra("sizes", sizes)
    ledger_extra("average_test_mse", [round(v, 4) for v in curve])


@pytest.mark.claim("LIN-GENERALIZE")
def test_min_norm_least_squares_test_error_grows_as_n_nears_the_number_of_features(
    ledger_extra,
):
    # d = 40 > n: many exact fits; the minimum-norm one w_hat = X^+ y is the projection of w
    # onto the row space of X plus noise. For x ~ N(0, I) and n <= d - 2:
    #   E|w_hat - w|² = |w|² (1 - n/d)  (the part of w outside an n-dim random subspace)
    #                 + sigma² n / (d - n - 1)  (noise through the pseudo-inverse),
    # and E[test MSE] = sigma² + E|w_hat - w|². With |w| = 1, sigma = 0.5 the second term
    # explodes as n -> d - 1: the test error GROWS with the number of samples.
    d, sigma = 40, 0.5
    w = [1 / math.sqrt(d)] * d
    sizes = [20, 30, 34]
    curve = []
    for n in sizes:
        mean, se = average_test_mse(n, w, sigma)
        expected = sigma**2 + (1 - n / d) + sigma**2 * n / (d - n - 1)
        assert abs(mean - expected) < 5 * se, (n, mean, expected, se)
        curve.append(mean)
    assert curve[0] < curve[1] < curve[2]
    assert curve[2] > 1.8 * curve[0]
    ledger_extra("sizes", sizes)
    ledger_extra("average_test_mse", [round(v, 4) for v in curve])


@pytest.mark.claim("LIN-GENERALIZE")
def test_a_single_draw_with_more_data_can_generalize_worse():
    # Even where the average falls (d = 5, sigma = 1), individual training sets are random:
    # for a good share of seeds the fit on 20 samples does worse on fresh data than the fit
    # on 12 samples drawn with the same seed.
    worse = sum(
        least_squares_test_mse(20, [1.0] * 5, n_test=500, seed=s)
        > least_squares_test_mse(12, [1.0] * 5, n_test=500, seed=s)
        for s in range(100)
    )
    assert 5 <= worse <= 50


@pytest.mark.claim("LIN-GENERALIZE")
def test_least_squares_test_mse_is_the_fresh_data_error_of_the_numpy_fit():
    # One draw redone by hand: the generator gives the training X, its noise, the test X and
    # its noise, in that order; the fit is numpy's least squares (float64).
    d, n, n_test, sigma, seed = 3, 8, 50, 0.7, 11
    w = np.array([1.0, -2.0, 0.5])
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=gen, dtype=torch.float64).numpy()
    y = X @ w + sigma * torch.randn(n, generator=gen, dtype=torch.float64).numpy()
    X_test = torch.randn(n_test, d, generator=gen, dtype=torch.float64).numpy()
    y_test = X_test @ w + sigma * torch.randn(n_test, generator=gen, dtype=torch.float64).numpy()
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    expected = float(np.mean((X_test @ w_hat - y_test) ** 2))
    got = least_squares_test_mse(n, w.tolist(), noise_std=sigma, n_test=n_test, seed=seed)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.claim("LIN-GENERALIZE")
def test_least_squares_test_mse_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_train must be >= 1"):
        least_squares_test_mse(0, [1.0])
    with pytest.raises(ValueError, match="noise_std must be >= 0"):
        least_squares_test_mse(5, [1.0], noise_std=-1.0)
    with pytest.raises(ValueError, match="true_w must be a non-empty 1-D vector"):
        least_squares_test_mse(5, [])
    with pytest.raises(TypeError, match="n_test must be an int"):
        least_squares_test_mse(5, [1.0], n_test=1.5)


# ---------------------------------------------------------------- LIN-TWO-POINTS


@pytest.mark.claim("LIN-TWO-POINTS")
@pytest.mark.parametrize(
    ("epochs", "printed"),
    [
        (100, {"w0": 51.8260, "w1": -9.4314, "b": 45.1103, "pred": 96.9363}),
        (2000, {"w0": 62.4444, "b": 52.5554, "pred": 114.9998}),
    ],
)
def test_two_point_fit_prints_the_sources_numbers(epochs, printed):
    w, b, losses = fit_two_points(epochs)  # float32, lr 0.01, as in the source
    got = {"w0": w[0].item(), "w1": w[1].item(), "b": b.item(), "pred": (w[0] + b).item()}
    for key, value in printed.items():
        # printed to 4 decimals: within half a unit of the last digit
        assert abs(got[key] - value) <= 5e-5, (key, got[key], value)
    assert len(losses) == epochs
    assert losses[-1] < losses[0]
    # each loss is taken before its epoch's update: the first one is at w = (1, 2), b = 0,
    # mean((1 - 115)^2, (4 - 21)^2) = (12996 + 289) / 2 = 6642.5 (exact in float32)
    assert losses[0] == 6642.5


@pytest.mark.claim("LIN-TWO-POINTS.limit")
def test_two_point_fit_converges_to_the_exact_fit_nearest_the_start():
    # Parameters theta = (w0, w1, b); predictions A theta with rows a1 = (1, 0, 1) (x = 1) and
    # a2 = (0, 2, 1) (x = 2). Two equations, three unknowns: a line of exact fits, loss 0.
    # The gradient of L = mean((A theta - y)²) is A^T r, always in the row space of A, so
    # descent ends at the projection of theta0 = (1, 2, 0) onto {A theta = y}:
    #   theta* = theta0 + A^T (A A^T)^-1 (y - A theta0),  A A^T = [[2, 1], [1, 5]].
    A = [[Fraction(1), Fraction(0), Fraction(1)], [Fraction(0), Fraction(2), Fraction(1)]]
    theta0 = [Fraction(1), Fraction(2), Fraction(0)]
    y = [Fraction(115), Fraction(21)]
    r = [y[i] - sum(A[i][j] * theta0[j] for j in range(3)) for i in range(2)]  # (114, 17)
    det = Fraction(2 * 5 - 1 * 1)
    lam = [(5 * r[0] - 1 * r[1]) / det, (-1 * r[0] + 2 * r[1]) / det]  # (553/9, -80/9)
    theta_star = [theta0[j] + sum(A[i][j] * lam[i] for i in range(2)) for j in range(3)]
    assert theta_star == [Fraction(562, 9), Fraction(-142, 9), Fraction(473, 9)]
    # Hessian A^T A: non-zero eigenvalues those of A A^T, (7 ± sqrt 13)/2; the slow one,
    # 1.697, shrinks the error by 1 - 0.01·1.697 per epoch: ~1e-15 of |theta0 - theta*| ≈ 83
    # after 2000 epochs. In float64 the fit lands on theta* and the loss reaches ~0.
    w, b, losses = fit_two_points(3000, dtype=torch.float64)
    expected = torch.tensor([float(v) for v in theta_star], dtype=torch.float64)
    torch.testing.assert_close(torch.cat([w, b.reshape(1)]), expected, rtol=0, atol=1e-9)
    assert losses[-1] < 1e-18
    # The source's 2000-epoch b = 52.5554 is float32 stopping short of 473/9 = 52.5556:
    _w32, b32, _ = fit_two_points(2000)
    assert abs(b32.item() - float(Fraction(473, 9))) > 5e-5
    assert abs(b32.item() - float(Fraction(473, 9))) < 5e-4


@pytest.mark.claim("LIN-TWO-POINTS")
def test_fit_two_points_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        fit_two_points(10, x=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="lr must be > 0"):
        fit_two_points(10, lr=-0.01)
    with pytest.raises(TypeError, match="epochs must be an int"):
        fit_two_points(10.0)
    with pytest.raises(DivergenceError, match=r"epoch \d+ with lr=1\.0"):
        fit_two_points(2000, lr=1.0)  # 1.0 > 2/5.303: unstable


# ---------------------------------------------------------------- LIN-TEN-X


def ten_x_hessian_bound() -> float:
    """2/lambda_max of the MSE Hessian (2/n)[x 1]^T[x 1], by numpy in float64."""
    x = np.arange(0, 100, 0.1)  # the source's grid
    A = np.c_[x, np.ones_like(x)]
    return 2 / np.linalg.eigvalsh(2 * A.T @ A / len(x))[-1]


@pytest.mark.claim("LIN-TEN-X")
def test_ten_x_as_written_diverges(ledger_extra):
    x, y = ten_x_data()
    assert x.dtype == y.dtype == torch.float64  # numpy data, float32 parameters
    with pytest.raises(DivergenceError, match=r"step \d+ with lr=0\.0005.*lr < 0\.0003") as err:
        fit_ten_x(1000, lr=0.0005)
    ledger_extra("divergence_message", str(err.value))
    # Before it overflows, the loss grows by (lr·lambda_max - 1)² per step (the top mode).
    _, _, losses = fit_ten_x(60, lr=0.0005)
    lam_max = 2 / ten_x_hessian_bound()
    ratio = (0.0005 * lam_max - 1) ** 2  # ≈ 5.4
    torch.testing.assert_close(
        torch.tensor(losses[-1] / losses[-2], dtype=torch.float64),
        torch.tensor(ratio, dtype=torch.float64),
        rtol=1e-3,
        atol=0,
    )
    ledger_extra("loss_growth_per_step", round(losses[-1] / losses[-2], 3))


@pytest.mark.claim("LIN-TEN-X")
def test_ten_x_learning_rate_is_above_the_stable_bound(ledger_extra):
    bound = ten_x_hessian_bound()
    # lambda_max ≈ 2(mean x² + ...) ≈ 6658 -> bound ≈ 3.0e-4 < 5e-4
    assert 2.9e-4 < bound < 3.1e-4
    assert bound < 0.0005
    x, _ = ten_x_data()
    assert mse_stable_lr(x) == pytest.approx(bound, rel=1e-10)
    # The bound is sharp: just below it the loop is stable, just above it it blows up.
    w, b, losses = fit_ten_x(1000, lr=0.9 * bound)
    assert all(math.isfinite(v) for v in losses)
    with pytest.raises(DivergenceError, match=r"lr < 0\.0003"):
        fit_ten_x(1000, lr=1.1 * bound)
    # ... but stable is not fitted: the small eigenvalue (~0.5) needs ~1/(lr·0.5) ≈ 7000
    # steps per e-fold, so after 1000 steps b is still far from the least-squares value.
    x64, y64 = ten_x_data()
    A = np.c_[x64.numpy(), np.ones(len(x64))]
    w_ls, b_ls = np.linalg.lstsq(A, y64.numpy(), rcond=None)[0]
    assert abs(b.item() - b_ls) > 1.0
    assert abs(w.item() - w_ls) < 0.05
    ledger_extra("stable_bound", bound)
    ledger_extra("below_bound_after_1000_steps", {"w": w.item(), "b": b.item()})


@pytest.mark.claim("LIN-TEN-X")
def test_ten_x_fits_once_x_is_standardized(ledger_extra):
    # z = (x - mean)/std has mean 0, variance 1: the Hessian of the MSE in (w_z, b_z) is 2I,
    # bound 1, and lr = 0.1 contracts both modes by 0.8 per step.
    x, y = ten_x_data()
    A = np.c_[x.numpy(), np.ones(len(x))]
    (w_ls, b_ls), *_ = np.linalg.lstsq(A, y.numpy(), rcond=None)
    mse_ls = float(np.mean((A @ np.array([w_ls, b_ls]) - y.numpy()) ** 2))
    w, b, losses = fit_ten_x(300, lr=0.1, standardize=True)  # 0.8^300: far below rounding
    # float32 parameters: w_z ≈ 2887, b_z ≈ 504 carry ~1e-4 rounding; mapped back to x units.
    assert abs(w.item() - w_ls) < 1e-4
    assert abs(b.item() - b_ls) < 1e-2
    assert losses[-1] == pytest.approx(mse_ls, rel=1e-3)
    # 10x + 4 + U[0, 1): the least-squares line is close to slope 10, intercept 4.5.
    assert abs(w.item() - 10) < 5e-3
    assert abs(b.item() - 4.5) < 0.1
    ledger_extra("fixed_fit", {"w": w.item(), "b": b.item(), "mse": losses[-1]})


@pytest.mark.claim("LIN-TEN-X")
def test_fit_ten_x_rejects_bad_arguments():
    with pytest.raises(TypeError, match="standardize must be a bool"):
        fit_ten_x(10, standardize=1)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        fit_ten_x(-1)
    with pytest.raises(ValueError, match="n must be >= 2"):
        ten_x_data(1)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor or numpy array"):
        mse_stable_lr([1.0, 2.0])


@pytest.mark.claim("LIN-TEN-X")
def test_ten_x_data_is_the_grid_plus_the_generators_uniform_draws():
    x, y = ten_x_data(7, seed=3)
    grid = np.arange(7) * 0.1
    noise = np.random.default_rng(3).random(7)
    assert x.dtype == y.dtype == torch.float64
    np.testing.assert_array_equal(x.numpy(), grid)
    np.testing.assert_array_equal(y.numpy(), 10.0 * grid + 4.0 + noise)
