"""Live updates across processes sharing one SQLite file (``accord serve`` beside ``accord mcp``
over stdio, a script beside a server).

Every process delivers its own messages to its own subscribers at once, as ``Bus`` does. A
process where someone listens holds a lease in ``bus_listeners`` and polls ``bus_events`` by id
every ``poll`` seconds (one primary-key range read) while it has subscribers, and not at all
otherwise; a process publishes into ``bus_events`` only while another process holds a lease, so
a lone process pays one indexed read a second and writes nothing. Each event carries its
process's id, so a process never delivers its own message twice.

Delivery is live, not durable, exactly as with PostgreSQL's LISTEN/NOTIFY: a message published
before a listener's lease was seen is not replayed. The ledger is the record.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from typing import TYPE_CHECKING

from accord.store import _bus
from accord.store.bus import Bus, Message, Subscription

if TYPE_CHECKING:
    from accord.store.sqlite import SQLiteStore, SQLiteTx

log = logging.getLogger("accord.bus")

LEASE_S = 10.0
"""How long a listener's lease lasts; it is renewed every ``LEASE_S / 4``."""
KEEP_S = 60.0
"""Events older than this are pruned."""
RECHECK_S = 1.0
"""How often a publisher looks again for other processes' listeners."""


class SQLiteBus(Bus):
    """A ``Bus`` shared by every process that opens the same SQLite file."""

    def __init__(self, store: SQLiteStore, *, poll: float = 0.2,
                 replica: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.poll = poll
        self.replica = replica or uuid.uuid4().hex[:16]
        with store.write() as tx:
            _bus.create(tx)
        self._reader = sqlite3.connect(store.url, isolation_level=None,
                                       check_same_thread=False, timeout=30.0)
        self._read_lock = threading.Lock()
        self._remote = False
        self._remote_checked = float("-inf")
        self._pruned = time.time()
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False

    def _read(self) -> _ReadTx:
        return _ReadTx(self)

    # -- publishing --------------------------------------------------------------------------

    def _others_listen(self) -> bool:
        now = time.monotonic()
        if now - self._remote_checked >= RECHECK_S:
            self._remote_checked = now
            try:
                with self._read() as tx:
                    self._remote = _bus.others_listen(tx, self.replica, time.time())
            except sqlite3.Error as exc:  # live updates never fail a decision
                log.warning("could not look for other processes' listeners: %s", exc)
                self._remote = False
        return self._remote

    @property
    def active(self) -> bool:
        return bool(self._subs) or (not self._closed and self._others_listen())

    def publish(self, messages: list[Message]) -> None:
        super().publish(messages)
        if not messages or self._closed or not self._others_listen():
            return
        now = time.time()
        try:
            with self.store.write(durable=False) as tx:  # live, not durable: no fsync
                _bus.append(tx, self.replica, messages, now)
                if now - self._pruned > KEEP_S:
                    self._pruned = now
                    _bus.prune(tx, now - KEEP_S)
        except sqlite3.Error as exc:
            log.warning("could not hand %d message(s) to other processes: %s",
                        len(messages), exc)

    # -- listening ---------------------------------------------------------------------------

    def attach(self, sub: Subscription) -> Subscription:
        sub = super().attach(sub)
        with self._lock:
            if self._poller is None and not self._closed:
                self._stop.clear()
                self._poller = threading.Thread(target=self._listen, name="accord-sqlite-bus",
                                                daemon=True)
                self._poller.start()
        return sub

    def _listen(self) -> None:
        try:
            with self._read() as tx:
                cursor = _bus.head(tx)
            renewed = float("-inf")
            while not self._stop.is_set():
                with self._lock:
                    if not self._subs:
                        self._poller = None
                        break
                if time.monotonic() - renewed >= LEASE_S / 4:
                    with self.store.write(durable=False) as wtx:
                        _bus.listen(wtx, self.replica, time.time() + LEASE_S)
                    renewed = time.monotonic()
                with self._read() as tx:
                    rows = _bus.since(tx, cursor)
                for r in rows:
                    cursor = r["id"]
                    if r["replica"] != self.replica:
                        super().publish([json.loads(r["body"])])
                if not rows:
                    self._stop.wait(self.poll)
        except Exception:  # a broken poller must not go unnoticed, nor take the server down
            log.exception("the SQLite bus stopped listening to other processes")
            with self._lock:
                self._poller = None
        finally:
            try:
                with self.store.write() as wtx:
                    _bus.unlisten(wtx, self.replica)
            except (sqlite3.Error, AttributeError):
                pass  # the store is closed: the lease lapses by itself

    def close(self) -> None:
        self._closed = True
        self._stop.set()
        poller = self._poller
        if poller is not None and poller is not threading.current_thread():
            poller.join(timeout=5)
        with self._read_lock:
            self._reader.close()


class _ReadTx:
    """A read on the bus's own connection (never the store's: a publisher may be inside a
    store transaction when it asks whether anyone listens)."""

    def __init__(self, bus: SQLiteBus) -> None:
        self._bus = bus

    def __enter__(self) -> SQLiteTx:
        from accord.store.sqlite import SQLiteTx

        self._bus._read_lock.acquire()
        return SQLiteTx(self._bus._reader, None)

    def __exit__(self, *exc: object) -> None:
        self._bus._read_lock.release()
