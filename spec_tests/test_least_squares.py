"""Specs for chapter 2, "Solving for W": elimination, normal equations, MLE, the digit fit.

Oracles: exact rational arithmetic (fractions.Fraction, written out below), numpy.linalg,
scikit-learn, scipy.optimize / scipy.stats, and torch autograd.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog, minimize
from scipy.stats import norm
from sklearn.linear_model import LinearRegression

from reference.digits import load_digits
from reference.linear import (
    gaussian_nll,
    least_squares,
    normal_equations,
    predict,
    solve_exact,
)
from reference.training import gd_full_batch

# --------------------------------------------------------------------------------------
# Exact rational helpers (the oracle): Gauss-Jordan elimination over Fractions.
# --------------------------------------------------------------------------------------

Matrix = list[list[Fraction]]


def rref(M: Matrix) -> tuple[Matrix, list[int]]:
    """Reduced row echelon form over the rationals, and the pivot columns."""
    A = [row[:] for row in M]
    rows, cols = len(A), len(A[0])
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        pivot = next((i for i in range(r, rows) if A[i][c] != 0), None)
        if pivot is None:
            continue
        A[r], A[pivot] = A[pivot], A[r]
        lead = A[r][c]
        A[r] = [a / lead for a in A[r]]
        for i in range(rows):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == rows:
            break
    return A, pivots


def exact_rank(M: Matrix) -> int:
    return len(rref(M)[1])


def exact_solve(M: Matrix, b: list[Fraction]) -> list[Fraction]:
    """Unique solution of a nonsingular square system (asserts nonsingularity)."""
    R, pivots = rref([[*row, rhs] for row, rhs in zip(M, b, strict=True)])
    assert pivots == list(range(len(M))), "oracle: system is singular"
    return [R[i][-1] for i in range(len(M))]


def null_space(M: Matrix) -> list[list[Fraction]]:
    R, pivots = rref(M)
    cols = len(M[0])
    basis = []
    for free in (c for c in range(cols) if c not in pivots):
        v = [Fraction(0)] * cols
        v[free] = Fraction(1)
        for i, p in enumerate(pivots):
            v[p] = -R[i][free]
        basis.append(v)
    return basis


def exact_min_norm_lstsq(X: Matrix, y: list[Fraction]) -> list[Fraction]:
    r"""Minimum-norm least-squares solution over the rationals.

    The minimizers of |Xw - y|^2 are the solutions of X^T X w = X^T y; they form
    w* + null(X). The minimum-norm one is the solution orthogonal to null(X), i.e. the
    unique solution of (X^T X + N N^T) w = X^T y with N a basis of null(X): for w in the
    row space N^T w = 0, so it solves this system, and X^T X + N N^T is nonsingular.
    """
    k = len(X[0])
    XtX = [[sum(row[i] * row[j] for row in X) for j in range(k)] for i in range(k)]
    Xty = [sum(row[i] * t for row, t in zip(X, y, strict=True)) for i in range(k)]
    N = null_space(X)
    A = [[XtX[i][j] + sum(v[i] * v[j] for v in N) for j in range(k)] for i in range(k)]
    return exact_solve(A, Xty)


def exact_digit_matrix(dim: int) -> Matrix:
    """Rows (p / sum(p), 1) of the digits, p the projection over `dim`, as exact fractions."""
    images, _ = load_digits()
    rows = []
    for image in images.tolist():
        p = [sum(col) for col in zip(*image, strict=True)] if dim == 0 else [sum(r) for r in image]
        total = sum(p)
        rows.append([Fraction(v, total) for v in p] + [Fraction(1)])
    return rows


def to_tensor(M: Matrix) -> torch.Tensor:
    return torch.tensor([[float(v) for v in row] for row in M], dtype=torch.float64)


def digit_design(dim: int, normalization: str) -> torch.Tensor:
    from reference.features import design_matrix

    images, _ = load_digits()
    return design_matrix(images, dim=dim, normalization=normalization)


LABELS = torch.arange(10, dtype=torch.float64)


# --------------------------------------------------------------------------------------
# LS-EQUATIONS: one equation per sample; elimination solves a square, independent system.
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-EQUATIONS.elimination")
@settings(max_examples=40)
@given(
    data=st.lists(st.integers(-9, 9), min_size=5 * 5 + 5, max_size=5 * 5 + 5),
    k=st.integers(1, 5),
)
def test_elimination_solves_independent_square_systems_exactly(data, k):
    A = [[Fraction(data[i * 5 + j]) for j in range(k)] for i in range(k)]
    b = [Fraction(v) for v in data[25 : 25 + k]]
    X, y = to_tensor(A), torch.tensor([float(v) for v in b], dtype=torch.float64)
    if exact_rank(A) < k:
        # Dependent equations: no unique solution, and elimination must say so.
        with pytest.raises(ValueError, match="singular"):
            solve_exact(X, y)
        return
    expected = torch.tensor([float(v) for v in exact_solve(A, b)], dtype=torch.float64)
    torch.testing.assert_close(solve_exact(X, y), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.claim("LS-EQUATIONS.elimination")
def test_one_equation_per_sample_and_seven_samples_fix_seven_weights():
    # Seven samples with independent feature rows (full rank, checked exactly) and a known
    # weight vector: the seven equations x_i . w = y_i determine w, and elimination finds it.
    g = torch.Generator().manual_seed(4)
    A = torch.randint(-5, 6, (7, 7), generator=g).to(torch.float64)
    assert exact_rank([[Fraction(int(v)) for v in row] for row in A.tolist()]) == 7
    w_true = torch.tensor([1.5, -2.0, 0.25, 3.0, -0.5, 0.0, 4.0], dtype=torch.float64)
    y = A @ w_true  # one equation per sample (row)
    assert y.shape == (7,)
    torch.testing.assert_close(solve_exact(A, y), w_true, rtol=0, atol=1e-12)
    torch.testing.assert_close(solve_exact(A, y.view(7, 1)), w_true.view(7, 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(solve_exact(A, y).numpy(), np.linalg.solve(A, y), atol=1e-12)


@pytest.mark.claim("LS-EQUATIONS.elimination")
def test_elimination_pivots_and_spots_dependent_equations_despite_rounding():
    # (a) A zero (or tiny) leading coefficient does not make an independent system
    # unsolvable: elimination must swap rows. Without the swap, [[1e-20, 1], [1, 1]] gives
    # w1 = (1 - 1) / 1e-20 = 0 instead of ~1 (the classic case for partial pivoting).
    for rows, rhs in (
        ([[0.0, 1.0], [1.0, 1.0]], [1.0, 2.0]),
        ([[1e-20, 1.0], [1.0, 1.0]], [1.0, 2.0]),
    ):
        F = [[Fraction(v) for v in row] for row in rows]
        expected = [float(v) for v in exact_solve(F, [Fraction(v) for v in rhs])]
        got = solve_exact(torch.tensor(rows, dtype=torch.float64), torch.tensor(rhs))
        torch.testing.assert_close(
            got, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12
        )
    # (b) [[1, 2, 3], [4, 5, 6], [7, 8, 9]] has exact rank 2 (row 3 = 2 row 2 - row 1), but
    # float64 elimination leaves a last pivot of ~1e-16 rather than 0: it must still be
    # reported as singular, not "solved" with weights of size ~1e16.
    M = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert exact_rank([[Fraction(v) for v in row] for row in M]) == 2
    with pytest.raises(ValueError, match="singular"):
        solve_exact(torch.tensor(M, dtype=torch.float64), torch.tensor([1.0, 2.0, 3.0]))


@pytest.mark.claim("LS-EQUATIONS.digits")
@pytest.mark.parametrize(
    ("dim", "normalization"), list(itertools.product((0, 1), ("proper", "sequential")))
)
def test_digit_equations_cannot_be_solved_by_elimination(dim, normalization):
    X = digit_design(dim, normalization)  # 10 equations (one per digit), 7 unknowns
    # (a) All ten equations: no w satisfies them, the least residual is far from 0.
    w, *_ = np.linalg.lstsq(X.numpy(), LABELS.numpy(), rcond=None)
    assert float(np.sum((X.numpy() @ w - LABELS.numpy()) ** 2)) > 30
    with pytest.raises(ValueError, match="not square"):
        solve_exact(X, LABELS)
    # (b) Square subsystems: every choice of 7 digits gives a singular system, because one
    # unknown appears in no equation (dim 0: the leftmost column is always blank; dim 1:
    # the bottom row is always blank), so its column of X is zero.
    empty = 0 if dim == 0 else 5
    assert torch.equal(X[:, empty], torch.zeros(10, dtype=torch.float64))
    for subset in itertools.combinations(range(10), 7):
        with pytest.raises(ValueError, match="singular"):
            solve_exact(X[list(subset)], LABELS[list(subset)])
    # (c) Dropping the bias (the source's 6-unknown system y = W.V) does not help:
    # the same zero column makes every 6x6 subsystem singular.
    for subset in itertools.combinations(range(10), 6):
        with pytest.raises(ValueError, match="singular"):
            solve_exact(X[list(subset), :6], LABELS[list(subset)])


# --------------------------------------------------------------------------------------
# LS-NORMAL: setting the partial derivatives to zero gives one equation per weight.
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-NORMAL")
@pytest.mark.parametrize("n", [10, 10**4, 10**6])
def test_normal_equations_have_seven_unknowns_whatever_the_sample_count(n):
    g = torch.Generator().manual_seed(n)
    features = torch.rand(n, 6, generator=g, dtype=torch.float64)
    X = torch.cat([features, torch.ones(n, 1, dtype=torch.float64)], dim=1)
    w_true = torch.tensor([3.0, -1.0, 2.0, 0.5, -2.5, 1.0, 4.0], dtype=torch.float64)
    y = X @ w_true + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    A, b = normal_equations(X, y)
    assert A.shape == (7, 7)  # one equation per weight, not one per sample
    assert b.shape == (7,)
    # Row j of the normal equations is dE/dw_j = sum_i (x_i . w - y_i) x_ij = 0, i.e.
    # (X^T X w)_j = (X^T y)_j. Check A and b against numpy's products...
    Xn, yn = X.numpy(), y.numpy()
    np.testing.assert_allclose(A.numpy(), Xn.T @ Xn, rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), Xn.T @ yn, rtol=1e-12)
    # ...and the solution of the 7 equations against numpy's least squares on all n rows
    # (for n = 10^6 the noise has averaged out: the weights are recovered to ~1e-3).
    w = torch.linalg.solve(A, b)
    if n <= 10**4:
        w_np, *_ = np.linalg.lstsq(Xn, yn, rcond=None)
        np.testing.assert_allclose(w.numpy(), w_np, rtol=1e-8, atol=1e-8)
    else:
        torch.testing.assert_close(w, w_true, rtol=0, atol=5e-3)


@pytest.mark.claim("LS-NORMAL")
def test_normal_equations_are_the_zero_gradient_conditions():
    g = torch.Generator().manual_seed(11)
    X = torch.rand(25, 4, generator=g, dtype=torch.float64)
    y = torch.rand(25, generator=g, dtype=torch.float64)
    w = torch.rand(4, generator=g, dtype=torch.float64, requires_grad=True)
    A, b = normal_equations(X, y)
    # Oracle: autograd's gradient of E(w) = 1/2 sum (x_i.w - y_i)^2 equals A w - b.
    (0.5 * ((X @ w - y) ** 2).sum()).backward()
    torch.testing.assert_close(w.grad, A @ w.detach() - b, rtol=1e-12, atol=1e-12)
    # At the solution of the normal equations the gradient vanishes.
    w_star = solve_exact(A, b).requires_grad_(True)
    (0.5 * ((X @ w_star - y) ** 2).sum()).backward()
    torch.testing.assert_close(w_star.grad, torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-12)
    # y of shape [n, 1] gives a [k, 1] right-hand side.
    assert normal_equations(X, y.view(-1, 1))[1].shape == (4, 1)


# --------------------------------------------------------------------------------------
# least_squares: minimum norm, exact, deterministic, rank-deficient-safe.
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-DIGITS")
@pytest.mark.claim("LS-EXACT")
@pytest.mark.parametrize("dim", [0, 1])
def test_least_squares_is_the_exact_minimum_norm_solution_on_the_digits(dim):
    X_exact = exact_digit_matrix(dim)
    X = digit_design(dim, "proper")
    torch.testing.assert_close(X, to_tensor(X_exact), rtol=0, atol=1e-15)
    # The digit design matrix is rank-deficient (exact rank 5 of 7 columns): one column is
    # always zero and the six features add up to the bias column.
    assert exact_rank(X_exact) == 5
    expected = exact_min_norm_lstsq(X_exact, [Fraction(d) for d in range(10)])
    w = least_squares(X, LABELS)
    assert w.dtype == torch.float64
    expected_t = torch.tensor([float(v) for v in expected], dtype=torch.float64)
    torch.testing.assert_close(w, expected_t, rtol=0, atol=1e-10)
    # Cross-checks: numpy (SVD, min norm) and scikit-learn (lstsq, no intercept).
    w_np, *_ = np.linalg.lstsq(X.numpy(), LABELS.numpy(), rcond=None)
    np.testing.assert_allclose(w.numpy(), w_np, rtol=0, atol=1e-10)
    sk = LinearRegression(fit_intercept=False).fit(X.numpy(), LABELS.numpy())
    np.testing.assert_allclose(w.numpy(), sk.coef_, rtol=0, atol=1e-10)
    # Identical bits on every call.
    for _ in range(3):
        assert torch.equal(least_squares(X, LABELS), w)


@pytest.mark.claim("LS-EXACT")
def test_least_squares_minimum_norm_on_a_small_rank_one_matrix():
    # X = [[1, 1], [2, 2]]: only w1 + w2 matters. Minimizers satisfy w1 + w2 = s where s
    # minimizes (s - 1)^2 + (2s - 4)^2  ->  s = (1 + 8) / 5 = 9/5; minimum norm: w1 = w2 = 9/10.
    X = torch.tensor([[1.0, 1.0], [2.0, 2.0]], dtype=torch.float64)
    w = least_squares(X, torch.tensor([1.0, 4.0], dtype=torch.float64).view(2, 1))
    torch.testing.assert_close(
        w, torch.tensor([[0.9], [0.9]], dtype=torch.float64), rtol=0, atol=1e-14
    )
    # All-zero X: every w is a minimizer; the minimum-norm one is 0.
    zero = least_squares(torch.zeros(3, 2), torch.ones(3))
    assert torch.equal(zero, torch.zeros(2, dtype=torch.float64))


# --------------------------------------------------------------------------------------
# LS-MLE: Gaussian maximum likelihood = least squares, for every sigma.
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-MLE")
@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0, 3.0])
def test_gaussian_mle_equals_least_squares_for_every_sigma(sigma):
    g = torch.Generator().manual_seed(7)
    X = torch.cat([torch.rand(40, 3, generator=g, dtype=torch.float64), torch.ones(40, 1)], 1)
    y = X @ torch.tensor([2.0, -1.0, 0.5, 1.0], dtype=torch.float64)
    y = y + 0.3 * torch.randn(40, generator=g, dtype=torch.float64)
    w_ls, *_ = np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)
    # Minimize the NLL numerically (scipy), starting far away; it lands on the LS solution.
    result = minimize(
        lambda w: gaussian_nll(X, y, torch.from_numpy(w), sigma=sigma),
        x0=np.full(4, 5.0),
        method="BFGS",
        options={"gtol": 1e-10},
    )
    np.testing.assert_allclose(result.x, w_ls, rtol=0, atol=1e-5)


@pytest.mark.claim("LS-MLE")
@pytest.mark.parametrize("sigma", [0.1, 1.0, 2.5])
def test_nll_is_sse_over_two_sigma_squared_plus_the_normalizing_constant(sigma):
    g = torch.Generator().manual_seed(3)
    X = torch.rand(12, 3, generator=g, dtype=torch.float64)
    y = torch.rand(12, generator=g, dtype=torch.float64)
    w = torch.rand(3, generator=g, dtype=torch.float64)
    residual = (y - X @ w).numpy()
    # Oracle 1: scipy's normal log-density summed over the residuals.
    expected = -norm.logpdf(residual, loc=0.0, scale=sigma).sum()
    assert gaussian_nll(X, y, w, sigma=sigma) == pytest.approx(expected, rel=1e-12)
    # Oracle 2: the algebra. -log prod_i (2 pi s^2)^(-1/2) exp(-e_i^2 / (2 s^2))
    #   = n/2 log(2 pi s^2) + SSE / (2 s^2); the constant does not depend on w.
    sse = float((residual**2).sum())
    constant = 12 / 2 * math.log(2 * math.pi * sigma**2)
    assert gaussian_nll(X, y, w, sigma=sigma) == pytest.approx(
        sse / (2 * sigma**2) + constant, rel=1e-12
    )
    # With w giving zero residuals only the constant is left.
    y_fit = X @ w
    assert gaussian_nll(X, y_fit, w, sigma=sigma) == pytest.approx(constant, rel=1e-12)


@pytest.mark.claim("LS-MLE")
def test_on_the_digits_the_likelihood_is_as_flat_as_the_squared_error():
    # The digit matrix is rank-deficient: moving w along a null direction changes neither
    # the squared error nor the likelihood, so the MLE is not unique either.
    X = digit_design(0, "proper")
    w = least_squares(X, LABELS)
    null = torch.tensor([1.0, 1, 1, 1, 1, 1, -1], dtype=torch.float64)  # features sum = bias
    torch.testing.assert_close(X @ null, torch.zeros(10, dtype=torch.float64), rtol=0, atol=1e-14)
    for sigma in (0.5, 2.0):
        assert gaussian_nll(X, LABELS, w + 3.0 * null, sigma) == pytest.approx(
            gaussian_nll(X, LABELS, w, sigma), rel=1e-12
        )


# --------------------------------------------------------------------------------------
# LS-EXACT (erratum): "analytic = exact and always preferable".
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-EXACT")
def test_normal_equations_in_floating_point_lose_twice_the_digits():
    # A polynomial fit on [0, 1] with 11 coefficients: X is a Vandermonde matrix whose
    # condition number is about 2e7; X^T X has about its square (~4e14).
    t = torch.linspace(0, 1, 60, dtype=torch.float64)
    X = torch.stack([t**p for p in range(11)], dim=1)
    w_true = torch.ones(11, dtype=torch.float64)
    y = X @ w_true  # consistent: the exact answer is w_true
    cond = float(np.linalg.cond(X.numpy()))
    assert 1e7 < cond < 1e8
    A, b = normal_equations(X, y)
    err_normal = float((solve_exact(A, b) - w_true).abs().max())
    err_svd = float((least_squares(X, y) - w_true).abs().max())
    # Float64 has eps ~ 2.2e-16: the SVD route errs by ~cond * eps, the "exact" normal
    # equations by ~cond^2 * eps. Neither is exact; the analytic formula is the worse one.
    # (Measured: about 3e-10 versus 4e-3.)
    assert err_svd < 1e-7
    assert err_normal > 1e-4
    assert err_normal > 1e4 * err_svd


@pytest.mark.claim("LS-EXACT")
def test_gradient_descent_from_zero_reaches_the_same_minimum_norm_answer():
    # X has rank 2 (third column = first + second). Gradient descent from w0 = 0 only ever
    # moves along X^T r, i.e. inside the row space of X, so it converges to the
    # minimum-norm solution: the iterative method is no worse than the analytic one here.
    X = torch.tensor(
        [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0], [2.0, 1.0, 3.0]], dtype=torch.float64
    )
    X_exact = [[Fraction(int(v)) for v in row] for row in X.tolist()]
    y_exact = [Fraction(1), Fraction(2), Fraction(2), Fraction(5)]
    expected = torch.tensor(
        [float(v) for v in exact_min_norm_lstsq(X_exact, y_exact)], dtype=torch.float64
    )
    y = torch.tensor([float(v) for v in y_exact], dtype=torch.float64)
    w_gd = gd_full_batch(X, y, torch.zeros(3), lr=0.05, steps=2000)
    torch.testing.assert_close(w_gd, expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(least_squares(X, y), expected, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------
# LS-DIGITS: the best linear fit on projection features.
# --------------------------------------------------------------------------------------

# (dim, normalization) -> (minimum SSE, digits right after rounding the LS fit,
#                          most digits ANY linear model can get right, identical pair)
DIGIT_FITS = {
    (0, "proper"): (72.2171, 2, 7, (2, 8)),
    (0, "sequential"): (75.4901, 3, 8, (2, 8)),
    (1, "proper"): (39.5098, 4, 7, (0, 8)),
    (1, "sequential"): (37.6818, 4, 9, (0, 8)),
}


def _best_margin(X: np.ndarray, digits: list[int]) -> float:
    """Largest t such that some w puts every x_d . w at least t inside its class interval.

    Class d is the interval [d - 1/2, d + 1/2) (0 and 9 open-ended). A positive optimum
    means a linear model recognizes all of `digits`; <= 0 means none can.
    """
    k = X.shape[1]
    A, b = [], []
    for d in digits:
        if d < 9:  # x.w <= d + 1/2 - t
            A.append([*X[d], 1.0])
            b.append(d + 0.5)
        if d > 0:  # x.w >= d - 1/2 + t
            A.append([*(-X[d]), 1.0])
            b.append(-(d - 0.5))
    c = np.zeros(k + 1)
    c[-1] = -1.0  # maximize t
    bounds = [(None, None)] * k + [(None, 1.0)]
    res = linprog(c, A_ub=np.array(A), b_ub=np.array(b), bounds=bounds, method="highs")
    assert res.status == 0
    return -res.fun


@pytest.mark.claim("LS-DIGITS")
@pytest.mark.parametrize(("dim", "normalization"), list(DIGIT_FITS))
def test_best_linear_fit_on_projection_features(dim, normalization, ledger_extra):
    sse_expected, right_expected, best_possible, (a, b) = DIGIT_FITS[(dim, normalization)]
    X = digit_design(dim, normalization)
    w = least_squares(X, LABELS)
    y_hat = predict(X, w)
    sse = float(((y_hat - LABELS) ** 2).sum())
    # Oracle for the minimum: numpy's residual, and the 4-decimal value derived once.
    w_np, *_ = np.linalg.lstsq(X.numpy(), LABELS.numpy(), rcond=None)
    sse_np = float(((X.numpy() @ w_np - LABELS.numpy()) ** 2).sum())
    assert sse == pytest.approx(sse_np, rel=1e-10)
    assert sse == pytest.approx(sse_expected, abs=5e-5)
    # Digits recognized after rounding to the nearest class (numpy's rounding as oracle;
    # no prediction lies near a half-integer, so ties do not matter).
    rounded = np.clip(np.rint(y_hat.numpy()), 0, 9)
    assert np.min(np.abs(y_hat.numpy() - np.floor(y_hat.numpy()) - 0.5)) > 1e-3
    right = int((rounded == LABELS.numpy()).sum())
    assert right == right_expected
    # No model at all, linear or not, can recognize all ten: two digits have identical
    # features, so they get the same output.
    assert torch.equal(X[a], X[b])
    Xn = X.numpy()
    assert _best_margin(Xn, list(range(10))) < 0
    # The best any linear model can do (the LS fit minimizes squared error, not mistakes):
    # some subset of `best_possible` digits is separable, no larger subset is.
    sizes = {}
    for size in (best_possible, best_possible + 1):
        sizes[size] = max(
            _best_margin(Xn, list(subset)) for subset in itertools.combinations(range(10), size)
        )
    assert sizes[best_possible] > 1e-6
    if best_possible < 10:
        assert sizes[best_possible + 1] <= 1e-9
    ledger_extra(
        "fit",
        {
            "dim": dim,
            "normalization": normalization,
            "min_sse": round(sse, 4),
            "recognized_by_ls_fit": right,
            "max_recognizable_by_any_linear_model": best_possible,
            "identical_features": [a, b],
            "ls_predictions": [round(v, 3) for v in y_hat.tolist()],
        },
    )


# --------------------------------------------------------------------------------------
# Bad input.
# --------------------------------------------------------------------------------------


@pytest.mark.claim("LS-EQUATIONS.elimination")
def test_solve_exact_rejects_bad_input():
    with pytest.raises(ValueError, match=r"X is not square.*3 equations.*2 unknowns"):
        solve_exact(torch.ones(3, 2), torch.ones(3))
    with pytest.raises(ValueError, match="X is singular"):
        solve_exact(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), torch.ones(2))
    with pytest.raises(TypeError, match=r"X must be a torch\.Tensor"):
        solve_exact([[1.0]], torch.ones(1))
    with pytest.raises(ValueError, match=r"y has 3 entries but X has 2 rows"):
        solve_exact(torch.eye(2), torch.ones(3))
    with pytest.raises(ValueError, match="X has non-finite"):
        solve_exact(torch.tensor([[float("nan")]]), torch.ones(1))


@pytest.mark.claim("LS-NORMAL")
@pytest.mark.claim("LS-MLE")
def test_linear_functions_reject_bad_input():
    X, y = torch.ones(4, 2), torch.ones(4)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        least_squares(torch.ones(4), y)
    with pytest.raises(ValueError, match=r"y must have shape \[n\] or \[n, 1\]"):
        normal_equations(X, torch.ones(4, 2))
    with pytest.raises(ValueError, match=r"w has 3 entries but X has 2 columns"):
        predict(X, torch.ones(3))
    with pytest.raises(TypeError, match="y must be a real-valued tensor"):
        least_squares(X, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"sigma must be a finite number > 0"):
        gaussian_nll(X, y, torch.ones(2), sigma=0.0)
    with pytest.raises(TypeError, match="sigma must be a real number"):
        gaussian_nll(X, y, torch.ones(2), sigma="1")
    with pytest.raises(ValueError, match="y has non-finite"):
        least_squares(X, torch.tensor([1.0, float("inf"), 0.0, 0.0]))


# --------------------------------------------------------------------------------------
# LS-DIGITS without the reference: the claim's numbers from numpy on restated features.
# --------------------------------------------------------------------------------------


def restated_digit_matrix(dim: int, normalization: str) -> np.ndarray:
    """The design matrix written out: proper rows from the exact fractions; sequential rows
    from the source's in-place loop in float32 (entry i divided by the running total)."""
    if normalization == "proper":
        return to_tensor(exact_digit_matrix(dim)).numpy()
    images, _ = load_digits()
    rows = []
    for image in images.numpy():
        p = image.sum(axis=dim).astype(np.float32)
        for i in range(len(p)):
            total = np.float32(0)
            for v in p:
                total = np.float32(total + v)
            p[i] = np.float32(p[i] / total)
        rows.append([*p.astype(np.float64), 1.0])
    return np.array(rows)


