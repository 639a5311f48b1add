"""The coordination failures the gate exists to prevent, one test each (issue: the gate)."""

from __future__ import annotations

import pytest

from accord import Accord, Conflict, Forbidden, IdempotencyConflict, InvalidInput, StaleVersion
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY, T0, Clock

HOUR = 3600.0
DAY = 86400.0


def test_signal_collision_lets_only_churn_guard_through(acc: Accord, clock: Clock) -> None:
    churn = acc.propose("churn-guard", "c1", channel="email", intent="retain")
    clock.advance(600)
    upsell = acc.propose("upsell", "c1", channel="email", intent="upsell")
    clock.advance(600)
    reengage = acc.propose("reengage", "c1", channel="email", intent="reactivate")

    assert [d.outcome.value for d in (churn, upsell, reengage)] == ["go", "stop", "stop"]
    for loser in (upsell, reengage):
        rules = {r.rule for r in loser.reasons}
        assert "mixed-signals" in rules
        conflict = next(r for r in loser.reasons if r.rule == "mixed-signals")
        assert "churn-guard" in conflict.message and "precedence" in conflict.message
        assert loser.touch_id is None


def test_higher_precedence_preempts_a_pending_lower_touch(acc: Accord, clock: Clock) -> None:
    with acc.subscribe(agent="upsell", kinds={"revocation"}) as inbox:
        # due beyond the commit horizon: a go that near would be final
        upsell = acc.propose("upsell", "c1", channel="email", intent="upsell",
                             at=clock() + 3 * HOUR)
        assert upsell.go
        clock.advance(HOUR)
        churn = acc.propose("churn-guard", "c1", channel="email", intent="retain")

        assert churn.go
        assert churn.preempted == [upsell.touch_id]
        assert acc.touch(upsell.touch_id).status.value == "revoked"
        notice = inbox.get(timeout=1)
    assert notice is not None and notice["touch_id"] == upsell.touch_id
    assert "churn-guard" in notice["why"]


def test_executed_lower_touch_is_not_preempted(acc: Accord, clock: Clock) -> None:
    upsell = acc.propose("upsell", "c1", channel="email", intent="upsell")
    acc.report_outcome(upsell.touch_id, "executed")
    clock.advance(HOUR)
    churn = acc.propose("churn-guard", "c1", channel="email", intent="retain")
    assert churn.outcome.value == "defer"  # the message went out: caps still hold
    assert churn.preempted == []


def test_purchase_stops_reengagement(acc: Accord, clock: Clock) -> None:
    acc.record_event("c1", "purchase", data={"value": 120})
    clock.advance(DAY)
    d = acc.propose("reengage", "c1", channel="email", intent="reactivate")
    assert d.outcome.value == "stop"
    assert [r.rule for r in d.reasons] == ["bought-recently"]


def test_purchase_revokes_scheduled_reengagement_in_the_same_transaction(
        acc: Accord, clock: Clock) -> None:
    scheduled = acc.propose("reengage", "c1", channel="email", intent="reactivate",
                            at=T0 + DAY)
    assert scheduled.go
    with acc.subscribe(agent="reengage") as sub:
        event = acc.record_event("c1", "purchase", data={"value": 80})
        assert event.revoked == [scheduled.touch_id]
        touch = acc.touch(scheduled.touch_id)
        assert touch.status.value == "revoked" and "bought-recently" in touch.status_reason
        assert any(m["kind"] == "revocation" for m in sub.drain())
    with pytest.raises(Conflict, match="revoked"):
        acc.report_outcome(scheduled.touch_id, "executed")


@pytest.mark.parametrize("channel", ["email", "all"])
def test_opt_out_stops_every_agent_on_that_channel_from_the_next_proposal(
        acc: Accord, clock: Clock, channel: str) -> None:
    acc.record_event("c1", "opt_out", data={} if channel == "all" else {"channel": channel})
    for agent, intent in [("churn-guard", "retain"), ("upsell", "upsell"),
                          ("email-cadence", "nurture"), ("reengage", "reactivate")]:
        d = acc.propose(agent, "c1", channel="email", intent=intent)
        assert d.outcome.value == "stop", agent
        assert "opted-out" in {r.rule for r in d.reasons}


