"""The partner's side of PGP, played with the real ``gpg`` command line in its own GNUPGHOME."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


class PartnerGpg:
    """A partner's keyring. Call :meth:`close` (or use as a context manager) to stop its agent."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="partner-gnupg-"))
        self.home.chmod(0o700)

    def __enter__(self) -> PartnerGpg:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], check=False, capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)

    def gpg(self, *args: str, input_text: str | None = None) -> str:
        result = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(self.home),
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                *args,
            ],
            capture_output=True,
            text=True,
            input=input_text,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def generate(
        self,
        user_id: str = "Partner <partner@example.com>",
        *,
        usage: str = "encr",
        expires: str = "1y",
        faked_time: str | None = None,
    ) -> str:
        """Create a key (ed25519 primary + cv25519 subkey for ``usage`` encr); return its fingerprint."""
        time_args = ["--faked-system-time", faked_time] if faked_time else []
        self.gpg(*time_args, "--quick-gen-key", user_id, "ed25519", "sign,cert", expires)
        fingerprint = self.fingerprints(user_id)[-1]
        if usage == "encr":
            self.gpg(*time_args, "--quick-add-key", fingerprint, "cv25519", "encr", expires)
        return fingerprint

    def fingerprints(self, user_id: str | None = None) -> list[str]:
        listing = self.gpg("--with-colons", "--list-keys", *([user_id] if user_id else []))
        lines = listing.splitlines()
        return [
            lines[index + 1].split(":")[9]
            for index, line in enumerate(lines)
            if line.startswith("pub:") and index + 1 < len(lines) and lines[index + 1].startswith("fpr:")
        ]

    def export_public(self, *fingerprints: str) -> str:
        return self.gpg("--armor", "--export", *fingerprints)

    def export_secret(self, fingerprint: str) -> str:
        return self.gpg("--armor", "--export-secret-keys", fingerprint)

    def revoke(self, fingerprint: str) -> None:
        certificate = (self.home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
        self.gpg("--import", input_text=certificate.replace(":-----BEGIN", "-----BEGIN"))

    def import_key(self, armored: str) -> None:
        self.gpg("--import", input_text=armored)

    def encrypt_to(
        self, armored_public_key: str, source: Path, destination: Path, *, compress: bool = True, sign_with: str = ""
    ) -> None:
        """Encrypt as a partner would, to the public key we handed out (``--recipient-file``, no import)."""
        key_file = self.home / "recipient.asc"
        key_file.write_text(armored_public_key)
        options = [] if compress else ["--compress-algo", "none"]
        signing = ["--sign", "--local-user", sign_with] if sign_with else []
        self.gpg(
            *options,
            *signing,
            "--encrypt",
            "--recipient-file",
            str(key_file),
            "--output",
            str(destination),
            str(source),
        )

    def decrypt(self, source: Path, destination: Path) -> None:
        self.gpg("--decrypt", "--output", str(destination), str(source))
