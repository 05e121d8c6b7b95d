"""Specs of the autograd chapter, part 1: backward, its argument, higher derivatives,
retain_graph, accumulation, and requires_grad propagation.

Every expected value is derived by hand in the spec (chain rule in the comments) or stated by
the claim; the engine under test is reached only through the ``backend`` fixture, and every
differentiable example is also checked numerically with gradcheck in float64.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from backends import assert_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The backend fixture is stateless, so sharing it across hypothesis examples is safe.
PROPERTY = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
SMALL = st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 3))


# ---------------------------------------------------------------- AG-SCALAR


@pytest.mark.claim("AG-SCALAR")
def test_scalar_backward_gives_six_times_x_plus_two(backend):
    # y = 3 (x + 2)^2  =>  dy/dx = 6 (x + 2) = 6 * 3 = 18 at x = 1.
    x = backend.ones(1, 1, requires_grad=True)
    y = (x + 2) * (x + 2) * 3
    y.backward()  # y has shape [1, 1]: one element counts as a scalar
    assert_values(backend, x.grad, [[18.0]], rtol=0, atol=0)

    # 1x2 case: z = sum_i 3 (x_i + 2)^2, dz/dx_i = 6 (x_i + 2) = 18 for each entry.
    x2 = backend.ones(1, 2, requires_grad=True)
    z = ((x2 + 2) * (x2 + 2) * 3).sum()
    z.backward()
    assert_values(backend, x2.grad, [[18.0, 18.0]], rtol=0, atol=0)

    x64 = backend.ones(1, 2, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: (t + 2) * (t + 2) * 3, [x64])


@PROPERTY
@given(x0=SMALL, x1=SMALL)
@pytest.mark.claim("AG-SCALAR")
def test_gradient_of_three_times_square_is_six_times_x_plus_two(backend, x0, x1):
    # The same derivation at any point: d/dx_i sum_j 3 (x_j + 2)^2 = 6 (x_i + 2).
    x = backend.tensor([[x0, x1]], requires_grad=True, dtype=backend.float64)
    ((x + 2) * (x + 2) * 3).sum().backward()
    assert_values(backend, x.grad, [[6 * (x0 + 2), 6 * (x1 + 2)]], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- AG-NONSCALAR


@pytest.mark.claim("AG-NONSCALAR")
def test_backward_on_vector_without_gradient_fails(backend, ledger_extra):
    x = backend.ones(2, requires_grad=True)
    y = x * 2
    # Stable fragment of the torch message (the full text is recorded in the ledger).
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar") as e:
        y.backward()
    ledger_extra("message", str(e.value))
    assert x.grad is None  # nothing was accumulated by the failed call

    # A scalar needs no argument: d/dx_i sum_j 2 x_j = 2.
    y.sum().backward()
    assert_values(backend, x.grad, [2.0, 2.0], rtol=0, atol=0)


# ---------------------------------------------------------------- AG-SIMPLE


@pytest.mark.claim("AG-SIMPLE")
def test_squared_error_of_one_weight_has_gradient_minus_two(backend):
    # loss = (w x - y)^2  =>  dloss/dw = 2 (w x - y) x = 2 (1 - 2) 1 = -2.
    x = backend.tensor(1.0)
    y = backend.tensor(2.0)
    w = backend.tensor(1.0, requires_grad=True)
    loss = (w * x - y) ** 2
    loss.backward()
    assert_values(backend, loss, 1.0, rtol=0, atol=0)  # (1 - 2)^2
    assert_values(backend, w.grad, -2.0, rtol=0, atol=0)

    w64 = backend.tensor(1.0, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: (t * 1.0 - 2.0) ** 2, [w64])


@pytest.mark.claim("AG-SIMPLE")
def test_vector_squared_error_cannot_backward(backend):
    x = backend.tensor([1.0, 2.0])
    y = backend.tensor([1.0, 2.0])
    w = backend.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * x - y) ** 2  # elementwise: [(1 - 1)^2, (4 - 2)^2] = [0, 4], a vector
    assert_values(backend, loss, [0.0, 4.0], rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):  # stable fragment
        loss.backward()


# ---------------------------------------------------------------- AG-GRAD-TENSORS


def _two_heads(backend, w, x):
    a = w + x
    b = w + 1
    return backend.cat([a * b, a + b])


@pytest.mark.claim("AG-GRAD-TENSORS")
def test_backward_with_gradient_weights_the_outputs(backend):
    # a = w + x = 3, b = w + 1 = 2.
    # y0 = a b:  dy0/dw = b + a = 5, dy0/dx = b = 2.
    # y1 = a + b: dy1/dw = 1 + 1 = 2, dy1/dx = 1.
    # backward(v) with v = [1, 2] is the gradient of v0 y0 + v1 y1:
    #   w.grad = 1*5 + 2*2 = 9,  x.grad = 1*2 + 2*1 = 4.
    w = backend.tensor([1.0], requires_grad=True)
    x = backend.tensor([2.0], requires_grad=True)
    loss = _two_heads(backend, w, x)
    loss.backward(gradient=backend.tensor([1.0, 2.0]))
    assert_values(backend, w.grad, [9.0], rtol=0, atol=0)
    assert_values(backend, x.grad, [4.0], rtol=0, atol=0)

    # The same numbers come from a plain backward of the scalar sum(y * v).
    w2 = backend.tensor([1.0], requires_grad=True)
    x2 = backend.tensor([2.0], requires_grad=True)
    (_two_heads(backend, w2, x2) * backend.tensor([1.0, 2.0])).sum().backward()
    assert_values(backend, w2.grad, [9.0], rtol=0, atol=0)
    assert_values(backend, x2.grad, [4.0], rtol=0, atol=0)

    w64 = backend.tensor([1.0], requires_grad=True, dtype=backend.float64)
    x64 = backend.tensor([2.0], requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda a, b: _two_heads(backend, a, b), [w64, x64])


@PROPERTY
@given(w0=SMALL, x0=SMALL, v0=SMALL, v1=SMALL)
@pytest.mark.claim("AG-GRAD-TENSORS")
def test_backward_with_any_weights_is_the_weighted_sum_of_gradients(backend, w0, x0, v0, v1):
    # y0 = (w + x)(w + 1): dy0/dw = (w + 1) + (w + x) = 2w + x + 1, dy0/dx = w + 1.
    # y1 = (w + x) + (w + 1): dy1/dw = 2, dy1/dx = 1.
    w = backend.tensor([w0], requires_grad=True, dtype=backend.float64)
    x = backend.tensor([x0], requires_grad=True, dtype=backend.float64)
    _two_heads(backend, w, x).backward(gradient=backend.tensor([v0, v1], dtype=backend.float64))
    assert_values(backend, w.grad, [v0 * (2 * w0 + x0 + 1) + v1 * 2], rtol=1e-12, atol=1e-12)
    assert_values(backend, x.grad, [v0 * (w0 + 1) + v1 * 1], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- AG-HIGHER


@pytest.mark.claim("AG-HIGHER")
def test_second_derivative_of_square_via_create_graph(backend):
    # y = x^2: dy/dx = 2x = 6 at x = 3; d2y/dx2 = 2.
    x = backend.tensor([3.0], requires_grad=True)
    y = x**2
    first = backend.grad(y, x, create_graph=True)
    assert isinstance(first, tuple)
    assert len(first) == 1
    assert_values(backend, first[0], [6.0], rtol=0, atol=0)
    assert first[0].grad_fn is not None  # the derivative is itself differentiable
    assert first[0].grad_fn.name() == "MulBackward0"  # as the source prints it
    second = backend.grad(first[0], x)
    assert len(second) == 1
    assert_values(backend, second[0], [2.0], rtol=0, atol=0)
    assert second[0].grad_fn is None  # no create_graph the second time

    x64 = backend.tensor([3.0], requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: t**2, [x64])
    assert backend.gradgradcheck(lambda t: t**2, [x64])


# ---------------------------------------------------------------- AG-RETAIN-GRAPH


def _mul_graph(backend):
    w = backend.tensor([1.0], requires_grad=True)
    x = backend.tensor([2.0], requires_grad=True)
    return w, (w + x) * (w + 1)


@pytest.mark.claim("AG-RETAIN-GRAPH.second")
def test_second_backward_without_retain_graph_fails(backend, ledger_extra):
    w, y = _mul_graph(backend)
    y.backward()
    # Stable fragment; the full text of the torch that ran is recorded in the ledger.
    with pytest.raises(RuntimeError, match="backward through the graph a second time") as e:
        y.backward()
    ledger_extra("message", str(e.value))
    assert_values(backend, w.grad, [5.0], rtol=0, atol=0)  # only the first call counted


@pytest.mark.claim("AG-RETAIN-GRAPH.second")
def test_second_backward_with_retain_graph_accumulates(backend):
    # dy/dw = (w + 1) + (w + x) = 2 + 3 = 5 per call; two calls accumulate to 10.
    w, y = _mul_graph(backend)
    y.backward(retain_graph=True)
    y.backward()
    assert_values(backend, w.grad, [10.0], rtol=0, atol=0)


def _ag_graph(backend):
    inp = backend.ones(3, 3)
    w1 = backend.tensor(2.0, requires_grad=True)
    w2 = backend.tensor(3.0)
    w3 = backend.tensor(3.0, requires_grad=True)
    l1 = inp * w1
    l2 = l1 + w2
    l3 = l1 * w3
    l4 = l2 * l3
    return w1, w3, l1, l4


@pytest.mark.claim("AG-RETAIN-GRAPH.new-head")
def test_new_loss_on_already_used_graph_fails(backend):
    _, _, _, l4 = _ag_graph(backend)
    l4.mean().backward()
    loss = l4.mean()  # a new MeanBackward0 node, but on top of the freed MulBackward0 of l4
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


@pytest.mark.claim("AG-RETAIN-GRAPH.new-head")
def test_new_loss_works_when_first_backward_retained_the_graph(backend):
    # dloss/dw1 = 21 for each backward (see the AG-GRAPH spec); two calls give 42.
    w1, _, _, l4 = _ag_graph(backend)
    l4.mean().backward(retain_graph=True)
    l4.mean().backward()
    assert_values(backend, w1.grad, 42.0, rtol=1e-6, atol=0)


@pytest.mark.claim("AG-RETAIN-GRAPH.no-saved")
def test_graph_without_saved_tensors_backwards_twice(backend):
    # s = sum(w + 1) saves no intermediate value (the derivative of an addition and of a sum
    # is a constant), so nothing is freed and the second backward succeeds - the rule "a
    # second backward always fails" does not hold. ds/dw = 1 per call, accumulated: 1, then 2.
    w = backend.tensor([1.0], requires_grad=True)
    s = (w + 1).sum()
    s.backward()
    assert_values(backend, w.grad, [1.0], rtol=0, atol=0)
    s.backward()  # no retain_graph, no error
    assert_values(backend, w.grad, [2.0], rtol=0, atol=0)


# ---------------------------------------------------------------- AG-ACCUM


def _accum_run(backend, *, zero: bool) -> list[float]:
    w = backend.tensor([1.0], requires_grad=True)
    x = backend.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(4):
        y = (w + x) * (w + 1)
        y.backward()
        seen.append(backend.values(w.grad)[0])
        if zero:
            w.grad.zero_()
    return seen


@pytest.mark.claim("AG-ACCUM.accumulates")
def test_gradients_accumulate_over_four_backwards(backend):
    # dy/dw = (w + 1) + (w + x) = 2 + 3 = 5 per call; k calls leave 5k.
    assert _accum_run(backend, zero=False) == [5.0, 10.0, 15.0, 20.0]

    w64 = backend.tensor([1.0], requires_grad=True, dtype=backend.float64)
    x64 = backend.tensor([2.0], requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda a, b: (a + b) * (a + 1), [w64, x64])


@pytest.mark.claim("AG-ACCUM.zeroed")
def test_zeroing_after_each_backward_gives_five_every_time(backend):
    assert _accum_run(backend, zero=True) == [5.0, 5.0, 5.0, 5.0]


# ---------------------------------------------------------------- AG-ACCUM-MEAN


@pytest.mark.claim("AG-ACCUM-MEAN")
def test_mean_then_sum_accumulate_to_five_and_a_half(backend):
    # out = (1/4) sum_ij 3 (x_ij + 2)^2  =>  dout/dx_ij = (1/4) 6 (x_ij + 2) = 18/4 = 4.5.
    # out2 = sum_ij x_ij  =>  dout2/dx_ij = 1; accumulated: 4.5 + 1 = 5.5.
    first = Fraction(6 * 3, 4)
    x = backend.ones(2, 2, requires_grad=True)
    y = x + 2
    out = (y * y * 3).mean()
    out.backward()
    assert_values(backend, x.grad, [[float(first)] * 2] * 2, rtol=0, atol=0)
    x.sum().backward()
    assert_values(backend, x.grad, [[float(first + 1)] * 2] * 2, rtol=0, atol=0)
    assert float(first + 1) == 5.5  # the value the source prints
    x.grad.zero_()
    x.sum().backward()
    assert_values(backend, x.grad, [[1.0, 1.0], [1.0, 1.0]], rtol=0, atol=0)

    x64 = backend.ones(2, 2, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: ((t + 2) * (t + 2) * 3).mean(), [x64])


# ---------------------------------------------------------------- AG-EYE


@pytest.mark.claim("AG-EYE")
def test_identity_gradients_accumulate_then_restart_after_zeroing(backend):
    # out = (inp + 1)^2 elementwise, backward with all-ones weights:
    # d/dinp_ij = 2 (inp_ij + 1) = 4 on the diagonal (inp = 1), 2 off it (inp = 0).
    def expected(k: int) -> list[list[float]]:
        return [[4.0 * k if i == j else 2.0 * k for j in range(5)] for i in range(5)]

    inp = backend.eye(5, requires_grad=True)
    out = (inp + 1) ** 2
    ones = backend.ones(5, 5)
    out.backward(ones, retain_graph=True)
    assert_values(backend, inp.grad, expected(1), rtol=0, atol=0)
    out.backward(ones, retain_graph=True)
    assert_values(backend, inp.grad, expected(2), rtol=0, atol=0)  # 8 and 4
    inp.grad.zero_()
    out.backward(ones, retain_graph=True)
    assert_values(backend, inp.grad, expected(1), rtol=0, atol=0)

    eye64 = backend.eye(5, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: (t + 1) ** 2, [eye64])


# ---------------------------------------------------------------- AG-PROPAGATE


@pytest.mark.claim("AG-PROPAGATE")
def test_results_of_a_leaf_that_requires_grad_require_grad(backend):
    w = backend.tensor([1.0], requires_grad=True)
    x = backend.tensor([2.0], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    assert (a.requires_grad, b.requires_grad, y.requires_grad) == (True, True, True)
    # One input that requires grad is enough: c below mixes w with a constant tensor.
    c = w * backend.tensor([5.0])
    assert c.requires_grad


@pytest.mark.claim("AG-PROPAGATE.integer-results")
def test_integer_and_bool_results_do_not_require_grad(backend):
    x = backend.tensor([0.5, -1.0, 2.0], requires_grad=True)
    results = {"x > 0": x > 0, "x.argmax()": x.argmax(), "x.long()": x.long()}
    for name, r in results.items():
        # The source's rule would say True for all of them.
        assert r.requires_grad is False, name
        assert r.grad_fn is None, name
        assert r.is_leaf, name
    assert backend.values(results["x.argmax()"]) == 2
    assert backend.values(results["x > 0"]) == [True, False, True]


# ---------------------------------------------------------------- AG-EXP


@pytest.mark.claim("AG-EXP")
def test_gradient_of_exp_at_two_is_e_squared(backend):
    # b = e^a  =>  db/da = e^a = e^2 at a = 2.
    a = backend.tensor(2.0, requires_grad=True)
    b = a.exp()
    b.backward()
    assert_values(backend, a.grad, math.e**2, rtol=1e-6, atol=0)
    assert b.is_leaf is False
    assert a.is_leaf is True

    a64 = backend.tensor(2.0, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: t.exp(), [a64])


# ---------------------------------------------------------------- AG-BCE-LOGITS


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.mark.claim("AG-BCE-LOGITS")
def test_bce_with_logits_gradients_and_grad_fn_names(backend):
    x = backend.ones(5)
    y = backend.zeros(3)
    w = backend.randn(5, 3, seed=0, requires_grad=True)
    b = backend.randn(3, seed=1, requires_grad=True)
    z = x @ w + b
    loss = backend.bce_with_logits(z, y)
    assert z.grad_fn.name() == "AddBackward0"
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"

    # Oracle in plain Python. x = ones, so z_j = sum_i w_ij + b_j.
    # With target 0 the loss is mean_j log(1 + e^{z_j}), so dloss/dz_j = sigmoid(z_j) / 3;
    # then dloss/dw_ij = x_i dloss/dz_j = sigmoid(z_j) / 3 and dloss/db_j = sigmoid(z_j) / 3.
    wv, bv = backend.values(w), backend.values(b)
    zs = [sum(row[j] for row in wv) + bv[j] for j in range(3)]
    assert_values(backend, z, zs, rtol=1e-5, atol=1e-6)
    assert_values(backend, loss, sum(math.log1p(math.exp(v)) for v in zs) / 3, rtol=1e-5, atol=0)
    loss.backward()
    dz = [_sigmoid(v) / 3 for v in zs]
    assert list(w.grad.shape) == [5, 3]
    assert list(b.grad.shape) == [3]
    assert_values(backend, w.grad, [dz] * 5, rtol=1e-5, atol=1e-7)
    assert_values(backend, b.grad, dz, rtol=1e-5, atol=1e-7)

    with backend.no_grad():
        z_ng = x @ w + b
    assert z_ng.requires_grad is False
    assert (x @ w + b).detach().requires_grad is False

    w64 = backend.randn(5, 3, seed=0).double().requires_grad_(True)
    b64 = backend.randn(3, seed=1).double().requires_grad_(True)
    x64, y64 = backend.ones(5, dtype=backend.float64), backend.zeros(3, dtype=backend.float64)
    assert backend.gradcheck(lambda p, q: backend.bce_with_logits(x64 @ p + q, y64), [w64, b64])
