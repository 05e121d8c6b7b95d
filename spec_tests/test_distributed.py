"""Past one machine: data-parallel full-batch descent on torch.distributed, from shards.

Processes are started with ``torchrun`` (``python -m torch.distributed.run --standalone``:
gloo on 127.0.0.1, a free port per launch), each launch bounded by a timeout, and every
process is gone when its launch returns. The oracle of the weights is one process running
the public ``gd_full_batch`` on all the rows, held in memory; the oracle of the sums is
NumPy on the concatenated rows.

Three launches serve all the specs (module-scoped fixtures): two ranks through a driver
script of this file (both modes, a bad shard), four ranks through the real command line, and
two ranks through the real command line with one rank killed.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from reference.errors import DivergenceError
from reference.training import gd_full_batch
from reference.training.distributed import shard_assignment, train_sharded
from reference.training.shards import (
    ShardError,
    make_synthetic_shards,
    read_manifest,
    read_shards,
    verify_shards,
)

ROOT = Path(__file__).resolve().parents[1]
ROWS, FEATURES, STEPS = 3000, 3, 200
LAUNCH_TIMEOUT_S = 120
#: The collective timeout the kill spec states (the launcher's --timeout).
FAULT_TIMEOUT_S = 30


def _torchrun(nproc: int, args: list[str], env: dict[str, str] | None = None):
    """Run ``torchrun --standalone --nproc-per-node nproc ARGS``; return (process, seconds)."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--monitor-interval=0.2",
        *args,
    ]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    start = time.perf_counter()
    process = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=LAUNCH_TIMEOUT_S,
        cwd=ROOT,
        check=False,
    )
    return process, time.perf_counter() - start


def _all_rows(directory: Path) -> tuple[torch.Tensor, torch.Tensor]:
    chunks = list(read_shards(directory))
    X = np.concatenate([x for x, _ in chunks])
    y = np.concatenate([y for _, y in chunks])
    return torch.from_numpy(X), torch.from_numpy(y)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """3000 rows in 7 shards of unequal size (the last one short), k = 3."""
    directory = tmp_path_factory.mktemp("shards") / "data"
    make_synthetic_shards(
        directory, rows=ROWS, features=FEATURES, seed=5, rows_per_shard=450, chunk_rows=128
    )
    return directory


@pytest.fixture(scope="module")
def single_process(shards) -> tuple[float, torch.Tensor]:
    """The oracle: lr = 1/lambda_max(X^T X) (numpy) and gd_full_batch on all the rows."""
    X, y = _all_rows(shards)
    lr = 1.0 / np.linalg.eigvalsh((X.T @ X).numpy())[-1]
    return lr, gd_full_batch(X, y, torch.zeros(FEATURES, dtype=torch.float64), lr, STEPS)


DRIVER = textwrap.dedent(
    """
    import json, os, sys
    import torch.distributed as dist
    from reference.training.distributed import train_sharded

    good, bad, out = sys.argv[1:4]
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    report = {}
    for mode in ("one-shot", "per-step"):
        result = train_sharded(good, steps=int(sys.argv[4]), mode=mode)
        report[mode] = result.to_json()
    try:
        train_sharded(bad, steps=1)
        report["bad"] = "accepted"
    except ValueError as error:
        report["bad"] = f"{type(error).__name__}: {error}"
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump(report, handle)
    dist.destroy_process_group()
    """
)


@pytest.fixture(scope="module")
def two_ranks(shards, tmp_path_factory) -> dict[int, dict]:
    """Two ranks through the driver: one-shot, per-step, and a shard with a nan in it."""
    work = tmp_path_factory.mktemp("two_ranks")
    bad = work / "bad"
    make_synthetic_shards(bad, rows=900, features=FEATURES, seed=6, rows_per_shard=300)
    y_file = read_manifest(bad).files(1)[1]  # shard 1 belongs to rank 1 of 2
    y = np.load(y_file, mmap_mode="r+")
    y[17] = np.nan
    y.flush()
    del y
    driver = work / "driver.py"
    driver.write_text(DRIVER)
    process, _ = _torchrun(2, [str(driver), str(shards), str(bad), str(work), str(STEPS)])
    assert process.returncode == 0, process.stderr[-3000:]
    return {r: json.loads((work / f"rank{r}.json").read_text()) for r in (0, 1)}


@pytest.fixture(scope="module")
def four_ranks(shards, tmp_path_factory) -> dict:
    """Four ranks through the real command line."""
    out = tmp_path_factory.mktemp("four_ranks") / "result.json"
    args = ["-m", "reference.training.distributed", "--shards", str(shards)]
    process, _ = _torchrun(4, [*args, "--steps", str(STEPS), "--out", str(out)])
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(out.read_text())


# ----------------------------------------------------------------------------- DIST-SUM


