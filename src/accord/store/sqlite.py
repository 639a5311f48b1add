"""The embedded store: one SQLite file in WAL mode, zero setup.

One connection owns all writes (SQLite serializes writers anyway); ``BEGIN IMMEDIATE`` takes the
write lock up front, so two processes sharing the file also serialize, first contact included.
``synchronous=FULL`` by default: a go that was answered survives a power cut. ``durability=
"normal"`` trades that for speed (a crash of the OS, not the process, may lose the last
transactions). ``durability="off"`` is for throwaway stores (a simulation, a backfill rebuilt
from its source): nothing waits for the disk and the write-ahead log grows large between
checkpoints, so rewritten pages reach the disk once; a crash of the OS or the process may lose
or corrupt the file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Literal

from accord._errors import InvalidInput, StoreUnavailable
from accord.store import _rows
from accord.store._base import CustomerRow
from accord.store.bus import Bus

if TYPE_CHECKING:
    from accord.store.bus_sqlite import SQLiteBus

RETRY = "retry with the same Idempotency-Key once the database file is writable again"

PAGE_SIZE = 2048
"""Page size of a new store file (SQLite's default is 4,096). Every commit writes each page it
dirtied whole to the write-ahead log, and most pages a decision dirties carry one small index
entry, so halving the page cuts the bytes written per decision by about a third (``accord
bench``: ``bytes_per_decision``). An existing file keeps the page size it was created with."""

Durability = Literal["full", "normal", "off"]
DURABILITY: tuple[Durability, ...] = ("full", "normal", "off")

THROWAWAY = ("wal_autocheckpoint=16384", "journal_size_limit=67108864", "temp_store=MEMORY",
             "cache_size=-65536")
"""``durability="off"`` beyond ``synchronous=OFF``: checkpoint every 16,384 pages (64 MB of
log with 4 KB pages) instead of 1,000, so a page a run rewrites often is copied into the file
once per checkpoint rather than every few hundred decisions; the log is truncated back to 64 MB
after a checkpoint; temporary B-trees and a 64 MB page cache stay in memory."""


class SQLiteTx:
    def __init__(self, conn: sqlite3.Connection, customer: str | None) -> None:
        self._conn = conn
        self._customer = customer

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._conn.execute(sql, params)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        cur = self._conn.execute(sql, params)
        r = cur.fetchone()
        return None if r is None else dict(zip([d[0] for d in cur.description], r, strict=True))

    def customer(self) -> CustomerRow:
        assert self._customer is not None, "customer() needs a transaction from lock()"
        row = self.one("SELECT * FROM customers WHERE id = ?", (self._customer,))
        assert row is not None
        return _rows.customer_row(row)

    def save_customer(self, row: CustomerRow) -> None:
        _rows.save_customer(self, row)


class SQLiteStore:
    def __init__(self, path: str, *, durability: Durability = "full") -> None:
        if durability not in DURABILITY:
            raise InvalidInput(f"durability {durability!r} is not one of "
                               f"{', '.join(map(repr, DURABILITY))}", where="durability",
                               hint='"full" for a production store, "off" for a throwaway one')
        self.url = path
        self._lock = threading.RLock()
        self._buses: list[SQLiteBus] = []
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=30.0)
        self._conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file only; no-op otherwise
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._synchronous = durability.upper()
        self._conn.execute(f"PRAGMA synchronous={self._synchronous}")
        if durability == "off":
            for pragma in THROWAWAY:
                self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._migrate()
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        """Create the schema, or bring an older store's to ``_rows.SCHEMA_VERSION`` (inside the
        open write transaction, so a second process waits and then finds it current)."""
        has_meta = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        found = self._conn.execute(
            "SELECT value FROM meta WHERE key = 'schema'").fetchone() if has_meta else None
        have = int(found[0]) if found else 0
        if have > _rows.SCHEMA_VERSION:
            raise StoreUnavailable(
                f"{self.url}: the store's schema is at version {have}, newer than this Accord "
                f"understands ({_rows.SCHEMA_VERSION})", where="store",
                hint="open it with the Accord version that wrote it, or a newer one")
        if has_meta and have < _rows.SCHEMA_VERSION:
            _rows.sqlite_upgrade(self._conn, have)
        for stmt in _rows.schema("sqlite").split(";"):
            if stmt.strip():
                self._conn.execute(stmt)
        self._conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", (str(_rows.SCHEMA_VERSION),))

    @contextmanager
    def lock(self, customer: str) -> Iterator[SQLiteTx]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                sql, params = _rows.new_customer(customer, time.time())
                self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreUnavailable(
                    f"the store could not begin a transaction: {exc}; nothing was recorded",
                    where="store", hint=RETRY, extra={"outcome": "none"}) from exc
            tx = SQLiteTx(self._conn, customer)
            try:
                yield tx
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreUnavailable(  # a failed COMMIT leaves nothing in the file
                    f"the store could not commit: {exc}; nothing was recorded", where="store",
                    hint=RETRY, extra={"outcome": "none"}) from exc

    @contextmanager
    def read(self) -> Iterator[SQLiteTx]:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield SQLiteTx(self._conn, None)
            finally:
                self._conn.execute("COMMIT")

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[SQLiteTx]:
        """A write transaction that locks no customer (for rows outside any customer's chain,
        like the bus's); inside a transaction already open on this thread it joins that one.
        ``durable=False`` commits without waiting for the disk (``synchronous=OFF`` for this
        one commit): for rows a power cut may lose, never for a decision."""
        with self._lock:
            if self._conn.in_transaction:
                yield SQLiteTx(self._conn, None)
                return
            if not durable:
                self._conn.execute("PRAGMA synchronous=OFF")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield SQLiteTx(self._conn, None)
                except BaseException:
                    self._rollback()
                    raise
                self._conn.execute("COMMIT")
            finally:
                if not durable:
                    self._conn.execute(f"PRAGMA synchronous={self._synchronous}")

    def make_bus(self, **options: Any) -> Bus:
        """A bus that also carries the messages of other processes using this file (see
        ``accord.store.bus_sqlite``); the plain in-process bus for a ``:memory:`` store. Closed with
        the store."""
        if self.url in ("", ":memory:") or self.url.startswith("file::memory:"):
            return Bus()
        from accord.store.bus_sqlite import SQLiteBus

        bus = SQLiteBus(self, **options)
        self._buses.append(bus)
        return bus

    def _rollback(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        for bus in self._buses:
            bus.close()
        self._buses.clear()
        with self._lock:
            self._conn.close()
