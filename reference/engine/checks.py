r"""Finite-difference checks of the engine's derivatives.

:func:`gradcheck` compares the Jacobian the backward pass gives with central differences of
the forward pass,

$$
\frac{\partial y_j}{\partial x_i} \approx \frac{y_j(x + \varepsilon e_i) - y_j(x - \varepsilon e_i)}
{2 \varepsilon},
$$

entry by entry, within $|a - n| \le \mathrm{atol} + \mathrm{rtol}\,|n|$. :func:`gradgradcheck`
applies the same check to the gradient itself, $x \mapsto \nabla_x (v \cdot y)$ computed with
``create_graph=True``, which checks second derivatives. Inputs must be float64.

Example:
    >>> from reference.engine import tensor, float64, gradcheck, gradgradcheck
    >>> x = tensor([0.5, 2.0], requires_grad=True, dtype=float64)
    >>> gradcheck(lambda t: (t * t).exp(), [x]) and gradgradcheck(lambda t: t**3, [x])
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reference.engine.autograd import grad
from reference.engine.grad_mode import enable_grad, no_grad
from reference.engine.tensor import Tensor, float64

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Backward-pass derivatives disagree with finite differences."""


def _outputs(value: Any) -> list[Tensor]:
    outs = list(value) if isinstance(value, tuple | list) else [value]
    for i, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TypeError(f"fn must return Tensors, output {i} is {type(t).__name__}")
    return outs


def _check_inputs(inputs: Sequence[Tensor]) -> list[Tensor]:
    xs = list(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"inputs[{i}] must be a Tensor, got {type(x).__name__}")
        if x.requires_grad and x.dtype != float64:
            raise ValueError(f"inputs[{i}] must be float64 for a finite-difference check")
    if not any(x.requires_grad for x in xs):
        raise ValueError("at least one of inputs must require grad")
    return xs


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Tensor],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True if the analytical Jacobian of ``fn`` at ``inputs`` matches central differences.

    Raises:
        GradcheckError: naming the first entry that disagrees.
    """
    xs = _check_inputs(inputs)
    outs = _outputs(fn(*xs))
    wrt = [x for x in xs if x.requires_grad]
    for k, out in enumerate(outs):
        for j in range(out.numel()):
            # Analytical row j of the Jacobian of output k: backward of the one-hot weight.
            if out.requires_grad:
                v = np.zeros(out.shape, dtype=out.dtype)
                v.flat[j] = 1.0
                rows = grad(out, wrt, Tensor._wrap(v), retain_graph=True, allow_unused=True)
            else:
                rows = (None,) * len(wrt)
            for x, row in zip(wrt, rows, strict=True):
                analytical = np.zeros(x.shape) if row is None else row._array
                for i in range(x.numel()):
                    numerical = _central_difference(fn, xs, x, i, k, j, eps)
                    a = float(analytical.flat[i])
                    if abs(a - numerical) > atol + rtol * abs(numerical):
                        raise GradcheckError(
                            f"Jacobian mismatch for output {k} entry {j} w.r.t. input entry "
                            f"{i}: backward gives {a!r}, finite differences {numerical!r}"
                        )
    return True


def _central_difference(
    fn: Callable[..., Any], xs: list[Tensor], x: Tensor, i: int, k: int, j: int, eps: float
) -> float:
    original = float(x._array.flat[i])
    values = []
    with no_grad():
        for step in (eps, -eps):
            x._array.flat[i] = original + step
            values.append(float(_outputs(fn(*xs))[k]._array.flat[j]))
        x._array.flat[i] = original
    return (values[0] - values[1]) / (2 * eps)


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Tensor],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True if the second derivatives of ``fn`` match finite differences of its gradient.

    The gradient is taken for a fixed random weight $v$ of the output (``seed``).
    """
    xs = _check_inputs(inputs)
    rng = np.random.default_rng(seed)
    weights = [
        Tensor._wrap(rng.standard_normal(out.shape).astype(out.dtype)) for out in _outputs(fn(*xs))
    ]

    def first_derivative(*args: Tensor) -> tuple[Tensor, ...]:
        with enable_grad():  # also inside the finite differences, which run under no_grad
            outs = _outputs(fn(*args))
            wrt = [a for a in args if a.requires_grad]
            grads = grad(outs, wrt, weights, create_graph=True, allow_unused=True)
        return tuple(
            g if g is not None else Tensor._wrap(np.zeros(a.shape, dtype=a.dtype))
            for g, a in zip(grads, wrt, strict=True)
        )

    return gradcheck(first_derivative, xs, eps=eps, atol=atol, rtol=rtol)
