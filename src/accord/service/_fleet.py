"""Seats and handoffs (fleet governance): components of ``Accord``.

Signatures here are the contract the HTTP, MCP and A2A shells call. Seat changes are written to
the registry (``seats`` table) and the fleet chain of the ledger; every replica rebuilds its seat
view when the registry version (``meta.seats_version``) moves, so a pause stops the seat's next
proposal wherever it lands (``PolicyHolder.current``, read at the top of each decision).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accord._errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyError, field_errors
from accord._json import dumps
from accord._time import parse_duration
from accord.fleet._handoff import DEFAULT_SLA, Artifact, Handoff, is_person, schema_problems
from accord.fleet._seats import (
    Orphans,
    Registry,
    Seat,
    SeatChange,
    orphans,
    overlaps,
    reconcile,
)
from accord.ledger import FLEET
from accord.model import check_customer
from accord.policy import AgentSpec, Policy
from accord.store import _handoffs as handoffs
from accord.store import _seats as registry
from accord.store import _touches as touches

if TYPE_CHECKING:
    from accord.service._decisions import Decisions
    from accord.service._runtime import Runtime


def _hid() -> str:
    return f"h_{uuid.uuid4().hex[:20]}"


def _invalid(exc: ValidationError, where: str) -> InvalidInput:
    return InvalidInput("; ".join(f"{e['field']}: {e['message']}"
                                  for e in field_errors(exc.errors())), where=where)


class Seats:
    """The seat registry: reading it, and every change to a seat (each in the fleet chain)."""

    def __init__(self, rt: Runtime, decisions: Decisions) -> None:
        self.rt = rt
        self.decisions = decisions

    # -- seats: reading ----------------------------------------------------------------------

    def _registry(self) -> tuple[Policy, list[Registry]]:
        """The file in force and the registry's rows, read together."""
        with self.rt.store.read() as tx:
            self.rt.policies.current(tx)
            rows = [Registry.from_row(r) for r in registry.every(tx)]
        return self.rt.policies.file, rows

    def seats(self) -> list[Seat]:
        base, rows = self._registry()
        return reconcile(base, rows).seats

    def seat(self, agent_id: str) -> Seat:
        for s in self.seats():
            if s.id == agent_id:
                return s
        raise NotFound(f"no seat {agent_id!r}", where="agent_id",
                       hint="list seats with `accord seat list`")

    def seats_removed_from_file(self) -> list[str]:
        base, rows = self._registry()
        return reconcile(base, rows).removed_from_file

    # -- seats: lifecycle --------------------------------------------------------------------

    def register_seat(self, spec: dict[str, Any], *, by: str) -> SeatChange:
        try:
            seat = AgentSpec.model_validate({**spec, "status": "active"})
        except ValidationError as exc:
            raise _invalid(exc, "spec") from None
        base, rows = self._registry()
        known = {r.id: r for r in rows}
        if seat.id in self.rt.policies.policy.agents and seat.id not in known:
            raise Conflict(f"seat {seat.id!r} is declared in the policy file", where="spec.id",
                           hint="change it with update_seat / `accord seat update`")
        if seat.id in known and known[seat.id].status != "retired":
            raise Conflict(f"seat {seat.id!r} is already registered ({known[seat.id].status})",
                           where="spec.id", hint="update it, or retire it first")
        reg = Registry(seat.id, seat.model_dump(exclude={"status"}), "active",
                       "file" if seat.id in {a.id for a in base.spec.agents} else "runtime",
                       base.version, seat.id in {a.id for a in base.spec.agents}, 0.0, by)
        self._check_compiles(base, rows, reg)
        return self._write_seat(reg, "register", by, {"spec": reg.spec})

    def update_seat(self, agent_id: str, changes: dict[str, Any], *, by: str) -> SeatChange:
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput("changes must be a non-empty object", where="changes")
        bad = sorted(set(changes) & {"id", "status"})
        if bad:
            raise InvalidInput(f"{', '.join(bad)} cannot be changed by an update",
                               where="changes", hint="use pause, resume or retire for status")
        base, rows = self._registry()
        reg = self._row_for(agent_id, base, rows)
        try:
            spec = AgentSpec.model_validate({**reg.spec, **changes, "status": reg.status})
        except ValidationError as exc:
            raise _invalid(exc, "changes") from None
        reg.spec = spec.model_dump(exclude={"status"})
        reg.override, reg.file_version = reg.origin == "file", base.version
        self._check_compiles(base, rows, reg)
        return self._write_seat(reg, "update", by, {"changes": changes})

    def set_status(self, agent_id: str, status: str, by: str, reason: str | None) -> SeatChange:
        """Pause, resume or retire; a pause or retirement revokes the seat's pending touches."""
        if not by:
            raise InvalidInput("name who makes the change", where="by")
        base, rows = self._registry()
        reg = self._row_for(agent_id, base, rows)
        if reg.status == "retired" and status != "retired":
            raise Conflict(f"seat {agent_id!r} is retired", where="agent_id",
                           hint="register it again to bring it back")
        before = self.rt.policies.policy
        reg.status = status  # type: ignore[assignment]
        change = self._write_seat(reg, {"paused": "pause", "active": "resume",
                                        "retired": "retire"}[status], by,
                                  {"reason": reason} if reason else {})
        revoked = self._revoke_pending(agent_id, f"seat {agent_id} {status} by {by}"
                                       + (f": {reason}" if reason else "")) \
            if status != "active" else []
        lost = (orphans(before, self.rt.policies.policy, agent_id) if status == "retired"
                else Orphans())
        return change.model_copy(update={"revoked": revoked, "orphaned": lost})

    def _row_for(self, agent_id: str, base: Policy, rows: list[Registry]) -> Registry:
        for r in rows:
            if r.id == agent_id:
                return r
        for a in base.spec.agents:
            if a.id == agent_id:
                return Registry(a.id, a.model_dump(exclude={"status"}), a.status, "file",
                                base.version, False, 0.0, None)
        raise NotFound(f"no seat {agent_id!r}", where="agent_id",
                       hint="list seats with `accord seat list`")

    def _check_compiles(self, base: Policy, rows: list[Registry], reg: Registry) -> None:
        others = [r for r in rows if r.id != reg.id] + [reg]
        try:
            base.with_agents(reconcile(base, others).specs)
        except PolicyError as exc:
            raise InvalidInput(f"seat {reg.id!r} does not fit the policy: "
                               + "; ".join(exc.problems), where="spec") from None

    def _write_seat(self, reg: Registry, action: str, by: str,
                    body: dict[str, Any]) -> SeatChange:
        """A fleet-wide change: it takes the fleet chain."""
        now = self.rt.clock()
        with self.rt.write(FLEET) as w:
            registry.put(w.tx, reg.id, reg.document(), reg.status, now, by)
            w.ledger("seat", now, agent=reg.id, ref=reg.id,
                     body={"action": action, "by": by, "status": reg.status, **body})
            w.publish({"kind": "seat", "customer": None, "agents": [reg.id],
                       "action": action, "status": reg.status, "by": by})
        seat = next(s for s in self.seats() if s.id == reg.id)
        mine = [o for o in overlaps(self.rt.policies.policy) if reg.id in o.seats]
        return SeatChange(seat=seat, action=action, overlaps=mine)

    def _revoke_pending(self, agent_id: str, why: str) -> list[str]:
        """Revoke every pending touch of the seat, customer by customer. Two passes, so a
        proposal that was in flight on another replica when the status changed is caught."""
        revoked: list[str] = []
        for _ in range(2):
            with self.rt.store.read() as tx:
                pending = touches.customers_pending_of(tx, agent_id)
            for customer in pending:
                with self.rt.write(customer) as w:
                    for touch_id in touches.pending_of(w.tx, customer, agent_id):
                        self.decisions.revoke(w, touch_id, why, self.rt.clock())
                        revoked.append(touch_id)
        return revoked


