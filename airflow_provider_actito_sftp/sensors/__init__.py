"""Sensors of the Actito SFTP provider (the file sensor arrives with the transfer engine)."""
