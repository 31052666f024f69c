"""What one request of the page may cost the API server: the size of its body, and the calls to partners'
servers it may hold, at once and for how long.

- **Bodies**: at most :data:`BODY_LIMIT` bytes (the partner key upload :data:`PARTNER_KEY_BODY_LIMIT`); a larger
  one is refused with 413 before it is read, naming the field where one field carries it.
- **Calls to a partner's server** (host-key fetch, creation, re-pin, location check, Test, SSH key
  activation): at most ``[actito_sftp] interactive_calls`` at once per API server process and
  ``interactive_calls_per_user`` per user; more are refused at once with 429, so they never queue in the
  thread pool Airflow's own endpoints share. Each may take ``interactive_timeout`` seconds in all.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, HTTPException

from airflow_provider_actito_sftp.platform_config import option_int

BODY_LIMIT = 64 * 1024
PARTNER_KEY_BODY_LIMIT = 1024 * 1024  # a key file's bytes, base64-encoded (x 4/3) in JSON
# Routes whose body may be larger, by the end of their path, and the field that carries it.
LARGE_BODIES = {"/partner-key": (PARTNER_KEY_BODY_LIMIT, "public_key")}

Scope = dict[str, Any]


class BodyLimit:
    """ASGI middleware: refuse a request body over its route's limit with 413, before or while it arrives
    (a body sent without ``Content-Length`` is counted as it comes).

    :param app: the plugin's application.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, field = body_limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, field)
            return
        received = 0
        refused = False

        async def counted_receive() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:  # answer now; the route sees a client that left (an exception would be
                    refused = True  # turned into a 400 by FastAPI's body parsing)
                    await _refuse(send, limit, field)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


def body_limit(path: str) -> tuple[int, str | None]:
    """The largest body a route takes, and the field that carries it (None: no one field).

    :param path: the request's path.
    """
    for suffix, (limit, field) in LARGE_BODIES.items():
        if path.rstrip("/").endswith(suffix):
            return limit, field
    return BODY_LIMIT, None


async def _refuse(send: Any, limit: int, field: str | None) -> None:
    what = f"the {field} field" if field else "the request"
    body = json.dumps({"detail": f"{what} is too large: at most {limit // 1024} KiB", "field": field}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServerCallSlots:
    """Counts the page's calls that are connected to partners' servers, in all and per user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: Counter[str] = Counter()

    def take(self, user: str) -> None:
        """Take a slot for ``user``.

        :raises HTTPException: 429 when all slots, or the user's, are taken.
        """
        with self._lock:
            if sum(self._by_user.values()) >= option_int("interactive_calls"):
                raise HTTPException(429, "the server is busy with other connection checks: try again in a moment")
            if self._by_user[user] >= option_int("interactive_calls_per_user"):
                raise HTTPException(
                    429, "you already have connection checks running: wait for them to finish, then try again"
                )
            self._by_user[user] += 1

    def give_back(self, user: str) -> None:
        with self._lock:
            self._by_user[user] -= 1
            if self._by_user[user] <= 0:
                del self._by_user[user]


SLOTS = ServerCallSlots()


async def server_call(user: GetUserDep) -> AsyncIterator[None]:
    """Dependency of routes that reach a partner's server: a slot for the request's duration (or 429). It runs
    on the event loop: a refusal never waits for a thread of the pool."""
    name = user.get_name()
    SLOTS.take(name)
    try:
        yield
    finally:
        SLOTS.give_back(name)


def interactive_timeout() -> float:
    """Seconds a page call may spend on a partner's server (``[actito_sftp] interactive_timeout``)."""
    return float(option_int("interactive_timeout"))


ServerCall = Depends(server_call)
