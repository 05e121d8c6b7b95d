"""The benchmark suite of the training core: contenders, ratios, report and regression gate.

Three benchmarks, each a set of *contenders* that do the same work (their results are
checked against each other, claim CORE-BENCH) and are timed in the same run. Rows that stand
for a user action call the public function with default arguments (``kind="public"``);
paths inside the library are labelled ``internal:``.

1. ``digits``: the digit program (7 weights, 5 samples, lr 0.05, 3000 epochs of per-sample
   SGD): public ``training.sgd_per_sample`` against a literal per-element loop as the
   material writes it, its readable loop (``method="loop"``), nn.Linear + optim.SGD.
2. ``fullbatch-n1e3`` ... ``fullbatch-n1e8``: 1000 full-batch GD steps on the summed squared
   loss, k = 3 (two features and the bias): public ``training.gd_full_batch`` and one
   streaming read of (X, y) (the memory-bandwidth floor) at 1 and 2 threads (torch and numba
   thread counts), and up to n = 10^7 the readable loop, nn.Linear + optim.SGD,
   ``linear.least_squares``, scikit-learn's closed form, and the ways of computing the Gram
   matrix (internal rows).
3. ``minibatch``: one epoch at batch size 10 over n = 10^5: public ``data_iter`` vs
   DataLoader.

Slow contenders run for fewer epochs (steps) and their time is scaled up (``scale``): every
epoch (step) does the same work, so the time is linear in their number.

Times are the *minimum* over rounds (noise on these shared machines only ever adds time)
times ``scale``. Ratios are time(other) / time(reference), all "higher is better", so the
gate has one rule: a gated ratio fails when it is below its target or more than 30% below
the committed baseline.

Command line (the first two are used by the Makefile)::

    python spec_tests/benchmarks/benchlib.py report RAW.json OUT.json [COPY.json ...]
    python spec_tests/benchmarks/benchlib.py check OUT.json BASELINE.json
    python spec_tests/benchmarks/benchlib.py baseline BASELINE.json RUN.json [RUN.json ...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: ``GRADSPEC_BENCH=full`` (set by ``make bench``): real sizes, timed by pytest-benchmark.
#: Anything else (``make test``): tiny sizes, each contender run once as a plain test.
FULL = os.environ.get("GRADSPEC_BENCH", "") == "full"

COMMAND = "make bench"
TOLERANCE = 0.30  # a gated ratio may fall at most 30% below its baseline

DIGIT_EPOCHS = 3000
DIGIT_LR = 0.05
GD_STEPS = 1000
SIZES = [10**3, 10**4, 10**5, 10**6, 10**7, 10**8] if FULL else [10**3]
#: sizes at which the slow contenders also run (10^8 rows, 3.2 GB, is for the public call
#: and the stream only)
SLOW_SIZES = [n for n in SIZES if n <= 10**7]
GRAM_SIZES = [n for n in SIZES if 10**6 <= n <= 10**7] if FULL else SIZES
#: thread counts of the thread columns (torch.set_num_threads and numba.set_num_threads)
THREADS = [1, 2]
#: contenders without a thread column run with this many threads (the machine's default)
DEFAULT_THREADS = 2
MINIBATCH_N = 10**5 if FULL else 10**3
MINIBATCH_BATCH = 10

PUBLIC_SGD = "training.sgd_per_sample"
PUBLIC_GD = "training.gd_full_batch"
STREAM = "one read of (X, y)"
DATA_ITER = "training.data_iter"


# ---------------------------------------------------------------------- threads
@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Run the body with ``count`` threads in torch and in numba (restored afterwards)."""
    from reference.training import _gram_numba

    numba = _gram_numba.numba_module()
    before = torch.get_num_threads()
    numba_before = numba.get_num_threads() if numba is not None else None
    torch.set_num_threads(count)
    if numba is not None:
        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if numba is not None:
            numba.set_num_threads(numba_before)


def with_threads(row: str, count: int) -> str:
    """The contender name of ``row`` timed with ``count`` threads."""
    return f"{row} [{count} thread{'s' if count > 1 else ''}]"


