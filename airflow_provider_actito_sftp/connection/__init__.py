"""The connection: its field schema, the parsed settings, and the store that reads and writes it."""