class Handoffs:
    """Structured handoffs between seats and people: sent, read and acknowledged."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @property
    def kinds(self) -> dict[str, dict[str, Any]]:
        """The policy's handoff kinds: ``{kind: {"schema": {...}, "sla": "4h"}}``."""
        return {k: {"schema": v.schema_, "sla": v.sla}
                for k, v in self.rt.policies.policy.spec.handoff_kinds.items()}

    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                trace_id: str | None = None, parent_id: str | None = None,
                via: str | None = None) -> Handoff:
        pol = self.rt.policies.read(self.rt.store)
        self._check_party(pol, sender, kind, "sender")
        self._check_party(pol, receiver, kind, "receiver")
        if not isinstance(payload, dict):
            raise InvalidInput("payload must be an object", where="payload")
        if customer is not None and (why := check_customer(customer)):
            raise InvalidInput(why, where="customer")  # '_…' would land in an internal chain
        spec = self.kinds.get(kind, {})
        if isinstance(spec.get("schema"), dict):
            problems = schema_problems(payload, spec["schema"])
            if problems:
                raise InvalidInput(f"the payload does not match the schema of {kind!r}: "
                                   + "; ".join(problems), where=problems[0].split(":")[0],
                                   extra={"problems": problems})
        try:
            refs = [Artifact.model_validate(a) for a in artifacts or []]
        except ValidationError as exc:
            raise InvalidInput(exc.errors()[0]["msg"], where="artifacts",
                               hint="each artifact is {id or uri, sha256: 64 hex}") from None
        now = self.rt.clock()
        sla = parse_duration(spec.get("sla", DEFAULT_SLA))
        h = Handoff(id=_hid(), sender=sender, receiver=receiver, kind=kind, customer=customer,
                    trace_id=trace_id, parent_id=parent_id, payload=payload, artifacts=refs,
                    created_at=now, due_at=now + sla, via=via)
        art = [a.model_dump(exclude_none=True) for a in refs]
        with self.rt.write(customer or FLEET) as w:  # the ledger entry goes in that chain
            handoffs.insert(w.tx, h.id, sender, receiver, kind, customer, trace_id, parent_id,
                            dumps(payload), dumps(art), now, now + sla, via)
            w.ledger("handoff", now, agent=sender, trace_id=trace_id, parent_id=parent_id,
                     ref=h.id, body={"sender": sender, "receiver": receiver, "kind": kind,
                                     "payload": payload, "artifacts": art, "due_at": now + sla,
                                     "via": via})
            w.publish({"kind": "handoff", "customer": customer, "agents": [receiver],
                       "handoff": h.model_dump(mode="json")})
        return h

    @staticmethod
    def _check_party(pol: Policy, name: str, kind: str, role: str) -> None:
        if is_person(name):
            return
        seat = pol.agents.get(name)
        if seat is None:
            raise Forbidden(f"{role} {name!r} is not a registered seat", where=role,
                            hint="a person is written person:<name>")
        if role == "sender" and seat.status != "active":
            raise Forbidden(f"{name} is {seat.status} and cannot send handoffs", where=role)
        if role == "receiver" and seat.status == "retired":
            raise Forbidden(f"{name} is retired and has no inbox", where=role)
        declared = seat.produces if role == "sender" else seat.consumes
        if kind not in declared:
            verb = "produces" if role == "sender" else "consumes"
            raise Forbidden(f"{name} does not declare that it {verb} {kind!r}",
                            where="kind", hint=f"add {kind!r} to the seat's `{verb}` list "
                            f"(it {verb}: {', '.join(declared) or 'nothing'})")

    def inbox(self, agent: str, *, include_acked: bool = False) -> list[Handoff]:
        now = self.rt.clock()
        with self.rt.write_unlocked() as tx:  # read marks are in no chain: no lock to queue on
            rows = handoffs.for_receiver(tx, agent, include_acked=include_acked)
            handoffs.mark_read(tx, [r["id"] for r in rows if r["read_at"] is None], now)
        return [_handoff({**r, "read_at": r["read_at"] or now}) for r in rows]

    def handoffs(self) -> list[Handoff]:
        with self.rt.store.read() as tx:
            rows = handoffs.every(tx)
        return [_handoff(r) for r in rows]

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Handoff:
        with self.rt.store.read() as tx:
            found = handoffs.get(tx, handoff_id)
        if found is None:
            raise NotFound(f"no handoff {handoff_id!r}", where="handoff_id")
        if found["receiver"] != agent:
            raise Forbidden(f"handoff {handoff_id} is for {found['receiver']}, not {agent}",
                            where="agent")
        now = self.rt.clock()
        with self.rt.write(found["customer"] or FLEET) as w:
            cur = handoffs.get(w.tx, handoff_id)
            assert cur is not None
            if cur["acked_at"] is not None:
                return _handoff(cur)
            handoffs.ack(w.tx, handoff_id, now)
            w.ledger("handoff_ack", now, agent=agent, trace_id=cur["trace_id"],
                     parent_id=handoff_id, ref=handoff_id,
                     body={"sender": cur["sender"], "kind": cur["kind"]})
            w.publish({"kind": "handoff_ack", "customer": cur["customer"],
                       "agents": [cur["sender"]], "handoff_id": handoff_id, "by": agent})
        return _handoff({**cur, "acked_at": now, "read_at": cur["read_at"] or now})


def _handoff(r: dict[str, Any]) -> Handoff:
    return Handoff(id=r["id"], sender=r["sender"], receiver=r["receiver"], kind=r["kind"],
                   customer=r["customer"], trace_id=r["trace_id"], parent_id=r["parent_id"],
                   payload=json.loads(r["payload"]), artifacts=json.loads(r["artifacts"]),
                   created_at=r["created_at"], due_at=r["due_at"], read_at=r["read_at"],
                   acked_at=r["acked_at"], via=r["via"])
