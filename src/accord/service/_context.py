"""Events, shared context and claims: a component of ``Accord``.

An event and a context write take the decision's path: lock the customer, change the
context, and in the same transaction revoke every pending touch the new state forbids.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from accord import gate
from accord._errors import Conflict, Forbidden, InvalidInput, StaleVersion
from accord._ids import new_id
from accord._json import dumps, jsonable
from accord._time import iso, to_epoch
from accord.ledger import _personal as personal
from accord.model import (
    EARLIEST,
    LATEST,
    NAME,
    Claim,
    Context,
    Event,
    Outcome,
    Proposal,
    Provenance,
    check_customer,
    check_json,
)
from accord.policy import Policy
from accord.policy import _reducers as reducers
from accord.service import _holdout
from accord.store import _claims as claims
from accord.store import _customers as customers
from accord.store import _events as events
from accord.store import _rows as rows
from accord.store._base import CustomerRow, Tx

if TYPE_CHECKING:
    from accord.policy._schema import ContextGrant
    from accord.service._decisions import Decisions
    from accord.service._runtime import Runtime, Write

EVENT_TYPES = ("purchase", "opt_out", "opt_in", "ticket_opened", "ticket_closed", "reply",
               "meeting_booked", "stage_changed", "unsubscribe", "complaint", "login",
               "conversion")

EVENTS_BY_NAME = ("opt_in", "stage_changed")
"""Event types a seat records only when its grant names them (or says ``"*"``): ``opt_in`` lifts
a suppression another team may have recorded, and ``stage_changed`` sets a field from the
event's own data. Every other type reports a fact, so a seat without an ``events`` grant may
record it (docs/governance.md, "Who may record which event")."""
DEFAULT_EVENTS = tuple(t for t in EVENT_TYPES if t not in EVENTS_BY_NAME)


MAX_CLAIM_S = 366 * 86400
"""The longest a claim may last from now (a claim holds other agents off a customer)."""


def _check_customer(customer: Any) -> None:
    why = check_customer(customer)
    if why:
        raise InvalidInput(why, where="customer",
                           hint="customer ids are 1–200 characters of text without control "
                                "characters and do not start with '_'")


def _in_range(epoch: float, where: str) -> None:
    if not EARLIEST <= epoch < LATEST:
        raise InvalidInput(f"{iso(epoch)} is outside 1970-01-01 … 2100-01-01 (UTC)",
                           where=where, hint="send the real time of the fact, RFC 3339 or "
                                             "epoch seconds")


def _storable(value: Any, where: str) -> None:
    """What both stores keep exactly (see ``model.check_json``), else a 422 naming ``where``."""
    try:
        check_json(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), where=where, hint="text without NUL, integers within "
                           "64 bits, finite numbers, at most 64 KiB per value") from None


def _recorded(tx: Tx, customer: str, eid: str, type: str, at: float | None,
              data: dict[str, Any], source: str | None) -> Event | None:
    """The stored event ``eid`` if it is this same event; a 409 if the id holds another.
    ``at`` is ``None`` when the caller left it to the clock: any stored time then matches."""
    r = events.get(tx, customer, eid)
    if r is None:
        return None
    stored = {"type": r["type"], "at": float(r["at"]), "data": json.loads(r["data"]),
              "source": r["source"]}
    if stored != {"type": type, "at": stored["at"] if at is None else at, "data": data,
                  "source": source}:
        raise Conflict(f"event_id {eid!r} was already used for a different event of "
                       f"{customer!r}", where="event_id",
                       hint="use a new event_id for a new event; a retry must send the same "
                            "type, at, data and source")
    return Event(id=eid, customer=customer, type=type, at=stored["at"], data=stored["data"],
                 source=source, context_version=int(r["version"]))


def events_granted(events: list[str] | None) -> tuple[str, ...]:
    """The event types a grant's ``events`` allows (``None``: the default grant)."""
    return DEFAULT_EVENTS if events is None else tuple(events)


def readable_fields(read: list[str]) -> frozenset[str] | None:
    """The fields a grant's ``read`` allows; None: all of them."""
    return None if "*" in read else frozenset(read)


def visible_to(ctx: Context, readable: frozenset[str] | None) -> Context:
    """``ctx`` with only the ``readable`` fields and their provenance (None: all)."""
    if readable is None:
        return ctx
    return ctx.model_copy(update={
        "fields": {k: v for k, v in ctx.fields.items() if k in readable},
        "provenance": {k: v for k, v in ctx.provenance.items() if k in readable}})


