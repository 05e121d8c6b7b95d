r"""Row blocks on disk: data for the training core that need not fit in memory.

A *shard directory* holds the rows of $(X, y)$ split into consecutive blocks, one pair of
NumPy ``.npy`` files per block, and a ``manifest.json`` that says what to expect:

```text
shards/
  manifest.json            {"format": "gradspec-shards", "version": 1, "n": ..., "k": ...,
                            "dtype": "float64", "shards": [{"x": ..., "y": ..., "rows": ...,
                            "crc32_x": ..., "crc32_y": ...}, ...], "meta": {...}}
  shard-00000.X.npy        float64 [n_0, k]
  shard-00000.y.npy        float64 [n_0]
  ...
```

Reading goes through NumPy memory maps, a chunk of rows at a time, and gives each chunk's
pages back to the operating system once it has been used, so the memory a reader holds is a
few chunks whatever the size of the data. Every file is checked against the manifest before
its first chunk is served (shape, dtype, row count, file size; a CRC-32 of the bytes with
``verify=True``), and any mismatch is a :class:`ShardError` that names the file.

:func:`make_synthetic_shards` writes a data set of any size in the same bounded memory:
$X = [\,\mathbf 1 \;\; Z\,]$ with $Z_{ij} \sim \mathcal N(0, 1)$, and
$y = X w^\star + \varepsilon$, $\varepsilon_i \sim \mathcal N(0, \sigma^2)$, every draw from
one ``numpy.random.Generator`` seeded with ``seed``, chunk after chunk.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     manifest = make_synthetic_shards(d, rows=10, features=3, seed=0, rows_per_shard=4)
    ...     tuple(tuple(X.shape) for X, y in read_shards(d))
    ((4, 3), (4, 3), (2, 3))
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reference import _validate

__all__ = [
    "ShardError",
    "ShardManifest",
    "make_synthetic_shards",
    "read_manifest",
    "read_shards",
    "verify_shards",
]

FORMAT = "gradspec-shards"
VERSION = 1
MANIFEST = "manifest.json"
#: Rows per chunk served by :func:`read_shards` (2^18 rows of k = 3 float64: 6 MiB of X).
CHUNK_ROWS = 1 << 18
#: Rows per shard file written by :func:`make_synthetic_shards` (2^24: 384 MiB of X at k = 3).
ROWS_PER_SHARD = 1 << 24


class ShardError(ValueError):
    """A shard directory that does not match its manifest: the message names the file."""


@dataclass(frozen=True)
class ShardManifest:
    """What ``manifest.json`` promises about a shard directory.

    Attributes:
        directory: the shard directory.
        n: total number of rows.
        k: number of columns of $X$.
        shards: per shard, a mapping with the file names ``x`` and ``y``, its ``rows`` and
            the CRC-32 of each file (``crc32_x``, ``crc32_y``).
        meta: what the writer recorded (for synthetic data: ``seed``, ``true_weights``,
            ``noise_std``).
    """

    directory: Path
    n: int
    k: int
    shards: tuple[dict[str, Any], ...]
    meta: dict[str, Any]

    def files(self, index: int) -> tuple[Path, Path]:
        """The ``(X, y)`` file paths of shard ``index``."""
        entry = self.shards[index]
        return self.directory / entry["x"], self.directory / entry["y"]


def _directory(directory: object, name: str = "directory") -> Path:
    if not isinstance(directory, str | os.PathLike):
        raise TypeError(f"{name} must be a path, got {type(directory).__name__}")
    return Path(directory)


def read_manifest(directory: str | os.PathLike[str], *, name: str = "directory") -> ShardManifest:
    """Read and check ``manifest.json`` of a shard directory.

    Raises:
        TypeError: ``directory`` is not a path.
        ShardError: the manifest is missing, is not valid JSON, or does not describe a
            gradspec shard directory (its entries are inconsistent); the message names it.
    """
    path = _directory(directory, name) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{path}: no manifest (is this a shard directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ShardError(f"{path}: unreadable manifest ({error})") from None
    try:
        if raw["format"] != FORMAT or raw["version"] != VERSION:
            raise ShardError(f"{path}: not a {FORMAT} v{VERSION} manifest")
        n, k, shards = raw["n"], raw["k"], raw["shards"]
        if raw.get("dtype", "float64") != "float64":
            raise ShardError(f"{path}: dtype must be float64, got {raw['dtype']!r}")
        rows = [int(s["rows"]) for s in shards]
        for s in shards:
            str(s["x"]), str(s["y"]), int(s["crc32_x"]), int(s["crc32_y"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ShardError):
            raise
        raise ShardError(f"{path}: malformed manifest ({error!r})") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (n, k)):
        raise ShardError(f"{path}: n and k must be positive integers, got n={n!r}, k={k!r}")
    if sum(rows) != n or min(rows, default=0) < 1:
        raise ShardError(f"{path}: the shards' rows {rows} do not add up to n = {n}")
    return ShardManifest(path.parent, n, k, tuple(shards), dict(raw.get("meta", {})))


def _open(path: Path, shape: tuple[int, ...]) -> np.memmap:
    """Memory-map one ``.npy`` file, checking its header against the manifest."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ShardError(f"{path}: missing shard file") from None
    except (OSError, ValueError, EOFError) as error:  # EOFError: an empty file
        raise ShardError(f"{path}: not a readable .npy file ({error})") from None
    if not isinstance(array, np.ndarray):  # np.load opens an .npz archive as a mapping
        array.close()
        raise ShardError(f"{path}: not a readable .npy file (an .npz archive)")
    if array.dtype != np.float64 or array.shape != shape:
        raise ShardError(
            f"{path}: expected float64 {list(shape)} from the manifest, "
            f"got {array.dtype} {list(array.shape)}"
        )
    if not array.flags.c_contiguous:
        raise ShardError(f"{path}: expected a C-ordered array")
    return array


