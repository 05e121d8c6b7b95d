r"""The backward pass: walk the recorded graph from the output back to the leaves.

For an output $y$ and a weight $v$ of its shape (``gradient``; $v = 1$ for a one-element $y$)
the pass computes $\partial (v \cdot y) / \partial x$ for every tensor $x$ on the graph by the
chain rule: each node receives the sum of the gradients of all its uses (a node runs only
when every node that uses its output has run, newest first, as PyTorch orders them), turns it
into gradients of its inputs, and passes them on. Leaves that require grad add what reaches
them to ``.grad`` (:func:`backward`), or it is returned instead (:func:`grad`).

Hooks registered on a tensor see (and may replace) its gradient when it is complete; a
non-leaf that called ``retain_grad()`` stores it in ``.grad`` after its hooks ran.

Example:
    >>> from reference.engine import Tensor, grad
    >>> x = Tensor([3.0], requires_grad=True)
    >>> (first,) = grad(x**2, x, create_graph=True)  # 2x = 6
    >>> grad(first, x)[0].tolist()  # d(2x)/dx = 2
    [2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference.engine.grad_mode import set_grad_enabled
from reference.engine.node import AccumulateGrad, Node
from reference.engine.tensor import Tensor

__all__ = ["backward", "grad"]


def _as_list(value: Tensor | Sequence[Tensor], name: str) -> list[Tensor]:
    items = [value] if isinstance(value, Tensor) else list(value)
    if not items:
        raise ValueError(f"{name} must not be empty")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def _seed(output: Tensor, gradient: object, index: int) -> Tensor:
    """The gradient the pass starts from for ``output``."""
    if not output.requires_grad:
        raise RuntimeError(
            f"element {index} of tensors does not require grad and does not have a grad_fn"
        )
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(
                "grad can be implicitly created only for scalar outputs: this output has shape "
                f"{output.shape}; pass gradient= (a tensor of that shape) to weight its entries"
            )
        return Tensor._wrap(np.ones(output.shape, dtype=output.dtype))
    if not isinstance(gradient, Tensor):
        raise TypeError(f"gradient must be a Tensor or None, got {type(gradient).__name__}")
    if gradient.shape != output.shape:
        raise RuntimeError(
            f"Mismatch in shape: gradient has shape {gradient.shape} and output has shape "
            f"{output.shape}"
        )
    return gradient


def _detached(t: Tensor) -> Tensor:
    return Tensor._wrap(t._array.copy())


def _run(
    outputs: list[Tensor],
    seeds: list[Tensor],
    *,
    retain_graph: bool,
    create_graph: bool,
    capture: set[int] | None,
) -> dict[int, Tensor]:
    """One backward pass; with ``capture`` (ids of nodes) returns the gradients reaching
    those nodes instead of accumulating into leaves.

    A node is always newer (a larger ``sequence_nr``) than the nodes of its inputs,
    accumulators included: they exist when it is recorded. So running the graph's nodes
    newest first, as PyTorch orders them, runs each one after every node that uses its
    output, when its gradient is complete.
    """
    pending: dict[int, Tensor] = {}
    roots: list[Node] = []
    for i, output in enumerate(outputs):  # one seed per output
        node = output._edge()
        assert node is not None  # _seed checked requires_grad
        key = id(node)
        pending[key] = pending[key] + seeds[i] if key in pending else seeds[i]
        roots.append(node)

    graph: dict[int, Node] = {}  # every node the outputs reach, once
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) not in graph:
            graph[id(node)] = node
            stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)

    # grad() runs only the nodes on a path to an input, as PyTorch does: nothing below an
    # input, nothing off the paths (their hooks do not fire, their saved values stay).
    needed = _needed(roots, capture) if capture is not None else None
    captured: dict[int, Tensor] = {}

    with set_grad_enabled(create_graph):
        for node in sorted(graph.values(), key=lambda n: n.sequence_nr, reverse=True):
            key = id(node)
            g = pending.pop(key, None)
            if g is None or (needed is not None and key not in needed):
                continue  # no gradient reached it, or grad() does not need it
            if isinstance(node, AccumulateGrad):
                _accumulate(node, g, create_graph, capture, captured)
                continue
            for hook in list(node.pre_hooks):
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
            tensor = node.retained() if node.retained is not None else None
            if tensor is not None:
                _store(tensor, g, create_graph, in_place=False)
            if capture is not None and key in capture:
                captured[key] = g
                if needed is not None and not any(
                    id(nxt) in needed for nxt, _ in node.next_functions if nxt is not None
                ):
                    continue  # nothing below this input is asked for: it stays intact
            results = node.apply(g)
            if not retain_graph:
                node.release()
            for (nxt, _), gi in zip(node.next_functions, results, strict=True):
                if nxt is not None and gi is not None:
                    nkey = id(nxt)
                    pending[nkey] = pending[nkey] + gi if nkey in pending else gi
    return captured


def _needed(roots: list[Node], capture: set[int]) -> set[int]:
    """The nodes from which a captured node can be reached (ids), captured ones included."""
    needed: set[int] = set()
    visited: set[int] = set()
    stack: list[tuple[Node, bool]] = [(node, False) for node in roots]
    while stack:  # depth first; a node is decided after all the nodes below it
        node, below_done = stack.pop()
        if below_done:
            if id(node) in capture or any(
                id(nxt) in needed for nxt, _ in node.next_functions if nxt is not None
            ):
                needed.add(id(node))
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((nxt, False) for nxt, _ in node.next_functions if nxt is not None)
    return needed


def _store(t: Tensor, g: Tensor, create_graph: bool, *, in_place: bool) -> None:
    """Add ``g`` to ``t.grad`` (a copy, off the graph, unless ``create_graph``).

    The first gradient is stored as it is; later ones are added in place (``in_place``: a
    leaf's ``.grad`` outside ``create_graph``, PyTorch's AccumulateGrad, which bumps the
    version of ``.grad``) or into a new tensor (``create_graph``, and a retained non-leaf
    gradient, as PyTorch's retain_grad does).
    """
    if t._grad is None:
        t._grad = g if create_graph else _detached(g)
    elif in_place and not create_graph:
        t._grad._array += g._array
        t._grad._bump()
    else:
        t._grad = t._grad + g


def _accumulate(
    node: AccumulateGrad,
    g: Tensor,
    create_graph: bool,
    capture: set[int] | None,
    captured: dict[int, Tensor],
) -> None:
    leaf = node.variable
    for hook in list(leaf._hooks):
        replaced = hook(g)
        if replaced is not None:
            g = replaced
    if capture is None:
        _store(leaf, g, create_graph, in_place=True)
    else:  # an input of grad() (no other leaf runs then); each node runs once
        captured[id(node)] = g


def backward(
    tensor: Tensor,
    gradient: Tensor | None = None,
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    r"""Add $\partial (v \cdot y) / \partial \ell$ to ``.grad`` of every leaf $\ell$ of $y$.

    Args:
        tensor: the output $y$.
        gradient: $v$, of $y$'s shape; may be omitted when $y$ has one element.
        retain_graph: keep the saved values for another pass (default: ``create_graph``).
        create_graph: record the pass itself, so that the gradients are differentiable.

    Raises:
        RuntimeError: implicit gradient for a non-scalar, output that does not require grad,
            a second pass through freed values, or a saved value modified in place.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be a Tensor, got {type(tensor).__name__}")
    seed = _seed(tensor, gradient, 0)
    retain = create_graph if retain_graph is None else bool(retain_graph)
    _run([tensor], [seed], retain_graph=retain, create_graph=create_graph, capture=None)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    r"""The gradients $\partial (\sum_k v_k \cdot y_k) / \partial x_i$, returned, not stored.

    Args:
        outputs: the $y_k$.
        inputs: the $x_i$ (leaves or not), each requiring grad.
        grad_outputs: the $v_k$ (``None``: ones, for one-element outputs only).
        retain_graph: keep the saved values (default: ``create_graph``).
        create_graph: make the returned gradients differentiable (higher derivatives).
        allow_unused: return ``None`` for an input the outputs do not depend on, instead of
            raising.

    Returns:
        One gradient per input, in order.
    """
    outs = _as_list(outputs, "outputs")
    ins = _as_list(inputs, "inputs")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        vs: list[Tensor | None] = [grad_outputs] * len(outs)
    else:
        vs = list(grad_outputs)
        if len(vs) != len(outs):
            raise ValueError(f"grad_outputs has {len(vs)} entries for {len(outs)} outputs")
    seeds = [_seed(o, vs[i], i) for i, o in enumerate(outs)]
    capture: set[int] = set()  # the inputs' nodes (kept alive by the inputs themselves)
    for i, x in enumerate(ins):
        edge = x._edge()
        if edge is None:
            raise RuntimeError(f"inputs[{i}] does not require grad")
        capture.add(id(edge))
    retain = create_graph if retain_graph is None else bool(retain_graph)
    captured = _run(outs, seeds, retain_graph=retain, create_graph=create_graph, capture=capture)
    results: list[Tensor | None] = []
    for i, x in enumerate(ins):
        g = captured.get(id(x._edge()))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (inputs[{i}]) appears to not have been used "
                "in the graph; pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            g = _detached(g)
        results.append(g)
    return tuple(results)
