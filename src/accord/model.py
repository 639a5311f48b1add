"""The domain's nouns as they cross every interface: proposal, decision, touch, event, context.

These are the public shapes of the in-process API, the HTTP API (their JSON schema is the
OpenAPI schema) and the ledger. The gate itself works on the lighter views in ``gate``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from accord._time import parse_duration, to_datetime, to_epoch


def _as_datetime(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo:
        return value
    if not isinstance(value, datetime | str | int | float) or isinstance(value, bool):
        raise ValueError("a timestamp is RFC 3339 text or epoch seconds")
    return to_datetime(to_epoch(value))


Timestamp = Annotated[
    datetime,
    BeforeValidator(_as_datetime),
    PlainSerializer(lambda d: d.isoformat().replace("+00:00", "Z"), when_used="json"),
]
"""A UTC instant; accepts RFC 3339 text, epoch seconds or a datetime (naive means UTC)."""


class Outcome(StrEnum):
    GO = "go"
    FLAG = "flag"
    DEFER = "defer"
    STOP = "stop"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Outcome.GO: 0, Outcome.FLAG: 1, Outcome.DEFER: 2, Outcome.STOP: 3}


class TouchStatus(StrEnum):
    PENDING = "pending"
    EXECUTED = "executed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVOKED = "revoked"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Offer(BaseModel):
    """What a proposal promises. ``product`` + ``discount_pct`` (or ``price``) become a
    commitment on go; later offers on the same product must not contradict it."""

    model_config = ConfigDict(extra="allow", frozen=True)
    product: str | None = None
    discount_pct: float | None = Field(default=None, ge=0, le=100)
    price: float | None = Field(default=None, ge=0)
    valid_for: str | None = Field(default=None, description="how long the offer holds, e.g. 14d")


class Cost(_Model):
    """What acting costs: money and/or model tokens. Budgets and trace ceilings sum these."""

    usd: float = Field(default=0.0, ge=0)
    tokens: int = Field(default=0, ge=0)


MAX_DEADLINE = 366 * 86400.0
"""The longest a proposal may ask Accord to keep it (as a duration)."""

NAME = r"^[^\x00-\x1f\x7f]+$"
"""Ids and names: any text without control characters (which some stores cannot keep)."""


class Deliver(_Model):
    """Ask Accord to deliver a go itself (see docs/delivery.md): the delivery is queued in the
    decision's transaction and sent by the dispatcher, which reports the touch's outcome."""

    to: str = Field(min_length=1, max_length=320, pattern=NAME,
                    description="the address on the proposal's channel: e-mail, E.164 phone …")
    subject: str | None = Field(default=None, max_length=998, pattern=NAME)
    text: str | None = Field(default=None, max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)
    data: dict[str, Any] = Field(default_factory=dict,
                                 description="template data passed to the sender as is")


class Proposal(_Model):
    """What an agent wants to do to a customer."""

    agent: str = Field(min_length=1, max_length=200, pattern=NAME)
    customer: str = Field(min_length=1, max_length=200, pattern=NAME)
    action: str = Field(default="message", min_length=1, max_length=100,
                        description="action kind: message, call, ad, invite, offer …")
    channel: str = Field(min_length=1, max_length=100, pattern=NAME)
    intent: str = Field(min_length=1, max_length=100, pattern=NAME)
    topic: str | None = Field(default=None, max_length=500)
    offer: Offer | None = None
    cost: Cost | None = None
    value: float | None = Field(default=None, description="the agent's own value estimate")
    reversible: bool = True
    at: Timestamp | None = Field(default=None,
                                 description="when the action would reach the customer")
    trace_id: str | None = Field(default=None, max_length=200)
    parent_id: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)
    deliver: Deliver | None = Field(default=None, description="deliver a go through Accord")
    on_defer: Literal["drop", "reschedule"] = Field(
        default="drop", description="reschedule: Accord keeps a deferred proposal and re-decides "
        "it at retry_at until the deadline (docs/scheduling.md)")
    deadline: datetime | str | None = Field(
        default=None, description="with on_defer=reschedule: when the proposal lapses, as a "
        "timestamp or a duration after the first decision (e.g. 7d)",
        validate_default=True)

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            if info.data.get("on_defer") == "reschedule":
                raise ValueError("on_defer=reschedule needs a deadline (a timestamp, or a "
                                 "duration such as 7d) after which Accord stops re-deciding it")
            return None
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)  # a duration: '7d', '48h', '1h30m'
            except ValueError:
                try:
                    return _as_datetime(value)
                except ValueError:
                    raise ValueError(f"not a deadline: {value!r} (write a duration such as 7d "
                                     "or an RFC 3339 timestamp)") from None
            if not 0 < seconds <= MAX_DEADLINE:
                raise ValueError(f"a deadline duration must be more than 0s and at most "
                                 f"{MAX_DEADLINE / 86400:.0f}d, not {value!r}")
            return value.strip()
        return _as_datetime(value)

    @field_serializer("deadline", when_used="json")
    def _deadline_json(self, value: datetime | str | None) -> str | None:
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        return value

    def deadline_at(self, decided_at: float) -> float | None:
        """The deadline in epoch seconds, a duration counted from ``decided_at``."""
        if self.deadline is None:
            return None
        if isinstance(self.deadline, str):
            return decided_at + parse_duration(self.deadline)
        return self.deadline.timestamp()


class Reason(_Model):
    """One rule that matched: its id, the effect it asked for, and a sentence for a person."""

    rule: str
    effect: Outcome
    message: str
    shadow: bool = False
    refs: dict[str, Any] = Field(default_factory=dict)


class Decision(_Model):
    """The gate's answer to one proposal."""

    id: str
    outcome: Outcome
    reasons: list[Reason] = Field(default_factory=list)
    retry_at: Timestamp | None = None
    touch_id: str | None = None
    context_version: int = 0
    policy_version: str = ""
    amend: dict[str, Any] = Field(default_factory=dict,
                                  description="a variant of the proposal that would pass")
    shadow: list[Reason] = Field(default_factory=list,
                                 description="what rules in shadow mode would have done")
    preempted: list[str] = Field(default_factory=list, description="touch ids this go revoked")
    approval: str | None = Field(default=None,
                                 description="for flag: pending, approved or rejected")
    parent_decision: str | None = None
    follow_up: str | None = Field(default=None, description="for a defer Accord keeps: the id "
                                  "of its scheduled re-decision (GET /v1/scheduled/{id})")
    at: Timestamp | None = Field(default=None, description="when the action would reach the "
                                 "customer: the `now` the gate decided at")
    decided_at: Timestamp | None = None
    proposal: Proposal

    @property
    def go(self) -> bool:
        return self.outcome is Outcome.GO


