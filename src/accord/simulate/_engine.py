"""One arm, day by day: a time-ordered queue of agent runs, touches and customer events.

Memory stays bounded: the queue holds one day's work plus reactions not yet due, and the
metrics aggregate as they go. Both arms run the same code; only the ``arm`` differs.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from accord.simulate._agents import NIGHTLY, Agent, Pick, fleet, paid_search, scheduler, social_ads
from accord.simulate._arms import Verdict
from accord.simulate._company import (
    ACTIVE,
    AT_RISK,
    CH,
    CHURNED,
    DAY,
    HOUR,
    LEAD,
    STAGES,
    START,
    Company,
    churn_share_untouched,
    uniform,
)
from accord.simulate._metrics import ArmMetrics
from accord.simulate._params import SimConfig
from accord.simulate._response import Exposure, respond


class Arm(Protocol):
    name: str
    label: str

    def decide(
        self, agent: Agent, pick: Pick, at: float, now: float, value: float | None = None
    ) -> Verdict: ...
    def execute(self, token: str | None, at: float) -> bool: ...
    def event(
        self, i: int, type_: str, at: float, data: dict[str, Any], source: str | None
    ) -> None: ...
    def context_write(self, i: int, changes: dict[str, Any], at: float) -> None: ...
    def review(self, token: str, approve: bool, at: float) -> Verdict: ...
    def decide_batch(
        self, agent: Agent, picks: list[Pick], at: float, now: float, values: list[float]
    ) -> list[Verdict]: ...
    def due(self, now: float) -> list[tuple[str, Verdict]]: ...
    def lift(self, since: float, until: float) -> dict[str, Any] | None: ...
    def close(self) -> None: ...


class Engine:
    def __init__(self, cfg: SimConfig, arm: Arm) -> None:
        self.cfg, self.arm = cfg, arm
        self.company = Company(cfg.customers, cfg.seed)
        self.agents = fleet()
        for a in self.agents:
            a.reset(cfg.customers)
        self.by_id = {a.id: a for a in self.agents}
        self.metrics = ArmMetrics(cfg, self.agents)
        self.exposure = Exposure(cfg.customers, cfg.response.fatigue_counts)
        self.queue: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.reviews: list[tuple[str, Agent, Pick]] = []
        self.kept: dict[str, tuple[Agent, Pick]] = {}
        """Kept proposals (``follow_up`` ids) the agents wait on, and what each would send."""
        self.wakeups: set[float] = set()
        self.day = 0

    def push(self, at: float, kind: str, *payload: Any) -> None:
        heapq.heappush(self.queue, (at, next(self.seq), kind, payload))

    def seed_history(self) -> None:
        """Tell the arm what was true before day 0: recent purchases and non-default stages."""
        c, at = self.company, START - 1.0
        for i in np.flatnonzero(c.last_purchase > START - 30 * DAY).tolist():
            self.arm.event(i, "purchase", float(c.last_purchase[i]), {"via": "history"}, "crm")
        for i in np.flatnonzero(c.stage >= AT_RISK).tolist():
            self.arm.event(i, "stage_changed", at, {"stage": STAGES[int(c.stage[i])]}, "crm")

    def run(self, on_day: Callable[[int], None] | None = None) -> ArmMetrics:
        self.seed_history()
        for day in range(self.cfg.days):
            self.day = day
            self._plan_day(day)
            end = START + (day + 1) * DAY
            while self.queue and self.queue[0][0] < end:
                at, _, kind, payload = heapq.heappop(self.queue)
                getattr(self, f"_on_{kind}")(at, *payload)
            self.exposure.roll(day + 1)
            if on_day is not None:
                on_day(day)
        m = self.metrics
        m.c["churned_at_end"] = int((self.company.stage == CHURNED).sum())
        m.lift = self.arm.lift(START, START + self.cfg.days * DAY)
        return m

    # -- the day's plan ----------------------------------------------------------------------

    def _plan_day(self, day: int) -> None:
        c, t0, seed = self.company, START + day * DAY, self.cfg.seed
        exo = c.exogenous(day)
        idx, when = exo.logins
        np.maximum.at(c.last_login, idx, when)
        recs = self.by_id["content-recs"]
        for i, t in zip(idx.tolist(), when.tolist(), strict=True):
            if uniform(seed, i, day, 901) < 0.3:
                self.push(t + 60.0, "realtime", recs, Pick(i, "in_app", "nurture"))
        for i, t in zip(*(a.tolist() for a in exo.tickets), strict=True):
            self.push(t, "event", i, "ticket_opened", {}, 0.0, None)
        for i, t in zip(*(a.tolist() for a in exo.purchases), strict=True):
            self.push(t, "event", i, "purchase", {"via": "organic"}, float(c.arpu[i]) * 2, None)
        for i, t, dst in exo.stage_moves:
            self.push(t, "stage", i, dst)
        for i, t in zip(*(a.tolist() for a in exo.searches), strict=True):
            self.push(t - t % HOUR + HOUR, "search", i)
        for a in self.agents:
            if a.id in NIGHTLY or a.id == "lead-scoring":
                self.push(t0 + a.run_hour * HOUR, "run", a)
        for h in range(24):
            self.push(t0 + h * HOUR + 1, "hourly", day)
        self.push(t0 + 17 * HOUR, "review", day)
        self._online = exo.ad_online

    # -- handlers ----------------------------------------------------------------------------

    def _on_run(self, at: float, agent: Agent) -> None:
        if agent.id == "lead-scoring":
            return self._score(at)
        picks = NIGHTLY[agent.id](agent, self.company, at, self.day)
        send = None if agent.send_hour is None else at - at % DAY + agent.send_hour * HOUR
        self.plan(agent, picks, at, send)

    def _on_hourly(self, at: float, day: int) -> None:
        sch, ads = self.by_id["scheduler"], self.by_id["social-ads"]
        for pick in scheduler(sch, self.company, at, day):
            self.attempt(sch, pick, at)
        for pick in social_ads(ads, self.company, at, day, self._online):
            self.attempt(ads, pick, at)

    def _on_search(self, at: float, i: int) -> None:
        ps = self.by_id["paid-search"]
        for pick in paid_search(ps, self.company, at, np.array([i])):
            self.attempt(ps, pick, at)

    def _on_realtime(self, at: float, agent: Agent, pick: Pick) -> None:
        c = self.company
        if agent.id == "content-recs":
            if agent.last[pick.customer] >= at - 2 * DAY or c.stage[pick.customer] == CHURNED:
                return
            if c.pref[pick.customer, 5] > c.pref[pick.customer, 6]:
                pick = Pick(pick.customer, "push", "nurture")
        self.attempt(agent, pick, at)

    def _on_exec(self, at: float, agent: Agent, pick: Pick, token: str | None) -> None:
        self.deliver(agent, pick, at, token)

    def _on_stage(self, at: float, i: int, dst: int) -> None:
        if self.company.set_stage(i, dst, at):
            self.arm.event(i, "stage_changed", at, {"stage": STAGES[dst]}, "crm")

    def _on_review(self, at: float, day: int) -> None:
        """The daily approvals queue: a human approves a share; approval re-runs the gate."""
        pending, self.reviews = self.reviews, []
        for token, agent, pick in pending:
            ok = uniform(self.cfg.seed, pick.customer, agent.idx, day, 777) < self.cfg.approve_rate
            v = self.arm.review(token, ok, at)
            self.metrics.c["approved" if ok else "rejected"] += 1
            if v.outcome == "go":
                self.metrics.c["approved_sent"] += 1
            elif v.outcome == "defer":  # approved, but not now: Accord keeps it
                self.metrics.c["approved_deferred"] += 1
            if v.outcome in ("go", "defer"):
                self.follow(agent, pick, v, at, at)

    def _on_event(
        self, at: float, i: int, type_: str, data: dict[str, Any], value: float, agent: Agent | None
    ) -> None:
        c = self.company
        # What this event is worth beyond the untouched baseline: a retained account counts only
        # for the share this model would have lost without the touch; the stage is read before
        # the conversion moves it.
        incremental = value
        if type_ == "conversion":
            incremental = value * churn_share_untouched(int(c.stage[i]))
        if type_ == "purchase":
            c.purchase(i, at)
            if c.stage[i] in (LEAD, CHURNED, AT_RISK):
                c.set_stage(i, ACTIVE, at)
        elif type_ == "conversion":
            c.set_stage(i, ACTIVE, at)
        elif type_ == "unsubscribe":
            c.opt_out(i, "email", at)
        elif type_ == "opt_out":
            c.opt_out(i, str(data.get("channel", "all")), at)
        elif type_ == "ticket_opened":
            c.last_ticket[i] = at
            self.push(at + 900, "realtime", self.by_id["support"], Pick(i, "email", "support"))
        elif type_ == "reply" and data.get("intent") == "upsell":
            c.last_reply_upsell[i] = at
        elif type_ == "meeting_booked":
            c.meeting_at[i] = at
        payload = dict(data)
        if value:
            payload["value"] = round(value, 2)
        self.arm.event(i, type_, at, payload, agent.id if agent else None)
        if type_ == "conversion":
            self.arm.event(i, "stage_changed", at, {"stage": "active"}, "crm")
        self.metrics.event(
            i, type_, at, value, agent, str(data.get("channel") or "") or None, incremental
        )
        if type_ == "complaint":  # a complaint is also "stop contacting me"
            self._on_event(at, i, "opt_out", {"channel": "all"}, 0.0, None)

    # -- one touch ---------------------------------------------------------------------------

    def expected_value(self, pick: Pick) -> float:
        """What the agent's own model says the touch is worth, passed to the gate as ``value``
        so arbitration can rank by it: conversion rate × months of value × ARPU × (1 − discount).
        It reads the same tables as the response model (an agent with a calibrated model)."""
        p, i = self.cfg.response, pick.customer
        discount = float((pick.offer or {}).get("discount_pct") or 0.0)
        rate = p.convert.get(pick.intent, 0.0) * (1 + p.discount_lift * discount / 100)
        months = p.value_months.get(pick.intent, 0.0)
        return round(rate * months * float(self.company.arpu[i]) * (1 - discount / 100), 2)

    def _wants(self, agent: Agent, pick: Pick, now: float) -> bool:
        """Whether the agent still proposes: its own suppression list may have the opt-out."""
        if self.company.opt_at[pick.customer, CH[pick.channel]] + agent.suppression_lag <= now:
            self.metrics.c["self_suppressed"] += 1
            return False
        return True

    def attempt(self, agent: Agent, pick: Pick, now: float) -> None:
        """One proposal, decided at once (a real-time or hourly agent)."""
        if self._wants(agent, pick, now):
            v = self.arm.decide(agent, pick, now, now, self.expected_value(pick))
            self.metrics.decision(agent, pick, v.outcome, v.rules, now)
            self.follow(agent, pick, v, now, now)

    def plan(self, agent: Agent, picks: list[Pick], now: float, send_at: float | None) -> None:
        """A nightly agent's planning round: every touch it wants today, decided together
        (``propose_batch``) with its expected value, so the customer's slots go by value."""
        picks = [p for p in picks if self._wants(agent, p, now)]
        if not picks:
            return
        at = send_at if send_at is not None else now
        values = [self.expected_value(p) for p in picks]
        for pick, v in zip(picks, self.arm.decide_batch(agent, picks, at, now, values),
                           strict=True):
            self.metrics.decision(agent, pick, v.outcome, v.rules, at)
            self.follow(agent, pick, v, at, now)

    def follow(self, agent: Agent, pick: Pick, v: Verdict, at: float, now: float) -> None:
        """Act on a decision the way the docs tell an agent to: a go is sent (as the variant
        the gate applied, at its time), a flag waits for the reviewer, a kept defer waits for
        the scheduler's re-decision; a stop, or a defer Accord did not keep, ends the touch."""
        m = self.metrics
        if v.outcome == "go":
            if v.applied:
                m.c["amends_applied"] += 1
                pick = self._variant(pick, v.applied)
            when = max(at, v.at or at)
            agent.last[pick.customer] = when  # the agent knows at once what it queued
            if when > now:
                self.push(when, "exec", agent, pick, v.token)
            else:
                self.deliver(agent, pick, now, v.token)
        elif v.outcome == "defer":
            if v.follow_up is not None and v.retry_at is not None:
                m.c["kept"] += 1
                self.kept[v.follow_up] = (agent, pick)
                self._due_at(v.retry_at)
            else:
                m.c["deferred_dropped"] += 1  # no retry time within the deadline: it lapsed
        elif v.outcome == "flag" and v.token:
            m.c["approvals_requested"] += 1
            self.reviews.append((v.token, agent, pick))

    @staticmethod
    def _variant(pick: Pick, applied: dict[str, Any]) -> Pick:
        out = pick
        if isinstance(applied.get("offer"), dict):
            out = replace(out, offer=applied["offer"])
        if isinstance(applied.get("channel"), str):
            out = replace(out, channel=applied["channel"])
        return out

    def _due_at(self, t: float) -> None:
        """Wake the scheduler at ``t`` (once per instant), as a real replica's passes would."""
        if t not in self.wakeups:
            self.wakeups.add(t)
            self.push(t, "due")

    def _on_due(self, at: float) -> None:
        self.wakeups.discard(at)
        m = self.metrics
        for sid, v in self.arm.due(at):
            if sid not in self.kept:  # not one this fleet waits on (cannot happen today)
                continue
            agent, pick = self.kept[sid]
            if v.outcome == "defer" and v.retry_at is not None:
                m.c["redecided_defer"] += 1
                self._due_at(max(v.retry_at, at + 1))
                continue
            del self.kept[sid]
            m.c[f"redecided_{v.outcome}"] += 1
            if v.outcome != "lapsed":
                m.rules.update(v.rules)
                self.follow(agent, pick, v, at, at)

    def deliver(self, agent: Agent, pick: Pick, at: float, token: str | None) -> None:
        if not self.arm.execute(token, at):
            self.metrics.c["revoked_before_send"] += 1
            self.metrics.per_agent[agent.id]["revoked"] += 1
            return
        i, c, ex = pick.customer, self.company, self.exposure
        agent.last[i] = at
        contradictory = ex.contradicts(i, pick.intent, at)
        self.metrics.delivered(agent, pick, at, c, contradictory)
        ex.add(i, pick.channel, pick.intent, at, self.day)
        discount = float((pick.offer or {}).get("discount_pct") or 0.0)
        for r in respond(
            self.cfg.response,
            c,
            i,
            agent.idx,
            pick.channel,
            pick.intent,
            discount,
            at,
            ex.touches_7d(i),
            contradictory,
        ):
            self.push(at + r.delay, "event", i, r.type, r.data, r.value, agent)

    def _score(self, at: float) -> None:
        """lead-scoring: nudges the score of leads who logged in yesterday; writes context."""
        c = self.company
        idx = np.flatnonzero(
            (c.stage == LEAD)
            & (c.last_login >= at - at % DAY - DAY)
            & (c.last_login < at - at % DAY)
        )
        before = c.lead_score[idx].copy()
        c.lead_score[idx] = np.minimum(1.0, before + 0.15)
        for i in idx[(before <= 0.6) & (c.lead_score[idx] > 0.6)].tolist():
            self.arm.context_write(i, {"lead_score": round(float(c.lead_score[i]), 2)}, at)
            self.metrics.c["context_writes"] += 1
