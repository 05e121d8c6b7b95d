"""Chapter 1 — digits and features (claims DIG-* and FEAT-*).

Oracles: the bitmaps as printed in the claims catalog (typed in again below, independently of
reference.digits), numpy, exact rational arithmetic (fractions.Fraction) and float32
arithmetic done by numpy step by step.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reference.digits import load_digits
from reference.features import (
    design_matrix,
    normalize,
    projection,
    sequential_normalize,
    with_bias,
)

# The ten bitmaps as the catalog prints them: rows top to bottom, "1" = ink.
CATALOG = {
    0: "001100 010010 010010 010010 001100 000000",
    1: "000100 001100 000100 000100 001110 000000",
    2: "001100 010010 000100 001000 011110 000000",
    3: "001100 000010 001100 000010 001100 000000",
    4: "000010 000110 001010 011111 000010 000000",
    5: "011100 010000 011100 000010 011100 000000",
    6: "001100 010000 011100 010010 001100 000000",
    7: "011110 000010 000100 000100 000100 000000",
    8: "001100 010010 001100 010010 001100 000000",
    9: "001110 010010 001110 010010 000010 000000",
}


def catalog_array(digit: int) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in CATALOG[digit].split()], dtype=np.int64)


def sequential_loop_exact(values: list[int]) -> list[Fraction]:
    """The source's in-place loop, in exact rational arithmetic (the oracle)."""
    u = [Fraction(v) for v in values]
    for i in range(len(u)):
        u[i] = u[i] / sum(u)
    return u


# ------------------------------------------------------------------------ DIG-DATA


@pytest.mark.claim("DIG-DATA")
def test_ten_images_are_the_catalog_bitmaps_with_labels_0_to_9():
    images, labels = load_digits()
    assert images.dtype == torch.int64
    assert labels.dtype == torch.int64
    assert images.shape == (10, 6, 6)
    assert labels.tolist() == list(range(10))
    for digit in range(10):
        np.testing.assert_array_equal(images[digit].numpy(), catalog_array(digit))


@pytest.mark.claim("DIG-DATA")
def test_images_are_binary_and_each_call_returns_fresh_tensors():
    images, labels = load_digits()
    assert set(images.unique().tolist()) == {0, 1}
    images.fill_(7)
    labels.zero_()
    again, again_labels = load_digits()
    np.testing.assert_array_equal(again[0].numpy(), catalog_array(0))
    assert again_labels.tolist() == list(range(10))


# ------------------------------------------------------------------------ DIG-EMPTY


@pytest.mark.claim("DIG-EMPTY")
def test_bottom_row_and_left_column_are_blank_and_only_4_touches_the_right_edge():
    images, _ = load_digits()
    assert int(images[:, 5, :].sum()) == 0  # bottom row, all ten images
    assert int(images[:, :, 0].sum()) == 0  # leftmost column, all ten images
    touching_right = [d for d in range(10) if int(images[d, :, 5].sum()) > 0]
    assert touching_right == [4]
    # Same facts straight from the catalog strings.
    assert all(CATALOG[d].split()[5] == "000000" for d in range(10))
    assert all(row[0] == "0" for d in range(10) for row in CATALOG[d].split())
    assert [d for d in range(10) if any(row[5] == "1" for row in CATALOG[d].split())] == [4]


# ------------------------------------------------------------------------ FEAT-PROJ


@pytest.mark.claim("FEAT-PROJ")
def test_projection_of_digit_0_by_hand():
    images, _ = load_digits()
    # Digit 0: column j holds ink in rows ... counted by eye from the bitmap.
    #   columns: 0 -> 0, 1 -> rows 1,2,3 = 3, 2 -> rows 0,4 = 2, 3 -> 2, 4 -> 3, 5 -> 0
    #   rows:    0 -> 2, 1 -> 2, 2 -> 2, 3 -> 2, 4 -> 2, 5 -> 0
    vertical = projection(images[0], 0)
    horizontal = projection(images[0], 1)
    assert vertical.dtype == torch.float32
    assert vertical.tolist() == [0, 3, 2, 2, 3, 0]
    assert horizontal.tolist() == [2, 2, 2, 2, 2, 0]