@pytest.mark.claim("DIST-SUM")
def test_block_sums_of_the_gram_matrix_are_the_whole_one(shards):
    X, y = _all_rows(shards)
    G, c = X.numpy().T @ X.numpy(), X.numpy().T @ y.numpy()
    manifest = read_manifest(shards)
    G_sum, c_sum = np.zeros((FEATURES, FEATURES)), np.zeros(FEATURES)
    for index in range(len(manifest.shards)):
        for Xr, yr in read_shards(shards, shards=[index], chunk_rows=100):
            G_sum += Xr.T @ Xr
            c_sum += Xr.T @ yr
    np.testing.assert_allclose(G_sum, G, rtol=1e-12)
    np.testing.assert_allclose(c_sum, c, rtol=1e-12)


@pytest.mark.launches
@pytest.mark.claim("DIST-SUM")
def test_one_reduction_carries_k_k_plus_1_over_2_plus_k_plus_3_numbers(two_ranks, four_ranks):
    # The upper triangle of G (6 numbers for k = 3), c (3), y.y, the row count and an error
    # flag: 12 float64 = 96 bytes per rank, whatever the number of rows.
    expected = 8 * (FEATURES * (FEATURES + 1) // 2 + FEATURES + 3)
    for timing in two_ranks[0]["one-shot"]["timings"] + four_ranks["timings"]:
        assert timing["bytes_reduced"] == expected


def test_shard_assignment_is_round_robin():
    assert shard_assignment(7, 2, 0) == [0, 2, 4, 6]
    assert shard_assignment(7, 4, 3) == [3]
    assert shard_assignment(2, 4, 3) == []
    with pytest.raises(ValueError, match="rank must be <= 3"):
        shard_assignment(7, 4, 4)


# ----------------------------------------------------------------------------- DIST-EQUAL


@pytest.mark.claim("DIST-EQUAL")
def test_one_rank_equals_gd_full_batch_on_all_rows(shards, single_process):
    lr, expected = single_process
    result = train_sharded(shards, steps=STEPS)
    assert result.world_size == 1
    assert result.n == ROWS
    np.testing.assert_allclose(result.lr, lr, rtol=1e-12)
    torch.testing.assert_close(result.weights, expected, rtol=1e-12, atol=0)


@pytest.mark.launches
@pytest.mark.claim("DIST-EQUAL")
def test_two_ranks_equal_one_process(two_ranks, single_process):
    _, expected = single_process
    for rank in (0, 1):
        report = two_ranks[rank]["one-shot"]
        assert report["world_size"] == 2
        assert report["n"] == ROWS
        np.testing.assert_allclose(report["weights"], expected.numpy(), rtol=1e-12, atol=0)
    rows = [t["rows"] for t in two_ranks[0]["one-shot"]["timings"]]
    assert rows == [3 * 450 + 300, 3 * 450]  # shards 0, 2, 4, 6 (the short one) and 1, 3, 5


@pytest.mark.launches
@pytest.mark.claim("DIST-EQUAL")
def test_four_ranks_through_the_command_line_equal_one_process(four_ranks, single_process):
    lr, expected = single_process
    assert four_ranks["world_size"] == 4
    assert four_ranks["n"] == ROWS
    np.testing.assert_allclose(four_ranks["lr"], lr, rtol=1e-12)
    np.testing.assert_allclose(four_ranks["weights"], expected.numpy(), rtol=1e-12, atol=0)
    assert sorted(r for t in four_ranks["timings"] for r in t["shards"]) == list(range(7))


@pytest.mark.claim("DIST-EQUAL")
def test_the_command_line_as_one_rank_writes_the_oracles_numbers(
    shards, single_process, tmp_path, monkeypatch, capsys
):
    # Without torchrun (no WORLD_SIZE, no RANK) the command line is one rank in this process:
    # the oracle's weights, the loss 0.5 |X w - y|^2 recomputed by numpy, every option taken
    # at its word, the result written whole (no temporary file left) and a failure reported
    # as exit status 1 with a sentence naming the rank, and no result file.
    from reference.training import distributed

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    lr, expected = single_process
    X, y = (t.numpy() for t in _all_rows(shards))
    out = tmp_path / "result.json"
    args = ["--shards", str(shards), "--steps", str(STEPS), "--out", str(out)]
    assert distributed.main(args) == 0
    report = json.loads(out.read_text())
    assert set(report) == {"weights", "loss", "n", "lr", "steps", "mode", "world_size", "timings"}
    assert (report["world_size"], report["n"], report["steps"]) == (1, ROWS, STEPS)
    assert report["mode"] == "one-shot"
    np.testing.assert_allclose(report["lr"], lr, rtol=1e-12)
    np.testing.assert_allclose(report["weights"], expected.numpy(), rtol=1e-12, atol=0)
    w = np.asarray(report["weights"])
    np.testing.assert_allclose(report["loss"], 0.5 * np.sum((X @ w - y) ** 2), rtol=1e-9)
    (timing,) = report["timings"]
    assert (timing["rank"], timing["rows"], timing["shards"]) == (0, ROWS, list(range(7)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]

    out = tmp_path / "per-step.json"
    options = ["--lr", "1e-4", "--mode", "per-step", "--chunk-rows", "100", "--verify"]
    args = [
        "--shards",
        str(shards),
        "--steps",
        "50",
        *options,
        "--timeout",
        "0.5",
        "--out",
        str(out),
    ]
    reads = []  # how the shards were read: chunk sizes and checksum verification are invisible
    real_read_shards = distributed.read_shards  # in the weights, so the reads are watched

    def watched_read_shards(*args, **kwargs):
        reads.append((kwargs.get("chunk_rows"), kwargs.get("verify", False)))
        return real_read_shards(*args, **kwargs)

    monkeypatch.setattr(distributed, "read_shards", watched_read_shards)
    assert distributed.main(args) == 0
    assert {chunk_rows for chunk_rows, _ in reads} == {100}
    assert any(verify for _, verify in reads)  # the one pass verified the CRC-32s
    report = json.loads(out.read_text())
    assert (report["mode"], report["lr"], report["steps"]) == ("per-step", 1e-4, 50)
    w0 = torch.zeros(FEATURES, dtype=torch.float64)
    oracle = gd_full_batch(torch.from_numpy(X), torch.from_numpy(y), w0, 1e-4, 50)
    np.testing.assert_allclose(report["weights"], oracle.numpy(), rtol=1e-10, atol=0)

    missing = tmp_path / "missing.json"
    args = ["--shards", str(tmp_path / "nowhere"), "--steps", "1", "--out", str(missing)]
    assert distributed.main(args) == 1
    assert "gradspec distributed: rank 0 failed: " in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.claim("DIST-EQUAL")
def test_the_command_line_refuses_bad_options_before_reading_anything(
    shards, tmp_path, monkeypatch, capsys
):
    # argparse's own sentences ("the following arguments are required", "invalid choice")
    # are Python's wording: only the option names and the refused value are matched.
    from reference.training import distributed

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    out = tmp_path / "result.json"
    base = ["--shards", str(shards), "--steps", "2", "--out", str(out)]
    with pytest.raises(SystemExit) as exited:
        distributed.main([])
    assert exited.value.code == 2
    assert "--shards, --steps, --out" in capsys.readouterr().err
    for option in ("--shards", "--steps", "--out"):  # each of the three is required
        at = base.index(option)
        with pytest.raises(SystemExit):
            distributed.main(base[:at] + base[at + 2 :])
        assert option in capsys.readouterr().err
    with pytest.raises(SystemExit):
        distributed.main([*base, "--mode", "sideways"])
    err = capsys.readouterr().err
    assert "--mode" in err
    assert "sideways" in err
    for timeout in ("0", "-1", "nan", "inf"):
        with pytest.raises(SystemExit):
            distributed.main([*base, "--timeout", timeout])
        err = capsys.readouterr().err
        assert f"--timeout must be a finite number of seconds > 0, got {float(timeout)}" in err
    assert not out.exists()


@pytest.mark.claim("DIST-EQUAL")
def test_only_rank_0_writes_the_result(shards, tmp_path, monkeypatch):
    from reference.training import distributed

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    out = tmp_path / "result.json"
    args = ["--shards", str(shards), "--steps", "2", "--out", str(out)]
    monkeypatch.setenv("RANK", "1")
    assert distributed.main(args) == 0
    assert not out.exists()
    monkeypatch.setenv("RANK", "0")
    assert distributed.main(args) == 0
    assert json.loads(out.read_bytes().decode("ascii"))["steps"] == 2  # plain ASCII JSON


# ----------------------------------------------------------------------------- DIST-PER-STEP


@pytest.mark.launches
@pytest.mark.claim("DIST-PER-STEP")
def test_per_step_reduction_reaches_the_same_weights(two_ranks, single_process):
    _, expected = single_process
    for rank in (0, 1):
        per_step = two_ranks[rank]["per-step"]
        np.testing.assert_allclose(per_step["weights"], expected.numpy(), rtol=1e-10, atol=0)
        np.testing.assert_allclose(
            per_step["weights"], two_ranks[rank]["one-shot"]["weights"], rtol=1e-10, atol=0
        )


@pytest.mark.launches
@pytest.mark.claim("DIST-PER-STEP")
def test_per_step_communication_grows_with_the_steps(two_ranks):
    one_shot = two_ranks[0]["one-shot"]["timings"][0]["bytes_reduced"]
    per_step = two_ranks[0]["per-step"]["timings"][0]["bytes_reduced"]
    # per-step: the first reduction (lr from G) plus k float64 per step.
    assert per_step == one_shot + STEPS * 8 * FEATURES


@pytest.mark.claim("DIST-PER-STEP")
def test_per_step_equals_one_shot_in_one_process(shards):
    one_shot = train_sharded(shards, steps=50, lr=1e-4)
    per_step = train_sharded(shards, steps=50, lr=1e-4, mode="per-step")
    torch.testing.assert_close(per_step.weights, one_shot.weights, rtol=1e-10, atol=0)


@pytest.mark.claim("DIST-PER-STEP")
@pytest.mark.parametrize(("mode", "expected"), [("one-shot", (1.0, 1.0)), ("per-step", (4.0, 7.0))])
def test_timings_count_every_read_on_a_clock_that_ticks_once_per_look(
    shards, monkeypatch, mode, expected
):
    # A clock that advances one second each time it is read makes the timings exact: the
    # sums take one look before and one after (read 1 s); per-step mode then reads the shards
    # again in each of its 3 steps (1 s each, read 1 + 3 = 4 s) inside a step window opened
    # and closed by one look each (2 * 3 + 1 = 7 s). One process sends nothing.
    from reference.training import distributed

    ticks = itertools.count(100)  # not 0: a sum mistaken for a difference must show
    clock = SimpleNamespace(perf_counter=lambda: float(next(ticks)))
    monkeypatch.setattr(distributed, "time", clock)
    (timing,) = train_sharded(shards, steps=3, lr=1e-4, mode=mode).timings
    assert (timing.read_s, timing.step_s) == expected
    assert (timing.reduce_s, timing.bytes_reduced) == (0.0, 0)


def _shards_with_x(directory: Path, fill) -> Path:
    """Synthetic shards whose X files are then overwritten by ``fill(shard_index, X)``."""
    make_synthetic_shards(directory, rows=30, features=3, seed=4, rows_per_shard=10)
    manifest = read_manifest(directory)
    for index in range(len(manifest.shards)):
        X = np.load(manifest.files(index)[0], mmap_mode="r+")
        fill(index, X)
        X.flush()
        del X
    return directory


@pytest.mark.claim("DIST-EQUAL")
def test_the_default_lr_is_one_over_lambda_max_and_all_zero_x_is_refused(tmp_path):
    def zeros(index, X):
        X[:] = 0.0

    directory = _shards_with_x(tmp_path / "zeros", zeros)
    with pytest.raises(
        ValueError, match=r"^X is all zeros: G = X\^T X = 0 has no largest eigenvalue to set lr$"
    ):
        train_sharded(directory, steps=3)
    # with an lr the steps are taken: the gradient X^T (X w - y) is 0, w stays at w0 = 0
    result = train_sharded(directory, steps=3, lr=0.1)
    assert result.weights.tolist() == [0.0, 0.0, 0.0]

    def one_entry(index, X):  # X = e_0 e_0^T: G = X^T X has the single entry G[0, 0] = 1
        X[:] = 0.0
        if index == 0:
            X[0, 0] = 1.0

    result = train_sharded(_shards_with_x(tmp_path / "one", one_entry), steps=1)
    assert result.lr == 1.0  # 1 / lambda_max(G), lambda_max = 1


@pytest.mark.claim("DIST-EQUAL")
def test_the_reported_loss_is_numpys_also_near_zero(tmp_path):
    # Noise-free targets y = X w_true: after the steps the loss is far below 1, and the
    # reported 0.5 |X w - y|^2 (from the reduced G, c and y.y) is numpy's on all rows.
    directory = tmp_path / "exact"
    make_synthetic_shards(directory, rows=30, features=3, seed=5, rows_per_shard=10)
    manifest = read_manifest(directory)
    w_true = np.array([0.5, -1.0, 2.0])
    for index in range(len(manifest.shards)):
        x_file, y_file = manifest.files(index)
        y = np.load(y_file, mmap_mode="r+")
        y[:] = np.load(x_file) @ w_true
        y.flush()
        del y
    result = train_sharded(directory, steps=2000)
    X, y = (t.numpy() for t in _all_rows(directory))
    w = result.weights.numpy()
    expected = 0.5 * float(np.sum((X @ w - y) ** 2))
    assert expected < 1e-3
    np.testing.assert_allclose(result.loss, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.claim("DIST-BAD-DATA")
def test_sums_that_overflow_only_together_are_refused(tmp_path):
    # 1e154 squared is 1e308, finite in each shard's sums; two shards add up to 2e308 = inf.
    def big_corner(index, X):
        if index < 2:
            X[0, 0] = 1e154

    directory = _shards_with_x(tmp_path / "big", big_corner)
    with pytest.raises(ShardError) as refused:
        train_sharded(directory, steps=1)
    assert str(refused.value) == (
        f"rank 0: {directory}: the sums of this rank's shards overflow float64"
    )


@pytest.mark.claim("DIST-EQUAL")
def test_training_from_read_only_memory_maps_warns_nothing(shards):
    # torch warns when it wraps a read-only array, by default once per process: every time
    # here, so that the spec sees it whatever ran before it
    always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for mode in ("one-shot", "per-step"):
                train_sharded(shards, steps=2, mode=mode)
            with pytest.raises(UserWarning, match="not writable"):  # the warning it avoids
                torch.from_numpy(np.load(read_manifest(shards).files(0)[1], mmap_mode="r"))
    finally:
        torch.set_warn_always(always)


@pytest.mark.claim("DIST-EQUAL")
def test_a_given_start_is_taken_in_float64_and_left_alone(shards):
    w0 = torch.tensor([0.25, -0.5, 1.0], dtype=torch.float32)
    before = w0.clone()
    result = train_sharded(shards, steps=20, lr=1e-4, w0=w0)
    X, y = _all_rows(shards)
    expected = gd_full_batch(X, y, w0.to(torch.float64), 1e-4, 20)
    torch.testing.assert_close(result.weights, expected, rtol=1e-12, atol=0)
    assert torch.equal(w0, before)
    with pytest.raises(
        ValueError, match=r"^w0 must have shape \[3\] \(the shards' k\), got \(2,\)$"
    ):
        train_sharded(shards, steps=1, w0=torch.zeros(2))


# ----------------------------------------------------------------------------- DIST-FAULT


@pytest.mark.launches
@pytest.mark.claim("DIST-FAULT")
def test_a_killed_rank_fails_the_launch_naming_it(shards, tmp_path):
    out = tmp_path / "result.json"
    args = ["-m", "reference.training.distributed", "--shards", str(shards)]
    args += ["--steps", "5", "--out", str(out), "--timeout", str(FAULT_TIMEOUT_S)]
    env = {"GRADSPEC_FAULT_KILL_RANK": "1", "GRADSPEC_FAULT_STAGE": "read"}
    process, seconds = _torchrun(2, args, env)
    assert process.returncode != 0
    assert not out.exists()
    assert not list(tmp_path.glob(".*.tmp"))
    # torchrun's failure summary names the rank and its signal; its layout is torch's own
    # (it has changed between releases), so only the stable fragments are matched.
    assert "rank" in process.stderr
    assert "-9" in process.stderr
    assert "rank    : 1" in process.stderr or "rank: 1" in process.stderr.replace("  ", "")
    assert seconds < FAULT_TIMEOUT_S + 30  # the collective timeout plus torchrun's start


# ----------------------------------------------------------------------------- DIST-BAD-DATA


@pytest.mark.launches
@pytest.mark.claim("DIST-BAD-DATA")
def test_a_nan_shard_is_refused_on_every_rank_before_any_step(two_ranks):
    culprit = two_ranks[1]["bad"]
    assert culprit.startswith("ShardError: rank 1: ")
    assert "shard-00001.y.npy has non-finite entries (first at row 17)" in culprit
    assert two_ranks[0]["bad"] == "ShardError: rank 0: 1 other rank(s) refused their shards"


def _restated_synthetic(rows, k, seed, noise_std, rows_per_shard, chunk_rows):
    """make_synthetic_shards' data restated: one generator; shard by shard, chunk by chunk,
    the chunk's standard normal features (after a bias column of ones), then its noise."""
    rng = np.random.default_rng(seed)
    w_star = np.array([(i + 1) * (-1.0) ** i for i in range(k)])  # 1, -2, 3, -4, ...
    Xs, ys = [], []
    for first in range(0, rows, rows_per_shard):
        count = min(rows_per_shard, rows - first)
        for start in range(0, count, chunk_rows):
            m = min(chunk_rows, count - start)
            X = np.hstack([np.ones((m, 1)), rng.standard_normal((m, k - 1))])
            Xs.append(X)
            ys.append(X @ w_star + noise_std * rng.standard_normal(m))
    return np.vstack(Xs), np.concatenate(ys), w_star


@pytest.mark.claim("DIST-SUM")
@pytest.mark.parametrize(("k", "noise_std"), [(4, 0.25), (2, None)])
def test_synthetic_shards_are_the_seeded_draws_restated(tmp_path, k, noise_std):
    directory = tmp_path / "new" / "data"  # parents are created
    options = {} if noise_std is None else {"noise_std": noise_std}
    manifest = make_synthetic_shards(
        directory, rows=23, features=k, seed=11, rows_per_shard=10, chunk_rows=3, **options
    )
    noise = 0.1 if noise_std is None else noise_std  # the documented default
    X_expected, y_expected, w_star = _restated_synthetic(23, k, 11, noise, 10, 3)
    X, y = (t.numpy() for t in _all_rows(directory))
    np.testing.assert_allclose(X, X_expected, rtol=0, atol=0)
    np.testing.assert_allclose(y, y_expected, rtol=1e-15, atol=1e-15)
    assert (manifest.n, manifest.k) == (23, k)
    written = json.loads((directory / "manifest.json").read_bytes().decode("ascii"))
    assert written["dtype"] == "float64"
    assert written["meta"] == {
        "generator": "numpy.random.default_rng",
        "seed": 11,
        "true_weights": w_star.tolist(),
        "noise_std": noise,
        "chunk_rows": 3,
    }
    assert sorted(p.name for p in directory.iterdir()) == [
        "manifest.json",
        "shard-00000.X.npy", "shard-00000.y.npy",
        "shard-00001.X.npy", "shard-00001.y.npy",
        "shard-00002.X.npy", "shard-00002.y.npy",
    ]  # fmt: skip
    verify_shards(directory)  # the checksums are those of the files as written


@pytest.mark.claim("DIST-BAD-DATA")
def test_synthetic_shards_go_only_into_a_new_or_empty_directory(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    make_synthetic_shards(empty, rows=3, features=1, seed=0)  # an empty directory is fine
    for taken in (empty, tmp_path / "a-file"):
        if not taken.exists():
            taken.write_text("x")
        with pytest.raises(
            ValueError,
            match=rf"^out must be a new or empty directory, got {re.escape(repr(str(taken)))}$",
        ):
            make_synthetic_shards(taken, rows=3, features=1, seed=0)


@pytest.mark.claim("DIST-BAD-DATA")
def test_missing_mismatched_and_corrupt_shards_are_named(tmp_path):
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=40, features=2, seed=1, rows_per_shard=10)
    manifest = read_manifest(directory)
    x1, y2 = manifest.files(1)[0], manifest.files(2)[1]
    x3 = manifest.files(3)[0]
    # a flipped byte in the data: only the checksum sees it
    raw = bytearray(x3.read_bytes())
    raw[-1] ^= 0x01
    x3.write_bytes(bytes(raw))
    with pytest.raises(ShardError, match=r"shard-00003\.X\.npy: checksum mismatch"):
        verify_shards(directory)
    with pytest.raises(ShardError, match=r"shard-00003\.X\.npy: checksum mismatch"):
        list(read_shards(directory, verify=True))
    with pytest.raises(ShardError, match=r"shard-00003\.X\.npy: checksum mismatch"):
        train_sharded(directory, steps=1, verify=True)
    train_sharded(directory, steps=1)  # without verify the flipped bit is just data
    # a shard of the wrong shape
    np.save(y2, np.zeros(9))
    with pytest.raises(ShardError, match=r"shard-00002\.y\.npy: expected float64 \[10\]"):
        list(read_shards(directory))
    # a missing file
    x1.unlink()
    with pytest.raises(ShardError, match=r"shard-00001\.X\.npy: missing shard file"):
        train_sharded(directory, steps=1)


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_nan_shard_is_refused_in_one_process(tmp_path):
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=30, features=3, seed=2, rows_per_shard=10)
    x_file = read_manifest(directory).files(2)[0]
    X = np.load(x_file, mmap_mode="r+")
    X[4, 1] = np.inf
    X.flush()
    del X
    with pytest.raises(ShardError, match=r"shard-00002\.X\.npy has non-finite entries"):
        train_sharded(directory, steps=3)


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("array", "bad_rows", "named"),
    [
        ("X", [5, 6], "shard-00002.X.npy has non-finite entries (first at row 5)"),
        ("X", [9], "shard-00002.X.npy has non-finite entries (first at row 9)"),
        ("y", [7, 8], "shard-00002.y.npy has non-finite entries (first at row 7)"),
        ("y", [8, 9], "shard-00002.y.npy has non-finite entries (first at row 8)"),
        (
            "X-huge",
            [4],
            "shard-00002.X.npy: its sums overflow float64 (entries too large) near row 4",
        ),
        (
            "X-huge",
            [8],
            "shard-00002.X.npy: its sums overflow float64 (entries too large) near row 8",
        ),
    ],
)
def test_the_refusal_names_the_file_and_its_first_bad_row(tmp_path, array, bad_rows, named):
    # Rows are counted within the named file; chunks of 4 rows (3 features) put the first bad
    # row inside the second or the third chunk, so the row is the chunk's start (the rows of
    # every chunk before it) plus the offset inside it.
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=30, features=3, seed=2, rows_per_shard=10)
    x_file, y_file = read_manifest(directory).files(2)
    data = np.load(y_file if array == "y" else x_file, mmap_mode="r+")
    for row in bad_rows:
        if array == "X-huge":
            data[row, :] = 1e200  # finite, but its squares overflow the sums
        elif array == "X":
            data[row, 1] = np.nan
        else:
            data[row] = np.inf
    data.flush()
    del data
    with pytest.raises(ShardError) as refused:
        train_sharded(directory, steps=3, chunk_rows=4)
    assert named in str(refused.value)


