"""Autograd engines the autograd specs run against, and the protocol they implement.

The autograd specs characterize *an engine*: they build tensors, run backward passes and read
gradients through a :class:`Backend`, and compute their expected values with plain Python (the
oracle never goes through the engine). The engines are chosen on the command line::

    pytest spec_tests --backend torch,engine     # the default: PyTorch and gradspec's engine
    pytest spec_tests --backend mygrad           # a third-party engine (pip install '.[mygrad]')
    pytest spec_tests --backend my_adapter:make_backend   # any importable adapter

The plugin (``gradspec_plugin.plugin``) parametrizes every spec that takes the argument
``backend`` with the selected engines; built-in names are resolved by :func:`get`.

What a back end provides:

* ``name`` (the column of the engines matrix), ``float32``/``float64`` (its dtypes);
* ``tensor``/``ones``/``eye``/``zeros``/``randn``/``cat`` to make tensors (the tensors
  themselves carry the operator overloads, ``backward``, ``grad``, ``grad_fn``, ``is_leaf``,
  ``retain_grad``, ``register_hook``, ``detach``, ``data`` and ``_version`` with PyTorch's meaning);
* ``grad`` (``torch.autograd.grad``), ``no_grad`` (a context manager), ``bce_with_logits``;
* ``gradcheck``/``gradgradcheck``: a finite-difference check of the engine's own gradients;
* ``values``: a tensor as nested Python floats, so that specs compare with plain numbers.

Claims an engine is known not to reproduce are listed, with a reason, in
``spec_tests/engines/<name>.toml`` (or in the adapter's ``expected_differences`` mapping).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import torch

__all__ = [
    "BUILTIN",
    "Backend",
    "EngineBackend",
    "TorchBackend",
    "assert_values",
    "finite_difference_check",
    "get",
    "names",
]


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


class EngineBackend:
    """gradspec's own numpy engine, :mod:`reference.engine`, as the engine under test."""

    name = "engine"

    def __init__(self) -> None:
        from reference import engine

        self.engine = engine
        self.float32 = engine.float32
        self.float64 = engine.float64

    def tensor(self, data: Any, *, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.engine.tensor(data, requires_grad=requires_grad, dtype=dtype)

    def ones(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.engine.ones(*shape, requires_grad=requires_grad, dtype=dtype)

    def zeros(self, *shape: int, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.engine.zeros(*shape, requires_grad=requires_grad, dtype=dtype)

    def eye(self, n: int, *, requires_grad: bool = False, dtype: Any = None) -> Any:
        return self.engine.eye(n, requires_grad=requires_grad, dtype=dtype)

    def cat(self, tensors: Sequence[Any], dim: int = 0) -> Any:
        return self.engine.cat(list(tensors), dim=dim)

    def randn(self, *shape: int, seed: int, requires_grad: bool = False) -> Any:
        return self.engine.randn(*shape, seed=seed, requires_grad=requires_grad)

    def grad(
        self, outputs: Any, inputs: Any, *, create_graph: bool = False, retain_graph: Any = None
    ) -> tuple[Any, ...]:
        return self.engine.grad(
            outputs, inputs, create_graph=create_graph, retain_graph=retain_graph
        )

    def no_grad(self) -> AbstractContextManager[Any]:
        return self.engine.no_grad()

    def bce_with_logits(self, logits: Any, target: Any) -> Any:
        return self.engine.binary_cross_entropy_with_logits(logits, target)

    def gradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool:
        return self.engine.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)

    def gradgradcheck(self, fn: Callable[..., Any], inputs: Sequence[Any]) -> bool:
        return self.engine.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)

    def values(self, t: Any) -> Any:
        return t.detach().tolist()


# Built-in engines by name; a factory is called once per run. mygrad's adapter lives in
# spec_tests/engines/mygrad_adapter.py and needs the optional extra (pip install '.[mygrad]').
BUILTIN: dict[str, str] = {
    "torch": "backends:TorchBackend",
    "engine": "backends:EngineBackend",
    "mygrad": "engines.mygrad_adapter:MygradBackend",
}
_loaded: dict[str, Backend] = {}


def names() -> list[str]:
    """The names of the built-in back ends, in a stable order."""
    return sorted(BUILTIN)


def get(name: str) -> Backend:
    """The built-in back end called ``name`` (one instance per process).

    Raises:
        KeyError: naming the known back ends, for an unknown name.
        ImportError: the engine's package is not installed.
    """
    if name not in BUILTIN:
        raise KeyError(f"unknown backend {name!r}; known: {names()}")
    if name not in _loaded:
        module_name, _, factory = BUILTIN[name].partition(":")
        module = importlib.import_module(module_name)
        _loaded[name] = getattr(module, factory)()
    return _loaded[name]


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


def finite_difference_check(
    backend: Backend,
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    order: int = 1,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    r"""A gradcheck for any adapter, through the protocol only (for adapters to reuse).

    Compares each row of the Jacobian the engine's ``grad`` gives (the gradient of
    ``sum(onehot_j * output)``) with central differences of the forward pass,
    $(f(x + \varepsilon e_i) - f(x - \varepsilon e_i)) / 2\varepsilon$, within
    ``atol + rtol * |numerical|``. ``order=2`` checks the gradient itself (of
    ``sum(v * output)`` for a fixed ``v``, taken with ``create_graph=True``), that is the
    second derivatives. Inputs must be float64. Raises ``AssertionError`` on a mismatch.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    xs = list(inputs)
    wrt = [i for i, x in enumerate(xs) if x.requires_grad]

    def outputs(*args: Any) -> list[Any]:
        out = fn(*args)
        return list(out) if isinstance(out, tuple | list) else [out]

    check = outputs
    if order == 2:
        weights = [
            backend.tensor(
                np.random.default_rng(k).standard_normal(np.shape(backend.values(o))).tolist(),
                dtype=backend.float64,
            )
            for k, o in enumerate(outputs(*xs))
        ]

        def check(*args: Any) -> list[Any]:
            total = sum((o * v).sum() for o, v in zip(outputs(*args), weights, strict=True))
            params = [args[i] for i in wrt]
            return list(backend.grad(total, params, create_graph=True, retain_graph=True))

    def moved(i: int, flat_index: int, step: float) -> list[Any]:
        values = np.array(backend.values(xs[i]), dtype=np.float64)
        values.flat[flat_index] += step
        args = list(xs)
        args[i] = backend.tensor(
            values.tolist(), dtype=backend.float64, requires_grad=xs[i].requires_grad
        )
        return [np.array(backend.values(o), dtype=np.float64) for o in check(*args)]

    for k, first in enumerate(check(*xs)):
        shape = np.shape(backend.values(first))
        for j in range(int(np.prod(shape))):
            onehot = np.zeros(shape)
            onehot.flat[j] = 1.0
            out = check(*xs)[k]  # a fresh graph per row: no engine needs retain_graph here
            if out.requires_grad:
                seed = (out * backend.tensor(onehot.tolist(), dtype=backend.float64)).sum()
                rows = backend.grad(seed, [xs[i] for i in wrt], retain_graph=True)
            else:  # a constant output (a linear function's gradient): zero row
                rows = [None] * len(wrt)
            for i, row in zip(wrt, rows, strict=True):
                size = int(np.prod(np.shape(backend.values(xs[i]))))
                analytic = np.zeros(size) if row is None else np.ravel(backend.values(row))
                for n in range(size):
                    plus, minus = moved(i, n, eps)[k], moved(i, n, -eps)[k]
                    numeric = (plus.flat[j] - minus.flat[j]) / (2 * eps)
                    if abs(analytic[n] - numeric) > atol + rtol * abs(numeric):
                        raise AssertionError(
                            f"order-{order} derivative of output {k}[{j}] w.r.t. input {i}[{n}]: "
                            f"engine {analytic[n]!r}, finite differences {numeric!r}"
                        )
    return True
