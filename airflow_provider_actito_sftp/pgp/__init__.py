"""OpenPGP, all of it: read this map, then the module you need.

- :mod:`.home`: a fresh 0700 GNUPGHOME per gpg operation, deleted (agent stopped) afterwards; homes
  left by killed processes are swept. No key ever enters a user's keyring. Homes stay short enough for
  gpg-agent's socket whatever ``TMPDIR`` is; a gpg that cannot start raises ``GpgUnavailableError``.
- :mod:`.armor`: a key file as partners send it, armored (``.asc``) or binary (``.gpg``, ``.pgp``), as
  the armored text a connection stores; :func:`~.armor.check_secret_keys` checks our stored secret keys
  without gpg (armor, checksum, packets).
- :mod:`.keys`: our inbound key pairs (generate, rotate, retire, export the public key handed out) and
  the partner's public key (refused if secret, expired, revoked, not encrypting, or several keys).
- :mod:`.stream`: gpg as a stdin -> stdout filter (:func:`~.stream.decrypting`,
  :func:`~.stream.encrypting`), :func:`~.stream.pump`, the one loop that feeds it blocks while draining
  its output, and :func:`~.stream.decrypt_stream` / :func:`~.stream.encrypt_stream`, what the transfer
  engine calls (with :class:`~.stream.DecryptOptions` / :class:`~.stream.EncryptOptions`).
- :mod:`.verdict`: what gpg's status lines mean (:class:`~.verdict.GpgOutcome`): a decryption is
  accepted only with an integrity check and the :class:`~.verdict.SignaturePolicy` met; an
  encryption only when gpg completed it.
- :mod:`.packets`: is the start of a file an OpenPGP message, and which kind (encrypted to a key, to a
  passphrase, armored, signed only, an encrypted message signed as data), from its packet headers;
  :mod:`.packet_fields` checks each packet's fields for it.
- :mod:`.sniff`: from that and the inbound policy, decrypt, import as it is, or refuse a file.
- :mod:`.detached`: a detached signature (``F.sig``) checked by ``gpg --verify`` fed the signed bytes as
  they are read, with the partner's key only.
- :mod:`.sequoia`: Sequoia's ``sq`` as the second decryption backend, for what gpg 2.2 cannot read (the
  padding ``sq encrypt`` adds by default); ``transfer/download.py`` asks it when gpg opened our key but
  could not confirm the data.

Nothing here imports the transfer engine: ``transfer/download.py`` and ``transfer/upload.py`` call
:func:`~.stream.decrypt_stream` and :func:`~.stream.encrypt_stream`.
"""
