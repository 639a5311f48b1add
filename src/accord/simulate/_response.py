"""The customer-response model: what one delivered touch makes a simulated customer do.

This is the part of the simulation that is *assumed*, not measured. Its parameters live in
``ResponseParams`` (``_params.py``) with their defaults and reasons; the report repeats them and
shows how the result moves when each key one is halved or doubled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accord.simulate._company import CH, DAY, HOUR, Company, uniform
from accord.simulate._params import ResponseParams

CONFLICT = ("retain", "upsell", "reactivate")
"""Intents that contradict each other within 7 days (the example policy's mixed-signals)."""
BLIND_INTENTS = frozenset({"reactivate", "winback", "acquire"})
"""Intents that make no sense to a customer who just bought."""
SEGMENT_LIFT = np.array([1.0, 0.9, 0.8])
MESSAGES = frozenset({"email", "sms", "voice", "push"})
"""The channels that interrupt a person (the example policy's message caps count these): what
contact fatigue counts by default. Ad impressions and in-app cards are not counted."""


@dataclass(frozen=True, slots=True)
class Reaction:
    """A customer event a touch caused, ``delay`` seconds after it."""

    delay: float
    type: str
    data: dict[str, object]
    value: float = 0.0


class Exposure:
    """What each customer has recently received: the contacts fatigue counts, per day (7-day
    ring), and when each conflicting intent last arrived. Shared by the response model and the
    metrics. ``counts`` is ``messages`` (email, SMS, voice, push) or ``all`` (every touch,
    impressions included)."""

    def __init__(self, n: int, counts: str = "messages") -> None:
        if counts not in ("messages", "all"):
            raise ValueError(f"fatigue_counts must be 'messages' or 'all', not {counts!r}")
        self.ring = np.zeros((n, 7), dtype=np.int16)
        self.conflict_at = np.full((n, len(CONFLICT)), -1e18)
        self.counted = None if counts == "all" else MESSAGES

    def touches_7d(self, i: int) -> int:
        return sum(self.ring[i].tolist())

    def contradicts(self, i: int, intent: str, at: float) -> bool:
        if intent not in CONFLICT:
            return False
        mine = CONFLICT.index(intent)
        row = self.conflict_at[i]
        return any(row[j] >= at - 7 * DAY for j in range(len(CONFLICT)) if j != mine)

    def add(self, i: int, channel: str, intent: str, at: float, day: int) -> None:
        if self.counted is None or channel in self.counted:
            self.ring[i, day % 7] += 1
        if intent in CONFLICT:
            self.conflict_at[i, CONFLICT.index(intent)] = at

    def roll(self, next_day: int) -> None:
        self.ring[:, next_day % 7] = 0


def respond(
    p: ResponseParams,
    c: Company,
    i: int,
    agent: int,
    channel: str,
    intent: str,
    discount: float,
    at: float,
    touches_7d: int,
    contradictory: bool,
) -> list[Reaction]:
    """Decide engagement, reply, conversion, unsubscribe and complaint for one touch.

    Draws come from ``uniform(seed, customer, agent, hour, k)``: the same touch gets the same
    draws in every arm, so arms differ by what was sent, not by luck."""
    key = (c.seed, i, agent, int(at // HOUR))
    ch = CH[channel]
    out: list[Reaction] = []
    engaged = uniform(*key, 1) < min(0.95, p.engage[channel] * float(c.pref[i, ch]))
    if engaged and uniform(*key, 2) < p.reply.get(intent, 0.0):
        out.append(Reaction(2 * HOUR, "reply", {"intent": intent}))
    convert = p.convert.get(intent, 0.0) * SEGMENT_LIFT[c.segment[i]]
    convert *= 1 + p.discount_lift * discount / 100
    if contradictory:
        convert *= p.contradiction_factor
    if engaged and uniform(*key, 3) < convert:
        value = float(c.arpu[i]) * p.value_months.get(intent, 0.0) * (1 - discount / 100)
        if intent == "retain":
            out.append(Reaction(6 * HOUR, "conversion", {"kind": "retained"}, value))
        elif intent == "schedule":
            out.append(Reaction(4 * HOUR, "meeting_booked", {}))
            out.append(Reaction(2 * DAY, "purchase", {"via": "meeting"}, value))
        else:
            out.append(Reaction(6 * HOUR, "purchase", {"via": intent}, value))
    fatigue = 1 + p.fatigue_slope * max(0, touches_7d - p.fatigue_free)
    opted_out = c.opt_at[i, ch] <= at  # one cannot unsubscribe twice from the same channel
    unsub = p.unsubscribe[channel] * float(c.opt_out_propensity[i]) * fatigue
    if uniform(*key, 4) < unsub and not opted_out:
        if channel == "email":
            out.append(Reaction(HOUR, "unsubscribe", {"channel": "email"}))
        else:
            out.append(Reaction(HOUR, "opt_out", {"channel": channel}))
    complaint = p.complaint_base
    if intent in BLIND_INTENTS and c.last_purchase[i] >= at - 30 * DAY:
        complaint += p.complaint_after_purchase
    if opted_out:
        complaint += p.complaint_after_opt_out
    if uniform(*key, 5) < complaint:
        out.append(Reaction(HOUR, "complaint", {"channel": channel}))
    return out
