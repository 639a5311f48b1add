"""The arms: the same fleet with nothing between it and the customer, or through Accord.

An arm answers the engine's questions — may this touch (or this planning round) go, did the go
survive until it was sent, record this customer event, record this context write — and, for
Accord, review a flagged proposal and run the scheduler's due re-decisions. The coordinated arm
uses the real service, gate, scheduler and SQLite store on the simulated clock, and integrates
the way docs/api.md and docs/scheduling.md tell a real agent to: every proposal passes its
``value``, accepts the amends the gate can apply (``accept``) and asks Accord to keep a defer
(``on_defer="reschedule"`` with a deadline); nothing about Accord is re-implemented here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from accord._errors import Conflict
from accord.model import Decision
from accord.policy import Policy
from accord.scheduler import Scheduler
from accord.service import Accord
from accord.simulate._agents import COST, Agent, Pick
from accord.simulate._company import customer_id

EXTRA_SEATS: list[dict[str, Any]] = [
    {
        "id": "social-ads",
        "owner": "growth",
        "team": "marketing",
        "description": "retargeting on social networks",
        "mandate": {
            "intents": ["reactivate", "acquire"],
            "channels": ["social_ad"],
            "actions": ["ad"],
        },
    },
    {
        "id": "paid-search",
        "owner": "growth",
        "team": "marketing",
        "description": "search ads for people looking for the category",
        "mandate": {"intents": ["acquire"], "channels": ["search_ad"], "actions": ["ad"]},
    },
    {
        "id": "content-recs",
        "owner": "product",
        "team": "product",
        "description": "in-app and push recommendations after a login",
        "mandate": {"intents": ["nurture"], "channels": ["in_app", "push"]},
    },
]


def example_policy_text() -> str:
    return resources.files("accord.templates").joinpath("accord.yaml").read_text()


def with_fleet_seats(text: str, fleet_ids: list[str]) -> tuple[str, list[str]]:
    """The policy text plus a seat for every fleet agent it does not declare (the ad and
    recommendation agents, with mandates on social_ad / search_ad / in_app / push).

    Returns the new text and the ids of the seats that were added."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("the policy file is not a YAML mapping")
    seats = data.setdefault("agents", [])
    have = {s.get("id") for s in seats if isinstance(s, dict)}
    added = []
    for seat in EXTRA_SEATS:
        if seat["id"] in fleet_ids and seat["id"] not in have:
            seats.append(seat)
            added.append(seat["id"])
    channels = data.get("channels")
    if isinstance(channels, list):
        for ch in ("social_ad", "search_ad", "in_app", "push"):
            if ch not in channels:
                channels.append(ch)
    precedence = data.get("precedence")
    if isinstance(precedence, list):
        precedence.extend(a for a in added if a not in precedence)
    return yaml.safe_dump(data, sort_keys=False), added


HOLDOUT_SALT = "simulation"


def with_holdout(text: str, share: float) -> str:
    """The policy text with ``settings.holdout`` set to ``share`` of customers (opt-outs still
    enforced for them, as docs/lift.md advises); ``share`` 0 leaves the text as it is."""
    if share <= 0:
        return text
    data = yaml.safe_load(text)
    settings = data.setdefault("settings", None) or {}
    data["settings"] = settings
    settings["holdout"] = {"share": share, "salt": HOLDOUT_SALT, "enforce": ["opted-out"]}
    return yaml.safe_dump(data, sort_keys=False)


ACCEPT = ["offer", "channel", "time"]
"""What the simulated agents accept in place of what they asked (docs/policy.md, "Amend"): the
discount the seat may give or the offer already committed, another mandated channel, a later
time at which the blocking windows clear."""
BATCH = 100
"""Proposals per ``propose_batch`` call (the API's bound)."""


@dataclass(frozen=True)
class Verdict:
    outcome: str
    """go, flag, defer or stop; ``lapsed`` for a kept proposal whose deadline passed."""
    token: str | None = None
    retry_at: float | None = None
    rules: tuple[str, ...] = ()
    follow_up: str | None = None
    """For a defer Accord keeps: the scheduled proposal that will be re-decided at retry_at."""
    applied: dict[str, Any] | None = None
    """For a go with an accepted amend: what changed (``offer``, ``channel`` or ``at``)."""
    at: float | None = None
    """When the touch is to reach the customer (a later time when the gate applied one)."""


def verdict(d: Decision) -> Verdict:
    """What an agent reads from a decision."""
    rules = tuple(r.rule for r in d.reasons if r.effect.value == d.outcome.value)
    retry = d.retry_at.timestamp() if d.retry_at else None
    token = d.touch_id if d.touch_id else d.id
    applied = dict(d.applied) if d.applied else None
    at = d.proposal.at.timestamp() if applied and "at" in applied and d.proposal.at else None
    return Verdict(d.outcome.value, token, retry, rules, d.follow_up, applied, at)


