"""Seats as records: how the policy file and the run-time registry combine, where mandates
overlap, and what a retirement leaves without an owner. Pure functions; the service does I/O.

Reconciliation (documented in docs/governance.md):

- the registry wins for **status** (a pause or a retirement survives every policy apply) and for
  seats **registered at run time** (the file does not know them);
- the file wins for **everything else** on each policy apply: a run-time ``update_seat`` of a
  file seat holds only until the next file version is applied;
- a seat the registry learned from the file that the file no longer declares is **reported**
  (``removed_from_file``) and kept as it was, never silently deleted: retire it or restore it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.policy import AgentSpec, Policy

Status = Literal["active", "paused", "retired"]


class Seat(BaseModel):
    """A seat as it stands now: the spec in effect, its status and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    owner: str
    team: str | None = None
    description: str | None = None
    status: Status
    intents: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    actions: list[str] | None = None
    produces: list[str] = Field(default_factory=list)
    consumes: list[str] = Field(default_factory=list)
    reads: list[str] = Field(default_factory=lambda: ["*"],
                             description="context fields it may read")
    writes: list[str] = Field(default_factory=list, description="context fields it may write")
    events: list[str] | None = Field(default=None, description="event types it may record; "
                                     "None: the default grant (docs/governance.md)")
    precedence: int | None = Field(default=None, description="0 wins; None: not ranked")
    origin: Literal["file", "runtime"] = "file"
    in_file: bool = True
    overridden: bool = Field(default=False, description="a run-time update holds until the next"
                                                        " policy apply")
    updated_at: float | None = None
    updated_by: str | None = None


class Overlap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seats: tuple[str, str]
    shared: list[str] = Field(description="intent@channel pairs both may act on")
    settled_by_precedence: bool
    winner: str | None = None

    def sentence(self) -> str:
        what = ", ".join(self.shared)
        if self.settled_by_precedence:
            return f"{self.seats[0]} and {self.seats[1]} share {what}; precedence: {self.winner}"
        return (f"{self.seats[0]} and {self.seats[1]} share {what} and precedence does not "
                "settle it: add both to `precedence` or narrow one mandate")


class Orphans(BaseModel):
    """What a seat change left without an owner."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    intents: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    unconsumed_kinds: list[str] = Field(default_factory=list,
                                        description="handoff kinds still produced, now unread")
    unproduced_kinds: list[str] = Field(default_factory=list,
                                        description="kinds a seat consumes that nobody produces")

    @property
    def empty(self) -> bool:
        return not (self.intents or self.channels or self.unconsumed_kinds
                    or self.unproduced_kinds)


class SeatChange(BaseModel):
    """The answer to a lifecycle call: the seat after it, and what the change caused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seat: Seat
    action: str
    revoked: list[str] = Field(default_factory=list, description="pending touch ids revoked")
    orphaned: Orphans = Field(default_factory=Orphans)
    overlaps: list[Overlap] = Field(default_factory=list)


@dataclass
class Registry:
    """One registry row, decoded."""

    id: str
    spec: dict[str, Any]
    status: Status
    origin: str
    file_version: str | None
    override: bool
    updated_at: float
    updated_by: str | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Registry:
        doc = json.loads(r["spec"])
        return cls(r["id"], doc["spec"], r["status"], doc.get("origin", "runtime"),
                   doc.get("file_version"), bool(doc.get("override")), float(r["updated_at"]),
                   r["updated_by"])

    def document(self) -> str:
        return json.dumps({"origin": self.origin, "file_version": self.file_version,
                           "override": self.override, "spec": self.spec}, sort_keys=True)


@dataclass
class Reconciled:
    specs: list[AgentSpec]
    seats: list[Seat]
    removed_from_file: list[str] = field(default_factory=list)


