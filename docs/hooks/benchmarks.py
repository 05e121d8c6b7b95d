"""mkdocs hook: the benchmarks page, rendered from the last ``make bench``.

``make bench`` writes ``build/benchmarks.json`` and a copy at ``docs/data/benchmarks.json``
(times per benchmark and contender, the ratios, their targets, machine and versions). At
build time this hook

* draws, from that copy, one log-scale bar chart per benchmark (``figures/bench-<group>.svg``),
  the n-scaling plot of full-batch GD with the streaming floor (``figures/bench-scaling.svg``)
  and the cost of the public call in reads of the data against n, at 1 and 2 threads
  (``figures/bench-reads.svg``);
* expands the directive ``[[benchmarks]]`` (alone on a line, in ``benchmarks.md``) into the
  result first (one sentence and a chart of every gated ratio against its target), then the
  provenance (machine, date, versions, command), the table of gated ratios against their
  targets, the per-call overhead, and a table per benchmark (one row per contender, one time
  column per thread count, the ratio to the benchmark's public call).

Data flow: ``load`` -> ``charts`` (figures) and ``render`` (markdown); the rows of a table
come from ``rows_of`` (a contender's ``row`` and ``threads``, recorded by ``make bench``).

One number format throughout the tables: three significant digits, thousands separated,
ratios with an ``x`` (``38,200x``, ``0.392x``), each time column in one unit named in its
header; the contenders' notes go in a list under their table, so tables fit the column.

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
from matplotlib.ticker import FuncFormatter
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.benchmarks")

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks.json"
DIRECTIVE = re.compile(r"^\[\[benchmarks\]\][ \t]*$", re.MULTILINE)
# the public call each benchmark is measured against (the row; at the default threads)
REFERENCE = {"digits": "training.sgd_per_sample", "minibatch": "training.data_iter"}
FAST = "training.gd_full_batch"  # the full-batch benchmarks' public call
FLOOR = "one read of (X, y)"
DEFAULT_THREADS = 2
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


def sig3(value: float) -> str:
    """Three significant digits, thousands separated: 38,200 · 9,070 · 10.2 · 0.392."""
    rounded = float(f"{value:.3g}")
    if abs(rounded) >= 100:
        return f"{rounded:,.0f}"
    return f"{rounded:.3g}"


def ratio_x(value: float) -> str:
    """A ratio, in the page's one format: ``38,200x``."""
    return f"{sig3(value)}x"


def time_unit(values: list[float]) -> tuple[str, float]:
    """The unit for a column of times: the largest in which the fastest still reads 0.01 or
    more (so 0.144 ms and 5,500 ms share a column, instead of 144 µs and 5,500,000 µs)."""
    smallest = min(values)
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if smallest >= 0.01 * factor:
            return unit, factor
    return "ns", 1e-9


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


def row_of(name: str, entry: dict[str, Any]) -> tuple[str, int | None]:
    """(row, threads) of a contender (older runs have neither: the name, no thread count)."""
    return entry.get("row") or name, entry.get("threads")


def rows_of(entries: dict[str, dict[str, Any]]) -> dict[str, dict[int | None, dict[str, Any]]]:
    """{row: {threads: entry}}, rows in the order of their fastest time."""
    rows: dict[str, dict[int | None, dict[str, Any]]] = {}
    for name, entry in entries.items():
        row, threads = row_of(name, entry)
        rows.setdefault(row, {})[threads] = entry
    return dict(sorted(rows.items(), key=lambda item: min(e["seconds"] for e in item[1].values())))


def reference_of(group: str) -> str:
    return REFERENCE.get(group, FAST)


