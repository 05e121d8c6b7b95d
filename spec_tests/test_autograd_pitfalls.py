"""Specs of the autograd chapter, part 3: in-place operations, the version counter, editing
leaves, ``.data`` versus ``.detach()``, and switching tracking off.

Error specs assert the exception type and a stable fragment of torch's message, and record the
full message in the ledger (``ledger_extra("message", ...)``) so that a change of wording in a
later torch release shows up on the site.
"""

from __future__ import annotations

import math

import pytest
from backends import assert_values

# Stable fragments of torch's messages (the full wording differs between releases).
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation"
MODIFIED_INPLACE = "modified by an inplace operation"


# ---------------------------------------------------------------- AG-INPLACE-ID


@pytest.mark.claim("AG-INPLACE-ID")
def test_rebinding_changes_id_list_item_assignment_does_not(backend):
    a = backend.tensor([3.0, 1.0])
    old = a  # keep the first object alive so its id cannot be reused
    a = a.exp()
    assert id(a) != id(old)
    assert_values(backend, a, [math.e**3, math.e], rtol=1e-6, atol=0)
    assert_values(backend, old, [3.0, 1.0], rtol=0, atol=0)  # the original is untouched

    b = [1, 2]
    before = id(b)
    b[0] = 10
    assert id(b) == before
    assert b == [10, 2]


@pytest.mark.claim("AG-INPLACE-ID.rule")
def test_id_is_not_the_memory_and_version_counts_in_place_ops(backend):
    # Same id, other memory, no in-place operation: assigning .data.
    w = backend.ones(2)
    ident, ptr, version = id(w), w.data_ptr(), w._version
    replacement = backend.zeros(2)
    w.data = replacement
    assert id(w) == ident  # "id unchanged" ...
    assert w.data_ptr() != ptr  # ... yet w now lives in other memory
    assert w.data_ptr() == replacement.data_ptr()
    assert w._version == version  # and no in-place operation was counted

    # New id, same memory: a view.
    v = w.view(2, 1)
    assert id(v) != id(w)
    assert v.data_ptr() == w.data_ptr()

    # A real in-place operation: same id, same memory, version bumped.
    u = backend.ones(2)
    ident, ptr = id(u), u.data_ptr()
    u.exp_()
    assert (id(u), u.data_ptr(), u._version) == (ident, ptr, 1)
    assert_values(backend, u, [math.e, math.e], rtol=1e-6, atol=0)


# ---------------------------------------------------------------- AG-VERSION


@pytest.mark.claim("AG-VERSION")
def test_in_place_change_of_saved_tensor_fails_backward(backend, ledger_extra):
    a = backend.tensor([1.0, 3.0], requires_grad=True)
    b = a + 2
    assert b._version == 0
    loss = (b * b).mean()  # MulBackward0 saves b (at version 0)
    b[0] = 1000.0
    assert b._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED_INPLACE) as e:
        loss.backward()
    message = str(e.value)
    ledger_extra("message", message)
    # The version numbers are part of the stable fragment.
    assert "is at version 1; expected version 0 instead" in message


@pytest.mark.claim("AG-VERSION")
def test_every_in_place_operation_bumps_the_version(backend):
    t = backend.zeros(3)
    versions = [t._version]
    t.add_(1)
    versions.append(t._version)
    t.mul_(2)
    versions.append(t._version)
    t[1] = 7.0
    versions.append(t._version)
    _ = t + 1  # out-of-place: no bump
    versions.append(t._version)
    assert versions == [0, 1, 2, 3, 3]
    assert backend.values(t) == [2.0, 7.0, 2.0]


# ---------------------------------------------------------------- AG-LEAF-INPLACE


@pytest.mark.claim("AG-LEAF-INPLACE.error")
def test_in_place_add_on_leaf_that_requires_grad_fails(backend, ledger_extra):
    w = backend.tensor([1.0], requires_grad=True)
    x = backend.tensor([2.0], requires_grad=True)
    y = (w + x) * (w + 1)
    with pytest.raises(RuntimeError, match=LEAF_INPLACE) as e:
        w.add_(1)  # refused here, at the in-place call, not later at backward
    ledger_extra("message", str(e.value))
    with pytest.raises(RuntimeError, match=LEAF_INPLACE):
        w += 1
    # Nothing happened to w, so the graph is intact: dy/dw = 2 + 3 = 5.
    assert backend.values(w) == [1.0]
    assert w._version == 0
    y.backward()
    assert_values(backend, w.grad, [5.0], rtol=0, atol=0)


