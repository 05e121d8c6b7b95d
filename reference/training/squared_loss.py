r"""Readable training loops for the squared loss of a linear model.

Both loops minimize the squared error of $\hat y = X w$ and are written the way the
material teaches them, one update at a time:

* :func:`sgd_per_sample`: per-sample stochastic gradient descent on
  $\ell_i(w) = \tfrac12 (x_i \cdot w - y_i)^2$, visiting the samples in order
  $0, \dots, n-1$ in every epoch and updating after each one;
* :func:`gd_full_batch`: full-batch gradient descent on the summed loss
  $L(w) = \tfrac12 \sum_i (x_i \cdot w - y_i)^2$.

Both work in float64 and, by default, compute the loop's numbers in closed form
(:mod:`reference.training.fast`); ``method="loop"`` runs the loop as written. Either way the
arguments are validated once, here, by their metadata (no copy of float64 input, no extra
pass over the data: a non-finite entry shows up in the work itself, and only then are the
inputs scanned to name it in a ``ValueError``), nothing passed in is modified (values,
``.grad``) and no global random state is touched. Both paths raise
:class:`~reference.errors.DivergenceError`, with one message contract, at the first epoch
(step) after which the weights pass $2^{500}$ (float64 overflows soon after), or, with
``history=True``, whose recorded loss overflows. The message quotes the learning rate, the
growth factor $\rho$ and the largest stable learning rate for the data (see
:func:`stable_learning_rate`).
"""

from __future__ import annotations

import math

import torch

from reference import _validate
from reference.training import fast

__all__ = ["gd_full_batch", "sgd_per_sample", "stable_learning_rate"]

_METHODS = ("auto", "fast", "loop")
_LIMIT = 2.0**fast.OVERFLOW_LOG2  # weights past this count as diverged, on every path


