"""Events, shared context and claims on the service. Mixed into ``Accord``.

An event and a context write take the decision's path: lock the customer, change the
context, and in the same transaction revoke every pending touch the new state forbids.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from accord import _holdout, gate, reducers
from accord import _personal as personal
from accord._errors import Conflict, Forbidden, InvalidInput, StaleVersion
from accord._ids import new_id
from accord._time import Clock, iso, to_epoch
from accord.bus import Bus, Message
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
    Reason,
    check_customer,
    check_json,
)
from accord.policy import Policy
from accord.store import Store
from accord.store import _rows as sql
from accord.store._base import CustomerRow, Tx

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
    r = tx.one("SELECT type, at, data, source, version FROM events WHERE customer = ? AND "
               "id = ?", (customer, eid))
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


class ContextMixin:
    store: Store
    policy: Policy
    clock: Clock
    bus: Bus

    if TYPE_CHECKING:
        def _revoke(self, tx: Tx, row: CustomerRow, touch_id: str, why: str, at: float,
                    published: list[Message], *, trace_id: str | None = None,
                    parent_id: str | None = None,
                    reasons: list[Reason] | None = None) -> set[str]: ...
        def _recheck_kept(self, tx: Tx, row: CustomerRow, published: list[Message]) -> None: ...

    # -- events and context ------------------------------------------------------------------

    def record_event(self, customer: str, type: str, *, at: Any = None,
                     data: dict[str, Any] | None = None, source: str | None = None,
                     event_id: str | None = None, check_grant: bool = True) -> Event:
        """A fact about a customer. Reducers update the context and, in the same transaction,
        every pending touch the new state forbids is revoked. When ``source`` is a seat, the
        type must be in its ``context.events`` grant (``check_grant=False`` only to re-record
        a fact the ledger already holds, as ``policy replay`` does)."""
        _check_customer(customer)
        if not isinstance(type, str) or not re.match(NAME, type):
            raise InvalidInput("type must be a non-empty string", where="type",
                               hint=f"known types: {', '.join(EVENT_TYPES)}")
        if not isinstance(data, dict | None):
            raise InvalidInput("data must be an object", where="data")
        data = dict(data or {})
        _storable(data, "data")
        try:
            when = to_epoch(at) if at is not None else self.clock()
        except ValueError as exc:
            raise InvalidInput(str(exc), where="at") from None
        if check_grant and source is not None and source in self.policy.agents:
            self._may_record(source, type)
        _in_range(when, "at")
        if event_id is not None and (not isinstance(event_id, str) or not event_id
                                     or "\x00" in event_id):
            raise InvalidInput("event_id must be non-empty text without NUL", where="event_id")
        eid = event_id or new_id("e")
        published: list[Message] = []
        with self.store.lock(customer) as tx:
            row = tx.customer()
            if event_id is not None:
                seen = _recorded(tx, customer, eid, type, None if at is None else when, data,
                                 source)
                if seen is not None:  # the same event again: replay it, change nothing
                    return seen
            try:
                fields, changed = reducers.apply(self.policy, type, when, data, row.fields)
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
            tx.execute("INSERT INTO events (customer, id, type, at, data, source, version) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (customer, eid, type, when, sql.dumps(data), source, row.version))
            sql.append_ledger(tx, row, "event", self.clock(), agent=source, ref=eid,
                              body={"type": type, "at": when,
                                    "data": personal.seal(tx, customer, eid, data),
                                    "changed": changed, "version": row.version})
            revoked = self._recheck_pending(tx, row, when, f"event {type} ({eid})", published,
                                            eid) if changed else []
            tx.save_customer(row)
        if changed:
            published.append({"kind": "context", "customer": customer, "agents": [],
                              "version": row.version, "changed": changed, "by": f"event:{type}"})
        self.bus.publish(published)
        return Event(id=eid, customer=customer, type=type, at=when, data=data, source=source,
                     context_version=row.version, revoked=revoked)

    def _recheck_pending(self, tx: Tx, row: CustomerRow, since: float, cause: str,
                         published: list[Message], parent: str) -> list[str]:
        revoked = []
        lease = self.policy.spec.settings.touch_lease
        for t in sql.pending_touches(tx, row.id, since - lease):
            p = Proposal.model_validate_json(t["proposal"])
            snap = gate.Snapshot(row.id, gate.cel_fields(row.fields), row.version)
            v = _holdout.decide(row.id, gate.evaluate(p, t["at"], snap, self.policy,
                                                      context_only=True), self.policy)
            if v.outcome is Outcome.GO:
                continue
            rules = ", ".join(r.rule for r in v.reasons)
            self._revoke(tx, row, t["id"], f"{cause} makes it {v.outcome.value} ({rules})",
                         t["at"], published, parent_id=parent, reasons=v.reasons)
            revoked.append(t["id"])
        self._recheck_kept(tx, row, published)
        return revoked

    def event_grant(self, agent: str) -> tuple[str, ...]:
        """The event types ``agent`` may record (``"*"``: every type)."""
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
        """The customer's context; with ``agent``, only the fields its grant may read."""
        _check_customer(customer)
        with self.store.read() as tx:
            r = tx.one("SELECT * FROM customers WHERE id = ?", (customer,))
        row = sql.customer_row(r) if r else CustomerRow(customer, 0, {}, {}, 0, "")
        ctx = Context(customer=customer, version=row.version, fields=row.fields,
                      provenance={k: Provenance(**v) for k, v in row.provenance.items()})
        return self.visible(ctx, agent)

    def readable(self, agent: str | None) -> frozenset[str] | None:
        """The context fields ``agent`` may read; None: all of them (an admin, a reviewer, or
        a seat whose grant reads ``"*"``)."""
        return None if agent is None else readable_fields(self._grant(agent).read)

    def visible(self, ctx: Context, agent: str | None) -> Context:
        """``ctx`` as ``agent`` may see it: only the fields (and their provenance) its grant
        may read. Every interface that shows a context to an agent goes through this."""
        return visible_to(ctx, self.readable(agent))

    def _grant(self, agent: str) -> Any:
        seat = self.policy.agents.get(agent)
        if seat is None:
            raise Forbidden(f"agent {agent!r} is not a registered seat", where="agent")
        return seat.context

    def update_context(self, customer: str, changes: dict[str, Any], *, expected_version: int,
                       agent: str | None = None, actor: str | None = None) -> Context:
        """Write fields, naming the version you read. A stale version is refused, never merged.
        A ``None`` value removes the field."""
        _check_customer(customer)
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput("changes must be a non-empty object of field: value",
                               where="changes")
        for name, value in changes.items():
            _storable(value, f"changes.{name}")
        try:
            sql.jsonable(changes)
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
        published: list[Message] = []
        with self.store.lock(customer) as tx:
            row = tx.customer()
            if expected_version != row.version:
                raise StaleVersion(customer, expected_version, row.version)
            row.version += 1
            now = self.clock()
            for k, v in changes.items():
                if v is None:
                    row.fields.pop(k, None)
                else:
                    row.fields[k] = v
                row.provenance[k] = {"by": by, "at": iso(now), "version": row.version}
            sql.append_ledger(tx, row, "context", now, agent=agent,
                              body={"changes": personal.seal(
                                        tx, customer, f"context:v{row.version}", changes),
                                    "version": row.version, "by": by})
            self._recheck_pending(tx, row, now, f"context change by {by}", published,
                                  f"v{row.version}")
            tx.save_customer(row)
        published.append({"kind": "context", "customer": customer, "agents": [],
                          "version": row.version, "changed": sorted(changes), "by": by})
        self.bus.publish(published)
        return self.context(customer, agent=agent)

    # -- claims ------------------------------------------------------------------------------

    def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        """Declare interest in a customer; lower-precedence agents defer until it expires."""
        if agent not in self.policy.agents:
            raise Forbidden(f"agent {agent!r} is not a registered seat", where="agent")
        _check_customer(customer)
        try:
            until_at = to_epoch(until)
        except ValueError as exc:
            raise InvalidInput(str(exc), where="until") from None
        _in_range(until_at, "until")
        now = self.clock()
        if until_at > now + MAX_CLAIM_S:
            raise InvalidInput(f"a claim lasts at most {MAX_CLAIM_S // 86400} days; "
                               f"until {iso(until_at)} is further away", where="until",
                               hint="claim for the work at hand and renew the claim later")
        cid = new_id("cl")
        with self.store.lock(customer) as tx:
            row = tx.customer()
            tx.execute("INSERT INTO claims (customer, id, agent, purpose, until, created_at) "
                       "VALUES (?,?,?,?,?,?)", (customer, cid, agent, purpose, until_at, now))
            sql.append_ledger(tx, row, "claim", now, agent=agent, ref=cid,
                              body={"purpose": purpose, "until": until_at})
            tx.save_customer(row)
        self.bus.publish([{"kind": "claim", "customer": customer, "agents": [agent],
                           "claim_id": cid}])
        return Claim(id=cid, agent=agent, customer=customer, purpose=purpose, until=until_at,
                     created_at=now)

    def release(self, agent: str, customer: str) -> int:
        """Release the agent's open claims on the customer; returns how many were released."""
        _check_customer(customer)
        now = self.clock()
        with self.store.lock(customer) as tx:
            row = tx.customer()
            open_ = tx.rows("SELECT id FROM claims WHERE customer = ? AND agent = ? AND "
                            "released = 0 AND until > ?", (customer, agent, now))
            tx.execute("UPDATE claims SET released = 1 WHERE customer = ? AND agent = ? AND "
                       "released = 0", (customer, agent))
            if open_:
                sql.append_ledger(tx, row, "release", now, agent=agent,
                                  body={"claims": [c["id"] for c in open_]})
            tx.save_customer(row)
        return len(open_)
