"""Touches and events in, journeys out — one customer in memory at a time.

Attribution needs *journeys*: the touches a customer received in the lookback window before
a conversion, and (for the Markov model) the journeys that never converted. Building them is
the only step that sees raw records, so it is written as a stream: the input is required to be
grouped by customer (sorted by customer id), which lets us hold one customer's history at a
time no matter how long the ledger is. :func:`sort_records` sorts an unsorted input for callers
that cannot guarantee the order (it materialises everything, by necessity).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

DAY = 86400.0
DEFAULT_LOOKBACK_S = 30 * DAY
CONVERSION_TYPES = frozenset({"purchase", "conversion"})
"""``CustomerEvent`` types that are conversions (converted to :class:`Conversion`)."""
UNSUBSCRIBE_TYPES = frozenset({"unsubscribe", "opt_out"})
COMPLAINT_TYPES = frozenset({"complaint"})

Progress = Callable[[int], None]
"""Called with the number of journeys processed so far (roughly every chunk)."""


@dataclass(frozen=True, slots=True)
class TouchRecord:
    """One touch an agent attempted on a customer, as the ledger recorded it."""

    customer: str
    agent: str
    channel: str
    at: float
    outcome: str = "go"
    status: str = "executed"
    intent: str | None = None
    cost: float = 0.0

    @property
    def delivered(self) -> bool:
        """Only touches the gate let through *and* that were executed reached the customer."""
        return self.outcome == "go" and self.status == "executed"


@dataclass(frozen=True, slots=True)
class Conversion:
    """A conversion (purchase, renewal …) with the value it brought."""

    customer: str
    at: float
    value: float
    kind: str = "purchase"


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    """Any other customer event; ``unsubscribe``/``opt_out`` and ``complaint`` feed quality."""

    customer: str
    at: float
    type: str
    value: float = 0.0


Event = Conversion | CustomerEvent


@dataclass(frozen=True, slots=True)
class Journey:
    """A customer's touches up to a conversion (or up to the end of a silent window).

    All touches are kept — stopped and deferred ones too, because "what was prevented" is part
    of the story — but only :attr:`delivered` ones receive credit.
    """

    customer: str
    touches: tuple[TouchRecord, ...]
    end: float
    converted: bool
    value: float = 0.0
    kind: str | None = None
    events: tuple[CustomerEvent, ...] = field(default=())

    @property
    def delivered(self) -> tuple[TouchRecord, ...]:
        return tuple(t for t in self.touches if t.delivered)

    @property
    def prevented(self) -> tuple[TouchRecord, ...]:
        return tuple(t for t in self.touches if not t.delivered)

    def has_event(self, types: frozenset[str]) -> bool:
        return any(e.type in types for e in self.events)


def _as_conversion(event: Event) -> Conversion | None:
    if isinstance(event, Conversion):
        return event
    if event.type in CONVERSION_TYPES:
        return Conversion(event.customer, event.at, event.value, event.type)
    return None


def sort_records(
    touches: Iterable[TouchRecord], events: Iterable[Event]
) -> tuple[list[TouchRecord], list[Event]]:
    """Sort both inputs by (customer, time) so :func:`build_journeys` can stream them."""
    return (
        sorted(touches, key=lambda t: (t.customer, t.at)),
        sorted(events, key=lambda e: (e.customer, e.at)),
    )


def _grouped(
    touches: Iterable[TouchRecord], events: Iterable[Event]
) -> Iterator[tuple[str, list[TouchRecord], list[Event]]]:
    """Merge the two customer-sorted streams into per-customer groups, checking the order."""
    t_iter, e_iter = iter(touches), iter(events)
    t_next, e_next = next(t_iter, None), next(e_iter, None)
    last: str | None = None
    while t_next is not None or e_next is not None:
        candidates = [r.customer for r in (t_next, e_next) if r is not None]
        customer = min(candidates)
        if last is not None and customer <= last:
            raise ValueError(
                f"records are not sorted by customer ({customer!r} after {last!r}); "
                "call sort_records() first"
            )
        group_t: list[TouchRecord] = []
        group_e: list[Event] = []
        while t_next is not None and t_next.customer == customer:
            group_t.append(t_next)
            t_next = next(t_iter, None)
        while e_next is not None and e_next.customer == customer:
            group_e.append(e_next)
            e_next = next(e_iter, None)
        last = customer
        yield customer, group_t, group_e


def _silent(customer: str, touches: list[TouchRecord], lookback_s: float) -> Iterator[Journey]:
    """Touches not followed by a conversion: windows of ``lookback_s`` from each first touch."""
    start = 0
    for i in range(1, len(touches) + 1):
        if i == len(touches) or touches[i].at - touches[start].at > lookback_s:
            chunk = tuple(touches[start:i])
            yield Journey(customer, chunk, end=chunk[-1].at, converted=False)
            start = i


def _customer_journeys(
    customer: str, touches: list[TouchRecord], events: list[Event], lookback_s: float
) -> list[Journey]:
    touches.sort(key=lambda t: t.at)
    conversions = sorted((c for e in events if (c := _as_conversion(e))), key=lambda c: c.at)
    journeys: list[Journey] = []
    i = 0
    for conv in conversions:
        pending_start = i
        while i < len(touches) and touches[i].at <= conv.at:
            i += 1
        window_start = pending_start
        while window_start < i and touches[window_start].at < conv.at - lookback_s:
            window_start += 1
        journeys.extend(_silent(customer, touches[pending_start:window_start], lookback_s))
        journeys.append(
            Journey(
                customer,
                tuple(touches[window_start:i]),
                end=conv.at,
                converted=True,
                value=conv.value,
                kind=conv.kind,
            )
        )
    journeys.extend(_silent(customer, touches[i:], lookback_s))
    return _attach_events(journeys, touches, events, lookback_s)


def _attach_events(
    journeys: list[Journey], touches: list[TouchRecord], events: list[Event], lookback_s: float
) -> list[Journey]:
    """Give each non-conversion event to the journey holding the latest touch before it."""
    others = [e for e in events if isinstance(e, CustomerEvent) and _as_conversion(e) is None]
    if not others or not touches:
        return journeys
    owner: list[int] = []
    for j, journey in enumerate(journeys):
        owner.extend([j] * len(journey.touches))
    times = [t.at for t in touches]
    attached: dict[int, list[CustomerEvent]] = {}
    for event in sorted(others, key=lambda e: e.at):
        k = bisect.bisect_right(times, event.at) - 1
        if k >= 0 and event.at - times[k] <= lookback_s:
            attached.setdefault(owner[k], []).append(event)
    return [
        Journey(j.customer, j.touches, j.end, j.converted, j.value, j.kind, tuple(attached[n]))
        if n in attached
        else j
        for n, j in enumerate(journeys)
    ]


def build_journeys(
    touches: Iterable[TouchRecord],
    events: Iterable[Event],
    lookback_s: float = DEFAULT_LOOKBACK_S,
    progress: Progress | None = None,
) -> Iterator[Journey]:
    """Stream journeys from touch records and customer events.

    Both inputs must be sorted by customer (time order within a customer does not matter);
    a ValueError is raised when they are not. Rules:

    * a conversion's journey holds the touches in ``[at - lookback_s, at]`` that came after
      the customer's previous conversion, so no touch is credited twice;
    * touches older than the window, and touches after the last conversion, form
      non-converting journeys (windows of ``lookback_s`` starting at their first touch);
    * an ``unsubscribe``/``opt_out``/``complaint`` event goes to the journey holding the latest
      touch before it, if that touch is at most ``lookback_s`` older.
    """
    if lookback_s <= 0:
        raise ValueError("lookback_s must be positive")
    emitted = 0
    for customer, group_t, group_e in _grouped(touches, events):
        for journey in _customer_journeys(customer, group_t, group_e, lookback_s):
            yield journey
            emitted += 1
            if progress is not None and emitted % 10_000 == 0:
                progress(emitted)
    if progress is not None:
        progress(emitted)
