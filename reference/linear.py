r"""The linear model $y = Xw$ and the analytic ways of finding $w$.

The rows of $X$ are feature vectors that already end in the bias feature 1 (see
:func:`reference.features.with_bias`), so a model with $k$ columns has $k$ weights and no
separate intercept:

$$
\hat y_i = x_i \cdot w = \sum_{j=1}^{k} x_{ij} w_j .
$$

This module solves for $w$ without iterating:

* :func:`solve_exact`: one equation per sample, as many samples as weights, solved by
  Gaussian elimination (the "write down the equations and eliminate" method);
* :func:`normal_equations`: the $k$ equations $X^\top X w = X^\top y$ obtained by setting
  every partial derivative of the squared error to zero, whatever the number of samples;
* :func:`least_squares`: the minimum-norm minimizer of the squared error, computed from the
  singular value decomposition, so that it is also well defined when $X$ is rank-deficient;
* :func:`gaussian_nll`: the negative log-likelihood of Gaussian errors, whose minimizer is
  the least-squares solution for every $\sigma$;
* :func:`classify`: turning a regression output into one of the classes $0, \dots, 9$.
"""

from __future__ import annotations

import math

import torch

from reference import _validate

__all__ = [
    "classify",
    "gaussian_nll",
    "least_squares",
    "normal_equations",
    "predict",
    "solve_exact",
]

NUM_CLASSES = 10


def _check_design(X: object) -> torch.Tensor:
    X = _validate.tensor(X, "X")
    if X.dim() != 2:
        raise ValueError(f"X must be 2-D [n, k], got shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got {tuple(X.shape)}")
    _validate.finite(X, "X")
    return X


def _check_targets(y: object, n: int) -> torch.Tensor:
    """Accept y of shape [n] or [n, 1]; the caller decides the output shape from y.dim()."""
    y = _validate.tensor(y, "y")
    if not (y.dim() == 1 or (y.dim() == 2 and y.shape[1] == 1)):
        raise ValueError(f"y must have shape [n] or [n, 1], got {tuple(y.shape)}")
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows; they must match")
    _validate.finite(y, "y")
    return y


def _check_weights(w: object, k: int) -> torch.Tensor:
    w = _validate.tensor(w, "w")
    if not (w.dim() == 1 or (w.dim() == 2 and w.shape[1] == 1)):
        raise ValueError(f"w must have shape [k] or [k, 1], got {tuple(w.shape)}")
    if w.shape[0] != k:
        raise ValueError(f"w has {w.shape[0]} entries but X has {k} columns; they must match")
    _validate.finite(w, "w")
    return w


#: Magnitudes beyond 2**±500 are rescaled before an elimination or a decomposition, so that
#: products and squares of entries stay inside float64's range (about 2**±1022).
_SAFE_LOG2 = 500


def _power_of_two_scale(t: torch.Tensor) -> tuple[torch.Tensor, int]:
    r"""``(t * 2**-e, e)`` with ``e`` chosen so the largest entry is near 1, or ``(t, 0)``.

    Multiplying by a power of two is exact, and solutions of $A w = b$ (and least-squares
    solutions) scale exactly with it: $w(2^{-e} A,\, 2^{-f} b) = 2^{e - f} w(A, b)$. Inputs
    of ordinary size are returned untouched, so their results keep every bit.
    """
    largest = float(t.detach().abs().max()) if t.numel() else 0.0
    if largest == 0.0 or abs(math.log2(largest)) < _SAFE_LOG2:
        return t, 0
    exponent = math.frexp(largest)[1]
    return torch.ldexp(t, torch.tensor(-exponent, dtype=torch.int64)), exponent


def _rescaled_solution(w: torch.Tensor, log2_scale: int) -> torch.Tensor:
    """Undo the scalings of :func:`_power_of_two_scale` on a solution, refusing overflow."""
    if log2_scale:
        w = torch.ldexp(w, torch.tensor(log2_scale, dtype=torch.int64))
    return _validate.no_overflow(w, "the solution", "X is too small or y")


