"""The store seam. The service owns every decision; a store only keeps rows and serializes
writers per customer. Both backends run one conformance suite (tests/store)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from accord.store.bus import Bus


@dataclass(slots=True)
class CustomerRow:
    id: str
    version: int
    fields: dict[str, Any]
    provenance: dict[str, Any]
    chain_seq: int
    chain_head: str


class Tx(Protocol):
    """One transaction. Implementers guarantee: everything written through one Tx commits
    together or not at all, and a Tx from ``Store.lock`` excludes every other ``lock`` of the
    same customer until it ends (on every replica sharing the database)."""

    def customer(self) -> CustomerRow: ...
    def save_customer(self, row: CustomerRow) -> None: ...
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None: ...
    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]: ...
    def one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None: ...


class Store(Protocol):
    """Where Accord keeps its rows. ``url`` names it (a path or a PostgreSQL URL)."""

    url: str

    def lock(self, customer: str) -> AbstractContextManager[Tx]:
        """Begin a write transaction holding ``customer``'s lock (the row is created if new)."""
        ...

    def read(self) -> AbstractContextManager[Tx]:
        """Begin a read-only transaction; takes no customer lock."""
        ...

    def write(self, *, durable: bool = True) -> AbstractContextManager[Tx]:
        """Begin a write transaction that locks no customer: for rows outside every
        customer's chain. ``durable=False`` may lose the commit in a crash (never a decision)."""
        ...

    def make_bus(self, **options: Any) -> Bus:
        """The bus for services on this store: one that also carries other processes' or
        replicas' messages where the store can (closed with the store)."""
        ...

    def close(self) -> None: ...

