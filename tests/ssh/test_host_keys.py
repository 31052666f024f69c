"""Pinned host keys: the lines OpenSSH writes (``*.pub``, ``known_hosts``) are read, anything else refused
without quoting it; fingerprints read as OpenSSH prints them; a real sshd's key is fetched for setup."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import RefusedError, RemoteConnectError
from airflow_provider_actito_sftp.ssh.algorithms import Algorithms
from airflow_provider_actito_sftp.ssh.host_keys import (
    export_host_key,
    fetch_host_key,
    fetch_host_keys,
    fingerprint,
    host_keys,
    parse_host_keys,
)
from partner_sandbox.sshd import SftpUser, SshServer, generate_ssh_key, remove_server, start_sshd

KEY_TYPES = ("ed25519", "ecdsa", "rsa")
FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")  # OpenSSH's form: unpadded base64 of 32 bytes


@pytest.fixture(scope="module")
def pub_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ``.pub`` file per key type, written by ssh-keygen (comment: ``host-<type>``)."""
    folder = tmp_path_factory.mktemp("host-keys")
    for key_type in KEY_TYPES:
        generate_ssh_key(folder / f"host-{key_type}", key_type)
    return {key_type: folder / f"host-{key_type}.pub" for key_type in KEY_TYPES}


def keygen_fingerprint(pub: Path) -> str:
    """The fingerprint ``ssh-keygen -l`` prints for a public key file."""
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], capture_output=True, text=True, check=True)
    return listed.stdout.split()[1]


def line_of(pub: Path) -> str:
    return pub.read_text().strip()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_pub_line_is_read_and_fingerprinted_as_openssh_does(pub_files: dict[str, Path], key_type: str) -> None:
    line = line_of(pub_files[key_type])
    assert line.endswith(f" host-{key_type}")  # the comment is there, and ignored
    [key] = parse_host_keys(line)
    assert FINGERPRINT.fullmatch(fingerprint(key))
    assert fingerprint(key) == keygen_fingerprint(pub_files[key_type])


def test_known_hosts_lines_plain_with_ports_and_hashed(pub_files: dict[str, Path], tmp_path: Path) -> None:
    ed25519, rsa = line_of(pub_files["ed25519"]), line_of(pub_files["rsa"])
    key_part = " ".join(ed25519.split()[:2])
    known_hosts = tmp_path / "known_hosts"
    plain_text = f"sftp.partner.example {key_part}\n[127.0.0.1]:2222,10.0.0.5 {' '.join(rsa.split()[:2])}\n"
    known_hosts.write_text(plain_text)
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], capture_output=True, check=True)
    hashed = known_hosts.read_text()
    assert hashed.startswith("|1|")  # OpenSSH hid the host names

    ed25519_fingerprint = keygen_fingerprint(pub_files["ed25519"])
    rsa_fingerprint = keygen_fingerprint(pub_files["rsa"])
    plain = parse_host_keys(plain_text)
    assert [fingerprint(key) for key in plain] == [ed25519_fingerprint, rsa_fingerprint]
    # Hashed, a line per host name: two for the second key.
    assert [fingerprint(key) for key in parse_host_keys(hashed)] == [ed25519_fingerprint, *[rsa_fingerprint] * 2]
    [with_comment] = parse_host_keys(f"sftp.partner.example {key_part} added 2024-01-01")
    assert fingerprint(with_comment) == ed25519_fingerprint


def test_blank_lines_and_comments_are_skipped_and_the_order_kept(pub_files: dict[str, Path]) -> None:
    text = "\r\n".join(
        [
            "# the partner's keys, confirmed by phone",
            "",
            "   ",
            f"  {line_of(pub_files['rsa'])}  ",
            "    # an indented comment",
            line_of(pub_files["ecdsa"]),
            "",
        ]
    )
    keys = parse_host_keys(text)
    assert [fingerprint(key) for key in keys] == [
        keygen_fingerprint(pub_files["rsa"]),
        keygen_fingerprint(pub_files["ecdsa"]),
    ]
    assert parse_host_keys("") == ()
    assert parse_host_keys("# nothing pinned yet\n\n") == ()


SECRETISH = "c2VjcmV0LWlzaC1ub3QtYS1rZXk"  # base64 that decodes to no key


@pytest.mark.parametrize(
    ("text", "line_number"),
    [
        (f"ssh-ed25519 {SECRETISH}", 1),
        (f"# ok\nssh-ed25519 AAAA{SECRETISH}", 2),
        (f"ssh-ed25519 {SECRETISH} comment", 1),
        (f"partner.example ssh-ed25519 {SECRETISH}", 1),
        ("ssh-ed25519", 1),
        (f"sftp.partner.example {SECRETISH}", 1),
        (f"\n\n{SECRETISH}", 3),
    ],
    ids=["bad-base64", "second-line", "with-comment", "known-hosts", "type-only", "no-type", "one-word"],
)
def test_garbage_is_refused_by_line_number_without_quoting_it(text: str, line_number: int) -> None:
    with pytest.raises(ValueError, match=f"^line {line_number} is not an OpenSSH public key") as refused:
        parse_host_keys(text)
    assert SECRETISH not in str(refused.value)