# ------------------------------------------------- one process standing in for two ranks
#
# The launches above are the proof that ranks agree; they run in child processes, where
# mutation testing cannot follow. Here one process plays rank 0 of a group of two whose
# rank 1 holds an exact copy of rank 0's shards (shard 2i + 1 is a copy of shard 2i), so the
# sum over the group is twice rank 0's own: the stand-in's all_reduce doubles what it is
# given, and its all_gather_object answers for rank 1 with rank 0's record. The oracle is
# still gd_full_batch on all the rows (the copies included).


class TwoRanks:
    """A stand-in for ``torch.distributed`` in a group of two, seen from rank 0."""

    ReduceOp = torch.distributed.ReduceOp

    def __init__(self, other=lambda sent: sent.clone()):
        self.other = other  # rank 1's contribution, given what rank 0 sent
        self.sent: list[np.ndarray] = []

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def get_rank(self):
        return 0

    def get_world_size(self):
        return 2

    def all_reduce(self, tensor, op=torch.distributed.ReduceOp.SUM):  # torch's default
        assert op == self.ReduceOp.SUM  # a sum, asked for by name
        assert isinstance(tensor, torch.Tensor)
        assert tensor.dtype == torch.float64
        self.sent.append(tensor.numpy().copy())
        tensor.add_(self.other(tensor))

    def all_gather_object(self, gathered, record):
        assert gathered == [None, None]
        gathered[0] = record
        gathered[1] = dataclasses.replace(record, rank=1, shards=[i + 1 for i in record.shards])


