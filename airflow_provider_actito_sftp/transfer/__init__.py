"""The transfer engine: one SSH session per task, streamed downloads/uploads with PGP, progress, records."""
