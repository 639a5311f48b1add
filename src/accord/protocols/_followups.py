"""Tell an agent's MCP client when a human has reviewed one of its flagged proposals.

A flag means "do not act; a human decides". The review re-runs the gate and records a follow-up
decision (with a touch_id when it is a go), which the agent could not otherwise learn without
polling. The follow-up is readable at ``accord://decisions/{flagged decision id}`` (and in
``explain_decision``); when it is published on the service's bus, a resource-updated event for
that URI goes out:

- to ``subscriptions/listen`` streams (MCP 2026-07-28) that asked for that URI, through the
  server's ``SubscriptionBus`` (the URI names the decision, so no other agent's stream asks
  for it);
- to the connections of earlier protocol versions that have called a tool as that agent
  (the latest ``MAX_CONNECTIONS`` per agent; one that fails to take the event is forgotten).

Accord's bus is subscribed from the first tool call on; before that nothing listens, so
publishing stays free. Live in-process, and across processes where the store's bus carries
decisions (PostgreSQL LISTEN/NOTIFY); a client that misses the event still finds the follow-up
by reading the resource.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, SubscriptionBus

from accord.service import Accord
from accord.store.bus import Message, Subscription

DECISION_URI = "accord://decisions/{decision_id}"
MAX_CONNECTIONS = 64
"""Connections remembered per agent for pre-2026 clients; the least recently used goes."""
_POLL = 0.5   # how long the watcher's thread blocks on the bus before checking for shutdown

log = logging.getLogger(__name__)


class FollowUps:
    def __init__(self, service: Accord, events: SubscriptionBus | None = None) -> None:
        self.service = service
        self.events: SubscriptionBus = events or InMemorySubscriptionBus()
        """The bus the MCP server's ``subscriptions/listen`` streams read."""
        self._sessions: dict[str, OrderedDict[str, Any]] = {}
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self._watched: anyio.Event | None = None   # made by ``run``, on its event loop

    def watch(self, agent: str, connection: str, session: Any) -> None:
        """Note that ``session`` (an MCP ServerSession, made per request but sending on its
        connection) speaks for ``agent`` on ``connection`` (the MCP session id, or "stdio");
        from now on follow-ups are caught. Called on the event loop that runs ``run``."""
        with self._lock:
            known = self._sessions.setdefault(agent, OrderedDict())
            known[connection] = session
            known.move_to_end(connection)
            while len(known) > MAX_CONNECTIONS:
                known.popitem(last=False)
            if self._sub is None:
                self._sub = self.service.subscribe(kinds={"decision"})
        if self._watched is not None:
            self._watched.set()

    def sessions(self, agent: str) -> list[tuple[str, Any]]:
        with self._lock:
            return list(self._sessions.get(agent, {}).items())

    def forget(self, agent: str, connection: str) -> None:
        with self._lock:
            known = self._sessions.get(agent)
            if known is not None:
                known.pop(connection, None)

    async def run(self) -> None:
        """Forward follow-up decisions until cancelled."""
        stop = threading.Event()
        self._watched = anyio.Event()
        if self._sub is not None:
            self._watched.set()
        try:
            await self._watched.wait()
            assert self._sub is not None
            while True:
                message = await anyio.to_thread.run_sync(_next, self._sub, stop,
                                                         abandon_on_cancel=True)
                if message is not None:
                    await self.tell(message)
        finally:
            stop.set()
            with self._lock:
                if self._sub is not None:
                    self._sub.close()
                    self._sub = None

    async def tell(self, message: Message) -> None:
        decision = message.get("decision") or {}
        flagged = decision.get("parent_decision")
        agent = (decision.get("proposal") or {}).get("agent")
        if not flagged or not agent:
            return
        uri = DECISION_URI.format(decision_id=flagged)
        await self.events.publish(ResourceUpdated(uri=uri))
        for connection, session in self.sessions(agent):
            try:
                await session.send_resource_updated(uri)
            except Exception:   # a closed connection: it reads the follow-up when it returns
                log.debug("could not notify %s's connection %s about %s", agent, connection, uri)
                self.forget(agent, connection)


def _next(sub: Subscription, stop: threading.Event) -> Message | None:
    return None if stop.is_set() else sub.get(timeout=_POLL)
