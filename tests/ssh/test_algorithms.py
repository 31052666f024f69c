"""What we offer a server (the connection's ciphers; SHA-1 ``ssh-rsa`` and CBC only where the connection accepts
them), and why a key exchange failed, read from the server's KEXINIT and said with the field that would bridge it."""

from __future__ import annotations

import asyncio
import struct

import asyncssh
import pytest

from airflow_provider_actito_sftp.connection.schema import BY_NAME, DEFAULT_CIPHERS
from airflow_provider_actito_sftp.ssh.algorithms import (
    CBC_CIPHERS,
    CIPHERS_LABEL,
    LEGACY_FIELD,
    LEGACY_LABEL,
    Algorithms,
    ServerOffer,
    mismatch,
    read_server_offer,
    signature_algorithms,
)

MODERN_KEX = ("curve25519-sha256", "ext-info-s")
MACS = ("hmac-sha2-256-etm@openssh.com",)
RSA_PINNED = signature_algorithms([asyncssh.generate_private_key("ssh-rsa", key_size=2048)])
ED25519 = ("ssh-ed25519",)


def offer(host_key: tuple[str, ...] = ED25519, ciphers: tuple[str, ...] = ("aes128-ctr",)) -> ServerOffer:
    return ServerOffer(MODERN_KEX, host_key, ciphers, MACS)


def test_the_legacy_words_labels_and_field_are_the_schemas() -> None:
    field = BY_NAME[LEGACY_FIELD]
    assert field.choices == ("ssh-rsa", "cbc")
    assert (field.label, BY_NAME["ciphers"].label) == (LEGACY_LABEL, CIPHERS_LABEL)
    assert "weaker" in field.label.lower()
    assert "SHA-1" in field.help
    assert "CBC" in field.help


def test_nothing_weaker_is_offered_unless_the_connection_accepts_it() -> None:
    plain = Algorithms(DEFAULT_CIPHERS)
    assert plain.encryption_algs() == list(DEFAULT_CIPHERS)
    assert "ssh-rsa" not in plain.host_key_algs(RSA_PINNED)
    assert plain.host_key_algs(RSA_PINNED)[:2] == ["rsa-sha2-256", "rsa-sha2-512"]  # the same key, SHA-2

    legacy = Algorithms(DEFAULT_CIPHERS, ("ssh-rsa", "cbc"))
    assert legacy.encryption_algs() == [*DEFAULT_CIPHERS, *CBC_CIPHERS]  # preferred first, CBC last
    assert legacy.host_key_algs(RSA_PINNED)[-1] == "ssh-rsa"
    assert "ssh-rsa" not in legacy.host_key_algs(ED25519)  # only a pinned key's own algorithms
    assert not any(name.endswith("-cbc") for name in Algorithms().encryption_algs())  # asyncssh's defaults: no CBC


def test_a_server_signing_only_with_sha1_needs_ssh_rsa() -> None:
    why = mismatch(offer(host_key=("ssh-rsa",)), Algorithms(DEFAULT_CIPHERS), RSA_PINNED)
    assert why is not None
    assert (why.field, why.value) == ("legacy_algorithms", "ssh-rsa")
    said = why.text()
    assert said.startswith("the server signs its host key only with SHA-1 (ssh-rsa), weaker and off by default: ")
    assert said.endswith("or accept SHA-1 signatures for this server alone with --legacy-algorithms ssh-rsa")
    assert "rsa-sha2-256/512 or ed25519" in said  # what to ask the partner for
    assert why.text(page=True).endswith("with “Legacy algorithms (weaker)”: ssh-rsa")
    command = why.text(command="actito-sftp connection update acme")
    assert command.endswith("`actito-sftp connection update acme --legacy-algorithms ssh-rsa`")
    assert mismatch(offer(host_key=("ssh-rsa",)), Algorithms(legacy=("ssh-rsa",)), RSA_PINNED) is None