def _mirrored(directory: Path) -> Path:
    """4 shards of 10 rows, k = 3, where shards 1 and 3 are copies of shards 0 and 2."""
    make_synthetic_shards(directory, rows=40, features=3, seed=7, rows_per_shard=10)
    manifest = read_manifest(directory)
    for copy in (1, 3):
        for source, target in zip(manifest.files(copy - 1), manifest.files(copy), strict=True):
            target.write_bytes(source.read_bytes())
    return directory


@pytest.fixture
def two_ranks_here(monkeypatch):
    from reference.training import distributed

    def install(world: TwoRanks) -> TwoRanks:
        monkeypatch.setattr(distributed, "dist", world)
        return world

    return install


@pytest.mark.claim("DIST-EQUAL")
@pytest.mark.parametrize("mode", ["one-shot", "per-step"])
def test_a_group_of_two_equals_one_process_on_all_rows(tmp_path, two_ranks_here, mode):
    directory = _mirrored(tmp_path / "data")
    world = two_ranks_here(TwoRanks())
    result = train_sharded(directory, steps=30, mode=mode)
    X, y = _all_rows(directory)
    lr = 1.0 / np.linalg.eigvalsh((X.T @ X).numpy())[-1]
    assert result.lr == pytest.approx(lr, rel=1e-12)
    expected = gd_full_batch(X, y, torch.zeros(3, dtype=torch.float64), result.lr, 30)
    torch.testing.assert_close(result.weights, expected, rtol=1e-10, atol=0)
    assert (result.n, result.world_size) == (40, 2)
    # one-shot sends G's upper triangle, c, y.y, the row count and the refusal flag once;
    # per-step then sends the k-entry gradient at every step
    packed = 3 * 4 // 2 + 3 + 3
    assert [len(sent) for sent in world.sent] == [packed] + ([3] * 30 if mode == "per-step" else [])
    mine = [timing for timing in result.timings if timing.rank == 0]
    assert [(t.rank, t.shards) for t in result.timings] == [(0, [0, 2]), (1, [1, 3])]
    assert mine[0].rows == 20
    assert mine[0].bytes_reduced == 8 * (packed + (3 * 30 if mode == "per-step" else 0))


