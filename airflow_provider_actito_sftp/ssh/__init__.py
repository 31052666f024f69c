"""SSH: pinned host keys, our client key pairs, and the one place a session is opened."""
