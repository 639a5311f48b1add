"""Amends are offered as decisions: a proposal that accepts a variant gets a go with exactly the
variant the rules allow, and the touch, the commitment and the answer carry it (issue 13,
Build item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord import Accord, InvalidInput
from accord.gate import Snapshot, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY, T0, Clock

TEXT = EXAMPLE_POLICY.read_text(encoding="utf-8")


def with_limit(limit: float) -> Policy:
    assert "authority: {max_discount_pct: 15}" in TEXT  # the upsell seat's
    return Policy.from_text(TEXT.replace("authority: {max_discount_pct: 15}",
                                         f"authority: {{max_discount_pct: {limit}}}"))


def own_offer(choice: str) -> Policy:
    return Policy.from_text(TEXT.replace("  on_contradiction: stop",
                                         f"  on_contradiction: stop\n  own_offer: {choice}"))


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(0, 100), asked=st.integers(0, 100))
def test_an_accepted_discount_goes_capped_at_the_largest_the_seat_may_offer(
        limit: int, asked: int) -> None:
    policy = with_limit(limit)
    p = Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                 offer={"product": "pro", "discount_pct": asked}, accept=["offer"])
    v = evaluate(p, T0, Snapshot("c1"), policy)
    assert v.outcome is Outcome.GO
    if asked <= limit:
        assert v.applied == {} and v.proposal is None  # nothing to change
    else:
        assert v.applied == {"offer": {"product": "pro", "discount_pct": limit}}
        assert v.proposal is not None and v.proposal.offer is not None
        assert v.proposal.offer.discount_pct == limit  # the largest allowed ≤ asked
        assert any(r.rule == "amend" and f"discount_pct={limit}" in r.message
                   for r in v.reasons)


@settings(max_examples=30, deadline=None)
@given(limit=st.integers(0, 99), extra=st.integers(1, 50))
def test_a_proposal_that_accepts_nothing_keeps_the_amend_as_a_hint(limit: int, extra: int) -> None:
    p = Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                 offer={"product": "pro", "discount_pct": min(100, limit + extra)})
    v = evaluate(p, T0, Snapshot("c1"), with_limit(limit))
    assert v.outcome is Outcome.FLAG and v.applied == {}
    assert v.amend["offer"]["discount_pct"] == limit


def test_an_accepted_channel_goes_on_the_channel_the_customer_allows(any_acc: Accord) -> None:
    any_acc.record_event("c1", "opt_out", data={"channel": "email"})
    d = any_acc.propose("reengage", "c1", channel="email", intent="reactivate")
    assert d.outcome is Outcome.STOP and d.amend.get("channel") == "sms"  # still a hint
    d = any_acc.submit(Proposal(agent="reengage", customer="c2", channel="email",
                                intent="reactivate", accept=["channel"]))
    assert d.go and d.applied == {}  # c2 did not opt out: nothing to change
    any_acc.record_event("c3", "opt_out", data={"channel": "email"})
    d = any_acc.submit(Proposal(agent="reengage", customer="c3", channel="email",
                                intent="reactivate", accept=["channel", "offer"]))
    assert d.go and d.applied == {"channel": "sms"} and d.proposal.channel == "sms"
    assert d.touch_id is not None and any_acc.touch(d.touch_id).channel == "sms"


def test_an_amended_offer_is_the_commitment_later_offers_are_held_to(any_acc: Accord) -> None:
    d = any_acc.submit(Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                                offer={"product": "pro", "discount_pct": 25},
                                accept=["offer"]))
    assert d.go and d.applied == {"offer": {"product": "pro", "discount_pct": 15.0}}
    assert d.proposal.offer is not None and d.proposal.offer.discount_pct == 15
    assert d.touch_id is not None and d.approval is None  # no reviewer was needed
    # the commitment is the applied 15 %, not the 25 % asked: churn-guard's 15 % agrees
    later = any_acc.propose("churn-guard", "c1", channel="email", intent="retain",
                            offer={"product": "pro", "discount_pct": 20}, at=T0 + 8 * 86400)
    assert later.outcome is Outcome.STOP and later.amend["offer"]["discount_pct"] == 15


def test_an_accepting_seat_honours_the_earlier_offer(any_acc: Accord, clock: Clock) -> None:
    first = any_acc.propose("churn-guard", "c1", channel="email", intent="retain",
                            offer={"product": "pro", "discount_pct": 10})
    assert first.go
    clock.advance(8 * 86400)  # past the caps and conflict windows, inside the commitment
    d = any_acc.submit(Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                                offer={"product": "pro", "discount_pct": 12},
                                accept=["offer"]))
    assert d.go and d.applied["offer"]["discount_pct"] == 10
    assert [r.rule for r in d.reasons if r.effect is not Outcome.GO] == ["commitment"]
    assert "would be stop" in next(r for r in d.reasons if r.rule == "amend").message


@pytest.mark.parametrize("choice", ["honour", "update", "stop"])
def test_a_seat_updating_its_own_offer_follows_the_policy_choice(
        tmp_path: Path, clock: Clock, choice: str) -> None:
    with Accord.open(tmp_path / "a.db", policy=own_offer(choice), clock=clock) as acc:
        assert acc.propose("upsell", "c1", channel="email", intent="upsell",
                           offer={"product": "pro", "discount_pct": 10}).go
        clock.advance(8 * 86400)
        d = acc.propose("upsell", "c1", channel="email", intent="upsell",
                        offer={"product": "pro", "discount_pct": 12})
    if choice == "update":
        assert d.go and not any(r.rule == "commitment" for r in d.reasons)
    elif choice == "honour":
        assert d.outcome is Outcome.STOP and d.amend["offer"]["discount_pct"] == 10
    else:
        assert d.outcome is Outcome.STOP and "offer" not in d.amend
        assert "own_offer: stop" in d.reasons[0].message


def test_an_accepted_time_goes_at_the_moment_the_windows_clear(any_acc: Accord) -> None:
    assert any_acc.propose("upsell", "c1", channel="email", intent="upsell").go
    asked = any_acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    assert asked.outcome is Outcome.DEFER and asked.retry_at is not None
    d = any_acc.submit(Proposal(agent="email-cadence", customer="c1", channel="email",
                                intent="nurture", accept=["time"]))
    assert d.go and d.applied == {"at": asked.amend["at"]}
    assert d.touch_id is not None and any_acc.touch(d.touch_id).at == asked.retry_at
    assert d.at == asked.retry_at  # the decision is about the variant's time


def test_a_delivery_keeps_its_channel_even_when_another_is_accepted(any_acc: Accord) -> None:
    any_acc.record_event("c1", "opt_out", data={"channel": "email"})
    d = any_acc.submit(Proposal(agent="reengage", customer="c1", channel="email",
                                intent="reactivate", accept=["channel"],
                                deliver={"to": "c1@example.com", "subject": "hi", "text": "x"}))
    assert d.outcome is Outcome.STOP and d.applied == {} and d.amend["channel"] == "sms"


def test_an_unknown_variant_to_accept_is_refused_naming_the_field_and_the_choices(
        acc: Accord) -> None:
    with pytest.raises(InvalidInput) as err:
        acc.propose("upsell", "c1", channel="email", intent="upsell", accept=["price"])
    assert err.value.where == "accept.0"
    assert "'offer', 'channel' or 'time'" in str(err.value)
