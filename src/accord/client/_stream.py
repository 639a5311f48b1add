"""``Client.subscribe``: the server's event stream (GET /v1/stream) as a ``Subscription``.

A thread reads the stream and offers each message to the subscription's queue, filtered exactly
as ``Bus.subscribe`` filters (agent, customer, kinds). When the connection drops, it reconnects
with ``Last-Event-ID``, so what the server published meanwhile (and still keeps) arrives in order;
``subscribe`` returns only once the server has registered the stream, as the embedded one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from accord._errors import AccordError, StoreUnavailable
from accord.client._calls import error
from accord.store.bus import Bus, Message, Subscription

RECONNECT_MAX = 5.0


def matcher(agent: str | None, customer: str | None,
            kinds: set[str] | None) -> Callable[[Message], bool]:
    """The embedded bus's filter (``Bus.subscribe``), applied to the remote stream."""
    def match(m: Message) -> bool:
        if kinds is not None and m.get("kind") not in kinds:
            return False
        if customer is not None and m.get("customer") != customer:
            return False
        return agent is None or agent in m.get("agents", ())
    return match


class RemoteSubscription(Subscription):
    """A ``Subscription`` fed by server-sent events; ``last_event_id`` is where it resumes."""

    def __init__(self, url: str, token: str, *, agent: str | None = None,
                 customer: str | None = None, kinds: set[str] | None = None,
                 timeout: float = 10.0, last_event_id: str | None = None,
                 where: Callable[[Message], bool] | None = None) -> None:
        match = matcher(agent, customer, kinds)
        super().__init__(Bus(), match if where is None else lambda m: match(m) and where(m))
        self.last_event_id = last_event_id
        self.reconnects = 0
        self._params = {"agent": agent} if agent is not None else None
        self._http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                  timeout=httpx.Timeout(timeout, read=None))
        self._closed = threading.Event()
        self._opened = threading.Event()
        self._failure: AccordError | None = None
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="accord-subscription",
                                        daemon=True)
        self._thread.start()
        if not self._opened.wait(timeout) and self._failure is None:
            self.close()
            raise StoreUnavailable("the event stream did not open in time",
                                   where="GET /v1/stream", hint="check that `accord serve` runs")
        if self._failure is not None:
            self.close()
            raise self._failure

    def _run(self) -> None:
        delay = 0.1
        while not self._closed.is_set():
            try:
                self._read_once()
                delay = 0.1
            except AccordError as exc:  # a refusal (token, role): it will not get better
                self._failure = exc
                self._opened.set()
                return
            except Exception:  # the connection dropped (or never opened): try again
                if not self._opened.is_set():
                    self._failure = StoreUnavailable(
                        "could not reach the Accord server", where="GET /v1/stream",
                        hint="check the URL and that `accord serve` runs")
                    self._opened.set()
                    return
            if self._closed.wait(delay):
                return
            self.reconnects += 1
            delay = min(delay * 2, RECONNECT_MAX)

    def _read_once(self) -> None:
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        with self._http.stream("GET", "/v1/stream", params=self._params,
                               headers=headers) as response:
            self._response = response
            if response.status_code >= 400:
                response.read()
                raise error(response)
            event_id: str | None = None
            data: list[str] = []
            for line in response.iter_lines():
                if self._closed.is_set():
                    return
                if line.startswith(":"):
                    self._opened.set()  # ": subscribed": the server holds our place now
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    self._deliver(json.loads("\n".join(data)))
                    self.last_event_id = event_id or self.last_event_id
                    event_id, data = None, []

    async def __aiter__(self) -> AsyncIterator[Message]:
        """``async for message in sub``: what ``AsyncClient.subscribe`` callers read; it ends
        when the subscription is closed."""
        while not self._closed.is_set():
            message = await asyncio.to_thread(self.get, 0.5)
            if message is not None:
                yield message

    def _deliver(self, message: Any) -> None:
        if isinstance(message, dict):
            self.offer(message)

    def _drop(self) -> None:
        """Shut the stream's socket, which wakes the reading thread at once (closing the
        response from another thread would wait for the next keep-alive)."""
        response = self._response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def reconnect(self) -> None:
        """Drop the connection, as a network failure would; the stream resumes by itself after
        ``last_event_id``, so nothing the server still keeps is lost or repeated."""
        self._drop()

    def close(self) -> None:
        self._closed.set()
        self._drop()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        self._http.close()