def default_entry(cells: dict[int | None, dict[str, Any]]) -> dict[str, Any]:
    """The entry timed with the default thread count (or the only one)."""
    return cells.get(DEFAULT_THREADS) or cells.get(None) or next(iter(cells.values()))


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
    reference = reference_of(group)
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
    table = {g: rows_of(data["times"][g]) for g in groups}
    contenders = [c for c in table[groups[0]] if not c.startswith(("gram:", "internal:", "gram"))]
    figure = Figure(figsize=(7.5, 4.6))
    ax = figure.subplots()
    for name in contenders:
        points = [
            (n, default_entry(table[g][name])["seconds"])
            for n, g in zip(sizes, groups, strict=True)
            if name in table[g]
        ]
        style = {"color": ACCENT, "linewidth": 2.2} if name == FAST else {}
        if name == FLOOR:
            style = {"color": MUTED, "linestyle": "--", "linewidth": 2.0}
        ax.plot(*zip(*points, strict=True), marker="o", label=name, **style)
    floor = [
        (n, 1.5 * default_entry(table[g][FLOOR])["seconds"])
        for n, g in zip(sizes, groups, strict=True)
        if FLOOR in table[g]
    ]
    if floor:
        ax.plot(*zip(*floor, strict=True), color=MUTED, linestyle=":", label="1.5 reads")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (rows of X, k = 3)")
    ax.set_ylabel("time for 1000 steps (s)")
    ax.set_title("Full-batch GD: time against n")
    ax.grid(which="major", color="#e0e0e0")
    ax.legend(fontsize=8)
    return figure


def gated(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, r) for name, r in data["ratios"].items() if r.get("target") is not None]


def is_floor(ratio: dict[str, Any]) -> bool:
    """A ratio of the data-reading floor to a contender: shown as reads (lower is better)."""
    return str(ratio["slow"]).startswith((FLOOR, "stream X.sum()"))


def measured_text(ratio: dict[str, Any]) -> str:
    """A gated ratio as a reader wants it: a speed-up, or reads of the data for the floor."""
    if is_floor(ratio):
        return f"{sig3(1 / ratio['value'])} reads (target ≤ {sig3(1 / ratio['target'])})"
    return f"{ratio_x(ratio['value'])} (target {ratio_x(ratio['target'])})"


def summary_chart(data: dict[str, Any]) -> Figure | None:
    """Each gated ratio as a multiple of its target (log scale): right of 1x means met."""
    rows = gated(data)
    if not rows:
        return None
    labels = [f"{name}" for name, _ in rows]
    margins = [r["value"] / r["target"] for _, r in rows]
    figure = Figure(figsize=(6.4, 0.42 * len(rows) + 1.1))
    ax = figure.subplots()
    ax.barh(range(len(rows)), margins, color=[INK if m >= 1 else ACCENT for m in margins])
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1, color=ACCENT, linewidth=1.2)
    ax.set_xlim(min(0.5, min(margins) / 2), max(margins) * 12)
    for index, (margin, (_, ratio)) in enumerate(zip(margins, rows, strict=True)):
        ax.text(margin, index, f" {measured_text(ratio)}", va="center", fontsize=8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    ax.set_xlabel("measured ÷ target (log scale; the line at 1x is the target)")
    ax.grid(axis="x", which="major", color="#e0e0e0")
    ax.set_axisbelow(True)
    return figure


def reads_of(data: dict[str, Any]) -> dict[int, list[tuple[int, float]]]:
    """{threads: [(n, time of the public call / time of one read)]} from the ratios."""
    out: dict[int, list[tuple[int, float]]] = {}
    for name, ratio in data["ratios"].items():
        match = re.fullmatch(r"fullbatch-n1e(\d+)\.read/public@(\d+)t", name)
        if match and ratio["value"] > 0:
            n, threads = 10 ** int(match.group(1)), int(match.group(2))
            out.setdefault(threads, []).append((n, 1.0 / ratio["value"]))
    return {t: sorted(points) for t, points in sorted(out.items())}


def overhead_of(data: dict[str, Any]) -> dict[int, tuple[float, float]]:
    """{threads: (seconds per public call, seconds per read)} at the smallest n measured."""
    groups = [g for g in group_order(data) if g.startswith("fullbatch-n1e")]
    if not groups:
        return {}
    rows = rows_of(data["times"][groups[0]])
    public, floor = rows.get(FAST, {}), rows.get(FLOOR, {})
    return {
        t: (public[t]["seconds"], floor[t]["seconds"])
        for t in public
        if t is not None and t in floor
    }


def reads_chart(data: dict[str, Any]) -> Figure | None:
    """Public gd_full_batch in reads of (X, y) against n, one line per thread count."""
    series = reads_of(data)
    if not series or max(len(points) for points in series.values()) < 2:
        return None
    figure = Figure(figsize=(7.5, 4.2))
    ax = figure.subplots()
    styles = {1: {"color": INK}, 2: {"color": ACCENT}}
    for threads, points in series.items():
        label = f"{threads} thread" + ("s" if threads > 1 else "")
        ax.plot(*zip(*points, strict=True), marker="o", label=label, **styles.get(threads, {}))
    ax.axhline(1.0, color=MUTED, linestyle="--", linewidth=1.2, label="one read")
    ax.axhline(1.5, color=MUTED, linestyle=":", linewidth=1.2, label="1.5 reads (target)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (rows of X, k = 3)")
    ax.set_ylabel("time of the call / time of one read of (X, y)")
    ax.set_title("training.gd_full_batch (1000 steps) in reads of the data")
    ax.grid(which="major", color="#e0e0e0")
    ax.legend(fontsize=8)
    return figure


def charts(data: dict[str, Any]) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    summary = summary_chart(data)
    if summary is not None:
        out["bench-summary"] = summary
    for group in group_order(data):
        entries = data["times"][group]
        title = next(iter(entries.values())).get("title", group)
        times = {row: default_entry(cells)["seconds"] for row, cells in rows_of(entries).items()}
        out[f"bench-{group}"] = bar_chart(group, title, times)
    scaling = scaling_chart(data)
    if scaling is not None:
        out["bench-scaling"] = scaling
    reads = reads_chart(data)
    if reads is not None:
        out["bench-reads"] = reads
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
        "| Gated ratio | Measured | Target | Met |",
        "| --- | ---: | ---: | :---: |",
    ]
    for name, ratio in gated(data):
        met = "yes" if ratio["meets_target"] else "**NO**"
        how = " (timed interleaved)" if ratio.get("interleaved") else ""
        rows.append(
            f"| {ratio['label']}{how}<br><small>`{name}`</small> | {ratio_x(ratio['value'])} | "
            f"≥ {ratio_x(ratio['target'])} | {met} |"
        )
    return [*rows, ""]


