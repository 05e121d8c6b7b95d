"""Chapter 3 — gradient descent on a scalar function (claims GD-RULE, GD-TRACE, GD-OSC.*).

Oracles: exact rational arithmetic (fractions.Fraction) for the closed form
x_t = (1 - lr·c)^t · x0 of descent on f(x) = c/2 · x², the descent lemma written out in the
comments, and the IEEE-754 facts (smallest subnormal, underflow threshold) computed with
math.ldexp. The code under test is reference.descent.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.descent import REGIMES, descend, quadratic_regime
from reference.errors import DivergenceError


def parabola_grad(x):
    """f(x) = x², f'(x) = 2x (works on floats and on tensors)."""
    return 2 * x


def exact_path(x0: Fraction, lr: Fraction, curvature: Fraction, steps: int) -> list[Fraction]:
    """x_{t+1} = x_t - lr·c·x_t = (1 - lr·c)·x_t, in exact rationals."""
    path = [x0]
    for _ in range(steps):
        path.append(path[-1] * (1 - lr * curvature))
    return path


# ---------------------------------------------------------------- GD-TRACE


@pytest.mark.claim("GD-TRACE")
def test_descent_from_5_visits_4_then_3_2_then_2_56():
    # y = x², y' = 2x, lr = 1/10: x_{t+1} = x_t - (1/10)(2 x_t) = (4/5) x_t.
    # From 5: 4, 16/5 = 3.2, 64/25 = 2.56; y = x²: 25, 16, 256/25 = 10.24, 4096/625 = 6.5536.
    xs = descend(parabola_grad, 5.0, 0.1, 3)
    assert len(xs) == 4
    expected_x = [Fraction(5), Fraction(4), Fraction(16, 5), Fraction(64, 25)]
    expected_y = [Fraction(25), Fraction(16), Fraction(256, 25), Fraction(4096, 625)]
    assert [float(v) for v in expected_x] == [5.0, 4.0, 3.2, 2.56]  # the numbers as printed
    torch.testing.assert_close(
        torch.tensor(xs, dtype=torch.float64),
        torch.tensor([float(v) for v in expected_x], dtype=torch.float64),
        rtol=0,
        atol=1e-14,
    )
    torch.testing.assert_close(
        torch.tensor([x * x for x in xs], dtype=torch.float64),
        torch.tensor([float(v) for v in expected_y], dtype=torch.float64),
        rtol=0,
        atol=1e-13,
    )
    # The source's printed values: x1 = 4 (y1 = 16), x2 = 3.2 (y2 = 10.24).
    assert xs[1] == 4.0
    assert xs[1] ** 2 == 16.0
    assert xs[2] == pytest.approx(3.2, abs=1e-15)
    assert xs[2] ** 2 == pytest.approx(10.24, abs=1e-13)


@pytest.mark.claim("GD-TRACE")
def test_descent_trace_in_float32_matches_to_float32_rounding():
    xs = descend(parabola_grad, 5.0, 0.1, 3, dtype=torch.float32)
    # float32 carries about 7 significant digits: 2^-23 relative ≈ 1.2e-7 per operation.
    torch.testing.assert_close(
        torch.tensor(xs, dtype=torch.float64),
        torch.tensor([5.0, 4.0, 3.2, 2.56], dtype=torch.float64),
        rtol=1e-6,
        atol=0,
    )


