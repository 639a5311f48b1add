"""The seat registry: the ``seats`` table and its version mark (``meta.seats_version``), which
every replica compares at the top of each decision."""

from __future__ import annotations

import uuid
from typing import Any

from accord.store._base import Tx

VERSION_KEY = "seats_version"


def version(tx: Tx) -> str | None:
    """The registry's version mark (one primary-key read); None before any seat change."""
    mark = tx.one("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,))
    return mark["value"] if mark else None


def every(tx: Tx) -> list[dict[str, Any]]:
    return tx.rows("SELECT * FROM seats ORDER BY id")


def put(tx: Tx, seat_id: str, spec: str, status: str, at: float, by: str) -> None:
    """Write a seat and move the version mark, so every replica rebuilds its seat view."""
    tx.execute("INSERT INTO seats (id, spec, status, updated_at, updated_by) VALUES "
               "(?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, "
               "status = excluded.status, updated_at = excluded.updated_at, "
               "updated_by = excluded.updated_by", (seat_id, spec, status, at, by))
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
               "SET value = excluded.value", (VERSION_KEY, uuid.uuid4().hex))
