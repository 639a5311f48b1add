"""The fleet: ten agents as companies run them, each on its own objective and its own view.

An agent never reads the ground truth as it is now. It reads a *view* refreshed on its own
schedule — a nightly batch sees the world as of midnight (or two days back, for the agent fed by
a late warehouse export), an hourly job as of the top of the hour, a real-time agent as of the
event that woke it — and it keeps its own suppression list, synced from the other tools with a
lag. Those stale views are what collide; the agents are the same in every arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accord.simulate._company import (
    ACTIVE,
    AT_RISK,
    CH,
    CHURNED,
    DAY,
    HOUR,
    LEAD,
    RENEWAL,
    Company,
)

COST = {
    "email": 0.002,
    "sms": 0.03,
    "voice": 4.0,
    "social_ad": 0.5,
    "search_ad": 1.5,
    "push": 0.001,
    "in_app": 0.0,
}
"""What one delivered touch costs, in USD."""


@dataclass(frozen=True)
class Pick:
    """One touch an agent wants to make."""

    customer: int
    channel: str
    intent: str
    offer: dict[str, Any] | None = None
    action: str = "message"


@dataclass
class Agent:
    id: str
    intents: tuple[str, ...]
    channels: tuple[str, ...]
    cadence: str  # nightly, hourly, realtime
    run_hour: int = 0
    view_lag: float = 0.0
    """How far behind its refresh time the agent's data is (a late export)."""
    suppression_lag: float = DAY
    """How long another tool's opt-out takes to reach this agent's own suppression list."""
    send_hour: int | None = None
    """Nightly agents that queue sends: decided at ``run_hour``, delivered at ``send_hour``."""
    idx: int = 0
    last: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """When this agent last touched each customer: the one thing it knows in real time."""

    def reset(self, n: int) -> None:
        self.last = np.full(n, -1e18)

    def view_time(self, now: float) -> float:
        """The instant the agent's data describes."""
        if self.cadence == "nightly":
            return now - now % DAY - self.view_lag
        if self.cadence == "hourly":
            return now - now % HOUR - self.view_lag
        return now - self.view_lag


