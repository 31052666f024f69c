"""The partner's side of PGP with other implementations than gpg: Sequoia's ``sq`` and RNP's ``rnp``.

Each works on key files in a folder of its own (no keyring of the user running the tests), with the
options a partner would type. Debian packages: ``sq``, ``rnp``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TIMEOUT = 120  # seconds for one command


def installed(tool: str) -> bool:
    """Whether ``sq`` or ``rnp`` is on the PATH."""
    return shutil.which(tool) is not None


def run(*argv: str, stdin: bytes | None = None) -> bytes:
    """Run a command; return its stdout; raise with its stderr if it fails."""
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stderr.decode(errors='replace')}"
        )
    return result.stdout


class PartnerSq:
    """A partner using Sequoia's ``sq`` with key files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def generate(self, name: str, *, cipher_suite: str = "cv25519") -> tuple[Path, Path]:
        """A new key pair (``sq key generate``): its secret key file and its certificate (public key) file."""
        secret, cert = self.folder / f"{name}.key", self.folder / f"{name}.cert"
        run("sq", "key", "generate", "--userid", f"<{name}@partner.example>", "--cipher-suite", cipher_suite,
            "--export", str(secret))  # fmt: skip
        cert.write_bytes(run("sq", "key", "extract-cert", str(secret)))
        return secret, cert

    def encrypt(self, recipient: Path, source: Path, destination: Path, *options: str) -> Path:
        """``sq encrypt`` to the key in ``recipient`` (our public key file), with the given extra options."""
        run("sq", "encrypt", "--recipient-cert", str(recipient), *options, "--output", str(destination), str(source))
        return destination

    def decrypt(self, secret: Path, source: Path) -> bytes:
        """``sq decrypt`` with the partner's secret key file: the plaintext."""
        return run("sq", "decrypt", "--recipient-key", str(secret), str(source))

    def sign(self, secret: Path, source: Path, destination: Path) -> Path:
        """``sq sign`` (an inline signed message, armored: sq's default) of ``source``, e.g. an encrypted file."""
        run("sq", "sign", "--signer-key", str(secret), "--output", str(destination), str(source))
        return destination

    def binary(self, armored: Path) -> bytes:
        """The binary form of an armored key file (``sq dearmor``), as partners send ``.pgp`` files."""
        return run("sq", "dearmor", str(armored))


class PartnerRnp:
    """A partner using RNP's ``rnp`` with its own home folder."""

    def __init__(self, folder: Path) -> None:
        self.home = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def generate(self, name: str) -> tuple[Path, Path]:
        """A new key pair (``rnpkeys --generate-key``, rnp's default algorithms): secret and public key files."""
        user_id = f"{name}@partner.example"
        run("rnpkeys", "--homedir", str(self.home), "--generate-key", "--userid", user_id, "--password", "")
        secret, public = self.home / f"{name}.sec.asc", self.home / f"{name}.pub.asc"
        run("rnpkeys", "--homedir", str(self.home), "--export-key", "--secret", user_id, "--output", str(secret),
            "--overwrite")  # fmt: skip
        run("rnpkeys", "--homedir", str(self.home), "--export-key", user_id, "--output", str(public), "--overwrite")
        return secret, public

    def import_key(self, public: Path) -> None:
        run("rnpkeys", "--homedir", str(self.home), "--import", str(public))

    def encrypt(self, recipient: str, source: Path, destination: Path, *options: str) -> Path:
        """``rnp --encrypt`` to ``recipient`` (a fingerprint of a key imported with :meth:`import_key`)."""
        run("rnp", "--homedir", str(self.home), "--encrypt", str(source), "--recipient", recipient, *options,
            "--output", str(destination), "--overwrite")  # fmt: skip
        return destination

    def import_secret(self, secret: Path) -> None:
        run("rnpkeys", "--homedir", str(self.home), "--import", str(secret))

    def decrypt(self, source: Path) -> bytes:
        """``rnp --decrypt`` with the keys in its home: the plaintext."""
        return run("rnp", "--homedir", str(self.home), "--password", "", "--decrypt", str(source), "--output", "-")
