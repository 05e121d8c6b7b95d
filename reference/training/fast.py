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
  enter only through $(G, c)$, read in one pass (:func:`gram`); all the steps then cost
  $O(k^3 \log T)$ whatever $n$ is (:func:`gd_from_gram`, :func:`gd_full_batch_fast`).
* **Divergence** is read off the spectrum instead of waiting for an overflow: per-sample
  SGD grows like $\rho(M)^E$ where $\rho$ is the spectral radius of the linear part of the
  epoch map, full-batch GD like $\max_j |1 - \eta \lambda_j(G)|^T$. The powers are
  computed with exact power-of-two rescaling, so the size the weights *would* reach is
  known even when it is far outside float64's range; past
  $2^{500} \approx 3 \times 10^{150}$ (where the readable loops' loss, a sum of squared
  residuals, overflows) the fast paths raise :class:`~reference.errors.DivergenceError`
  with the epoch (step) at which the weights leave that range, the learning rate and the
  stable bound $2 / \lambda_{\max}$.

Everything is float64. The small matrices are handled with numpy (a $7 \times 7$ product
costs a microsecond there); the public currency is :class:`torch.Tensor`.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import torch

from reference import _validate
from reference.errors import DivergenceError

__all__ = [
    "GRAM_METHODS",
    "OVERFLOW_LOG2",
    "epoch_map",
    "gd_from_gram",
    "gd_full_batch_fast",
    "gram",
    "sgd_per_sample_fast",
]

log = logging.getLogger(__name__)

#: Weights larger than ``2**OVERFLOW_LOG2`` count as diverged (their squared residuals
#: would overflow float64, whose largest value is about ``2**1024``).
OVERFLOW_LOG2: Final = 500

#: How :func:`gram` may compute $X^\top X$ and $X^\top y$.
GRAM_METHODS: Final = ("auto", "blas", "native")

#: ``gram(method="auto")`` uses the native single-pass kernel from this many entries of ``X``
#: on ...
NATIVE_MIN_ENTRIES: Final = 1 << 20
#: ... for at most this many columns (beyond that a GEMM is well served anyway).
NATIVE_MAX_COLUMNS: Final = 8

# Per-sample matrices are multiplied in blocks of this many samples (bounded memory).
_BLOCK: Final = 1 << 12


# ---------------------------------------------------------------------- validation
def _check_finite(value: torch.Tensor, name: str) -> None:
    """``value`` is a float64 CPU tensor (as the validators below return it)."""
    if not np.isfinite(value.numpy()).all():
        raise ValueError(f"{name} has non-finite entries (inf or nan)")


def _design(X: object) -> torch.Tensor:
    X = _validate.tensor(X, "X", real=True)
    if X.dim() != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor [n, k], got shape {tuple(X.shape)}")
    return X.detach().to(device="cpu", dtype=torch.float64).contiguous()


def _vector(value: object, name: str, length: int, what: str) -> torch.Tensor:
    value = _validate.tensor(value, name, real=True)
    if not (value.dim() == 1 or (value.dim() == 2 and value.shape[1] == 1)) or (
        value.shape[0] != length
    ):
        raise ValueError(
            f"{name} must have shape [{length}] or [{length}, 1] to match {what}, "
            f"got {tuple(value.shape)}"
        )
    return value.detach().to(device="cpu", dtype=torch.float64).reshape(length).contiguous()


# ---------------------------------------------------------------------- powers
def _rescale(A: np.ndarray) -> tuple[np.ndarray, int]:
    """``A = B * 2**e`` with ``max|B|`` near 1 when ``A`` is far from 1 (exact scaling)."""
    top = float(np.max(np.abs(A))) if A.size else 0.0
    if top == 0.0 or not math.isfinite(top):
        return A, 0
    exponent = math.frexp(top)[1]
    if -64 < exponent < 64:  # leave ordinary magnitudes alone: results stay bit-identical
        return A, 0
    return np.ldexp(A, -exponent), exponent


