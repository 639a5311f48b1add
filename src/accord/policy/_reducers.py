"""Reducers turn an event into context changes. Pure: (policy, event, context) → new context."""

from __future__ import annotations

from typing import Any

from accord._time import iso, to_datetime
from accord.gate import cel_fields
from accord.policy import Policy, _cel


def _plain(value: Any) -> Any:
    """CEL results as JSON-ready values (timestamps as RFC 3339 text)."""
    epoch = _cel.as_epoch(value)
    if epoch is not None:
        return iso(epoch)
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
    event = {**data, "type": event_type, "at": _cel.timestamp(at)}
    for red in reducers:
        context = _cel.bind(_cel.REDUCERS, {"event": event, "customer": cel_fields(new),
                                             "now": to_datetime(at)})
        if red.when is not None and _cel.run(red.when.program, context) is not True:
            continue
        for name, expr in red.set:
            new[name] = _plain(_cel.run(expr.program, context))
            changed.append(name)
        for name, expr in red.append:
            value = _plain(_cel.run(expr.program, context))
            current = list(new.get(name) or [])
            if value not in current:
                current.append(value)
            new[name] = current
            changed.append(name)
        for name, expr in red.remove:
            value = _plain(_cel.run(expr.program, context))
            new[name] = [v for v in (new.get(name) or []) if v != value]
            changed.append(name)
        for name in red.spec.unset:
            if name in new:
                del new[name]
                changed.append(name)
    return new, [c for i, c in enumerate(changed) if c not in changed[:i]]