def _release(array: np.memmap, start: int, stop: int) -> None:
    """Give the pages of rows ``[start, stop)`` back to the OS (they are clean file pages)."""
    backing = getattr(array, "_mmap", None)
    if backing is None or not hasattr(backing, "madvise"):
        return
    row_bytes = array.strides[0]
    # where the rows start in the mapping: NumPy maps the file from the rows' offset rounded
    # down to ALLOCATIONGRANULARITY (a header of a page or more is not in the mapping)
    first = array.offset % mmap.ALLOCATIONGRANULARITY
    offset = first + start * row_bytes
    page = mmap.PAGESIZE
    begin = (offset + page - 1) // page * page  # only whole pages inside the range
    end = (first + stop * row_bytes) // page * page
    if end > begin:
        backing.madvise(mmap.MADV_DONTNEED, begin, end - begin)


def _crc(path: Path, expected: int) -> None:
    crc = _file_crc(path)
    if crc != expected:
        raise ShardError(
            f"{path}: checksum mismatch (CRC-32 {crc:#010x}, manifest {expected:#010x})"
        )


def read_shards(
    directory: str | os.PathLike[str],
    *,
    shards: Sequence[int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    verify: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    r"""Yield ``(X, y)`` chunks of a shard directory, in order, in bounded memory.

    Each chunk is a read-only view into a memory map (``X`` float64 ``[m, k]``, ``y``
    ``[m]``, $m \le$ ``chunk_rows``); use it before asking for the next one, whose arrival
    releases the previous chunk's pages.

    Args:
        directory: the shard directory (with ``manifest.json``).
        shards: which shards to read, by index (default: all, in order). A data-parallel
            rank passes its own share.
        chunk_rows: rows per chunk, $\ge 1$.
        verify: also check each file's CRC-32 against the manifest before reading it (one
            extra read of the bytes).

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``chunk_rows < 1`` or a shard index out of range.
        ShardError: a file is missing, has the wrong shape, dtype or size, or (with
            ``verify``) the wrong checksum; the message names the file.
    """
    manifest = read_manifest(directory)
    chunk_rows = _validate.integer(chunk_rows, "chunk_rows", 1)
    verify = _validate.boolean(verify, "verify")
    indices = range(len(manifest.shards)) if shards is None else list(shards)
    for i in indices:
        _validate.integer(i, "shards[...]", 0, len(manifest.shards) - 1)
    return _chunks(manifest, indices, chunk_rows, verify)


def _chunks(
    manifest: ShardManifest, indices: Sequence[int], chunk_rows: int, verify: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in indices:
        entry = manifest.shards[i]
        x_path, y_path = manifest.files(i)
        if verify:
            _crc(x_path, int(entry["crc32_x"]))
            _crc(y_path, int(entry["crc32_y"]))
        rows = int(entry["rows"])
        X = _open(x_path, (rows, manifest.k))
        y = _open(y_path, (rows,))
        for start in range(0, rows, chunk_rows):
            stop = min(start + chunk_rows, rows)
            yield X[start:stop], y[start:stop]
            _release(X, start, stop)
            _release(y, start, stop)
        del X, y


def verify_shards(directory: str | os.PathLike[str]) -> ShardManifest:
    """Check every file of a shard directory against its manifest, checksums included.

    Returns:
        The manifest, when everything matches.

    Raises:
        ShardError: the first file that does not match, by name.
    """
    manifest = read_manifest(directory)
    for i, entry in enumerate(manifest.shards):
        x_path, y_path = manifest.files(i)
        _open(x_path, (int(entry["rows"]), manifest.k))
        _open(y_path, (int(entry["rows"]),))
        _crc(x_path, int(entry["crc32_x"]))
        _crc(y_path, int(entry["crc32_y"]))
    return manifest


def _true_weights(k: int) -> np.ndarray:
    """Known weights for synthetic data: $w^\\star = (1, -2, 3, -4, \\dots)$, bias first."""
    return np.array([(i + 1) * (-1) ** i for i in range(k)], dtype=np.float64)


def make_synthetic_shards(
    out: str | os.PathLike[str],
    *,
    rows: int,
    features: int,
    seed: int,
    noise_std: float = 0.1,
    rows_per_shard: int = ROWS_PER_SHARD,
    chunk_rows: int = CHUNK_ROWS,
) -> ShardManifest:
    r"""Write a synthetic least-squares data set as shards, in bounded memory.

    $X = [\,\mathbf 1 \;\; Z\,]$ ``[rows, features]`` (a bias column, then standard normal
    features) and $y = X w^\star + \varepsilon$ with $w^\star = (1, -2, 3, -4, \dots)$ and
    $\varepsilon \sim \mathcal N(0, \sigma^2)$. Each chunk draws its $Z$ and then its
    $\varepsilon$ from one ``numpy.random.default_rng(seed)``, so the data depend only on
    ``seed``, ``rows``, ``features`` and ``chunk_rows``. Files are written through memory
    maps, chunk by chunk, and the manifest last (atomically), so a directory with a manifest
    is complete.

    Args:
        out: the directory to create (it must not exist or be empty).
        rows: total rows $n \ge 1$.
        features: columns of $X$, bias included, $k \ge 1$.
        seed: seed of the generator, ``0 <= seed < 2**63``.
        noise_std: $\sigma \ge 0$.
        rows_per_shard: rows per shard file, $\ge 1$.
        chunk_rows: rows drawn and written at a time, $\ge 1$ (the memory bound).

    Returns:
        The manifest written.

    Raises:
        TypeError / ValueError: bad arguments (the message names the argument), or ``out``
            exists and is not an empty directory.
    """
    target = _directory(out, "out")
    rows = _validate.integer(rows, "rows", 1)
    features = _validate.integer(features, "features", 1)
    seed = _validate.seed(seed)
    noise_std = _validate.real_number(noise_std, "noise_std", minimum=0)
    rows_per_shard = _validate.integer(rows_per_shard, "rows_per_shard", 1)
    chunk_rows = _validate.integer(chunk_rows, "chunk_rows", 1)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"out must be a new or empty directory, got {str(target)!r}")
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w_star = _true_weights(features)
    entries = []
    for index, first in enumerate(range(0, rows, rows_per_shard)):
        count = min(rows_per_shard, rows - first)
        names = {"x": f"shard-{index:05d}.X.npy", "y": f"shard-{index:05d}.y.npy"}
        X = np.lib.format.open_memmap(target / names["x"], "w+", np.float64, (count, features))
        y = np.lib.format.open_memmap(target / names["y"], "w+", np.float64, (count,))
        # CRC-32 of each file, header first and then the rows as they are written (in file
        # order), so the checksums cost no second read of what was written.
        crc_x = _file_crc(target / names["x"], limit=X.offset)
        crc_y = _file_crc(target / names["y"], limit=y.offset)
        for start in range(0, count, chunk_rows):
            stop = min(start + chunk_rows, count)
            block = X[start:stop]
            block[:, 0] = 1.0
            if features > 1:
                block[:, 1:] = rng.standard_normal((stop - start, features - 1))
            y[start:stop] = block @ w_star + noise_std * rng.standard_normal(stop - start)
            crc_x = zlib.crc32(block, crc_x)
            crc_y = zlib.crc32(y[start:stop], crc_y)
            X.flush()
            y.flush()
            _release(X, start, stop)
            _release(y, start, stop)
        del X, y
        entries.append(
            {
                **names,
                "rows": count,
                "crc32_x": crc_x,
                "crc32_y": crc_y,
            }
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "n": rows,
        "k": features,
        "dtype": "float64",
        "shards": entries,
        "meta": {
            "generator": "numpy.random.default_rng",
            "seed": seed,
            "true_weights": w_star.tolist(),
            "noise_std": noise_std,
            "chunk_rows": chunk_rows,
        },
    }
    tmp = target / (MANIFEST + ".tmp")
    tmp.write_bytes(json.dumps(manifest).encode("ascii"))  # json.dumps escapes non-ASCII
    os.replace(tmp, target / MANIFEST)
    return read_manifest(target)


def _file_crc(path: Path, limit: int | None = None, chunk_bytes: int = 1 << 24) -> int:
    """CRC-32 of a file's bytes (of its first ``limit`` bytes, if given)."""
    crc, left = 0, limit
    with path.open("rb") as handle:
        while block := handle.read(chunk_bytes if left is None else min(chunk_bytes, left)):
            crc = zlib.crc32(block, crc)
            if left is not None:
                left -= len(block)
                if left == 0:
                    break
    return crc
