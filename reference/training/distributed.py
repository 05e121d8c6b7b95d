r"""Data-parallel full-batch gradient descent on ``torch.distributed``, data read from disk.

Full-batch descent on $L(w) = \tfrac12 \lVert X w - y \rVert^2$ needs the data only through

$$
G = X^\top X = \sum_r X_r^\top X_r, \qquad c = X^\top y = \sum_r X_r^\top y_r,
$$

and both are sums over any partition of the rows. So each rank $r$ reads its own shards once
(:func:`~reference.training.shards.read_shards`), streaming every chunk through the same
single-pass Gram kernel as the fast core (:func:`reference.training.fast.gram`, numba where
installed), and one
``all_reduce`` of $k(k+1)/2 + k + 3$ numbers (the upper triangle of $G$, $c$, $y^\top y$, the
row count and an error flag) gives every rank the whole problem. The steps are then the
closed-form ones of :func:`~reference.training.fast.gd_from_gram`, on every rank alike, with
the same divergence detection as :func:`~reference.training.gd_full_batch`: the
communication is paid once, whatever the number of steps.

``mode="per-step"`` does what ``DistributedDataParallel`` does instead: every step, each
rank computes its gradient $X_r^\top (X_r w - y_r)$ from its shards and the ranks all-reduce
it ($k$ numbers a step). It reaches the same weights; its data reads and its messages grow
with the number of steps.

Launch (one process per rank, gloo on the CPU; ``torchrun`` sets ``RANK``/``WORLD_SIZE``):

```bash
torchrun --standalone --nproc-per-node 2 -m reference.training.distributed \
    --shards DIR --steps 1000 --out result.json
```

Without ``--lr`` the rate is $1/\lambda_{\max}(G)$, half the stable bound. Rank 0 writes the
result (``weights``, ``loss``, ``n``, timings per rank) atomically; when any rank fails, no
result file is written and the launch exits non-zero, the failing rank named in the error.

Example:
    >>> import tempfile
    >>> from reference.training.shards import make_synthetic_shards
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = make_synthetic_shards(d, rows=1000, features=3, seed=0, noise_std=0.0)
    ...     result = train_sharded(d, steps=200)
    >>> tuple(round(v, 6) for v in result.weights.tolist())
    (1.0, -2.0, 3.0)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from reference import _validate
from reference.errors import DivergenceError
from reference.training import fast
from reference.training.shards import (
    CHUNK_ROWS,
    ShardError,
    read_manifest,
    read_shards,
)

__all__ = [
    "MODES",
    "DistributedResult",
    "RankTiming",
    "read_shards",
    "shard_assignment",
    "train_sharded",
]

MODES = ("one-shot", "per-step")
#: Seconds a rank waits for its peers in a collective before the launch fails.
DEFAULT_TIMEOUT_S = 60.0
#: Test hook: the rank that kills itself (SIGKILL) at ``GRADSPEC_FAULT_STAGE``.
FAULT_RANK_ENV = "GRADSPEC_FAULT_KILL_RANK"
FAULT_STAGE_ENV = "GRADSPEC_FAULT_STAGE"


@dataclass(frozen=True)
class RankTiming:
    """What one rank did and how long it took (seconds, wall clock)."""

    rank: int
    shards: list[int]
    rows: int
    read_s: float
    reduce_s: float
    step_s: float
    bytes_reduced: int


@dataclass(frozen=True)
class DistributedResult:
    r"""The outcome of :func:`train_sharded` (the same on every rank, but ``timings``).

    Attributes:
        weights: float64 ``[k]``.
        loss: $\tfrac12 \lVert X w - y \rVert^2$ at ``weights``.
        n: rows read by all ranks together.
        lr: the learning rate used.
        steps: steps taken.
        mode: ``"one-shot"`` or ``"per-step"``.
        world_size: number of ranks.
        timings: one :class:`RankTiming` per rank on rank 0 (gathered), this rank's elsewhere.
    """

    weights: torch.Tensor
    loss: float
    n: int
    lr: float
    steps: int
    mode: str
    world_size: int
    timings: list[RankTiming] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (weights as a list)."""
        return {
            "weights": self.weights.tolist(),
            "loss": self.loss,
            "n": self.n,
            "lr": self.lr,
            "steps": self.steps,
            "mode": self.mode,
            "world_size": self.world_size,
            "timings": [asdict(t) for t in self.timings],
        }


