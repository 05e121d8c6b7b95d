"""Shard directories on their own: the manifest's refusals, the files' refusals, chunks that are
read-only memory maps, pages given back while reading and writing, checksums.

The oracles are the messages written out here, ``zlib.crc32`` of the files' bytes, the values
the files were made of, and the resident file pages of this process (``/proc/self/status``).
The specs that read shards as training data live in ``test_distributed.py``.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reference.training.shards import (
    ShardError,
    make_synthetic_shards,
    read_manifest,
    read_shards,
    verify_shards,
)


def _manifest(**changes: Any) -> dict[str, Any]:
    """A manifest of 5 rows in two shards (2 and 3 rows), k = 2, with ``changes`` applied."""
    manifest = {
        "format": "gradspec-shards",
        "version": 1,
        "n": 5,
        "k": 2,
        "dtype": "float64",
        "shards": [
            {"x": "a.X.npy", "y": "a.y.npy", "rows": 2, "crc32_x": 1, "crc32_y": 2},
            {"x": "b.X.npy", "y": "b.y.npy", "rows": 3, "crc32_x": 3, "crc32_y": 4},
        ],
        "meta": {"seed": 0},
    }
    manifest.update(changes)
    return manifest


def _write_manifest(directory: Path, manifest: dict[str, Any] | str | bytes) -> Path:
    """Write ``manifest`` (a dict as JSON, or text or bytes as they are); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    if isinstance(manifest, dict):
        manifest = json.dumps(manifest)
    path.write_bytes(manifest.encode("utf-8") if isinstance(manifest, str) else manifest)
    return path


def _refused(path: Path, message: str) -> str:
    """The whole message of a refusal of ``path``, as a pattern."""
    return rf"^{re.escape(f'{path}: {message}')}$"


# ----------------------------------------------------------------------------- the manifest


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_directory_without_a_manifest_is_refused(tmp_path):
    path = tmp_path / "manifest.json"
    message = "no manifest (is this a shard directory?)"
    with pytest.raises(ShardError, match=_refused(path, message)):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"{not json",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"\xff{}", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    ],
)
def test_a_manifest_that_is_not_json_is_refused(tmp_path, content, reason):
    path = _write_manifest(tmp_path, content)
    with pytest.raises(ShardError, match=_refused(path, f"unreadable manifest ({reason})")):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-BAD-DATA")
def test_the_manifest_is_read_as_utf_8_whatever_the_locale(tmp_path, monkeypatch):
    # A hand-written manifest may hold UTF-8 text. On a machine whose locale encoding is
    # Latin-1 (simulated: io.text_encoding is what pathlib asks for the default encoding),
    # it still reads as UTF-8.
    data = json.dumps(_manifest(meta={"author": "Zoë"}), ensure_ascii=False).encode("utf-8")
    _write_manifest(tmp_path, data)
    real = io.text_encoding
    monkeypatch.setattr(
        io, "text_encoding", lambda encoding, stacklevel=2: real(encoding or "latin-1")
    )
    assert read_manifest(tmp_path).meta == {"author": "Zoë"}


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    "changes", [{"format": "gradspec-shardz"}, {"version": 2}, {"format": "npz", "version": 0}]
)
def test_another_format_or_version_is_refused(tmp_path, changes):
    path = _write_manifest(tmp_path, _manifest(**changes))
    with pytest.raises(ShardError, match=_refused(path, "not a gradspec-shards v1 manifest")):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-BAD-DATA")
def test_only_float64_data_are_accepted_and_the_dtype_may_be_left_out(tmp_path):
    path = _write_manifest(tmp_path, _manifest(dtype="float32"))
    with pytest.raises(ShardError, match=_refused(path, "dtype must be float64, got 'float32'")):
        read_manifest(tmp_path)
    without = _manifest()
    del without["dtype"]  # float64 is the default
    _write_manifest(tmp_path, without)
    manifest = read_manifest(tmp_path)
    assert (manifest.n, manifest.k, manifest.meta) == (5, 2, {"seed": 0})


