"""Specs for chapter 4, "Digit recognition": the two programs, the loop, regression -> class.

Oracles: literal element-by-element transcriptions of the source's loops (written below,
used only for a few hundred epochs), torch autograd, exact rational arithmetic
(fractions.Fraction), numpy, and derivations written out in comments.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.digits import load_digits
from reference.errors import DivergenceError
from reference.features import design_matrix, sequential_normalize
from reference.linear import classify, least_squares
from reference.training import (
    DigitProgramResult,
    gd_full_batch,
    sgd_per_sample,
    stable_learning_rate,
    train_digits_autograd,
    train_digits_manual,
)

LABELS = list(range(10))


# --------------------------------------------------------------------------------------
# Literal transcriptions of the source's programs (the oracle for faithfulness).
# --------------------------------------------------------------------------------------


def literal_feature(image: torch.Tensor, dim: int) -> torch.Tensor:
    """Projection -> float -> the in-place loop with the builtin sum -> [1, 6]."""
    f = torch.sum(image, dim).float()
    for i in range(f.shape[0]):
        f[i] = f[i] / sum(f)
    return f.view(1, 6)


def literal_model(feature: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return torch.cat((feature, torch.tensor(1.0).view(1, 1)), 1).mm(weights)


def literal_program_1(seed: int, epochs: int) -> tuple[torch.Tensor, list[float]]:
    """Program 1 element by element, weights drawn after torch.manual_seed(seed)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        weights = torch.rand(7, 1)
    images, _ = load_digits()
    losses = []
    for _ in range(epochs):
        loss = 0
        for i in range(5):
            feature = literal_feature(images[i], 0)
            y = literal_model(feature, weights)
            loss += 0.5 * (y.item() - i) ** 2
            feature = feature.view(6)
            lr = 0.05
            for j in range(6):
                weights[j, 0] = weights[j, 0] - (y.item() - i) * feature[j] * lr
            weights[6, 0] = weights[6, 0] - (y.item() - i) * lr
        losses.append(loss)
    return weights, losses


