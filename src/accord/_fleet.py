"""Seats and handoffs on the service (issue: fleet governance). Mixed into ``Accord``.

Signatures here are the contract the HTTP, MCP and A2A shells call. Seat changes are written to
the registry (``seats`` table) and the fleet chain of the ledger; every replica rebuilds its seat
view when the registry version (``meta.seats_version``) moves, so a pause stops the seat's next
proposal wherever it lands (``_refresh_seats``, called at the top of each decision).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accord._errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyError
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
from accord.store import _rows as sql

if TYPE_CHECKING:
    from accord._time import Clock
    from accord.bus import Bus, Message
    from accord.model import Reason
    from accord.store import Store
    from accord.store._base import CustomerRow, Tx

_VERSION_KEY = "seats_version"


def _hid() -> str:
    return f"h_{uuid.uuid4().hex[:20]}"


class FleetMixin:
    store: Store
    policy: Policy
    clock: Clock
    bus: Bus

    handoff_kinds: dict[str, dict[str, Any]] = {}  # noqa: RUF012 - replaced, never mutated
    """``{kind: {"schema": {...JSON Schema subset...}, "sla": "4h"}}``; empty means any payload
    and the default 24h SLA. Set it on the instance (the policy file will carry it)."""

    _seat_base: Policy | None = None
    _seat_merged: Policy | None = None
    _seat_seen: str | None = None

    if TYPE_CHECKING:
        def _revoke(self, tx: Tx, row: CustomerRow, touch_id: str, why: str, at: float,
                    published: list[Message], *, trace_id: str | None = None,
                    parent_id: str | None = None,
                    reasons: list[Reason] | None = None) -> set[str]: ...

    # -- seats: reading ----------------------------------------------------------------------

    def _refresh_seats(self, tx: Tx | None = None) -> None:
        """Rebuild the seat view if the registry moved since we last looked. One primary-key
        read when nothing changed; pass the caller's ``tx`` to read inside its transaction."""
        if self.policy is not self._seat_merged and self.policy is not self._seat_base:
            self._seat_base, self._seat_seen = self.policy, None  # a new file was applied
        if tx is None:
            with self.store.read() as rtx:
                self._refresh_from(rtx)
        else:
            self._refresh_from(tx)

    def _refresh_from(self, tx: Tx) -> None:
        mark = tx.one("SELECT value FROM meta WHERE key = ?", (_VERSION_KEY,))
        version = mark["value"] if mark else None
        if version == self._seat_seen:
            return
        rows = [Registry.from_row(r) for r in tx.rows("SELECT * FROM seats ORDER BY id")]
        base = self._seat_base or self.policy
        merged = base.with_agents(reconcile(base, rows).specs) if rows else base
        self._seat_base, self._seat_merged, self._seat_seen = base, merged, version
        self.policy = merged

    def _registry(self) -> tuple[Policy, list[Registry]]:
        self._refresh_seats()
        with self.store.read() as tx:
            rows = [Registry.from_row(r) for r in tx.rows("SELECT * FROM seats ORDER BY id")]
        return self._seat_base or self.policy, rows

    def seats(self) -> list[Seat]:
        """Every seat (active, paused and retired), as file and registry combine."""
        base, rows = self._registry()
        return reconcile(base, rows).seats

    def seat(self, agent_id: str) -> Seat:
        for s in self.seats():
            if s.id == agent_id:
                return s
        raise NotFound(f"no seat {agent_id!r}", where="agent_id",
                       hint="list seats with `accord seat list`")

    def seats_removed_from_file(self) -> list[str]:
        """Seats the registry learned from the file that the file no longer declares."""
        base, rows = self._registry()
        return reconcile(base, rows).removed_from_file

    # -- seats: lifecycle --------------------------------------------------------------------

    def register_seat(self, spec: dict[str, Any], *, by: str) -> SeatChange:
        """Add a seat at run time. The registry owns it from now on (the file does not)."""
        try:
            seat = AgentSpec.model_validate({**spec, "status": "active"})
        except ValidationError as exc:
            raise InvalidInput("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                         for e in exc.errors()), where="spec") from None
        base, rows = self._registry()
        known = {r.id: r for r in rows}
        if seat.id in self.policy.agents and seat.id not in known:
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
        """Change a seat's spec (top-level keys replace). For a file seat the change holds until
        the next policy apply; status changes go through pause / resume / retire."""
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
            raise InvalidInput("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                         for e in exc.errors()), where="changes") from None
        reg.spec = spec.model_dump(exclude={"status"})
        reg.override, reg.file_version = reg.origin == "file", base.version
        self._check_compiles(base, rows, reg)
        return self._write_seat(reg, "update", by, {"changes": changes})

    def pause_seat(self, agent_id: str, *, by: str, reason: str) -> SeatChange:
        """The kill switch: the seat's next proposal is stopped on every replica, and its pending
        touches are revoked now, each with a notice on the bus."""
        if not reason:
            raise InvalidInput("say why the seat is paused", where="reason")
        return self._set_status(agent_id, "paused", by, reason)

    def resume_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return self._set_status(agent_id, "active", by, None)

    def retire_seat(self, agent_id: str, *, by: str) -> SeatChange:
        """Retire for good; ``orphaned`` names every intent, channel and handoff kind left
        without an owner."""
        return self._set_status(agent_id, "retired", by, None)

    def _set_status(self, agent_id: str, status: str, by: str, reason: str | None) -> SeatChange:
        if not by:
            raise InvalidInput("name who makes the change", where="by")
        base, rows = self._registry()
        reg = self._row_for(agent_id, base, rows)
        if reg.status == "retired" and status != "retired":
            raise Conflict(f"seat {agent_id!r} is retired", where="agent_id",
                           hint="register it again to bring it back")
        before = self.policy
        reg.status = status  # type: ignore[assignment]
        change = self._write_seat(reg, {"paused": "pause", "active": "resume",
                                        "retired": "retire"}[status], by,
                                  {"reason": reason} if reason else {})
        revoked = self._revoke_pending(agent_id, f"seat {agent_id} {status} by {by}"
                                       + (f": {reason}" if reason else "")) \
            if status != "active" else []
        lost = orphans(before, self.policy, agent_id) if status == "retired" else Orphans()
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
        now = self.clock()
        with self.store.lock(FLEET) as tx:
            row = tx.customer()
            tx.execute("INSERT INTO seats (id, spec, status, updated_at, updated_by) VALUES "
                       "(?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, "
                       "status = excluded.status, updated_at = excluded.updated_at, "
                       "updated_by = excluded.updated_by",
                       (reg.id, reg.document(), reg.status, now, by))
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                       "SET value = excluded.value", (_VERSION_KEY, uuid.uuid4().hex))
            sql.append_ledger(tx, row, "seat", now, agent=reg.id, ref=reg.id,
                              body={"action": action, "by": by, "status": reg.status, **body})
            tx.save_customer(row)
        self._refresh_seats()
        seat = next(s for s in self.seats() if s.id == reg.id)
        self.bus.publish([{"kind": "seat", "customer": None, "agents": [reg.id],
                           "action": action, "status": reg.status, "by": by}])
        mine = [o for o in overlaps(self.policy) if reg.id in o.seats]
        return SeatChange(seat=seat, action=action, overlaps=mine)

    def _revoke_pending(self, agent_id: str, why: str) -> list[str]:
        """Revoke every pending touch of the seat, customer by customer. Two passes, so a
        proposal that was in flight on another replica when the status changed is caught."""
        revoked: list[str] = []
        for _ in range(2):
            with self.store.read() as tx:
                customers = [r["customer"] for r in tx.rows(
                    "SELECT DISTINCT customer FROM touches WHERE agent = ? AND status = "
                    "'pending'", (agent_id,))]
            for customer in customers:
                published: list[Message] = []
                with self.store.lock(customer) as tx:
                    row = tx.customer()
                    for t in tx.rows("SELECT id FROM touches WHERE customer = ? AND agent = ? "
                                     "AND status = 'pending' ORDER BY seq", (customer, agent_id)):
                        self._revoke(tx, row, t["id"], why, self.clock(), published)
                        revoked.append(t["id"])
                    tx.save_customer(row)
                self.bus.publish(published)
        return revoked

    # -- handoffs ----------------------------------------------------------------------------

    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                trace_id: str | None = None, parent_id: str | None = None,
                via: str | None = None) -> Handoff:
        """Send a structured handoff to ``receiver``'s inbox. Returns the Handoff."""
        self._refresh_seats()
        self._check_party(sender, kind, "sender")
        self._check_party(receiver, kind, "receiver")
        if not isinstance(payload, dict):
            raise InvalidInput("payload must be an object", where="payload")
        if customer is not None and (why := check_customer(customer)):
            raise InvalidInput(why, where="customer")  # '_…' would land in an internal chain
        spec = self.handoff_kinds.get(kind, {})
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
        now = self.clock()
        sla = parse_duration(spec.get("sla", DEFAULT_SLA))
        h = Handoff(id=_hid(), sender=sender, receiver=receiver, kind=kind, customer=customer,
                    trace_id=trace_id, parent_id=parent_id, payload=payload, artifacts=refs,
                    created_at=now, due_at=now + sla, via=via)
        art = [a.model_dump(exclude_none=True) for a in refs]
        with self.store.lock(customer or FLEET) as tx:
            row = tx.customer()
            tx.execute("INSERT INTO handoffs (id, sender, receiver, kind, customer, trace_id, "
                       "parent_id, payload, artifacts, created_at, due_at, via) VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?)",
                       (h.id, sender, receiver, kind, customer, trace_id, parent_id,
                        sql.dumps(payload), sql.dumps(art), now, now + sla, via))
            sql.append_ledger(tx, row, "handoff", now, agent=sender, trace_id=trace_id,
                              parent_id=parent_id, ref=h.id,
                              body={"sender": sender, "receiver": receiver, "kind": kind,
                                    "payload": payload, "artifacts": art, "due_at": now + sla,
                                    "via": via})
            tx.save_customer(row)
        self.bus.publish([{"kind": "handoff", "customer": customer, "agents": [receiver],
                           "handoff": h.model_dump(mode="json")}])
        return h

    def _check_party(self, name: str, kind: str, role: str) -> None:
        if is_person(name):
            return
        seat = self.policy.agents.get(name)
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
        """The handoffs waiting for ``agent`` (marks them read)."""
        now = self.clock()
        cond = "" if include_acked else " AND acked_at IS NULL"
        with self.store.lock(FLEET) as tx:
            rows = tx.rows(f"SELECT * FROM handoffs WHERE receiver = ?{cond} ORDER BY "
                           "created_at, id", (agent,))
            unread = [r["id"] for r in rows if r["read_at"] is None]
            if unread:
                marks = ",".join("?" * len(unread))
                tx.execute(f"UPDATE handoffs SET read_at = ? WHERE id IN ({marks})",
                           (now, *unread))
        return [_handoff({**r, "read_at": r["read_at"] or now}) for r in rows]

    def handoffs(self) -> list[Handoff]:
        """Every handoff, oldest first (the audit's view; marks nothing read)."""
        with self.store.read() as tx:
            rows = tx.rows("SELECT * FROM handoffs ORDER BY created_at, id")
        return [_handoff(r) for r in rows]

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Handoff:
        """The receiver acknowledges a handoff."""
        with self.store.read() as tx:
            found = tx.one("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))
        if found is None:
            raise NotFound(f"no handoff {handoff_id!r}", where="handoff_id")
        if found["receiver"] != agent:
            raise Forbidden(f"handoff {handoff_id} is for {found['receiver']}, not {agent}",
                            where="agent")
        now = self.clock()
        with self.store.lock(found["customer"] or FLEET) as tx:
            row = tx.customer()
            cur = tx.one("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))
            assert cur is not None
            if cur["acked_at"] is not None:
                return _handoff(cur)
            tx.execute("UPDATE handoffs SET acked_at = ?, read_at = COALESCE(read_at, ?) "
                       "WHERE id = ?", (now, now, handoff_id))
            sql.append_ledger(tx, row, "handoff_ack", now, agent=agent,
                              trace_id=cur["trace_id"], parent_id=handoff_id, ref=handoff_id,
                              body={"sender": cur["sender"], "kind": cur["kind"]})
            tx.save_customer(row)
        h = _handoff({**cur, "acked_at": now, "read_at": cur["read_at"] or now})
        self.bus.publish([{"kind": "handoff_ack", "customer": cur["customer"],
                           "agents": [cur["sender"]], "handoff_id": handoff_id, "by": agent}])
        return h


def _handoff(r: dict[str, Any]) -> Handoff:
    return Handoff(id=r["id"], sender=r["sender"], receiver=r["receiver"], kind=r["kind"],
                   customer=r["customer"], trace_id=r["trace_id"], parent_id=r["parent_id"],
                   payload=json.loads(r["payload"]), artifacts=json.loads(r["artifacts"]),
                   created_at=r["created_at"], due_at=r["due_at"], read_at=r["read_at"],
                   acked_at=r["acked_at"], via=r["via"])
