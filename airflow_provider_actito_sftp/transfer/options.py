"""Choices operators validate at DAG-parse time; import-light on purpose (no SSH or gpg libraries)."""

from __future__ import annotations

from enum import StrEnum

DEFAULT_MIN_AGE = 60.0  # seconds a remote file must be unmodified before it counts as complete
DEFAULT_MAX_FILE_SIZE = 64 << 30  # bytes of plaintext one imported file may produce
DEFAULT_MAX_EXPANSION_RATIO = 200.0  # plaintext bytes per encrypted byte (past 16 MiB)


class AfterImport(StrEnum):
    """What happens to a remote file once its local copy is committed."""

    KEEP = "keep"
    DELETE = "delete"
    MOVE = "move"


class SignaturePolicy(StrEnum):
    """What to do with signatures on inbound files."""

    IGNORE = "ignore"  # decrypt; signatures are not checked
    ACCEPT = "accept"  # unsigned is fine; a signature must be valid and by the partner's key
    REQUIRE = "require"  # a valid signature by the partner's key is required


class OnConflict(StrEnum):
    """What to do when an imported file's local name is already taken (an earlier file, or another file
    of the same run that maps to the same name, e.g. ``x.csv.pgp`` and ``x.csv.gpg``)."""

    FAIL = "fail"  # refuse the file: it stays on the server, nothing local is replaced
    RENAME = "rename"  # publish under the first free name: x.csv, x-1.csv, x-2.csv, ...
    REPLACE = "replace"  # replace a file left by an earlier run (never one published by this run)


class Claim(StrEnum):
    """How an import takes a file so that concurrent runs do not import it twice."""

    RENAME = "rename"  # rename it to a claim marker on the server (needs rename rights)
    NONE = "none"  # read-only folders: no rename; needs after_import="keep" (the ledger makes it once)