@pytest.mark.claim("AG-LEAF-INPLACE.slice")
def test_slice_assignment_on_leaf_is_refused_and_leaves_it_a_leaf(backend, ledger_extra):
    a = backend.tensor([10.0, 5.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_INPLACE) as e:
        a[:] = 0
    message = str(e.value)
    ledger_extra("message", message)
    assert "moved into the graph interior" not in message  # the source's old message
    # The source says a became a non-leaf without a gradient; none of that happens.
    assert a.is_leaf is True
    assert a.requires_grad is True
    assert a._version == 0
    assert backend.values(a) == [10.0, 5.0, 2.0, 3.0]
    assert a.grad is None  # no backward yet
    # loss3 = mean(a^2): dloss/da_i = 2 a_i / 4 = a_i / 2.
    (a * a).mean().backward()
    assert_values(backend, a.grad, [5.0, 2.5, 1.0, 1.5], rtol=0, atol=0)


@pytest.mark.claim("AG-LEAF-INPLACE.slice")
def test_slice_assignment_turns_a_no_grad_leaf_into_a_non_leaf(backend):
    # What does become a non-leaf: a leaf that does NOT require grad, written with a value
    # that does. z = [2 q_0, 2 q_1, 2 q_2] afterwards, so dsum(z)/dq_i = 2.
    z = backend.zeros(3)
    q = backend.ones(3, requires_grad=True)
    assert z.is_leaf
    z[:] = q * 2
    assert z.is_leaf is False
    assert z.requires_grad is True
    assert z.grad_fn is not None
    z.sum().backward()
    assert_values(backend, q.grad, [2.0, 2.0, 2.0], rtol=0, atol=0)


# ---------------------------------------------------------------- AG-SAFE-EDIT


@pytest.mark.claim("AG-SAFE-EDIT")
def test_edit_through_data_keeps_leaf(backend):
    a = backend.tensor([10.0, 5.0, 2.0, 3.0], requires_grad=True)
    a.data.fill_(5.0)
    assert a.is_leaf
    assert backend.values(a) == [5.0] * 4
    # loss = (1/4) sum a_i^2  =>  dloss/da_i = a_i / 2 = 2.5.
    (a * a).mean().backward()
    assert_values(backend, a.grad, [2.5] * 4, rtol=0, atol=0)


@pytest.mark.claim("AG-SAFE-EDIT")
def test_edit_under_no_grad_keeps_leaf(backend):
    a = backend.tensor([10.0, 5.0, 2.0, 3.0], requires_grad=True)
    with backend.no_grad():
        a[:] = 10.0
    assert a.is_leaf
    assert a.requires_grad
    assert backend.values(a) == [10.0] * 4
    # dloss/da_i = a_i / 2 = 5.
    (a * a).mean().backward()
    assert_values(backend, a.grad, [5.0] * 4, rtol=0, atol=0)

    a64 = backend.tensor([10.0, 5.0, 2.0, 3.0], requires_grad=True, dtype=backend.float64)
    assert backend.gradcheck(lambda t: (t * t).mean(), [a64])


# ---------------------------------------------------------------- AG-DATA-VS-DETACH


@pytest.mark.claim("AG-DATA-VS-DETACH")
def test_in_place_change_through_data_gives_silently_wrong_gradient(backend):
    # y = e^a; the backward of exp reuses its saved output: dy/da = y = e^a.
    a = backend.tensor([0.5], requires_grad=True)
    y = a.exp()
    alias = y.data
    assert alias.data_ptr() == y.data_ptr()  # shares y's memory
    assert alias.requires_grad is False
    alias.zero_()
    assert y._version == 0  # invisible to the version counter
    y.sum().backward()  # no error ...
    assert_values(backend, a.grad, [0.0], rtol=0, atol=0)  # ... and a wrong gradient
    assert abs(backend.values(a.grad)[0] - math.exp(0.5)) > 1.6  # the right one is 1.6487


@pytest.mark.claim("AG-DATA-VS-DETACH")
def test_in_place_change_through_detach_is_caught(backend, ledger_extra):
    a = backend.tensor([0.5], requires_grad=True)
    y = a.exp()
    alias = y.detach()
    assert alias.data_ptr() == y.data_ptr()  # shares y's memory too
    assert alias.requires_grad is False
    alias.zero_()
    assert y._version == 1  # detach shares the version counter
    with pytest.raises(RuntimeError, match=MODIFIED_INPLACE) as e:
        y.sum().backward()
    ledger_extra("message", str(e.value))


# ---------------------------------------------------------------- AG-NO-GRAD


@pytest.mark.claim("AG-NO-GRAD.no-grad")
def test_results_under_no_grad_do_not_require_grad(backend):
    x = backend.randn(3, seed=0, requires_grad=True)
    with backend.no_grad():
        y = x + 2
    assert y.requires_grad is False
    assert y.grad_fn is None
    assert x.requires_grad is True
    assert (x + 2).requires_grad is True  # outside the block, tracking is back


@pytest.mark.claim("AG-NO-GRAD.detach")
def test_detach_returns_untracked_tensor_and_leaves_x_alone(backend):
    x = backend.randn(3, seed=0, requires_grad=True)
    before = backend.values(x)
    y = x.detach()
    assert y.requires_grad is False
    assert backend.values(y) == before
    assert x.requires_grad is True
    assert x.is_leaf
    assert backend.values(x) == before


@pytest.mark.claim("AG-NO-GRAD.requires-grad")
def test_requires_grad_off_works_on_leaves(backend):
    x = backend.randn(3, seed=0, requires_grad=True)
    x.requires_grad_(False)
    assert x.requires_grad is False
    assert (x * 2).requires_grad is False


@pytest.mark.claim("AG-NO-GRAD.requires-grad")
def test_requires_grad_off_on_a_computed_tensor_fails(backend, ledger_extra):
    x = backend.randn(3, seed=0, requires_grad=True)
    y = x * 2
    # Stable fragment of the torch message.
    with pytest.raises(
        RuntimeError, match="only change requires_grad flags of leaf variables"
    ) as e:
        y.requires_grad_(False)
    ledger_extra("message", str(e.value))
    assert y.requires_grad is True
    assert y.detach().requires_grad is False  # the way that works
