"""The benchmarks of the training core (benchlib.py), as specs that their contenders agree.

Under ``make test`` every contender runs once at a tiny size and its result is checked
against the fast path (claim CORE-BENCH); under ``make bench`` the same tests time each
contender with pytest-benchmark. Nothing here asserts a time.
"""

from __future__ import annotations

import benchlib
import pytest

DIGITS = ["fast path", "fast path + features", "literal loop", "readable loop"]
DIGITS += ["nn.Linear + optim.SGD"]
FULL_BATCH = ["stream X.sum()", "fast path", "readable loop", "nn.Linear + optim.SGD"]
FULL_BATCH += ["scikit-learn LinearRegression"]
GRAM = ["gram: numba kernel", "gram: X.T @ X (BLAS)", "gram: column-major copy"]
GRAM += ["gram: chunks of 2^16 rows"]
GRAM += ["gram: torch.compile kernel"] if benchlib.FULL else []  # compiling takes seconds
MINIBATCH = ["data_iter", "DataLoader"]


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize("name", DIGITS)
def test_digit_program_contenders_agree(run_contender, name):
    run_contender(benchlib.digits_benchmark(), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize("n", benchlib.SIZES, ids=benchlib.size_label)
@pytest.mark.parametrize("name", FULL_BATCH)
def test_full_batch_contenders_agree(run_contender, n, name):
    run_contender(benchlib.full_batch_benchmark(n), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize(
    ("n", "name"),
    [(n, name) for n in benchlib.GRAM_SIZES for name in GRAM],
    ids=lambda value: benchlib.size_label(value) if isinstance(value, int) else value,
)
def test_gram_methods_agree(run_contender, n, name):
    run_contender(benchlib.full_batch_benchmark(n), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize("name", MINIBATCH)
def test_minibatch_contenders_visit_every_example_once(run_contender, name):
    run_contender(benchlib.minibatch_benchmark(), name)
