"""Figures of the autograd chapter: computation graphs traced with ``reference.graph``.

Each graph is built with torch, traced into nodes and edges, and drawn with matplotlib only:
leaves (tensors that require grad and keep ``.grad``) as green boxes, backward nodes as blue
boxes labelled with their ``grad_fn`` name and the tensor they made. Edges follow the forward
computation (inputs on the left, the output on the right); backward runs against the arrows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from reference.graph import Graph, trace_graph

LEAF = "#d8f0d2"
LEAF_EDGE = "#2e7d32"
OP = "#dbe6fb"
OP_EDGE = "#1f4e9c"
INERT = "#eeeeee"
INERT_EDGE = "#9e9e9e"

X_STEP = 1.9  # horizontal distance between depth layers
Y_STEP = 1.0  # vertical distance between nodes of a layer
BOX_W, BOX_H = 1.4, 0.72


def _layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """x from depth (the root on the right), y spread evenly within each depth.

    Layers are placed from the root outwards; within a layer, nodes are sorted by the mean
    height of the nodes they feed (a barycenter heuristic that avoids most crossings).
    """
    top = max(n.depth for n in graph.nodes)
    layers: dict[int, list[str]] = {}
    for n in graph.nodes:
        layers.setdefault(n.depth, []).append(n.key)
    targets: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        targets.setdefault(src, []).append(dst)
    pos: dict[str, tuple[float, float]] = {}
    for depth in sorted(layers):
        keys = layers[depth]
        if depth > 0:

            def height(key: str) -> float:
                ys = [pos[t][1] for t in targets.get(key, []) if t in pos]
                return -sum(ys) / len(ys) if ys else 0.0

            keys = sorted(keys, key=height)
        for i, key in enumerate(keys):
            pos[key] = (X_STEP * (top - depth), Y_STEP * ((len(keys) - 1) / 2 - i))
    return pos


def _box(ax, xy, text, face, edge) -> None:
    x, y = xy
    w, h = BOX_W, BOX_H
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=face, ec=edge, lw=1.4
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.15)


def _arrow(ax, start, end, color="#555555") -> None:
    ax.annotate(
        "",
        xy=(end[0] - BOX_W / 2 - 0.03, end[1]),
        xytext=(start[0] + BOX_W / 2 + 0.03, start[1]),
        arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2, "shrinkA": 0, "shrinkB": 0},
    )


def draw_graph(
    graph: Graph,
    title: str,
    notes: Mapping[str, str] | None = None,
    inert: Mapping[str, tuple[tuple[float, float], str]] | None = None,
) -> Figure:
    """Draw a traced graph.

    Args:
        graph: the graph from :func:`reference.graph.trace_graph`.
        title: the figure title.
        notes: extra text under a node's label, by tensor name (e.g. its gradient).
        inert: tensors that take no part in backward (no requires_grad), drawn grey at a given
            position with an arrow to the named node.
    """
    notes = dict(notes or {})
    pos = _layout(graph)
    xs = [x for x, _ in pos.values()] + [xy[0] for xy, _ in (inert or {}).values()]
    ys = [y for _, y in pos.values()] + [xy[1] for xy, _ in (inert or {}).values()]
    x0, x1 = min(xs) - BOX_W / 2 - 0.1, max(xs) + BOX_W / 2 + 0.1
    y0, y1 = min(ys) - BOX_H / 2 - 0.1, max(ys) + BOX_H / 2 + 0.1
    fig = Figure(figsize=(0.95 * (x1 - x0), 0.95 * (y1 - y0) + 0.45))
    ax = fig.add_subplot()
    for src, dst in graph.edges:
        _arrow(ax, pos[src], pos[dst])
    by_name = {n.name: n.key for n in graph.nodes if n.name}
    for name, (xy, target) in (inert or {}).items():
        _box(ax, xy, f"{name}\n(no grad)", INERT, INERT_EDGE)
        _arrow(ax, xy, pos[by_name[target]], color=INERT_EDGE)
    for n in graph.nodes:
        if n.is_leaf:
            text = f"{n.label}\nleaf"
            face, edge = LEAF, LEAF_EDGE
        else:
            text = f"{n.name}\n{n.label}" if n.name else n.label
            face, edge = OP, OP_EDGE
        if n.name in notes:
            text += f"\n{notes[n.name]}"
        _box(ax, pos[n.key], text, face, edge)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def graph_example() -> Figure:
    """The graph of AG-GRAPH, with the gradients backward leaves in the leaves."""
    inp = torch.ones(3, 3)
    w1 = torch.tensor(2.0, requires_grad=True)
    w2 = torch.tensor(3.0)
    w3 = torch.tensor(3.0, requires_grad=True)
    l1 = inp * w1
    l2 = l1 + w2
    l3 = l1 * w3
    l4 = l2 * l3
    loss = l4.mean()
    names = {"w1": w1, "w3": w3, "l1": l1, "l2": l2, "l3": l3, "l4": l4, "loss": loss}
    graph = trace_graph(loss, names=names)
    loss.backward()
    notes = {"w1": f"grad {w1.grad.item():g}", "w3": f"grad {w3.grad.item():g}"}
    pos = _layout(graph)
    l1_pos = pos[next(n.key for n in graph.nodes if n.name == "l1")]
    l2_pos = pos[next(n.key for n in graph.nodes if n.name == "l2")]
    inert = {
        "input": ((l1_pos[0] - X_STEP, l1_pos[1] + Y_STEP), "l1"),
        "w2": ((l2_pos[0] - X_STEP, l2_pos[1] + Y_STEP), "l2"),
    }
    return draw_graph(graph, "AG-GRAPH: loss = mean((l1 + w2) * (l1 * w3)), l1 = input * w1",
                      notes, inert)  # fmt: skip


def grad_tensors_example() -> Figure:
    """The graph of AG-GRAD-TENSORS: two heads joined by cat."""
    w = torch.tensor([1.0], requires_grad=True)
    x = torch.tensor([2.0], requires_grad=True)
    a = w + x
    b = w + 1
    y0 = a * b
    y1 = a + b
    loss = torch.cat([y0, y1])
    graph = trace_graph(loss, names={"w": w, "x": x, "a": a, "b": b, "y0": y0, "y1": y1,
                                     "loss": loss})  # fmt: skip
    loss.backward(gradient=torch.tensor([1.0, 2.0]))
    notes = {"w": f"grad {w.grad.item():g}", "x": f"grad {x.grad.item():g}"}
    return draw_graph(graph, "AG-GRAD-TENSORS: loss = cat([a*b, a+b]), backward([1, 2])", notes)


FIGURES: dict[str, Callable[[], Figure]] = {
    "autograd-graph": graph_example,
    "autograd-grad-tensors": grad_tensors_example,
}
