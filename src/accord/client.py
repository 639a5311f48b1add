"""Accord over HTTP, with the in-process API's method names, parameters and return types.

Switching from embedded to remote is one line::

    acc = Accord.open("accord.db", policy="accord.yaml")      # embedded
    acc = Client("https://accord.internal", token)             # remote, same calls

Every write carries an ``Idempotency-Key`` (one per call, reused on its retries), so the client
retries connection errors and 429/503 answers safely, a bounded number of times, honouring
``Retry-After``. Problem details come back as the same ``AccordError`` subclasses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter

from accord import _errors
from accord._errors import AccordError, StoreUnavailable
from accord.model import (
    Claim,
    Context,
    Decision,
    Event,
    LedgerEntry,
    LedgerReport,
    Proposal,
    Touch,
)

T = TypeVar("T")
RETRY_STATUSES = (429, 503)


@dataclass
class _Call(Generic[T]):
    method: str
    path: str
    shape: Any
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def parse(self, response: httpx.Response) -> T:
        if self.shape is None:
            return response.json()  # type: ignore[no-any-return]
        value: T = TypeAdapter(self.shape).validate_python(response.json())
        return value


def _error(response: httpx.Response) -> AccordError:
    """Rebuild the server's AccordError from its problem details."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    name = str(body.get("type", "")).rsplit("/", 1)[-1]
    cls = getattr(_errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, AccordError)):
        cls = {401: _errors.Unauthorized, 403: _errors.Forbidden, 404: _errors.NotFound,
               409: _errors.Conflict, 412: _errors.StaleVersion, 422: _errors.InvalidInput,
               503: StoreUnavailable}.get(response.status_code, AccordError)
    message = str(body.get("detail") or response.text or response.reason_phrase)
    known = {"type", "title", "status", "detail", "where", "hint"}
    exc: AccordError = Exception.__new__(cls)
    AccordError.__init__(exc, message, where=body.get("where"), hint=body.get("hint"),
                         extra={k: v for k, v in body.items() if k not in known})
    exc.status = response.status_code
    if isinstance(exc, _errors.StaleVersion):
        exc.current_version = int(body.get("current_version", -1))
    if isinstance(exc, _errors.PolicyError):
        exc.problems = list(body.get("problems", []))
    return exc


