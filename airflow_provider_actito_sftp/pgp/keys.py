"""PGP keys: our inbound key pairs (generate, rotate, retire, hand out) and the partner's public key.

Inbound secret keys are kept as one armored block holding every key that may still decrypt files in
flight; the newest one is the key handed out. All gpg work happens in a temporary GNUPGHOME
(:func:`~airflow_provider_actito_sftp.pgp.home.temporary_gnupg_home`); a gpg or gpg-agent that cannot
start raises :class:`~airflow_provider_actito_sftp.exceptions.GpgUnavailableError`, never ``PgpKeyError``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import gnupg

from airflow_provider_actito_sftp.exceptions import PgpKeyError
from airflow_provider_actito_sftp.pgp.home import temporary_gnupg_home

EXPIRY_WARNING_DAYS = 30


class PgpKeyType(StrEnum):
    """Key types we generate: modern curves by default, RSA for partners whose tools need it."""

    ED25519 = "ed25519"
    RSA3072 = "rsa3072"
    RSA4096 = "rsa4096"


_KEY_PARAMETERS: dict[PgpKeyType, dict[str, Any]] = {
    PgpKeyType.ED25519: {
        "key_type": "EDDSA",
        "key_curve": "ed25519",
        "subkey_type": "ECDH",
        "subkey_curve": "cv25519",
    },
    PgpKeyType.RSA3072: {"key_type": "RSA", "key_length": 3072, "subkey_type": "RSA", "subkey_length": 3072},
    PgpKeyType.RSA4096: {"key_type": "RSA", "key_length": 4096, "subkey_type": "RSA", "subkey_length": 4096},
}
_ALGORITHM_NAMES = {"1": "rsa", "16": "elgamal", "17": "dsa", "18": "ecdh", "19": "ecdsa", "22": "eddsa"}


@dataclass(frozen=True)
class PgpKeyInfo:
    """What we show about a PGP key: never secret."""

    fingerprint: str
    user_id: str
    algorithm: str
    created: datetime
    expires: datetime | None
    can_encrypt: bool
    expired: bool
    revoked: bool

    def expires_within(self, days: int, *, now: datetime | None = None) -> bool:
        """Whether the key expires within ``days`` days from now."""
        if self.expires is None:
            return False
        return self.expires - (now or datetime.now(UTC)) < timedelta(days=days)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "user_id": self.user_id,
            "algorithm": self.algorithm,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "can_encrypt": self.can_encrypt,
            "expired": self.expired,
            "revoked": self.revoked,
        }


def generate_inbound_key(
    conn_id: str, key_type: PgpKeyType = PgpKeyType.ED25519, *, expires: str = "2y"
) -> tuple[str, PgpKeyInfo]:
    """Generate a new inbound key pair (sign + encrypt subkey), unprotected (Airflow encrypts it at rest).

    :param conn_id: named in the key's user id.
    :param key_type: ed25519/cv25519 (default) or RSA 3072/4096.
    :param expires: gpg expiry: ``2y``, ``18m``, ``365d`` or ``never``.
    :return: the armored secret key and its description.
    """
    with temporary_gnupg_home(agent=True) as gpg:
        request = gpg.gen_key_input(
            name_real=f"Actito SFTP inbound ({conn_id})",
            name_email=f"{conn_id}@actito-sftp.invalid",
            expire_date="0" if expires == "never" else expires,
            key_usage="sign",
            subkey_usage="encrypt",
            no_protection=True,
            **_KEY_PARAMETERS[key_type],
        )
        generated = gpg.gen_key(request)
        if not generated.fingerprint:
            raise PgpKeyError(f"Connection {conn_id!r}: gpg could not generate a key: {generated.status}")
        armored = _export_secret_keys(gpg, [generated.fingerprint])
        info = _describe(gpg, generated.fingerprint)
    return armored, info


def describe_secret_keys(armored_secret_keys: str) -> list[PgpKeyInfo]:
    """Describe every key in an armored secret-key block, newest first."""
    with temporary_gnupg_home(agent=True) as gpg:
        fingerprints = _import(gpg, armored_secret_keys, "inbound_pgp_private_keys")
        return _newest_first([_describe(gpg, fpr) for fpr in fingerprints])


def add_inbound_key(
    conn_id: str, armored_secret_keys: str | None, key_type: PgpKeyType = PgpKeyType.ED25519, *, expires: str = "2y"
) -> tuple[str, PgpKeyInfo]:
    """Generate a new key and keep the existing ones (they still decrypt files already encrypted to them).

    :return: the armored block of all secret keys, and the new key's description.
    """
    if armored_secret_keys:
        _wait_past(describe_secret_keys(armored_secret_keys)[0].created)
    new_armored, new_info = generate_inbound_key(conn_id, key_type, expires=expires)
    if not armored_secret_keys:
        return new_armored, new_info
    with temporary_gnupg_home(agent=True) as gpg:
        fingerprints = _import(gpg, armored_secret_keys, "inbound_pgp_private_keys")
        fingerprints += _import(gpg, new_armored, "new key")
        return _export_secret_keys(gpg, fingerprints), new_info


def retire_inbound_keys(
    armored_secret_keys: str, fingerprints: Iterable[str] | None = None
) -> tuple[str, list[PgpKeyInfo]]:
    """Remove keys from the inbound block: the given fingerprints, or every key but the newest.

    :raises PgpKeyError: a fingerprint is not in the block, or the newest (handed-out) key would go.
    :return: the remaining armored block and the retired keys.
    """
    with temporary_gnupg_home(agent=True) as gpg:
        present = _newest_first([_describe(gpg, fpr) for fpr in _import(gpg, armored_secret_keys, "inbound")])
        newest = present[0]
        if fingerprints is None:
            retiring = present[1:]
        else:
            wanted = {_normalise_fingerprint(fpr) for fpr in fingerprints}
            unknown = wanted - {info.fingerprint for info in present}
            if unknown:
                raise PgpKeyError(f"no inbound key with fingerprint {', '.join(sorted(unknown))}")
            if newest.fingerprint in wanted:
                raise PgpKeyError(
                    f"{newest.fingerprint} is the newest inbound key, the one partners encrypt to; "
                    "rotate first, then retire the old key"
                )
            retiring = [info for info in present if info.fingerprint in wanted]
        keeping = [info.fingerprint for info in present if info not in retiring]
        return _export_secret_keys(gpg, keeping), retiring


def export_newest_public_key(armored_secret_keys: str) -> tuple[str, PgpKeyInfo]:
    """Return the armored public key of the newest inbound key (the one partners must use)."""
    with temporary_gnupg_home(agent=True) as gpg:
        infos = _newest_first([_describe(gpg, fpr) for fpr in _import(gpg, armored_secret_keys, "inbound")])
        newest = infos[0]
        public = gpg.export_keys([newest.fingerprint], secret=False, armor=True)
    return str(public), newest


def validate_partner_key(armored_public_key: str, *, now: datetime | None = None) -> PgpKeyInfo:
    """Check a partner's public key before we encrypt to it.

    :raises PgpKeyError: not a PGP key, a secret key, more than one key, or a key that cannot
        encrypt, is expired or is revoked.
    """
    if "PRIVATE KEY BLOCK" in armored_public_key or "SECRET KEY BLOCK" in armored_public_key:
        raise PgpKeyError("this is a secret (private) key; ask the partner for their PUBLIC key only")
    with temporary_gnupg_home() as gpg:
        fingerprints = _import(gpg, armored_public_key, "partner key")
        if gpg.list_keys(secret=True):
            raise PgpKeyError("this is a secret (private) key; ask the partner for their PUBLIC key only")
        if len(fingerprints) != 1:
            raise PgpKeyError(_several_keys([_describe(gpg, fingerprint) for fingerprint in fingerprints]))
        info = _describe(gpg, fingerprints[0])
    if info.revoked:
        raise PgpKeyError(f"partner key {info.fingerprint} is revoked")
    if info.expired or (info.expires is not None and info.expires <= (now or datetime.now(UTC))):
        raise PgpKeyError(f"partner key {info.fingerprint} expired on {info.expires:%Y-%m-%d}")
    if not info.can_encrypt:
        raise PgpKeyError(f"partner key {info.fingerprint} has no usable encryption (sub)key")
    return info


def _several_keys(infos: list[PgpKeyInfo]) -> str:
    """The refusal of a key file holding several public keys: each one named, so that the user can pick."""
    listed = "; ".join(f'{info.fingerprint} "{info.user_id or "no user id"}" ({_state(info)})' for info in infos)
    return (
        f"the key file holds {len(infos)} public keys, but a connection takes exactly one (the key uploads are "
        f"encrypted to): {listed}. Ask the partner which one to use, and give only that one (`gpg --armor "
        "--export <fingerprint>` exports one key)"
    )


def _state(info: PgpKeyInfo) -> str:
    """What a key can do, as the refusal of several keys says it."""
    if info.revoked:
        return "revoked"
    if info.expired or (info.expires is not None and info.expires <= datetime.now(UTC)):
        return f"expired on {info.expires:%Y-%m-%d}" if info.expires else "expired"
    return "can encrypt" if info.can_encrypt else "signing only: cannot encrypt"


def expiry_warning(info: PgpKeyInfo, *, days: int = EXPIRY_WARNING_DAYS) -> str | None:
    """A warning text when a key expires within ``days`` days, else None."""
    if not info.expires_within(days):
        return None
    assert info.expires is not None
    return f"key {info.fingerprint} expires on {info.expires:%Y-%m-%d}, in less than {days} days"


def _import(gpg: gnupg.GPG, armored: str, what: str) -> list[str]:
    result = gpg.import_keys(armored)
    fingerprints = list(dict.fromkeys(fpr for fpr in result.fingerprints if fpr))
    if not fingerprints:
        raise PgpKeyError(f"{what}: no OpenPGP key found (expected an armored key block)")
    return fingerprints


def _export_secret_keys(gpg: gnupg.GPG, fingerprints: Sequence[str]) -> str:
    armored = gpg.export_keys(list(fingerprints), secret=True, armor=True, expect_passphrase=False)
    if not armored or "PRIVATE KEY BLOCK" not in str(armored):
        raise PgpKeyError("gpg could not export the secret keys")
    return str(armored)


def _describe(gpg: gnupg.GPG, fingerprint: str) -> PgpKeyInfo:
    listed = [key for key in gpg.list_keys(keys=[fingerprint]) if key["fingerprint"] == fingerprint]
    if not listed:
        raise PgpKeyError(f"key {fingerprint} is not in the keyring")
    key = listed[0]
    algorithm = _ALGORITHM_NAMES.get(key["algo"], f"algo{key['algo']}")
    if algorithm == "rsa":
        algorithm = f"rsa{key['length']}"
    elif key.get("curve"):
        algorithm = str(key["curve"])
    return PgpKeyInfo(
        fingerprint=fingerprint,
        user_id=(key.get("uids") or [""])[0],
        algorithm=algorithm,
        created=datetime.fromtimestamp(int(key["date"]), tz=UTC),
        expires=datetime.fromtimestamp(int(key["expires"]), tz=UTC) if key.get("expires") else None,
        can_encrypt="E" in key.get("cap", ""),
        expired=key.get("trust") == "e",
        revoked=key.get("trust") == "r",
    )


def _newest_first(infos: list[PgpKeyInfo]) -> list[PgpKeyInfo]:
    return sorted(infos, key=lambda info: (info.created, info.fingerprint), reverse=True)


def _wait_past(created: datetime) -> None:
    """Make sure a key generated next has a later creation second than ``created`` ("newest" is by date)."""
    delay = (created + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _normalise_fingerprint(fingerprint: str) -> str:
    return fingerprint.replace(" ", "").upper()
