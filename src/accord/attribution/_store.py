"""Journeys out of an Accord store, and the one report every interface returns.

Reading pages through customers with keyset pagination on the ``customers`` table
(``WHERE id > ? ORDER BY id LIMIT ?``) and reads each page's records in one short read
transaction: the go touches (``touches``, with their status and the proposal's ``cost.usd``),
the proposals the gate stopped, deferred or still holds for approval (``decisions``), and the
conversion and quality events (``events``). A customer's records always come in one page, so
:func:`build_journeys` runs page by page and memory is bounded by the page, never by the
history. Short transactions matter on SQLite, where a read holds the connection's lock: a
report over millions of customers must not stall the gate.

Records become :class:`TouchRecord`\\ s like this:

* a go touch keeps its status (``executed`` is the only one that reached the customer);
  its cost is the proposal's ``cost.usd`` — the same amount the agent's budget was charged;
* a ``stop`` or ``defer`` decision, and a ``flag`` still awaiting a human, is a touch with that
  outcome and no cost (nothing was spent). An approved or rejected flag is left out: its
  follow-up decision (go or stop) is recorded on its own, and counting both would double it;
* ``purchase``/``conversion`` events are conversions worth ``data.value``; ``unsubscribe``,
  ``opt_out`` and ``complaint`` feed coordination quality.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from accord._errors import InvalidInput
from accord.store import _reports as reports
from accord.store._base import Tx
from accord.store._reports import customer_pages

from ._attribute import BY, MODELS, make_accumulator
from ._batch import JourneyBatch
from ._budget import Allocation, BudgetReport, budget_report, recommend_allocation
from ._journey import (
    COMPLAINT_TYPES,
    CONVERSION_TYPES,
    DAY,
    DEFAULT_LOOKBACK_S,
    UNSUBSCRIBE_TYPES,
    CustomerEvent,
    Journey,
    Progress,
    TouchRecord,
    build_journeys,
    sort_records,
)
from ._quality import QualityReport, coordination_quality
from ._report import Report, to_json_ready
from ._result import AttributionResult

DEFAULT_PAGE = 500
"""Customers per read transaction (and per ``IN (…)`` list: well under SQLite's 999)."""
STORE_CHUNK = 10_000
"""Journeys per model batch: the journey objects of one batch are the largest thing held."""
EVENT_TYPES = tuple(sorted(CONVERSION_TYPES | UNSUBSCRIBE_TYPES | COMPLAINT_TYPES))
WHOLE_JOURNEY = frozenset({"markov", "shapley"})
"""Models that need non-converting journeys too (paths to null, coalition rates)."""


@dataclass(slots=True)
class ReadStats:
    """What a read saw; events whose ``data.value`` was not a number counted as 0."""

    customers: int = 0
    journeys: int = 0
    touches: int = 0
    conversions: int = 0
    bad_values: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        if not self.bad_values:
            return []
        shown = ", ".join(self.bad_values[:5])
        return [f"{len(self.bad_values)} conversion event(s) had no numeric data.value and "
                f"count as 0 ({shown}{', …' if len(self.bad_values) > 5 else ''}); record "
                "purchases with data={'value': <amount>}"]


def _usd(text: str) -> float:
    if '"cost":null' in text:  # the common case, without parsing the whole proposal
        return 0.0
    cost = json.loads(text).get("cost") or {}
    usd = cost.get("usd", 0.0) if isinstance(cost, dict) else 0.0
    return float(usd) if isinstance(usd, int | float) and not isinstance(usd, bool) else 0.0


def _read_page(tx: Any, ids: Sequence[str], stats: ReadStats
               ) -> tuple[list[TouchRecord], list[CustomerEvent]]:
    # Touches at the same instant keep the order they were proposed in, as the pure API keeps
    # input order: each is keyed by its decision's place in the customer's ledger chain (a
    # touch's seq is that place), never by its random id.
    keyed = [
        ((r["customer"], float(r["at"]), int(r["seq"])),
         TouchRecord(r["customer"], r["agent"], r["channel"], float(r["at"]), "go", r["status"],
                     r["intent"], _usd(r["proposal"])))
        for r in reports.touches_of(tx, ids)]
    for r in reports.undelivered(tx, ids):
        p = json.loads(r["body"])["proposal"]
        keyed.append(((r["customer"], float(r["at"]), int(r["chain_seq"] or 0)),
                      TouchRecord(r["customer"], r["agent"], p["channel"], float(r["at"]),
                                  r["outcome"], r["outcome"], p["intent"], 0.0)))
    keyed.sort(key=lambda k: k[0])
    touches = [t for _, t in keyed]
    events = []
    for r in reports.events_of(tx, ids, EVENT_TYPES):
        value = 0.0
        if r["type"] in CONVERSION_TYPES:
            stats.conversions += 1
            raw = json.loads(r["data"]).get("value")
            if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
                value = float(raw)
            else:
                stats.bad_values.append(f"{r['customer']}/{r['id']}")
        events.append(CustomerEvent(r["customer"], float(r["at"]), r["type"], value))
    stats.touches += len(touches)
    return touches, events


def from_accord(service: Any, *, lookback_s: float = DEFAULT_LOOKBACK_S,
                progress: Progress | None = None, page_size: int = DEFAULT_PAGE,
                stats: ReadStats | None = None) -> Iterator[Journey]:
    """Stream the journeys recorded in an ``Accord`` service's store.

    Every touch is kept, stopped and deferred proposals included (they are
    ``Journey.prevented``); only executed go touches get credit. ``progress`` is called with
    the number of journeys read so far after every page of ``page_size`` customers; pass a
    :class:`ReadStats` to learn what was read.
    """
    if not lookback_s > 0:
        raise InvalidInput(f"lookback must be positive, not {lookback_s!r}", where="lookback_s",
                           hint="write e.g. 30d")
    stats = stats if stats is not None else ReadStats()

    def read(tx: Tx, page: list[str]) -> tuple[list[str], list[TouchRecord],
                                                list[CustomerEvent]]:
        ids = [c for c in page if not c.startswith("_")]  # internal chains: fleet, …
        return (ids, *_read_page(tx, ids, stats)) if ids else (ids, [], [])

    for _, (ids, touches, events) in customer_pages(service.store, page_size, read):
        stats.customers += len(ids)
        # Python's order, not the database collation's: build_journeys checks it. The sort is
        # stable, so touches at the same instant stay in proposal order (see _read_page).
        for journey in build_journeys(*sort_records(touches, events), lookback_s=lookback_s):
            stats.journeys += 1
            yield journey
        if progress is not None:
            progress(stats.journeys)


@dataclass(frozen=True, slots=True)
class StoreReport:
    """Attribution per model, coordination quality, what was not delivered, and (with a
    budget) spend, ROI and a reallocation — all from one pass over the store."""

    by: str
    lookback_s: float
    results: tuple[AttributionResult, ...]
    quality: QualityReport
    not_delivered: dict[str, dict[str, int]]
    customers: int
    journeys: int
    budget: BudgetReport | None = None
    allocation: Allocation | None = None
    warnings: tuple[str, ...] = ()

    def sections(self) -> list[Report]:
        """The result objects in reading order, for ``render_html`` and terminal tables."""
        extra = [r for r in (self.budget, self.allocation) if r is not None]
        return [*self.results, self.quality, *extra]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "attribution_report",
            "by": self.by,
            "lookback_s": self.lookback_s,
            "customers": self.customers,
            "journeys": self.journeys,
            "results": [to_json_ready(r) for r in self.results],
            "quality": to_json_ready(self.quality),
            "not_delivered": {k: dict(v) for k, v in self.not_delivered.items()},
            "budget": to_json_ready(self.budget) if self.budget else None,
            "allocation": to_json_ready(self.allocation) if self.allocation else None,
            "warnings": list(self.warnings),
        }


