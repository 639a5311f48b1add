"""The synthetic company: customers, their ground truth, and what happens to them on their own.

State is held column-wise in numpy arrays so that 100,000 customers cost a few megabytes and an
agent's nightly selection is a vectorised mask, not a Python loop. Everything that happens
without an agent — logins, tickets, organic purchases, stage drift — is drawn from a generator
seeded by (seed, day), so both arms of a run see the same random world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accord.simulate._params import CHANNELS

DAY = 86400.0
HOUR = 3600.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the simulated calendar starts here
NEVER = -1e18
LATER = 1e18

STAGES = ("lead", "active", "at_risk", "renewal", "churned")
LEAD, ACTIVE, AT_RISK, RENEWAL, CHURNED = range(5)
SEGMENTS = ("smb", "mid", "enterprise")
ARPU = np.array([50.0, 400.0, 3000.0])  # monthly revenue per segment
CH = {c: i for i, c in enumerate(CHANNELS)}

# Daily probabilities per stage (lead, active, at_risk, renewal, churned).
P_LOGIN = np.array([0.08, 0.30, 0.08, 0.20, 0.01])
P_TICKET = np.array([0.001, 0.004, 0.012, 0.008, 0.0])
P_BUY = np.array([0.004, 0.003, 0.001, 0.0, 0.0008])
P_SEARCH = 0.04  # a lead searches for the product category
RENEWAL_DAYS = 14
RENEW_UNTOUCHED = 0.85
"""Share of renewal accounts that renew at the end of their renewal window with no touch."""
AT_RISK_CHURN, AT_RISK_RECOVER = 0.015, 0.01
"""Daily probabilities that an at-risk account churns, or recovers, with no touch."""


def churn_share_untouched(stage: int) -> float:
    """Share of accounts in ``stage`` that this model loses when nobody touches them: what a
    retained account is worth in *incremental* terms. Renewal: 1 − RENEW_UNTOUCHED; at risk: the
    chance that churn comes before recovery; any other stage: nothing to save."""
    if stage == RENEWAL:
        return 1.0 - RENEW_UNTOUCHED
    if stage == AT_RISK:
        return AT_RISK_CHURN / (AT_RISK_CHURN + AT_RISK_RECOVER)
    return 0.0


def customer_id(i: int) -> str:
    return f"c{i:07d}"


def uniform(*keys: int) -> float:
    """A uniform in [0, 1) from integer keys (splitmix64 over the tuple's hash).

    The same touch (customer, agent, hour, purpose) gets the same draw in both arms: common
    random numbers, so differences between arms come from decisions, not from noise."""
    x = (hash(keys) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return ((x ^ (x >> 31)) >> 11) / 9007199254740992.0


@dataclass
class Exogenous:
    """What happens on one day without any agent: (customer index, time) per kind."""

    logins: tuple[np.ndarray, np.ndarray]
    tickets: tuple[np.ndarray, np.ndarray]
    purchases: tuple[np.ndarray, np.ndarray]
    searches: tuple[np.ndarray, np.ndarray]
    ad_online: np.ndarray
    stage_moves: list[tuple[int, float, int]]


class Company:
    """Ground truth for every customer. Agents never read this directly; they read views."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        self.n, self.seed = n, seed
        self.segment = rng.choice(3, size=n, p=[0.6, 0.3, 0.1]).astype(np.int8)
        self.stage = rng.choice(5, size=n, p=[0.30, 0.45, 0.10, 0.05, 0.10]).astype(np.int8)
        self.prev_stage = self.stage.copy()
        self.stage_since = np.full(n, START - 30 * DAY)
        self.renewal_ends = np.where(
            self.stage == RENEWAL, START + rng.integers(1, RENEWAL_DAYS, n) * DAY, LATER
        )
        self.arpu = ARPU[self.segment] * rng.lognormal(0.0, 0.3, n)
        pref = rng.gamma(2.0, 0.5, size=(n, len(CHANNELS)))
        self.pref = np.minimum(pref, 3.0).astype(np.float32)
        self.opt_out_propensity = rng.lognormal(0.0, 0.5, n).astype(np.float32)
        self.buy_propensity = rng.lognormal(0.0, 0.5, n).astype(np.float32)
        self.last_purchase = np.where(
            rng.random(n) < 0.3, START - rng.uniform(1, 90, n) * DAY, NEVER
        )
        self.prev_purchase = np.full(n, NEVER)
        self.last_login = START - rng.uniform(0, 40, n) * DAY
        self.last_ticket = np.full(n, NEVER)
        self.last_reply_upsell = np.full(n, NEVER)
        self.meeting_at = np.full(n, NEVER)
        self.lead_score = rng.random(n).astype(np.float32)
        self.opt_at = np.full((n, len(CHANNELS)), LATER)

    # -- views -------------------------------------------------------------------------------

    def stage_as_of(self, t: float) -> np.ndarray:
        """Each customer's stage as a system refreshed at ``t`` would know it."""
        return np.where(self.stage_since <= t, self.stage, self.prev_stage)

    def purchase_as_of(self, t: float) -> np.ndarray:
        return np.where(
            self.last_purchase <= t,
            self.last_purchase,
            np.where(self.prev_purchase <= t, self.prev_purchase, NEVER),
        )

    # -- truth updates -----------------------------------------------------------------------

    def set_stage(self, i: int, stage: int, at: float) -> bool:
        if self.stage[i] == stage:
            return False
        self.prev_stage[i], self.stage[i], self.stage_since[i] = self.stage[i], stage, at
        self.renewal_ends[i] = at + RENEWAL_DAYS * DAY if stage == RENEWAL else LATER
        return True

    def opt_out(self, i: int, channel: str, at: float) -> None:
        cols = slice(None) if channel == "all" else CH[channel]
        self.opt_at[i, cols] = np.minimum(self.opt_at[i, cols], at)

    def purchase(self, i: int, at: float) -> None:
        self.prev_purchase[i], self.last_purchase[i] = self.last_purchase[i], at

    # -- the world on its own ----------------------------------------------------------------

    def exogenous(self, day: int) -> Exogenous:
        """Draw the day. Array sizes never depend on state, so both arms consume the same
        random numbers; only which draws take effect depends on each arm's state."""
        rng = np.random.default_rng([self.seed, day + 1])
        n, stage, t0 = self.n, self.stage, START + day * DAY

        def pick(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            u, when = rng.random(n), t0 + rng.uniform(7 * HOUR, 23 * HOUR, n)
            idx = np.flatnonzero(u < p)
            return idx, when[idx]

        logins = pick(P_LOGIN[stage])
        tickets = pick(P_TICKET[stage])
        purchases = pick(P_BUY[stage] * self.buy_propensity)
        searches = pick(np.where(stage == LEAD, P_SEARCH, 0.0))
        ad_online = np.flatnonzero(rng.random(n) < 0.25)
        u, when = rng.random(n), t0 + rng.uniform(1 * HOUR, 6 * HOUR, n)
        moves: list[tuple[int, float, int]] = []
        for src, dst, p in (
            (ACTIVE, AT_RISK, 0.008),
            (ACTIVE, RENEWAL, 0.004),
            (AT_RISK, CHURNED, AT_RISK_CHURN),
            (AT_RISK, ACTIVE, AT_RISK_RECOVER),
        ):
            lo = {(ACTIVE, RENEWAL): 0.008, (AT_RISK, ACTIVE): 0.015}.get((src, dst), 0.0)
            for i in np.flatnonzero((stage == src) & (u >= lo) & (u < lo + p)):
                moves.append((int(i), float(when[i]), dst))
        due = np.flatnonzero((stage == RENEWAL) & (self.renewal_ends <= t0 + DAY))
        for i in due:
            dst = ACTIVE if u[i] < RENEW_UNTOUCHED else CHURNED
            moves.append((int(i), float(max(self.renewal_ends[i], t0)), dst))
        return Exogenous(logins, tickets, purchases, searches, ad_online, moves)
