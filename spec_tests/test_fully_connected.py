"""Chapter 9 — the fully connected layer (claims FC-*).

Oracles: torch autograd and ``torch.autograd.gradcheck``, the torch modules nn.Linear and
nn.Conv2d, numpy, and small examples worked out by hand in the comments. Shapes of the
7x7x512 -> 4096 case are checked on PyTorch's "meta" device, which computes shapes without
allocating the 100 million weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference.fc import (
    FullyConnected,
    fc_backward,
    fully_connected,
    linear_to_conv2d,
)

F64 = torch.float64
sizes = st.integers(min_value=1, max_value=6)


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.fixture(autouse=True)
def _own_global_rng():
    """Some specs build torch modules, whose initializers draw from the global generator:
    give every spec here a fresh, seeded global generator and restore the caller's after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


# ------------------------------------------------------------------------ FC-DEF


@pytest.mark.claim("FC-DEF")
def test_each_output_is_a_weighted_sum_of_all_inputs_plus_bias_by_hand():
    # w = [[1, 2], [3, 4], [5, 6]] (in = 3, out = 2), b = [10, 20], x = [1, 0, -1]
    # y_0 = 1*1 + 0*3 + (-1)*5 + 10 = 6,  y_1 = 1*2 + 0*4 + (-1)*6 + 20 = 16
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=F64)
    b = torch.tensor([10.0, 20.0], dtype=F64)
    x = torch.tensor([1.0, 0.0, -1.0], dtype=F64)
    assert fully_connected(x, w, b).tolist() == [6.0, 16.0]


@pytest.mark.claim("FC-DEF")
@given(sizes, sizes)
@settings(max_examples=20)
def test_every_output_depends_on_every_input(n_in, n_out):
    layer = FullyConnected(n_in, n_out, seed=n_in * 10 + n_out).double()
    x = randn(n_in, seed=1)
    jacobian = torch.autograd.functional.jacobian(layer, x)  # [out, in]
    # dy_j / dx_i = w_ij: the Jacobian is w transposed, and with normal random weights no
    # entry is zero, so every output is connected to every input
    torch.testing.assert_close(jacobian, layer.w.detach().T, rtol=1e-12, atol=0)
    assert bool((jacobian != 0).all())


# ------------------------------------------------------------------------ FC-BACKWARD


@pytest.mark.claim("FC-BACKWARD")
def test_three_gradients_by_hand():
    # Y = X W + b with X = [[1, 2]], W = [[1, 0, -1], [2, 1, 0]], G = dL/dY = [[1, 1, 1]]:
    # dL/dX = G W^T = [[1 + 0 - 1, 2 + 1 + 0]] = [[0, 3]]
    # dL/dW = X^T G = [[1, 1, 1], [2, 2, 2]];  dL/db = column sums of G = [1, 1, 1]
    x = torch.tensor([[1.0, 2.0]], dtype=F64)
    w = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], dtype=F64)
    g = torch.ones(1, 3, dtype=F64)
    grad_x, grad_w, grad_b = fc_backward(x, w, g)
    assert grad_x.tolist() == [[0.0, 3.0]]
    assert grad_w.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    assert grad_b.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.claim("FC-BACKWARD")
