"""Who transfers: the owner and ledger defaults from the running task, and the refusals outside a task."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_actito_sftp.exceptions import NoTaskContextError
from airflow_provider_actito_sftp.hooks.task_identity import (
    resolve_delivery_owner,
    resolve_ledger_name,
    resolve_owner,
    running_task_context,
    task_ledger_name,
    task_owner,
)
from airflow_provider_actito_sftp.transfer.names import owner_id


def _context(map_index: int = -1, run_id: str = "manual__1") -> Any:
    ti = SimpleNamespace(dag_id="exchange", task_id="fetch", run_id=run_id, map_index=map_index, try_number=1)
    return {"ti": ti}


@pytest.fixture
def in_a_task() -> Iterator[Any]:
    """The context a running task has (set as the task runner sets it around ``execute``)."""
    from airflow.sdk.execution_time.context import set_current_context

    context = _context()
    with set_current_context(context):
        yield context


def test_the_owner_is_per_task_instance_and_the_ledger_per_task():
    assert task_owner(_context()) == owner_id("exchange", "fetch", "manual__1", "-1")
    assert task_owner(_context(map_index=2)) != task_owner(_context())  # each mapped instance its own claims
    assert task_owner(_context(run_id="manual__2")) != task_owner(_context())
    assert task_ledger_name(_context()) == task_ledger_name(_context(run_id="manual__2")) == "exchange.fetch"


def test_in_a_task_everything_defaults_to_the_task(in_a_task: Any):
    assert running_task_context() is in_a_task
    assert resolve_owner(None) == task_owner(in_a_task)
    assert resolve_ledger_name(None) == "exchange.fetch"
    assert resolve_delivery_owner(None) == task_owner(in_a_task)


def test_in_a_task_explicit_values_win(in_a_task: Any):
    assert resolve_owner("mine") == "mine"
    assert resolve_ledger_name("shared.ledger") == "shared.ledger"
    assert resolve_delivery_owner("mine") == "mine"


def test_outside_a_task():
    assert running_task_context() is None
    assert resolve_owner("script") == "script"
    with pytest.raises(NoTaskContextError, match="owner defaults to the running task instance's"):
        resolve_owner(None)
    # The keep ledger and the delivery log are Airflow Variables: only a running task can write them.
    with pytest.raises(NoTaskContextError, match="only a running task can write"):
        resolve_ledger_name("script.ledger")
    assert resolve_delivery_owner(None) is None
    with pytest.raises(NoTaskContextError, match="leave owner out"):
        resolve_delivery_owner("script")