def _broken_entry(key: str, value: object = None) -> list[dict[str, Any]]:
    """The shards of _manifest() with ``key`` of the second entry removed (or set to value)."""
    shards = _manifest()["shards"]
    if value is None:
        del shards[1][key]
    else:
        shards[1][key] = value
    return shards


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("shards", "error"),
    [
        (_broken_entry("x"), "KeyError('x')"),
        (_broken_entry("y"), "KeyError('y')"),
        (_broken_entry("rows"), "KeyError('rows')"),
        (_broken_entry("crc32_x"), "KeyError('crc32_x')"),
        (
            _broken_entry("crc32_y", "abc"),
            "ValueError(\"invalid literal for int() with base 10: 'abc'\")",
        ),
        ([1, 2], "TypeError(\"'int' object is not subscriptable\")"),
    ],
)
def test_malformed_entries_are_refused(tmp_path, shards, error):
    path = _write_manifest(tmp_path, _manifest(shards=shards))
    with pytest.raises(ShardError, match=_refused(path, f"malformed manifest ({error})")):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("n", "k", "shown"),
    [
        (5, 0, "n=5, k=0"),
        (5.0, 2, "n=5.0, k=2"),
        (5, 2.0, "n=5, k=2.0"),
        (5, "2", "n=5, k='2'"),
        (-5, 2, "n=-5, k=2"),
        (True, 2, "n=True, k=2"),  # JSON true is not the number 1
        (5, True, "n=5, k=True"),
    ],
)
def test_n_and_k_must_be_positive_integers(tmp_path, n, k, shown):
    # the shards' rows add up to 5, so only n and k are wrong
    path = _write_manifest(tmp_path, _manifest(n=n, k=k))
    message = f"n and k must be positive integers, got {shown}"
    with pytest.raises(ShardError, match=_refused(path, message)):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("n", "rows"),
    [(5, [2, 2]), (5, [2, 2, 2]), (5, [0, 5]), (5, [6, -1]), (1, [])],
)
def test_rows_must_add_up_to_n_with_none_empty(tmp_path, n, rows):
    shards = [
        {"x": f"{i}.X.npy", "y": f"{i}.y.npy", "rows": r, "crc32_x": 0, "crc32_y": 0}
        for i, r in enumerate(rows)
    ]
    path = _write_manifest(tmp_path, _manifest(n=n, shards=shards))
    message = f"the shards' rows {rows} do not add up to n = {n}"
    with pytest.raises(ShardError, match=_refused(path, message)):
        read_manifest(tmp_path)


@pytest.mark.claim("DIST-SUM")
def test_one_row_data_and_one_row_shards_are_accepted(tmp_path):
    make_synthetic_shards(tmp_path / "one", rows=1, features=2, seed=0)
    assert read_manifest(tmp_path / "one").n == 1
    make_synthetic_shards(tmp_path / "three", rows=3, features=2, seed=0, rows_per_shard=2)
    manifest = read_manifest(tmp_path / "three")
    assert [entry["rows"] for entry in manifest.shards] == [2, 1]
    assert [len(y) for _, y in read_shards(tmp_path / "three")] == [2, 1]


# -------------------------------------------------------------------------------- the files


@pytest.fixture
def small(tmp_path) -> Path:
    """10 rows, k = 3, in three shards of 4, 4 and 2 rows."""
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=10, features=3, seed=1, rows_per_shard=4, chunk_rows=3)
    return directory


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("shards", "error", "message"),
    [
        ([3], ValueError, "shards[...] must be <= 2, got 3"),
        ([0, -1], ValueError, "shards[...] must be >= 0, got -1"),
        ([1, "0"], TypeError, "shards[...] must be an int, got str"),
    ],
)
def test_shard_indices_are_checked_at_the_call(small, shards, error, message):
    with pytest.raises(error, match=rf"^{re.escape(message)}$"):
        read_shards(small, shards=shards)  # refused before anything is read