@given(sizes, sizes, sizes, st.integers(min_value=0, max_value=2**16))
@settings(max_examples=30)
def test_hand_written_backward_equals_autograd_on_random_shapes(batch, n_in, n_out, seed):
    x = randn(batch, n_in, seed=seed).requires_grad_()
    w = randn(n_in, n_out, seed=seed + 1).requires_grad_()
    b = randn(n_out, seed=seed + 2).requires_grad_()
    g = randn(batch, n_out, seed=seed + 3)
    (x @ w + b).backward(g)  # autograd's gradients of sum(Y * G) = what G pulls back
    grad_x, grad_w, grad_b = fc_backward(x.detach(), w.detach(), g)
    torch.testing.assert_close(grad_x, x.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad_w, w.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad_b, b.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("FC-BACKWARD")
def test_hand_written_backward_passes_gradcheck_in_float64():
    x = randn(4, 3, seed=11).requires_grad_()
    w = randn(3, 5, seed=12).requires_grad_()
    b = randn(5, seed=13).requires_grad_()
    # fully_connected's backward is fc_backward; gradcheck compares it to finite differences
    assert torch.autograd.gradcheck(fully_connected, (x, w, b), eps=1e-6, atol=1e-8, rtol=1e-6)
    assert torch.autograd.gradcheck(fully_connected, (x[0].detach().requires_grad_(), w, b))


@pytest.mark.claim("FC-BACKWARD")
def test_fc_backward_rejects_mismatched_shapes_and_types():
    x, w, g = torch.ones(4, 3), torch.ones(3, 2), torch.ones(4, 2)
    with pytest.raises(ValueError, match="x has 3 features but w expects 5"):
        fc_backward(x, torch.ones(5, 2), g)
    with pytest.raises(ValueError, match=r"grad_out must have shape \[4, 2\]"):
        fc_backward(x, w, torch.ones(4, 3))
    with pytest.raises(ValueError, match="w must be 2-D"):
        fc_backward(x, torch.ones(3), g)
    with pytest.raises(TypeError, match="must share a dtype"):
        fc_backward(x, w.double(), g)
    with pytest.raises(TypeError, match=r"grad_out must be a torch\.Tensor"):
        fc_backward(x, w, np.ones((4, 2)))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        fc_backward(x.long(), w, g)


# ------------------------------------------------------------------------ FC-MATMUL


@pytest.mark.claim("FC-MATMUL")
def test_w_3x2_b_2_on_ones_3_gives_shape_2_column_sums_plus_b():
    layer = FullyConnected(3, 2, seed=0)
    assert tuple(layer.w.shape) == (3, 2)
    assert tuple(layer.b.shape) == (2,)
    y = layer(torch.ones(3))
    assert tuple(y.shape) == (2,)
    # W^T 1 = the column sums of W (numpy oracle)
    w, b = layer.w.detach().numpy(), layer.b.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), w.sum(axis=0) + b, rtol=1e-6)
    # the literal form w^T x + b agrees for a single sample
    torch.testing.assert_close(y, layer.w.t() @ torch.ones(3) + layer.b, rtol=1e-6, atol=1e-6)


@pytest.mark.claim("FC-MATMUL")
def test_literal_w_transpose_x_fails_on_a_batch_where_x_w_plus_b_works():
    layer = FullyConnected(3, 2, seed=0)
    batch = torch.ones(5, 3)
    # w^T [2, 3] @ x [5, 3] does not fit: the column-vector formula needs x @ w for rows.
    # (torch's wording changes between releases; "cannot be multiplied" is stable.)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        layer.w.t() @ batch + layer.b
    assert tuple(layer(batch).shape) == (5, 2)


