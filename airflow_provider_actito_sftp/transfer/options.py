"""Choices operators validate at DAG-parse time; import-light on purpose (no SSH or gpg libraries)."""

from __future__ import annotations

from enum import StrEnum


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
