"""Request and response bodies the HTTP API adds around the domain model (``accord.model``).

Domain shapes (Proposal, Decision, Context, …) cross the wire unchanged; these are only the
envelopes that the in-process API expresses as keyword arguments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from accord.model import CUSTOMER, CustomerId, Event, JsonObject, Proposal, Text
from accord.model import Timestamp as _Timestamp


def _instant(value: Any) -> Any:
    """Strict input for timestamps: text or a number in range, else a clear 422 (not a 500)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a timestamp is RFC 3339 text or epoch seconds")
    if isinstance(value, int | float) and not -62_135_596_800 <= value <= 253_402_300_799:
        raise ValueError("epoch seconds must fall between the years 1 and 9999")
    from accord._time import to_datetime, to_epoch

    try:
        return to_datetime(to_epoch(value))
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"not a valid timestamp: {exc}") from None


Timestamp = Annotated[_Timestamp, BeforeValidator(_instant)]


class ProposalIn(Proposal):
    """A proposal as sent over HTTP (the same fields; timestamps checked strictly)."""

    at: Timestamp | None = Field(default=None,
                                 description="when the action would reach the customer")

    def domain(self) -> Proposal:
        return Proposal.model_validate(self.model_dump())


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchIn(_In):
    """A planning round: proposals decided together, each customer's slots going to the
    highest-value admissible set (docs/api.md, "Batches")."""

    proposals: list[ProposalIn] = Field(min_length=1, max_length=100,
                                        description="1 to 100 proposals, any customers")


class Problem(BaseModel):
    """RFC 9457 problem details; ``where`` names the field or header, ``hint`` the fix."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    where: str | None = None
    hint: str | None = None


class OutcomeIn(_In):
    status: Literal["executed", "failed", "cancelled"]
    detail: Text | None = Field(default=None, max_length=2000)


_CUSTOMER: Any = {"pattern": CUSTOMER}


class EventIn(_In):
    customer: CustomerId = Field(min_length=1, max_length=200, json_schema_extra=_CUSTOMER)
    type: Text = Field(min_length=1, max_length=100,
                       description="purchase, opt_out, ticket_opened, reply, … (see the reducers)")
    at: Timestamp | None = Field(default=None, description="RFC 3339 or epoch seconds")
    data: JsonObject = Field(default_factory=dict,
                             description="free-form; at most 64 KiB as JSON")
    source: Text | None = Field(default=None, max_length=200,
                                description="who reported it; an agent token always reports as "
                                            "itself")
    event_id: Text | None = Field(default=None, min_length=1, max_length=200,
                                  description="your id for the event: resending it with the same "
                                              "body replays it, with another body is a 409")


class EventsIn(_In):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventResult(BaseModel):
    ok: bool
    event: Event | None = None
    problem: Problem | None = None


class EventsOut(BaseModel):
    """One result per event, in order; each event commits on its own."""

    results: list[EventResult]


class ClaimIn(_In):
    customer: CustomerId = Field(min_length=1, max_length=200, json_schema_extra=_CUSTOMER)
    purpose: Text = Field(min_length=1, max_length=500)
    until: Timestamp = Field(description="RFC 3339 or epoch seconds; at most 366 days ahead")
    agent: Text | None = Field(default=None, max_length=200,
                              description="an agent token claims as itself; an admin names one")


class Released(BaseModel):
    released: int


class ReviewIn(_In):
    note: Text | None = Field(default=None, max_length=2000)


class HandoffIn(_In):
    receiver: Text = Field(min_length=1, max_length=200)
    kind: Text = Field(min_length=1, max_length=200)
    payload: JsonObject = Field(default_factory=dict)
    customer: CustomerId | None = Field(default=None, max_length=200,
                                        json_schema_extra=_CUSTOMER)
    artifacts: list[JsonObject] | None = Field(default=None, max_length=100)
    trace_id: Text | None = Field(default=None, max_length=200)
    parent_id: Text | None = Field(default=None, max_length=200)
    sender: Text | None = Field(default=None, max_length=200,
                               description="an agent token sends as itself; an admin names one")


class AckIn(_In):
    agent: Text | None = Field(default=None, max_length=200)


class PolicyIn(_In):
    text: Text = Field(min_length=1, max_length=1_000_000, description="the whole accord.yaml")


class PolicyOut(BaseModel):
    version: str
    applied_at: float | None = None
    applied_by: str | None = None
    warnings: list[str] = Field(default_factory=list)
    text: str | None = None


class WebhookIn(_In):
    url: Text = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/]+",
                     description="where deliveries are POSTed")
    kinds: list[Text] = Field(default_factory=lambda: ["*"], max_length=20,
                             description="message kinds to deliver (decision, revocation, "
                                         "outcome, context, claim, handoff, scheduled) or *")


class Webhook(BaseModel):
    id: str
    owner: str
    url: str
    kinds: list[str]
    created_at: float
    active: bool
    secret: str | None = Field(default=None, description="shown once, on creation")


class Delivery(BaseModel):
    id: str
    webhook_id: str
    message: dict[str, Any]
    attempts: int
    status: str
    last_error: str | None
    created_at: float
