"""OpenPGP: our inbound keys, the partner's key, temporary GNUPGHOMEs, gpg as a streaming filter, packet sniffing."""
