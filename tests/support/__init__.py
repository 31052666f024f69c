"""Real test infrastructure: OpenSSH sshd servers and an in-process asyncssh server."""