@pytest.mark.claim("FEAT-PROJ")
def test_projections_of_all_digits_match_numpy_sums():
    images, _ = load_digits()
    for digit in range(10):
        oracle = catalog_array(digit)
        np.testing.assert_array_equal(projection(images[digit], 0).numpy(), oracle.sum(axis=0))
        np.testing.assert_array_equal(projection(images[digit], 1).numpy(), oracle.sum(axis=1))
        assert projection(images[digit], 0).shape == (6,)


@pytest.mark.claim("FEAT-PROJ")
@given(
    image=st.integers(1, 9).flatmap(
        lambda h: st.integers(1, 9).flatmap(
            lambda w: arrays(np.int64, (h, w), elements=st.integers(0, 1))
        )
    )
)
def test_both_projections_sum_to_the_pixel_count_for_any_image(image):
    tensor = torch.from_numpy(image)
    column_sums, row_sums = projection(tensor, 0), projection(tensor, 1)
    assert column_sums.shape == (image.shape[1],)
    assert row_sums.shape == (image.shape[0],)
    assert float(column_sums.sum()) == float(row_sums.sum()) == float(image.sum())


@pytest.mark.claim("FEAT-PROJ")
@pytest.mark.parametrize(
    ("image", "dim", "error", "fragment"),
    [
        (torch.ones(6), 0, ValueError, "image must be 2-D"),
        (torch.ones(2, 6, 6), 0, ValueError, "image must be 2-D"),
        (torch.ones(6, 6), 2, ValueError, "dim must be 0"),
        (torch.ones(6, 6), -1, ValueError, "dim must be 0"),
        (torch.full((6, 6), -1.0), 0, ValueError, "negative"),
        (torch.full((6, 6), float("nan")), 0, ValueError, "non-finite"),
        ([[0, 1], [1, 0]], 0, TypeError, r"image must be a torch\.Tensor"),
    ],
)
def test_projection_rejects_bad_input_naming_the_argument(image, dim, error, fragment):
    with pytest.raises(error, match=fragment):
        projection(image, dim)


# ------------------------------------------------------------------------ FEAT-NORM


@pytest.mark.claim("FEAT-NORM.intended")
def test_normalizing_digit_0_by_its_sum():
    # [0, 3, 2, 2, 3, 0] / 10
    result = normalize(torch.tensor([0.0, 3.0, 2.0, 2.0, 3.0, 0.0]))
    torch.testing.assert_close(
        result, torch.tensor([0.0, 0.3, 0.2, 0.2, 0.3, 0.0]), rtol=0, atol=1e-7
    )


@pytest.mark.claim("FEAT-NORM.intended")
@given(arrays(np.float64, st.integers(1, 12), elements=st.floats(0, 1e6)))
def test_normalize_lands_in_unit_interval_and_sums_to_one(values):
    if values.sum() == 0:
        with pytest.raises(ValueError, match="sums to 0"):
            normalize(torch.from_numpy(values))
        return
    result = normalize(torch.from_numpy(values))
    expected = values / values.sum()
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12, atol=0)
    assert float(result.min()) >= 0.0
    assert float(result.max()) <= 1.0
    assert abs(float(result.sum()) - 1.0) < 1e-12


@pytest.mark.claim("FEAT-NORM.loop")
def test_in_place_loop_is_not_division_by_the_sum_for_digit_0():
    column_sums = [0, 3, 2, 2, 3, 0]
    # By hand: S starts at 10.
    #   u1 = 3/10;          S = 0 + 3/10 + 2 + 2 + 3 + 0 = 73/10
    #   u2 = 2/(73/10) = 20/73;   S = 3/10 + 20/73 + 2 + 3 = 4069/730
    #   u3 = 2/S = 1460/4069;     S = 3/10 + 20/73 + 1460/4069 + 3
    exact = sequential_loop_exact(column_sums)
    assert exact[1] == Fraction(3, 10)
    assert exact[2] == Fraction(20, 73)
    assert exact[3] == Fraction(1460, 4069)
    result = sequential_normalize(torch.tensor(column_sums, dtype=torch.float32))
    torch.testing.assert_close(
        result.double(),
        torch.tensor([float(f) for f in exact], dtype=torch.float64),
        rtol=1e-6,
        atol=1e-7,
    )
    # The erratum: this is not v / sum(v) ...
    assert not torch.allclose(result, torch.tensor([0.0, 0.3, 0.2, 0.2, 0.3, 0.0]), atol=1e-3)
    # ... the entries do not add up to 1 ...
    assert float(sum(exact)) > 1.6
    # ... but every entry is still in [0, 1].
    assert all(0 <= f <= 1 for f in exact)


