"""Busy customers: the windows and caps give the verdicts of a simple reference, in
O(n log n), however many touches a customer has (issue 12, item 2)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from accord import Accord
from accord.bench import bench_busy, bench_scale
from accord.gate import SNAPSHOT_TOUCHES, Snapshot, TouchView, evaluate
from accord.model import Outcome, Proposal
from accord.policy import Policy
from accord.store._rows import touches_near
from tests.conftest import T0, Clock

HOUR = 3600.0
AGENTS = ["a1", "a2", "a3"]
INTENTS = ["retain", "upsell", "nurture"]
CHANNELS = ["email", "sms"]
_LIVE = ("pending", "executed")
_SEVERITY = {"go": 0, "flag": 1, "defer": 2, "stop": 3}


# ---- the reference: the gate's window code as it was, quadratic and plainly right ----------

def ref_cap_blocking(times: list[tuple[float, str]], at: float, limit: int,
                     per: float) -> list[str] | None:
    near = sorted((t, i) for t, i in times if at - per < t < at + per)
    if len(near) + 1 <= limit:
        return None
    if limit <= 1:
        return [i for _, i in near] if limit == 0 or near else None
    starts = ([at - per + 1e-6, at] + [t for t, _ in near if t <= at]
              + [t - per + 1e-6 for t, _ in near if t > at])
    worst: list[str] = []
    for s in starts:
        inside = [i for t, i in near if s <= t < s + per]
        if len(inside) > len(worst):
            worst = inside
    return worst if len(worst) + 1 > limit else None


def ref_hits(p: Proposal, at: float, live: list[TouchView], policy: Policy) -> list[tuple]:
    hits: list[tuple] = []
    for cap in policy.caps:
        if ((cap.channels is not None and p.channel not in cap.channels)
                or (cap.intents is not None and p.intent not in cap.intents)
                or p.intent in cap.exempt_intents):
            continue
        counted = [t for t in live if at - cap.per < t.at < at + cap.per
                   and (cap.channels is None or t.channel in cap.channels)
                   and (cap.intents is None or t.intent in cap.intents)
                   and t.intent not in cap.exempt_intents]
        if len(counted) < cap.limit:
            continue
        ids = ref_cap_blocking([(t.at, t.id) for t in counted], at, cap.limit, cap.per)
        if ids is not None:
            hits.append((cap, "cap", [t for t in counted if t.id in ids], cap.per))
    for sp in policy.spacing:
        if p.intent in sp.exempt_intents or (sp.channels and p.channel not in sp.channels):
            continue
        near = [t for t in live if at - sp.min_gap < t.at < at + sp.min_gap
                and t.intent not in sp.exempt_intents
                and (not sp.channels or t.channel in sp.channels)
                and (sp.between == "any" or (t.agent == p.agent) == (sp.between == "same_agent"))]
        if near:
            hits.append((sp, "spacing", near, sp.min_gap))
    mine = policy.rank_of(p.agent)
    for cf in policy.conflicts:
        if p.intent not in cf.intents:
            continue
        clash = [t for t in live if at - cf.within < t.at < at + cf.within
                 and t.agent != p.agent and t.intent in cf.intents and t.intent != p.intent
                 and (policy.rank_of(t.agent) <= mine or t.status == "pending")]
        if clash:
            hits.append((cf, "conflict", clash, cf.within))
    return hits


def ref_clears(hit: tuple, at: float) -> float:
    spec, kind, touches, span = hit
    if not touches:  # a cap of 0 (this once raised: a 500)
        return at + span
    if kind != "cap":
        return max(x.at for x in touches) + span
    times = [(t.at, t.id) for t in touches]
    for candidate in sorted({x.at + span for x in touches if x.at + span > at}):
        if ref_cap_blocking(times, candidate, spec.limit, span) is None:
            return candidate
    return max(x.at for x in touches) + span


def reference(p: Proposal, at: float, snap: Snapshot,
              policy: Policy) -> tuple[str, float | None, list[str]]:
    """Outcome, retry time and rules, for a policy of windows only and executed touches."""
    live = [t for t in snap.touches if t.status in _LIVE]
    hits = [h for h in ref_hits(p, at, live, policy) if h[0].mode != "shadow"]
    outcome = max((h[0].effect for h in hits), key=_SEVERITY.__getitem__, default="go")
    retry = None
    if outcome == "defer":
        t, pending = at, hits
        for _ in range(12):
            blocked = [h for h in pending if h[0].effect == "defer"]
            if not blocked:
                break
            t = max(ref_clears(h, t) for h in blocked)
            pending = [h for h in ref_hits(p, t, live, policy) if h[0].mode != "shadow"]
        retry = t
    return outcome, retry, sorted(h[0].id for h in hits)


# ---- random policies of windows, random busy histories --------------------------------------

def window_policy(caps: list[tuple[int, int, bool, str]], gap: int | None,
                  conflict: int | None) -> Policy:
    lines = ["version: 1", "channels: [email, sms]", "agents:"]
    lines += [f"  - {{id: {a}, owner: o, mandate: {{intents: [{', '.join(INTENTS)}], "
              f"channels: [email, sms]}}}}" for a in AGENTS]
    lines.append("precedence: [a1, a2, a3]")
    lines.append("caps:" if caps else "caps: []")
    for i, (limit, hours, sms_only, effect) in enumerate(caps):
        scope = ", channels: [sms]" if sms_only else ""
        lines.append(f"  - {{id: cap{i}, limit: {limit}, per: {hours}h{scope}, effect: {effect}}}")
    lines.append(f"spacing: [{{id: gap, min_gap: {gap}h}}]" if gap else "spacing: []")
    lines.append(f"conflicts: [{{id: clash, intents: [retain, upsell], within: {conflict}h}}]"
                 if conflict else "conflicts: []")
    return Policy.from_text("\n".join(lines) + "\n", source="windows.yaml")


cap_st = st.tuples(st.integers(0, 5), st.sampled_from([1, 6, 24, 72]), st.booleans(),
                   st.sampled_from(["defer", "defer", "stop", "flag"]))
touch_st = st.tuples(st.sampled_from(AGENTS), st.sampled_from(INTENTS),
                     st.sampled_from(CHANNELS), st.integers(-96 * 4, 96 * 4))


@settings(max_examples=200, deadline=None)
@given(caps=st.lists(cap_st, max_size=3), gap=st.sampled_from([None, 2, 24]),
       conflict=st.sampled_from([None, 48]),
       raw=st.lists(touch_st, max_size=100),
       who=st.tuples(st.sampled_from(AGENTS), st.sampled_from(INTENTS),
                     st.sampled_from(CHANNELS)))
def test_windows_and_caps_decide_as_the_reference_does(
        caps: list[tuple[int, int, bool, str]], gap: int | None, conflict: int | None,
        raw: list[tuple[str, str, str, int]], who: tuple[str, str, str]) -> None:
    policy = window_policy(caps, gap, conflict)
    touches = [TouchView(f"t{i}", a, ch, intent, T0 + quarter * HOUR / 4, "executed", i)
               for i, (a, intent, ch, quarter) in enumerate(raw)]
    p = Proposal(agent=who[0], customer="c", channel=who[2], intent=who[1])
    v = evaluate(p, T0, Snapshot("c", {}, 1, touches), policy)
    assert (v.outcome.value, v.retry_at, sorted(r.rule for r in v.reasons)) == reference(
        p, T0, Snapshot("c", {}, 1, touches), policy)


def test_a_customer_with_ten_thousand_touches_in_the_window_is_deferred_past_them() -> None:
    policy = window_policy([(3, 24 * 7, False, "defer")], None, None)
    touches = [TouchView(f"t{i}", AGENTS[i % 3], "email", "nurture",
                         T0 - 6 * 86400 * (i + 1) / 10_000, "executed", i)
               for i in range(10_000)]
    p = Proposal(agent="a1", customer="c", channel="email", intent="nurture")
    v = evaluate(p, T0, Snapshot("c", {}, 1, touches), policy)
    assert v.outcome is Outcome.DEFER
    newest_but_two = sorted(t.at for t in touches)[-3]
    assert v.retry_at == newest_but_two + 7 * 86400


def test_a_customer_past_the_snapshot_bound_is_held_with_a_reason_not_decided_on_a_part() -> None:
    policy = window_policy([], None, None)
    p = Proposal(agent="a1", customer="c", channel="email", intent="nurture")
    v = evaluate(p, T0, Snapshot("c", {}, 1, [], truncated=True), policy)
    assert v.outcome is Outcome.DEFER
    held = next(r for r in v.reasons if r.rule == "history-limit")
    assert f"more than {SNAPSHOT_TOUCHES:,} live touches" in held.message
    assert "To fix:" in held.message


def test_the_store_reads_only_the_touches_nearest_the_proposal(any_acc: Accord,
                                                              clock: Clock) -> None:
    for _ in range(6):
        d = any_acc.propose("support", "c-busy", channel="email", intent="support")
        assert d.go
        clock.advance(HOUR)
    at = clock() - 3.5 * HOUR
    with any_acc.store.read() as tx:
        every = touches_near(tx, "c-busy", at - 10 * HOUR, at + 10 * HOUR)
        nearest = touches_near(tx, "c-busy", at - 10 * HOUR, at + 10 * HOUR, at=at, limit=3)
    assert len(every) == 6
    assert [r["at"] for r in nearest] == sorted(
        sorted((r["at"] for r in every), key=lambda t: abs(t - at))[:3])


def test_the_bench_reports_busy_customers_as_ratios_against_a_quiet_one() -> None:
    out = bench_busy(sizes=(50, 200), rounds=2)
    assert {"busy_quiet_us", "busy_50_us", "busy_50_ratio", "busy_200_us",
            "busy_200_ratio"} <= set(out)
    assert set(out["busy_200_us_by_intent"]) == {"upsell", "nurture", "retain", "winback"}


def test_the_bench_interleaves_the_small_and_the_large_store() -> None:
    out = bench_scale(small=50, large=100, touches_per=1, n=40, rounds=2)
    assert out["scale_ratio_min"] <= out["scale_ratio"] <= out["scale_ratio_max"]
    assert (out["small_customers"], out["large_customers"]) == (50, 100)
