r"""Fast paths of the training core: the numbers of the readable loops, by algebra.

Gradient descent on a squared loss is an *affine* map of the weights, so it can be
composed, powered and analysed instead of iterated.

* **Per-sample SGD.** One update on sample $i$ is
  $w \mapsto w - \eta\, x_i (x_i \cdot w - y_i) = (I - \eta x_i x_i^\top) w + \eta y_i x_i$.
  In homogeneous coordinates $\hat w = (w, 1)$ it is a $(k+1) \times (k+1)$ matrix
  $A_i$; an epoch that visits $i = 0, \dots, n-1$ is $M = A_{n-1} \cdots A_0$
  (:func:`epoch_map`) and $E$ epochs are $M^E$, computed by repeated squaring in
  $O(k^3 \log E)$ (:func:`sgd_per_sample_fast`).
* **Full-batch GD.** A step on $L(w) = \tfrac12 \lVert X w - y \rVert^2$ is
  $w \mapsto (I - \eta G) w + \eta c$ with $G = X^\top X$ and $c = X^\top y$: the data
  enter only through $(G, c)$, read in one pass (:func:`gram`, a numba kernel when numba is
  installed); all the steps then cost $O(k^3 \log T)$ whatever $n$ is (:func:`gd_from_gram`,
  :func:`gd_full_batch_fast`).
* **Divergence** is read off the spectrum instead of waiting for an overflow: per-sample
  SGD grows like $\rho(M)^E$ where $\rho$ is the spectral radius of the linear part of the
  epoch map, full-batch GD like $\max_j |1 - \eta \lambda_j(G)|^T$. The powers are
  computed with exact power-of-two rescaling, so the size the weights *would* reach is
  known even when it is far outside float64's range; when they pass
  $2^{500} \approx 3 \times 10^{150}$ (where a loss, a sum of squared residuals, is about
  to overflow) the fast paths raise :class:`~reference.errors.DivergenceError` naming the
  first epoch (step) whose weights are past that size, found by bisection over the powers,
  with the learning rate, $\rho$ and the stable bound $2 / \lambda_{\max}$ (computed on
  data scaled by a power of two, so that it is a finite number or the message says why
  there is none). The readable loops raise the same error, with the same message, at the
  same epoch (step).

The public functions here validate their arguments (metadata only: no pass over the data,
no copy of float64 contiguous input) and learn finiteness from the pass they make anyway: a
non-finite entry of $X$ or $y$ makes $G$, $c$ or $M$ non-finite, and only then are the
inputs scanned to name the culprit. The trainers of :mod:`reference.training.squared_loss`
validate once and call the private functions below, which trust their input.

Everything is float64. The small matrices are handled with numpy (a $7 \times 7$ product
costs a microsecond there); the public currency is :class:`torch.Tensor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import torch

from reference import _validate
from reference.errors import DivergenceError
from reference.training import _gram_numba

__all__ = [
    "GRAM_METHODS",
    "OVERFLOW_LOG2",
    "epoch_map",
    "gd_from_gram",
    "gd_full_batch_fast",
    "gram",
    "sgd_per_sample_fast",
]

#: Weights larger than ``2**OVERFLOW_LOG2`` count as diverged (their squared residuals
#: would overflow float64, whose largest value is about ``2**1024``).
OVERFLOW_LOG2: Final = 500

#: When $\eta G$ (or $\eta \lVert x_i \rVert^2$) overflows float64 there is no closed form; the
#: steps (epochs) are then taken one by one, at most this many sample updates' worth.
LITERAL_LIMIT: Final = 100_000

#: How :func:`gram` may compute $X^\top X$ and $X^\top y$.
GRAM_METHODS: Final = ("auto", "blas", "numba")

# Per-sample matrices are multiplied in blocks of this many samples (bounded memory).
_BLOCK: Final = 1 << 12


# ---------------------------------------------------------------------- powers
def _power_apply(M: np.ndarray, power: int, v: np.ndarray) -> np.ndarray:
    r"""$M^{p} v$ by repeated squaring.

    First by plain repeated squaring (the common case: every power of $M$ stays in range).
    If a power of $M$ left float64's range, that pass cannot be trusted: a direction in which
    $M$ grows without bound but which holds nothing of $v$ (an exact zero, as when the data
    never excite it) turns into $\infty \cdot 0 = $ nan. Then the powers
    $M^{2^i}$ are formed only while their entries stay below $2^{500}$, the largest of them,
    $M^s$, is applied to the vector again and again, and the bits of $p$ below $s$ by the
    smaller ones: no product ever holds a number beyond float64's range that the steps
    themselves would not hold, so such a direction stays exactly zero, as in the literal
    loop. A vector that does grow past float64's range stops the pass (it has diverged):
    the result is either in range or not finite.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        u, base, p = v, M, power
        while p:
            if p & 1:
                u = base @ u
            p >>= 1
            if p:
                base = base @ base
        # every power of M that was formed was applied to u: an overflow shows in u
        if np.isfinite(u).all():
            return u
        powers = [M]  # M^(2^i) for i = 0, 1, ..., all with entries below 2**OVERFLOW_LOG2
        while 1 << len(powers) <= power:
            square = powers[-1] @ powers[-1]
            if not np.max(np.abs(square)) < 2.0**OVERFLOW_LOG2:  # nan compares false
                break
            powers.append(square)
        whole, rest = divmod(power, 1 << (len(powers) - 1))
        u = v
        for i, power_of_two in enumerate(powers[:-1]):
            if rest >> i & 1:
                u = power_of_two @ u
        for _ in range(whole):
            if not np.isfinite(u).all():
                break
            u = powers[-1] @ u
    return u