# ---------------------------------------------------------------------- contenders
@dataclass
class Contender:
    """One way of doing a benchmark's work.

    ``run`` does the timed work; ``scale`` converts its time to the full work (slow
    contenders do a fraction of it); ``check(result)`` raises AssertionError when the
    result is not the benchmark's answer; ``rounds`` is how often ``make bench`` times it;
    ``threads`` is the thread count it runs with, ``row`` its name without the thread
    count, ``kind`` ``"public"`` (what a user calls, default arguments), ``"internal"``
    (a path inside the library) or ``"baseline"`` (something else, for comparison).
    """

    name: str
    run: Callable[[], Any]
    check: Callable[[Any], None]
    scale: float = 1.0
    rounds: int = 5
    note: str = ""
    pair: str = ""  # time this contender interleaved with that one, round by round
    threads: int = DEFAULT_THREADS
    row: str = ""
    kind: str = "baseline"

    def __post_init__(self) -> None:
        self.row = self.row or self.name


@dataclass
class Benchmark:
    group: str
    title: str
    contenders: dict[str, Contender] = field(default_factory=dict)

    def add(self, contender: Contender) -> None:
        self.contenders[contender.name] = contender


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float, what: str) -> None:
    got = got.detach().to(torch.float64).flatten()
    expected = expected.detach().to(torch.float64).flatten()
    scale = float(expected.abs().max())
    torch.testing.assert_close(got, expected, rtol=rtol, atol=rtol * scale, msg=lambda m: what + m)


# --- 1. the digit program ------------------------------------------------------------
def literal_digit_program(weights: torch.Tensor, epochs: int) -> torch.Tensor:
    """Program 1 as the material writes it: features recomputed for every sample, the
    in-place normalization with the builtin ``sum``, weights updated one element at a time
    (float32). ``weights`` [7, 1] is updated in place and returned."""
    from reference.digits import load_digits

    images, _ = load_digits()
    for _ in range(epochs):
        loss = 0
        for i in range(5):
            f = torch.sum(images[i], 0).float()
            for j in range(f.shape[0]):
                f[j] = f[j] / sum(f)
            feature = f.view(1, 6)
            y = torch.cat((feature, torch.tensor(1.0).view(1, 1)), 1).mm(weights)
            loss += 0.5 * (y.item() - i) ** 2
            feature = feature.view(6)
            for j in range(6):
                weights[j, 0] = weights[j, 0] - (y.item() - i) * feature[j] * DIGIT_LR
            weights[6, 0] = weights[6, 0] - (y.item() - i) * DIGIT_LR
    return weights