@pytest.mark.claim("FEAT-NORM.loop")
def test_sequential_normalize_matches_float32_loop_bit_for_bit_on_every_digit():
    images, _ = load_digits()
    for digit in range(10):
        for dim in (0, 1):
            values = catalog_array(digit).sum(axis=dim).astype(np.float32)
            # The loop in numpy float32: sum left to right, divide, write back.
            u = values.copy()
            for i in range(len(u)):
                total = np.float32(0)
                for x in u:
                    total = np.float32(total + x)
                u[i] = np.float32(u[i] / total)
            result = sequential_normalize(projection(images[digit], dim))
            assert result.dtype == torch.float32
            np.testing.assert_array_equal(result.numpy(), u)


@pytest.mark.claim("FEAT-NORM.loop")
@given(st.lists(st.integers(0, 20), min_size=1, max_size=10).filter(lambda v: sum(v) > 0))
def test_in_place_loop_stays_in_unit_interval_but_misses_sum_one(values):
    exact = sequential_loop_exact(values)
    result = sequential_normalize(torch.tensor(values, dtype=torch.float64))
    np.testing.assert_allclose(result.numpy(), [float(f) for f in exact], rtol=1e-12)
    assert all(0 <= f <= 1 for f in exact)
    # It equals the true normalization exactly when at most one entry is non-zero
    # (then nothing before the last write changes the sum that later entries see).
    proper = [Fraction(v, sum(values)) for v in values]
    assert (exact == proper) == (sum(v > 0 for v in values) <= 1)


@pytest.mark.claim("FEAT-NORM.loop")
def test_sequential_normalize_leaves_its_input_alone():
    v = torch.tensor([0.0, 3.0, 2.0, 2.0, 3.0, 0.0])
    sequential_normalize(v)
    assert v.tolist() == [0.0, 3.0, 2.0, 2.0, 3.0, 0.0]


@pytest.mark.claim("FEAT-NORM.intended")
@pytest.mark.claim("FEAT-NORM.loop")
@pytest.mark.parametrize("function", [normalize, sequential_normalize])
@pytest.mark.parametrize(
    ("v", "fragment"),
    [
        (torch.zeros(6), "sums to 0"),
        (torch.tensor([1.0, -1.0, 2.0]), "negative"),
        (torch.tensor([1.0, float("inf")]), "non-finite"),
        (torch.ones(2, 3), "1-D"),
        (torch.ones(0), "empty"),
    ],
)
def test_normalizations_reject_bad_vectors(function, v, fragment):
    with pytest.raises(ValueError, match=fragment):
        function(v)


# ------------------------------------------------------------------------ FEAT-FLOAT


@pytest.mark.claim("FEAT-FLOAT")
def test_in_place_loop_on_an_integer_tensor_leaves_a_one_hot_vector():
    # Derivation: in an int64 tensor each quotient u_i / S (a float in [0, 1]) is truncated
    # when written back. u_i < S while a later entry is still positive, so it becomes 0; the
    # last positive entry equals the remaining sum and becomes 1. Digit 0's column sums
    # [0, 3, 2, 2, 3, 0] therefore turn into [0, 0, 0, 0, 1, 0].
    feature = torch.tensor([0, 3, 2, 2, 3, 0])
    for i in range(feature.shape[0]):
        feature[i] = feature[i] / sum(feature)
    assert feature.dtype == torch.int64
    assert feature.tolist() == [0, 0, 0, 0, 1, 0]


