"""The benchmarks of the training core (benchlib.py), as specs that their contenders agree.

Under ``make test`` every contender runs once at a tiny size and its result is checked
against the fast path (claim CORE-BENCH); under ``make bench`` the same tests time each
contender with pytest-benchmark. Nothing here asserts a time.
"""

from __future__ import annotations

import benchlib
import pytest
from benchlib import PUBLIC_GD, PUBLIC_SGD, STREAM, THREADS, with_threads

DIGITS = [PUBLIC_SGD, f"{PUBLIC_SGD} + features", "internal: fast._sgd_closed_form"]
DIGITS += ["literal loop", "readable loop", "nn.Linear + optim.SGD"]
EVERY_SIZE = [with_threads(row, count) for count in THREADS for row in (STREAM, PUBLIC_GD)]
SLOW = ["readable loop", "nn.Linear + optim.SGD", "linear.least_squares"]
SLOW += ["scikit-learn LinearRegression"]
GRAM = [
    with_threads(row, count)
    for count in THREADS
    for row in ("internal: gram, numba kernel", "internal: gram, BLAS")
]
GRAM += ["internal: gram, column-major copy", "internal: gram, chunks of 2^16 rows"]
GRAM += ["internal: gram by torch.compile"] if benchlib.FULL else []  # compiling takes seconds
MINIBATCH = [benchlib.DATA_ITER, "DataLoader"]


def _size_id(value: object) -> str:
    return benchlib.size_label(value) if isinstance(value, int) else str(value)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize("name", DIGITS)
def test_digit_program_contenders_agree(run_contender, name):
    run_contender(benchlib.digits_benchmark(), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize(
    ("n", "name"),
    [(n, name) for n in benchlib.SIZES for name in EVERY_SIZE]
    + [(n, name) for n in benchlib.SLOW_SIZES for name in SLOW],
    ids=_size_id,
)
def test_full_batch_contenders_agree(run_contender, n, name):
    run_contender(benchlib.full_batch_benchmark(n), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize(
    ("n", "name"), [(n, name) for n in benchlib.GRAM_SIZES for name in GRAM], ids=_size_id
)
def test_gram_methods_agree(run_contender, n, name):
    run_contender(benchlib.full_batch_benchmark(n), name)


@pytest.mark.claim("CORE-BENCH")
@pytest.mark.parametrize("name", MINIBATCH)
def test_minibatch_contenders_visit_every_example_once(run_contender, name):
    run_contender(benchlib.minibatch_benchmark(), name)
