"""The dashboard's HTML comes from Jinja2 templates in ``accord/web/templates`` (package data),
with autoescaping on: every value a page shows is escaped unless a template says otherwise, and
none does. Nothing is fetched from elsewhere: the stylesheet is inlined by the base layout, the
charts are inline SVG whose geometry ``accord._charts`` computes and the templates draw.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from accord import _charts
from accord._charts import Chart

NAV = (("fleet", "Fleet"), ("decisions", "Live decisions"), ("approvals", "Approvals"),
       ("outbox", "Outbox"), ("reports", "Reports"), ("lift", "Lift"))


def _blank_none(value: Any) -> Any:
    """``{{ x }}`` shows nothing for a missing value rather than the word None."""
    return "" if value is None else value


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


CURRENCY = "USD"
"""Accord keeps money in one unit, the one proposal costs name (``cost.usd``); purchase values
in events are read in the same unit."""


def money(value: float | None) -> str:
    """An amount for people: thousands separated, cents only when there are any, the unit
    named (``$1,050``, ``$12.50``); never scientific notation."""
    if value is None:
        return "—"
    cents = round(float(value) * 100)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}" + (f".{part:02d}" if part else "")


def offer_terms(offer: dict[str, Any]) -> list[tuple[str, str]]:
    """An offer's terms in words, known ones first: product, discount, price, validity, then
    any other term the proposer added, as given."""
    terms: list[tuple[str, str]] = []
    known: dict[str, tuple[str, Callable[[Any], str]]] = {
        "product": ("product", str), "discount_pct": ("discount", lambda v: f"{v:g}% off"),
             "price": ("price", money), "valid_for": ("valid for", str)}
    for key, (label, fmt) in known.items():
        if offer.get(key) is not None:
            terms.append((label, fmt(offer[key])))
    for key in sorted(set(offer) - set(known)):
        value = offer[key]
        if value is not None:
            shown = value if isinstance(value, str) else _json(value)
            terms.append((key.replace("_", " "), shown))
    return terms


def _verdict_class(verdict: str) -> str:
    """A lift verdict's badge colour: better as a go, worse as a stop, anything else muted."""
    return "go" if verdict.endswith("(better)") else "stop" if verdict.endswith("(worse)") \
        else "plain"


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _json(value: Any) -> str:
    """A value as the ledger stores it, sorted, for people to read (escaped like any text)."""
    return json.dumps(value, sort_keys=True, default=str)


ENV = Environment(loader=PackageLoader("accord.web", "templates"),
                  autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                  finalize=_blank_none, trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(clock=_clock, iso=_iso, json=_json, without_none=_without_none, money=money,
                   offer_terms=offer_terms, verdict_class=_verdict_class)
ENV.globals.update(nav=NAV)


def render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def bar_chart(items: Sequence[tuple[str, float]],
              fmt: Callable[[float], str] = _charts.shown) -> Chart:
    """The dashboard's spacing: wide label column, rows 26 px apart, a sliver for zero."""
    return _charts.bar_chart(items, min_width=2.0, fmt=fmt)
