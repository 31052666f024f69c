"""Operators of the Actito SFTP provider (the import and export operators arrive with the transfer engine)."""
