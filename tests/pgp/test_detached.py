"""Detached signatures checked by a real gpg: made by a partner's real gpg, fed as a download feeds them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError
from airflow_provider_actito_sftp.pgp.detached import (
    MAX_SIGNATURE_BYTES,
    check_detached,
    detached_form,
    detached_verifier,
)
from airflow_provider_actito_sftp.pgp.verdict import GpgOutcome
from partner_sandbox.gpg import PartnerGpg

Partner = tuple[PartnerGpg, str, str, Path]
DATA = b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (i, i) for i in range(50_000))  # ~1.2 MB


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partner]:
    """The partner's gpg with its key and another key, and the signed data: (gpg, partner key, other key, data)."""
    folder = tmp_path_factory.mktemp("detached")
    data = folder / "data.csv"
    data.write_bytes(DATA)
    with PartnerGpg() as gpg:
        ours = gpg.generate()
        other = gpg.generate("Someone Else <else@example.com>")
        yield gpg, ours, other, data


def _sign(gpg: PartnerGpg, key: str, data: Path, *options: str) -> bytes:
    out = data.with_name(f"{data.name}.{key[-8:]}{''.join(options)}.sig")
    gpg.gpg("--local-user", key, *options, "--detach-sign", "--output", str(out), str(data))
    return out.read_bytes()


async def _verify_streamed(signature: bytes, partner_key: str, data: bytes, passes: int = 1) -> str:
    async with detached_verifier(signature, partner_key, "data.csv.sig") as verifier:
        for _ in range(passes):  # a pass may be read again from the first byte (sq's second opinion)
            await verifier.start()
            for offset in range(0, len(data), 256 << 10):
                await verifier.write(data[offset : offset + (256 << 10)])
        return await verifier.verdict()


@pytest.mark.parametrize("armor", [False, True], ids=["binary .sig", "armored .asc"])
def test_a_partner_signature_verifies_streamed_and_from_a_file(partner: Partner, armor: bool) -> None:
    gpg, ours, _, data = partner
    signature = _sign(gpg, ours, data, *(["--armor"] if armor else []))
    public = gpg.export_public(ours)
    assert asyncio.run(_verify_streamed(signature, public, DATA, passes=2)) == ours

    async def from_file() -> str:
        async with detached_verifier(signature, public, "data.csv.sig") as verifier:
            return await verifier.verify_file(data)

    assert asyncio.run(from_file()) == ours


def test_a_changed_file_another_key_and_a_revoked_key_are_refused_with_their_cause(partner: Partner) -> None:
    gpg, ours, other, data = partner
    signature = _sign(gpg, ours, data)
    public = gpg.export_public(ours)
    with pytest.raises(GpgStreamError, match=r"^its detached signature 'data.csv.sig' is BAD: the file was changed"):
        asyncio.run(_verify_streamed(signature, public, DATA[:-1] + b"!"))
    foreign = _sign(gpg, other, data)
    with pytest.raises(GpgStreamError, match=r"is made with another key \(key id [0-9A-F]{16}\), not the partner's"):
        asyncio.run(_verify_streamed(foreign, public, DATA))
    gpg.revoke(other)  # the other key as a partner key revoked since it signed
    with pytest.raises(GpgStreamError, match=r"is made with the partner's key, which is revoked"):
        asyncio.run(_verify_streamed(foreign, gpg.export_public(other), DATA))


def test_a_file_that_is_not_a_detached_signature_is_refused_before_gpg_reads_it(partner: Partner) -> None:
    gpg, ours, _, data = partner
    signed_message = data.with_name("signed.gpg")
    gpg.gpg("--local-user", ours, "--sign", "--output", str(signed_message), str(data))
    armored_message = gpg.gpg("--local-user", ours, "--armor", "--sign", "--output", "-", str(data)).encode()
    for content, said in [
        (signed_message.read_bytes(), "a signed or compressed OpenPGP message, as `gpg --sign` makes"),
        (armored_message, "an armored PGP message"),
        (b"id;email\n1;a@example.com\n", "not OpenPGP data"),
    ]:
        with pytest.raises(GpgStreamError, match=rf"^'data.csv.sig' next to it is not a detached OpenPGP .*{said}"):
            detached_form(content, "data.csv.sig")
    with pytest.raises(GpgStreamError, match="too large for a detached signature"):
        asyncio.run(_verify_streamed(b"\x88" * (MAX_SIGNATURE_BYTES + 1), gpg.export_public(ours), DATA))


def test_the_verdict_reads_gpg_status_lines() -> None:
    partner = "B" * 40

    def outcome(*lines: str) -> GpgOutcome:
        return GpgOutcome(0, [f"[GNUPG:] {line}" for line in lines])

    good = ["NEWSIG", f"GOODSIG {partner[-16:]} P", f"VALIDSIG {'E' * 40} 2026-01-01 0 0 4 0 22 10 00 {partner}"]
    assert check_detached(outcome(*good), frozenset({partner}), "x.sig") == partner
    # a second signature by a key we do not have does not spoil the partner's good one
    other = ["NEWSIG", f"ERRSIG {'C' * 16} 22 10 00 1704067200 9 -", f"NO_PUBKEY {'C' * 16}"]
    assert check_detached(outcome(*good, *other), frozenset({partner}), "x.sig") == partner
    with pytest.raises(GpgStreamError, match="has expired"):
        check_detached(outcome("NEWSIG", f"EXPKEYSIG {partner[-16:]} P"), frozenset({partner}), "x.sig")
    with pytest.raises(GpgStreamError, match="algorithm it does not support"):
        check_detached(outcome("NEWSIG", f"ERRSIG {'C' * 16} 99 10 00 1704067200 4 -"), frozenset({partner}), "x.sig")
    with pytest.raises(GpgStreamError, match="holds no OpenPGP signature gpg can read"):
        check_detached(outcome("NODATA 1"), frozenset({partner}), "x.sig")
