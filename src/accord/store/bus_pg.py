"""Live updates across replicas: the in-process bus, plus PostgreSQL LISTEN/NOTIFY.

Every replica delivers its own messages to its own subscribers at once (as ``Bus`` does) and
sends them with ``pg_notify``; a listener thread delivers the other replicas' messages. Each
notification carries the sending replica's id, so a replica never delivers its own message a
second time, and a sequence number, so PostgreSQL never folds two equal messages into one.

Delivery is live, not durable: a notification sent while a replica's listener is reconnecting
is missed by that replica's subscribers. The ledger is the record; a subscriber that must see
everything reads the ledger from its last sequence number after a reconnect.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from accord.store.bus import Bus, Message

log = logging.getLogger("accord.bus")

PAYLOAD_LIMIT = 7900
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay under it with room to spare."""
_NOTIFY_ONE = "SELECT pg_notify(%s, %s)"
_NOTIFY_MANY = ("SELECT pg_notify(%s, p) FROM json_array_elements_text(%s::json) "
                "WITH ORDINALITY AS u(p, i) ORDER BY i")
_KEEP = ("kind", "customer", "agents", "touch_id", "decision_id", "status", "version", "claim_id",
         "at", "by")
_DECISION_KEEP = ("id", "outcome", "touch_id", "retry_at", "approval", "context_version",
                  "policy_version", "preempted", "parent_decision", "decided_at")
_PROPOSAL_KEEP = ("agent", "customer", "action", "channel", "intent", "at", "trace_id",
                  "parent_id")


