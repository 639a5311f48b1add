"""The domain's nouns as they cross every interface: proposal, decision, touch, event, context.

These are the public shapes of the in-process API, the HTTP API (their JSON schema is the
OpenAPI schema) and the ledger. The gate itself works on the lighter views in ``gate``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from accord._time import parse_duration, to_datetime, to_epoch

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body the HTTP API reads (413 beyond it)."""
MAX_JSON_BYTES = 64 * 1024
"""The largest free-form JSON value: an event's data, one context field, an offer, a payload."""


def _as_datetime(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo:
        return value
    if not isinstance(value, datetime | str | int | float) or isinstance(value, bool):
        raise ValueError("a timestamp is RFC 3339 text or epoch seconds")
    return to_datetime(to_epoch(value))


EARLIEST, LATEST = 0.0, 4_102_444_800.0  # 1970-01-01T00:00:00Z … 2100-01-01T00:00:00Z


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value.timestamp() < LATEST:
        raise ValueError("a timestamp must fall between 1970-01-01 and 2100-01-01 (UTC)")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_as_datetime),
    AfterValidator(_in_range),
    PlainSerializer(lambda d: d.isoformat().replace("+00:00", "Z"), when_used="json"),
]
"""A UTC instant from 1970 up to 2100; accepts RFC 3339 text, epoch seconds or a datetime
(naive means UTC)."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer both stores keep exactly: the signed 64-bit range."""

MAX_DEPTH = 32
"""The deepest nesting of objects and arrays in a free-form JSON value."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain the NUL character (U+0000)")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""Any text but NUL, which PostgreSQL cannot store: both stores refuse it the same way."""


