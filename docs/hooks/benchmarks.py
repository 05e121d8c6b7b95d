"""mkdocs hook: the benchmarks page, rendered from the last ``make bench``.

``make bench`` writes ``build/benchmarks.json`` and a copy at ``docs/data/benchmarks.json``
(times per benchmark and contender, the ratios, their targets, machine and versions). At
build time this hook

* draws, from that copy, one log-scale bar chart per benchmark (``figures/bench-<group>.svg``)
  and the n-scaling plot of full-batch GD with the streaming floor
  (``figures/bench-scaling.svg``);
* expands the directive ``[[benchmarks]]`` (alone on a line, in ``benchmarks.md``) into the
  provenance (machine, date, versions, command), the table of gated ratios against their
  targets, and a table per benchmark (contender, time, ratio to the reference contender).

Without the JSON the page says how to produce it and links no chart, so a strict build of a
fresh checkout still passes.
"""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.benchmarks")

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks.json"
DIRECTIVE = re.compile(r"^\[\[benchmarks\]\][ \t]*$", re.MULTILINE)
REFERENCE = {"minibatch": "data_iter"}  # every other benchmark is relative to the fast path
FAST = "fast path"
FLOOR = "stream X.sum()"
INK, ACCENT, MUTED = "#1a237e", "#e65100", "#9e9e9e"

matplotlib.rcParams.update({"svg.hashsalt": "gradspec", "svg.fonttype": "path", "font.size": 9})


def load() -> dict[str, Any] | None:
    if not DATA.is_file():
        return None
    return json.loads(DATA.read_text(encoding="utf-8"))


def seconds(value: float) -> str:
    """A time with a unit a reader can take in at a glance."""
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if value >= factor:
            return f"{value / factor:.3g} {unit}"
    return f"{value:.3g} s"


def kernel_text(versions: dict[str, Any]) -> str:
    """Which Gram kernel the run had (older runs recorded a C kernel, newer ones numba)."""
    if "numba" in versions:
        numba = versions["numba"]
        return f"; numba {numba} (Gram kernel)" if numba else "; numba NOT installed (BLAS)"
    if "gram_native_kernel" in versions:
        return "; C Gram kernel" if versions["gram_native_kernel"] else "; BLAS Gram"
    return ""


