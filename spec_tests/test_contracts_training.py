"""Contract specs of the training core's messages and range edges (issue 12).

gradspec's own error messages are part of the contract: each names the argument first and
says what was wrong. These specs state the whole sentence (anchored with ``^...$``), so a
message that loses its argument name or its wording fails. The expected texts are written
out here, not taken from the code. The range edges of :func:`stable_learning_rate` are
tested exactly at the edges, with the bound derived in the comments:
for ``X`` one column of ``m`` entries ``2**a`` the Hessian ``X^T X`` is the 1x1 matrix
``m * 4**a``, so the full-batch bound ``2 / lambda_max`` is ``2**(1 - log2(m) - 2a)``,
an exact power of two.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
import torch

from reference.digits import DIGIT_ROWS
from reference.errors import DivergenceError
from reference.training import _gram_numba
from reference.training.digit_programs import train_digits_autograd, train_digits_manual
from reference.training.fast import (
    divergence_error,
    epoch_map,
    gd_from_gram,
    gd_full_batch_fast,
    gram,
    sgd_per_sample_fast,
)
from reference.training.linear_regression import (
    data_iter,
    fit_ten_x,
    fit_two_points,
    least_squares_test_mse,
    mse_stable_lr,
    synthetic_data,
    ten_x_data,
    train_linear_concise,
    train_linear_scratch,
)
from reference.training.squared_loss import gd_full_batch, sgd_per_sample, stable_learning_rate


def _exactly(message: str) -> str:
    """A pattern that matches ``message`` and nothing else."""
    return "^" + re.escape(message) + "$"


def _column(a: int, m: int) -> torch.Tensor:
    """``m`` rows, one column, every entry ``2**a`` (exact in float64)."""
    return torch.full((m, 1), math.ldexp(1.0, a), dtype=torch.float64)


# ---------------------------------------------------------------- epoch_map
@pytest.mark.claim("CORE-INPUTS")
def test_epoch_map_names_y_and_the_x_it_must_match() -> None:
    with pytest.raises(
        ValueError, match=_exactly("y must have shape [2] or [2, 1] to match X, got (3,)")
    ):
        epoch_map(torch.ones(2, 2), torch.ones(3), 0.1)


@pytest.mark.claim("CORE-INPUTS")
def test_epoch_map_refuses_an_overflowing_map_of_finite_input() -> None:
    # A_0 = 1 - lr x^2 = 1 - 1e400: -inf in float64, although X, y and lr are finite.
    message = (
        "the epoch map overflows torch.float64 (it is not finite although every input is): "
        "lr or X is too large; rescale the data"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        epoch_map(torch.tensor([[1e200]], dtype=torch.float64), torch.zeros(1), 1.0)


@pytest.mark.claim("CORE-EPOCH-MAP")
def test_epoch_map_with_default_order_matches_the_product_written_out() -> None:
    # A_i = [[1 - lr x_i^2, lr y_i x_i], [0, 1]], M = A_1 A_0.
    x, t, lr = [1.0, 2.0], [3.0, -1.0], 0.125
    A = [
        np.array([[1 - lr * xi * xi, lr * yi * xi], [0.0, 1.0]])
        for xi, yi in zip(x, t, strict=True)
    ]
    expected = A[1] @ A[0]
    got = epoch_map(torch.tensor([[1.0], [2.0]]), torch.tensor(t), lr)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-15)


# ---------------------------------------------------------------- gram / gd_from_gram
@pytest.mark.claim("CORE-INPUTS")
def test_gram_messages_name_the_argument() -> None:
    with pytest.raises(
        ValueError, match=_exactly("method must be one of ('auto', 'blas', 'numba'), got 'gemm'")
    ):
        gram(torch.ones(2, 2), torch.ones(2), method="gemm")
    with pytest.raises(
        ValueError, match=_exactly("y must have shape [2] or [2, 1] to match X, got (3,)")
    ):
        gram(torch.ones(2, 2), torch.ones(3))
    with pytest.raises(ValueError, match=_exactly("X has non-finite entries (inf or nan)")):
        gram(torch.tensor([[1.0, math.inf]]), torch.ones(1), method="blas")
    with pytest.raises(ValueError, match=_exactly("y has non-finite entries (inf or nan)")):
        gram(torch.ones(1, 2), torch.tensor([math.nan]), method="blas")


@pytest.mark.claim("CORE-INPUTS")
def test_gram_refuses_sums_that_overflow() -> None:
    # 1e200 * 1e200 = 1e400 overflows although both entries are finite.
    message = (
        "X and y are too large: the sums of products X^T X or X^T y overflow float64 "
        "(scale the data)"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        gram(torch.tensor([[1e200]], dtype=torch.float64), torch.ones(1), method="blas")


@pytest.mark.claim("CORE-INPUTS")
def test_gd_from_gram_messages_name_the_argument() -> None:
    G, c, w0 = torch.eye(2, dtype=torch.float64), torch.zeros(2), torch.zeros(2)
    with pytest.raises(
        ValueError, match=_exactly("G must be a square non-empty matrix [k, k], got (2, 3)")
    ):
        gd_from_gram(torch.ones(2, 3), c, w0, 0.1, 1)
    with pytest.raises(
        ValueError, match=_exactly("c must have shape [2] or [2, 1] to match G, got (3,)")
    ):
        gd_from_gram(G, torch.zeros(3), w0, 0.1, 1)
    with pytest.raises(
        ValueError, match=_exactly("w0 must have shape [2] or [2, 1] to match G, got (1,)")
    ):
        gd_from_gram(G, c, torch.zeros(1), 0.1, 1)
    with pytest.raises(ValueError, match=_exactly("c has non-finite entries (inf or nan)")):
        gd_from_gram(G, torch.tensor([0.0, math.inf]), w0, 0.1, 1)
    with pytest.raises(ValueError, match=_exactly("w0 has non-finite entries (inf or nan)")):
        gd_from_gram(G, c, torch.tensor([math.nan, 0.0]), 0.1, 1)
    with pytest.raises(ValueError, match=_exactly("G has non-finite entries (inf or nan)")):
        gd_from_gram(torch.tensor([[math.inf, 0.0], [0.0, 1.0]]), c, w0, 0.1, 1)
    with pytest.raises(TypeError, match=_exactly("yy must be a real number, got str")):
        gd_from_gram(G, c, w0, 0.1, 1, yy="1")
    with pytest.raises(TypeError, match=_exactly("yy must be a real number, got bool")):
        gd_from_gram(G, c, w0, 0.1, 1, yy=True)
    with pytest.raises(
        ValueError, match=_exactly("yy must be a finite number >= 0 (it is y . y), got -1.0")
    ):
        gd_from_gram(G, c, w0, 0.1, 1, yy=-1.0)
    with pytest.raises(
        ValueError, match=_exactly("yy must be a finite number >= 0 (it is y . y), got inf")
    ):
        gd_from_gram(G, c, w0, 0.1, 1, yy=math.inf)
    with pytest.raises(ValueError, match=_exactly("steps must be >= 0, got -1")):
        gd_from_gram(G, c, w0, 0.1, -1)
    with pytest.raises(ValueError, match=_exactly("lr must be a finite number > 0, got 0")):
        gd_from_gram(G, c, w0, 0, 1)


@pytest.mark.claim("CORE-GRAM")
def test_gd_from_gram_accepts_yy_zero_and_an_int() -> None:
    # G = 1, c = 0, y . y = 0 (y = 0): w_t = (1 - lr)^t w0, L(w_t) = w_t^2 / 2.
    w, losses = gd_from_gram(torch.ones(1, 1), torch.zeros(1), torch.ones(1), 0.5, 3, yy=0)
    assert w.tolist() == [0.125]
    assert losses.tolist() == [0.5, 0.125, 0.03125]


@pytest.mark.claim("CORE-INPUTS")
def test_trainers_name_their_arguments() -> None:
    X, y, w0 = torch.ones(3, 2), torch.ones(3), torch.zeros(2)
    with pytest.raises(
        ValueError, match=_exactly("gram_method must be one of ('auto', 'blas', 'numba'), got 'x'")
    ):
        gd_full_batch_fast(X, y, w0, 0.1, 1, gram_method="x")
    with pytest.raises(
        ValueError, match=_exactly("w0 must have shape [2] or [2, 1] to match X, got (3,)")
    ):
        sgd_per_sample_fast(X, y, torch.zeros(3), 0.1, 1)
    with pytest.raises(
        ValueError, match=_exactly("y must have shape [3] or [3, 1] to match X, got (2,)")
    ):
        gd_full_batch_fast(X, torch.ones(2), w0, 0.1, 1)
    with pytest.raises(ValueError, match=_exactly("w0 has non-finite entries (inf or nan)")):
        sgd_per_sample_fast(X, y, torch.tensor([0.0, math.inf]), 0.1, 1)
    with pytest.raises(ValueError, match=_exactly("epochs must be >= 0, got -2")):
        sgd_per_sample_fast(X, y, w0, 0.1, -2)
    with pytest.raises(ValueError, match=_exactly("steps must be >= 0, got -2")):
        gd_full_batch_fast(X, y, w0, 0.1, -2)
    with pytest.raises(TypeError, match=_exactly("history must be a bool, got int")):
        gd_full_batch_fast(X, y, w0, 0.1, 1, history=1)
    with pytest.raises(
        ValueError, match=_exactly("method must be one of ('auto', 'fast', 'loop'), got 'x'")
    ):
        gd_full_batch(X, y, w0, 0.1, 1, method="x")
    with pytest.raises(
        ValueError, match=_exactly("method must be one of ('auto', 'fast', 'loop'), got 'x'")
    ):
        sgd_per_sample(X, y, w0, 0.1, 1, method="x")


@pytest.mark.claim("CORE-INPUTS")
def test_history_refuses_a_y_whose_square_overflows() -> None:
    # X = 1e-200, y = 1e200: G = 1e-400 underflows to 0 and c = 1 are finite, y . y = 1e400 is not.
    X = torch.tensor([[1e-200]], dtype=torch.float64)
    y = torch.tensor([1e200], dtype=torch.float64)
    message = "y is too large: y . y overflows float64 (scale the data)"
    with pytest.raises(ValueError, match=_exactly(message)):
        gd_full_batch_fast(X, y, torch.zeros(1), 0.1, 2, history=True, gram_method="blas")


# ---------------------------------------------------------------- the divergence message
_BOUND = "the largest stable learning rate for this data is 2 / lambda_max(X^T X)"
_WEIGHTS = "the weights diverge: they pass 2**500 (float64 overflows soon after)"


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"rho": 3.0, "top_log2": 0.0, "loss": False},
            f"{_WEIGHTS} at step 7/10 with lr=0.5; the error grows by the factor rho = 3 > 1 "
            f"per step; {_BOUND} = 2",
        ),
        (
            {"rho": None, "top_log2": 2.0, "loss": True},
            "the recorded loss overflows float64 at step 7/10 with lr=0.5; the step's map itself "
            f"overflows float64 (lr is far too large); {_BOUND} = 0.5",
        ),
        (
            {"rho": math.inf, "top_log2": None, "loss": False},
            f"{_WEIGHTS} at step 7/10 with lr=0.5; the error grows per step by a factor rho "
            f"beyond float64's range; {_BOUND}, which does not exist here: X is all zeros",
        ),
        (
            {"rho": 1.0, "top_log2": 1024.0, "loss": False},
            f"{_WEIGHTS} at step 7/10 with lr=0.5; the map is stable (rho = 1 <= 1) but the data "
            f"are too large; {_BOUND} = 2**-1023.0, below float64's range (the data are too large)",
        ),
        (
            {"rho": 0.5, "top_log2": -1023.0, "loss": False},
            f"{_WEIGHTS} at step 7/10 with lr=0.5; the map is stable (rho = 0.5 <= 1) but the "
            f"data are too large; {_BOUND} = 2**1024.0, above float64's range "
            "(the data are too small)",
        ),
    ],
)
def test_divergence_message_written_out(arguments: dict, message: str) -> None:
    error = divergence_error(unit="step", index=7, count=10, lr=0.5, hessian="X^T X", **arguments)
    assert isinstance(error, DivergenceError)
    assert str(error) == message


@pytest.mark.claim("CORE-DIVERGENCE")
def test_divergence_bound_edges_of_the_message() -> None:
    # bound = 2**(1 - top_log2); 2**-1022 (float64's smallest normal) and 2**1023 (the
    # largest power of two) are quoted as numbers, printed with 6 significant digits.
    head = "the largest stable learning rate for this data is 2 / lambda_max(x_i x_i^T) = "
    for top_log2, number in [(1023.0, "2.22507e-308"), (-1022.0, "8.98847e+307")]:
        error = divergence_error(
            unit="epoch", index=1, count=1, lr=1.0, rho=2.0, top_log2=top_log2, hessian="x_i x_i^T"
        )
        assert str(error).endswith("; " + head + number)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_gd_divergence_message_of_a_doubling_run() -> None:
    # G = 1, c = 0, w0 = 1, lr = 3: w_t = (1 - 3)^t = (-2)^t, |w_t| = 2**t reaches 2**500 at
    # step 500; rho = |1 - 3| = 2; the bound 2 / lambda_max = 2.
    message = (
        f"{_WEIGHTS} at step 500/1000 with lr=3; the error grows by the factor rho = 2 > 1 "
        f"per step; {_BOUND} = 2"
    )
    with pytest.raises(DivergenceError, match=_exactly(message)):
        gd_from_gram(torch.ones(1, 1), torch.zeros(1), torch.ones(1), 3.0, 1000)


# ---------------------------------------------------------------- stable_learning_rate
@pytest.mark.claim("CORE-DIVERGENCE")
def test_stable_learning_rate_refuses_all_zeros_with_the_full_sentence() -> None:
    message = "X is all zeros: the loss is flat and every learning rate is stable"
    with pytest.raises(ValueError, match=_exactly(message)):
        stable_learning_rate(torch.zeros(2, 2))
    with pytest.raises(ValueError, match=_exactly(message)):
        stable_learning_rate(torch.zeros(2, 2), per_sample=True)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(
    ("a", "m", "bound_log2"),
    [
        (537, 2, -1074),  # 2 / (2 * 4**537) = 2**-1074, float64's smallest subnormal
        (-511, 1, 1023),  # 2 / 4**-511 = 2**1023, inside float64's range
        (0, 2, 0),
    ],
)
def test_stable_learning_rate_at_the_edges_of_float64(a: int, m: int, bound_log2: int) -> None:
    expected = math.ldexp(1.0, bound_log2)
    assert stable_learning_rate(_column(a, m)) == expected
    # one column: max_i |x_i|^2 = 4**a, so the per-sample bound is 2 / 4**a = 2**(1 - 2a)
    assert stable_learning_rate(_column(a, m), per_sample=True) == math.ldexp(1.0, 1 - 2 * a)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(
    ("a", "m", "text"),
    [
        (538, 1, "2**-1075.0"),  # 2 / 4**538: half the smallest subnormal
        (-512, 2, "2**1024.0"),  # 2 / (2 * 4**-512) = 2**1024: just past float64's maximum
        (-512, 1, "2**1025.0"),
    ],
)
def test_stable_learning_rate_refuses_bounds_outside_float64(a: int, m: int, text: str) -> None:
    message = f"X's stable learning rate {text} lies outside float64's range"
    with pytest.raises(ValueError, match=_exactly(message)):
        stable_learning_rate(_column(a, m))


@pytest.mark.claim("CORE-INPUTS")
def test_stable_learning_rate_names_its_arguments() -> None:
    with pytest.raises(TypeError, match=_exactly("per_sample must be a bool, got int")):
        stable_learning_rate(torch.ones(2, 2), per_sample=1)
    with pytest.raises(ValueError, match=_exactly("X has non-finite entries (inf or nan)")):
        stable_learning_rate(torch.tensor([[1.0, math.nan]]))
    with pytest.raises(
        ValueError, match=_exactly("X must be a non-empty 2-D tensor [n, k], got shape (3,)")
    ):
        stable_learning_rate(torch.ones(3))


# ---------------------------------------------------------------- linear_regression
_OVERFLOW = (
    "overflows {dtype} (it is not finite although every input is): {names} too large; "
    "rescale the data"
)


def _overflow(what: str, dtype: str, names: str) -> str:
    return f"{what} " + _OVERFLOW.format(dtype=dtype, names=names)


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize(
    ("features", "labels", "error", "message"),
    [
        (torch.ones(3), torch.ones(3), ValueError, "features must be 2-D (n, d), got shape (3,)"),
        (
            torch.ones(3, 2, dtype=torch.int64),
            torch.ones(3),
            TypeError,
            "features and labels must be floating-point tensors",
        ),
        (
            torch.ones(3, 2),
            torch.ones(3, dtype=torch.int64),
            TypeError,
            "features and labels must be floating-point tensors",
        ),
        (
            torch.ones(3, 2),
            torch.ones(3, 2),
            ValueError,
            "labels must have shape (n,) or (n, 1), got (3, 2)",
        ),
        (
            torch.ones(3, 2),
            torch.ones(2),
            ValueError,
            "features and labels must have the same length, got 3 and 2",
        ),
        (torch.ones(0, 2), torch.ones(0), ValueError, "features must hold at least one example"),
        (
            torch.tensor([[1.0, math.inf]]),
            torch.ones(1),
            ValueError,
            "features has non-finite entries (inf or nan)",
        ),
        (
            torch.ones(1, 2),
            torch.tensor([math.nan]),
            ValueError,
            "labels has non-finite entries (inf or nan)",
        ),
    ],
)
def test_minibatch_trainers_name_bad_data(
    features: torch.Tensor, labels: torch.Tensor, error: type[Exception], message: str
) -> None:
    for train in (train_linear_scratch, train_linear_concise):
        with pytest.raises(error, match=_exactly(message)):
            train(features, labels, num_epochs=1)


@pytest.mark.claim("CORE-INPUTS")
def test_minibatch_trainers_name_bad_settings() -> None:
    X, y = torch.ones(4, 2), torch.ones(4)
    cases = [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"num_epochs": -1}, ValueError, "num_epochs must be >= 0, got -1"),
        ({"seed": -1}, ValueError, "seed must be in [0, 2**63), got -1"),
        ({"init_std": -0.5}, ValueError, "init_std must be >= 0, got -0.5"),
        ({"lr": 0.0}, ValueError, "lr must be > 0, got 0.0"),
        (
            {"lr": 1e39},
            ValueError,
            "lr = 1e+39 is beyond the range of torch.float32 (largest 3.4e+38), "
            "the dtype of the parameters it updates",
        ),
    ]
    for train in (train_linear_scratch, train_linear_concise):
        for kwargs, error, message in cases:
            with pytest.raises(error, match=_exactly(message)):
                train(X, y, **kwargs)


@pytest.mark.claim("CORE-INPUTS")
def test_synthetic_data_names_its_arguments() -> None:
    with pytest.raises(
        TypeError, match=_exactly("w must be a sequence of numbers or a tensor, got str")
    ):
        synthetic_data("12", 0.0, 3)
    with pytest.raises(
        ValueError,
        match=_exactly("w must be a non-empty vector of finite numbers, got an empty one"),
    ):
        synthetic_data([], 0.0, 3)
    with pytest.raises(
        ValueError, match=_exactly(_overflow("w in torch.float32", "torch.float32", "w is"))
    ):
        synthetic_data([1e39], 0.0, 3)
    with pytest.raises(ValueError, match=_exactly("n must be >= 1, got 0")):
        synthetic_data([1.0], 0.0, 0)
    with pytest.raises(ValueError, match=_exactly("noise_std must be >= 0, got -1")):
        synthetic_data([1.0], 0.0, 3, noise_std=-1)
    with pytest.raises(ValueError, match=_exactly("b must be finite, got inf")):
        synthetic_data([1.0], math.inf, 3)
    # labels x * 3e38 + 3e38 overflow float32 wherever x > 0.14: surely among 50 normal draws
    labels_overflow = _overflow("the torch.float32 labels", "torch.float32", "w, b or noise_std is")
    with pytest.raises(ValueError, match=_exactly(labels_overflow)):
        synthetic_data([3e38], 3e38, 50, noise_std=0.0)


@pytest.mark.claim("CORE-INPUTS")
def test_synthetic_data_defaults_restated_with_torch() -> None:
    # noise_std = 0.01, seed = 0, dtype float32: features first, then the noise, one generator.
    w, b = [2.0, -3.4], 4.2
    X, y = synthetic_data(w, torch.tensor([b]), 6)
    gen = torch.Generator().manual_seed(0)
    X_expected = torch.randn(6, 2, generator=gen, dtype=torch.float32)
    noise = torch.randn(6, generator=gen, dtype=torch.float32) * 0.01
    y_expected = X_expected @ torch.tensor(w) + b + noise
    assert X.dtype == y.dtype == torch.float32
    assert torch.equal(X, X_expected)
    torch.testing.assert_close(y, y_expected, rtol=0, atol=1e-6)


@pytest.mark.claim("CORE-INPUTS")
def test_data_iter_messages_and_default_seed() -> None:
    X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5.0)
    with pytest.raises(ValueError, match=_exactly("batch_size must be >= 1, got 0")):
        list(data_iter(0, X, y))
    message = (
        "features and labels must have the same length (first dimension), got shapes "
        "(5, 2) and (4,)"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        list(data_iter(2, X, y[:4]))
    with pytest.raises(
        ValueError,
        match=_exactly(
            "features and labels must have the same length (first dimension), got shapes "
            "() and (5,)"
        ),
    ):
        list(data_iter(2, torch.tensor(1.0), y))
    # default seed 0: the order is torch.randperm(5) from a generator seeded with 0
    order = torch.randperm(5, generator=torch.Generator().manual_seed(0))
    got = torch.cat([yb for _, yb in data_iter(2, X, y)])
    assert torch.equal(got, y[order])


@pytest.mark.claim("CORE-INPUTS")
def test_mse_stable_lr_messages() -> None:
    with pytest.raises(TypeError, match=_exactly("half must be a bool, got int")):
        mse_stable_lr(torch.ones(3), half=1)
    with pytest.raises(
        TypeError, match=_exactly("x must be a torch.Tensor or numpy array, got list")
    ):
        mse_stable_lr([1.0, 2.0])
    with pytest.raises(
        ValueError, match=_exactly("x must have shape (n,) or (n, d) with n >= 1, got (0, 1)")
    ):
        mse_stable_lr(torch.ones(0))
    with pytest.raises(
        ValueError, match=_exactly("x must have shape (n,) or (n, d) with n >= 1, got (1, 1, 1)")
    ):
        mse_stable_lr(torch.ones(1, 1, 1))
    # x = 1e300, one point: lambda_max = 2 (x^2 + 1) = 2e600, so 2 / lambda_max = 1e-600 underflows
    message = (
        "x is too large: the stable learning rate 2/lambda_max underflows float64 "
        "(largest |x| = 1e+300)"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        mse_stable_lr(torch.tensor([1e300], dtype=torch.float64))


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(("half", "c"), [(False, 2.0), (True, 1.0)])
def test_mse_stable_lr_of_huge_x_written_out(half: bool, c: float) -> None:
    # One point x = 2**501: H = c [[x^2, x], [x, 1]], eigenvalues 0 and c (x^2 + 1), so
    # 2 / lambda_max = 2 / (c (4**501 + 1)), which rounds to 2**-1001 / c in float64.
    x = torch.tensor([math.ldexp(1.0, 501)], dtype=torch.float64)
    assert mse_stable_lr(x, half=half) == math.ldexp(1.0, -1001) / c
    # below 2**500 the same formula, on an ordinary x: [1, -1] gives H = c I (see the docs)
    assert mse_stable_lr(np.array([1.0, -1.0]), half=half) == pytest.approx(2.0 / c, rel=1e-15)


@pytest.mark.claim("CORE-INPUTS")
def test_fit_two_points_names_its_arguments() -> None:
    cases = [
        ({"x": "ab"}, TypeError, "x must be a sequence of numbers or a tensor, got str"),
        ({"y": torch.ones(1, 2)}, ValueError, "y must be a non-empty 1-D vector, got shape (1, 2)"),
        ({"w0": []}, ValueError, "w0 must be a non-empty 1-D vector, got shape (0,)"),
        ({"x": [1e39, 1.0]}, ValueError, _overflow("x in torch.float32", "torch.float32", "x is")),
        ({"b0": 1e39}, ValueError, _overflow("b0 in torch.float32", "torch.float32", "b0 is")),
        ({"y": [1.0, 2.0, 3.0]}, ValueError, "x, y and w0 must have the same length, got 2, 3, 2"),
        ({"epochs": -1}, ValueError, "epochs must be >= 0, got -1"),
        (
            {"dtype": torch.int32},
            TypeError,
            "dtype must be a floating torch.dtype, got torch.int32",
        ),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=_exactly(message)):
            fit_two_points(**{"epochs": 1, **kwargs})


@pytest.mark.claim("CORE-DIVERGENCE")
def test_fit_two_points_divergence_message() -> None:
    pattern = (
        r"^training diverged at epoch \d+ with lr=10\.0: the loss became (inf|nan); the stable "
        r"bound is 2/lambda_max of the Hessian 2/m \[diag\(x\) 1\]\^T\[diag\(x\) 1\]$"
    )
    with pytest.raises(DivergenceError, match=pattern):
        fit_two_points(10_000, lr=10.0)


def _half_mse_bound(x: np.ndarray, c: float) -> float:
    """2 / lambda_max(c/n A^T A), A = [x 1], by numpy (the oracle of the message's number)."""
    A = np.hstack([x.reshape(len(x), -1), np.ones((len(x), 1))])
    return 2.0 / np.linalg.eigvalsh(c * A.T @ A / len(x))[-1]


@pytest.mark.claim("CORE-DIVERGENCE")
def test_fit_ten_x_divergence_message_quotes_the_bound() -> None:
    x = np.arange(1000) * 0.1
    bound = f"{_half_mse_bound(x, 2.0):.4g}"
    pattern = (
        r"^training diverged at step \d+ with lr=0\.0005: the loss became (inf|nan); "
        rf"the full-batch stable bound for this loss is lr < {re.escape(bound)}$"
    )
    with pytest.raises(DivergenceError, match=pattern):
        fit_ten_x()
    with pytest.raises(TypeError, match=_exactly("standardize must be a bool, got int")):
        fit_ten_x(1, standardize=1)
    with pytest.raises(ValueError, match=_exactly("steps must be >= 0, got -1")):
        fit_ten_x(-1)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(("train", "c"), [("scratch", 1.0), ("concise", 2.0)])
def test_minibatch_divergence_message_quotes_the_bound(train: str, c: float) -> None:
    # the from-scratch loop's loss carries the factor 1/2 (H = A^T A / n), nn.MSELoss does not
    trainer = {"scratch": train_linear_scratch, "concise": train_linear_concise}[train]
    X = torch.linspace(-3.0, 3.0, 20, dtype=torch.float64).reshape(10, 2)
    y = torch.ones(10, dtype=torch.float64)
    bound = f"{_half_mse_bound(X.numpy(), c):.4g}"
    pattern = (
        r"^training diverged at (epoch \d+, batch \d+|the end of epoch \d+) with lr=1000\.0: "
        rf"the loss became (inf|nan); the full-batch stable bound for this loss is lr < "
        rf"{re.escape(bound)}$"
    )
    with pytest.raises(DivergenceError, match=pattern):
        trainer(X, y, lr=1000.0, num_epochs=200, batch_size=10)


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("name", ["scratch", "concise"])
def test_minibatch_divergence_without_a_bound_says_why(name: str) -> None:
    # |x| = 1e300 > 2**500: the bound underflows, and the first batch's loss is already inf
    trainer = {"scratch": train_linear_scratch, "concise": train_linear_concise}[name]
    X = torch.full((2, 1), 1e300, dtype=torch.float64)
    y = torch.zeros(2, dtype=torch.float64)
    message = (
        "training diverged at epoch 1, batch 1 with lr=0.03: the loss became inf; no stable "
        "bound can be given (x is too large: the stable learning rate 2/lambda_max underflows "
        "float64 (largest |x| = 1e+300))"
    )
    with pytest.raises(DivergenceError, match=_exactly(message)):
        trainer(X, y)


@pytest.mark.claim("CORE-INPUTS")
def test_least_squares_test_mse_names_its_arguments() -> None:
    cases = [
        ({"n_train": 0}, "n_train must be >= 1, got 0"),
        ({"n_test": 0}, "n_test must be >= 1, got 0"),
        ({"noise_std": -1.0}, "noise_std must be >= 0, got -1.0"),
        (
            {"true_w": [1e308]},
            _overflow("the training targets", "torch.float64", "true_w or noise_std is"),
        ),
    ]
    for kwargs, message in cases:
        arguments = {"n_train": 50, "true_w": [1.0], **kwargs}
        with pytest.raises(ValueError, match=_exactly(message)):
            least_squares_test_mse(**arguments)
    with pytest.raises(
        TypeError, match=_exactly("true_w must be a sequence of numbers or a tensor, got int")
    ):
        least_squares_test_mse(5, 3)


# ---------------------------------------------------------------- losses that overflow to nan
def _alternating(k: int, size: float) -> torch.Tensor:
    return torch.tensor([size * (-1) ** j for j in range(k)], dtype=torch.float64)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_sgd_history_reports_a_loss_whose_residual_is_inf_minus_inf() -> None:
    # x = 1e150 (16 times), w0 = +-1e160: the first residual x . w0 sums products of +-1e310,
    # which overflow to +inf and -inf (nan, not a warning: the specs turn RuntimeWarning into
    # an error). The start is already past 2**500, so the loss of epoch 1 is the culprit.
    # Bound: max |x_i|^2 = 16e300, 2 / 16e300 = 1.25e-301.
    X = torch.full((1, 16), 1e150, dtype=torch.float64)
    pattern = (
        r"^the recorded loss overflows float64 at epoch 1/3 with lr=1e-310; [^;]+; the largest "
        r"stable learning rate for this data is 2 / lambda_max\(x_i x_i\^T\) = 1\.25e-301$"
    )
    with pytest.raises(DivergenceError, match=pattern):
        sgd_per_sample_fast(X, torch.zeros(1), _alternating(16, 1e160), 1e-310, 3, history=True)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_gd_history_reports_a_loss_whose_terms_are_inf_minus_inf() -> None:
    # G = 1e300 everywhere (16 x 16), w0 = +-1e160: G w0 sums products of +-1e460 (nan);
    # lambda_max(G) = 16e300, so the bound 2 / lambda_max is 1.25e-301.
    G = torch.full((16, 16), 1e300, dtype=torch.float64)
    pattern = (
        r"^the recorded loss overflows float64 at step 1/3 with lr=1e-310; [^;]+; the largest "
        r"stable learning rate for this data is 2 / lambda_max\(X\^T X\) = 1\.25e-301$"
    )
    with pytest.raises(DivergenceError, match=pattern):
        gd_from_gram(G, torch.zeros(16), _alternating(16, 1e160), 1e-310, 3, yy=0.0)


# ---------------------------------------------------------------- the 2**500 edge, every path
@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize("method", ["loop", "fast"])
@pytest.mark.parametrize(
    ("train", "unit", "hessian"), [("gd", "step", "X^T X"), ("sgd", "epoch", "x_i x_i^T")]
)
def test_weights_exactly_at_2_pow_500_count_as_diverged(
    method: str, train: str, unit: str, hessian: str
) -> None:
    # X = [[1]], y = [0], lr = 3: one update maps w to w - 3 w = -2 w (exact in float64), so
    # w0 = 2**499 lands exactly on -2**500 (diverged: the weights "pass" 2**500 when
    # |w| >= 2**500) and w0 = 2**499 (1 - 2**-10) stays below it (3 w0 has 12 significant
    # bits: exact). rho = |1 - 3| = 2 and the bound is 2 / 1 = 2.
    trainer = {"gd": gd_full_batch, "sgd": sgd_per_sample}[train]
    X, y = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    message = (
        f"{_WEIGHTS} at {unit} 1/1 with lr=3; the error grows by the factor rho = 2 > 1 per "
        f"{unit}; the largest stable learning rate for this data is 2 / lambda_max({hessian}) = 2"
    )
    edge = math.ldexp(1.0, 499)
    with pytest.raises(DivergenceError, match=_exactly(message)):
        trainer(X, y, torch.tensor([edge], dtype=torch.float64), 3.0, 1, method=method)
    below = edge * (1.0 - 2.0**-10)
    w = trainer(X, y, torch.tensor([below], dtype=torch.float64), 3.0, 1, method=method)
    assert w.tolist() == [-2.0 * below]


# ---------------------------------------------------------------- the trainers' defaults
def _scratch_oracle(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float, epochs: int, seed: int, std: float
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """The from-scratch loop restated with hand gradients, in float64.

    One generator seeded with ``seed`` draws w ~ N(0, std^2) ([d, 1]) and then each epoch's
    order (torch.randperm); a batch B updates theta <- theta - lr/|B| * grad of
    sum_B (x.w + b - y)^2 / 2, i.e. w -= lr/|B| X_B^T r, b -= lr/|B| sum r.
    """
    gen = torch.Generator().manual_seed(seed)
    w = (torch.randn(X.shape[1], 1, generator=gen, dtype=X.dtype) * std).double().reshape(-1)
    b = torch.zeros((), dtype=torch.float64)
    Xd, yd = X.double(), y.double()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for batch in order.split(batch_size):
            r = Xd[batch] @ w + b - yd[batch]
            w, b = w - lr / len(batch) * (Xd[batch].T @ r), b - lr / len(batch) * r.sum()
        losses.append(float(((Xd @ w + b - yd) ** 2 / 2).mean()))
    return w, b, losses


def _concise_oracle(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float, epochs: int, seed: int, std: float
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """The nn.Linear + MSELoss + SGD loop restated with hand gradients, in float64.

    The generator draws the weight row [1, d] with Tensor.normal_(0, std) (what
    nn.init.normal_ does), b = 0, then each epoch's order; the loss is the batch mean of
    (x.w + b - y)^2, whose gradient is 2/|B| X_B^T r (and 2/|B| sum r for b).
    """
    gen = torch.Generator().manual_seed(seed)
    w = torch.empty(1, X.shape[1], dtype=X.dtype).normal_(0.0, std, generator=gen)
    w, b = w.double().reshape(-1), torch.zeros((), dtype=torch.float64)
    Xd, yd = X.double(), y.double()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for batch in order.split(batch_size):
            r = Xd[batch] @ w + b - yd[batch]
            w, b = w - 2 * lr / len(batch) * (Xd[batch].T @ r), b - 2 * lr / len(batch) * r.sum()
        losses.append(float(((Xd @ w + b - yd) ** 2).mean()))
    return w, b, losses


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("name", ["scratch", "concise"])
def test_minibatch_trainers_defaults_match_the_restated_loop(name: str) -> None:
    # documented defaults: batch_size=10, lr=0.03, num_epochs=3, seed=0, init_std=0.01
    trainer = {"scratch": train_linear_scratch, "concise": train_linear_concise}[name]
    oracle = {"scratch": _scratch_oracle, "concise": _concise_oracle}[name]
    gen = torch.Generator().manual_seed(2024)
    X = torch.randn(25, 2, generator=gen)
    y = X @ torch.tensor([2.0, -3.4]) + 4.2
    fit = trainer(X, y)
    w, b, losses = oracle(X, y, 10, 0.03, 3, 0, 0.01)
    assert len(fit.losses) == 3
    torch.testing.assert_close(fit.w.double(), w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fit.b.double(), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.losses, losses, rtol=1e-5)
    # and a non-default setting of every argument, against the same restatement
    fit = trainer(X, y, batch_size=4, lr=0.05, num_epochs=2, seed=7, init_std=0.5)
    w, b, losses = oracle(X, y, 4, 0.05, 2, 7, 0.5)
    torch.testing.assert_close(fit.w.double(), w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fit.b.double(), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.losses, losses, rtol=1e-5)


@pytest.mark.claim("CORE-INPUTS")
def test_least_squares_test_mse_defaults_restated() -> None:
    # defaults noise_std = 1.0, n_test = 1000, seed = 0; the generator draws the training X,
    # its noise, the test X and its noise, in that order; the fit is numpy's least squares.
    w = np.array([1.0, -2.0])
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(6, 2, generator=gen, dtype=torch.float64).numpy()
    y = X @ w + 1.0 * torch.randn(6, generator=gen, dtype=torch.float64).numpy()
    X_test = torch.randn(1000, 2, generator=gen, dtype=torch.float64).numpy()
    y_test = X_test @ w + torch.randn(1000, generator=gen, dtype=torch.float64).numpy()
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    expected = float(np.mean((X_test @ w_hat - y_test) ** 2))
    assert least_squares_test_mse(6, w.tolist()) == pytest.approx(expected, rel=1e-12)


@pytest.mark.claim("CORE-INPUTS")
def test_ten_x_defaults_restated_with_numpy() -> None:
    # ten_x_data(): n = 1000 points x = 0.1 i, y = 10 x + 4 + U[0, 1) from default_rng(0)
    x, y = ten_x_data()
    x_expected = np.arange(1000) * 0.1
    y_expected = 10.0 * x_expected + 4.0 + np.random.default_rng(0).random(1000)
    np.testing.assert_array_equal(x.numpy(), x_expected)
    np.testing.assert_array_equal(y.numpy(), y_expected)
    # fit_ten_x(steps, lr, standardize=True) with default seed 0 and n = 1000: full-batch
    # descent on the MSE of w z + b, z = (x - mean) / std, from w = 7, b = 6, mapped back.
    z = (x_expected - x_expected.mean()) / x_expected.std()
    w, b = 7.0, 6.0
    for _ in range(40):
        r = w * z + b - y_expected
        w, b = w - 0.1 * 2 * np.mean(r * z), b - 0.1 * 2 * np.mean(r)
    fit = fit_ten_x(40, lr=0.1, standardize=True)
    assert len(fit.losses) == 40
    assert fit.w.item() == pytest.approx(w / x_expected.std(), rel=1e-5)
    # float32 parameters: b is a difference of numbers near 500, good to about 1e-5 relative
    assert fit.b.item() == pytest.approx(b - w * x_expected.mean() / x_expected.std(), rel=1e-4)


# ---------------------------------------------------------------- the digit programs
@pytest.mark.claim("CORE-INPUTS")
def test_digit_programs_name_their_arguments() -> None:
    cases = [
        (train_digits_manual, {"epochs": -1}, "epochs must be >= 0, got -1"),
        (train_digits_manual, {"seed": -1}, "seed must be in [0, 2**63), got -1"),
        (train_digits_autograd, {"steps": -1}, "steps must be >= 0, got -1"),
        (train_digits_autograd, {"seed": 2**63}, f"seed must be in [0, 2**63), got {2**63}"),
        (
            train_digits_autograd,
            {"train_dim": 2},
            "train_dim must be 0 (column sums) or 1 (row sums), got 2",
        ),
        (
            train_digits_autograd,
            {"infer_dim": True},
            "infer_dim must be 0 (column sums) or 1 (row sums), got True",
        ),
    ]
    for program, kwargs, message in cases:
        with pytest.raises(ValueError, match=_exactly(message)):
            program(**kwargs)
    with pytest.raises(TypeError, match=_exactly("epochs must be an int, got float")):
        train_digits_manual(epochs=1.0)
    with pytest.raises(TypeError, match=_exactly("steps must be an int, got str")):
        train_digits_autograd(steps="1")


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize(
    "call",
    [
        lambda X, lr: epoch_map(X, torch.ones(3), lr),
        lambda X, lr: sgd_per_sample_fast(X, torch.ones(3), torch.zeros(1), lr, 1),
        lambda X, lr: gd_full_batch_fast(X, torch.ones(3), torch.zeros(1), lr, 1),
        lambda X, lr: sgd_per_sample(X, torch.ones(3), torch.zeros(1), lr, 1, method="loop"),
        lambda X, lr: gd_full_batch(X, torch.ones(3), torch.zeros(1), lr, 1, method="loop"),
    ],
    ids=["epoch_map", "sgd_fast", "gd_fast", "sgd_loop", "gd_loop"],
)
def test_x_and_lr_are_named_by_every_entry_point(call) -> None:
    with pytest.raises(
        ValueError, match=_exactly("X must be a non-empty 2-D tensor [n, k], got shape (3,)")
    ):
        call(torch.ones(3), 0.1)
    with pytest.raises(TypeError, match=_exactly("X must be a torch.Tensor, got list")):
        call([[1.0]] * 3, 0.1)
    with pytest.raises(ValueError, match=_exactly("lr must be a finite number > 0, got -0.5")):
        call(torch.ones(3, 1), -0.5)
    with pytest.raises(ValueError, match=_exactly("lr must be a finite number > 0, got nan")):
        call(torch.ones(3, 1), math.nan)


@pytest.mark.claim("CORE-INPUTS")
def test_gram_names_x() -> None:
    with pytest.raises(
        ValueError, match=_exactly("X must be a non-empty 2-D tensor [n, k], got shape (0, 2)")
    ):
        gram(torch.ones(0, 2), torch.ones(0))
    # numba is an optional extra ([fast]): without it the method is refused as such
    message = (
        "method 'numba' handles at most 8 columns, X has 9"
        if _gram_numba.available()
        else "method 'numba' needs the numba package (pip install 'gradspec[fast]')"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        gram(torch.ones(2, 9), torch.ones(2), method="numba")


@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(("name", "bound"), [("scratch", "2e-200"), ("concise", "1e-200")])
def test_minibatch_divergence_at_the_end_of_the_first_epoch(name: str, bound: str) -> None:
    # One sample x = 1e100, y = 0, w ~ 0.01 N(0, 1): the batch loss (x w)^2 (/ 2) ~ 1e196 is
    # finite, the update moves w by lr x (x w) ~ 1e196, and the loss after it overflows: the
    # end-of-epoch check fires first. Bound: H = c [[x^2, x], [x, 1]] (c = 1 with the 1/2,
    # 2 for MSELoss), 2 / lambda_max = 2 / (c (1e200 + 1)).
    trainer = {"scratch": train_linear_scratch, "concise": train_linear_concise}[name]
    X = torch.full((1, 1), 1e100, dtype=torch.float64)
    y = torch.zeros(1, dtype=torch.float64)
    message = (
        "training diverged at the end of epoch 1 with lr=0.03: the loss became inf; the "
        f"full-batch stable bound for this loss is lr < {bound}"
    )
    with pytest.raises(DivergenceError, match=_exactly(message)):
        trainer(X, y)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_fit_two_points_names_the_epoch_it_diverges_at() -> None:
    # x = (1e100, 1), y = 0, w0 = (1, 2), b0 = 0, lr = 0.01, float64: epoch 1's loss
    # (1e200 + 4) / 2 is finite; its gradient for w_1 is 2/m r_1 x_1 = 1e200, so w_1 becomes
    # about -1e198 and epoch 2's loss (1e298)^2 / 2 overflows.
    message = (
        "training diverged at epoch 2 with lr=0.01: the loss became inf; the stable bound is "
        "2/lambda_max of the Hessian 2/m [diag(x) 1]^T[diag(x) 1]"
    )
    with pytest.raises(DivergenceError, match=_exactly(message)):
        fit_two_points(5, x=(1e100, 1.0), y=(0.0, 0.0), dtype=torch.float64)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_fit_ten_x_names_the_step_it_diverges_at() -> None:
    # From w = 7, b = 6 on y ~ 10 x + 4.5 the first gradient for w is 2 mean(r x) ~ -2e4
    # (r ~ -3 x + 1.5, mean x^2 ~ 3333), so lr = 1e35 sends the float32 w past float32's
    # maximum (3.4e38) to inf, and step 2's loss is not finite (inf * x_0 = inf * 0 = nan).
    bound = f"{_half_mse_bound(np.arange(1000) * 0.1, 2.0):.4g}"
    message = (
        "training diverged at step 2 with lr=1e+35: the loss became nan; the full-batch "
        f"stable bound for this loss is lr < {bound}"
    )
    with pytest.raises(DivergenceError, match=_exactly(message)):
        fit_ten_x(5, lr=1e35)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_mse_stable_lr_keeps_the_bias_column_for_ordinary_x() -> None:
    # x = (2, 2): A = [[2, 1], [2, 1]], H = (2/n) A^T A = [[8, 4], [4, 2]], eigenvalues 0 and
    # 10, so the bound is 2 / 10 = 0.2 (dropping the bias column would give 2 / 8).
    assert mse_stable_lr(torch.tensor([2.0, 2.0])) == pytest.approx(0.2, rel=1e-14)
    # x = 1e200 > 2**500: x^2 would overflow; the bound 2 / (2 (1e400 + 1)) underflows
    message = (
        "x is too large: the stable learning rate 2/lambda_max underflows float64 "
        "(largest |x| = 1e+200)"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        mse_stable_lr(np.array([[1e200], [-1e200]]))


@pytest.mark.claim("CORE-INPUTS")
def test_gd_from_gram_checks_g_before_its_shape() -> None:
    c, w0 = torch.zeros(2), torch.zeros(2)
    with pytest.raises(TypeError, match=_exactly("G must be a torch.Tensor, got list")):
        gd_from_gram([[1.0, 0.0], [0.0, 1.0]], c, w0, 0.1, 1)
    # a complex G is refused for its dtype even when its shape is wrong too
    with pytest.raises(
        TypeError, match=_exactly("G must be a real-valued tensor, got dtype torch.complex64")
    ):
        gd_from_gram(torch.ones(2, dtype=torch.complex64), c, w0, 0.1, 1)
    for G, shape in [(torch.ones(0, 0), "(0, 0)"), (torch.ones(2, 2, 2), "(2, 2, 2)")]:
        with pytest.raises(
            ValueError, match=_exactly(f"G must be a square non-empty matrix [k, k], got {shape}")
        ):
            gd_from_gram(G, c, w0, 0.1, 1)
    with pytest.raises(TypeError, match=_exactly("c must be a torch.Tensor, got list")):
        gd_from_gram(torch.eye(2), [0.0, 0.0], w0, 0.1, 1)


@pytest.mark.claim("CORE-GRAM")
def test_zero_steps_return_the_start_unchanged() -> None:
    # zero steps (epochs) are allowed: the weights are w0 (a copy, shaped like it), no losses
    w0 = torch.tensor([[1.5], [-2.0]], dtype=torch.float64)
    w = gd_from_gram(torch.eye(2), torch.zeros(2), w0, 0.1, 0)
    assert w.shape == (2, 1)
    assert w.tolist() == [[1.5], [-2.0]]
    w, losses = gd_from_gram(torch.eye(2), torch.zeros(2), w0, 0.1, 0, yy=1.0)
    assert w.tolist() == [[1.5], [-2.0]]
    assert losses.shape == (0,)
    X, y = torch.ones(3, 2), torch.ones(3)
    for trainer in (sgd_per_sample_fast, gd_full_batch_fast):
        w, losses = trainer(X, y, w0, 0.1, 0, history=True)
        assert w.tolist() == [[1.5], [-2.0]]
        assert losses.shape == (0,)
        assert w.data_ptr() != w0.data_ptr()
    # no pass is made with zero epochs, yet a non-finite X is still named
    with pytest.raises(ValueError, match=_exactly("X has non-finite entries (inf or nan)")):
        sgd_per_sample_fast(torch.tensor([[math.nan, 1.0]]), torch.ones(1), torch.zeros(2), 0.1, 0)


# ---------------------------------------------------------------- issue 12: regression survivors
@pytest.mark.claim("CORE-DIVERGENCE")
@pytest.mark.parametrize(("half", "c"), [(False, 2.0), (True, 1.0)])
def test_mse_stable_lr_of_two_huge_points_averages_over_the_points(half: bool, c: float) -> None:
    # x = (2**501, -2**501), n = 2, d = 1: H = c/2 [[2 * 4**501, 0], [0, 2]], so
    # lambda_max = c 4**501 and 2 / lambda_max = 2**-1001 / c: the sum of squares is divided
    # by the number of points n = 2 (not multiplied by it, nor divided by d = 1).
    big = math.ldexp(1.0, 501)
    x = torch.tensor([big, -big], dtype=torch.float64)
    assert mse_stable_lr(x, half=half) == math.ldexp(1.0, -1001) / c


@pytest.mark.claim("CORE-DIVERGENCE")
def test_mse_stable_lr_of_many_huge_points_does_not_overflow() -> None:
    # 2**21 points x = 2**501: the sum of 2 x^2 over the points, 2**21 * 2**1003, is beyond
    # float64 (2**1024), yet lambda_max = 2 mean(x^2) = 2**1003 (plus 2 for the bias) is not:
    # 2 / lambda_max = 2**-1002.
    x = torch.full((2**21,), math.ldexp(1.0, 501), dtype=torch.float64)
    assert mse_stable_lr(x) == math.ldexp(1.0, -1002)


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_mse_stable_lr_reads_every_floating_dtype_in_float64(dtype: torch.dtype) -> None:
    # x = (1, -1) is exact in every floating dtype: H = 2 I, so the bound is 1 (as in the docs),
    # returned as a Python float computed in float64, whatever the dtype of x.
    assert mse_stable_lr(torch.tensor([1.0, -1.0], dtype=dtype)) == pytest.approx(1.0, rel=1e-15)
    # (4, 4, 4): H = 2 [[16, 4], [4, 1]], eigenvalues 0 and 34, bound 2 / 34 = 1 / 17
    x = torch.tensor([4.0, 4.0, 4.0], dtype=dtype)
    assert mse_stable_lr(x, half=True) == pytest.approx(2.0 / 17.0, rel=1e-15)


@pytest.mark.claim("CORE-DIVERGENCE")
def test_mse_stable_lr_keeps_the_bias_column_for_x_in_the_thousands() -> None:
    # x = (2000, 2000): H = 2 [[x^2, x], [x, 1]] has eigenvalues 0 and 2 (x^2 + 1), so the
    # bound is 1 / (x^2 + 1) = 1 / 4000001; without the bias column it would be 1 / 4000000.
    x = torch.tensor([2000.0, 2000.0], dtype=torch.float64)
    assert mse_stable_lr(x) == pytest.approx(1.0 / 4_000_001.0, rel=1e-12, abs=0)


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("name", ["scratch", "concise"])
def test_minibatch_trainers_accept_labels_of_shape_n_by_1(name: str) -> None:
    # documented: labels of shape (n,) or (n, 1); an (n, 1) column trains exactly like the
    # flat labels it holds (restated loop as the oracle)
    trainer = {"scratch": train_linear_scratch, "concise": train_linear_concise}[name]
    oracle = {"scratch": _scratch_oracle, "concise": _concise_oracle}[name]
    gen = torch.Generator().manual_seed(11)
    X = torch.randn(12, 2, generator=gen)
    y = X @ torch.tensor([1.5, -0.5]) + 0.25
    fit = trainer(X, y.reshape(-1, 1), batch_size=5, num_epochs=2, seed=3)
    w, b, losses = oracle(X, y, 5, 0.03, 2, 3, 0.01)
    assert fit.w.shape == (2,)
    assert fit.b.shape == ()
    torch.testing.assert_close(fit.w.double(), w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fit.b.double(), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.losses, losses, rtol=1e-5)


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("batch_size", [0, -3])
def test_minibatch_trainers_refuse_a_bad_batch_size_even_with_no_epochs(batch_size: int) -> None:
    # the arguments are checked before any epoch: num_epochs = 0 does not let batch_size < 1 by
    X, y = torch.ones(4, 2), torch.ones(4)
    for train in (train_linear_scratch, train_linear_concise):
        with pytest.raises(
            ValueError, match=_exactly(f"batch_size must be >= 1, got {batch_size}")
        ):
            train(X, y, batch_size=batch_size, num_epochs=0)


@pytest.mark.claim("CORE-INPUTS")
def test_synthetic_data_names_w_for_a_bad_entry_of_a_sequence() -> None:
    with pytest.raises(TypeError, match=_exactly("w must be a real number, got str")):
        synthetic_data([1.0, "a"], 0.0, 3)
    with pytest.raises(ValueError, match=_exactly("w must be finite, got inf")):
        synthetic_data([math.inf], 0.0, 3)


@pytest.mark.claim("CORE-INPUTS")
def test_synthetic_data_reads_an_int64_tensor_w_as_the_same_list_of_numbers() -> None:
    # w is read as float64 numbers, then rounded to dtype, for a tensor as for a list:
    # v = 2**60 + 2**36 + 1 is 2**60 + 2**36 in float64 (ulp 2**8 there), a tie in float32
    # (ulp 2**37) that goes to the even 2**60; rounding v to float32 in one step would
    # give 2**60 + 2**37 instead.
    v = 2**60 + 2**36 + 1
    w32 = np.float32(np.float64(float(v)))
    assert int(w32) == 2**60
    gen = torch.Generator().manual_seed(0)
    X_expected = torch.randn(3, 1, generator=gen, dtype=torch.float32).numpy()
    for w in (torch.tensor([v], dtype=torch.int64), [v]):
        X, y = synthetic_data(w, 0.0, 3, noise_std=0.0)
        np.testing.assert_array_equal(X.numpy(), X_expected)
        np.testing.assert_array_equal(y.numpy(), X_expected[:, 0] * w32)


@pytest.mark.claim("CORE-INPUTS")
def test_fit_two_points_defaults_and_float64_arguments() -> None:
    # default: 100 epochs, one loss per epoch
    assert len(fit_two_points().losses) == 100
    # in float64, y and b0 are float64 numbers, not float32 ones: epoch 1's loss with
    # w0 = (1, 2), x = (1, 2), b0 = 0.1, y = (0.1, 0.2) is the mean of (1 + 0.1 - 0.1)^2 and
    # (4 + 0.1 - 0.2)^2, in float64
    fit = fit_two_points(1, y=(0.1, 0.2), b0=0.1, lr=1e-300, dtype=torch.float64)
    expected = ((1.0 + 0.1 - 0.1) ** 2 + (4.0 + 0.1 - 0.2) ** 2) / 2
    assert fit.losses == [pytest.approx(expected, rel=1e-15)]
    assert fit_two_points(0, b0=0.1, dtype=torch.float64).b.item() == 0.1
    assert fit_two_points(0, b0=1e300, dtype=torch.float64).b.item() == 1e300


@pytest.mark.claim("CORE-INPUTS")
def test_fit_ten_x_starts_from_w_7_b_6_and_takes_1000_steps_by_default() -> None:
    assert inspect.signature(fit_ten_x).parameters["steps"].default == 1000
    # zero steps, raw x (no standardization): the start w = 7, b = 6 comes back as it is
    fit = fit_ten_x(0)
    assert (fit.w.item(), fit.b.item(), fit.losses) == (7.0, 6.0, [])
    # one step: the loss before it is the MSE of 7 x + 6 against the data, computed by numpy
    x = np.arange(1000) * 0.1
    y = 10.0 * x + 4.0 + np.random.default_rng(0).random(1000)
    loss = fit_ten_x(1, lr=1e-9).losses[0]
    assert loss == pytest.approx(float(np.mean((7.0 * x + 6.0 - y) ** 2)), rel=1e-6)


@pytest.mark.claim("CORE-INPUTS")
def test_least_squares_test_mse_names_an_overflowing_test_error() -> None:
    # sigma = 1e200: the training targets (about 1e200) are finite, the fit's test residuals
    # are about 1e200 too and their squares (1e400) overflow float64
    message = _overflow("the test mean squared error", "torch.float64", "true_w or noise_std is")
    with pytest.raises(ValueError, match=_exactly(message)):
        least_squares_test_mse(5, [1.0], noise_std=1e200)


@pytest.mark.claim("CORE-INPUTS")
def test_least_squares_test_mse_passes_rcond_so_numpy_1_26_does_not_warn(monkeypatch) -> None:
    # pyproject allows numpy >= 1.26, whose lstsq warns (FutureWarning) and uses the old
    # cutoff rcond = -1 unless rcond is given; numpy 1.x's signature is emulated here.
    lstsq = np.linalg.lstsq

    def lstsq_numpy_1(a, b, rcond="warn"):
        if rcond == "warn":
            raise AssertionError("numpy 1.26 would warn: rcond not given (FutureWarning)")
        return lstsq(a, b, rcond=rcond)

    monkeypatch.setattr(np.linalg, "lstsq", lstsq_numpy_1)
    # noise-free with n >= d: the fit recovers w, and the test error is 0 up to rounding
    assert least_squares_test_mse(20, [1.0, -2.0], noise_std=0.0) == pytest.approx(0.0, abs=1e-20)


def _digit_features(dim: int, count: int) -> np.ndarray:
    """Rows [count, 7] in float32, restated from the bitmaps: the projection (column sums for
    dim 0, row sums for dim 1), each entry divided in turn by the running total of the vector
    as it stands (entries already divided plus those not yet), then the bias 1."""
    rows = []
    for bitmap in DIGIT_ROWS[:count]:
        image = np.array([[int(p) for p in row] for row in bitmap], dtype=np.float32)
        u = image.sum(axis=dim).astype(np.float32)
        for i in range(len(u)):
            total = np.float32(0.0)
            for value in u:
                total = np.float32(total + value)
            u[i] = np.float32(u[i] / total)
        rows.append(np.append(u, np.float32(1.0)))
    return np.array(rows, dtype=np.float32)


@pytest.mark.claim("CORE-INPUTS")
def test_train_digits_manual_default_seed_and_result_fields() -> None:
    # zero epochs: the weights are the start, torch.rand(7, 1) from a generator seeded with 0
    start = torch.rand(7, 1, generator=torch.Generator().manual_seed(0))
    result = train_digits_manual(epochs=0)
    assert torch.equal(result.initial_weights, start)
    assert torch.equal(result.weights, start)
    assert result.loss_history.shape == (0,)
    # program 1: learning rate 0.05, column projections for training and recognition,
    # trained on images 0-4
    assert (result.lr, result.train_dim, result.infer_dim) == (0.05, 0, 0)
    assert result.train_features.dtype == torch.float32
    np.testing.assert_allclose(
        result.train_features.numpy(), _digit_features(0, 5), rtol=1e-6, atol=0
    )


@pytest.mark.claim("CORE-INPUTS")
def test_train_digits_autograd_defaults_and_result_fields() -> None:
    assert inspect.signature(train_digits_autograd).parameters["steps"].default == 5000
    start = torch.rand(7, 1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(train_digits_autograd(steps=0).initial_weights, start)
    result = train_digits_autograd(steps=2)
    # the homework: lr 0.0005, rows for training (images 0-5), columns for recognition
    assert (result.lr, result.train_dim, result.infer_dim) == (0.0005, 1, 0)
    np.testing.assert_allclose(
        result.train_features.numpy(), _digit_features(1, 6), rtol=1e-6, atol=0
    )
    # loss_history: float64, step 1's loss is sum_i (x_i . w0 - i)^2 / 2 over images 0-5
    assert result.loss_history.dtype == torch.float64
    X = _digit_features(1, 6).astype(np.float64)
    w0 = start.double().numpy()[:, 0]
    expected = 0.5 * float(np.sum((X @ w0 - np.arange(6)) ** 2))
    assert result.loss_history[0].item() == pytest.approx(expected, rel=1e-6)
    # classes: int64, the predictions rounded half up and clamped to 0..9
    p = result.predictions.double().numpy()
    assert result.classes.dtype == torch.int64
    assert result.classes.tolist() == np.clip(np.floor(p + 0.5), 0, 9).astype(int).tolist()


@pytest.mark.claim("CORE-DIVERGENCE")
def test_mse_stable_lr_of_2_pow_23_points_at_2_pow_500_is_not_nan() -> None:
    # 2**23 points x = 2**500: the sum of 2 x^2 over the points is 2**1024, beyond float64,
    # although lambda_max = 2 (x^2 + 1) is not: 2 / lambda_max rounds to 2**-1000 (it was
    # nan, with an overflow in x^T x, before the fix).
    x = np.full(2**23, math.ldexp(1.0, 500))
    assert mse_stable_lr(x) == math.ldexp(1.0, -1000)


# ---------------------------------------------------------------- numbers at the boundary

_ONE = torch.ones(2, 1, dtype=torch.float64)
_Y = torch.ones(2, dtype=torch.float64)
_W = torch.zeros(1, dtype=torch.float64)


@pytest.mark.claim("CORE-INPUTS")
def test_a_learning_rate_of_exactly_float32s_largest_is_applied_and_its_blow_up_named() -> None:
    # 3.4028234663852886e+38 is float32's largest number: it is a rate float32 parameters
    # can take (not refused as out of range); one step with it sends the weights to inf and
    # the loss to nan, and that last update is caught, not returned
    largest = float(torch.finfo(torch.float32).max)
    with pytest.raises(DivergenceError) as diverged:
        fit_ten_x(lr=largest, steps=1)
    assert str(diverged.value).startswith(
        f"training diverged at the end of step 1 with lr={largest!r}: the loss became nan; "
    )


@pytest.mark.claim("CORE-INPUTS")
@pytest.mark.parametrize("lr", [10**400, -(10**400)])
def test_an_integer_beyond_floats_range_is_refused_by_name(lr: int) -> None:
    # float(10**400) raises OverflowError; the number is infinite for the check, with its sign
    with pytest.raises(ValueError, match=rf"^lr must be a finite number > 0, got {lr}$"):
        gd_full_batch(_ONE, _Y, _W, lr, 1)


@pytest.mark.claim("CORE-INPUTS")
def test_a_one_element_tensor_is_not_a_learning_rate_where_a_number_is_documented() -> None:
    for trainer in (gd_full_batch, sgd_per_sample):
        with pytest.raises(TypeError, match=r"^lr must be a real number, got Tensor$"):
            trainer(_ONE, _Y, _W, torch.tensor(0.1), 1)
