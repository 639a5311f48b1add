"""Numbered recent messages, so a server-sent event stream can resume after a reconnect.

One recorder per app sits on the service's bus (attached when the first stream opens) and keeps
the newest ``SIZE`` messages, each with an id ``<epoch>-<n>``. A stream that reconnects with
``Last-Event-ID`` gets what it missed that is still kept; an id from another process (another
epoch: a restart, another replica) cannot be resumed and the stream starts from now.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque

from accord.store.bus import Bus, Message, Subscription

SIZE = 5000


class History(Subscription):
    def __init__(self, bus: Bus, size: int = SIZE) -> None:
        super().__init__(bus, lambda m: True, maxsize=1)
        self.epoch = uuid.uuid4().hex[:12]
        self._kept: deque[tuple[int, Message]] = deque(maxlen=size)
        self._numbers: dict[int, int] = {}  # id(message) → its number, while it is kept
        self._last = 0
        self._changed = threading.Condition()
        bus.attach(self)

    def offer(self, message: Message) -> None:
        with self._changed:
            self._last += 1
            if len(self._kept) == self._kept.maxlen:
                self._numbers.pop(id(self._kept[0][1]), None)
            self._kept.append((self._last, message))
            self._numbers[id(message)] = self._last
            self._changed.notify_all()

    def number(self, message: Message) -> int | None:
        """The number this history gave ``message`` (the same object the bus delivered to every
        subscriber), while it is kept."""
        with self._changed:
            return self._numbers.get(id(message))

    def event_id(self, n: int) -> str:
        return f"{self.epoch}-{n}"

    def cursor(self, last_event_id: str | None) -> int:
        """Where a stream starts: after the client's last event if it is ours, else now."""
        with self._changed:
            now = self._last
        epoch, _, n = (last_event_id or "").strip().rpartition("-")
        if epoch != self.epoch or not n.isdigit():
            return now
        return min(int(n), now)

    def after(self, cursor: int, timeout: float) -> list[tuple[int, Message]]:
        """The kept messages numbered after ``cursor``, waiting up to ``timeout`` for one."""
        with self._changed:
            if self._last <= cursor:
                self._changed.wait(timeout)
            return [(n, m) for n, m in self._kept if n > cursor]
