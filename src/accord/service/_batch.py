"""``Accord.propose_batch``: a planning round decided together, one transaction per customer.

For each customer the round's proposals are read against one snapshot under the customer's
lock; ``arbitration.plan`` picks the highest-value admissible set and the order; then the real
gate decides every proposal in that order in the same transaction, so every rule still applies
and each loser carries the rule that stopped it plus an ``arbitration`` reason naming the
proposals of the round that took the slot. Customers are independent: each commits on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accord import gate
from accord._errors import InvalidInput, field_errors
from accord.model import Decision, Outcome, Proposal, Reason
from accord.service import _arbitration as arbitration
from accord.service import _holdout

if TYPE_CHECKING:
    from accord.service._decisions import Decisions

MAX_BATCH = 100
"""The most proposals one ``propose_batch`` call (or ``POST /v1/proposals:batch``) takes."""
MAX_KEY = 190
"""A batch's idempotency key becomes ``<key>/<position>`` on each proposal (at most 200)."""


def validated(items: Sequence[Proposal | dict[str, Any]],
              idempotency_key: str | None) -> list[Proposal]:
    """Every item as a ``Proposal``, or one ``InvalidInput`` naming the first bad item."""
    if isinstance(items, str | bytes | dict) or not isinstance(items, Sequence):
        raise InvalidInput("proposals must be a list", where="proposals",
                           hint="send a list of proposals, one per planned touch")
    if not 1 <= len(items) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH} proposals, not {len(items)}",
                           where="proposals", hint=f"split the round into batches of at most "
                                                   f"{MAX_BATCH}; customers are independent")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_KEY:
        raise InvalidInput(f"a batch's idempotency key must be 1 to {MAX_KEY} characters",
                           where="idempotency_key", hint="use a UUID per planning round")
    out: list[Proposal] = []
    keys: dict[tuple[str, str, str], int] = {}
    for i, item in enumerate(items):
        try:
            p = item if isinstance(item, Proposal) else Proposal.model_validate(item)
        except ValidationError as exc:
            found = field_errors(exc.errors(), prefix=("proposals", i))
            raise InvalidInput(f"proposal {i}: {found[0]['message']}", where=found[0]["field"],
                               hint="see the proposal fields in docs/api.md",
                               extra={"problems": [f"{e['field']}: {e['message']}"
                                                   for e in found]}) from None
        if p.value is not None and not math.isfinite(p.value):
            raise InvalidInput(f"proposal {i}: value must be a finite number",
                               where=f"proposals.{i}.value",
                               hint="send the expected value in your currency, e.g. 42.5")
        if idempotency_key is not None and p.idempotency_key is None:
            p = p.model_copy(update={"idempotency_key": f"{idempotency_key}/{i}"})
        if p.idempotency_key is not None:
            earlier = keys.setdefault((p.customer, p.agent, p.idempotency_key), i)
            if earlier != i:
                raise InvalidInput(f"proposal {i} repeats the idempotency key of proposal "
                                   f"{earlier} for the same agent and customer",
                                   where=f"proposals.{i}.idempotency_key",
                                   hint="give each proposal of a round its own key, or none")
        out.append(p)
    return out


def propose_batch(decider: Decisions, proposals: list[Proposal]) -> list[Decision]:
    by_customer: dict[str, list[int]] = {}
    for i, p in enumerate(proposals):
        by_customer.setdefault(p.customer, []).append(i)
    decider.follow_applied()
    clock = decider.rt.clock
    answers: dict[int, Decision] = {}
    for customer, indices in by_customer.items():
        with decider.rt.write(customer) as w:
            policy = decider.policy(w)
            todo: list[arbitration.Candidate] = []
            hashes: dict[int, str] = {}
            for i in indices:
                p = proposals[i]
                hashes[i] = decider.request_hash(p)
                seen = decider.seen(w.tx, p, hashes[i], f"proposals.{i}.idempotency_key",
                                    "a retried batch must send the same proposals in the same "
                                    "order; use a new key for a new round"
                                    ) if p.idempotency_key else None
                if seen is not None:
                    answers[i] = seen
                    continue
                at = p.at.timestamp() if p.at else clock()
                todo.append(arbitration.Candidate(i, p, at, decider.snapshot(w, policy, p, at)))
            if not todo:
                continue
            chosen = arbitration.plan(todo, policy)
            cands = {c.index: c for c in todo}
            won: dict[str, Decision] = {}  # touch id -> the round's go that holds it
            for i in chosen.order:
                c = cands[i]
                snap = decider.snapshot(w, policy, c.proposal, c.at)
                v = _holdout.decide(c.proposal.customer, gate.evaluate(
                    c.proposal, c.at, snap, policy, hold=set(won), now=clock()), policy)
                if v.outcome is not Outcome.GO:
                    _explain(v, c.proposal, won)
                p, at = c.proposal, c.at
                if v.proposal is not None:  # an accepted amend: the variant is what goes
                    p = v.proposal
                    at = p.at.timestamp() if p.at else at
                d = decider.record(w, policy, p, at, v, hashes[i], None)
                if d.touch_id is not None:
                    won[d.touch_id] = d
                answers[i] = d
    return [answers[i] for i in range(len(proposals))]


def _explain(v: gate.Verdict, p: Proposal, won: dict[str, Decision]) -> None:
    """Name the round's goes whose touches block ``p``, beside the rule that blocks it."""
    blockers = {t for r in v.reasons for t in r.refs.get("touches", ()) if t in won}
    if not blockers:
        return
    took = [won[t] for t in sorted(blockers, key=lambda t: list(won).index(t))]
    mine = arbitration.score(p)
    theirs = sum(arbitration.score(d.proposal) for d in took)
    names = ", ".join(f"{d.proposal.agent} ({d.proposal.intent}, score "
                      f"{arbitration.score(d.proposal):g}, decision {d.id})" for d in took)
    if len(took) == 1:
        worth = f"score {theirs:g} against this proposal's {mine:g}"
    else:
        worth = f"worth {theirs:g} together against this proposal's {mine:g}"
    v.reasons.append(Reason.model_construct(
        rule="arbitration", effect=v.outcome, shadow=False,
        message=f"this planning round gave the slot to {names}: {worth} "
                "(score = value × uplift; precedence, then submission order, break ties)",
        refs={"decisions": [d.id for d in took], "score": mine, "winning_score": theirs}))