class ScheduledStatus(StrEnum):
    WAITING = "waiting"
    DONE = "done"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


class Scheduled(_Model):
    """A deferred proposal Accord keeps: re-decided at ``due_at`` through the gate, until a
    re-decision is not a defer (done), the deadline passes (lapsed) or it is cancelled."""

    id: str
    customer: str
    agent: str
    status: ScheduledStatus
    due_at: Timestamp = Field(description="when it is next re-decided (while waiting)")
    deadline: Timestamp
    decisions: list[str] = Field(description="the decisions it produced, first to last")
    outcome: Outcome | None = Field(default=None, description="the last decision's outcome")
    note: str | None = Field(default=None, description="why it ended, when it did")
    created_at: Timestamp
    updated_at: Timestamp
    proposal: Proposal


class Touch(_Model):
    id: str
    decision_id: str
    customer: str
    agent: str
    channel: str
    intent: str
    action: str
    at: Timestamp
    status: TouchStatus
    status_reason: str | None = None


class Event(_Model):
    id: str
    customer: str
    type: str
    at: Timestamp
    data: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    context_version: int = 0
    revoked: list[str] = Field(default_factory=list, description="touch ids the event revoked")


class Provenance(_Model):
    by: str = Field(description="agent:<id>, event:<type>:<id> or admin:<name>")
    at: Timestamp
    version: int


class Context(_Model):
    """A customer's shared context: versioned fields, and who set each one."""

    customer: str
    version: int
    fields: dict[str, Any]
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class Claim(_Model):
    id: str
    agent: str
    customer: str
    purpose: str
    until: Timestamp
    created_at: Timestamp
    released: bool = False


class Commitment(_Model):
    id: str
    customer: str
    agent: str
    product: str
    offer: dict[str, Any]
    valid_until: Timestamp
    decision_id: str
    status: str = "active"


class LedgerEntry(_Model):
    seq: int
    chain: str
    chain_seq: int
    kind: str
    at: Timestamp
    customer: str | None
    agent: str | None
    trace_id: str | None
    parent_id: str | None
    ref: str | None
    body: dict[str, Any]
    prev_hash: str
    hash: str


class LedgerReport(_Model):
    ok: bool
    entries: int
    chains: int
    problems: list[str] = Field(default_factory=list)
