r"""gradspec's own autograd engine: reverse-mode differentiation on numpy, in small modules.

It reproduces, on its own arithmetic, the PyTorch behaviours the autograd chapter's claims
describe, so that the same specs can run against it (``pytest spec_tests --backend engine``):

* :mod:`~reference.engine.tensor`: the :class:`Tensor` (values, ``requires_grad``,
  ``grad_fn``, ``.grad``, ``is_leaf``, ``detach``, ``.data``, hooks, version counter);
* :mod:`~reference.engine.ops`: the operations and their vector-Jacobian products;
* :mod:`~reference.engine.node`: the recorded nodes, saved values and their checks;
* :mod:`~reference.engine.autograd`: the backward pass, :func:`backward` and :func:`grad`;
* :mod:`~reference.engine.grad_mode`: :class:`no_grad` and friends;
* :mod:`~reference.engine.functional`: creation helpers and a fused loss;
* :mod:`~reference.engine.checks`: finite-difference checks of first and second derivatives.

Example:
    >>> from reference.engine import Tensor
    >>> w = Tensor(1.0, requires_grad=True)
    >>> loss = (w * 1.0 - 2.0) ** 2  # (w x - y)^2 at w = 1, x = 1, y = 2
    >>> loss.backward()
    >>> w.grad.item()  # 2 (w x - y) x = -2
    -2.0
"""

from reference.engine.autograd import backward, grad
from reference.engine.checks import GradcheckError, gradcheck, gradgradcheck
from reference.engine.functional import (
    binary_cross_entropy_with_logits,
    eye,
    ones,
    randn,
    tensor,
    zeros,
)
from reference.engine.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from reference.engine.node import AccumulateGrad, Node
from reference.engine.ops import cat
from reference.engine.tensor import Tensor, bool_, float32, float64, int64

__all__ = [
    "AccumulateGrad",
    "GradcheckError",
    "Node",
    "Tensor",
    "backward",
    "binary_cross_entropy_with_logits",
    "bool_",
    "cat",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "int64",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "randn",
    "set_grad_enabled",
    "tensor",
    "zeros",
]
