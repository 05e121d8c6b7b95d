r"""Readable training loops for the squared loss of a linear model.

Both loops minimize the squared error of $\hat y = X w$ and are written the way the
material teaches them, one update at a time:

* :func:`sgd_per_sample`: per-sample stochastic gradient descent on
  $\ell_i(w) = \tfrac12 (x_i \cdot w - y_i)^2$, visiting the samples in order
  $0, \dots, n-1$ in every epoch and updating after each one;
* :func:`gd_full_batch`: full-batch gradient descent on the summed loss
  $L(w) = \tfrac12 \sum_i (x_i \cdot w - y_i)^2$.

Both work in float64, never modify the starting weights, and raise
:class:`~reference.errors.DivergenceError` as soon as the loss or the weights stop being
finite. The message quotes the largest stable learning rate for the data (see
:func:`stable_learning_rate`).
"""

from __future__ import annotations

import math

import torch

from reference import _validate
from reference.errors import DivergenceError
from reference.training.fast import gd_full_batch_fast, sgd_per_sample_fast

__all__ = ["gd_full_batch", "sgd_per_sample", "stable_learning_rate"]

_METHODS = ("auto", "fast", "loop")


def _check_problem(
    X: object, y: object, w0: object
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Size]:
    """Validate (X, y, w0); return float64 copies X [n, k], y [n], w [k] and w0's shape."""
    X = _validate.tensor(X, "X", real=True, finite=True)
    if X.dim() != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor [n, k], got shape {tuple(X.shape)}")
    n, k = X.shape
    y = _validate.tensor(y, "y", real=True, finite=True)
    if not (y.dim() == 1 or (y.dim() == 2 and y.shape[1] == 1)) or y.shape[0] != n:
        raise ValueError(f"y must have shape [{n}] or [{n}, 1] to match X, got {tuple(y.shape)}")
    w0 = _validate.tensor(w0, "w0", real=True, finite=True)
    if not (w0.dim() == 1 or (w0.dim() == 2 and w0.shape[1] == 1)) or w0.shape[0] != k:
        raise ValueError(f"w0 must have shape [{k}] or [{k}, 1] to match X, got {tuple(w0.shape)}")
    as64 = dict(dtype=torch.float64, device="cpu")
    return (
        X.detach().to(**as64).clone(),
        y.detach().to(**as64).reshape(n).clone(),
        w0.detach().to(**as64).reshape(k).clone(),
        w0.shape,
    )


def _check_method(method: object) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")


def stable_learning_rate(X: torch.Tensor, *, per_sample: bool = False) -> float:
    r"""The largest learning rate for which gradient descent on the squared loss is stable.

    For the summed loss $L(w) = \tfrac12 \lVert X w - y \rVert^2$ the Hessian is
    $H = X^\top X$, and a gradient step maps the error $e = w - w^\star$ to
    $(I - \eta H) e$. Along the top eigenvector the factor is $1 - \eta \lambda_{\max}$,
    whose size stays below 1 exactly when

    $$
    \eta < \eta_{\max} = \frac{2}{\lambda_{\max}(X^\top X)} .
    $$

    With ``per_sample=True`` the bound is the one for the per-sample losses
    $\tfrac12 (x_i \cdot w - y_i)^2$, whose Hessians $x_i x_i^\top$ have the single
    non-zero eigenvalue $\lVert x_i \rVert^2$: $\eta_{\max} = 2 / \max_i \lVert x_i \rVert^2$.
    Below it every per-sample update is a contraction (or an isometry) of the error, so
    per-sample SGD cannot blow up; above it the sample with the largest norm overshoots.

    Args:
        X: design matrix ``[n, k]`` with at least one non-zero entry.
        per_sample: the bound for per-sample SGD instead of full-batch GD.

    Returns:
        $\eta_{\max}$ as a Python float.

    Raises:
        TypeError: ``X`` is not a real tensor.
        ValueError: ``X`` is not a non-empty 2-D tensor, is non-finite, or is all zeros.

    Example:
        >>> stable_learning_rate(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        0.5
    """
    X = _validate.tensor(X, "X", real=True, finite=True)
    if X.dim() != 2 or X.numel() == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor [n, k], got shape {tuple(X.shape)}")
    X64 = X.detach().to(torch.float64).cpu()
    if per_sample:
        top = float((X64 * X64).sum(dim=1).max())
    else:
        top = float(torch.linalg.eigvalsh(X64.T @ X64)[-1])
    if top <= 0:
        raise ValueError("X is all zeros: the loss is flat and every learning rate is stable")
    return 2.0 / top


def _diverged(where: str, lr: float, bound: float, what: str, hessian: str) -> DivergenceError:
    return DivergenceError(
        f"{what} became non-finite at {where} with lr={lr:g}; the largest stable learning "
        f"rate for this data is 2 / lambda_max({hessian}) = {bound:.6g}"
    )