def shard_assignment(num_shards: int, world_size: int, rank: int) -> list[int]:
    """The shards rank ``rank`` reads: every ``world_size``-th one, starting at ``rank``.

    Example:
        >>> shard_assignment(5, 2, 1)
        [1, 3]
    """
    num_shards = _validate.integer(num_shards, "num_shards", 0)
    world_size = _validate.integer(world_size, "world_size", 1)
    rank = _validate.integer(rank, "rank", 0, world_size - 1)
    return list(range(rank, num_shards, world_size))


def _group() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, or ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _all_reduce(values: np.ndarray, world_size: int) -> tuple[np.ndarray, float]:
    """Sum a float64 vector over the ranks; return it and the seconds it took."""
    if world_size == 1:
        return values, 0.0
    start = time.perf_counter()
    tensor = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.numpy(), time.perf_counter() - start


def _fault(stage: str, rank: int) -> None:
    """The fault-injection hook of the specs: die like a killed process, at ``stage``.

    It kills the process it runs in, so only the ranks a spec launches ever take it: not
    mutated (see the mutation page), its spec is the killed-rank launch.
    """
    chosen = (os.environ.get(FAULT_STAGE_ENV), os.environ.get(FAULT_RANK_ENV))  # pragma: no mutate
    if chosen == (stage, str(rank)):  # pragma: no mutate
        os.kill(os.getpid(), signal.SIGKILL)  # pragma: no mutate


def _culprit(manifest: Any, index: int, start: int, X: np.ndarray, y: np.ndarray) -> str:
    """Name the file (and rows) behind a non-finite partial sum."""
    x_path, y_path = manifest.files(index)
    bad_x = ~np.isfinite(X).all(axis=1)
    if bad_x.any():
        return f"{x_path} has non-finite entries (first at row {start + int(bad_x.argmax())})"
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        return f"{y_path} has non-finite entries (first at row {start + int(bad_y.argmax())})"
    return f"{x_path}: its sums overflow float64 (entries too large) near row {start}"


def _local_sums(
    directory: Path, shards: list[int], chunk_rows: int, verify: bool
) -> tuple[np.ndarray, np.ndarray, float, int, str | None]:
    """This rank's ``(G, c, y.y, rows, error)`` in one pass over its shards."""
    manifest = read_manifest(directory)
    k = manifest.k
    G = np.zeros((k, k))
    c = np.zeros(k)
    yy = 0.0
    rows = 0
    for index in shards:
        start = 0
        for X, y in read_shards(directory, shards=[index], chunk_rows=chunk_rows, verify=verify):
            # The training core's single-pass kernel (numba where installed), on chunks the
            # reader has already checked: float64, C-ordered, the manifest's shape.
            try:
                g_chunk, c_chunk, yy_chunk = fast._gram(_view(X), _view(y), "auto")
                yy_chunk = fast._y_dot_y(_view(y), yy_chunk)
            except ValueError:
                return G, c, yy, rows, _culprit(manifest, index, start, X, y)
            with np.errstate(over="ignore", invalid="ignore"):  # checked once, after the pass
                G += g_chunk
                c += c_chunk
                yy += yy_chunk
            rows += X.shape[0]
            start += X.shape[0]
    if not (np.isfinite(G).all() and np.isfinite(c).all() and math.isfinite(yy)):
        return G, c, yy, rows, f"{directory}: the sums of this rank's shards overflow float64"
    return G, c, yy, rows, None


