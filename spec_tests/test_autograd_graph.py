"""Specs of the autograd chapter, part 2: leaves, the graph of AG-GRAPH, retain_grad, hooks,
and the graph walker ``reference.graph`` that draws these graphs on the site.
"""

from __future__ import annotations

import warnings
from collections import Counter
from fractions import Fraction

import pytest
import torch
from backends import TorchBackend, assert_values

from reference.graph import Graph, GraphNode, trace_graph

# A stable fragment of the warning torch gives when reading .grad of a non-leaf.
NON_LEAF_GRAD = "is not a leaf Tensor is being accessed"


def ag_graph(backend, dtype=None):
    """The example of AG-GRAPH, freshly built."""
    inp = backend.ones(3, 3, dtype=dtype)
    w1 = backend.tensor(2.0, requires_grad=True, dtype=dtype)
    w2 = backend.tensor(3.0, dtype=dtype)
    w3 = backend.tensor(3.0, requires_grad=True, dtype=dtype)
    l1 = inp * w1
    l2 = l1 + w2
    l3 = l1 * w3
    l4 = l2 * l3
    loss = l4.mean()
    return {
        "input": inp, "w1": w1, "w2": w2, "w3": w3,
        "l1": l1, "l2": l2, "l3": l3, "l4": l4, "loss": loss,
    }  # fmt: skip


# ---------------------------------------------------------------- AG-LEAF


@pytest.mark.claim("AG-LEAF.grad-fn")
def test_user_tensors_are_leaves_and_addition_is_addbackward0(backend):
    x = backend.ones(2, 2, requires_grad=True)
    assert x.is_leaf
    assert x.grad_fn is None
    y = x + 2
    assert y.is_leaf is False
    assert y.grad_fn.name() == "AddBackward0"
    assert "grad_fn=<AddBackward0>" in repr(y)
    # The source printed <AddBackward>; the name now carries the overload number.
    assert "grad_fn=<AddBackward>" not in repr(y)


@pytest.mark.claim("AG-LEAF.grad-fn")
def test_a_converted_tensor_is_not_a_leaf(backend):
    # Written by the user in one line, yet the result of a conversion (ToCopyBackward0).
    t = backend.ones(2, requires_grad=True).to(backend.float64)
    assert t.is_leaf is False
    assert t.grad_fn is not None
    t.sum().backward()
    with pytest.warns(UserWarning, match=NON_LEAF_GRAD):
        assert t.grad is None  # the gradient went to the float32 leaf that was dropped


