"""Autograd back ends the autograd specs run against.

The autograd specs characterize *an engine*: they build tensors, run backward passes and read
gradients through a :class:`Backend`, and compute their expected values with plain Python (the
oracle never goes through the engine). Today the only engine is PyTorch; a second, from-scratch
engine can be added to :data:`BACKENDS` and every autograd spec will run against it too.

What a back end provides:

* ``tensor``/``ones``/``eye``/``zeros``/``randn``/``cat`` to make tensors (the tensors
  themselves carry the operator overloads, ``backward``, ``grad``, ``grad_fn``, ``is_leaf``,
  ``retain_grad``, ``register_hook``, ``detach``, ``data`` and ``_version`` with PyTorch's meaning);
* ``grad`` (``torch.autograd.grad``), ``no_grad`` (a context manager), ``bce_with_logits``;
* ``gradcheck``/``gradgradcheck``: a finite-difference check of the engine's own gradients;
* ``values``: a tensor as nested Python floats, so that specs compare with plain numbers.

Test modules turn it into a fixture (kept out of conftest.py on purpose)::

    @pytest.fixture(params=backends.names())
    def backend(request):
        return backends.get(request.param)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import torch

__all__ = ["BACKENDS", "Backend", "TorchBackend", "assert_values", "get", "names"]


class Backend(Protocol):
    """What an autograd engine must offer to run the autograd specs."""

    name: str
    float32: Any
    float64: Any

    def tensor(self, data: Any, *, requires_grad: bool = False, dtype: Any = None) -> Any: ...
    def ones(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any: ...
    def zeros(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any: ...
    def eye(self, n: int, *, requires_grad: bool = False, dtype: Any = None) -> Any: ...
    def cat(self, tensors: Sequence[Any], dim: int = 0) -> Any: ...
    def randn(self, *shape: int, seed: int, requires_grad: bool = False) -> Any: ...
    def grad(
        self, outputs: Any, inputs: Any, *, create_graph: bool = False, retain_graph: Any = None
    ) -> tuple[Any, ...]: ...
    def no_grad(self) -> AbstractContextManager[Any]: ...
    def bce_with_logits(self, logits: Any, target: Any) -> Any: ...
    def gradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool: ...
    def gradgradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool: ...
    def values(self, t: Any) -> Any: ...


class TorchBackend:
    """PyTorch (CPU) as the engine under test."""

    name = "torch"
    float32 = torch.float32
    float64 = torch.float64

    def tensor(self, data: Any, *, requires_grad: bool = False, dtype: Any = None) -> torch.Tensor:
        return torch.tensor(data, requires_grad=requires_grad, dtype=dtype)

    def ones(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> torch.Tensor:
        return torch.ones(*shape, requires_grad=requires_grad, dtype=dtype)

    def zeros(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> torch.Tensor:
        return torch.zeros(*shape, requires_grad=requires_grad, dtype=dtype)

    def eye(self, n: int, *, requires_grad: bool = False, dtype: Any = None) -> torch.Tensor:
        return torch.eye(n, requires_grad=requires_grad, dtype=dtype)

    def cat(self, tensors: Sequence[torch.Tensor], dim: int = 0) -> torch.Tensor:
        return torch.cat(list(tensors), dim=dim)

    def randn(self, *shape: int, seed: int, requires_grad: bool = False) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(*shape, generator=generator, requires_grad=requires_grad)

    def grad(
        self,
        outputs: torch.Tensor,
        inputs: torch.Tensor | Sequence[torch.Tensor],
        *,
        create_graph: bool = False,
        retain_graph: bool | None = None,
    ) -> tuple[torch.Tensor, ...]:
        return torch.autograd.grad(
            outputs, inputs, create_graph=create_graph, retain_graph=retain_graph
        )

    def no_grad(self) -> AbstractContextManager[Any]:
        return torch.no_grad()

    def bce_with_logits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, target)

    def gradcheck(self, fn: Callable[..., Any], inputs: Sequence[torch.Tensor]) -> bool:
        return torch.autograd.gradcheck(fn, tuple(inputs), eps=1e-6, atol=1e-5, rtol=1e-3)

    def gradgradcheck(self, fn: Callable[..., Any], inputs: Sequence[torch.Tensor]) -> bool:
        return torch.autograd.gradgradcheck(fn, tuple(inputs), eps=1e-6, atol=1e-5, rtol=1e-3)

    def values(self, t: torch.Tensor) -> Any:
        return t.detach().tolist()


BACKENDS: dict[str, Backend] = {"torch": TorchBackend()}


def names() -> list[str]:
    """The names of the available back ends, in a stable order."""
    return sorted(BACKENDS)


def get(name: str) -> Backend:
    """The back end called ``name`` (a ``KeyError`` names the known ones otherwise)."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise KeyError(f"unknown backend {name!r}; known: {names()}") from None


def assert_values(
    backend: Backend, actual: Any, expected: Any, *, rtol: float, atol: float
) -> None:
    """Compare an engine's tensor with plain Python numbers (the oracle).

    The tensor goes through ``backend.values`` first, so this works for any engine; shapes must
    match exactly.
    """
    got = torch.tensor(backend.values(actual), dtype=torch.float64)
    want = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol)