def literal_homework(seed: int, steps: int) -> torch.Tensor:
    """The homework with its per-image summed loss, .data update and grad zeroing."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        weights = torch.rand(7, 1, requires_grad=True)
    images, _ = load_digits()
    for _ in range(steps):
        loss = 0
        for i in range(6):
            y_pred = literal_model(literal_feature(images[i], 1), weights)
            loss += 0.5 * (y_pred - i) ** 2
        loss.backward()
        weights.data.sub_(0.0005 * weights.grad.data)
        weights.grad.data.zero_()
    return weights.detach()


# --------------------------------------------------------------------------------------
# DR-MANUAL
# --------------------------------------------------------------------------------------


@pytest.mark.claim("DR-MANUAL")
@pytest.mark.parametrize("seed", [0, 1])
def test_program_1_matches_the_source_loop_bit_for_bit(seed):
    expected_w, expected_losses = literal_program_1(seed, epochs=60)
    result = train_digits_manual(seed=seed, epochs=60)
    assert torch.equal(result.weights, expected_w)  # exact: same float32 arithmetic
    assert result.loss_history.tolist() == expected_losses
    assert result.weights.dtype == torch.float32
    assert result.weights.shape == (7, 1)


@pytest.mark.claim("DR-MANUAL")
def test_program_1_draws_its_weights_like_torch_rand_and_leaves_global_rng_alone():
    before = torch.random.get_rng_state()
    result = train_digits_manual(seed=5, epochs=0)
    assert torch.equal(torch.random.get_rng_state(), before)
    with torch.random.fork_rng():
        torch.manual_seed(5)
        expected = torch.rand(7, 1)
    assert torch.equal(result.initial_weights, expected)
    assert torch.equal(result.weights, expected)  # zero epochs: untouched
    assert result.loss_history.shape == (0,)
    # Features: the source's in-place normalization of the column projection, then 1.
    images, _ = load_digits()
    for d in range(10):
        row = torch.cat([literal_feature(images[d], 0).view(6), torch.ones(1)])
        assert torch.equal(result.features[d], row)


@pytest.fixture(scope="module")
def program_1() -> DigitProgramResult:
    """Program 1 as the source runs it: 3000 epochs, seed 0 (shared by several specs)."""
    return train_digits_manual(seed=0)


@pytest.mark.claim("DR-MANUAL")
@pytest.mark.parametrize("seed", [0, 3])
def test_program_1_recognizes_its_five_training_digits_after_3000_epochs(
    seed, program_1, ledger_extra
):
    result = program_1 if seed == 0 else train_digits_manual(seed=seed)
    assert isinstance(result, DigitProgramResult)
    assert result.loss_history.shape == (3000,)
    # The five training outputs round to their labels (numpy rounding as the oracle).
    outputs = result.predictions[:5].numpy()
    assert np.rint(outputs).tolist() == [0, 1, 2, 3, 4]
    assert result.classes[:5].tolist() == [0, 1, 2, 3, 4]
    # The loss fell by a factor > 40 (about 7.1 -> 0.12 for seed 0).
    assert result.loss_history[-1] < result.loss_history[0] / 40
    # The digits it never saw (5-9) are not recognized: it learned nothing about them.
    assert (result.classes[5:] == torch.tensor([5, 6, 7, 8, 9])).sum() == 0
    ledger_extra(
        "program_1",
        {
            "seed": seed,
            "first_loss": round(float(result.loss_history[0]), 4),
            "final_loss": round(float(result.loss_history[-1]), 4),
            "predictions": [round(v, 4) for v in result.predictions.tolist()],
            "classes": result.classes.tolist(),
        },
    )


# --------------------------------------------------------------------------------------
# DR-MANUAL-GRAD and DR-DEAD-WEIGHT
# --------------------------------------------------------------------------------------


@pytest.mark.claim("DR-MANUAL-GRAD")
@pytest.mark.parametrize("digit", range(5))
def test_per_weight_rule_is_the_gradient_of_half_squared_error(digit):
    # With y = sum_j x_j w_j + w_7 and l = 1/2 (y - t)^2, the chain rule gives
    #   dl/dw_j = (y - t) * dy/dw_j = (y - t) x_j   and   dl/dw_7 = (y - t) * 1,
    # which is exactly the amount program 1 subtracts (times lr) from each weight.
    images, _ = load_digits()
    x = torch.cat([sequential_normalize(images[digit].sum(0).float()), torch.ones(1)]).double()
    g = torch.Generator().manual_seed(digit)
    w = torch.rand(7, dtype=torch.float64, generator=g, requires_grad=True)
    y = x @ w
    (0.5 * (y - digit) ** 2).backward()
    error = y.item() - digit
    rule = torch.cat([error * x[:6], torch.tensor([error], dtype=torch.float64)])
    torch.testing.assert_close(w.grad, rule, rtol=1e-15, atol=1e-15)


@pytest.mark.claim("DR-MANUAL-GRAD")
def test_one_epoch_of_program_1_is_five_autograd_sgd_steps():
    start = train_digits_manual(seed=2, epochs=0)
    one = train_digits_manual(seed=2, epochs=1)
    w = start.initial_weights.double().view(7).clone()
    for i in range(5):
        w.requires_grad_(True)
        loss = 0.5 * (start.features[i].double() @ w - i) ** 2
        (grad,) = torch.autograd.grad(loss, w)
        w = (w - 0.05 * grad).detach()
    # float32 program versus float64 autograd steps: equal to float32 precision.
    torch.testing.assert_close(one.weights.view(7).double(), w, rtol=1e-6, atol=1e-6)


@pytest.mark.claim("DR-DEAD-WEIGHT")
def test_weight_of_the_always_empty_column_never_moves(program_1):
    # Column sums: the leftmost column is blank in every digit, so x_1 = 0 and
    # dl/dw_1 = (y - t) * 0 = 0 at every update: w_1 keeps its random start exactly.
    manual = program_1
    assert torch.all(manual.train_features[:, 0] == 0)
    assert manual.weights[0, 0].item() == manual.initial_weights[0, 0].item()
    assert manual.weights[1, 0].item() != manual.initial_weights[1, 0].item()
    # Row sums (the homework): the bottom row is blank, so w_6 never moves.
    homework = train_digits_autograd(seed=0, steps=300)
    assert torch.all(homework.train_features[:, 5] == 0)
    assert homework.weights[5, 0].item() == homework.initial_weights[5, 0].item()
    # And the generic loops: a zero column's weight is returned bit-identical.
    images, labels = load_digits()
    X = design_matrix(images, dim=0)
    w0 = torch.linspace(0.1, 0.7, 7, dtype=torch.float64)
    for w in (
        sgd_per_sample(X, labels.double(), w0, lr=0.05, epochs=50),
        gd_full_batch(X, labels.double(), w0, lr=0.05, steps=50),
    ):
        assert w[0].item() == w0[0].item()


# --------------------------------------------------------------------------------------
# DR-AUTOGRAD
# --------------------------------------------------------------------------------------


@pytest.mark.claim("DR-AUTOGRAD.program")
def test_homework_matches_the_source_loop():
    expected = literal_homework(seed=0, steps=150)
    result = train_digits_autograd(seed=0, steps=150)
    # One matrix product instead of six summed terms: equal up to float32 rounding.
    torch.testing.assert_close(result.weights, expected, rtol=1e-5, atol=1e-6)
    assert result.train_features.shape == (6, 7)
    assert result.lr == 0.0005
    assert (result.train_dim, result.infer_dim) == (1, 0)
    images, _ = load_digits()
    for d in range(6):
        assert torch.equal(result.train_features[d, :6], literal_feature(images[d], 1).view(6))
    for d in range(10):
        assert torch.equal(result.features[d, :6], literal_feature(images[d], 0).view(6))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        assert torch.equal(result.initial_weights, torch.rand(7, 1))
    # infer_dim / train_dim choose the projections: recognition is features @ weights.
    swapped = train_digits_autograd(seed=0, steps=20, train_dim=0, infer_dim=1)
    for d in range(10):
        assert torch.equal(swapped.features[d, :6], literal_feature(images[d], 1).view(6))
        assert swapped.predictions[d].item() == pytest.approx(
            float(swapped.features[d].double() @ swapped.weights.double().view(7)), rel=1e-6
        )
    for d in range(6):
        assert torch.equal(swapped.train_features[d, :6], literal_feature(images[d], 0).view(6))


@pytest.mark.claim("DR-AUTOGRAD.program")
def test_homework_loss_history_is_the_summed_loss_before_each_update():
    result = train_digits_autograd(seed=1, steps=3)
    X, t = result.train_features.double(), torch.arange(6, dtype=torch.float64)
    # L(w) = sum_i 1/2 (x_i . w - i)^2 at the start, and grad = X^T (X w - t).
    w = result.initial_weights.double().view(7)
    for step in range(3):
        r = X @ w - t
        assert result.loss_history[step].item() == pytest.approx(0.5 * float(r @ r), rel=1e-5)
        w = w - 0.0005 * (X.T @ r)
    torch.testing.assert_close(result.weights.view(7).double(), w, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def homework() -> dict[str, object]:
    """The homework as the source runs it, plus its least-squares optimum (seed 0)."""
    trained = train_digits_autograd(seed=0)
    X = trained.train_features.double()
    w_star = least_squares(X, torch.arange(6, dtype=torch.float64))
    images, _ = load_digits()
    # The same trained weights, recognizing with the row projections it was trained on.
    rows = design_matrix(images, 1, "sequential").to(torch.float32) @ trained.weights
    return {
        "trained": trained,
        "rows_predictions": rows.view(10),
        "X": X,
        "w_star": w_star,
        "opt_rows": design_matrix(images, 1, "sequential") @ w_star,
        "opt_cols": design_matrix(images, 0, "sequential") @ w_star,
    }


def _recognized(predictions: torch.Tensor) -> int:
    return int((np.clip(np.rint(predictions.double().numpy()), 0, 9) == np.arange(10)).sum())


@pytest.mark.claim("DR-AUTOGRAD.poor")
def test_homework_result_is_poor(homework, ledger_extra):
    trained, rows = homework["trained"], homework["rows_predictions"]
    # Every output sits between 2 and 3: the model predicts "about 2.5" for every digit.
    assert trained.predictions.min() > 2.0
    assert trained.predictions.max() < 3.0
    assert _recognized(trained.predictions) == 1  # with column features, as the source runs it
    assert _recognized(rows) == 2  # even with the features it was trained on
    ledger_extra(
        "homework",
        {
            "predictions_infer_dim_0": [round(v, 3) for v in trained.predictions.tolist()],
            "predictions_infer_dim_1": [round(v, 3) for v in rows.tolist()],
            "recognized_infer_dim_0": _recognized(trained.predictions),
            "recognized_infer_dim_1": _recognized(rows),
            "loss_first": round(float(trained.loss_history[0]), 4),
            "loss_last": round(float(trained.loss_history[-1]), 4),
        },
    )


@pytest.mark.claim("DR-AUTOGRAD.features")
def test_recognizing_with_other_features_than_trained_on_fails(homework, ledger_extra):
    # The least-squares optimum for the six training rows (row projections) fits them
    # exactly: 6 equations, 6 live unknowns (the bottom-row weight is dead).
    X, w_star = homework["X"], homework["w_star"]
    torch.testing.assert_close(
        X @ w_star, torch.arange(6.0, dtype=torch.float64), rtol=0, atol=1e-9
    )
    # With the features it was trained on it recognizes digits 0-6 (7 of ten)...
    assert _recognized(homework["opt_rows"]) == 7
    # ...and with the column projections the source feeds it at recognition, only 1.
    assert _recognized(homework["opt_cols"]) == 1
    ledger_extra(
        "optimum",
        {
            "predictions_rows": [round(v, 3) + 0.0 for v in homework["opt_rows"].tolist()],
            "predictions_cols": [round(v, 3) + 0.0 for v in homework["opt_cols"].tolist()],
        },
    )


@pytest.mark.claim("DR-AUTOGRAD.budget")
def test_5000_steps_at_lr_00005_are_far_from_the_optimum(homework, ledger_extra):
    trained, X, w_star = homework["trained"], homework["X"], homework["w_star"]
    t = torch.arange(6, dtype=torch.float64)
    w = trained.weights.double().view(7)
    final_loss = 0.5 * float(((X @ w - t) ** 2).sum())
    optimum_loss = 0.5 * float(((X @ w_star - t) ** 2).sum())
    assert optimum_loss < 1e-20
    assert 7.0 < final_loss < 8.5  # half of the starting ~15.6 is still there
    assert trained.loss_history[0] > 15.0
    # Distance to the nearest optimum: the dead weight is free, so compare in the live
    # coordinates (w_star is minimum-norm, its dead entry is 0; the set of optima is
    # w_star + span(e_6)).
    live = [0, 1, 2, 3, 4, 6]
    distance = float((w[live] - w_star[live]).norm())
    assert distance > 50
    # Why: the Hessian of the summed loss is X^T X; numpy gives its eigenvalues.
    eig = np.linalg.eigvalsh(X.numpy().T @ X.numpy())
    bound = float(2 / eig[-1])
    assert stable_learning_rate(X) == pytest.approx(bound, rel=1e-10)
    assert bound / 0.0005 > 300  # the learning rate is ~380x below the stable bound
    # Along eigenvector v_j the error is multiplied by (1 - lr lambda_j) per step; after
    # 5000 steps the three slowest live directions keep more than 98% of their error.
    keep = (1 - 0.0005 * eig[eig > 1e-12]) ** 5000
    assert np.sort(keep)[-3:].min() > 0.98
    ledger_extra(
        "budget",
        {
            "final_loss": round(final_loss, 4),
            "distance_to_optimum": round(distance, 2),
            "stable_lr": round(bound, 4),
            "lr_ratio": round(bound / 0.0005, 1),
            "eigenvalues": [float(f"{v:.3g}") for v in eig],
        },
    )


# --------------------------------------------------------------------------------------
# DR-ZERO
# --------------------------------------------------------------------------------------


@pytest.mark.claim("DR-ZERO")
def test_gradients_accumulate_unless_zeroed():
    result = train_digits_autograd(seed=0, steps=0)
    X, t = result.train_features.double(), torch.arange(6, dtype=torch.float64).view(6, 1)
    w = result.initial_weights.double().clone().requires_grad_(True)
    # Hand-derived gradient of L(w) = sum 1/2 (Xw - t)^2:  X^T (X w - t).
    g = X.T @ (X @ w.detach() - t)
    for k in (1, 2, 3):
        (0.5 * ((X @ w - t) ** 2).sum()).backward()
        torch.testing.assert_close(w.grad, k * g, rtol=1e-12, atol=1e-12)
    w.grad.zero_()
    (0.5 * ((X @ w - t) ** 2).sum()).backward()
    torch.testing.assert_close(w.grad, g, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("DR-ZERO")
def test_homework_without_zeroing_steps_with_the_running_sum():
    result = train_digits_autograd(seed=0, steps=4)
    X, t = result.train_features.double(), torch.arange(6, dtype=torch.float64).view(6, 1)
    w_forgot = result.initial_weights.double().clone().requires_grad_(True)
    for _ in range(4):
        (0.5 * ((X @ w_forgot - t) ** 2).sum()).backward()
        with torch.no_grad():
            w_forgot -= 0.0005 * w_forgot.grad  # never zeroed
    # Oracle recurrences: zeroed  w <- w - lr g(w);  forgotten  G <- G + g(w), w <- w - lr G.
    w_z = w_f = result.initial_weights.double()
    G = torch.zeros_like(w_f)
    for _ in range(4):
        w_z = w_z - 0.0005 * (X.T @ (X @ w_z - t))
        G = G + X.T @ (X @ w_f - t)
        w_f = w_f - 0.0005 * G
    torch.testing.assert_close(result.weights.double(), w_z, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w_forgot.detach(), w_f, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(w_f, w_z, rtol=0, atol=1e-4)


# --------------------------------------------------------------------------------------
# GD-LOOP
# --------------------------------------------------------------------------------------


def _fraction_sgd_epoch(X, y, w, lr):
    """One epoch of per-sample SGD in exact rational arithmetic."""
    for xi, yi in zip(X, y, strict=True):
        r = sum(a * b for a, b in zip(xi, w, strict=True)) - yi
        w = [wj - lr * r * xj for wj, xj in zip(w, xi, strict=True)]
    return w


@pytest.mark.claim("GD-LOOP.update")
def test_sgd_per_sample_follows_the_update_rule_exactly():
    X = [[Fraction(1), Fraction(2)], [Fraction(3), Fraction(-1)], [Fraction(1, 2), Fraction(1)]]
    y = [Fraction(1), Fraction(0), Fraction(2)]
    w0 = [Fraction(1, 4), Fraction(-1, 2)]
    lr = Fraction(1, 8)
    w_exact = w0
    for _ in range(3):
        w_exact = _fraction_sgd_epoch(X, y, w_exact, lr)
    Xt = torch.tensor([[float(v) for v in r] for r in X], dtype=torch.float64)
    yt = torch.tensor([float(v) for v in y], dtype=torch.float64)
    w0t = torch.tensor([float(v) for v in w0], dtype=torch.float64).view(2, 1)
    w0_copy = w0t.clone()
    w, losses = sgd_per_sample(Xt, yt, w0t, lr=0.125, epochs=3, history=True)
    assert torch.equal(w0t, w0_copy)  # w0 not modified
    assert w.shape == (2, 1)
    assert w.dtype == torch.float64
    expected = torch.tensor([[float(v)] for v in w_exact], dtype=torch.float64)
    torch.testing.assert_close(w, expected, rtol=0, atol=1e-14)
    # Epoch 1's recorded loss: each sample's 1/2 r^2 before its own update.
    ww, first = w0, Fraction(0)
    for xi, yi in zip(X, y, strict=True):
        r = sum(a * b for a, b in zip(xi, ww, strict=True)) - yi
        first += r * r / 2
        ww = [wj - lr * r * xj for wj, xj in zip(ww, xi, strict=True)]
    assert losses.shape == (3,)
    assert losses[0].item() == pytest.approx(float(first), rel=1e-14)


@pytest.mark.claim("GD-LOOP.update")
def test_gd_full_batch_step_is_w_minus_lr_times_autograd_gradient():
    g = torch.Generator().manual_seed(9)
    X = torch.rand(8, 3, generator=g, dtype=torch.float64)
    y = torch.rand(8, generator=g, dtype=torch.float64)
    w0 = torch.rand(3, generator=g, dtype=torch.float64)
    w = w0.clone()
    for _ in range(4):
        w.requires_grad_(True)
        loss = 0.5 * ((X @ w - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, w)
        w = (w - 0.1 * grad).detach()
    result, losses = gd_full_batch(X, y, w0, lr=0.1, steps=4, history=True)
    torch.testing.assert_close(result, w, rtol=1e-13, atol=1e-13)
    assert losses[0].item() == pytest.approx(0.5 * float(((X @ w0 - y) ** 2).sum()), rel=1e-13)
    assert gd_full_batch(X, y, w0, lr=0.1, steps=0).tolist() == w0.tolist()


@pytest.mark.claim("GD-LOOP.decrease")
def test_stable_bound_by_hand_on_a_2x2_example(ledger_extra):
    # X = diag(1, 2): X^T X = diag(1, 4), lambda_max = 4, so the bound is 2 / 4 = 0.5.
    # For y = 0 the error in w_2 is multiplied by (1 - 4 lr) each step: |1 - 4 lr| < 1
    # exactly when lr < 0.5.
    X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    y = torch.zeros(2, dtype=torch.float64)
    assert stable_learning_rate(X) == pytest.approx(0.5, rel=1e-15)
    w0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    # lr = 0.3: factors (1 - 0.3) = 0.7 and (1 - 1.2) = -0.2: both shrink, loss falls.
    w, losses = gd_full_batch(X, y, w0, lr=0.3, steps=30, history=True)
    torch.testing.assert_close(w, torch.tensor([0.7**30, (-0.2) ** 30], dtype=torch.float64))
    assert torch.all(losses[1:] <= losses[:-1])
    # lr = 0.6: factor (1 - 2.4) = -1.4 on w_2: |w_2| = 1.4^t, loss grows every step...
    w, losses = gd_full_batch(X, y, w0, lr=0.6, steps=30, history=True)
    assert w[1].item() == pytest.approx((-1.4) ** 30, rel=1e-12)
    assert torch.all(losses[1:] > losses[:-1])
    # ...until the loss overflows: 1/2 (1.4^t)^2 > 1.8e308 once t > 308 ln 10 / (2 ln 1.4) ~ 1054.
    with pytest.raises(DivergenceError, match=r"step \d+/5000 with lr=0\.6.*= 0\.5\b") as excinfo:
        gd_full_batch(X, y, w0, lr=0.6, steps=5000)
    ledger_extra("message", str(excinfo.value))


@pytest.mark.claim("GD-LOOP.decrease")
@pytest.mark.parametrize("factor", [0.5, 0.99, 1.05])
def test_digit_loss_falls_monotonically_below_the_bound_and_diverges_above(factor):
    images, labels = load_digits()
    X, y = design_matrix(images, dim=1), labels.double()
    bound = stable_learning_rate(X)
    # numpy as the oracle for the bound: 2 / largest eigenvalue of X^T X.
    assert bound == pytest.approx(2 / np.linalg.eigvalsh(X.numpy().T @ X.numpy())[-1], rel=1e-12)
    if factor < 1:
        _, losses = gd_full_batch(X, y, torch.zeros(7), lr=factor * bound, steps=400, history=True)
        assert torch.all(losses[1:] <= losses[:-1])
    else:
        # The error along the top eigenvector grows by 1.1x per step: inf within ~7500 steps.
        with pytest.raises(DivergenceError) as excinfo:
            gd_full_batch(X, y, torch.zeros(7), lr=factor * bound, steps=20000)
        assert f"{bound:.6g}" in str(excinfo.value)
        assert isinstance(excinfo.value, FloatingPointError)


@pytest.mark.claim("GD-LOOP.decrease")
def test_sgd_per_sample_raises_divergence_above_the_per_sample_bound():
    X = torch.tensor([[1.0, 1.0], [2.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    # Per-sample Hessians x x^T have eigenvalues |x|^2 = 2 and 4: bound 2 / 4 = 0.5.
    assert stable_learning_rate(X, per_sample=True) == pytest.approx(0.5, rel=1e-15)
    w = sgd_per_sample(X, y, torch.zeros(2), lr=0.2, epochs=200)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.5], dtype=torch.float64))  # exact fit
    # The per-sample bound is sufficient, not necessary: at lr = 0.6 > 0.5 the epoch map
    # (I - lr x_2 x_2^T)(I - lr x_1 x_1^T) still contracts and SGD converges.
    w = sgd_per_sample(X, y, torch.zeros(2), lr=0.6, epochs=2000)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.5], dtype=torch.float64))
    with pytest.raises(DivergenceError, match=r"epoch \d+/5000 with lr=1\.2.*= 0\.5\b"):
        sgd_per_sample(X, y, torch.zeros(2), lr=1.2, epochs=5000)


@pytest.mark.claim("GD-LOOP.stop")
def test_stopping_on_exact_equality_never_triggers(program_1):
    images, labels = load_digits()
    y = labels.double()
    # On all ten digits no weights give output == label: the least squared error is > 37
    # for every projection/normalization (LS-DIGITS), so the equality test never passes.
    for dim in (0, 1):
        for normalization in ("proper", "sequential"):
            X = design_matrix(images, dim=dim, normalization=normalization)
            w, *_ = np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)
            assert float(((X.numpy() @ w - y.numpy()) ** 2).sum()) > 37
    # Program 1 (5 training digits, an exact fit exists) after its fixed 3000 epochs:
    # the outputs are close to the labels, but none equals its label.
    manual = program_1
    assert all(manual.predictions[i].item() != i for i in range(5))
    # Where an exact fit exists, gradient descent approaches it only geometrically:
    # on y = 2x (one sample x = 1) with lr 0.5 the error halves each step, never 0 in
    # exact arithmetic (|w_t - 2| = 2 / 2^t).
    _, losses = gd_full_batch(
        torch.ones(1, 1), torch.tensor([2.0]), torch.zeros(1), lr=0.5, steps=40, history=True
    )
    expected = torch.tensor([0.5 * (2 / 2**t) ** 2 for t in range(40)], dtype=torch.float64)
    torch.testing.assert_close(losses, expected, rtol=1e-14, atol=0)
    assert torch.all(losses > 0)


# --------------------------------------------------------------------------------------
# GD-REGRESSION-CLASS
# --------------------------------------------------------------------------------------


@pytest.mark.claim("GD-REGRESSION-CLASS")
@settings(max_examples=60)
@given(y=st.floats(min_value=-20, max_value=30, allow_nan=False, width=64))
def test_each_class_owns_one_interval_of_the_regression_output(y):
    # Oracle: exact rational arithmetic. Class c owns [c - 1/2, c + 1/2); everything
    # below 1/2 is 0, everything from 8 1/2 up is 9.
    c = math.floor(Fraction(y) + Fraction(1, 2))
    expected = min(9, max(0, c))
    assert classify(torch.tensor([y], dtype=torch.float64)).tolist() == [expected]


@pytest.mark.claim("GD-REGRESSION-CLASS")
def test_classify_boundaries_shapes_and_dtypes():
    y = torch.tensor([-7.0, 0.0, 0.4999, 0.5, 1.5, 2.5, 4.49, 8.4999, 8.5, 100.0])
    assert classify(y).tolist() == [0, 0, 0, 1, 2, 3, 4, 8, 9, 9]
    # Ties go up, unlike torch.round (half to even: 0.5 -> 0, 2.5 -> 2).
    assert torch.round(torch.tensor([0.5, 2.5])).tolist() == [0.0, 2.0]
    # The largest double below 1/2 stays in class 0 (y + 0.5 would round up to 1.0).
    assert classify(torch.tensor([0.49999999999999994], dtype=torch.float64)).tolist() == [0]
    out = classify(torch.zeros(2, 3, 1))
    assert out.shape == (2, 3, 1)
    assert out.dtype == torch.int64
    assert classify(torch.tensor([-3, 4, 12])).tolist() == [0, 4, 9]


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.claim("GD-REGRESSION-CLASS")
def test_classify_rejects_bad_input():
    with pytest.raises(ValueError, match="y_pred has non-finite"):
        classify(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match=r"y_pred must be a torch\.Tensor"):
        classify([1.0])


@pytest.mark.claim("GD-LOOP.update")
def test_training_loops_reject_bad_input():
    X, y, w0 = torch.ones(3, 2), torch.ones(3), torch.zeros(2)
    for fn, count in ((sgd_per_sample, "epochs"), (gd_full_batch, "steps")):
        with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
            fn(X, y, w0, -0.1, 1)
        with pytest.raises(TypeError, match="lr must be a real number"):
            fn(X, y, w0, "0.1", 1)
        with pytest.raises(ValueError, match=rf"{count} must be >= 0"):
            fn(X, y, w0, 0.1, -1)
        with pytest.raises(TypeError, match=rf"{count} must be an int"):
            fn(X, y, w0, 0.1, 2.0)
        with pytest.raises(ValueError, match=r"w0 must have shape \[2\] or \[2, 1\]"):
            fn(X, y, torch.zeros(3), 0.1, 1)
        with pytest.raises(ValueError, match=r"y must have shape \[3\] or \[3, 1\]"):
            fn(X, torch.ones(4), w0, 0.1, 1)
        with pytest.raises(ValueError, match="X must be a non-empty 2-D tensor"):
            fn(torch.ones(3), y, w0, 0.1, 1)
        with pytest.raises(ValueError, match="X has non-finite"):
            fn(torch.full((3, 2), float("inf")), y, w0, 0.1, 1)
        with pytest.raises(ValueError, match=r"method must be one of \('auto', 'fast', 'loop'\)"):
            fn(X, y, w0, 0.1, 1, method="slow")
    with pytest.raises(ValueError, match="X is all zeros"):
        stable_learning_rate(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="X must be a non-empty 2-D tensor"):
        stable_learning_rate(torch.ones(3))
    with pytest.raises(TypeError, match=r"X must be a torch\.Tensor"):
        stable_learning_rate([[1.0, 0.0]])


@pytest.mark.claim("DR-MANUAL")
@pytest.mark.claim("DR-AUTOGRAD.program")
def test_digit_programs_reject_bad_input():
    with pytest.raises(ValueError, match="seed must be in \\[0, 2\\*\\*63\\)"):
        train_digits_manual(seed=-1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        train_digits_manual(epochs=10.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        train_digits_autograd(seed="0")
    with pytest.raises(ValueError, match="steps must be >= 0"):
        train_digits_autograd(steps=-5)
    with pytest.raises(ValueError, match=r"train_dim must be 0 \(column sums\) or 1"):
        train_digits_autograd(train_dim=2)
    with pytest.raises(ValueError, match=r"infer_dim must be 0 \(column sums\) or 1"):
        train_digits_autograd(infer_dim=True)


# --------------------------------------------------------------------------------------
# GD-LOOP: the readable loops (method="loop") under the same specs as the default path
# --------------------------------------------------------------------------------------


# The divergence contract (reference.errors.DivergenceError, one on every path): the first
# step (epoch) whose new weights pass 2**500 in size or are not finite, or, when the history
# is recorded, whose recorded loss overflows float64.
LIMIT = 2.0**500


def _restated_gd(X, y, w, lr, steps, history=False):
    """Full-batch GD on 1/2 |Xw - y|^2 in plain Python floats, as the claim states it.

    Returns (weights, losses, diverged_at): losses[s] is the loss at the weights step s + 1
    starts from; diverged_at is the first step that breaks the divergence contract above.
    """
    losses = []
    for step in range(1, steps + 1):
        residual = [
            sum(a * b for a, b in zip(row, w, strict=True)) - t for row, t in zip(X, y, strict=True)
        ]
        loss = 0.5 * sum(r * r for r in residual)
        # w - X^T (lr r): lr scales the residuals before the sum (as the loop documents), so a
        # gradient that alone would overflow still gives a finite step
        step_ = [sum(X[i][j] * (lr * residual[i]) for i in range(len(X))) for j in range(len(w))]
        w = [wj - sj for wj, sj in zip(w, step_, strict=True)]
        losses.append(loss)
        if (history and not math.isfinite(loss)) or not max(abs(v) for v in w) < LIMIT:
            return w, losses, step
    return w, losses, None


def _restated_sgd(X, y, w, lr, epochs, history=False):
    """Per-sample SGD in plain Python floats; an epoch's loss sums 1/2 r_i^2 before each update."""
    losses = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for row, t in zip(X, y, strict=True):
            r = sum(a * b for a, b in zip(row, w, strict=True)) - t
            total += 0.5 * r * r
            w = [wj - lr * r * xj for wj, xj in zip(w, row, strict=True)]
        losses.append(total)
        if (history and not math.isfinite(total)) or not max(abs(v) for v in w) < LIMIT:
            return w, losses, epoch
    return w, losses, None


