"""The ``tokens`` rows: bearer tokens by the SHA-256 of their text (the text is never stored)."""

from __future__ import annotations

from typing import Any

from accord.store._base import Tx


def add(tx: Tx, digest: str, role: str, subject: str, at: float) -> None:
    tx.execute("INSERT INTO tokens (hash, role, subject, created_at) VALUES (?,?,?,?)",
               (digest, role, subject, at))


def active(tx: Tx, digest: str) -> dict[str, Any] | None:
    """The role and subject of the unrevoked token with this hash, or ``None``."""
    return tx.one("SELECT role, subject FROM tokens WHERE hash = ? AND revoked = 0", (digest,))


def revoke(tx: Tx, digest: str) -> None:
    tx.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?", (digest,))
