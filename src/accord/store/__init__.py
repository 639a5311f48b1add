"""Stores: where Accord keeps its rows. ``open_store`` picks the backend from the URL."""

from __future__ import annotations

from accord.store._base import CustomerRow, Store, Tx


def open_store(url: str, **options: object) -> Store:
    """``postgresql://…`` opens PostgreSQL (needs ``accord[postgres]``); anything else is a
    SQLite file path (``:memory:`` for a throwaway store)."""
    if url.startswith(("postgresql://", "postgres://")):
        from accord.store.postgres import PostgresStore

        return PostgresStore(url, **options)  # type: ignore[arg-type]
    from accord.store.sqlite import SQLiteStore

    return SQLiteStore(url, **options)  # type: ignore[arg-type]


__all__ = ["CustomerRow", "Store", "Tx", "open_store"]
