"""Invariants of the gate over random histories (Hypothesis)."""

from __future__ import annotations

import copy
import time
from datetime import datetime, tzinfo
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accord import Accord, gate
from accord.gate import Snapshot, TouchView, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from accord.policy.replay import replay
from tests.conftest import EXAMPLE_POLICY, T0, Clock

HOUR = 3600.0
POLICY = Policy.load(EXAMPLE_POLICY)
SENDERS = [("churn-guard", "retain", "email"), ("upsell", "upsell", "email"),
           ("email-cadence", "nurture", "email"), ("reengage", "reactivate", "sms"),
           ("reengage", "reactivate", "email"), ("support", "winback", "sms")]

touch_st = st.builds(
    lambda i, who, hours, executed: TouchView(
        f"t{i}", who[0], who[2], who[1], T0 + hours * HOUR,
        "executed" if executed else "pending", i),
    st.integers(0, 10**6), st.sampled_from(SENDERS), st.integers(-24 * 10, 24 * 10),
    st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(touch_st, max_size=8, unique_by=lambda t: t.id), st.sampled_from(SENDERS))
def test_a_deferred_proposal_is_not_held_by_any_window_at_its_retry_time(
        touches: list[TouchView], who: tuple[str, str, str]) -> None:
    p = Proposal(agent=who[0], customer="c", channel=who[2], intent=who[1])
    snap = Snapshot("c", {}, 1, touches)
    v = evaluate(p, T0, snap, POLICY)
    assume(v.outcome is Outcome.DEFER)  # Unsatisfiable, not a pass, if the gate never defers
    assert v.retry_at is not None and v.retry_at > T0
    later = evaluate(p, v.retry_at, snap, POLICY)
    assert later.outcome is not Outcome.DEFER, [r.rule for r in later.reasons]


class _NoWallClock(datetime):
    """``datetime`` for the gate module while it decides: asking it the time is a failure."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _NoWallClock:
        raise AssertionError("the gate read the wall clock (datetime.now)")

    @classmethod
    def utcnow(cls) -> _NoWallClock:
        raise AssertionError("the gate read the wall clock (datetime.utcnow)")


def _wall_clock(*_: object) -> float:
    raise AssertionError("the gate read the wall clock (time.time)")


@settings(max_examples=300, deadline=None)
@given(st.lists(touch_st, max_size=8, unique_by=lambda t: t.id), st.sampled_from(SENDERS),
       st.sampled_from([{}, {"opt_outs": ["sms"]}, {"timezone": "Europe/Paris"},
                        {"purchased_at": T0 - HOUR, "upsell_score": 90, "opt_outs": []}]))
def test_the_gate_is_a_pure_function(touches: list[TouchView], who: tuple[str, str, str],
                                     context: dict[str, object]) -> None:
    """Same inputs, same verdict; no wall clock read; the caller's snapshot left as it was."""
    p = Proposal(agent=who[0], customer="c", channel=who[2], intent=who[1])
    snap = Snapshot("c", copy.deepcopy(context), 1, touches)
    before = copy.deepcopy(snap)
    with mock.patch.object(time, "time", _wall_clock), \
            mock.patch.object(time, "time_ns", _wall_clock), \
            mock.patch.object(gate, "datetime", _NoWallClock):
        first = evaluate(p, T0, snap, POLICY)
    assert snap == before, "the gate wrote into the caller's snapshot"
    second = evaluate(p, T0, copy.deepcopy(before), POLICY)
    assert first == second


op_st = st.one_of(
    st.tuples(st.just("propose"), st.sampled_from(SENDERS), st.integers(0, 3)),
    st.tuples(st.just("execute"), st.integers(0, 50)),
    st.tuples(st.just("event"), st.sampled_from(["purchase", "opt_out", "ticket_opened",
                                                 "ticket_closed"]), st.integers(0, 3)),
    st.tuples(st.just("advance"), st.integers(1, 60 * 60 * 30)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(op_st, min_size=1, max_size=40))
def test_caps_hold_the_ledger_verifies_and_replay_reproduces_every_decision(
        tmp_path_factory, ops: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    path = tmp_path_factory.mktemp("prop") / "a.db"
    decisions, events, gos = [], [], []
    with Accord.open(path, policy=POLICY, clock=clock) as acc:
        for op in ops:
            if op[0] == "propose":
                (agent, intent, channel), c = op[1], f"c{op[2]}"
                d = acc.propose(agent, c, channel=channel, intent=intent)
                decisions.append(d)
                if d.go:
                    gos.append(d)
            elif op[0] == "execute" and gos:
                d = gos[op[1] % len(gos)]
                t = acc.touch(d.touch_id)
                if t.status.value == "pending" and clock.now <= t.at.timestamp() + 24 * HOUR:
                    acc.report_outcome(d.touch_id, "executed")
            elif op[0] == "event":
                data = {"channel": "sms"} if op[1] == "opt_out" else {}
                events.append(acc.record_event(f"c{op[2]}", op[1], data=data))
            elif op[0] == "advance":
                clock.advance(op[1])
        ledger = list(acc.iter_ledger())
        assert acc.verify_ledger().ok

        executed = {}
        for d in gos:
            t = acc.touch(d.touch_id)
            live = t.status.value == "pending" and clock.now <= t.at.timestamp() + 24 * HOUR
            if t.status.value == "executed" or live:
                executed.setdefault(t.customer, []).append(t)
        for touches in executed.values():
            times = sorted(t.at.timestamp() for t in touches
                           if t.intent not in ("support", "schedule"))
            for i, start in enumerate(times):
                assert sum(1 for x in times[i:] if x < start + 24 * HOUR) <= 1, "daily cap"
                assert sum(1 for x in times[i:] if x < start + 7 * 24 * HOUR) <= 3, "weekly"

    refs = [e.ref for e in ledger if e.kind == "decision"]
    assert sorted(refs) == sorted(d.id for d in decisions)
    assert sorted(e.ref for e in ledger if e.kind == "event") == sorted(e.id for e in events)

    report = replay(ledger, POLICY)
    assert report.changed == []
    assert report.decisions == len(decisions)
