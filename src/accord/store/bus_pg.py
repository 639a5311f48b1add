"""Live updates across replicas: the in-process bus, plus PostgreSQL LISTEN/NOTIFY.

Every replica delivers its own messages to its own subscribers at once (as ``Bus`` does) and
sends them with ``pg_notify``; a listener thread delivers the other replicas' messages. Each
notification carries the sending replica's id, so a replica never delivers its own message a
second time, and a sequence number, so PostgreSQL never folds two equal messages into one.

A replica alone on its database sends no notifications (and builds no payloads): each bus
holds a lease in ``bus_replicas`` from the moment it listens, renewed every ``RENEW_S`` and
lasting ``LEASE_S`` (database time, so clocks on different machines do not matter), and a
publisher notifies only while another replica's lease is live. It learns that from a count it
refreshes every ``refresh / 2`` seconds on its listener connection; a count older than
``refresh`` is not trusted (the replica notifies, and the sender counts again before sending).

The race when a replica appears, and why no message is lost: the new replica commits its lease
at time L and accepts its first subscription only at L + ``refresh`` (``attach`` waits out what
is left of that, once, at start-up). A message published at P ≥ L + ``refresh`` is sent on a
count taken at F ≥ P − ``refresh`` ≥ L, which sees the lease. The one message that can still
miss a first subscriber is that of a decision already being decided when the replica started
and committed after its first subscription, exactly as a stream opened mid-decision may or may
not see it. ``refresh`` must be the same on every replica (it is, unless set by hand).

Delivery is live, not durable: a notification sent while a replica's listener is reconnecting
is missed by that replica's subscribers. The ledger is the record; a subscriber that must see
everything reads the ledger from its last sequence number after a reconnect.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from accord.store._rows import POSTGRES_SCHEMA
from accord.store.bus import Bus, Message, Subscription

log = logging.getLogger("accord.bus")

PAYLOAD_LIMIT = 7900
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay under it with room to spare."""
_NOTIFY_ONE = "SELECT pg_notify(%s, %s)"
_NOTIFY_MANY = ("SELECT pg_notify(%s, p) FROM json_array_elements_text(%s::json) "
                "WITH ORDINALITY AS u(p, i) ORDER BY i")
_REPLICAS = next(s.strip() for s in POSTGRES_SCHEMA.split(";") if "bus_replicas" in s)
_NOW = "extract(epoch from clock_timestamp())"
_REGISTER = ("INSERT INTO bus_replicas (channel, replica, until) VALUES "
             f"(%s, %s, {_NOW} + %s) ON CONFLICT (channel, replica) DO UPDATE SET "
             "until = excluded.until")
_PRUNE = f"DELETE FROM bus_replicas WHERE channel = %s AND until < {_NOW} - %s"
_OTHERS = ("SELECT count(*) FROM bus_replicas WHERE channel = %s AND replica <> %s "
           f"AND until > {_NOW}")
