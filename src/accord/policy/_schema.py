"""The policy file's schema. Unknown keys are errors: a typo must never silently disable a rule."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accord._time import parse_duration

Effect = Literal["go", "flag", "defer", "stop"]
Mode = Literal["enforce", "shadow"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


class Mandate(_Spec):
    intents: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    actions: list[str] | None = Field(default=None, description="action kinds; omitted means any")


class Authority(_Spec):
    max_discount_pct: float | None = Field(default=None, ge=0, le=100)
    max_cost_usd: float | None = Field(default=None, ge=0, description="per action")
    irreversible: Literal["go", "flag", "stop"] = Field(
        default="go", description="what the gate does with an irreversible action by this seat")


class Budget(_Spec):
    daily_usd: float | None = Field(default=None, ge=0)
    daily_tokens: int | None = Field(default=None, ge=0)


class ContextGrant(_Spec):
    read: list[str] = Field(default_factory=lambda: ["*"])
    write: list[str] = Field(default_factory=list)
    events: list[str] | None = Field(
        default=None, description="event types the seat may record; omitted: every type that "
        "reports a fact (not opt_in, not stage_changed); '*' every type")


class AgentSpec(_Spec):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    owner: str = Field(min_length=1)
    team: str | None = None
    description: str | None = None
    mandate: Mandate = Field(default_factory=Mandate)
    authority: Authority = Field(default_factory=Authority)
    budget: Budget = Field(default_factory=Budget)
    context: ContextGrant = Field(default_factory=ContextGrant)
    produces: list[str] = Field(default_factory=list, description="handoff kinds it sends")
    consumes: list[str] = Field(default_factory=list, description="handoff kinds it reads")
    status: Literal["active", "paused", "retired"] = "active"


class CapSpec(_Spec):
    id: str
    limit: int = Field(ge=0)
    per: float
    channels: list[str] | None = None
    intents: list[str] | None = Field(default=None,
                                      description="only these intents count and are capped")
    exempt_intents: list[str] = Field(default_factory=list)
    effect: Literal["defer", "stop", "flag"] = "defer"
    mode: Mode = "enforce"
    _v = field_validator("per", mode="before")(_duration)


class SpacingSpec(_Spec):
    id: str
    min_gap: float
    between: Literal["different_agents", "same_agent", "any"] = "different_agents"
    channels: list[str] | None = None
    exempt_intents: list[str] = Field(default_factory=list)
    effect: Literal["defer", "stop", "flag"] = "defer"
    mode: Mode = "enforce"
    _v = field_validator("min_gap", mode="before")(_duration)


def _clock_time(value: Any) -> str:
    text = str(value)
    hh, sep, mm = text.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 0 <= int(hh) <= 23
            and 0 <= int(mm) <= 59):
        raise ValueError(f"{text!r} is not a local time HH:MM (00:00–23:59)")
    return f"{int(hh):02d}:{mm}"


def _zone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris, "
                         "America/New_York, UTC)") from None
    return str(value)


class QuietHoursSpec(_Spec):
    """No outbound message between ``start`` and ``end`` in the customer's own time zone (the
    context field ``tz_field``, else ``default_tz``); a proposal inside the window defers to
    the next local ``end``."""

    id: str = "quiet-hours"
    start: str
    end: str
    channels: list[str] | None = None
    tz_field: str = "tz"
    default_tz: str = "UTC"
    exempt_intents: list[str] = Field(default_factory=lambda: ["support"])
    mode: Mode = "enforce"
    _t = field_validator("start", "end", mode="before")(_clock_time)
    _z = field_validator("default_tz", mode="before")(_zone)


class ConflictSpec(_Spec):
    id: str
    intents: list[str] = Field(min_length=2)
    within: float
    effect: Literal["stop", "defer", "flag"] = "stop"
    mode: Mode = "enforce"
    _v = field_validator("within", mode="before")(_duration)


class RuleSpec(_Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    effect: Effect
    when: str = Field(min_length=1,
                      description="CEL condition over action, customer, touches, agent, now")
    until: str | None = Field(default=None, description="CEL timestamp: when a defer clears")
    message: str | None = Field(default=None, description="the sentence a person reads")
    mode: Mode = "enforce"
    on_error: Literal["match", "ignore"] = "match"
    intents: list[str] | None = Field(default=None, description="only proposals with these intents")
    channels: list[str] | None = None
    agents: list[str] | None = None
    outbound_only: bool = Field(default=False, description="skip support replies")


class ReducerSpec(_Spec):
    event: str
    set: dict[str, str] = Field(default_factory=dict, description="field: CEL expression")
    append: dict[str, str] = Field(default_factory=dict, description="field: CEL (list add)")
    remove: dict[str, str] = Field(default_factory=dict, description="field: CEL (list remove)")
    unset: list[str] = Field(default_factory=list)
    when: str | None = None


class CommitmentSpec(_Spec):
    default_valid_for: float = 14 * 86400.0
    on_contradiction: Literal["stop", "flag"] = "stop"
    own_offer: Literal["honour", "update", "stop"] = Field(
        default="honour", description="a seat changing its own earlier offer: honour (treated "
        "like any contradiction; the earlier offer is the amend), update (the new offer "
        "replaces it) or stop (stopped, no amend)")
    _v = field_validator("default_valid_for", mode="before")(_duration)


class TraceSpec(_Spec):
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=0)
    max_depth: int | None = Field(default=None, ge=1, description="proposals in one trace")


class HandoffKindSpec(_Spec):
    """A kind of handoff between seats: its payload's JSON Schema and how soon it is due."""

    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    sla: str = "24h"
    description: str | None = None

    @field_validator("sla")
    @classmethod
    def _sla(cls, value: str) -> str:
        _duration(value)
        return value


