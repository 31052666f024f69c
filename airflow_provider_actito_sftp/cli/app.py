"""Plumbing of the ``actito-sftp`` command line: the click classes, the edit transaction, output, options.

It works against the configured Airflow metadata DB (like the ``airflow`` CLI). Data commands accept
``--json``. Failures print one line on stderr and exit 1; a change to a connection that lives outside the
DB exits 3 after writing what to store instead to a 0600 file. Secrets are never printed.

Read-only commands :func:`load` a connection and print; only changes go through :func:`editing`.
Options for connection fields are generated from the schema by :func:`field_options`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Actor, Change
from airflow_provider_actito_sftp.connection.field import Field, Kind
from airflow_provider_actito_sftp.connection.store import (
    ConnectionRecord,
    ConnectionStore,
)
from airflow_provider_actito_sftp.exceptions import ActitoSftpError

EXIT_FAILURE = 1
EXIT_NOT_SAVED = 3

Function = TypeVar("Function", bound=Callable[..., Any])  # a click command function, for typed decorators


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit 1.

    :param message: what went wrong (never a secret).
    """
    click.echo(f"actito-sftp: error: {message}", err=True)
    sys.exit(EXIT_FAILURE)


def say(text: str) -> None:
    """Print a result on the real stdout (library logging is redirected to stderr while a command runs).

    :param text: the result.
    """
    context = click.get_current_context(silent=True)
    stream = context.find_root().obj if context is not None and context.find_root().obj else sys.stdout
    click.echo(text, file=stream)


def note(text: str) -> None:
    """Print a remark for the user on stderr (not a result).

    :param text: the remark.
    """
    click.echo(text, err=True)


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    """Print a result as JSON or as human text.

    :param data: the result, JSON-serialisable.
    :param as_json: print JSON.
    :param render: turns ``data`` into human text.
    """
    say(json.dumps(data, indent=2, default=str) if as_json else render(data))


class Command(click.Command):
    """Starts Airflow, then runs with results on stdout and everything else (library logging included) on
    stderr. ``--help`` and usage errors never get here: they answer without loading Airflow."""

    def invoke(self, ctx: click.Context) -> Any:
        root = ctx.find_root()
        start_airflow(verbose=root.meta.get(VERBOSE_KEY, False))
        root.obj = sys.stdout
        with redirect_stdout(sys.stderr):
            return super().invoke(ctx)


class Group(click.Group):
    """Turns the provider's expected errors into one-line messages and exit code 1; subgroups alike."""

    command_class = Command
    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ActitoSftpError, ValueError) as e:
            fail(str(e))
        except Exception as e:
            if _missing_tables(e):
                fail(
                    f"the Airflow metadata DB of AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '~/airflow')} has no "
                    "tables yet: run `airflow db migrate` first"
                )
            raise


def _missing_tables(error: Exception) -> bool:
    """Whether ``error`` is the DB saying Airflow's tables do not exist (SQLite, PostgreSQL, MySQL)."""
    text = str(error)
    return type(error).__name__ in ("OperationalError", "ProgrammingError") and (
        "no such table" in text or "does not exist" in text or "doesn't exist" in text
    )


# --- the connection transaction ---------------------------------------------------------------------


CLI = "actito-sftp CLI"


def store() -> ConnectionStore:
    """The metadata DB's ``actito_sftp`` connections; changes are audited as this operating-system user's."""
    return ConnectionStore(actor=Actor.local_user(CLI))


def load(conn_id: str) -> ConnectionRecord:
    """Read a connection, for commands that only show it.

    :param conn_id: the connection id.
    :raises ConnectionNotFoundError: no such ``actito_sftp`` connection.
    """
    return store().get(conn_id)


@contextmanager
def editing(
    conn_id: str,
    secrets_file: Path | None = None,
    change: Change = Change.UPDATE,
    details: dict[str, Any] | None = None,
) -> Iterator[ConnectionRecord]:
    """The configuration service's edit transaction (:func:`management.editing`), the CLI's way.

    An exception inside the block saves nothing. A connection defined outside the metadata DB is written
    complete to ``secrets_file`` (0600) instead, its public part printed, and the command exits 3.

    :param conn_id: the connection id.
    :param secrets_file: where to export a connection that lives outside the DB (default
        ``./<conn_id>.connection.json``); --secrets-file.
    :param change: the kind of change, for Airflow's audit log.
    :param details: public facts for the audit log; the block may still add to it.
    """
    target = secrets_file or Path(f"{conn_id}.connection.json")
    with management.editing(store(), conn_id, change, details=details, export_to=target) as edit:
        yield edit.record
    if edit.exported is None:
        return
    note(
        f"NOT SAVED: connection {conn_id!r} lives in an environment variable or secrets backend, which this "
        "tool cannot write.\nStore the complete connection JSON written to "
        f"{target} (mode 0600, it contains secrets) as AIRFLOW_CONN_{conn_id.upper()} or in your secrets "
        "backend, then delete the file. Its public part:"
    )
    say(json.dumps(edit.exported, indent=2))
    sys.exit(EXIT_NOT_SAVED)


