r"""Walk the autograd graph behind a tensor into plain nodes and edges.

Autograd records, for every tensor computed from tensors that require grad, a backward node
(``tensor.grad_fn``). Each node lists, in ``next_functions``, the nodes that produced its
inputs; a leaf that requires grad appears there as an ``AccumulateGrad`` node holding the leaf
in ``.variable``, and an input that does not require grad appears as ``None`` (it takes no part
in the backward pass). Following ``next_functions`` from the root visits the whole graph.

:func:`trace_graph` turns that walk into a :class:`Graph` of :class:`GraphNode` objects and
``(source, target)`` edges pointing in the direction of the *forward* computation (inputs to
outputs), ready to be drawn. For the loss $L = \operatorname{mean}(l_1 \cdot l_1 w_3)$ of a
leaf $w_3$ the graph reads ``w3 -> MulBackward0 -> ... -> MeanBackward0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from reference import _validate

__all__ = ["Graph", "GraphNode", "trace_graph"]


@dataclass(frozen=True)
class GraphNode:
    """One node of a traced graph.

    Attributes:
        key: a label unique within the graph (``"n0"``, ``"n1"``, ...; ``"n0"`` is the root).
        label: what to print: the backward node's name (``"MulBackward0"``) for an operation,
            the leaf's given name (or ``"leaf"``) for a leaf.
        is_leaf: whether the node stands for a leaf tensor that requires grad.
        depth: number of edges on the longest path from this node up to the root (root: 0).
        name: the name given in ``names`` to the tensor this node stands for (the leaf itself,
            or the tensor whose ``grad_fn`` the operation node is), ``None`` if unnamed.
    """

    key: str
    label: str
    is_leaf: bool
    depth: int
    name: str | None = None


@dataclass(frozen=True)
class Graph:
    """A traced autograd graph.

    Attributes:
        nodes: every node, the root first, then in breadth-first order.
        edges: ``(source_key, target_key)`` pairs in forward direction (input -> output).
    """

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]

    def node(self, key: str) -> GraphNode:
        """The node called ``key``.

        Raises:
            KeyError: if there is no such node.
        """
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(key)

    @property
    def labels(self) -> list[str]:
        """The labels of all nodes, in node order."""
        return [n.label for n in self.nodes]


def _name_of(var: torch.Tensor, names: Mapping[str, torch.Tensor]) -> str | None:
    for name, t in names.items():
        if t is var:
            return name
    return None


def _name_of_fn(fn: Any, names: Mapping[str, torch.Tensor]) -> str | None:
    for name, t in names.items():
        if t.grad_fn is fn:
            return name
    return None


def trace_graph(root: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None) -> Graph:
    r"""Trace the autograd graph that computes ``root``.

    Starting from ``root.grad_fn``, follow ``next_functions`` to every backward node. Operation
    nodes are labelled with their backward node's name; ``AccumulateGrad`` nodes become leaf
    nodes labelled with the name under which the leaf appears in ``names`` (matched by
    identity), or ``"leaf"``. A named non-leaf tensor lends its name to the node that made it
    (``GraphNode.name``). Inputs that do not require grad are not part of the graph. The
    depth of a node is the length $d(v) = \max_{v \to \dots \to r} |\text{path}|$ of its
    longest path to the root $r$, so drawing nodes by depth sends every edge from a deeper
    layer to a shallower one.

    Args:
        root: the tensor whose graph to trace; it must require grad.
        names: optional display names for tensors, e.g. ``{"w1": w1, "l1": l1}``.

    Returns:
        The graph, the root being ``nodes[0]``.

    Raises:
        TypeError: if ``root`` is not a tensor or ``names`` maps to something else.
        ValueError: if ``root`` does not require grad (it has no graph).

    Example:
        >>> import torch
        >>> w = torch.tensor(2.0, requires_grad=True)
        >>> g = trace_graph((w * 3).exp(), names={"w": w})
        >>> g.labels
        ['ExpBackward0', 'MulBackward0', 'w']
        >>> g.edges
        (('n1', 'n0'), ('n2', 'n1'))
    """
    root = _validate.tensor(root, "root")
    names = dict(names or {})
    for name, t in names.items():
        _validate.tensor(t, f"names[{name!r}]")
    if not root.requires_grad:
        raise ValueError("root does not require grad, so autograd recorded no graph for it")

    if root.grad_fn is None:  # the root is itself a leaf that requires grad
        name = _name_of(root, names)
        node = GraphNode("n0", name or "leaf", True, 0, name)
        return Graph((node,), ())

    keys: dict[Any, str] = {root.grad_fn: "n0"}
    order: list[Any] = [root.grad_fn]
    edges: list[tuple[str, str]] = []
    queue: list[Any] = [root.grad_fn]
    while queue:
        fn = queue.pop(0)
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            if nxt not in keys:
                keys[nxt] = f"n{len(keys)}"
                order.append(nxt)
                queue.append(nxt)
            edge = (keys[nxt], keys[fn])
            if edge not in edges:
                edges.append(edge)

    # Longest distance to the root: relax edges until stable (graphs here are small DAGs).
    depth = {k: 0 for k in keys.values()}
    changed = True
    while changed:
        changed = False
        for src, dst in edges:
            if depth[src] < depth[dst] + 1:
                depth[src] = depth[dst] + 1
                changed = True

    nodes = []
    for fn in order:
        key = keys[fn]
        variable = getattr(fn, "variable", None)
        if isinstance(variable, torch.Tensor):
            name = _name_of(variable, names)
            nodes.append(GraphNode(key, name or "leaf", True, depth[key], name))
        else:
            nodes.append(GraphNode(key, fn.name(), False, depth[key], _name_of_fn(fn, names)))
    return Graph(tuple(nodes), tuple(edges))