class PgBus(Bus):
    """A ``Bus`` shared by every replica on one database (and schema).

    ``channel`` defaults to ``accord`` in the ``public`` schema and ``accord:<schema>``
    otherwise, so Accords in different schemas of one database do not hear each other.
    ``pool`` (the store's) sends notifications; without it the bus opens its own connection.
    """

    def __init__(self, url: str, *, channel: str | None = None, replica: str | None = None,
                 pool: ConnectionPool[psycopg.Connection[Any]] | None = None,
                 connect_timeout: float = 5.0, poll: float = 0.25) -> None:
        super().__init__()
        self.url = url
        self.replica = replica or uuid.uuid4().hex[:16]
        self._own = '{"r":' + json.dumps(self.replica) + ","
        """How this replica's own notifications begin (see ``payload``): they are skipped
        unparsed, since the listener hears every one of them back."""
        self.lost = 0
        """Messages that could not be sent to the other replicas (the database was away)."""
        self._pool = pool
        self._timeout = max(2, int(connect_timeout))
        self._poll = poll
        self._seq = itertools.count()
        self._send: psycopg.Connection[Any] | None = None
        self._outbox: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._listen = self._connect()
        try:
            row = self._listen.execute("SELECT current_schema()").fetchone()
            schema = row[0] if row else None
            self.channel = channel or ("accord" if schema in (None, "public")
                                       else f"accord:{schema}")
            self._subscribe(self._listen)
        except BaseException:
            self._listen.close()
            raise
        self._thread = threading.Thread(target=self._run, name=f"accord-bus-{self.replica}",
                                        daemon=True)
        self._thread.start()
        self._sender = threading.Thread(target=self._send_loop, daemon=True,
                                        name=f"accord-bus-send-{self.replica}")
        self._sender.start()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout)

    def _subscribe(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    # -- sending -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return True  # other replicas listen even when no one here does

    def publish(self, messages: list[Message]) -> None:
        """Deliver here at once; hand the rest to the sender thread. Never blocks on the
        database and never raises: the change has already committed, and a slow or lost
        notification must not slow down or fail the decision that caused it."""
        super().publish(messages)
        for m in messages:
            self._outbox.put(self.payload(m))

    def _send_loop(self) -> None:
        """Send queued notifications in order, as many per statement as are waiting."""
        while True:
            first = self._outbox.get()
            batch = [first] if first is not None else []
            while len(batch) < 500:
                try:
                    more = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    first = None
                    break
                batch.append(more)
            if batch:
                self._notify(batch)
            if first is None:
                return

    def _notify(self, payloads: list[str]) -> None:
        query, args = ((_NOTIFY_ONE, (self.channel, payloads[0])) if len(payloads) == 1 else
                       (_NOTIFY_MANY, (self.channel, json.dumps(payloads))))
        try:
            if self._pool is not None:
                with self._pool.connection() as conn:
                    conn.execute(query, args)
                return
            if self._send is None or self._send.closed:
                self._send = self._connect()
            self._send.execute(query, args)
        except psycopg.Error as exc:
            self.lost += len(payloads)
            log.warning("live updates: %d message(s) not sent to other replicas: %s",
                        len(payloads), exc)

    def payload(self, message: Message) -> str:
        """The notification text for ``message``: whole if it fits, else slimmed (see
        ``slim``) with ``"truncated": true``."""
        envelope = {"r": self.replica, "n": next(self._seq), "m": message}
        text = json.dumps(envelope, separators=(",", ":"), default=str)
        if len(text.encode()) <= PAYLOAD_LIMIT:
            return text
        envelope["m"] = slim(message)
        text = json.dumps(envelope, separators=(",", ":"), default=str)
        if len(text.encode()) <= PAYLOAD_LIMIT:
            return text
        envelope["m"] = {"kind": message.get("kind"),
                         "customer": str(message.get("customer"))[:200],
                         "agents": list(message.get("agents", ()))[:50], "truncated": True}
        return json.dumps(envelope, separators=(",", ":"), default=str)

    # -- receiving ---------------------------------------------------------------------------

    def _run(self) -> None:
        conn = self._listen
        while not self._stop.is_set():
            try:
                for note in conn.notifies(timeout=self._poll):
                    self._deliver(note.payload)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("live updates: listener lost its connection (%s); reconnecting", exc)
                fresh = self._reconnect(conn)
                if fresh is None:
                    return
                self._listen = conn = fresh

    def _reconnect(self, old: psycopg.Connection[Any]) -> psycopg.Connection[Any] | None:
        old.close()
        delay = 0.1
        while not self._stop.wait(delay):
            try:
                conn = self._connect()
                self._subscribe(conn)
                return conn
            except psycopg.Error:
                delay = min(delay * 2, 5.0)
        return None

    def _deliver(self, text: str) -> None:
        if text.startswith(self._own):
            return
        try:
            envelope = json.loads(text)
            if envelope.get("r") == self.replica:
                return
            message = envelope["m"]
        except (ValueError, KeyError, AttributeError, TypeError):
            log.warning("live updates: ignored a notification that is not an Accord message")
            return
        Bus.publish(self, [message])

    def close(self) -> None:
        """Send what is queued, stop both threads, close the connections."""
        self._outbox.put(None)
        self._sender.join(timeout=10)
        self._stop.set()
        self._thread.join(timeout=self._poll * 8 + 1)
        self._listen.close()
        if self._send is not None:
            self._send.close()


def slim(message: Message) -> Message:
    """What subscribers need from a message too large for one notification: its kind, customer,
    agents and ids, and for a decision its outcome, reasons (rule, effect, message cut to 200
    characters) and the proposal's routing fields — still a valid ``Decision``. The full
    decision is one ``Accord.decision(id)`` away."""
    out: Message = {k: message[k] for k in _KEEP if k in message}
    decision = message.get("decision")
    if isinstance(decision, dict):
        d = {k: decision[k] for k in _DECISION_KEEP if k in decision}
        d["reasons"] = [{"rule": r.get("rule"), "effect": r.get("effect"),
                         "message": str(r.get("message", ""))[:200]}
                        for r in decision.get("reasons", []) if isinstance(r, dict)]
        proposal = decision.get("proposal")
        if isinstance(proposal, dict):
            d["proposal"] = {k: proposal[k] for k in _PROPOSAL_KEEP if k in proposal}
        out["decision"] = d
    out["truncated"] = True
    return out