def _wait(response: httpx.Response | None, attempt: int) -> float:
    if response is not None:
        try:
            return min(float(response.headers.get("retry-after", "")), 30.0)
        except ValueError:
            pass
    return float(min(0.1 * 2 ** attempt, 5.0))


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _Calls:
    """What each method sends and what it returns; the transports below only execute."""

    def _propose(self, agent: str, customer: str, *, channel: str, intent: str,
                 action: str = "message", offer: dict[str, Any] | None = None,
                 cost: dict[str, Any] | float | None = None, at: Any = None,
                 trace_id: str | None = None, parent_id: str | None = None,
                 idempotency_key: str | None = None, topic: str | None = None,
                 value: float | None = None, reversible: bool = True) -> _Call[Decision]:
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            cost = {"usd": float(cost)}
        body = _drop_none({"agent": agent, "customer": customer, "action": action,
                           "channel": channel, "intent": intent, "offer": offer, "cost": cost,
                           "at": at.isoformat() if hasattr(at, "isoformat") else at,
                           "trace_id": trace_id, "parent_id": parent_id, "topic": topic,
                           "value": value, "reversible": reversible})
        key = idempotency_key or uuid.uuid4().hex
        return _Call("POST", "/v1/proposals", Decision, body, headers={"Idempotency-Key": key})

    def _submit(self, p: Proposal) -> _Call[Decision]:
        body = p.model_dump(mode="json", exclude_none=True)
        key = body.pop("idempotency_key", None) or uuid.uuid4().hex
        return _Call("POST", "/v1/proposals", Decision, body, headers={"Idempotency-Key": key})

    def _report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                        detail: str | None = None) -> _Call[Touch]:
        return _Call("POST", f"/v1/touches/{touch_id}/outcome", Touch,
                     _drop_none({"status": status, "detail": detail}))

    def _record_event(self, customer: str, type: str, *, at: Any = None,
                      data: dict[str, Any] | None = None, source: str | None = None,
                      event_id: str | None = None) -> _Call[Event]:
        return _Call("POST", "/v1/events", Event, _drop_none({
            "customer": customer, "type": type, "data": data or {}, "source": source,
            "at": at.isoformat() if hasattr(at, "isoformat") else at, "event_id": event_id}))

    def _context(self, customer: str, *, agent: str | None = None) -> _Call[Context]:
        return _Call("GET", f"/v1/customers/{customer}/context", Context)

    def _update_context(self, customer: str, changes: dict[str, Any], *,
                        expected_version: int, agent: str | None = None,
                        actor: str | None = None) -> _Call[Context]:
        return _Call("PATCH", f"/v1/customers/{customer}/context", Context, changes,
                     headers={"If-Match": f'"{expected_version}"'})

    def _claim(self, agent: str, customer: str, purpose: str, until: Any) -> _Call[Claim]:
        until = until.isoformat() if hasattr(until, "isoformat") else until
        return _Call("POST", "/v1/claims", Claim, {"agent": agent, "customer": customer,
                                                   "purpose": purpose, "until": until})

    def _release(self, agent: str, customer: str) -> _Call[dict[str, int]]:
        return _Call("DELETE", "/v1/claims", None, params={"customer": customer, "agent": agent})

    def _approvals(self) -> _Call[list[Decision]]:
        return _Call("GET", "/v1/approvals", list[Decision])

    def _review(self, verdict: str, decision_id: str, reviewer: str | None,
                note: str | None) -> _Call[Decision]:
        return _Call("POST", f"/v1/approvals/{decision_id}/{verdict}", Decision,
                     _drop_none({"note": note}))

    def _decision(self, decision_id: str) -> _Call[Decision]:
        return _Call("GET", f"/v1/decisions/{decision_id}", Decision)

    def _trace(self, trace_id: str) -> _Call[list[LedgerEntry]]:
        return _Call("GET", f"/v1/traces/{trace_id}", list[LedgerEntry])

    def _verify_ledger(self) -> _Call[LedgerReport]:
        return _Call("GET", "/v1/ledger/verify", LedgerReport)

    def _handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                 customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                 trace_id: str | None = None, parent_id: str | None = None,
                 via: str | None = None) -> _Call[Any]:
        return _Call("POST", "/v1/handoffs", None, _drop_none({
            "sender": sender, "receiver": receiver, "kind": kind, "payload": payload,
            "customer": customer, "artifacts": artifacts, "trace_id": trace_id,
            "parent_id": parent_id}))

    def _inbox(self, agent: str, *, include_acked: bool = False) -> _Call[Any]:
        return _Call("GET", "/v1/inbox", None,
                     params={"agent": agent, "include_acked": str(include_acked).lower()})

    def _ack_handoff(self, handoff_id: str, *, agent: str) -> _Call[Any]:
        return _Call("POST", f"/v1/handoffs/{handoff_id}/ack", None, {"agent": agent})


