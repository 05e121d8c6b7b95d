r"""Linear regression trained by gradient descent: from scratch, concise, and two small cases.

The model is affine, $\hat y = X w + b$, and the loss is a mean of squared errors.

* :func:`synthetic_data` and :func:`data_iter` make the data and serve it in shuffled
  minibatches.
* :func:`train_linear_scratch` writes minibatch SGD out by hand (leaf tensors, autograd,
  an update under ``torch.no_grad()``, gradients zeroed); :func:`train_linear_concise` does
  the same with ``nn.Linear``, ``nn.init``, ``nn.MSELoss`` and ``optim.SGD``.
* :func:`fit_two_points` is full-batch descent on two points with one weight per point and a
  shared bias; :func:`fit_ten_x` is full-batch descent on $y = 10x + 4 + u$,
  $x = 0, 0.1, \dots, 99.9$, the case whose learning rate is beyond the stable bound.
* :func:`mse_stable_lr` gives that bound, $2/\lambda_{\max}$ of the loss's Hessian;
  :func:`least_squares_test_mse` measures the test error of a least-squares fit on fresh data.

Every loop raises :class:`~reference.errors.DivergenceError` as soon as the loss or a
parameter stops being finite.

Example:
    >>> import torch
    >>> X, y = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 1000, seed=0)
    >>> fit = train_linear_scratch(X, y, seed=0)
    >>> tuple(round(v, 2) for v in fit.w.tolist()), round(fit.b.item(), 2)
    ((2.0, -3.4), 4.2)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from reference import _validate
from reference.errors import DivergenceError

__all__ = [
    "LinearFit",
    "data_iter",
    "fit_ten_x",
    "fit_two_points",
    "least_squares_test_mse",
    "mse_stable_lr",
    "synthetic_data",
    "ten_x_data",
    "train_linear_concise",
    "train_linear_scratch",
]


class LinearFit(NamedTuple):
    """What a training loop returns (unpacks as ``w, b, losses``).

    Attributes:
        w: the learned weights, shape ``(d,)``.
        b: the learned bias, shape ``()``.
        losses: one loss value per epoch (or step, for the full-batch loops).
    """

    w: Tensor
    b: Tensor
    losses: list[float]


# ------------------------------------------------------------------ validation helpers


def _xy(features: object, labels: object) -> tuple[Tensor, Tensor]:
    """Check a (features, labels) pair: features (n, d) floating, labels (n,) or (n, 1)."""
    features = _validate.tensor(features, "features", finite=True)
    labels = _validate.tensor(labels, "labels", finite=True)
    if features.dim() != 2:
        raise ValueError(f"features must be 2-D (n, d), got shape {tuple(features.shape)}")
    if not features.is_floating_point() or not labels.is_floating_point():
        raise TypeError("features and labels must be floating-point tensors")
    if labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels.reshape(-1)
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (n,) or (n, 1), got {tuple(labels.shape)}")
    if len(features) != len(labels):
        raise ValueError(
            f"features and labels must have the same length, got {len(features)} and {len(labels)}"
        )
    if len(features) == 0:
        raise ValueError("features must hold at least one example")
    return features, labels


# ------------------------------------------------------------------ data


def synthetic_data(
    w: Sequence[float] | Tensor,
    b: float,
    n: int,
    noise_std: float = 0.01,
    seed: int = 0,
    *,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Draw a linear-regression data set $y = X w + b + \varepsilon$.

    Features $X_{ij} \sim \mathcal N(0, 1)$, noise $\varepsilon_i \sim \mathcal N(0,
    \sigma^2)$ with $\sigma$ = ``noise_std``, all drawn from one ``torch.Generator`` seeded
    by ``seed`` (features first, then noise); the global RNG is not touched.

    Args:
        w: the true weights (length $d \ge 1$): a sequence, tensor or array (flattened).
        b: the true bias (a number, or a one-element tensor or array).
        n: the number of examples ($\ge 1$).
        noise_std: the noise standard deviation $\sigma \ge 0$.
        seed: the seed of the generator.
        dtype: floating dtype of the result (``float32``, as in the material, by default).

    Returns:
        ``(features, labels)`` of shapes ``(n, d)`` and ``(n,)``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``w`` is empty or not finite, ``n < 1``, ``noise_std < 0`` or not finite.

    Example:
        >>> X, y = synthetic_data([2.0, -3.4], 4.2, 5, seed=1)
        >>> tuple(X.shape), tuple(y.shape)
        ((5, 2), (5,))
    """
    dtype = _validate.floating_dtype(dtype, "dtype")
    if isinstance(w, np.ndarray):
        w = torch.from_numpy(w)
    if isinstance(w, Tensor):
        w_t = _validate.tensor(w, "w", finite=True).detach().to(torch.float64).reshape(-1)
    elif isinstance(w, Sequence) and not isinstance(w, str):
        w_t = torch.tensor([_validate.real_number(v, "w") for v in w], dtype=torch.float64)
    else:
        raise TypeError(f"w must be a sequence of numbers or a tensor, got {type(w).__name__}")
    if w_t.numel() == 0:
        raise ValueError("w must be a non-empty vector of finite numbers, got an empty one")
    w_t = _validate.no_overflow(w_t.to(dtype), f"w in {dtype}", "w is")
    if isinstance(b, Tensor | np.ndarray) and int(np.prod(b.shape)) == 1:
        b = float(b.item())  # a one-element tensor or array is accepted as a number
    b_v = _validate.real_number(b, "b")
    n = _validate.integer(n, "n", 1)
    sigma = _validate.real_number(noise_std, "noise_std", minimum=0)
    seed = _validate.seed(seed)
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(n, w_t.numel(), generator=gen, dtype=dtype)
    noise = torch.randn(n, generator=gen, dtype=dtype) * sigma
    labels = features @ w_t + b_v + noise
    return features, _validate.no_overflow(labels, f"the {dtype} labels", "w, b or noise_std is")