@pytest.mark.claim("GD-LOOP.update")
@pytest.mark.parametrize("column", [False, True])
def test_loop_sgd_weights_and_every_epoch_loss_follow_the_update_rule(column):
    g = torch.Generator().manual_seed(21)
    X = torch.rand(6, 3, generator=g, dtype=torch.float64)
    y = torch.rand(6, generator=g, dtype=torch.float64)
    w0 = torch.rand(3, generator=g, dtype=torch.float64)
    w0 = w0.view(3, 1) if column else w0
    before = w0.clone()
    w, losses = sgd_per_sample(X, y, w0, lr=0.3, epochs=7, history=True, method="loop")
    w_ref, losses_ref, diverged = _restated_sgd(
        X.tolist(), y.tolist(), before.view(3).tolist(), 0.3, 7
    )
    assert diverged is None
    assert torch.equal(w0, before)  # w0 is not modified
    assert w.shape == w0.shape
    assert w.dtype == losses.dtype == torch.float64
    torch.testing.assert_close(
        w.view(3), torch.tensor(w_ref, dtype=torch.float64), rtol=1e-13, atol=1e-14
    )
    torch.testing.assert_close(
        losses, torch.tensor(losses_ref, dtype=torch.float64), rtol=1e-13, atol=0
    )
    # without history only the weights come back, the same ones
    assert torch.equal(sgd_per_sample(X, y, w0, lr=0.3, epochs=7, method="loop"), w)
    # the readable loop and the default path give the same numbers
    w_auto, losses_auto = sgd_per_sample(X, y, w0, lr=0.3, epochs=7, history=True)
    torch.testing.assert_close(w_auto, w, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(losses_auto, losses, rtol=1e-9, atol=1e-12)


@pytest.mark.claim("GD-LOOP.update")
@pytest.mark.parametrize("column", [False, True])
def test_loop_gd_weights_and_every_step_loss_follow_the_update_rule(column):
    g = torch.Generator().manual_seed(22)
    X = torch.rand(5, 2, generator=g, dtype=torch.float64)
    y = torch.rand(5, generator=g, dtype=torch.float64)
    w0 = torch.rand(2, generator=g, dtype=torch.float64)
    w0 = w0.view(2, 1) if column else w0
    before = w0.clone()
    y_arg = y.view(5, 1) if column else y  # targets [n] or [n, 1]
    w, losses = gd_full_batch(X, y_arg, w0, lr=0.2, steps=9, history=True, method="loop")
    w_ref, losses_ref, diverged = _restated_gd(
        X.tolist(), y.tolist(), before.view(2).tolist(), 0.2, 9
    )
    assert diverged is None
    assert torch.equal(w0, before)
    assert w.shape == w0.shape
    assert w.dtype == losses.dtype == torch.float64
    assert losses.shape == (9,)
    torch.testing.assert_close(
        w.view(2), torch.tensor(w_ref, dtype=torch.float64), rtol=1e-13, atol=1e-14
    )
    torch.testing.assert_close(
        losses, torch.tensor(losses_ref, dtype=torch.float64), rtol=1e-13, atol=0
    )
    assert torch.equal(gd_full_batch(X, y, w0, lr=0.2, steps=9, method="loop"), w)
    # zero steps: the weights come back unchanged (as float64) and the history is empty
    w_zero, none = gd_full_batch(X, y, w0, lr=0.2, steps=0, history=True, method="loop")
    assert torch.equal(w_zero, before)
    assert none.shape == (0,)


@pytest.mark.claim("GD-LOOP.update")
def test_loop_sgd_with_zero_epochs_returns_w0_and_an_empty_history():
    X, y = torch.ones(3, 2, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    w0 = torch.tensor([0.5, -0.25], dtype=torch.float32)
    w, losses = sgd_per_sample(X, y, w0, lr=0.1, epochs=0, history=True, method="loop")
    assert w.dtype == torch.float64
    assert w.tolist() == [0.5, -0.25]
    assert losses.shape == (0,)


@pytest.mark.claim("GD-LOOP.decrease")
@pytest.mark.parametrize("method", ["loop", "auto"])
def test_gd_names_the_step_where_the_weights_pass_the_limit_and_the_bound(method, ledger_extra):
    # X = diag(1, 2), y = 0, lr = 0.6 > 0.5 = 2 / lambda_max: w_2 = (-1.4)^t, so the weights
    # pass 2**500 at the first t with 1.4^t >= 2^500; the plain-float restatement finds it.
    X = [[1.0, 0.0], [0.0, 2.0]]
    _, losses_ref, step = _restated_gd(X, [0.0, 0.0], [1.0, 1.0], 0.6, 5000)
    assert step == math.ceil(500 * math.log(2) / math.log(1.4))
    bound = 2 / np.linalg.eigvalsh(np.array(X).T @ np.array(X))[-1]
    Xt = torch.tensor(X, dtype=torch.float64)
    for history in (False, True):
        with pytest.raises(DivergenceError) as excinfo:
            gd_full_batch(
                Xt,
                torch.zeros(2),
                torch.ones(2),
                lr=0.6,
                steps=5000,
                history=history,
                method=method,
            )
        message = str(excinfo.value)
        assert f"at step {step}/5000 with lr=0.6;" in message
        assert f"= {bound:.6g}" in message
        assert "the weights" in message
    ledger_extra("message", message)
    # one step fewer and the loop returns finite weights and the restated losses
    w, losses = gd_full_batch(
        Xt, torch.zeros(2), torch.ones(2), lr=0.6, steps=step - 1, history=True, method=method
    )
    assert bool(torch.isfinite(w).all())
    torch.testing.assert_close(
        losses, torch.tensor(losses_ref[:-1], dtype=torch.float64), rtol=1e-9, atol=0
    )


@pytest.mark.claim("GD-LOOP.decrease")
@pytest.mark.parametrize("method", ["loop", "auto"])
def test_sgd_names_the_epoch_where_it_diverges_and_the_per_sample_bound(method):
    X, y = [[1.0, 1.0], [2.0, 0.0]], [1.0, 1.0]
    _, _, epoch = _restated_sgd(X, y, [0.0, 0.0], 1.2, 5000)
    assert epoch is not None
    bound = 2 / max(sum(v * v for v in row) for row in X)  # 2 / max_i |x_i|^2 = 0.5
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    with pytest.raises(DivergenceError) as excinfo:
        sgd_per_sample(Xt, yt, torch.zeros(2), lr=1.2, epochs=5000, method=method)
    message = str(excinfo.value)
    assert f"at epoch {epoch}/5000 with lr=1.2;" in message
    assert f"= {bound:.6g}" in message
    assert "lambda_max(x_i x_i^T)" in message
    assert isinstance(excinfo.value, FloatingPointError)


@pytest.mark.claim("GD-LOOP.decrease")
def test_loop_with_history_names_the_loss_when_it_overflows_before_the_weights():
    # X = [[1e160]], w0 = [1], y = [0]: the residual 1e160 gives the loss 0.5e320 = inf at
    # step 1, while lr = 1e-300 moves w by 1e160 * (1e-300 * 1e160) = 1e20: finite, < 2**500.
    X = torch.tensor([[1e160]], dtype=torch.float64)
    y, w0 = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    _, _, step = _restated_gd([[1e160]], [0.0], [1.0], 1e-300, 3, history=True)
    assert step == 1
    with pytest.raises(DivergenceError, match=r"the recorded loss overflows float64 at step 1/3"):
        gd_full_batch(X, y, w0, lr=1e-300, steps=3, history=True, method="loop")
    # without a history the loss is not recorded, so only the weights count: they stay finite
    _, _, none = _restated_gd([[1e160]], [0.0], [1.0], 1e-300, 3)
    w = gd_full_batch(X, y, w0, lr=1e-300, steps=3, method="loop")
    assert none is None
    assert bool(torch.isfinite(w).all())


@pytest.mark.claim("GD-LOOP.decrease")
@pytest.mark.parametrize("factor", [0.5, 0.99])
def test_loop_digit_loss_falls_monotonically_below_the_bound(factor):
    images, labels = load_digits()
    X, y = design_matrix(images, dim=1), labels.double()
    bound = 2 / np.linalg.eigvalsh(X.numpy().T @ X.numpy())[-1]
    _, losses = gd_full_batch(
        X, y, torch.zeros(7), lr=factor * bound, steps=300, history=True, method="loop"
    )
    assert losses.shape == (300,)
    assert torch.all(losses[1:] <= losses[:-1])
    assert losses[-1] < losses[0]


# --------------------------------------------------------------------------------------
# Oracles for the numbers of the two programs (DR-MANUAL, DR-AUTOGRAD.poor/.budget)
# --------------------------------------------------------------------------------------
# The outcomes pinned above (outputs between 2 and 3, 1 and 2 digits recognized, a final loss
# between 7 and 8.5, the first five digits recognized after 3000 epochs, none of the other
# five) are recomputed here from restatements of the programs in numpy, independently of
# reference.training: the features of the source's loop (literal_feature), the uniform start
# weights of torch.rand after the seed, and the update rules written out.


def _numpy_features(dim: int, digits) -> np.ndarray:
    images, _ = load_digits()
    rows = [
        np.append(literal_feature(images[d], dim).view(6).numpy(), np.float32(1)) for d in digits
    ]
    return np.array(rows, dtype=np.float32)


def _start_weights(seed: int) -> np.ndarray:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return torch.rand(7, 1).numpy().reshape(7)


@pytest.fixture(scope="module")
def program_1_oracle() -> dict[str, np.ndarray]:
    """Program 1 in float32 numpy: per-sample updates on digits 0-4, 3000 epochs, lr 0.05."""
    X = _numpy_features(0, range(5))
    w = _start_weights(0)
    lr = np.float32(0.05)
    losses = []
    for _ in range(3000):
        total = 0.0
        for i in range(5):
            error = np.float32(X[i] @ w) - np.float32(i)
            total += 0.5 * float(error) ** 2
            w = w - error * X[i] * lr
        losses.append(total)
    return {"w": w, "losses": np.array(losses), "outputs": _numpy_features(0, range(10)) @ w}


@pytest.mark.claim("DR-MANUAL")
def test_program_1_after_3000_epochs_matches_a_numpy_restatement(program_1, program_1_oracle):
    oracle = program_1_oracle
    # float32 both ways, summed in a different order: equal to float32 precision
    np.testing.assert_allclose(
        program_1.weights.numpy().reshape(7), oracle["w"], rtol=2e-4, atol=2e-5
    )
    np.testing.assert_allclose(
        program_1.loss_history.numpy(), oracle["losses"], rtol=2e-3, atol=1e-6
    )
    np.testing.assert_allclose(
        program_1.predictions.numpy(), oracle["outputs"], rtol=2e-4, atol=2e-4
    )
    # the outcomes the specs above pin, read off the oracle: the five training digits round to
    # their labels, none of the five others does, and the loss fell by more than 40 times
    rounded = np.clip(np.rint(oracle["outputs"]), 0, 9)
    assert rounded[:5].tolist() == [0, 1, 2, 3, 4]
    assert not np.any(rounded[5:] == np.arange(5, 10))
    assert oracle["losses"][-1] < oracle["losses"][0] / 40
    assert (program_1.classes.numpy() == rounded).all()


@pytest.fixture(scope="module")
def homework_oracle() -> dict[str, object]:
    """The homework in float64 numpy: full-batch GD on sum 1/2 (x_i.w - i)^2, digits 0-5 with
    row projections, 5000 steps of lr 0.0005; recognition with column projections."""
    X = _numpy_features(1, range(6)).astype(np.float64)
    t = np.arange(6.0)
    w = _start_weights(0).astype(np.float64)
    losses = []
    for _ in range(5000):
        r = X @ w - t
        losses.append(0.5 * float(r @ r))
        w = w - 0.0005 * (X.T @ r)
    return {
        "X": X,
        "w": w,
        "losses": np.array(losses),
        "cols": _numpy_features(0, range(10)).astype(np.float64) @ w,
        "rows": _numpy_features(1, range(10)).astype(np.float64) @ w,
    }


@pytest.mark.claim("DR-AUTOGRAD.poor")
@pytest.mark.claim("DR-AUTOGRAD.budget")
def test_homework_numbers_match_a_numpy_restatement(homework, homework_oracle):
    oracle, trained = homework_oracle, homework["trained"]
    np.testing.assert_allclose(
        trained.weights.numpy().reshape(7), oracle["w"], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(trained.loss_history.numpy(), oracle["losses"], rtol=1e-4)
    np.testing.assert_allclose(trained.predictions.numpy(), oracle["cols"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        homework["rows_predictions"].numpy(), oracle["rows"], rtol=1e-4, atol=1e-5
    )
    # the outcomes pinned above, read off the oracle (the claim: outputs between about 2.2
    # and 2.9, loss from about 15.6 to 7.8, weights about 57 from the nearest optimum)
    assert oracle["cols"].min() > 2.2
    assert oracle["cols"].max() < 2.9
    assert _recognized(torch.from_numpy(oracle["cols"])) == 1
    assert _recognized(torch.from_numpy(oracle["rows"])) == 2
    assert oracle["losses"][0] == pytest.approx(15.6, abs=0.05)
    final = 0.5 * float(((oracle["X"] @ oracle["w"] - np.arange(6.0)) ** 2).sum())
    assert final == pytest.approx(7.8, abs=0.05)
    w_star = np.linalg.lstsq(oracle["X"], np.arange(6.0), rcond=None)[0]
    live = [0, 1, 2, 3, 4, 6]
    assert np.linalg.norm(oracle["w"][live] - w_star[live]) == pytest.approx(57, abs=1)
