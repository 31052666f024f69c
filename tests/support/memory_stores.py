"""In-memory stand-ins for the Variable-backed stores, for engine-level tests (no Airflow task around)."""

from __future__ import annotations

from airflow_provider_actito_sftp.transfer.ledger import Delivery, LedgerEntry


class MemoryLedger:
    """The keep-mode ledger, in memory (the operator keeps it in Airflow Variables)."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}

    def get(self, name: str) -> LedgerEntry | None:
        return self.entries.get(name)

    def put(self, entry: LedgerEntry) -> None:
        self.entries[entry.name] = entry


class MemoryDeliveries:
    """The export delivery log, in memory, shared by the tries of one task instance."""

    def __init__(self) -> None:
        self.entries: dict[str, Delivery] = {}

    def get(self, name: str) -> Delivery | None:
        return self.entries.get(name)

    def put(self, delivery: Delivery) -> None:
        self.entries[delivery.name] = delivery