@pytest.mark.claim("FEAT-FLOAT")
def test_projection_is_already_float_so_the_trap_cannot_happen():
    images, _ = load_digits()
    for digit in range(10):
        p = projection(images[digit], 0)
        assert p.is_floating_point()
        result = sequential_normalize(p)
        assert int((result > 0).sum()) > 1  # not one-hot: fractions survived


# ------------------------------------------------------------------------ FEAT-BIAS


@pytest.mark.claim("FEAT-BIAS")
def test_bias_column_turns_1x6_into_1x7_and_the_seventh_weight_into_the_bias():
    x = torch.tensor([[0.0, 0.3, 0.2, 0.2, 0.3, 0.0]], dtype=torch.float64)
    extended = with_bias(x)
    assert extended.shape == (1, 7)
    assert extended[0, 6].item() == 1.0
    w = torch.arange(1.0, 8.0, dtype=torch.float64).view(7, 1)  # w1..w7 = 1..7
    y = extended.mm(w)
    assert y.shape == (1, 1)
    # By hand: 1*0 + 2*0.3 + 3*0.2 + 4*0.2 + 5*0.3 + 6*0 + 7 = 0.6 + 0.6 + 0.8 + 1.5 + 7 = 10.5
    assert y.item() == pytest.approx(10.5, abs=1e-12)


@pytest.mark.claim("FEAT-BIAS")
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
)
def test_with_bias_keeps_leading_dims_and_appends_a_one(shape, dtype):
    x = torch.zeros(shape, dtype=dtype)
    extended = with_bias(x)
    assert extended.shape == (*shape[:-1], shape[-1] + 1)
    assert extended.dtype == dtype
    assert bool((extended[..., -1] == 1).all())
    assert bool((extended[..., :-1] == x).all())


@pytest.mark.claim("FEAT-BIAS")
def test_with_bias_rejects_scalars_and_non_tensors():
    with pytest.raises(ValueError, match="at least one dimension"):
        with_bias(torch.tensor(1.0))
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        with_bias([1.0, 2.0])


# ------------------------------------------------------------------------ FEAT-COLLINEAR


def catalog_design(dim: int) -> np.ndarray:
    """The 10 x 7 design matrix, built with numpy from the catalog strings."""
    rows = []
    for digit in range(10):
        p = catalog_array(digit).sum(axis=dim).astype(np.float64)
        rows.append(np.append(p / p.sum(), 1.0))
    return np.array(rows)


@pytest.mark.claim("FEAT-COLLINEAR")
@pytest.mark.parametrize("dim", [0, 1])
def test_normalized_features_sum_to_the_bias_column_so_the_rank_drops(dim):
    images, _ = load_digits()
    X = design_matrix(images, dim=dim)
    assert X.dtype == torch.float64
    assert X.shape == (10, 7)
    np.testing.assert_allclose(X.numpy(), catalog_design(dim), rtol=0, atol=1e-15)
    # Each row's six features add up to 1 = the bias entry: X @ (1,1,1,1,1,1,-1) = 0.
    null_vector = np.array([1, 1, 1, 1, 1, 1, -1], dtype=np.float64)
    np.testing.assert_allclose(X.numpy() @ null_vector, np.zeros(10), atol=1e-15)
    # A second dependency: an always-empty border (left column for dim 0, bottom row for
    # dim 1) makes one feature column all zeros. So rank <= 7 - 2 = 5, and numpy finds 5.
    empty = 0 if dim == 0 else 5
    assert np.all(X.numpy()[:, empty] == 0)
    assert np.linalg.matrix_rank(X.numpy()) == 5
    # Rank-deficient: infinitely many least-squares solutions; numpy's lstsq returns the
    # minimum-norm one, which is orthogonal to the null vector.
    y = np.arange(10, dtype=np.float64)
    w_min, *_ = np.linalg.lstsq(X.numpy(), y, rcond=None)
    shifted = w_min + 3.0 * null_vector
    np.testing.assert_allclose(X.numpy() @ shifted, X.numpy() @ w_min, atol=1e-9)
    assert abs(w_min @ null_vector) < 1e-9
    assert np.linalg.norm(shifted) > np.linalg.norm(w_min)