def test_a_pasted_private_key_is_refused_without_quoting_it() -> None:
    private = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(ValueError, match=r"^line 1 is not an OpenSSH public key") as refused:
        parse_host_keys(private)
    body = private.splitlines()[1]
    assert body[:20] not in str(refused.value)
    assert "PRIVATE" not in str(refused.value)


def test_a_key_under_another_types_name_is_refused(pub_files: dict[str, Path]) -> None:
    ed25519_blob = line_of(pub_files["ed25519"]).split()[1]
    with pytest.raises(ValueError, match=r"^line 1 is not an OpenSSH public key"):
        parse_host_keys(f"ssh-rsa {ed25519_blob}")


@pytest.mark.parametrize("marker", ["@revoked", "@cert-authority"])
def test_a_known_hosts_marker_line_is_never_pinned(pub_files: dict[str, Path], marker: str) -> None:
    """A revoked key (or a CA) must not become a trusted host key: the line is refused."""
    with pytest.raises(ValueError, match=r"^line 1 is not an OpenSSH public key"):
        parse_host_keys(f"{marker} sftp.partner.example {line_of(pub_files['ed25519'])}")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_export_gives_the_one_line_form_that_parses_back(pub_files: dict[str, Path], key_type: str) -> None:
    line = line_of(pub_files[key_type])
    [key] = parse_host_keys(line)
    exported = export_host_key(key)
    assert exported == " ".join(line.split()[:2])  # type and base64, without the comment
    assert "\n" not in exported
    [again] = parse_host_keys(exported)
    assert fingerprint(again) == fingerprint(key)