def reconcile(base: Policy, rows: list[Registry]) -> Reconciled:
    """The seats in effect: ``base`` is the policy as loaded from the file."""
    by_id = {r.id: r for r in rows}
    specs: list[AgentSpec] = []
    meta: dict[str, tuple[str, bool, bool, Registry | None]] = {}
    for spec in base.spec.agents:
        r = by_id.get(spec.id)
        if r is None:
            specs.append(spec)
            meta[spec.id] = ("file", True, False, None)
            continue
        use_override = r.override and r.file_version == base.version
        chosen = AgentSpec.model_validate({**r.spec, "status": r.status}) if use_override \
            else spec.model_copy(update={"status": r.status})
        specs.append(chosen)
        meta[spec.id] = ("file", True, use_override, r)
    removed = []
    for r in rows:
        if r.id in meta:
            continue
        if r.origin == "file" and r.status != "retired":
            removed.append(r.id)
        specs.append(AgentSpec.model_validate({**r.spec, "status": r.status}))
        meta[r.id] = ("runtime" if r.origin == "runtime" else "file", False, False, r)
    seats = []
    for s in specs:
        origin, in_file, overridden, r = meta[s.id]
        seats.append(seat_view(s, base, origin=origin, in_file=in_file, overridden=overridden,
                               updated_at=r.updated_at if r else None,
                               updated_by=r.updated_by if r else None))
    return Reconciled(specs, seats, sorted(removed))


def seat_view(s: AgentSpec, policy: Policy, **extra: Any) -> Seat:
    return Seat(id=s.id, owner=s.owner, team=s.team, description=s.description, status=s.status,
                intents=list(s.mandate.intents), channels=list(s.mandate.channels),
                actions=s.mandate.actions, produces=list(s.produces),
                consumes=list(s.consumes), reads=list(s.context.read),
                writes=list(s.context.write),
                events=None if s.context.events is None else list(s.context.events),
                precedence=policy.rank.get(s.id), **extra)


def _scope(s: AgentSpec) -> set[str]:
    channels = s.mandate.channels or ["(no channel)"]
    return {f"{i}@{c}" for i in s.mandate.intents for c in channels}


def overlaps(policy: Policy) -> list[Overlap]:
    """Pairs of active seats that may act with the same intent on the same channel. Precedence
    settles a pair when both are ranked (the earlier one wins)."""
    active = [s for s in policy.agents.values() if s.status == "active"]
    found = []
    for i, a in enumerate(active):
        for b in active[i + 1:]:
            shared = sorted(_scope(a) & _scope(b))
            if not shared:
                continue
            settled = a.id in policy.rank and b.id in policy.rank
            winner = min((a.id, b.id), key=policy.rank_of) if settled else None
            found.append(Overlap(seats=(a.id, b.id), shared=shared,
                                 settled_by_precedence=settled, winner=winner))
    return found


def orphans(before: Policy, after: Policy, seat_id: str) -> Orphans:
    """What ``seat_id`` owned in ``before`` that no remaining (non-retired) seat owns after."""
    gone = before.agents.get(seat_id)
    if gone is None:
        return Orphans()
    live = [s for s in after.agents.values() if s.status != "retired" and s.id != seat_id]
    intents = {i for s in live for i in s.mandate.intents}
    channels = {c for s in live for c in s.mandate.channels}
    produced = {k for s in live for k in s.produces}
    consumed = {k for s in live for k in s.consumes}
    return Orphans(
        intents=sorted(set(gone.mandate.intents) - intents),
        channels=sorted(set(gone.mandate.channels) - channels),
        unconsumed_kinds=sorted((set(gone.consumes) & produced) - consumed),
        unproduced_kinds=sorted((set(gone.produces) & consumed) - produced))


def unconsumed_outputs(policy: Policy) -> dict[str, list[str]]:
    """Handoff kinds some live seat produces that no live seat consumes: kind → producers."""
    live = [s for s in policy.agents.values() if s.status != "retired"]
    consumed = {k for s in live for k in s.consumes}
    out: dict[str, list[str]] = {}
    for s in live:
        for k in s.produces:
            if k not in consumed:
                out.setdefault(k, []).append(s.id)
    return out