@pytest.mark.claim("FEAT-COLLINEAR")
def test_sequential_normalization_breaks_the_collinearity():
    images, _ = load_digits()
    X = design_matrix(images, dim=0, normalization="sequential")
    row_sums = X.numpy()[:, :6].sum(axis=1)
    assert np.all(row_sums > 1.2)  # not 1: the bias is no longer the sum of the features
    # Only the empty left column remains as a dependency.
    assert np.linalg.matrix_rank(X.numpy()) == 6


@pytest.mark.claim("FEAT-COLLINEAR")
@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"normalization": "l2"}, ValueError, "normalization must be one of"),
        ({"dim": 3}, ValueError, "dim must be 0"),
        ({"images": torch.zeros(2, 6, 6)}, ValueError, r"images\[0\]: v sums to 0"),
        ({"images": torch.ones(6, 6)}, ValueError, r"images must have shape \[n, H, W\]"),
        ({"images": []}, ValueError, "images is empty"),
        ({"images": "digits"}, TypeError, "images must be a tensor"),
    ],
)
def test_design_matrix_rejects_bad_input(kwargs, error, fragment):
    arguments = {"images": load_digits()[0], **kwargs}
    with pytest.raises(error, match=fragment):
        design_matrix(**arguments)


@pytest.mark.claim("FEAT-COLLINEAR")
def test_design_matrix_defaults_to_column_sums_and_takes_a_list_of_images():
    images, _ = load_digits()
    # the default is the vertical projection (column sums), normalized properly
    np.testing.assert_allclose(design_matrix(images).numpy(), catalog_design(0), rtol=0, atol=1e-15)
    # a sequence of 2-D tensors gives the same rows as the stacked tensor, bool images too
    as_list = [images[d] for d in range(10)]
    for dim in (0, 1):
        np.testing.assert_allclose(
            design_matrix(as_list, dim=dim).numpy(), catalog_design(dim), rtol=0, atol=1e-15
        )
    bools = [images[d].bool() for d in (3, 7)]
    np.testing.assert_allclose(
        design_matrix(bools).numpy(), catalog_design(0)[[3, 7]], rtol=0, atol=1e-15
    )


@pytest.mark.claim("FEAT-COLLINEAR")
@pytest.mark.parametrize(
    ("bad", "error", "fragment"),
    [
        ("x", TypeError, r"images\[1\] must be a torch\.Tensor"),
        (torch.ones(6, 6, dtype=torch.complex64), TypeError, r"images\[1\] must be a real"),
        (torch.zeros(6, 6), ValueError, r"images\[1\]: "),
        (torch.ones(6, 5), ValueError, "images must all have the same shape"),
    ],
)
def test_design_matrix_names_the_bad_image_of_a_list(bad, error, fragment):
    images, _ = load_digits()
    with pytest.raises(error, match=fragment):
        design_matrix([images[0], bad])


@pytest.mark.claim("FEAT-NORM.intended")
def test_normalize_is_each_entry_over_the_total_to_the_last_bit():
    # the formula as written, v / sum(v), in the projection's own dtype: on the digits'
    # projections this is bit for bit what normalize returns (dividing by the largest entry
    # first, the fallback for a sum that overflows, rounds differently on 10 of them)
    images, _ = load_digits()
    for image in images:
        for dim in (0, 1):
            v = projection(image, dim)
            assert torch.equal(normalize(v), v / v.sum())


@pytest.mark.claim("FEAT-NORM.loop")
def test_the_loop_on_integer_pixels_works_in_float32():
    # integer input gives float32 (documented); written in place into an int64 copy, the
    # divisions would truncate to 0
    counts = torch.tensor([0, 3, 2, 2, 3, 0])
    got = sequential_normalize(counts)
    assert got.dtype == torch.float32
    assert torch.equal(got, sequential_normalize(counts.to(torch.float32)))
    assert got[1].item() == pytest.approx(0.3)