@pytest.mark.claim("DIST-PER-STEP")
@pytest.mark.parametrize(
    ("mode", "expected"), [("one-shot", (1.0, 1.0, 1.0)), ("per-step", (4.0, 4.0, 13.0))]
)
def test_a_group_of_two_times_its_reductions_on_a_clock_that_ticks_once_per_look(
    tmp_path, two_ranks_here, monkeypatch, mode, expected
):
    # As in one process (above), and each all-reduce is timed by two looks of its own: 1 s
    # for the sums, then 1 s per step in per-step mode, where a step window now holds four
    # looks (read, read, reduce, reduce): 3 * 4 + 1 = 13 s. The clock starts at 100 s.
    from reference.training import distributed

    directory = _mirrored(tmp_path / "data")
    two_ranks_here(TwoRanks())
    ticks = itertools.count(100)
    monkeypatch.setattr(
        distributed, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks)))
    )
    timing = train_sharded(directory, steps=3, lr=1e-4, mode=mode).timings[0]
    assert (timing.read_s, timing.reduce_s, timing.step_s) == expected


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_rank_that_refuses_its_shards_tells_the_others(tmp_path, two_ranks_here):
    directory = _mirrored(tmp_path / "data")
    x_file = read_manifest(directory).files(2)[0]  # rank 0's second shard
    X = np.load(x_file, mmap_mode="r+")
    X[3, 0] = np.nan
    X.flush()
    del X
    world = two_ranks_here(TwoRanks())
    with pytest.raises(ShardError, match=r"^rank 0: .*shard-00002\.X\.npy has non-finite"):
        train_sharded(directory, steps=1)
    assert world.sent[0][-1] == 1.0  # its flag in the reduction: one rank refused


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize("refusing", [1, 3])
def test_a_rank_whose_peers_refused_says_how_many(tmp_path, two_ranks_here, refusing):
    # rank 0's own shards are good; the reduction brings the others' refusal flags, summed
    directory = _mirrored(tmp_path / "data")

    def refused(sent):
        other = sent.clone()
        other[-1] = refusing
        return other

    two_ranks_here(TwoRanks(refused))
    with pytest.raises(
        ShardError, match=rf"^rank 0: {refusing} other rank\(s\) refused their shards$"
    ):
        train_sharded(directory, steps=1)


