"""Triggers of the Actito SFTP provider."""