def _log2_size(u: np.ndarray) -> float:
    """log2 of max|u| (-inf for zero, nan/inf passed through); u has k >= 1 entries."""
    top = float(np.max(np.abs(u)))
    if not math.isfinite(top):
        return top
    return -math.inf if top == 0.0 else math.log2(top)


def _passes(M: np.ndarray, start: np.ndarray, k: int, count: int) -> bool:
    """Whether the weights of ``M^count start`` are past 2**OVERFLOW_LOG2 (or not finite)."""
    return not _log2_size(_power_apply(M, count, start)[:k]) < OVERFLOW_LOG2


def _first_crossing(M: np.ndarray, start: np.ndarray, k: int, count: int) -> int:
    """The first power ``e <= count`` whose weights pass 2**OVERFLOW_LOG2, by bisection.

    ``M^count start`` is known to pass. Past the transient the size grows by a constant
    factor per power, so the predicate is monotone there; bisection costs
    ``log2(count)`` evaluations of ``O(k^3 log count)`` each.
    """
    low, high = 0, count  # weights at `low` stay below (the start does), at `high` pass
    while high - low > 1:
        middle = (low + high) // 2
        if _passes(M, start, k, middle):
            high = middle
        else:
            low = middle
    return high


# ---------------------------------------------------------------------- the error
def _scaled_log2(value: float, exponent: int) -> float:
    """log2(value * 2**exponent) for value > 0."""
    return math.log2(value) + exponent


