"""Chapter 8 — logistic regression: model, loss, boundary (LOG-MODEL, LOG-LOSS, LOG-BOUNDARY).

The training claims (LOG-TRAIN, LOG-VARIANTS) are in test_logistic_regression_training.py.

Oracles: scipy.special.expit and scipy.special.xlogy, numpy, the torch modules nn.Sigmoid,
nn.Linear, nn.BCELoss and nn.BCEWithLogitsLoss, torch autograd and
``torch.autograd.gradcheck``, and values written out with ``math.log``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from reference.logistic import (
    LogisticRegression,
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    decision_boundary,
    sigmoid,
    sigmoid_derivative,
)

F64 = torch.float64
finite_z = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False)
any_z = st.floats(min_value=-1000.0, max_value=1000.0, allow_nan=False)


def t64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


@pytest.fixture(autouse=True)
def _own_global_rng():
    """Some specs build torch modules, whose initializers draw from the global generator:
    give every spec here a fresh, seeded global generator and restore the caller's after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


# ------------------------------------------------------------------------ LOG-MODEL.sigmoid


@pytest.mark.claim("LOG-MODEL.sigmoid")
@given(st.lists(finite_z, min_size=1, max_size=20))
def test_sigmoid_maps_moderate_scores_strictly_inside_0_1_and_matches_expit(zs):
    p = sigmoid(t64(zs))
    assert bool(((p > 0) & (p < 1)).all())
    expected = torch.from_numpy(scipy.special.expit(np.array(zs, dtype=np.float64)))
    torch.testing.assert_close(p, expected, rtol=1e-14, atol=1e-300)


@pytest.mark.claim("LOG-MODEL.sigmoid")
@given(any_z)
def test_sigmoid_is_symmetric_sigma_of_minus_z_is_one_minus_sigma_z(z):
    # 1 - 1/(1+e^-z) = e^-z/(1+e^-z) = 1/(1+e^z) = sigma(-z)
    torch.testing.assert_close(sigmoid(t64([-z])), 1 - sigmoid(t64([z])), rtol=0, atol=1e-15)


@pytest.mark.claim("LOG-MODEL.sigmoid")
def test_sigmoid_is_increasing_with_sigma_0_one_half():
    z = torch.linspace(-20, 20, 4001, dtype=F64)
    p = sigmoid(z)
    assert bool((p[1:] > p[:-1]).all())
    assert sigmoid(t64([0.0])).item() == 0.5


@pytest.mark.claim("LOG-MODEL.sigmoid")
def test_sigmoid_is_stable_at_plus_minus_1000_where_the_naive_formula_fails():
    z = t64([-1000.0, 1000.0]).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = sigmoid(z)
        p.sum().backward()
    # the exact values 1/(1+e^1000) ~ 5e-435 and 1 - 5e-435 round to 0 and 1 in float64
    assert p.tolist() == [0.0, 1.0]
    assert z.grad.tolist() == [0.0, 0.0]
    # the naive formula 1/(1 + exp(-z)): numpy overflows (a RuntimeWarning, an error under
    # this project's warning filter), and torch's autograd of it gives NaN at z = -1000
    # (exp(1000) = inf, so the derivative is inf/inf).
    with pytest.raises(RuntimeWarning, match="overflow"):
        1 / (1 + np.exp(-np.array([-1000.0])))
    naive_z = t64([-1000.0]).requires_grad_()
    (1 / (1 + torch.exp(-naive_z))).sum().backward()
    assert torch.isnan(naive_z.grad).all()


@pytest.mark.claim("LOG-MODEL.sigmoid")
@pytest.mark.parametrize("bad", [[0.5], np.array([0.5]), torch.tensor([1, 2])])
def test_sigmoid_rejects_non_float_tensors(bad):
    with pytest.raises(TypeError, match="z must be"):
        sigmoid(bad)


# ------------------------------------------------------------------------ LOG-MODEL.classify


@pytest.mark.claim("LOG-MODEL.classify")
@given(any_z.filter(lambda z: abs(z) >= 1e-6))
def test_threshold_one_half_on_the_probability_is_the_sign_of_the_score(z):
    # sigma is increasing with sigma(0) = 1/2, so sigma(z) >= 1/2  <=>  z >= 0. (In floating
    # point sigma(z) rounds to exactly 0.5 for |z| below ~1e-16; the filter keeps clear of it.)
    assert (sigmoid(t64([z])).item() >= 0.5) == (z >= 0)


