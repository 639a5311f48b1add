"""The one service. Every interface (in-process, HTTP, MCP, A2A, CLI, web) is a shell over it.

Each write is one transaction serialized on its customer: lock, read the snapshot, call the pure
gate (or reducers), write rows and the ledger entry, commit, then publish.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from accord import _batch, _holdout, gate
from accord import _keeping as keeping
from accord._context import EVENT_TYPES, ContextMixin
from accord._erasure import CustomerDataMixin
from accord._errors import (
    AccordError,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
)
from accord._fleet import FleetMixin
from accord._ids import new_id
from accord._ledgerview import LedgerMixin
from accord._time import Clock, iso, system_clock, to_datetime
from accord.bus import Bus, Message, Subscription
from accord.ledger import FLEET
from accord.model import (
    Decision,
    Outcome,
    Proposal,
    Reason,
    Scheduled,
    Touch,
    TouchStatus,
)
from accord.policy import Policy
from accord.store import Store, open_store
from accord.store import _outbox as outbox
from accord.store import _rows as sql
from accord.store import _scheduled as kept
from accord.store._base import CustomerRow, Tx
from accord.telemetry import OFF, Telemetry

_REFRESH_EVERY = 1.0
"""Seconds between checks for a policy applied by another replica."""


def invalid(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first["loc"]) or None
    problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return InvalidInput(first["msg"] if len(problems) == 1 else "; ".join(problems), where=where,
                        hint="see the field list in docs/api.md", extra={"problems": problems})


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


class Accord(ContextMixin, LedgerMixin, FleetMixin, CustomerDataMixin):
    """Accord embedded in your process. ``Accord.open("accord.db", policy="accord.yaml")``."""

    def __init__(self, store: Store, policy: Policy, *, clock: Clock | None = None,
                 telemetry: Telemetry = OFF) -> None:
        self.store = store
        self.policy = policy
        self.clock: Clock = clock or system_clock
        self.telemetry = telemetry  # spans and metrics per decision (accord.telemetry)
        make_bus = getattr(store, "make_bus", None)
        self.bus: Bus = make_bus() if make_bus else Bus()
        self._policy_seen = self._newest_policy_at()
        self._next_refresh = time.monotonic() + _REFRESH_EVERY

    @classmethod
    def open(cls, db: str | Path = "accord.db", policy: str | Path | Policy = "accord.yaml", *,
             clock: Clock | None = None, telemetry: Telemetry = OFF,
             **store_options: Any) -> Accord:
        pol = policy if isinstance(policy, Policy) else Policy.load(policy)
        return cls(open_store(str(db), **store_options), pol, clock=clock, telemetry=telemetry)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Accord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def handoff_kinds(self) -> dict[str, dict[str, Any]]:  # type: ignore[override]
        """The policy's handoff kinds: ``{kind: {"schema": {...}, "sla": "4h"}}``."""
        return {k: {"schema": v.schema_, "sla": v.sla}
                for k, v in self.policy.spec.handoff_kinds.items()}

    # -- proposals ---------------------------------------------------------------------------

    def propose(self, agent: str, customer: str, *, channel: str, intent: str,
                action: str = "message", offer: dict[str, Any] | None = None,
                cost: dict[str, Any] | float | None = None, at: Any = None,
                trace_id: str | None = None, parent_id: str | None = None,
                idempotency_key: str | None = None, topic: str | None = None,
                value: float | None = None, reversible: bool = True,
                deliver: dict[str, Any] | None = None, on_defer: str = "drop",
                deadline: Any = None, accept: list[str] | None = None) -> Decision:
        """Ask the gate. Returns the decision; a go already holds the customer's contact slot
        (and, with ``deliver``, is queued for the dispatcher to send). With
        ``on_defer="reschedule"`` and a ``deadline`` (timestamp or duration), a defer is kept
        and re-decided at its ``retry_at`` (``Decision.follow_up`` names it)."""
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            cost = {"usd": float(cost)}
        try:
            p = Proposal(agent=agent, customer=customer, action=action, channel=channel,
                         intent=intent, offer=offer, cost=cost, at=at, trace_id=trace_id,
                         parent_id=parent_id, idempotency_key=idempotency_key, topic=topic,
                         value=value, reversible=reversible, deliver=deliver,
                         on_defer=on_defer, deadline=deadline, accept=accept)
        except ValidationError as exc:
            raise invalid(exc) from None
        return self.submit(p)

    def submit(self, p: Proposal, *, decision_id: str | None = None) -> Decision:
        """Decide a validated ``Proposal`` (what ``propose`` and the HTTP API call)."""
        if time.monotonic() >= self._next_refresh:
            self.refresh_policy()
        at = p.at.timestamp() if p.at else self.clock()
        request_hash = (hashlib.sha256(p.model_dump_json().encode()).hexdigest()
                        if p.idempotency_key else "")
        published: list[Message] = []
        # the recorder's phases: lock, snapshot, evaluate, write, then commit (until it exits)
        with self.telemetry.decision(p) as ph, self.store.lock(p.customer) as tx:
            row = tx.customer()
            self._refresh_seats(tx)  # a paused seat stops on its next proposal, on every replica
            ph.mark("lock")
            if p.idempotency_key:
                seen = tx.one("SELECT body, request_hash FROM decisions WHERE customer = ? AND "
                              "agent = ? AND idem_key = ?", (p.customer, p.agent,
                                                            p.idempotency_key))
                if seen is not None:
                    if seen["request_hash"] != request_hash:
                        raise IdempotencyConflict(
                            f"idempotency key {p.idempotency_key!r} was used for a different "
                            "proposal", where="idempotency_key",
                            hint="use a new key for a new proposal; retry with the same body")
                    replayed = Decision.model_validate_json(seen["body"])
                    ph.done(replayed, replayed=True)
                    return replayed
            decision = self._decide(tx, row, p, at, request_hash, decision_id, published,
                                    phases=ph)
            sql.save_chain(tx, row)  # a decision never changes the context itself
            ph.mark("write")
            ph.done(decision)
        self.bus.publish(published)
        return decision

    def _variant(self, tx: Tx, row: CustomerRow, p: Proposal, at: float,
                 v: gate.Verdict) -> tuple[gate.Verdict, Proposal, float]:
        """The verdict, proposal and time to record for an accepted amend. A later time was
        decided on the history read around the asked one: it is decided once more on the
        history around the new time, and the asked proposal's verdict stands if it fails."""
        assert v.proposal is not None
        variant = v.proposal
        new_at = variant.at.timestamp() if variant.at else at
        if new_at == at:
            return v, variant, at
        again = gate.evaluate(variant, new_at, self._snapshot(tx, row, variant, new_at),
                              self.policy, now=self.clock(), _amend=False)
        if again.outcome is not Outcome.GO:
            assert v.asked is not None
            return v.asked, p, at
        return v, variant, new_at

    def propose_batch(self, proposals: Sequence[Proposal | dict[str, Any]], *,
                      idempotency_key: str | None = None) -> list[Decision]:
        """Decide a planning round together: for each customer, the contact budget goes to the
        highest-value set of the round's proposals that the rules allow (score = value ×
        uplift; precedence, then submission order, break ties; see ``accord.arbitration``).
        Answers come in submission order. With ``idempotency_key`` (at most 190 characters)
        a retry of the same batch gets the same answers and changes nothing."""
        return _batch.propose_batch(self, _batch.validated(proposals, idempotency_key))

    def _decide(self, tx: Tx, row: CustomerRow, p: Proposal, at: float, request_hash: str,
                decision_id: str | None, published: list[Message], *,
                parent_decision: str | None = None, approval: str | None = None,
                scheduled: dict[str, Any] | None = None, phases: Any = None) -> Decision:
        """Snapshot, gate, record: the one path every decision takes, in the caller's lock
        (a proposal, an approval's re-check, a scheduled re-decision)."""
        snap = self._snapshot(tx, row, p, at)
        if phases is not None:
            phases.mark("snapshot")
        v = _holdout.decide(p.customer, gate.evaluate(p, at, snap, self.policy,
                                                      approval=approval, now=self.clock()),
                            self.policy)
        if phases is not None:
            phases.mark("evaluate")
        if v.proposal is not None:  # an accepted amend: the variant is what goes
            v, p, at = self._variant(tx, row, p, at, v)
        return self._record(tx, row, p, at, v, request_hash, decision_id, published,
                            parent_decision=parent_decision, approval=approval,
                            scheduled=scheduled)

    def _snapshot(self, tx: Tx, row: CustomerRow, p: Proposal, at: float) -> gate.Snapshot:
        pol = self.policy
        horizon = pol.horizon + pol.spec.settings.touch_lease
        rows = sql.touches_near(tx, p.customer, at - horizon, at + horizon, at=at,
                                limit=gate.SNAPSHOT_TOUCHES + 1)
        truncated = len(rows) > gate.SNAPSHOT_TOUCHES
        if truncated:
            rows = sorted(sorted(rows, key=lambda r: abs(r["at"] - at))[:gate.SNAPSHOT_TOUCHES],
                          key=lambda r: r["at"])
        touches = [gate.TouchView(r["id"], r["agent"], r["channel"], r["intent"], r["at"],
                                  r["status"], r["seq"]) for r in rows]
        claims = [gate.ClaimView(r["id"], r["agent"], r["purpose"], r["until"]) for r in tx.rows(
            "SELECT id, agent, purpose, until FROM claims WHERE customer = ? AND released = 0 "
            "AND until > ?", (p.customer, at))]
        commitments = []
        if p.offer is not None and p.offer.product is not None:
            commitments = [gate.CommitmentView(r["id"], r["agent"], r["product"],
                                               json.loads(r["offer"]), r["valid_until"],
                                               r["decision_id"]) for r in tx.rows(
                "SELECT * FROM commitments WHERE customer = ? AND status = 'active' AND "
                "product = ? AND valid_until > ?", (p.customer, p.offer.product, at))]
        snap = gate.Snapshot(p.customer, gate.cel_fields(row.fields), row.version, touches,
                             claims, commitments, truncated=truncated)
        seat = pol.agents.get(p.agent)
        if seat is not None and (seat.budget.daily_usd is not None
                                 or seat.budget.daily_tokens is not None):
            s = tx.one("SELECT COALESCE(SUM(usd), 0) AS usd, COALESCE(SUM(tokens), 0) AS tokens "
                       "FROM spend WHERE agent = ? AND day = ?", (p.agent, _day(at)))
            assert s is not None
            snap.agent_spend_usd, snap.agent_spend_tokens = float(s["usd"]), int(s["tokens"])
        if p.trace_id is not None:
            t = tx.one("SELECT usd, tokens, count FROM traces WHERE trace_id = ?", (p.trace_id,))
            if t is not None:
                snap.trace_cost_usd, snap.trace_tokens, snap.trace_count = (
                    float(t["usd"]), int(t["tokens"]), int(t["count"]))
        return snap

    def _record(self, tx: Tx, row: CustomerRow, p: Proposal, at: float, v: gate.Verdict,
                request_hash: str, decision_id: str | None, published: list[Message],
                *, parent_decision: str | None = None, approval: str | None = None,
                scheduled: dict[str, Any] | None = None) -> Decision:
        did = decision_id or new_id("d")
        # A defer Accord keeps (the proposal asked, or a human approved it) and every
        # re-decision of a kept one name the scheduled row they belong to.
        keep = v.outcome is Outcome.DEFER and (p.on_defer == "reschedule"
                                               or approval is not None)
        follow_up = (scheduled["id"] if scheduled is not None
                     else "s_" + did[2:] if keep else None)
        touch_id = "t_" + did[2:] if v.outcome is Outcome.GO else None
        # Every decision belongs to a trace: its own id when the caller named none, so
        # `accord trace <decision id>` always finds it. Budgets count named traces only.
        named_trace = p.trace_id is not None
        if not named_trace:
            p = p.model_copy(update={"trace_id": did})
        now = self.clock()
        # Every field is built here from validated parts, so validating again is skipped.
        decision = Decision.model_construct(
            id=did, outcome=v.outcome, reasons=v.reasons,
            retry_at=None if v.retry_at is None else to_datetime(v.retry_at),
            touch_id=touch_id, context_version=row.version,
            policy_version=self.policy.version, amend=v.amend, shadow=v.shadow,
            preempted=v.preempt, applied=v.applied,
            approval="pending" if v.outcome is Outcome.FLAG else None,
            parent_decision=parent_decision, follow_up=follow_up, at=to_datetime(at),
            decided_at=to_datetime(now), proposal=p)
        body = decision.model_dump_json()
        tx.execute("INSERT INTO decisions (customer, id, agent, outcome, approval, at, trace_id, "
                   "idem_key, request_hash, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (p.customer, did, p.agent, v.outcome.value, decision.approval, at, p.trace_id,
                    p.idempotency_key if parent_decision is None else None, request_hash, body))
        agents = {p.agent}
        for tid in v.preempt:
            agents |= self._revoke(tx, row, tid, f"pre-empted by {p.agent} (decision {did})",
                                   at, published, trace_id=p.trace_id, parent_id=did)
        usd = p.cost.usd if p.cost else 0.0
        tokens = p.cost.tokens if p.cost else 0
        if touch_id is not None:
            seq = row.chain_seq + 1
            tx.execute("INSERT INTO touches (customer, id, decision_id, agent, channel, intent, "
                       "action, at, status, seq, proposal) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (p.customer, touch_id, did, p.agent, p.channel, p.intent, p.action, at,
                        "pending", seq, p.model_dump_json()))
            if p.deliver is not None:
                outbox.enqueue(tx, p.customer, touch_id, p.agent, p.channel, p.deliver.to,
                               p.deliver.model_dump(exclude_none=True), at, now)
            if p.offer is not None and p.offer.product is not None:
                if self.policy.spec.commitments.own_offer == "update":  # replaces its own
                    tx.execute("UPDATE commitments SET status = 'superseded' WHERE customer = ? "
                               "AND agent = ? AND product = ? AND status = 'active'",
                               (p.customer, p.agent, p.offer.product))
                valid = self.policy.spec.commitments.default_valid_for
                if p.offer.valid_for:
                    from accord._time import parse_duration
                    valid = parse_duration(p.offer.valid_for)
                tx.execute("INSERT INTO commitments (customer, id, agent, product, offer, "
                           "valid_until, decision_id, touch_id, status) VALUES "
                           "(?,?,?,?,?,?,?,?,'active')",
                           (p.customer, "c_" + did[2:], p.agent, p.offer.product,
                            sql.dumps(p.offer.model_dump(exclude_none=True)), at + valid, did,
                            touch_id))
            if usd or tokens:
                shard = zlib.crc32(p.customer.encode()) % sql.SPEND_SHARDS
                tx.execute("INSERT INTO spend (agent, day, shard, usd, tokens) VALUES "
                           "(?,?,?,?,?) ON CONFLICT (agent, day, shard) DO UPDATE SET "
                           "usd = spend.usd + excluded.usd, tokens = spend.tokens + "
                           "excluded.tokens", (p.agent, _day(at), shard, usd, tokens))
        if named_trace:
            tx.execute("INSERT INTO traces (trace_id, usd, tokens, count) VALUES (?,?,?,1) "
                       "ON CONFLICT (trace_id) DO UPDATE SET usd = traces.usd + excluded.usd, "
                       "tokens = traces.tokens + excluded.tokens, count = traces.count + 1",
                       (p.trace_id, usd if touch_id else 0.0, tokens if touch_id else 0))
        sql.append_ledger(tx, row, "decision", now, agent=p.agent, trace_id=p.trace_id,
                          parent_id=p.parent_id or parent_decision, ref=did, body=body)
        for incident in sorted(set(v.incidents)):
            sql.append_ledger(tx, row, "incident", now, agent=p.agent, trace_id=p.trace_id,
                              parent_id=did, ref=did,
                              body={"rule": incident, "messages": [
                                  r.message for r in v.reasons if r.rule == incident]})
        if scheduled is not None:
            keeping.advance(tx, row, scheduled, decision, now, published)
        elif follow_up is not None:
            keeping.keep(tx, row, follow_up, decision, approval, now, published)
        if self.bus.active:  # serializing for nobody costs a tenth of a decision
            published.append({"kind": "decision", "customer": p.customer,
                              "agents": sorted(agents),
                              "decision": decision.model_dump(mode="json")})
        return decision

    def _revoke(self, tx: Tx, row: CustomerRow, touch_id: str, why: str, at: float,
                published: list[Message], *, trace_id: str | None = None,
                parent_id: str | None = None, reasons: list[Reason] | None = None) -> set[str]:
        t = tx.one("SELECT agent, decision_id, status FROM touches WHERE customer = ? AND id = ?",
                   (row.id, touch_id))
        if t is None or t["status"] != "pending":
            return set()
        tx.execute("UPDATE touches SET status = 'revoked', status_reason = ? WHERE customer = ? "
                   "AND id = ?", (why, row.id, touch_id))
        tx.execute("UPDATE commitments SET status = 'revoked' WHERE customer = ? AND touch_id = ?",
                   (row.id, touch_id))
        outbox.cancel_queued(tx, row.id, touch_id, why)
        body = {"touch_id": touch_id, "agent": t["agent"], "why": why,
                "reasons": [r.model_dump(mode="json") for r in reasons or []]}
        sql.append_ledger(tx, row, "revocation", self.clock(), agent=t["agent"],
                          trace_id=trace_id, parent_id=parent_id, ref=touch_id, body=body)
        published.append({"kind": "revocation", "customer": row.id, "agents": [t["agent"]],
                          "touch_id": touch_id, "decision_id": t["decision_id"], "why": why,
                          "reasons": body["reasons"], "at": iso(at)})
        return {t["agent"]}

    # -- touches -----------------------------------------------------------------------------

    def report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                       detail: str | None = None) -> Touch:
        """The agent says what became of a go: executed, failed or cancelled."""
        if status not in ("executed", "failed", "cancelled"):
            raise InvalidInput(f"status must be executed, failed or cancelled, not {status!r}",
                               where="status")
        customer = self._customer_of("touches", touch_id, "touch")
        published: list[Message] = []
        with self.store.lock(customer) as tx:
            row = tx.customer()
            t = tx.one("SELECT * FROM touches WHERE customer = ? AND id = ?", (customer, touch_id))
            assert t is not None
            if agent is not None and t["agent"] != agent:
                raise Forbidden(f"touch {touch_id} belongs to {t['agent']}, not {agent}",
                                where="touch_id")
            if t["status"] == status:
                return _touch(customer, t)
            lease_end = t["at"] + self.policy.spec.settings.touch_lease
            if t["status"] == "pending" and status == "executed" and self.clock() > lease_end:
                raise Conflict(f"touch {touch_id} expired at {iso(lease_end)}: its slot was "
                               "released", where="touch_id",
                               hint="do not act on it; propose again", extra={
                                   "touch_status": "expired"})
            if t["status"] != "pending":
                hint = ("do not act on it: " + (t["status_reason"] or "")
                        if t["status"] == "revoked" else None)
                raise Conflict(f"touch {touch_id} is already {t['status']}", where="touch_id",
                               hint=hint, extra={"touch_status": t["status"]})
            t = self._settle_touch(tx, row, t, status, detail, published)
            tx.save_customer(row)
        self.bus.publish(published)
        return _touch(customer, t)

    def _settle_touch(self, tx: Tx, row: CustomerRow, t: dict[str, Any], status: str,
                      detail: str | None, published: list[Message]) -> dict[str, Any]:
        """Move a pending touch to its outcome, in the caller's transaction."""
        tx.execute("UPDATE touches SET status = ?, status_reason = ? WHERE customer = ? AND "
                   "id = ?", (status, detail, row.id, t["id"]))
        if status != "executed":
            tx.execute("UPDATE commitments SET status = ? WHERE customer = ? AND touch_id = ?",
                       (status, row.id, t["id"]))
        sql.append_ledger(tx, row, "outcome", self.clock(), agent=t["agent"],
                          parent_id=t["decision_id"], ref=t["id"],
                          body={"touch_id": t["id"], "status": status, "detail": detail})
        published.append({"kind": "outcome", "customer": row.id, "agents": [t["agent"]],
                          "touch_id": t["id"], "status": status})
        return {**t, "status": status, "status_reason": detail}

    def touch(self, touch_id: str) -> Touch:
        with self.store.read() as tx:
            t = tx.one("SELECT * FROM touches WHERE id = ?", (touch_id,))
        if t is None:
            raise NotFound(f"no touch {touch_id!r}", where="touch_id")
        return _touch(t["customer"], t)

    def _customer_of(self, table: str, item_id: str, what: str) -> str:
        with self.store.read() as tx:
            found = tx.one(f"SELECT customer FROM {table} WHERE id = ?", (item_id,))
        if found is None:
            raise NotFound(f"no {what} {item_id!r}", where=f"{what}_id")
        return str(found["customer"])

    # -- approvals ---------------------------------------------------------------------------

    def approvals(self) -> list[Decision]:
        """Flagged decisions waiting for a human, oldest first."""
        with self.store.read() as tx:
            rows = tx.rows("SELECT body FROM decisions WHERE approval = 'pending' ORDER BY at")
        return [Decision.model_validate_json(r["body"]) for r in rows]

    def decision(self, decision_id: str) -> Decision:
        """The decision, checked against its ledger entry (a forged row raises
        ``LedgerMismatch``)."""
        with self.store.read() as tx:
            r = tx.one("SELECT body FROM decisions WHERE id = ?", (decision_id,))
            if r is None:
                raise NotFound(f"no decision {decision_id!r}", where="decision_id")
            return self._checked_decision(tx, decision_id, r["body"])

    def approve(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        """Approve a flagged proposal: the gate re-runs on the context as it is now, with the
        human standing in for every flag; stops and defers still hold."""
        return self._review(decision_id, reviewer, True, note)

    def reject(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        return self._review(decision_id, reviewer, False, note)

    def _review(self, decision_id: str, reviewer: str, approve: bool,
                note: str | None, *, new_id_: str | None = None) -> Decision:
        if not reviewer:
            raise InvalidInput("a reviewer must be named", where="reviewer")
        flagged = self.decision(decision_id)
        p = flagged.proposal
        if reviewer in (p.agent, f"agent:{p.agent}"):
            raise Forbidden(f"{p.agent} cannot approve its own proposal", where="reviewer")
        published: list[Message] = []
        with self.telemetry.decision(p) as ph, self.store.lock(p.customer) as tx:
            row = tx.customer()
            self._refresh_seats(tx)
            ph.mark("lock")
            cur = tx.one("SELECT approval FROM decisions WHERE customer = ? AND id = ?",
                         (p.customer, decision_id))
            if cur is None or cur["approval"] != "pending":
                state = cur["approval"] if cur else "missing"
                raise Conflict(f"decision {decision_id} is not waiting for approval ({state})",
                               where="decision_id")
            verdict = "approved" if approve else "rejected"
            follow_up = new_id_ or new_id("d")
            tx.execute("UPDATE decisions SET approval = ?, body = ? WHERE customer = ? AND id = ?",
                       (verdict, flagged.model_copy(update={"approval": verdict})
                        .model_dump_json(), p.customer, decision_id))
            now = self.clock()
            at = max(p.at.timestamp() if p.at else now, now)
            sql.append_ledger(tx, row, "approval", now, agent=p.agent, trace_id=p.trace_id,
                              parent_id=decision_id, ref=decision_id,
                              body={"reviewer": reviewer, "verdict": verdict, "note": note,
                                    "at": at, "decision_id": follow_up})
            again = p.model_copy(update={"at": None})
            if approve:
                decision = self._decide(tx, row, again, at, "", follow_up, published,
                                        parent_decision=decision_id,
                                        approval=f"approved by {reviewer}"
                                                 + (f": {note}" if note else ""))
            else:
                v = gate.Verdict(Outcome.STOP, [Reason(
                    rule="approval", effect=Outcome.STOP,
                    message=f"rejected by {reviewer}" + (f": {note}" if note else ""))])
                decision = self._record(tx, row, again, at, v, "", follow_up, published,
                                        parent_decision=decision_id)
            tx.save_customer(row)
            ph.mark("write")  # the approval's re-check: lock, write (snapshot and gate), commit
            ph.done(decision)
        self.bus.publish(published)
        return decision

    # -- kept proposals (on_defer: reschedule) -----------------------------------------------

    def scheduled(self, scheduled_id: str) -> Scheduled:
        """A kept proposal: its status, next re-decision, deadline and the decisions it
        produced (``Decision.follow_up`` names it)."""
        with self.store.read() as tx:
            r = kept.find(tx, scheduled_id)
        if r is None:
            raise NotFound(f"no scheduled proposal {scheduled_id!r}", where="scheduled_id",
                           hint="use the follow_up of a defer whose proposal asked "
                                "on_defer=reschedule")
        return keeping.view(r)

    def cancel_scheduled(self, scheduled_id: str, *, agent: str | None = None) -> Scheduled:
        """Stop re-deciding a kept proposal (an agent only its own). Cancelling a cancelled
        one changes nothing; one that already ended is a conflict that says how."""
        customer = self.scheduled(scheduled_id).customer
        published: list[Message] = []
        with self.store.lock(customer) as tx:
            row = tx.customer()
            r = kept.get(tx, customer, scheduled_id)
            assert r is not None
            if agent is not None and r["agent"] != agent:
                raise Forbidden(f"scheduled proposal {scheduled_id} belongs to {r['agent']}, "
                                f"not {agent}", where="scheduled_id",
                                hint="an agent cancels only its own")
            if r["status"] == "cancelled":
                return keeping.view(r)
            if r["status"] != "waiting":
                raise Conflict(f"scheduled proposal {scheduled_id} already ended: {r['status']}"
                               + (f" ({r['note']})" if r["note"] else ""), where="scheduled_id",
                               hint="read its decisions; nothing is left to cancel",
                               extra={"scheduled_status": r["status"]})
            why = f"cancelled by {agent}" if agent else "cancelled"
            r = keeping.end(tx, row, r, "cancelled", why, self.clock(), published)
            sql.save_chain(tx, row)
        self.bus.publish(published)
        return keeping.view(r)

    def _redecide(self, customer: str, scheduled_id: str) -> str | None:
        """Re-decide one due kept proposal under its customer's lock (what a scheduler pass
        calls). Returns what became of it (``decided`` or ``lapsed``), or None when it was not
        due any more: another replica got there first, or it was cancelled."""
        published: list[Message] = []
        with self.store.lock(customer) as tx:
            row = tx.customer()
            r = kept.get(tx, customer, scheduled_id)
            now = self.clock()
            if r is None or r["status"] != "waiting" or r["due_at"] > now:
                return None
            if now > r["deadline"]:
                keeping.end(tx, row, r, "lapsed", "its deadline passed before it could be "
                            "re-decided", now, published)
                what = "lapsed"
            else:
                self._refresh_seats(tx)
                chain = orjson.loads(r["decisions"])
                self._decide(tx, row, Proposal.model_validate_json(r["proposal"]), now, "",
                             None, published, parent_decision=chain[0],
                             approval=r["approval"], scheduled=r)
                what = "decided"
            sql.save_chain(tx, row)
        self.bus.publish(published)
        return what

    def _recheck_kept(self, tx: Tx, row: CustomerRow, published: list[Message]) -> None:
        """After the context changed: a kept proposal the new state stops (an opt-out, a
        purchase) is decided again now, so it ends with that stop instead of waiting for it."""
        now = self.clock()
        for r in kept.waiting_of(tx, row.id):
            if now > r["deadline"]:  # the scheduler's next pass lapses it; decide nothing late
                continue
            p = Proposal.model_validate_json(r["proposal"])
            snap = gate.Snapshot(row.id, gate.cel_fields(row.fields), row.version)
            if gate.evaluate(p, now, snap, self.policy, context_only=True,
                             approval=r["approval"]).outcome is Outcome.STOP:
                self._decide(tx, row, p, now, "", None, published,
                             parent_decision=orjson.loads(r["decisions"])[0],
                             approval=r["approval"], scheduled=r)

    # -- policy ------------------------------------------------------------------------------

    def apply_policy(self, text: str, *, by: str, source: str = "accord.yaml") -> Policy:
        """Validate and put a new policy in force without a restart. It is stored, so every
        replica picks it up (``refresh_policy``), and recorded in the fleet chain."""
        new = Policy.from_text(text, source=source)
        with self.store.lock(FLEET) as tx:
            row = tx.customer()
            tx.execute("INSERT INTO policies (version, text, applied_at, applied_by) VALUES "
                       "(?,?,?,?) ON CONFLICT (version) DO UPDATE SET applied_at = "
                       "excluded.applied_at, applied_by = excluded.applied_by",
                       (new.version, text, self.clock(), by))
            sql.append_ledger(tx, row, "policy", self.clock(), body={
                "version": new.version, "previous": self.policy.version, "by": by})
            tx.save_customer(row)
        self.policy = new
        self._policy_seen = self._newest_policy_at()
        return new

    def _newest_policy_at(self) -> float:
        with self.store.read() as tx:
            r = tx.one("SELECT MAX(applied_at) AS at FROM policies")
        return float(r["at"]) if r and r["at"] is not None else 0.0

    def refresh_policy(self) -> bool:
        """Adopt a policy another replica applied since this one started or last looked
        (checked at most once a second by ``submit``); True if it changed."""
        self._next_refresh = time.monotonic() + _REFRESH_EVERY
        if self._newest_policy_at() <= self._policy_seen:
            return False
        with self.store.read() as tx:
            r = tx.one("SELECT version, text, applied_at FROM policies ORDER BY applied_at DESC "
                       "LIMIT 1")
        assert r is not None
        self._policy_seen = float(r["applied_at"])
        if r["version"] == self.policy.version:
            return False
        self.policy = Policy.from_text(r["text"], source=f"policy {r['version']}")
        return True

    # -- live updates ------------------------------------------------------------------------

    def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                  kinds: set[str] | None = None, owner: str | None = None,
                  where: Callable[[Message], bool] | None = None) -> Subscription:
        """A live stream of decisions, revocations, outcomes, context changes and claims.
        ``owner`` (who opened it) counts it against that principal's bound of open streams;
        ``where`` filters further, before the reader is woken."""
        return self.bus.subscribe(agent=agent, customer=customer, kinds=kinds, owner=owner,
                                  where=where)


def _touch(customer: str, t: dict[str, Any]) -> Touch:
    return Touch(id=t["id"], decision_id=t["decision_id"], customer=customer, agent=t["agent"],
                 channel=t["channel"], intent=t["intent"], action=t["action"], at=t["at"],
                 status=TouchStatus(t["status"]), status_reason=t.get("status_reason"))


__all__ = ["EVENT_TYPES", "Accord", "AccordError", "new_id"]
