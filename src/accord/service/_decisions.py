"""Decisions: where a proposal is decided. Every decision takes one path —
``Decisions.submit`` → the write unit (lock the customer) → ``decide`` (``snapshot``, the pure
``gate.evaluate``, the holdout) → ``record`` (the decision, its touch, commitment, spend, the
ledger entry) → commit → publish — and so do an approval's re-check and a kept proposal's
re-decision. Touches (outcomes, revocations), approvals and kept proposals live here too:
each is a decision's consequence, written in the transaction of the customer concerned.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

import orjson

from accord import gate, ledger
from accord._errors import Conflict, Forbidden, IdempotencyConflict, InvalidInput, NotFound
from accord._ids import new_id
from accord._json import dumps
from accord._time import iso, parse_duration, to_datetime
from accord.model import Decision, Outcome, Proposal, Reason, Scheduled, Touch, TouchStatus
from accord.policy import Policy
from accord.service import _holdout
from accord.service import _keeping as keeping
from accord.store import _claims as claims
from accord.store import _commitments as commitments
from accord.store import _decisions as decisions
from accord.store import _outbox as outbox
from accord.store import _rows as rows
from accord.store import _scheduled as kept
from accord.store import _spend as spend
from accord.store import _touches as touches

if TYPE_CHECKING:
    from accord.service._runtime import Runtime, Write
    from accord.store import Tx


def day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def request_hash(p: Proposal) -> str:
    """What an idempotency key is bound to: the proposal as sent ("" without a key)."""
    return hashlib.sha256(p.model_dump_json().encode()).hexdigest() if p.idempotency_key else ""


class Decisions:
    request_hash = staticmethod(request_hash)

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- the policy a decision runs under ----------------------------------------------------

    def policy(self, w: Write) -> Policy:
        """The policy in force, read once for this decision (a paused seat stops on its next
        proposal, on every replica); its text is recorded once in ``policies``."""
        pol = self.rt.policies.current(w.tx)
        version = self.rt.policies.record(w.tx, pol)
        if version is not None:
            w.after_commit.append(lambda: self.rt.policies.recorded(version))
        return pol

    # -- proposals ---------------------------------------------------------------------------

    def follow_applied(self) -> None:
        """Adopt a policy another replica applied, checked at most once a second (before
        the write: it reads in a transaction of its own)."""
        if self.rt.policies.due():
            self.rt.policies.refresh(self.rt.store)

    def submit(self, p: Proposal, *, decision_id: str | None = None) -> Decision:
        rt = self.rt
        self.follow_applied()
        at = p.at.timestamp() if p.at else rt.clock()
        rhash = request_hash(p)
        # the recorder's phases: lock, snapshot, evaluate, write, then commit (until it exits)
        with rt.decision(p) as (w, ph):
            pol = self.policy(w)
            ph.mark("lock")
            if p.idempotency_key:
                replayed = self.seen(w.tx, p, rhash, "idempotency_key",
                                     "use a new key for a new proposal; retry with the same body")
                if replayed is not None:
                    ph.done(replayed, replayed=True)
                    return replayed
            decision = self.decide(w, pol, p, at, rhash, decision_id, phases=ph)
            w.save()  # a decision never changes the context itself: the chain head only
            ph.mark("write")
            ph.done(decision)
        return decision

    @staticmethod
    def seen(tx: Tx, p: Proposal, rhash: str, where: str, hint: str) -> Decision | None:
        """The decision already made for ``p``'s idempotency key, or None; a conflict if the
        key was used for another proposal."""
        assert p.idempotency_key is not None
        found = decisions.by_idempotency_key(tx, p.customer, p.agent, p.idempotency_key)
        if found is None:
            return None
        if found["request_hash"] != rhash:
            raise IdempotencyConflict(f"idempotency key {p.idempotency_key!r} was used for a "
                                      "different proposal", where=where, hint=hint)
        return Decision.model_validate_json(found["body"])

    def decide(self, w: Write, pol: Policy, p: Proposal, at: float, rhash: str,
               decision_id: str | None, *, parent_decision: str | None = None,
               approval: str | None = None, scheduled: dict[str, Any] | None = None,
               phases: Any = None) -> Decision:
        """Snapshot, gate, record: the one path every decision takes, in the caller's write
        (a proposal, an approval's re-check, a scheduled re-decision)."""
        snap = self.snapshot(w, pol, p, at)
        if phases is not None:
            phases.mark("snapshot")
        v = _holdout.decide(p.customer, gate.evaluate(p, at, snap, pol, approval=approval,
                                                      now=self.rt.clock()), pol)
        if phases is not None:
            phases.mark("evaluate")
        if v.proposal is not None:  # an accepted amend: the variant is what goes
            v, p, at = self._variant(w, pol, p, at, v)
        return self.record(w, pol, p, at, v, rhash, decision_id,
                           parent_decision=parent_decision, approval=approval,
                           scheduled=scheduled)

    def _variant(self, w: Write, pol: Policy, p: Proposal, at: float,
                 v: gate.Verdict) -> tuple[gate.Verdict, Proposal, float]:
        """The verdict, proposal and time to record for an accepted amend. A later time was
        decided on the history read around the asked one: it is decided once more on the
        history around the new time, and the asked proposal's verdict stands if it fails."""
        assert v.proposal is not None
        variant = v.proposal
        new_at = variant.at.timestamp() if variant.at else at
        if new_at == at:
            return v, variant, at
        again = gate.evaluate(variant, new_at, self.snapshot(w, pol, variant, new_at), pol,
                              now=self.rt.clock(), _amend=False)
        if again.outcome is not Outcome.GO:
            assert v.asked is not None
            return v.asked, p, at
        return v, variant, new_at

    def snapshot(self, w: Write, pol: Policy, p: Proposal, at: float) -> gate.Snapshot:
        """What the gate may look at: the context, live touches near ``at``, claims,
        commitments on the offered product, the seat's spend today and the trace's totals."""
        tx, row = w.tx, w.row
        horizon = pol.horizon + pol.spec.settings.touch_lease
        near = rows.touches_near(tx, p.customer, at - horizon, at + horizon, at=at,
                                 limit=gate.SNAPSHOT_TOUCHES + 1)
        truncated = len(near) > gate.SNAPSHOT_TOUCHES
        if truncated:
            near = sorted(sorted(near, key=lambda r: abs(r["at"] - at))[:gate.SNAPSHOT_TOUCHES],
                          key=lambda r: r["at"])
        seen = [gate.TouchView(r["id"], r["agent"], r["channel"], r["intent"], r["at"],
                               r["status"], r["seq"]) for r in near]
        held = [gate.ClaimView(r["id"], r["agent"], r["purpose"], r["until"])
                for r in claims.active(tx, p.customer, at)]
        offered = []
        if p.offer is not None and p.offer.product is not None:
            offered = [gate.CommitmentView(r["id"], r["agent"], r["product"],
                                           json.loads(r["offer"]), r["valid_until"],
                                           r["decision_id"])
                       for r in commitments.active(tx, p.customer, p.offer.product, at)]
        snap = gate.Snapshot(p.customer, gate.cel_fields(row.fields), row.version, seen,
                             held, offered, truncated=truncated)
        seat = pol.agents.get(p.agent)
        if seat is not None and (seat.budget.daily_usd is not None
                                 or seat.budget.daily_tokens is not None):
            snap.agent_spend_usd, snap.agent_spend_tokens = spend.of_day(tx, p.agent, day(at))
        if p.trace_id is not None:
            t = spend.of_trace(tx, p.trace_id)
            if t is not None:
                snap.trace_cost_usd, snap.trace_tokens, snap.trace_count = (
                    float(t["usd"]), int(t["tokens"]), int(t["count"]))
        return snap

    def record(self, w: Write, pol: Policy, p: Proposal, at: float, v: gate.Verdict,
               rhash: str, decision_id: str | None, *, parent_decision: str | None = None,
               approval: str | None = None,
               scheduled: dict[str, Any] | None = None) -> Decision:
        """Write the decision and what it holds (touch, delivery, commitment, spend), revoke
        what it pre-empts, append its ledger entry and queue its message."""
        tx, row = w.tx, w.row
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
        now = self.rt.clock()
        # Every field is built here from validated parts, so validating again is skipped.
        decision = Decision.model_construct(
            id=did, outcome=v.outcome, reasons=v.reasons,
            retry_at=None if v.retry_at is None else to_datetime(v.retry_at),
            touch_id=touch_id, context_version=row.version,
            policy_version=pol.version, amend=v.amend, shadow=v.shadow,
            preempted=v.preempt, applied=v.applied,
            approval="pending" if v.outcome is Outcome.FLAG else None,
            parent_decision=parent_decision, follow_up=follow_up, at=to_datetime(at),
            decided_at=to_datetime(now), proposal=p)
        body = decision.model_dump_json()
        decisions.insert(tx, p.customer, did, p.agent, v.outcome.value, decision.approval, at,
                         p.trace_id, p.idempotency_key if parent_decision is None else None,
                         rhash, body)
        agents = {p.agent}
        for tid in v.preempt:
            agents |= self.revoke(w, tid, f"pre-empted by {p.agent} (decision {did})", at,
                                  trace_id=p.trace_id, parent_id=did)
        usd = p.cost.usd if p.cost else 0.0
        tokens = p.cost.tokens if p.cost else 0
        if touch_id is not None:
            touches.insert(tx, p.customer, touch_id, did, p.agent, p.channel, p.intent,
                           p.action, at, row.chain_seq + 1, p.model_dump_json())
            if p.deliver is not None:
                outbox.enqueue(tx, p.customer, touch_id, p.agent, p.channel, p.deliver.to,
                               p.deliver.model_dump(exclude_none=True), at, now)
            if p.offer is not None and p.offer.product is not None:
                if pol.spec.commitments.own_offer == "update":  # replaces its own
                    commitments.supersede(tx, p.customer, p.agent, p.offer.product)
                valid = pol.spec.commitments.default_valid_for
                if p.offer.valid_for:
                    valid = parse_duration(p.offer.valid_for)
                commitments.insert(tx, p.customer, "c_" + did[2:], p.agent, p.offer.product,
                                   dumps(p.offer.model_dump(exclude_none=True)), at + valid,
                                   did, touch_id)
            if usd or tokens:
                spend.add(tx, p.agent, day(at), p.customer, usd, tokens)
        if named_trace:
            spend.add_to_trace(tx, p.trace_id or "", usd if touch_id else 0.0,
                               tokens if touch_id else 0)
        w.ledger("decision", now, agent=p.agent, trace_id=p.trace_id,
                 parent_id=p.parent_id or parent_decision, ref=did, body=body)
        for incident in sorted(set(v.incidents)):
            w.ledger("incident", now, agent=p.agent, trace_id=p.trace_id, parent_id=did,
                     ref=did, body={"rule": incident, "messages": [
                         r.message for r in v.reasons if r.rule == incident]})
        if scheduled is not None:
            keeping.advance(tx, row, scheduled, decision, now, w.published)
        elif follow_up is not None:
            keeping.keep(tx, row, follow_up, decision, approval, now, w.published)
        if self.rt.bus.active:  # serializing for nobody costs a tenth of a decision
            w.publish({"kind": "decision", "customer": p.customer, "agents": sorted(agents),
                       "decision": decision.model_dump(mode="json")})
        return decision

    def revoke(self, w: Write, touch_id: str, why: str, at: float, *,
               trace_id: str | None = None, parent_id: str | None = None,
               reasons: list[Reason] | None = None) -> set[str]:
        """Revoke a pending touch in the caller's write; the agents to tell (none if it was
        not pending any more)."""
        tx, row = w.tx, w.row
        t = touches.get(tx, row.id, touch_id)
        if t is None or t["status"] != "pending":
            return set()
        touches.set_status(tx, row.id, touch_id, "revoked", why)
        commitments.end_with_touch(tx, row.id, touch_id, "revoked")
        outbox.cancel_queued(tx, row.id, touch_id, why)
        body = {"touch_id": touch_id, "agent": t["agent"], "why": why,
                "reasons": [r.model_dump(mode="json") for r in reasons or []]}
        w.ledger("revocation", self.rt.clock(), agent=t["agent"], trace_id=trace_id,
                 parent_id=parent_id, ref=touch_id, body=body)
        w.publish({"kind": "revocation", "customer": row.id, "agents": [t["agent"]],
                   "touch_id": touch_id, "decision_id": t["decision_id"], "why": why,
                   "reasons": body["reasons"], "at": iso(at)})
        return {t["agent"]}

    # -- touches -----------------------------------------------------------------------------

    def report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                       detail: str | None = None) -> Touch:
        if status not in ("executed", "failed", "cancelled"):
            raise InvalidInput(f"status must be executed, failed or cancelled, not {status!r}",
                               where="status")
        with self.rt.store.read() as tx:
            customer = touches.customer_of(tx, touch_id)
        if customer is None:
            raise NotFound(f"no touch {touch_id!r}", where="touch_id")
        with self.rt.write(customer) as w:
            t = touches.get(w.tx, customer, touch_id)
            assert t is not None
            if agent is not None and t["agent"] != agent:
                raise Forbidden(f"touch {touch_id} belongs to {t['agent']}, not {agent}",
                                where="touch_id")
            if t["status"] == status:
                return _touch(customer, t)
            lease_end = t["at"] + self.rt.policies.policy.spec.settings.touch_lease
            if t["status"] == "pending" and status == "executed" and self.rt.clock() > lease_end:
                raise Conflict(f"touch {touch_id} expired at {iso(lease_end)}: its slot was "
                               "released", where="touch_id",
                               hint="do not act on it; propose again", extra={
                                   "touch_status": "expired"})
            if t["status"] != "pending":
                hint = ("do not act on it: " + (t["status_reason"] or "")
                        if t["status"] == "revoked" else None)
                raise Conflict(f"touch {touch_id} is already {t['status']}", where="touch_id",
                               hint=hint, extra={"touch_status": t["status"]})
            t = self.settle_touch(w, t, status, detail)
        return _touch(customer, t)

    def settle_touch(self, w: Write, t: dict[str, Any], status: str,
                     detail: str | None) -> dict[str, Any]:
        """Move a pending touch to its outcome, in the caller's write."""
        row = w.row
        touches.set_status(w.tx, row.id, t["id"], status, detail)
        if status != "executed":
            commitments.end_with_touch(w.tx, row.id, t["id"], status)
        w.ledger("outcome", self.rt.clock(), agent=t["agent"], parent_id=t["decision_id"],
                 ref=t["id"], body={"touch_id": t["id"], "status": status, "detail": detail})
        w.publish({"kind": "outcome", "customer": row.id, "agents": [t["agent"]],
                   "touch_id": t["id"], "status": status})
        return {**t, "status": status, "status_reason": detail}

    def touch(self, touch_id: str) -> Touch:
        with self.rt.store.read() as tx:
            t = touches.find(tx, touch_id)
        if t is None:
            raise NotFound(f"no touch {touch_id!r}", where="touch_id")
        return _touch(t["customer"], t)

    # -- approvals ---------------------------------------------------------------------------

    def approvals(self) -> list[Decision]:
        with self.rt.store.read() as tx:
            bodies = decisions.waiting_for_review(tx)
        return [Decision.model_validate_json(b) for b in bodies]

    def decision(self, decision_id: str) -> Decision:
        with self.rt.store.read() as tx:
            body = decisions.body_of(tx, decision_id)
            if body is None:
                raise NotFound(f"no decision {decision_id!r}", where="decision_id")
            return ledger.checked_decision(tx, decision_id, body)

    def review(self, decision_id: str, reviewer: str, approve: bool,
               note: str | None, *, new_id_: str | None = None) -> Decision:
        """Approve (the gate re-runs, the reviewer standing in for every flag) or reject a
        flagged decision."""
        if not reviewer:
            raise InvalidInput("a reviewer must be named", where="reviewer")
        flagged = self.decision(decision_id)
        p = flagged.proposal
        if reviewer in (p.agent, f"agent:{p.agent}"):
            raise Forbidden(f"{p.agent} cannot approve its own proposal", where="reviewer")
        with self.rt.decision(p) as (w, ph):
            pol = self.policy(w)
            ph.mark("lock")
            state = decisions.approval_of(w.tx, p.customer, decision_id)
            if state != "pending":
                raise Conflict(f"decision {decision_id} is not waiting for approval ({state})",
                               where="decision_id")
            verdict = "approved" if approve else "rejected"
            follow_up = new_id_ or new_id("d")
            decisions.set_approval(w.tx, p.customer, decision_id, verdict,
                                   flagged.model_copy(update={"approval": verdict})
                                   .model_dump_json())
            now = self.rt.clock()
            at = max(p.at.timestamp() if p.at else now, now)
            w.ledger("approval", now, agent=p.agent, trace_id=p.trace_id,
                     parent_id=decision_id, ref=decision_id,
                     body={"reviewer": reviewer, "verdict": verdict, "note": note, "at": at,
                           "decision_id": follow_up})
            again = p.model_copy(update={"at": None})
            if approve:
                decision = self.decide(w, pol, again, at, "", follow_up,
                                       parent_decision=decision_id,
                                       approval=f"approved by {reviewer}"
                                                + (f": {note}" if note else ""))
            else:
                v = gate.Verdict(Outcome.STOP, [Reason(
                    rule="approval", effect=Outcome.STOP,
                    message=f"rejected by {reviewer}" + (f": {note}" if note else ""))])
                decision = self.record(w, pol, again, at, v, "", follow_up,
                                       parent_decision=decision_id)
            w.save()
            ph.mark("write")  # the approval's re-check: lock, write (snapshot and gate), commit
            ph.done(decision)
        return decision

    # -- kept proposals (on_defer: reschedule) -----------------------------------------------

    def scheduled(self, scheduled_id: str) -> Scheduled:
        with self.rt.store.read() as tx:
            r = kept.find(tx, scheduled_id)
        if r is None:
            raise NotFound(f"no scheduled proposal {scheduled_id!r}", where="scheduled_id",
                           hint="use the follow_up of a defer whose proposal asked "
                                "on_defer=reschedule")
        return keeping.view(r)

    def cancel_scheduled(self, scheduled_id: str, *, agent: str | None = None) -> Scheduled:
        customer = self.scheduled(scheduled_id).customer
        with self.rt.write(customer) as w:
            r = kept.get(w.tx, customer, scheduled_id)
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
            r = keeping.end(w.tx, w.row, r, "cancelled", why, self.rt.clock(), w.published)
        return keeping.view(r)

    def redecide(self, customer: str, scheduled_id: str) -> str | None:
        """Re-decide one due kept proposal under its customer's lock (what a scheduler pass
        calls). Returns what became of it (``decided`` or ``lapsed``), or None when it was not
        due any more: another replica got there first, or it was cancelled."""
        with self.rt.write(customer) as w:
            r = kept.get(w.tx, customer, scheduled_id)
            now = self.rt.clock()
            if r is None or r["status"] != "waiting" or r["due_at"] > now:
                return None
            if now > r["deadline"]:
                keeping.end(w.tx, w.row, r, "lapsed", "its deadline passed before it could be "
                            "re-decided", now, w.published)
                return "lapsed"
            pol = self.policy(w)
            chain = orjson.loads(r["decisions"])
            self.decide(w, pol, Proposal.model_validate_json(r["proposal"]), now, "", None,
                        parent_decision=chain[0], approval=r["approval"], scheduled=r)
            return "decided"

    def recheck_kept(self, w: Write, pol: Policy) -> None:
        """After the context changed: a kept proposal the new state stops (an opt-out, a
        purchase) is decided again now, so it ends with that stop instead of waiting for it."""
        row = w.row
        now = self.rt.clock()
        for r in kept.waiting_of(w.tx, row.id):
            if now > r["deadline"]:  # the scheduler's next pass lapses it; decide nothing late
                continue
            p = Proposal.model_validate_json(r["proposal"])
            snap = gate.Snapshot(row.id, gate.cel_fields(row.fields), row.version)
            if gate.evaluate(p, now, snap, pol, context_only=True,
                             approval=r["approval"]).outcome is Outcome.STOP:
                self.decide(w, pol, p, now, "", None,
                            parent_decision=orjson.loads(r["decisions"])[0],
                            approval=r["approval"], scheduled=r)


def _touch(customer: str, t: dict[str, Any]) -> Touch:
    return Touch(id=t["id"], decision_id=t["decision_id"], customer=customer, agent=t["agent"],
                 channel=t["channel"], intent=t["intent"], action=t["action"], at=t["at"],
                 status=TouchStatus(t["status"]), status_reason=t.get("status_reason"))
