"""Specs of the fast training core (chapter training-core, docs/training-core.md).

The oracles are written here and share nothing with the code under test: plain per-sample
and full-batch loops over Python floats (one multiply-add at a time, float64), numpy for
linear algebra, and derivations in the comments. Every random problem comes from a seeded
numpy Generator whose seed hypothesis draws (the hypothesis profile is derandomized).

Tolerances: the fast paths and the loops do the same arithmetic in a different order, so
they agree to rounding. Rounding errors scale with the largest number the computation
meets, so weights are compared with ``rtol = 1e-9`` and ``atol = 1e-9 * scale`` where
``scale`` is the largest weight (or target) the loop saw; losses likewise with the largest
loss of the run.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.digits import load_digits
from reference.errors import DivergenceError
from reference.features import design_matrix
from reference.training import (
    _gram_numba,
    data_iter,
    fast,
    gd_full_batch,
    sgd_per_sample,
    stable_learning_rate,
)
from reference.training.fast import (
    GRAM_METHODS,
    OVERFLOW_LOG2,
    epoch_map,
    gd_from_gram,
    gd_full_batch_fast,
    gram,
    sgd_per_sample_fast,
)

RTOL = 1e-9


# ---------------------------------------------------------------------- the oracles
class LoopDiverged(Exception):
    """The oracle loop met a non-finite loss or weight (at ``index``, 1-based)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def loop_sgd(
    X: np.ndarray, y: np.ndarray, w0: np.ndarray, lr: float, epochs: int
) -> tuple[list[float], list[float], float]:
    """Per-sample SGD as the material writes it: r = x.w - y, then w_j -= lr r x_j for each j.

    Returns the weights, the loss of every epoch (0.5 r^2 summed over the epoch, each r
    measured before its own update) and the largest |w_j| or |y_i| met on the way.
    """
    rows = [[float(v) for v in row] for row in X]
    targets = [float(v) for v in y]
    w = [float(v) for v in w0]
    scale = max([abs(v) for v in w] + [abs(v) for v in targets])
    losses = []
    for epoch in range(epochs):
        loss = 0.0
        for x, target in zip(rows, targets, strict=True):
            r = -target
            for xj, wj in zip(x, w, strict=True):
                r += xj * wj
            loss += 0.5 * r * r
            w = [wj - lr * r * xj for wj, xj in zip(w, x, strict=True)]
        losses.append(loss)
        if not (math.isfinite(loss) and all(math.isfinite(v) for v in w)):
            raise LoopDiverged(epoch + 1)
        scale = max([scale] + [abs(v) for v in w])
    return w, losses, scale


def loop_gd(
    X: np.ndarray, y: np.ndarray, w0: np.ndarray, lr: float, steps: int, losses: list | None = None
) -> tuple[list[float], float]:
    """Full-batch GD on 0.5 sum_i (x_i.w - y_i)^2: g = sum_i r_i x_i, then w -= lr g.

    Appends the loss at the start of every step to ``losses`` when given.
    """
    rows = [[float(v) for v in row] for row in X]
    targets = [float(v) for v in y]
    w = [float(v) for v in w0]
    scale = max([abs(v) for v in w] + [abs(v) for v in targets])
    for step in range(steps):
        g = [0.0] * len(w)
        loss = 0.0
        for x, target in zip(rows, targets, strict=True):
            r = -target
            for xj, wj in zip(x, w, strict=True):
                r += xj * wj
            loss += 0.5 * r * r
            g = [gj + r * xj for gj, xj in zip(g, x, strict=True)]
        w = [wj - lr * gj for wj, gj in zip(w, g, strict=True)]
        if losses is not None:
            losses.append(loss)
        if not (math.isfinite(loss) and all(math.isfinite(v) for v in w)):
            raise LoopDiverged(step + 1)
        scale = max([scale] + [abs(v) for v in w])
    return w, scale


def per_sample_bound(X: np.ndarray) -> float:
    """2 / max_i |x_i|^2: every per-sample map I - lr x_i x_i^T is non-expansive below it."""
    return 2.0 / float(np.max(np.sum(X * X, axis=1)))


def full_batch_bound(X: np.ndarray) -> float:
    """2 / lambda_max(X^T X), from numpy's symmetric eigensolver."""
    return 2.0 / float(np.linalg.eigvalsh(X.T @ X)[-1])