@pytest.mark.claim("DIST-BAD-DATA")
def test_ranks_that_read_fewer_rows_than_the_manifest_are_refused(tmp_path, two_ranks_here):
    # rank 1 read nothing (it was given another directory, say): 20 rows reach the sum
    directory = _mirrored(tmp_path / "data")
    two_ranks_here(TwoRanks(lambda sent: torch.zeros_like(sent)))
    with pytest.raises(
        ShardError, match=rf"^{re.escape(str(directory))}: read 20 rows, the manifest promises 40$"
    ):
        train_sharded(directory, steps=1)


@pytest.mark.claim("DIST-EQUAL")
def test_each_chunk_is_summed_by_the_training_cores_single_pass_kernel(shards, monkeypatch):
    # numba is installed with the fast extra (as for these specs): one kernel call per chunk
    # of every shard (3000 rows in shards of 450 read 128 rows at a time: 4 chunks of a full
    # shard, 3 of the last one's 300 rows).
    from reference.training import _gram_numba

    kernel, calls = _gram_numba.gram_sums, []

    def counted(X, y, threads):
        calls.append(X.shape[0])
        return kernel(X, y, threads)

    monkeypatch.setattr(_gram_numba, "gram_sums", counted)
    train_sharded(shards, steps=1, chunk_rows=128)
    assert calls == ([128, 128, 128, 66] * 6) + [128, 128, 44]


