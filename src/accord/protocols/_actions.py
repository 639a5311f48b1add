"""What an agent can do through a protocol, as plain functions of (service, agent, arguments).

MCP tools and A2A skills call these. The acting ``agent`` is always the one the server fixed
(``--agent`` on stdio, the bearer token over HTTP), never a tool argument. Each function returns
JSON-ready data, so a transport only has to serialize it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from accord._errors import AccordError, Forbidden, InvalidInput
from accord._time import iso, parse_duration
from accord.ledger import _personal as personal
from accord.model import Decision
from accord.service import Accord
from accord.store import _views as views

ResolveAgent = Callable[[str], str | None]
"""A bearer token → the agent id it stands for, or None for an unknown or revoked token
(answered 401). A valid token that is not an agent's (a reviewer's, an admin's) raises
``not_an_agent(role)`` instead (answered 403: the caller is known, the token is the wrong kind).
"""


def not_an_agent(role: str) -> Forbidden:
    """The refusal for a valid token that cannot act as an agent over MCP or A2A."""
    return Forbidden(f"a {role} token does not act as an agent; MCP and A2A need the token "
                     "issued for the calling agent's seat", where="Authorization",
                     hint="create one with `accord token create --agent ID` and send "
                          "`Authorization: Bearer <token>`")

TIMELINE_LIMIT = 500
"""A timeline shows the customer's most recent entries; an auditor reads the full chain with
``accord trace`` or the ledger API."""


class NotAvailable(AccordError):
    """The server does not offer this yet (e.g. handoffs before the fleet service lands)."""

    title = "Not available"
    status = 501


def jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def decision_view(d: Decision) -> dict[str, Any]:
    """The parts of a decision an agent acts on, flat and small."""
    view: dict[str, Any] = {
        "decision_id": d.id, "outcome": d.outcome.value, "go": d.go,
        "reasons": [{"rule": r.rule, "effect": r.effect.value, "message": r.message}
                    for r in d.reasons],
        "retry_at": d.retry_at.isoformat().replace("+00:00", "Z") if d.retry_at else None,
        "amend": d.amend, "touch_id": d.touch_id, "context_version": d.context_version,
    }
    if d.applied:
        view["applied"] = d.applied  # act on this variant: the touch records it
    if d.preempted:
        view["preempted"] = d.preempted
    if d.approval:
        view["approval"] = d.approval
    if d.follow_up:
        view["scheduled_id"] = d.follow_up
    return view


def _fleet_call(method: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return method(*args, **kwargs)
    except NotImplementedError:
        raise NotAvailable(
            f"{method.__name__} is not available on this Accord server yet",
            hint="handoffs need the fleet service; upgrade the server, or coordinate with "
                 "claims and the gate meanwhile") from None


def get_context(svc: Accord, agent: str, customer: str) -> dict[str, Any]:
    return svc.context(customer, agent=agent).model_dump(mode="json")


def propose(svc: Accord, agent: str, customer: str, *, channel: str, intent: str,
            action: str = "message", topic: str | None = None,
            offer: dict[str, Any] | None = None, cost_usd: float | None = None,
            tokens: int | None = None, value: float | None = None, reversible: bool = True,
            at: str | None = None, trace_id: str | None = None, parent_id: str | None = None,
            idempotency_key: str | None = None, on_defer: str = "drop",
            deadline: str | None = None,
            accept: list[str] | None = None) -> dict[str, Any]:
    cost = None
    if cost_usd is not None or tokens is not None:
        cost = {"usd": cost_usd or 0.0, "tokens": tokens or 0}
    d = svc.propose(agent, customer, channel=channel, intent=intent, action=action,
                    topic=topic, offer=offer, cost=cost, value=value, reversible=reversible,
                    at=at, trace_id=trace_id, parent_id=parent_id,
                    idempotency_key=idempotency_key, on_defer=on_defer, deadline=deadline,
                    accept=accept)
    return decision_view(d)


def propose_batch(svc: Accord, agent: str, proposals: list[dict[str, Any]], *,
                  idempotency_key: str | None = None) -> dict[str, Any]:
    """The seat's planning round: each item is a proposal without ``agent`` (the seat's own)."""
    items = [{**{k: v for k, v in item.items() if v is not None}, "agent": agent}
             for item in proposals]
    answers = svc.propose_batch(items, idempotency_key=idempotency_key)
    return {"decisions": [decision_view(d) for d in answers]}


def cancel_scheduled(svc: Accord, agent: str, scheduled_id: str) -> dict[str, Any]:
    return svc.cancel_scheduled(scheduled_id, agent=agent).model_dump(mode="json")


def report_outcome(svc: Accord, agent: str, touch_id: str, status: str,
                   detail: str | None = None) -> dict[str, Any]:
    return svc.report_outcome(touch_id, status, agent=agent, detail=detail).model_dump(mode="json")


def record_event(svc: Accord, agent: str, customer: str, type: str,
                 data: dict[str, Any] | None = None, at: str | None = None) -> dict[str, Any]:
    return svc.record_event(customer, type, at=at, data=data, source=agent).model_dump(
        mode="json")


def claim(svc: Accord, agent: str, customer: str, purpose: str, until: str) -> dict[str, Any]:
    """``until`` is a timestamp (RFC 3339) or a duration from now (``48h``, ``7d``)."""
    try:
        when: str | float = svc.clock() + parse_duration(until)
    except ValueError:
        when = until
    return svc.claim(agent, customer, purpose, when).model_dump(mode="json")


def release(svc: Accord, agent: str, customer: str) -> dict[str, Any]:
    return {"customer": customer, "released": svc.release(agent, customer)}


def send_handoff(svc: Accord, agent: str, to: str, kind: str, payload: dict[str, Any], *,
                 customer: str | None = None, trace_id: str | None = None,
                 parent_id: str | None = None, via: str = "mcp",
                 artifacts: list[dict[str, Any]] | None = None) -> Any:
    return jsonable(_fleet_call(svc.handoff, agent, to, kind, payload, customer=customer,
                                artifacts=artifacts, trace_id=trace_id, parent_id=parent_id,
                                via=via))


def read_inbox(svc: Accord, agent: str, include_acked: bool = False) -> list[Any]:
    return list(jsonable(_fleet_call(svc.inbox, agent, include_acked=include_acked)))


def ack_handoff(svc: Accord, agent: str, handoff_id: str) -> Any:
    return jsonable(_fleet_call(svc.ack_handoff, handoff_id, agent=agent))


def explain_decision(svc: Accord, agent: str, decision_id: str) -> dict[str, Any]:
    """The decision, the rules behind it with their conditions, and the context fields those
    rules read: their values now, who set them, and whether the gate saw that version."""
    d = svc.decision(decision_id)
    if d.proposal.agent != agent:
        raise Forbidden(f"decision {decision_id} belongs to {d.proposal.agent}, not {agent}",
                        where="decision_id", hint="an agent can explain its own decisions")
    ctx = svc.context(d.proposal.customer, agent=agent)
    by_id = {r.id: r for r in svc.policy.rules}
    rules: list[dict[str, Any]] = []
    fields: set[str] = set()
    for reason in [*d.reasons, *d.shadow]:
        entry: dict[str, Any] = {"rule": reason.rule, "effect": reason.effect.value,
                                 "message": reason.message, "shadow": reason.shadow}
        if reason.refs:
            entry["refs"] = reason.refs
        rule = by_id.get(reason.rule)
        if rule is not None:
            entry["condition"] = rule.when.source
            entry["line"] = rule.line
            for expr in (rule.when, rule.until):
                if expr is not None and expr.customer_fields:
                    fields |= expr.customer_fields
        rules.append(entry)
    shown = {}
    for name in sorted(fields):
        if name in ctx.fields:
            prov = ctx.provenance.get(name)
            shown[name] = {"value": ctx.fields[name], "set_by": prov.by if prov else None,
                           "version": prov.version if prov else None,
                           "seen_by_gate": prov is None or prov.version <= d.context_version}
    explained: dict[str, Any] = {
        "decision": decision_view(d),
        "proposal": d.proposal.model_dump(mode="json", exclude_none=True),
        "rules": rules,
        "context": {"customer": ctx.customer, "version_seen": d.context_version,
                    "version_now": ctx.version, "changed_since": ctx.version != d.context_version,
                    "fields": shown,
                    "not_readable": sorted(f for f in fields if f not in shown
                                           and not _readable(svc, agent, f))},
        "policy_version": d.policy_version,
    }
    after = follow_up(svc, d.proposal.customer, decision_id)
    if after is not None:
        explained["follow_up"] = after
    return explained


def follow_up(svc: Accord, customer: str, decision_id: str) -> dict[str, Any] | None:
    """After a human reviewed flagged decision ``decision_id``: who, the verdict, and the
    decision the gate made then (its outcome and, for a go, the touch_id to report on). After a
    kept defer was re-decided: the kept proposal's status and its latest decision."""
    with svc.store.read() as tx:
        row = views.latest_review(tx, customer, decision_id)
    if row is None:
        scheduled_id = svc.decision(decision_id).follow_up
        if scheduled_id is None:
            return None
        kept = svc.scheduled(scheduled_id)
        latest = svc.decision(kept.decisions[-1])
        return {"scheduled": {"id": kept.id, "status": kept.status.value,
                              "due_at": kept.due_at.isoformat().replace("+00:00", "Z"),
                              "deadline": kept.deadline.isoformat().replace("+00:00", "Z"),
                              "note": kept.note},
                "decision": decision_view(latest)}
    body = json.loads(row["body"])
    return {"reviewer": body.get("reviewer"), "verdict": body.get("verdict"),
            "note": body.get("note"), "decision": decision_view(svc.decision(body["decision_id"]))}