def data_iter(
    batch_size: int, features: Tensor, labels: Tensor, seed: int | torch.Generator = 0
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield one epoch of shuffled minibatches ``(X_batch, y_batch)``.

    A random permutation of ``range(n)`` (from a ``torch.Generator`` seeded by ``seed``, or
    the generator itself when one is passed) is cut into consecutive slices of
    ``batch_size``; every example appears exactly once, and the last batch holds
    ``n mod batch_size`` examples when ``batch_size`` does not divide ``n``. The arguments
    are checked, and the permutation drawn, when the function is called, before the first
    batch is requested.

    The cost is that of the permutation: when the first batch is requested, ``features``
    and ``labels`` are gathered once in the permuted order (one ``index_select`` each) and cut
    with ``split``: every batch is a slice of those copies, a view that costs no copy of its
    own. Batch $b$
    holds the examples ``order[b * batch_size : (b + 1) * batch_size]``, exactly as if each
    batch were gathered on its own.

    Args:
        batch_size: examples per batch ($\\ge 1$).
        features: tensor whose first dimension indexes the examples.
        labels: tensor with the same first dimension.
        seed: an int seed, or a ``torch.Generator`` to draw the permutation from (it is
            advanced; this lets a training loop draw a new order each epoch).

    Returns:
        A generator of ``(features[idx], labels[idx])`` pairs (views of the permuted
        copies; the arguments themselves are never written).

    Raises:
        TypeError: ``batch_size`` is not an int, or an argument is not a tensor.
        ValueError: ``batch_size < 1``, or features and labels differ in length.

    Example:
        >>> import torch
        >>> X = torch.arange(10.0).reshape(5, 2); y = torch.arange(5.0)
        >>> tuple(len(yb) for _, yb in data_iter(2, X, y, seed=0))
        (2, 2, 1)
    """
    batch_size = _validate.integer(batch_size, "batch_size", 1)
    features = _validate.tensor(features, "features")
    labels = _validate.tensor(labels, "labels")
    if features.dim() == 0 or labels.dim() == 0 or len(features) != len(labels):
        raise ValueError(
            "features and labels must have the same length (first dimension), got shapes "
            f"{tuple(features.shape)} and {tuple(labels.shape)}"
        )
    gen = (
        seed
        if isinstance(seed, torch.Generator)
        else torch.Generator().manual_seed(_validate.seed(seed))
    )
    order = torch.randperm(len(features), generator=gen)
    return _batches(batch_size, features, labels, order)


def _batches(
    batch_size: int, features: Tensor, labels: Tensor, order: Tensor
) -> Iterator[tuple[Tensor, Tensor]]:
    # one gather each, then views: split cuts the permuted copies in one call
    features = features.index_select(0, order).split(batch_size)
    labels = labels.index_select(0, order).split(batch_size)
    yield from zip(features, labels, strict=True)


# ------------------------------------------------------------------ the stable step size


def mse_stable_lr(x: Tensor | np.ndarray, *, half: bool = False) -> float:
    r"""Largest learning rate for which full-batch gradient descent on an affine fit converges.

    For the loss $L(w, b) = \frac{1}{n}\sum_i (x_i^\top w + b - y_i)^2$ the Hessian is
    constant, $H = \frac{2}{n} A^\top A$ with $A = [X\;\mathbf 1]$; descent
    $\theta \leftarrow \theta - \eta \nabla L$ multiplies the error along the eigenvector of
    $\lambda$ by $1 - \eta\lambda$, so it converges iff $\eta < 2/\lambda_{\max}(H)$.
    With ``half=True`` the loss carries a factor $\tfrac12$ (as in the from-scratch loop) and
    $H = \frac1n A^\top A$.

    Args:
        x: the features, shape ``(n,)`` or ``(n, d)``.
        half: whether the loss is half the mean squared error.

    Returns:
        $2 / \lambda_{\max}(H)$, computed in float64.

    Raises:
        TypeError: ``x`` is not a tensor or array.
        ValueError: ``x`` is empty, not 1-D/2-D, or not finite.

    Example:
        >>> import torch
        >>> round(mse_stable_lr(torch.tensor([1.0, -1.0])), 6)  # H = 2 I
        1.0
    """
    half = _validate.boolean(half, "half")
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor or numpy array, got {type(x).__name__}")
    a = _validate.tensor(x, "x", finite=True).detach().to("cpu", torch.float64).numpy()
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"x must have shape (n,) or (n, d) with n >= 1, got {a.shape}")
    c = 1.0 if half else 2.0
    largest = float(np.abs(a).max())
    # x^T x sums n squares: below 2^500 / sqrt(n) the sums, at most 2 n largest^2 <= 2^1001,
    # stay inside float64 (2^500 alone would let 2^23 points overflow them to inf).
    if largest <= 2.0**500 / math.sqrt(a.shape[0]):
        design = np.hstack([a, np.ones((a.shape[0], 1))])
        return float(2.0 / np.linalg.eigvalsh(c * design.T @ design / a.shape[0])[-1])
    # Entries this large would overflow x^T x. With x = 2^e s (exact, by a power of two) the
    # Hessian is 4^e c/n s^T s plus terms smaller by a factor 2^-e or more, so its largest
    # eigenvalue is 4^e lambda_max(c/n s^T s) to far better than float64's precision.
    exponent = math.frexp(largest)[1]
    s_ = np.ldexp(a, -exponent)
    lam = np.linalg.eigvalsh(c * s_.T @ s_ / a.shape[0])[-1]
    bound = float(np.ldexp(2.0 / lam, -2 * exponent))
    if bound == 0.0:
        raise ValueError(
            "x is too large: the stable learning rate 2/lambda_max underflows float64 "
            f"(largest |x| = {largest:.3g})"
        )
    return float(bound)


def _check_finite(loss: Tensor, params: Sequence[Tensor], where: str, lr: float, bound: str):
    if not bool(torch.isfinite(loss)) or not all(bool(torch.isfinite(p).all()) for p in params):
        raise DivergenceError(
            f"training diverged at {where} with lr={lr!r}: the loss became {loss.item()!r}; {bound}"
        )


# ------------------------------------------------------------------ minibatch SGD


def _minibatch_arguments(
    features: object,
    labels: object,
    batch_size: object,
    lr: object,
    num_epochs: object,
    seed: object,
    init_std: object,
) -> tuple[torch.Tensor, torch.Tensor, int, float, int, int, float]:
    """Validate the arguments shared by the two minibatch trainers."""
    features, labels = _xy(features, labels)
    # Detached: the loops differentiate with respect to the parameters only, and must not
    # write a .grad into the caller's tensors when those require grad.
    features, labels = features.detach(), labels.detach()
    return (
        features,
        labels,
        _validate.integer(batch_size, "batch_size", 1),
        _validate.learning_rate(lr, features.dtype),
        _validate.integer(num_epochs, "num_epochs", 0),
        _validate.seed(seed),
        _validate.real_number(init_std, "init_std", minimum=0),
    )


def train_linear_scratch(
    features: Tensor,
    labels: Tensor,
    *,
    batch_size: int = 10,
    lr: float = 0.03,
    num_epochs: int = 3,
    seed: int = 0,
    init_std: float = 0.01,
) -> LinearFit:
    r"""Minibatch SGD on $\hat y = Xw + b$, written out by hand.

    $w \sim \mathcal N(0, \text{init\_std}^2)$ and $b = 0$ are leaf tensors with
    ``requires_grad``. For each shuffled minibatch $B$ (from :func:`data_iter`) the loss
    $\sum_{i \in B} \tfrac12(\hat y_i - y_i)^2$ is back-propagated and, under
    ``torch.no_grad()``,

    $$\theta \leftarrow \theta - \frac{\eta}{|B|} \nabla_\theta \sum_{i\in B}
    \tfrac12 (\hat y_i - y_i)^2,$$

    then the gradients are zeroed. After each epoch the half mean squared error on all the
    data is recorded. One ``torch.Generator(seed)`` draws the initial weights and then each
    epoch's order.

    Args:
        features: shape ``(n, d)``, floating.
        labels: shape ``(n,)`` or ``(n, 1)``.
        batch_size: minibatch size ($\ge 1$).
        lr: learning rate $\eta > 0$.
        num_epochs: passes over the data ($\ge 0$).
        seed: seed of the generator.
        init_std: standard deviation of the initial weights ($\ge 0$).

    Returns:
        :class:`LinearFit` with ``w`` (shape ``(d,)``), ``b`` (shape ``()``) and the loss
        after each epoch.

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument).
        DivergenceError: the loss or a parameter became non-finite.

    Example:
        >>> X, y = synthetic_data([2.0, -3.4], 4.2, 200, seed=3)
        >>> round(train_linear_scratch(X, y, num_epochs=10).b.item(), 1)
        4.2
    """
    features, labels, batch_size, eta, num_epochs, seed, std = _minibatch_arguments(
        features, labels, batch_size, lr, num_epochs, seed, init_std
    )
    dtype = features.dtype
    gen = torch.Generator().manual_seed(seed)
    w = (torch.randn(features.shape[1], 1, generator=gen, dtype=dtype) * std).requires_grad_()
    b = torch.zeros(1, dtype=dtype, requires_grad=True)
    bound = _stable_bound_text(features, half=True)

    def half_squared(xb: Tensor, yb: Tensor) -> Tensor:
        return (xb @ w + b - yb.reshape(-1, 1)) ** 2 / 2

    losses: list[float] = []
    for epoch in range(num_epochs):
        for i, (xb, yb) in enumerate(data_iter(batch_size, features, labels, gen)):
            loss = half_squared(xb, yb).sum()
            _check_finite(loss, (w, b), f"epoch {epoch + 1}, batch {i + 1}", eta, bound)
            loss.backward()
            with torch.no_grad():
                for p in (w, b):
                    p -= eta * p.grad / len(yb)
                    p.grad.zero_()
        with torch.no_grad():
            epoch_loss = half_squared(features, labels).mean()
        _check_finite(epoch_loss, (w, b), f"the end of epoch {epoch + 1}", eta, bound)
        losses.append(epoch_loss.item())
    return LinearFit(w.detach().reshape(-1).clone(), b.detach().reshape(()).clone(), losses)


def train_linear_concise(
    features: Tensor,
    labels: Tensor,
    *,
    batch_size: int = 10,
    lr: float = 0.03,
    num_epochs: int = 3,
    seed: int = 0,
    init_std: float = 0.01,
) -> LinearFit:
    r"""Minibatch SGD on $\hat y = Xw + b$ with the ``torch.nn`` building blocks.

    ``nn.Linear(d, 1)`` initialised by ``nn.init.normal_(weight, 0, init_std)`` and
    ``nn.init.constant_(bias, 0)``; loss ``nn.MSELoss()`` (the mean of
    $(\hat y_i - y_i)^2$ over the batch, no $\tfrac12$); ``optim.SGD(lr)``; per minibatch
    ``zero_grad``, ``backward``, ``step``. After each epoch the mean squared error on all the
    data is recorded. One ``torch.Generator(seed)`` draws the initial weights and then each
    epoch's order, exactly as in :func:`train_linear_scratch`.

    Args:
        features: shape ``(n, d)``, floating.
        labels: shape ``(n,)`` or ``(n, 1)``.
        batch_size: minibatch size ($\ge 1$).
        lr: learning rate $\eta > 0$.
        num_epochs: passes over the data ($\ge 0$).
        seed: seed of the generator.
        init_std: standard deviation of the initial weights ($\ge 0$).

    Returns:
        :class:`LinearFit` with ``w`` (shape ``(d,)``), ``b`` (shape ``()``) and the loss
        after each epoch.

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument).
        DivergenceError: the loss or a parameter became non-finite.

    Example:
        >>> X, y = synthetic_data([2.0, -3.4], 4.2, 200, seed=3)
        >>> round(train_linear_concise(X, y, num_epochs=10).b.item(), 1)
        4.2
    """
    features, labels, batch_size, eta, num_epochs, seed, std = _minibatch_arguments(
        features, labels, batch_size, lr, num_epochs, seed, init_std
    )
    gen = torch.Generator().manual_seed(seed)
    # skip_init: nn.Linear's own initial draw would advance the global generator; both
    # parameters are set right below.
    net = torch.nn.utils.skip_init(nn.Linear, features.shape[1], 1, dtype=features.dtype)
    nn.init.normal_(net.weight, mean=0.0, std=std, generator=gen)
    nn.init.constant_(net.bias, 0.0)
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=eta)
    bound = _stable_bound_text(features)
    params = (net.weight, net.bias)

    losses: list[float] = []
    for epoch in range(num_epochs):
        for i, (xb, yb) in enumerate(data_iter(batch_size, features, labels, gen)):
            loss = loss_fn(net(xb), yb.reshape(-1, 1))
            _check_finite(loss, params, f"epoch {epoch + 1}, batch {i + 1}", eta, bound)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            epoch_loss = loss_fn(net(features), labels.reshape(-1, 1))
        _check_finite(epoch_loss, params, f"the end of epoch {epoch + 1}", eta, bound)
        losses.append(epoch_loss.item())
    return LinearFit(
        net.weight.detach().reshape(-1).clone(), net.bias.detach().reshape(()).clone(), losses
    )


# ------------------------------------------------------------------ two small full-batch cases


def _vector(name: str, value: Sequence[float] | Tensor, dtype: torch.dtype) -> Tensor:
    """A non-empty 1-D vector of finite numbers, as a new tensor of ``dtype``."""
    if isinstance(value, Tensor):
        t = _validate.tensor(value, name, finite=True).detach().to(dtype).clone()
    elif isinstance(value, Sequence) and not isinstance(value, str):
        t = torch.tensor([_validate.real_number(v, name) for v in value], dtype=dtype)
    else:
        raise TypeError(
            f"{name} must be a sequence of numbers or a tensor, got {type(value).__name__}"
        )
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {tuple(t.shape)}")
    return _validate.no_overflow(t, f"{name} in {dtype}", f"{name} is")


def _stable_bound_text(x: Tensor, *, half: bool = False) -> str:
    """The divergence message's hint: the full-batch stable bound, or why there is none."""
    try:
        return (
            f"the full-batch stable bound for this loss is lr < {mse_stable_lr(x, half=half):.4g}"
        )
    except ValueError as error:
        return f"no stable bound can be given ({error})"