class Client(_Calls):
    """Accord over HTTP, synchronously. ``Client(url, token)``; use as a context manager."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retries: int = 4,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.retries = retries
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                  transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})

    def _run(self, call: _Call[T]) -> T:
        headers = dict(call.headers)
        if call.method != "GET":
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(call.method, call.path, json=call.json,
                                              params=call.params, headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise StoreUnavailable("could not reach the Accord server",
                                           hint="check the URL and that `accord serve` runs"
                                           ) from None
                time.sleep(_wait(None, attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(_wait(response, attempt))
                continue
            break
        assert response is not None
        if response.status_code >= 400:
            raise _error(response)
        return call.parse(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def propose(self, agent: str, customer: str, **kw: Any) -> Decision:
        """Ask the gate (same parameters as ``Accord.propose``)."""
        return self._run(self._propose(agent, customer, **kw))

    def submit(self, p: Proposal) -> Decision:
        return self._run(self._submit(p))

    def report_outcome(self, touch_id: str, status: str, **kw: Any) -> Touch:
        return self._run(self._report_outcome(touch_id, status, **kw))

    def record_event(self, customer: str, type: str, **kw: Any) -> Event:
        return self._run(self._record_event(customer, type, **kw))

    def context(self, customer: str, **kw: Any) -> Context:
        return self._run(self._context(customer, **kw))

    def update_context(self, customer: str, changes: dict[str, Any], **kw: Any) -> Context:
        return self._run(self._update_context(customer, changes, **kw))

    def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        return self._run(self._claim(agent, customer, purpose, until))

    def release(self, agent: str, customer: str) -> int:
        return int(self._run(self._release(agent, customer))["released"])

    def approvals(self) -> list[Decision]:
        return self._run(self._approvals())

    def approve(self, decision_id: str, *, reviewer: str | None = None,
                note: str | None = None) -> Decision:
        """Approve as the reviewer the token names (``reviewer`` is accepted for parity)."""
        return self._run(self._review("approve", decision_id, reviewer, note))

    def reject(self, decision_id: str, *, reviewer: str | None = None,
               note: str | None = None) -> Decision:
        return self._run(self._review("reject", decision_id, reviewer, note))

    def decision(self, decision_id: str) -> Decision:
        return self._run(self._decision(decision_id))

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        return self._run(self._trace(trace_id))

    def verify_ledger(self) -> LedgerReport:
        return self._run(self._verify_ledger())

    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any],
                **kw: Any) -> Any:
        return self._run(self._handoff(sender, receiver, kind, payload, **kw))

    def inbox(self, agent: str, **kw: Any) -> Any:
        return self._run(self._inbox(agent, **kw))

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Any:
        return self._run(self._ack_handoff(handoff_id, agent=agent))


class AsyncClient(_Calls):
    """Accord over HTTP for asyncio: the same methods as ``Client``, awaited."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retries: int = 4,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.retries = retries
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout,
                                       transport=transport,
                                       headers={"Authorization": f"Bearer {token}"})

    async def _run(self, call: _Call[T]) -> T:
        headers = dict(call.headers)
        if call.method != "GET":
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            try:
                response = await self._http.request(call.method, call.path, json=call.json,
                                                    params=call.params, headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise StoreUnavailable("could not reach the Accord server",
                                           hint="check the URL and that `accord serve` runs"
                                           ) from None
                await asyncio.sleep(_wait(None, attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                await asyncio.sleep(_wait(response, attempt))
                continue
            break
        assert response is not None
        if response.status_code >= 400:
            raise _error(response)
        return call.parse(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def propose(self, agent: str, customer: str, **kw: Any) -> Decision:
        return await self._run(self._propose(agent, customer, **kw))

    async def submit(self, p: Proposal) -> Decision:
        return await self._run(self._submit(p))

    async def report_outcome(self, touch_id: str, status: str, **kw: Any) -> Touch:
        return await self._run(self._report_outcome(touch_id, status, **kw))

    async def record_event(self, customer: str, type: str, **kw: Any) -> Event:
        return await self._run(self._record_event(customer, type, **kw))

    async def context(self, customer: str, **kw: Any) -> Context:
        return await self._run(self._context(customer, **kw))

    async def update_context(self, customer: str, changes: dict[str, Any],
                             **kw: Any) -> Context:
        return await self._run(self._update_context(customer, changes, **kw))

    async def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        return await self._run(self._claim(agent, customer, purpose, until))

    async def release(self, agent: str, customer: str) -> int:
        return int((await self._run(self._release(agent, customer)))["released"])

    async def approvals(self) -> list[Decision]:
        return await self._run(self._approvals())

    async def approve(self, decision_id: str, *, reviewer: str | None = None,
                      note: str | None = None) -> Decision:
        return await self._run(self._review("approve", decision_id, reviewer, note))

    async def reject(self, decision_id: str, *, reviewer: str | None = None,
                     note: str | None = None) -> Decision:
        return await self._run(self._review("reject", decision_id, reviewer, note))

    async def decision(self, decision_id: str) -> Decision:
        return await self._run(self._decision(decision_id))

    async def trace(self, trace_id: str) -> list[LedgerEntry]:
        return await self._run(self._trace(trace_id))

    async def verify_ledger(self) -> LedgerReport:
        return await self._run(self._verify_ledger())

    async def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any],
                      **kw: Any) -> Any:
        return await self._run(self._handoff(sender, receiver, kind, payload, **kw))

    async def inbox(self, agent: str, **kw: Any) -> Any:
        return await self._run(self._inbox(agent, **kw))

    async def ack_handoff(self, handoff_id: str, *, agent: str) -> Any:
        return await self._run(self._ack_handoff(handoff_id, agent=agent))


__all__ = ["AsyncClient", "Client"]
