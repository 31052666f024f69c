"""Choices operators validate at DAG-parse time; import-light on purpose (no SSH or gpg libraries).

:class:`ImportOptions` declares the import options once, with every default: the hook takes them as
:class:`ImportArgs` (the same names, a test pins it), the import operator has one parameter per field with its
default, and the sensor and trigger take ``pattern``, ``regex`` and ``min_age`` defaults from here (and, with the
hook's wait for files, ``poke_interval``'s: :data:`DEFAULT_POKE_INTERVAL`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypedDict, TypeVar, Unpack

from airflow_provider_actito_sftp.exceptions import OptionError

# The signature policy is decided with the rest of PGP (import-light too); operators import it from here.
from airflow_provider_actito_sftp.pgp.verdict import SignaturePolicy as SignaturePolicy

DEFAULT_MIN_AGE = 60.0  # seconds a remote file must be unmodified before it counts as complete
DEFAULT_POKE_INTERVAL = 60.0  # seconds between two looks for files (the sensor, its trigger, the hook's wait)
DEFAULT_MAX_FILE_SIZE = 64 << 30  # bytes of plaintext one imported file may produce
DEFAULT_MAX_EXPANSION_RATIO = 200.0  # plaintext bytes per encrypted byte (past 16 MiB)
DEFAULT_CLAIM_TIMEOUT = 3600.0  # seconds after which another run's claim is taken over

E = TypeVar("E", bound=StrEnum)


class AfterImport(StrEnum):
    """What happens to a remote file once its local copy is committed."""

    KEEP = "keep"
    DELETE = "delete"
    MOVE = "move"


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


class Overwrite(StrEnum):
    """What an export does when a target name already exists on the server."""

    FAIL = "fail"  # refuse the whole batch before anything is uploaded (an earlier try's own delivery excepted)
    REPLACE = "replace"  # replace it atomically


def choice(name: str, value: str, enum: type[E]) -> E:
    """Return ``value`` as a member of ``enum``.

    :param name: the argument's name, for the error message.
    :raises OptionError: (a ``ValueError``) naming the argument and every valid value.
    """
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in enum)
        raise OptionError(f"{name} must be one of {choices}, got {value!r}") from None


def seconds(value: float | timedelta) -> float:
    """A duration given as seconds or as a timedelta, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ImportArgs(TypedDict, total=False):
    """The import options as keyword arguments (strings or enum members, seconds or timedeltas); see
    :meth:`~airflow_provider_actito_sftp.hooks.actito_sftp.ActitoSftpHook.import_files`. Its keys are
    :class:`ImportOptions`' fields (for typing ``**kwargs``; a test pins that they match), its defaults theirs."""

    pattern: str
    regex: bool
    after_import: str
    archive_location: str | None
    quarantine_location: str | None
    signature_policy: str
    min_age: float | timedelta
    claim_timeout: float | timedelta
    on_conflict: str
    claim: str
    file_mode: int
    max_file_size: int | None
    max_expansion_ratio: float | None
    max_files: int | None
    max_bytes: int | None


_CHOICES: dict[str, type[StrEnum]] = {
    "after_import": AfterImport,
    "signature_policy": SignaturePolicy,
    "on_conflict": OnConflict,
    "claim": Claim,
}
_DURATIONS = ("min_age", "claim_timeout")


@dataclass(frozen=True)
class ImportOptions:
    """How to import: every option but where from and where to, validated.

    Build it with :meth:`parse` from :class:`ImportArgs`; the fields mean what the hook's
    ``import_files`` parameters of the same names mean.
    """

    after_import: AfterImport = AfterImport.KEEP
    archive_location: str | None = None
    claim: Claim = Claim.RENAME
    quarantine_location: str | None = None
    pattern: str = "*"
    regex: bool = False
    min_age: float = DEFAULT_MIN_AGE
    signature_policy: SignaturePolicy = SignaturePolicy.IGNORE
    claim_timeout: float = DEFAULT_CLAIM_TIMEOUT
    on_conflict: OnConflict = OnConflict.FAIL
    file_mode: int = 0o600
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    max_expansion_ratio: float | None = DEFAULT_MAX_EXPANSION_RATIO
    max_files: int | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.after_import is AfterImport.MOVE and not self.archive_location:
            raise OptionError("after_import='move' needs archive_location")
        if self.claim is Claim.NONE and (self.after_import is not AfterImport.KEEP or self.quarantine_location):
            raise OptionError("claim='none' (read-only folders) needs after_import='keep' and no quarantine_location")
        for name in ("max_files", "max_bytes"):
            limit = getattr(self, name)
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                raise OptionError(f"{name} must be a whole number of at least 1, or None (no limit), got {limit!r}")

    @classmethod
    def parse(cls, **args: Unpack[ImportArgs]) -> ImportOptions:
        """Validate keyword arguments (:class:`ImportArgs`): choices become enums, durations seconds.

        :raises OptionError: (a ``ValueError``) an invalid choice, or options that do not go together.
        :raises TypeError: an unknown option.
        """
        values: dict[str, Any] = dict(args)
        for name, enum in _CHOICES.items():
            if name in values:
                values[name] = choice(name, values[name], enum)
        for name in _DURATIONS:
            if name in values:
                values[name] = seconds(values[name])
        return cls(**values)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The options' names (its fields, in order): :class:`ImportArgs`' keys."""
        return tuple(option.name for option in fields(cls))

    def locations(self) -> list[str]:
        """The extra locations these options name (archive, quarantine)."""
        return [name for name in (self.archive_location, self.quarantine_location) if name]
