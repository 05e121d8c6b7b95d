"""The console script ``gradspec``: commands grouped by subject.

``gradspec ledger diff OLD.json NEW.json [--json] [--rtol R] [--atol A]`` compares two
ledgers (see :mod:`gradspec_plugin.ledger_diff`). Exit status: 0 when no claim's status
changed, 1 when one did, 2 on a usage error (a file that is not a ledger, a bad option).

A new command is a function ``run(args) -> int`` registered in its group's
``add_parser`` below; a new group (``gradspec shards ...``) is one more ``_GROUPS`` entry.
"""

from __future__ import annotations

import argparse
import json
import sys
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


_GROUPS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_ledger,)


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
    except LedgerError as error:
        parser.exit(2, f"gradspec: error: {error}\n")
    return 2  # not reached: parser.exit raises SystemExit


if __name__ == "__main__":
    sys.exit(main())