def _check_method(method: object) -> None:
    _validate.choice(method, "method", _METHODS)


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

    $X$ is scaled by a power of two (exactly) before the eigenvalues are computed, so data
    near float64's limits give the right bound whenever the bound itself is a float64.

    Args:
        X: design matrix ``[n, k]`` with at least one non-zero entry.
        per_sample: the bound for per-sample SGD instead of full-batch GD.

    Returns:
        $\eta_{\max}$ as a Python float.

    Raises:
        TypeError: ``X`` is not a real tensor, or ``per_sample`` is not a bool.
        ValueError: ``X`` is not a non-empty 2-D tensor, is non-finite, is all zeros, or
            its bound lies outside float64's range.

    Example:
        >>> stable_learning_rate(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        0.5
    """
    X = _validate.float64_matrix(X, "X")
    per_sample = _validate.boolean(per_sample, "per_sample")
    _validate.finite(X, "X")
    Xn = X.numpy()
    if per_sample:
        top_log2 = fast.per_sample_top_log2(Xn)
    else:
        values, exponent = fast.design_eigenvalues(Xn)
        top = float(values[-1])
        top_log2 = math.log2(top) + exponent if top > 0 else None
    if top_log2 is None:
        raise ValueError("X is all zeros: the loss is flat and every learning rate is stable")
    bound_log2 = 1.0 - top_log2
    if not -1074 <= bound_log2 < 1024:
        raise ValueError(
            f"X's stable learning rate 2**{bound_log2:.1f} lies outside float64's range"
        )
    return 2.0**bound_log2


def _loop_failed(
    unit: str,
    index: int,
    count: int,
    lr: float,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: bool,
    per_sample: bool,
) -> Exception:
    """The loop's error at ``index``: a ValueError naming non-finite input, else divergence.

    Called only when the loop met a non-finite or oversized number: the inputs are
    scanned now, not before the loop.
    """
    _validate.name_non_finite((X, "X"), (y, "y"))
    Xn = X.numpy()
    if per_sample:
        k = Xn.shape[1]
        M = fast._epoch_map_np(Xn, y.numpy(), lr)
        rho, top_log2, hessian = fast._rho_sgd(M, k), fast.per_sample_top_log2(Xn), "x_i x_i^T"
    else:
        values, exponent = fast.design_eigenvalues(Xn)
        rho, top_log2 = fast._rho_gd(values, exponent, lr), fast._top_log2(values, exponent)
        hessian = "X^T X"
    return fast.divergence_error(
        unit=unit,
        index=index,
        count=count,
        lr=lr,
        rho=rho,
        top_log2=top_log2,
        hessian=hessian,
        loss=loss,
    )


def _passed(w: torch.Tensor) -> bool:
    """The weights are past 2**500, or not finite (nan compares false)."""
    return not float(w.abs().max()) < _LIMIT


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
            ``"auto"``) computes the same weights and losses in closed form with the epoch
            map and its powers (:func:`reference.training.fast.sgd_per_sample_fast`, without
            validating again; agrees with the loop to 1e-9 relative, specs in
            ``spec_tests/test_fast_core.py``).

    Returns:
        The final float64 weights, shaped like ``w0``; with ``history=True`` the pair
        ``(weights, losses)`` where ``losses`` is float64 ``[epochs]``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input (named), ``lr <= 0``,
            ``epochs < 0`` or an unknown ``method``.
        DivergenceError: the weights pass $2^{500}$ after an epoch (or, with ``history``,
            an epoch's loss overflows); the message gives that epoch, ``lr``, the growth
            factor $\rho$ per epoch and the stable bound of :func:`stable_learning_rate`
            with ``per_sample=True``. Same message and epoch on every ``method``.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = sgd_per_sample(X, torch.tensor([1.0, 2.0]), torch.zeros(2), lr=0.1, epochs=2000)
        >>> torch.round(w, decimals=4) + 0.0  # + 0.0 turns a rounded -0. into 0.
        tensor([1., 0.], dtype=torch.float64)
    """
    X, y, w, shape, lr, epochs, history = fast.check_problem(
        X, y, w0, lr, epochs, "epochs", history
    )
    _check_method(method)
    if method != "loop":
        return fast._sgd_closed_form(X, y, w, shape, lr, epochs, history)
    if epochs == 0:
        _validate.name_non_finite((X, "X"), (y, "y"))
    w = w.clone()  # the loop's own weights: w0 is never written
    losses = torch.zeros(epochs, dtype=torch.float64)
    for epoch in range(epochs):
        epoch_loss = 0.0
        for i in range(X.shape[0]):
            residual = X[i] @ w - y[i]
            epoch_loss += 0.5 * float(residual * residual)
            w = w - lr * residual * X[i]
        losses[epoch] = epoch_loss
        bad_loss = history and not math.isfinite(epoch_loss)
        if bad_loss or _passed(w):
            raise _loop_failed("epoch", epoch + 1, epochs, lr, X, y, loss=bad_loss, per_sample=True)
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
            ``"auto"``) makes one pass over the data for $G = X^\top X$ and $c = X^\top y$
            (a numba kernel when numba is installed, BLAS otherwise) and takes the steps in
            closed form (:func:`reference.training.fast.gd_full_batch_fast`, without
            validating again), so the cost does not grow with $n$ after that pass. Its
            loss history is computed from $G$, $c$ and $y^\top y$, accurate to about
            machine epsilon times $y^\top y + w^\top G w$ in absolute terms.

    Returns:
        The final float64 weights, shaped like ``w0``; with ``history=True`` the pair
        ``(weights, losses)`` where ``losses`` is float64 ``[steps]``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: shapes do not match, non-finite input (named), ``lr <= 0``,
            ``steps < 0``, an unknown ``method``, or data whose sums of products overflow.
        DivergenceError: the weights pass $2^{500}$ after a step (or, with ``history``,
            a step's loss overflows); the message gives that step, ``lr``, the growth
            factor $\rho$ per step and the stable bound of :func:`stable_learning_rate`.
            Same message and step on every ``method``.

    Example:
        >>> X = torch.tensor([[1.0, 1.0], [2.0, 1.0]])
        >>> w = gd_full_batch(X, torch.tensor([1.0, 2.0]), torch.zeros(2), lr=0.1, steps=2000)
        >>> torch.round(w, decimals=4)
        tensor([1., 0.], dtype=torch.float64)
    """
    X, y, w, shape, lr, steps, history = fast.check_problem(X, y, w0, lr, steps, "steps", history)
    _check_method(method)
    if method != "loop":
        return fast._gd_full_batch(X, y, w, shape, lr, steps, history)
    if steps == 0:
        _validate.name_non_finite((X, "X"), (y, "y"))
    w = w.clone()  # the loop's own weights: w0 is never written
    losses = torch.zeros(steps, dtype=torch.float64)
    for step in range(steps):
        residual = X @ w - y
        loss = 0.5 * float(residual @ residual)
        # w - lr X^T r, with lr applied before the sum over the samples: for data near
        # float64's limits the gradient X^T r alone could overflow while lr X^T r is finite
        w = w - X.T @ (lr * residual)
        losses[step] = loss
        bad_loss = history and not math.isfinite(loss)
        if bad_loss or _passed(w):
            raise _loop_failed("step", step + 1, steps, lr, X, y, loss=bad_loss, per_sample=False)
    w = w.reshape(shape)
    return (w, losses) if history else w