@pytest.mark.claim("DIST-EQUAL")
def test_without_numba_the_sums_are_blas_and_the_result_the_same(
    shards, single_process, monkeypatch
):
    # gradspec installs without numba (the fast extra is optional): BLAS sums the chunks
    from reference.training import _gram_numba

    monkeypatch.setattr(_gram_numba, "available", lambda: False)
    lr, expected = single_process
    result = train_sharded(shards, steps=STEPS)
    assert result.lr == pytest.approx(lr, rel=1e-12)
    torch.testing.assert_close(result.weights, expected, rtol=1e-10, atol=0)
    X, y = (t.numpy() for t in _all_rows(shards))
    w = result.weights.numpy()
    np.testing.assert_allclose(result.loss, 0.5 * float(np.sum((X @ w - y) ** 2)), rtol=1e-9)


# ----------------------------------------------------------------------------- divergence


@pytest.mark.claim("DIST-EQUAL")
def test_per_step_divergence_names_the_step_lr_and_stable_bound(tmp_path):
    # The step is the first at which the written-out loop below leaves float64 (each step
    # multiplies the error by about 1 - lr lambda_max = -99: far from any rounding tie).
    directory = _mirrored(tmp_path / "data")
    X, y = (t.numpy() for t in _all_rows(directory))
    lam_max = np.linalg.eigvalsh(X.T @ X)[-1]
    lr = float(100.0 / lam_max)
    w, step = np.zeros(3), 0
    with np.errstate(over="ignore", invalid="ignore"):
        while np.isfinite(w).all():
            w = w - lr * (X.T @ (X @ w - y))
            step += 1
    message = (
        f"gradient descent diverged at step {step} with lr={lr!r}: the weights became "
        f"non-finite; the stable bound is lr < 2/lambda_max(X^T X) = {2.0 / lam_max:.6g}"
    )
    with pytest.raises(DivergenceError, match=f"^{re.escape(message)}$"):
        train_sharded(directory, steps=step + 5, lr=lr, mode="per-step")
    # one step short the weights are finite, but the loss is beyond float64: inf, not nan
    short = train_sharded(directory, steps=step - 1, lr=lr, mode="per-step")
    assert torch.isfinite(short.weights).all()
    assert short.loss == math.inf


