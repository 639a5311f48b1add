"""Accord over HTTP, with the in-process API's methods, parameters, return types and errors.

Switching from embedded to remote is one line::

    acc = Accord.open("accord.db", policy="accord.yaml")      # embedded
    acc = Client("https://accord.internal", token)             # remote, same calls

Both satisfy ``accord.AccordAPI`` (``AsyncClient``: ``accord.AsyncAccordAPI``, the same methods
awaited); tests/test_client_parity.py compares every signature with ``Accord``'s. Every write
carries an ``Idempotency-Key`` (one per call, reused on its retries), so the client retries
connection errors and 429/503 answers safely, a bounded number of times, honouring
``Retry-After``. Problem details come back as the same ``AccordError`` subclasses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from accord import ledger
from accord._errors import Forbidden, NotFound, StoreUnavailable
from accord.client._calls import LEDGER_PAGE, Call, Calls, error
from accord.client._stream import RemoteSubscription
from accord.fleet import Handoff, Seat, SeatChange
from accord.ledger import _checkpoint
from accord.ledger._checkpoint import Checkpoint
from accord.model import (
    Claim,
    Context,
    Decision,
    Event,
    LedgerEntry,
    LedgerPage,
    LedgerReport,
    Proposal,
    Scheduled,
    Touch,
)
from accord.policy import Policy
from accord.service._context import events_granted, readable_fields, visible_to
from accord.store.bus import Message

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from accord.lift import LiftReport

T = TypeVar("T")
RETRY_STATUSES = (429, 503)


def _wait(response: httpx.Response | None, attempt: int) -> float:
    if response is not None:
        try:
            return min(float(response.headers.get("retry-after", "")), 30.0)
        except ValueError:
            pass
    return float(min(0.1 * 2 ** attempt, 5.0))


def _unreachable() -> StoreUnavailable:
    return StoreUnavailable("could not reach the Accord server",
                            hint="check the URL and that `accord serve` runs")


def _headers(call: Call[Any]) -> dict[str, str]:
    headers = dict(call.headers)
    if call.method != "GET":
        headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
    return headers


def _not_a_seat(agent: str) -> Forbidden:
    return Forbidden(f"agent {agent!r} is not a registered seat", where="agent")


class Client(Calls):
    """Accord over HTTP, synchronously. ``Client(url, token)``; use as a context manager."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retries: int = 4,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.retries = retries
        self._url, self._token, self._timeout = url.rstrip("/"), token, timeout
        self._http = httpx.Client(base_url=self._url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})

    def _run(self, call: Call[T]) -> T:
        headers = _headers(call)
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(call.method, call.path, json=call.json,
                                              params=call.params, headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise _unreachable() from None
                time.sleep(_wait(None, attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(_wait(response, attempt))
                continue
            break
        assert response is not None
        if response.status_code >= 400:
            raise error(response)
        return call.parse(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- proposals and touches ---------------------------------------------------------------

    def propose(self, agent: str, customer: str, *, channel: str, intent: str,
                action: str = "message", offer: dict[str, Any] | None = None,
                cost: dict[str, Any] | float | None = None, at: Any = None,
                trace_id: str | None = None, parent_id: str | None = None,
                idempotency_key: str | None = None, topic: str | None = None,
                value: float | None = None, reversible: bool = True,
                deliver: dict[str, Any] | None = None, on_defer: str = "drop",
                deadline: Any = None,
                accept: list[str] | None = None) -> Decision:
        """Ask the gate (see ``Accord.propose``)."""
        return self._run(self._propose(
            agent, customer, channel=channel, intent=intent, action=action, offer=offer,
            cost=cost, at=at, trace_id=trace_id, parent_id=parent_id,
            idempotency_key=idempotency_key, topic=topic, value=value, reversible=reversible,
            deliver=deliver, on_defer=on_defer, deadline=deadline,
            accept=accept))

    def submit(self, p: Proposal, *, decision_id: str | None = None) -> Decision:
        return self._run(self._submit(p, decision_id=decision_id))

    def propose_batch(self, proposals: Sequence[Proposal | dict[str, Any]], *,
                      idempotency_key: str | None = None) -> list[Decision]:
        """Decide a planning round together (see ``Accord.propose_batch``)."""
        return self._run(self._propose_batch(proposals, idempotency_key=idempotency_key))

    def report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                       detail: str | None = None) -> Touch:
        return self._run(self._report_outcome(touch_id, status, agent=agent, detail=detail))

    def touch(self, touch_id: str) -> Touch:
        return self._run(self._touch(touch_id))

    # -- events, context, claims -------------------------------------------------------------

    def record_event(self, customer: str, type: str, *, at: Any = None,
                     data: dict[str, Any] | None = None, source: str | None = None,
                     event_id: str | None = None, check_grant: bool = True) -> Event:
        """Record a fact; ``check_grant=False`` is refused (the server checks every grant)."""
        return self._run(self._record_event(customer, type, at=at, data=data, source=source,
                                            event_id=event_id, check_grant=check_grant))

    def context(self, customer: str, *, agent: str | None = None) -> Context:
        return self._run(self._context(customer, agent=agent))

    def update_context(self, customer: str, changes: dict[str, Any], *, expected_version: int,
                       agent: str | None = None, actor: str | None = None) -> Context:
        return self._run(self._update_context(customer, changes,
                                              expected_version=expected_version, agent=agent,
                                              actor=actor))

    def event_grant(self, agent: str) -> tuple[str, ...]:
        """The event types ``agent`` may record, from its seat (``GET /v1/agents/{id}``)."""
        return events_granted(self._granted(agent).events)

    def readable(self, agent: str | None) -> frozenset[str] | None:
        return None if agent is None else readable_fields(self._granted(agent).reads)

    def _granted(self, agent: str) -> Seat:
        """The seat whose grant answers, refused as ``Accord`` refuses an unknown seat."""
        try:
            return self.seat(agent)
        except NotFound:
            raise _not_a_seat(agent) from None

    def visible(self, ctx: Context, agent: str | None) -> Context:
        return visible_to(ctx, self.readable(agent))

    def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        return self._run(self._claim(agent, customer, purpose, until))

    def release(self, agent: str, customer: str) -> int:
        return int(self._run(self._release(agent, customer))["released"])

    # -- approvals ---------------------------------------------------------------------------

    def approvals(self) -> list[Decision]:
        return self._run(self._approvals())

    def decision(self, decision_id: str) -> Decision:
        return self._run(self._decision(decision_id))

    def scheduled(self, scheduled_id: str) -> Scheduled:
        return self._run(self._scheduled(scheduled_id))

    def cancel_scheduled(self, scheduled_id: str, *, agent: str | None = None) -> Scheduled:
        return self._run(self._cancel_scheduled(scheduled_id, agent))

    def approve(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        """Approve; the server records the token's holder as the reviewer."""
        return self._run(self._review("approve", decision_id, note))

    def reject(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        return self._run(self._review("reject", decision_id, note))

    # -- ledger ------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        return self._run(self._trace(trace_id))

    def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        out: list[LedgerEntry] = []
        while len(out) < limit:
            want = min(limit - len(out), LEDGER_PAGE)
            page = self._run(self._ledger(after, want))
            out += page
            if len(page) < want:
                break
            after = page[-1].seq
        return out

    def iter_ledger(self, batch: int = 5000) -> Iterator[LedgerEntry]:
        return ledger.iter_pages(lambda after, limit: self.ledger(after=after, limit=limit),
                                 batch)

    def ledger_feed(self, after: str | None = None, *, limit: int = 1000) -> LedgerPage:
        return self._run(self._ledger_feed(after, limit))

    def verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                      key: Ed25519PublicKey | None = None) -> LedgerReport:
        """The server verifies; with a checkpoint it is sent with the public ``key``."""
        return self._run(self._verify_ledger(checkpoint=checkpoint, key=key))

    def ledger_heads(self) -> dict[str, tuple[int, str]]:
        return self._run(self._ledger_heads())

    def checkpoint(self, key: Ed25519PrivateKey) -> Checkpoint:
        """Sign the server's chain heads here: the private key never leaves this process."""
        return _checkpoint.sign(self.ledger_heads(), key)

    def export_customer(self, customer: str) -> dict[str, Any]:
        return self._run(self._export_customer(customer))

    def erase_customer(self, customer: str, *, by: str) -> dict[str, Any]:
        """Erase (an admin token); the server records the token's holder as ``by``."""
        return self._run(self._erase_customer(customer))

    def lift_report(self, *, since: Any = None, until: Any = None) -> LiftReport:
        """Treated customers against the policy holdout (a reviewer's or admin's token)."""
        return self._run(self._lift_report(since, until))

    def fleet_entry(self, kind: str, body: dict[str, Any], *, agent: str | None = None) -> None:
        self._run(self._fleet_entry(kind, body, agent=agent))

    # -- handoffs ----------------------------------------------------------------------------

    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                trace_id: str | None = None, parent_id: str | None = None,
                via: str | None = None) -> Handoff:
        return self._run(self._handoff(sender, receiver, kind, payload, customer=customer,
                                       artifacts=artifacts, trace_id=trace_id,
                                       parent_id=parent_id, via=via))

    def inbox(self, agent: str, *, include_acked: bool = False) -> list[Handoff]:
        return self._run(self._inbox(agent, include_acked=include_acked))

    def handoffs(self) -> list[Handoff]:
        return self._run(self._handoffs())

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Handoff:
        return self._run(self._ack_handoff(handoff_id, agent=agent))

    # -- seats and policy --------------------------------------------------------------------

    def seats(self) -> list[Seat]:
        return self._run(self._seats())

    def seat(self, agent_id: str) -> Seat:
        return self._run(self._seat(agent_id))

    def seats_removed_from_file(self) -> list[str]:
        return self._run(self._seats_removed_from_file())

    def register_seat(self, spec: dict[str, Any], *, by: str) -> SeatChange:
        return self._run(self._register_seat(spec))

    def update_seat(self, agent_id: str, changes: dict[str, Any], *, by: str) -> SeatChange:
        return self._run(self._update_seat(agent_id, changes))

    def pause_seat(self, agent_id: str, *, by: str, reason: str) -> SeatChange:
        """The kill switch, remotely (an admin token)."""
        return self._run(self._seat_status(agent_id, "pause", reason))

    def resume_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return self._run(self._seat_status(agent_id, "resume"))

    def retire_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return self._run(self._seat_status(agent_id, "retire"))

    def apply_policy(self, text: str, *, by: str, source: str = "accord.yaml") -> Policy:
        self._run(self._apply_policy(text))
        return Policy.from_text(text, source=source)

    def refresh_policy(self) -> bool:
        return bool(self._run(self._refresh_policy())["changed"])

    # -- live updates ------------------------------------------------------------------------

    def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                  kinds: set[str] | None = None, owner: str | None = None,
                  where: Callable[[Message], bool] | None = None) -> RemoteSubscription:
        """The server's live stream, filtered as ``Accord.subscribe`` filters (``where`` on
        this side); it reconnects with ``Last-Event-ID`` by itself. ``close()`` it when done.
        ``owner`` is not sent: the server counts the stream against the token's holder."""
        return RemoteSubscription(self._url, self._token, agent=agent, customer=customer,
                                  kinds=kinds, timeout=self._timeout, where=where)


class AsyncClient(Calls):
    """Accord over HTTP for asyncio: the same methods as ``Client``, awaited."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retries: int = 4,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.retries = retries
        self._url, self._token, self._timeout = url.rstrip("/"), token, timeout
        self._http = httpx.AsyncClient(base_url=self._url, timeout=timeout,
                                       transport=transport,
                                       headers={"Authorization": f"Bearer {token}"})

    async def _run(self, call: Call[T]) -> T:
        headers = _headers(call)
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            try:
                response = await self._http.request(call.method, call.path, json=call.json,
                                                    params=call.params, headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise _unreachable() from None
                await asyncio.sleep(_wait(None, attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                await asyncio.sleep(_wait(response, attempt))
                continue
            break
        assert response is not None
        if response.status_code >= 400:
            raise error(response)
        return call.parse(response)

    async def close(self) -> None:
        await self._http.aclose()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- proposals and touches ---------------------------------------------------------------

    async def propose(self, agent: str, customer: str, *, channel: str, intent: str,
                      action: str = "message", offer: dict[str, Any] | None = None,
                      cost: dict[str, Any] | float | None = None, at: Any = None,
                      trace_id: str | None = None, parent_id: str | None = None,
                      idempotency_key: str | None = None, topic: str | None = None,
                      value: float | None = None, reversible: bool = True,
                      deliver: dict[str, Any] | None = None, on_defer: str = "drop",
                      deadline: Any = None,
                      accept: list[str] | None = None) -> Decision:
        """Ask the gate (see ``Accord.propose``)."""
        return await self._run(self._propose(
            agent, customer, channel=channel, intent=intent, action=action, offer=offer,
            cost=cost, at=at, trace_id=trace_id, parent_id=parent_id,
            idempotency_key=idempotency_key, topic=topic, value=value, reversible=reversible,
            deliver=deliver, on_defer=on_defer, deadline=deadline,
            accept=accept))

    async def submit(self, p: Proposal, *, decision_id: str | None = None) -> Decision:
        return await self._run(self._submit(p, decision_id=decision_id))

    async def propose_batch(self, proposals: Sequence[Proposal | dict[str, Any]], *,
                            idempotency_key: str | None = None) -> list[Decision]:
        """Decide a planning round together (see ``Accord.propose_batch``)."""
        return await self._run(self._propose_batch(proposals, idempotency_key=idempotency_key))

    async def report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                             detail: str | None = None) -> Touch:
        return await self._run(self._report_outcome(touch_id, status, agent=agent, detail=detail))

    async def touch(self, touch_id: str) -> Touch:
        return await self._run(self._touch(touch_id))

    # -- events, context, claims -------------------------------------------------------------

    async def record_event(self, customer: str, type: str, *, at: Any = None,
                           data: dict[str, Any] | None = None, source: str | None = None,
                           event_id: str | None = None, check_grant: bool = True) -> Event:
        """Record a fact; ``check_grant=False`` is refused (the server checks every grant)."""
        return await self._run(self._record_event(customer, type, at=at, data=data,
                                                  source=source, event_id=event_id,
                                                  check_grant=check_grant))

    async def context(self, customer: str, *, agent: str | None = None) -> Context:
        return await self._run(self._context(customer, agent=agent))

    async def update_context(self, customer: str, changes: dict[str, Any], *, expected_version: int,
                             agent: str | None = None, actor: str | None = None) -> Context:
        return await self._run(self._update_context(customer, changes,
                                              expected_version=expected_version, agent=agent,
                                              actor=actor))

    async def event_grant(self, agent: str) -> tuple[str, ...]:
        """The event types ``agent`` may record, from its seat (``GET /v1/agents/{id}``)."""
        return events_granted((await self._granted(agent)).events)

    async def readable(self, agent: str | None) -> frozenset[str] | None:
        return None if agent is None else readable_fields((await self._granted(agent)).reads)

    async def _granted(self, agent: str) -> Seat:
        try:
            return await self.seat(agent)
        except NotFound:
            raise _not_a_seat(agent) from None

    async def visible(self, ctx: Context, agent: str | None) -> Context:
        return visible_to(ctx, await self.readable(agent))

    async def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        return await self._run(self._claim(agent, customer, purpose, until))

    async def release(self, agent: str, customer: str) -> int:
        return int((await self._run(self._release(agent, customer)))["released"])

    # -- approvals ---------------------------------------------------------------------------

    async def approvals(self) -> list[Decision]:
        return await self._run(self._approvals())

    async def decision(self, decision_id: str) -> Decision:
        return await self._run(self._decision(decision_id))

    async def scheduled(self, scheduled_id: str) -> Scheduled:
        return await self._run(self._scheduled(scheduled_id))

    async def cancel_scheduled(self, scheduled_id: str, *,
                               agent: str | None = None) -> Scheduled:
        return await self._run(self._cancel_scheduled(scheduled_id, agent))

    async def approve(self, decision_id: str, *, reviewer: str,
                      note: str | None = None) -> Decision:
        """Approve; the server records the token's holder as the reviewer."""
        return await self._run(self._review("approve", decision_id, note))

    async def reject(self, decision_id: str, *, reviewer: str,
                     note: str | None = None) -> Decision:
        return await self._run(self._review("reject", decision_id, note))

    # -- ledger ------------------------------------------------------------------------------

    async def trace(self, trace_id: str) -> list[LedgerEntry]:
        return await self._run(self._trace(trace_id))

    async def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        out: list[LedgerEntry] = []
        while len(out) < limit:
            want = min(limit - len(out), LEDGER_PAGE)
            page = await self._run(self._ledger(after, want))
            out += page
            if len(page) < want:
                break
            after = page[-1].seq
        return out

    async def iter_ledger(self, batch: int = 5000) -> AsyncIterator[LedgerEntry]:
        after = 0
        while True:
            page = await self.ledger(after=after, limit=batch)
            if not page:
                return
            for entry in page:
                yield entry
            after = page[-1].seq

    async def ledger_feed(self, after: str | None = None, *,
                          limit: int = 1000) -> LedgerPage:
        return await self._run(self._ledger_feed(after, limit))

    async def verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                            key: Ed25519PublicKey | None = None) -> LedgerReport:
        """The server verifies; with a checkpoint it is sent with the public ``key``."""
        return await self._run(self._verify_ledger(checkpoint=checkpoint, key=key))

    async def ledger_heads(self) -> dict[str, tuple[int, str]]:
        return await self._run(self._ledger_heads())

    async def checkpoint(self, key: Ed25519PrivateKey) -> Checkpoint:
        """Sign the server's chain heads here: the private key never leaves this process."""
        return _checkpoint.sign(await self.ledger_heads(), key)

    async def export_customer(self, customer: str) -> dict[str, Any]:
        return await self._run(self._export_customer(customer))

    async def erase_customer(self, customer: str, *, by: str) -> dict[str, Any]:
        """Erase (an admin token); the server records the token's holder as ``by``."""
        return await self._run(self._erase_customer(customer))

    async def lift_report(self, *, since: Any = None, until: Any = None) -> LiftReport:
        """Treated customers against the policy holdout (a reviewer's or admin's token)."""
        return await self._run(self._lift_report(since, until))

    async def fleet_entry(self, kind: str, body: dict[str, Any], *,
                          agent: str | None = None) -> None:
        await self._run(self._fleet_entry(kind, body, agent=agent))

    # -- handoffs ----------------------------------------------------------------------------

    async def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                      customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                      trace_id: str | None = None, parent_id: str | None = None,
                      via: str | None = None) -> Handoff:
        return await self._run(self._handoff(sender, receiver, kind, payload, customer=customer,
                                       artifacts=artifacts, trace_id=trace_id,
                                       parent_id=parent_id, via=via))

    async def inbox(self, agent: str, *, include_acked: bool = False) -> list[Handoff]:
        return await self._run(self._inbox(agent, include_acked=include_acked))

    async def handoffs(self) -> list[Handoff]:
        return await self._run(self._handoffs())

    async def ack_handoff(self, handoff_id: str, *, agent: str) -> Handoff:
        return await self._run(self._ack_handoff(handoff_id, agent=agent))

    # -- seats and policy --------------------------------------------------------------------

    async def seats(self) -> list[Seat]:
        return await self._run(self._seats())

    async def seat(self, agent_id: str) -> Seat:
        return await self._run(self._seat(agent_id))

    async def seats_removed_from_file(self) -> list[str]:
        return await self._run(self._seats_removed_from_file())

    async def register_seat(self, spec: dict[str, Any], *, by: str) -> SeatChange:
        return await self._run(self._register_seat(spec))

    async def update_seat(self, agent_id: str, changes: dict[str, Any], *,
                          by: str) -> SeatChange:
        return await self._run(self._update_seat(agent_id, changes))

    async def pause_seat(self, agent_id: str, *, by: str, reason: str) -> SeatChange:
        """The kill switch, remotely (an admin token)."""
        return await self._run(self._seat_status(agent_id, "pause", reason))

    async def resume_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return await self._run(self._seat_status(agent_id, "resume"))

    async def retire_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return await self._run(self._seat_status(agent_id, "retire"))

    async def apply_policy(self, text: str, *, by: str, source: str = "accord.yaml") -> Policy:
        await self._run(self._apply_policy(text))
        return Policy.from_text(text, source=source)

    async def refresh_policy(self) -> bool:
        return bool((await self._run(self._refresh_policy()))["changed"])

    # -- live updates ------------------------------------------------------------------------

    async def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                        kinds: set[str] | None = None, owner: str | None = None,
                        where: Callable[[Message], bool] | None = None) -> RemoteSubscription:
        """The server's live stream, filtered as ``Accord.subscribe`` filters (``where`` on
        this side); it reconnects with ``Last-Event-ID`` by itself. ``close()`` it when done.
        ``owner`` is not sent: the server counts the stream against the token's holder."""
        return await asyncio.to_thread(
            RemoteSubscription, self._url, self._token, agent=agent, customer=customer,
            kinds=kinds, timeout=self._timeout, where=where)


__all__ = ["AsyncClient", "Client"]
