"""Key material: SSH client keys and PGP keys, generated and inspected without leaking secrets."""