# --- options ----------------------------------------------------------------------------------------

conn_id_argument = click.argument("conn_id", metavar="CONN_ID")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
secrets_file_option = click.option(
    "--secrets-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the connection JSON (0600) if it lives outside the metadata DB.",
)


def field_options(fields: Iterable[Field], *, create: bool = False) -> Callable[[Function], Function]:
    """Options for connection fields, generated from the schema: flag ``--<name>``, help from the field.

    A boolean gets ``--x/--no-x``, an integer its bounds, a choice its choices. Unless ``create``, every
    option defaults to None (left unchanged); with ``create``, required fields are required and the
    others default to the field's default.

    :param fields: the fields, in the order ``--help`` lists them.
    :param create: options of a command that creates a connection.
    """
    options = [_field_option(field, create=create) for field in fields]

    def decorate(function: Function) -> Function:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _field_option(field: Field, *, create: bool) -> Callable[[Function], Function]:
    default = field.default if create and field.kind is not Kind.LIST else None
    if field.kind is Kind.BOOLEAN:
        flags = f"{field.flag}/--no-{field.flag.removeprefix('--')}"
        return click.option(flags, field.name, default=default, help=field.help, show_default=create)
    # an explicit default (even None) would satisfy ``required``: pass one only when there is one
    defaults = {"default": default, "show_default": True} if default is not None else {}
    return click.option(
        field.flag, field.name, type=_click_type(field), required=create and field.required, help=field.help, **defaults
    )


def _click_type(field: Field) -> click.ParamType[Any, Any]:
    if field.kind is Kind.INTEGER:
        return click.IntRange(field.minimum, field.maximum)
    if field.kind is Kind.CHOICE:
        return click.Choice(field.choices)
    return click.STRING


def example(*command_lines: str) -> str:
    """A command's ``epilog``: example command lines, printed by ``--help`` as written.

    :param command_lines: one shell line each.
    """
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in command_lines)


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The field values given on the command line (an option not given is None).

    :param values: option name -> value, as click passes them.
    """
    return {name: value for name, value in values.items() if value is not None}


def read_password() -> str:
    """The first line of stdin; exits 1 if it is empty."""
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("no password on stdin")
    return password


# --- the command line -------------------------------------------------------------------------------


VERBOSE_KEY = "actito_sftp.verbose"


@click.group(cls=Group)
@click.option("-v", "--verbose", is_flag=True, help="Log connection details (never secrets).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Manage Actito SFTP connections: keys, host key pin, locations, policies."""
    ctx.meta[VERBOSE_KEY] = verbose


def start_airflow(verbose: bool) -> None:
    """Load Airflow (its settings, logging and metadata DB) for a command that runs, then keep its logging
    off stdout.

    :param verbose: log at INFO level.
    """
    # Read connections from the metadata DB as Airflow's own server-side processes do.
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    if not verbose:  # Airflow's structlog loggers take their levels from this setting (this process only)
        os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", " ".join(f"{name}=error" for name in QUIET_LOGGERS))
    import airflow  # noqa: F401  - configures logging; configure_logging then moves it to stderr

    configure_logging(verbose)


# Loggers whose warnings concern Airflow or a library, not the user of this command: shown with --verbose.
# Airflow warns that "actito_sftp" is no RFC 3986 URI scheme (the conn_type Airflow itself names), its masker
# that a short value (a port) is not masked, python-gnupg that gpg exited 2 (our own message says why).
QUIET_LOGGERS = (
    "airflow.models.connection",
    "airflow._shared.secrets_masker",
    "airflow.sdk._shared.secrets_masker",
    "gnupg",
)


def configure_logging(verbose: bool) -> None:
    """Keep stdout for results: library chatter goes to stderr; without --verbose, only what concerns the
    user (the provider's warnings, asyncssh's errors).

    :param verbose: log at INFO level.
    """
    level = logging.INFO if verbose else logging.WARNING
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stdout__:
            handler.setStream(sys.stderr)
    for name in ("asyncssh", "airflow_provider_actito_sftp"):
        logging.getLogger(name).setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(level if verbose else logging.ERROR)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="actito-sftp")
