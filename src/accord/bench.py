"""``accord bench``: speed, measured as ratios against baselines run in the same process.

Absolute times drift on shared machines; a ratio against a baseline measured seconds apart on
the same machine does not. Nothing here is a test: tests never assert on time.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accord import gate
from accord._time import ManualClock, to_epoch
from accord.model import Proposal
from accord.policy import Policy
from accord.store._baseline import sqlite_bare, sqlite_populate
from accord.telemetry import OFF, Telemetry

if TYPE_CHECKING:
    from accord.service import Accord

T0 = to_epoch("2026-11-23T09:00:00Z")

EXTRA_RULES = """
  - {id: vip-needs-human, effect: flag, outbound_only: true,
     when: "has(customer.tier) && customer.tier == 'vip' && action.intent == 'upsell'"}
  - {id: low-score-no-upsell, effect: stop, intents: [upsell],
     when: "has(customer.lead_score) && customer.lead_score < 20"}
  - {id: churned-no-nurture, effect: stop, intents: [nurture],
     when: "has(customer.stage) && customer.stage == 'churned'"}
  - {id: quiet-hours-sms, effect: defer, channels: [sms],
     when: "now.getHours() < 8 || now.getHours() >= 21", until: "now + duration('10h')"}
  - {id: region-eu-voice, effect: flag, channels: [voice],
     when: "has(customer.region) && customer.region == 'eu'"}
  - {id: big-discount-eu, effect: flag,
     when: "has(action.offer) && has(action.offer.discount_pct) &&
            action.offer.discount_pct > 12 && has(customer.region) && customer.region == 'eu'"}
  - {id: recent-reply-pause, effect: defer, outbound_only: true,
     when: "has(customer.last_reply_at) && now - customer.last_reply_at < duration('4h')",
     until: "customer.last_reply_at + duration('4h')"}
  - {id: minors, effect: stop, when: "has(customer.age) && customer.age < 18"}
  - {id: high-risk-only-retain, effect: stop, intents: [upsell, nurture, reactivate],
     when: "has(customer.churn_risk) && customer.churn_risk > 0.8"}
"""


def bench_policy() -> Policy:
    """The example policy plus nine conditions: about twenty rules with caps and conflicts."""
    from importlib import resources

    text = resources.files("accord.templates").joinpath("accord.yaml").read_text("utf-8")
    text = text.replace("\nreducers:", EXTRA_RULES + "\nreducers:", 1)
    return Policy.from_text(text, source="bench-policy.yaml")


def _rate(fn: Callable[[int], object], n: int, first: int = 0) -> float:
    start = time.perf_counter()
    for i in range(first, first + n):
        fn(i)
    return n / (time.perf_counter() - start)


def written_bytes() -> int | None:
    """Bytes this process has handed to ``write`` calls so far (``wchar`` in ``/proc/self/io``:
    SQLite's log frames and checkpoints, whatever file system they land on); None where there is
    no ``/proc``."""
    try:
        with open("/proc/self/io", encoding="ascii") as io:
            for line in io:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def bench_eval(n: int = 20_000) -> dict[str, Any]:
    pol = bench_policy()
    ctx = gate.cel_fields({
        "opt_outs": ["sms"], "stage": "active", "tier": "gold", "lead_score": 64,
        "region": "us", "churn_risk": 0.31, "age": 41, "segment": "smb",
        "last_purchase_at": "2026-09-01T10:00:00Z", "last_login_at": "2026-11-20T08:00:00Z",
        "plan": "pro", "seats": 12, "mrr": 840.0, "owner": "acct-7", "locale": "en-US"})
    touches = [gate.TouchView(f"t{i}", a, "email", intent, T0 - h * 3600, "executed", i)
               for i, (a, intent, h) in enumerate([
                   ("email-cadence", "nurture", 30), ("upsell", "upsell", 80),
                   ("support", "support", 20), ("churn-guard", "retain", 200),
                   ("email-cadence", "nurture", 150), ("scheduler", "schedule", 10)])]
    snap = gate.Snapshot("c1", ctx, 7, touches, [gate.ClaimView("cl1", "churn-guard", "watch",
                                                                 T0 - 1)])
    proposals = [
        Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                 offer={"product": "pro", "discount_pct": 10}, cost={"usd": 0.02}),
        Proposal(agent="reengage", customer="c1", channel="sms", intent="reactivate"),
        Proposal(agent="email-cadence", customer="c1", channel="email", intent="nurture"),
        Proposal(agent="churn-guard", customer="c1", channel="voice", intent="retain"),
    ]
    quiet = gate.Snapshot("c1", ctx, 7)
    for p in proposals:  # warm up: compile each proposal shape's program once
        gate.evaluate(p, T0, _fresh(snap), pol)
    # each evaluation gets a snapshot of its own, as each decision does: what the gate derives
    # once per snapshot (sorted touches, the context as conditions read it) is counted
    quiets = [_fresh(quiet) for _ in range(n)]
    rate = _rate(lambda i: gate.evaluate(proposals[i % 4], T0, quiets[i], pol), n)
    busies = [_fresh(snap) for _ in range(n)]
    busy = _rate(lambda i: gate.evaluate(proposals[i % 4], T0, busies[i], pol), n)
    rules = (len(pol.rules) + len(pol.caps) + len(pol.spacing) + len(pol.conflicts) + 5)
    return {"eval_us": round(1e6 / rate, 2), "eval_us_busy": round(1e6 / busy, 2),
            "eval_rules": rules}


def _fresh(snap: gate.Snapshot) -> gate.Snapshot:
    """A snapshot with the same contents and nothing derived from them yet."""
    return gate.Snapshot(snap.customer, snap.context, snap.version, snap.touches, snap.claims,
                         snap.commitments)


def _busy_snapshot(ctx: dict[str, Any], n: int) -> gate.Snapshot:
    """A customer with ``n`` live touches spread over the last six days (inside the weekly
    cap's window), from every seat in turn, sorted by time as the store reads them."""
    seats = [("email-cadence", "nurture"), ("upsell", "upsell"), ("support", "support"),
             ("churn-guard", "retain"), ("scheduler", "schedule"), ("reengage", "reactivate")]
    touches = [gate.TouchView(f"t{i}", *seats[i % len(seats)][:1], "email",
                              seats[i % len(seats)][1], T0 - 6 * 86400 * (n - i) / n,
                              "executed", i) for i in range(n)]
    return gate.Snapshot("c1", ctx, 7, touches)


def bench_busy(sizes: tuple[int, ...] = (1_000, 10_000), rounds: int = 5) -> dict[str, Any]:
    """Gate time for a busy customer against a quiet one, interleaved in ``rounds`` so that
    both see the same machine; each ratio is the median of the rounds' ratios."""
    pol = bench_policy()
    ctx = gate.cel_fields({"stage": "active", "tier": "gold", "lead_score": 64})
    proposals = [
        Proposal(agent="upsell", customer="c1", channel="email", intent="upsell",
                 offer={"product": "pro", "discount_pct": 10}, cost={"usd": 0.02}),
        Proposal(agent="email-cadence", customer="c1", channel="email", intent="nurture"),
        Proposal(agent="churn-guard", customer="c1", channel="voice", intent="retain"),
        Proposal(agent="support", customer="c1", channel="email", intent="winback"),
    ]
    quiet = gate.Snapshot("c1", ctx, 7)
    snaps = {n: _busy_snapshot(ctx, n) for n in sizes}
    for p in proposals:  # warm up every shape
        gate.evaluate(p, T0, quiet, pol)
        for snap in snaps.values():
            gate.evaluate(p, T0, snap, pol)
    quiet_us: list[float] = []
    busy_us: dict[tuple[int, int], list[float]] = {(n, k): [] for n in sizes
                                                   for k in range(len(proposals))}
    for _ in range(rounds):
        quiets = [_fresh(quiet) for _ in range(2_000)]  # a snapshot per decision, as in use

        def calm(i: int, quiets: list[gate.Snapshot] = quiets) -> None:
            gate.evaluate(proposals[i % 4], T0, quiets[i], pol)

        quiet_us.append(1e6 / _rate(calm, 2_000))
        for n, snap in snaps.items():
            for k, p in enumerate(proposals):
                def one(i: int, snap: gate.Snapshot = snap, p: Proposal = p) -> None:
                    gate.evaluate(p, T0, _fresh(snap), pol)

                busy_us[n, k].append(1e6 / _rate(one, max(3, 5_000 // n)))
    out: dict[str, Any] = {"busy_quiet_us": round(statistics.median(quiet_us), 2)}
    for n in sizes:
        per_round = [statistics.mean(busy_us[n, k][r] for k in range(len(proposals)))
                     for r in range(rounds)]
        ratios = sorted(b / q for b, q in zip(per_round, quiet_us, strict=True))
        out[f"busy_{n}_us"] = round(statistics.median(per_round), 1)
        out[f"busy_{n}_ratio"] = round(ratios[len(ratios) // 2], 1)
        out[f"busy_{n}_us_by_intent"] = {
            p.intent: round(statistics.median(busy_us[n, k]), 1)
            for k, p in enumerate(proposals)}
    return out


AGENTS = (("email-cadence", "nurture"), ("upsell", "upsell"), ("churn-guard", "retain"),
          ("reengage", "reactivate"))
"""The seats (and their intents) whose proposals the decision benches send, in turn."""


def decider(path: str, customers: int, *, durability: str = "full",
            telemetry: Telemetry = OFF, agents: Sequence[tuple[str, str]] = AGENTS,
            step: float = 37.0, seed: int = 7) -> tuple[Callable[[int], None], Accord]:
    """A service on a new store at ``path`` and ``one(i)``: one full embedded decision by the
    next of ``agents`` for a random one of ``customers``, ``step`` seconds after the last (on a
    manual clock from ``T0``, so every run decides the same)."""
    from accord.service import Accord

    clock = ManualClock(T0)
    acc = Accord.open(path, policy=bench_policy(), clock=clock, telemetry=telemetry,
                      durability=durability)
    rnd = random.Random(seed)

    def one(i: int) -> None:
        clock.now += step
        agent, intent = agents[i % len(agents)]
        acc.propose(agent, f"c{rnd.randrange(customers)}", channel="email", intent=intent)

    return one, acc


def median_ratio(num: Sequence[float], den: Sequence[float]) -> tuple[float, float, float]:
    """The median, least and greatest of the rounds' ratios ``num[r] / den[r]`` (to 3 places):
    a ratio of two figures measured seconds apart is what survives a shared machine."""
    ratios = [a / b for a, b in zip(num, den, strict=True)]
    return (round(statistics.median(ratios), 3), round(min(ratios), 3), round(max(ratios), 3))


def bench_store(n: int = 2000, customers: int = 500, durability: str = "full",
                rounds: int = 5) -> dict[str, Any]:
    """Full decisions against the bare transaction, alternating in ``rounds`` so that both
    see the same machine; the ratio is the median of the rounds' ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        bare, close_bare = sqlite_bare(str(Path(tmp) / "bare.db"), customers, durability,
                                        T0)
        full, accord = decider(str(Path(tmp) / "accord.db"), customers, durability=durability)
        per = max(n // rounds, 1)
        bare_rates: list[float] = []
        full_rates: list[float] = []
        written = {"bare": 0, "full": 0}
        try:
            for r in range(rounds):
                for label, fn, rates in (("bare", bare, bare_rates), ("full", full, full_rates)):
                    before = written_bytes()
                    rates.append(_rate(fn, per, r * per))
                    after = written_bytes()
                    if before is not None and after is not None:
                        written[label] += after - before
        finally:
            close_bare()
            accord.close()
    ratio, low, high = median_ratio(full_rates, bare_rates)
    out: dict[str, Any] = {
        "decisions_per_s": round(statistics.median(full_rates), 1),
        "bare_tx_per_s": round(statistics.median(bare_rates), 1),
        "ratio": ratio, "ratio_min": low, "ratio_max": high, "durability": durability}
    if written_bytes() is not None:
        out["bytes_per_decision"] = round(written["full"] / (per * rounds))
        out["bare_bytes_per_tx"] = round(written["bare"] / (per * rounds))
    return out


def _populate(path: str, customers: int, touches_per: int) -> None:
    from accord.service import Accord

    Accord.open(path, policy=bench_policy(), durability="normal").close()  # schema
    sqlite_populate(path, customers, touches_per, T0)


def bench_scale(small: int = 10_000, large: int = 1_000_000, touches_per: int = 3,
                n: int = 2000, progress: Callable[[str], None] | None = None,
                rounds: int = 5) -> dict[str, Any]:
    """Decision cost on existing customers in a small and a large store (same code, same
    durability=normal so that index costs, not fsync, dominate), interleaved in ``rounds``
    so that both see the same machine: the ratio is the median of the rounds' ratios."""

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        deciders: dict[str, Callable[[int], None]] = {}
        stores: list[Accord] = []
        for label, size in (("small", small), ("large", large)):
            path = str(Path(tmp) / f"{label}.db")
            if progress:
                progress(f"populating {size:,} customers × {touches_per} touches")
            _populate(path, size, touches_per)
            decide, acc = decider(path, size, durability="normal",
                                  agents=(("email-cadence", "nurture"),), step=5.0, seed=11)
            stores.append(acc)
            for i in range(200):
                decide(i)
            deciders[label] = decide
            out[f"{label}_customers"] = size
            out[f"{label}_touches"] = size * touches_per
        per = max(n // rounds, 1)
        us: dict[str, list[float]] = {"small": [], "large": []}
        try:
            for r in range(rounds):
                for label, one in deciders.items():
                    us[label].append(1e6 / _rate(one, per, 200 + r * per))
        finally:
            for acc in stores:
                acc.close()
    for label in ("small", "large"):
        out[f"{label}_us_per_decision"] = round(statistics.median(us[label]), 1)
        if progress:
            progress(f"{out[f'{label}_customers']:,} customers: "
                     f"{out[f'{label}_us_per_decision']:.0f} µs per decision")
    out["scale_ratio"], out["scale_ratio_min"], out["scale_ratio_max"] = median_ratio(
        us["large"], us["small"])
    return out


