"""What each remote method sends and what it returns, without I/O (the clients run the calls).

Parameters that say *who* acts (``reviewer``, ``by``, ``actor``, ``via``) are accepted for parity
with ``Accord`` but not sent: over HTTP the server records the token's holder, so a token cannot
sign for someone else (``erase_customer(by=...)`` too). A signing key is never sent either:
``checkpoint`` fetches the chain heads and the client signs them. ``agent`` is sent: an agent
token must name itself, a person may name any seat (docs/api.md, "The Python client").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from cryptography.hazmat.primitives import serialization
from pydantic import TypeAdapter

from accord import _errors
from accord._errors import AccordError, InvalidInput, StoreUnavailable
from accord.fleet import Handoff, Seat, SeatChange
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

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from accord.lift import LiftReport

T = TypeVar("T")
LEDGER_PAGE = 5000
"""The most ledger entries one GET /v1/ledger returns; longer reads page."""


@dataclass
class Call(Generic[T]):
    method: str
    path: str
    shape: Any
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    build: Callable[[Any], T] | None = None
    """Reads the JSON answer when ``shape`` is not a type pydantic validates."""

    def parse(self, response: httpx.Response) -> T:
        if self.build is not None:
            return self.build(response.json())
        if self.shape is None:
            return response.json()  # type: ignore[no-any-return]
        value: T = TypeAdapter(self.shape).validate_python(response.json())
        return value


def error(response: httpx.Response) -> AccordError:
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


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _iso(at: Any) -> Any:
    return at.isoformat() if hasattr(at, "isoformat") else at


def _agent(agent: str | None) -> dict[str, Any] | None:
    return None if agent is None else {"agent": agent}


class Calls:
    """Request builders, one per method of ``Accord``, named with a leading underscore."""

    def _propose(self, agent: str, customer: str, *, channel: str, intent: str,
                 action: str = "message", offer: dict[str, Any] | None = None,
                 cost: dict[str, Any] | float | None = None, at: Any = None,
                 trace_id: str | None = None, parent_id: str | None = None,
                 idempotency_key: str | None = None, topic: str | None = None,
                 value: float | None = None, reversible: bool = True,
                 deliver: dict[str, Any] | None = None, on_defer: str = "drop",
                 deadline: Any = None,
                 accept: list[str] | None = None) -> Call[Decision]:
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            cost = {"usd": float(cost)}
        body = _drop_none({"agent": agent, "customer": customer, "action": action,
                           "channel": channel, "intent": intent, "offer": offer, "cost": cost,
                           "at": _iso(at), "trace_id": trace_id, "parent_id": parent_id,
                           "topic": topic, "value": value, "reversible": reversible,
                           "deliver": deliver, "deadline": _iso(deadline),
                           "accept": accept})
        if on_defer != "drop":
            body["on_defer"] = on_defer
        key = idempotency_key or uuid.uuid4().hex
        return Call("POST", "/v1/proposals", Decision, body, headers={"Idempotency-Key": key})

    def _submit(self, p: Proposal, *, decision_id: str | None = None) -> Call[Decision]:
        if decision_id is not None:
            raise InvalidInput("over HTTP the server names each decision", where="decision_id",
                               hint="leave decision_id out (it serves replays in-process)")
        body = p.model_dump(mode="json", exclude_none=True)
        key = body.pop("idempotency_key", None) or uuid.uuid4().hex
        return Call("POST", "/v1/proposals", Decision, body, headers={"Idempotency-Key": key})

    def _propose_batch(self, proposals: Sequence[Proposal | dict[str, Any]], *,
                       idempotency_key: str | None = None) -> Call[list[Decision]]:
        if isinstance(proposals, str | bytes | dict) or not isinstance(proposals, Sequence):
            raise InvalidInput("proposals must be a list", where="proposals",
                               hint="send a list of proposals, one per planned touch")
        items = [p.model_dump(mode="json", exclude_none=True) if isinstance(p, Proposal)
                 else {k: _iso(v) if k == "at" else v for k, v in p.items()}
                 for p in proposals]
        key = idempotency_key or uuid.uuid4().hex
        return Call("POST", "/v1/proposals:batch", list[Decision], {"proposals": items},
                    headers={"Idempotency-Key": key})

    def _report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                        detail: str | None = None) -> Call[Touch]:
        return Call("POST", f"/v1/touches/{touch_id}/outcome", Touch,
                    _drop_none({"status": status, "detail": detail}), params=_agent(agent))

    def _touch(self, touch_id: str) -> Call[Touch]:
        return Call("GET", f"/v1/touches/{touch_id}", Touch)

    def _record_event(self, customer: str, type: str, *, at: Any = None,
                      data: dict[str, Any] | None = None, source: str | None = None,
                      event_id: str | None = None, check_grant: bool = True) -> Call[Event]:
        if check_grant is not True:
            raise InvalidInput("over HTTP the server checks every seat's event grant",
                               where="check_grant", hint="leave check_grant out (it serves "
                               "`policy replay` in-process)")
        return Call("POST", "/v1/events", Event, _drop_none({
            "customer": customer, "type": type, "data": data or {}, "source": source,
            "at": _iso(at), "event_id": event_id}))

    def _context(self, customer: str, *, agent: str | None = None) -> Call[Context]:
        return Call("GET", f"/v1/customers/{customer}/context", Context, params=_agent(agent))

    def _update_context(self, customer: str, changes: dict[str, Any], *,
                        expected_version: int, agent: str | None = None,
                        actor: str | None = None) -> Call[Context]:
        return Call("PATCH", f"/v1/customers/{customer}/context", Context, changes,
                    params=_agent(agent), headers={"If-Match": f'"{expected_version}"'})

    def _claim(self, agent: str, customer: str, purpose: str, until: Any) -> Call[Claim]:
        return Call("POST", "/v1/claims", Claim, {"agent": agent, "customer": customer,
                                                  "purpose": purpose, "until": _iso(until)})

    def _release(self, agent: str, customer: str) -> Call[dict[str, int]]:
        return Call("DELETE", "/v1/claims", None, params={"customer": customer, "agent": agent})

    def _approvals(self) -> Call[list[Decision]]:
        return Call("GET", "/v1/approvals", list[Decision])

    def _review(self, verdict: str, decision_id: str, note: str | None) -> Call[Decision]:
        return Call("POST", f"/v1/approvals/{decision_id}/{verdict}", Decision,
                    _drop_none({"note": note}))

    def _scheduled(self, scheduled_id: str) -> Call[Scheduled]:
        return Call("GET", f"/v1/scheduled/{scheduled_id}", Scheduled)

    def _cancel_scheduled(self, scheduled_id: str, agent: str | None) -> Call[Scheduled]:
        return Call("POST", f"/v1/scheduled/{scheduled_id}/cancel", Scheduled, {},
                    params=_agent(agent))

    def _decision(self, decision_id: str) -> Call[Decision]:
        return Call("GET", f"/v1/decisions/{decision_id}", Decision)

    def _trace(self, trace_id: str) -> Call[list[LedgerEntry]]:
        return Call("GET", f"/v1/traces/{trace_id}", list[LedgerEntry])

    def _ledger(self, after: int, limit: int) -> Call[list[LedgerEntry]]:
        return Call("GET", "/v1/ledger", list[LedgerEntry],
                    params={"after": after, "limit": min(limit, LEDGER_PAGE)})

    def _ledger_feed(self, after: str | None, limit: int) -> Call[LedgerPage]:
        return Call("GET", "/v1/ledger/feed", LedgerPage,
                    params=_drop_none({"after": after, "limit": limit}))

    def _ledger_heads(self) -> Call[dict[str, tuple[int, str]]]:
        return Call("GET", "/v1/ledger/heads", dict[str, tuple[int, str]])

    def _verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                       key: Ed25519PublicKey | None = None) -> Call[LedgerReport]:
        if checkpoint is None:
            return Call("GET", "/v1/ledger/verify", LedgerReport)
        pem = None if key is None else key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return Call("POST", "/v1/ledger/verify", LedgerReport,
                    _drop_none({"checkpoint": json.loads(checkpoint.to_json()), "key": pem}))

    def _export_customer(self, customer: str) -> Call[dict[str, Any]]:
        return Call("GET", f"/v1/customers/{customer}/export", None)

    def _erase_customer(self, customer: str) -> Call[dict[str, Any]]:
        return Call("POST", f"/v1/customers/{customer}/erase", None)

    def _fleet_entry(self, kind: str, body: dict[str, Any], *,
                     agent: str | None = None) -> Call[None]:
        return Call("POST", "/v1/ledger/fleet", None,
                    _drop_none({"kind": kind, "body": body, "agent": agent}))

    def _handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                 customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                 trace_id: str | None = None, parent_id: str | None = None,
                 via: str | None = None) -> Call[Handoff]:
        return Call("POST", "/v1/handoffs", Handoff, _drop_none({
            "sender": sender, "receiver": receiver, "kind": kind, "payload": payload,
            "customer": customer, "artifacts": artifacts, "trace_id": trace_id,
            "parent_id": parent_id}))

    def _inbox(self, agent: str, *, include_acked: bool = False) -> Call[list[Handoff]]:
        return Call("GET", "/v1/inbox", list[Handoff],
                    params={"agent": agent, "include_acked": str(include_acked).lower()})

    def _handoffs(self) -> Call[list[Handoff]]:
        return Call("GET", "/v1/handoffs", list[Handoff])

    def _ack_handoff(self, handoff_id: str, *, agent: str) -> Call[Handoff]:
        return Call("POST", f"/v1/handoffs/{handoff_id}/ack", Handoff, {"agent": agent})

    def _seats(self) -> Call[list[Seat]]:
        return Call("GET", "/v1/agents", list[Seat])

    def _seat(self, agent_id: str) -> Call[Seat]:
        return Call("GET", f"/v1/agents/{agent_id}", Seat)

    def _seats_removed_from_file(self) -> Call[list[str]]:
        return Call("GET", "/v1/agents:removed-from-file", list[str])

    def _register_seat(self, spec: dict[str, Any]) -> Call[SeatChange]:
        return Call("POST", "/v1/agents", SeatChange, spec)

    def _update_seat(self, agent_id: str, changes: dict[str, Any]) -> Call[SeatChange]:
        return Call("PATCH", f"/v1/agents/{agent_id}", SeatChange, changes)

    def _seat_status(self, agent_id: str, action: str,
                     reason: str | None = None) -> Call[SeatChange]:
        body = None if reason is None else {"reason": reason}
        return Call("POST", f"/v1/agents/{agent_id}/{action}", SeatChange, body)

    def _apply_policy(self, text: str) -> Call[dict[str, Any]]:
        return Call("POST", "/v1/policy", None, {"text": text})

    def _refresh_policy(self) -> Call[dict[str, Any]]:
        return Call("POST", "/v1/policy:refresh", None)

    def _lift_report(self, since: Any, until: Any) -> Call[LiftReport]:
        from accord.lift import from_dict

        return Call("GET", "/v1/reports/lift", None,
                    params=_drop_none({"since": _window(since), "until": _window(until)}),
                    build=from_dict)


def _window(at: Any) -> str | None:
    """A window bound as the query takes it: RFC 3339 (a datetime), epoch seconds or text."""
    if at is None or isinstance(at, str):
        return at
    if isinstance(at, int | float) and not isinstance(at, bool):
        return repr(float(at))
    return str(_iso(at))