def group_table(group: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    """One row per contender, one time column per thread count, ratio to the public call; one
    unit for all the times (in the headers), the contenders' notes in a list under the table."""
    rows = rows_of(entries)
    columns = sorted({t for cells in rows.values() for t in cells if t is not None})
    reference = reference_of(group)
    base = {t: e["seconds"] for t, e in rows.get(reference, {}).items()}
    unit, factor = time_unit([e["seconds"] for e in entries.values()])

    def label(threads: int) -> str:
        return f"{threads} thread" + ("s" if threads > 1 else "")

    heads = [f"Time ({unit}), {label(t)}" for t in columns] or [f"Time ({unit})"]
    lines = [
        f"| Contender | {' | '.join(heads)} | Ratio to {reference} | Rounds | Time scaled by |",
        f"| --- | {' | '.join('---:' for _ in heads)} | ---: | ---: | ---: |",
    ]
    notes = []
    for row, cells in rows.items():
        if columns:
            times = [sig3(cells[t]["seconds"] / factor) if t in cells else "" for t in columns]
            if None in cells:  # timed with the machine's default only
                times = [sig3(cells[None]["seconds"] / factor)] * len(columns)
        else:
            times = [sig3(default_entry(cells)["seconds"] / factor)]
        entry = default_entry(cells)
        threads = next((t for t in cells if t in base), None)
        if threads is None and base:
            threads = DEFAULT_THREADS if DEFAULT_THREADS in base else next(iter(base))
        mine = cells.get(threads, entry)["seconds"]
        ratio = ratio_x(mine / base[threads]) if base.get(threads) else "—"
        scale = ratio_x(entry["scale"]) if entry["scale"] != 1 else ""
        kind = " *(internal)*" if entry.get("kind") == "internal" else ""
        lines.append(
            f"| {row}{kind} | {' | '.join(times)} | {ratio} | {entry['rounds']} | {scale} |"
        )
        if entry.get("note"):
            notes.append(f"- **{row}**: {entry['note']}")
    return [*lines, "", *notes, ""]


def interleaved_lines(data: dict[str, Any], group: str) -> list[str]:
    """The contenders timed alternately with the streaming pass, in streaming passes."""
    pairs = [
        (ratio["fast"], 1.0 / ratio["value"])
        for ratio in data["ratios"].values()
        if ratio["group"] == group and ratio.get("interleaved") and ratio["slow"].startswith(FLOOR)
    ]
    if not pairs:
        return []
    lines = [
        "Timed alternately with one read of $(X, y)$ at the same thread count, round by round "
        "(steadier than the table's separate minima), in reads:",
        "",
    ]
    lines += [
        f"- {name}: **{sig3(passes)}** reads" for name, passes in sorted(pairs, key=lambda p: p[1])
    ]
    return [*lines, ""]


def reads_section(data: dict[str, Any]) -> list[str]:
    """The public call in reads of the data against n, and its fixed cost per call."""
    if "bench-reads" not in _rendered:
        return []
    lines = [
        "## The public call in reads of the data {#reads}",
        "",
        "`training.gd_full_batch` with default arguments (1000 steps, $k = 3$), timed "
        "alternately with one read of $(X, y)$ at every size, with torch and numba limited to "
        "1 and to 2 threads. A value of 1 means the call costs exactly one read of the data.",
        "",
        "![training.gd_full_batch in reads of the data against n](figures/bench-reads.svg)",
        "",
    ]
    overhead = overhead_of(data)
    groups = [g for g in group_order(data) if g.startswith("fullbatch-n1e")]
    if overhead and groups:
        n = groups[0].rsplit("e", 1)[1]
        parts = [
            f"{seconds(call)} with {t} thread{'s' if t > 1 else ''} (one read: {seconds(read)})"
            for t, (call, read) in sorted(overhead.items())
        ]
        lines += [
            f"At $n = 10^{n}$ the data are a few kilobytes and a call costs "
            + "; ".join(parts)
            + ": the fixed cost of a call (argument checks, the kernel call, the "
            "$O(k^3 \\log T)$ closed form, the result tensor), not the data. From "
            "$n \\approx 10^6$ on the read dominates.",
            "",
        ]
    return lines


def headline(data: dict[str, Any]) -> list[str]:
    """The result, first: one sentence and the chart of every gated ratio against its target."""
    rows = gated(data)
    if not rows:
        return []
    met = sum(bool(r["meets_target"]) for _, r in rows)
    speedups = [(n, r) for n, r in rows if not is_floor(r)]
    floors = [(n, r) for n, r in rows if is_floor(r)]
    parts = [
        f"**{met} of {len(rows)}** gated ratios meet their targets on the machine that "
        "built this page"
    ]
    if speedups:
        name, best = max(speedups, key=lambda item: item[1]["value"])
        parts.append(f"the largest speed-up is **{ratio_x(best['value'])}** ({best['label']})")
    if floors:
        name, worst = min(floors, key=lambda item: item[1]["value"])
        parts.append(
            f"and where reading the data is the floor, a call costs at most "
            f"**{sig3(1 / worst['value'])}** reads of it (`{name}`)"
        )
    lines = ["; ".join(parts[:2]) + (", " + parts[2] if len(parts) > 2 else "") + ".", ""]
    if "bench-summary" in _rendered:
        lines += [
            "![Every gated ratio as a multiple of its target, log scale: right of the line at 1x"
            " means the target is met](figures/bench-summary.svg)",
            "",
        ]
    return lines


def render(data: dict[str, Any] | None) -> str:
    if data is None:
        return (
            '!!! warning "No benchmark run yet"\n\n'
            "    Run `make bench` (about ten minutes) to measure the training core; it "
            "writes `docs/data/benchmarks.json`, which this page is built from.\n"
        )
    lines = provenance(data)  # the headline goes under the page title (on_page_markdown)
    lines += ["## The targets", "", *targets_table(data)]
    lines += reads_section(data)
    scaling_shown = False
    for group in group_order(data):
        entries = data["times"][group]
        title = next(iter(entries.values())).get("title", group)
        if group.startswith("fullbatch-") and not scaling_shown and "bench-scaling" in _rendered:
            scaling_shown = True
            lines += [
                "## Full-batch GD: time against n {#fullbatch-scaling}",
                "",
                "Every contender of the full-batch benchmark at every size (default threads),",
                "with one read of $(X, y)$ (dashed: the floor) and 1.5 reads (dotted: the target",
                "at $n = 10^7$).",
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
    markdown = DIRECTIVE.sub(lambda _: render(load()), markdown)
    data = load()
    if data is None:
        return markdown
    # The result first: the headline sentence and summary chart right under the page title.
    title, newline, rest = markdown.partition("\n")
    if not title.startswith("# "):
        return "\n".join(headline(data)) + "\n" + markdown
    return title + newline + "\n" + "\n".join(headline(data)) + "\n" + rest
