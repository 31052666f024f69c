"""Decide, from a file's first bytes, whether to decrypt it, import it as it is, or refuse it."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from airflow_provider_actito_sftp.exceptions import ImportRefusedError, PgpKeyError
from airflow_provider_actito_sftp.pgp.keys import validate_partner_key
from airflow_provider_actito_sftp.pgp.packets import PgpKind, sniff
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions
from airflow_provider_actito_sftp.pgp.verdict import SignaturePolicy

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
    signed_outside = PgpKind.SIGNED_AROUND_ENCRYPTED in (found.kind, found.armored_kind)
    if found.kind in _ENCRYPTED_TO_A_KEY or signed_outside:
        decrypt = options()
        if decrypt is None and pgp_required:
            raise ImportRefusedError("inbound PGP is required but no inbound key pair is configured")
        if decrypt is not None and signed_outside:  # the partner signed the encrypted file: unwrap, then decrypt
            return dataclasses.replace(decrypt, signed_outside=True)
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


class DecryptionKeys:
    """Our inbound keys and the signature policy, as :func:`decide_decryption` asks for them: built on
    first use only, and the partner key's fingerprint looked up once per run (it needs a gpg home).

    :param keys: the connection's key material (``ConnectionSettings.keys``).
    :param signature_policy: what to require of the partner's signature.
    """

    def __init__(self, keys: Any, signature_policy: SignaturePolicy) -> None:
        self._keys = keys
        self._policy = signature_policy

    def __call__(self) -> DecryptOptions | None:
        return self._options

    @functools.cached_property
    def _options(self) -> DecryptOptions | None:
        if not self._keys.inbound_pgp_private_keys:
            return None
        return DecryptOptions(
            secret_keys=self._keys.inbound_pgp_private_keys,
            signature_policy=self._policy,
            partner_public_key=self._keys.partner_pgp_public_key,
            partner_fingerprint=_primary_fingerprint(self._keys.partner_pgp_public_key),
        )


def _primary_fingerprint(armored: str | None) -> str | None:
    if not armored:
        return None
    try:
        return validate_partner_key(armored).fingerprint
    except PgpKeyError:  # a key that does not read checks no signature; a gpg that cannot start says so
        return None