@pytest.mark.claim("LS-DIGITS")
@pytest.mark.parametrize(("dim", "normalization"), list(DIGIT_FITS))
def test_the_claims_digit_fit_numbers_come_from_numpy_on_restated_features(dim, normalization):
    sse_claim, right_claim, _, _ = DIGIT_FITS[(dim, normalization)]
    X = restated_digit_matrix(dim, normalization)
    np.testing.assert_allclose(digit_design(dim, normalization).numpy(), X, rtol=0, atol=1e-15)
    y = np.arange(10.0)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    fitted = X @ w
    assert float(((fitted - y) ** 2).sum()) == pytest.approx(sse_claim, abs=5e-5)
    assert int((np.clip(np.rint(fitted), 0, 9) == y).sum()) == right_claim
    # and the reference's fit recognizes the same digits as numpy's
    reference_fit = predict(
        digit_design(dim, normalization), least_squares(digit_design(dim, normalization), LABELS)
    )
    np.testing.assert_allclose(reference_fit.numpy(), fitted, rtol=0, atol=1e-9)


@pytest.mark.claim("LS-MLE")
def test_gaussian_nll_defaults_to_unit_noise():
    # scipy as the oracle: -sum log N(y_i; x_i . w, 1)
    X = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 2.5], dtype=torch.float64)
    w = torch.tensor([0.5, 0.25], dtype=torch.float64)
    expected = -float(norm.logpdf(y.numpy(), loc=(X @ w).numpy(), scale=1.0).sum())
    assert gaussian_nll(X, y, w) == pytest.approx(expected, rel=1e-12)