def _view(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing the memory of a read-only memory-map chunk (only read from)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def _pack(G: np.ndarray, c: np.ndarray, yy: float, rows: int, failed: bool) -> np.ndarray:
    upper = G[np.triu_indices(len(c))]  # G is k x k, c has k entries
    return np.concatenate([upper, c, [yy, float(rows), 1.0 if failed else 0.0]])


def _unpack(flat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float, int, int]:
    m = k * (k + 1) // 2
    G = np.zeros((k, k))
    G[np.triu_indices(k)] = flat[:m]
    G = G + np.triu(G, 1).T
    c = flat[m : m + k]
    yy, rows, failures = flat[m + k :]
    return G, c, float(yy), int(rows), int(failures)


def _default_lr(G: np.ndarray) -> float:
    """$1/\\lambda_{\\max}(G)$, computed on $G$ scaled to unit size (no overflow)."""
    scale = float(np.abs(G).max())
    if scale == 0.0:
        raise ValueError("X is all zeros: G = X^T X = 0 has no largest eigenvalue to set lr")
    lam = float(np.linalg.eigvalsh(G / scale)[-1]) * scale
    return 1.0 / lam


def _loss(G: np.ndarray, c: np.ndarray, yy: float, w: np.ndarray) -> float:
    r"""$\tfrac12 \lVert Xw - y\rVert^2 = \tfrac12 (w^\top G w - 2 c^\top w + y^\top y)$, which
    is $\ge 0$: rounding below 0 gives 0; terms beyond float64 (weights near the edge of
    divergence) give ``inf``, the quadratic term being the larger, never ``inf - inf``."""
    with np.errstate(over="ignore", invalid="ignore"):
        value = 0.5 * float(w @ G @ w - 2.0 * c @ w + yy)
    return math.inf if math.isnan(value) else max(value, 0.0)


def _per_step(
    directory: Path,
    shards: list[int],
    w: np.ndarray,
    lr: float,
    steps: int,
    chunk_rows: int,
    world_size: int,
    G: np.ndarray,
) -> tuple[np.ndarray, float, float, int]:
    """``steps`` steps, each with one gradient pass and one all-reduce of $k$ numbers;
    ``G`` (reduced already) only names the stable bound if the weights leave float64."""
    reduce_s = read_s = 0.0
    sent = 0
    for t in range(steps):
        start = time.perf_counter()
        grad = np.zeros_like(w)
        with np.errstate(over="ignore", invalid="ignore"):  # the weights are checked below
            for X, y in read_shards(directory, shards=shards, chunk_rows=chunk_rows):
                grad += X.T @ (X @ w - y)
        read_s += time.perf_counter() - start
        grad, seconds = _all_reduce(grad, world_size)
        reduce_s += seconds
        sent += grad.nbytes if world_size > 1 else 0
        with np.errstate(over="ignore", invalid="ignore"):
            w = w - lr * grad
        if not np.isfinite(w).all():
            # G != 0 here: with X = 0 the gradient is 0 and the weights never move
            raise DivergenceError(
                f"gradient descent diverged at step {t + 1} with lr={lr!r}: the weights became "
                f"non-finite; the stable bound is lr < 2/lambda_max(X^T X) = "
                f"{2.0 * _default_lr(G):.6g}"
            )
    return w, read_s, reduce_s, sent


def train_sharded(
    shards: str | os.PathLike[str],
    *,
    steps: int,
    lr: float | None = None,
    w0: torch.Tensor | None = None,
    mode: str = "one-shot",
    chunk_rows: int = CHUNK_ROWS,
    verify: bool = False,
) -> DistributedResult:
    r"""Full-batch gradient descent on the rows of a shard directory, on every rank at once.

    Run it on every rank of an initialised default process group (``torchrun``), or in a
    plain process (one rank). Rank $r$ of $R$ reads shards $r, r + R, r + 2R, \dots$
    (:func:`shard_assignment`). The result equals ``gd_full_batch(X, y, w0, lr, steps)`` on
    the concatenated rows, up to the order of the float64 sums.

    Args:
        shards: the shard directory.
        steps: number of steps, $\ge 0$.
        lr: learning rate $\eta > 0$; ``None`` for $1/\lambda_{\max}(G)$.
        w0: starting weights ``[k]`` (default zeros); not modified.
        mode: ``"one-shot"`` (reduce $G$ and $c$ once, then closed-form steps) or
            ``"per-step"`` (all-reduce the gradient every step, as DDP does).
        chunk_rows: rows per chunk read (the memory bound), $\ge 1$.
        verify: check every file's CRC-32 before reading it.

    Returns:
        A :class:`DistributedResult`; its ``timings`` hold every rank's on rank 0.

    Raises:
        TypeError / ValueError: bad arguments (named), or data that is all zeros when ``lr``
            is ``None``.
        ShardError: a shard file that does not match the manifest or holds non-finite
            values, named; on the other ranks, a ``ShardError`` saying which ranks refused
            their data. Raised on every rank before any step.
        DivergenceError: the weights would leave float64's range (step, ``lr`` and the
            stable bound $2/\lambda_{\max}(G)$ in the message).
    """
    manifest = read_manifest(shards, name="shards")  # TypeError / ShardError, named
    directory = manifest.directory
    k = manifest.k
    steps = _validate.integer(steps, "steps", 0)
    mode = _validate.choice(mode, "mode", MODES)
    chunk_rows = _validate.integer(chunk_rows, "chunk_rows", 1)
    verify = _validate.boolean(verify, "verify")
    eta = None if lr is None else _validate.positive_finite(lr, "lr")
    if w0 is None:
        w = np.zeros(k)
    else:
        w0 = _validate.tensor(w0, "w0", finite=True)
        if w0.shape != (k,):
            raise ValueError(f"w0 must have shape [{k}] (the shards' k), got {tuple(w0.shape)}")
        w = w0.detach().to(torch.float64).numpy().copy()
    rank, world_size = _group()
    mine = shard_assignment(len(manifest.shards), world_size, rank)

    # One pass over this rank's shards, then one all-reduce: everything the steps need.
    start = time.perf_counter()
    G, c, yy, rows, error = _local_sums(directory, mine, chunk_rows, verify)
    read_s = time.perf_counter() - start
    _fault("read", rank)  # pragma: no mutate
    flat, reduce_s = _all_reduce(_pack(G, c, yy, rows, error is not None), world_size)
    sent = flat.nbytes if world_size > 1 else 0
    _fault("reduce", rank)  # pragma: no mutate
    G, c, yy, n, failures = _unpack(flat, k)
    if error is not None:
        raise ShardError(f"rank {rank}: {error}")
    if failures:
        raise ShardError(f"rank {rank}: {failures} other rank(s) refused their shards")
    if n != manifest.n:
        raise ShardError(f"{directory}: read {n} rows, the manifest promises {manifest.n}")

    eta = _default_lr(G) if eta is None else eta
    step_start = time.perf_counter()
    if mode == "one-shot":
        w_out = fast.gd_from_gram(
            torch.from_numpy(G), torch.from_numpy(c), torch.from_numpy(w), eta, steps
        ).numpy()
    else:
        w_out, step_read_s, step_reduce_s, step_sent = _per_step(
            directory, mine, w, eta, steps, chunk_rows, world_size, G
        )
        read_s += step_read_s
        reduce_s += step_reduce_s
        sent += step_sent
    step_s = time.perf_counter() - step_start
    timing = RankTiming(rank, mine, rows, read_s, reduce_s, step_s, sent)
    timings = [timing]
    if world_size > 1:
        gathered: list[Any] = [None] * world_size
        dist.all_gather_object(gathered, timing)
        timings = gathered
    return DistributedResult(
        weights=torch.from_numpy(np.asarray(w_out, dtype=np.float64).copy()),
        loss=_loss(G, c, yy, np.asarray(w_out)),
        n=n,
        lr=eta,
        steps=steps,
        mode=mode,
        world_size=world_size,
        timings=timings,
    )


# ----------------------------------------------------------------------------- the launcher


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(json.dumps(payload).encode("ascii"))  # json.dumps escapes non-ASCII
    os.replace(tmp, path)


# Help texts are documentation, not behaviour: mutation testing leaves those lines alone
# (`# pragma: no mutate`); each option's behaviour is specified in test_distributed.py.
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference.training.distributed",  # pragma: no mutate
        description="Data-parallel full-batch GD (launch with torchrun).",  # pragma: no mutate
    )
    parser.add_argument(
        "--shards",
        required=True,
        help="the shard directory (gradspec shards make)",  # pragma: no mutate
    )
    parser.add_argument(
        "--steps",
        type=int,
        required=True,
        help="number of full-batch steps",  # pragma: no mutate
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1 / lambda_max of the reduced X^T X)",  # pragma: no mutate
    )
    parser.add_argument(
        "--out",
        required=True,
        help="result JSON, written atomically by rank 0",  # pragma: no mutate
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="one-shot",
        help="one all-reduce of (G, c), or one per step",  # pragma: no mutate
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=CHUNK_ROWS,
        help="rows read per chunk",  # pragma: no mutate
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check the shards' CRC-32s first",  # pragma: no mutate
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="collective timeout in seconds (> 0)",  # pragma: no mutate
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m reference.training.distributed`` (one process per rank)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 < args.timeout < math.inf:  # also refuses nan
        parser.error(f"--timeout must be a finite number of seconds > 0, got {args.timeout}")
    # torchrun sets WORLD_SIZE and RANK; without them this process is the only rank. The
    # lines marked `no mutate` run only inside torchrun's ranks: the launches of
    # test_distributed.py check them, but mutmut cannot see into child processes.
    world_size = int(os.environ.get("WORLD_SIZE", "1"))  # pragma: no mutate
    rank = int(os.environ.get("RANK", "0"))
    out = Path(args.out)
    if world_size > 1:  # pragma: no mutate
        timeout = timedelta(seconds=args.timeout)  # pragma: no mutate
        dist.init_process_group("gloo", timeout=timeout)  # pragma: no mutate
    try:
        result = train_sharded(
            args.shards,
            steps=args.steps,
            lr=args.lr,
            mode=args.mode,
            chunk_rows=args.chunk_rows,
            verify=args.verify,
        )
        if rank == 0:
            _write_atomically(out, result.to_json())
    except (ValueError, TypeError, DivergenceError, RuntimeError) as error:
        print(f"gradspec distributed: rank {rank} failed: {error}", file=sys.stderr)
        return 1
    finally:
        if world_size > 1 and dist.is_initialized():  # pragma: no mutate
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