def predict(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r"""Evaluate the linear model $\hat y = X w$.

    Args:
        X: design matrix ``[n, k]``, bias column included.
        w: weights ``[k]`` or ``[k, 1]``.

    Returns:
        ``[n]`` for ``w`` of shape ``[k]``, ``[n, 1]`` for ``w`` of shape ``[k, 1]``, in the
        promoted dtype of ``X`` and ``w``.

    Raises:
        TypeError: ``X`` or ``w`` is not a real tensor.
        ValueError: wrong shapes, mismatched sizes, non-finite entries, or a product
            ``X @ w`` that overflows.

    Example:
        >>> X = torch.tensor([[0.5, 0.5, 1.0], [0.0, 1.0, 1.0]])
        >>> predict(X, torch.tensor([2.0, 4.0, 1.0]))
        tensor([4., 5.])
    """
    X = _check_design(X)
    w = _check_weights(w, X.shape[1])
    dtype = torch.promote_types(X.dtype, w.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float64
    return _validate.no_overflow(X.to(dtype) @ w.to(dtype), "X @ w", "X or w is")


def solve_exact(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Solve the square system $X w = y$ by Gaussian elimination with partial pivoting.

    This is the method of writing one equation per sample and eliminating: for column
    $c = 1, \dots, k$ pick the row with the largest $|a_{rc}|$ among the rows not yet used as
    pivots (partial pivoting), swap it up, and subtract multiples of it from the rows below,

    $$
    a_{r\cdot} \leftarrow a_{r\cdot} - \frac{a_{rc}}{a_{cc}}\, a_{c\cdot}, \qquad r > c,
    $$

    which leaves an upper-triangular system solved by back substitution
    $w_c = \bigl(b_c - \sum_{j > c} a_{cj} w_j\bigr) / a_{cc}$. Everything runs in float64.

    A pivot counts as zero (the system is singular) when $|a_{cc}| \le k\,\varepsilon
    \max_{ij}|x_{ij}|$, with $\varepsilon$ the float64 machine epsilon.

    Args:
        X: a square ``[k, k]`` coefficient matrix (one row per equation).
        y: right-hand side ``[k]`` or ``[k, 1]``.

    Returns:
        The float64 solution, shaped like ``y``.

    Raises:
        TypeError: ``X`` or ``y`` is not a real tensor.
        ValueError: ``X`` is not square ("not square"), the system is singular ("singular"),
            the shapes do not match, or the solution overflows float64. Entries beyond
            $2^{\pm 500}$ are first scaled by a power of two (exactly), so large but finite
            systems are solved.

    Example:
        >>> X = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
        >>> solve_exact(X, torch.tensor([3.0, 5.0]))
        tensor([0.8000, 1.4000], dtype=torch.float64)
    """
    X = _check_design(X)
    n, k = X.shape
    if n != k:
        raise ValueError(
            f"X is not square: elimination needs as many equations as unknowns, "
            f"got {n} equations (rows) for {k} unknowns (columns); "
            f"use least_squares for a non-square system"
        )
    y = _check_targets(y, n)
    A, log2_a = _power_of_two_scale(X.to(torch.float64))
    b, log2_b = _power_of_two_scale(y.to(torch.float64).reshape(n))
    A, b = A.clone(), b.clone()
    tol = k * torch.finfo(torch.float64).eps * float(A.detach().abs().max())
    for c in range(k):
        pivot_row = c + int(A[c:, c].abs().argmax())
        if abs(float(A[pivot_row, c].detach())) <= tol:
            raise ValueError(
                f"X is singular: no usable pivot in column {c} (the equations are linearly "
                f"dependent, so elimination cannot give a unique solution); "
                f"use least_squares for the minimum-norm solution"
            )
        if pivot_row != c:
            A[[c, pivot_row]] = A[[pivot_row, c]]
            b[[c, pivot_row]] = b[[pivot_row, c]]
        for r in range(c + 1, k):
            factor = A[r, c] / A[c, c]
            A[r, c:] -= factor * A[c, c:]
            b[r] -= factor * b[c]
    w = torch.zeros(k, dtype=torch.float64)
    for c in range(k - 1, -1, -1):
        w[c] = (b[c] - A[c, c + 1 :] @ w[c + 1 :]) / A[c, c]
    return _rescaled_solution(w, log2_b - log2_a).reshape(y.shape)


def normal_equations(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The normal equations: one linear equation per weight, whatever the number of samples.

    Setting each partial derivative of $E(w) = \tfrac12 \sum_i (x_i \cdot w - y_i)^2$ to
    zero gives, for $j = 1, \dots, k$,

    $$
    \frac{\partial E}{\partial w_j} = \sum_i (x_i \cdot w - y_i)\, x_{ij} = 0
    \quad\Longleftrightarrow\quad X^\top X\, w = X^\top y ,
    $$

    a $k \times k$ system for $n$ samples: $n$ only enters through the sums.

    Args:
        X: design matrix ``[n, k]``.
        y: targets ``[n]`` or ``[n, 1]``.

    Returns:
        ``(X^T X, X^T y)`` in float64, of shapes ``[k, k]`` and ``[k]`` (``[k, 1]`` for ``y``
        of shape ``[n, 1]``).

    Raises:
        TypeError: ``X`` or ``y`` is not a real tensor.
        ValueError: wrong shapes, mismatched sizes, or non-finite entries.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
        >>> A, b = normal_equations(X, torch.tensor([1.0, 2.0, 3.0]))
        >>> A.shape, b.tolist()
        (torch.Size([2, 2]), [14.0, 6.0])
    """
    X = _check_design(X)
    y = _check_targets(y, X.shape[0])
    X64 = X.to(torch.float64)
    gram = _validate.no_overflow(X64.T @ X64, "X^T X", "X is")
    c = _validate.no_overflow(X64.T @ y.to(torch.float64), "X^T y", "X or y is")
    return gram, c


def least_squares(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The minimum-norm least-squares solution $w^\star = X^{+} y$, in float64.

    Among all minimizers of $\lVert X w - y \rVert^2$ it returns the one of smallest
    $\lVert w \rVert$, which is unique even when $X$ is rank-deficient (then the minimizers
    form an affine set $w^\star + \operatorname{null}(X)$). With the thin singular value
    decomposition $X = U \Sigma V^\top$ and the $r$ singular values above the tolerance,

    $$
    w^\star = \sum_{i=1}^{r} \frac{u_i^\top y}{\sigma_i}\, v_i, \qquad
    \sigma_i > \max(n, k)\, \varepsilon\, \sigma_1 ,
    $$

    the same rank rule as ``numpy.linalg.lstsq(..., rcond=None)``. The computation is a
    fixed sequence of float64 LAPACK calls on the CPU, so repeated calls on the same input
    return identical bits.

    Args:
        X: design matrix ``[n, k]`` (any ``n``, any rank).
        y: targets ``[n]`` or ``[n, 1]``.

    Returns:
        float64 weights ``[k]`` (``[k, 1]`` for ``y`` of shape ``[n, 1]``).

    Raises:
        TypeError: ``X`` or ``y`` is not a real tensor.
        ValueError: wrong shapes, mismatched sizes, or non-finite entries.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # rank 1: w1 + w2 is all that matters
        >>> least_squares(X, torch.tensor([2.0, 2.0]))
        tensor([1.0000, 1.0000], dtype=torch.float64)
    """
    X = _check_design(X)
    y = _check_targets(y, X.shape[0])
    n, k = X.shape
    X64, log2_x = _power_of_two_scale(X.to(torch.float64).cpu())
    b, log2_b = _power_of_two_scale(y.to(torch.float64).cpu().reshape(n))
    U, S, Vh = torch.linalg.svd(X64, full_matrices=False)
    tol = max(n, k) * torch.finfo(torch.float64).eps * float(S[0].detach())
    r = int((tol < S).sum())  # numerical rank; r = 0 (X = 0) gives w = 0
    w = Vh[:r].T @ ((U[:, :r].T @ b) / S[:r])
    w = _rescaled_solution(w, log2_b - log2_x)
    return w.reshape((k, 1) if y.dim() == 2 else (k,))


def gaussian_nll(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, sigma: float = 1.0) -> float:
    r"""Negative log-likelihood of the data when the errors are i.i.d. $\mathcal N(0, \sigma^2)$.

    With residuals $e_i = y_i - x_i \cdot w$ and density
    $p(e) = \frac{1}{\sqrt{2\pi}\sigma} e^{-e^2 / (2\sigma^2)}$,

    $$
    -\log L(w) = -\sum_{i=1}^{n} \log p(e_i)
    = \frac{n}{2}\log(2\pi\sigma^2) + \frac{1}{2\sigma^2} \sum_{i=1}^{n} e_i^2 .
    $$

    The first term does not depend on $w$ and the second is the squared error scaled by a
    positive constant, so maximizing the likelihood is minimizing the squared error.

    Args:
        X: design matrix ``[n, k]``.
        y: targets ``[n]`` or ``[n, 1]``.
        w: weights ``[k]`` or ``[k, 1]``.
        sigma: standard deviation of the errors, a finite number $> 0$.

    Returns:
        The negative log-likelihood as a Python float (computed in float64).

    Raises:
        TypeError: a tensor argument is not a real tensor, or ``sigma`` is not a number.
        ValueError: shapes do not match, non-finite entries, or ``sigma`` is not a finite
            positive number.

    Example:
        >>> X = torch.tensor([[1.0], [1.0]])
        >>> round(gaussian_nll(X, torch.tensor([1.0, 3.0]), torch.tensor([2.0])), 6)
        2.837877
    """
    X = _check_design(X)
    y = _check_targets(y, X.shape[0])
    w = _check_weights(w, X.shape[1])
    sigma = _validate.positive_finite(sigma, "sigma")
    n = X.shape[0]
    prediction = X.to(torch.float64) @ w.to(torch.float64).reshape(-1)
    residual = _validate.no_overflow(
        y.to(torch.float64).reshape(n) - prediction, "the residual y - X w", "X, y or w is"
    )
    # Both terms in logs and ratios, so that a tiny or huge sigma cannot underflow sigma**2:
    # n log(sqrt(2 pi) sigma) + (1/2) sum (e_i / sigma)^2.
    standardized = residual / sigma
    half_chi2 = 0.5 * float((standardized @ standardized).detach())
    if not math.isfinite(half_chi2):
        raise ValueError(
            "the negative log-likelihood overflows float64: the residuals y - X w are too "
            f"large for sigma = {sigma!r}"
        )
    return n * (0.5 * math.log(2.0 * math.pi) + math.log(sigma)) + half_chi2


def classify(y_pred: torch.Tensor) -> torch.Tensor:
    r"""Turn regression outputs into classes $0, \dots, 9$ by intervals.

    Class $c$ owns the interval $[c - \tfrac12, c + \tfrac12)$; the two end classes extend
    to infinity (everything below $\tfrac12$ is 0, everything from $8\tfrac12$ up is 9):

    $$
    \operatorname{class}(\hat y) = \min\bigl(9, \max(0, \lfloor \hat y + \tfrac12 \rfloor)\bigr).
    $$

    This is rounding to the nearest integer with ties going up (so every interval has the
    same half-open shape, unlike ``torch.round``, which sends ties to the even neighbour),
    then clamping to the valid labels.

    Args:
        y_pred: a real tensor of any shape, finite entries.

    Returns:
        An int64 tensor of the same shape.

    Raises:
        TypeError: ``y_pred`` is not a real tensor.
        ValueError: ``y_pred`` has non-finite entries (a nan cannot be put in an interval).

    Example:
        >>> classify(torch.tensor([-3.0, 0.49, 0.5, 4.2, 8.5, 12.0]))
        tensor([0, 0, 1, 4, 9, 9])
    """
    y_pred = _validate.tensor(y_pred, "y_pred")
    _validate.finite(y_pred, "y_pred")
    if not y_pred.is_floating_point():
        return y_pred.clamp(0, NUM_CLASSES - 1).to(torch.int64)
    y = y_pred.to(torch.float64)
    # floor(y + 1/2) computed without the rounding of y + 1/2 (which would send
    # 0.49999999999999994 to 1): y - floor(y) is exact in floating point.
    whole = torch.floor(y)
    nearest = whole + (y - whole >= 0.5).to(torch.float64)
    return nearest.clamp(0, NUM_CLASSES - 1).to(torch.int64)
