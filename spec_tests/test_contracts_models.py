"""Argument contracts of the model modules: logistic, fc, linear, features, descent, digits.

The chapter specs prove the mathematics; these pin the rest of each public contract that the
docstrings state: which argument is refused and with which message (gradspec's own messages
are part of the contract, they name the argument first, so they are matched whole, anchored
with ``^...$``), which dtype and device a result has, and what a default argument means.

Oracles: torch (its seeded generators, ``nn.BCELoss``, ``nn.Linear``, type promotion), and
values written out in the test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from reference.descent import descend, quadratic_regime
from reference.errors import DivergenceError
from reference.fc import (
    FullyConnected,
    FullyConnectedFunction,
    fc_backward,
    fully_connected,
    linear_to_conv2d,
)
from reference.features import (
    design_matrix,
    normalize,
    projection,
    sequential_normalize,
    with_bias,
)
from reference.linear import (
    classify,
    gaussian_nll,
    least_squares,
    normal_equations,
    predict,
    solve_exact,
)
from reference.logistic import (
    LogisticRegression,
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    decision_boundary,
    sigmoid,
    sigmoid_derivative,
    train_logistic,
    two_blobs,
)

F64 = torch.float64
F32 = torch.float32


def t64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def whole(message: str) -> str:
    """A pattern matching exactly ``message`` (for ``pytest.raises(match=...)``)."""
    return "^" + re.escape(message) + "$"


@pytest.fixture(autouse=True)
def _own_global_rng():
    """nn.Linear draws its initial values from the global generator: give every spec here a
    fresh, seeded one and restore the caller's after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


def overflow_message(what: str, dtype: torch.dtype, names: str) -> str:
    """The documented wording of a result that overflowed from finite inputs."""
    return (
        f"{what} overflows {dtype} (it is not finite although every input is): "
        f"{names} too large; rescale the data"
    )


# ------------------------------------------------------------------ logistic.decision_boundary


@pytest.mark.claim("LOG-BOUNDARY")
@pytest.mark.parametrize("argument", ["weight", "xs"])
def test_decision_boundary_refuses_an_integer_weight_or_xs(argument: str):
    """Both tensors must be floating point: an integer one is a TypeError naming it."""
    args = {"weight": t64([1.0, 2.0]), "xs": t64([0.5])}
    args[argument] = torch.tensor([1, 2]) if argument == "weight" else torch.tensor([3])
    with pytest.raises(
        TypeError, match=whole(f"{argument} must be a floating-point tensor, got dtype torch.int64")
    ):
        decision_boundary(args["weight"], 0.0, args["xs"])


