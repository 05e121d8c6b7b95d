"""Benchmarks of the data-parallel trainer (make bench-distributed).

Every figure is a ratio to a baseline measured in the same run, beside it:

* **time / one read**: ``train_sharded`` (one-shot, 1000 steps) against one streaming pass
  over the same shards through the same reader (the floor: the data must be read once);
* **ranks**: the per-rank phases (read, reduce, steps) of 1 and 2 ranks under ``torchrun``,
  and the launch's wall time over the one-rank in-process run;
* **per-step vs one-shot**: the same weights; bytes all-reduced per rank and time;
* **memory**: the peak resident memory of a process that reads all the shards, against the
  data size.

Writes ``docs/data/distributed.json`` (and ``build/distributed.json``) and the tables the
chapter page includes, ``docs/data/distributed-tables.md``.

Usage: python tools/bench_distributed.py [--big DIR] [--sizes 1e5 1e6 1e7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference.training.distributed import train_sharded  # noqa: E402
from reference.training.shards import make_synthetic_shards, read_manifest, read_shards  # noqa: E402

STEPS = 1000


def stream_once(directory: Path) -> float:
    """Seconds of one pass that touches every byte (the floor)."""
    start = time.perf_counter()
    total = 0.0
    for X, y in read_shards(directory):
        total += float(X.sum()) + float(y.sum())
    assert np.isfinite(total)
    return time.perf_counter() - start


def one_shot(directory: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    result = train_sharded(directory, steps=STEPS)
    return time.perf_counter() - start, result.to_json()


def torchrun(directory: Path, nproc: int, mode: str, steps: int) -> tuple[float, dict]:
    out = Path(tempfile.mkdtemp()) / "result.json"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "reference.training.distributed",
        "--shards",
        str(directory),
        "--steps",
        str(steps),
        "--mode",
        mode,
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - start, json.loads(out.read_text())


def peak_rss_of_a_read(directory: Path) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh process that trains on every shard, and of one that only
    imports the same libraries (the difference is what reading the data costs)."""
    code = (
        "import resource, sys; from reference.training.distributed import train_sharded; "
        "train_sharded(sys.argv[1], steps=10); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    base = (
        "import resource, torch, numpy, reference.training.distributed; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    idle = subprocess.run(
        [sys.executable, "-c", base], capture_output=True, text=True, env=env, check=True
    )
    return int(run.stdout.split()[-1]) / 1024, int(idle.stdout.split()[-1]) / 1024


def data_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*.npy"))


def measure(
    directory: Path, label: str, *, ranks: bool, per_step: bool, rounds_count: int = 3
) -> dict:
    manifest = read_manifest(directory)
    stream_once(directory)  # warm the page cache the same way for both contenders
    rounds = []
    for _ in range(rounds_count):  # interleaved rounds; the median ratio is reported
        read_s = stream_once(directory)
        train_s, result = one_shot(directory)
        rounds.append((read_s, train_s))
    ratios = sorted(t / r for r, t in rounds)
    row = {
        "label": label,
        "n": manifest.n,
        "k": manifest.k,
        "gib": data_bytes(directory) / 2**30,
        "read_s": float(np.median([r for r, _ in rounds])),
        "train_over_read": ratios[len(ratios) // 2],
        "weights": result["weights"],
        "rank1_phases": result["timings"][0],
    }
    if ranks:
        wall_2, two = torchrun(directory, 2, "one-shot", STEPS)
        wall_1, one = torchrun(directory, 1, "one-shot", STEPS)
        row["torchrun"] = {
            "wall_1": wall_1,
            "wall_2": wall_2,
            "phases_1": one["timings"],
            "phases_2": two["timings"],
            "max_weight_diff_2_vs_1": float(
                np.max(np.abs(np.array(two["weights"]) - np.array(one["weights"])))
            ),
        }
    if per_step:
        steps = 100
        wall_ps, ps = torchrun(directory, 2, "per-step", steps)
        wall_os, os_ = torchrun(directory, 2, "one-shot", steps)
        row["per_step"] = {
            "steps": steps,
            "bytes_per_rank_per_step": ps["timings"][0]["bytes_reduced"],
            "bytes_per_rank_one_shot": os_["timings"][0]["bytes_reduced"],
            "wall_per_step": wall_ps,
            "wall_one_shot": wall_os,
            "compute_per_step_s": sum(t["read_s"] + t["step_s"] for t in ps["timings"]),
            "compute_one_shot_s": sum(t["read_s"] + t["step_s"] for t in os_["timings"]),
            "max_weight_diff": float(
                np.max(np.abs(np.array(ps["weights"]) - np.array(os_["weights"])))
            ),
        }
    row["peak_rss_mib"], row["idle_rss_mib"] = peak_rss_of_a_read(directory)
    return row


def tables(report: dict) -> str:
    lines = [
        "| rows | data (GiB) | one read (s) | 1000 steps / one read | peak memory (MiB) "
        "| of which imports (MiB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['n']:.0e} | {row['gib']:.2f} | {row['read_s']:.2f} | "
            f"{row['train_over_read']:.2f}x | {row['peak_rss_mib']:.0f} | "
            f"{row['idle_rss_mib']:.0f} |"
        )
    lines += ["", "| rows | ranks | read (s) | reduce (s) | steps (s) | bytes reduced per rank |"]
    lines.append("|---:|---:|---:|---:|---:|---:|")
    for row in report["rows"]:
        for key, ranks in (("phases_1", 1), ("phases_2", 2)):
            if "torchrun" not in row:
                continue
            for t in row["torchrun"][key]:
                lines.append(
                    f"| {row['n']:.0e} | {ranks} (rank {t['rank']}) | {t['read_s']:.3f} | "
                    f"{t['reduce_s']:.4f} | {t['step_s']:.4f} | {t['bytes_reduced']} |"
                )
    for row in report["rows"]:
        if "per_step" in row:
            p = row["per_step"]
            lines += [
                "",
                f"Per-step vs one-shot, {row['n']:.0e} rows, 2 ranks, {p['steps']} steps: "
                f"{p['bytes_per_rank_per_step']} vs {p['bytes_per_rank_one_shot']} bytes "
                f"all-reduced per rank "
                f"({p['bytes_per_rank_per_step'] / p['bytes_per_rank_one_shot']:.1f}x), "
                f"compute {p['compute_per_step_s'] / p['compute_one_shot_s']:.1f}x, "
                f"largest weight difference {p['max_weight_diff']:.1e}.",
            ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="*", type=float, default=[1e5, 1e6, 1e7])
    parser.add_argument("--big", type=Path, default=None, help="an existing shard directory")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "data" / "distributed.json")
    args = parser.parse_args()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "load_average": os.getloadavg(),
        },
        "torch": torch.__version__,
        "steps": STEPS,
        "command": "make bench-distributed",
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        for n in args.sizes:
            directory = Path(scratch) / f"n{int(n)}"
            # eight shards, so that every rank of a launch has rows to read
            make_synthetic_shards(
                directory, rows=int(n), features=3, seed=0, rows_per_shard=max(int(n) // 8, 1)
            )
            report["rows"].append(measure(directory, f"{n:.0e}", ranks=True, per_step=n <= 1e5))
            print(json.dumps(report["rows"][-1])[:300], flush=True)
    if args.big is not None:
        report["rows"].append(measure(args.big, "big", ranks=True, per_step=False, rounds_count=1))
    report["ru_maxrss_mib_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "distributed.json").write_text(json.dumps(report, indent=1))
    (args.out.parent / "distributed-tables.md").write_text(tables(report))
    print(tables(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