def _power_apply(M: np.ndarray, power: int, v: np.ndarray) -> tuple[np.ndarray, int]:
    r"""$M^{p} v$ as ``(u, e)`` with $M^p v = u \cdot 2^e$, by repeated squaring.

    First without rescaling (the common case: everything stays in range); if anything
    overflowed, again with the running power of $M$ and the vector rescaled by exact powers
    of two, so that the result is finite even when $M^p v$ is far outside float64's range.
    Rescaling by a power of two is exact, so both give the same numbers where both can.
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
            top = float(np.max(np.abs(u)))
            if top == 0.0 or math.frexp(top)[1] < OVERFLOW_LOG2 - 64:
                return u, 0
    u, u_exp = v.copy(), 0
    base, base_exp = M.copy(), 0
    while power:
        if power & 1:
            u = base @ u
            u, shift = _rescale(u)
            u_exp += base_exp + shift
        power >>= 1
        if power:
            base = base @ base
            base, shift = _rescale(base)
            base_exp = 2 * base_exp + shift
    return u, u_exp


def _log2_size(u: np.ndarray, exponent: int) -> float:
    """log2 of max|u| * 2**exponent (-inf for zero, nan/inf passed through)."""
    top = float(np.max(np.abs(u))) if u.size else 0.0
    if not math.isfinite(top):
        return top
    return -math.inf if top == 0.0 else math.log2(top) + exponent


def _overflow_index(size_log2: float, count: int, rho: float) -> int:
    """Estimate the first epoch (step) whose weights exceed 2**OVERFLOW_LOG2.

    After the transient, the size grows by the factor ``rho`` per epoch, so the crossing
    lies ``(size_log2 - OVERFLOW_LOG2) / log2(rho)`` epochs before the last one.
    """
    if not (math.isfinite(size_log2) and rho > 1.0):
        return count
    back = math.floor((size_log2 - OVERFLOW_LOG2) / math.log2(rho))
    return max(1, min(count, count - back))


def _divergence(
    *, unit: str, index: int, count: int, lr: float, bound: float, rho: float, hessian: str
) -> DivergenceError:
    growth = (
        f"the error grows by the factor rho = {rho:.6g} > 1 per {unit}"
        if rho > 1.0
        else f"the map is stable (rho = {rho:.6g} <= 1) but the data are too large"
    )
    return DivergenceError(
        f"the weights diverge: they pass 2**{OVERFLOW_LOG2} (float64 overflows soon after) "
        f"at {unit} {index}/{count} with lr={lr:g}; {growth}; the largest stable learning "
        f"rate for this data is 2 / lambda_max({hessian}) = {bound:.6g}"
    )


def _weights_out(u: np.ndarray, exponent: int, k: int, like: torch.Size) -> torch.Tensor:
    w = np.ldexp(u[:k], exponent) if exponent else u[:k]
    return torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64)).reshape(like)


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
        ValueError: shapes do not match, non-finite input or ``lr <= 0``.

    Example:
        >>> M = epoch_map(torch.tensor([[1.0, 1.0], [2.0, 1.0]]), torch.tensor([1.0, 2.0]), 0.1)
        >>> M.shape, M[-1].tolist()
        (torch.Size([3, 3]), [0.0, 0.0, 1.0])
    """
    X = _design(X)
    y = _vector(y, "y", X.shape[0], "X")
    lr = _validate.positive_finite(lr, "lr")
    _check_finite(X, "X")
    _check_finite(y, "y")
    return torch.from_numpy(_epoch_map_np(X.numpy(), y.numpy(), lr))


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