@pytest.mark.claim("GD-TRACE")
def test_descend_rejects_bad_arguments():
    with pytest.raises(TypeError, match="grad must be callable"):
        descend(3.0, 5.0, 0.1, 3)
    with pytest.raises(TypeError, match="x0 must be a real number"):
        descend(parabola_grad, "5", 0.1, 3)
    with pytest.raises(ValueError, match="x0 must be finite"):
        descend(parabola_grad, math.nan, 0.1, 3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        descend(parabola_grad, 5.0, 0.0, 3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        descend(parabola_grad, 5.0, -0.1, 3)
    with pytest.raises(TypeError, match="steps must be an int"):
        descend(parabola_grad, 5.0, 0.1, 3.0)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        descend(parabola_grad, 5.0, 0.1, -1)
    with pytest.raises(TypeError, match="dtype must be None or a floating torch dtype"):
        descend(parabola_grad, 5.0, 0.1, 3, dtype=torch.int64)
    with pytest.raises(TypeError, match="grad must return a real number"):
        descend(lambda x: "2x", 5.0, 0.1, 3)
    assert descend(parabola_grad, 5.0, 0.1, 0) == [5.0]


# ---------------------------------------------------------------- GD-RULE

# Smooth test functions with a known bound L on |f''| (so f' is L-Lipschitz):
#   x²                 f'' = 2                          L = 2
#   log(1 + e^x)       f'' = s(1 - s), s = sigmoid(x)   L = 1/4
#   sin(x) + x²        f'' = 2 - sin(x)                 L = 3
#   sqrt(1 + x²)       f'' = (1 + x²)^(-3/2)            L = 1
SMOOTH = {
    "square": (lambda x: x * x, lambda x: 2 * x, 2.0),
    "softplus": (
        lambda x: math.log1p(math.exp(x)),
        lambda x: 1 / (1 + math.exp(-x)),
        0.25,
    ),
    "sin_plus_square": (lambda x: math.sin(x) + x * x, lambda x: math.cos(x) + 2 * x, 3.0),
    "hyperbola": (lambda x: math.sqrt(1 + x * x), lambda x: x / math.sqrt(1 + x * x), 1.0),
}


@pytest.mark.claim("GD-RULE")
@given(
    name=st.sampled_from(sorted(SMOOTH)),
    x0=st.floats(min_value=-5, max_value=5),
    frac=st.floats(min_value=0.01, max_value=0.99),
)
def test_a_step_against_the_derivative_lowers_f_below_two_over_L(name, x0, frac):
    f, fprime, L = SMOOTH[name]
    g = fprime(x0)
    a = frac * 2 / L  # 0 < a < 2/L
    x1 = descend(fprime, x0, a, 1)[1]
    # The step is dx = -a·g, so g·dx = -a·g² <= 0 (the first-order change).
    assert x1 - x0 == pytest.approx(-a * g, rel=1e-12, abs=1e-15)
    # Descent lemma: Taylor with remainder, |f''| <= L, gives
    #   f(x0 + dx) <= f(x0) + g·dx + (L/2)·dx² = f(x0) - a·(1 - L·a/2)·g².
    guaranteed_drop = a * (1 - L * a / 2) * g * g
    assert f(x1) <= f(x0) - guaranteed_drop + 1e-12 * (1 + abs(f(x0)))
    if abs(g) > 1e-3:
        assert f(x1) < f(x0)


@pytest.mark.claim("GD-RULE")
@given(x0=st.floats(min_value=-5, max_value=5))
def test_first_order_prediction_is_exact_to_order_a_squared(x0):
    # f(x) = sin(x) + x²: f(x0 - a·g) - [f(x0) - a·g²] = (f''(ξ)/2)·a²·g², |f''| <= 3,
    # so the error of the linear prediction shrinks like a²: halving a quarters the bound.
    f, fprime, L = SMOOTH["sin_plus_square"]
    g = fprime(x0)
    for a in (1e-1, 1e-2, 1e-3):
        x1 = descend(fprime, x0, a, 1)[1]
        linear = f(x0) - a * g * g
        assert abs(f(x1) - linear) <= L / 2 * a * a * g * g + 1e-12


@pytest.mark.claim("GD-RULE.any-a")
@pytest.mark.parametrize(
    ("lr", "y1_vs_y0"),
    [(Fraction(1, 2), "lower"), (Fraction(1), "equal"), (Fraction(11, 10), "higher")],
)
def test_on_x_squared_a_step_lowers_y_only_for_lr_below_1(lr, y1_vs_y0):
    # y = x², x1 = x0 - lr·2x0 = (1 - 2 lr) x0, y1 = (1 - 2 lr)² y0:
    #   lr = 1/2 -> 0 (lower), lr = 1 -> 25 (equal), lr = 11/10 -> (-6)² = 36 (higher).
    xs = descend(parabola_grad, 5.0, float(lr), 1)
    exact = exact_path(Fraction(5), lr, Fraction(2), 1)
    assert xs[1] == pytest.approx(float(exact[1]), abs=1e-12)
    g, dx = 2 * xs[0], xs[1] - xs[0]
    assert g * dx < 0  # the source's first-order argument predicts a decrease every time
    y0, y1 = xs[0] ** 2, xs[1] ** 2
    if y1_vs_y0 == "lower":
        assert y1 < y0
    elif y1_vs_y0 == "equal":
        assert y1 == pytest.approx(y0, abs=1e-12)  # 25 -> 25: no decrease
    else:
        assert y1 == pytest.approx(36.0, abs=1e-12)  # 25 -> 36: y went up
        assert y1 > y0


# ---------------------------------------------------------------- GD-OSC


@pytest.mark.claim("GD-OSC.lr-0.1")
@pytest.mark.parametrize("dtype", [None, torch.float32], ids=["float64", "float32"])
def test_lr_0_1_on_x_squared_never_oscillates_over_5000_steps(dtype, ledger_extra):
    steps = 5000
    xs = descend(parabola_grad, 5.0, 0.1, steps, dtype=dtype)
    # In float64 (dtype None) and float32 the squares are taken in the same precision.
    if dtype is None:
        ys = [x * x for x in xs]
        emin, mant = -1022, 53  # IEEE double
    else:
        t = torch.tensor(xs, dtype=torch.float32)
        ys = (t * t).tolist()
        emin, mant = -126, 24  # IEEE single
    tiny = math.ldexp(1.0, emin - mant + 1)  # smallest positive subnormal
    # 1) x never changes sign and never grows; y never grows: no oscillation at all.
    assert all(x > 0 for x in xs)
    assert all(b <= a for a, b in itertools.pairwise(xs))
    assert all(b <= a for a, b in itertools.pairwise(ys))
    # 2) The exact path is x_t = 5·0.8^t; the computed one follows it (0.5 ulp per step).
    for t in (1, 10, 50, 100):
        exact = float(Fraction(5) * Fraction(4, 5) ** t)
        assert xs[t] == pytest.approx(exact, rel=(t + 1) * 2.0 ** (1 - mant))
    # 3) y reaches exactly 0 when x² drops below tiny/2 (it then rounds to 0), i.e. at the
    #    first t with 5·0.8^t < sqrt(tiny/2):  t > (ln 5 - ln sqrt(tiny/2)) / -ln 0.8.
    log_sqrt_half_tiny = 0.5 * (math.log(tiny) - math.log(2))
    t_zero = math.floor((math.log(5) - log_sqrt_half_tiny) / -math.log(0.8)) + 1
    first_zero = ys.index(0.0)
    assert first_zero == t_zero
    assert all(y > 0 for y in ys[:first_zero])
    # 4) x freezes on the subnormal grid: at x = k·tiny the step 0.1·(2k·tiny) rounds to
    #    round(0.2k)·tiny, which is 0 for k <= 2 and >= 1 for k >= 3, so x ends at tiny or
    #    2·tiny and stays there; it never reaches 0 and never turns negative.
    assert xs[-1] in (tiny, 2 * tiny)
    frozen_from = next(t for t in range(1, steps + 1) if xs[t] == xs[-1])
    assert all(x == xs[-1] for x in xs[frozen_from:])
    name = "float64" if dtype is None else "float32"
    ledger_extra(f"{name}_first_step_y_is_zero", first_zero)
    ledger_extra(f"{name}_x_frozen_from_step", frozen_from)
    ledger_extra(f"{name}_x_frozen_at", xs[-1])


@pytest.mark.claim("GD-OSC.lr-0.1")
def test_lr_0_1_is_in_the_monotone_regime():
    # lr·c = 0.1·2 = 0.2 < 1: factor r = 0.8 in (0, 1).
    assert quadratic_regime(0.1) == "monotone"
    assert quadratic_regime(0.1, curvature=2.0) != "oscillating"


# (lr, regime derived from r = 1 - 2·lr, exact path for 4 steps from 5)
FOUR_RATES = [
    (Fraction(1, 10), "monotone"),  # r = 4/5
    (Fraction(1, 2), "one-step"),  # r = 0
    (Fraction(3, 5), "oscillating"),  # r = -1/5
    (Fraction(1), "cycling"),  # r = -1
    (Fraction(11, 10), "divergent"),  # r = -6/5
]


@pytest.mark.claim("GD-OSC.when")
@pytest.mark.parametrize(("lr", "regime"), FOUR_RATES, ids=[str(r[0]) for r in FOUR_RATES])
def test_regime_on_x_squared_follows_from_one_minus_2_lr(lr, regime):
    assert quadratic_regime(float(lr)) == regime
    xs = descend(parabola_grad, 5.0, float(lr), 8)
    exact = exact_path(Fraction(5), lr, Fraction(2), 8)
    torch.testing.assert_close(
        torch.tensor(xs, dtype=torch.float64),
        torch.tensor([float(v) for v in exact], dtype=torch.float64),
        rtol=1e-12,
        atol=1e-12,
    )
    signs = [math.copysign(1, x) for x in xs if x != 0]
    flips = sum(a != b for a, b in itertools.pairwise(signs))
    ys = [x * x for x in xs]
    if regime == "monotone":
        assert flips == 0
        assert all(b < a for a, b in itertools.pairwise(ys))
    elif regime == "one-step":
        assert xs[1:] == [0.0] * 8
    elif regime == "oscillating":
        assert flips == 8  # x flips sign at every step ...
        assert all(b < a for a, b in itertools.pairwise(ys))  # ... while y shrinks
    elif regime == "cycling":
        assert xs == [5.0, -5.0] * 4 + [5.0]
        assert set(ys) == {25.0}
    else:
        assert flips == 8
        assert all(b > a for a, b in itertools.pairwise(ys))


@pytest.mark.claim("GD-OSC.when")
@given(
    curvature=st.floats(min_value=0.1, max_value=10.0),
    k=st.floats(min_value=0.05, max_value=1.95),
    x0=st.floats(min_value=-10.0, max_value=10.0).filter(lambda v: abs(v) > 1e-3),
)
def test_descent_converges_for_any_lr_below_2_over_c(curvature, k, x0):
    lr = k / curvature  # lr·c = k in (0, 2)
    steps = 400
    xs = descend(lambda x: curvature * x, x0, lr, steps)
    # |x_t| = |1 - k|^t |x0| with |1 - k| <= 0.95: after 400 steps below 0.95^400·10 ≈ 1.2e-8.
    r = abs(1 - lr * curvature)
    assert abs(xs[-1]) <= (r + 1e-12) ** steps * abs(x0) + 1e-300
    assert abs(xs[-1]) < 1e-7
    assert all(abs(b) <= abs(a) for a, b in itertools.pairwise(xs))
    assert quadratic_regime(lr, curvature) in {"monotone", "one-step", "oscillating"}


@pytest.mark.claim("GD-OSC.when")
@given(
    curvature=st.floats(min_value=0.1, max_value=10.0),
    k=st.floats(min_value=2.05, max_value=4.0),
    x0=st.floats(min_value=-10.0, max_value=10.0).filter(lambda v: abs(v) > 1e-3),
)
def test_descent_grows_for_any_lr_above_2_over_c(curvature, k, x0):
    lr = k / curvature  # lr·c = k > 2, so |1 - k| >= 1.05
    xs = descend(lambda x: curvature * x, x0, lr, 60)
    assert all(abs(b) > abs(a) for a, b in itertools.pairwise(xs))
    # |x_60| = |1 - k|^60 |x0| >= 1.05^60 |x0| ≈ 18.7 |x0|
    assert abs(xs[-1]) >= 1.05**60 * abs(x0) * (1 - 1e-9)
    assert quadratic_regime(lr, curvature) == "divergent"


@pytest.mark.claim("GD-OSC.when")
def test_divergent_descent_raises_divergence_error_once_x_overflows():
    # r = -1.2: |x_t| = 5·1.2^t passes the float64 maximum (~1.8e308) after ~3900 steps.
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ with lr=1\.1"):
        descend(parabola_grad, 5.0, 1.1, 5000)


@pytest.mark.claim("GD-OSC.when")
def test_quadratic_regime_rejects_bad_arguments():
    assert REGIMES == ("monotone", "one-step", "oscillating", "cycling", "divergent")
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        quadratic_regime(0.0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        quadratic_regime(-1.0)
    with pytest.raises(ValueError, match="curvature must be a finite number > 0"):
        quadratic_regime(0.1, curvature=0.0)
    with pytest.raises(ValueError, match="curvature must be a finite number > 0"):
        quadratic_regime(0.1, curvature=-2.0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        quadratic_regime(math.inf)
    with pytest.raises(TypeError, match="lr must be a real number"):
        quadratic_regime("0.1")
    with pytest.raises(TypeError, match="curvature must be a real number"):
        quadratic_regime(0.1, curvature=None)


@pytest.mark.claim("GD-RULE")
def test_a_start_or_rate_given_as_a_tensor_must_hold_a_real_value() -> None:
    # one-element tensors are accepted for x0 and lr; a meta tensor has no value to read and
    # a complex one is not a real number
    def grad(x):
        return 2 * x

    meta = torch.tensor(1.0, device="meta")
    with pytest.raises(ValueError, match=r"^x0 is a meta tensor: it has no value$"):
        descend(grad, meta, 0.1, 2)
    with pytest.raises(ValueError, match=r"^lr is a meta tensor: it has no value$"):
        descend(grad, 1.0, meta, 2)
    with pytest.raises(TypeError, match=r"^x0 must be a real number, got a complex tensor$"):
        descend(grad, torch.tensor(1.0 + 1.0j), 0.1, 2)
    assert descend(grad, torch.tensor(5.0), torch.tensor(0.1), 2) == pytest.approx([5.0, 4.0, 3.2])