def _prefer(c: Company, idx: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.where(c.pref[idx, CH[a]] >= c.pref[idx, CH[b]], a, b)


def _sample(idx: np.ndarray, c: Company, salt: int, day: int, share: float) -> np.ndarray:
    """A deterministic share of ``idx`` for this day (the agent's own daily capacity)."""
    if share >= 1.0 or idx.size == 0:
        return idx
    h = (
        idx.astype(np.uint64) * np.uint64(2654435761) + np.uint64(salt * 97 + day * 7919 + c.seed)
    ) % np.uint64(1000)
    return idx[h < np.uint64(int(share * 1000))]


Selector = Callable[[Agent, Company, float, int], list[Pick]]


def churn_guard(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    stage = c.stage_as_of(a.view_time(now))
    idx = np.flatnonzero(((stage == AT_RISK) | (stage == RENEWAL)) & (a.last < now - 7 * DAY))
    chans = np.where(c.segment[idx] == 2, "voice", "email")
    return [
        Pick(
            int(i),
            str(ch),
            "retain",
            {"product": "pro", "discount_pct": 20 if stage[i] == RENEWAL else 10},
        )
        for i, ch in zip(idx, chans, strict=True)
    ]


def upsell(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    stage = c.stage_as_of(a.view_time(now))
    idx = np.flatnonzero((stage == ACTIVE) & (c.lead_score > 0.6) & (a.last < now - 10 * DAY))
    idx = _sample(idx, c, a.idx, day, 0.35)
    out = []
    for i in idx:
        seg = int(c.segment[i])
        out.append(
            Pick(
                int(i),
                "voice" if seg == 2 else "email",
                "upsell",
                {"product": "pro" if seg else "analytics", "discount_pct": 20 if seg == 2 else 10},
            )
        )
    return out


def email_cadence(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    stage = c.stage_as_of(a.view_time(now))
    i = np.arange(c.n)
    due = ((stage == LEAD) & ((i + day) % 3 == 0)) | ((stage == ACTIVE) & ((i + day) % 7 == 0))
    return [Pick(int(k), "email", "nurture") for k in np.flatnonzero(due)]


def scheduler(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    t = a.view_time(now)
    idx = np.flatnonzero(
        (c.last_reply_upsell > t - HOUR)
        & (c.last_reply_upsell <= t)
        & (c.meeting_at < c.last_reply_upsell)
    )
    return [Pick(int(i), "email", "schedule", action="invite") for i in idx]


def reengage(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    t = a.view_time(now)
    stage = c.stage_as_of(t)
    quiet = (stage == ACTIVE) & (c.last_login < t - 21 * DAY)
    idx = np.flatnonzero(((stage == CHURNED) | quiet) & (a.last < now - 7 * DAY))
    idx = _sample(idx, c, a.idx, day, 0.5)
    chans = _prefer(c, idx, "email", "sms")
    return [Pick(int(i), str(ch), "reactivate") for i, ch in zip(idx, chans, strict=True)]


def winback(a: Agent, c: Company, now: float, day: int) -> list[Pick]:
    stage = c.stage_as_of(a.view_time(now))
    idx = np.flatnonzero((stage == CHURNED) & (a.last < now - 14 * DAY))
    idx = _sample(idx, c, a.idx + 50, day, 0.2)
    return [Pick(int(i), "email", "winback") for i in idx]


def social_ads(a: Agent, c: Company, now: float, day: int, online: np.ndarray) -> list[Pick]:
    stage = c.stage_as_of(a.view_time(now))
    hour = int(now % DAY // HOUR)
    idx = online[(online % 24 == hour)]
    idx = idx[
        (
            ((stage[idx] == CHURNED) | ((stage[idx] == LEAD) & (c.lead_score[idx] > 0.6)))
            & (a.last[idx] < now - 3 * DAY)
        )
    ]
    return [
        Pick(int(i), "social_ad", "reactivate" if stage[i] == CHURNED else "acquire", action="ad")
        for i in idx
    ]


def paid_search(a: Agent, c: Company, now: float, searchers: np.ndarray) -> list[Pick]:
    t, s = a.view_time(now), searchers
    stage = np.where(c.stage_since[s] <= t, c.stage[s], c.prev_stage[s])
    idx = s[(stage == LEAD) & (a.last[s] < now - 2 * DAY)]
    return [Pick(int(i), "search_ad", "acquire", action="ad") for i in idx]


def fleet() -> list[Agent]:
    """The ten seats, in the order the report lists them."""
    agents = [
        Agent("lead-scoring", ("score",), (), "nightly", run_hour=1),
        Agent("churn-guard", ("retain",), ("email", "voice"), "nightly", run_hour=8),
        Agent(
            "upsell",
            ("upsell",),
            ("email", "voice"),
            "nightly",
            run_hour=11,
            suppression_lag=2 * DAY,
        ),
        Agent("email-cadence", ("nurture",), ("email",), "nightly", run_hour=2, send_hour=9),
        Agent("scheduler", ("schedule",), ("email",), "hourly"),
        Agent(
            "reengage",
            ("reactivate",),
            ("email", "sms"),
            "nightly",
            run_hour=10,
            view_lag=2 * DAY,
            suppression_lag=3 * DAY,
        ),
        Agent("support", ("support", "winback"), ("email", "in_app"), "realtime", run_hour=16),
        Agent(
            "social-ads",
            ("reactivate", "acquire"),
            ("social_ad",),
            "hourly",
            view_lag=6 * DAY,
            suppression_lag=7 * DAY,
        ),
        Agent("paid-search", ("acquire",), ("search_ad",), "hourly", suppression_lag=7 * DAY),
        Agent("content-recs", ("nurture",), ("push", "in_app"), "realtime"),
    ]
    for i, a in enumerate(agents):
        a.idx = i
    return agents


NIGHTLY: dict[str, Selector] = {
    "churn-guard": churn_guard,
    "upsell": upsell,
    "email-cadence": email_cadence,
    "reengage": reengage,
    "support": winback,
}
