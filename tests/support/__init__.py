"""Test fixtures and helpers only; the simulated partner (sshd, gpg, SFTP server) is in ``partner_sandbox``."""
