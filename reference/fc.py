r"""The fully connected layer: forward pass, hand-written backward pass, and its conv twin.

A fully connected layer with weight $W \in \mathbb{R}^{n_{in} \times n_{out}}$ and bias
$b \in \mathbb{R}^{n_{out}}$ maps a row of inputs $x$ to

$$y = x W + b, \qquad y_j = \sum_{i} x_i W_{ij} + b_j,$$

so every output is a weighted sum of every input (for a single column vector this is the
material's $y = W^\top x + b$). For a batch $X \in \mathbb{R}^{B \times n_{in}}$ and the
upstream gradient $G = \partial L / \partial Y \in \mathbb{R}^{B \times n_{out}}$ the
backward pass needs three partial derivatives:

$$\frac{\partial L}{\partial X} = G W^\top, \qquad
  \frac{\partial L}{\partial W} = X^\top G, \qquad
  \frac{\partial L}{\partial b} = \sum_{k=1}^{B} G_{k,:}.$$

Example:
    >>> import torch
    >>> layer = FullyConnected(3, 2, seed=0)
    >>> layer(torch.ones(3)).shape
    torch.Size([2])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from reference import _validate

__all__ = [
    "FullyConnected",
    "FullyConnectedFunction",
    "fc_backward",
    "fully_connected",
    "linear_to_conv2d",
]


def fc_backward(x: Tensor, w: Tensor, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""The three gradients of a fully connected layer $Y = XW + b$, written out.

    With $G = \partial L / \partial Y$, and $Y_{kj} = \sum_i X_{ki} W_{ij} + b_j$:

    $$\frac{\partial L}{\partial X_{ki}} = \sum_j G_{kj} W_{ij} \;\Rightarrow\; G W^\top,
    \qquad
    \frac{\partial L}{\partial W_{ij}} = \sum_k X_{ki} G_{kj} \;\Rightarrow\; X^\top G,
    \qquad
    \frac{\partial L}{\partial b_j} = \sum_k G_{kj}.$$

    The first is passed on to the previous layer; the other two update the layer.

    Args:
        x: Layer input, shape [batch, in].
        w: Weight, shape [in, out].
        grad_out: $\partial L / \partial Y$, shape [batch, out].

    Returns:
        ``(grad_x, grad_w, grad_b)`` of shapes [batch, in], [in, out] and [out].

    Raises:
        TypeError: If an argument is not a floating-point tensor, or the dtypes differ.
        ValueError: If an argument is not 2-D or not finite, the shapes do not fit
            together, or a gradient overflows.

    Example:
        >>> import torch
        >>> gx, gw, gb = fc_backward(torch.ones(4, 3), torch.ones(3, 2), torch.ones(4, 2))
        >>> tuple(gx.shape), tuple(gw.shape), gb.tolist()
        ((4, 3), (3, 2), [4.0, 4.0])
    """
    x = _validate.tensor(x, "x", floating=True, finite=True)
    w = _validate.tensor(w, "w", floating=True, finite=True)
    grad_out = _validate.tensor(grad_out, "grad_out", floating=True, finite=True)
    for name, value in (("x", x), ("w", w), ("grad_out", grad_out)):
        if value.dim() != 2:
            raise ValueError(f"{name} must be 2-D, got shape {tuple(value.shape)}")
    if not x.dtype == w.dtype == grad_out.dtype:
        raise TypeError(
            f"x, w and grad_out must share a dtype, got {x.dtype}, {w.dtype}, {grad_out.dtype}"
        )
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features but w expects {w.shape[0]} (w must be [in, out])"
        )
    if grad_out.shape != (x.shape[0], w.shape[1]):
        raise ValueError(
            f"grad_out must have shape [{x.shape[0]}, {w.shape[1]}] (batch, out), "
            f"got {tuple(grad_out.shape)}"
        )
    grad_x = _validate.no_overflow(grad_out @ w.T, "grad_x", "grad_out or w is")
    grad_w = _validate.no_overflow(x.T @ grad_out, "grad_w", "x or grad_out is")
    grad_b = _validate.no_overflow(grad_out.sum(dim=0), "grad_b", "grad_out is")
    return grad_x, grad_w, grad_b


class FullyConnectedFunction(torch.autograd.Function):
    r"""$Y = XW + b$ as an autograd function whose backward is :func:`fc_backward`.

    Use it through :func:`fully_connected`; it lets ``torch.autograd.gradcheck`` compare
    the hand-written gradients with finite differences.

    Example:
        >>> import torch
        >>> x = torch.ones(1, 2, requires_grad=True)
        >>> FullyConnectedFunction.apply(x, torch.ones(2, 1), torch.zeros(1)).sum().backward()
        >>> x.grad
        tensor([[1., 1.]])
    """

    @staticmethod
    def forward(x: Tensor, w: Tensor, b: Tensor) -> Tensor:  # type: ignore[override]
        """$Y = XW + b$ for ``x`` [batch, in], ``w`` [in, out], ``b`` [out]."""
        x, w, b = _check_layer(x, w, b)
        if x.dim() != 2:
            raise ValueError(f"x must be 2-D [batch, in], got shape {tuple(x.shape)}")
        return _validate.no_overflow(x @ w + b, "x @ w + b", "x, w or b is")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor, Tensor, Tensor], output: Tensor) -> None:
        """Keep ``x`` and ``w`` for the backward pass."""
        x, w, _ = inputs
        ctx.save_for_backward(x, w)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        """The three gradients from :func:`fc_backward`."""
        x, w = ctx.saved_tensors
        return fc_backward(x, w, grad_out)