def test_fetch_host_key_returns_the_real_servers_key(sshd: SshServer) -> None:
    fetched = asyncio.run(fetch_host_key(sshd.host, sshd.port, timeout=15))
    assert export_host_key(fetched) == " ".join(sshd.host_key_line.split()[:2])
    assert fingerprint(fetched) == keygen_fingerprint(Path(f"{sshd.host_key_path}.pub"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_fetch_host_key_from_a_closed_port_is_a_connect_error() -> None:
    port = _free_port()
    with pytest.raises(RemoteConnectError, match=f"^could not fetch the host key of 127.0.0.1:{port}: .+"):
        asyncio.run(fetch_host_key("127.0.0.1", port, timeout=10))


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (no SSH banner)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield int(listener.getsockname()[1])


def test_fetch_host_key_gives_up_after_its_timeout(silent_listener: int) -> None:
    started = time.monotonic()
    with pytest.raises(RemoteConnectError, match=f"^could not fetch the host key of 127.0.0.1:{silent_listener}"):
        asyncio.run(fetch_host_key("127.0.0.1", silent_listener, timeout=0.5))
    assert time.monotonic() - started < 10


def test_a_timeout_is_named_in_the_message(silent_listener: int) -> None:
    with pytest.raises(RemoteConnectError) as refused:
        asyncio.run(fetch_host_key("127.0.0.1", silent_listener, timeout=0.5))
    assert str(refused.value) == f"could not fetch the host key of 127.0.0.1:{silent_listener}: no answer within 0.5 s"


def test_fetch_host_keys_learns_every_key_of_a_server_ed25519_first(multi_key_sshd: SshServer) -> None:
    """One key exchange returns only one key (RSA first in asyncssh); one exchange per type learns them all."""
    keys = asyncio.run(asyncio.wait_for(fetch_host_keys(multi_key_sshd.host, multi_key_sshd.port), 60))
    expected = {
        key_type: fingerprint(asyncssh.import_public_key(line))
        for key_type, line in multi_key_sshd.host_key_lines.items()
    }
    assert sorted(fingerprint(key) for key in keys) == sorted(expected.values())
    assert fingerprint(keys[0]) == expected["ed25519"]  # what `ssh` shows a partner by default
    single = asyncio.run(asyncio.wait_for(fetch_host_key(multi_key_sshd.host, multi_key_sshd.port), 60))
    assert fingerprint(single) in expected.values()


def test_fetch_host_keys_from_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteConnectError, match=rf"could not fetch the host key of 127\.0\.0\.1:{port}"):
        asyncio.run(asyncio.wait_for(fetch_host_keys("127.0.0.1", port, timeout=5), 30))


def test_a_server_that_sends_garbage_after_its_version_is_a_worded_connect_error() -> None:
    """Issue 21.7: asyncssh raised a bare PacketDecodeError (a ValueError), an HTTP 500 on the page's fetch."""
    from tests.support.rogue_ssh import RogueSshServer

    with RogueSshServer() as rogue:
        broken = f"could not fetch the host key: the server at 127.0.0.1:{rogue.port} broke the SSH protocol: "
        with pytest.raises(RemoteConnectError) as one:
            asyncio.run(fetch_host_key("127.0.0.1", rogue.port, timeout=10))
        assert str(one.value) == broken + "a malformed packet (Incomplete packet)"
        with pytest.raises(RemoteConnectError) as every:
            asyncio.run(asyncio.wait_for(fetch_host_keys("127.0.0.1", rogue.port, timeout=10), 60))
        assert str(every.value) == broken + "a malformed packet (Incomplete packet)"


# --- issue 26: a setup fetch that looks like no scan, and servers that offer only weaker algorithms ------------


def _logged_since(server: SshServer, offset: int, sessions: set[str]) -> str:
    """What the server logged since ``offset``, once the connections started since ``sessions`` have ended."""
    assert server.wait_for_sessions_to_end(sessions) == set()
    return server.log_path.read_text(errors="replace")[offset:]


def test_the_preferred_key_costs_one_connection_and_the_others_are_fetched_only_when_asked(
    multi_key_sshd: SshServer,
) -> None:
    """One probe per key type left an "Unable to negotiate" line per type the server lacks (fail2ban bans)."""
    server = multi_key_sshd
    offset, sessions = len(server.log_path.read_text(errors="replace")), server.sessions()

    async def first_then_the_others() -> tuple[asyncssh.SSHKey, str, list[asyncssh.SSHKey]]:
        keys = host_keys(server.host, server.port, timeout=10)
        first = await anext(keys)
        await keys.aclose()
        logged = await asyncio.to_thread(_logged_since, server, offset, sessions)
        others = [key async for key in host_keys(server.host, server.port, timeout=10, after=[first])]
        return first, logged, others

    first, logged, others = asyncio.run(asyncio.wait_for(first_then_the_others(), 60))
    lines = {
        key_type: fingerprint(asyncssh.import_public_key(line)) for key_type, line in server.host_key_lines.items()
    }
    assert fingerprint(first) == lines["ed25519"]
    assert (logged.count("Connection from "), logged.count("Unable to negotiate")) == (1, 0), logged
    assert [fingerprint(key) for key in others] == [lines["ecdsa"], lines["rsa"]]  # our order of preference
    after_all = _logged_since(server, offset, sessions)
    assert (after_all.count("Connection from "), after_all.count("Unable to negotiate")) == (4, 1), after_all


@pytest.fixture(scope="module")
def sha1_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """An OpenSSH server whose RSA host key signs only with SHA-1 (``HostKeyAlgorithms ssh-rsa``)."""
    server = start_sshd(sftp_user, host_key_type="rsa", extra_config=("HostKeyAlgorithms ssh-rsa",))
    yield server
    remove_server(server)


@pytest.fixture(scope="module")
def cbc_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """An OpenSSH server that offers only CBC ciphers."""
    server = start_sshd(sftp_user, extra_config=("Ciphers aes128-cbc,aes256-cbc",))
    yield server
    remove_server(server)


def test_a_server_signing_only_with_sha1_is_fetched_only_when_the_connection_accepts_it(sha1_sshd: SshServer) -> None:
    with pytest.raises(RefusedError) as refused:
        asyncio.run(fetch_host_keys(sha1_sshd.host, sha1_sshd.port, timeout=10))
    assert str(refused.value).startswith(
        f"could not fetch the host key of {sha1_sshd.host}:{sha1_sshd.port}: the server signs its host key only "
        "with SHA-1 (ssh-rsa), weaker and off by default: "
    )
    assert str(refused.value).endswith("with --legacy-algorithms ssh-rsa")
    assert refused.value.for_page().endswith("with “Legacy algorithms (weaker)”: ssh-rsa")
    assert not refused.value.retryable  # a refusal: a retry would meet it again

    keys = asyncio.run(
        fetch_host_keys(sha1_sshd.host, sha1_sshd.port, timeout=10, algorithms=Algorithms(legacy=("ssh-rsa",)))
    )
    assert [export_host_key(key) for key in keys] == [" ".join(sha1_sshd.host_key_line.split()[:2])]


def test_a_server_with_only_cbc_ciphers_is_fetched_with_the_connections_ciphers_or_cbc(cbc_sshd: SshServer) -> None:
    with pytest.raises(RefusedError, match=r"the server offers only CBC ciphers \(aes128-cbc, aes256-cbc\), .* cbc$"):
        asyncio.run(fetch_host_keys(cbc_sshd.host, cbc_sshd.port, timeout=10))
    expected = [" ".join(cbc_sshd.host_key_line.split()[:2])]
    for algorithms in (Algorithms(legacy=("cbc",)), Algorithms(ciphers=("aes256-cbc",))):  # the opt-in, or a cipher
        keys = asyncio.run(fetch_host_keys(cbc_sshd.host, cbc_sshd.port, timeout=10, algorithms=algorithms))
        assert [export_host_key(key) for key in keys] == expected
