"""A stopped proposal is offered the channel the whole gate would let through, without deciding
the whole proposal again for each channel (issue 12, item 1)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.gate import Snapshot, TouchView, cel_fields, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY, T0
from tests.gate.test_busy_customers import AGENTS, CHANNELS, INTENTS, cap_st, window_policy
from tests.gate.test_busy_customers import touch_st as window_touch_st

HOUR = 3600.0
POLICY = Policy.load(EXAMPLE_POLICY)
SEATS = [(a, i) for a, s in POLICY.agents.items() for i in s.mandate.intents
         if len(s.mandate.channels) > 1]
touch_st = st.builds(
    lambda i, who, ch, hours, status: TouchView(f"t{i}", who, ch, POLICY.agents[who].mandate
                                                .intents[0], T0 + hours * HOUR, status, i),
    st.integers(0, 10**6), st.sampled_from(sorted(POLICY.agents)),
    st.sampled_from(["email", "sms", "voice"]), st.integers(-24 * 8, 24 * 3),
    st.sampled_from(["executed", "pending"]))
context_st = st.fixed_dictionaries({}, optional={
    "opt_outs": st.lists(st.sampled_from(["email", "sms", "voice", "all"]), max_size=2),
    "tier": st.sampled_from(["vip", "gold"]), "stage": st.sampled_from(["renewal", "active"])})


def reference(p: Proposal, snap: Snapshot) -> str | None:
    """The channel as it was found: the whole gate, again, for each channel of the mandate."""
    seat = POLICY.agents[p.agent]
    for channel in seat.mandate.channels:
        if channel != p.channel and evaluate(p.model_copy(update={"channel": channel}), T0,
                                             snap, POLICY, _amend=False).outcome \
                is not Outcome.STOP:
            return channel
    return None


@settings(max_examples=300, deadline=None)
@given(touches=st.lists(touch_st, max_size=8, unique_by=lambda t: t.id),
       context=context_st, seat=st.sampled_from(SEATS), channel=st.sampled_from(
           ["email", "sms", "voice", "in_app"]))
def test_the_suggested_channel_is_the_one_the_whole_gate_would_let_through(
        touches: list[TouchView], context: dict[str, Any], seat: tuple[str, str],
        channel: str) -> None:
    snap = Snapshot("c", cel_fields(context), 1, touches)
    p = Proposal(agent=seat[0], customer="c", intent=seat[1], channel=channel)
    v = evaluate(p, T0, snap, POLICY)
    if v.outcome is not Outcome.STOP:
        return
    if all(r.rule in POLICY.channel_rules for r in v.reasons if r.effect is Outcome.STOP):
        assert v.amend.get("channel") == reference(p, snap)
    else:
        assert "channel" not in v.amend


def test_an_opted_out_channel_is_stopped_with_the_other_channel_suggested() -> None:
    snap = Snapshot("c", cel_fields({"opt_outs": ["sms"]}), 1, [])
    p = Proposal(agent="reengage", customer="c", intent="reactivate", channel="sms")
    v = evaluate(p, T0, snap, POLICY)
    assert v.outcome is Outcome.STOP and v.amend["channel"] == "email"


@settings(max_examples=300, deadline=None)
@given(caps=st.lists(cap_st, min_size=1, max_size=3), gap=st.sampled_from([None, 2, 24]),
       raw=st.lists(window_touch_st, max_size=30),
       who=st.tuples(st.sampled_from(AGENTS), st.sampled_from(INTENTS),
                     st.sampled_from(CHANNELS)))
def test_windows_that_stop_on_one_channel_only_are_weighed_for_the_suggestion(
        caps: list[tuple[int, int, bool, str]], gap: int | None,
        raw: list[tuple[str, str, str, int]], who: tuple[str, str, str]) -> None:
    text = window_policy([], gap, None).text.replace("caps: []\n", "caps:\n" + "".join(
        f"  - {{id: cap{i}, limit: {limit}, per: {hours}h, effect: {effect}, "
        f"channels: [{'sms' if sms else 'email'}]}}\n"
        for i, (limit, hours, sms, effect) in enumerate(caps)))
    policy = Policy.from_text(text, source="windows.yaml")
    touches = [TouchView(f"t{i}", a, ch, intent, T0 + quarter * HOUR / 4, "executed", i)
               for i, (a, intent, ch, quarter) in enumerate(raw)]
    snap = Snapshot("c", {}, 1, touches)
    p = Proposal(agent=who[0], customer="c", channel=who[2], intent=who[1])
    v = evaluate(p, T0, snap, policy)
    if v.outcome is not Outcome.STOP:
        return
    other = "email" if p.channel == "sms" else "sms"
    whole = evaluate(p.model_copy(update={"channel": other}), T0, snap, policy, _amend=False)
    assert v.amend.get("channel") == (other if whole.outcome is not Outcome.STOP else None)


def test_a_channel_that_its_own_cap_would_stop_is_not_suggested() -> None:
    caps = ("caps:\n  - {id: no-sms, limit: 0, per: 1h, effect: stop, channels: [sms]}\n"
            "  - {id: no-email, limit: 0, per: 1h, effect: stop, channels: [email]}\n")
    policy = Policy.from_text(window_policy([], None, None).text.replace("caps: []\n", caps),
                              source="windows.yaml")
    p = Proposal(agent="a1", customer="c", channel="sms", intent="nurture")
    v = evaluate(p, T0, Snapshot("c", {}, 1, []), policy)
    assert v.outcome is Outcome.STOP and [r.rule for r in v.reasons] == ["no-sms"]
    assert "channel" not in v.amend
    open_email = Policy.from_text(policy.text.replace("limit: 0, per: 1h, effect: stop, "
                                                      "channels: [email]", "limit: 1, per: 1h, "
                                                      "effect: stop, channels: [email]"),
                                  source="windows.yaml")
    assert evaluate(p, T0, Snapshot("c", {}, 1, []), open_email).amend["channel"] == "email"
