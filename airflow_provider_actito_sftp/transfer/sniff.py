"""Decide, from a file's first bytes, whether to decrypt it, import it as it is, or refuse it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.exceptions import ImportRefusedError
from airflow_provider_actito_sftp.transfer.pgp_packets import PgpKind, sniff

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.transfer.download import DecryptOptions

_ENCRYPTED_TO_A_KEY = (PgpKind.PUBLIC_KEY_ENCRYPTED, PgpKind.ARMORED)


def decide_decryption(
    head: bytes,
    size: int,
    *,
    pgp_required: bool,
    options: Callable[[], DecryptOptions | None],
) -> DecryptOptions | None:
    """Return how to decrypt the file, or None to import it as it is.

    :param head: the file's first bytes (the OpenPGP packet headers are parsed, not one byte guessed).
    :param size: the file's size.
    :param pgp_required: the connection's inbound policy.
    :param options: our decryption keys and signature policy (None: no inbound key pair).
    :raises ImportRefusedError: the policy or the content forbids importing it.
    """
    found = sniff(head, size)
    if found.kind in _ENCRYPTED_TO_A_KEY:
        decrypt = options()
        if decrypt is None and pgp_required:
            raise ImportRefusedError("inbound PGP is required but no inbound key pair is configured")
        return decrypt  # without our key pair (PGP optional) the file is imported as it is
    if found.kind is PgpKind.SYMMETRIC and (pgp_required or options() is not None):
        raise ImportRefusedError(
            "encrypted with a passphrase (symmetric), not to our PGP key: ask the partner to encrypt to our public key"
        )
    if pgp_required:
        what = "signed or compressed PGP data, but not encrypted" if found.kind is PgpKind.UNENCRYPTED_PGP else ""
        raise ImportRefusedError(
            f"not PGP-encrypted{f' ({what})' if what else ''}, but the inbound policy requires PGP"
        )
    return None
