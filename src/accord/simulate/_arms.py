"""The arms: the same fleet with nothing between it and the customer, or through Accord.

An arm answers four questions for the engine — may this touch go, did the go survive until it
was sent, record this customer event, record this context write — and, for Accord, review a
flagged proposal. The coordinated arm uses the real service, gate and SQLite store on the
simulated clock; nothing about Accord is re-implemented here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from accord._errors import Conflict
from accord.policy import Policy
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


@dataclass(frozen=True)
class Verdict:
    outcome: str
    token: str | None = None
    retry_at: float | None = None
    rules: tuple[str, ...] = ()
    offer: dict[str, Any] | None = None
    """The offer the gate's ``amend`` says would pass (a capped discount, an earlier offer)."""


class Uncoordinated:
    """Each agent on its own: whatever it decides goes out."""

    name = "uncoordinated"
    label = "Without Accord"

    def decide(
        self, agent: Agent, pick: Pick, at: float, now: float, value: float | None = None
    ) -> Verdict:
        return Verdict("go")

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
    ) -> None:
        self.name, self.label = name, label
        self.clock = SimClock()
        # Small runs keep their store on a RAM-backed filesystem when there is one; large runs
        # (gigabytes of ledger) go to the temporary directory on disk.
        shm = "/dev/shm" if in_memory_fs and Path("/dev/shm").is_dir() else None
        self._dir = tempfile.TemporaryDirectory(prefix="accord-sim-", dir=shm)
        self.acc = Accord.open(
            Path(self._dir.name) / "sim.db", policy=policy, clock=self.clock, durability="off"
        )

    def decide(
        self, agent: Agent, pick: Pick, at: float, now: float, value: float | None = None
    ) -> Verdict:
        self.clock.now = now
        d = self.acc.propose(
            agent.id,
            customer_id(pick.customer),
            channel=pick.channel,
            intent=pick.intent,
            action=pick.action,
            offer=pick.offer,
            cost=COST[pick.channel],
            at=at,
            value=value,
        )
        rules = tuple(r.rule for r in d.reasons if r.effect.value == d.outcome.value)
        retry = d.retry_at.timestamp() if d.retry_at else None
        token = d.touch_id if d.touch_id else d.id
        offer = d.amend.get("offer") if isinstance(d.amend.get("offer"), dict) else None
        return Verdict(d.outcome.value, token, retry, rules, offer)

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
        rules = tuple(r.rule for r in d.reasons if r.effect.value == d.outcome.value)
        retry = d.retry_at.timestamp() if d.retry_at else None
        return Verdict(d.outcome.value, d.touch_id, retry, rules)

    def close(self) -> None:
        self.acc.close()
        self._dir.cleanup()