class Uncoordinated:
    """Each agent on its own: whatever it decides goes out."""

    name = "uncoordinated"
    label = "Without Accord"

    def decide(
        self, agent: Agent, pick: Pick, at: float, now: float, value: float | None = None
    ) -> Verdict:
        return Verdict("go")

    def decide_batch(
        self, agent: Agent, picks: list[Pick], at: float, now: float, values: list[float]
    ) -> list[Verdict]:
        return [self.decide(agent, p, at, now, v) for p, v in zip(picks, values, strict=True)]

    def due(self, now: float) -> list[tuple[str, Verdict]]:
        return []

    def lift(self, since: float, until: float) -> dict[str, Any] | None:
        return None

    def execute(self, token: str | None, at: float) -> bool:
        return True

    def event(
        self, i: int, type_: str, at: float, data: dict[str, Any], source: str | None
    ) -> None:
        pass

    def context_write(self, i: int, changes: dict[str, Any], at: float) -> None:
        pass

    def review(self, token: str, approve: bool, at: float) -> Verdict:  # pragma: no cover
        return Verdict("go")

    def close(self) -> None:
        pass


class SimClock:
    """The store's clock, moved by the engine: windows and leases use simulated time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Coordinated:
    """Every touch through the real gate; every event through ``record_event``."""

    def __init__(
        self,
        policy: Policy,
        *,
        name: str = "accord",
        label: str = "With Accord",
        in_memory_fs: bool = False,
        keep_days: float = 3.0,
    ) -> None:
        self.name, self.label = name, label
        self.clock = SimClock()
        # The store lives on a RAM-backed filesystem when there is one and the run's estimated
        # store fits comfortably (``_run.store_in_ram``); otherwise in the temporary directory.
        shm = "/dev/shm" if in_memory_fs and Path("/dev/shm").is_dir() else None
        self._dir = tempfile.TemporaryDirectory(prefix="accord-sim-", dir=shm)
        self.acc = Accord.open(
            Path(self._dir.name) / "sim.db", policy=policy, clock=self.clock, durability="off"
        )
        self.scheduler = Scheduler(self.acc, batch=500)
        self.deadline = f"{round(keep_days * 24)}h"

    def _proposal(
        self, agent: Agent, pick: Pick, at: float, value: float | None
    ) -> dict[str, Any]:
        return {
            "agent": agent.id,
            "customer": customer_id(pick.customer),
            "channel": pick.channel,
            "intent": pick.intent,
            "action": pick.action,
            "offer": pick.offer,
            "cost": {"usd": COST[pick.channel]},
            "at": at,
            "value": value,
            "on_defer": "reschedule",
            "deadline": self.deadline,
            "accept": ACCEPT,
        }

    def decide(
        self, agent: Agent, pick: Pick, at: float, now: float, value: float | None = None
    ) -> Verdict:
        self.clock.now = now
        p = self._proposal(agent, pick, at, value)
        return verdict(self.acc.propose(p.pop("agent"), p.pop("customer"), **p))

    def decide_batch(
        self, agent: Agent, picks: list[Pick], at: float, now: float, values: list[float]
    ) -> list[Verdict]:
        """One planning round through ``propose_batch``, in batches of ``BATCH``."""
        self.clock.now = now
        items = [self._proposal(agent, p, at, v) for p, v in zip(picks, values, strict=True)]
        out: list[Verdict] = []
        for k in range(0, len(items), BATCH):
            out.extend(verdict(d) for d in self.acc.propose_batch(items[k : k + BATCH]))
        return out

    def due(self, now: float) -> list[tuple[str, Verdict]]:
        """Run the scheduler at ``now`` (as ``accord serve`` does every second) and read what
        became of each kept proposal it touched: its latest decision, or that it lapsed."""
        self.clock.now = now
        out: list[tuple[str, Verdict]] = []
        while True:
            report = self.scheduler.run_once()
            for sid in report.decided:
                kept = self.acc.scheduled(sid)
                if kept.status.value == "waiting":
                    out.append((sid, Verdict("defer", retry_at=kept.due_at.timestamp(),
                                             follow_up=sid)))
                else:
                    out.append((sid, verdict(self.acc.decision(kept.decisions[-1]))))
            out.extend((sid, Verdict("lapsed")) for sid in report.lapsed)
            if len(report.decided) + len(report.lapsed) + len(report.failed) < self.scheduler.batch:
                return out

    def execute(self, token: str | None, at: float) -> bool:
        if token is None:
            return True
        self.clock.now = at
        try:
            self.acc.report_outcome(token, "executed")
        except Conflict:
            return False  # revoked since the go: an event or a pre-emption forbade it
        return True

    def event(
        self, i: int, type_: str, at: float, data: dict[str, Any], source: str | None
    ) -> None:
        self.clock.now = at
        self.acc.record_event(customer_id(i), type_, at=at, data=data, source=source)

    def context_write(self, i: int, changes: dict[str, Any], at: float) -> None:
        self.clock.now = at
        cid = customer_id(i)
        version = self.acc.context(cid).version
        self.acc.update_context(cid, changes, expected_version=version, agent="lead-scoring")

    def review(self, token: str, approve: bool, at: float) -> Verdict:
        self.clock.now = at
        if approve:
            d = self.acc.approve(token, reviewer="ops-lead", note="simulated daily review")
        else:
            d = self.acc.reject(token, reviewer="ops-lead", note="simulated daily review")
        return verdict(d)

    def lift(self, since: float, until: float) -> dict[str, Any] | None:
        """``accord report lift`` over the run, when the policy holds customers out."""
        if self.acc.policy.spec.settings.holdout is None:
            return None
        from accord.lift import lift_report

        self.clock.now = until
        out: dict[str, Any] = lift_report(self.acc, since, until).to_dict()
        return out

    def close(self) -> None:
        self.acc.close()
        self._dir.cleanup()