def _check(models: Sequence[str], by: str, budget: float | None) -> None:
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise InvalidInput(f"unknown model(s): {', '.join(unknown) or '(none given)'}",
                           where="model", hint=f"choose from {', '.join(MODELS)}")
    if by not in BY:
        raise InvalidInput(f"cannot attribute by {by!r}", where="by",
                           hint=f"choose from {', '.join(BY)}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise InvalidInput(f"budget must be a positive amount, not {budget!r}", where="budget")


def build_report(service: Any, *, models: Sequence[str] | None = None, by: str = "agent",
                 lookback_s: float = DEFAULT_LOOKBACK_S, budget: float | None = None,
                 period_s: float = 7 * DAY, progress: Progress | None = None,
                 page_size: int = DEFAULT_PAGE, chunk_size: int = STORE_CHUNK,
                 since: float | None = None) -> StoreReport:
    """Read the store once and run every model, coordination quality and (with ``budget``)
    the budget report of the first model, by agent or channel (agent for ``agent_set``).
    With ``since``, only journeys that end (convert, or go quiet) at or after it count."""
    asked = bool(models)
    models = list(models or MODELS)
    _check(models, by, budget)
    accs = [make_accumulator(m, by) for m in models]
    for acc, m in zip(accs, models, strict=True):
        acc.model = m if by == "agent_set" else acc.model
        acc.asked = asked
    money_by = by if by in ("agent", "channel") else "agent"
    keep_all = models[0] in WHOLE_JOURNEY
    spend: dict[tuple[str, int], float] = defaultdict(float)
    kept: list[Journey] = []
    not_delivered: dict[str, Counter[str]] = defaultdict(Counter)
    stats = ReadStats()

    def flush(chunk: list[Journey]) -> None:
        batch = JourneyBatch.from_journeys(chunk)
        for acc in accs:
            acc.update(batch)

    def tap(journeys: Iterable[Journey]) -> Iterator[Journey]:
        chunk: list[Journey] = []
        for j in journeys:
            for t in j.touches:
                key = t.channel if by == "channel" else t.agent
                if not t.delivered:
                    not_delivered[key][t.outcome if t.outcome != "go" else t.status] += 1
                if budget is not None and t.cost:
                    money_key = t.channel if money_by == "channel" else t.agent
                    spend[money_key, int(t.at // period_s)] += t.cost
            if budget is not None and (j.converted or keep_all):
                kept.append(j)
            chunk.append(j)
            if len(chunk) >= chunk_size:
                flush(chunk)
                chunk = []
            yield j
        if chunk:
            flush(chunk)

    stream = from_accord(service, lookback_s=lookback_s, progress=progress,
                         page_size=page_size, stats=stats)
    if since is not None:
        stream = (j for j in stream if j.end >= since)
    quality = coordination_quality(tap(stream))
    report: BudgetReport | None = None
    allocation: Allocation | None = None
    if budget is not None:
        # One record per (key, period) carries that period's spend: budget_report only sums
        # cost by key and period, so the touches themselves need not stay in memory.
        spent = [TouchRecord("", k, k, p * period_s, cost=c) for (k, p), c in spend.items()]
        report = budget_report(spent, kept, by=money_by, model=models[0], period_s=period_s)
        allocation = recommend_allocation(report, budget)
    return StoreReport(
        by=by, lookback_s=lookback_s, results=tuple(acc.finish() for acc in accs),
        quality=quality, not_delivered={k: dict(v) for k, v in sorted(not_delivered.items())},
        customers=stats.customers, journeys=stats.journeys, budget=report,
        allocation=allocation, warnings=tuple(stats.warnings()))


def attribution_report(service: Any, *, models: Sequence[str] | None = None, by: str = "agent",
                       lookback_s: float = DEFAULT_LOOKBACK_S, budget: float | None = None,
                       period_s: float = 7 * DAY,
                       progress: Callable[[int], None] | None = None,
                       since: float | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict (NaN as null) — what ``GET /v1/attribution`` returns.

    Raises :class:`~accord._errors.InvalidInput` (HTTP 422) for an unknown model or ``by``, a
    non-positive lookback or budget.
    """
    return build_report(service, models=models, by=by, lookback_s=lookback_s, budget=budget,
                        period_s=period_s, progress=progress, since=since).to_dict()