def test_opt_out_on_one_channel_suggests_an_open_one(acc: Accord) -> None:
    acc.record_event("c1", "opt_out", data={"channel": "email"})
    d = acc.propose("churn-guard", "c1", channel="email", intent="retain")
    assert d.outcome.value == "stop"
    assert d.amend == {"channel": "voice"}
    assert acc.propose("churn-guard", "c1", channel="voice", intent="retain").go


def test_authority_go_flag_approve_and_reject(acc: Accord, clock: Clock) -> None:
    ok = acc.propose("upsell", "c1", channel="email", intent="upsell",
                     offer={"product": "pro", "discount_pct": 10})
    assert ok.go
    big = acc.propose("upsell", "c2", channel="email", intent="upsell",
                      offer={"product": "pro", "discount_pct": 20})
    assert big.outcome.value == "flag"
    assert big.amend["offer"]["discount_pct"] == 15
    assert [d.id for d in acc.approvals()] == [big.id]

    with pytest.raises(Forbidden):
        acc.approve(big.id, reviewer="upsell")
    approved = acc.approve(big.id, reviewer="maria")
    assert approved.go and approved.parent_decision == big.id and approved.touch_id
    assert acc.approvals() == []

    other = acc.propose("upsell", "c3", channel="email", intent="upsell",
                        offer={"product": "pro", "discount_pct": 25})
    rejected = acc.reject(other.id, reviewer="maria", note="too deep")
    assert rejected.outcome.value == "stop" and "too deep" in rejected.reasons[0].message
    with pytest.raises(Conflict):
        acc.approve(other.id, reviewer="maria")


def test_approval_rechecks_the_context_as_it_is_then(acc: Accord) -> None:
    big = acc.propose("upsell", "c1", channel="email", intent="upsell",
                      offer={"product": "pro", "discount_pct": 20})
    acc.record_event("c1", "opt_out", data={"channel": "all"})
    after = acc.approve(big.id, reviewer="maria")
    assert after.outcome.value == "stop"
    assert "opted-out" in {r.rule for r in after.reasons}


def test_a_renewal_belongs_to_churn_guard_and_other_seats_outbound_touches_need_a_human(
        acc: Accord) -> None:
    acc.record_event("c1", "stage_changed", data={"stage": "renewal"})
    for agent, intent in [("upsell", "upsell"), ("email-cadence", "nurture")]:
        d = acc.propose(agent, "c1", channel="email", intent=intent)
        assert d.outcome.value == "flag"
        assert "renewal-needs-human" in {r.rule for r in d.reasons}
    acc.record_event("c2", "stage_changed", data={"stage": "renewal"})
    owner = acc.propose("churn-guard", "c2", channel="email", intent="retain")
    assert owner.go, owner
    support = acc.propose("support", "c1", channel="email", intent="support")
    assert support.go  # replies to the customer's own request are not outbound


def test_open_ticket_defers_until_48h_after_it_and_closing_lifts_it(
        acc: Accord, clock: Clock) -> None:
    acc.record_event("c1", "ticket_opened", at=T0)
    clock.advance(5 * HOUR)
    d = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    assert d.outcome.value == "defer"
    assert d.retry_at is not None and d.retry_at.timestamp() == T0 + 48 * HOUR
    assert acc.propose("support", "c1", channel="email", intent="support").go
    acc.record_event("c1", "ticket_closed")
    assert acc.propose("email-cadence", "c1", channel="email", intent="nurture").go


def test_winback_is_stopped_after_a_sales_touch(acc: Accord, clock: Clock) -> None:
    sales = acc.propose("upsell", "c1", channel="email", intent="upsell")
    acc.report_outcome(sales.touch_id, "executed")
    clock.advance(3 * HOUR)
    d = acc.propose("support", "c1", channel="email", intent="winback")
    assert d.outcome.value == "stop"
    assert "no-winback-after-sales" in {r.rule for r in d.reasons}
    clock.advance(DAY)
    assert "no-winback-after-sales" not in {
        r.rule for r in acc.propose("support", "c1", channel="email", intent="winback").reasons}


