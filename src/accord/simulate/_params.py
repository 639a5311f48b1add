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
    contradiction_factor: float = 0.5
    """*Effect* — mixed signals: conversion is multiplied by this when the customer received a
    different one of retain / upsell / reactivate in the last 7 days."""
    complaint_after_purchase: float = 0.04
    """*Effect* — context blindness: added complaint probability when a re-engagement,
    win-back or acquisition message arrives within 30 days of a purchase."""
    complaint_after_opt_out: float = 0.25
    """*Effect* — suppression failure: added complaint probability when a touch arrives on a
    channel the customer opted out of."""
    discount_lift: float = 1.5
    """Conversion is multiplied by ``1 + discount_lift × discount_pct/100``; revenue by
    ``1 − discount_pct/100``."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SENSITIVITY_KEYS = (
    "fatigue_slope",
    "contradiction_factor",
    "complaint_after_purchase",
    "complaint_after_opt_out",
    "discount_lift",
)
"""The parameters the sensitivity table halves and doubles, one at a time."""


def scaled(params: ResponseParams, name: str, factor: float) -> ResponseParams:
    """``params`` with one scalar parameter multiplied (probabilities and factors capped at 1)."""
    value = float(getattr(params, name)) * factor
    if name in ("contradiction_factor", "complaint_after_purchase", "complaint_after_opt_out"):
        value = min(value, 1.0)
    out: ResponseParams = replace(params, **{name: value})  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class SimConfig:
    """One simulation run: the company's size, how long, the seed, and what to compare."""

    customers: int = 2000
    days: int = 14
    seed: int = 7
    response: ResponseParams = field(default_factory=ResponseParams)
    attribution_sample: int = 5000
    """Customers (the first N by id) whose touches are kept for attribution; bounds memory."""
    timeline_sample: int = 300
    """Customers whose full history is kept to pick the example customer's week."""
    sensitivity_customers: int = 300
    """Customers in each sensitivity run (0 skips the table)."""
    approve_rate: float = 0.6
    """Share of flagged proposals the simulated human approves at the daily review."""

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, not {self.customers}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, not {self.days}")
        if not 0 <= self.approve_rate <= 1:
            raise ValueError(f"approve_rate must be within 0..1, not {self.approve_rate}")

    def summary(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "response"}
        out["response"] = self.response.as_dict()
        return out