def _walk(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"{path or 'the value'} nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'the value'}: text must not contain the NUL character "
                             "(U+0000)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{path or 'the value'}: integers must fit in 64 bits "
                             f"({INT64_MIN} … {INT64_MAX})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'the value'}: numbers must be finite")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or "\x00" in k:
                raise ValueError(f"{path or 'the value'}: keys must be text without NUL")
            _walk(v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", depth + 1)


def check_json(value: Any, *, limit: int = MAX_JSON_BYTES) -> Any:
    """``value`` if both stores keep it exactly and it is at most ``limit`` bytes as JSON;
    else ``ValueError`` naming the path inside it."""
    _walk(value, "", 0)
    try:
        size = len(json.dumps(value, ensure_ascii=False, default=str).encode())
    except (TypeError, ValueError) as exc:  # a lone surrogate is not valid Unicode
        raise ValueError(f"not storable as JSON: {exc}") from None
    if size > limit:
        raise ValueError(f"{size} bytes as JSON; at most {limit} are accepted")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
"""A free-form object (event data, an offer, a payload): no NUL, 64-bit integers, finite
numbers, at most ``MAX_DEPTH`` deep and ``MAX_JSON_BYTES`` as JSON."""
JsonValue = Annotated[Any, AfterValidator(check_json)]
"""One free-form value under the same rules (a context field)."""


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
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Offer(BaseModel):
    """What a proposal promises. ``product`` + ``discount_pct`` (or ``price``) become a
    commitment on go; later offers on the same product must not contradict it."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    product: Text | None = Field(default=None, max_length=200)
    discount_pct: float | None = Field(default=None, ge=0, le=100)
    price: float | None = Field(default=None, ge=0)
    valid_for: Text | None = Field(default=None, max_length=100,
                                   description="how long the offer holds, e.g. 14d")

    @model_validator(mode="after")
    def _extras_storable(self) -> Offer:
        if self.model_extra:
            check_json(self.model_extra)
        return self


class Cost(_Model):
    """What acting costs: money and/or model tokens. Budgets and trace ceilings sum these."""

    usd: float = Field(default=0.0, ge=0)
    tokens: Int64 = Field(default=0, ge=0)


MAX_DEADLINE = 366 * 86400.0
"""The longest a proposal may ask Accord to keep it (as a duration)."""

NAME = r"^[^\x00-\x1f\x7f]+$"
"""Ids and names: any text without control characters (which some stores cannot keep)."""
CUSTOMER = r"^[^_\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
"""Customer ids: a name that does not start with ``_`` (reserved for internal chains such as
the fleet's ``_fleet``)."""


def check_customer(customer: Any) -> str | None:
    """Why ``customer`` is not a valid customer id, or ``None`` if it is."""
    if not isinstance(customer, str) or not customer:
        return "a customer id is non-empty text"
    if len(customer) > 200:
        return "a customer id is at most 200 characters"
    if customer.startswith("_"):
        return (f"customer ids may not start with '_' ({customer!r}): that prefix is reserved "
                "for internal ledger chains")
    if not re.match(NAME, customer):
        return "a customer id must not contain control characters"
    return None


def _customer_id(value: str) -> str:
    why = check_customer(value)
    if why:
        raise ValueError(why)
    return value


CustomerId = Annotated[str, AfterValidator(_customer_id)]
"""A customer id: 1–200 characters, no control characters, not starting with ``_``."""


class Deliver(_Model):
    """Ask Accord to deliver a go itself (see docs/delivery.md): the delivery is queued in the
    decision's transaction and sent by the dispatcher, which reports the touch's outcome."""

    to: str = Field(min_length=1, max_length=320, pattern=NAME,
                    description="the address on the proposal's channel: e-mail, E.164 phone …")
    subject: str | None = Field(default=None, max_length=998, pattern=NAME)
    text: Text | None = Field(default=None, max_length=100_000)
    html: Text | None = Field(default=None, max_length=500_000)
    data: JsonObject = Field(default_factory=dict,
                             description="template data passed to the sender as is")


class Proposal(_Model):
    """What an agent wants to do to a customer."""

    agent: str = Field(min_length=1, max_length=200, pattern=NAME)
    customer: CustomerId = Field(min_length=1, max_length=200,
                                 json_schema_extra={"pattern": CUSTOMER})
    action: str = Field(default="message", min_length=1, max_length=100, pattern=NAME,
                        description="action kind: message, call, ad, invite, offer …")
    channel: str = Field(min_length=1, max_length=100, pattern=NAME)
    intent: str = Field(min_length=1, max_length=100, pattern=NAME)
    topic: Text | None = Field(default=None, max_length=500)
    offer: Offer | None = None
    cost: Cost | None = None
    value: float | None = Field(default=None, description="the agent's own estimate of the "
                                "touch's expected value; batches rank by it (docs/api.md)")
    uplift: float | None = Field(default=None, ge=0, le=1,
                                 description="probability that the touch changes the outcome; "
                                             "batch arbitration ranks by value × uplift")
    reversible: bool = True
    at: Timestamp | None = Field(default=None,
                                 description="when the action would reach the customer")
    trace_id: Text | None = Field(default=None, min_length=1, max_length=200)
    parent_id: Text | None = Field(default=None, min_length=1, max_length=200)
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=200,
                                         description="a retry with the same key and body gets "
                                                     "the same decision")
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
    accept: list[Literal["offer", "channel", "time"]] | None = Field(
        default=None, max_length=3, description="the amends the agent accepts: when the "
        "variant passes, the answer is a go with it applied (see `applied`)")


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
    applied: dict[str, Any] = Field(default_factory=dict, description="the accepted amend this "
                                    "go carries (offer, channel, at); the touch, commitment and "
                                    "delivery use the variant")
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


class LedgerPage(_Model):
    """One page of the ledger feed. Resume with ``cursor``: no committed entry is skipped or
    served twice, on any backend, however writers' commits interleave."""

    entries: list[LedgerEntry]
    cursor: str = Field(description="pass as `after` to read the entries after this page")


class LedgerReport(_Model):
    ok: bool
    entries: int
    chains: int
    problems: list[str] = Field(default_factory=list)