@pytest.mark.claim("FC-MATMUL")
def test_fully_connected_equals_nn_linear_with_the_weight_transposed():
    layer = FullyConnected(4, 3, seed=5).double()
    linear = nn.Linear(4, 3).double()
    with torch.no_grad():
        linear.weight.copy_(layer.w.T)  # nn.Linear stores [out, in], FullyConnected [in, out]
        linear.bias.copy_(layer.b)
    x = randn(6, 4, seed=9)
    torch.testing.assert_close(layer(x), linear(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(layer(x[0]), linear(x[0]), rtol=1e-12, atol=1e-12)


@pytest.mark.claim("FC-MATMUL")
def test_fully_connected_seed_is_reproducible_and_private():
    before = torch.random.get_rng_state()
    first, second = FullyConnected(3, 2, seed=1), FullyConnected(3, 2, seed=1)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(first.w, second.w)
    assert torch.equal(first.b, second.b)


@pytest.mark.claim("FC-MATMUL")
def test_fully_connected_rejects_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="in_features must be >= 1"):
        FullyConnected(0, 2)
    with pytest.raises(TypeError, match="out_features must be an int"):
        FullyConnected(3, 2.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        FullyConnected(3, 2, seed="1")
    layer = FullyConnected(3, 2, seed=0)
    with pytest.raises(ValueError, match=r"x must have shape \[\.\.\., 3\]"):
        layer(torch.ones(4))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        layer(torch.ones(3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"b must have shape \[2\]"):
        fully_connected(torch.ones(3), torch.ones(3, 2), torch.ones(3))


# ------------------------------------------------------------------------ FC-LINEAR.shapes


@pytest.mark.claim("FC-LINEAR.shapes")
@pytest.mark.parametrize(("batch", "n_in", "n_out"), [(1, 1, 1), (8, 5, 3), (2, 10, 7)])
def test_nn_linear_maps_batch_by_in_to_batch_by_out(batch, n_in, n_out):
    linear = nn.Linear(n_in, n_out, bias=True)
    out = linear(torch.zeros(batch, n_in))
    assert tuple(out.shape) == (batch, n_out)
    # with a zero input only the bias is left
    torch.testing.assert_close(out, linear.bias.expand(batch, n_out), rtol=0, atol=0)


@pytest.mark.claim("FC-LINEAR.shapes")
def test_64x64x3_image_viewed_as_1x12288_gives_1x1():
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        linear = nn.Linear(64 * 64 * 3, 1)
    image = torch.randn(1, 64, 64, 3, generator=gen)
    out = linear(image.view(1, 64 * 64 * 3))
    assert tuple(out.shape) == (1, 1)
    expected = image.reshape(-1).double() @ linear.weight[0].double() + linear.bias.double()
    torch.testing.assert_close(out[0].double(), expected.detach(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------ FC-LINEAR.two-d


@pytest.mark.claim("FC-LINEAR.two-d")
def test_nn_linear_takes_a_4d_input_and_acts_on_the_last_dimension():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        linear = nn.Linear(3, 5)
    image = torch.randn(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    out = linear(image)  # no flattening, no error
    assert tuple(out.shape) == (1, 64, 64, 5)
    # the same map applied to every pixel's 3 values: x W^T + b on the last axis (numpy)
    weight, bias = linear.weight.detach().double().numpy(), linear.bias.detach().double().numpy()
    by_pixel = image.double().numpy() @ weight.T + bias
    np.testing.assert_allclose(out.detach().double().numpy(), by_pixel, rtol=1e-5, atol=1e-6)


@pytest.mark.claim("FC-LINEAR.two-d")
def test_nn_linear_takes_a_single_1d_sample():
    linear = nn.Linear(3, 2).double()
    x = randn(3, seed=4)
    out = linear(x)
    assert tuple(out.shape) == (2,)
    # W x + b with W stored [out, in] (numpy oracle)
    expected = linear.weight.detach().numpy() @ x.numpy() + linear.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("FC-LINEAR.two-d")
def test_the_image_must_be_flattened_only_because_its_last_dim_is_not_in_features(ledger_extra):
    linear = nn.Linear(64 * 64 * 3, 1)
    image = torch.zeros(1, 64, 64, 3)
    # last dim 3 != in_features 12288: the product does not fit (stable fragment of torch's
    # message; its full wording changes between releases, the ledger keeps this run's)
    with pytest.raises(RuntimeError, match="cannot be multiplied") as error:
        linear(image)
    ledger_extra("message", str(error.value))
    # any leading shape works once the last dim matches, 2-D or not
    assert tuple(linear(torch.zeros(1, 12288)).shape) == (1, 1)
    assert tuple(linear(torch.zeros(2, 3, 12288)).shape) == (2, 3, 1)
    assert tuple(linear(torch.zeros(12288)).shape) == (1,)


@pytest.mark.claim("FC-LINEAR.two-d")
def test_reference_fully_connected_also_accepts_any_leading_shape():
    layer = FullyConnected(3, 5, seed=2).double()
    x = randn(2, 4, 6, 3, seed=3)
    out = layer(x)
    assert tuple(out.shape) == (2, 4, 6, 5)
    torch.testing.assert_close(out[1, 2, 3], layer(x[1, 2, 3]), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ FC-CONV


@pytest.mark.claim("FC-CONV")
def test_full_size_conv_equals_linear_on_the_flattened_input_3x3x4_to_5():
    gen = torch.Generator().manual_seed(21)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(21)
        linear = nn.Linear(4 * 3 * 3, 5).double()
    conv = linear_to_conv2d(linear, channels=4, height=3, width=3)
    assert tuple(conv.weight.shape) == (5, 4, 3, 3)  # 5 filters, each 4 kernels of 3x3
    x = torch.randn(2, 4, 3, 3, generator=gen, dtype=F64)
    out = conv(x)
    assert tuple(out.shape) == (2, 5, 1, 1)  # a 1x1 map per filter
    torch.testing.assert_close(out.flatten(1), linear(x.flatten(1)), rtol=1e-12, atol=1e-12)
    # oracle independent of the conversion: the sum over c, h, w written out with einsum
    kernel = linear.weight.reshape(5, 4, 3, 3)
    by_hand = torch.einsum("nchw,ochw->no", x, kernel) + linear.bias
    torch.testing.assert_close(out.flatten(1), by_hand, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("FC-CONV")
def test_a_conv_with_a_smaller_kernel_is_not_fully_connected():
    # with a 2x2 kernel on the 3x3 input the output is a 2x2 map: each output value sees
    # only 2x2 of the 3x3 positions, so it is not the fully connected layer
    conv = nn.Conv2d(4, 5, kernel_size=2, device="meta")
    assert tuple(conv(torch.empty(1, 4, 3, 3, device="meta")).shape) == (1, 5, 2, 2)


@pytest.mark.claim("FC-CONV")
def test_7x7x512_to_4096_is_4096_filters_of_512_kernels_7x7_with_a_1x1_output():
    conv = nn.Conv2d(512, 4096, kernel_size=7, device="meta")
    linear = nn.Linear(7 * 7 * 512, 4096, device="meta")
    assert tuple(conv.weight.shape) == (4096, 512, 7, 7)
    assert tuple(conv(torch.empty(1, 512, 7, 7, device="meta")).shape) == (1, 4096, 1, 1)
    # the same number of parameters: 4096 * 512 * 7 * 7 weights + 4096 biases
    n_conv = sum(p.numel() for p in conv.parameters())
    assert n_conv == sum(p.numel() for p in linear.parameters()) == 4096 * 25088 + 4096
    assert n_conv == 102_764_544


@pytest.mark.claim("FC-CONV")
def test_linear_to_conv2d_rejects_a_size_mismatch():
    with pytest.raises(ValueError, match=r"must equal linear\.in_features = 36"):
        linear_to_conv2d(nn.Linear(36, 5), 4, 3, 2)
    with pytest.raises(TypeError, match=r"linear must be an nn\.Linear"):
        linear_to_conv2d(nn.Conv2d(1, 1, 1), 1, 1, 1)
    with pytest.raises(ValueError, match="height must be >= 1"):
        linear_to_conv2d(nn.Linear(36, 5), 4, 0, 3)


@pytest.mark.claim("FC-DEF")
def test_an_overflowing_layer_output_is_refused_with_the_sentence_naming_it():
    # every input finite, but 1e200 * 1e200 overflows float64: a ValueError, not an inf
    x = torch.full((1, 2), 1e200, dtype=torch.float64)
    w = torch.full((2, 1), 1e200, dtype=torch.float64)
    b = torch.zeros(1, dtype=torch.float64)
    with pytest.raises(
        ValueError, match=r"^x @ w \+ b overflows torch\.float64 .*: x, w or b is too large"
    ):
        fully_connected(x, w, b)
