"""Stores: where Accord keeps its rows. ``open_store`` picks the backend from the URL."""

from __future__ import annotations

import re

from accord.store._base import CustomerRow, Store, Tx

_USERINFO_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:@/?#]*):[^@/?#]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)


def redacted(url: str) -> str:
    """``url`` fit to print or log: a password in the user part or in a ``password`` /
    ``sslpassword`` parameter becomes ``***``. Never show a store URL any other way."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1:***@", url))


def open_store(url: str, **options: object) -> Store:
    """``postgresql://…`` opens PostgreSQL (needs ``accord[postgres]``); anything else is a
    SQLite file path (``:memory:`` for a throwaway store)."""
    if url.startswith(("postgresql://", "postgres://")):
        from accord.store.postgres import PostgresStore

        return PostgresStore(url, **options)  # type: ignore[arg-type]
    from accord.store.sqlite import SQLiteStore

    return SQLiteStore(url, **options)  # type: ignore[arg-type]


__all__ = ["CustomerRow", "Store", "Tx", "open_store", "redacted"]