def times_of(group: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {name: float(entry["seconds"]) for name, entry in group.items()}


def group_order(data: dict[str, Any]) -> list[str]:
    def key(group: str) -> tuple[int, float]:
        if group == "digits":
            return 0, 0.0
        if group.startswith("fullbatch-n1e"):
            return 1, float(group.rsplit("e", 1)[1])
        return 2, 0.0

    return sorted(data["times"], key=key)


# ---------------------------------------------------------------------- charts
def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def bar_chart(group: str, title: str, times: dict[str, float]) -> Figure:
    """Horizontal bars of each contender's time, log scale, fastest at the top."""
    names = sorted(times, key=times.__getitem__, reverse=True)
    values = [times[name] for name in names]
    figure = Figure(figsize=(7.5, 0.45 * len(names) + 1.0))
    ax = figure.subplots()
    reference = REFERENCE.get(group, FAST)
    colors = [ACCENT if n == reference else MUTED if n == FLOOR else INK for n in names]
    ax.barh(range(len(names)), values, color=colors)
    ax.set_yticks(range(len(names)), names)
    ax.set_xscale("log")
    ax.set_xlabel("time (seconds, log scale)")
    for index, value in enumerate(values):
        ax.text(value, index, f" {seconds(value)}", va="center", fontsize=8)
    ax.set_xlim(min(values) / 3, max(values) * 20)
    ax.set_title(title)
    ax.grid(axis="x", which="major", color="#e0e0e0")
    ax.set_axisbelow(True)
    return figure


def scaling_chart(data: dict[str, Any]) -> Figure | None:
    """Time of 1000 full-batch steps against n for each contender, with the floor."""
    groups = [g for g in group_order(data) if g.startswith("fullbatch-n1e")]
    if len(groups) < 2:
        return None
    sizes = [10 ** int(g.rsplit("e", 1)[1]) for g in groups]
    contenders = [c for c in data["times"][groups[0]] if not c.startswith("gram:")]
    figure = Figure(figsize=(7.5, 4.6))
    ax = figure.subplots()
    for name in contenders:
        points = [
            (n, data["times"][g][name]["seconds"])
            for n, g in zip(sizes, groups, strict=True)
            if name in data["times"][g]
        ]
        style = {"color": ACCENT, "linewidth": 2.2} if name == FAST else {}
        if name == FLOOR:
            style = {"color": MUTED, "linestyle": "--", "linewidth": 2.0}
        ax.plot(*zip(*points, strict=True), marker="o", label=name, **style)
    floor = [
        (n, 3 * data["times"][g][FLOOR]["seconds"])
        for n, g in zip(sizes, groups, strict=True)
        if FLOOR in data["times"][g]
    ]
    if floor:
        ax.plot(*zip(*floor, strict=True), color=MUTED, linestyle=":", label="3 x streaming pass")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (rows of X, k = 3)")
    ax.set_ylabel("time for 1000 steps (s)")
    ax.set_title("Full-batch GD: time against n")
    ax.grid(which="major", color="#e0e0e0")
    ax.legend(fontsize=8)
    return figure


def charts(data: dict[str, Any]) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for group in group_order(data):
        entries = data["times"][group]
        title = next(iter(entries.values())).get("title", group)
        out[f"bench-{group}"] = bar_chart(group, title, times_of(entries))
    scaling = scaling_chart(data)
    if scaling is not None:
        out["bench-scaling"] = scaling
    return out


# ---------------------------------------------------------------------- markdown
def provenance(data: dict[str, Any]) -> list[str]:
    machine, versions = data["machine"], data["versions"]
    return [
        '!!! info "Where these numbers come from"',
        "",
        f"    Measured {data.get('benchmark_datetime') or data['generated']} on "
        f"{machine.get('cpu') or '?'} ({machine.get('cores') or '?'} cores, "
        f"{machine.get('system') or '?'}), Python {machine.get('python')}, torch "
        f"{versions.get('torch')} ({versions.get('torch_threads')} threads), numpy "
        f"{versions.get('numpy')}, pytest-benchmark {versions.get('pytest_benchmark')}"
        f"{kernel_text(versions)}.",
        f"    Each time is the {data['statistic']}. A ratio marked *timed interleaved* "
        "comes from a second timing of its two contenders, alternating round by round so "
        "that both see the same moments of the machine. Reproduce with "
        f"`{data['command']}`; check against the committed baseline with `make bench-check`.",
        "",
    ]


def targets_table(data: dict[str, Any]) -> list[str]:
    rows = [
        "| Target | Ratio | Measured | Target | Met |",
        "| --- | --- | ---: | ---: | :---: |",
    ]
    for name, ratio in data["ratios"].items():
        if ratio["target"] is None:
            continue
        met = "yes" if ratio["meets_target"] else "**NO**"
        how = " (timed interleaved)" if ratio.get("interleaved") else ""
        rows.append(
            f"| {ratio['label']}{how} | `{name}` | {ratio['value']:,.4g} | "
            f"≥ {ratio['target']:,.4g} | {met} |"
        )
    return [*rows, ""]


def group_table(group: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    reference = REFERENCE.get(group, FAST)
    base = entries.get(reference, {}).get("seconds")
    rows = [
        f"| Contender | Time | × {reference} | Rounds | Scaled | How |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, entry in sorted(entries.items(), key=lambda item: item[1]["seconds"]):
        ratio = f"{entry['seconds'] / base:,.3g}" if base else "—"
        scale = f"× {entry['scale']:g}" if entry["scale"] != 1 else ""
        note = entry.get("note", "").replace("|", "\\|")
        rows.append(
            f"| {name} | {seconds(entry['seconds'])} | {ratio} | {entry['rounds']} | "
            f"{scale} | {note} |"
        )
    return [*rows, ""]


def interleaved_lines(data: dict[str, Any], group: str) -> list[str]:
    """The contenders timed alternately with the streaming pass, in streaming passes."""
    pairs = [
        (ratio["fast"], 1.0 / ratio["value"])
        for ratio in data["ratios"].values()
        if ratio["group"] == group and ratio.get("interleaved") and ratio["slow"] == FLOOR
    ]
    if not pairs:
        return []
    lines = [
        "Timed alternately with `X.sum()`, round by round (steadier than the table's separate "
        "minima), in streaming passes:",
        "",
    ]
    lines += [
        f"- {name}: **{passes:.3g}** passes" for name, passes in sorted(pairs, key=lambda p: p[1])
    ]
    return [*lines, ""]


def render(data: dict[str, Any] | None) -> str:
    if data is None:
        return (
            '!!! warning "No benchmark run yet"\n\n'
            "    Run `make bench` (about ten minutes) to measure the training core; it "
            "writes `docs/data/benchmarks.json`, which this page is built from.\n"
        )
    lines = provenance(data)
    lines += ["## The targets", "", *targets_table(data)]
    scaling_shown = False
    for group in group_order(data):
        entries = data["times"][group]
        title = next(iter(entries.values())).get("title", group)
        if group.startswith("fullbatch-") and not scaling_shown and "bench-scaling" in _rendered:
            scaling_shown = True
            lines += [
                "## Full-batch GD: time against n {#fullbatch-scaling}",
                "",
                "Every contender of the full-batch benchmark at every size, with one streaming",
                "pass over $X$ (dashed: the floor) and three of them (dotted: the target).",
                "",
                "![Time of 1000 full-batch steps against n](figures/bench-scaling.svg)",
                "",
            ]
        lines += [f"## {title} {{#{group}}}", ""]
        lines += [f"![{title}: time per contender, log scale](figures/bench-{group}.svg)", ""]
        lines += group_table(group, entries)
        lines += interleaved_lines(data, group)
    lines += [
        "The raw numbers: [benchmarks.json](data/benchmarks.json).",
        "",
    ]
    return "\n".join(lines)


_rendered: dict[str, bytes] = {}


def on_files(files: Files, config: Any) -> Files:
    _rendered.clear()
    data = load()
    if data is None:
        log.info("no docs/data/benchmarks.json: the benchmarks page says how to make one")
        return files
    for name, figure in charts(data).items():
        _rendered[name] = _svg(figure)
        files.append(File.generated(config, f"figures/{name}.svg", content=_rendered[name]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if not DIRECTIVE.search(markdown):
        return markdown
    return DIRECTIVE.sub(lambda _: render(load()), markdown)
