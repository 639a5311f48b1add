"""Put the gate in front of any tool: ``@guard(acc, agent=..., channel=..., intent=...,
customer=lambda to, **_: to)``.

The wrapped call proposes first and runs only on go; its outcome is reported for it (executed,
or failed with the exception text, which is re-raised). On stop, defer or flag it raises
``Blocked`` (or, with ``on_block="return"``, returns a falsy ``BlockedResult``) carrying the
decision, its reasons and ``retry_at``. It works with the in-process ``Accord`` and with the
remote ``Client`` alike: it only calls their ``propose`` and ``report_outcome``, sync or async.

Every proposal field is either fixed (``channel="email"``) or computed from the call's arguments
(``customer=lambda *args, **kwargs: kwargs["to"]``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from accord._errors import AccordError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("accord.guard")

_FIELDS = ("action", "topic", "offer", "cost", "value", "reversible", "at", "trace_id",
           "parent_id", "idempotency_key")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _outcome(decision: Any) -> str:
    outcome = _get(decision, "outcome")
    return str(getattr(outcome, "value", outcome))


@dataclass(frozen=True)
class BlockedResult:
    """What a guarded call returns instead of running, with ``on_block="return"``. Falsy."""

    decision: Any
    outcome: str
    reasons: list[Any] = field(default_factory=list)
    retry_at: Any = None

    def __bool__(self) -> bool:
        return False

    @property
    def why(self) -> str:
        return "; ".join(f"{_get(r, 'rule')}: {_get(r, 'message')}" for r in self.reasons)


class Blocked(AccordError):
    """The gate did not answer go, so the guarded call did not run."""

    title = "Blocked by the gate"
    status = 409

    def __init__(self, result: BlockedResult, call: str) -> None:
        retry = f"; retry at {result.retry_at}" if result.retry_at else ""
        super().__init__(f"{call} was not run: the gate answered {result.outcome} "
                         f"({result.why or 'no reasons given'}){retry}",
                         where=f"decision {_get(result.decision, 'id')}",
                         extra={"outcome": result.outcome})
        self.result = result
        self.decision = result.decision
        self.outcome = result.outcome
        self.reasons = result.reasons
        self.retry_at = result.retry_at


def guard(accord: Any, *, agent: Any, channel: Any, intent: Any, customer: Any,
          on_block: Literal["raise", "return"] = "raise", **fields: Any) -> Callable[[F], F]:
    """Wrap a sync or async callable so it runs only when the gate says go.

    ``accord`` is an ``Accord`` or a ``Client`` (anything with ``propose`` and
    ``report_outcome``). ``fields`` are further proposal fields: action, topic, offer, cost,
    value, reversible, at, trace_id, parent_id, idempotency_key. A callable value is called with
    the guarded call's arguments.
    """
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise TypeError(f"guard() got unknown proposal fields: {', '.join(unknown)} "
                        f"(known: agent, channel, intent, customer, {', '.join(_FIELDS)})")
    if on_block not in ("raise", "return"):
        raise TypeError(f"on_block must be 'raise' or 'return', not {on_block!r}")
    spec = {"agent": agent, "channel": channel, "intent": intent, "customer": customer, **fields}

    def decorate(fn: F) -> F:
        name = getattr(fn, "__qualname__", repr(fn))

        def proposal(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            out = {k: (v(*args, **kwargs) if callable(v) else v) for k, v in spec.items()}
            return {k: v for k, v in out.items() if v is not None}

        def blocked(decision: Any) -> Any:
            result = BlockedResult(decision, _outcome(decision),
                                   list(_get(decision, "reasons") or []),
                                   _get(decision, "retry_at"))
            if on_block == "return":
                return result
            raise Blocked(result, name)

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_guarded(*args: Any, **kwargs: Any) -> Any:
                p = proposal(args, kwargs)
                who = p.pop("agent")
                decision = await _acall(accord.propose, who, p.pop("customer"), **p)
                if _outcome(decision) != "go":
                    return blocked(decision)
                touch = _get(decision, "touch_id")
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    await _areport(accord, touch, "failed", who, exc)
                    raise
                await _areport(accord, touch, "executed", who, None)
                return result

            return async_guarded  # type: ignore[return-value]

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            p = proposal(args, kwargs)
            who = p.pop("agent")
            decision = accord.propose(who, p.pop("customer"), **p)
            if _outcome(decision) != "go":
                return blocked(decision)
            touch = _get(decision, "touch_id")
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _report(accord, touch, "failed", who, exc)
                raise
            _report(accord, touch, "executed", who, None)
            return result

        return guarded  # type: ignore[return-value]

    return decorate


def _detail(exc: BaseException | None) -> str | None:
    return None if exc is None else f"{type(exc).__name__}: {exc}"[:1000]


def _report(accord: Any, touch: str | None, status: str, agent: str | None,
            exc: BaseException | None) -> None:
    if touch is None:
        return
    try:
        accord.report_outcome(touch, status, agent=agent, detail=_detail(exc))
    except AccordError as err:
        # The call already happened (or already failed); a report that cannot land (e.g. the
        # touch was revoked meanwhile) must not turn into a second, misleading error.
        log.warning("could not report %s for touch %s: %s", status, touch, err)


async def _areport(accord: Any, touch: str | None, status: str, agent: str | None,
                   exc: BaseException | None) -> None:
    if touch is None:
        return
    try:
        await _acall(accord.report_outcome, touch, status, agent=agent, detail=_detail(exc))
    except AccordError as err:
        log.warning("could not report %s for touch %s: %s", status, touch, err)


async def _acall(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await an async client's method; run a blocking one (the embedded store) in a thread."""
    if inspect.iscoroutinefunction(method):
        return await method(*args, **kwargs)
    result = await asyncio.to_thread(method, *args, **kwargs)
    return await result if inspect.isawaitable(result) else result


__all__ = ["Blocked", "BlockedResult", "guard"]