def test_daily_cap_defers_until_the_window_frees(acc: Accord, clock: Clock) -> None:
    first = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    clock.advance(2 * HOUR)
    second = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    assert first.go and second.outcome.value == "defer"
    assert {r.rule for r in second.reasons} == {"daily-cap"}
    assert second.retry_at is not None and second.retry_at.timestamp() == T0 + 24 * HOUR
    retry = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                        at=second.retry_at)
    assert retry.go


def test_spacing_between_different_agents_defers_to_the_gap(acc: Accord, clock: Clock) -> None:
    sent = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    acc.report_outcome(sent.touch_id, "executed")  # pending, upsell would pre-empt it
    clock.advance(30 * HOUR)  # the daily cap has cleared; the 48h gap has not
    d = acc.propose("scheduler", "c1", channel="email", intent="schedule")
    assert d.go  # scheduling is exempt from spacing in the example policy
    d = acc.propose("upsell", "c1", channel="email", intent="upsell")
    assert d.outcome.value == "defer" and {r.rule for r in d.reasons} == {"agent-gap"}
    assert d.retry_at is not None and d.retry_at.timestamp() == T0 + 48 * HOUR


def test_weekly_and_sms_caps_hold_across_agents(acc: Accord, clock: Clock) -> None:
    sms = acc.propose("reengage", "c1", channel="sms", intent="reactivate")
    acc.report_outcome(sms.touch_id, "executed")
    clock.advance(3 * DAY)
    d = acc.propose("support", "c1", channel="sms", intent="winback")
    assert d.outcome.value == "defer" and "sms-weekly" in {r.rule for r in d.reasons}
    assert d.retry_at is not None and d.retry_at.timestamp() == T0 + 7 * DAY

    for agent, intent in [("email-cadence", "nurture"), ("email-cadence", "nurture")]:
        clock.advance(DAY + 1)
        t = acc.propose(agent, "c1", channel="email", intent=intent)
        assert t.go
        acc.report_outcome(t.touch_id, "executed")
    clock.advance(DAY + 1)
    fourth = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    assert fourth.outcome.value == "defer" and "weekly-cap" in {r.rule for r in fourth.reasons}
    assert fourth.retry_at is not None and fourth.retry_at.timestamp() == T0 + 7 * DAY


def test_a_pending_touch_never_reported_expires_after_its_lease(acc: Accord,
                                                                clock: Clock) -> None:
    acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    clock.advance(25 * 3600)
    assert acc.propose("email-cadence", "c1", channel="email", intent="nurture").go


def test_contradictory_offer_is_stopped_naming_the_earlier_one(acc: Accord,
                                                               clock: Clock) -> None:
    first = acc.propose("upsell", "c1", channel="email", intent="upsell",
                        offer={"product": "X", "discount_pct": 10, "valid_for": "14d"})
    assert first.go
    clock.advance(3 * DAY)
    later = acc.propose("churn-guard", "c1", channel="email", intent="retain",
                        offer={"product": "X", "discount_pct": 20})
    commitment = next(r for r in later.reasons if r.rule == "commitment")
    assert later.outcome.value == "stop"
    assert first.id in commitment.message and "upsell" in commitment.message
    assert later.amend["offer"]["discount_pct"] == 10
    clock.advance(12 * DAY)
    expired = acc.propose("churn-guard", "c1", channel="email", intent="retain",
                          offer={"product": "X", "discount_pct": 20})
    assert "commitment" not in {r.rule for r in expired.reasons}


def test_daily_budget_stops_the_agent_and_records_an_incident(acc: Accord,
                                                              clock: Clock) -> None:
    for i in range(4):
        assert acc.propose("reengage", f"c{i}", channel="email", intent="reactivate",
                           cost={"usd": 12.0}).go
    over = acc.propose("reengage", "c9", channel="email", intent="reactivate", cost=12.0)
    assert over.outcome.value == "stop" and {r.rule for r in over.reasons} == {"budget"}
    incidents = [e for e in acc.iter_ledger() if e.kind == "incident"]
    assert [e.body["rule"] for e in incidents] == ["budget"] and incidents[0].ref == over.id
    clock.advance(DAY)
    assert acc.propose("reengage", "c9", channel="email", intent="reactivate", cost=12.0).go


