"""Arbitration by value: which of one customer's proposals in a planning round get the slots.

Pure, like the gate it calls: no I/O, no clock. The service (``Accord.propose_batch``) hands
``plan`` each proposal of one customer with the snapshot it would be decided against, and then
lets the real gate decide them, in the transaction, in the order the plan returns.

The ranking is the one decisioning engines use::

    score = value × uplift        (value missing → 0; uplift missing → 1)
    order = score descending, then precedence (earlier in ``precedence`` first),
            then submission order

A set of proposals is *admissible* when every member gets go from the gate with all the other
members' touches pending (the round's own goes are never pre-empted by each other). ``plan``
returns the admissible set with the largest total score — exactly, by a branch-and-bound search
over the ranked list, for up to ``EXACT_UP_TO`` proposals of one customer; greedily in rank
order beyond that (an admissible set no left-out proposal could join). Greedy alone is not
optimal: one proposal worth 10 within the agent gap of two others worth 6 each, spaced apart
from each other, would take the slot if the highest score simply went first, though the two
together are worth 12. Among sets of equal score the search prefers the one that includes the
better-ranked proposal (so precedence, then submission order, break ties).
Proposals with a negative score are never chosen; they are decided after the plan, and go only
if the rules still leave room.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from accord import gate
from accord.model import Outcome, Proposal
from accord.policy import Policy

EXACT_UP_TO = 12
"""Proposals of one customer in one round searched exactly; more are planned greedily."""


def score(p: Proposal) -> float:
    """Expected value of ``p``: ``value × uplift`` (value missing → 0, uplift missing → 1)."""
    return (p.value or 0.0) * (1.0 if p.uplift is None else p.uplift)


@dataclass(slots=True)
class Candidate:
    """One proposal of a round: where it stood in the batch, when it would act, and the
    snapshot the gate would see with none of the round's other proposals decided."""

    index: int
    proposal: Proposal
    at: float
    snapshot: gate.Snapshot


@dataclass(slots=True)
class Plan:
    """The chosen set (batch indices, in the order to decide them) and the rest, ranked."""

    chosen: list[int]
    rest: list[int]
    total: float
    exact: bool
    verdicts: dict[int, gate.Verdict] = field(default_factory=dict)

    @property
    def order(self) -> list[int]:
        return self.chosen + self.rest


def ranked(candidates: Sequence[Candidate], policy: Policy) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-score(c.proposal),
                                             policy.rank_of(c.proposal.agent), c.index))


def _touch_id(c: Candidate) -> str:
    return f"batch:{c.index}"


def _with(snap: gate.Snapshot, gone: Sequence[tuple[Candidate, gate.Verdict]],
          p: Proposal, at: float) -> gate.Snapshot:
    """``snap`` as the gate would read it after the round's earlier goes were recorded."""
    if not gone:
        return snap
    revoked = {t for _, v in gone for t in v.preempt}
    touches = [dataclasses.replace(t, status="revoked") if t.id in revoked else t
               for t in snap.touches]
    touches += [gate.TouchView(_touch_id(c), c.proposal.agent, c.proposal.channel,
                               c.proposal.intent, c.at, "pending") for c, _ in gone]
    out = dataclasses.replace(snap, touches=touches, commitments=list(snap.commitments))
    day = time.gmtime(at)[:3]
    for c, _ in gone:
        q = c.proposal
        if q.offer is not None and q.offer.product is not None:
            out.commitments.append(gate.CommitmentView(
                _touch_id(c), q.agent, q.offer.product, q.offer.model_dump(exclude_none=True),
                math.inf, _touch_id(c)))
        usd = q.cost.usd if q.cost else 0.0
        tokens = q.cost.tokens if q.cost else 0
        if q.agent == p.agent and time.gmtime(c.at)[:3] == day:
            out.agent_spend_usd += usd
            out.agent_spend_tokens += tokens
        if q.trace_id is not None and q.trace_id == p.trace_id:
            out.trace_cost_usd += usd
            out.trace_tokens += tokens
            out.trace_count += 1
    return out


def decide(c: Candidate, gone: Sequence[tuple[Candidate, gate.Verdict]],
           policy: Policy) -> gate.Verdict:
    """The gate's verdict on ``c`` once the round's goes in ``gone`` hold their slots."""
    snap = _with(c.snapshot, gone, c.proposal, c.at)
    return gate.evaluate(c.proposal, c.at, snap, policy, hold={_touch_id(g) for g, _ in gone})


def plan(candidates: Sequence[Candidate], policy: Policy, *,
         exact_up_to: int = EXACT_UP_TO) -> Plan:
    """The highest-scoring admissible set of one customer's ``candidates`` (see the module)."""
    order = ranked(candidates, policy)
    scores = [score(c.proposal) for c in order]
    if len(order) > exact_up_to:
        gone: list[tuple[Candidate, gate.Verdict]] = []
        for c, s in zip(order, scores, strict=True):
            if s >= 0:
                v = decide(c, gone, policy)
                if v.outcome is Outcome.GO:
                    gone.append((c, v))
        return _plan(order, gone, exact=False)
    # what the candidates from position i on could add at most
    bound = [0.0] * (len(order) + 1)
    for i in range(len(order) - 1, -1, -1):
        bound[i] = bound[i + 1] + max(scores[i], 0.0)
    best: list[tuple[Candidate, gate.Verdict]] = []
    best_total = -math.inf

    def search(i: int, taken: list[tuple[Candidate, gate.Verdict]], total: float) -> None:
        nonlocal best, best_total
        if total + bound[i] <= best_total:
            return
        if i == len(order):
            best, best_total = list(taken), total
            return
        c = order[i]
        if scores[i] >= 0:
            v = decide(c, taken, policy)
            if v.outcome is Outcome.GO:
                taken.append((c, v))
                search(i + 1, taken, total + scores[i])
                taken.pop()
        search(i + 1, taken, total)

    search(0, [], 0.0)
    return _plan(order, best, exact=True)


def _plan(order: list[Candidate], gone: list[tuple[Candidate, gate.Verdict]], *,
          exact: bool) -> Plan:
    chosen = [c.index for c, _ in gone]
    taken = set(chosen)
    return Plan(chosen, [c.index for c in order if c.index not in taken],
                sum(score(c.proposal) for c, _ in gone), exact, {c.index: v for c, v in gone})


__all__ = ["EXACT_UP_TO", "Candidate", "Plan", "decide", "plan", "ranked", "score"]
