r"""Logistic regression: the sigmoid, binary cross-entropy, the model and its training loop.

Logistic regression puts a linear model through the sigmoid,

$$p = \sigma(w^\top x + b), \qquad \sigma(z) = \frac{1}{1 + e^{-z}},$$

reads $p$ as the probability of class 1 and is trained by minimizing the mean binary
cross-entropy

$$L(p, y) = -\frac{1}{N} \sum_{i=1}^{N} \bigl[y_i \log p_i + (1 - y_i) \log (1 - p_i)\bigr].$$

The training loop :func:`train_logistic` is the five-step program of the material (data, model,
loss, optimizer, iterate) and can reproduce it bit for bit, including its missing
``optimizer.zero_grad()``.

Example:
    >>> import torch
    >>> from reference.logistic import sigmoid
    >>> sigmoid(torch.tensor([0.0])).item()
    0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from reference import _validate
from reference._rng import drawing_from
from reference.errors import DivergenceError

__all__ = [
    "LogisticRegression",
    "LogisticResult",
    "accuracy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "decision_boundary",
    "sigmoid",
    "sigmoid_derivative",
    "train_logistic",
    "two_blobs",
]

# nn.BCELoss clamps each log term at -100 so that p = 0 or p = 1 gives a large finite loss
# instead of inf; binary_cross_entropy does the same so that the two agree everywhere.
_LOG_FLOOR = -100.0


def _scores_and_labels(scores: object, y: object, name: str) -> tuple[Tensor, Tensor]:
    """A loss's inputs: ``scores`` a non-empty floating tensor, ``y`` a tensor of its shape."""
    scores = _validate.tensor(scores, name, floating=True)
    y = _validate.tensor(y, "y", finite=True)
    if scores.shape != y.shape:
        raise ValueError(
            f"{name} and y must have the same shape, got {tuple(scores.shape)} and {tuple(y.shape)}"
        )
    if scores.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    return scores, y


def _require_labels(y: Tensor, name: str) -> None:
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError(f"{name} must contain only 0 and 1")