@pytest.mark.claim("LOG-MODEL.classify")
def test_model_predicts_class_1_exactly_on_the_positive_side_of_its_line():
    gen = torch.Generator().manual_seed(3)
    model = LogisticRegression().double()
    with torch.no_grad():
        model.linear.weight.copy_(t64([[0.7, -1.3]]))
        model.linear.bias.copy_(t64([0.4]))
    x = torch.randn(500, 2, generator=gen, dtype=F64)
    with torch.no_grad():
        predicted = model(x).squeeze(1) >= 0.5
    score = x.numpy() @ np.array([0.7, -1.3]) + 0.4  # numpy oracle
    assert predicted.tolist() == (score >= 0).tolist()
    labels = torch.from_numpy((score >= 0).astype(np.float64))
    with torch.no_grad():
        assert accuracy(model(x), labels) == 1.0
        assert accuracy(model(x), 1 - labels) == 0.0
    # "at least 0.5": an output of exactly 0.5 is class 1, just below it class 0
    assert accuracy(t64([0.5, 0.5, 0.4999]), t64([1.0, 1.0, 0.0])) == 1.0
    assert accuracy(t64([0.5, 0.4999]), t64([0.0, 1.0])) == 0.0


@pytest.mark.claim("LOG-MODEL.classify")
def test_accuracy_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="must have the same shape"):
        accuracy(torch.tensor([0.2, 0.7]), torch.tensor([0.0]))
    with pytest.raises(TypeError, match=r"p must be a torch\.Tensor"):
        accuracy([0.2], torch.tensor([0.0]))
    # Same number of elements is not enough: a [4] prediction against [2, 2] labels would
    # pair samples arbitrarily (it used to score 1.0 here).
    with pytest.raises(ValueError, match="must have the same shape"):
        accuracy(torch.tensor([0.9, 0.1, 0.9, 0.1]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    # A nan probability is no prediction at all (it used to count as class 0, hence right).
    with pytest.raises(ValueError, match="p has non-finite entries"):
        accuracy(torch.tensor([float("nan"), 0.9]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        accuracy(torch.tensor([0.2, 0.9]), torch.tensor([0.0, 2.0]))


@pytest.mark.claim("LOG-MODEL.classify")
def test_accuracy_takes_bool_labels_one_sample_and_both_ends_of_the_threshold_range():
    p = t64([0.0, 0.3, 0.5, 0.9, 1.0])
    y = t64([0.0, 1.0, 1.0, 0.0, 1.0])
    # numpy oracle: the fraction of samples where (p >= threshold) equals the label
    for threshold in (0.0, 0.3, 1.0):
        expected = float(np.mean((p.numpy() >= threshold) == (y.numpy() == 1)))
        assert accuracy(p, y, threshold=threshold) == expected
        assert accuracy(p, y.bool(), threshold=threshold) == expected  # bool labels too
    assert accuracy(p, y, threshold=0.0) == 3 / 5  # every sample is predicted class 1
    assert accuracy(p, y, threshold=1.0) == 3 / 5  # only p = 1.0 is class 1
    assert accuracy(t64([0.7]), t64([1.0])) == 1.0  # one sample is a sample
    assert accuracy(t64([[0.7], [0.2]]), t64([1.0, 1.0])) == 0.5  # p [N, 1] with y [N]
    with pytest.raises(ValueError, match="p must hold at least one sample"):
        accuracy(t64([]), t64([]))
    for threshold in (-0.01, 1.01):
        with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
            accuracy(p, y, threshold=threshold)


# ------------------------------------------------------------------------ LOG-MODEL.params


@pytest.mark.claim("LOG-MODEL.params")
def test_logistic_model_has_the_parameters_of_linear_regression():
    logistic = LogisticRegression(2)
    linear = nn.Linear(2, 1)
    shapes = [tuple(p.shape) for p in logistic.parameters()]
    assert shapes == [tuple(p.shape) for p in linear.parameters()] == [(1, 2), (1,)]
    assert sum(p.numel() for p in logistic.parameters()) == 3


@pytest.mark.claim("LOG-MODEL.params")
def test_logistic_model_is_sigmoid_of_the_linear_score():
    model = LogisticRegression(3).double()
    w, b = [1.5, -0.5, 2.0], -0.25
    with torch.no_grad():
        model.linear.weight.copy_(t64([w]))
        model.linear.bias.copy_(t64([b]))
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(5), dtype=F64)
    expected = scipy.special.expit(x.numpy() @ np.array(w) + b)[:, None]
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.from_numpy(expected), rtol=1e-12, atol=0)


@pytest.mark.claim("LOG-MODEL.params")
def test_logistic_model_rejects_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="in_features must be >= 1"):
        LogisticRegression(0)
    with pytest.raises(TypeError, match="in_features must be an int"):
        LogisticRegression(2.0)
    with pytest.raises(ValueError, match=r"x must have shape \[batch, 2\]"):
        LogisticRegression(2)(torch.zeros(4, 3))


# ------------------------------------------------------------------------ LOG-LOSS (erratum)


@pytest.mark.claim("LOG-LOSS")
@given(finite_z)
def test_p_one_minus_p_is_the_derivative_of_the_sigmoid(z):
    zt = t64([z]).requires_grad_()
    (dp_dz,) = torch.autograd.grad(torch.sigmoid(zt).sum(), zt)  # torch's own sigmoid
    p = scipy.special.expit(z)
    torch.testing.assert_close(dp_dz, t64([p * (1 - p)]), rtol=1e-12, atol=1e-300)
    torch.testing.assert_close(sigmoid_derivative(t64([z])), dp_dz, rtol=1e-12, atol=1e-300)


@pytest.mark.claim("LOG-LOSS")
def test_reference_sigmoid_passes_gradcheck_so_its_slope_is_p_one_minus_p():
    z = torch.linspace(-8, 8, 17, dtype=F64).requires_grad_()
    assert torch.autograd.gradcheck(sigmoid, (z,), eps=1e-6, atol=1e-8, rtol=1e-6)
    (grad,) = torch.autograd.grad(sigmoid(z).sum(), z)
    p = scipy.special.expit(z.detach().numpy())
    torch.testing.assert_close(grad, torch.from_numpy(p * (1 - p)), rtol=1e-12, atol=1e-300)


@pytest.mark.claim("LOG-LOSS")
def test_p_one_minus_p_cannot_be_a_loss_it_ignores_the_label():
    p = 0.9
    # p(1 - p) has no place for the label: a confident right answer (y = 1) and a confident
    # wrong one (y = 0) score the same 0.09 ...
    assert p * (1 - p) == pytest.approx(0.09, abs=1e-15)
    # ... while the cross-entropy tells them apart: -ln 0.9 = 0.1054, -ln 0.1 = 2.3026.
    right = binary_cross_entropy(t64([p]), t64([1.0])).item()
    wrong = binary_cross_entropy(t64([p]), t64([0.0])).item()
    assert right == pytest.approx(-math.log(0.9), rel=1e-12)
    assert wrong == pytest.approx(-math.log(0.1), rel=1e-12)
    assert wrong > 20 * right
    # Minimizing p(1-p) would push every output to 0 or 1, right or wrong: it is largest
    # (1/4) at p = 1/2 and vanishes at both ends.
    grid = np.linspace(0, 1, 101)
    assert grid[np.argmax(grid * (1 - grid))] == pytest.approx(0.5)
    assert (grid * (1 - grid))[[0, -1]].tolist() == [0.0, 0.0]


@pytest.mark.claim("LOG-LOSS")
@given(st.lists(st.tuples(finite_z, st.sampled_from([0.0, 1.0])), min_size=1, max_size=12))
def test_cross_entropy_gradient_wrt_the_score_is_p_minus_y(pairs):
    # dL/dp = -(y/p - (1-y)/(1-p)) = (p - y) / (p (1 - p)); dp/dz = p (1 - p): the product is
    # p - y, and the mean over N samples divides it by N.
    z = t64([a for a, _ in pairs]).requires_grad_()
    y = t64([b for _, b in pairs])
    (grad,) = torch.autograd.grad(binary_cross_entropy_with_logits(z, y), z)
    expected = (scipy.special.expit(z.detach().numpy()) - y.numpy()) / len(pairs)
    torch.testing.assert_close(grad, torch.from_numpy(expected), rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------------------ LOG-LOSS.bce


@pytest.mark.claim("LOG-LOSS.bce")
def test_binary_cross_entropy_by_hand():
    # p = (0.8, 0.3), y = (1, 0): mean(-ln 0.8, -ln 0.7) = (0.22314 + 0.35667) / 2
    loss = binary_cross_entropy(t64([0.8, 0.3]), t64([1.0, 0.0]))
    assert loss.item() == pytest.approx((-math.log(0.8) - math.log(0.7)) / 2, rel=1e-12)
    assert loss.item() == pytest.approx(0.289909, abs=1e-6)


@pytest.mark.claim("LOG-LOSS.bce")
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=1.0), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=16,
    )
)
def test_binary_cross_entropy_equals_nn_BCELoss(pairs):
    p = t64([a for a, _ in pairs])
    y = t64([b for _, b in pairs])
    # p in {0, 1} included: both clamp each log at -100 instead of returning inf
    torch.testing.assert_close(
        binary_cross_entropy(p, y), nn.BCELoss()(p, y), rtol=1e-12, atol=1e-12
    )
    # numpy oracle where no log is clamped: ln(1e-40) = -92.1 > -100, and for p < 1 in
    # float64, 1 - p >= 1.1e-16, whose log is -36.7
    inside = (p > 1e-40) & (p < 1)
    if bool(inside.any()):
        pn, yn = p[inside].numpy(), y[inside].numpy()
        expected = -(yn * np.log(pn) + (1 - yn) * np.log1p(-pn)).mean()
        got = binary_cross_entropy(p[inside], y[inside]).item()
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.claim("LOG-LOSS.bce")
@given(st.lists(st.tuples(any_z, st.sampled_from([0.0, 1.0])), min_size=1, max_size=16))
def test_cross_entropy_from_scores_equals_nn_BCEWithLogitsLoss_even_at_1000(pairs):
    z = t64([a for a, _ in pairs])
    y = t64([b for _, b in pairs])
    loss = binary_cross_entropy_with_logits(z, y)
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, nn.BCEWithLogitsLoss()(z, y), rtol=1e-12, atol=1e-12)