def test_trace_ceiling_stops_a_runaway_chain(tmp_path, clock: Clock) -> None:
    text = EXAMPLE_POLICY.read_text().replace("max_depth: 20", "max_depth: 3")
    with Accord.open(tmp_path / "a.db", policy=Policy.from_text(text), clock=clock) as acc:
        outcomes = []
        for i in range(5):
            clock.advance(60)
            outcomes.append(acc.propose("support", f"c{i}", channel="email", intent="support",
                                        trace_id="loop-1", cost=0.5).outcome.value)
        assert outcomes == ["go", "go", "go", "stop", "stop"]
        assert any(e.kind == "incident" and e.body["rule"] == "trace-ceiling"
                   for e in acc.trace("loop-1"))


def test_same_idempotency_key_returns_the_same_decision_and_changes_nothing(
        acc: Accord) -> None:
    a = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                    idempotency_key="k1")
    entries = len(list(acc.iter_ledger()))
    b = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                    idempotency_key="k1")
    assert a == b
    assert len(list(acc.iter_ledger())) == entries
    with pytest.raises(IdempotencyConflict):
        acc.propose("email-cadence", "c1", channel="sms", intent="nurture",
                    idempotency_key="k1")


@pytest.mark.parametrize(("agent", "channel", "intent"), [
    ("upsell", "sms", "upsell"), ("upsell", "email", "reactivate"),
    ("lead-scoring", "email", "score"), ("nobody", "email", "nurture")])
def test_outside_the_mandate_is_stopped(acc: Accord, agent: str, channel: str,
                                        intent: str) -> None:
    d = acc.propose(agent, "c1", channel=channel, intent=intent)
    assert d.outcome.value == "stop"
    assert {r.rule for r in d.reasons} & {"mandate", "seat"}


def test_shadow_rule_is_recorded_but_does_not_decide(acc: Accord) -> None:
    acc.update_context("c1", {"tier": "vip"}, expected_version=0)
    d = acc.propose("churn-guard", "c1", channel="voice", intent="retain")
    assert d.go
    assert [r.rule for r in d.shadow] == ["vip-voice-only-by-humans"]
    entry = next(e for e in acc.iter_ledger() if e.ref == d.id)
    assert entry.body["shadow"][0]["rule"] == "vip-voice-only-by-humans"


def test_defer_suggests_the_time_that_would_pass(acc: Accord, clock: Clock) -> None:
    acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    d = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    assert d.amend["at"] == "2026-11-24T09:00:00Z"


def test_stale_context_write_is_refused_never_merged(acc: Accord) -> None:
    ctx = acc.update_context("c1", {"churn_risk": 0.4}, expected_version=0,
                             agent="churn-guard")
    assert ctx.version == 1 and ctx.provenance["churn_risk"].by == "agent:churn-guard"
    with pytest.raises(StaleVersion) as info:
        acc.update_context("c1", {"churn_risk": 0.9}, expected_version=0, agent="churn-guard")
    assert info.value.current_version == 1
    assert acc.context("c1").fields == {"churn_risk": 0.4}


def test_agents_write_and_read_only_their_granted_fields(acc: Accord) -> None:
    with pytest.raises(Forbidden, match="lead_score"):
        acc.update_context("c1", {"lead_score": 90}, expected_version=0, agent="upsell")
    acc.update_context("c1", {"lead_score": 90}, expected_version=0, agent="lead-scoring")
    assert acc.context("c1", agent="upsell").fields == {"lead_score": 90}


def test_context_records_which_event_set_each_field(acc: Accord) -> None:
    e = acc.record_event("c1", "purchase", data={"value": 10})
    ctx = acc.context("c1")
    assert ctx.provenance["last_purchase_at"].by == f"event:purchase:{e.id}"
    assert ctx.fields["stage"] == "customer"