def nn_linear_per_sample(X: torch.Tensor, y: torch.Tensor, w0: torch.Tensor, epochs: int):
    """nn.Linear(k - 1, 1) + optim.SGD, one sample per step, loss 0.5 (x.w + b - y)^2."""
    k = X.shape[1]
    with torch.random.fork_rng():  # its random init (overwritten below) leaves no trace
        model = torch.nn.Linear(k - 1, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(w0[: k - 1].reshape(1, k - 1))
        model.bias.copy_(w0[k - 1 :].reshape(1))
    optimizer = torch.optim.SGD(model.parameters(), lr=DIGIT_LR)
    features, targets = X[:, : k - 1], y.reshape(-1, 1)
    for _ in range(epochs):
        for i in range(X.shape[0]):
            optimizer.zero_grad()
            loss = 0.5 * ((model(features[i : i + 1]) - targets[i : i + 1]) ** 2).sum()
            loss.backward()
            optimizer.step()
    return torch.cat([model.weight.detach().flatten(), model.bias.detach()])


@functools.cache
def digits_benchmark() -> Benchmark:
    from reference.digits import load_digits
    from reference.features import design_matrix
    from reference.training import fast, sgd_per_sample

    images, labels = load_digits()
    X = design_matrix(images[:5], dim=0, normalization="sequential")
    y = labels[:5].to(torch.float64)
    w0 = torch.rand(7, 1, generator=torch.Generator().manual_seed(0))

    def fast_at(epochs: int) -> torch.Tensor:
        return fast.sgd_per_sample_fast(X, y, w0, DIGIT_LR, epochs)

    bench = Benchmark("digits", "Digit program: 7 weights, 5 samples, 3000 epochs")
    bench.add(
        Contender(
            PUBLIC_SGD,
            lambda: sgd_per_sample(X, y, w0, DIGIT_LR, DIGIT_EPOCHS),
            lambda w: _close(w, fast_at(DIGIT_EPOCHS), 0.0, "sgd_per_sample: "),
            rounds=200,
            kind="public",
            note="sgd_per_sample(X, y, w0, lr, 3000), default arguments: validation, then "
            "the epoch map and its powers",
        )
    )
    bench.add(
        Contender(
            f"{PUBLIC_SGD} + features",
            lambda: sgd_per_sample(
                design_matrix(images[:5], dim=0, normalization="sequential"),
                y,
                w0,
                DIGIT_LR,
                DIGIT_EPOCHS,
            ),
            lambda w: _close(w, fast_at(DIGIT_EPOCHS), 1e-12, "+ features: "),
            rounds=50,
            kind="public",
            note="the same, building the features from the images first (design_matrix)",
        )
    )
    bench.add(
        Contender(
            "internal: fast._sgd_closed_form",
            lambda: fast._sgd_closed_form(X, y, w0.reshape(7), w0.shape, DIGIT_LR, 3000, False),
            lambda w: _close(w, fast_at(DIGIT_EPOCHS), 0.0, "internal: "),
            rounds=200,
            kind="internal",
            note="the closed form without the boundary checks (what the public call adds "
            "is the difference)",
        )
    )
    literal_epochs = 60 if FULL else 2
    bench.add(
        Contender(
            "literal loop",
            lambda: literal_digit_program(w0.clone(), literal_epochs),
            # float32 arithmetic against the float64 fast path
            lambda w: _close(w, fast_at(literal_epochs), 1e-4, "literal loop: "),
            scale=DIGIT_EPOCHS / literal_epochs,
            rounds=5,
            note=f"per-element float32 loop as the material writes it, {literal_epochs} "
            "epochs, time scaled",
        )
    )
    readable_epochs = DIGIT_EPOCHS if FULL else 3
    bench.add(
        Contender(
            "readable loop",
            lambda: sgd_per_sample(X, y, w0, DIGIT_LR, readable_epochs, method="loop"),
            lambda w: _close(w, fast_at(readable_epochs), 1e-9, "readable loop: "),
            scale=DIGIT_EPOCHS / readable_epochs,
            rounds=3,
            kind="public",
            note="sgd_per_sample(..., method='loop'): the per-sample update written out",
        )
    )
    nn_epochs = 300 if FULL else 2
    bench.add(
        Contender(
            "nn.Linear + optim.SGD",
            lambda: nn_linear_per_sample(X, y, w0, nn_epochs),
            lambda w: _close(w, fast_at(nn_epochs), 1e-9, "nn.Linear: "),
            scale=DIGIT_EPOCHS / nn_epochs,
            rounds=3,
            note=f"one optimizer step per sample, float64, {nn_epochs} epochs, time scaled",
        )
    )
    return bench


# --- 2. full-batch GD ----------------------------------------------------------------
def size_label(n: int) -> str:
    return f"n1e{round(math.log10(n))}"


def nn_linear_full_batch(X, y, w0, lr: float, steps: int) -> torch.Tensor:
    """nn.Linear(2, 1) + optim.SGD on the summed loss 0.5 sum (x.w + b - y)^2."""
    with torch.random.fork_rng():  # its random init (overwritten below) leaves no trace
        model = torch.nn.Linear(2, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(w0[:2].reshape(1, 2))
        model.bias.copy_(w0[2:])
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    features, targets = X[:, :2], y.reshape(-1, 1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * ((model(features) - targets) ** 2).sum()
        loss.backward()
        optimizer.step()
    return torch.cat([model.weight.detach().flatten(), model.bias.detach()])


def _steps_note(steps: int) -> str:
    return f"{steps} steps" + (", time scaled" if steps < GD_STEPS else "")


@functools.cache
def full_batch_data(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """X = [x1, x2, 1] (x ~ N(0, 1)), y = X (2, -3.4, 4.2) + N(0, 0.01^2), w0 = 0, and
    lr = 1 / lambda_max(X^T X) (numpy's eigenvalues, not timed)."""
    generator = torch.Generator().manual_seed(n)
    X = torch.ones(n, 3, dtype=torch.float64)
    X[:, :2] = torch.randn(n, 2, dtype=torch.float64, generator=generator)
    y = X @ torch.tensor([2.0, -3.4, 4.2], dtype=torch.float64)
    y += 0.01 * torch.randn(n, dtype=torch.float64, generator=generator)
    G = (X.T @ X).numpy()
    lr = 1.0 / float(np.linalg.eigvalsh(G)[-1])
    return X, y, torch.zeros(3, dtype=torch.float64), lr


def _scaled_steps(n: int, cost_per_row_step: float = 1.0) -> int:
    """Steps the slow loops actually run (their time is scaled to GD_STEPS)."""
    if not FULL:
        return 20
    budget = 3e7 / cost_per_row_step  # about a second of row-steps
    return int(max(5, min(GD_STEPS, budget // n)))


def _nine_sums(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The k(k+1)/2 + k sums of products, for torch.compile to fuse into one loop."""
    k = X.shape[1]
    cols = [X[:, i] for i in range(k)]
    sums = [(cols[i] * cols[j]).sum() for i in range(k) for j in range(i, k)]
    return torch.stack(sums + [(cols[i] * y).sum() for i in range(k)])


@functools.cache
def _compiled_nine_sums() -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return torch.compile(_nine_sums, dynamic=True, fullgraph=True)


def compiled_gram(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """G and c from a single-pass kernel generated by torch.compile (an option measured,
    not chosen: inductor emits one serial scalar loop for these nine reductions)."""
    sums = _compiled_nine_sums()(X, y)
    k = X.shape[1]
    rows, cols = torch.triu_indices(k, k)
    G = torch.empty(k, k, dtype=torch.float64)
    G[rows, cols] = sums[: rows.numel()]
    G[cols, rows] = sums[: rows.numel()]
    return G, sums[rows.numel() :]


def one_read(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One streaming read of X and y (two sums): the floor for anything that reads both."""
    return X.sum(), y.sum()


@functools.cache
def full_batch_benchmark(n: int) -> Benchmark:
    from reference.linear import least_squares
    from reference.training import fast, gd_full_batch

    X, y, w0, lr = full_batch_data(n)
    bench = Benchmark(f"fullbatch-{size_label(n)}", f"Full-batch GD, n = {n:,}, k = 3, 1000 steps")

    @functools.cache
    def fast_at(steps: int) -> torch.Tensor:
        G, c = fast.gram(X, y, method="blas")
        return fast.gd_from_gram(G, c, w0, lr, steps)

    def nothing(_: Any) -> None:
        return None

    for count in THREADS:  # the thread columns: the read, the public call, the kernels
        bench.add(
            Contender(
                with_threads(STREAM, count),
                lambda: one_read(X, y),
                nothing,
                rounds=100 if n < 10**8 else 10,
                threads=count,
                row=STREAM,
                note="X.sum() and y.sum(): the floor for anything that reads the data",
            )
        )
        bench.add(
            Contender(
                with_threads(PUBLIC_GD, count),
                lambda: gd_full_batch(X, y, w0, lr, GD_STEPS),
                lambda w: _close(w, fast_at(GD_STEPS), 1e-9, "gd_full_batch: "),
                rounds=100 if n < 10**8 else 10,
                note="gd_full_batch(X, y, w0, lr, 1000), default arguments: validation, one "
                "pass for (G, c), T^1000 by repeated squaring",
                pair=with_threads(STREAM, count),
                threads=count,
                row=PUBLIC_GD,
                kind="public",
            )
        )
    if n not in SLOW_SIZES:
        return bench
    steps = _scaled_steps(n, 3.0)
    bench.add(
        Contender(
            "readable loop",
            lambda: gd_full_batch(X, y, w0, lr, steps, method="loop"),
            lambda w: _close(w, fast_at(steps), 1e-6, "readable loop: "),
            scale=GD_STEPS / steps,
            rounds=3,
            kind="public",
            note=f"gd_full_batch(..., method='loop'): w -= X^T (lr (X w - y)); "
            f"{_steps_note(steps)}",
        )
    )
    nn_steps = _scaled_steps(n, 6.0)
    bench.add(
        Contender(
            "nn.Linear + optim.SGD",
            lambda: nn_linear_full_batch(X, y, w0, lr, nn_steps),
            lambda w: _close(w, fast_at(nn_steps), 1e-6, "nn.Linear: "),
            scale=GD_STEPS / nn_steps,
            rounds=3,
            note=f"forward, summed loss, backward, step; float64; {_steps_note(nn_steps)}",
        )
    )
    # after 1000 steps at lr = 1 / lambda_max GD has converged to the least-squares solution
    bench.add(
        Contender(
            "linear.least_squares",
            lambda: least_squares(X, y),
            lambda w: _close(w, fast_at(GD_STEPS), 1e-6, "least_squares: "),
            rounds=3,
            kind="public",
            note="least_squares(X, y), default arguments: the SVD solution GD converges to",
        )
    )

    def sklearn_fit() -> torch.Tensor:
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(X[:, :2].numpy(), y.numpy())
        return torch.tensor([*model.coef_, model.intercept_], dtype=torch.float64)

    bench.add(
        Contender(
            "scikit-learn LinearRegression",
            sklearn_fit,
            lambda w: _close(w, fast_at(GD_STEPS), 1e-6, "scikit-learn: "),
            rounds=3,
            note="closed-form least squares (for reference: what GD converges to)",
        )
    )
    if n in GRAM_SIZES:
        G0, c0 = X.T @ X, X.T @ y

        def gram_check(result: tuple[torch.Tensor, torch.Tensor]) -> None:
            _close(result[0], G0, 1e-10, "gram G: ")
            _close(result[1], c0, 1e-10, "gram c: ")

        def column_major() -> tuple[torch.Tensor, torch.Tensor]:
            columns = X.T.contiguous()
            return columns @ columns.T, columns @ y

        def chunked(rows: int = 1 << 16) -> tuple[torch.Tensor, torch.Tensor]:
            G = torch.zeros(3, 3, dtype=torch.float64)
            c = torch.zeros(3, dtype=torch.float64)
            for start in range(0, n, rows):
                block = X[start : start + rows]
                G += block.T @ block
                c += block.T @ y[start : start + rows]
            return G, c

        stream = with_threads(STREAM, DEFAULT_THREADS)
        if FULL:  # torch.compile takes seconds: only under `make bench`, compiled untimed
            compiled_gram(X, y)
            bench.add(
                Contender(
                    "internal: gram by torch.compile",
                    lambda: compiled_gram(X, y),
                    gram_check,
                    rounds=20,
                    note="inductor (measured, not used)",
                    pair=stream,
                    kind="internal",
                )
            )
        for count in THREADS:
            for row, method, note in (
                ("internal: gram, numba kernel", "numba", "fast.gram(method='numba'): used"),
                ("internal: gram, BLAS", "blas", "fast.gram(method='blas'): the fallback"),
            ):
                bench.add(
                    Contender(
                        with_threads(row, count),
                        functools.partial(fast.gram, X, y, method=method),
                        gram_check,
                        rounds=20,
                        note=note,
                        pair=with_threads(STREAM, count),
                        threads=count,
                        row=row,
                        kind="internal",
                    )
                )
        for name, run, note in (
            ("internal: gram, column-major copy", column_major, "copy, then 9 dot products"),
            ("internal: gram, chunks of 2^16 rows", chunked, "in-cache blocks, GEMM per block"),
        ):
            bench.add(
                Contender(name, run, gram_check, rounds=20, note=note, pair=stream, kind="internal")
            )
    return bench


# --- 3. minibatches ------------------------------------------------------------------
@functools.cache
def minibatch_data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(MINIBATCH_N, 2, generator=generator)
    labels = torch.arange(MINIBATCH_N, dtype=torch.float32).reshape(-1, 1)  # example ids
    return features, labels


def _epoch(batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    seen = [yb for _, yb in batches]
    return torch.cat(seen).flatten()


def _every_example_once(ids: torch.Tensor) -> None:
    expected = torch.arange(MINIBATCH_N, dtype=torch.float32)
    assert torch.equal(torch.sort(ids).values, expected), "an epoch must visit every example once"


@functools.cache
def minibatch_benchmark() -> Benchmark:
    features, labels = minibatch_data()
    bench = Benchmark("minibatch", f"One epoch of minibatches of 10, n = {MINIBATCH_N:,}")

    def data_iter_epoch() -> torch.Tensor:
        from reference.training import data_iter

        return _epoch(data_iter(MINIBATCH_BATCH, features, labels, seed=0))

    def dataloader_epoch() -> torch.Tensor:
        from torch.utils.data import DataLoader, TensorDataset

        loader = DataLoader(
            TensorDataset(features, labels),
            batch_size=MINIBATCH_BATCH,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
        )
        return _epoch(loader)

    bench.add(
        Contender(
            DATA_ITER,
            data_iter_epoch,
            _every_example_once,
            rounds=10,
            kind="public",
            note="data_iter(10, features, labels, seed=0): one randperm, one gather, slices",
        )
    )
    bench.add(
        Contender(
            "DataLoader",
            dataloader_epoch,
            _every_example_once,
            rounds=5,
            note="DataLoader(TensorDataset, batch_size=10, shuffle=True)",
            pair=DATA_ITER,  # the gated ratio, timed round by round
        )
    )
    return bench


def all_benchmarks() -> list[Callable[[], Benchmark]]:
    """Builders of every benchmark (lazy: data are made when a benchmark first runs)."""
    builders: list[Callable[[], Benchmark]] = [digits_benchmark]
    builders += [functools.partial(full_batch_benchmark, n) for n in SIZES]
    builders.append(minibatch_benchmark)
    return builders


# ---------------------------------------------------------------------- ratios
GRAM_CONTENDERS = [
    with_threads("internal: gram, numba kernel", DEFAULT_THREADS),
    with_threads("internal: gram, BLAS", DEFAULT_THREADS),
    "internal: gram by torch.compile",
    "internal: gram, column-major copy",
    "internal: gram, chunks of 2^16 rows",
]

#: one read / public gd_full_batch must be at least this (the call costs at most 1/x reads)
READ_TARGETS = {10**6: 1 / 2.0, 10**7: 1 / 1.5}


@dataclass(frozen=True)
class Ratio:
    """time(slow) / time(fast) within one group: how many times faster ``fast`` is."""

    name: str
    group: str
    slow: str
    fast: str
    target: float | None  # gated when not None: the ratio must be >= target
    label: str


def _ratios() -> list[Ratio]:
    ratios = [
        Ratio(
            "digits.literal/public",
            "digits",
            "literal loop",
            PUBLIC_SGD,
            1e4,
            "public sgd_per_sample vs the literal per-element loop",
        ),
        Ratio(
            "digits.literal/public+features",
            "digits",
            "literal loop",
            f"{PUBLIC_SGD} + features",
            None,
            "public sgd_per_sample, features included, vs the literal loop",
        ),
        Ratio(
            "digits.readable/public",
            "digits",
            "readable loop",
            PUBLIC_SGD,
            None,
            "public sgd_per_sample vs its readable loop (method='loop')",
        ),
        Ratio(
            "digits.nn/public",
            "digits",
            "nn.Linear + optim.SGD",
            PUBLIC_SGD,
            None,
            "public sgd_per_sample vs nn.Linear + optim.SGD",
        ),
        Ratio(
            "digits.public/internal",
            "digits",
            PUBLIC_SGD,
            "internal: fast._sgd_closed_form",
            None,
            "the closed form alone vs the public call (the cost of the boundary checks)",
        ),
    ]
    for n in [10**3, 10**4, 10**5, 10**6, 10**7, 10**8]:
        group = f"fullbatch-{size_label(n)}"
        for count in THREADS:
            ratios.append(
                Ratio(
                    f"{group}.read/public@{count}t",
                    group,
                    with_threads(STREAM, count),
                    with_threads(PUBLIC_GD, count),
                    READ_TARGETS.get(n),
                    f"one read of (X, y) / public gd_full_batch, {count} thread"
                    + ("s" if count > 1 else "")
                    + (
                        f" (>= {READ_TARGETS[n]:.3g}: at most {1 / READ_TARGETS[n]:g} reads)"
                        if n in READ_TARGETS
                        else ""
                    ),
                )
            )
        if n > 10**7:
            continue
        public = with_threads(PUBLIC_GD, DEFAULT_THREADS)
        ratios += [
            Ratio(
                f"{group}.nn/public",
                group,
                "nn.Linear + optim.SGD",
                public,
                1e3 if n >= 10**6 else None,
                "public gd_full_batch vs nn.Linear + optim.SGD",
            ),
            Ratio(
                f"{group}.readable/public",
                group,
                "readable loop",
                public,
                None,
                "public gd_full_batch vs its readable loop (method='loop')",
            ),
            Ratio(
                f"{group}.least_squares/public",
                group,
                "linear.least_squares",
                public,
                None,
                "public gd_full_batch vs least_squares (SVD)",
            ),
            Ratio(
                f"{group}.sklearn/public",
                group,
                "scikit-learn LinearRegression",
                public,
                None,
                "public gd_full_batch vs scikit-learn's closed form",
            ),
        ]
    for n in [10**6, 10**7]:
        group = f"fullbatch-{size_label(n)}"
        gram_rows = [*GRAM_CONTENDERS, with_threads("internal: gram, numba kernel", 1)]
        gram_rows.append(with_threads("internal: gram, BLAS", 1))
        for method in gram_rows:
            count = 1 if method.endswith("[1 thread]") else DEFAULT_THREADS
            ratios.append(
                Ratio(
                    f"{group}.read/{method.removeprefix('internal: ')}",
                    group,
                    with_threads(STREAM, count),
                    method,
                    None,
                    f"one read of (X, y) / {method}",
                )
            )
    ratios.append(
        Ratio(
            "minibatch.dataloader/data_iter",
            "minibatch",
            "DataLoader",
            DATA_ITER,
            20.0,
            "public data_iter vs DataLoader",
        )
    )
    return ratios


RATIOS: list[Ratio] = _ratios()
TARGETS: dict[str, float] = {r.name: r.target for r in RATIOS if r.target is not None}


def compute_ratios(times: dict[str, dict[str, float]]) -> dict[str, float]:
    """Every ratio whose two contenders were timed: {name: time(slow) / time(fast)}."""
    out = {}
    for ratio in RATIOS:
        group = times.get(ratio.group, {})
        if ratio.slow in group and ratio.fast in group and group[ratio.fast] > 0:
            out[ratio.name] = group[ratio.slow] / group[ratio.fast]
    return out


def gate(
    current: dict[str, float],
    baseline: dict[str, float],
    targets: dict[str, float] | None = None,
    tolerance: float = TOLERANCE,
) -> list[str]:
    """The regression gate: one line per gated ratio that fails, empty when all pass.

    A ratio (time of the slow contender / time of the fast one, higher is better) fails
    when it is missing, below its target, or below ``(1 - tolerance)`` times its baseline.
    Ratios are compared, never bare times: both contenders ran on the same machine, in the
    same run.

    Example:
        >>> gate({"a": 9.0}, {"a": 10.0}, {"a": 5.0})
        []
        >>> gate({"a": 6.0}, {"a": 10.0}, {"a": 5.0})
        ['a: 6 is more than 30% below the baseline 10 (floor 7)']
    """
    targets = TARGETS if targets is None else targets
    problems = []
    for name in sorted(set(targets) | set(baseline)):
        value = current.get(name)
        if value is None or not math.isfinite(value):
            problems.append(f"{name}: not measured")
            continue
        target = targets.get(name)
        if target is not None and value < target:
            problems.append(f"{name}: {value:.4g} is below its target {target:.4g}")
        reference = baseline.get(name)
        if reference is not None and value < (1 - tolerance) * reference:
            problems.append(
                f"{name}: {value:.4g} is more than {tolerance:.0%} below the baseline "
                f"{reference:.4g} (floor {(1 - tolerance) * reference:.4g})"
            )
    return problems


# ---------------------------------------------------------------------- timing
def time_contender(contender: Contender, rounds: int | None = None) -> float:
    """Minimum wall time of ``contender.run`` over ``rounds`` (after one warm-up), scaled.

    Used by the gate's own spec; ``make bench`` times with pytest-benchmark instead.
    """
    contender.run()
    best = math.inf
    for _ in range(rounds or contender.rounds):
        start = time.perf_counter()
        contender.run()
        best = min(best, time.perf_counter() - start)
    return best * contender.scale


def time_interleaved(first: Contender, second: Contender, rounds: int) -> tuple[float, float]:
    """Minimum times of two contenders timed alternately, round by round (scaled).

    Both then see the same moments of a noisy machine, so their ratio is far steadier than
    the ratio of two minima taken a minute apart.
    """
    first.run()
    second.run()
    best = [math.inf, math.inf]
    for _ in range(rounds):
        for index, contender in enumerate((first, second)):
            start = time.perf_counter()
            contender.run()
            best[index] = min(best[index], time.perf_counter() - start)
    return best[0] * first.scale, best[1] * second.scale


# ---------------------------------------------------------------------- report
def times_from_pytest_benchmark(
    raw: dict[str, Any], pairs: dict[str, dict[tuple[str, str], dict[str, Any]]] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """{group: {contender: {...}}} from a ``--benchmark-json`` file.

    Interleaved timings recorded by a contender with a ``pair`` are collected into
    ``pairs`` ({group: {(contender, other): {"self", "other", "rounds", "with"}}}).
    """
    pairs = {} if pairs is None else pairs
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in raw.get("benchmarks", []):
        extra = entry.get("extra_info", {})
        group, name = extra.get("group"), extra.get("contender")
        if not group or not name:
            continue
        stats = entry["stats"]
        scale = float(extra.get("scale", 1.0))
        if "paired" in extra:
            pairs.setdefault(group, {})[(name, extra["paired"]["with"])] = extra["paired"]
        out.setdefault(group, {})[name] = {
            "row": extra.get("row", name),
            "threads": extra.get("threads"),
            "kind": extra.get("kind", ""),
            "seconds": stats["min"] * scale,
            "min": stats["min"],
            "median": stats["median"],
            "rounds": stats["rounds"],
            "scale": scale,
            "note": extra.get("note", ""),
            "title": extra.get("title", group),
        }
    return out


def build_report(raw: dict[str, Any], command: str = COMMAND) -> dict[str, Any]:
    """The JSON that ``make bench`` writes: machine, versions, times, ratios, targets."""
    pairs: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    times = times_from_pytest_benchmark(raw, pairs)
    seconds = {g: {c: v["seconds"] for c, v in cs.items()} for g, cs in times.items()}
    values = compute_ratios(seconds)
    interleaved = set()
    for ratio in RATIOS:  # a ratio of two contenders timed round by round uses that timing
        for (one, other), pair in pairs.get(ratio.group, {}).items():
            if {one, other} == {ratio.slow, ratio.fast} and pair["self"] > 0:
                slow, fast = (
                    (pair["other"], pair["self"])
                    if one == ratio.fast
                    else (pair["self"], pair["other"])
                )
                values[ratio.name] = slow / fast
                interleaved.add(ratio.name)
    ratios = {
        r.name: {
            "value": values[r.name],
            "target": r.target,
            "slow": r.slow,
            "fast": r.fast,
            "group": r.group,
            "label": r.label,
            "interleaved": r.name in interleaved,
            "meets_target": None if r.target is None else values[r.name] >= r.target,
        }
        for r in RATIOS
        if r.name in values
    }
    machine = raw.get("machine_info", {})
    from reference.training import _gram_numba

    numba = _gram_numba.numba_module()
    return {
        "schema": 1,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "benchmark_datetime": raw.get("datetime"),
        "command": command,
        "machine": {
            "node": machine.get("node"),
            "cpu": machine.get("cpu", {}).get("brand_raw"),
            "cores": machine.get("cpu", {}).get("count"),
            "system": f"{machine.get('system', '')} {machine.get('release', '')}".strip(),
            "python": machine.get("python_version", platform.python_version()),
        },
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "torch_threads": torch.get_num_threads(),
            "thread_columns": THREADS,
            "pytest_benchmark": raw.get("version"),
            "numba": None if numba is None else numba.__version__,
        },
        "statistic": "minimum over rounds, times scale",
        "times": times,
        "ratios": ratios,
        "tolerance": TOLERANCE,
        "pytest_benchmark": raw,  # the raw --benchmark-json output, machine_info included
    }


def make_baseline(runs: list[Path]) -> dict[str, Any]:
    """A baseline from one or more ``make bench`` runs: each ratio at its lowest.

    On a shared machine a ratio wanders by tens of percent from run to run; the lowest of a
    few runs is a baseline that a healthy run clears, while a real regression (the fast path
    several times slower) still falls far below it.
    """
    data = [json.loads(path.read_text(encoding="utf-8")) for path in runs]
    ratios: dict[str, dict[str, Any]] = {}
    for run in data:
        for name, ratio in run["ratios"].items():
            if name not in ratios or ratio["value"] < ratios[name]["value"]:
                ratios[name] = dict(ratio)
    return {
        "note": f"each ratio is the lowest of {len(data)} `make bench` runs",
        "runs": [run.get("benchmark_datetime") or run.get("generated") for run in data],
        "command": data[-1].get("command"),
        "machine": data[-1].get("machine"),
        "versions": data[-1].get("versions"),
        "ratios": ratios,
    }


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="pytest-benchmark JSON -> benchmarks JSON")
    report.add_argument("raw", type=Path)
    report.add_argument("out", type=Path)
    report.add_argument("copies", type=Path, nargs="*")
    check = sub.add_parser("check", help="the regression gate")
    check.add_argument("current", type=Path)
    check.add_argument("baseline", type=Path)
    freeze = sub.add_parser("baseline", help="runs' benchmarks JSON -> a committed baseline")
    freeze.add_argument("baseline", type=Path)
    freeze.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "baseline":
        args.baseline.write_text(json.dumps(make_baseline(args.runs), indent=1) + "\n")
        return 0
    if args.command == "report":
        data = build_report(json.loads(args.raw.read_text(encoding="utf-8")))
        text = json.dumps(data, indent=1) + "\n"
        for path in [args.out, *args.copies]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for name, ratio in data["ratios"].items():
            mark = {True: "ok  ", False: "MISS", None: "    "}[ratio["meets_target"]]
            target = "" if ratio["target"] is None else f" (target >= {ratio['target']:.4g})"
            print(f"{mark} {name:40s} {ratio['value']:12.4g}{target}")
        return 0
    current = json.loads(args.current.read_text(encoding="utf-8"))
    baseline = json.loads(args.baseline.read_text(encoding="utf-8"))
    values = {name: r["value"] for name, r in current["ratios"].items()}
    reference = {name: r["value"] for name, r in baseline["ratios"].items() if r["target"]}
    problems = gate(values, reference)
    for line in problems:
        print(f"bench-check: FAIL {line}", file=sys.stderr)
    if not problems:
        print(f"bench-check: {len(TARGETS)} gated ratios meet their targets and the baseline")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(_main())