class HoldoutSpec(_Spec):
    """A control group for the lift report (docs/lift.md): a stable hashed share of customers
    whose proposals are decided with the coordination rules in shadow."""

    share: float = Field(gt=0, lt=1, description="fraction of customers held out, e.g. 0.05")
    salt: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$",
                      description="names the experiment; a new salt draws a new group")
    enforce: list[str] = Field(default_factory=list, description="ids of rules, caps, spacing "
                               "and conflicts that hold for the holdout too (opt-outs)")


class Settings(_Spec):
    touch_lease: float = 24 * 3600.0
    touch_horizon: float = 30 * 86400.0
    approval_sla: float = 24 * 3600.0
    commit_horizon: float = Field(
        default=15 * 60.0, ge=0, description="a go for a touch due within this long of the "
        "deciding moment is final: never pre-empted by a higher seat (docs/policy.md)")
    holdout: HoldoutSpec | None = None
    _v = field_validator("touch_lease", "touch_horizon", "approval_sla", "commit_horizon",
                         mode="before")(_duration)


class CaseSpec(_Spec):
    """A worked example the policy must decide as written (`accord policy test`)."""

    name: str
    proposal: dict[str, Any]
    context: dict[str, Any] = Field(default_factory=dict)
    touches: list[dict[str, Any]] = Field(default_factory=list)
    claims: list[dict[str, Any]] = Field(default_factory=list)
    expect: Effect
    expect_rules: list[str] = Field(default_factory=list)


class PolicySpec(_Spec):
    version: Literal[1] = 1
    channels: list[str] = Field(min_length=1)
    intents: list[str] | None = None
    outbound_exempt_intents: list[str] = Field(default_factory=lambda: ["support"])
    agents: list[AgentSpec] = Field(default_factory=list)
    precedence: list[str] = Field(default_factory=list)
    caps: list[CapSpec] = Field(default_factory=list)
    spacing: list[SpacingSpec] = Field(default_factory=list)
    conflicts: list[ConflictSpec] = Field(default_factory=list)
    quiet_hours: list[QuietHoursSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    reducers: list[ReducerSpec] = Field(default_factory=list)
    commitments: CommitmentSpec = Field(default_factory=CommitmentSpec)
    traces: TraceSpec = Field(default_factory=TraceSpec)
    handoff_kinds: dict[str, HandoffKindSpec] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    tests: list[CaseSpec] = Field(default_factory=list)
