"""Live updates: what committed, published after commit to whoever listens.

The in-process bus is the default; the PostgreSQL store adds LISTEN/NOTIFY so every replica's
subscribers see every replica's changes.

A server's streams (``/v1/stream``, ``/ui/stream``) wait with ``Subscription.next``, which
holds no thread while idle: ``offer`` wakes the waiting event loop only when a message arrives,
so open streams cost decisions nothing. Streams are bounded per owner (the principal that
opened them): ``Bus.max_per_owner``, beyond which ``subscribe`` raises ``TooManyStreams``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from accord._errors import AccordError

Message = dict[str, Any]

MAX_STREAMS_PER_OWNER = 8
"""Open live streams one principal may hold on one server (docs/api.md, "Live updates")."""


class TooManyStreams(AccordError):
    """The principal already holds ``Bus.max_per_owner`` open streams here."""

    status = 429
    title = "Too many open streams"
    retry_after = 5


class Subscription:
    """A stream of messages. Iterate it, or ``get(timeout)``; ``close()`` when done."""

    def __init__(self, bus: Bus, match: Callable[[Message], bool], maxsize: int = 10_000,
                 owner: str | None = None) -> None:
        self._bus = bus
        self._match = match
        self._queue: queue.Queue[Message] = queue.Queue(maxsize)
        self.dropped = 0
        self.owner = owner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._waiting = False

    def offer(self, message: Message) -> None:
        if self._match(message):
            try:
                self._queue.put_nowait(message)
            except queue.Full:  # a slow reader never blocks a decision
                self.dropped += 1
                return
            if self._waiting and self._loop is not None and self._ready is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                    self._loop.call_soon_threadsafe(self._ready.set)

    async def next(self, timeout: float | None = None) -> Message | None:
        """The next message, or None after ``timeout`` seconds; awaited on the event loop
        without a worker thread (publishers on any thread wake it)."""
        with contextlib.suppress(queue.Empty):
            return self._queue.get_nowait()
        if self._ready is None:
            self._loop, self._ready = asyncio.get_running_loop(), asyncio.Event()
        self._ready.clear()
        self._waiting = True  # before the second look, so a message put meanwhile wakes us
        try:
            with contextlib.suppress(queue.Empty):
                return self._queue.get_nowait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            with contextlib.suppress(queue.Empty):
                return self._queue.get_nowait()
            return None
        finally:
            self._waiting = False

    def get(self, timeout: float | None = None) -> Message | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[Message]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def __iter__(self) -> Iterator[Message]:
        while True:
            yield self._queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """In-process fan-out to subscriptions."""

    def __init__(self, *, max_per_owner: int = MAX_STREAMS_PER_OWNER) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._owned: dict[str, int] = {}
        self.max_per_owner = max_per_owner

    def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                  kinds: set[str] | None = None, owner: str | None = None,
                  where: Callable[[Message], bool] | None = None) -> Subscription:
        """A subscription to messages that match (and pass ``where``, if given: a message that
        fails it is never queued, so its reader is not woken). ``owner`` (a principal's label)
        counts it against that principal's bound; past it, ``TooManyStreams``."""
        def match(m: Message) -> bool:
            if kinds is not None and m.get("kind") not in kinds:
                return False
            if customer is not None and m.get("customer") != customer:
                return False
            if agent is not None and agent not in m.get("agents", ()):
                return False
            return where is None or where(m)

        return self.attach(Subscription(self, match, owner=owner))

    def attach(self, sub: Subscription) -> Subscription:
        """Deliver to ``sub`` from now on (a ``Subscription`` that overrides ``offer`` may be
        attached as is); one with an ``owner`` counts against that owner's bound."""
        owner = sub.owner
        with self._lock:
            if owner is not None:
                held = self._owned.get(owner, 0)
                if held >= self.max_per_owner:
                    raise TooManyStreams(
                        f"{owner} already holds {held} open streams on this server, the most "
                        "one principal may", where="Authorization",
                        hint=f"close a stream you no longer read (one per agent is enough), "
                             f"then retry after {TooManyStreams.retry_after} s",
                        extra={"limit": self.max_per_owner})
                self._owned[owner] = held + 1
            self._subs.append(sub)
        return sub

    @property
    def active(self) -> bool:
        """Whether anyone listens: publishers may skip building messages when nobody does."""
        return bool(self._subs)

    @property
    def streams(self) -> int:
        """Open streams that belong to a principal (SSE, dashboard); /metrics reports it."""
        with self._lock:
            return sum(self._owned.values())

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
                if sub.owner is not None:
                    left = self._owned.get(sub.owner, 1) - 1
                    if left > 0:
                        self._owned[sub.owner] = left
                    else:
                        self._owned.pop(sub.owner, None)

    def publish(self, messages: list[Message]) -> None:
        with self._lock:
            subs = list(self._subs)
        for m in messages:
            for s in subs:
                s.offer(m)