@pytest.mark.claim("DIST-SUM")
def test_chosen_shards_are_read_in_the_order_given(small):
    assert [len(y) for _, y in read_shards(small, shards=[2, 0], chunk_rows=3)] == [2, 3, 1]


@pytest.mark.claim("DIST-BAD-DATA")
def test_chunks_are_read_only_memory_maps(small):
    seen = 0
    for X, y in read_shards(small, chunk_rows=3):
        for array in (X, y):
            assert isinstance(array, np.memmap)
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0.0
        seen += len(y)
    assert seen == 10


@pytest.mark.claim("DIST-BAD-DATA")
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "No data left in file"),  # an empty file (a write that never happened)
        (b"not an array", "This file contains pickled (object) data. "),
    ],
)
def test_a_file_that_is_not_npy_is_refused(small, content, reason):
    x_file = read_manifest(small).files(1)[0]
    x_file.write_bytes(content)
    with pytest.raises(ShardError) as refused:
        list(read_shards(small))
    message = str(refused.value)
    assert message.startswith(f"{x_file}: not a readable .npy file ({reason}")
    assert message.endswith(")")


@pytest.mark.claim("DIST-BAD-DATA")
def test_an_npz_archive_in_place_of_a_shard_is_refused(small):
    # np.load opens an .npz archive (a zip of arrays) as a mapping, not as an array
    x_file = read_manifest(small).files(0)[0]
    with x_file.open("wb") as handle:
        np.savez(handle, X=np.zeros((4, 3)))
    with pytest.raises(
        ShardError,
        match=rf"^{re.escape(str(x_file))}: not a readable \.npy file \(an \.npz archive\)$",
    ):
        list(read_shards(small))


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_pickled_array_is_refused_not_unpickled(small):
    # A pickle of exactly the array the manifest expects: loading it would run the pickle's
    # code, so it is refused like any file that is not .npy.
    x_file = read_manifest(small).files(0)[0]
    x_file.write_bytes(np.zeros((4, 3)).dumps())
    with pytest.raises(ShardError) as refused:
        list(read_shards(small))
    assert str(refused.value).startswith(
        f"{x_file}: not a readable .npy file (This file contains pickled (object) data. "
    )


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_fortran_ordered_file_is_refused(small):
    x_file = read_manifest(small).files(0)[0]
    np.save(x_file, np.asfortranarray(np.load(x_file)))  # same shape and dtype, column-major
    with pytest.raises(ShardError, match=_refused(x_file, "expected a C-ordered array")):
        list(read_shards(small))


@pytest.mark.claim("DIST-SUM")
def test_the_files_are_float64_npy_and_the_true_weights_floats(tmp_path):
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=3, features=5, seed=0)
    for name, shape in (("shard-00000.X.npy", (3, 5)), ("shard-00000.y.npy", (3,))):
        with (directory / name).open("rb") as handle:
            assert np.lib.format.read_magic(handle) == (1, 0)
            header = np.lib.format.read_array_header_1_0(handle)
        assert header == (shape, False, np.dtype("<f8"))
    text = (directory / "manifest.json").read_bytes().decode("ascii")
    assert '"true_weights": [1.0, -2.0, 3.0, -4.0, 5.0]' in text  # floats, as the data are
    weights = read_manifest(directory).meta["true_weights"]
    assert [type(w) for w in weights] == [float] * 5


