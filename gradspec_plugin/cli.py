"""The console script ``gradspec``: commands grouped by subject.

``gradspec ledger diff OLD.json NEW.json [--json] [--rtol R] [--atol A]`` compares two
ledgers (see :mod:`gradspec_plugin.ledger_diff`). ``gradspec shards make --rows N
--features K --seed S --out DIR`` writes synthetic data as shards and ``gradspec shards
verify DIR`` checks them (see :mod:`reference.training.shards`). Exit status of ``ledger
diff``: 0 when no claim's status changed, 1 when one did; of every command: 2 on a usage
error (a file that is not a ledger or a shard directory, a bad option).

A new command is a function ``run(args) -> int`` registered in its group's
``add_parser`` below; a new group (``gradspec shards ...``) is one more ``_GROUPS`` entry.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

from gradspec_plugin.ledger_diff import (
    ATOL,
    RTOL,
    LedgerError,
    diff_ledgers,
    load_ledger,
    render_text,
)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def run_ledger_diff(args: argparse.Namespace) -> int:
    """``gradspec ledger diff``: print the differences; 1 when a claim's status moved."""
    old = load_ledger(args.old)
    new = load_ledger(args.new)
    diff = diff_ledgers(old, new, rtol=args.rtol, atol=args.atol)
    if args.json:
        payload = {"old_path": args.old, "new_path": args.new, **diff.to_dict()}
        sys.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(diff, args.old, args.new))
    return 1 if diff.moved_claims() else 0


def _add_ledger(group: argparse._SubParsersAction) -> None:
    ledger = group.add_parser("ledger", help="work with ledgers (build/ledger.json)")
    commands = ledger.add_subparsers(dest="command", metavar="COMMAND", required=True)
    diff = commands.add_parser(
        "diff",
        help="which claims moved between two ledgers (exit 1 when a claim's status changed)",
        description=(
            "Compare two ledgers: claims added or removed, claims whose status changed, test "
            "outcomes that changed (with the failure line) and recorded values that changed. "
            "C++ source locations, version strings and float noise within the tolerance are "
            "normalised away and listed apart. Exit 1 when a claim's status changed."
        ),
    )
    diff.add_argument("old", metavar="OLD", help="the reference ledger (the pinned release)")
    diff.add_argument("new", metavar="NEW", help="the ledger compared with it")
    diff.add_argument("--json", action="store_true", help="print JSON for machines")
    diff.add_argument(
        "--rtol", type=_non_negative, default=RTOL, help=f"relative float tolerance ({RTOL:g})"
    )
    diff.add_argument(
        "--atol", type=_non_negative, default=ATOL, help=f"absolute float tolerance ({ATOL:g})"
    )
    diff.set_defaults(run=run_ledger_diff)


def run_shards_make(args: argparse.Namespace) -> int:
    """``gradspec shards make``: write a synthetic shard directory in bounded memory."""
    from reference.training.shards import make_synthetic_shards

    start = time.perf_counter()
    manifest = make_synthetic_shards(
        args.out,
        rows=args.rows,
        features=args.features,
        seed=args.seed,
        noise_std=args.noise_std,
        rows_per_shard=args.rows_per_shard,
        chunk_rows=args.chunk_rows,
    )
    size = sum(p.stat().st_size for p in manifest.directory.glob("*.npy"))
    sys.stdout.write(
        f"wrote {manifest.n} rows x {manifest.k} columns in {len(manifest.shards)} shards "
        f"({size / 2**30:.2f} GiB) to {manifest.directory} in {time.perf_counter() - start:.1f} s\n"
    )
    return 0


def run_shards_verify(args: argparse.Namespace) -> int:
    """``gradspec shards verify``: every file against the manifest, checksums included."""
    from reference.training.shards import verify_shards

    manifest = verify_shards(args.directory)
    shards = len(manifest.shards)
    sys.stdout.write(f"{manifest.directory}: {shards} shards, {manifest.n} rows, ok\n")
    return 0


def _add_shards(group: argparse._SubParsersAction) -> None:
    shards = group.add_parser("shards", help="row blocks on disk for the distributed trainer")
    commands = shards.add_subparsers(dest="command", metavar="COMMAND", required=True)
    make = commands.add_parser(
        "make",
        help="write synthetic least-squares data as shards, in bounded memory",
        description=(
            "X = [1, Z] with standard normal Z, y = X w* + noise, w* = (1, -2, 3, ...); "
            "every draw from numpy.random.default_rng(SEED), a chunk of rows at a time."
        ),
    )
    make.add_argument("--rows", type=int, required=True, help="total rows n")
    make.add_argument("--features", type=int, required=True, help="columns k, bias included")
    make.add_argument("--seed", type=int, required=True, help="seed of the generator")
    make.add_argument("--out", required=True, help="a new (or empty) directory")
    make.add_argument("--noise-std", type=float, default=0.1, help="noise sigma (0.1)")
    make.add_argument("--rows-per-shard", type=int, default=1 << 24, help="rows per file")
    make.add_argument("--chunk-rows", type=int, default=1 << 18, help="rows per write")
    make.set_defaults(run=run_shards_make)
    verify = commands.add_parser("verify", help="check every shard file against the manifest")
    verify.add_argument("directory", help="the shard directory")
    verify.set_defaults(run=run_shards_verify)


_GROUPS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_ledger, _add_shards)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradspec", description="gradspec: executable claims about PyTorch basics"
    )
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    for add in _GROUPS:
        add(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gradspec`` with ``argv`` (default: the command line); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (LedgerError, ValueError, TypeError) as error:  # ShardError is a ValueError
        parser.exit(2, f"gradspec: error: {error}\n")
    return 2  # not reached: parser.exit raises SystemExit


if __name__ == "__main__":
    sys.exit(main())