@pytest.mark.claim("LOG-BOUNDARY")
@pytest.mark.parametrize("argument", ["weight", "xs"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_decision_boundary_refuses_a_non_finite_weight_or_xs(argument: str, bad: float):
    args = {"weight": t64([1.0, 2.0]), "xs": t64([0.5, 1.0])}
    args[argument] = t64([bad, 2.0])
    with pytest.raises(ValueError, match=whole(f"{argument} has non-finite entries (inf or nan)")):
        decision_boundary(args["weight"], 0.0, args["xs"])


@pytest.mark.claim("LOG-BOUNDARY")
def test_decision_boundary_is_in_the_dtype_of_xs_even_for_a_0d_xs():
    """The weights are converted to the dtype of ``xs``; for a 0-d ``xs`` torch's type
    promotion alone would give float64 from a float64 weight, the contract gives float32."""
    xs = torch.tensor(2.0, dtype=F32)
    ys = decision_boundary(t64([1.0, 4.0]), 0.5, xs)
    # y = (-w0 x - b) / w1 = (-2 - 0.5) / 4
    torch.testing.assert_close(ys, torch.tensor(-0.625, dtype=F32), rtol=0, atol=0)


@pytest.mark.claim("LOG-BOUNDARY")
def test_decision_boundary_messages_for_a_vertical_line_and_an_overflow():
    with pytest.raises(
        ValueError,
        match=whole("weight[1] is 0: the decision boundary is vertical (x = -b / w0)"),
    ):
        decision_boundary(t64([1.0, 0.0]), 0.5, t64([0.0]))
    # -w0 x / w1 = -1e10 / 1e-300 is beyond float64 although every input is finite
    expected = overflow_message("the boundary", F64, "weight[0] / weight[1], xs or bias is")
    with pytest.raises(ValueError, match=whole(expected)):
        decision_boundary(t64([1.0, 1e-300]), 0.0, t64([1e10]))


# --------------------------------------------------------- logistic.binary_cross_entropy, accuracy


@pytest.mark.claim("LOG-LOSS")
def test_binary_cross_entropy_is_in_the_dtype_of_p_whatever_the_dtype_of_y():
    """The labels are converted to the dtype of ``p`` (float64 labels do not promote a
    float32 loss); oracle: nn.BCELoss on the labels converted by the test."""
    p = torch.tensor([0.2, 0.7, 0.9], dtype=F32)
    y = t64([0.0, 1.0, 1.0])
    expected = nn.BCELoss()(p, y.to(F32))
    torch.testing.assert_close(binary_cross_entropy(p, y), expected)


@pytest.mark.claim("LOG-LOSS")
def test_binary_cross_entropy_with_logits_is_in_the_dtype_of_z_whatever_the_dtype_of_y():
    """Oracle: nn.BCEWithLogitsLoss on the labels converted by the test."""
    z = torch.tensor([-1.5, 0.25, 2.0], dtype=F32)
    y = t64([0.0, 1.0, 1.0])
    expected = nn.BCEWithLogitsLoss()(z, y.to(F32))
    torch.testing.assert_close(binary_cross_entropy_with_logits(z, y), expected)


@pytest.mark.claim("LOG-MODEL.classify")
def test_accuracy_takes_p_n_by_1_only_with_one_column():
    """``p`` [N, 1] goes with ``y`` [N]; ``p`` [N, 2] with ``y`` [N] is a shape mismatch."""
    p = torch.tensor([[0.2, 0.9], [0.7, 0.1], [0.6, 0.4]])
    y = torch.tensor([0.0, 1.0, 1.0])
    with pytest.raises(
        ValueError,
        match=whole(
            "p and y must have the same shape ([N], or p [N, 1] with y [N]), got (3, 2) and (3,)"
        ),
    ):
        accuracy(p, y)


# ------------------------------------------------------------------------------------ fc


@pytest.mark.claim("FC-DEF")
def test_fully_connected_default_seed_is_0():
    """Without a seed the layer holds the draws of a private generator seeded with 0:
    first W [in, out], then b [out] (restated with torch's own generator)."""
    layer = FullyConnected(3, 2)
    generator = torch.Generator().manual_seed(0)
    w = torch.randn(3, 2, generator=generator)
    b = torch.randn(2, generator=generator)
    torch.testing.assert_close(layer.w.detach(), w, rtol=0, atol=0)
    torch.testing.assert_close(layer.b.detach(), b, rtol=0, atol=0)


@pytest.mark.claim("FC-CONV")
def test_linear_to_conv2d_message_states_the_product_of_the_sizes():
    with pytest.raises(
        ValueError,
        match=whole("channels * height * width = 24 must equal linear.in_features = 10"),
    ):
        linear_to_conv2d(nn.Linear(10, 3), 2, 3, 4)


@pytest.mark.claim("FC-CONV")
def test_linear_to_conv2d_keeps_a_missing_bias_missing():
    """A layer without bias gives a convolution without bias (nn.Conv2d's default is one)."""
    linear = nn.Linear(12, 3, bias=False)
    conv = linear_to_conv2d(linear, 3, 2, 2)
    assert conv.bias is None
    x = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(conv(x).flatten(1), linear(x.flatten(1)))


@pytest.mark.claim("FC-CONV")
def test_linear_to_conv2d_puts_the_convolution_on_the_device_of_the_layer():
    """The copies live where the weights do; the ``meta`` device stands in for an
    accelerator (it holds no values, so only the device and shapes are compared)."""
    linear = nn.Linear(12, 3, device="meta")
    conv = linear_to_conv2d(linear, 3, 2, 2)
    assert conv.weight.device.type == "meta"
    assert conv.bias is not None
    assert conv.bias.device.type == "meta"
    assert tuple(conv.weight.shape) == (3, 3, 2, 2)


# ------------------------------------------------------------------------ linear.gaussian_nll


@pytest.mark.claim("LS-MLE")
def test_gaussian_nll_messages_for_an_overflowing_residual_and_likelihood():
    X = t64([[1.0]])
    # y - X w = -1e308 - 1e308 is beyond float64
    expected = overflow_message("the residual y - X w", F64, "X, y or w is")
    with pytest.raises(ValueError, match=whole(expected)):
        gaussian_nll(X, t64([-1e308]), t64([1e308]))
    # the residual 1e200 is finite, its square is not
    with pytest.raises(
        ValueError,
        match=whole(
            "the negative log-likelihood overflows float64: the residuals y - X w are too "
            "large for sigma = 1.0"
        ),
    ):
        gaussian_nll(X, t64([1e200]), t64([0.0]))


# --------------------------------------------------------------- the refusals, message by message

NAN = float("nan")
INF = float("inf")


def t32(values) -> torch.Tensor:
    return torch.tensor(values, dtype=F32)


def ints(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def too_large(what: str, dtype: torch.dtype, names: str) -> tuple[type, str]:
    return ValueError, overflow_message(what, dtype, names)


#: (call, exception type, the whole message) — every message as its docstring states it.
REFUSALS: dict[str, tuple[Callable[[], object], type, str]] = {
    # logistic: sigmoid and its derivative
    "sigmoid integer z": (
        lambda: sigmoid(ints([1])),
        TypeError,
        "z must be a floating-point tensor, got dtype torch.int64",
    ),
    "sigmoid nan z": (
        lambda: sigmoid(t64([NAN])),
        ValueError,
        "z has non-finite entries (inf or nan)",
    ),
    "sigmoid_derivative integer z": (
        lambda: sigmoid_derivative(ints([1])),
        TypeError,
        "z must be a floating-point tensor, got dtype torch.int64",
    ),
    "sigmoid_derivative inf z": (
        lambda: sigmoid_derivative(t64([INF])),
        ValueError,
        "z has non-finite entries (inf or nan)",
    ),
    # logistic: the two losses
    "bce integer p": (
        lambda: binary_cross_entropy(ints([1]), t64([1.0])),
        TypeError,
        "p must be a floating-point tensor, got dtype torch.int64",
    ),
    "bce nan y": (
        lambda: binary_cross_entropy(t64([0.5]), t64([NAN])),
        ValueError,
        "y has non-finite entries (inf or nan)",
    ),
    "bce shapes": (
        lambda: binary_cross_entropy(t64([0.5, 0.5]), t64([1.0])),
        ValueError,
        "p and y must have the same shape, got (2,) and (1,)",
    ),
    "bce empty": (
        lambda: binary_cross_entropy(t64([]), t64([])),
        ValueError,
        "p must not be empty",
    ),
    "bce p above 1": (
        lambda: binary_cross_entropy(t64([1.5]), t64([1.0])),
        ValueError,
        "p must contain probabilities in [0, 1]",
    ),
    "bce p nan": (
        lambda: binary_cross_entropy(t64([NAN]), t64([1.0])),
        ValueError,
        "p must contain probabilities in [0, 1]",
    ),
    "bce label 2": (
        lambda: binary_cross_entropy(t64([0.5]), t64([2.0])),
        ValueError,
        "y must contain only 0 and 1",
    ),
    "bce logits integer z": (
        lambda: binary_cross_entropy_with_logits(ints([1]), t64([1.0])),
        TypeError,
        "z must be a floating-point tensor, got dtype torch.int64",
    ),
    "bce logits inf z": (
        lambda: binary_cross_entropy_with_logits(t64([INF]), t64([1.0])),
        ValueError,
        "z must be finite (no inf or nan)",
    ),
    "bce logits shapes": (
        lambda: binary_cross_entropy_with_logits(t64([0.5, 0.5]), t64([1.0])),
        ValueError,
        "z and y must have the same shape, got (2,) and (1,)",
    ),
    "bce logits empty": (
        lambda: binary_cross_entropy_with_logits(t64([]), t64([])),
        ValueError,
        "z must not be empty",
    ),
    "bce logits label -1": (
        lambda: binary_cross_entropy_with_logits(t64([0.5]), t64([-1.0])),
        ValueError,
        "y must contain only 0 and 1",
    ),
    # logistic: accuracy
    "accuracy threshold above 1": (
        lambda: accuracy(t64([0.5]), t64([1.0]), threshold=1.5),
        ValueError,
        "threshold must be in [0, 1], got 1.5",
    ),
    "accuracy threshold below 0": (
        lambda: accuracy(t64([0.5]), t64([1.0]), threshold=-0.5),
        ValueError,
        "threshold must be in [0, 1], got -0.5",
    ),
    "accuracy threshold str": (
        lambda: accuracy(t64([0.5]), t64([1.0]), threshold="0.5"),
        TypeError,
        "threshold must be a real number, got str",
    ),
    "accuracy empty": (
        lambda: accuracy(t64([]), t64([])),
        ValueError,
        "p must hold at least one sample",
    ),
    "accuracy nan p": (
        lambda: accuracy(t64([NAN]), t64([1.0])),
        ValueError,
        "p has non-finite entries (inf or nan)",
    ),
    "accuracy complex p": (
        lambda: accuracy(torch.tensor([0.5j]), t64([1.0])),
        TypeError,
        "p must be a real-valued tensor, got dtype torch.complex64",
    ),
    "accuracy label 2": (
        lambda: accuracy(t64([0.5]), t64([2.0])),
        ValueError,
        "y must contain only 0 and 1",
    ),
    "accuracy shapes": (
        lambda: accuracy(t64([0.5, 0.5]), t64([1.0])),
        ValueError,
        "p and y must have the same shape ([N], or p [N, 1] with y [N]), got (2,) and (1,)",
    ),
    # logistic: data, model, training
    "two_blobs n 0": (
        lambda: two_blobs(n_per_class=0),
        ValueError,
        "n_per_class must be >= 1, got 0",
    ),
    "two_blobs mean inf": (
        lambda: two_blobs(mean_value=INF),
        ValueError,
        "mean_value must be finite, got inf",
    ),
    "two_blobs bias nan": (
        lambda: two_blobs(bias=NAN),
        ValueError,
        "bias must be finite, got nan",
    ),
    "two_blobs seed -1": (
        lambda: two_blobs(seed=-1),
        ValueError,
        "seed must be in [0, 2**63), got -1",
    ),
    "two_blobs float32 overflow": (
        lambda: two_blobs(n_per_class=2, mean_value=1e39, bias=0.0),
        *too_large("the float32 points", F32, "mean_value or bias is"),
    ),
    "LogisticRegression in_features 0": (
        lambda: LogisticRegression(0),
        ValueError,
        "in_features must be >= 1, got 0",
    ),
    "LogisticRegression seed -1": (
        lambda: LogisticRegression(2, seed=-1),
        ValueError,
        "seed must be in [0, 2**63), got -1",
    ),
    "LogisticRegression integer x": (
        lambda: LogisticRegression(2)(ints([[1, 2]])),
        TypeError,
        "x must be a floating-point tensor, got dtype torch.int64",
    ),
    "LogisticRegression x columns": (
        lambda: LogisticRegression(2)(t32([[1.0, 2.0, 3.0]])),
        ValueError,
        "x must have shape [batch, 2], got (1, 3)",
    ),
    "LogisticRegression x 1-D": (
        lambda: LogisticRegression(2)(t32([1.0, 2.0])),
        ValueError,
        "x must have shape [batch, 2], got (2,)",
    ),
    "train integer x": (
        lambda: train_logistic(ints([[1, 2]]), t32([1.0])),
        TypeError,
        "x must be a floating-point tensor, got dtype torch.int64",
    ),
    "train x no rows": (
        lambda: train_logistic(torch.zeros(0, 2), t32([])),
        ValueError,
        "x must have shape [N, d] with N, d >= 1, got (0, 2)",
    ),
    "train x no columns": (
        lambda: train_logistic(torch.zeros(2, 0), t32([0.0, 1.0])),
        ValueError,
        "x must have shape [N, d] with N, d >= 1, got (2, 0)",
    ),
    "train x 1-D": (
        lambda: train_logistic(t32([1.0, 2.0]), t32([0.0, 1.0])),
        ValueError,
        "x must have shape [N, d] with N, d >= 1, got (2,)",
    ),
    "train y length": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0, 1.0])),
        ValueError,
        "y must have shape [2] to match x, got (3,)",
    ),
    "train y label": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 3.0])),
        ValueError,
        "y must contain only 0 and 1",
    ),
    "train x nan": (
        lambda: train_logistic(t32([[NAN, 0.0], [0.0, 1.0]]), t32([0.0, 1.0])),
        ValueError,
        "x must be finite (no inf or nan)",
    ),
    "train lr 0": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), lr=0),
        ValueError,
        "lr must be > 0, got 0",
    ),
    "train momentum 1": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), momentum=1),
        ValueError,
        "momentum must be in [0, 1), got 1.0",
    ),
    "train momentum negative": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), momentum=-0.5),
        ValueError,
        "momentum must be in [0, 1), got -0.5",
    ),
    "train max_iters 0": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), max_iters=0),
        ValueError,
        "max_iters must be >= 1, got 0",
    ),
    "train target_accuracy 2": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), target_accuracy=2),
        ValueError,
        "target_accuracy must be in [0, 1], got 2.0",
    ),
    "train target_accuracy negative": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), target_accuracy=-0.5),
        ValueError,
        "target_accuracy must be in [0, 1], got -0.5",
    ),
    "train zero_grad 1": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), zero_grad=1),
        TypeError,
        "zero_grad must be a bool, got int",
    ),
    "train check_every 0": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), check_every=0),
        ValueError,
        "check_every must be >= 1, got 0",
    ),
    "train seed -1": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), seed=-1),
        ValueError,
        "seed must be in [0, 2**63), got -1",
    ),
    "train lr beyond float32": (
        lambda: train_logistic(torch.zeros(2, 2), t32([0.0, 1.0]), lr=1e39),
        ValueError,
        "lr = 1e+39 is beyond the range of torch.float32 (largest 3.4e+38), the dtype of the "
        "parameters it updates",
    ),
    # One sample x = (1, 1) of class 0: its first gradient p0 is in [0.107, 0.893] for every
    # initial draw (|w|, |b| <= 1/sqrt(2) for nn.Linear(2, 1)), after which sigma saturates
    # at exactly 0 and the gradient is 0 (so the output stays finite, 0), while momentum 0.99
    # keeps stepping: 1e308 * p0 * (1 + 0.99 + ... + 0.99**199) >= 1e308 * 0.107 * 86.6 is
    # beyond float64, so the weights end at -inf. Target 1.0 is never exceeded, so all 200
    # iterations run.
    "train diverges in the last step": (
        lambda: train_logistic(
            t64([[1.0, 1.0]]),
            t64([0.0]),
            lr=1e308,
            momentum=0.99,
            target_accuracy=1.0,
            max_iters=200,
        ),
        DivergenceError,
        "logistic regression diverged in its last step (lr=1e+308, momentum=0.99, "
        "zero_grad=True): the weights are not finite",
    ),
    "train diverges in the last step without zero_grad": (
        lambda: train_logistic(
            t64([[1.0, 1.0]]),
            t64([0.0]),
            lr=1e308,
            momentum=0.99,
            target_accuracy=1.0,
            max_iters=200,
            zero_grad=False,
        ),
        DivergenceError,
        "logistic regression diverged in its last step (lr=1e+308, momentum=0.99, "
        "zero_grad=False): the weights are not finite",
    ),
    # decision_boundary: shapes and bias
    "boundary three weights": (
        lambda: decision_boundary(t64([1.0, 2.0, 3.0]), 0.0, t64([0.0])),
        ValueError,
        "weight must hold two numbers (shape [2] or [1, 2]), got (3,)",
    ),
    "boundary 3-D weight": (
        lambda: decision_boundary(t64([[[1.0, 2.0]]]), 0.0, t64([0.0])),
        ValueError,
        "weight must hold two numbers (shape [2] or [1, 2]), got (1, 1, 2)",
    ),
    "boundary two biases": (
        lambda: decision_boundary(t64([1.0, 2.0]), t64([1.0, 2.0]), t64([0.0])),
        ValueError,
        "bias must hold one number, got shape (2,)",
    ),
    "boundary bias str": (
        lambda: decision_boundary(t64([1.0, 2.0]), "0", t64([0.0])),
        TypeError,
        "bias must be a real number, got str",
    ),
    "boundary bias nan": (
        lambda: decision_boundary(t64([1.0, 2.0]), NAN, t64([0.0])),
        ValueError,
        "bias must be finite, got nan",
    ),
    # fc: the hand-written backward
    "fc_backward integer x": (
        lambda: fc_backward(ints([[1]]), t64([[1.0]]), t64([[1.0]])),
        TypeError,
        "x must be a floating-point tensor, got dtype torch.int64",
    ),
    "fc_backward nan w": (
        lambda: fc_backward(t64([[1.0]]), t64([[NAN]]), t64([[1.0]])),
        ValueError,
        "w has non-finite entries (inf or nan)",
    ),
    "fc_backward integer grad_out": (
        lambda: fc_backward(t64([[1.0]]), t64([[1.0]]), ints([[1]])),
        TypeError,
        "grad_out must be a floating-point tensor, got dtype torch.int64",
    ),
    "fc_backward inf grad_out": (
        lambda: fc_backward(t64([[1.0]]), t64([[1.0]]), t64([[INF]])),
        ValueError,
        "grad_out has non-finite entries (inf or nan)",
    ),
    "fc_backward 1-D x": (
        lambda: fc_backward(t64([1.0]), t64([[1.0]]), t64([[1.0]])),
        ValueError,
        "x must be 2-D, got shape (1,)",
    ),
    "fc_backward 1-D w": (
        lambda: fc_backward(t64([[1.0]]), t64([1.0]), t64([[1.0]])),
        ValueError,
        "w must be 2-D, got shape (1,)",
    ),
    "fc_backward 3-D grad_out": (
        lambda: fc_backward(t64([[1.0]]), t64([[1.0]]), t64([[[1.0]]])),
        ValueError,
        "grad_out must be 2-D, got shape (1, 1, 1)",
    ),
    "fc_backward dtypes": (
        lambda: fc_backward(t32([[1.0]]), t64([[1.0]]), t64([[1.0]])),
        TypeError,
        "x, w and grad_out must share a dtype, got torch.float32, torch.float64, torch.float64",
    ),
    "fc_backward grad_out dtype": (
        lambda: fc_backward(t64([[1.0]]), t64([[1.0]]), t32([[1.0]])),
        TypeError,
        "x, w and grad_out must share a dtype, got torch.float64, torch.float64, torch.float32",
    ),
    "fc_backward features": (
        lambda: fc_backward(torch.ones(4, 3, dtype=F64), torch.ones(2, 5, dtype=F64), t64([[1.0]])),
        ValueError,
        "x has 3 features but w expects 2 (w must be [in, out])",
    ),
    "fc_backward grad_out shape": (
        lambda: fc_backward(
            torch.ones(4, 3, dtype=F64), torch.ones(3, 2, dtype=F64), torch.ones(4, 3, dtype=F64)
        ),
        ValueError,
        "grad_out must have shape [4, 2] (batch, out), got (4, 3)",
    ),
    "fc_backward grad_out rows": (
        lambda: fc_backward(
            torch.ones(4, 3, dtype=F64), torch.ones(3, 2, dtype=F64), torch.ones(5, 2, dtype=F64)
        ),
        ValueError,
        "grad_out must have shape [4, 2] (batch, out), got (5, 2)",
    ),
    "fc_backward grad_x overflow": (
        lambda: fc_backward(t64([[1.0]]), t64([[1e200]]), t64([[1e200]])),
        *too_large("grad_x", F64, "grad_out or w is"),
    ),
    "fc_backward grad_w overflow": (
        lambda: fc_backward(t64([[1e200]]), t64([[1.0]]), t64([[1e200]])),
        *too_large("grad_w", F64, "x or grad_out is"),
    ),
    "fc_backward grad_b overflow": (
        lambda: fc_backward(t64([[1e-300], [1e-300]]), t64([[1e-10]]), t64([[1e308], [1e308]])),
        *too_large("grad_b", F64, "grad_out is"),
    ),
    "fc_backward nan x": (
        lambda: fc_backward(t64([[NAN]]), t64([[1.0]]), t64([[1.0]])),
        ValueError,
        "x has non-finite entries (inf or nan)",
    ),
    "fc_backward integer w": (
        lambda: fc_backward(t64([[1.0]]), ints([[1]]), t64([[1.0]])),
        TypeError,
        "w must be a floating-point tensor, got dtype torch.int64",
    ),
    # fc: the layer's checks
    "fully_connected integer x": (
        lambda: fully_connected(ints([1]), t64([[1.0]]), t64([0.0])),
        TypeError,
        "x must be a floating-point tensor, got dtype torch.int64",
    ),
    "fully_connected nan x": (
        lambda: fully_connected(t64([NAN]), t64([[1.0]]), t64([0.0])),
        ValueError,
        "x has non-finite entries (inf or nan)",
    ),
    "fully_connected integer w": (
        lambda: fully_connected(t64([1.0]), ints([[1]]), t64([0.0])),
        TypeError,
        "w must be a floating-point tensor, got dtype torch.int64",
    ),
    "fully_connected inf w": (
        lambda: fully_connected(t64([1.0]), t64([[INF]]), t64([0.0])),
        ValueError,
        "w has non-finite entries (inf or nan)",
    ),
    "fully_connected integer b": (
        lambda: fully_connected(t64([1.0]), t64([[1.0]]), ints([0])),
        TypeError,
        "b must be a floating-point tensor, got dtype torch.int64",
    ),
    "fully_connected nan b": (
        lambda: fully_connected(t64([1.0]), t64([[1.0]]), t64([NAN])),
        ValueError,
        "b has non-finite entries (inf or nan)",
    ),
    "fully_connected 1-D w": (
        lambda: fully_connected(t64([1.0]), t64([1.0]), t64([0.0])),
        ValueError,
        "w must be 2-D [in, out], got shape (1,)",
    ),
    "fully_connected b shape": (
        lambda: fully_connected(t64([1.0]), torch.ones(1, 2, dtype=F64), t64([0.0, 0.0, 0.0])),
        ValueError,
        "b must have shape [2], got (3,)",
    ),
    "fully_connected x last dim": (
        lambda: fully_connected(
            torch.ones(4, 2, dtype=F64), torch.ones(3, 2, dtype=F64), t64([0, 0])
        ),
        ValueError,
        "x must have shape [..., 3] (last dim = in_features), got (4, 2)",
    ),
    "fully_connected 0-d x": (
        lambda: fully_connected(t64(1.0), t64([[1.0]]), t64([0.0])),
        ValueError,
        "x must have shape [..., 1] (last dim = in_features), got ()",
    ),
    "fully_connected dtypes": (
        lambda: fully_connected(t32([1.0]), t64([[1.0]]), t64([0.0])),
        TypeError,
        "x, w and b must share a dtype, got torch.float32, torch.float64, torch.float64",
    ),
    "fully_connected b dtype": (
        lambda: fully_connected(t64([1.0]), t64([[1.0]]), t32([0.0])),
        TypeError,
        "x, w and b must share a dtype, got torch.float64, torch.float64, torch.float32",
    ),
    "fully_connected overflow": (
        lambda: fully_connected(t64([1e200]), t64([[1e200]]), t64([0.0])),
        *too_large("x @ w + b", F64, "x, w or b is"),
    ),
    "FullyConnectedFunction 1-D x": (
        lambda: FullyConnectedFunction.apply(t64([1.0]), t64([[1.0]]), t64([0.0])),
        ValueError,
        "x must be 2-D [batch, in], got shape (1,)",
    ),
    "FullyConnected in_features 0": (
        lambda: FullyConnected(0, 2),
        ValueError,
        "in_features must be >= 1, got 0",
    ),
    "FullyConnected out_features 0": (
        lambda: FullyConnected(2, 0),
        ValueError,
        "out_features must be >= 1, got 0",
    ),
    "FullyConnected seed -1": (
        lambda: FullyConnected(2, 2, seed=-1),
        ValueError,
        "seed must be in [0, 2**63), got -1",
    ),
    "linear_to_conv2d not a Linear": (
        lambda: linear_to_conv2d(nn.Conv2d(1, 1, 1), 1, 1, 1),
        TypeError,
        "linear must be an nn.Linear, got Conv2d",
    ),
    "linear_to_conv2d channels 0": (
        lambda: linear_to_conv2d(nn.Linear(4, 1), 0, 2, 2),
        ValueError,
        "channels must be >= 1, got 0",
    ),
    "linear_to_conv2d height 0": (
        lambda: linear_to_conv2d(nn.Linear(4, 1), 1, 0, 2),
        ValueError,
        "height must be >= 1, got 0",
    ),
    "linear_to_conv2d width 0": (
        lambda: linear_to_conv2d(nn.Linear(4, 1), 1, 2, 0),
        ValueError,
        "width must be >= 1, got 0",
    ),
    # linear: the argument checks
    "predict complex X": (
        lambda: predict(torch.tensor([[1j]]), t64([1.0])),
        TypeError,
        "X must be a real-valued tensor, got dtype torch.complex64",
    ),
    "predict 1-D X": (
        lambda: predict(t64([1.0, 2.0]), t64([1.0])),
        ValueError,
        "X must be 2-D [n, k], got shape (2,)",
    ),
    "predict X no rows": (
        lambda: predict(torch.zeros(0, 2, dtype=F64), t64([1.0, 2.0])),
        ValueError,
        "X must have at least one row and one column, got (0, 2)",
    ),
    "predict X no columns": (
        lambda: predict(torch.zeros(2, 0, dtype=F64), t64([])),
        ValueError,
        "X must have at least one row and one column, got (2, 0)",
    ),
    "predict nan X": (
        lambda: predict(t64([[NAN]]), t64([1.0])),
        ValueError,
        "X has non-finite entries (inf or nan)",
    ),
    "predict complex w": (
        lambda: predict(t64([[1.0]]), torch.tensor([1j])),
        TypeError,
        "w must be a real-valued tensor, got dtype torch.complex64",
    ),
    "predict w shape": (
        lambda: predict(t64([[1.0, 2.0]]), torch.ones(2, 2, dtype=F64)),
        ValueError,
        "w must have shape [k] or [k, 1], got (2, 2)",
    ),
    "predict w 0-d": (
        lambda: predict(t64([[1.0]]), t64(1.0)),
        ValueError,
        "w must have shape [k] or [k, 1], got ()",
    ),
    "predict w length": (
        lambda: predict(t64([[1.0, 2.0]]), t64([1.0, 2.0, 3.0])),
        ValueError,
        "w has 3 entries but X has 2 columns; they must match",
    ),
    "predict inf w": (
        lambda: predict(t64([[1.0]]), t64([INF])),
        ValueError,
        "w has non-finite entries (inf or nan)",
    ),
    "predict overflow float64": (
        lambda: predict(t64([[1e200]]), t64([1e200])),
        *too_large("X @ w", F64, "X or w is"),
    ),
    "predict overflow float32": (
        lambda: predict(t32([[1e30]]), t32([1e30])),
        *too_large("X @ w", F32, "X or w is"),
    ),
    "solve_exact complex y": (
        lambda: solve_exact(t64([[1.0]]), torch.tensor([1j])),
        TypeError,
        "y must be a real-valued tensor, got dtype torch.complex64",
    ),
    "solve_exact y shape": (
        lambda: solve_exact(t64([[1.0]]), torch.ones(1, 2, dtype=F64)),
        ValueError,
        "y must have shape [n] or [n, 1], got (1, 2)",
    ),
    "solve_exact y 0-d": (
        lambda: solve_exact(t64([[1.0]]), t64(1.0)),
        ValueError,
        "y must have shape [n] or [n, 1], got ()",
    ),
    "solve_exact y length": (
        lambda: solve_exact(t64([[1.0, 0.0], [0.0, 1.0]]), t64([1.0, 2.0, 3.0])),
        ValueError,
        "y has 3 entries but X has 2 rows; they must match",
    ),
    "solve_exact nan y": (
        lambda: solve_exact(t64([[1.0]]), t64([NAN])),
        ValueError,
        "y has non-finite entries (inf or nan)",
    ),
    "solve_exact not square": (
        lambda: solve_exact(torch.ones(3, 2, dtype=F64), t64([1.0, 2.0, 3.0])),
        ValueError,
        "X is not square: elimination needs as many equations as unknowns, got 3 equations "
        "(rows) for 2 unknowns (columns); use least_squares for a non-square system",
    ),
    "solve_exact singular": (
        lambda: solve_exact(t64([[1.0, 2.0], [2.0, 4.0]]), t64([1.0, 2.0])),
        ValueError,
        "X is singular: no usable pivot in column 1 (the equations are linearly dependent, so "
        "elimination cannot give a unique solution); use least_squares for the minimum-norm "
        "solution",
    ),
    "solve_exact overflow": (
        lambda: solve_exact(t64([[1e-300]]), t64([1e300])),
        *too_large("the solution", F64, "X is too small or y"),
    ),
    "normal_equations gram overflow": (
        lambda: normal_equations(t64([[1e200]]), t64([1.0])),
        *too_large("X^T X", F64, "X is"),
    ),
    "normal_equations X^T y overflow": (
        lambda: normal_equations(t64([[1e150]]), t64([1e200])),
        *too_large("X^T y", F64, "X or y is"),
    ),
    "gaussian_nll sigma 0": (
        lambda: gaussian_nll(t64([[1.0]]), t64([1.0]), t64([1.0]), sigma=0),
        ValueError,
        "sigma must be a finite number > 0, got 0",
    ),
    "gaussian_nll sigma inf": (
        lambda: gaussian_nll(t64([[1.0]]), t64([1.0]), t64([1.0]), sigma=INF),
        ValueError,
        "sigma must be a finite number > 0, got inf",
    ),
    "classify complex": (
        lambda: classify(torch.tensor([1j])),
        TypeError,
        "y_pred must be a real-valued tensor, got dtype torch.complex64",
    ),
    "classify nan": (
        lambda: classify(t64([1.0, NAN])),
        ValueError,
        "y_pred has non-finite entries (inf or nan)",
    ),
    # features
    "projection complex": (
        lambda: projection(torch.tensor([[1j]]), 0),
        TypeError,
        "image must be a real-valued tensor, got dtype torch.complex64",
    ),
    "projection 1-D": (
        lambda: projection(t64([1.0, 2.0]), 0),
        ValueError,
        "image must be 2-D (H x W), got shape (2,)",
    ),
    "projection dim 2": (
        lambda: projection(t64([[1.0]]), 2),
        ValueError,
        "dim must be 0 (column sums) or 1 (row sums), got 2",
    ),
    "projection negative": (
        lambda: projection(t64([[1.0, -1.0]]), 0),
        ValueError,
        "image has negative entries; projections need non-negative pixels",
    ),
    "projection nan": (
        lambda: projection(t64([[1.0, NAN]]), 0),
        ValueError,
        "image has non-finite entries (inf or nan)",
    ),
    "projection float32 overflow": (
        lambda: projection(t64([[3e38, 3e38]]), 1),
        *too_large("the float32 projection of image", F32, "its pixels are"),
    ),
    "normalize 2-D": (
        lambda: normalize(t64([[1.0, 2.0]])),
        ValueError,
        "v must be a 1-D vector, got shape (1, 2)",
    ),
    "normalize empty": (
        lambda: normalize(t64([])),
        ValueError,
        "v is empty",
    ),
    "normalize zeros": (
        lambda: normalize(t64([0.0, 0.0])),
        ValueError,
        "v sums to 0 (a blank image?); it cannot be normalized by its sum",
    ),
    "normalize negative": (
        lambda: normalize(t64([1.0, -1.0])),
        ValueError,
        "v has negative entries; projections need non-negative pixels",
    ),
    "normalize complex": (
        lambda: normalize(torch.tensor([1j])),
        TypeError,
        "v must be a real-valued tensor, got dtype torch.complex64",
    ),
    "sequential_normalize zeros": (
        lambda: sequential_normalize(t64([0.0, 0.0])),
        ValueError,
        "v sums to 0 (a blank image?); it cannot be normalized by its sum",
    ),
    "sequential_normalize overflow": (
        lambda: sequential_normalize(t32([3e38, 3e38])),
        ValueError,
        "v is too large for torch.float32: the running sum of the in-place loop overflows at "
        "entry 0; convert v to float64 or rescale it",
    ),
    "with_bias scalar": (
        lambda: with_bias(t64(1.0)),
        ValueError,
        "x must have at least one dimension to append the bias to, got a scalar",
    ),
    "with_bias nan": (
        lambda: with_bias(t64([NAN])),
        ValueError,
        "x has non-finite entries (inf or nan)",
    ),
    "with_bias not a tensor": (
        lambda: with_bias([1.0]),
        TypeError,
        "x must be a torch.Tensor, got list",
    ),
    "design_matrix normalization": (
        lambda: design_matrix(torch.ones(1, 2, 2), normalization="exact"),
        ValueError,
        "normalization must be one of ('proper', 'sequential'), got 'exact'",
    ),
    "design_matrix 2-D tensor": (
        lambda: design_matrix(torch.ones(2, 2)),
        ValueError,
        "images must have shape [n, H, W], got (2, 2)",
    ),
    "design_matrix meta tensor": (
        lambda: design_matrix(torch.ones(1, 2, 2, device="meta")),
        ValueError,
        "images is a meta tensor: it has a shape but no values to compute with",
    ),
    "design_matrix int": (
        lambda: design_matrix(5),
        TypeError,
        "images must be a tensor [n, H, W] or a sequence of 2-D tensors, got int",
    ),
    "design_matrix str": (
        lambda: design_matrix("images"),
        TypeError,
        "images must be a tensor [n, H, W] or a sequence of 2-D tensors, got str",
    ),
    "design_matrix empty": (
        lambda: design_matrix([]),
        ValueError,
        "images is empty; need at least one image",
    ),
    "design_matrix empty tensor": (
        lambda: design_matrix(torch.ones(0, 2, 2)),
        ValueError,
        "images is empty; need at least one image",
    ),
    "design_matrix not a tensor in the list": (
        lambda: design_matrix([torch.ones(2, 2), 5]),
        TypeError,
        "images[1] must be a torch.Tensor, got int",
    ),
    "design_matrix complex in the list": (
        lambda: design_matrix([torch.ones(2, 2), torch.ones(2, 2, dtype=torch.complex64)]),
        TypeError,
        "images[1] must be a real-valued tensor, got dtype torch.complex64",
    ),
    "design_matrix blank image": (
        lambda: design_matrix([torch.ones(2, 2), torch.zeros(2, 2)]),
        ValueError,
        "images[1]: v sums to 0 (a blank image?); it cannot be normalized by its sum",
    ),
    "design_matrix blank image sequential": (
        lambda: design_matrix([torch.ones(2, 2), torch.zeros(2, 2)], normalization="sequential"),
        ValueError,
        "images[1]: v sums to 0 (a blank image?); it cannot be normalized by its sum",
    ),
    "design_matrix negative pixel": (
        lambda: design_matrix(-torch.ones(1, 2, 2)),
        ValueError,
        "images[0]: image has negative entries; projections need non-negative pixels",
    ),
    "design_matrix dim 2": (
        lambda: design_matrix(torch.ones(1, 2, 2), dim=2),
        ValueError,
        "dim must be 0 (column sums) or 1 (row sums), got 2",
    ),
    "design_matrix shapes": (
        lambda: design_matrix([torch.ones(2, 2), torch.ones(2, 3)]),
        ValueError,
        "images must all have the same shape",
    ),
    # descent
    "descend grad not callable": (
        lambda: descend("2x", 1.0, 0.1, 1),
        TypeError,
        "grad must be callable (the derivative f'), got str",
    ),
    "descend x0 nan": (
        lambda: descend(lambda x: 2 * x, NAN, 0.1, 1),
        ValueError,
        "x0 must be finite, got nan",
    ),
    "descend x0 str": (
        lambda: descend(lambda x: 2 * x, "1", 0.1, 1),
        TypeError,
        "x0 must be a real number, got str",
    ),
    "descend lr 0": (
        lambda: descend(lambda x: 2 * x, 1.0, 0, 1),
        ValueError,
        "lr must be a finite number > 0, got 0",
    ),
    "descend steps -1": (
        lambda: descend(lambda x: 2 * x, 1.0, 0.1, -1),
        ValueError,
        "steps must be >= 0, got -1",
    ),
    "descend dtype int": (
        lambda: descend(lambda x: 2 * x, 1.0, 0.1, 1, dtype=torch.int64),
        TypeError,
        "dtype must be None or a floating torch dtype, got torch.int64",
    ),
    "descend dtype str": (
        lambda: descend(lambda x: 2 * x, 1.0, 0.1, 1, dtype="float64"),
        TypeError,
        "dtype must be None or a floating torch dtype, got 'float64'",
    ),
    "descend grad returns str": (
        lambda: descend(lambda x: "2x", 1.0, 0.1, 1),
        TypeError,
        "grad must return a real number (the value returned by grad must be a real number, "
        "got str)",
    ),
    "descend diverges": (
        lambda: descend(lambda x: 2 * x, 1e308, 10.0, 1),
        DivergenceError,
        "gradient descent diverged at step 1 with lr=10.0: x became -inf (derivative inf)",
    ),
    "descend diverges later": (
        lambda: descend(lambda x: 2 * x, 1.0, 1e155, 2),
        DivergenceError,
        "gradient descent diverged at step 2 with lr=1e+155: x became inf (derivative -4e+155)",
    ),
    "descend dtype grad returns str": (
        lambda: descend(lambda x: "2x", 1.0, 0.1, 1, dtype=F64),
        TypeError,
        "grad must return a real number, got str",
    ),
    "descend dtype grad returns bool": (
        lambda: descend(lambda x: True, 1.0, 0.1, 1, dtype=F64),
        TypeError,
        "grad must return a real number, got bool",
    ),
    "descend dtype diverges": (
        lambda: descend(lambda x: 2 * x, 1e38, 10.0, 2, dtype=F32),
        DivergenceError,
        "gradient descent diverged at step 1 with lr=10.0 in torch.float32: x became -inf",
    ),
    "quadratic_regime lr 0": (
        lambda: quadratic_regime(0),
        ValueError,
        "lr must be a finite number > 0, got 0",
    ),
    "quadratic_regime curvature -1": (
        lambda: quadratic_regime(0.1, -1.0),
        ValueError,
        "curvature must be a finite number > 0, got -1.0",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_raise_the_documented_error_with_the_whole_message(case: str):
    """gradspec's own messages are part of the contract: each names the argument first and
    says what was wrong; matched whole, so that no word of it can change unnoticed."""
    call, error, message = REFUSALS[case]
    with pytest.raises(error, match=whole(message)):
        call()


# ----------------------------------------------------------------------------------- defaults


@pytest.mark.claim("LOG-TRAIN.data")
def test_two_blobs_defaults_are_the_material_s_100_points_per_class_m_1_7_c_1_seed_10():
    """Restated with torch's generator: seed 10, class 0 around +1.7, class 1 around -1.7,
    both shifted by 1, 100 each, in that order."""
    x, y = two_blobs()
    generator = torch.Generator().manual_seed(10)
    ones = torch.ones(100, 2)
    x0 = torch.normal(1.7 * ones, 1.0, generator=generator) + 1.0
    x1 = torch.normal(-1.7 * ones, 1.0, generator=generator) + 1.0
    torch.testing.assert_close(x, torch.cat((x0, x1)), rtol=0, atol=0)
    torch.testing.assert_close(y, torch.cat((torch.zeros(100), torch.ones(100))), rtol=0, atol=0)


@pytest.mark.claim("LOG-MODEL.params")
def test_logistic_regression_defaults_are_two_features_and_seed_0():
    """The initial parameters are those of nn.Linear(2, 1) right after torch.manual_seed(0)."""
    model = LogisticRegression()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        linear = nn.Linear(2, 1)
    torch.testing.assert_close(model.linear.weight, linear.weight, rtol=0, atol=0)
    torch.testing.assert_close(model.linear.bias, linear.bias, rtol=0, atol=0)


@pytest.mark.claim("LOG-TRAIN.fit")
def test_train_logistic_defaults_are_the_documented_ones():
    """Training with the defaults is training with lr 0.01, momentum 0.9, at most 1000
    iterations, target accuracy 0.99, zero_grad, a check every iteration and seed 10."""
    x, y = two_blobs(n_per_class=20, seed=3)
    implicit = train_logistic(x, y)
    explicit = train_logistic(
        x,
        y,
        lr=0.01,
        momentum=0.9,
        max_iters=1000,
        target_accuracy=0.99,
        zero_grad=True,
        check_every=1,
        seed=10,
    )
    assert implicit.stop_iteration == explicit.stop_iteration
    torch.testing.assert_close(implicit.initial_weight, explicit.initial_weight, rtol=0, atol=0)
    torch.testing.assert_close(implicit.loss_history, explicit.loss_history, rtol=0, atol=0)
    torch.testing.assert_close(implicit.weight, explicit.weight, rtol=0, atol=0)


@pytest.mark.claim("LOG-MODEL.classify")
def test_accuracy_default_threshold_is_one_half():
    assert accuracy(t64([0.5, 0.5]), t64([1.0, 1.0])) == 1.0
    assert accuracy(t64([0.4999, 0.75]), t64([1.0, 1.0])) == 0.5
    # bool labels are accepted as 0/1
    assert accuracy(t64([0.2, 0.9]), torch.tensor([False, True])) == 1.0


@pytest.mark.claim("LS-MLE")
def test_gaussian_nll_default_sigma_is_1():
    """One residual e = 3 - 1 = 2 with sigma = 1: log(2 pi) / 2 + e^2 / 2, written out."""
    value = gaussian_nll(t64([[1.0]]), t64([3.0]), t64([1.0]))
    assert value == pytest.approx(0.5 * math.log(2 * math.pi) + 2.0, rel=1e-15)


@pytest.mark.claim("GD-OSC.when")
def test_quadratic_regime_default_curvature_is_2():
    """f(x) = x^2 has c = 2: lr 0.5 lands in one step, lr 1 cycles (p = lr * c)."""
    assert quadratic_regime(0.5) == "one-step"
    assert quadratic_regime(1.0) == "cycling"
    assert quadratic_regime(0.75) == "oscillating"


# ------------------------------------------------------- what the checks let through, by kind


@pytest.mark.claim("LOG-BOUNDARY")
def test_decision_boundary_takes_a_one_element_tensor_bias():
    # y = (-w0 x - b) / w1 = (-1 * 2 - 0.5) / 0.5
    ys = decision_boundary(t64([1.0, 0.5]), t64([0.5]), t64([2.0]))
    torch.testing.assert_close(ys, t64([-5.0]), rtol=0, atol=0)


@pytest.mark.claim("FEAT-NORM.intended")
def test_normalize_and_design_matrix_take_bool_pixels_as_0_and_1():
    """A bool vector or image counts True as 1 (torch's own bool -> float conversion)."""
    v = torch.tensor([True, False, True, True])
    torch.testing.assert_close(normalize(v), normalize(v.to(F32)), rtol=0, atol=0)
    images = torch.tensor([[[True, False], [True, True]], [[False, True], [False, True]]])
    as_float = images.to(F64)
    torch.testing.assert_close(design_matrix(images), design_matrix(as_float), rtol=0, atol=0)
    torch.testing.assert_close(
        design_matrix(list(images), dim=1), design_matrix(as_float, dim=1), rtol=0, atol=0
    )


@pytest.mark.claim("GD-RULE")
def test_descend_and_quadratic_regime_take_0d_tensors_for_numbers():
    """x0, lr, curvature and grad's value may be 0-d tensors; the path is of floats:
    x1 = 1 - 0.25 * 2 = 0.5, x2 = 0.5 - 0.25 * 1 = 0.25."""
    path = descend(lambda x: torch.tensor(2.0 * float(x)), t64(1.0), t64(0.25), 2)
    assert path == [1.0, 0.5, 0.25]
    assert quadratic_regime(t64(0.5), t64(2.0)) == "one-step"


@pytest.mark.claim("FEAT-NORM.intended")
def test_normalize_survives_a_sum_beyond_the_dtype():
    """3e38 + 3e38 overflows float32 although both entries are finite: the result is still
    v / sum(v) = (1/2, 1/2, 0), in float32, and integer input gives float32 too."""
    result = normalize(t32([3e38, 3e38, 0.0]))
    torch.testing.assert_close(result, t32([0.5, 0.5, 0.0]), rtol=0, atol=0)
    torch.testing.assert_close(normalize(ints([1, 3])), t32([0.25, 0.75]), rtol=0, atol=0)


@pytest.mark.claim("GD-RULE")
def test_descend_in_float64_keeps_every_bit_of_x0_and_of_a_python_number_gradient():
    """With dtype=torch.float64 neither x0 = 0.1 nor a derivative 0.1 returned as a Python
    float goes through float32: the path is the float64 arithmetic written out."""
    assert descend(lambda x: 0.0, 0.1, 1.0, 1, dtype=F64) == [0.1, 0.1]
    assert descend(lambda x: 0.1, 1.0, 1.0, 2, dtype=F64) == [1.0, 1.0 - 0.1, 1.0 - 0.1 - 0.1]
    # a float32 path rounds every iterate to float32 (torch's own rounding as the oracle)
    expected = torch.tensor(1.0, dtype=F32) - torch.tensor(0.1, dtype=F32)
    assert descend(lambda x: 0.1, 1.0, 1.0, 1, dtype=F32) == [1.0, expected.item()]


@pytest.mark.claim("LOG-TRAIN.fit")
@pytest.mark.parametrize(("n_samples", "features"), [(6, 3), (7, 3), (1, 1), (3, 1)])
def test_train_logistic_initial_parameters_come_after_the_replayed_data_draws(
    n_samples: int, features: int
):
    """The program seeds torch, draws the two blobs of max(len(x) // 2, 1) points each
    ([n, 2] normals, twice) and only then builds nn.Linear(d, 1): restated with the global
    generator (forked), for 3 features and for one, one sample too, float64 inputs."""
    x = torch.linspace(-1.0, 1.0, n_samples * features, dtype=F64).reshape(n_samples, features)
    y = (torch.arange(n_samples) % 2).to(F64)
    result = train_logistic(x, y, max_iters=1, seed=5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        ones = torch.ones(max(n_samples // 2, 1), 2)
        torch.normal(0.0 * ones, 1.0)
        torch.normal(-0.0 * ones, 1.0)
        linear = nn.Linear(features, 1)
    expected_weight = linear.weight.detach()[0].to(F64)
    expected_bias = linear.bias.detach()[0].to(F64)
    torch.testing.assert_close(result.initial_weight, expected_weight, rtol=0, atol=0)
    torch.testing.assert_close(result.initial_bias, expected_bias, rtol=0, atol=0)


@pytest.mark.claim("LOG-TRAIN.fit")
def test_train_logistic_result_has_the_documented_kinds_and_shapes():
    """Histories are float64 with one entry per iteration; weight is [d] and bias 0-d in the
    dtype of x; a run that never passes its check has stop_iteration None. The first loss is
    nn.BCELoss of the initial model (restated from the initial parameters)."""
    x, y = two_blobs(n_per_class=5, seed=1)
    result = train_logistic(x, y, max_iters=4, target_accuracy=1.0)
    assert result.iterations == 4
    assert result.stop_iteration is None
    assert result.converged is False
    for history in (result.loss_history, result.accuracy_history, result.grad_norm_history):
        assert history.dtype == F64
        assert tuple(history.shape) == (4,)
    assert tuple(result.weight.shape) == (2,)
    assert result.weight.dtype == F32
    assert tuple(result.bias.shape) == ()
    assert tuple(result.initial_weight.shape) == (2,)
    assert tuple(result.initial_bias.shape) == ()
    assert result.loss == float(result.loss_history[-1])
    assert result.accuracy == float(result.accuracy_history[-1])
    p0 = torch.sigmoid(x @ result.initial_weight + result.initial_bias)
    expected_first_loss = nn.BCELoss()(p0, y)
    assert float(result.loss_history[0]) == pytest.approx(float(expected_first_loss), rel=1e-6)
    right = int(((p0 >= 0.5) == y.bool()).sum())
    assert float(result.accuracy_history[0]) == right / 10


@pytest.mark.claim("LOG-TRAIN.fit")
def test_train_logistic_stops_only_strictly_above_the_target_and_measures_the_gradient():
    """Far-apart blobs reach accuracy 1 within a few steps at lr 1, yet target 1.0 is never
    exceeded, so all 15 iterations run. The first gradient norm is the norm of
    (mean((p - y) x), mean(p - y)) at the initial parameters, restated; labels of another
    dtype than x train the same model."""
    x, y = two_blobs(n_per_class=5, mean_value=4.0, seed=1)
    x = x.to(F64)
    result = train_logistic(x, y, lr=1.0, max_iters=15, target_accuracy=1.0)
    assert result.iterations == 15
    assert result.stop_iteration is None
    assert float(result.accuracy_history[-1]) == 1.0
    p0 = torch.sigmoid(x @ result.initial_weight + result.initial_bias)
    residual = p0 - y.to(F64)
    gradient = torch.cat(((residual[:, None] * x).mean(0), residual.mean().reshape(1)))
    torch.testing.assert_close(result.grad_norm_history[0], gradient.norm(), rtol=1e-12, atol=0)
    with_int_labels = train_logistic(x, y.long(), lr=1.0, max_iters=15, target_accuracy=1.0)
    torch.testing.assert_close(with_int_labels.loss_history, result.loss_history, rtol=0, atol=0)
    torch.testing.assert_close(with_int_labels.weight, result.weight, rtol=0, atol=0)


@pytest.mark.claim("LS-EXACT")
def test_solvers_handle_subnormal_systems_by_exact_power_of_two_scaling():
    """A system scaled by 2**-1060 (subnormal entries, few significant bits left) has the
    solution of the unscaled system times 2**(1060 - 50) when y is scaled by 2**-50:
    numpy solves the unscaled system, math.ldexp applies the exact scaling."""
    A0 = np.array([[2.0, 1.0], [1.0, 3.0]])
    b0 = np.array([3.0, 5.0])
    A = torch.from_numpy(np.ldexp(A0, -1060))
    b = torch.from_numpy(np.ldexp(b0, -50))
    expected = np.ldexp(np.linalg.solve(A0, b0), 1010)
    np.testing.assert_allclose(solve_exact(A, b).numpy(), expected, rtol=1e-14)
    X0 = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    y0 = np.array([1.0, 2.5, 2.9])
    X = torch.from_numpy(np.ldexp(X0, -1060))
    y = torch.from_numpy(np.ldexp(y0, -50))
    expected_ls = np.ldexp(np.linalg.lstsq(X0, y0, rcond=None)[0], 1010)
    np.testing.assert_allclose(least_squares(X, y).numpy(), expected_ls, rtol=1e-12)
    # and the other way: entries of 2**1000 with targets of 2**1010
    X_big = torch.from_numpy(np.ldexp(X0, 1000))
    y_big = torch.from_numpy(np.ldexp(y0, 1010))
    expected_big = np.ldexp(np.linalg.lstsq(X0, y0, rcond=None)[0], 10)
    np.testing.assert_allclose(least_squares(X_big, y_big).numpy(), expected_big, rtol=1e-12)


@pytest.mark.claim("LOG-MODEL.classify")
def test_the_closed_ends_of_the_ranges_are_accepted():
    """threshold in [0, 1] (both ends), momentum in [0, 1) (0 included, plain SGD) and
    target_accuracy in [0, 1] (both ends) are accepted."""
    assert accuracy(t64([1.0, 0.99]), t64([1.0, 0.0]), threshold=1.0) == 1.0
    assert accuracy(t64([0.0, 0.3]), t64([1.0, 1.0]), threshold=0.0) == 1.0
    x, y = two_blobs(n_per_class=2, seed=4)
    plain = train_logistic(x, y, momentum=0, max_iters=2, target_accuracy=1.0)
    assert plain.iterations == 2
    # target 0: any iteration with one right prediction passes, so the stop is at the
    # first iteration whose accuracy is above 0
    first = train_logistic(x, y, max_iters=50, target_accuracy=0)
    assert first.stop_iteration == next(
        i for i, acc in enumerate(first.accuracy_history.tolist()) if acc > 0
    )


@pytest.mark.claim("LS-DIGITS")
def test_predict_is_in_the_promoted_dtype_and_float64_for_integers():
    """torch.promote_types decides the dtype, except that integer inputs give float64."""
    torch.testing.assert_close(predict(ints([[1, 2]]), ints([3, 4])), t64([11.0]), rtol=0, atol=0)
    torch.testing.assert_close(predict(t32([[1.5, 2.0]]), t32([2.0, 1.0])), t32([5.0]))
    torch.testing.assert_close(predict(t32([[1.5, 2.0]]), t64([2.0, 1.0])), t64([5.0]))
    torch.testing.assert_close(predict(ints([[1, 2]]), t32([[2.0], [1.0]])), t32([[4.0]]))


@pytest.mark.claim("GD-RULE")
def test_descend_in_float32_rounds_a_float64_tensor_gradient_to_float32():
    """The iterates stay in the requested dtype even when grad answers in another one:
    x1 = 1 - 0.1 * 2 computed in float32 (torch's float32 arithmetic as the oracle)."""
    path = descend(lambda x: 2.0 * x.to(F64), 1.0, 0.1, 1, dtype=F32)
    expected = torch.tensor(1.0, dtype=F32) - 0.1 * torch.tensor(2.0, dtype=F32)
    assert path == [1.0, expected.item()]
    assert path[1] != 0.8  # float64 arithmetic would give 0.8 exactly


@pytest.mark.claim("LOG-MODEL.classify")
@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.int8, torch.uint8])
def test_classify_gives_int64_classes_for_every_integer_dtype(dtype: torch.dtype) -> None:
    """Documented: an int64 tensor of the same shape, whatever the real input dtype; integers
    are their own nearest integer, so only the clamp to [0, 9] acts."""
    values = [0, 3, 9, 12] if dtype == torch.uint8 else [-4, 0, 3, 9, 12]
    expected = [min(9, max(0, v)) for v in values]
    classes = classify(torch.tensor(values, dtype=dtype))
    assert classes.dtype == torch.int64
    assert classes.tolist() == expected
