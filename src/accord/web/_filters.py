"""The decisions page's query string, read into a ``DecisionFilter``: ``agent``, ``outcome``,
``rule``, ``customer``, ``since`` / ``until`` (a UTC date or date and time, as the page's inputs
send them) and ``before`` (the ledger sequence a next page starts below). Anything that does not
parse is refused with the parameter's name and what it takes, never ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from accord._errors import InvalidInput
from accord.store._decisions import DecisionFilter

OUTCOMES = ("go", "flag", "defer", "stop")
FIELDS = ("agent", "outcome", "rule", "customer", "since", "until")


def _instant(name: str, text: str) -> float:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be a date or a date and time, not {text!r}",
                           where=f"query.{name}",
                           hint="for example 2026-11-25 or 2026-11-25T14:30 (UTC)") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def parse(query: QueryParams, *, agent: str | None) -> DecisionFilter:
    """The filter the query asks for. ``agent`` (an agent viewer's own id) overrides the query's:
    an agent sees its own decisions only."""
    given = {k: v.strip() for k in FIELDS if (v := query.get(k, "").strip())}
    outcome = given.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}",
                           where="query.outcome", hint="leave it empty for every outcome")
    before = query.get("before", "").strip()
    if before and not before.isdigit():
        raise InvalidInput(f"before must be a ledger sequence number, not {before!r}",
                           where="query.before", hint="follow the page's 'older' link")
    since = _instant("since", given["since"]) if "since" in given else None
    until = _instant("until", given["until"]) if "until" in given else None
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be later than since", where="query.until",
                           hint="swap the two, or leave one empty")
    return DecisionFilter(agent=agent or given.get("agent"), outcome=outcome,
                          rule=given.get("rule"), customer=given.get("customer"),
                          since=since, until=until, before=int(before) if before else None)


def query_of(query: QueryParams, **change: str | int | None) -> str:
    """The page's query string with ``change`` applied (None drops a parameter)."""
    kept: dict[str, str | int] = {k: v for k in FIELDS if (v := query.get(k, "").strip())}
    for k, new in change.items():
        if new is None:
            kept.pop(k, None)
        else:
            kept[k] = new
    return urlencode(kept)
