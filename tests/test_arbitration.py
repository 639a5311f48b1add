"""The planner picks the highest-value admissible set: checked against a brute-force search."""

from __future__ import annotations

import itertools
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.gate import Snapshot, TouchView, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from accord.service import _arbitration as arbitration
from accord.service._arbitration import Candidate, plan, score
from tests.conftest import T0

HOUR = 3600.0
SENDERS = [("churn", "retain", "email"), ("churn", "retain", "sms"), ("sales", "upsell", "email"),
           ("winback", "reactivate", "sms"), ("winback", "reactivate", "email"),
           ("nurture", "nurture", "email")]


@cache
def policy(limit: int, per_h: int, sms_limit: int, spacing: bool, conflicts: bool) -> Policy:
    """Caps of 1-2, spacing and conflicts on or off. The lease outlasts the proposals' spread:
    the gate counts a pending touch only until its lease ends (seen from the proposal's own
    time), so with a shorter one "admissible" would depend on the order of deciding."""
    text = f"""
version: 1
channels: [email, sms]
intents: [retain, upsell, reactivate, nurture]
agents:
  - {{id: churn, owner: cs, mandate: {{intents: [retain], channels: [email, sms]}}}}
  - {{id: sales, owner: sales, mandate: {{intents: [upsell], channels: [email]}}}}
  - {{id: winback, owner: mkt, mandate: {{intents: [reactivate], channels: [email, sms]}}}}
  - {{id: nurture, owner: mkt, mandate: {{intents: [nurture], channels: [email]}}}}
precedence: [churn, sales, winback, nurture]
settings: {{touch_lease: 7d}}
caps:
  - {{id: cap, limit: {limit}, per: {per_h}h}}
  - {{id: sms-cap, limit: {sms_limit}, per: 7d, channels: [sms]}}
"""
    if spacing:
        text += "spacing:\n  - {id: gap, min_gap: 48h, between: different_agents}\n"
    if conflicts:
        text += ("conflicts:\n  - {id: mixed, intents: [retain, upsell, reactivate], "
                 "within: 72h}\n")
    return Policy.from_text(text)


policies = st.builds(policy, st.integers(1, 2), st.sampled_from([24, 72]), st.integers(1, 2),
                     st.booleans(), st.booleans())
proposals = st.builds(
    lambda who, hours, value, uplift: (Proposal(agent=who[0], customer="c", channel=who[2],
                                                intent=who[1], value=value, uplift=uplift),
                                       T0 + hours * HOUR),
    st.sampled_from(SENDERS), st.integers(0, 96), st.integers(0, 20),
    st.sampled_from([None, 0.0, 0.25, 0.5, 1.0]))
history = st.lists(st.builds(
    lambda i, who, hours: TouchView(f"old{i}", who[0], who[2], who[1], T0 + hours * HOUR,
                                    "executed"),
    st.integers(0, 99), st.sampled_from(SENDERS), st.integers(-72, 0)),
    max_size=2, unique_by=lambda t: t.id)


def candidates(items: list[tuple[Proposal, float]], old: list[TouchView]) -> list[Candidate]:
    return [Candidate(i, p, at, Snapshot("c", {}, 1, list(old))) for i, (p, at) in
            enumerate(items)]


def admissible(members: list[Candidate], pol: Policy) -> bool:
    """Every member goes with every other member's touch pending (order plays no part)."""
    for c in members:
        others = [m for m in members if m is not c]
        touches = c.snapshot.touches + [
            TouchView(f"m{m.index}", m.proposal.agent, m.proposal.channel, m.proposal.intent,
                      m.at, "pending") for m in others]
        snap = Snapshot("c", {}, 1, touches)
        verdict = evaluate(c.proposal, c.at, snap, pol, hold={f"m{m.index}" for m in others})
        if verdict.outcome is not Outcome.GO:
            return False
    return True


