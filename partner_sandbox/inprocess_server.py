"""An in-process SSH/SFTP server (asyncssh) for what a real sshd cannot do here.

Used for password authentication when the tests do not run as root (sshd can only check passwords
of other users as root) and, later, for servers that misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass
class InProcessServer:
    host: str
    port: int
    host_key_line: str
    root: Path
    username: str
    password: str
    _loop: asyncio.AbstractEventLoop
    _server: asyncssh.SSHAcceptor
    _thread: threading.Thread

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._username and password == self._password


def start_password_server(
    root: Path,
    username: str,
    password: str,
    sftp_server_class: type[asyncssh.SFTPServer] = asyncssh.SFTPServer,
) -> InProcessServer:
    """Serve SFTP on 127.0.0.1 (random port) rooted at ``root``, accepting one username and password.

    :param sftp_server_class: an ``asyncssh.SFTPServer`` subclass, for servers that misbehave on purpose.
    """
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True, name="inprocess-sshd")
    thread.start()

    def sftp_factory(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return sftp_server_class(chan, chroot=str(root).encode())

    async def listen() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=lambda: _PasswordServer(username, password),
            sftp_factory=sftp_factory,
            allow_scp=False,
        )

    server = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=10)
    port = server.sockets[0].getsockname()[1]
    return InProcessServer(
        host="127.0.0.1",
        port=port,
        host_key_line=host_key.export_public_key("openssh").decode().strip(),
        root=root,
        username=username,
        password=password,
        _loop=loop,
        _server=server,
        _thread=thread,
    )


class _KeyServer(asyncssh.SSHServer):
    """Public-key authentication against a set of keys that can grow while the server runs."""

    def __init__(self, username: str, authorized: set[str]) -> None:
        self._username = username
        self._authorized = authorized

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        line = key.export_public_key("openssh").decode().split()[:2]
        return username == self._username and " ".join(line) in self._authorized


@dataclass
class _LocalUser:
    name: str
    uid: int = -1
    gid: int = -1
    password: str | None = None


class InProcessKeyServer:
    """An SFTP server in this process (asyncssh), rooted at ``root``, with key authentication.

    Stands in for OpenSSH's sshd where it is not installed (``make demo`` on a bare machine). Remote paths
    are relative to the root: a folder ``root/inbound`` is ``/inbound`` on the server.
    """

    host = "127.0.0.1"

    def __init__(self, root: Path, username: str) -> None:
        self.root = root
        self.user = _LocalUser(username)
        self._authorized: set[str] = set()
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_line = host_key.export_public_key("openssh").decode().strip()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="inprocess-key-sshd")
        self._thread.start()

        async def listen() -> asyncssh.SSHAcceptor:
            return await asyncssh.listen(
                self.host,
                0,
                server_host_keys=[host_key],
                server_factory=lambda: _KeyServer(username, self._authorized),
                sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
                allow_scp=False,
            )

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]

    def add_authorized_key(self, public_key_line: str) -> None:
        self._authorized.add(" ".join(public_key_line.split()[:2]))

    def make_folder(self, relative: str) -> Path:
        folder = self.root / relative
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def remote_path(self, local: Path) -> str:
        return "/" + str(local.relative_to(self.root))

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
