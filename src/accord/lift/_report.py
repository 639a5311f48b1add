"""The lift report: treated customers against the policy holdout, from the store's own records.

Population: every customer with at least one proposal decided in the window ``[since, until)``
(a customer the fleet tried to reach). Each is treated or holdout by the policy's holdout
assignment, which depends on the id and salt alone — not on anything the customer or the gate
did — so the two groups differ only by chance and by coordination.

Per customer over the window:

* ``conversions``, ``unsubscribes``, ``complaints``: whether at least one ``purchase`` or
  ``conversion``, ``unsubscribe`` or ``opt_out``, ``complaint`` event was recorded (shares of
  customers; Wilson intervals, Newcombe for the difference);
* ``revenue``: the sum of ``data.value`` over conversion events (a value that is not a number
  counts as 0); ``contacts``: go touches in the window that were not revoked, cancelled or
  failed (executed, or pending with nobody reporting otherwise). Means per customer with
  normal intervals and Welch's standard error for the difference.

Below ``MIN_PER_GROUP`` customers in either group the report says "not enough data" and gives
no interval. Every difference is treated − holdout.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from accord._errors import InvalidInput
from accord._time import iso, parse_duration, to_epoch
from accord.service._holdout import in_holdout
from accord.store import _reports as reports
from accord.store._reports import customer_pages

from . import _stats
from ._stats import Interval

MIN_PER_GROUP = 30
"""Customers each group needs before the report states an interval (see docs/lift.md)."""
DEFAULT_WINDOW = 30 * 86400.0
_YEAR_10000 = 253402300800.0
CONVERSION_TYPES = ("purchase", "conversion")
UNSUBSCRIBE_TYPES = ("unsubscribe", "opt_out")
COMPLAINT_TYPES = ("complaint",)

Kind = Literal["share", "mean"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: Kind
    label: str
    better: Literal["higher", "lower"]


METRICS = (
    MetricSpec("conversions", "share", "customers who converted", "higher"),
    MetricSpec("revenue", "mean", "revenue per customer", "higher"),
    MetricSpec("unsubscribes", "share", "customers who unsubscribed", "lower"),
    MetricSpec("complaints", "share", "customers who complained", "lower"),
    MetricSpec("contacts", "mean", "contacts per customer", "lower"),
)


@dataclass(slots=True)
class Metric:
    spec: MetricSpec
    treated: Interval | None
    holdout: Interval | None
    difference: Interval | None

    @property
    def verdict(self) -> str:
        d = self.difference
        if d is None:
            return "not enough data"
        if d.low <= 0 <= d.high:
            return "no clear difference"
        higher = d.low > 0
        good = higher == (self.spec.better == "higher")
        return f"treated {'higher' if higher else 'lower'} ({'better' if good else 'worse'})"

    def to_dict(self) -> dict[str, Any]:
        def part(i: Interval | None) -> dict[str, float] | None:
            return None if i is None else i.as_dict()

        return {"metric": self.spec.name, "kind": self.spec.kind, "label": self.spec.label,
                "better": self.spec.better, "treated": part(self.treated),
                "holdout": part(self.holdout), "difference": part(self.difference),
                "verdict": self.verdict}


@dataclass(slots=True)
class LiftReport:
    since: float
    until: float
    share: float
    salt: str
    treated: int
    holdout: int
    metrics: list[Metric] = field(default_factory=list)
    min_per_group: int = MIN_PER_GROUP

    @property
    def enough_data(self) -> bool:
        return min(self.treated, self.holdout) >= self.min_per_group

    @property
    def note(self) -> str | None:
        if self.enough_data:
            return None
        return (f"not enough data: {self.treated} treated and {self.holdout} holdout customers "
                f"in the window; each group needs at least {self.min_per_group}")

    def to_dict(self) -> dict[str, Any]:
        return {"since": iso(self.since), "until": iso(self.until),
                "holdout": {"share": self.share, "salt": self.salt},
                "customers": {"treated": self.treated, "holdout": self.holdout},
                "min_per_group": self.min_per_group, "enough_data": self.enough_data,
                "note": self.note, "metrics": [m.to_dict() for m in self.metrics]}


def window(since: Any = None, until: Any = None, *, now: float) -> tuple[float, float]:
    """``[since, until)`` as epoch seconds from RFC 3339 text, epoch seconds or (for ``since``)
    a duration before ``until``; defaults: the 30 days up to ``now``."""
    since, until = _number(since), _number(until)
    try:
        end = now if until is None else to_epoch(until)
    except ValueError as exc:
        raise InvalidInput(str(exc), where="until",
                           hint="an RFC 3339 time such as 2026-11-01T00:00:00Z") from None
    if since is None:
        start = end - DEFAULT_WINDOW
    else:
        try:
            start = end - parse_duration(since) if _is_duration(since) else to_epoch(since)
        except ValueError as exc:
            raise InvalidInput(str(exc), where="since", hint="an RFC 3339 time or a duration "
                               "before until, such as 30d") from None
    for name, t in (("since", start), ("until", end)):
        if not 0 <= t < _YEAR_10000:
            raise InvalidInput(f"{name} is outside years 1970 to 9999", where=name,
                               hint="an RFC 3339 time such as 2026-11-01T00:00:00Z")
    if not start < end:
        raise InvalidInput(f"since ({iso(start)}) must come before until ({iso(end)})",
                           where="since", hint="widen the window")
    return start, end


def _number(value: Any) -> Any:
    """Epoch seconds typed on a command line or in a query string arrive as text."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _is_duration(value: Any) -> bool:
    return isinstance(value, str) and value[-1:] in "smhdw" and value[:1].isdigit() \
        and "-" not in value and ":" not in value


