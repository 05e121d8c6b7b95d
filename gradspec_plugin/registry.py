"""Read and validate the claim registry (``spec_tests/claims.toml``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Claim", "RegistryError", "load_registry"]

VERDICTS = ("holds", "erratum")
KINDS = ("spec", "definition")
REQUIRED = ("chapter", "statement", "source", "verdict", "correction", "kind")
OPTIONAL = ("title", "title_zh", "statement_zh")  # the meta-spec requires the _zh ones
ID_PATTERN = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$")


class RegistryError(ValueError):
    """The registry file is malformed; the message names the claim and the field."""


@dataclass(frozen=True)
class Claim:
    """One registered claim."""

    id: str
    chapter: str
    title: str
    statement: str
    source: str
    verdict: str
    correction: str
    kind: str
    title_zh: str = ""  # Chinese title and one-sentence statement, written by us
    statement_zh: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def load_registry(path: Path) -> dict[str, Claim]:
    """Parse ``path`` and return the claims by ID, in file order.

    Raises:
        RegistryError: the file is not valid TOML, has no ``[claims]`` table, or a claim has
            a bad ID, a missing or unknown field, an unknown verdict or kind, or is an
            erratum without a correction.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{path}: not valid TOML: {error}") from None
    table = data.get("claims")
    if not isinstance(table, dict):
        raise RegistryError(f"{path}: expected a [claims.<ID>] table per claim")
    claims: dict[str, Claim] = {}
    for claim_id, fields in table.items():
        where = f"{path.name}: claim {claim_id!r}"
        if not ID_PATTERN.match(claim_id):
            raise RegistryError(
                f"{where}: IDs look like 'GD-TRACE' or 'AG-ACCUM.zeroed' (upper-case words "
                "joined by '-', optional lower-case '.part' suffixes)"
            )
        if not isinstance(fields, dict):
            raise RegistryError(f"{where}: expected a table of fields")
        missing = [name for name in REQUIRED if name not in fields]
        if missing:
            raise RegistryError(f"{where}: missing field(s) {', '.join(missing)}")
        unknown = sorted(set(fields) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise RegistryError(f"{where}: unknown field(s) {', '.join(unknown)}")
        for name, value in fields.items():
            if not isinstance(value, str):
                raise RegistryError(f"{where}: field {name!r} must be a string")
        if fields["verdict"] not in VERDICTS:
            raise RegistryError(f"{where}: verdict must be one of {VERDICTS}")
        if fields["kind"] not in KINDS:
            raise RegistryError(f"{where}: kind must be one of {KINDS}")
        if fields["verdict"] == "erratum" and not fields["correction"].strip():
            raise RegistryError(f"{where}: an erratum needs a correction")
        if not fields["statement"].strip() or not fields["chapter"].strip():
            raise RegistryError(f"{where}: statement and chapter must not be empty")
        claims[claim_id] = Claim(
            id=claim_id,
            title=fields.get("title", "") or claim_id,
            title_zh=fields.get("title_zh", ""),
            statement_zh=fields.get("statement_zh", ""),
            **{name: fields[name] for name in REQUIRED},
        )
    return claims