def sigmoid(z: Tensor) -> Tensor:
    r"""The logistic function, computed without overflow.

    $$\sigma(z) = \frac{1}{1 + e^{-z}} = \frac{e^{z}}{1 + e^{z}}.$$

    The first form is used for $z \ge 0$ and the second for $z < 0$, so the exponential is
    always $\le 1$: no overflow and no NaN even at $z = \pm 1000$ (where the result
    rounds to exactly 1 or 0). Differentiable with autograd.

    Args:
        z: Floating-point tensor of any shape.

    Returns:
        $\sigma(z)$, same shape and dtype as ``z``, each entry in $[0, 1]$ (in exact
        arithmetic in the open interval $(0, 1)$).

    Raises:
        TypeError: If ``z`` is not a floating-point tensor.
        ValueError: If ``z`` has ``inf`` or ``nan`` entries.

    Example:
        >>> import torch
        >>> sigmoid(torch.tensor([-1000.0, 0.0, 1000.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    z = _validate.tensor(z, "z", floating=True, finite=True)
    positive = z >= 0
    # Each branch gets an argument that keeps its exponential <= 1 (0 where the branch is not
    # used), so neither branch overflows and autograd sees finite values in both; using
    # exp(-|z|) instead would give the wrong slope 0 at z = 0, where |z| has no derivative.
    z_pos = torch.where(positive, z, torch.zeros_like(z))
    z_neg = torch.where(positive, torch.zeros_like(z), z)
    e_neg = torch.exp(z_neg)
    return torch.where(positive, 1.0 / (1.0 + torch.exp(-z_pos)), e_neg / (1.0 + e_neg))


def sigmoid_derivative(z: Tensor) -> Tensor:
    r"""The derivative of the sigmoid, $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$.

    This product $p(1 - p)$ is what the material calls "cross entropy"; it is not a loss but
    the slope of the sigmoid (and the variance of a Bernoulli variable with mean $p$).

    Args:
        z: Floating-point tensor of any shape.

    Returns:
        $\sigma(z)(1 - \sigma(z))$, same shape as ``z``, in $[0, 1/4]$.

    Raises:
        TypeError: If ``z`` is not a floating-point tensor.
        ValueError: If ``z`` has ``inf`` or ``nan`` entries.

    Example:
        >>> import torch
        >>> sigmoid_derivative(torch.tensor([0.0])).item()
        0.25
    """
    p = sigmoid(z)
    return p * (1.0 - p)


def binary_cross_entropy(p: Tensor, y: Tensor) -> Tensor:
    r"""Mean binary cross-entropy of probabilities ``p`` against labels ``y``.

    $$L = -\frac{1}{N} \sum_i \bigl[y_i \log p_i + (1 - y_i) \log(1 - p_i)\bigr]$$

    Each log is clamped at $-100$, as :class:`torch.nn.BCELoss` does, so $p_i \in \{0, 1\}$
    gives a finite loss. A term whose label weight is 0 contributes 0 (``torch.xlogy``).

    Args:
        p: Probabilities, floating-point tensor with entries in $[0, 1]$.
        y: Labels of the same shape as ``p``, entries 0 or 1 (any numeric dtype).

    Returns:
        A 0-d tensor, the mean over all entries.

    Raises:
        TypeError: If ``p`` or ``y`` is not a tensor, or ``p`` is not floating point.
        ValueError: If the shapes differ, ``p`` is empty, ``p`` has an entry outside
            $[0, 1]$ (or NaN), or ``y`` has an entry other than 0 and 1.

    Example:
        >>> import torch
        >>> round(binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.0])).item(), 4)
        0.6931
    """
    p, y = _scores_and_labels(p, y, "p")
    if not bool(((p >= 0) & (p <= 1)).all()):  # false for nan too
        raise ValueError("p must contain probabilities in [0, 1]")
    _require_labels(y, "y")
    y = y.to(p.dtype)
    log_p = torch.clamp(torch.log(p), min=_LOG_FLOOR)
    log_q = torch.clamp(torch.log1p(-p), min=_LOG_FLOOR)
    return -(y * log_p + (1.0 - y) * log_q).mean()


def binary_cross_entropy_with_logits(z: Tensor, y: Tensor) -> Tensor:
    r"""Mean binary cross-entropy of $\sigma(z)$ against ``y``, computed from the logits.

    Writing the loss in terms of $z$ avoids forming $\sigma(z)$:

    $$\ell(z, y) = \max(z, 0) - z\,y + \log\bigl(1 + e^{-|z|}\bigr),$$

    (evaluated branch by branch, $z \ge 0$ and $z < 0$, so that its slope is right at 0 too)

    which equals $-[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))]$ exactly and never
    overflows. Its derivative is $\partial \ell / \partial z = \sigma(z) - y$.

    Args:
        z: Logits, floating-point tensor of finite values.
        y: Labels of the same shape as ``z``, entries 0 or 1.

    Returns:
        A 0-d tensor, the mean over all entries.

    Raises:
        TypeError: If ``z`` or ``y`` is not a tensor, or ``z`` is not floating point.
        ValueError: If the shapes differ, ``z`` is empty or not finite, or ``y`` has an
            entry other than 0 and 1.

    Example:
        >>> import torch
        >>> z, y = torch.tensor([0.0]), torch.tensor([1.0])
        >>> round(binary_cross_entropy_with_logits(z, y).item(), 4)
        0.6931
    """
    z, y = _scores_and_labels(z, y, "z")
    if not bool(torch.isfinite(z).all()):
        raise ValueError("z must be finite (no inf or nan)")
    _require_labels(y, "y")
    y = y.to(z.dtype)
    positive = z >= 0
    # Same branch trick as in sigmoid: for z >= 0 use z (1 - y) + log(1 + e^-z), for z < 0
    # use -z y + log(1 + e^z); both exponentials stay <= 1 and the slope is sigma(z) - y
    # everywhere, z = 0 included.
    z_pos = torch.where(positive, z, torch.zeros_like(z))
    z_neg = torch.where(positive, torch.zeros_like(z), z)
    loss_pos = z_pos * (1.0 - y) + torch.log1p(torch.exp(-z_pos))
    loss_neg = -z_neg * y + torch.log1p(torch.exp(z_neg))
    return torch.where(positive, loss_pos, loss_neg).mean()


def accuracy(p: Tensor, y: Tensor, threshold: float = 0.5) -> float:
    r"""Fraction of samples classified right when $p \ge$ ``threshold`` means class 1.

    $$\text{acc} = \frac{1}{N} \sum_i [\,\mathbb{1}(p_i \ge t) = y_i\,]$$

    Args:
        p: Probabilities, shape [N] or [N, 1].
        y: Labels 0/1, shape [N].
        threshold: The cut $t$ (0.5 in the material).

    Returns:
        The accuracy, a Python float in $[0, 1]$.

    Raises:
        TypeError: If ``p`` or ``y`` is not a real tensor, or ``threshold`` not a number.
        ValueError: If the shapes differ (``p`` may be ``[N, 1]`` for ``y`` of shape
            ``[N]``), there are no samples, ``p`` is not finite, ``y`` has an entry other
            than 0 and 1, or ``threshold`` is outside $[0, 1]$.

    Example:
        >>> import torch
        >>> accuracy(torch.tensor([0.2, 0.7]), torch.tensor([0.0, 0.0]))
        0.5
    """
    p = _validate.tensor(p, "p", finite=True)
    y = _validate.tensor(y, "y", allow_bool=True)
    threshold = _validate.real_number(threshold, "threshold")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    if p.numel() == 0:
        raise ValueError("p must hold at least one sample")
    if p.shape != y.shape and not (p.dim() == 2 and p.shape[1] == 1 and y.shape == p.shape[:1]):
        raise ValueError(
            f"p and y must have the same shape ([N], or p [N, 1] with y [N]), "
            f"got {tuple(p.shape)} and {tuple(y.shape)}"
        )
    _require_labels(y, "y")
    predicted = p.reshape(-1) >= threshold
    return (predicted == y.reshape(-1).bool()).sum().item() / y.numel()


def _draw_blobs(
    n_per_class: int, mean_value: float, bias: float, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """The two random draws of the material, in its order: class 0 first, then class 1."""
    ones = torch.ones(n_per_class, 2)
    x0 = torch.normal(mean_value * ones, 1.0, generator=generator) + bias
    x1 = torch.normal(-mean_value * ones, 1.0, generator=generator) + bias
    return x0, x1


def two_blobs(
    n_per_class: int = 100, mean_value: float = 1.7, bias: float = 1.0, seed: int = 10
) -> tuple[Tensor, Tensor]:
    r"""The two Gaussian blobs of the logistic-regression program.

    Class 0 is drawn from $\mathcal{N}(m\,\mathbf{1}, I) + c$ and class 1 from
    $\mathcal{N}(-m\,\mathbf{1}, I) + c$ (same $c$ on both coordinates), $m$ = ``mean_value``,
    $c$ = ``bias``. The draws come from a private generator seeded with ``seed`` in the same
    order as the material (class 0, then class 1), so the values equal those of
    ``torch.manual_seed(seed)`` followed by the material's two ``torch.normal`` calls; the
    global random state is not touched.

    Args:
        n_per_class: Samples per class ($n \ge 1$).
        mean_value: $m$, distance of each class centre from $c$ along each axis.
        bias: $c$, shift added to both coordinates of every sample.
        seed: Seed of the generator.

    Returns:
        ``(x, y)``: ``x`` float32 of shape [2n, 2] (class 0 rows first), ``y`` float32 of
        shape [2n] with n zeros then n ones.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``n_per_class`` < 1 or a number is not finite.

    Example:
        >>> x, y = two_blobs()
        >>> tuple(x.shape), tuple(y.shape), int(y.sum())
        ((200, 2), (200,), 100)
    """
    n = _validate.integer(n_per_class, "n_per_class", 1)
    mean_value = _validate.real_number(mean_value, "mean_value")
    bias = _validate.real_number(bias, "bias")
    seed = _validate.seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x0, x1 = _draw_blobs(n, mean_value, bias, generator)
    x = _validate.no_overflow(torch.cat((x0, x1), 0), "the float32 points", "mean_value or bias is")
    y = torch.cat((torch.zeros(n), torch.ones(n)), 0)
    return x, y


class LogisticRegression(nn.Module):
    r"""$p = \sigma(w^\top x + b)$: an :class:`torch.nn.Linear` followed by a sigmoid.

    It has exactly the parameters of linear regression on the same inputs: a weight of shape
    [1, in_features] and a bias of shape [1]. The output has shape [batch, 1].

    Args:
        in_features: Number of input features (2 for the two blobs).
        seed: an int seed, or a ``torch.Generator`` (which advances), for the initial
            parameters. They are drawn exactly as ``nn.Linear`` draws them, with the numbers
            ``torch.manual_seed(seed)`` followed by ``nn.Linear(in_features, 1)`` would give;
            the global random state is not touched.

    Raises:
        TypeError: If ``in_features`` or ``seed`` is not an int.
        ValueError: If ``in_features`` < 1, or ``seed`` is outside ``[0, 2**63)``.

    Example:
        >>> import torch
        >>> model = LogisticRegression()
        >>> model(torch.zeros(3, 2)).shape
        torch.Size([3, 1])
    """

    def __init__(self, in_features: int = 2, *, seed: int | torch.Generator = 0) -> None:
        super().__init__()
        self.in_features = _validate.integer(in_features, "in_features", 1)
        generator = (
            seed
            if isinstance(seed, torch.Generator)
            else torch.Generator().manual_seed(_validate.seed(seed))
        )
        with drawing_from(generator):  # nn.Linear's own initialisation, from our generator
            self.linear = nn.Linear(self.in_features, 1)
        # nn.Sigmoid rather than reference.logistic.sigmoid: the training loop must reproduce
        # the material's program bit for bit, and that program uses torch's sigmoid kernel.
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        """Probabilities of class 1, shape [batch, 1], for ``x`` of shape [batch, in_features]."""
        x = _validate.tensor(x, "x", floating=True)
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x must have shape [batch, {self.in_features}], got {tuple(x.shape)}")
        return self.sigmoid(self.linear(x))


@dataclass(frozen=True)
class LogisticResult:
    """What :func:`train_logistic` returns.

    Attributes:
        iterations: Loop iterations run (each one forward, backward and optimizer step).
        stop_iteration: 0-based index of the iteration whose accuracy check passed (the
            number the material prints as "Iteration"), or ``None`` if it never passed.
        converged: ``stop_iteration is not None``.
        accuracy: Accuracy seen by the last iteration run (of the predictions made before
            its optimizer step, as in the material).
        loss: Loss of the last iteration run (before its step).
        weight: Final weight, shape [in_features] (after the last step).
        bias: Final bias, 0-d tensor.
        initial_weight: Weight before training, shape [in_features].
        initial_bias: Bias before training, 0-d tensor.
        loss_history: Loss of every iteration, shape [iterations].
        accuracy_history: Accuracy of every iteration (before its step), shape [iterations].
        grad_norm_history: Euclidean norm of the gradient that each step used (all
            parameters together), shape [iterations]. Without ``zero_grad`` this is the
            norm of the running sum of all gradients so far.
    """

    iterations: int
    stop_iteration: int | None
    converged: bool
    accuracy: float
    loss: float
    weight: Tensor
    bias: Tensor
    initial_weight: Tensor
    initial_bias: Tensor
    loss_history: Tensor
    accuracy_history: Tensor
    grad_norm_history: Tensor


def train_logistic(
    x: Tensor,
    y: Tensor,
    lr: float = 0.01,
    momentum: float = 0.9,
    max_iters: int = 1000,
    target_accuracy: float = 0.99,
    zero_grad: bool = True,
    check_every: int = 1,
    seed: int = 10,
) -> LogisticResult:
    r"""Train :class:`LogisticRegression` with ``nn.BCELoss`` and SGD with momentum.

    The five steps: (1) the data ``x``, ``y``; (2) the model $\sigma(w^\top x + b)$; (3) the
    loss ``nn.BCELoss``; (4) ``torch.optim.SGD(lr, momentum)``; (5) iterate: forward, loss,
    (``zero_grad``), backward, step; on every ``check_every``-th iteration (index
    $i \equiv 0 \bmod$ ``check_every``) stop if the accuracy of this iteration's predictions
    exceeds ``target_accuracy``.

    Initialization follows the material's program: it seeds the global generator with
    ``seed``, draws the data (here the draws of :func:`two_blobs` for
    ``max(len(x) // 2, 1)`` samples per class are replayed and discarded) and only then
    builds ``nn.Linear``, so the initial weights are the ones that program gets. All of
    these draws come from a private ``torch.Generator`` in the same state as the program's
    global one, so the caller's global random state is left untouched.

    With ``zero_grad=False`` the gradient is never cleared, so step $t$ uses
    $\sum_{s \le t} \nabla L_s$ (then momentum on top of that);
    ``zero_grad=False, check_every=990`` is the material's loop exactly.

    Args:
        x: Inputs, floating-point tensor [N, d], $N \ge 1$.
        y: Labels [N], entries 0 or 1.
        lr: Learning rate (> 0).
        momentum: Momentum factor in $[0, 1)$.
        max_iters: Maximum number of iterations ($\ge 1$).
        target_accuracy: Stop when the checked accuracy is strictly greater than this.
        zero_grad: Clear the gradients before each backward pass.
        check_every: Check the accuracy every this many iterations ($\ge 1$).
        seed: Seed of the program (data draws and model initialization).

    Returns:
        A :class:`LogisticResult`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a shape or a value is out of range.
        DivergenceError: If the loss or a parameter becomes non-finite.

    Example:
        >>> x, y = two_blobs()
        >>> result = train_logistic(x, y)
        >>> result.converged, result.accuracy > 0.99
        (True, True)
    """
    x = _validate.tensor(x, "x", floating=True)
    if x.dim() != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must have shape [N, d] with N, d >= 1, got {tuple(x.shape)}")
    y = _validate.tensor(y, "y")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape [{x.shape[0]}] to match x, got {tuple(y.shape)}")
    _require_labels(y, "y")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite (no inf or nan)")
    lr = _validate.learning_rate(lr, x.dtype)
    momentum = _validate.real_number(momentum, "momentum")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    max_iters = _validate.integer(max_iters, "max_iters", 1)
    target_accuracy = _validate.real_number(target_accuracy, "target_accuracy")
    if not 0 <= target_accuracy <= 1:
        raise ValueError(f"target_accuracy must be in [0, 1], got {target_accuracy}")
    zero_grad = _validate.boolean(zero_grad, "zero_grad")
    check_every = _validate.integer(check_every, "check_every", 1)
    seed = _validate.seed(seed)

    # Detached: only the model's parameters get gradients, never the caller's x or y.
    x, y = x.detach(), y.detach().to(x.dtype)
    generator = torch.Generator().manual_seed(seed)
    _draw_blobs(max(x.shape[0] // 2, 1), 0.0, 0.0, generator)  # replay the data draws
    model = LogisticRegression(x.shape[1], seed=generator).to(x.dtype)
    initial_weight = model.linear.weight.detach()[0].clone()
    initial_bias = model.linear.bias.detach()[0].clone()

    loss_fn = nn.BCELoss()
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)
    is_class_1 = y.bool()
    n = y.numel()
    losses: list[Tensor] = []
    accuracies: list[float] = []
    grad_norms: list[Tensor] = []
    stop_iteration: int | None = None
    for iteration in range(max_iters):
        p = model(x)
        # The loss cannot catch a divergence (nn.BCELoss clamps its logs), the output can.
        if not bool(torch.isfinite(p).all()):
            raise DivergenceError(
                f"logistic regression diverged at iteration {iteration} (lr={lr}, "
                f"momentum={momentum}, zero_grad={zero_grad}): the model output is not finite"
            )
        loss = loss_fn(p.squeeze(1), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        # accuracy of this iteration's predictions (threshold 0.5), as the material measures it
        acc = int((p.detach().squeeze(1).ge(0.5) == is_class_1).sum()) / n
        accuracies.append(acc)
        losses.append(loss.detach())
        grad_norms.append(torch.cat([param.grad.reshape(-1) for param in params]).norm())
        if iteration % check_every == 0 and acc > target_accuracy:
            stop_iteration = iteration
            break
    if not all(bool(torch.isfinite(param).all()) for param in params):
        raise DivergenceError(
            f"logistic regression diverged in its last step (lr={lr}, momentum={momentum}, "
            f"zero_grad={zero_grad}): the weights are not finite"
        )
    loss_history = torch.stack(losses).to(torch.float64)
    grad_norm_history = torch.stack(grad_norms).to(torch.float64)

    return LogisticResult(
        iterations=len(losses),
        stop_iteration=stop_iteration,
        converged=stop_iteration is not None,
        accuracy=accuracies[-1],
        loss=float(loss_history[-1]),
        weight=model.linear.weight.detach()[0].clone(),
        bias=model.linear.bias.detach()[0].clone(),
        initial_weight=initial_weight,
        initial_bias=initial_bias,
        loss_history=loss_history,
        accuracy_history=torch.tensor(accuracies, dtype=torch.float64),
        grad_norm_history=grad_norm_history,
    )


def decision_boundary(weight: Tensor, bias: Tensor | float, xs: Tensor) -> Tensor:
    r"""Points $(x, y)$ on the decision boundary of a 2-feature logistic model.

    The model says $p = 0.5$ exactly where $w_0 x + w_1 y + b = 0$, so

    $$y = \frac{-w_0 x - b}{w_1}, \qquad w_1 \ne 0.$$

    Args:
        weight: The two weights $(w_0, w_1)$, shape [2] or [1, 2].
        bias: $b$, a float or a tensor with one element.
        xs: Floating-point tensor of first coordinates, any shape.

    Returns:
        The second coordinate on the boundary for each entry of ``xs`` (same shape).

    Raises:
        TypeError: If ``weight`` or ``xs`` is not a floating-point tensor, or ``bias`` is
            neither a real number nor a one-element tensor.
        ValueError: If an argument is not finite, ``weight`` does not hold two numbers,
            ``bias`` not one, the boundary overflows, or $w_1 = 0$ (the boundary is the
            vertical line $x = -b / w_0$, not a function of $x$).

    Example:
        >>> import torch
        >>> decision_boundary(torch.tensor([1.0, 1.0]), 0.0, torch.tensor([2.0]))
        tensor([-2.])
    """
    weight = _validate.tensor(weight, "weight", floating=True, finite=True)
    xs = _validate.tensor(xs, "xs", floating=True, finite=True)
    if weight.numel() != 2 or weight.dim() not in (1, 2):
        raise ValueError(
            f"weight must hold two numbers (shape [2] or [1, 2]), got {tuple(weight.shape)}"
        )
    w0, w1 = weight.reshape(-1).to(xs.dtype)
    if isinstance(bias, Tensor) and bias.numel() != 1:
        raise ValueError(f"bias must hold one number, got shape {tuple(bias.shape)}")
    b = torch.tensor(_validate.real_number(bias, "bias", allow_tensor=True), dtype=xs.dtype)
    if w1 == 0:
        raise ValueError("weight[1] is 0: the decision boundary is vertical (x = -b / w0)")
    return _validate.no_overflow(
        (-w0 * xs - b) / w1, "the boundary", "weight[0] / weight[1], xs or bias is"
    )
