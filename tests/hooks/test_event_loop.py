"""Which event loop a synchronous call runs on: asyncio's by default, uvloop when asked and installed."""

from __future__ import annotations

import asyncio
import builtins
import logging
from typing import Any

import pytest

from airflow_provider_actito_sftp.hooks.event_loop import EVENT_LOOP_VARIABLE, loop_factory, run_on_new_loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_the_standard_loop_by_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(EVENT_LOOP_VARIABLE, raising=False)
    assert loop_factory() is None
    assert run_on_new_loop(_loop_module()).startswith("asyncio")


def test_uvloop_when_asked_for(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("uvloop")
    monkeypatch.setenv(EVENT_LOOP_VARIABLE, "uvloop")
    assert run_on_new_loop(_loop_module()).startswith("uvloop")


def test_uvloop_asked_for_but_missing_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    real_import = builtins.__import__

    def no_uvloop(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvloop":
            raise ImportError("no uvloop here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv(EVENT_LOOP_VARIABLE, "uvloop")
    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    with caplog.at_level(logging.WARNING):
        assert loop_factory() is None
    assert "uvloop is not installed" in caplog.text