def fit_two_points(
    epochs: int = 100,
    *,
    lr: float = 0.01,
    x: Sequence[float] | Tensor = (1.0, 2.0),
    y: Sequence[float] | Tensor = (115.0, 21.0),
    w0: Sequence[float] | Tensor = (1.0, 2.0),
    b0: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> LinearFit:
    r"""Full-batch gradient descent on $\hat y = w \odot x + b$ (one weight per point).

    The prediction is elementwise, $\hat y_i = w_i x_i + b$, the loss
    $L = \frac1m \sum_i (\hat y_i - y_i)^2$, and each epoch does one
    ``backward`` and the update $\theta \leftarrow \theta - \eta \nabla L$ under
    ``torch.no_grad()``, then zeroes the gradients. With $m$ points there are $m + 1$
    parameters, so an exact fit exists and $L \to 0$ for a stable $\eta$.

    Args:
        epochs: number of updates ($\ge 0$).
        lr: learning rate $\eta > 0$.
        x: the inputs $x_i$.
        y: the targets $y_i$ (same length as ``x``).
        w0: initial weights (same length as ``x``).
        b0: initial bias.
        dtype: floating dtype of every tensor (``float32`` as in the material).

    Returns:
        :class:`LinearFit` with the final ``w``, ``b`` and the loss computed at each epoch
        *before* that epoch's update (what a loop that prints the loss sees).

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument).
        DivergenceError: the loss or a parameter became non-finite.

    Example:
        >>> fit = fit_two_points(100)
        >>> tuple(round(v, 4) for v in fit.w.tolist()), round(fit.b.item(), 4)
        ((51.826, -9.4314), 45.1103)
    """
    epochs = _validate.integer(epochs, "epochs", 0)
    dtype = _validate.floating_dtype(dtype, "dtype")
    eta = _validate.learning_rate(lr, dtype)
    xs = _vector("x", x, dtype)
    ys = _vector("y", y, dtype)
    w = _vector("w0", w0, dtype).requires_grad_()
    if not (len(xs) == len(ys) == len(w)):
        raise ValueError(
            f"x, y and w0 must have the same length, got {len(xs)}, {len(ys)}, {len(w)}"
        )
    b = torch.tensor(_validate.real_number(b0, "b0"), dtype=torch.float64)
    b = _validate.no_overflow(b.to(dtype), f"b0 in {dtype}", "b0 is").requires_grad_()
    bound = "the stable bound is 2/lambda_max of the Hessian 2/m [diag(x) 1]^T[diag(x) 1]"
    losses: list[float] = []
    for epoch in range(epochs):
        loss = ((w * xs + b - ys) ** 2).mean()
        _check_finite(loss, (w, b), f"epoch {epoch + 1}", eta, bound)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= eta * w.grad
            b -= eta * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return LinearFit(w.detach(), b.detach(), losses)


def ten_x_data(n: int = 1000, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    r"""The data of the "ten x" exercise, as numpy makes it: float64 tensors.

    $x = 0, 0.1, \dots, 0.1(n-1)$ (``np.arange(0, n / 10, 0.1)``) and $y = 10x + 4 + u$
    with $u \sim \mathcal U[0, 1)$ from ``np.random.default_rng(seed)``.

    Args:
        n: number of points ($\ge 2$).
        seed: seed of the numpy generator.

    Returns:
        ``(x, y)``, float64 tensors of shape ``(n,)``.

    Raises:
        TypeError: ``n`` or ``seed`` is not an int.
        ValueError: ``n < 2``.

    Example:
        >>> x, y = ten_x_data(1000)
        >>> x.dtype, len(x), round(x[-1].item(), 1)
        (torch.float64, 1000, 99.9)
    """
    n = _validate.integer(n, "n", 2)
    seed = _validate.seed(seed)
    x = np.arange(n) * 0.1  # the same grid as np.arange(0, n / 10, 0.1), without drift
    y = 10.0 * x + 4.0 + np.random.default_rng(seed).random(n)
    return torch.from_numpy(x), torch.from_numpy(y)


def fit_ten_x(
    steps: int = 1000,
    *,
    lr: float = 0.0005,
    standardize: bool = False,
    seed: int = 0,
    n: int = 1000,
) -> LinearFit:
    r"""Full-batch descent on the "ten x" data, with float32 parameters $w = 7$, $b = 6$.

    Parameters are ``nn.Parameter`` float32 scalars (as in the exercise) while the data are
    float64 from numpy; the loss is ``nn.MSELoss`` and the optimizer ``optim.SGD(lr)``.

    As written ($\eta = 5\cdot 10^{-4}$, raw $x$), $\eta$ exceeds the stable bound
    $2/\lambda_{\max} \approx 3.0\cdot10^{-4}$ of the loss's Hessian (see
    :func:`mse_stable_lr`; $\lambda_{\max} \approx 2\,\overline{x^2} \approx 6658$),
    so the error along the top eigenvector grows by $|1 - \eta\lambda_{\max}| \approx 2.3$
    per step and the loop raises :class:`~reference.errors.DivergenceError` within about
    a hundred steps. With ``standardize=True`` the model is fitted on
    $z = (x - \bar x)/s_x$ (the Hessian becomes about $2I$, bound about 1) and the result is
    mapped back: $w = w_z / s_x$, $b = b_z - w_z \bar x / s_x$.

    Args:
        steps: number of updates ($\ge 0$).
        lr: learning rate $\eta > 0$.
        standardize: fit on standardized $x$ and report $w, b$ for the raw $x$.
        seed: seed of the noise (see :func:`ten_x_data`).
        n: number of points ($\ge 2$).

    Returns:
        :class:`LinearFit` with $w$, $b$ (float32, in the units of the raw $x$) and the loss
        at each step before its update.

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument).
        DivergenceError: the loss or a parameter became non-finite; the message gives the
            step, the learning rate and the stable bound.

    Example:
        >>> fit = fit_ten_x(300, lr=0.1, standardize=True)
        >>> round(fit.w.item(), 2), round(fit.b.item(), 1)
        (10.0, 4.5)
    """
    steps = _validate.integer(steps, "steps", 0)
    eta = _validate.learning_rate(lr, torch.float32)
    standardize = _validate.boolean(standardize, "standardize")
    x, y = ten_x_data(n, seed=seed)
    mean, scale = 0.0, 1.0
    if standardize:
        mean, scale = x.mean().item(), x.std(correction=0).item()
        x = (x - mean) / scale
    bound = _stable_bound_text(x)
    w = nn.Parameter(torch.tensor([7.0]))
    b = nn.Parameter(torch.tensor([6.0]))
    optimizer = torch.optim.SGD([w, b], lr=eta)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    for step in range(steps):
        loss = loss_fn(w * x + b, y)
        _check_finite(loss, (w, b), f"step {step + 1}", eta, bound)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if steps:  # the last step's update is checked too, not only the losses before it
        with torch.no_grad():
            loss = loss_fn(w * x + b, y)
        _check_finite(loss, (w, b), f"the end of step {steps}", eta, bound)
    with torch.no_grad():
        w_raw = (w / scale).reshape(())
        b_raw = (b - w * mean / scale).reshape(())
    return LinearFit(w_raw.detach().clone(), b_raw.detach().clone(), losses)


# ------------------------------------------------------------------ generalization


def least_squares_test_mse(
    n_train: int,
    true_w: Sequence[float] | Tensor,
    *,
    noise_std: float = 1.0,
    n_test: int = 1000,
    seed: int = 0,
) -> float:
    r"""Test error of the least-squares fit of a linear model, measured on fresh data.

    Draws $n$ training pairs $x \sim \mathcal N(0, I_d)$, $y = x^\top w + \varepsilon$,
    $\varepsilon \sim \mathcal N(0, \sigma^2)$ (no intercept), fits
    $\hat w = X^{+} y$ (the minimum-norm least-squares solution, float64, by
    ``numpy.linalg.lstsq``; it is the unique
    solution when $n \ge d$), then returns the mean squared error of $\hat w$ on ``n_test``
    fresh pairs from the same distribution. Its expectation over the fresh data is
    $\sigma^2 + \lVert \hat w - w \rVert^2$.

    Args:
        n_train: training examples ($\ge 1$).
        true_w: the true weights $w$ (length $d$).
        noise_std: $\sigma \ge 0$.
        n_test: fresh test examples ($\ge 1$).
        seed: seed of the ``torch.Generator`` drawing everything.

    Returns:
        The test mean squared error.

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument).

    Example:
        >>> round(least_squares_test_mse(10_000, [1.0, 2.0], noise_std=0.0), 12)
        0.0
    """
    n_train = _validate.integer(n_train, "n_train", 1)
    n_test = _validate.integer(n_test, "n_test", 1)
    w = _vector("true_w", true_w, torch.float64)
    sigma = _validate.real_number(noise_std, "noise_std", minimum=0)
    gen = torch.Generator().manual_seed(_validate.seed(seed))
    d = len(w)
    X = torch.randn(n_train, d, generator=gen, dtype=torch.float64)
    y = X @ w + sigma * torch.randn(n_train, generator=gen, dtype=torch.float64)
    _validate.no_overflow(y, "the training targets", "true_w or noise_std is")
    # numpy's lstsq (LAPACK gelsd) returns the minimum-norm solution; for these small
    # systems it is also much cheaper than an SVD-based torch.linalg.pinv on a busy machine.
    w_hat = torch.from_numpy(np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)[0])
    X_test = torch.randn(n_test, d, generator=gen, dtype=torch.float64)
    y_test = X_test @ w + sigma * torch.randn(n_test, generator=gen, dtype=torch.float64)
    mse = ((X_test @ w_hat - y_test) ** 2).mean()
    return float(
        _validate.no_overflow(mse, "the test mean squared error", "true_w or noise_std is")
    )