def _sgd_divergence(
    M: np.ndarray,
    X: np.ndarray,
    lr: float,
    epochs: int,
    *,
    size: float = math.nan,
    index: int | None = None,
) -> DivergenceError:
    """The error for per-sample SGD: rho from the epoch map, the per-sample stable bound."""
    k = X.shape[1]
    rho = float(np.max(np.abs(np.linalg.eigvals(M[:k, :k]))))
    top = float(np.max(np.sum(X * X, axis=1)))
    return _divergence(
        unit="epoch",
        index=_overflow_index(size, epochs, rho) if index is None else index,
        count=epochs,
        lr=lr,
        bound=2.0 / top if top > 0 else math.inf,
        rho=rho,
        hessian="x_i x_i^T",
    )


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
    is decided by the spectral radius $\rho$ of the linear part $M_{1:k, 1:k}$: the weights
    grow like $\rho^E$, and when they would pass $2^{500}$ the function raises instead of
    returning. With ``history=True``
    the loss of epoch $e$ (residuals measured just before each update, as the loop records
    it) is $\tfrac12 \sum_i (q_i \cdot M^e \hat w_0)^2$ with
    $q_i = (x_i, -y_i)^\top A_{i-1} \cdots A_0$; all the states $M^e \hat w_0$ come from
    $\log_2 E$ doublings.

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
        DivergenceError: the weights would pass $2^{500}$ (or a recorded loss overflows);
            the message gives the epoch, ``lr``, $\rho$ and the per-sample stable bound
            $2 / \max_i \lVert x_i \rVert^2$.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = sgd_per_sample_fast(X, torch.tensor([1.0, 2.0]), torch.zeros(2), 0.1, 5000)
        >>> tuple(round(v, 6) + 0.0 for v in w.tolist())
        (1.0, 0.0)
    """
    X = _design(X)
    n, k = X.shape
    y = _vector(y, "y", n, "X")
    w = _vector(w0, "w0", k, "X")
    like = w0.shape
    lr = _validate.positive_finite(lr, "lr")
    epochs = _validate.integer(epochs, "epochs", 0)
    for value, name in ((X, "X"), (y, "y"), (w, "w0")):
        _check_finite(value, name)
    Xn, yn = X.numpy(), y.numpy()
    start = np.append(w.numpy(), 1.0)
    if epochs == 0:
        out = w.clone().reshape(like)
        return (out, torch.zeros(0, dtype=torch.float64)) if history else out

    M = _epoch_map_np(Xn, yn, lr)
    u, exponent = _power_apply(M, epochs, start)
    size = _log2_size(u[:k], exponent)
    if not size < OVERFLOW_LOG2:
        raise _sgd_divergence(M, Xn, lr, epochs, size=size)
    weights = _weights_out(u, exponent, k, like)
    if not history:
        return weights
    losses = _epoch_losses(_residual_rows(Xn, yn, lr), M, start, epochs)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        raise _sgd_divergence(M, Xn, lr, epochs, index=int(bad[0]) + 1)
    return weights, torch.from_numpy(losses)


# ---------------------------------------------------------------------- full-batch GD
def _gram_blas(X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    G = (X.T @ X).numpy()  # a GEMM need not return an exactly symmetric product:
    rows, cols = np.tril_indices(G.shape[0], -1)
    G[rows, cols] = G[cols, rows]  # mirror the upper half
    return G, (X.T @ y).numpy()


def _native_source(k: int) -> str:
    """C source of the single-pass kernel for k columns: one accumulator per sum."""
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    sums = [f"x{i} * x{j}" for i, j in pairs] + [f"x{i} * t" for i in range(k)]
    names = [f"s{m}" for m in range(len(sums))]
    loads = " ".join(f"double x{i} = r[{i}];" for i in range(k))
    adds = "\n        ".join(f"{name} += {term};" for name, term in zip(names, sums, strict=True))
    stores = " ".join(f"out[{m}] = {name};" for m, name in enumerate(names))
    return f"""/* gradspec: X^T X and X^T y in one pass over row-major X [n, {k}] */
void gram(const double *restrict x, const double *restrict y, long n, int threads,
          double *restrict out) {{
    double {", ".join(f"{name} = 0.0" for name in names)};
    #pragma omp parallel for simd num_threads(threads) schedule(static) \\
        reduction(+: {", ".join(names)})
    for (long i = 0; i < n; i++) {{
        const double *r = x + {k}L * i;
        double t = y[i];
        {loads}
        {adds}
    }}
    {stores}
}}
"""


_native: dict[int, Callable[..., None] | None] = {}
_TRIU: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_native_lock = threading.Lock()


def _cache_dir() -> Path:
    root = os.environ.get("GRADSPEC_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(root or Path.home() / ".cache") / "gradspec"


def _build_native(k: int) -> Callable[..., None] | None:
    """Compile (once per machine and k, cached on disk) and load the C kernel."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.warning("gram: no C compiler (cc, gcc or $CC): the native kernel is unavailable")
        return None
    source = _native_source(k)
    attempts = [["-O3", "-fopenmp"], ["-O3"]]  # without OpenMP: one thread, still one pass
    if platform.machine() in ("x86_64", "AMD64") and torch.backends.cpu.get_cpu_capability() in (
        "AVX2",
        "AVX512",
    ):  # this CPU has AVX2 and FMA (the library's name includes the flags)
        attempts.insert(0, ["-O3", "-fopenmp", "-march=x86-64-v3"])
    for flags in attempts:
        key = hashlib.sha256(
            "\0".join([source, compiler, *flags, platform.machine()]).encode()
        ).hexdigest()[:16]
        library = _cache_dir() / f"gram_k{k}_{key}.so"
        try:
            if not library.is_file():
                library.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=library.parent) as work:
                    c_file = Path(work) / "gram.c"
                    c_file.write_text(source, encoding="utf-8")
                    built = Path(work) / library.name
                    subprocess.run(
                        [compiler, *flags, "-shared", "-fPIC", str(c_file), "-o", str(built)],
                        check=True,
                        capture_output=True,
                        timeout=120,
                    )
                    os.replace(built, library)  # atomic: concurrent builders agree
            function = ctypes.CDLL(str(library)).gram
        except (OSError, subprocess.SubprocessError) as error:
            log.info("gram: building the native kernel with %s failed: %s", flags, error)
            continue
        function.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_long,
            ctypes.c_int,
            ctypes.c_void_p,
        ]
        function.restype = None
        return function
    log.warning("gram: the native kernel could not be built; using the next method")
    return None