@pytest.mark.claim("DIST-BAD-DATA")
def test_a_writer_stopped_before_the_rename_leaves_no_manifest(tmp_path, monkeypatch):
    # The manifest is written to manifest.json.tmp and renamed into place: a writer stopped
    # before the rename leaves a directory that read_manifest refuses, not a partial one.
    def stopped(source: object, target: object) -> None:
        raise OSError("stopped before the rename")

    monkeypatch.setattr(os, "replace", stopped)
    directory = tmp_path / "data"
    with pytest.raises(OSError, match=r"^stopped before the rename$"):
        make_synthetic_shards(directory, rows=5, features=2, seed=0)
    monkeypatch.undo()
    assert sorted(p.name for p in directory.iterdir()) == [
        "manifest.json.tmp",
        "shard-00000.X.npy",
        "shard-00000.y.npy",
    ]
    assert json.loads((directory / "manifest.json.tmp").read_bytes().decode("ascii"))["n"] == 5
    with pytest.raises(ShardError, match=r"manifest\.json: no manifest"):
        read_manifest(directory)


# ------------------------------------------------------------------- pages, chunks, checksums


def _resident_file_kib() -> int:
    """Resident file pages of this process (RssFile, plus RssShmem should tmp be a tmpfs)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return sum(int(fields[name].split()[0]) for name in ("RssFile", "RssShmem"))


def _npy_with_header(path: Path, array: np.ndarray, length: int) -> None:
    """``array`` as a .npy file (version 1.0) whose header is padded to ``length`` bytes.

    NumPy pads its headers to 64 bytes; any length up to its 10,000-byte limit is valid.
    """
    text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {array.shape}, }}"
    text += " " * (length - 10 - len(text) - 1) + "\n"
    head = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("ascii")
    path.write_bytes(head + array.tobytes())


def _page_header_shards(directory: Path, rows: int) -> np.ndarray:
    """One shard of ``rows`` rows, k = 1, whose files have headers of exactly one page (so
    the rows start on a page boundary); X is all ones, y = 0, 1, 2, ... (returned)."""
    directory.mkdir()
    y = np.arange(rows, dtype=np.float64)
    _npy_with_header(directory / "x.npy", np.ones((rows, 1)), mmap.PAGESIZE)
    _npy_with_header(directory / "y.npy", y, mmap.PAGESIZE)
    crc = {name: zlib.crc32((directory / f"{name}.npy").read_bytes()) for name in "xy"}
    entry = {"x": "x.npy", "y": "y.npy", "rows": rows, "crc32_x": crc["x"], "crc32_y": crc["y"]}
    _write_manifest(directory, _manifest(n=rows, k=1, shards=[entry]))
    return y


@pytest.mark.claim("DIST-SUM")
@pytest.mark.parametrize("chunk_rows", [512, 1000, 1024, 5000])
def test_files_with_a_page_long_header_are_read_whole(tmp_path, chunk_rows):
    # 1024 rows of 8 bytes are two pages after a one-page header; chunks of one page, of
    # less than a page at the end, of the whole file, of more than the file.
    y_expected = _page_header_shards(tmp_path / "data", 1024)
    assert np.load(tmp_path / "data" / "y.npy", mmap_mode="r").offset == mmap.PAGESIZE
    chunks = list(read_shards(tmp_path / "data", chunk_rows=chunk_rows, verify=True))
    assert [len(y) for _, y in chunks] == [
        min(chunk_rows, 1024 - start) for start in range(0, 1024, chunk_rows)
    ]
    y = np.concatenate([np.array(y) for _, y in chunks])
    X = np.concatenate([np.array(X) for X, _ in chunks])
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(X, np.ones((1024, 1)))


@pytest.mark.claim("DIST-SUM")
def test_a_last_chunk_inside_the_last_page_is_written_and_read(tmp_path):
    # 1008 rows of 8 bytes after NumPy's 128-byte header end exactly on a page (128 + 8064 =
    # 8192); chunks of 1000 rows leave a last chunk of 8 rows with no whole page of its own.
    directory = tmp_path / "data"
    make_synthetic_shards(directory, rows=1008, features=1, seed=2, chunk_rows=1000, noise_std=0)
    y_file = read_manifest(directory).files(0)[1]
    assert np.load(y_file, mmap_mode="r").offset == 128
    ys = [np.array(y) for _, y in read_shards(directory, chunk_rows=1000)]
    assert [len(y) for y in ys] == [1000, 8]
    np.testing.assert_array_equal(np.concatenate(ys), np.ones(1008))  # X = 1, w* = 1, no noise


class _MmapWithoutMadvise(mmap.mmap):
    """A memory map as on a platform without ``madvise`` (Windows; Python before 3.8)."""

    def __getattribute__(self, name: str) -> Any:
        if name == "madvise":
            raise AttributeError(name)
        return super().__getattribute__(name)


@pytest.mark.claim("DIST-SUM")
def test_without_madvise_the_shards_are_written_and_read_all_the_same(tmp_path, monkeypatch):
    # chunks of 600 rows of 16 bytes (9,600 bytes) hold whole pages, which are given back
    # where madvise exists and simply kept where it does not
    options = {"rows": 2000, "features": 2, "seed": 3, "chunk_rows": 600}
    make_synthetic_shards(tmp_path / "here", **options)
    expected = [np.array(X) for X, _ in read_shards(tmp_path / "here", chunk_rows=600)]
    monkeypatch.setattr(mmap, "mmap", _MmapWithoutMadvise)  # NumPy maps files with mmap.mmap
    make_synthetic_shards(tmp_path / "there", **options)
    got = [np.array(X) for X, _ in read_shards(tmp_path / "there", chunk_rows=600)]
    assert [len(X) for X in got] == [len(X) for X in expected] == [600, 600, 600, 200]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.claim("DIST-MEMORY")
def test_reading_page_sized_chunks_gives_every_page_back(tmp_path):
    # 2^20 rows, k = 1: 8 MiB per file, rows on page boundaries (page-long headers); chunks of
    # one page each. Every page read is given back once its chunk has been used (the kernel
    # may map a few MiB ahead of the reads: 4 MiB here, whatever the size of the data).
    _page_header_shards(tmp_path / "data", 1 << 20)
    rows_per_page = mmap.PAGESIZE // 8
    before = _resident_file_kib()
    peak, total = before, 0.0
    for X, y in read_shards(tmp_path / "data", chunk_rows=rows_per_page):
        total += float(X.sum()) + float(y.sum())
        peak = max(peak, _resident_file_kib())
    assert total == (1 << 20) + (1 << 20) * ((1 << 20) - 1) / 2
    grown_kib = peak - before
    assert grown_kib < 8 * 1024, f"reading grew the resident file pages by {grown_kib} KiB"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, int]:
    """2^21 rows, k = 1: each file is 16 MiB and a header, more than one 16 MiB read block.
    Written in chunks of 2^16 rows (512 KiB), with the growth of this process's resident file
    pages seen at every checksum update (one per chunk and file)."""
    directory = tmp_path_factory.mktemp("big") / "data"
    real_crc32 = zlib.crc32
    before = _resident_file_kib()
    peak = before

    def watched_crc32(data: Any, value: int = 0) -> int:
        nonlocal peak
        peak = max(peak, _resident_file_kib())
        return real_crc32(data, value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zlib, "crc32", watched_crc32)
        make_synthetic_shards(directory, rows=1 << 21, features=1, seed=9, chunk_rows=1 << 16)
    return directory, peak - before


@pytest.mark.claim("DIST-MEMORY")
def test_writing_holds_chunks_not_the_data(big):
    _, grown_kib = big
    assert grown_kib < 8 * 1024, f"writing grew the resident file pages by {grown_kib} KiB"


@pytest.mark.claim("DIST-BAD-DATA")
def test_checksums_are_the_crc32_of_the_files_bytes(big):
    directory, _ = big
    manifest = verify_shards(directory)
    (entry,) = manifest.shards
    x_file, y_file = manifest.files(0)
    assert y_file.stat().st_size > 1 << 24
    assert entry["crc32_x"] == zlib.crc32(x_file.read_bytes())
    assert entry["crc32_y"] == zlib.crc32(y_file.read_bytes())
