"""Chapter 7 — linear regression from scratch and concise (LIN-SYNTH ... LIN-CONCISE.*).

Oracles: scipy.stats (normality), numpy least squares in float64 (the analytic solution),
the SGD update rule written out, the noise level of the data (tolerances derived below),
and the installed torch itself for what nn layers accept. The cases LIN-GENERALIZE, LIN-TWO-POINTS
and LIN-TEN-X are in test_linear_regression_cases.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from torch import nn

from reference.errors import DivergenceError
from reference.training import (
    data_iter,
    synthetic_data,
    train_linear_concise,
    train_linear_scratch,
)

TRUE_W = [2.0, -3.4]
TRUE_B = 4.2
N = 1000
SIGMA = 0.01


# ---------------------------------------------------------------- LIN-SYNTH


@pytest.mark.claim("LIN-SYNTH")
def test_synthetic_data_has_1000_standard_normal_pairs_and_noise_of_std_0_01():
    X, y = synthetic_data(TRUE_W, TRUE_B, N, seed=0)
    assert X.shape == (N, 2)
    assert y.shape == (N,)
    assert X.dtype == y.dtype == torch.float32
    # Each feature column is N(0, 1): Kolmogorov-Smirnov against the standard normal.
    for j in range(2):
        assert stats.kstest(X[:, j].double().numpy(), "norm").pvalue > 1e-3
    # The residual y - (X w + b) is the noise: mean 0, std 0.01. With n = 1000 the sample
    # std has relative standard error 1/sqrt(2(n - 1)) ≈ 2.2 %, the mean has std
    # 0.01/sqrt(1000) ≈ 3.2e-4; allow 5 standard errors. (float32 rounding of labels near 10
    # is ~5e-7, negligible.)
    noise = (y.double() - X.double() @ torch.tensor(TRUE_W, dtype=torch.float64) - TRUE_B).numpy()
    assert abs(noise.mean()) < 5 * SIGMA / math.sqrt(N)
    assert abs(noise.std(ddof=1) / SIGMA - 1) < 5 / math.sqrt(2 * (N - 1))
    assert stats.kstest(noise / SIGMA, "norm").pvalue > 1e-3


@pytest.mark.claim("LIN-SYNTH")
def test_synthetic_data_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    X0, y0 = synthetic_data(TRUE_W, TRUE_B, 50, seed=7)
    X1, y1 = synthetic_data(TRUE_W, TRUE_B, 50, seed=7)
    X2, _ = synthetic_data(TRUE_W, TRUE_B, 50, seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(X0, X1)
    assert torch.equal(y0, y1)
    assert not torch.equal(X0, X2)
    # w and b may also come as a tensor / array (as the source keeps true_w in a list and
    # others in a tensor): same data
    X3, y3 = synthetic_data(np.array(TRUE_W), torch.tensor(TRUE_B), 50, seed=7)
    assert torch.equal(X3, X0)
    assert torch.equal(y3, y0)
    # noise_std = 0 gives the noiseless labels exactly (up to float32 rounding)
    Xc, yc = synthetic_data(torch.tensor(TRUE_W), TRUE_B, 20, noise_std=0.0, seed=1)
    expected = Xc.double() @ torch.tensor(TRUE_W, dtype=torch.float64) + TRUE_B
    torch.testing.assert_close(yc.double(), expected, rtol=0, atol=1e-5)


@pytest.mark.claim("LIN-SYNTH")
def test_synthetic_data_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 1"):
        synthetic_data(TRUE_W, TRUE_B, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        synthetic_data(TRUE_W, TRUE_B, 10.0)
    with pytest.raises(ValueError, match="noise_std must be >= 0"):
        synthetic_data(TRUE_W, TRUE_B, 10, noise_std=-0.1)
    with pytest.raises(ValueError, match="w must be a non-empty vector of finite numbers"):
        synthetic_data([], TRUE_B, 10)
    with pytest.raises(ValueError, match="w has non-finite entries"):
        synthetic_data(torch.tensor([1.0, float("nan")]), TRUE_B, 10)
    with pytest.raises(TypeError, match="w must be a sequence of numbers or a tensor"):
        synthetic_data(2.0, TRUE_B, 10)
    with pytest.raises(TypeError, match="b must be a real number"):
        synthetic_data(TRUE_W, "4.2", 10)
    with pytest.raises(TypeError, match="seed must be an int"):
        synthetic_data(TRUE_W, TRUE_B, 10, seed=None)


# ---------------------------------------------------------------- LIN-DATA-ITER


def epoch_ids(batch_size: int, n: int, seed: int) -> list[list[int]]:
    """Run data_iter on features = labels = 0..n-1 and return the ids in each batch."""
    ids = torch.arange(n, dtype=torch.float64)
    features = ids.reshape(n, 1).repeat(1, 3)
    batches = []
    for xb, yb in data_iter(batch_size, features, ids, seed=seed):
        assert torch.equal(xb[:, 0], yb)  # rows stay paired with their labels
        batches.append([int(v) for v in yb.tolist()])
    return batches


@pytest.mark.claim("LIN-DATA-ITER")
@given(
    n=st.integers(min_value=1, max_value=60),
    batch_size=st.integers(min_value=1, max_value=70),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_data_iter_serves_every_example_once_and_a_smaller_last_batch(n, batch_size, seed):
    batches = epoch_ids(batch_size, n, seed)
    served = [i for batch in batches for i in batch]
    assert sorted(served) == list(range(n))  # multiset equality: each exactly once
    expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert [len(b) for b in batches] == expected_sizes


@pytest.mark.claim("LIN-DATA-ITER")
def test_data_iter_order_is_fixed_by_the_seed_and_changes_with_it():
    state = torch.random.get_rng_state()
    a = epoch_ids(10, 100, seed=0)
    b = epoch_ids(10, 100, seed=0)
    c = epoch_ids(10, 100, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG untouched
    assert a == b
    assert a != c
    flat = [i for batch in a for i in batch]
    assert flat != list(range(100))  # shuffled, not the storage order
    # 1000 examples in batches of 10: 100 batches, the source's setting
    X, y = synthetic_data(TRUE_W, TRUE_B, N, seed=0)
    assert sum(1 for _ in data_iter(10, X, y, seed=3)) == 100


@pytest.mark.claim("LIN-DATA-ITER")
def test_data_iter_rejects_bad_arguments():
    X, y = torch.zeros(10, 2), torch.zeros(10)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        data_iter(0, X, y)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        data_iter(2.0, X, y)
    with pytest.raises(ValueError, match="same length"):
        data_iter(2, X, torch.zeros(9))
    with pytest.raises(TypeError, match=r"features must be a torch\.Tensor"):
        data_iter(2, X.numpy(), y)
    with pytest.raises(TypeError, match="seed must be an int"):
        data_iter(2, X, y, seed="0")


# ---------------------------------------------------------------- LIN-SGD


def ols(X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """The analytic least-squares solution [w..., b] in float64 (numpy)."""
    A = np.c_[X.double().numpy(), np.ones(len(X))]
    return np.linalg.lstsq(A, y.double().numpy(), rcond=None)[0]


def mse_bound(X: torch.Tensor, *, half: bool) -> float:
    """2 / lambda_max of the Hessian c/n A^T A of the (half) MSE, A = [X 1], c = 1 or 2."""
    A = np.c_[X.double().numpy(), np.ones(len(X))]
    return float(2 / np.linalg.eigvalsh((1.0 if half else 2.0) * A.T @ A / len(X))[-1])


def sgd_tolerance(effective_lr: float, batch_size: int, steps: int, start_error: float) -> float:
    """Per-coordinate tolerance for |theta_SGD - theta_true|, derived from the noise.

    * Least squares itself misses the truth by sd ≈ sigma/sqrt(n) per coordinate
      (X^T X / n ≈ I for standard normal features).
    * Constant-step minibatch SGD jitters around the least-squares point: with the update
      e <- (1 - lr) e + lr·(batch-mean noise·x), the stationary variance v solves
      v = (1 - lr)² v + lr² sigma²/B, so v ≈ lr sigma² / (2B).
    * The start error decays like (1 - lr)^steps.
    Five standard deviations of each noise term, plus the decayed start error.
    """
    sd_ols = SIGMA / math.sqrt(N)
    sd_sgd = math.sqrt(effective_lr * SIGMA**2 / (2 * batch_size))
    return 5 * (sd_ols + sd_sgd) + start_error * (1 - effective_lr) ** steps


@pytest.mark.claim("LIN-SGD")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minibatch_sgd_from_scratch_recovers_w_and_b(seed):
    X, y = synthetic_data(TRUE_W, TRUE_B, N, seed=seed)
    w, b, losses = train_linear_scratch(X, y, batch_size=10, lr=0.03, num_epochs=3, seed=seed)
    # Half squared loss, gradient averaged over the batch: effective step 0.03 on a Hessian
    # ≈ I; 3 epochs of 100 batches; start error |theta0 - theta| <= |(2, -3.4, 4.2)| + 0.05.
    tol = sgd_tolerance(0.03, 10, 300, start_error=5.8)
    assert tol < 5e-3  # the tolerance is tight: a few thousandths
    torch.testing.assert_close(
        w.double(), torch.tensor(TRUE_W, dtype=torch.float64), rtol=0, atol=tol
    )
    assert abs(b.item() - TRUE_B) <= tol
    # The recorded loss is half the mean squared error; at the optimum it is about
    # sigma²/2 = 5e-5, and it falls epoch after epoch.
    assert len(losses) == 3
    assert losses[0] > losses[1] > losses[2]
    assert 0.5 * SIGMA**2 / 2 < losses[-1] < 2 * SIGMA**2 / 2


@pytest.mark.claim("LIN-SGD.analytic")
def test_sgd_lands_on_the_analytic_least_squares_solution():
    # For linear regression the minimiser has a closed form, the least-squares solution of
    # [X 1] theta = y; SGD, a numerical method, gets within its own jitter of it.
    X, y = synthetic_data(TRUE_W, TRUE_B, N, seed=0)
    exact = ols(X, y)
    w, b, _ = train_linear_scratch(X, y, num_epochs=3, seed=0)
    sgd_only = 5 * math.sqrt(0.03 * SIGMA**2 / 20) + 5.8 * 0.97**300
    np.testing.assert_allclose(np.r_[w.double().numpy(), b.item()], exact, rtol=0, atol=sgd_only)


@pytest.mark.claim("LIN-SGD")
def test_scratch_step_is_lr_times_the_mean_gradient_of_each_batch_even_the_short_last_one():
    # 23 examples in batches of 5: four full batches and a last one of 3. The update rule
    # written out in float64: for the half squared error of batch B, with r = X_B w + b - y_B,
    # the gradient of sum_B r^2 / 2 is (X_B^T r, sum r); the step divides it by |B|.
    # One generator draws the initial w (N(0, 0.01^2)) and then each epoch's permutation.
    X, y = synthetic_data(TRUE_W, TRUE_B, 23, noise_std=0.5, seed=6, dtype=torch.float64)
    gen = torch.Generator().manual_seed(6)
    w = (torch.randn(2, 1, generator=gen, dtype=torch.float64) * 0.01).numpy().reshape(2)
    b = 0.0
    Xn, yn = X.numpy(), y.numpy()
    for _ in range(2):
        order = torch.randperm(23, generator=gen).numpy()
        for start in range(0, 23, 5):
            idx = order[start : start + 5]
            r = Xn[idx] @ w + b - yn[idx]
            w, b = w - 0.1 * Xn[idx].T @ r / len(idx), b - 0.1 * r.sum() / len(idx)
    fit = train_linear_scratch(X, y, batch_size=5, lr=0.1, num_epochs=2, seed=6)
    np.testing.assert_allclose(fit.w.numpy(), w, rtol=0, atol=1e-12)
    assert fit.b.item() == pytest.approx(b, rel=0, abs=1e-12)
    # the recorded loss: half the mean squared error on all the data, after the epoch
    assert fit.losses[-1] == pytest.approx(float(np.mean((Xn @ w + b - yn) ** 2) / 2), rel=1e-12)


@pytest.mark.claim("LIN-SGD")
def test_scratch_loop_rejects_bad_arguments_and_raises_on_divergence():
    X, y = synthetic_data(TRUE_W, TRUE_B, 100, seed=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train_linear_scratch(X, y, batch_size=0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        train_linear_scratch(X, y, lr=0.0)
    with pytest.raises(ValueError, match="same length"):
        train_linear_scratch(X, y[:-1])
    with pytest.raises(ValueError, match="features must be 2-D"):
        train_linear_scratch(X[:, 0], y)
    with pytest.raises(TypeError, match=r"features must be a torch\.Tensor"):
        train_linear_scratch(X.numpy(), y)
    with pytest.raises(ValueError, match="num_epochs must be >= 0"):
        train_linear_scratch(X, y, num_epochs=-1)
    # A step far beyond 2/lambda_max blows up; the message names epoch, batch, lr and bound.
    with pytest.raises(
        DivergenceError, match=r"epoch \d+, batch \d+ with lr=50\.0.*bound"
    ) as excinfo:
        train_linear_scratch(X, y, lr=50.0, num_epochs=5)
    # The bound quoted is the one of the half loss: Hessian (1/n) A^T A, A = [X 1] (numpy).
    assert f"lr < {mse_bound(X, half=True):.4g}" in str(excinfo.value)


# ---------------------------------------------------------------- LIN-CONCISE


@pytest.mark.claim("LIN-CONCISE")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concise_nn_linear_loop_recovers_w_and_b(seed):
    X, y = synthetic_data(TRUE_W, TRUE_B, N, seed=seed)
    w, b, losses = train_linear_concise(X, y, batch_size=10, lr=0.03, num_epochs=3, seed=seed)
    # MSELoss has no 1/2, so its gradient is twice the scratch one: effective step 0.06.
    tol = sgd_tolerance(0.06, 10, 300, start_error=5.8)
    torch.testing.assert_close(
        w.double(), torch.tensor(TRUE_W, dtype=torch.float64), rtol=0, atol=tol
    )
    assert abs(b.item() - TRUE_B) <= tol
    # MSE at the optimum ≈ sigma² = 1e-4
    assert 0.5 * SIGMA**2 < losses[-1] < 2 * SIGMA**2


@pytest.mark.claim("LIN-CONCISE")
def test_concise_loop_is_the_scratch_loop_with_half_the_learning_rate():
    # d/dtheta MSE = 2 · d/dtheta (MSE / 2): optim.SGD at lr/2 on MSELoss takes the very steps
    # of the hand-written loop at lr on the half loss (same seed: same init, same batches).
    X, y = synthetic_data(TRUE_W, TRUE_B, 300, seed=4)
    scratch = train_linear_scratch(X, y, lr=0.03, num_epochs=2, seed=4)
    concise = train_linear_concise(X, y, lr=0.015, num_epochs=2, seed=4)
    torch.testing.assert_close(concise.w, scratch.w, rtol=0, atol=1e-5)
    torch.testing.assert_close(concise.b, scratch.b, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        torch.tensor(concise.losses), 2 * torch.tensor(scratch.losses), rtol=1e-4, atol=0
    )


@pytest.mark.claim("LIN-CONCISE")
def test_concise_loop_rejects_bad_arguments_and_raises_on_divergence():
    X, y = synthetic_data(TRUE_W, TRUE_B, 100, seed=0)
    with pytest.raises(ValueError, match="init_std must be >= 0"):
        train_linear_concise(X, y, init_std=-1.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        train_linear_concise(X, y, seed=0.5)
    with pytest.raises(ValueError, match=r"labels must have shape \(n,\) or \(n, 1\)"):
        train_linear_concise(X, y.reshape(10, 10))
    with pytest.raises(TypeError, match="floating-point"):
        train_linear_concise(X, y.long())
    # it may blow up inside an epoch or on the epoch-end evaluation: match "epoch N"
    with pytest.raises(DivergenceError, match=r"epoch \d+.* with lr=50\.0.*bound") as excinfo:
        train_linear_concise(X, y, lr=50.0, num_epochs=5)
    # MSELoss has no 1/2: Hessian (2/n) A^T A, so the bound is half the scratch loop's.
    assert f"lr < {mse_bound(X, half=False):.4g}" in str(excinfo.value)


@pytest.mark.claim("LIN-CONCISE")
def test_init_normal_and_constant_set_the_starting_parameters():
    gen = torch.Generator().manual_seed(0)
    net = nn.Linear(2, 1)
    nn.init.normal_(net.weight, mean=0.0, std=0.01, generator=gen)
    nn.init.constant_(net.bias, 0.0)
    assert torch.equal(net.bias.detach(), torch.zeros(1))
    assert net.weight.abs().max().item() < 5 * 0.01  # N(0, 0.01²) draws, within 5 sd
    other = nn.Linear(2, 1)
    other.bias.data.fill_(0)  # the alternative the source mentions
    assert torch.equal(other.bias.detach(), net.bias.detach())
    assert other.bias.is_leaf
    assert other.bias.requires_grad


@pytest.mark.claim("LIN-CONCISE.step")
def test_parameters_move_only_on_optimizer_step():
    with torch.random.fork_rng(devices=[]):  # seeded here, the caller's RNG state restored
        torch.manual_seed(0)  # nn.Linear's default init draws from the global RNG
        net = nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    X, y = synthetic_data(TRUE_W, TRUE_B, 10, seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    loss = nn.MSELoss()(net(X), y.reshape(-1, 1))
    opt.zero_grad()
    loss.backward()
    # backward filled the gradients, and left the parameters alone
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    for p, p0 in zip(net.parameters(), before, strict=True):
        assert torch.equal(p.detach(), p0)
    grads = [p.grad.clone() for p in net.parameters()]
    opt.step()
    # the step is exactly p <- p - lr·grad (plain SGD, no momentum, no weight decay)
    for p, p0, g in zip(net.parameters(), before, grads, strict=True):
        torch.testing.assert_close(p.detach(), p0 - 0.1 * g, rtol=0, atol=1e-7)
        assert not torch.equal(p.detach(), p0)
    # zero_grad alone changes nothing either
    after = [p.detach().clone() for p in net.parameters()]
    opt.zero_grad()
    for p, p1 in zip(net.parameters(), after, strict=True):
        assert torch.equal(p.detach(), p1)


@pytest.mark.claim("LIN-CONCISE.batch-only")
def test_nn_linear_and_conv2d_accept_a_single_unbatched_sample():
    with torch.random.fork_rng(devices=[]):  # seeded here, the caller's RNG state restored
        torch.manual_seed(0)
        linear = nn.Linear(2, 3)
        conv = nn.Conv2d(1, 2, kernel_size=3)
    x = torch.tensor([0.5, -1.5])
    out = linear(x)  # one sample, no batch dimension
    assert out.shape == (3,)
    torch.testing.assert_close(out, linear(x.reshape(1, 2))[0], rtol=0, atol=0)
    torch.testing.assert_close(out, linear.weight @ x + linear.bias, rtol=1e-6, atol=1e-7)
    # (C, H, W): a single unbatched image
    image = torch.randn(1, 5, 5, generator=torch.Generator().manual_seed(0))
    out_conv = conv(image)
    assert out_conv.shape == (2, 3, 3)
    # out[o, i, j] = sum_{c, u, v} K[o, c, u, v] image[c, i + u, j + v] + bias[o] (numpy)
    windows = np.lib.stride_tricks.sliding_window_view(image.double().numpy(), (3, 3), axis=(1, 2))
    kernel, bias = conv.weight.detach().double().numpy(), conv.bias.detach().double().numpy()
    by_hand = np.einsum("cijuv,ocuv->oij", windows, kernel) + bias[:, None, None]
    np.testing.assert_allclose(out_conv.detach().double().numpy(), by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.claim("LIN-CONCISE.batch-only")
def test_batchnorm_in_training_mode_is_the_layer_that_needs_a_batch(ledger_extra):
    bn = nn.BatchNorm1d(2)
    # torch error texts change between releases: match a stable fragment only.
    with pytest.raises(ValueError, match="more than 1 value per channel") as batch_of_one:
        bn(torch.tensor([[1.0, 2.0]]))
    ledger_extra("batchnorm_batch_of_one", str(batch_of_one.value))
    with pytest.raises(ValueError, match="1D") as unbatched:
        bn(torch.tensor([1.0, 2.0]))
    ledger_extra("batchnorm_unbatched", str(unbatched.value))
    ledger_extra("torch_version", torch.__version__)
    bn.eval()  # with running statistics a single sample is fine
    assert bn(torch.tensor([[1.0, 2.0]])).shape == (1, 2)


# ---------------------------------------------------------------- the draws, restated
# Initialisation and data generation checked against the same draws written out here (the same
# generator, the same order), not against the functions themselves.


@pytest.mark.claim("LIN-SYNTH")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_synthetic_data_is_features_then_noise_from_one_generator(dtype):
    gen = torch.Generator().manual_seed(7)
    X = torch.randn(6, 2, generator=gen, dtype=dtype)
    noise = torch.randn(6, generator=gen, dtype=dtype) * 0.25
    w = torch.tensor(TRUE_W, dtype=dtype)
    features, labels = synthetic_data(TRUE_W, TRUE_B, 6, noise_std=0.25, seed=7, dtype=dtype)
    assert features.dtype == labels.dtype == dtype
    assert torch.equal(features, X)
    torch.testing.assert_close(labels, X @ w + TRUE_B + noise, rtol=0, atol=0)
    # a tensor w and a one-element tensor b give the same draws
    w_t, b_t = torch.tensor(TRUE_W, dtype=dtype), torch.tensor([TRUE_B], dtype=torch.float64)
    again = synthetic_data(w_t, b_t, 6, 0.25, 7, dtype=dtype)
    assert torch.equal(again[0], features)
    assert torch.equal(again[1], labels)


@pytest.mark.claim("LIN-DATA-ITER")
def test_data_iter_cuts_the_generators_permutation_into_consecutive_batches():
    features = torch.arange(22.0).reshape(11, 2)
    labels = torch.arange(11.0)
    order = torch.randperm(11, generator=torch.Generator().manual_seed(5))
    batches = list(data_iter(4, features, labels, seed=5))
    assert [len(yb) for _, yb in batches] == [4, 4, 3]
    for k, (xb, yb) in enumerate(batches):
        idx = order[4 * k : 4 * k + 4]
        assert torch.equal(xb, features[idx])
        assert torch.equal(yb, labels[idx])
    # a generator passed in is advanced: two epochs draw two consecutive permutations
    gen, oracle = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for _ in range(2):
        expected = torch.randperm(11, generator=oracle)
        got = torch.cat([yb for _, yb in data_iter(3, features, labels, gen)])
        assert torch.equal(got, labels[expected])


def _restated_scratch(features, labels, batch_size, lr, epochs, seed, std):
    """train_linear_scratch written out: one generator draws w, then each epoch's order."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(features.shape[1], 1, generator=gen, dtype=features.dtype) * std
    b = torch.zeros(1, dtype=features.dtype)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=gen)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = features[idx], labels[idx].reshape(-1, 1)
            r = xb @ w + b - yb  # d/dw sum 1/2 r^2 = xb^T r, d/db = sum r
            w = w - lr * (xb.T @ r) / len(idx)
            b = b - lr * r.sum(0) / len(idx)
        losses.append(float((((features @ w + b - labels.reshape(-1, 1)) ** 2) / 2).mean()))
    return w.reshape(-1), b.reshape(()), losses