def _ldexp(value: float, exponent: int) -> float:
    """value * 2**exponent, inf on overflow (math.ldexp raises there)."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _exponent_of(A: np.ndarray) -> int:
    """e with max|A| = m * 2**e, 0.5 <= m < 1 (0 for an all-zero A)."""
    top = float(np.max(np.abs(A)))
    return math.frexp(top)[1] if top > 0 else 0


def _bound_text(top_log2: float | None, hessian: str) -> str:
    r"""The clause quoting the stable bound $2 / \lambda_{\max}$, given $\log_2 \lambda_{\max}$.

    ``None`` means $\lambda_{\max} = 0$ (all-zero data: no learning rate diverges).
    """
    head = f"the largest stable learning rate for this data is 2 / lambda_max({hessian})"
    if top_log2 is None:
        return f"{head}, which does not exist here: X is all zeros"
    bound_log2 = 1.0 - top_log2
    if bound_log2 < -1022:  # below float64's smallest normal number
        return f"{head} = 2**{bound_log2:.1f}, below float64's range (the data are too large)"
    if bound_log2 >= 1024:
        return f"{head} = 2**{bound_log2:.1f}, above float64's range (the data are too small)"
    return f"{head} = {2.0**bound_log2:.6g}"


def per_sample_top_log2(X: np.ndarray) -> float | None:
    r"""$\log_2 \max_i \lVert x_i \rVert^2$, on $X$ scaled by a power of two (None if 0)."""
    exponent = _exponent_of(X)
    if exponent == 0 and not np.any(X):
        return None
    scaled = np.ldexp(X, -exponent)
    return _scaled_log2(float(np.max(np.sum(scaled * scaled, axis=1))), 2 * exponent)


def gram_eigenvalues(G: np.ndarray) -> tuple[np.ndarray, int]:
    r"""The eigenvalues of the symmetric $G$ as ``(values, e)``: $\lambda = v \cdot 2^e$.

    $G$ is scaled by an exact power of two first, so entries near float64's limits give
    finite eigenvalues.
    """
    exponent = _exponent_of(G)
    return np.linalg.eigvalsh(np.ldexp(G, -exponent)), exponent


def design_eigenvalues(X: np.ndarray) -> tuple[np.ndarray, int]:
    r"""The eigenvalues of $X^\top X$ as ``(values, e)``, from $X$ scaled by a power of two."""
    exponent = _exponent_of(X)
    scaled = np.ldexp(X, -exponent)
    return np.linalg.eigvalsh(scaled.T @ scaled), 2 * exponent


def _top_log2(values: np.ndarray, exponent: int) -> float | None:
    top = float(values[-1])
    return _scaled_log2(top, exponent) if top > 0 else None


def _rho_gd(values: np.ndarray, exponent: int, lr: float) -> float:
    r"""$\max_j |1 - \eta \lambda_j|$ (inf when $\eta \lambda$ leaves float64's range)."""
    return max(abs(1.0 - _ldexp(lr * float(v), exponent)) for v in values)


def _rho_sgd(M: np.ndarray, k: int) -> float | None:
    """Spectral radius of the epoch map's linear part (None when M is not finite)."""
    if not np.isfinite(M).all():
        return None
    exponent = _exponent_of(M[:k, :k])  # scaled by an exact power of two first
    linear = np.ldexp(M[:k, :k], -exponent)
    return _ldexp(float(np.max(np.abs(np.linalg.eigvals(linear)))), exponent)


def divergence_error(
    *,
    unit: str,
    index: int,
    count: int,
    lr: float,
    rho: float | None,
    top_log2: float | None,
    hessian: str,
    loss: bool = False,
) -> DivergenceError:
    """The error both the fast paths and the readable loops raise (one message contract).

    ``unit`` is ``"epoch"`` or ``"step"``; ``index`` (1-based) the first one whose weights
    pass ``2**OVERFLOW_LOG2`` (or, with ``loss``, whose recorded loss overflows); ``rho``
    the growth factor per unit (None: the map itself overflows); ``top_log2`` the log2 of
    the largest eigenvalue of the Hessian named by ``hessian`` (None: it is 0).
    """
    what = (
        "the recorded loss overflows float64"
        if loss
        else f"the weights diverge: they pass 2**{OVERFLOW_LOG2} (float64 overflows soon after)"
    )
    if rho is None:
        growth = f"the {unit}'s map itself overflows float64 (lr is far too large)"
    elif not math.isfinite(rho):
        growth = f"the error grows per {unit} by a factor rho beyond float64's range"
    elif rho > 1.0:
        growth = f"the error grows by the factor rho = {rho:.6g} > 1 per {unit}"
    else:
        growth = f"the map is stable (rho = {rho:.6g} <= 1) but the data are too large"
    return DivergenceError(
        f"{what} at {unit} {index}/{count} with lr={lr:g}; {growth}; "
        f"{_bound_text(top_log2, hessian)}"
    )


def _weights_out(u: np.ndarray, k: int, like: torch.Size) -> torch.Tensor:
    return torch.from_numpy(np.array(u[:k], dtype=np.float64)).reshape(like)


# ---------------------------------------------------------------------- per-sample SGD
def _epoch_map_np(X: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
    """The homogeneous epoch map A_{n-1} ... A_0 (numpy float64)."""
    n, k = X.shape
    M = np.eye(k + 1)
    block = max(1, min(_BLOCK, (1 << 22) // (k + 1) ** 2))  # at most 32 MB of matrices
    with np.errstate(over="ignore", invalid="ignore"):  # huge data: caught as divergence
        for start in range(0, n, block):
            M = _block_product(X[start : start + block], y[start : start + block], lr) @ M
    return M


def _block_product(x: np.ndarray, t: np.ndarray, lr: float) -> np.ndarray:
    """A_{m-1} ... A_0 for the samples of one block, multiplied pairwise."""
    m, k = x.shape
    # A_i = I - lr * u_i a_i^T with u_i = (x_i, 0) and a_i = (x_i, -y_i).
    A = np.broadcast_to(np.eye(k + 1), (m, k + 1, k + 1)).copy()
    A[:, :k, :k] -= lr * x[:, :, None] * x[:, None, :]
    A[:, :k, k] = lr * t[:, None] * x
    while A.shape[0] > 1:  # pairwise products, later samples on the left
        odd = A[-1:] if A.shape[0] % 2 else None
        A = np.matmul(A[1::2], A[0 : A.shape[0] - 1 : 2])
        if odd is not None:
            A = np.concatenate([A, odd])
    return A[0]


def _checked_epoch_map(X: torch.Tensor, y: torch.Tensor, lr: float) -> np.ndarray:
    """The epoch map; a non-finite one names a non-finite X or y (learned from the pass)."""
    M = _epoch_map_np(X.numpy(), y.numpy(), lr)
    if not np.isfinite(M).all():
        _validate.name_non_finite((X, "X"), (y, "y"))
    return M


def epoch_map(X: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
    r"""The homogeneous affine map of one epoch of per-sample SGD on the squared loss.

    The update on sample $i$, $w \leftarrow w - \eta\, x_i (x_i \cdot w - y_i)$, acts on
    $\hat w = (w, 1)$ as

    $$
    A_i = \begin{pmatrix} I - \eta\, x_i x_i^\top & \eta\, y_i x_i \\ 0 & 1 \end{pmatrix},
    $$

    and an epoch that visits $i = 0, 1, \dots, n-1$ in order is $M = A_{n-1} \cdots A_0$.
    The products are formed pairwise (a balanced tree within blocks of samples).

    Args:
        X: design matrix ``[n, k]``.
        y: targets ``[n]`` or ``[n, 1]``.
        lr: learning rate $\eta > 0$.

    Returns:
        $M$ as a float64 tensor ``[k + 1, k + 1]`` whose last row is $(0, \dots, 0, 1)$.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input (found from $M$ itself: the
            inputs are scanned only when $M$ is not finite), ``lr <= 0``, or finite input
            whose products overflow float64 (a learning rate far too large for the data):
            $M$ is never returned with inf or nan entries.

    Example:
        >>> M = epoch_map(torch.tensor([[1.0, 1.0], [2.0, 1.0]]), torch.tensor([1.0, 2.0]), 0.1)
        >>> M.shape, M[-1].tolist()
        (torch.Size([3, 3]), [0.0, 0.0, 1.0])
    """
    X = _validate.float64_matrix(X, "X")
    y = _validate.float64_vector(y, "y", X.shape[0], "X")
    lr = _validate.positive_finite(lr, "lr")
    return _validate.no_overflow(
        torch.from_numpy(_checked_epoch_map(X, y, lr)), "the epoch map", "lr or X is"
    )


def _residual_rows(X: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
    r"""Rows $q_i = a_i^\top A_{i-1} \cdots A_0$: sample $i$'s residual is $q_i \cdot \hat w$."""
    n, k = X.shape
    P = np.eye(k + 1)
    Q = np.empty((n, k + 1))
    for i in range(n):
        q = X[i] @ P[:k] - y[i] * P[k]
        Q[i] = q
        P[:k] -= lr * np.outer(X[i], q)
    return Q


def _states(M: np.ndarray, start: np.ndarray, count: int) -> np.ndarray:
    """Columns M^0 start, ..., M^(count-1) start, by doubling: [S, M^m S] (log2 count steps)."""
    states = start[:, None]
    base = M
    with np.errstate(over="ignore", invalid="ignore"):
        while states.shape[1] < count:
            states = np.concatenate([states, base @ states], axis=1)
            base = base @ base
    return states[:, :count]


def _epoch_losses(Q: np.ndarray, M: np.ndarray, start: np.ndarray, epochs: int) -> np.ndarray:
    r"""Loss of every epoch, $\tfrac12 \sum_i (q_i \cdot M^e \hat w_0)^2$, $e < E$."""
    states = _states(M, start, epochs)
    losses = np.empty(epochs)
    step = max(1, (1 << 22) // max(1, Q.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        for first in range(0, epochs, step):
            residuals = Q @ states[:, first : first + step]
            losses[first : first + step] = 0.5 * np.sum(residuals * residuals, axis=0)
    return losses


def _sgd_closed_form(
    X: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    like: torch.Size,
    lr: float,
    epochs: int,
    history: bool,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Per-sample SGD on validated input: X float64 contiguous [n, k], y [n], w [k]."""
    k = X.shape[1]
    if epochs == 0:
        # no pass is made, so finiteness is checked directly (the data are not used)
        _validate.name_non_finite((X, "X"), (y, "y"))
        out = torch.from_numpy(w.numpy().copy()).reshape(like)
        return (out, torch.zeros(0, dtype=torch.float64)) if history else out
    M = _checked_epoch_map(X, y, lr)
    Xn = X.numpy()
    start = np.append(w.numpy(), 1.0)

    def error(index: int, loss: bool = False) -> DivergenceError:
        return divergence_error(
            unit="epoch",
            index=index,
            count=epochs,
            lr=lr,
            rho=_rho_sgd(M, k),
            top_log2=per_sample_top_log2(Xn),
            hessian="x_i x_i^T",
            loss=loss,
        )

    if not np.isfinite(M).all():  # finite data, yet lr ||x_i||^2 overflows: no closed form
        u, losses = _sgd_literal(Xn, y.numpy(), w.numpy(), lr, epochs, history, error)
        out = _weights_out(np.append(u, 1.0), k, like)
        return (out, torch.from_numpy(losses)) if history else out
    u = _power_apply(M, epochs, start)
    crossing = None
    if not _log2_size(u[:k]) < OVERFLOW_LOG2:
        crossing = _first_crossing(M, start, k, epochs)
    if not history:
        if crossing is not None:
            raise error(crossing)
        return _weights_out(u, k, like)
    last = epochs if crossing is None else crossing  # losses of epochs 1 .. last
    losses = _epoch_losses(_residual_rows(Xn, y.numpy(), lr), M, start, last)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size and (crossing is None or bad[0] + 1 <= crossing):
        raise error(int(bad[0]) + 1, loss=True)
    if crossing is not None:
        raise error(crossing)
    return _weights_out(u, k, like), torch.from_numpy(losses)


def sgd_per_sample_fast(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: torch.Tensor,
    lr: float,
    epochs: int,
    *,
    history: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Per-sample SGD on $\tfrac12 (x_i \cdot w - y_i)^2$ for ``epochs`` epochs, in closed form.

    The result is the readable loop's (samples $0, \dots, n-1$ in order every epoch):

    $$
    \hat w_E = M^E \hat w_0, \qquad M = A_{n-1} \cdots A_0 ,
    $$

    with the epoch map $M$ of :func:`epoch_map` and $M^E$ by repeated squaring. Divergence
    is decided by the sizes of the powers: when the weights after epoch $e$ would pass
    $2^{500}$ the function raises instead of returning, naming the first such $e$ (found by
    bisection). With ``history=True`` the loss of epoch $e$ (residuals measured just before
    each update, as the loop records it) is $\tfrac12 \sum_i (q_i \cdot M^e \hat w_0)^2$
    with $q_i = (x_i, -y_i)^\top A_{i-1} \cdots A_0$; all the states $M^e \hat w_0$ come
    from $\log_2 E$ doublings. This is what ``sgd_per_sample(method="fast")`` runs, after
    validating its arguments the same way.

    Args:
        X: design matrix ``[n, k]`` (bias column included).
        y: targets ``[n]`` or ``[n, 1]``.
        w0: starting weights ``[k]`` or ``[k, 1]``; not modified.
        lr: learning rate $\eta > 0$.
        epochs: number of passes over the data, $\ge 0$.
        history: also return the float64 loss of every epoch.

    Returns:
        The float64 weights shaped like ``w0``; with ``history=True`` the pair
        ``(weights, losses)``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input, ``lr <= 0`` or ``epochs < 0``.
        DivergenceError: the weights would pass $2^{500}$ (or, with ``history``, a recorded
            loss overflows); the message gives the epoch, ``lr``, $\rho$ and the per-sample
            stable bound $2 / \max_i \lVert x_i \rVert^2$.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = sgd_per_sample_fast(X, torch.tensor([1.0, 2.0]), torch.zeros(2), 0.1, 5000)
        >>> tuple(round(v, 6) + 0.0 for v in w.tolist())
        (1.0, 0.0)
    """
    X, y, w, like, lr, epochs, history = check_problem(X, y, w0, lr, epochs, "epochs", history)
    return _sgd_closed_form(X, y, w, like, lr, epochs, history)


def check_problem(
    X: object, y: object, w0: object, lr: object, count: object, count_name: str, history: object
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Size, float, int, bool]:
    """The trainers' one validation pass (metadata only; finiteness is learned later).

    Returns ``X`` float64 contiguous ``[n, k]``, ``y`` ``[n]``, ``w0`` ``[k]`` (the tensors
    themselves when they already are float64, CPU and contiguous, converted otherwise), the
    shape of ``w0``, and ``lr``, the count and ``history`` checked. ``w0`` is small: it is
    checked for finiteness here.
    """
    X = _validate.float64_matrix(X, "X")
    n, k = X.shape
    y = _validate.float64_vector(y, "y", n, "X")
    w = _validate.float64_vector(w0, "w0", k, "X")
    if not np.isfinite(w.numpy()).all():  # k numbers: numpy's check is the cheap one
        _validate.finite(w, "w0")
    lr = _validate.positive_finite(lr, "lr")
    count = _validate.integer(count, count_name, 0)
    history = _validate.boolean(history, "history")
    return X, y, w, w0.shape, lr, count, history


# ---------------------------------------------------------------------- full-batch GD
def _threads() -> int:
    return max(1, torch.get_num_threads())


def _gram(
    X: torch.Tensor, y: torch.Tensor, method: str
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(G, c, y.y or None) on validated float64 contiguous X [n, k] and y [n], one pass.

    A non-finite G or c means a non-finite input (then named) or an overflow of the sums.
    """
    k = X.shape[1]
    if method == "numba":
        if not _gram_numba.available():
            raise ValueError(
                "method 'numba' needs the numba package (pip install 'gradspec[fast]')"
            )
        if k > _gram_numba.MAX_COLUMNS:
            raise ValueError(
                f"method 'numba' handles at most {_gram_numba.MAX_COLUMNS} columns, X has {k}"
            )
    use_numba = method == "numba" or (
        method == "auto" and k <= _gram_numba.MAX_COLUMNS and _gram_numba.available()
    )
    if use_numba:
        G, c, yy = _gram_numba.gram_sums(X.numpy(), y.numpy(), _threads())
    else:
        G = (X.T @ X).numpy()  # a GEMM need not return an exactly symmetric product:
        rows, cols = np.tril_indices(k, -1)
        G[rows, cols] = G[cols, rows]  # mirror the upper half
        c, yy = (X.T @ y).numpy(), None
    if not (np.isfinite(G).all() and np.isfinite(c).all()):
        _validate.name_non_finite((X, "X"), (y, "y"))  # the culprit, on this path only
        raise ValueError(
            "X and y are too large: the sums of products X^T X or X^T y overflow float64 "
            "(scale the data)"
        )
    return G, c, yy


def _y_dot_y(y: torch.Tensor, yy: float | None) -> float:
    if yy is None:
        yy = float(y @ y)
    if not math.isfinite(yy):
        raise ValueError("y is too large: y . y overflows float64 (scale the data)")
    return yy


def gram(
    X: torch.Tensor, y: torch.Tensor, *, method: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$G = X^\top X$ and $c = X^\top y$, everything full-batch GD needs from the data.

    $$
    G_{jl} = \sum_{i=1}^{n} x_{ij}\, x_{il}, \qquad c_j = \sum_{i=1}^{n} x_{ij}\, y_i .
    $$

    For a tall, thin $X$ (large $n$, small $k$) a GEMM is poorly served: ``X.T @ X``
    costs several streaming passes over $X$. The ``"numba"`` method computes the
    $k(k+1)/2 + k$ sums (and $y^\top y$) in *one* loop over the rows instead: a loop with
    one scalar accumulator per sum, written out for each $k \le 8$, vectorized by LLVM and
    split over ``torch.get_num_threads()`` threads by numba's ``prange`` reduction
    (:mod:`reference.training._gram_numba`). numba compiles it on first use and caches the
    machine code on disk. ``"auto"`` uses it whenever numba is installed and
    $k \le 8$, BLAS otherwise. Both give $G$ and $c$ to rounding (the summation orders
    differ).

    Args:
        X: design matrix ``[n, k]`` (any real dtype; computed in float64).
        y: targets ``[n]`` or ``[n, 1]``.
        method: ``"auto"``, ``"blas"`` (``X.T @ X`` and ``X.T @ y``) or ``"numba"``.

    Returns:
        ``(G, c)``: float64 tensors ``[k, k]`` (symmetric) and ``[k]``.

    Raises:
        TypeError: ``X`` or ``y`` is not a real tensor.
        ValueError: shapes do not match, ``method`` is unknown (or ``"numba"`` without
            numba, or for more than 8 columns), or ``X`` or ``y`` has non-finite entries
            (found from $G$ and $c$, without an extra pass when all is well), or the sums
            overflow float64.

    Example:
        >>> G, c = gram(torch.tensor([[1.0, 1.0], [2.0, 1.0]]), torch.tensor([1.0, 2.0]))
        >>> G.tolist(), c.tolist()
        ([[5.0, 3.0], [3.0, 2.0]], [5.0, 3.0])
    """
    if method not in GRAM_METHODS:
        raise ValueError(f"method must be one of {GRAM_METHODS}, got {method!r}")
    X = _validate.float64_matrix(X, "X")
    G, c, _ = _gram(X, _validate.float64_vector(y, "y", X.shape[0], "X"), method)
    return torch.from_numpy(G), torch.from_numpy(c)


def gd_from_gram(
    G: torch.Tensor,
    c: torch.Tensor,
    w0: torch.Tensor,
    lr: float,
    steps: int,
    *,
    yy: float | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""``steps`` full-batch GD steps on $\tfrac12 \lVert Xw - y \rVert^2$ given only $(G, c)$.

    A step is $w \leftarrow w - \eta (G w - c)$, in homogeneous form

    $$
    \hat w_{t+1} = T \hat w_t, \qquad
    T = \begin{pmatrix} I - \eta G & \eta c \\ 0 & 1 \end{pmatrix},
    \qquad \hat w_T = T^{T} \hat w_0 ,
    $$

    by repeated squaring: $O(k^3 \log T)$, independent of $n$. The eigenvalues of $T$'s
    linear part are $1 - \eta \lambda_j(G)$, so the iteration diverges exactly when
    $\eta > 2 / \lambda_{\max}(G)$; the weights then grow like
    $\rho^t$, $\rho = \max_j |1 - \eta \lambda_j|$.

    Given ``yy`` $= y \cdot y$ it also returns the loss at the start of every step,
    $L(w_t) = \tfrac12 (w_t^\top G w_t - 2 c^\top w_t + y^\top y)$, with all the $w_t$ from
    $\log_2 T$ doublings. This form subtracts large numbers when the fit is close: its
    absolute error is about $\varepsilon\, (y^\top y + w^\top G w)$, not relative to
    $L$ (negative rounding results are clipped to 0).

    Args:
        G: $X^\top X$, symmetric ``[k, k]``.
        c: $X^\top y$, ``[k]``.
        w0: starting weights ``[k]`` or ``[k, 1]``; not modified.
        lr: learning rate $\eta > 0$.
        steps: number of steps, $\ge 0$.
        yy: $y^\top y$; when given, the per-step losses are returned too.

    Returns:
        The float64 weights after ``steps`` steps, shaped like ``w0``; with ``yy`` the pair
        ``(weights, losses)``, ``losses`` float64 ``[steps]``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: bad shapes, non-finite input, ``lr <= 0``, ``steps < 0`` or ``yy < 0``.
        DivergenceError: the weights would pass $2^{500}$; the message gives the first
            such step, ``lr``, $\rho$ and the stable bound $2 / \lambda_{\max}(G)$.

    Example:
        >>> G, c = torch.tensor([[5.0, 3.0], [3.0, 2.0]]), torch.tensor([5.0, 3.0])
        >>> torch.round(gd_from_gram(G, c, torch.zeros(2), 0.1, 2000), decimals=4)
        tensor([1., 0.], dtype=torch.float64)
    """
    G = _validate.tensor(G, "G")
    if G.dim() != 2 or G.shape[0] != G.shape[1] or G.shape[0] == 0:
        raise ValueError(f"G must be a square non-empty matrix [k, k], got {tuple(G.shape)}")
    k = G.shape[0]
    G = _validate.float64_matrix(G, "G")
    c = _validate.float64_vector(c, "c", k, "G")
    w = _validate.float64_vector(w0, "w0", k, "G")
    lr = _validate.positive_finite(lr, "lr")
    steps = _validate.integer(steps, "steps", 0)
    _validate.name_non_finite((G, "G"), (c, "c"), (w, "w0"))  # k x k: cheap
    if yy is not None:
        if isinstance(yy, bool) or not isinstance(yy, int | float):
            raise TypeError(f"yy must be a real number, got {type(yy).__name__}")
        if not (math.isfinite(yy) and yy >= 0):
            raise ValueError(f"yy must be a finite number >= 0 (it is y . y), got {yy!r}")
    return _gd_closed_form(G.numpy(), c.numpy(), w.numpy(), w0.shape, lr, steps, yy)


def _undecided(what: str, lr: float, count: int, unit: str) -> ValueError:
    return ValueError(
        f"{what} overflows float64 at lr={lr:g}, so the {unit}s have no closed form, and after "
        f"{count} literal {unit}s the weights neither settle nor diverge; take fewer {unit}s, "
        f"a smaller lr, or the readable loop (method='loop')"
    )


def _literal(
    one: Callable[[np.ndarray], tuple[np.ndarray, float]],
    w: np.ndarray,
    count: int,
    limit: int,
    history: bool,
    error: Callable[..., DivergenceError],
    undecided: Callable[[int], ValueError],
) -> tuple[np.ndarray, np.ndarray]:
    r"""Steps (epochs) one by one, for when $\eta G$ (some $\eta \lVert x_i \rVert^2$) overflows.

    Along an eigenvector whose $\eta \lambda$ overflows, any nonzero error is multiplied by
    about $\eta \lambda$ per step and passes $2^{500}$ within a step or two; a run that does
    not is exactly at rest along those directions and moves along the others only. So the
    literal steps decide: a crossing (the loop's error, or with ``history`` a recorded loss
    that overflows first), a fixed point (every later step is this one), or, still moving
    after ``limit`` steps, ``undecided`` (a ``ValueError``) rather than a guess. ``one(w)``
    is one step (epoch): the weights after it and the loss recorded during it.
    """
    losses: list[float] = []
    with np.errstate(over="ignore", invalid="ignore"):
        for index in range(1, count + 1):
            following, loss = one(w)
            if history:
                if not math.isfinite(loss):
                    raise error(index, loss=True)
                losses.append(max(loss, 0.0))
            if not np.max(np.abs(following)) < 2.0**OVERFLOW_LOG2:
                raise error(index)
            if np.array_equal(following, w):  # at rest
                losses.extend(losses[-1:] * (count - index))
                break
            if index == limit and index < count:
                raise undecided(index)
            w = following
    return w, np.array(losses, dtype=np.float64)


def _gd_literal(
    Gn: np.ndarray,
    cn: np.ndarray,
    w: np.ndarray,
    lr: float,
    steps: int,
    yy: float | None,
    error: Callable[..., DivergenceError],
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch GD step by step (see :func:`_literal`): weights, losses (with ``yy``)."""

    def step(w: np.ndarray) -> tuple[np.ndarray, float]:
        loss = 0.0 if yy is None else float(0.5 * (w @ (Gn @ w) - 2.0 * (cn @ w) + yy))
        return w - lr * (Gn @ w - cn), loss

    def undecided(count: int) -> ValueError:
        return _undecided("lr * G", lr, count, "step")

    return _literal(step, w, steps, LITERAL_LIMIT, yy is not None, error, undecided)


def _sgd_literal(
    Xn: np.ndarray,
    yn: np.ndarray,
    w: np.ndarray,
    lr: float,
    epochs: int,
    history: bool,
    error: Callable[..., DivergenceError],
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample SGD epoch by epoch (see :func:`_literal`), about :data:`LITERAL_LIMIT`
    sample updates at most: weights, losses (with ``history``)."""
    n = Xn.shape[0]

    def epoch(w: np.ndarray) -> tuple[np.ndarray, float]:
        total = 0.0
        for i in range(n):
            residual = float(Xn[i] @ w - yn[i])
            total += 0.5 * residual * residual
            w = w - (lr * residual) * Xn[i]
            if i < n - 1 and not np.isfinite(w).all():  # the rest of the epoch is not finite
                return w, math.nan
        return w, total

    def undecided(count: int) -> ValueError:
        return _undecided("lr * |x_i|^2", lr, count, "epoch")

    return _literal(epoch, w, epochs, max(1, LITERAL_LIMIT // n), history, error, undecided)


def _gd_closed_form(
    Gn: np.ndarray,
    cn: np.ndarray,
    w: np.ndarray,
    like: torch.Size,
    lr: float,
    steps: int,
    yy: float | None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """gd_from_gram() on validated numpy float64 inputs (G and c finite)."""
    k = Gn.shape[0]
    if steps == 0:
        out = torch.from_numpy(w.copy()).reshape(like)
        return out if yy is None else (out, torch.zeros(0, dtype=torch.float64))

    def error(index: int, loss: bool = False) -> DivergenceError:
        values, exponent = gram_eigenvalues(Gn)
        return divergence_error(
            unit="step",
            index=index,
            count=steps,
            lr=lr,
            rho=_rho_gd(values, exponent, lr),
            top_log2=_top_log2(values, exponent),
            hessian="X^T X",
            loss=loss,
        )

    T = np.eye(k + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        T[:k, :k] -= lr * Gn
        T[:k, k] = lr * cn
    start = np.append(w, 1.0)
    if not np.isfinite(T).all():  # lr * G overflows: no closed form, literal steps decide
        u, losses = _gd_literal(Gn, cn, w, lr, steps, yy, error)
        out = _weights_out(np.append(u, 1.0), k, like)
        return out if yy is None else (out, torch.from_numpy(losses))
    u = _power_apply(T, steps, start)
    crossing = None
    if not _log2_size(u[:k]) < OVERFLOW_LOG2:
        crossing = _first_crossing(T, start, k, steps)
    if yy is None:
        if crossing is not None:
            raise error(crossing)
        return _weights_out(u, k, like)
    last = steps if crossing is None else crossing
    # L(w) = (w^T G w - 2 c^T w + y^T y) / 2 = s^T Q s / 2 with s = (w, 1)
    Q = np.zeros((k + 1, k + 1))
    Q[:k, :k], Q[:k, k], Q[k, :k], Q[k, k] = Gn, -cn, -cn, float(yy)
    with np.errstate(over="ignore", invalid="ignore"):
        states = _states(T, start, last)
        losses = 0.5 * np.sum(states * (Q @ states), axis=0)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size and (crossing is None or bad[0] + 1 <= crossing):
        raise error(int(bad[0]) + 1, loss=True)
    if crossing is not None:
        raise error(crossing)
    return _weights_out(u, k, like), torch.from_numpy(np.maximum(losses, 0.0))


def gd_full_batch_fast(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: torch.Tensor,
    lr: float,
    steps: int,
    *,
    history: bool = False,
    gram_method: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Full-batch GD on $L(w) = \tfrac12 \sum_i (x_i \cdot w - y_i)^2$: one pass, then algebra.

    Computes $(G, c) = (X^\top X, X^\top y)$ with :func:`gram` (one pass over the data)
    and takes all the steps $w \leftarrow w - \eta (G w - c)$ at once with
    :func:`gd_from_gram`. Same numbers as the readable loop
    $w \leftarrow w - \eta X^\top (X w - y)$, to rounding. This is what
    ``gd_full_batch(method="fast")`` runs, after validating its arguments the same way.

    Args:
        X: design matrix ``[n, k]`` (bias column included).
        y: targets ``[n]`` or ``[n, 1]``.
        w0: starting weights ``[k]`` or ``[k, 1]``; not modified.
        lr: learning rate $\eta > 0$.
        steps: number of gradient steps, $\ge 0$.
        history: also return the loss at the start of every step (from $G$, $c$ and
            $y^\top y$; see :func:`gd_from_gram` for its accuracy).
        gram_method: passed to :func:`gram` as ``method``.

    Returns:
        The float64 weights after ``steps`` steps, shaped like ``w0``; with
        ``history=True`` the pair ``(weights, losses)``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input, ``lr <= 0``, ``steps < 0`` or an
            unknown ``gram_method``.
        DivergenceError: as for :func:`gd_from_gram` (stable bound $2/\lambda_{\max}(X^\top X)$).

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = gd_full_batch_fast(X, torch.tensor([1.0, 2.0]), torch.zeros(2), 0.1, 2000)
        >>> torch.round(w, decimals=4)
        tensor([1., 0.], dtype=torch.float64)
    """
    if gram_method not in GRAM_METHODS:
        raise ValueError(f"gram_method must be one of {GRAM_METHODS}, got {gram_method!r}")
    X, y, w, like, lr, steps, history = check_problem(X, y, w0, lr, steps, "steps", history)
    return _gd_full_batch(X, y, w, like, lr, steps, history, gram_method)


def _gd_full_batch(
    X: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    like: torch.Size,
    lr: float,
    steps: int,
    history: bool,
    gram_method: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Full-batch GD on validated input: one pass for (G, c), then the closed form."""
    G, c, yy = _gram(X, y, gram_method)
    yy = _y_dot_y(y, yy) if history else None
    return _gd_closed_form(G, c, w.numpy(), like, lr, steps, yy)
