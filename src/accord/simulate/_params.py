"""The knobs: the size of the run, and the customer-response model's assumptions.

Every effect that makes coordination matter in this simulation is an *assumption* written down
here, with its default and why. The report prints these values and a one-at-a-time sensitivity
table, so a reader can see which assumption drives which result instead of trusting a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

CHANNELS = ("email", "sms", "voice", "social_ad", "search_ad", "push", "in_app")


@dataclass(frozen=True)
class ResponseParams:
    """How a simulated customer answers one delivered touch.

    Per touch: the customer engages (opens, clicks, picks up) with ``engage[channel]`` times their
    own preference for that channel; an engaged customer replies with ``reply[intent]`` and
    converts with ``convert[intent]``. Independently of engagement they may unsubscribe or
    complain. The coordination effects are the four marked *effect* below.
    """

    engage: dict[str, float] = field(
        default_factory=lambda: {
            "email": 0.22,
            "sms": 0.35,
            "voice": 0.30,
            "social_ad": 0.03,
            "search_ad": 0.06,
            "push": 0.10,
            "in_app": 0.15,
        }
    )
    reply: dict[str, float] = field(
        default_factory=lambda: {
            "retain": 0.20,
            "upsell": 0.15,
            "nurture": 0.04,
            "reactivate": 0.05,
            "winback": 0.06,
            "schedule": 0.30,
            "support": 0.30,
            "acquire": 0.01,
        }
    )
    convert: dict[str, float] = field(
        default_factory=lambda: {
            "retain": 0.30,
            "upsell": 0.08,
            "nurture": 0.02,
            "reactivate": 0.06,
            "winback": 0.05,
            "schedule": 0.35,
            "support": 0.0,
            "acquire": 0.04,
        }
    )
    unsubscribe: dict[str, float] = field(
        default_factory=lambda: {
            "email": 0.003,
            "sms": 0.008,
            "voice": 0.004,
            "social_ad": 0.001,
            "search_ad": 0.0,
            "push": 0.004,
            "in_app": 0.0005,
        }
    )
    complaint_base: float = 0.0005
    """Complaint probability of an ordinary touch."""
    fatigue_free: int = 2
    """Touches in the last 7 days a customer tolerates before fatigue sets in."""
    fatigue_slope: float = 0.6
    """*Effect* — contact fatigue: unsubscribe probability is multiplied by
    ``1 + fatigue_slope × max(0, touches_7d − fatigue_free)``."""
    fatigue_counts: str = "messages"
    """*Assumption* — what ``touches_7d`` counts: ``messages`` (email, SMS, voice, push: what
    interrupts a person, as the example policy's caps count) or ``all`` (ad impressions and
    in-app cards too). The sensitivity table runs the other choice."""
    contradiction_factor: float = 0.5
    """*Effect* — mixed signals: conversion is multiplied by this when the customer received a
    different one of retain / upsell / reactivate in the last 7 days."""
    complaint_after_purchase: float = 0.04
    """*Effect* — context blindness: added complaint probability when a re-engagement,
    win-back or acquisition message arrives within 30 days of a purchase."""
    complaint_after_opt_out: float = 0.25
    """*Effect* — suppression failure: added complaint probability when a touch arrives on a
    channel the customer opted out of."""
    value_months: dict[str, float] = field(
        default_factory=lambda: {
            "upsell": 3.0,
            "retain": 6.0,
            "reactivate": 3.0,
            "winback": 3.0,
            "nurture": 2.0,
            "acquire": 2.0,
            "schedule": 3.0,
        }
    )
    """Bookings of a conversion, in months of the customer's ARPU (before any discount)."""
    discount_lift: float = 1.5
    """Conversion is multiplied by ``1 + discount_lift × discount_pct/100``; revenue by
    ``1 − discount_pct/100``."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SENSITIVITY_KEYS = (
    "approve_rate",
    "convert",
    "value_months",
    "fatigue_slope",
    "contradiction_factor",
    "complaint_after_opt_out",
    "discount_lift",
)
"""The assumptions the sensitivity table halves and doubles, one at a time: the ones that move
revenue (the reviewer's approval rate, every conversion rate, the value of a conversion, contact
fatigue, mixed signals, discount lift) and the one that prices a suppression failure."""
SENSITIVITY_SWITCHES = {"fatigue_counts": "all"}
"""Choices the sensitivity table switches to their alternative, one row each: contact counting
(fatigue counted over every touch, impressions included)."""

CAPPED = ("contradiction_factor", "complaint_after_purchase", "complaint_after_opt_out")


def scaled(params: ResponseParams, name: str, factor: float) -> ResponseParams:
    """``params`` with one parameter multiplied: a scalar, or every entry of a per-intent or
    per-channel table (probabilities and factors capped at 1)."""
    current = getattr(params, name)
    value: Any
    if isinstance(current, dict):
        cap = 1.0 if name != "value_months" else float("inf")
        value = {k: min(cap, float(v) * factor) for k, v in current.items()}
    else:
        value = float(current) * factor
        if name in CAPPED:
            value = min(value, 1.0)
    out: ResponseParams = replace(params, **{name: value})
    return out


def scaled_config(cfg: SimConfig, name: str, factor: float) -> SimConfig:
    """``cfg`` with one sensitivity key multiplied, whether it is a run setting (the reviewer's
    approval rate) or a response-model parameter."""
    if name == "approve_rate":
        return replace(cfg, approve_rate=min(1.0, cfg.approve_rate * factor))
    if name in SENSITIVITY_SWITCHES:
        switched: dict[str, Any] = {name: SENSITIVITY_SWITCHES[name]}
        return replace(cfg, response=replace(cfg.response, **switched))
    return replace(cfg, response=scaled(cfg.response, name, factor))


def sensitivity_value(cfg: SimConfig, name: str) -> Any:
    """The value a sensitivity row ran with (a table is summarised by its mean)."""
    v = cfg.approve_rate if name == "approve_rate" else getattr(cfg.response, name)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return round(sum(v.values()) / len(v), 4)
    return v


@dataclass(frozen=True)
class SimConfig:
    """One simulation run: the company's size, how long, the seed, and what to compare."""

    customers: int = 2000
    days: int = 14
    seed: int = 7
    """The first seed; a run uses ``seeds`` consecutive seeds from here."""
    seeds: int = 5
    """Companies simulated (one per seed); every headline metric is a mean over them with a
    95 % Student-t interval."""
    response: ResponseParams = field(default_factory=ResponseParams)
    attribution_sample: int = 5000
    """Customers (the first N by id) whose touches are kept for attribution; bounds memory."""
    timeline_sample: int = 300
    """Customers whose full history is kept to pick the example customer's week."""
    sensitivity_customers: int = 1000
    """Customers in each sensitivity run (0 skips the table)."""
    approve_rate: float = 0.6
    """The reviewer model: at 17:00 each day one human works through every flagged proposal
    and approves this share of them (an independent draw per proposal); the rest are rejected.
    Approval re-runs the gate, so an approved touch can still be stopped."""
    unsubscribe_value: float = 40.0
    """*Assumption* — USD of future value lost with one unsubscribe or opt-out: the channel is
    gone for the customer's remaining life. Settable; 0 leaves unsubscribes unpriced."""
    complaint_value: float = 100.0
    """*Assumption* — USD lost with one complaint beyond its opt-out (it also opts the customer
    out of every channel): sender reputation, handling, regulatory exposure. Settable."""
    holdout: float = 0.0
    """Share of customers the coordinated arms hold out (the policy's ``settings.holdout``, see
    docs/lift.md): their proposals are decided with coordination in shadow and opt-outs
    enforced, and the report adds the lift report, treated against holdout. 0: none."""
    keep_days: float = 3.0
    """The ``deadline`` a simulated agent gives each proposal it asks Accord to keep
    (``on_defer="reschedule"``): a deferred touch is re-decided at each ``retry_at`` until it
    goes, is refused, or this many days have passed since its first decision (it lapses)."""

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, not {self.customers}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, not {self.days}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, not {self.seeds}")
        if self.unsubscribe_value < 0 or self.complaint_value < 0:
            raise ValueError("unsubscribe_value and complaint_value must not be negative")
        if not 0 <= self.holdout < 1:
            raise ValueError(f"holdout must be a share within 0..1 (0 = none), not {self.holdout}")
        if not 0 <= self.approve_rate <= 1:
            raise ValueError(f"approve_rate must be within 0..1, not {self.approve_rate}")

    def summary(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "response"}
        out["response"] = self.response.as_dict()
        return out