@pytest.mark.claim("LIN-SGD")
@pytest.mark.parametrize("epochs", [0, 2])
def test_scratch_loop_starts_from_the_generators_draws_and_follows_them(epochs):
    features, labels = synthetic_data(TRUE_W, TRUE_B, 37, seed=2, dtype=torch.float64)
    w, b, losses = _restated_scratch(features, labels, 10, 0.03, epochs, seed=4, std=0.5)
    fit = train_linear_scratch(features, labels, num_epochs=epochs, seed=4, init_std=0.5)
    torch.testing.assert_close(fit.w, w, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fit.b, b, rtol=1e-12, atol=1e-12)
    assert fit.w.shape == (2,)
    assert fit.b.shape == ()
    np.testing.assert_allclose(fit.losses, losses, rtol=1e-10)
    assert len(fit.losses) == epochs


@pytest.mark.claim("LIN-CONCISE")
@pytest.mark.parametrize("epochs", [0, 2])
def test_concise_loop_starts_from_normal_draws_of_its_generator(epochs):
    features, labels = synthetic_data(TRUE_W, TRUE_B, 23, seed=3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(6)
    weight = torch.empty(1, 2, dtype=torch.float64).normal_(0.0, 0.5, generator=gen)
    fit = train_linear_concise(features, labels, num_epochs=epochs, seed=6, init_std=0.5, lr=0.06)
    if epochs == 0:
        assert torch.equal(fit.w, weight.reshape(-1))
        assert fit.b.item() == 0.0
        assert fit.losses == []
        return
    # nn.MSELoss has no 1/2, so its gradient is twice that of the scratch loop: the concise
    # loop at lr = 0.06 takes the scratch loop's steps at lr = 0.12 from the same draws (the
    # generator draws the weight with normal_ where the scratch loop uses randn * std: the
    # same standard normals, so the same start).
    w, b, losses = _restated_scratch(features, labels, 10, 0.12, epochs, seed=6, std=0.5)
    torch.testing.assert_close(fit.w, w, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fit.b, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.losses, [2 * v for v in losses], rtol=1e-9)
