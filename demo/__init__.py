"""`make demo`: runs the provider against a throwaway local SFTP server."""
