"""The customer journey page: the shared context with who set each field, then the customer's
chain of the ledger in order, one line per entry, each saying what happened in words
(``templates/_ledger.html`` has the words for each kind of entry).

An agent's view is cut to what its grant allows: the fields it may read (``service.context``
does that) and the entries it made or that concern its own touches; events show their type only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accord.web._read import Entry, deliveries, timeline, touch_states

if TYPE_CHECKING:
    from accord.service import Accord
    from accord.web._auth import Viewer


def visible(e: Entry, viewer: Viewer) -> Entry | None:
    me = viewer.agent
    if me is None:
        return e
    if e.agent == me:
        return e
    if e.kind == "event":
        return Entry(e.seq, e.kind, e.at, e.customer, None, e.ref, e.parent_id,
                     {"type": e.body.get("type")})
    return None


def journey(service: Accord, customer: str, viewer: Viewer) -> dict[str, Any]:
    """What ``customer.html`` shows of ``customer`` to ``viewer``."""
    ctx = service.context(customer, agent=viewer.agent)
    entries = [seen for e in timeline(service, customer)
               if (seen := visible(e, viewer)) is not None]
    return {"version": ctx.version, "own": viewer.agent is not None,
            "fields": [(name, ctx.fields[name], ctx.provenance.get(name))
                       for name in sorted(ctx.fields)],
            "entries": entries, "touches": touch_states(service, customer),
            "deliveries": deliveries(service, customer, viewer.agent)}
