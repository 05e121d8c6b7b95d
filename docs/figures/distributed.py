"""Figures of the "Past one machine" chapter, from the last make bench-distributed run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

DATA = Path(__file__).resolve().parents[1] / "data" / "distributed.json"
INK, ACCENT = "#1a237e", "#e65100"


def scaling() -> Figure:
    """Time of 1000 one-shot steps over one read of the shards, against n (one rank)."""
    report = json.loads(DATA.read_text())
    rows = sorted(report["rows"], key=lambda row: row["n"])
    n = [row["n"] for row in rows]
    ratio = [row["train_over_read"] for row in rows]
    fig = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.semilogx(n, ratio, "o-", color=INK, label="train_sharded, 1000 steps")
    ax.axhline(1.0, color=ACCENT, linestyle="--", label="one read of the shards")
    ax.set_xlabel("rows n (k = 3, float64, read from disk)")
    ax.set_ylabel("time / one read")
    ax.set_ylim(0, max(3.0, max(ratio) * 1.15))
    ax.set_title(f"Measured {report['date']}, torch {report['torch']}", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    return fig


FIGURES: dict[str, Callable[[], Figure]] = {"distributed-scaling": scaling}