@dataclass(slots=True)
class Group:
    """One group's running totals: customers, how many did each yes/no thing, and the moments
    of revenue and contacts per customer. Memory does not grow with the store."""

    customers: int = 0
    shares: list[int] = field(default_factory=lambda: [0, 0, 0])
    revenue: _stats.Moments = field(default_factory=_stats.Moments)
    contacts: _stats.Moments = field(default_factory=_stats.Moments)

    def add(self, rows: list[list[float]]) -> None:
        """Rows ``[converted, revenue, unsubscribed, complained, contacts]``, one a customer."""
        if not rows:
            return
        self.customers += len(rows)
        for k, col in enumerate((0, 2, 3)):
            self.shares[k] += sum(1 for r in rows if r[col])
        self.revenue.add([r[1] for r in rows])
        self.contacts.add([r[4] for r in rows])


PAGE = 500
"""Customers per read transaction (and per ``IN (…)`` list, well under SQLite's 999): on SQLite
a read holds the connection, so a report over millions of customers must not stall the gate."""


def lift_report(service: Any, since: Any = None, until: Any = None, *,
                page_size: int = PAGE) -> LiftReport:
    """Compare treated and holdout customers over ``[since, until)`` (default: 30 days to now).

    Reads the store a page of customers at a time (keyset on ``customers.id``), each page in
    its own short read transaction."""
    holdout = service.policy.spec.settings.holdout
    if holdout is None:
        raise InvalidInput("the policy in force has no holdout, so there is nothing to compare",
                           where="settings.holdout", hint="add settings.holdout {share, salt} "
                           "to the policy (docs/lift.md) and let traffic accumulate")
    start, end = window(since, until, now=service.clock())
    groups = {False: Group(), True: Group()}
    for _, per in customer_pages(service.store, page_size,
                                 lambda tx, ids: _page(tx, ids, start, end)):
        split: dict[bool, list[list[float]]] = {False: [], True: []}
        for customer, values in per.items():
            split[in_holdout(customer, holdout)].append(values)
        for held, rows in split.items():
            groups[held].add(rows)
    return summarize(groups[False], groups[True], since=start, until=end,
                     share=holdout.share, salt=holdout.salt)


def _page(tx: Any, ids: list[str], start: float, end: float) -> dict[str, list[float]]:
    """Per customer of ``ids`` proposed for in the window: ``[converted, revenue, unsubscribed,
    complained, contacts]``."""
    per = {c: [0.0, 0.0, 0.0, 0.0, 0.0] for c in reports.decided(tx, ids, start, end)}
    if not per:
        return per
    types = (*CONVERSION_TYPES, *UNSUBSCRIBE_TYPES, *COMPLAINT_TYPES)
    for r in reports.events_between(tx, ids, start, end, types):
        row = per.get(r["customer"])
        if row is None:
            continue
        if r["type"] in CONVERSION_TYPES:
            row[0] = 1.0
            row[1] += _value(r["data"])
        elif r["type"] in UNSUBSCRIBE_TYPES:
            row[2] = 1.0
        else:
            row[3] = 1.0
    for r in reports.contacts_between(tx, ids, start, end):
        if r["customer"] in per:
            per[r["customer"]][4] = float(r["n"])
    return per


def _value(data: Any) -> float:
    raw = (json.loads(data) if isinstance(data, str | bytes) else data or {}).get("value")
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw)
    return 0.0


def compare(treated: list[list[float]], holdout: list[list[float]], *, since: float,
            until: float, share: float, salt: str,
            min_per_group: int = MIN_PER_GROUP) -> LiftReport:
    """The report from per-customer rows ``[converted, revenue, unsubscribed, complained,
    contacts]`` of each group."""
    a, b = Group(), Group()
    a.add(treated)
    b.add(holdout)
    return summarize(a, b, since=since, until=until, share=share, salt=salt,
                     min_per_group=min_per_group)


def summarize(treated: Group, holdout: Group, *, since: float, until: float, share: float,
              salt: str, min_per_group: int = MIN_PER_GROUP) -> LiftReport:
    """The report from the two groups' running totals."""
    report = LiftReport(since, until, share, salt, treated.customers, holdout.customers,
                        min_per_group=min_per_group)
    shares = {"conversions": 0, "unsubscribes": 1, "complaints": 2}
    for spec in METRICS:
        if not report.enough_data:
            report.metrics.append(Metric(spec, None, None, None))
        elif spec.name in shares:
            k = shares[spec.name]
            x, y, n1, n2 = treated.shares[k], holdout.shares[k], treated.customers, \
                holdout.customers
            report.metrics.append(Metric(spec, _stats.wilson(x, n1), _stats.wilson(y, n2),
                                         _stats.newcombe(x, n1, y, n2)))
        else:
            a, b = ((treated.revenue, holdout.revenue) if spec.name == "revenue"
                    else (treated.contacts, holdout.contacts))
            report.metrics.append(Metric(spec, _stats.mean_of(a), _stats.mean_of(b),
                                         _stats.welch_of(a, b)))
    return report