def test_a_server_with_only_cbc_ciphers_needs_cbc_and_both_are_named_together() -> None:
    cbc_only = offer(ciphers=("aes128-cbc", "aes256-cbc"))
    why = mismatch(cbc_only, Algorithms(DEFAULT_CIPHERS), list(ED25519))
    assert why is not None
    assert (why.field, why.value, why.causes) == (
        "legacy_algorithms",
        "cbc",
        ("the server offers only CBC ciphers (aes128-cbc, aes256-cbc)",),
    )
    assert mismatch(cbc_only, Algorithms(DEFAULT_CIPHERS, ("cbc",)), list(ED25519)) is None

    both = mismatch(offer(("ssh-rsa",), ("aes256-cbc",)), Algorithms(DEFAULT_CIPHERS), RSA_PINNED)
    assert both is not None
    assert both.value == "ssh-rsa,cbc"
    assert both.text().endswith("accept SHA-1 signatures and CBC ciphers for this server alone with "
                                "--legacy-algorithms ssh-rsa,cbc")  # fmt: skip
    # one accepted already, the other missing: the value keeps both
    kept = mismatch(offer(("ssh-rsa",), ("aes256-cbc",)), Algorithms(DEFAULT_CIPHERS, ("ssh-rsa",)), RSA_PINNED)
    assert kept is not None
    assert (kept.value, len(kept.causes)) == ("ssh-rsa,cbc", 1)


def test_what_no_opt_in_bridges_is_said_as_such() -> None:
    restricted = mismatch(
        offer(ciphers=("aes128-ctr", "aes192-ctr")), Algorithms(("aes256-gcm@openssh.com",)), list(ED25519)
    )
    assert restricted is not None
    assert (restricted.field, restricted.value) == ("ciphers", "aes128-ctr,aes192-ctr")
    assert restricted.text() == (
        "no cipher in common: the server offers aes128-ctr, aes192-ctr: set --ciphers aes128-ctr,aes192-ctr"
    )
    assert restricted.text(page=True).endswith("set “Preferred ciphers”: aes128-ctr,aes192-ctr")

    ancient = ServerOffer(("diffie-hellman-group1-sha1",), ("ssh-rsa",), ("3des-cbc",), ("hmac-md5",))
    why = mismatch(ancient, Algorithms(DEFAULT_CIPHERS), RSA_PINNED)
    assert why is not None
    assert why.field is None
    assert why.causes[0] == "no key exchange method in common: the server offers diffie-hellman-group1-sha1"
    assert why.text().endswith(": the partner must enable one this provider supports")

    assert mismatch(offer(), Algorithms(DEFAULT_CIPHERS), list(ED25519)) is None
    unknown_type = mismatch(offer(host_key=("ssh-dss",)), Algorithms(), ["ssh-ed25519"])
    assert unknown_type is not None
    assert unknown_type.causes == ("the server's host key types (ssh-dss) are none we accept",)


def _name_list(names: tuple[str, ...]) -> bytes:
    text = ",".join(names).encode("ascii")
    return struct.pack(">I", len(text)) + text


def _packet(payload: bytes) -> bytes:
    padding = 8 - (len(payload) + 5) % 8 + 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def _kexinit(server: ServerOffer) -> bytes:
    lists = (server.kex, server.host_key, server.ciphers, server.ciphers, server.macs, server.macs)
    body = b"".join(_name_list(names) for names in lists) + _name_list(("none",)) * 2 + _name_list(()) * 2
    return _packet(bytes([20]) + bytes(16) + body + b"\x00" + bytes(4))


def test_the_servers_offer_is_read_from_its_kexinit_without_starting_a_key_exchange() -> None:
    """Lines before the version (RFC 4253 4.2) and an IGNORE packet before the KEXINIT are passed over."""
    sent = ServerOffer(MODERN_KEX, ("ssh-rsa",), ("aes128-cbc", "aes256-cbc"), MACS)
    heard: list[bytes] = []

    async def scenario() -> ServerOffer:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"Welcome to the partner\r\nSSH-2.0-OpenSSH_6.6\r\n" + _packet(b"\x02") + _kexinit(sent))
            heard.append(await reader.read(1000))  # what the client sends before hanging up
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await read_server_offer("127.0.0.1", port, timeout=10)

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == sent
    assert heard == [b"SSH-2.0-actito_sftp_probe\r\n"]  # its version only: no KEXINIT, so no failed negotiation


@pytest.mark.parametrize("after_version", [b"", b"\xff" * 16], ids=["hangs-up", "oversized-packet"])
def test_a_server_whose_offer_cannot_be_read_is_an_error(after_version: bytes) -> None:
    async def scenario() -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-2.0-Odd\r\n" + after_version)
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with server:
            await read_server_offer("127.0.0.1", server.sockets[0].getsockname()[1], timeout=10)

    with pytest.raises((OSError, EOFError)):
        asyncio.run(asyncio.wait_for(scenario(), 30))