def _check_layer(x: object, w: object, b: object) -> tuple[Tensor, Tensor, Tensor]:
    """The checks of a layer's three inputs: finite floating tensors whose shapes fit."""
    x = _validate.tensor(x, "x", floating=True, finite=True)
    w = _validate.tensor(w, "w", floating=True, finite=True)
    b = _validate.tensor(b, "b", floating=True, finite=True)
    if w.dim() != 2:
        raise ValueError(f"w must be 2-D [in, out], got shape {tuple(w.shape)}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape [{w.shape[1]}], got {tuple(b.shape)}")
    if x.dim() < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x must have shape [..., {w.shape[0]}] (last dim = in_features), got {tuple(x.shape)}"
        )
    if not x.dtype == w.dtype == b.dtype:
        raise TypeError(f"x, w and b must share a dtype, got {x.dtype}, {w.dtype}, {b.dtype}")
    return x, w, b


def fully_connected(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    r"""Apply $y = x W + b$ along the last dimension of ``x``, with the hand-written backward.

    A single sample ``x`` of shape [in] gives the material's $y = W^\top x + b$ of shape
    [out]; any leading dimensions ([batch, in], [..., in]) are kept.

    Args:
        x: Input, shape [..., in] (at least 1-D).
        w: Weight, shape [in, out].
        b: Bias, shape [out].

    Returns:
        Output of shape [..., out].

    Raises:
        TypeError: If an argument is not a floating-point tensor, or the dtypes differ.
        ValueError: If an argument is not finite, or the shapes do not fit together.

    Example:
        >>> import torch
        >>> fully_connected(torch.ones(3), torch.ones(3, 2), torch.zeros(2))
        tensor([3., 3.])
    """
    x, w, b = _check_layer(x, w, b)
    rows = x.reshape(-1, w.shape[0])
    out = FullyConnectedFunction.apply(rows, w, b)
    return out.reshape(*x.shape[:-1], w.shape[1])


class FullyConnected(nn.Module):
    r"""A fully connected layer storing $W$ as [in, out] (the material's layout).

    Parameters ``w`` [in_features, out_features] and ``b`` [out_features] are drawn from the
    standard normal distribution, as in the material. Note that :class:`torch.nn.Linear`
    stores its weight transposed, as [out, in]: ``FullyConnected.w`` equals
    ``nn.Linear.weight.T``. The forward pass is :func:`fully_connected`.

    Args:
        in_features: Inputs per sample ($\ge 1$).
        out_features: Outputs per sample ($\ge 1$).
        seed: Seed of a private generator for the initial values (the global random
            state is never used, so two layers made with one seed are equal).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a size is < 1 or the seed is outside ``[0, 2**63)``.

    Example:
        >>> import torch
        >>> layer = FullyConnected(3, 2, seed=0)
        >>> tuple(layer.w.shape), tuple(layer.b.shape), tuple(layer(torch.ones(5, 3)).shape)
        ((3, 2), (2,), (5, 2))
    """

    def __init__(self, in_features: int, out_features: int, seed: int = 0) -> None:
        super().__init__()
        self.in_features = _validate.integer(in_features, "in_features", 1)
        self.out_features = _validate.integer(out_features, "out_features", 1)
        generator = torch.Generator().manual_seed(_validate.seed(seed))
        self.w = nn.Parameter(torch.randn(in_features, out_features, generator=generator))
        self.b = nn.Parameter(torch.randn(out_features, generator=generator))

    def forward(self, x: Tensor) -> Tensor:
        """$y = xW + b$ for ``x`` of shape [in] or [batch, in] (any [..., in])."""
        return fully_connected(x, self.w, self.b)


def linear_to_conv2d(linear: nn.Linear, channels: int, height: int, width: int) -> nn.Conv2d:
    r"""The convolution that computes the same outputs as ``linear`` on a [C, H, W] input.

    A fully connected layer on a flattened $C \times H \times W$ input is a convolution whose
    kernel covers the whole input: one filter per output, each made of $C$ kernels of size
    $H \times W$, giving a $1 \times 1$ output map per filter:

    $$\text{conv}(x)_{o,0,0} = \sum_{c,h,w} K_{o,c,h,w}\, x_{c,h,w} + b_o
      = (W\,\mathrm{vec}(x) + b)_o, \quad K = W.\mathrm{reshape}(O, C, H, W).$$

    Args:
        linear: A layer with ``in_features == channels * height * width``.
        channels: $C$.
        height: $H$.
        width: $W$.

    Returns:
        ``nn.Conv2d(C, out_features, kernel_size=(H, W))`` holding copies of the weights, so
        that ``conv(x).flatten(1)`` equals ``linear(x.flatten(1))`` for ``x`` [N, C, H, W].

    Raises:
        TypeError: If ``linear`` is not an ``nn.Linear`` or a size is not an int.
        ValueError: If a size is < 1 or ``C * H * W != linear.in_features``.

    Example:
        >>> from torch import nn
        >>> conv = linear_to_conv2d(nn.Linear(36, 5), 4, 3, 3)
        >>> tuple(conv.weight.shape)
        (5, 4, 3, 3)
    """
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    channels = _validate.integer(channels, "channels", 1)
    height = _validate.integer(height, "height", 1)
    width = _validate.integer(width, "width", 1)
    if channels * height * width != linear.in_features:
        raise ValueError(
            f"channels * height * width = {channels * height * width} must equal "
            f"linear.in_features = {linear.in_features}"
        )
    has_bias = linear.bias is not None
    # skip_init: no initial draw (it would advance the global generator) since every
    # parameter is overwritten below.
    conv = torch.nn.utils.skip_init(
        nn.Conv2d,
        channels,
        linear.out_features,
        kernel_size=(height, width),
        bias=has_bias,
        device=linear.weight.device,
        dtype=linear.weight.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(linear.out_features, channels, height, width))
        if has_bias:
            conv.bias.copy_(linear.bias)
    return conv
