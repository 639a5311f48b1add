"""Reducers turn an event into context changes. Pure: (policy, event, context) → new context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cel

from accord._time import iso, to_datetime
from accord.gate import cel_fields
from accord.policy import Policy


def _plain(value: Any) -> Any:
    """CEL results as JSON-ready values (timestamps as RFC 3339 text)."""
    if isinstance(value, datetime):
        return iso(value.timestamp())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def apply(policy: Policy, event_type: str, at: float, data: dict[str, Any],
          fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The context after the event, and the names of the fields that changed."""
    reducers = policy.reducers.get(event_type, ())
    if not reducers:
        return fields, []
    new = dict(fields)
    changed: list[str] = []
    event = {**data, "type": event_type, "at": to_datetime(at)}
    for red in reducers:
        context = cel.Context({"event": event, "customer": cel_fields(new), "now": to_datetime(at)})
        if red.when is not None and red.when.program.execute(context) is not True:
            continue
        for name, expr in red.set:
            new[name] = _plain(expr.program.execute(context))
            changed.append(name)
        for name, expr in red.append:
            value = _plain(expr.program.execute(context))
            current = list(new.get(name) or [])
            if value not in current:
                current.append(value)
            new[name] = current
            changed.append(name)
        for name, expr in red.remove:
            value = _plain(expr.program.execute(context))
            new[name] = [v for v in (new.get(name) or []) if v != value]
            changed.append(name)
        for name in red.spec.unset:
            if name in new:
                del new[name]
                changed.append(name)
    return new, [c for i, c in enumerate(changed) if c not in changed[:i]]