def loop_epoch_affine(X: np.ndarray, y: np.ndarray, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """The epoch as w -> L w + b, read off the oracle loop: b = epoch(0), L e_j = epoch(e_j) - b."""
    k = X.shape[1]
    b = np.array(loop_sgd(X, y, np.zeros(k), lr, 1)[0])
    L = np.column_stack([np.array(loop_sgd(X, y, e, lr, 1)[0]) - b for e in np.eye(k)])
    return L, b


def t64(a: np.ndarray | list[float]) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------- strategies
@st.composite
def problems(draw: st.DrawFn, max_n: int = 10, max_k: int = 5) -> dict:
    """A random least-squares problem; about half of them have a rank-deficient X."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, k)) if draw(st.booleans()) else k
    if rank < k:  # X = B C with B [n, r], C [r, k]: rank <= r < k
        X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, k))
    else:
        X = rng.standard_normal((n, k))
    y = rng.standard_normal(n) * draw(st.sampled_from([0.0, 1.0, 30.0]))
    w0 = rng.standard_normal(k)
    return {"X": X, "y": y, "w0": w0}


# learning rates as a fraction of the stable bound: anywhere below it, and right below and
# right above it (where the per-sample maps stop being non-expansive / GD stops contracting)
lr_factors = st.one_of(
    st.floats(0.01, 0.99),
    st.sampled_from([1 - 1e-9, 1 - 1e-3, 1 + 1e-9, 1 + 1e-3, 1.05]),
)
counts = st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 30))


# ---------------------------------------------------------------------- CORE-EPOCH-MAP
@pytest.mark.claim("CORE-EPOCH-MAP")
@given(problem=problems(), factor=lr_factors, epochs=counts)
def test_fast_per_sample_sgd_equals_the_per_sample_loop(problem, factor, epochs):
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    lr = factor * per_sample_bound(X)
    expected, _, scale = loop_sgd(X, y, w0, lr, epochs)
    got = sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, epochs)
    assert got.dtype == torch.float64
    assert got.shape == (X.shape[1],)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.claim("CORE-EPOCH-MAP")
@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(max_n=8, max_k=4), factor=lr_factors, count=counts)
def test_public_trainers_give_the_loops_weights_with_every_method(problem, factor, count):
    # reference.training.sgd_per_sample / gd_full_batch dispatch to the fast paths by default
    # ("auto") and keep the readable loop as method="loop": all must match the oracle loops.
    from reference.training import gd_full_batch, sgd_per_sample

    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    for trainer, oracle, bound in (
        (sgd_per_sample, loop_sgd, per_sample_bound(X)),
        (gd_full_batch, loop_gd, full_batch_bound(X)),
    ):
        lr = factor * bound
        try:
            result = oracle(X, y, w0, lr, count)
        except LoopDiverged:
            continue  # divergence has its own specs (CORE-DIVERGENCE)
        expected, scale = result[0], result[-1]  # weights, largest |w| or |y| met
        for method in ("auto", "fast", "loop"):
            got = trainer(t64(X), t64(y), t64(w0), lr, count, method=method)
            torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.claim("CORE-EPOCH-MAP")
@given(problem=problems(max_n=6, max_k=4), factor=lr_factors, epochs=counts)
def test_fast_per_sample_history_equals_the_loops_epoch_losses(problem, factor, epochs):
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    lr = factor * per_sample_bound(X)
    expected, losses, scale = loop_sgd(X, y, w0, lr, epochs)
    got, got_losses = sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, epochs, history=True)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)
    assert got_losses.shape == (epochs,)
    assert got_losses.dtype == torch.float64
    top = max(losses, default=0.0)
    torch.testing.assert_close(got_losses, t64(losses), rtol=RTOL, atol=RTOL * top)


@pytest.mark.claim("CORE-EPOCH-MAP")
@given(problem=problems(), factor=lr_factors)
def test_the_epoch_map_is_one_epoch_of_the_loop_in_homogeneous_form(problem, factor):
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    k = X.shape[1]
    lr = factor * per_sample_bound(X)
    L, b = loop_epoch_affine(X, y, lr)
    M = epoch_map(t64(X), t64(y), lr)
    assert M.shape == (k + 1, k + 1)
    assert M.dtype == torch.float64
    # (w, 1) -> (L w + b, 1): linear part L, translation b, last row (0, ..., 0, 1)
    torch.testing.assert_close(M[:k, :k], t64(L), rtol=RTOL, atol=RTOL * max(1.0, np.abs(L).max()))
    torch.testing.assert_close(M[:k, k], t64(b), rtol=RTOL, atol=RTOL * max(1.0, np.abs(b).max()))
    assert M[k].tolist() == [0.0] * k + [1.0]
    # and applied to a start it is one epoch of the loop
    one, _, scale = loop_sgd(X, y, w0, lr, 1)
    torch.testing.assert_close(
        M[:k] @ t64(np.append(w0, 1.0)), t64(one), rtol=RTOL, atol=RTOL * scale
    )


@pytest.mark.claim("CORE-EPOCH-MAP")
def test_a_billion_epochs_land_on_the_fixed_point_of_the_epoch_map():
    # Below the per-sample bound with X of full column rank the linear part L of the epoch
    # map has spectral radius < 1, so w_E -> w* with w* = L w* + b, i.e. (I - L) w* = b.
    # L and b are read off one epoch of the oracle loop; E = 10^9 is out of any loop's reach.
    rng = np.random.default_rng(8)
    X, y, w0 = rng.standard_normal((9, 4)), rng.standard_normal(9), rng.standard_normal(4)
    lr = 0.5 * per_sample_bound(X)
    L, b = loop_epoch_affine(X, y, lr)
    assert np.max(np.abs(np.linalg.eigvals(L))) < 0.99
    fixed = np.linalg.solve(np.eye(4) - L, b)
    got = sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, 10**9)
    torch.testing.assert_close(got, t64(fixed), rtol=1e-9, atol=1e-9 * np.abs(fixed).max())


@pytest.mark.claim("CORE-EPOCH-MAP")
def test_fast_path_reproduces_the_digit_program():
    # The digit program: images 0-4, sequentially normalized column projections plus the
    # bias, targets = labels, lr 0.05, 3000 epochs, w0 = torch.rand(7, 1) from seed 0.
    images, labels = load_digits()
    X = design_matrix(images[:5], dim=0, normalization="sequential").numpy()
    y = labels[:5].to(torch.float64).numpy()
    w0 = torch.rand(7, 1, generator=torch.Generator().manual_seed(0))
    expected, losses, scale = loop_sgd(X, y, w0.flatten().double().numpy(), 0.05, 3000)
    got, got_losses = sgd_per_sample_fast(t64(X), t64(y), w0, 0.05, 3000, history=True)
    assert got.shape == (7, 1)  # shaped like w0
    torch.testing.assert_close(got.flatten(), t64(expected), rtol=RTOL, atol=RTOL * scale)
    torch.testing.assert_close(got_losses, t64(losses), rtol=RTOL, atol=RTOL * max(losses))
    # the five training digits are recognized: x_i . w rounds to the label
    assert np.round(X @ got.flatten().numpy()).tolist() == y.tolist()


# ---------------------------------------------------------------------- CORE-GRAM
@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(max_n=12, max_k=6), method=st.sampled_from(["auto", "blas"]))
def test_gram_is_X_transpose_X_and_X_transpose_y(problem, method):
    X, y = problem["X"], problem["y"]
    G, c = gram(t64(X), t64(y), method=method)
    # numpy's products, entry by entry within rounding of sums of n products
    atol = 1e-12 * max(1.0, float(np.abs(X).max()) ** 2 * X.shape[0])
    torch.testing.assert_close(G, t64(X.T @ X), rtol=1e-12, atol=atol)
    assert torch.equal(G, G.T)
    cscale = max(1.0, float(np.abs(X).max() * np.abs(y).max()) * X.shape[0])
    torch.testing.assert_close(c, t64(X.T @ y), rtol=1e-12, atol=1e-12 * cscale)


@pytest.mark.claim("CORE-GRAM")
@pytest.mark.parametrize(
    ("n", "k", "method"),
    [
        (1, 3, "numba"),
        (1000, 3, "numba"),
        (2**18 + 7, 3, "numba"),
        (777, 1, "numba"),
        (501, 6, "numba"),
        (2**19 + 1, 3, "auto"),  # 1.5M entries: auto picks the single-pass kernel
    ],
)
def test_the_native_single_pass_kernel_computes_the_same_gram(n, k, method):
    # The C kernel: one loop over the rows with k(k+1)/2 + k accumulators, split over the
    # threads. Oracle: math.fsum over the exact float products (correctly rounded sums) for
    # small n; numpy's (pairwise) sums for the large ones, to 1e-12 relative.
    rng = np.random.default_rng(n + k)
    X = np.column_stack([rng.standard_normal((n, k - 1)), np.ones(n)])
    y = X @ rng.standard_normal(k) + 0.1 * rng.standard_normal(n)
    G, c = gram(t64(X), t64(y), method=method)
    if n <= 1000:
        G_ref = np.array([[math.fsum(X[:, i] * X[:, j]) for j in range(k)] for i in range(k)])
        c_ref = np.array([math.fsum(X[:, i] * y) for i in range(k)])
    else:
        G_ref, c_ref = X.T @ X, X.T @ y
    torch.testing.assert_close(G, t64(G_ref), rtol=1e-12, atol=1e-12 * n)
    torch.testing.assert_close(c, t64(c_ref), rtol=1e-12, atol=1e-12 * n)


@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(), factor=lr_factors, steps=counts)
def test_fast_full_batch_gd_equals_the_full_batch_loop(problem, factor, steps):
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    lr = factor * full_batch_bound(X)
    expected, scale = loop_gd(X, y, w0, lr, steps)
    got = gd_full_batch_fast(t64(X), t64(y), t64(w0), lr, steps)
    assert got.dtype == torch.float64
    assert got.shape == (X.shape[1],)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(max_n=8, max_k=4), factor=lr_factors, steps=counts)
def test_fast_full_batch_history_equals_the_loops_step_losses(problem, factor, steps):
    # The loss from (G, c, y.y) is a difference of large numbers near a close fit: its
    # absolute error is about eps (y.y + w^T G w), so the tolerance is relative to y.y and
    # the largest loss of the run, not to each loss (see gd_from_gram).
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    lr = factor * full_batch_bound(X)
    losses: list[float] = []
    expected, scale = loop_gd(X, y, w0, lr, steps, losses)
    got, got_losses = gd_full_batch_fast(t64(X), t64(y), t64(w0), lr, steps, history=True)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)
    assert got_losses.shape == (steps,)
    top = max(losses, default=0.0) + float(y @ y)
    torch.testing.assert_close(got_losses, t64(losses), rtol=RTOL, atol=RTOL * top)


@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(max_n=8, max_k=4), extra=st.integers(0, 5), steps=st.integers(1, 40))
def test_data_with_the_same_G_and_c_train_to_the_same_weights(problem, extra, steps):
    # (Q X, Q y) for an orthogonal Q, padded with zero rows, has the same G = X^T X and
    # c = X^T y as (X, y) but other rows, and more of them. The oracle loop, which reads
    # the rows, must not notice; and gd_from_gram, given only (G, c), must agree.
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    n, k = X.shape
    rng = np.random.default_rng(n * 100 + k)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    X2 = np.vstack([Q @ X, np.zeros((extra, k))])
    y2 = np.concatenate([Q @ y, np.zeros(extra)])
    lr = 0.9 * full_batch_bound(X)
    w_a, scale = loop_gd(X, y, w0, lr, steps)
    w_b, _ = loop_gd(X2, y2, w0, lr, steps)
    # rotating the data changes the rounding, not the result: 1e-9 relative to the scale
    np.testing.assert_allclose(w_b, w_a, rtol=RTOL, atol=1e-9 * scale)
    got = gd_from_gram(t64(X.T @ X), t64(X.T @ y), t64(w0), lr, steps)
    torch.testing.assert_close(got, t64(w_a), rtol=RTOL, atol=RTOL * scale)


# ---------------------------------------------------------------------- CORE-DIVERGENCE
def _named_index(error: DivergenceError, unit: str, count: int) -> int:
    match = re.search(rf"\b{unit} (\d+)/{count}\b", str(error))
    assert match, f"the message names no {unit}: {error}"
    return int(match.group(1))


def _overflow_start() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    return rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_above_the_per_sample_bound_sgd_may_still_converge_when_rho_is_below_one():
    # 2 / max |x_i|^2 is sufficient, not necessary: at 1.3 times it one per-sample map
    # expands, yet the product of the six maps contracts (oracle: numpy's eigenvalues of
    # the epoch map read off the loop). What decides is rho, and the fast path follows it.
    X, y, w0 = _overflow_start()
    lr = 1.3 * per_sample_bound(X)
    L, _ = loop_epoch_affine(X, y, lr)
    assert np.max(np.abs(np.linalg.eigvals(L))) < 0.9
    expected, _, scale = loop_sgd(X, y, w0, lr, 2000)
    got = sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, 2000)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("factor", [2.0, 5.0, 8.0])
def test_per_sample_sgd_raises_when_the_epoch_map_has_spectral_radius_above_one(factor):
    X, y, w0 = _overflow_start()
    lr = factor * per_sample_bound(X)
    L, _ = loop_epoch_affine(X, y, lr)
    rho = float(np.max(np.abs(np.linalg.eigvals(L))))
    assert rho > 1.01  # these learning rates make the epoch map expanding
    epochs = 5000
    with pytest.raises(LoopDiverged) as loop:  # the loop overflows ...
        loop_sgd(X, y, w0, lr, epochs)
    with pytest.raises(DivergenceError) as fast:  # ... and the fast path says so up front
        sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, epochs)
    message = str(fast.value)
    assert f"lr={lr:g}" in message
    assert f"{per_sample_bound(X):.6g}" in message  # the stable bound 2 / max |x_i|^2
    quoted = re.search(r"rho = ([0-9.e+-]+)", message)  # the spectral radius, 6 digits
    assert quoted
    assert float(quoted.group(1)) == pytest.approx(rho, rel=1e-5)
    # It names an epoch no later than the loop's, and there the loop's weights are already
    # beyond 2^(OVERFLOW_LOG2 - 20): the fast path does not cry wolf.
    named = _named_index(fast.value, "epoch", epochs)
    assert named <= loop.value.index
    w_named, _, _ = loop_sgd(X, y, w0, lr, named)
    assert max(abs(v) for v in w_named) > 2.0 ** (OVERFLOW_LOG2 - 20)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_below_the_per_sample_bound_sgd_never_raises():
    # lr just below 2 / max |x_i|^2: every per-sample map is non-expansive, so the weights
    # stay bounded for any number of epochs; even a rank-deficient X (eigenvalue exactly 1
    # along its null space) gives a finite answer after 10^12 epochs.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((7, 2)) @ rng.standard_normal((2, 4))
    y, w0 = rng.standard_normal(7), rng.standard_normal(4)
    lr = (1 - 1e-9) * per_sample_bound(X)
    got = sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, 10**12)
    assert bool(torch.isfinite(got).all())
    expected, _, scale = loop_sgd(X, y, w0, lr, 300)
    torch.testing.assert_close(
        sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, 300),
        t64(expected),
        rtol=RTOL,
        atol=RTOL * scale,
    )


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("factor", [1.01, 1.5, 3.0])
def test_full_batch_gd_raises_exactly_above_two_over_lambda_max(factor):
    X, y, w0 = _overflow_start()
    bound = full_batch_bound(X)
    # just below the bound: |1 - lr lambda| < 1 for every eigenvalue, finite for ever
    below = gd_full_batch_fast(t64(X), t64(y), t64(w0), (1 - 1e-6) * bound, 10**12)
    assert bool(torch.isfinite(below).all())
    # above: the top eigen-direction grows by lr lambda_max - 1 > 1 per step
    lr, steps = factor * bound, 200_000
    with pytest.raises(DivergenceError) as fast:
        gd_full_batch_fast(t64(X), t64(y), t64(w0), lr, steps)
    message = str(fast.value)
    assert f"lr={lr:g}" in message
    assert f"{bound:.6g}" in message
    named = _named_index(fast.value, "step", steps)
    if factor > 1.1:  # the oracle loop is quick enough to reach the overflow
        with pytest.raises(LoopDiverged) as loop:
            loop_gd(X, y, w0, lr, steps)
        assert named <= loop.value.index
        w_named, _ = loop_gd(X, y, w0, lr, named)
        assert max(abs(v) for v in w_named) > 2.0 ** (OVERFLOW_LOG2 - 20)
    else:  # growth rate 1.02 per step: the loop would take ~36000 steps; the estimate is
        # log(2^500 / |e_0|) / log(rho) steps, rho = lr lambda_max - 1
        rho = factor * 2 - 1
        assert abs(named - OVERFLOW_LOG2 * math.log(2) / math.log(rho)) < 0.05 * named


@pytest.mark.claim("CORE-DIVERGENCE")
def test_with_history_the_fast_path_raises_no_later_than_the_loop():
    X, y, w0 = _overflow_start()
    lr = 2.0 * per_sample_bound(X)
    with pytest.raises(LoopDiverged) as loop:
        loop_sgd(X, y, w0, lr, 5000)
    # run exactly to the loop's failing epoch: there the weights are past 2^500, or they
    # are not and a recorded loss overflows; either way the fast path raises, naming the
    # loop's epoch or an earlier one
    with pytest.raises(DivergenceError) as fast:
        sgd_per_sample_fast(t64(X), t64(y), t64(w0), lr, loop.value.index, history=True)
    assert _named_index(fast.value, "epoch", loop.value.index) <= loop.value.index


# When lr * G (lr |x_i|^2) overflows float64 there is no closed form. The data below have
# X = diag(1e5, t): G = diag(1e10, t^2), and with lr = 1e300 the first entry of lr G is
# 1e310 = inf. Along that direction the start w_1 = 0 and the target y_1 = 0 leave the
# residual exactly 0, so the loop never moves w_1; along the other, w_2 <- w_2 - lr t^2 (w_2 - 1)
# (y_2 = t): a contraction by 1 - lr t^2 towards 1. Not a divergence, on any path.
def _overflowing_but_at_rest(t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array([[1e5, 0.0], [0.0, t]]), np.array([0.0, t]), np.zeros(2)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_an_overflowing_lr_with_zero_residual_along_it_is_not_a_divergence(trainer):
    # lr t^2 = 0.1: w_2 = 1 - 0.9^s, at 1 (to rounding) long before step 1000.
    X, y, w0 = _overflowing_but_at_rest(math.sqrt(1e-301))
    lr, count = 1e300, 1000
    assert not math.isfinite(lr * 1e10)  # the closed form's matrix overflows
    if trainer == "sgd":
        expected, losses, scale = loop_sgd(X, y, w0, lr, count)
    else:
        losses = []
        expected, scale = loop_gd(X, y, w0, lr, count, losses)
    assert expected[0] == 0.0
    assert expected[1] == pytest.approx(1.0, rel=1e-12)
    function, _ = TRAINERS[trainer]
    for method in METHODS:
        got, got_losses = function(t64(X), t64(y), t64(w0), lr, count, method=method, history=True)
        torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)
        torch.testing.assert_close(got_losses, t64(losses), rtol=RTOL, atol=RTOL * max(losses))
        plain = function(t64(X), t64(y), t64(w0), lr, count, method=method)  # default history
        torch.testing.assert_close(plain, got, rtol=0, atol=0)
    if trainer == "gd":  # the same data as (G, c) = (X^T X, X^T y)
        got = gd_from_gram(t64(X.T @ X), t64(X.T @ y), t64(w0), lr, count)
        torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_an_overflowing_lr_with_a_residual_diverges_at_the_step_the_loop_does(trainer):
    # X = [[1e5]], y = [1e-205], w = 0, lr = 1e300 (lr x^2 = 1e310 overflows). Step 1:
    # w = lr * x * y = 1e100 < 2^500 ~ 3.3e150. Step 2: w = 1e100 - lr (1e10 * 1e100 - 1e-200)
    # = -inf. One sample: per-sample SGD's epochs are GD's steps. So: named 2, on every path.
    X, y, w0 = np.array([[1e5]]), np.array([1e-205]), np.zeros(1)
    lr, count = 1e300, 50
    assert first_past_2_500(X, y, w0, lr, count, trainer == "sgd") == 2
    function, unit = TRAINERS[trainer]
    for method in METHODS:
        for history in (False, True):
            with pytest.raises(DivergenceError) as raised:
                function(t64(X), t64(y), t64(w0), lr, count, method=method, history=history)
            assert _named_index(raised.value, unit, count) == 2, (method, history)
            assert f"lr={lr:g}" in str(raised.value)
    if trainer == "gd":
        with pytest.raises(DivergenceError) as raised:
            gd_from_gram(t64(X.T @ X), t64(X.T @ y), t64(w0), lr, count)
        assert _named_index(raised.value, "step", count) == 2


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(
    ("X", "expected", "what"),
    [
        # epoch 1: sample 0 gives w = lr x y = 1e100, sample 1 (x = 1) then w = 1e100 - lr 1e100
        # = -inf: the weights leave at the epoch's end, its recorded loss (0.5 1e200) is finite
        ([[1e5], [1.0]], 1, "the weights diverge"),
        # epoch 1: w = 1e100, then w = 1e100 - lr (2e-150 1e100) 2e-150 = -3e100 (finite);
        # epoch 2: sample 0 sends w to inf, so sample 1's residual, and the loss, are not finite
        ([[1e5], [2e-150]], 2, "the recorded loss overflows"),
    ],
)
def test_an_overflow_inside_an_epoch_is_named_as_the_loop_names_it(X, expected, what):
    y, w0, lr, count = np.array([1e-205, 0.0]), np.zeros(1), 1e300, 20
    assert first_past_2_500(np.array(X), y, w0, lr, count, per_sample=True) == expected
    for history in (False, True):
        messages = set()
        for method in METHODS:
            with pytest.raises(DivergenceError) as raised:
                sgd_per_sample(t64(X), t64(y), t64(w0), lr, count, method=method, history=history)
            assert _named_index(raised.value, "epoch", count) == expected
            messages.add(str(raised.value))
        assert len(messages) == 1, messages
        message = messages.pop()
        assert message.startswith(what if history else "the weights diverge"), message


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_a_run_the_literal_steps_cannot_settle_is_refused_not_guessed(trainer):
    # t = 1e-153: lr t^2 = 1e-6, so w_2 = 1 - (1 - 1e-6)^s still moves after the literal
    # steps the fast path allows (fast.LITERAL_LIMIT sample updates: 1e5 steps of GD, 1e5 / 2
    # epochs of SGD over two samples). Asked for more, it says why in a ValueError naming lr
    # (no DivergenceError: the loop would converge). Asked for exactly that many, it answers:
    # the derivation gives w_2 = 1 - (1 - 1e-6)^s.
    X, y, w0 = _overflowing_but_at_rest(1e-153)
    lr = 1e300
    per_update = 2 if trainer == "sgd" else 1
    allowed = fast.LITERAL_LIMIT // per_update
    function, _ = TRAINERS[trainer]
    unit, overflowing = ("epoch", "lr * |x_i|^2") if trainer == "sgd" else ("step", "lr * G")
    message = (
        f"{overflowing} overflows float64 at lr=1e+300, so the {unit}s have no closed form, and "
        f"after {allowed} literal {unit}s the weights neither settle nor diverge; take fewer "
        f"{unit}s, a smaller lr, or the readable loop (method='loop')"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        function(t64(X), t64(y), t64(w0), lr, allowed + 1, method="fast")
    got = function(t64(X), t64(y), t64(w0), lr, allowed, method="fast")
    # per sample, w_2 moves once per epoch (the first sample's residual is 0): same formula
    expected = -math.expm1(allowed * math.log1p(-1e-6))
    assert float(got[0]) == 0.0
    assert float(got[1]) == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------- CORE-INPUTS
X_OK, Y_OK, W_OK = torch.ones(3, 2), torch.ones(3), torch.zeros(2)

BAD_CALLS = [
    (lambda: sgd_per_sample_fast([[1.0]], Y_OK, W_OK, 0.1, 1), TypeError, "X"),
    (lambda: sgd_per_sample_fast(torch.ones(3), Y_OK, W_OK, 0.1, 1), ValueError, "X"),
    (lambda: sgd_per_sample_fast(X_OK.bool(), Y_OK, W_OK, 0.1, 1), TypeError, "X"),
    (lambda: sgd_per_sample_fast(X_OK, torch.ones(4), W_OK, 0.1, 1), ValueError, "y"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, torch.zeros(3), 0.1, 1), ValueError, "w0"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, 0.0, 1), ValueError, "lr"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, "0.1", 1), TypeError, "lr"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, math.inf, 1), ValueError, "lr"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, 0.1, -1), ValueError, "epochs"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, 0.1, 1.0), TypeError, "epochs"),
    (lambda: sgd_per_sample_fast(X_OK, Y_OK, W_OK, 0.1, True), TypeError, "epochs"),
    (
        lambda: sgd_per_sample_fast(torch.tensor([[1.0, math.nan]] * 3), Y_OK, W_OK, 0.1, 1),
        ValueError,
        "X",
    ),
    (lambda: epoch_map(X_OK, torch.full((3,), math.inf), 0.1), ValueError, "y"),
    (lambda: epoch_map(X_OK, torch.ones(4), 0.1), ValueError, "y"),
    (lambda: epoch_map(X_OK, [1.0, 1.0, 1.0], 0.1), TypeError, "y"),
    (lambda: epoch_map(X_OK, Y_OK, -1.0), ValueError, "lr"),
    (lambda: gram(X_OK, Y_OK, method="magic"), ValueError, "method"),
    (lambda: gram(X_OK, torch.ones(2)), ValueError, "y"),
    (lambda: gram(torch.tensor([[1.0, math.inf]] * 3), Y_OK), ValueError, "X"),
    (lambda: gram(X_OK, torch.tensor([1.0, math.nan, 1.0])), ValueError, "y"),
    (lambda: gd_full_batch_fast(X_OK, Y_OK, W_OK, 0.1, -2), ValueError, "steps"),
    (
        lambda: gd_full_batch_fast(X_OK, Y_OK, W_OK, 0.1, 1, gram_method="x"),
        ValueError,
        "gram_method",
    ),
    (lambda: gd_full_batch_fast(X_OK, Y_OK, torch.full((2,), math.nan), 0.1, 1), ValueError, "w0"),
    (lambda: gd_from_gram(torch.ones(2, 3), torch.ones(2), W_OK, 0.1, 1), ValueError, "G"),
    (lambda: gd_from_gram(torch.eye(2), torch.ones(3), W_OK, 0.1, 1), ValueError, "c"),
    (lambda: gd_from_gram(torch.eye(2), torch.ones(2), W_OK, 0.1, 2.5), TypeError, "steps"),
    (lambda: gd_from_gram(torch.eye(2), torch.ones(2), W_OK, 0.1, 2, yy=-1.0), ValueError, "yy"),
    (lambda: gd_from_gram(torch.eye(2), torch.ones(2), W_OK, 0.1, 2, yy="1"), TypeError, "yy"),
]


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize(("call", "error", "name"), BAD_CALLS)
def test_bad_input_is_refused_naming_the_argument(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert re.match(rf"{name}\b", str(raised.value)), str(raised.value)


@pytest.mark.claim("CORE-INPUTS")
def test_the_inputs_are_not_modified_and_zero_epochs_return_a_copy_of_w0():
    X, y, w0 = torch.ones(3, 2), torch.ones(3), torch.zeros(2, 1)
    before = (X.clone(), y.clone(), w0.clone())
    out = sgd_per_sample_fast(X, y, w0, 0.1, 0)
    assert torch.equal(out, w0.double())
    assert out.shape == (2, 1)
    out[0, 0] = 5.0  # a copy, not a view of w0
    gd_full_batch_fast(X, y, w0, 0.1, 3)
    sgd_per_sample_fast(X, y, w0, 0.1, 3, history=True)
    for a, b in zip((X, y, w0), before, strict=True):
        assert torch.equal(a, b)
    assert set(GRAM_METHODS) == {"auto", "blas", "numba"}


# ---------------------------------------------------------------------- the readable loops
TRAINERS = {"sgd": (sgd_per_sample, "epoch"), "gd": (gd_full_batch, "step")}
METHODS = ("auto", "fast", "loop")


def first_past_2_500(X, y, w0, lr, count, per_sample):
    """Oracle: the first epoch (step) after which some |w_j| > 2^500, else None.

    The Python-float loops of this file, one epoch (step) at a time; a nan weight counts
    as past (it compares false with everything).
    """
    oracle = loop_sgd if per_sample else loop_gd
    w = list(w0)
    for index in range(1, count + 1):
        try:
            w = oracle(X, y, np.array(w), lr, 1)[0]
        except LoopDiverged:
            return index
        if not max(abs(v) for v in w) < 2.0**OVERFLOW_LOG2:
            return index
    return None


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
@pytest.mark.parametrize("factor", [2.0, 5.0])
def test_every_method_raises_at_the_epoch_the_loop_passes_2_to_the_500(trainer, factor):
    # One contract for the readable loop (method="loop") and the closed form ("fast", the
    # default "auto"): DivergenceError at the first epoch (step) after which the weights pass
    # 2^500, found here by the oracle loop; the same message on every method.
    X, y, w0 = _overflow_start()
    per_sample = trainer == "sgd"
    bound = per_sample_bound(X) if per_sample else full_batch_bound(X)
    lr, count = factor * bound, 3000
    expected = first_past_2_500(X, y, w0, lr, count, per_sample)
    assert expected is not None
    assert expected < count
    function, unit = TRAINERS[trainer]
    messages = set()
    for method in METHODS:
        with pytest.raises(DivergenceError) as raised:
            function(t64(X), t64(y), t64(w0), lr, count, method=method)
        assert _named_index(raised.value, unit, count) == expected, method
        messages.add(str(raised.value))
        assert f"lr={lr:g}" in str(raised.value)
        assert f"{bound:.6g}" in str(raised.value)
    assert len(messages) == 1, messages  # word for word the same on every path


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_near_float64_limits_the_bound_is_a_finite_number_and_the_epoch_exact(trainer):
    # X = diag(s, 2s) with s = 2^500, y = 0, w0 = (1, 1), lr = 1/s^2 = 2^-1000. Both the
    # per-sample maps and the full-batch step multiply w_1 by 1 - lr s^2 = 0 and w_2 by
    # 1 - 4 lr s^2 = -3 (per epoch or per step): w_2 = (-3)^t, past 2^500 first at
    # t = ceil(500 / log2 3) = 316; rho = 3; the stable bound is 2 / (4 s^2) = 2^-1001 both
    # for 2/max|x_i|^2 and for 2/lambda_max(X^T X), far from 1 yet a normal float64.
    s = 2.0**500
    X, y, w0 = t64([[s, 0.0], [0.0, 2 * s]]), torch.zeros(2, dtype=torch.float64), t64([1, 1])
    lr, count = 2.0**-1000, 1000
    expected = math.ceil(500 / math.log2(3))
    assert 3.0**expected > 2.0**500 > 3.0 ** (expected - 1)
    function, unit = TRAINERS[trainer]
    for method in METHODS:
        with pytest.raises(DivergenceError) as raised:
            function(X, y, w0, lr, count, method=method)
        message = str(raised.value)
        assert _named_index(raised.value, unit, count) == expected
        assert f"= {2.0**-1001:.6g}" in message
        assert float(re.search(r"rho = ([0-9.e+-]+)", message).group(1)) == pytest.approx(3.0)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_a_learning_rate_of_1e300_is_a_divergence_on_every_method(trainer):
    # The example: lr = 1e300 used to end in numpy's LinAlgError on the default
    # path. The first update overflows: epoch (step) 1, and the message still quotes the
    # finite stable bound of the data.
    X, y, w0 = _overflow_start()
    bound = per_sample_bound(X) if trainer == "sgd" else full_batch_bound(X)
    function, unit = TRAINERS[trainer]
    for method in METHODS:
        with pytest.raises(DivergenceError) as raised:
            function(t64(X), t64(y), t64(w0), 1e300, 3, method=method)
        assert _named_index(raised.value, unit, 3) == 1
        assert f"= {bound:.6g}" in str(raised.value)
        assert not re.search(r"\b(nan|inf)\b", str(raised.value))


@pytest.mark.claim("CORE-DIVERGENCE")
def test_data_too_large_for_a_bound_say_so_instead_of_quoting_zero():
    # X = diag(s, 2s), s = 2^600: the bound 2 / (4 s^2) = 2^-1201 is below float64's
    # smallest number; the message gives it as a power of two and says why. (Any usable lr
    # diverges at once: lr = 2^-1000 multiplies w_2 by 1 - 2^202 per epoch.)
    s = 2.0**600
    X, y, w0 = t64([[s, 0.0], [0.0, 2 * s]]), torch.zeros(2, dtype=torch.float64), t64([1, 1])
    for method in METHODS:
        with pytest.raises(DivergenceError) as raised:
            sgd_per_sample(X, y, w0, 2.0**-1000, 1000, method=method)
        assert "= 2**-1201.0, below float64's range" in str(raised.value)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_with_history_every_method_raises_at_the_first_overflowing_loss(trainer):
    # y = 0, X = [[a, 0]], w0 = (1, 0), lr = 3 / a^2: w_1 is multiplied by 1 - lr a^2 = -2
    # per epoch (step). With a = 2^480 the squared residual (a w_1)^2 that the loss of epoch
    # t sums (then halves) is 2^960 4^(t-1): it overflows (>= 2^1024) first at t = 33, while
    # w_1 = (-2)^(t-1) is still far below 2^500. Without history nothing is raised there.
    a = 2.0**480
    X, y, w0 = t64([[a, 0.0]]), torch.zeros(1, dtype=torch.float64), t64([1.0, 0.0])
    lr, count = 3.0 / a**2, 40
    expected = next(t for t in range(1, count) if 960 + 2 * (t - 1) >= 1024)
    assert expected == 33
    function, unit = TRAINERS[trainer]
    for method in METHODS:
        with pytest.raises(DivergenceError, match="the recorded loss overflows") as raised:
            function(X, y, w0, lr, count, history=True, method=method)
        assert _named_index(raised.value, unit, count) == expected
        w = function(X, y, w0, lr, count, method=method)
        assert w[0].item() == (-2.0) ** count


@pytest.mark.claim("CORE-EPOCH-MAP")
@pytest.mark.claim("CORE-GRAM")
@given(problem=problems(max_n=6, max_k=4), factor=lr_factors, count=counts)
def test_the_readable_loops_record_the_oracle_losses(problem, factor, count):
    # history=True on method="loop": the loss of every epoch (step), as the oracle loops
    # record it (residuals measured before each update), and the same as the fast path's.
    X, y, w0 = problem["X"], problem["y"], problem["w0"]
    for trainer, per_sample in (("sgd", True), ("gd", False)):
        lr = factor * (per_sample_bound(X) if per_sample else full_batch_bound(X))
        try:
            if per_sample:
                expected, losses, scale = loop_sgd(X, y, w0, lr, count)
            else:
                losses = []
                expected, scale = loop_gd(X, y, w0, lr, count, losses)
        except LoopDiverged:
            continue
        if max(abs(v) for v in expected) > 2.0**400:
            continue  # near the divergence threshold: its own specs
        function, _ = TRAINERS[trainer]
        got, got_losses = function(t64(X), t64(y), t64(w0), lr, count, history=True, method="loop")
        torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)
        top = max(losses, default=0.0)
        torch.testing.assert_close(got_losses, t64(losses), rtol=RTOL, atol=RTOL * top)


# ---------------------------------------------------------------------- inputs, every method
NON_FINITE = [
    (
        "X",
        lambda X, y, w: (
            X.index_put((torch.tensor([1]), torch.tensor([0])), t64([math.nan])),
            y,
            w,
        ),
    ),
    (
        "X",
        lambda X, y, w: (
            X.index_put((torch.tensor([0]), torch.tensor([1])), t64([-math.inf])),
            y,
            w,
        ),
    ),
    ("y", lambda X, y, w: (X, y.index_put((torch.tensor([2]),), t64([math.inf])), w)),
    ("w0", lambda X, y, w: (X, y, w.index_put((torch.tensor([0]),), t64([math.nan])))),
]


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("count", [0, 1, 50])
@pytest.mark.parametrize(
    ("culprit", "spoil"), NON_FINITE, ids=lambda v: v if isinstance(v, str) else ""
)
def test_non_finite_input_is_a_value_error_naming_it_on_every_method(
    trainer, method, count, culprit, spoil
):
    # Never a DivergenceError, never a nan result: a ValueError that starts with the name.
    rng = np.random.default_rng(3)
    X, y, w = spoil(t64(rng.standard_normal((4, 2))), t64(rng.standard_normal(4)), t64([0.5, 0.5]))
    function, _ = TRAINERS[trainer]
    for history in (False, True):
        with pytest.raises(ValueError, match=rf"^{culprit} has non-finite entries"):
            function(X, y, w, 0.01, count, history=history, method=method)


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
@pytest.mark.parametrize("method", METHODS)
def test_trainers_write_nothing_they_are_given_and_leave_the_global_rng_alone(trainer, method):
    # Values, .grad and the global RNG are untouched, with inputs that require grad and a
    # w0 that would be returned as is if the code were careless (steps = 0).
    rng = np.random.default_rng(4)
    X = t64(rng.standard_normal((5, 3))).requires_grad_()
    y = t64(rng.standard_normal(5)).requires_grad_()
    w0 = t64(rng.standard_normal(3)).reshape(3, 1).requires_grad_()
    before = [t.detach().clone() for t in (X, y, w0)]
    state = torch.random.get_rng_state()
    function, _ = TRAINERS[trainer]
    for count in (0, 3):
        w, losses = function(X, y, w0, 0.01, count, history=True, method=method)
        assert w.shape == (3, 1)
        assert not w.requires_grad
        w.add_(1.0)  # the result is the caller's to change: it must not be w0's storage
        losses.add_(1.0)
    for tensor, old in zip((X, y, w0), before, strict=True):
        assert torch.equal(tensor.detach(), old)
        assert tensor.grad is None
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.claim("CORE-INPUTS")
def test_validation_reads_metadata_only_and_copies_nothing_already_float64():
    # The boundary check returns the caller's float64 contiguous storage itself (no clone)
    # and converts only what must be converted.
    X, y, w0 = (
        torch.ones(6, 2, dtype=torch.float64),
        torch.ones(6, 1, dtype=torch.float64),
        torch.zeros(2),
    )
    Xc, yc, _, shape, _, _, _ = fast.check_problem(X, y, w0, 0.1, 3, "steps", False)
    assert Xc.data_ptr() == X.data_ptr()
    assert yc.data_ptr() == y.data_ptr()
    assert shape == (2,)
    X32 = torch.ones(6, 2)
    assert fast.check_problem(X32, y, w0, 0.1, 3, "steps", False)[0].dtype == torch.float64


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("trainer", ["sgd", "gd"])
def test_bad_flags_and_methods_are_refused_by_name(trainer):
    function, _ = TRAINERS[trainer]
    with pytest.raises(TypeError, match=r"^history must be a bool"):
        function(X_OK, Y_OK, W_OK, 0.1, 1, history="False")
    with pytest.raises(ValueError, match=r"^method must be one of"):
        function(X_OK, Y_OK, W_OK, 0.1, 1, method="slow")
    with pytest.raises(ValueError, match=r"^X is a meta tensor"):
        function(torch.ones(3, 2, device="meta"), Y_OK, W_OK, 0.1, 1)


# ---------------------------------------------------------------------- the numba kernel
needs_numba = pytest.mark.skipif(not _gram_numba.available(), reason="numba is not installed")


@pytest.mark.claim("CORE-GRAM")
def test_the_generated_kernel_module_is_up_to_date():
    # reference/training/_gram_kernels.py is written by `python -m
    # reference.training._gram_numba`; editing the generator without regenerating fails here.
    path = Path(_gram_numba.__file__).with_name("_gram_kernels.py")
    assert path.read_text(encoding="utf-8") == _gram_numba.module_source()


@pytest.mark.claim("CORE-GRAM")
@needs_numba
@given(
    n=st.integers(1, 300),
    k=st.integers(1, _gram_numba.MAX_COLUMNS),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-150, 1.0, 1e150]),
)
def test_the_numba_kernel_agrees_with_blas(n, k, seed, scale):
    # Oracle: numpy's BLAS products X^T X, X^T y and y . y on the same data, to rounding
    # of sums of n products (relative to the sums of absolute products).
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, k)) * scale, rng.standard_normal(n) * scale
    G, c, yy = _gram_numba.gram_sums(X, y, threads=1)
    absG, absc = np.abs(X).T @ np.abs(X), np.abs(X).T @ np.abs(y)
    np.testing.assert_allclose(G, X.T @ X, rtol=0, atol=1e-13 * (absG.max() + 1e-300))
    np.testing.assert_allclose(c, X.T @ y, rtol=0, atol=1e-13 * (absc.max() + 1e-300))
    assert yy == pytest.approx(float(y @ y), rel=1e-13)
    assert np.array_equal(G, G.T)


@pytest.mark.claim("CORE-GRAM")
@needs_numba
@pytest.mark.parametrize("k", [3])  # compiling a parallel kernel cold takes 3-20 s
def test_the_parallel_kernel_agrees_with_blas_and_with_the_serial_one(k):
    # Above PARALLEL_MIN_ROWS rows and with 2 threads the prange kernel runs; both variants
    # are also called directly (whatever the thread count of this machine). The kernels for
    # other k are the same generated text (the up-to-date spec) with other constants.
    n = _gram_numba.PARALLEL_MIN_ROWS + 17
    rng = np.random.default_rng(k)
    X, y = rng.standard_normal((n, k)), rng.standard_normal(n)
    expected = np.array([*(X.T @ X)[np.triu_indices(k)], *(X.T @ y), y @ y])
    for parallel in (False, True):
        sums = np.array(_gram_numba._kernel(k, parallel)(X.reshape(-1), y))
        np.testing.assert_allclose(sums, expected, rtol=1e-11, atol=1e-11 * n)
    G, c, yy = _gram_numba.gram_sums(X, y, threads=2)
    np.testing.assert_allclose(G, X.T @ X, rtol=1e-11, atol=1e-11 * n)
    np.testing.assert_allclose(c, X.T @ y, rtol=1e-11, atol=1e-11 * n)
    assert yy == pytest.approx(float(y @ y), rel=1e-11)


@pytest.mark.claim("CORE-GRAM")
@needs_numba
def test_the_kernel_lets_inf_and_nan_through_so_bad_data_are_found():
    # fastmath is limited to reassociation and contraction: no "no nans" assumption.
    X, y = np.ones((40, 3)), np.ones(40)
    X[7, 1] = math.nan
    assert not np.isfinite(_gram_numba.gram_sums(X, y, 1)[0]).all()
    X[7, 1], y[3] = 1.0, math.inf
    assert not np.isfinite(_gram_numba.gram_sums(X, y, 1)[1]).all()


@pytest.fixture
def without_numba(monkeypatch):
    """The process as if numba were not installed: `import numba` raises ImportError."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(_gram_numba, "_numba", _gram_numba._UNSET)
    return None


@pytest.mark.claim("CORE-GRAM")
def test_without_numba_everything_falls_back_to_blas(without_numba):
    assert not _gram_numba.available()
    rng = np.random.default_rng(6)
    X, y, w0 = rng.standard_normal((50, 3)), rng.standard_normal(50), rng.standard_normal(3)
    G, c = gram(t64(X), t64(y))
    torch.testing.assert_close(G, t64(X.T @ X), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, t64(X.T @ y), rtol=1e-12, atol=1e-12)
    lr = 0.5 * full_batch_bound(X)
    expected, scale = loop_gd(X, y, w0, lr, 30)
    got = gd_full_batch(t64(X), t64(y), t64(w0), lr, 30)
    torch.testing.assert_close(got, t64(expected), rtol=RTOL, atol=RTOL * scale)
    with pytest.raises(ValueError, match=r"^X has non-finite"):
        gd_full_batch(t64(np.full((3, 2), math.nan)), Y_OK, W_OK, 0.1, 2)
    with pytest.raises(ValueError, match=r"^method 'numba' needs the numba package"):
        gram(t64(X), t64(y), method="numba")
    importlib.import_module("reference.training")  # the package imports without numba


@pytest.mark.claim("CORE-GRAM")
def test_more_columns_than_the_kernels_go_to_blas():
    rng = np.random.default_rng(9)
    k = _gram_numba.MAX_COLUMNS + 2
    X, y = rng.standard_normal((30, k)), rng.standard_normal(30)
    G, c = gram(t64(X), t64(y))
    torch.testing.assert_close(G, t64(X.T @ X), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, t64(X.T @ y), rtol=1e-12, atol=1e-12)
    if _gram_numba.available():
        with pytest.raises(ValueError, match=r"^method 'numba' handles at most 8 columns"):
            gram(t64(X), t64(y), method="numba")


# ---------------------------------------------------------------------- data_iter
@pytest.mark.claim("LIN-DATA-ITER")
@given(n=st.integers(1, 50), batch_size=st.integers(1, 60), seed=st.integers(0, 2**40))
def test_data_iter_batches_are_the_restated_permutation_cut_in_slices(n, batch_size, seed):
    # The draw restated: one torch.randperm(n) from Generator().manual_seed(seed); batch b
    # holds the examples order[b*B : (b+1)*B], features and labels alike.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    features = torch.arange(2 * n, dtype=torch.float32).reshape(n, 2)
    labels = torch.arange(n)
    batches = list(data_iter(batch_size, features, labels, seed=seed))
    assert len(batches) == math.ceil(n / batch_size)
    for b, (xb, yb) in enumerate(batches):
        idx = order[b * batch_size : (b + 1) * batch_size]
        assert torch.equal(yb, labels[idx])
        assert torch.equal(xb, features[idx])


@pytest.mark.claim("LIN-DATA-ITER")
def test_data_iter_draws_one_permutation_from_a_given_generator_and_writes_nothing():
    n = 23
    generator, twin = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    features, labels = (
        torch.randn(n, 3, generator=torch.Generator().manual_seed(1)),
        torch.arange(n),
    )
    before = features.clone()
    state = torch.random.get_rng_state()
    batches = data_iter(4, features, labels, seed=generator)
    order = torch.randperm(n, generator=twin)  # the draw, restated on the twin
    assert torch.equal(generator.get_state(), twin.get_state())  # advanced by exactly that
    seen = torch.cat([yb for _, yb in batches])
    assert torch.equal(seen, order)
    for xb, _ in data_iter(4, features, labels, seed=0):
        xb.mul_(0.0)  # a batch is the caller's to change: the features stay as they were
    assert torch.equal(features, before)
    assert torch.equal(torch.random.get_rng_state(), state)


# A direction that would diverge but holds nothing: G = diag(100, 1) with lr = 0.03 has
# 1 - lr * 100 = -2 (unstable) and 1 - lr * 1 = 0.97, and neither the start nor c = X^T y
# has any weight on the first axis. The steps keep w_1 = 0 exactly; on the second axis
# w_2 <- w_2 - lr (w_2 - 3), so w_2 = 3 - 3 * 0.97**t after t steps (t epochs of the
# per-sample loop, whose first sample only ever touches the first axis). The powers of the
# step map overflow float64 after ~1000 steps; the weights never leave [0, 3].
_SILENT_X = torch.tensor([[10.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
_SILENT_Y = torch.tensor([0.0, 3.0], dtype=torch.float64)


@pytest.mark.claim("CORE-GRAM")
@pytest.mark.claim("CORE-EPOCH-MAP")
@pytest.mark.parametrize(
    ("method", "count"),
    [
        ("auto", 5000),
        ("fast", 10),
        ("fast", 999),
        ("fast", 5000),
        ("fast", 10**6),
        ("loop", 10),
        ("loop", 5000),
    ],
)
@pytest.mark.parametrize("trainer", [gd_full_batch, sgd_per_sample])
def test_a_diverging_direction_that_holds_nothing_stays_zero(trainer, method, count):
    w0 = torch.zeros(2, dtype=torch.float64)
    w = trainer(_SILENT_X, _SILENT_Y, w0, 0.03, count, method=method)
    assert w[0].item() == 0.0
    assert w[1].item() == pytest.approx(3.0 - 3.0 * 0.97**count, rel=1e-12, abs=1e-13)


# ---------------------------------------------------------------- edges of the spectrum


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("per_sample", [True, False])
def test_the_stable_rate_of_tiny_data_is_named_outside_float64(per_sample):
    # X = diag(2**-600, 2**-601): the largest |x_i|^2 and lambda_max(X^T X) are both
    # 2**-1200 (below float64's smallest number: the data are scaled by a power of two
    # first), so the bound 2 / 2**-1200 = 2**1201 lies beyond float64's largest.
    X = torch.tensor([[2.0**-600, 0.0], [0.0, 2.0**-601]], dtype=torch.float64)
    with pytest.raises(
        ValueError, match=r"^X's stable learning rate 2\*\*1201\.0 lies outside float64's range$"
    ):
        stable_learning_rate(X, per_sample=per_sample)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("trainer", [gd_full_batch, sgd_per_sample])
def test_a_loss_beyond_float64_on_all_zero_x_says_no_bound_exists(trainer):
    # X = 0 never moves the weights, but 0.5 (0 - 1e200)^2 overflows: the loop stops at the
    # first recorded loss, and with lambda_max = 0 there is no stable bound to quote.
    X = torch.zeros(2, 2, dtype=torch.float64)
    y = torch.tensor([1e200, 1e200], dtype=torch.float64)
    hessian = "X^T X" if trainer is gd_full_batch else "x_i x_i^T"
    unit = "step" if trainer is gd_full_batch else "epoch"
    message = (
        f"the recorded loss overflows float64 at {unit} 1/3 with lr=0.1; the map is stable "
        f"(rho = 1 <= 1) but the data are too large; the largest stable learning rate for "
        f"this data is 2 / lambda_max({hessian}), which does not exist here: X is all zeros"
    )
    with pytest.raises(DivergenceError, match=f"^{re.escape(message)}$"):
        trainer(X, y, torch.zeros(2, dtype=torch.float64), 0.1, 3, history=True, method="loop")


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("method", ["fast", "loop"])
def test_a_stable_map_whose_loss_overflows_quotes_its_own_rho(method):
    # One sample x = 1 with lr = 0.5: an epoch maps w to (1 - 0.5) w + 0.5 y, so rho = 0.5;
    # y = 1e200 makes the first recorded loss 0.5 * 1e400, beyond float64.
    message = (
        "the recorded loss overflows float64 at epoch 1/3 with lr=0.5; the map is stable "
        "(rho = 0.5 <= 1) but the data are too large; the largest stable learning rate for "
        "this data is 2 / lambda_max(x_i x_i^T) = 2"
    )
    with pytest.raises(DivergenceError, match=f"^{re.escape(message)}$"):
        sgd_per_sample(
            torch.tensor([[1.0]], dtype=torch.float64),
            torch.tensor([1e200], dtype=torch.float64),
            torch.zeros(1, dtype=torch.float64),
            0.5,
            3,
            history=True,
            method=method,
        )


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("method", ["fast", "loop"])
def test_a_faint_unstable_direction_diverges_at_the_derived_step_with_history(method):
    # G = diag(100, 1), lr = 0.03: on the first axis w_1 <- -2 w_1 + 3 * 2**-400 * 3, so
    # w_1(t) = 3 * 2**-400 * (1 - (-2)**t) from w_1 = 0. |w_1| >= 2**500 first when
    # |1 - (-2)**t| >= 2**900 / 3 = 2**898.42: t = 899 (2**899 + 1), not t = 898 (2**898 - 1).
    # By then the doubling of the history's states has formed powers of the step map far
    # beyond float64 (2**1798): the spec also shows no overflow warning escapes.
    X = torch.tensor([[10.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([10.0 * 3 * 2.0**-400, 3.0], dtype=torch.float64)
    with pytest.raises(DivergenceError, match=r"they pass 2\*\*500 .* at step 899/2000 with lr="):
        gd_full_batch(X, y, torch.zeros(2, dtype=torch.float64), 0.03, 2000, history=True,
                      method=method)  # fmt: skip


@pytest.mark.claim("CORE-GRAM")
@pytest.mark.parametrize(("gram_method", "kernel_calls"), [("auto", 1), ("numba", 1), ("blas", 0)])
def test_the_fast_path_sums_with_the_method_asked_for(monkeypatch, gram_method, kernel_calls):
    # "auto" and "numba" make the one pass with the numba kernel (installed with the fast
    # extra, as in these specs); "blas" never calls it.
    calls = []
    kernel = _gram_numba.gram_sums

    def counted(*args, **kwargs):
        calls.append(args[0].shape)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(_gram_numba, "gram_sums", counted)
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)
    w = gd_full_batch_fast(X, y, torch.zeros(2, dtype=torch.float64), 0.01, 5,
                           gram_method=gram_method)  # fmt: skip
    assert calls == [(3, 2)] * kernel_calls
    torch.testing.assert_close(w, gd_full_batch(X, y, torch.zeros(2, dtype=torch.float64),
                                                0.01, 5, method="loop"))  # fmt: skip


@pytest.mark.claim("CORE-GRAM")
def test_the_parallel_kernel_runs_only_with_threads_and_rows_enough(monkeypatch):
    # the parallel kernel pays for its threads only on long data: at PARALLEL_MIN_ROWS rows
    # and more, with more than one thread; the serial one otherwise
    chosen = []
    kernel_of = _gram_numba._kernel

    def recorded(k, parallel):
        chosen.append(parallel)
        return kernel_of(k, parallel)

    monkeypatch.setattr(_gram_numba, "_kernel", recorded)
    many = _gram_numba.PARALLEL_MIN_ROWS
    for n, threads in ((many, 2), (many - 1, 2), (many, 1), (many + 1, 3)):
        X = np.ones((n, 2))
        G, c, yy = _gram_numba.gram_sums(X, np.ones(n), threads)
        assert G.tolist() == [[n, n], [n, n]]
        assert (c.tolist(), yy) == ([n, n], n)
    assert chosen == [True, False, False, True]
    for parallel, name in ((True, "gram2_parallel"), (False, "gram2_serial")):
        assert kernel_of(2, parallel).py_func.__name__ == name


@pytest.mark.claim("CORE-EPOCH-MAP")
@pytest.mark.parametrize(
    ("trainer", "fast_path"),
    [(sgd_per_sample, "_sgd_closed_form"), (gd_full_batch, "_gd_full_batch")],
)
def test_the_readable_loop_never_takes_the_fast_path(monkeypatch, trainer, fast_path):
    # method="loop" is the literal loop: the closed form is never consulted (it would agree
    # to rounding, so only its absence tells the two apart); "fast" and "auto" take it
    def refuse(*args, **kwargs):
        raise AssertionError("the fast path was taken")

    X = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    w0 = torch.zeros(2, dtype=torch.float64)
    monkeypatch.setattr(fast, fast_path, refuse)
    trainer(X, y, w0, 0.05, 3, method="loop")
    for method in ("fast", "auto"):
        with pytest.raises(AssertionError, match="the fast path was taken"):
            trainer(X, y, w0, 0.05, 3, method=method)
