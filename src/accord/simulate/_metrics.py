"""Aggregate as you go: every number in the report, without keeping every touch.

Per customer we hold a few counters (a few dozen bytes each); per touch we update them and
forget the touch — except for the first customers by id, whose touches are kept for
attribution and for the example customer's timeline (both bounded by ``SimConfig``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from accord.simulate._agents import COST, Agent, Pick
from accord.simulate._company import CH, DAY, START, Company, customer_id
from accord.simulate._params import SimConfig

COLLISION_WINDOW = 72 * 3600.0
CLAIM_WINDOW = 7 * DAY


class ArmMetrics:
    def __init__(self, cfg: SimConfig, agents: list[Agent]) -> None:
        n = cfg.customers
        self.cfg, self.agents = cfg, agents
        self.c: defaultdict[str, float] = defaultdict(float)
        self.per_agent: dict[str, defaultdict[str, float]] = {
            a.id: defaultdict(float) for a in agents
        }
        self.rules: Counter[str] = Counter()
        self.touches = np.zeros(n, dtype=np.int32)
        self.collided = np.zeros(n, dtype=bool)
        self.unsubscribed = np.zeros(n, dtype=bool)
        self.complained = np.zeros(n, dtype=bool)
        self.converted = np.zeros(n, dtype=bool)
        self.last_by_agent = np.full((n, len(agents)), -1e18)
        self.daily: dict[str, list[float]] = defaultdict(lambda: [0.0] * cfg.days)
        self.timeline: list[dict[str, Any]] = []
        self.attr_touches: list[tuple[str, str, str, float, str, str, str, float]] = []
        self.attr_events: list[tuple[str, float, str, float]] = []
        self.lift: dict[str, Any] | None = None
        """The lift report (treated against holdout) when the arm's policy holds customers out."""

    def _day(self, at: float) -> int:
        return min(self.cfg.days - 1, max(0, int((at - START) // DAY)))

    def _keep(self, i: int) -> tuple[bool, bool]:
        return i < self.cfg.timeline_sample, i < self.cfg.attribution_sample

    def decision(
        self, agent: Agent, pick: Pick, outcome: str, rules: tuple[str, ...], at: float
    ) -> None:
        pa = self.per_agent[agent.id]
        self.c["proposals"] += 1
        pa["proposals"] += 1
        self.c[outcome] += 1
        pa[outcome] += 1
        self.rules.update(rules)
        if outcome != "go":
            self.daily["prevented"][self._day(at)] += 1
        tl, attr = self._keep(pick.customer)
        if tl and outcome != "go":
            self.timeline.append(
                {
                    "customer": pick.customer,
                    "at": at,
                    "kind": "decision",
                    "agent": agent.id,
                    "channel": pick.channel,
                    "intent": pick.intent,
                    "outcome": outcome,
                    "rules": list(rules),
                }
            )
        if attr and outcome not in ("go",):
            self.attr_touches.append(
                (
                    customer_id(pick.customer),
                    agent.id,
                    pick.channel,
                    at,
                    outcome,
                    "not_sent",
                    pick.intent,
                    0.0,
                )
            )

    def delivered(
        self, agent: Agent, pick: Pick, at: float, company: Company, contradictory: bool
    ) -> None:
        i, ch = pick.customer, pick.channel
        pa = self.per_agent[agent.id]
        cost = COST[ch]
        self.c["delivered"] += 1
        pa["delivered"] += 1
        self.c["spend"] += cost
        pa["spend"] += cost
        self.touches[i] += 1
        self.daily["delivered"][self._day(at)] += 1
        row = self.last_by_agent[i]
        others = row.tolist()  # ten floats: plain Python is faster than numpy's reductions here
        mine = others[agent.idx]
        others[agent.idx] = -1e18
        if max(others) >= at - COLLISION_WINDOW:
            self.c["collision_touches"] += 1
            self.collided[i] = True
        row[agent.idx] = max(mine, at)
        if contradictory:
            self.c["contradictory"] += 1
            pa["contradictory"] += 1
        if pick.intent in ("reactivate", "winback") and company.last_purchase[i] >= at - 30 * DAY:
            self.c["after_purchase"] += 1
            pa["after_purchase"] += 1
        if company.opt_at[i, CH[ch]] <= at:
            self.c["after_opt_out"] += 1
            pa["after_opt_out"] += 1
        if pick.offer and pick.offer.get("discount_pct"):
            self.c["offers"] += 1
        tl, attr = self._keep(i)
        if tl:
            self.timeline.append(
                {
                    "customer": i,
                    "at": at,
                    "kind": "touch",
                    "agent": agent.id,
                    "channel": ch,
                    "intent": pick.intent,
                    "outcome": "go",
                    "rules": [],
                }
            )
        if attr:
            self.attr_touches.append(
                (customer_id(i), agent.id, ch, at, "go", "executed", pick.intent, cost)
            )

    def event(
        self,
        i: int,
        type_: str,
        at: float,
        value: float,
        agent: Agent | None,
        channel: str | None = None,
        incremental: float = 0.0,
    ) -> None:
        self.c[f"event:{type_}"] += 1
        day = self._day(at)
        if agent is not None:
            pa = self.per_agent[agent.id]
            if type_ in ("unsubscribe", "opt_out"):
                pa["unsubscribes"] += 1
            elif type_ == "complaint":
                pa["complaints"] += 1
            elif type_ in ("purchase", "conversion"):
                pa["conversions"] += 1
                pa["revenue"] += value
            elif type_ == "reply":
                pa["replies"] += 1
        if type_ in ("unsubscribe", "opt_out") and agent is not None:
            self.c["unsubscribes"] += 1
            self.unsubscribed[i] = True
            self.daily["unsubscribes"][day] += 1
        elif type_ == "complaint":
            self.c["complaints"] += 1
            self.complained[i] = True
            self.daily["complaints"][day] += 1
        elif type_ in ("purchase", "conversion"):
            self.c["conversions"] += 1
            self.c["revenue"] += value
            self.daily["revenue"][day] += value
            self.converted[i] = True
            if agent is not None:
                self.c["touch_conversions"] += 1
                self.c["touch_revenue"] += value
                self.c["touch_incremental_revenue"] += incremental
            else:
                self.c["organic_revenue"] += value
            claimers = np.flatnonzero(self.last_by_agent[i] >= at - CLAIM_WINDOW)
            for k in claimers:
                pc = self.per_agent[self.agents[int(k)].id]
                pc["claimed_conversions"] += 1
                pc["claimed_revenue"] += value
        tl, attr = self._keep(i)
        if tl:
            self.timeline.append(
                {
                    "customer": i,
                    "at": at,
                    "kind": "event",
                    "type": type_,
                    "agent": agent.id if agent else None,
                    "channel": channel,
                    "value": value,
                }
            )
        if attr:
            self.attr_events.append((customer_id(i), at, type_, value))
