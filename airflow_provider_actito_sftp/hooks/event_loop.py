"""The event loop a synchronous call runs the provider's async code on.

The standard asyncio loop by default. ``ACTITO_SFTP_EVENT_LOOP=uvloop`` runs it on uvloop instead, when
uvloop is installed (else the standard loop, logged once): measured in ``make bench`` (docs/performance.md,
"uvloop") it did not buy the 10% that would justify making it the default.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
EVENT_LOOP_VARIABLE = "ACTITO_SFTP_EVENT_LOOP"


def run_on_new_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a fresh event loop (see the module's docstring for which).

    :param coroutine: the work.
    """
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when asked for and installed; else None (asyncio's own loop)."""
    if os.environ.get(EVENT_LOOP_VARIABLE, "asyncio").strip().lower() != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        log.warning("%s=uvloop but uvloop is not installed: the standard asyncio loop is used", EVENT_LOOP_VARIABLE)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
