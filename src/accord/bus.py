"""Live updates: what committed, published after commit to whoever listens.

The in-process bus is the default; the PostgreSQL store adds LISTEN/NOTIFY so every replica's
subscribers see every replica's changes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

Message = dict[str, Any]


class Subscription:
    """A stream of messages. Iterate it, or ``get(timeout)``; ``close()`` when done."""

    def __init__(self, bus: Bus, match: Callable[[Message], bool], maxsize: int = 10_000) -> None:
        self._bus = bus
        self._match = match
        self._queue: queue.Queue[Message] = queue.Queue(maxsize)
        self.dropped = 0

    def offer(self, message: Message) -> None:
        if self._match(message):
            try:
                self._queue.put_nowait(message)
            except queue.Full:  # a slow reader never blocks a decision
                self.dropped += 1

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

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                  kinds: set[str] | None = None) -> Subscription:
        def match(m: Message) -> bool:
            if kinds is not None and m.get("kind") not in kinds:
                return False
            if customer is not None and m.get("customer") != customer:
                return False
            return agent is None or agent in m.get("agents", ())

        return self.attach(Subscription(self, match))

    def attach(self, sub: Subscription) -> Subscription:
        """Deliver to ``sub`` (a ``Subscription`` that overrides ``offer``) from now on."""
        with self._lock:
            self._subs.append(sub)
        return sub

    @property
    def active(self) -> bool:
        """Whether anyone listens: publishers may skip building messages when nobody does."""
        return bool(self._subs)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, messages: list[Message]) -> None:
        with self._lock:
            subs = list(self._subs)
        for m in messages:
            for s in subs:
                s.offer(m)