@pytest.mark.claim("DIST-EQUAL")
def test_one_shot_divergence_is_gd_full_batchs_on_all_rows(tmp_path):
    directory = _mirrored(tmp_path / "data")
    X, y = _all_rows(directory)
    lr = float(100.0 / np.linalg.eigvalsh((X.T @ X).numpy())[-1])
    with pytest.raises(DivergenceError) as expected:
        gd_full_batch(X, y, torch.zeros(3, dtype=torch.float64), lr, 400)
    with pytest.raises(DivergenceError) as refused:
        train_sharded(directory, steps=400, lr=lr)
    assert str(refused.value) == str(expected.value)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize("mode", ["one-shot", "per-step"])
def test_bad_arguments_are_refused_before_any_shard_is_read(tmp_path, mode):
    # shard 1 is missing: any read would end in a ShardError naming it
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=30, features=3, seed=2, rows_per_shard=10)
    read_manifest(directory).files(1)[0].unlink()
    bad = [
        ({"steps": -1}, r"^steps must be >= 0, got -1$"),
        ({"steps": 1, "chunk_rows": 0}, r"^chunk_rows must be >= 1, got 0$"),
        ({"steps": 1, "lr": 0.0}, r"^lr must be a finite number > 0, got 0.0$"),
        (
            {"steps": 1, "w0": torch.tensor([0.0, float("nan"), 0.0])},
            r"^w0 has non-finite entries \(inf or nan\)$",
        ),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            train_sharded(directory, mode=mode, **kwargs)
    with pytest.raises(ShardError, match=r"shard-00001\.X\.npy: missing shard file"):
        train_sharded(directory, steps=1, mode=mode)


# ----------------------------------------------------------------------------- DIST-MEMORY


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    pytest.fail("no RssFile in /proc/self/status")  # pragma: no cover


@pytest.mark.claim("DIST-MEMORY")
def test_reading_holds_chunks_not_the_data(tmp_path):
    # 2^21 rows x 4 float64 = 64 MiB of X; chunks of 2^14 rows = 512 KiB.
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=1 << 21, features=4, seed=3, chunk_rows=1 << 16)
    before = _rss_file_kib()
    peak = before
    total = 0.0
    for X, y in read_shards(directory, chunk_rows=1 << 14):
        total += float(X[:, 1].sum()) + float(y.sum())
        peak = max(peak, _rss_file_kib())
    grown_kib = peak - before
    assert np.isfinite(total)
    assert grown_kib < 8 * 1024, f"reading grew the resident file pages by {grown_kib} KiB"