_LEAVE = "DELETE FROM bus_replicas WHERE channel = %s AND replica = %s"
LEASE_S = 30.0
"""How long a replica's lease in ``bus_replicas`` lasts unrenewed (a replica that died is
notified for at most this long)."""
RENEW_S = 5.0
"""How often a live replica renews its lease."""
REFRESH_S = 0.5
"""The oldest count of other replicas a publisher trusts (see the module doc)."""
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
                 connect_timeout: float = 5.0, poll: float = 0.25,
                 refresh: float = REFRESH_S) -> None:
        super().__init__()
        self.url = url
        self.replica = replica or uuid.uuid4().hex[:16]
        self._own = '{"r":' + json.dumps(self.replica) + ","
        """How this replica's own notifications begin (see ``payload``): they are skipped
        unparsed, since the listener hears every one of them back."""
        self.lost = 0
        """Messages that could not be sent to the other replicas (the database was away)."""
        self.sent = 0
        """Notifications sent to the other replicas."""
        self.skipped = 0
        """Messages not sent because no other replica listened."""
        self.refresh = refresh
        self._view: tuple[int | None, float] = (None, float("-inf"))
        """Other replicas with a live lease as last counted (None: unknown, so notify), and
        when that count began; one tuple, so a reader never pairs a count with another's
        time."""
        self._renewed = float("-inf")
        self._registry = True
        """Whether ``bus_replicas`` can be used; if not (a read-only server), always notify."""
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
            self._register(self._listen)
        except BaseException:
            self._listen.close()
            raise
        self._ready_at = time.monotonic() + refresh
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

    # -- who listens -------------------------------------------------------------------------

    def _register(self, conn: psycopg.Connection[Any]) -> None:
        """Take (or renew) this replica's lease and count the others', on ``conn``."""
        if not self._registry:
            return
        started = time.monotonic()
        try:
            if self._renewed == float("-inf"):
                exists = conn.execute("SELECT to_regclass('bus_replicas') IS NOT NULL").fetchone()
                if not (exists and exists[0]):
                    conn.execute(_REPLICAS)
            conn.execute(_REGISTER, (self.channel, self.replica, LEASE_S))
            conn.execute(_PRUNE, (self.channel, LEASE_S))
            self._renewed = started
        except psycopg.Error as exc:
            self._give_up(exc)
            return
        self._count(conn, started)

    def _give_up(self, exc: psycopg.Error) -> None:
        """``bus_replicas`` cannot be used (a read-only server, a dropped table): notify on
        every message from now on. A lost connection is re-raised for the caller to handle."""
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            raise exc  # the connection is gone: the listener reconnects and registers again
        self._registry = False
        self._view = (None, float("-inf"))
        log.warning("live updates: cannot keep a lease in bus_replicas (%s); notifying on "
                    "every message", exc)

    def _count(self, conn: psycopg.Connection[Any], started: float) -> None:
        try:
            row = conn.execute(_OTHERS, (self.channel, self.replica)).fetchone()
        except psycopg.Error as exc:
            self._give_up(exc)
            return
        # ``started`` precedes the count's snapshot, so the count is at least that fresh
        self._view = (int(row[0]) if row else None, started)

    def _tick(self, conn: psycopg.Connection[Any]) -> None:
        """On the listener thread between waits: renew the lease, keep the count fresh."""
        now = time.monotonic()
        if not self._registry:
            return
        if now - self._renewed >= RENEW_S:
            self._register(conn)
        elif now - self._view[1] >= self.refresh / 2:
            self._count(conn, now)

    def _remote(self) -> bool:
        """Whether another replica may listen: yes unless a fresh count says none."""
        others, counted = self._view
        return (others is None or others > 0 or not self._registry
                or time.monotonic() - counted > self.refresh)

    @property
    def others(self) -> int | None:
        """Other replicas listening, as last counted (None: unknown)."""
        return self._view[0]

    def attach(self, sub: Subscription) -> Subscription:
        """As ``Bus.attach``; in the first ``refresh`` seconds after start-up, first waits
        until every other replica's count includes this one (see the module doc)."""
        wait = self._ready_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return super().attach(sub)

    # -- sending -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Someone listens here, or another replica may: messages are worth building."""
        return bool(self._subs) or self._remote()

    def publish(self, messages: list[Message]) -> None:
        """Deliver here at once; hand the rest to the sender thread if another replica may
        listen. Never blocks on the database and never raises: the change has already
        committed, and a slow or lost notification must not slow down or fail the decision
        that caused it."""
        super().publish(messages)
        if not self._remote():
            self.skipped += len(messages)
            return
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
                    self._send_on(conn, query, args, payloads)
                return
            if self._send is None or self._send.closed:
                self._send = self._connect()
            self._send_on(self._send, query, args, payloads)
        except psycopg.Error as exc:
            self.lost += len(payloads)
            log.warning("live updates: %d message(s) not sent to other replicas: %s",
                        len(payloads), exc)

    def _send_on(self, conn: psycopg.Connection[Any], query: str, args: tuple[Any, ...],
                 payloads: list[str]) -> None:
        """Notify, unless a count no older than ``refresh`` (taken now if need be) says no
        other replica listens."""
        started = time.monotonic()
        if self._registry and started - self._view[1] > self.refresh:
            self._count(conn, started)
        others, counted = self._view
        if self._registry and others == 0 and started - counted <= self.refresh:
            self.skipped += len(payloads)
            return
        conn.execute(query, args)
        self.sent += len(payloads)

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
                self._tick(conn)
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
                self._renewed = float("-inf") if self._registry else self._renewed
                self._register(conn)
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
        if self._registry and not self._thread.is_alive():
            with contextlib.suppress(psycopg.Error):
                self._listen.execute(_LEAVE, (self.channel, self.replica))
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