@pytest.mark.claim("AG-LEAF.keeps-grad")
def test_only_leaves_that_require_grad_keep_grad(backend, ledger_extra):
    x = backend.ones(2, requires_grad=True)
    c = backend.tensor([3.0, 4.0])  # a leaf that does not require grad
    y = x * c
    y.sum().backward()
    # d/dx_i sum_j x_j c_j = c_i.
    assert_values(backend, x.grad, [3.0, 4.0], rtol=0, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading a leaf's .grad does not warn
        assert c.grad is None
    with pytest.warns(UserWarning, match=NON_LEAF_GRAD) as record:  # stable fragment
        assert y.grad is None
    ledger_extra("warning", str(record[0].message))


@pytest.mark.claim("AG-LEAF.no-grad-is-leaf")
def test_every_tensor_without_requires_grad_is_a_leaf(backend):
    x = backend.ones(3, requires_grad=True)
    with backend.no_grad():
        under_no_grad = x * 2
    examples = {
        "created": backend.ones(3),
        "computed from no-grad tensors": backend.ones(3) * 2,
        "computed under no_grad": under_no_grad,
        "detached": (x * 2).detach(),
    }
    for name, t in examples.items():
        assert t.requires_grad is False, name
        # The source's third kind (requires_grad False, is_leaf False) would need this False.
        assert t.is_leaf is True, name
    # Non-leaves exist only among tensors that require grad.
    assert (x * 2).requires_grad
    assert not (x * 2).is_leaf


# ---------------------------------------------------------------- AG-GRAPH


@pytest.mark.claim("AG-GRAPH")
def test_graph_example_gradients_and_grad_fn_names(backend):
    g = ag_graph(backend)
    # Every entry is the same: l1 = w1, l2 = w1 + w2, l3 = w1 w3, l4 = (w1 + w2) w1 w3,
    # and the mean of nine equal numbers is that number: loss = (2 + 3) * 2 * 3 = 30.
    # dloss/dw1 = w3 (2 w1 + w2) = 3 (4 + 3) = 21;  dloss/dw3 = (w1 + w2) w1 = 5 * 2 = 10.
    assert_values(backend, g["loss"], 30.0, rtol=1e-6, atol=0)
    assert g["l1"].grad_fn.name() == "MulBackward0"
    assert g["loss"].grad_fn.name() == "MeanBackward0"
    assert (g["l1"].is_leaf, g["l2"].is_leaf, g["w1"].is_leaf) == (False, False, True)
    assert g["w1"].data.requires_grad is False  # .data: the values, without tracking
    assert_values(backend, g["w1"].data, 2.0, rtol=0, atol=0)
    g["loss"].backward()
    assert_values(backend, g["w1"].grad, 21.0, rtol=1e-6, atol=0)
    assert_values(backend, g["w3"].grad, 10.0, rtol=1e-6, atol=0)
    assert g["w2"].grad is None  # w2 does not require grad

    def loss_of(w1, w3):
        ones = backend.ones(3, 3, dtype=backend.float64)
        l1 = ones * w1
        return ((l1 + 3.0) * (l1 * w3)).mean()

    w1 = backend.tensor(2.0, requires_grad=True, dtype=backend.float64)
    w3 = backend.tensor(3.0, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(loss_of, [w1, w3])


@pytest.mark.claim("AG-GRAPH")
def test_trace_graph_of_the_graph_example():
    # About reference.graph, which walks PyTorch's graph objects: torch only.
    g = ag_graph(TorchBackend())
    graph = trace_graph(g["loss"], names=g)  # every tensor of the example, by name
    assert graph.nodes[0].label == "MeanBackward0"
    assert graph.nodes[0].name == "loss"
    # Each operation node carries the name of the tensor it made, with the expected grad_fn.
    made = {n.name: n.label for n in graph.nodes if not n.is_leaf}
    assert made == {
        "loss": "MeanBackward0", "l4": "MulBackward0", "l2": "AddBackward0",
        "l3": "MulBackward0", "l1": "MulBackward0",
    }  # fmt: skip
    # Written out from the forward code: mean <- mul(l4) <- {add(l2), mul(l3)} <- mul(l1),
    # w3 feeds l3, w1 feeds l1; input and w2 do not require grad, so they are not nodes.
    assert Counter(graph.labels) == Counter(
        {"MeanBackward0": 1, "MulBackward0": 3, "AddBackward0": 1, "w1": 1, "w3": 1}
    )
    leaves = {n.label for n in graph.nodes if n.is_leaf}
    assert leaves == {"w1", "w3"}
    label = {n.key: n.label for n in graph.nodes}
    named = Counter((label[s], label[t]) for s, t in graph.edges)
    assert named == Counter(
        {
            ("MulBackward0", "MeanBackward0"): 1,  # l4 -> loss
            ("AddBackward0", "MulBackward0"): 1,  # l2 -> l4
            ("MulBackward0", "MulBackward0"): 2,  # l3 -> l4, l1 -> l3
            ("MulBackward0", "AddBackward0"): 1,  # l1 -> l2
            ("w3", "MulBackward0"): 1,
            ("w1", "MulBackward0"): 1,
        }
    )
    # Longest path to the root: w1 -> l1 -> l3 -> l4 -> loss is 4 edges.
    depth = {n.label: n.depth for n in graph.nodes if n.is_leaf}
    assert depth == {"w1": 4, "w3": 3}
    for s, t in graph.edges:  # every edge goes from a deeper node to a shallower one
        assert graph.node(s).depth > graph.node(t).depth


@pytest.mark.claim("AG-GRAPH")
def test_trace_graph_edge_cases_and_validation():
    w = torch.tensor(1.0, requires_grad=True)
    assert trace_graph(w, names={"w": w}) == Graph((GraphNode("n0", "w", True, 0, "w"),), ())
    assert trace_graph(w).nodes[0].name is None
    assert trace_graph(w) == Graph((GraphNode("n0", "leaf", True, 0, None),), ())
    assert trace_graph(w * w).labels == ["MulBackward0", "leaf"]  # one leaf, used twice
    assert trace_graph(w * w).edges == (("n1", "n0"),)
    assert [n.is_leaf for n in trace_graph(w * w).nodes] == [False, True]
    # a bool tensor is a tensor, it just never requires grad, so it has no graph
    with pytest.raises(ValueError, match="root does not require grad"):
        trace_graph(torch.tensor([True, False]))
    with pytest.raises(ValueError, match="root does not require grad"):
        trace_graph(torch.ones(2))
    with pytest.raises(TypeError, match=r"root must be a torch\.Tensor"):
        trace_graph([1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"names\['w'\] must be a torch\.Tensor"):
        trace_graph(w * 2, names={"w": 1.0})  # type: ignore[dict-item]
    with pytest.raises(KeyError, match="n9"):
        trace_graph(w * 2).node("n9")


@pytest.mark.claim("AG-GRAPH")
def test_trace_graph_depth_is_the_longest_path_to_the_root():
    # a = 2 w, b = exp(a), c = a + b. a reaches c directly (1 edge) and through b (2 edges):
    # its depth is the longer, 2, so that b (depth 1) is drawn between a and c; w sits one
    # further, at 3. A shortest-path depth would put a and b side by side at depth 1.
    w = torch.tensor(0.5, requires_grad=True)
    a = w * 2
    b = a.exp()
    c = a + b
    graph = trace_graph(c, names={"w": w, "a": a, "b": b, "c": c})
    depth = {n.name: n.depth for n in graph.nodes}
    assert depth == {"c": 0, "b": 1, "a": 2, "w": 3}
    label = {n.key: n.name for n in graph.nodes}
    assert Counter((label[s], label[t]) for s, t in graph.edges) == Counter(
        [("a", "c"), ("b", "c"), ("a", "b"), ("w", "a")]
    )
    for s, t in graph.edges:
        assert graph.node(s).depth > graph.node(t).depth


# ---------------------------------------------------------------- AG-RETAIN-GRAD


# dloss/dl4 = 1/9 (mean of nine entries);
# l4 = (l1 + w2)(l1 w3) = w3 l1^2 + w2 w3 l1, so dl4/dl1 = 2 w3 l1 + w2 w3 = 12 + 9 = 21,
# and dloss/dl1 = 21/9 = 7/3 per entry.
DL4 = Fraction(1, 9)
DL1 = Fraction(1, 9) * (2 * 3 * 2 + 3 * 3)


@pytest.mark.claim("AG-RETAIN-GRAD")
def test_retain_grad_keeps_intermediate_gradients(backend):
    g = ag_graph(backend)
    for name in ("l1", "l4", "loss"):
        g[name].retain_grad()
    g["loss"].backward()
    assert_values(backend, g["loss"].grad, 1.0, rtol=0, atol=0)
    assert_values(backend, g["l4"].grad, [[float(DL4)] * 3] * 3, rtol=1e-6, atol=0)
    assert_values(backend, g["l1"].grad, [[float(DL1)] * 3] * 3, rtol=1e-6, atol=0)
    assert Fraction(7, 3) == DL1
    with pytest.warns(UserWarning, match=NON_LEAF_GRAD):  # l2 was not retained
        assert g["l2"].grad is None

    # Numerically: the loss as a function of the intermediate l1 (w2 = w3 = 3 held fixed).
    l1 = backend.ones(3, 3, requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: ((t + 3.0) * (t * 3.0)).mean(), [l1 * 2])


# ---------------------------------------------------------------- AG-HOOK


def _hooked_backward(backend, *, retain: bool = False):
    g = ag_graph(backend)
    calls: list[tuple[str, object]] = []
    loss2 = g["l4"].mean()
    for name, t in (("l1", g["l1"]), ("l4", g["l4"]), ("loss2", loss2)):
        t.register_hook(lambda grad, name=name: calls.append((name, backend.values(grad))))
    if retain:
        loss2.retain_grad()
    loss2.backward()
    return g, loss2, calls


@pytest.mark.claim("AG-HOOK.order")
def test_hooks_fire_from_loss_to_l4_to_l1(backend):
    _, _, calls = _hooked_backward(backend)
    assert [name for name, _ in calls] == ["loss2", "l4", "l1"]
    grads = dict(calls)
    assert grads["loss2"] == 1.0
    torch.testing.assert_close(
        torch.tensor(grads["l4"], dtype=torch.float64),
        torch.full((3, 3), float(DL4), dtype=torch.float64),
        rtol=1e-6,
        atol=0,
    )
    torch.testing.assert_close(
        torch.tensor(grads["l1"], dtype=torch.float64),
        torch.full((3, 3), float(DL1), dtype=torch.float64),
        rtol=1e-6,
        atol=0,
    )


@pytest.mark.claim("AG-HOOK.not-stored")
def test_hooked_non_leaf_grad_stays_none(backend):
    g, loss2, calls = _hooked_backward(backend)
    assert len(calls) == 3  # the hooks did see the gradients
    for t in (loss2, g["l4"], g["l1"]):
        with pytest.warns(UserWarning, match=NON_LEAF_GRAD):
            assert t.grad is None


@pytest.mark.claim("AG-HOOK.cleared")
def test_hooked_gradient_is_stored_when_retained(backend):
    # If the hook had cleared the gradient, retain_grad could not bring it back.
    _, loss2, calls = _hooked_backward(backend, retain=True)
    assert dict(calls)["loss2"] == 1.0
    assert_values(backend, loss2.grad, 1.0, rtol=0, atol=0)


@pytest.mark.claim("AG-HOOK.cleared")
@pytest.mark.parametrize("hook_first", [True, False])
def test_hook_return_value_replaces_the_gradient(backend, hook_first):
    # y = 2 x; the hook multiplies dL/dy = 1 by 10, so y.grad = 10 and x.grad = 2 * 10 = 20,
    # whichever of register_hook and retain_grad comes first.
    x = backend.ones(2, requires_grad=True)
    y = x * 2
    if hook_first:
        y.register_hook(lambda grad: grad * 10)
        y.retain_grad()
    else:
        y.retain_grad()
        y.register_hook(lambda grad: grad * 10)
    y.sum().backward()
    assert_values(backend, y.grad, [10.0, 10.0], rtol=0, atol=0)
    assert_values(backend, x.grad, [20.0, 20.0], rtol=0, atol=0)