@pytest.mark.claim("LOG-LOSS.bce")
@pytest.mark.parametrize(("z", "y"), [(-40.0, 0.0), (-30.0, 0.0), (-5.0, 0.0), (40.0, 1.0)])
def test_cross_entropy_from_scores_keeps_tiny_losses_to_full_precision(z, y):
    # A confident right answer has loss -ln(1 - sigma(z)) = ln(1 + e^z) for y = 0, tiny for
    # z << 0: e^-40 ~ 4.2e-18. Forming 1 + e^z first rounds it away (ln(1 + 4e-18) = 0 in
    # float64), so the oracle is math.log1p, compared with a relative tolerance only.
    expected = math.log1p(math.exp(z if y == 0.0 else -z))
    loss = binary_cross_entropy_with_logits(t64([z]), t64([y])).item()
    assert loss == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.claim("LOG-LOSS.bce")
def test_probabilities_saturate_in_float32_so_the_score_form_is_the_stable_one():
    # In float32, sigma(17) = 1 - 4.1e-8 rounds to exactly 1.0 (half an ulp below 1 is 3e-8):
    # the open interval (0, 1) of exact arithmetic becomes [0, 1].
    z = torch.tensor([17.0])
    p = torch.sigmoid(z)
    assert p.item() == 1.0
    y = torch.tensor([0.0])
    # true loss for label 0: -ln(1 - sigma(17)) = 17 + ln(1 + e^-17) = 17.00000004
    assert binary_cross_entropy(p, y).item() == 100.0  # log(0) clamped at -100, like BCELoss
    assert nn.BCELoss()(p, y).item() == 100.0
    assert binary_cross_entropy_with_logits(z, y).item() == pytest.approx(17.0, rel=1e-6)


