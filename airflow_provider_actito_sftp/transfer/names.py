"""Remote file names: which are safe to turn into local paths, which are in progress, claim names."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

IN_PROGRESS_SUFFIXES = (".part", ".filepart", ".tmp", ".partial", ".crdownload")
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
CLAIM_MARKER = ".actito-claim-"
_CLAIM_PATTERN = re.compile(r"^\.(?P<name>.+)\.actito-claim-(?P<epoch>\d{10,})-(?P<token>[0-9a-f]{12})$", re.S)


class UnsafeNameError(ValueError):
    """A remote name that must not become a local path."""


def check_remote_name(name: str) -> str:
    """Return ``name`` if it is a plain file name, else raise :class:`UnsafeNameError` saying why.

    Refused: empty, ``.``/``..``, separators (``/`` or ``\\``), NUL or other control characters,
    names that are not valid UTF-8 (decoded with surrogate escapes), and names over 255 bytes.
    """
    if name in ("", ".", ".."):
        raise UnsafeNameError(f"{name!r} is not a file name")
    if "/" in name or "\\" in name:
        raise UnsafeNameError(f"{name!r} contains a path separator")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise UnsafeNameError(f"{name!r} contains NUL or control characters")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeNameError(f"{name!r} is not valid UTF-8") from None
    if len(encoded) > 255:
        raise UnsafeNameError(f"{name[:40]!r}... is longer than 255 bytes")
    return name


def is_in_progress(name: str, extra_suffixes: tuple[str, ...] = ()) -> bool:
    """Whether a name looks like a file still being written (temporary suffixes, our own claims)."""
    return name.endswith(IN_PROGRESS_SUFFIXES + extra_suffixes) or is_claim(name) or name.startswith(".actito-")


def plaintext_name(name: str) -> str:
    """``customers.csv.pgp`` -> ``customers.csv`` (the name of the decrypted file)."""
    for suffix in PGP_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Claim:
    """A file renamed by an importer to mark it as being imported."""

    original: str
    claim_name: str
    claimed_at: float

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.claimed_at


def new_claim(name: str) -> Claim:
    now = time.time()
    return Claim(name, f".{name}{CLAIM_MARKER}{int(now)}-{secrets.token_hex(6)}", now)


def is_claim(name: str) -> bool:
    return parse_claim(name) is not None


def parse_claim(name: str) -> Claim | None:
    match = _CLAIM_PATTERN.match(name)
    if match is None:
        return None
    return Claim(match["name"], name, float(match["epoch"]))
