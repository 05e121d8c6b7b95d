r"""Gradient descent on a scalar function, and the learning-rate regimes of a parabola.

Gradient descent moves against the derivative:

$$x_{t+1} = x_t - \eta\, f'(x_t),$$

with learning rate $\eta > 0$. On the parabola $f(x) = \tfrac{c}{2} x^2$ (curvature $c > 0$,
so $f'(x) = c x$) one step multiplies $x$ by a constant factor,

$$x_{t+1} = (1 - \eta c)\, x_t, \qquad x_t = (1 - \eta c)^t\, x_0,$$

and the sign and size of $r = 1 - \eta c$ decide everything (see :func:`quadratic_regime`).

Example:
    >>> from reference.descent import descend, quadratic_regime
    >>> tuple(descend(lambda x: 2 * x, 5.0, 0.1, 3))
    (5.0, 4.0, 3.2, 2.56)
    >>> quadratic_regime(0.1)
    'monotone'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

import torch

from reference import _validate
from reference.errors import DivergenceError

__all__ = ["REGIMES", "descend", "quadratic_regime"]

#: The five behaviours of gradient descent on a parabola, in order of growing learning rate.
REGIMES: tuple[str, ...] = ("monotone", "one-step", "oscillating", "cycling", "divergent")


def descend(
    grad: Callable[[Any], Any],
    x0: float,
    lr: float,
    steps: int,
    *,
    dtype: torch.dtype | None = None,
) -> list[float]:
    r"""Run plain gradient descent on a scalar function, given its derivative.

    Computes $x_{t+1} = x_t - \eta\, g(x_t)$ for $t = 0, \dots, \text{steps} - 1$, where
    $g$ is ``grad`` and $\eta$ is ``lr``.

    Args:
        grad: the derivative $f'$ of the function to minimise; called with the current
            iterate (a Python ``float``, or a 0-d tensor when ``dtype`` is given).
        x0: the starting point $x_0$ (a number, or a one-element tensor).
        lr: the learning rate $\eta > 0$.
        steps: how many updates to make (0 returns ``[x0]``).
        dtype: ``None`` (the default) iterates in Python floats, i.e. IEEE double precision;
            a floating torch dtype (e.g. ``torch.float32``) iterates on 0-d tensors of that
            dtype, so every operation is rounded to that precision.

    Returns:
        The iterates ``[x0, x1, ..., x_steps]`` as Python floats (``steps + 1`` values).

    Raises:
        TypeError: ``grad`` is not callable, a number argument is not a real number,
            ``steps`` is not an int, ``dtype`` is not a floating torch dtype, or ``grad``
            returns something that is not a real number.
        ValueError: ``x0`` is not finite, ``lr`` is not a finite number > 0, or ``steps < 0``.
        DivergenceError: an iterate or a derivative became ``inf`` or ``nan``.

    Example:
        >>> tuple(descend(lambda x: 2 * x, 1.0, 0.5, 2))
        (1.0, 0.0, 0.0)
    """
    if not callable(grad):
        raise TypeError(f"grad must be callable (the derivative f'), got {type(grad).__name__}")
    x = _validate.real_number(x0, "x0", allow_tensor=True)
    eta = _validate.positive_finite(lr, "lr", allow_tensor=True)
    steps = _validate.integer(steps, "steps", 0)
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise TypeError(f"dtype must be None or a floating torch dtype, got {dtype!r}")

    if dtype is None:
        path = [x]
        for t in range(steps):
            try:
                g = _validate.real_number(
                    grad(x), "the value returned by grad", finite=False, allow_tensor=True
                )
            except TypeError as error:
                raise TypeError(f"grad must return a real number ({error})") from None
            x = x - eta * g
            if not (math.isfinite(x) and math.isfinite(g)):
                raise DivergenceError(
                    f"gradient descent diverged at step {t + 1} with lr={eta!r}: "
                    f"x became {x!r} (derivative {g!r})"
                )
            path.append(x)
        return path

    xt = torch.tensor(x, dtype=dtype)
    path = [xt.item()]
    for t in range(steps):
        g = grad(xt)
        if not isinstance(g, torch.Tensor):
            if isinstance(g, bool) or not isinstance(g, Real):
                raise TypeError(f"grad must return a real number, got {type(g).__name__}")
            g = torch.tensor(float(g), dtype=dtype)
        xt = (xt - eta * g.to(dtype)).reshape(())
        if not bool(torch.isfinite(xt)):
            raise DivergenceError(
                f"gradient descent diverged at step {t + 1} with lr={eta!r} in {dtype}: "
                f"x became {xt.item()!r}"
            )
        path.append(xt.item())
    return path


def quadratic_regime(lr: float, curvature: float = 2.0) -> str:
    r"""Name what gradient descent does on $f(x) = \tfrac{c}{2}x^2$ with learning rate $\eta$.

    One step gives $x_{t+1} = r\,x_t$ with $r = 1 - \eta c$, hence $x_t = r^t x_0$ and
    $f(x_t) = r^{2t} f(x_0)$. With $p = \eta c$:

    | $p = \eta c$ | $r$ | regime | what the iterates do |
    |---|---|---|---|
    | $0 < p < 1$ | $0 < r < 1$ | ``"monotone"`` | shrink towards 0 without changing sign |
    | $p = 1$ | $r = 0$ | ``"one-step"`` | land exactly on the minimum after one step |
    | $1 < p < 2$ | $-1 < r < 0$ | ``"oscillating"`` | flip sign every step while shrinking |
    | $p = 2$ | $r = -1$ | ``"cycling"`` | alternate $x_0, -x_0, x_0, \dots$ forever |
    | $p > 2$ | $r < -1$ | ``"divergent"`` | flip sign and grow without bound |

    So descent converges exactly when $\eta < 2/c$. In every regime $f(x_t)$ itself is
    monotone in $t$ (it is $r^{2t} f(x_0)$): on a parabola only $x$ can oscillate.
    The comparison is made on the floating-point product ``lr * curvature``.

    Args:
        lr: the learning rate $\eta > 0$.
        curvature: $c = f''(x) > 0$ (the default 2 is $f(x) = x^2$).

    Returns:
        One of :data:`REGIMES`.

    Raises:
        TypeError: ``lr`` or ``curvature`` is not a real number.
        ValueError: ``lr`` or ``curvature`` is not a finite number > 0.

    Example:
        >>> tuple(quadratic_regime(lr) for lr in (0.1, 0.5, 0.6, 1.0, 1.1))
        ('monotone', 'one-step', 'oscillating', 'cycling', 'divergent')
    """
    eta = _validate.positive_finite(lr, "lr", allow_tensor=True)
    c = _validate.positive_finite(curvature, "curvature", allow_tensor=True)
    p = eta * c
    if p < 1.0:
        return "monotone"
    if p == 1.0:
        return "one-step"
    if p < 2.0:
        return "oscillating"
    if p == 2.0:
        return "cycling"
    return "divergent"