@pytest.mark.claim("LOG-LOSS.bce")
def test_cross_entropy_rejects_bad_probabilities_labels_and_shapes():
    with pytest.raises(ValueError, match=r"p must contain probabilities in \[0, 1\]"):
        binary_cross_entropy(t64([1.2]), t64([1.0]))
    with pytest.raises(ValueError, match=r"p must contain probabilities in \[0, 1\]"):
        binary_cross_entropy(t64([float("nan")]), t64([1.0]))
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        binary_cross_entropy(t64([0.5]), t64([0.5]))
    with pytest.raises(ValueError, match="same shape"):
        binary_cross_entropy(t64([0.5, 0.5]), t64([1.0]))
    with pytest.raises(ValueError, match="p must not be empty"):
        binary_cross_entropy(t64([]), t64([]))
    with pytest.raises(TypeError, match="p must be a floating-point tensor"):
        binary_cross_entropy(torch.tensor([1]), torch.tensor([1]))
    with pytest.raises(TypeError, match=r"y must be a torch\.Tensor"):
        binary_cross_entropy(t64([0.5]), [1.0])
    with pytest.raises(ValueError, match="z must be finite"):
        binary_cross_entropy_with_logits(t64([float("inf")]), t64([1.0]))
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        binary_cross_entropy_with_logits(t64([0.0]), t64([2.0]))
    with pytest.raises(ValueError, match="same shape"):
        binary_cross_entropy_with_logits(t64([0.0]), t64([[1.0]]))