def _gram_native(X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray] | None:
    """G and c from the C kernel (X, y float64 contiguous); None when it is unavailable."""
    n, k = X.shape
    with _native_lock:
        if k not in _native:
            _native[k] = _build_native(k)
    function = _native[k]
    if function is None:
        return None
    rows, cols = _TRIU.get(k) or _TRIU.setdefault(k, np.triu_indices(k))
    sums = np.empty(rows.size + k)
    function(X.data_ptr(), y.data_ptr(), n, max(1, torch.get_num_threads()), sums.ctypes.data)
    G = np.empty((k, k))
    G[rows, cols] = G[cols, rows] = sums[: rows.size]
    return G, sums[rows.size :].copy()


def gram(
    X: torch.Tensor, y: torch.Tensor, *, method: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$G = X^\top X$ and $c = X^\top y$, everything full-batch GD needs from the data.

    $$
    G_{jl} = \sum_{i=1}^{n} x_{ij}\, x_{il}, \qquad c_j = \sum_{i=1}^{n} x_{ij}\, y_i .
    $$

    For a tall, thin $X$ (large $n$, small $k$) a GEMM is poorly served: ``X.T @ X``
    costs several streaming passes over $X$. The ``"native"`` method computes the
    $k(k+1)/2 + k$ sums in *one* loop over the rows instead: a C loop with one accumulator
    per sum, vectorized and split over ``torch.get_num_threads()`` threads by OpenMP
    (``#pragma omp parallel for simd reduction``). It is compiled with the system's C
    compiler (``$CC``, ``cc`` or ``gcc``; ``-O3 -fopenmp``, plus ``-march=x86-64-v3`` where
    torch reports AVX2) on first use, once per machine and $k$ (a fraction of a second), and
    cached under ``$GRADSPEC_CACHE`` (default ``~/.cache/gradspec``).
    ``"auto"`` uses it from ``NATIVE_MIN_ENTRIES`` entries on for at most
    ``NATIVE_MAX_COLUMNS`` columns, and BLAS below that size or when no compiler is found.
    Both give $G$ and $c$ to rounding (the summation orders differ).

    Args:
        X: design matrix ``[n, k]`` (any real dtype; computed in float64).
        y: targets ``[n]`` or ``[n, 1]``.
        method: ``"auto"``, ``"blas"`` (``X.T @ X`` and ``X.T @ y``) or ``"native"``.

    Returns:
        ``(G, c)``: float64 tensors ``[k, k]`` (symmetric) and ``[k]``.

    Raises:
        TypeError: ``X`` or ``y`` is not a real tensor.
        ValueError: shapes do not match, ``method`` is unknown, or ``X`` or ``y`` has
            non-finite entries (found from $G$ and $c$, without an extra pass when all is
            well).

    Example:
        >>> G, c = gram(torch.tensor([[1.0, 1.0], [2.0, 1.0]]), torch.tensor([1.0, 2.0]))
        >>> G.tolist(), c.tolist()
        ([[5.0, 3.0], [3.0, 2.0]], [5.0, 3.0])
    """
    if method not in GRAM_METHODS:
        raise ValueError(f"method must be one of {GRAM_METHODS}, got {method!r}")
    X = _design(X)
    G, c = _gram(X, _vector(y, "y", X.shape[0], "X"), method)
    return torch.from_numpy(G), torch.from_numpy(c)


def _gram(X: torch.Tensor, y: torch.Tensor, method: str) -> tuple[np.ndarray, np.ndarray]:
    """gram() on validated float64 contiguous X [n, k] and y [n]; numpy results."""
    n, k = X.shape
    result = None
    if method == "native" or (
        method == "auto" and n * k >= NATIVE_MIN_ENTRIES and k <= NATIVE_MAX_COLUMNS
    ):
        result = _gram_native(X, y)
    G, c = result if result is not None else _gram_blas(X, y)
    if not (np.isfinite(G).all() and np.isfinite(c).all()):
        _check_finite(X, "X")  # name the culprit (only on this error path)
        _check_finite(y, "y")
        raise ValueError("X or y is too large: sums of their products overflow float64")
    return G, c


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
        DivergenceError: the weights would pass $2^{500}$; the message gives the step,
            ``lr``, $\rho$ and the stable bound $2 / \lambda_{\max}(G)$.

    Example:
        >>> G, c = torch.tensor([[5.0, 3.0], [3.0, 2.0]]), torch.tensor([5.0, 3.0])
        >>> torch.round(gd_from_gram(G, c, torch.zeros(2), 0.1, 2000), decimals=4)
        tensor([1., 0.], dtype=torch.float64)
    """
    G = _validate.tensor(G, "G", real=True)
    if G.dim() != 2 or G.shape[0] != G.shape[1] or G.shape[0] == 0:
        raise ValueError(f"G must be a square non-empty matrix [k, k], got {tuple(G.shape)}")
    k = G.shape[0]
    G = G.detach().to(device="cpu", dtype=torch.float64)
    c = _vector(c, "c", k, "G")
    w = _vector(w0, "w0", k, "G")
    like = w0.shape
    lr = _validate.positive_finite(lr, "lr")
    steps = _validate.integer(steps, "steps", 0)
    for value, name in ((G, "G"), (c, "c"), (w, "w0")):
        _check_finite(value, name)
    if yy is not None:
        if isinstance(yy, bool) or not isinstance(yy, int | float):
            raise TypeError(f"yy must be a real number, got {type(yy).__name__}")
        if not (math.isfinite(yy) and yy >= 0):
            raise ValueError(f"yy must be a finite number >= 0 (it is y . y), got {yy!r}")
    return _gd_closed_form(G.numpy(), c.numpy(), w.numpy(), like, lr, steps, yy)


def _gd_closed_form(
    Gn: np.ndarray,
    cn: np.ndarray,
    w: np.ndarray,
    like: torch.Size,
    lr: float,
    steps: int,
    yy: float | None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """gd_from_gram() on validated numpy float64 inputs."""
    k = Gn.shape[0]
    if steps == 0:
        out = torch.from_numpy(w.copy()).reshape(like)
        return out if yy is None else (out, torch.zeros(0, dtype=torch.float64))
    T = np.eye(k + 1)
    T[:k, :k] -= lr * Gn
    T[:k, k] = lr * cn
    start = np.append(w, 1.0)
    u, exponent = _power_apply(T, steps, start)
    size = _log2_size(u[:k], exponent)
    if not size < OVERFLOW_LOG2:
        eigenvalues = np.linalg.eigvalsh(Gn)
        top = float(eigenvalues[-1])
        raise _divergence(
            unit="step",
            index=_overflow_index(size, steps, float(np.max(np.abs(1.0 - lr * eigenvalues)))),
            count=steps,
            lr=lr,
            bound=2.0 / top if top > 0 else math.inf,
            rho=float(np.max(np.abs(1.0 - lr * eigenvalues))),
            hessian="X^T X",
        )
    weights = _weights_out(u, exponent, k, like)
    if yy is None:
        return weights
    # L(w) = (w^T G w - 2 c^T w + y^T y) / 2 = s^T Q s / 2 with s = (w, 1)
    Q = np.zeros((k + 1, k + 1))
    Q[:k, :k], Q[:k, k], Q[k, :k], Q[k, k] = Gn, -cn, -cn, float(yy)
    states = _states(T, start, steps)
    with np.errstate(over="ignore", invalid="ignore"):
        losses = 0.5 * np.sum(states * (Q @ states), axis=0)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        eigenvalues = np.linalg.eigvalsh(Gn)
        raise _divergence(
            unit="step",
            index=int(bad[0]) + 1,
            count=steps,
            lr=lr,
            bound=2.0 / float(eigenvalues[-1]) if eigenvalues[-1] > 0 else math.inf,
            rho=float(np.max(np.abs(1.0 - lr * eigenvalues))),
            hessian="X^T X",
        )
    return weights, torch.from_numpy(np.maximum(losses, 0.0))


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
    $w \leftarrow w - \eta X^\top (X w - y)$, to rounding.

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
    X = _design(X)
    n, k = X.shape
    y = _vector(y, "y", n, "X")
    w = _vector(w0, "w0", k, "X")
    lr = _validate.positive_finite(lr, "lr")
    steps = _validate.integer(steps, "steps", 0)
    _check_finite(w, "w0")
    G, c = _gram(X, y, gram_method)
    yy = float(y @ y) if history else None
    return _gd_closed_form(G, c, w.numpy(), w0.shape, lr, steps, yy)
