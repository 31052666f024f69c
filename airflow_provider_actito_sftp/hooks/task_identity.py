"""Who transfers, by default the Airflow task instance the code runs in.

- **owner**: :func:`~airflow_provider_actito_sftp.transfer.names.owner_id` of dag, task, run and map
  index: one per task instance, the same for each of its tries. Claims and partial files carry it, so a
  retry resumes its own claims at once; an export's delivery log is kept under it, so a retry counts the
  files it already delivered as done.
- **ledger name**: ``<dag_id>.<task_id>``: one per task, the same in every run, so an
  ``after_import="keep"`` import skips what an earlier run of the same task imported (two tasks importing
  one location are independent consumers, unless they name the same ledger).

Outside a task (a script, a test) there is no default owner: pass one. The keep-mode ledger and the
export delivery log live in Airflow Variables, which only a running task can write: outside a task a
keep-mode import is refused and an export keeps no delivery log.
"""

from __future__ import annotations

from airflow.sdk import Context

from airflow_provider_actito_sftp.exceptions import NoTaskContextError
from airflow_provider_actito_sftp.transfer.names import owner_id


def task_owner(context: Context) -> str:
    """The owner id of the context's task instance (the same for each of its tries)."""
    ti = context["ti"]
    return owner_id(ti.dag_id, ti.task_id, ti.run_id, str(getattr(ti, "map_index", -1)))


def task_ledger_name(context: Context) -> str:
    """The import ledger's name for the context's task: ``<dag_id>.<task_id>``."""
    ti = context["ti"]
    return f"{ti.dag_id}.{ti.task_id}"


def running_task_context() -> Context | None:
    """The context of the Airflow task running in this process, or None outside a task."""
    from airflow.sdk import get_current_context

    try:
        return get_current_context()
    except RuntimeError:
        return None


def _require_task(why: str) -> Context:
    context = running_task_context()
    if context is None:
        raise NoTaskContextError(f"no Airflow task is running: {why}")
    return context


def resolve_owner(owner: str | None) -> str:
    """``owner`` if given, else the running task instance's.

    :raises NoTaskContextError: none given and no task is running.
    """
    if owner is not None:
        return owner
    return task_owner(_require_task("owner defaults to the running task instance's; pass owner=... explicitly"))


def resolve_ledger_name(ledger_name: str | None) -> str:
    """The keep-mode ledger's name: ``ledger_name`` if given, else the running task's.

    :raises NoTaskContextError: no task is running (only tasks can write the ledger's Variables).
    """
    context = _require_task(
        "after_import='keep' records imports in Airflow Variables, which only a running task can write; "
        "outside a task use after_import='delete' or 'move'"
    )
    return ledger_name if ledger_name is not None else task_ledger_name(context)


def resolve_delivery_owner(owner: str | None) -> str | None:
    """Whose export delivery log to keep: ``owner`` if given, else the running task instance's; None (no
    log) outside a task.

    :raises NoTaskContextError: an owner given outside a task (only tasks can write the log's Variables).
    """
    context = running_task_context()
    if context is None:
        if owner is not None:
            raise NoTaskContextError(
                "no Airflow task is running: the export delivery log of owner=... lives in Airflow Variables, "
                "which only a running task can write; leave owner out (no delivery log) outside a task"
            )
        return None
    return owner if owner is not None else task_owner(context)