class ContextEvents:
    """Events, context writes and claims. A change of context re-checks, in the same write,
    every pending touch and kept proposal of the customer (``Decisions``)."""

    def __init__(self, rt: Runtime, decisions: Decisions) -> None:
        self.rt = rt
        self.decisions = decisions

    # -- events and context ------------------------------------------------------------------

    def record_event(self, customer: str, type: str, *, at: Any = None,
                     data: dict[str, Any] | None = None, source: str | None = None,
                     event_id: str | None = None, check_grant: bool = True) -> Event:
        _check_customer(customer)
        if not isinstance(type, str) or not re.match(NAME, type):
            raise InvalidInput("type must be a non-empty string", where="type",
                               hint=f"known types: {', '.join(EVENT_TYPES)}")
        if not isinstance(data, dict | None):
            raise InvalidInput("data must be an object", where="data")
        data = dict(data or {})
        _storable(data, "data")
        try:
            when = to_epoch(at) if at is not None else self.rt.clock()
        except ValueError as exc:
            raise InvalidInput(str(exc), where="at") from None
        if check_grant and source is not None and source in self.rt.policies.policy.agents:
            self._may_record(source, type)
        _in_range(when, "at")
        if event_id is not None and (not isinstance(event_id, str) or not event_id
                                     or "\x00" in event_id):
            raise InvalidInput("event_id must be non-empty text without NUL", where="event_id")
        eid = event_id or new_id("e")
        with self.rt.write(customer) as w:
            row = w.row
            if event_id is not None:
                seen = _recorded(w.tx, customer, eid, type, None if at is None else when, data,
                                 source)
                if seen is not None:  # the same event again: replay it, change nothing
                    return seen
            pol = self.rt.policies.current(w.tx)
            try:
                fields, changed = reducers.apply(pol, type, when, data, row.fields)
            except Exception as exc:
                raise InvalidInput(f"a reducer for {type!r} failed on this event: {exc}",
                                   where="data", hint="check the event's data fields against "
                                   "the reducers in the policy") from None
            if changed:
                row.version += 1
                row.fields = fields
                for name in changed:
                    row.provenance[name] = {"by": f"event:{type}:{eid}", "at": iso(when),
                                            "version": row.version}
            events.insert(w.tx, customer, eid, type, when, dumps(data), source, row.version)
            w.ledger("event", self.rt.clock(), agent=source, ref=eid,
                     body={"type": type, "at": when,
                           "data": personal.seal(w.tx, customer, eid, data),
                           "changed": changed, "version": row.version})
            revoked = self._recheck_pending(w, pol, when, f"event {type} ({eid})",
                                            eid) if changed else []
            w.save()
            if changed:
                w.publish({"kind": "context", "customer": customer, "agents": [],
                           "version": row.version, "changed": changed, "by": f"event:{type}"})
        return Event(id=eid, customer=customer, type=type, at=when, data=data, source=source,
                     context_version=row.version, revoked=revoked)

    def _recheck_pending(self, w: Write, pol: Policy, since: float, cause: str,
                         parent: str) -> list[str]:
        row = w.row
        revoked = []
        lease = pol.spec.settings.touch_lease
        for t in rows.pending_touches(w.tx, row.id, since - lease):
            p = Proposal.model_validate_json(t["proposal"])
            snap = gate.Snapshot(row.id, gate.cel_fields(row.fields), row.version)
            v = _holdout.decide(row.id, gate.evaluate(p, t["at"], snap, pol,
                                                      context_only=True), pol)
            if v.outcome is Outcome.GO:
                continue
            rules = ", ".join(r.rule for r in v.reasons)
            self.decisions.revoke(w, t["id"], f"{cause} makes it {v.outcome.value} ({rules})",
                                  t["at"], parent_id=parent, reasons=v.reasons)
            revoked.append(t["id"])
        self.decisions.recheck_kept(w, pol)
        return revoked

    def event_grant(self, agent: str) -> tuple[str, ...]:
        return events_granted(self._grant(agent).events)

    def _may_record(self, agent: str, type: str) -> None:
        granted = self.event_grant(agent)
        if "*" not in granted and type not in granted:
            by_name = (f"; {type} is recorded only by seats whose grant names it"
                       if type in EVENTS_BY_NAME else "")
            raise Forbidden(f"{agent} may not record {type} events{by_name}", where="type",
                            hint=f"its grant allows: {', '.join(granted) or 'no events'}; add "
                                 f"{type} to the seat's context.events in the policy, or have "
                                 "a seat that may record it do so")

    def context(self, customer: str, *, agent: str | None = None) -> Context:
        _check_customer(customer)
        with self.rt.store.read() as tx:
            r = customers.get(tx, customer)
        row = rows.customer_row(r) if r else CustomerRow(customer, 0, {}, {}, 0, "")
        ctx = Context(customer=customer, version=row.version, fields=row.fields,
                      provenance={k: Provenance(**v) for k, v in row.provenance.items()})
        return self.visible(ctx, agent)

    def readable(self, agent: str | None) -> frozenset[str] | None:
        return None if agent is None else readable_fields(self._grant(agent).read)

    def visible(self, ctx: Context, agent: str | None) -> Context:
        return visible_to(ctx, self.readable(agent))

    def _grant(self, agent: str) -> ContextGrant:
        seat = self.rt.policies.policy.agents.get(agent)
        if seat is None:
            raise Forbidden(f"agent {agent!r} is not a registered seat", where="agent")
        return seat.context

    def update_context(self, customer: str, changes: dict[str, Any], *, expected_version: int,
                       agent: str | None = None, actor: str | None = None) -> Context:
        _check_customer(customer)
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput("changes must be a non-empty object of field: value",
                               where="changes")
        for name, value in changes.items():
            _storable(value, f"changes.{name}")
        try:
            jsonable(changes)
        except InvalidInput as exc:
            exc.where = "changes"
            raise
        if agent is not None:
            writable = self._grant(agent).write
            denied = sorted(k for k in changes if "*" not in writable and k not in writable)
            if denied:
                raise Forbidden(f"{agent} may not write {', '.join(denied)}", where="changes",
                                hint=f"its grant allows: {', '.join(writable) or 'nothing'}")
        by = f"agent:{agent}" if agent else (actor or "admin")
        with self.rt.write(customer) as w:
            row = w.row
            if expected_version != row.version:
                raise StaleVersion(customer, expected_version, row.version)
            pol = self.rt.policies.current(w.tx)
            row.version += 1
            now = self.rt.clock()
            for k, v in changes.items():
                if v is None:
                    row.fields.pop(k, None)
                else:
                    row.fields[k] = v
                row.provenance[k] = {"by": by, "at": iso(now), "version": row.version}
            w.ledger("context", now, agent=agent,
                     body={"changes": personal.seal(
                               w.tx, customer, f"context:v{row.version}", changes),
                           "version": row.version, "by": by})
            self._recheck_pending(w, pol, now, f"context change by {by}", f"v{row.version}")
            w.save()
            w.publish({"kind": "context", "customer": customer, "agents": [],
                       "version": row.version, "changed": sorted(changes), "by": by})
        return self.context(customer, agent=agent)

    # -- claims ------------------------------------------------------------------------------

    def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        if agent not in self.rt.policies.policy.agents:
            raise Forbidden(f"agent {agent!r} is not a registered seat", where="agent")
        _check_customer(customer)
        try:
            until_at = to_epoch(until)
        except ValueError as exc:
            raise InvalidInput(str(exc), where="until") from None
        _in_range(until_at, "until")
        now = self.rt.clock()
        if until_at > now + MAX_CLAIM_S:
            raise InvalidInput(f"a claim lasts at most {MAX_CLAIM_S // 86400} days; "
                               f"until {iso(until_at)} is further away", where="until",
                               hint="claim for the work at hand and renew the claim later")
        cid = new_id("cl")
        with self.rt.write(customer) as w:
            claims.insert(w.tx, customer, cid, agent, purpose, until_at, now)
            w.ledger("claim", now, agent=agent, ref=cid,
                     body={"purpose": purpose, "until": until_at})
            w.publish({"kind": "claim", "customer": customer, "agents": [agent],
                       "claim_id": cid})
        return Claim(id=cid, agent=agent, customer=customer, purpose=purpose, until=until_at,
                     created_at=now)

    def release(self, agent: str, customer: str) -> int:
        _check_customer(customer)
        now = self.rt.clock()
        with self.rt.write(customer) as w:
            open_ = claims.open_of(w.tx, customer, agent, now)
            claims.release(w.tx, customer, agent)
            if open_:
                w.ledger("release", now, agent=agent, body={"claims": [c["id"] for c in open_]})
        return len(open_)