def test_claim_by_a_higher_seat_defers_lower_ones_until_it_expires(acc: Accord,
                                                                   clock: Clock) -> None:
    acc.claim("churn-guard", "c1", "retention watch", until=T0 + 3 * DAY)
    d = acc.propose("upsell", "c1", channel="email", intent="upsell")
    assert d.outcome.value == "defer" and d.retry_at.timestamp() == T0 + 3 * DAY
    assert acc.propose("churn-guard", "c1", channel="email", intent="retain").go
    acc.release("churn-guard", "c1")
    clock.advance(8 * DAY)
    assert acc.propose("upsell", "c1", channel="email", intent="upsell").go


def test_bad_input_says_what_and_where(acc: Accord) -> None:
    with pytest.raises(InvalidInput) as info:
        acc.propose("upsell", "c1", channel="email", intent="upsell",
                    offer={"discount_pct": 150})
    assert info.value.where == "offer.discount_pct"
    with pytest.raises(InvalidInput, match="timestamp"):
        acc.propose("upsell", "c1", channel="email", intent="upsell", at="next tuesday")


def test_everything_survives_a_restart(tmp_path, clock: Clock, policy: Policy) -> None:
    with Accord.open(tmp_path / "a.db", policy=policy, clock=clock) as acc:
        go = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
        acc.record_event("c1", "opt_out", data={"channel": "sms"})
    with Accord.open(tmp_path / "a.db", policy=policy, clock=clock) as acc:
        assert acc.touch(go.touch_id).status.value == "pending"
        assert acc.context("c1").fields["opt_outs"] == ["sms"]
        assert acc.propose("email-cadence", "c1", channel="email",
                           intent="nurture").outcome.value == "defer"
        assert acc.verify_ledger().ok


def test_trace_rebuilds_the_chain_in_order(acc: Accord, clock: Clock) -> None:
    up = acc.propose("upsell", "c1", channel="email", intent="upsell", trace_id="tr",
                     offer={"product": "pro", "discount_pct": 20})
    acc.approve(up.id, reviewer="maria")
    clock.advance(60)
    acc.propose("scheduler", "c1", channel="email", intent="schedule", trace_id="tr",
                parent_id=up.id)
    kinds = [e.kind for e in acc.trace("tr")]
    assert kinds == ["decision", "approval", "decision", "decision"]


def test_executing_an_expired_touch_is_refused(acc: Accord, clock: Clock) -> None:
    d = acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    clock.advance(25 * HOUR)
    with pytest.raises(Conflict, match="expired"):
        acc.report_outcome(d.touch_id, "executed")


@pytest.mark.parametrize("data", [{"x": 2**70}, {"x": "\udb2b"}])
def test_event_data_json_cannot_hold_is_refused_naming_data(acc: Accord, data: dict) -> None:
    with pytest.raises(InvalidInput) as info:
        acc.record_event("c1", "reply", data=data)
    assert info.value.where == "data" and "64 bits" in (info.value.hint or "")
    assert list(acc.iter_ledger()) == []


def test_control_characters_in_ids_are_refused(acc: Accord) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        acc.propose("upsell", "c\x001", channel="email", intent="upsell")
    with pytest.raises(InvalidInput, match="control characters"):
        acc.record_event("c\x001", "reply")


def test_an_approved_proposal_preempts_what_it_outranks_like_any_go(acc: Accord) -> None:
    # found by the store's state machine: an approval must not slip past the daily cap
    flagged = acc.propose("upsell", "c1", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 20})
    nurture = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                          at=T0 + 3 * HOUR)  # beyond the commit horizon: not yet final
    approved = acc.approve(flagged.id, reviewer="maria")
    assert approved.go and approved.preempted == [nurture.touch_id]
    assert acc.touch(nurture.touch_id).status.value == "revoked"
    assert approved.amend == {}


def test_a_cap_counts_touches_already_scheduled_after_the_proposal(acc: Accord) -> None:
    for day in (1, 2, 3):  # three touches scheduled in the coming week
        d = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                        at=T0 + day * DAY + 60)
        assert d.go
        acc.report_outcome(d.touch_id, "executed")
    now = acc.propose("email-cadence", "c1", channel="email", intent="nurture", at=T0)
    assert now.outcome.value == "defer"
    assert "weekly-cap" in {r.rule for r in now.reasons}
