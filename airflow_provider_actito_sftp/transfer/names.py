"""Remote file names: which are safe to turn into local paths, which are in progress, claim names."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from airflow_provider_actito_sftp.exceptions import UnsafeNameError

IN_PROGRESS_SUFFIXES = (".part", ".filepart", ".tmp", ".partial", ".crdownload")
REPORT_FOLDER = ".actito-sftp-reports"  # in a destination: import reports; never an imported file's name
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
MAX_NAME_BYTES = 255
# ``.NAME.actito-KIND-EPOCH-OWNER-TAG``; markers written before owners existed have no OWNER part.
_MARKER_PATTERN = re.compile(
    r"\.(?P<name>.+)\.actito-(?P<kind>claim|staged)-(?P<epoch>\d{10,})-(?:(?P<owner>[0-9a-f]{12})-)?"
    r"(?P<tag>[0-9a-f]{12,32})",
    re.S,
)
_NEEDS_ESCAPING = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")
_PARTIAL_PATTERN = re.compile(r"\.(?P<name>.+)\.actito-partial-(?:(?P<owner>[0-9a-f]{12})-)?[0-9a-f]{12}", re.S)


def check_remote_name(name: str) -> str:
    """Return ``name`` if it is a plain file name, else raise :class:`UnsafeNameError` saying why.

    Refused: empty, ``.``/``..``, separators (``/`` or ``\\``), NUL or other control characters,
    names that are not valid UTF-8 (decoded with surrogate escapes), and names over 255 bytes.
    """
    shown = f"'{shown_name(name)}'"
    if name in ("", ".", ".."):
        raise UnsafeNameError(f"{shown} is not a file name")
    if "/" in name or "\\" in name:
        raise UnsafeNameError(f"{shown} contains a path separator")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise UnsafeNameError(f"{shown} contains NUL or control characters")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeNameError(f"{shown} is not valid UTF-8") from None
    if len(encoded) > MAX_NAME_BYTES:
        raise UnsafeNameError(f"'{shown_name(name[:40])}'... is longer than {MAX_NAME_BYTES} bytes")
    return name


def shown_name(name: str) -> str:
    """``name`` as it may leave the process (records, XCom, trigger events, log lines): printable UTF-8.

    A remote name is kept as the server sent it, its bytes that are not UTF-8 decoded with surrogate escapes
    (``caf\\udce9.csv`` for Latin-1 ``café.csv``), which JSON and UTF-8 cannot carry. Shown: each such byte and
    each ASCII control character as ``\\xNN`` (``caf\\xe9.csv``), a backslash as ``\\\\`` (so that a shown
    name reads back one way), everything else as it is.
    """
    return "".join(_shown_char(char) for char in name) if _NEEDS_ESCAPING.search(name) else name


def _shown_char(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogate escape)
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:  # any other lone surrogate: not from a decoded name, still not UTF-8
        return f"\\u{code:04x}"
    return char


def owner_id(*parts: str) -> str:
    """A 12-hex-digit id for whoever imports (``dag_id``, ``task_id``, ``run_id``, ``map_index``).

    The try number is left out on purpose: a retry is the same owner and resumes its own claims at once.
    """
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def is_in_progress(name: str, extra_suffixes: tuple[str, ...] = ()) -> bool:
    """Whether a name looks like a file still being written (temporary suffixes, our own claims)."""
    return name.endswith(IN_PROGRESS_SUFFIXES + extra_suffixes) or parse_marker(name) is not None


def plaintext_name(name: str) -> str:
    """``customers.csv.pgp`` -> ``customers.csv`` (the name of the decrypted file)."""
    for suffix in PGP_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class MarkerKind(StrEnum):
    CLAIMED = "claim"  # an importer renamed the file to import it
    STAGED = "staged"  # downloaded and verified (its sha256 is in the name); being published


@dataclass(frozen=True)
class Marker:
    """A remote file renamed by an importer; the name records how far the import got."""

    original: str
    kind: MarkerKind
    since: float
    tag: str  # a random token for claims, the plaintext sha256 (32 hex digits) for staged files
    owner: str = ""  # owner_id() of the run that made it ("" for markers of older versions)

    @property
    def name(self) -> str:
        owner = f"{self.owner}-" if self.owner else ""
        return f".{self.original}.actito-{self.kind.value}-{int(self.since)}-{owner}{self.tag}"

    def fits(self) -> bool:
        """Whether the marker name is short enough for the server (255 bytes)."""
        return len(self.name.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.since

    def staged(self, sha256: str) -> Marker:
        return Marker(self.original, MarkerKind.STAGED, time.time(), sha256[:32], self.owner)


def new_claim(name: str, owner: str) -> Marker:
    return Marker(name, MarkerKind.CLAIMED, time.time(), secrets.token_hex(6), owner)


def parse_marker(name: str) -> Marker | None:
    match = _MARKER_PATTERN.fullmatch(name)
    if match is None:
        return None
    return Marker(match["name"], MarkerKind(match["kind"]), float(match["epoch"]), match["tag"], match["owner"] or "")


def partial_name(final_name: str, owner: str) -> str:
    """The hidden local name content is written under before it is published."""
    return f".{final_name}.actito-partial-{owner}-{secrets.token_hex(6)}"


def too_long_to_import(name: str, owner: str, *, claims: bool) -> str | None:
    """Why an import cannot give ``name`` the names it needs, each within :data:`MAX_NAME_BYTES`; None if it can.

    On the server, the staged marker is the longest (its tag is the 32-digit sha256 where a claim has a 12-digit
    token): a name whose claim fits but staged marker does not would be claimed, downloaded, then fail to stage
    on every run. Locally, the hidden partial file (``.NAME.actito-partial-...``): the conservative length, for
    the remote name itself (a decrypted file's name is shorter by its ``.pgp``).

    :param name: a remote file name (valid UTF-8: :func:`check_remote_name` passed).
    :param owner: the importing owner (:func:`owner_id`), part of every marker.
    :param claims: the import renames the file on the server (``claim="rename"``).
    :return: the reason and the way out, or None.
    """
    size = len(name.encode("utf-8"))
    local_room = MAX_NAME_BYTES - (len(partial_name(name, owner).encode("utf-8")) - size)
    staged = new_claim(name, owner).staged("0" * 64)
    if claims and not staged.fits():
        room = MAX_NAME_BYTES - (len(staged.name.encode("utf-8")) - size)
        in_place = ", or import it with claim='none' (read in place; the ledger remembers it)"
        return (
            f"the name is too long to claim: {size} bytes, and the import renames it on the server to "
            f"'.NAME.actito-staged-...' ({size - room + MAX_NAME_BYTES} bytes), over the {MAX_NAME_BYTES}-byte "
            f"limit of file names: rename it on the server to at most {room} bytes"
            + (in_place if size <= local_room else "")
        )
    if size > local_room:
        return (
            f"the name is too long to import: {size} bytes, and its local partial file '.NAME.actito-partial-...' "
            f"would have {size - local_room + MAX_NAME_BYTES} bytes, over the {MAX_NAME_BYTES}-byte limit of file "
            f"names: rename it on the server to at most {local_room} bytes"
        )
    return None


def report_file_name(owner: str) -> str:
    """A new import report's name in :data:`REPORT_FOLDER`: ``<UTC time>-<owner>-<random>.jsonl`` (sorts by time)."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{owner or 'no-owner'}-{secrets.token_hex(3)}.jsonl"


def partial_owner(name: str) -> str | None:
    """The owner of a local partial file (``""`` for older partials), or None if ``name`` is not one."""
    match = _PARTIAL_PATTERN.fullmatch(name)
    return None if match is None else match["owner"] or ""
