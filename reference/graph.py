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

from collections import deque
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


def _name_index(names: Mapping[str, torch.Tensor]) -> tuple[dict[int, str], dict[Any, str]]:
    """Look-up tables from a tensor (by identity) and from a ``grad_fn`` to its given name.

    The first name given for an object wins, as a linear scan of ``names`` would find it.
    """
    by_tensor: dict[int, str] = {}
    by_fn: dict[Any, str] = {}
    for name, t in names.items():
        by_tensor.setdefault(id(t), name)
        if t.grad_fn is not None:
            by_fn.setdefault(t.grad_fn, name)
    return by_tensor, by_fn


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

    The cost is linear in the size of the graph, $O(V + E)$: one breadth-first walk finds
    the nodes and edges, and the depths come from one pass over a topological order
    (a node is settled once every node that consumes it is), not from repeated relaxation.

    Args:
        root: the tensor whose graph to trace; it must require grad.
        names: optional display names for tensors, e.g. ``{"w1": w1, "l1": l1}``.

    Returns:
        The graph, the root being ``nodes[0]``.

    Raises:
        TypeError: if ``root`` is not a tensor, or ``names`` is not a mapping from ``str``
            to tensors.
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
    root = _validate.tensor(root, "root", allow_bool=True)
    if names is None:
        names = {}
    if not isinstance(names, Mapping):
        raise TypeError(f"names must be a mapping from str to tensor, got {type(names).__name__}")
    for name, t in names.items():
        if not isinstance(name, str):
            raise TypeError(f"names must have str keys, got {type(name).__name__}")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"names[{name!r}] must be a torch.Tensor, got {type(t).__name__}")
    if not root.requires_grad:
        raise ValueError("root does not require grad, so autograd recorded no graph for it")
    by_tensor, by_fn = _name_index(names)

    if root.grad_fn is None:  # the root is itself a leaf that requires grad
        name = by_tensor.get(id(root))
        node = GraphNode("n0", name or "leaf", True, 0, name)
        return Graph((node,), ())

    # Breadth-first from the root: every backward node once, every edge once.
    keys: dict[Any, str] = {root.grad_fn: "n0"}
    order: list[Any] = [root.grad_fn]
    edges: list[tuple[str, str]] = []
    seen_edges: set[tuple[str, str]] = set()
    inputs_of: dict[str, list[str]] = {"n0": []}
    consumers: dict[str, int] = {}  # edges out of a node; the root has none (and no entry)
    queue: deque[Any] = deque([root.grad_fn])
    while queue:
        fn = queue.popleft()
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            if nxt not in keys:
                key = keys[nxt] = f"n{len(keys)}"
                order.append(nxt)
                queue.append(nxt)
                inputs_of[key], consumers[key] = [], 0
            edge = (keys[nxt], keys[fn])
            if edge not in seen_edges:
                seen_edges.add(edge)
                edges.append(edge)
                inputs_of[edge[1]].append(edge[0])
                consumers[edge[0]] += 1

    # Longest distance to the root, in one pass over a topological order (Kahn): a node's
    # depth is final once every node that consumes it has been settled,
    # depth(src) = max over edges src -> dst of depth(dst) + 1.
    depth = dict.fromkeys(keys.values(), 0)
    waiting = dict(consumers)
    ready: deque[str] = deque(["n0"])
    while ready:
        dst = ready.popleft()
        for src in inputs_of[dst]:
            depth[src] = max(depth[src], depth[dst] + 1)
            waiting[src] -= 1
            if waiting[src] == 0:
                ready.append(src)

    nodes = []
    for fn in order:
        key = keys[fn]
        variable = getattr(fn, "variable", None)
        if isinstance(variable, torch.Tensor):
            name = by_tensor.get(id(variable))
            nodes.append(GraphNode(key, name or "leaf", True, depth[key], name))
        else:
            nodes.append(GraphNode(key, fn.name(), False, depth[key], by_fn.get(fn)))
    return Graph(tuple(nodes), tuple(edges))