def _readable(svc: Accord, agent: str, field: str) -> bool:
    seat = svc.policy.agents.get(agent)
    return seat is not None and ("*" in seat.context.read or field in seat.context.read)


def policy_text(svc: Accord) -> str:
    return svc.policy.text


def fleet(svc: Accord) -> dict[str, Any]:
    """Seats with owners, mandates and grants, and who wins a conflict."""
    pol = svc.policy
    seats = []
    for seat in pol.agents.values():
        item = seat.model_dump(mode="json", exclude_defaults=False)
        item["precedence"] = pol.rank.get(seat.id)
        seats.append(item)
    return {"policy_version": pol.version, "precedence": list(pol.spec.precedence),
            "seats": seats}


def timeline(svc: Accord, agent: str, customer: str) -> list[dict[str, Any]]:
    """The customer's ledger entries, oldest first; context values the agent may not read are
    left out."""
    if not customer:
        raise InvalidInput("customer must be a non-empty string", where="customer")
    seat = svc.policy.agents.get(agent)
    if seat is None:
        raise Forbidden(f"agent {agent!r} is not a registered seat", where="agent")
    readable = None if "*" in seat.context.read else set(seat.context.read)
    with svc.store.read() as tx:
        rows = views.newest_entries(tx, customer, TIMELINE_LIMIT)
        personal.reveal(tx, rows, customer)
    out = []
    for r in reversed(rows):
        body = json.loads(r["body"])
        if readable is not None:
            body = _redact(r["kind"], body, readable)
        out.append({**r, "at": iso(r["at"]), "body": _times(body)})
    return out


_TIME_KEYS = ("at", "until")


def _times(body: dict[str, Any]) -> dict[str, Any]:
    """Ledger bodies keep some times as epoch seconds; agents read RFC 3339 everywhere."""
    return {k: iso(v) if k in _TIME_KEYS and isinstance(v, int | float)
            and not isinstance(v, bool) else v for k, v in body.items()}


def _redact(kind: str, body: dict[str, Any], readable: set[str]) -> dict[str, Any]:
    if kind == "context":
        return {**body, "changes": {k: v for k, v in body.get("changes", {}).items()
                                    if k in readable}}
    if kind == "event":
        return {"type": body.get("type"), "at": body.get("at"),
                "changed": [c for c in body.get("changed", []) if c in readable],
                "version": body.get("version")}
    return body