def brute_force(cands: list[Candidate], pol: Policy) -> float:
    best = 0.0
    for size in range(1, len(cands) + 1):
        for members in itertools.combinations(cands, size):
            if admissible(list(members), pol):
                best = max(best, sum(score(m.proposal) for m in members))
    return best


@settings(max_examples=400, deadline=None)
@given(policies, st.lists(proposals, min_size=1, max_size=5), history)
def test_the_plan_is_worth_the_brute_force_optimum_and_every_chosen_proposal_goes(
        pol: Policy, items: list[tuple[Proposal, float]], old: list[TouchView]) -> None:
    cands = candidates(items, old)
    chosen = plan(cands, pol)
    assert chosen.exact
    assert chosen.total == brute_force(cands, pol)
    assert admissible([cands[i] for i in chosen.chosen], pol)
    assert sorted(chosen.order) == list(range(len(cands)))


@settings(max_examples=200, deadline=None)
@given(policies, st.lists(proposals, min_size=1, max_size=5), history)
def test_the_greedy_fallback_gives_an_admissible_set_no_single_proposal_can_join(
        pol: Policy, items: list[tuple[Proposal, float]], old: list[TouchView]) -> None:
    """Past ``EXACT_UP_TO`` the plan is greedy in rank order: the set it picks is admissible
    and maximal (no proposal it left out could still go beside it)."""
    cands = candidates(items, old)
    greedy = plan(cands, pol, exact_up_to=0)
    assert not greedy.exact
    members = [cands[i] for i in greedy.chosen]
    assert admissible(members, pol)
    for i in greedy.rest:
        assert not admissible([*members, cands[i]], pol)


def test_two_proposals_worth_more_together_beat_one_worth_more_alone() -> None:
    """The case where greedy by value is wrong: 10 alone, or 6 + 6 spaced two days apart."""
    pol = policy(2, 72, 1, True, False)
    items = [(Proposal(agent="churn", customer="c", channel="email", intent="retain", value=10),
              T0 + 24 * HOUR),
             (Proposal(agent="nurture", customer="c", channel="email", intent="nurture",
                       value=6), T0),
             (Proposal(agent="nurture", customer="c", channel="email", intent="nurture",
                       value=6), T0 + 48 * HOUR)]
    cands = candidates(items, [])
    assert plan(cands, pol, exact_up_to=0).chosen == [0]
    best = plan(cands, pol)
    assert best.chosen == [1, 2]
    assert best.total == 12
    assert best.rest == [0]


def test_equal_scores_go_to_the_earlier_seat_in_precedence_then_the_earlier_submission() -> None:
    pol = policy(1, 24, 1, False, False)
    same = [(Proposal(agent="nurture", customer="c", channel="email", intent="nurture",
                      value=5), T0),
            (Proposal(agent="sales", customer="c", channel="email", intent="upsell", value=5),
             T0),
            (Proposal(agent="sales", customer="c", channel="email", intent="upsell", value=5),
             T0)]
    assert plan(candidates(same, []), pol).chosen == [1]
    assert plan(candidates(same[::2], []), pol).chosen == [1]  # sales, now second, still wins


def test_value_times_uplift_is_the_score_and_missing_parts_count_as_nothing_lost() -> None:
    def p(**kw: float | None) -> Proposal:
        return Proposal(agent="a", customer="c", channel="email", intent="x", **kw)

    assert score(p(value=80, uplift=0.25)) == 20
    assert score(p(value=80)) == 80
    assert score(p()) == 0
    assert arbitration.EXACT_UP_TO >= 5


def test_a_proposal_worth_less_than_nothing_is_never_chosen_but_still_ranked_last() -> None:
    pol = policy(2, 72, 1, False, False)
    items = [(Proposal(agent="sales", customer="c", channel="email", intent="upsell",
                       value=-3), T0),
             (Proposal(agent="nurture", customer="c", channel="email", intent="nurture"), T0)]
    chosen = plan(candidates(items, []), pol)
    assert chosen.chosen == [1]
    assert chosen.order == [1, 0]
