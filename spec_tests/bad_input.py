"""The bad-input catalog: how to call every public callable of ``reference``, and how not to.

The bad-input suite (``test_bad_input.py``) finds the public callables itself, from the
``__all__`` of every public module of the ``reference`` package, and looks each one up in
:data:`CATALOG`. An entry says how to make a *valid* call (fresh arguments from a seeded numpy
generator) and what *kind* each argument is; the suite then replaces one argument at a time by
the bad values of its kind and checks the contract of gradspec's public boundary:

* a **refused** value (wrong type, ``nan``/``inf`` in a tensor, a bool for a number, a seed out
  of ``[0, 2**63)``, a complex or meta tensor, ...) raises :class:`ValueError` or
  :class:`TypeError` whose message names the argument, and nothing else; a
  :class:`TypeError` also says what it was given (``got str``, ``got None``), unless the
  value is an array refused for its dtype, device or layout;
* an **extreme** value (finite but huge or tiny numbers, an integer tensor where floats are
  expected, an empty or higher-dimensional tensor, a tensor that requires grad) either gives a
  finite result or raises such a clear error (or :class:`~reference.errors.DivergenceError`,
  for trainers);
* whatever happens, no argument's values, ``.grad``, shape or dtype change, and the global
  random number generators of Python, NumPy and torch are not advanced.

A callable that is not an entry point (a result record, an exception class) is listed in
:data:`NOT_ENTRY_POINTS` with the reason; a meta-spec fails when a public callable is in
neither, so a new function is covered as soon as it is exported.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

import reference

# ----------------------------------------------------------------------------- discovery


def public_modules() -> list[str]:
    """Every module of the ``reference`` package whose name has no leading underscore."""
    names = ["reference"]
    for info in pkgutil.walk_packages(reference.__path__, "reference."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def public_callables() -> dict[str, Callable[..., Any]]:
    """``{"module.name": object}`` for every callable in a public module's ``__all__``.

    A name re-exported by a package (``reference.training.gd_full_batch``) is the same object
    as in its defining module; it is listed once, under the defining module.
    """
    found: dict[str, Callable[..., Any]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not callable(obj):
                continue
            home = getattr(obj, "__module__", module_name)
            found.setdefault(f"{home}.{name}", obj)
    return found


# ----------------------------------------------------------------------------- argument kinds

REFUSE = "refuse"
EITHER = "either"
#: non-finite values that a callable only moves (a data loader) come back as they went in
CARRIED = "carried"


@dataclass(frozen=True)
class Bad:
    """One bad value for an argument: a label, how to make it, and what must happen."""

    label: str
    make: Callable[[Any], Any]  # valid value -> bad value
    expect: str = REFUSE


@dataclass(frozen=True)
class Arg:
    """The kind of an argument, and values specific to it.

    Args:
        kind: one of ``tensor``, ``count``, ``seed``, ``flag``, ``real``, ``choice``,
            ``dtype``, ``callable``, ``module``.
        bad: extra refused values (for instance numbers out of the documented range).
        extreme: extra values that must give a finite result or a clear error.
        floating: for a tensor, whether floats are required (integer tensors are then
            refused rather than "either").
        allow_bool: for a tensor, whether a bool tensor is valid input.
        sequence: for a tensor, whether a list of numbers is valid too.
        ndarray: for a tensor, whether a NumPy array is valid too.
        none: whether ``None`` is a valid value.
        passes_through: for a tensor, whether the callable only moves its values (never
            computes with them), so nan and inf inside are carried, not refused.
    """

    kind: str
    bad: tuple[Any, ...] = ()
    extreme: tuple[Any, ...] = ()
    floating: bool = False
    allow_bool: bool = False
    sequence: bool = False
    ndarray: bool = False
    none: bool = False
    passes_through: bool = False


def minimum_of(arg: Arg) -> int:
    """The smallest valid value of a ``count``: the first of 0, 1, 2, ... not listed as bad
    (``bad=(0,)`` makes a count that starts at 1)."""
    smallest = 0
    while smallest in arg.bad:
        smallest += 1
    return smallest


def _const(value: Any) -> Callable[[Any], Any]:
    return lambda _valid: value


def _with_entry(v: torch.Tensor, value: float) -> torch.Tensor:
    bad = v.detach().clone()
    if bad.numel():
        bad.view(-1)[bad.numel() // 2] = value
    else:  # an empty tensor cannot hold a bad value; give it one
        bad = torch.tensor([value], dtype=v.dtype)
    return bad


def _huge(v: torch.Tensor) -> torch.Tensor:
    big = torch.finfo(v.dtype).max / 4 if v.is_floating_point() else 2**62
    out = v.detach().clone()
    if out.numel():
        out.view(-1)[0] = big
        out.view(-1)[-1] = big
    return out


def _tensor_bads(arg: Arg) -> list[Bad]:
    nonfinite = CARRIED if arg.passes_through else REFUSE
    bads = [
        Bad("None", _const(None), EITHER if arg.none else REFUSE),
        Bad("a string", _const("1.0")),
        Bad("a complex tensor", lambda v: v.detach().to(torch.complex128)),
        Bad("a meta tensor", lambda v: torch.empty(v.shape, dtype=v.dtype, device="meta")),
        Bad("nan inside", lambda v: _with_entry(v.detach().double(), float("nan")), nonfinite),
        Bad("inf inside", lambda v: _with_entry(v.detach().double(), float("inf")), nonfinite),
        Bad("-inf inside", lambda v: _with_entry(v.detach().double(), -float("inf")), nonfinite),
        Bad(
            "nan inside, float32",
            lambda v: _with_entry(v.detach().float(), float("nan")),
            nonfinite,
        ),
        Bad("huge finite entries", lambda v: _huge(v.detach().double()), EITHER),
        Bad("huge finite entries, float32", lambda v: _huge(v.detach().float()), EITHER),
        Bad("a 0-d tensor", lambda v: v.detach().reshape(-1)[:1].sum(), EITHER),
        Bad("one more dimension", lambda v: v.detach().unsqueeze(0).clone(), EITHER),
        Bad("empty", lambda v: v.detach().reshape(-1)[:0].clone(), EITHER),
        Bad("requires grad", lambda v: v.detach().double().clone().requires_grad_(), EITHER),
        Bad("float16", lambda v: v.detach().half(), EITHER),
        Bad("non-contiguous", lambda v: _non_contiguous(v.detach()), EITHER),
    ]
    if not arg.allow_bool:
        bads.append(Bad("a bool tensor", lambda v: v.detach() != 0))
    bads.append(
        Bad(
            "an int64 tensor",
            lambda v: v.detach().round().long(),
            REFUSE if arg.floating else EITHER,
        )
    )
    if not arg.sequence:
        bads.append(Bad("a list", lambda v: v.detach().tolist()))
        bads.append(Bad("a float", _const(1.5)))
    if not arg.ndarray:
        bads.append(Bad("a NumPy array", lambda v: v.detach().numpy().copy()))
    return bads


def _non_contiguous(v: torch.Tensor) -> torch.Tensor:
    if v.dim() == 0:
        return v.clone()
    doubled = torch.stack([v, v], dim=-1)
    return doubled[..., 0]


_NUMBER_TYPES = [
    Bad("True", _const(True)),
    Bad("a string", _const("1")),
    Bad("None", _const(None)),
    Bad("a complex number", _const(complex(1, 1))),
    Bad("a list", _const([1])),
]


def _number_bads(arg: Arg) -> list[Bad]:
    common = [b for b in _NUMBER_TYPES if not (arg.none and b.label == "None")]
    if arg.kind == "real":
        out = [
            *common,
            Bad("nan", _const(float("nan"))),
            Bad("inf", _const(float("inf"))),
            Bad("-inf", _const(float("-inf"))),
        ]
    elif arg.kind == "count":
        out = [*common, Bad("a float", _const(2.0)), Bad("-1", _const(-1))]
    elif arg.kind == "seed":
        out = [
            *common,
            Bad("a float", _const(1.0)),
            Bad("-1", _const(-1)),
            Bad("2**63", _const(2**63)),
            Bad("2**64", _const(2**64)),
            Bad("2**63 - 1", _const(2**63 - 1), EITHER),
            Bad("numpy int64", _const(np.int64(3)), EITHER),
        ]
    elif arg.kind == "flag":
        out = [
            Bad("'False'", _const("False")),
            Bad("0", _const(0)),
            Bad("1", _const(1)),
            Bad("None", _const(None)),
            Bad("numpy bool", _const(np.bool_(True)), EITHER),
        ]
    elif arg.kind == "choice":
        out = [
            Bad("an unknown name", _const("no-such-choice")),
            Bad("None", _const(None)),
            Bad("an int", _const(3)),
        ]
    elif arg.kind == "dtype":
        out = [
            Bad("int64", _const(torch.int64)),
            Bad("complex64", _const(torch.complex64)),
            Bad("a string", _const("float32")),
        ]
        if not arg.none:
            out.append(Bad("None", _const(None)))
    elif arg.kind == "callable":
        out = [Bad("None", _const(None)), Bad("a number", _const(3.0))]
    elif arg.kind == "path":
        out = [Bad("None", _const(None)), Bad("a number", _const(3)), Bad("a list", _const([]))]
    elif arg.kind == "module":
        out = [
            Bad("None", _const(None), EITHER if arg.none else REFUSE),
            Bad("a tensor", _const(torch.ones(2, 2))),
            Bad("another module", _const(nn.ReLU())),
        ]
    else:  # pragma: no cover - a catalog mistake
        raise AssertionError(f"unknown argument kind {arg.kind!r}")
    return out


def bad_values(arg: Arg) -> list[Bad]:
    """All bad values of an argument: those of its kind, then its own."""
    out = _tensor_bads(arg) if arg.kind == "tensor" else _number_bads(arg)
    out += [Bad(f"{value!r}", _const(value)) for value in arg.bad]
    out += [Bad(f"{value!r}", _const(value), EITHER) for value in arg.extreme]
    return out


# ----------------------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class Entry:
    """How to call one public callable.

    Attributes:
        valid: builds the keyword arguments of a valid call from a numpy generator.
        args: the arguments to attack, by name, with their kinds.
        trains: the callable trains a model, so ``DivergenceError`` is an accepted answer
            to extreme values.
        call: how to call it, when calling it with the keyword arguments is not enough
            (a class whose use is a method call).
    """

    valid: Callable[[np.random.Generator], dict[str, Any]]
    args: dict[str, Arg]
    trains: bool = False
    call: Callable[..., Any] | None = None
    notes: str = field(default="")


CATALOG: dict[str, Entry] = {}
NOT_ENTRY_POINTS: dict[str, str] = {}


def entry(name: str, **kwargs: Any) -> None:
    CATALOG[name] = Entry(**kwargs)


def _f64(rng: np.random.Generator, *shape: int, low: float = -1.0, high: float = 1.0):
    return torch.from_numpy(rng.uniform(low, high, size=shape))


def _images(rng: np.random.Generator, n: int = 3) -> torch.Tensor:
    images = torch.from_numpy(rng.integers(0, 2, size=(n, 6, 6))).float()
    images[:, 2, 2] = 1.0  # never blank
    return images


T = Arg("tensor")
TF = Arg("tensor", floating=True)
COUNT = Arg("count")
SEED = Arg("seed")
FLAG = Arg("flag")
LR = Arg("real", bad=(0.0, -0.1), extreme=(1e300, 1e-300))


def _digits_image(rng: np.random.Generator) -> dict[str, Any]:
    return {"image": _images(rng, 1)[0], "dim": int(rng.integers(0, 2))}


# --- reference.digits
entry("reference.digits.load_digits", valid=lambda rng: {}, args={})

# --- reference.features
entry(
    "reference.features.projection",
    valid=_digits_image,
    args={
        "image": Arg("tensor", allow_bool=True, bad=(torch.full((6, 6), -1.0),)),
        "dim": Arg("choice", bad=(1.0, True, 2, -1)),
    },
)
for _name in ("normalize", "sequential_normalize"):
    entry(
        f"reference.features.{_name}",
        valid=lambda rng: {"v": _f64(rng, 6, low=0.1, high=3.0)},
        args={"v": Arg("tensor", allow_bool=True, bad=(torch.zeros(6), torch.tensor([1.0, -1.0])))},
    )
entry(
    "reference.features.with_bias",
    valid=lambda rng: {"x": _f64(rng, 4, 6)},
    args={"x": T},
)
entry(
    "reference.features.design_matrix",
    valid=lambda rng: {"images": _images(rng)},
    args={
        "images": Arg("tensor", allow_bool=True, sequence=True, bad=(torch.zeros(2, 6, 6),)),
        "dim": Arg("choice", bad=(1.0, True, 2)),
        "normalization": Arg("choice"),
    },
)

# --- reference.linear
entry(
    "reference.linear.predict",
    valid=lambda rng: {"X": _f64(rng, 5, 3), "w": _f64(rng, 3)},
    args={"X": T, "w": T},
)
for _name in ("least_squares", "normal_equations", "solve_exact"):
    entry(
        f"reference.linear.{_name}",
        valid=lambda rng: {
            "X": _f64(rng, 4, 4) + 3 * torch.eye(4, dtype=torch.float64),
            "y": _f64(rng, 4),
        },
        args={"X": T, "y": T},
    )
entry(
    "reference.linear.classify",
    valid=lambda rng: {"y_pred": _f64(rng, 10, low=0, high=9)},
    args={"y_pred": T},
)
entry(
    "reference.linear.gaussian_nll",
    valid=lambda rng: {"X": _f64(rng, 5, 3), "y": _f64(rng, 5), "w": _f64(rng, 3), "sigma": 0.5},
    args={"X": T, "y": T, "w": T, "sigma": Arg("real", bad=(0.0, -1.0), extreme=(1e-300, 1e300))},
)

# --- reference.descent
entry(
    "reference.descent.descend",
    valid=lambda rng: {
        "grad": lambda x: 2 * x,
        "x0": float(rng.uniform(-5, 5)),
        "lr": 0.1,
        "steps": 5,
    },
    args={
        "grad": Arg("callable"),
        "x0": Arg("real", extreme=(1e300,)),
        "lr": Arg("real", bad=(-0.1,), extreme=(1e300,)),
        "steps": COUNT,
        "dtype": Arg("dtype", none=True),
    },
    trains=True,
)
entry(
    "reference.descent.quadratic_regime",
    valid=lambda rng: {"lr": float(rng.uniform(0.01, 1.5))},
    args={
        "lr": Arg("real", bad=(0.0, -1.0), extreme=(1e300, 1e-300)),
        "curvature": Arg("real", bad=(0.0, -2.0), extreme=(1e300, 1e-300)),
    },
)


def _graph_root(rng: np.random.Generator) -> dict[str, Any]:
    a = torch.tensor(float(rng.uniform(1, 2)), requires_grad=True)
    b = torch.tensor(float(rng.uniform(1, 2)), requires_grad=True)
    return {"root": (a * b + a).exp(), "names": {"a": a, "b": b}}


entry(
    "reference.graph.trace_graph",
    valid=_graph_root,
    args={
        "root": Arg("tensor", bad=(torch.ones(2),)),
        "names": Arg("module", none=True, bad=({"a": 3.0}, {1: torch.ones(1)})),
    },
)
NOT_ENTRY_POINTS["reference.graph.Graph"] = "a result record returned by trace_graph"
NOT_ENTRY_POINTS["reference.graph.GraphNode"] = "a result record returned by trace_graph"


# --- reference.logistic
def _probabilities(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "p": _f64(rng, 8, low=0.01, high=0.99),
        "y": torch.from_numpy(rng.integers(0, 2, 8)).double(),
    }


entry(
    "reference.logistic.accuracy",
    valid=_probabilities,
    args={"p": T, "y": Arg("tensor", allow_bool=True), "threshold": Arg("real", bad=(-0.5, 1.5))},
)
entry(
    "reference.logistic.binary_cross_entropy",
    valid=_probabilities,
    args={"p": Arg("tensor", bad=(torch.full((8,), 1.5, dtype=torch.float64),)), "y": T},
)
entry(
    "reference.logistic.binary_cross_entropy_with_logits",
    valid=lambda rng: {
        "z": _f64(rng, 8, low=-5, high=5),
        "y": torch.from_numpy(rng.integers(0, 2, 8)).double(),
    },
    args={"z": T, "y": T},
)
for _name in ("sigmoid", "sigmoid_derivative"):
    entry(
        f"reference.logistic.{_name}",
        valid=lambda rng: {"z": _f64(rng, 5, low=-5, high=5)},
        args={"z": T},
    )
entry(
    "reference.logistic.decision_boundary",
    valid=lambda rng: {"weight": _f64(rng, 2, low=0.5, high=1.5), "bias": 0.3, "xs": _f64(rng, 7)},
    args={"weight": T, "bias": Arg("real", extreme=(1e300,)), "xs": T},
)


def _blobs(rng: np.random.Generator) -> dict[str, Any]:
    n = 10
    x = torch.cat([_f64(rng, n, 2) + 2, _f64(rng, n, 2) - 2]).float()
    y = torch.cat([torch.zeros(n), torch.ones(n)])
    return {"x": x, "y": y, "max_iters": 5}


entry(
    "reference.logistic.train_logistic",
    valid=_blobs,
    args={
        "x": T,
        "y": T,
        "lr": LR,
        "momentum": Arg("real", bad=(-0.1, 1.5)),
        "max_iters": Arg("count", bad=(0,)),
        "target_accuracy": Arg("real", bad=(-0.1, 1.5)),
        "zero_grad": FLAG,
        "check_every": Arg("count", bad=(0,)),
        "seed": SEED,
    },
    trains=True,
)
entry(
    "reference.logistic.two_blobs",
    valid=lambda rng: {"n_per_class": int(rng.integers(1, 20))},
    args={
        "n_per_class": Arg("count", bad=(0,)),
        "mean_value": Arg("real", extreme=(1e300,)),
        "bias": Arg("real", extreme=(1e300,)),
        "seed": SEED,
    },
)
entry(
    "reference.logistic.LogisticRegression",
    valid=lambda rng: {"in_features": int(rng.integers(1, 5))},
    args={"in_features": Arg("count", bad=(0,))},
)
NOT_ENTRY_POINTS["reference.logistic.LogisticResult"] = "a result record returned by train_logistic"


# --- reference.fc
def _fc(rng: np.random.Generator) -> dict[str, Any]:
    return {"x": _f64(rng, 4, 3), "w": _f64(rng, 3, 2), "b": _f64(rng, 2)}


entry("reference.fc.fully_connected", valid=_fc, args={"x": T, "w": T, "b": T})
entry(
    "reference.fc.fc_backward",
    valid=lambda rng: {"x": _f64(rng, 4, 3), "w": _f64(rng, 3, 2), "grad_out": _f64(rng, 4, 2)},
    args={"x": T, "w": T, "grad_out": T},
)
entry(
    "reference.fc.FullyConnectedFunction",
    valid=_fc,
    args={"x": T, "w": T, "b": T},
    call=lambda x, w, b: __import__("reference.fc", fromlist=["x"]).FullyConnectedFunction.apply(
        x, w, b
    ),
)
entry(
    "reference.fc.FullyConnected",
    valid=lambda rng: {
        "in_features": int(rng.integers(1, 5)),
        "out_features": int(rng.integers(1, 5)),
        "seed": 0,
    },
    args={
        "in_features": Arg("count", bad=(0,)),
        "out_features": Arg("count", bad=(0,)),
        "seed": Arg("seed", none=True),
    },
)


def _linear_module(rng: np.random.Generator) -> dict[str, Any]:
    g = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
    linear = nn.Linear(2 * 3 * 3, 4, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(linear.weight.shape, generator=g, dtype=torch.float64))
    return {"linear": linear, "channels": 2, "height": 3, "width": 3}


entry(
    "reference.fc.linear_to_conv2d",
    valid=_linear_module,
    args={
        "linear": Arg("module"),
        "channels": Arg("count", bad=(0, 3)),
        "height": Arg("count", bad=(0, 2)),
        "width": Arg("count", bad=(0, 4)),
    },
)


# --- reference.training.squared_loss and fast
def _squared(rng: np.random.Generator) -> dict[str, Any]:
    X = _f64(rng, 8, 3)
    return {"X": X, "y": _f64(rng, 8), "w0": _f64(rng, 3), "lr": 0.05}


SQUARED_ARGS = {"X": T, "y": T, "w0": T, "lr": LR}
for _name, _count in (("gd_full_batch", "steps"), ("sgd_per_sample", "epochs")):
    entry(
        f"reference.training.squared_loss.{_name}",
        valid=lambda rng, _c=_count: {**_squared(rng), _c: 3},
        args={**SQUARED_ARGS, _count: COUNT, "history": FLAG, "method": Arg("choice")},
        trains=True,
    )
entry(
    "reference.training.squared_loss.stable_learning_rate",
    valid=lambda rng: {"X": _f64(rng, 8, 3)},
    args={"X": T, "per_sample": FLAG},
)
entry(
    "reference.training.fast.gd_full_batch_fast",
    valid=lambda rng: {**_squared(rng), "steps": 3},
    args={**SQUARED_ARGS, "steps": COUNT, "history": FLAG, "gram_method": Arg("choice")},
    trains=True,
)
entry(
    "reference.training.fast.sgd_per_sample_fast",
    valid=lambda rng: {**_squared(rng), "epochs": 3},
    args={**SQUARED_ARGS, "epochs": COUNT, "history": FLAG},
    trains=True,
)
entry(
    "reference.training.fast.epoch_map",
    valid=lambda rng: {k: v for k, v in _squared(rng).items() if k != "w0"},
    args={"X": T, "y": T, "lr": LR},
    trains=True,
)
entry(
    "reference.training.fast.gram",
    valid=lambda rng: {"X": _f64(rng, 8, 3), "y": _f64(rng, 8)},
    args={"X": T, "y": T, "method": Arg("choice")},
)


def _gram_problem(rng: np.random.Generator) -> dict[str, Any]:
    X = _f64(rng, 8, 3)
    y = _f64(rng, 8)
    return {"G": X.T @ X, "c": X.T @ y, "w0": _f64(rng, 3), "lr": 0.05, "steps": 3}


entry(
    "reference.training.fast.gd_from_gram",
    valid=_gram_problem,
    args={
        "G": T,
        "c": T,
        "w0": T,
        "lr": LR,
        "steps": COUNT,
        "yy": Arg("real", none=True, bad=(-1.0,)),
    },
    trains=True,
)


# --- reference.training.linear_regression
def _regression(rng: np.random.Generator) -> dict[str, Any]:
    X = _f64(rng, 20, 2).float()
    y = (X @ torch.tensor([2.0, -3.4]) + 4.2).float()
    return {"features": X, "labels": y, "batch_size": 5, "num_epochs": 2}


for _name in ("train_linear_scratch", "train_linear_concise"):
    entry(
        f"reference.training.linear_regression.{_name}",
        valid=_regression,
        args={
            "features": T,
            "labels": T,
            "batch_size": Arg("count", bad=(0,)),
            "lr": LR,
            "num_epochs": COUNT,
            "seed": SEED,
            "init_std": Arg("real", bad=(-1.0,), extreme=(1e300,)),
        },
        trains=True,
    )
entry(
    "reference.training.linear_regression.data_iter",
    valid=lambda rng: {"batch_size": 3, "features": _f64(rng, 10, 2), "labels": _f64(rng, 10)},
    # data_iter moves rows without computing with them; checking them for nan would cost a
    # pass over the data that the loader exists to avoid, so nan and inf are carried.
    args={
        "batch_size": Arg("count", bad=(0,)),
        "features": Arg("tensor", passes_through=True),
        "labels": Arg("tensor", passes_through=True),
        "seed": SEED,
    },
    call=lambda **kw: list(__import__("reference.training", fromlist=["x"]).data_iter(**kw)),
)
entry(
    "reference.training.linear_regression.synthetic_data",
    valid=lambda rng: {"w": _f64(rng, 2), "b": 4.2, "n": int(rng.integers(1, 30))},
    args={
        "w": Arg("tensor", sequence=True, ndarray=True),
        "b": Arg("real", extreme=(1e300,)),
        "n": Arg("count", bad=(0,)),
        "noise_std": Arg("real", bad=(-1.0,), extreme=(1e300,)),
        "seed": SEED,
        "dtype": Arg("dtype"),
    },
)
entry(
    "reference.training.linear_regression.ten_x_data",
    valid=lambda rng: {"n": int(rng.integers(2, 30))},
    args={"n": Arg("count", bad=(0, 1)), "seed": SEED},
)
entry(
    "reference.training.linear_regression.fit_ten_x",
    valid=lambda rng: {"steps": 3, "n": 20},
    args={
        "steps": COUNT,
        "lr": LR,
        "standardize": FLAG,
        "seed": SEED,
        "n": Arg("count", bad=(0, 1)),
    },
    trains=True,
)
entry(
    "reference.training.linear_regression.fit_two_points",
    valid=lambda rng: {"epochs": 3},
    args={
        "epochs": COUNT,
        "lr": LR,
        "x": Arg("tensor", sequence=True),
        "y": Arg("tensor", sequence=True),
        "w0": Arg("tensor", sequence=True),
        "b0": Arg("real", extreme=(1e300,)),
        "dtype": Arg("dtype"),
    },
    trains=True,
)
entry(
    "reference.training.linear_regression.least_squares_test_mse",
    valid=lambda rng: {"n_train": int(rng.integers(1, 10)), "true_w": _f64(rng, 3), "n_test": 20},
    args={
        "n_train": Arg("count", bad=(0,)),
        "true_w": Arg("tensor", sequence=True),
        "noise_std": Arg("real", bad=(-1.0,), extreme=(1e300,)),
        "n_test": Arg("count", bad=(0,)),
        "seed": SEED,
    },
)
entry(
    "reference.training.linear_regression.mse_stable_lr",
    valid=lambda rng: {"x": _f64(rng, 10, 2)},
    args={"x": Arg("tensor", ndarray=True), "half": FLAG},
)

# --- reference.training.digit_programs
entry(
    "reference.training.digit_programs.train_digits_manual",
    valid=lambda rng: {"seed": int(rng.integers(0, 100)), "epochs": 3},
    args={"seed": SEED, "epochs": COUNT},
)
entry(
    "reference.training.digit_programs.train_digits_autograd",
    valid=lambda rng: {"seed": int(rng.integers(0, 100)), "steps": 3},
    args={
        "seed": SEED,
        "steps": COUNT,
        "train_dim": Arg("choice", bad=(2, 1.0, True)),
        "infer_dim": Arg("choice", bad=(2, 1.0, True)),
    },
)
for _name in ("DigitProgramResult",):
    NOT_ENTRY_POINTS[f"reference.training.digit_programs.{_name}"] = "a result record"
NOT_ENTRY_POINTS["reference.training.linear_regression.LinearFit"] = "a result record (NamedTuple)"
NOT_ENTRY_POINTS["reference.errors.DivergenceError"] = "an exception class"


# --- reference.engine: the constructors that take gradspec's own arguments (a seed, a size,
# a flag). The rest of the engine, Tensor(data) and tensor(data) included, is held to a
# different contract, PyTorch's own behaviour (nan propagates, data convert as in
# torch.tensor, errors where torch raises), checked by the conformance suite
# (--backend engine) and test_engine.py, so it is listed by module below instead.


entry(
    "reference.engine.functional.randn",
    valid=lambda rng: {"seed": int(rng.integers(0, 100))},
    args={"seed": SEED, "requires_grad": FLAG},
    call=lambda **kw: __import__("reference.engine.functional", fromlist=["x"]).randn(2, 3, **kw),
)
for _name in ("ones", "zeros"):
    entry(
        f"reference.engine.functional.{_name}",
        valid=lambda rng: {},
        args={"requires_grad": FLAG},
        call=lambda _n=_name, **kw: getattr(
            __import__("reference.engine.functional", fromlist=["x"]), _n
        )(2, 3, **kw),
    )
entry(
    "reference.engine.functional.eye",
    valid=lambda rng: {"n": int(rng.integers(1, 5))},
    args={"n": COUNT, "requires_grad": FLAG},
)
# --- reference.training.shards and distributed: a small shard directory made once.
_SHARDS: list[str] = []


def _shard_dir() -> str:
    if not _SHARDS:
        import atexit
        import shutil
        import tempfile

        from reference.training.shards import make_synthetic_shards

        root = tempfile.mkdtemp(prefix="gradspec-bad-input-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        make_synthetic_shards(f"{root}/data", rows=30, features=3, seed=0, rows_per_shard=8)
        _SHARDS.append(f"{root}/data")
    return _SHARDS[0]


def _fresh_out(rng: np.random.Generator) -> dict[str, Any]:
    import tempfile

    root = tempfile.mkdtemp(prefix="gradspec-bad-input-out-")
    return {"out": f"{root}/data", "rows": int(rng.integers(1, 20)), "features": 3, "seed": 0}


PATH = Arg("path")
entry(
    "reference.training.shards.make_synthetic_shards",
    valid=_fresh_out,
    args={
        "out": PATH,
        "rows": Arg("count", bad=(0,)),
        "features": Arg("count", bad=(0,)),
        "seed": SEED,
        "noise_std": Arg("real", bad=(-1.0,), extreme=(1e300,)),
        "rows_per_shard": Arg("count", bad=(0,)),
        "chunk_rows": Arg("count", bad=(0,)),
    },
)
entry(
    "reference.training.shards.read_shards",
    valid=lambda rng: {"directory": _shard_dir(), "chunk_rows": int(rng.integers(1, 9))},
    args={"directory": PATH, "chunk_rows": Arg("count", bad=(0,)), "verify": FLAG},
    call=lambda **kw: list(
        __import__("reference.training.shards", fromlist=["x"]).read_shards(**kw)
    ),
)
for _name in ("read_manifest", "verify_shards"):
    entry(
        f"reference.training.shards.{_name}",
        valid=lambda rng: {"directory": _shard_dir()},
        args={"directory": PATH},
    )
entry(
    "reference.training.distributed.train_sharded",
    valid=lambda rng: {"shards": _shard_dir(), "steps": 3, "w0": _f64(rng, 3)},
    args={
        "shards": PATH,
        "steps": COUNT,
        "lr": Arg("real", none=True, bad=(0.0, -1.0), extreme=(1e300,)),
        "w0": Arg("tensor", none=True),
        "mode": Arg("choice"),
        "chunk_rows": Arg("count", bad=(0,)),
        "verify": FLAG,
    },
    trains=True,
)
entry(
    "reference.training.distributed.shard_assignment",
    valid=lambda rng: {"num_shards": 7, "world_size": 2, "rank": int(rng.integers(0, 2))},
    args={
        "num_shards": COUNT,
        "world_size": Arg("count", bad=(0,)),
        "rank": Arg("count", bad=(2,)),
    },
)
NOT_ENTRY_POINTS["reference.training.shards.ShardError"] = "an exception class"
NOT_ENTRY_POINTS["reference.training.shards.ShardManifest"] = "a record returned by read_manifest"
NOT_ENTRY_POINTS["reference.training.distributed.DistributedResult"] = "a result record"
NOT_ENTRY_POINTS["reference.training.distributed.RankTiming"] = "a result record"

#: Modules whose public callables answer to the conformance suite, not to this catalog.
CONFORMANCE_MODULES: dict[str, str] = {
    "reference.engine.": (
        "the engine's operators and autograd functions reproduce PyTorch's behaviour, bad "
        "input included (nan propagates as in torch); spec_tests/test_engine.py and the "
        "autograd/tensor specs under --backend engine check them"
    ),
}


def exempt(qualname: str) -> str | None:
    """Why ``qualname`` needs no catalog entry, or ``None`` when it does."""
    if qualname in NOT_ENTRY_POINTS:
        return NOT_ENTRY_POINTS[qualname]
    if qualname in CATALOG:
        return None
    for prefix, reason in CONFORMANCE_MODULES.items():
        if qualname.startswith(prefix):
            return reason
    return None


def attacks(entry_: Entry) -> Iterator[tuple[str, Bad]]:
    """Every (argument name, bad value) pair of an entry, in a fixed order."""
    for name, arg in entry_.args.items():
        for bad in bad_values(arg):
            yield name, bad


def signature_names(obj: Callable[..., Any]) -> set[str]:
    """The parameter names of a callable (of ``forward`` for an autograd Function)."""
    return set(inspect.signature(signature_target(obj)).parameters) - {"ctx", "self"}


def signature_target(obj: Callable[..., Any]) -> Callable[..., Any]:
    """What to read a signature from: ``forward`` for an autograd Function, else ``obj``."""
    if isinstance(obj, type) and issubclass(obj, torch.autograd.Function):
        return obj.forward
    return obj