def sgd_per_sample(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: torch.Tensor,
    lr: float,
    epochs: int,
    *,
    history: bool = False,
    method: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Per-sample SGD on $\tfrac12 (x_i \cdot w - y_i)^2$, samples in order, every epoch.

    Each epoch visits $i = 0, 1, \dots, n-1$ and after each sample takes one gradient step
    on that sample's loss:

    $$
    r_i = x_i \cdot w - y_i, \qquad w \leftarrow w - \eta\, r_i\, x_i .
    $$

    The recorded loss of an epoch is $\sum_i \tfrac12 r_i^2$, each $r_i$ measured just
    before its own update (what a training program prints when it accumulates the loss
    while it trains).

    Args:
        X: design matrix ``[n, k]`` (bias column included).
        y: targets ``[n]`` or ``[n, 1]``.
        w0: starting weights ``[k]`` or ``[k, 1]``; not modified.
        lr: learning rate $\eta > 0$.
        epochs: number of passes over the data, $\ge 0$.
        history: also return the per-epoch loss.
        method: ``"loop"`` runs the readable loop below; ``"fast"`` (and the default
            ``"auto"``) computes the same weights and losses in closed form with
            :func:`reference.training.fast.sgd_per_sample_fast` (the epoch map and its
            powers; agrees with the loop to 1e-9 relative, specs in
            ``spec_tests/test_fast_core.py``).

    Returns:
        The final float64 weights, shaped like ``w0``; with ``history=True`` the pair
        ``(weights, losses)`` where ``losses`` is float64 ``[epochs]``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input, ``lr <= 0``, ``epochs < 0`` or
            an unknown ``method``.
        DivergenceError: the loss or the weights became non-finite (the message gives the
            epoch, ``lr`` and the stable bound of :func:`stable_learning_rate` with
            ``per_sample=True``).

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = sgd_per_sample(X, torch.tensor([1.0, 2.0]), torch.zeros(2), lr=0.1, epochs=2000)
        >>> torch.round(w, decimals=4) + 0.0  # + 0.0 turns a rounded -0. into 0.
        tensor([1., 0.], dtype=torch.float64)
    """
    X0, y0 = X, y
    X, y, w, shape = _check_problem(X, y, w0)
    lr = _validate.positive_finite(lr, "lr")
    epochs = _validate.integer(epochs, "epochs", 0)
    _check_method(method)
    if method != "loop":
        return sgd_per_sample_fast(X0, y0, w0, lr, epochs, history=history)
    losses = torch.zeros(epochs, dtype=torch.float64)
    for epoch in range(epochs):
        epoch_loss = 0.0
        for i in range(X.shape[0]):
            residual = X[i] @ w - y[i]
            epoch_loss += 0.5 * float(residual * residual)
            w = w - lr * residual * X[i]
        losses[epoch] = epoch_loss
        if not (math.isfinite(epoch_loss) and bool(torch.isfinite(w).all())):
            bound = stable_learning_rate(X, per_sample=True)
            what = "the weights" if math.isfinite(epoch_loss) else "the loss"
            raise _diverged(f"epoch {epoch + 1}/{epochs}", lr, bound, what, "x_i x_i^T")
    w = w.reshape(shape)
    return (w, losses) if history else w


def gd_full_batch(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: torch.Tensor,
    lr: float,
    steps: int,
    *,
    history: bool = False,
    method: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Full-batch gradient descent on $L(w) = \tfrac12 \sum_i (x_i \cdot w - y_i)^2$.

    One step uses every sample:

    $$
    r = X w - y, \qquad \nabla L(w) = X^\top r, \qquad w \leftarrow w - \eta\, X^\top r .
    $$

    The recorded loss of a step is $L(w)$ at the weights the step starts from (the loss
    whose gradient the step follows). For $\eta < 2 / \lambda_{\max}(X^\top X)$ these
    losses never increase; above that bound the error along the top eigenvector grows by
    the factor $|1 - \eta\lambda_{\max}| > 1$ per step.

    Args:
        X: design matrix ``[n, k]`` (bias column included).
        y: targets ``[n]`` or ``[n, 1]``.
        w0: starting weights ``[k]`` or ``[k, 1]``; not modified.
        lr: learning rate $\eta > 0$.
        steps: number of gradient steps, $\ge 0$.
        history: also return the per-step loss.
        method: ``"loop"`` runs the readable loop below; ``"fast"`` (and the default
            ``"auto"``) uses :func:`reference.training.fast.gd_full_batch_fast`: one pass
            over the data for $G = X^\top X$ and $c = X^\top y$, then the steps in closed
            form, so the cost does not grow with $n$ after that pass. Its loss history is
            computed from $G$ and $c$, accurate to about machine epsilon times
            $y^\top y + w^\top G w$ in absolute terms.

    Returns:
        The final float64 weights, shaped like ``w0``; with ``history=True`` the pair
        ``(weights, losses)`` where ``losses`` is float64 ``[steps]``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input, ``lr <= 0``, ``steps < 0`` or
            an unknown ``method``.
        DivergenceError: the loss or the weights became non-finite (the message gives the
            step, ``lr`` and the stable bound of :func:`stable_learning_rate`).

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = gd_full_batch(X, torch.tensor([1.0, 2.0]), torch.zeros(2), lr=0.1, steps=2000)
        >>> torch.round(w, decimals=4)
        tensor([1., 0.], dtype=torch.float64)
    """
    X0, y0 = X, y
    X, y, w, shape = _check_problem(X, y, w0)
    lr = _validate.positive_finite(lr, "lr")
    steps = _validate.integer(steps, "steps", 0)
    _check_method(method)
    if method != "loop":
        return gd_full_batch_fast(X0, y0, w0, lr, steps, history=history)
    losses = torch.zeros(steps, dtype=torch.float64)
    for step in range(steps):
        residual = X @ w - y
        loss = 0.5 * float(residual @ residual)
        gradient = X.T @ residual
        w = w - lr * gradient
        losses[step] = loss
        if not (math.isfinite(loss) and bool(torch.isfinite(w).all())):
            bound = stable_learning_rate(X)
            what = "the weights" if math.isfinite(loss) else "the loss"
            raise _diverged(f"step {step + 1}/{steps}", lr, bound, what, "X^T X")
    w = w.reshape(shape)
    return (w, losses) if history else w