# ------------------------------------------------------------------------ LOG-BOUNDARY


@pytest.mark.claim("LOG-BOUNDARY")
@given(
    st.floats(min_value=-5, max_value=5).filter(lambda v: abs(v) > 1e-3),
    st.floats(min_value=-5, max_value=5).filter(lambda v: abs(v) > 1e-3),
    st.floats(min_value=-5, max_value=5),
)
def test_points_on_the_boundary_line_have_score_0_and_probability_one_half(w0, w1, b):
    xs = torch.linspace(-6, 6, 25, dtype=F64)
    ys = decision_boundary(t64([w0, w1]), b, xs)
    np.testing.assert_allclose(ys.numpy(), (-w0 * xs.numpy() - b) / w1, rtol=1e-12, atol=1e-12)
    score = w0 * xs + w1 * ys + b
    torch.testing.assert_close(score, torch.zeros_like(score), rtol=0, atol=1e-11)
    torch.testing.assert_close(
        torch.sigmoid(score), torch.full_like(score, 0.5), rtol=0, atol=1e-11
    )


@pytest.mark.claim("LOG-BOUNDARY")
def test_boundary_separates_the_two_predicted_classes():
    w, b = t64([[-1.4, -1.5]]), t64([1.9])
    model = nn.Linear(2, 1).double()
    with torch.no_grad():
        model.weight.copy_(w)
        model.bias.copy_(b)
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(8), dtype=F64) * 3
    line = decision_boundary(w, b, x[:, 0])
    above = x[:, 1] > line
    with torch.no_grad():
        class_1 = torch.sigmoid(model(x)).squeeze(1) >= 0.5
    # w1 < 0: going up from the line lowers the score, so "above" is class 0
    assert (class_1 == ~above).all()


@pytest.mark.claim("LOG-BOUNDARY")
def test_decision_boundary_rejects_a_vertical_line_and_bad_shapes():
    with pytest.raises(ValueError, match="boundary is vertical"):
        decision_boundary(t64([1.0, 0.0]), 0.5, t64([0.0]))
    with pytest.raises(ValueError, match="weight must hold two numbers"):
        decision_boundary(t64([1.0, 2.0, 3.0]), 0.5, t64([0.0]))
    with pytest.raises(ValueError, match="bias must hold one number"):
        decision_boundary(t64([1.0, 2.0]), t64([1.0, 2.0]), t64([0.0]))
    with pytest.raises(TypeError, match="bias must be a real number"):
        decision_boundary(t64([1.0, 2.0]), "0", t64([0.0]))
    with pytest.raises(TypeError, match="xs must be"):
        decision_boundary(t64([1.0, 2.0]), 0.0, [0.0])


@pytest.mark.claim("LOG-LOSS")
def test_loss_from_logits_names_z_when_its_shape_or_size_is_wrong():
    with pytest.raises(ValueError, match=r"^z and y must have the same shape"):
        binary_cross_entropy_with_logits(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"^z must not be empty"):
        binary_cross_entropy_with_logits(torch.zeros(0), torch.zeros(0))
