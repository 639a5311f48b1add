"""The one service. Every interface (in-process, HTTP, MCP, A2A, CLI, web) is a shell over it.

``Accord`` owns its parts and delegates to them; none of them inherits from another:

- ``Decisions`` (``_decisions.py``): proposals, batches, touches, approvals, kept proposals —
  where a proposal is decided;
- ``ContextEvents`` (``_context.py``): events, context writes, claims, grants;
- ``Seats`` and ``Handoffs`` (``_fleet.py``): the seat registry and structured handoffs;
- ``LedgerView`` (``_ledger.py``): reading, verifying and checkpointing the ledger;
- ``CustomerData`` (``_erasure.py``): export and erasure.

They share one ``Runtime`` (``_runtime.py``): the store, clock, bus, telemetry, the policy in
force (``PolicyHolder``, ``_policy.py``) and the write unit every write goes through (lock the
customer, write rows and ledger entries, save the chain, commit, then publish).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accord._errors import AccordError, InvalidInput, invalid_input
from accord._ids import new_id
from accord._time import Clock, system_clock
from accord.fleet._handoff import Handoff
from accord.fleet._seats import Seat, SeatChange
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
from accord.service import _batch, _policy
from accord.service._context import EVENT_TYPES, ContextEvents
from accord.service._decisions import Decisions
from accord.service._erasure import CustomerData
from accord.service._fleet import Handoffs, Seats
from accord.service._ledger import LedgerView
from accord.service._policy import PolicyHolder
from accord.service._runtime import Runtime, Write
from accord.store import CustomerRow, Store, Tx, open_store
from accord.store.bus import Bus, Message, Subscription
from accord.telemetry import OFF, Telemetry

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from accord.lift import LiftReport


class Accord:
    """Accord embedded in your process. ``Accord.open("accord.db", policy="accord.yaml")``."""

    def __init__(self, store: Store, policy: Policy, *, clock: Clock | None = None,
                 telemetry: Telemetry = OFF) -> None:
        holder = PolicyHolder(policy)
        holder.first_seen(store)  # applies made before now are not news: the file given wins
        self._rt = rt = Runtime(store, clock or system_clock, store.make_bus(), telemetry,
                                holder)
        self._decisions = Decisions(rt)
        self._context = ContextEvents(rt, self._decisions)
        self._seats = Seats(rt, self._decisions)
        self._handoffs = Handoffs(rt)
        self._ledger_view = LedgerView(rt)
        self._customer_data = CustomerData(rt)

    @classmethod
    def open(cls, db: str | Path = "accord.db", policy: str | Path | Policy = "accord.yaml", *,
             clock: Clock | None = None, telemetry: Telemetry = OFF,
             **store_options: Any) -> Accord:
        pol = policy if isinstance(policy, Policy) else Policy.load(policy)
        return cls(open_store(str(db), **store_options), pol, clock=clock, telemetry=telemetry)

    def close(self) -> None:
        self._rt.store.close()

    def __enter__(self) -> Accord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the parts share (one place; set the clock or bus here and every part sees it) --

    @property
    def store(self) -> Store:
        return self._rt.store

    @property
    def clock(self) -> Clock:
        return self._rt.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._rt.clock = clock

    @property
    def bus(self) -> Bus:
        return self._rt.bus

    @bus.setter
    def bus(self, bus: Bus) -> None:
        self._rt.bus = bus

    @property
    def telemetry(self) -> Telemetry:
        """Spans and metrics per decision (``accord.telemetry``)."""
        return self._rt.telemetry

    @telemetry.setter
    def telemetry(self, telemetry: Telemetry) -> None:
        self._rt.telemetry = telemetry

    @property
    def policy(self) -> Policy:
        """The policy in force as last read: the file (or the applied text) with the seat
        registry's changes, carrying the file's version."""
        return self._rt.policies.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        """Put a new file in force in this process only (``apply_policy`` stores it for every
        replica)."""
        self._rt.policies.adopt(policy)

    @property
    def handoff_kinds(self) -> dict[str, dict[str, Any]]:
        """The policy's handoff kinds: ``{kind: {"schema": {...}, "sla": "4h"}}``."""
        return self._handoffs.kinds

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
            raise invalid_input(exc) from None
        return self._decisions.submit(p)

    def submit(self, p: Proposal, *, decision_id: str | None = None) -> Decision:
        """Decide a validated ``Proposal`` (what ``propose`` and the HTTP API call)."""
        return self._decisions.submit(p, decision_id=decision_id)

    def propose_batch(self, proposals: Sequence[Proposal | dict[str, Any]], *,
                      idempotency_key: str | None = None) -> list[Decision]:
        """Decide a planning round together: for each customer, the contact budget goes to the
        highest-value set of the round's proposals that the rules allow (score = value ×
        uplift; precedence, then submission order, break ties; see ``accord.service._arbitration``).
        Answers come in submission order. With ``idempotency_key`` (at most 190 characters)
        a retry of the same batch gets the same answers and changes nothing."""
        return _batch.propose_batch(self._decisions,
                                    _batch.validated(proposals, idempotency_key))

    def report_outcome(self, touch_id: str, status: str, *, agent: str | None = None,
                       detail: str | None = None) -> Touch:
        """The agent says what became of a go: executed, failed or cancelled."""
        return self._decisions.report_outcome(touch_id, status, agent=agent, detail=detail)

    def touch(self, touch_id: str) -> Touch:
        return self._decisions.touch(touch_id)

    def _settle_touch(self, tx: Tx, row: CustomerRow, t: dict[str, Any], status: str,
                      detail: str | None, published: list[Message]) -> dict[str, Any]:
        """Move a pending touch to its outcome in the caller's transaction (the dispatcher's,
        which holds the customer's lock)."""
        return self._decisions.settle_touch(Write(tx, row, published), t, status, detail)

    # -- approvals ---------------------------------------------------------------------------

    def approvals(self) -> list[Decision]:
        """Flagged decisions waiting for a human, oldest first."""
        return self._decisions.approvals()

    def decision(self, decision_id: str) -> Decision:
        """The decision, checked against its ledger entry (a forged row raises
        ``LedgerMismatch``)."""
        return self._decisions.decision(decision_id)

    def approve(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        """Approve a flagged proposal: the gate re-runs on the context as it is now, with the
        human standing in for every flag; stops and defers still hold."""
        return self._decisions.review(decision_id, reviewer, True, note)

    def reject(self, decision_id: str, *, reviewer: str, note: str | None = None) -> Decision:
        return self._decisions.review(decision_id, reviewer, False, note)

    def _review(self, decision_id: str, reviewer: str, approve: bool, note: str | None, *,
                new_id_: str | None = None) -> Decision:
        """An approval or rejection with a given follow-up id (what ``policy replay`` does)."""
        return self._decisions.review(decision_id, reviewer, approve, note, new_id_=new_id_)

    # -- kept proposals (on_defer: reschedule) -----------------------------------------------

    def scheduled(self, scheduled_id: str) -> Scheduled:
        """A kept proposal: its status, next re-decision, deadline and the decisions it
        produced (``Decision.follow_up`` names it)."""
        return self._decisions.scheduled(scheduled_id)

    def cancel_scheduled(self, scheduled_id: str, *, agent: str | None = None) -> Scheduled:
        """Stop re-deciding a kept proposal (an agent only its own). Cancelling a cancelled
        one changes nothing; one that already ended is a conflict that says how."""
        return self._decisions.cancel_scheduled(scheduled_id, agent=agent)

    def _redecide(self, customer: str, scheduled_id: str) -> str | None:
        """Re-decide one due kept proposal (what a scheduler pass calls)."""
        return self._decisions.redecide(customer, scheduled_id)

    # -- policy ------------------------------------------------------------------------------

    def apply_policy(self, text: str, *, by: str, source: str = "accord.yaml") -> Policy:
        """Validate and put a new policy in force without a restart. It is stored, so every
        replica picks it up (``refresh_policy``), and recorded in the fleet chain."""
        return _policy.apply(self._rt, text, by=by, source=source)

    def refresh_policy(self) -> bool:
        """Adopt a policy another replica applied since this one started or last looked
        (checked at most once a second by ``submit``); True if it changed."""
        return self._rt.policies.refresh(self._rt.store)

    def _refresh_seats(self) -> None:
        """Read the seat registry now (each decision does so in its own transaction)."""
        self._rt.policies.read(self._rt.store)

    # -- live updates ------------------------------------------------------------------------

    def subscribe(self, *, agent: str | None = None, customer: str | None = None,
                  kinds: set[str] | None = None, owner: str | None = None,
                  where: Callable[[Message], bool] | None = None) -> Subscription:
        """A live stream of decisions, revocations, outcomes, context changes and claims.
        ``owner`` (who opened it) counts it against that principal's bound of open streams;
        ``where`` filters further, before the reader is woken."""
        return self._rt.bus.subscribe(agent=agent, customer=customer, kinds=kinds, owner=owner,
                                      where=where)

    # -- events, context and claims ----------------------------------------------------------

    def record_event(self, customer: str, type: str, *, at: Any = None,
                     data: dict[str, Any] | None = None, source: str | None = None,
                     event_id: str | None = None, check_grant: bool = True) -> Event:
        """A fact about a customer. Reducers update the context and, in the same transaction,
        every pending touch the new state forbids is revoked. When ``source`` is a seat, the
        type must be in its ``context.events`` grant (``check_grant=False`` only to re-record
        a fact the ledger already holds, as ``policy replay`` does)."""
        return self._context.record_event(customer, type, at=at, data=data, source=source,
                                          event_id=event_id, check_grant=check_grant)

    def event_grant(self, agent: str) -> tuple[str, ...]:
        """The event types ``agent`` may record (``"*"``: every type)."""
        return self._context.event_grant(agent)

    def context(self, customer: str, *, agent: str | None = None) -> Context:
        """The customer's context; with ``agent``, only the fields its grant may read."""
        return self._context.context(customer, agent=agent)

    def readable(self, agent: str | None) -> frozenset[str] | None:
        """The context fields ``agent`` may read; None: all of them (an admin, a reviewer, or
        a seat whose grant reads ``"*"``)."""
        return self._context.readable(agent)

    def visible(self, ctx: Context, agent: str | None) -> Context:
        """``ctx`` as ``agent`` may see it: only the fields (and their provenance) its grant
        may read. Every interface that shows a context to an agent goes through this."""
        return self._context.visible(ctx, agent)

    def update_context(self, customer: str, changes: dict[str, Any], *, expected_version: int,
                       agent: str | None = None, actor: str | None = None) -> Context:
        """Write fields, naming the version you read. A stale version is refused, never merged.
        A ``None`` value removes the field."""
        return self._context.update_context(customer, changes, expected_version=expected_version,
                                            agent=agent, actor=actor)

    def claim(self, agent: str, customer: str, purpose: str, until: Any) -> Claim:
        """Declare interest in a customer; lower-precedence agents defer until it expires."""
        return self._context.claim(agent, customer, purpose, until)

    def release(self, agent: str, customer: str) -> int:
        """Release the agent's open claims on the customer; returns how many were released."""
        return self._context.release(agent, customer)

    # -- ledger ------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        """Every ledger entry of a trace, in order: proposals and decisions, the events and
        revocations they caused, approvals and outcomes. A decision id names its trace."""
        return self._ledger_view.trace(trace_id)

    def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        return self._ledger_view.ledger(after=after, limit=limit)

    def ledger_feed(self, after: str | None = None, *, limit: int = 1000) -> LedgerPage:
        """The entries committed after ``after`` (a cursor from an earlier page; none for the
        start), oldest first. Unlike ``ledger(after=seq)``, resuming from ``cursor`` never
        misses an entry whose lower ``seq`` committed late (PostgreSQL allocates ``seq`` at
        insert, not at commit); an entry still being committed waits for the next page."""
        return self._ledger_view.ledger_feed(after, limit=limit)

    def iter_ledger(self, batch: int = 5000) -> Iterator[LedgerEntry]:
        return self._ledger_view.iter_ledger(batch)

    def verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                      key: Ed25519PublicKey | None = None) -> LedgerReport:
        """Recompute every chain; name each entry whose hash or link does not hold.

        Pages and chain heads are read in one snapshot (one read transaction: REPEATABLE READ
        on PostgreSQL), so entries committed while verifying are either wholly seen with
        their head or not at all — a live writer never looks like tampering.

        With a ``checkpoint`` (and the public ``key`` it was signed with) it also proves the
        ledger is a consistent extension of it: no checkpointed entry removed, rewritten,
        reordered or replaced, even by someone who recomputed every hash and head."""
        return self._ledger_view.verify_ledger(checkpoint=checkpoint, key=key)

    def ledger_heads(self) -> dict[str, tuple[int, str]]:
        """What a checkpoint signs: each chain's last position and entry hash, read in one
        consistent snapshot. Refuses a ledger that does not verify: a checkpoint vouches for
        what it covers. A remote client signs these locally, so the key never travels."""
        return self._ledger_view.ledger_heads()

    def checkpoint(self, key: Ed25519PrivateKey) -> Checkpoint:
        """Sign the chain heads of one consistent snapshot (``ledger_heads``)."""
        return self._ledger_view.checkpoint(key)

    def fleet_entry(self, kind: str, body: dict[str, Any], *, agent: str | None = None) -> None:
        """Record a fleet-level fact (seat change, policy apply, refusal) in the fleet chain."""
        return self._ledger_view.fleet_entry(kind, body, agent=agent)

    # -- seats -------------------------------------------------------------------------------

    def seats(self) -> list[Seat]:
        """Every seat (active, paused and retired), as file and registry combine."""
        return self._seats.seats()

    def seat(self, agent_id: str) -> Seat:
        return self._seats.seat(agent_id)

    def seats_removed_from_file(self) -> list[str]:
        """Seats the registry learned from the file that the file no longer declares."""
        return self._seats.seats_removed_from_file()

    def register_seat(self, spec: dict[str, Any], *, by: str) -> SeatChange:
        """Add a seat at run time. The registry owns it from now on (the file does not)."""
        return self._seats.register_seat(spec, by=by)

    def update_seat(self, agent_id: str, changes: dict[str, Any], *, by: str) -> SeatChange:
        """Change a seat's spec (top-level keys replace). For a file seat the change holds until
        the next policy apply; status changes go through pause / resume / retire."""
        return self._seats.update_seat(agent_id, changes, by=by)

    def pause_seat(self, agent_id: str, *, by: str, reason: str) -> SeatChange:
        """The kill switch: the seat's next proposal is stopped on every replica, and its pending
        touches are revoked now, each with a notice on the bus."""
        if not reason:
            raise InvalidInput("say why the seat is paused", where="reason")
        return self._seats.set_status(agent_id, "paused", by, reason)

    def resume_seat(self, agent_id: str, *, by: str) -> SeatChange:
        return self._seats.set_status(agent_id, "active", by, None)

    def retire_seat(self, agent_id: str, *, by: str) -> SeatChange:
        """Retire for good; ``orphaned`` names every intent, channel and handoff kind left
        without an owner."""
        return self._seats.set_status(agent_id, "retired", by, None)

    # -- handoffs ----------------------------------------------------------------------------

    def handoff(self, sender: str, receiver: str, kind: str, payload: dict[str, Any], *,
                customer: str | None = None, artifacts: list[dict[str, Any]] | None = None,
                trace_id: str | None = None, parent_id: str | None = None,
                via: str | None = None) -> Handoff:
        """Send a structured handoff to ``receiver``'s inbox. Returns the Handoff."""
        return self._handoffs.handoff(sender, receiver, kind, payload, customer=customer,
                                      artifacts=artifacts, trace_id=trace_id, parent_id=parent_id,
                                      via=via)

    def inbox(self, agent: str, *, include_acked: bool = False) -> list[Handoff]:
        """The handoffs waiting for ``agent`` (marks them read)."""
        return self._handoffs.inbox(agent, include_acked=include_acked)

    def handoffs(self) -> list[Handoff]:
        """Every handoff, oldest first (the audit's view; marks nothing read)."""
        return self._handoffs.handoffs()

    def ack_handoff(self, handoff_id: str, *, agent: str) -> Handoff:
        """The receiver acknowledges a handoff."""
        return self._handoffs.ack_handoff(handoff_id, agent=agent)

    # -- a customer's data -------------------------------------------------------------------

    def export_customer(self, customer: str) -> dict[str, Any]:
        """Everything Accord keeps about ``customer``, as JSON-ready data: the context with
        its provenance, events, decisions, touches, claims, commitments, handoffs and the
        customer's ledger chain (personal values put back unless erased)."""
        return self._customer_data.export_customer(customer)

    def erase_customer(self, customer: str, *, by: str) -> dict[str, Any]:
        """Erase ``customer``'s personal data: the context (fields and provenance), event
        data, handoff payloads and every personal value in ledger bodies. The chain still
        verifies (it holds only salted digests of those values) and records the erasure
        itself: who, when and how much. Decisions and touches keep their routing facts
        (agent, channel, intent, times), which are the record, not personal values."""
        return self._customer_data.erase_customer(customer, by=by)

    # -- reports -----------------------------------------------------------------------------

    def lift_report(self, *, since: Any = None, until: Any = None) -> LiftReport:
        """Treated customers against the policy's holdout over ``[since, until)``
        (docs/lift.md)."""
        from accord.lift import lift_report

        return lift_report(self, since=since, until=until)


__all__ = ["EVENT_TYPES", "Accord", "AccordError", "new_id"]
