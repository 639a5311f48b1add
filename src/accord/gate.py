"""The gate: a pure function of (proposal, snapshot, policy, now).

No I/O, no clock, no store. ``evaluate`` collects every rule that matches — each contributes an
effect and a reason — and the strictest effect wins (stop > defer > flag > go). A defer carries
the earliest time at which every blocking window clears. The same function decides live traffic,
``accord policy test`` cases and ``accord policy replay``.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from operator import attrgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from accord._time import format_duration as _format_duration
from accord._time import iso, to_datetime, to_epoch
from accord.model import Offer, Outcome, Proposal, Reason
from accord.policy import Policy, _cel, _closure
from accord.policy._cost import TOUCHES_IN_CONDITIONS
from accord.policy._schema import AgentSpec

_LIVE = ("pending", "executed")
# A snapshot carries at most this many live touches, the nearest to the proposal's time. A
# customer with more within the policy's horizon is held (``history-limit``) rather than
# decided on part of its history: a cap or spacing filtered by channel or intent could miss
# the one touch that matters. Below it, every decision is exact and O(n log n).
SNAPSHOT_TOUCHES = 20_000
_MAX_RETRY_ROUNDS = 12


class _Reason(NamedTuple):
    """A reason as the gate builds it: a tuple. ``evaluate`` returns each as a ``Reason``
    model (building one costs several microseconds; most built inside are never returned)."""

    rule: str
    effect: Outcome
    message: str
    shadow: bool = False
    refs: dict[str, Any] | None = None


_SEVERITY = {o: o.severity for o in Outcome}
format_duration = functools.lru_cache(maxsize=256)(_format_duration)  # a policy has few spans
_new_reason = Reason.__new__
_set = object.__setattr__
_REASON_FIELDS = frozenset(Reason.model_fields)


def _full(r: _Reason) -> Reason:
    """The ``Reason`` model of ``r``: what ``Reason.model_construct`` builds, without its
    per-field default handling (the values are the gate's own, already valid)."""
    m = _new_reason(Reason)
    _set(m, "__dict__", {"rule": r.rule, "effect": r.effect, "message": r.message,
                         "shadow": r.shadow, "refs": {} if r.refs is None else r.refs})
    _set(m, "__pydantic_fields_set__", set(_REASON_FIELDS))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


@dataclass(slots=True)
class TouchView:
    id: str
    agent: str
    channel: str
    intent: str
    at: float
    status: str
    seq: int = 0


# a cap's counted touches and their times, filtered once per snapshot from the index of the
# first touch its window holds: (cap, index, touches, times)
_CapMemo = dict[int, tuple[Any, int, list[TouchView], list[float]]]


@dataclass(slots=True)
class ClaimView:
    id: str
    agent: str
    purpose: str
    until: float


@dataclass(slots=True)
class CommitmentView:
    id: str
    agent: str
    product: str
    offer: dict[str, Any]
    valid_until: float
    decision_id: str


@dataclass(slots=True)
class Snapshot:
    """Everything the gate may look at for one customer, read in the deciding transaction."""

    customer: str
    context: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    touches: list[TouchView] = field(default_factory=list)
    claims: list[ClaimView] = field(default_factory=list)
    commitments: list[CommitmentView] = field(default_factory=list)
    agent_spend_usd: float = 0.0
    agent_spend_tokens: int = 0
    trace_cost_usd: float = 0.0
    trace_tokens: int = 0
    trace_count: int = 0
    truncated: bool = False  # more than SNAPSHOT_TOUCHES live touches: ``touches`` is a part
    # what the gate derives from the touches and the context once per snapshot (sorted live
    # touches, their times, the context as conditions read it): a cache, not state. A snapshot
    # is read-only once decided on; to change one, build another (``dataclasses.replace``).
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    reasons: list[Reason]
    retry_at: float | None = None
    amend: dict[str, Any] = field(default_factory=dict)
    shadow: list[Reason] = field(default_factory=list)
    preempt: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    applied: dict[str, Any] = field(default_factory=dict)  # the accepted amend that went
    proposal: Proposal | None = None  # the variant decided, when an amend was applied
    asked: Verdict | None = None  # then: the verdict on the proposal as asked


@dataclass(slots=True)
class _Out:
    """A verdict as the gate builds it, its reasons still tuples (``_Reason``)."""

    outcome: Outcome
    reasons: list[_Reason]
    retry_at: float | None = None
    amend: dict[str, Any] = field(default_factory=dict)
    shadow: list[_Reason] = field(default_factory=list)
    preempt: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    applied: dict[str, Any] = field(default_factory=dict)
    proposal: Proposal | None = None
    asked: _Out | None = None

    def verdict(self) -> Verdict:
        """The verdict as ``evaluate`` returns it: reasons as ``Reason`` models."""
        return Verdict(self.outcome, [_full(r) for r in self.reasons], self.retry_at,
                       self.amend, [_full(r) for r in self.shadow], self.preempt,
                       self.incidents, self.applied, self.proposal,
                       None if self.asked is None else self.asked.verdict())


def cel_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Context fields as CEL sees them: fields named ``*_at`` are timestamps."""
    out = {}
    for key, value in fields.items():
        if key.endswith("_at") and isinstance(value, str | int | float):
            with contextlib.suppress(ValueError):
                value = _cel.timestamp(to_epoch(value))
        out[key] = value
    return out


def evaluate(p: Proposal, at: float, snap: Snapshot, policy: Policy, *,
             context_only: bool = False, approval: str | None = None,
             hold: Collection[str] = (), now: float | None = None,
             _amend: bool = True) -> Verdict:
    """Decide ``p`` at time ``at`` (``now`` in conditions) against ``snap`` under ``policy``.

    ``context_only`` evaluates just what an event can change (seat, mandate, conditions): it
    re-checks a pending touch after the customer's context moved. ``approval`` (a sentence
    naming the reviewer) stands in for every flag: what a human approved is decided as if no
    rule had asked for one, while stops and defers still hold — and the outcome that follows
    (a go that pre-empts, say) is the one recorded. ``hold`` names pending touches that may not
    be pre-empted (a planning round's own goes: ``arbitration``); they block as usual.
    ``now`` is the time of deciding (``at`` when not given): a pending touch due before ``now``
    plus the policy's ``commit_horizon`` is final and is never pre-empted.

    A proposal that names what it accepts (``accept``: offer, channel, time) and is not a go
    gets the amend applied when the variant passes every rule in its own evaluation: the
    verdict is a go with ``applied`` (what changed), a reason ``amend``, and ``proposal``.
    """
    v = _evaluate(p, at, snap, policy, context_only=context_only, approval=approval,
                  hold=hold, now=at if now is None else now, _amend=_amend)
    if v.outcome is Outcome.GO or not p.accept or context_only or not _amend:
        return v.verdict()
    return _apply_amend(p, at, snap, policy, v, approval, hold,
                        at if now is None else now).verdict()


def _apply_amend(p: Proposal, at: float, snap: Snapshot, policy: Policy, v: _Out,
                 approval: str | None, hold: Collection[str], now: float) -> _Out:
    """The verdict on the accepted variant of ``p``, if it is a go; else ``v`` as it was."""
    accepted = set(p.accept or ())
    applied: dict[str, Any] = {k: v.amend[k] for k in ("offer", "channel")
                               if k in accepted and k in v.amend}
    if p.deliver is not None:
        applied.pop("channel", None)  # the delivery's address belongs to the asked channel
    new_at = at
    if "time" in accepted and "at" in v.amend and v.retry_at is not None:
        applied["at"] = v.amend["at"]
        new_at = v.retry_at
    if not applied:
        return v
    update: dict[str, Any] = {}
    if "offer" in applied:
        update["offer"] = Offer.model_validate(applied["offer"])
    if "channel" in applied:
        update["channel"] = applied["channel"]
    if "at" in applied:
        update["at"] = to_datetime(new_at)
    variant = p.model_copy(update=update)
    again = _evaluate(variant, new_at, snap, policy, context_only=False, approval=approval,
                      hold=hold, now=now, _amend=False)
    if again.outcome is not Outcome.GO:
        return v
    said = "; ".join(f"{k} {_said(k, applied[k])}" for k in applied)
    again.reasons = [*v.reasons, *again.reasons, _Reason(
        rule="amend", effect=Outcome.GO, refs={"applied": applied},
        message=f"go with the variant the proposal accepts: {said} (as asked, it would be "
                f"{v.outcome.value})")]
    again.applied, again.proposal, again.asked = applied, variant, v
    again.amend = {}
    return again


def _said(key: str, value: Any) -> str:
    if key == "offer" and isinstance(value, dict):
        return "→ " + ", ".join(f"{k}={value[k]}" for k in ("discount_pct", "price")
                                if k in value) or "the earlier offer"
    return f"→ {value}"


def _evaluate(p: Proposal, at: float, snap: Snapshot, policy: Policy, *,
              context_only: bool, approval: str | None, hold: Collection[str], now: float,
              _amend: bool) -> _Out:
    """``evaluate`` without applying an amend."""
    reasons: list[_Reason] = []
    shadow: list[_Reason] = []
    amend: dict[str, Any] = {}
    incidents: list[str] = []
    defer_until: list[float] = []
    seat = policy.agents.get(p.agent)

    if seat is None or seat.status != "active":
        what = "is not a registered seat" if seat is None else f"is {seat.status}"
        reasons.append(_Reason(rule="seat", effect=Outcome.STOP,
                                              message=f"agent {p.agent!r} {what}",
                              refs={"agent": p.agent}))
        return _Out(Outcome.STOP, reasons)

    _mandate(p, seat, reasons)
    outbound = p.intent not in policy.spec.outbound_exempt_intents
    _conditions(p, p.channel, at, snap, policy, seat, outbound, reasons, shadow, defer_until)
    if outbound and policy.spec.quiet_hours:
        _quiet_hours(p, at, snap, policy, reasons, shadow, defer_until)
    preempt: list[str] = []
    hits: list[_Hit] | None = None
    prep: _Prep | None = None
    live: list[TouchView] = []  # the live touches, those past their lease gone
    times: list[float] = []
    if not context_only:
        _authority(p, seat, reasons, amend)
        _commitments(p, at, snap, policy, reasons, amend)
        _budgets(p, snap, policy, seat, reasons, incidents)
        _claims(p, at, snap, policy, reasons, defer_until)
        if snap.truncated:
            reasons.append(_Reason(
                rule="history-limit", effect=Outcome.DEFER, refs={},
                message=f"this customer has more than {SNAPSHOT_TOUCHES:,} live touches within "
                        "the policy's horizon; the gate reads no more and holds rather than "
                        "decide on part of the history. To fix: cancel or expire the touches "
                        "of the agent flooding this customer"))
        prep = _prep(snap)
        live, times = prep.every, prep.times
        lease = policy.spec.settings.touch_lease
        if prep.first_pending + lease < at:  # some pending touch is past its lease: gone
            live = [t for t in live if not (t.status == "pending" and t.at + lease < at)]
            times = [t.at for t in live]
        # a cap of 0 blocks even with no touch
        hits, preempt, final = _windows(p, p.channel, at, live, times, policy, hold,
                                        now + policy.spec.settings.commit_horizon,
                                        prep.caps if live is prep.every else None)
        if final:
            _respects(final, policy, reasons)
        for h in hits:
            r = _window_reason(h, p, policy)
            (shadow if r.shadow else reasons).append(r)

    if approval is not None:
        reasons = [r for r in reasons if r.effect is not Outcome.FLAG]
        reasons.append(_Reason(rule="approval", effect=Outcome.GO,
                               message=approval, shadow=False, refs={}))
        amend.pop("offer", None)  # the reviewer accepted the offer as it stands
    outcome = Outcome.GO
    for r in reasons:
        if _SEVERITY[r.effect] > _SEVERITY[outcome]:
            outcome = r.effect
    retry_at = None
    if outcome is Outcome.DEFER:
        if prep is None:
            prep = _prep(snap)
        retry_at = _retry(p, at, prep.every, prep.times, policy, defer_until, hits,
                          prep.caps)
        amend["at"] = iso(retry_at)
    if preempt and outcome is Outcome.GO:
        gone = set(preempt)
        names = sorted({t.agent for t in snap.touches if t.id in gone})
        reasons.append(_Reason(
            rule="precedence", effect=Outcome.GO,
            message=f"pre-empts the pending touch of {', '.join(names)}: "
                    f"{p.agent} comes first in precedence",
            refs={"touches": preempt, "agents": names}))
    else:
        preempt = []
    if outcome is Outcome.STOP and _amend and len(seat.mandate.channels) > 1:
        _suggest_channel(p, at, snap, policy, seat, reasons, amend,
                         live if prep is not None else None, times,
                         now + policy.spec.settings.commit_horizon)
    return _Out(outcome, reasons, retry_at, amend, shadow, preempt, incidents)


def _quiet_hours(p: Proposal, at: float, snap: Snapshot, policy: Policy, reasons: list[_Reason],
                 shadow: list[_Reason], defer_until: list[float]) -> None:
    """Defer what would reach the customer inside a quiet window of their local day to the
    window's end, in their time zone (daylight saving included)."""
    for q in policy.spec.quiet_hours:
        if (q.channels is not None and p.channel not in q.channels) or (
                p.intent in q.exempt_intents):
            continue
        name = snap.context.get(q.tz_field)
        zone = _zone(name) if isinstance(name, str) else None
        where = f"{name} (the customer's {q.tz_field})" if zone else f"{q.default_tz} (default)"
        zone = zone or _zone(q.default_tz)
        assert zone is not None  # the policy's default was checked at load
        local = datetime.fromtimestamp(at, zone)
        now = local.strftime("%H:%M")
        overnight = q.start > q.end
        inside = (now >= q.start or now < q.end) if overnight else q.start <= now < q.end
        if not inside:
            continue
        end_h, end_m = (int(x) for x in q.end.split(":"))
        day = local.date() + (timedelta(days=1) if overnight and now >= q.start else timedelta())
        until = datetime.combine(day, dtime(end_h, end_m), tzinfo=zone).timestamp()
        r = _Reason(
            rule=q.id, effect=Outcome.DEFER, shadow=q.mode == "shadow",
            message=f"quiet hours {q.start}–{q.end} in {where}: it is {now} there; "
                    f"next allowed at {q.end} local ({iso(until)})",
            refs={"tz": zone.key, "until": iso(until)})
        if r.shadow:
            shadow.append(r)
        else:
            reasons.append(r)
            defer_until.append(until)


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _mandate(p: Proposal, seat: AgentSpec, reasons: list[_Reason]) -> None:
    m = seat.mandate
    problems = []
    if p.intent not in m.intents:
        problems.append(f"intent {p.intent!r} (allowed: {', '.join(m.intents) or 'none'})")
    if p.channel not in m.channels:
        problems.append(f"channel {p.channel!r} (allowed: {', '.join(m.channels) or 'none'})")
    if m.actions is not None and p.action not in m.actions:
        problems.append(f"action {p.action!r} (allowed: {', '.join(m.actions)})")
    if problems:
        reasons.append(_Reason(rule="mandate", effect=Outcome.STOP,
                              message=f"{p.agent} is not mandated for {'; '.join(problems)}",
                              refs={"agent": p.agent}))


_ACTION_FIELDS = ("kind", "channel", "intent", "agent", "reversible", "topic", "value")


@functools.lru_cache(maxsize=256)
def _action_keys(fields: frozenset[str] | None) -> tuple[str, ...]:
    return tuple(k for k in _ACTION_FIELDS if fields is None or k in fields)


def _action_value(p: Proposal, channel: str, fields: frozenset[str] | None) -> dict[str, Any]:
    """The proposal as CEL sees it, with only the fields the conditions read: converting each
    value into CEL costs about a microsecond, so unread fields are not converted."""
    action: dict[str, Any] = {}
    for k in _action_keys(fields):
        v = (p.action if k == "kind" else channel if k == "channel" else getattr(p, k))
        if v is not None:
            action[k] = v
    if p.offer is not None and (fields is None or "offer" in fields):
        action["offer"] = _offer_value(p.offer)
    if p.cost is not None and (fields is None or "cost" in fields):
        action["cost"] = {"usd": p.cost.usd, "tokens": p.cost.tokens}
    return action


def _offer_value(offer: Offer) -> dict[str, Any]:
    """``offer.model_dump(exclude_none=True)``: its fields are plain values, so without extra
    keys the dump is its set fields (a dump costs more than the whole condition)."""
    if offer.__pydantic_extra__:
        return offer.model_dump(exclude_none=True)
    return {k: v for k, v in offer.__dict__.items() if v is not None}


def _seat_value(policy: Policy, seat: AgentSpec) -> dict[str, Any]:
    """``agent`` as conditions see it (one per seat and policy: conditions only read it)."""
    key = ("seat", seat.id)
    found: tuple[AgentSpec, dict[str, Any]] | None = policy._cache.get(key)
    if found is None or found[0] is not seat:
        found = policy._cache[key] = (seat, {
            "id": seat.id, "owner": seat.owner, "team": seat.team or "",
            "precedence": policy.rank_of(seat.id)})
    return found[1]


def _conditions(p: Proposal, channel: str, at: float, snap: Snapshot, policy: Policy,
                seat: AgentSpec, outbound: bool, reasons: list[_Reason], shadow: list[_Reason],
                defer_until: list[float], only: frozenset[int] | None = None) -> None:
    """The rules' conditions on ``p`` sent on ``channel``; with ``only``, just those rules."""
    scope = policy.scope(p.intent, channel, p.agent, outbound)
    if not scope.rules or (only is not None and only.isdisjoint(scope.rules)):
        return
    needs, fields, action_fields = scope.variables, scope.customer_fields, scope.action_fields
    compiled = scope.closures is not None
    variables: dict[str, Any] = {"now": to_datetime(at)}
    if "action" in needs:
        variables["action"] = _action_value(p, channel, action_fields)
    if "customer" in needs:
        ctx = snap.context
        if compiled:
            variables["customer"] = _prep(snap).plain_context(ctx, fields)
        else:
            variables["customer"] = ctx if fields is None else {k: ctx[k] for k in fields
                                                                if k in ctx}
    if "agent" in needs:
        variables["agent"] = _seat_value(policy, seat)
    if "touches" in needs:
        variables["touches"] = _prep(snap).condition_touches(at, policy, compiled)
    results: list[Any]
    errors: list[_cel.CelError | None]
    context: Any = None
    indices = scope.rules
    if scope.fused is not None and only is None:  # one generated function for them all
        context = variables
        for k, error in scope.fused(variables):
            _matched(policy, indices[k], error, at, variables, context, reasons, shadow,
                     defer_until)
        return
    if scope.closures is not None:  # every condition compiled: no crossing into CEL
        context = variables
        closures = scope.closures
        if only is not None:
            picked = [k for k, i in enumerate(indices) if i in only]
            indices = tuple(indices[k] for k in picked)
            closures = tuple(closures[k] for k in picked)
        results, errors = _closure.run_all(closures, variables)
    else:
        context = _cel.bind(_cel.RULES, variables)
        try:
            results = _cel.run(scope.program, context)
            errors = [None] * len(results)
        except _cel.CelError:  # some condition failed (or all spent one shared budget):
            results, errors = [], []  # run each alone: one bad rule cannot hide the others
            for i in scope.rules:
                try:
                    results.append(_cel.run(policy.rules[i].when.program, context))
                    errors.append(None)
                except _cel.CelError as exc:
                    results.append(None)
                    errors.append(exc)
        if only is not None:
            keep = [k for k, i in enumerate(indices) if i in only]
            indices = tuple(indices[k] for k in keep)
            results = [results[k] for k in keep]
            errors = [errors[k] for k in keep]
    for i, matched, error in zip(indices, results, errors, strict=True):
        if error is not None or matched is True:
            _matched(policy, i, error, at, variables, context, reasons, shadow, defer_until)


def _matched(policy: Policy, i: int, error: Exception | None, at: float,
             variables: dict[str, Any], context: Any, reasons: list[_Reason],
             shadow: list[_Reason], defer_until: list[float]) -> None:
    """Rule ``i`` held (or, with ``error``, could not be evaluated): its reason."""
    rule = policy.rules[i]
    s = rule.spec
    # a rule that cannot be evaluated fails closed: it contributes its effect. Only a
    # missing field may be waived (on_error: ignore); a spent budget never is.
    if (error is not None and s.on_error == "ignore"
            and not isinstance(error, _cel.CelLimitError)):
        return
    effect = Outcome(s.effect)
    message = s.message or f"condition holds: {s.when}"
    if error is not None:
        hint = ("simplify the condition (see `accord policy check`)"
                if isinstance(error, _cel.CelLimitError)
                else "guard optional fields with has(), or set on_error: ignore")
        message = (f"rule {s.id} could not be evaluated ({error}); failing closed. "
                   f"To fix: {hint}")
    reason = _Reason(rule=s.id, effect=effect, message=message,
                     shadow=s.mode == "shadow", refs={})
    if s.mode == "shadow":
        shadow.append(reason)
        return
    reasons.append(reason)
    if effect is Outcome.DEFER:
        defer_until.append(_until(rule, variables, context, at))


def _until(rule: Any, variables: dict[str, Any], context: Any, at: float) -> float:
    """When a deferring rule's ``until`` says it clears (in an hour if it cannot say)."""
    if rule.until is None:
        return at + 3600.0
    try:
        if context is variables and rule.until_closure is not None:
            value = _closure.run(rule.until_closure, variables)
        else:
            if context is variables:  # the conditions ran compiled; this one needs CEL
                variables = {**variables, "customer": {
                    k: _cel.timestamp(v.timestamp()) if isinstance(v, datetime) else v
                    for k, v in variables.get("customer", {}).items()}}
                variables["touches"] = [{**t, "at": _cel.timestamp(t["at"].timestamp())}
                                        for t in variables.get("touches", [])]
                context = _cel.bind(_cel.RULES, variables)
            value = _cel.run(rule.until.program, context)
        when = _cel.as_epoch(value)
    except _cel.CelError:
        return at + 3600.0
    return when if when is not None else at + 3600.0


def _authority(p: Proposal, seat: AgentSpec, reasons: list[_Reason], amend: dict[str, Any]) -> None:
    auth = seat.authority
    if (p.offer is not None and p.offer.discount_pct is not None
            and auth.max_discount_pct is not None and p.offer.discount_pct > auth.max_discount_pct):
        reasons.append(_Reason(
            rule="authority", effect=Outcome.FLAG,
            message=f"{p.agent} may offer up to {auth.max_discount_pct:g}% on its own; "
                    f"{p.offer.discount_pct:g}% needs a reviewer",
            refs={"max_discount_pct": auth.max_discount_pct}))
        amend["offer"] = {**p.offer.model_dump(exclude_none=True),
                          "discount_pct": auth.max_discount_pct}
    if p.cost is not None and auth.max_cost_usd is not None and p.cost.usd > auth.max_cost_usd:
        reasons.append(_Reason(rule="authority", effect=Outcome.FLAG,
                              message=f"cost ${p.cost.usd:g} is over {p.agent}'s per-action "
                                      f"authority of ${auth.max_cost_usd:g}"))
    if not p.reversible and auth.irreversible != "go":
        reasons.append(_Reason(rule="authority", effect=Outcome(auth.irreversible),
                              message=f"{p.agent} may not take irreversible actions on its own"))


def _commitments(p: Proposal, at: float, snap: Snapshot, policy: Policy, reasons: list[_Reason],
                 amend: dict[str, Any]) -> None:
    if p.offer is None or p.offer.product is None:
        return
    for c in snap.commitments:
        if c.product != p.offer.product or c.valid_until <= at:
            continue
        mine = p.offer.model_dump(exclude_none=True)
        differs = [k for k in ("discount_pct", "price")
                   if k in mine or k in c.offer if mine.get(k) != c.offer.get(k)]
        if not differs:
            continue
        own = policy.spec.commitments.own_offer if c.agent == p.agent else "honour"
        if own == "update":
            continue  # the seat replaces its own offer; the new commitment supersedes it
        said = ", ".join(f"{k}={c.offer.get(k)}" for k in differs)
        if own == "stop":
            reasons.append(_Reason(
                rule="commitment", effect=Outcome.STOP,
                message=f"{p.agent} already offered {c.product} ({said}, valid until "
                        f"{iso(c.valid_until)}; decision {c.decision_id}) and the policy "
                        "(commitments.own_offer: stop) lets no seat change its own offer",
                refs={"commitment": c.id, "agent": c.agent, "decision": c.decision_id}))
            continue
        reasons.append(_Reason(
            rule="commitment", effect=Outcome(policy.spec.commitments.on_contradiction),
            message=f"contradicts {c.agent}'s earlier offer on {c.product} ({said}, valid until "
                    f"{iso(c.valid_until)}; decision {c.decision_id})",
            refs={"commitment": c.id, "agent": c.agent, "decision": c.decision_id}))
        amend["offer"] = {**mine, **{k: c.offer.get(k) for k in differs}}


def _budgets(p: Proposal, snap: Snapshot, policy: Policy, seat: AgentSpec,
             reasons: list[_Reason], incidents: list[str]) -> None:
    usd = p.cost.usd if p.cost else 0.0
    tokens = p.cost.tokens if p.cost else 0
    b, tr = seat.budget, policy.spec.traces

    def over(rule: str, message: str) -> None:
        reasons.append(_Reason(rule=rule, effect=Outcome.STOP, message=message))
        incidents.append(rule)

    if b.daily_usd is not None and snap.agent_spend_usd + usd > b.daily_usd:
        over("budget", f"{p.agent} has spent ${snap.agent_spend_usd:.2f} of its ${b.daily_usd:g} "
                       f"daily budget; this action costs ${usd:g}")
    if b.daily_tokens is not None and snap.agent_spend_tokens + tokens > b.daily_tokens:
        over("budget", f"{p.agent} has used {snap.agent_spend_tokens} of its {b.daily_tokens} "
                       f"daily tokens; this action needs {tokens}")
    if p.trace_id is None:
        return
    if tr.max_cost_usd is not None and snap.trace_cost_usd + usd > tr.max_cost_usd:
        over("trace-ceiling", f"trace {p.trace_id} has cost ${snap.trace_cost_usd:.2f}; the "
                              f"ceiling is ${tr.max_cost_usd:g} — a runaway chain?")
    if tr.max_tokens is not None and snap.trace_tokens + tokens > tr.max_tokens:
        over("trace-ceiling", f"trace {p.trace_id} has used {snap.trace_tokens} tokens; the "
                              f"ceiling is {tr.max_tokens}")
    if tr.max_depth is not None and snap.trace_count + 1 > tr.max_depth:
        over("trace-ceiling", f"trace {p.trace_id} already holds {snap.trace_count} proposals; "
                              f"the ceiling is {tr.max_depth} — a runaway chain?")


def _claims(p: Proposal, at: float, snap: Snapshot, policy: Policy, reasons: list[_Reason],
            defer_until: list[float]) -> None:
    mine = policy.rank_of(p.agent)
    for c in snap.claims:
        if c.agent != p.agent and c.until > at and policy.rank_of(c.agent) < mine:
            reasons.append(_Reason(
                rule="claim", effect=Outcome.DEFER,
                message=f"{c.agent} holds a claim on this customer ({c.purpose}) until "
                        f"{iso(c.until)} and comes before {p.agent} in precedence",
                refs={"claim": c.id, "agent": c.agent}))
            defer_until.append(c.until)


_AT = attrgetter("at")
_INF = float("inf")


class _Prep:
    """What the gate reads from a snapshot's touches and context, derived once per snapshot
    (kept in ``Snapshot._memo``): the live touches sorted by time and their times, the first
    pending one's time (are any past their lease?), and the context as closures read it."""

    __slots__ = (
        "_ctx",
        "_plain",
        "_whole",
        "caps",
        "cond",
        "count",
        "every",
        "first_pending",
        "times",
        "touches",
    )

    def __init__(self, snap: Snapshot) -> None:
        self.touches, self.count = snap.touches, len(snap.touches)
        self._ctx: Any = None
        self._whole = False
        # each filtered cap's touches and times, by the cap (``_window_hits``)
        self.caps: _CapMemo = {}
        if not snap.touches:
            self.cond, self.every, self.times, self.first_pending = [], [], [], _INF
            return
        # the live touches in the snapshot's order (conditions see them so), then by time (the
        # store reads them so: the sort is then one pass)
        self.cond = [t for t in snap.touches if t.status in _LIVE]
        self.every = sorted(self.cond, key=_AT)
        self.times = [t.at for t in self.every]
        self.first_pending = min((t.at for t in self.cond if t.status == "pending"),
                                 default=_INF)
        self._plain: dict[str, Any] = {}

    def plain_context(self, ctx: dict[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
        """The context with CEL timestamps as datetimes, as compiled conditions read it: the
        ``fields`` they read (None: all), converted once per snapshot. Conditions read only
        the fields they name, so the fields others read may be there too."""
        if self._ctx is not ctx:
            self._ctx, self._plain, self._whole = ctx, {}, False
        if self._whole:
            return self._plain
        scalar, plain = _closure.PLAIN_TYPES, _closure.plain
        if fields is None:
            self._plain = {k: v if type(v) in scalar else plain(v) for k, v in ctx.items()}
            self._whole = True
            return self._plain
        done = self._plain
        for k in fields:
            if k not in done and k in ctx:
                v = ctx[k]
                done[k] = v if type(v) in scalar else plain(v)
        return done

    def condition_touches(self, at: float, policy: Policy, compiled: bool) -> list[dict[str, Any]]:
        """``touches`` as conditions see it: the live ones, at most the
        ``TOUCHES_IN_CONDITIONS`` nearest to ``at``."""
        live = self.cond
        if len(live) > TOUCHES_IN_CONDITIONS:  # the bound policy check counts on
            live = heapq.nsmallest(TOUCHES_IN_CONDITIONS, live, key=lambda t: abs(t.at - at))
        teams: dict[str, str] = {}
        out = []
        for t in live:
            team = teams.get(t.agent)
            if team is None:
                team = teams[t.agent] = policy.team_of(t.agent) or ""
            out.append({"id": t.id, "agent": t.agent, "team": team, "channel": t.channel,
                        "intent": t.intent, "status": t.status,
                        "at": to_datetime(t.at) if compiled else _cel.timestamp(t.at)})
        return out


def _prep(snap: Snapshot) -> _Prep:
    found: _Prep | None = snap._memo.get("prep")
    if found is None or found.touches is not snap.touches or found.count != len(snap.touches):
        found = snap._memo["prep"] = _Prep(snap)
    return found


def _near(live: list[TouchView], times: list[float], at: float, span: float) -> list[TouchView]:
    """The touches of ``live`` (sorted by time; ``times`` are theirs) within ``span`` of ``at``."""
    return live[bisect_right(times, at - span):bisect_left(times, at + span)]


def _fullest(ts: list[float], at: float, limit: int, per: float) -> tuple[int, int] | None:
    """The fullest window of length ``per`` containing ``at``, as a slice ``(lo, hi)`` of
    ``ts`` (sorted times, all within ``per`` of ``at``), if it leaves no room under ``limit``.

    O(n log n): every candidate window is counted by bisection, in C when there are many.
    """
    if len(ts) + 1 <= limit:
        return None
    if limit <= 1:
        return (0, len(ts)) if limit == 0 or ts else None
    past = bisect_right(ts, at)
    # the windows containing ``at`` start in (at - per, at]; their count can only peak where
    # a past touch is about to leave or a future one has just entered
    best_lo = best_n = 0
    if len(ts) > 48:
        arr = np.array(ts)
        starts = np.concatenate(([at - per + 1e-6, at], arr[:past], arr[past:] - per + 1e-6))
        los = np.searchsorted(arr, starts, "left")
        counts = np.searchsorted(arr, starts + per, "left") - los
        best = int(np.argmax(counts))  # the first of the fullest, as the loop below picks
        best_lo, best_n = int(los[best]), int(counts[best])
    else:
        for s in [at - per + 1e-6, at, *ts[:past], *(t - per + 1e-6 for t in ts[past:])]:
            lo = bisect_left(ts, s)
            n = bisect_left(ts, s + per, lo) - lo
            if n > best_n:
                best_lo, best_n = lo, n
    return (best_lo, best_lo + best_n) if best_n + 1 > limit else None


@dataclass(slots=True)
class _Hit:
    """A window rule that blocks: which rule, how, and the touches behind it."""

    spec: Any
    kind: str
    touches: list[TouchView]
    span: float


def _windows(p: Proposal, channel: str, at: float, live: list[TouchView], times: list[float],
             policy: Policy, hold: Collection[str] = (), final_before: float = float("-inf"),
             memo: _CapMemo | None = None) -> tuple[list[_Hit], list[str], list[TouchView]]:
    """The windows that block ``p`` (sent on ``channel``) and the pending touches it pre-empts
    instead: when every blocking touch is a pending one of a lower seat (and not in ``hold``),
    and without them nothing blocks. When one of those is due before ``final_before`` (within
    the commit horizon) its go is final: nothing is pre-empted, the windows block, and the
    third item names the final goes that stood in the way."""
    hits = _window_hits(p, channel, at, live, policy, times, memo)  # a cap of 0 blocks anyway
    blockers = [h for h in hits if h.spec.mode != "shadow"]
    if blockers:
        ranks, last, mine = policy.rank, len(policy.rank), policy.rank_of(p.agent)

        def lower(t: TouchView) -> bool:
            return (t.status == "pending" and t.id not in hold
                    and ranks.get(t.agent, last) > mine)

        # (all() stops at the first blocking touch that is not such a one)
        if (any(h.touches for h in blockers)
                and all(lower(t) for h in blockers for t in h.touches)):
            pre = {t.id for t in live if lower(t)}
            if not _blocking(_window_hits(p, channel, at, [t for t in live if t.id not in pre],
                                          policy)):
                blocking = _blocking(hits)
                final = [t for t in live if t.id in blocking and t.at <= final_before]
                if final:
                    return hits, [], final
                return [h for h in hits if h.spec.mode == "shadow"], sorted(blocking), []
    return hits, [], []


def _respects(final: list[TouchView], policy: Policy, reasons: list[_Reason]) -> None:
    """The reason a higher seat waits for the goes it would have pre-empted, were they not
    due within the commit horizon."""
    horizon = format_duration(policy.spec.settings.commit_horizon)
    names = ", ".join(f"{t.agent}'s go (touch {t.id}, due {iso(t.at)})" for t in final)
    reasons.append(_Reason(
        rule="go-is-final", effect=Outcome.DEFER,
        message=f"respects {names}: a go due within the {horizon} commit horizon is final and "
                "is never pre-empted; this proposal waits for it instead",
        refs={"touches": [t.id for t in final], "agents": sorted({t.agent for t in final})}))


@dataclass(frozen=True, slots=True)
class _Windows:
    """The caps, spacing and conflicts that apply to one proposal shape (intent, channel),
    with their filters as sets: found once per shape and policy."""

    caps: tuple[tuple[Any, frozenset[str] | None, frozenset[str] | None, frozenset[str]], ...]
    spacing: tuple[tuple[Any, frozenset[str] | None, frozenset[str]], ...]
    conflicts: tuple[tuple[Any, frozenset[str]], ...]


def _shape_windows(policy: Policy, intent: str, channel: str) -> _Windows:
    key = ("windows", intent, channel)
    found: _Windows | None = policy._cache.get(key)
    if found is not None:
        return found
    caps = []
    for cap in policy.caps:
        chans, intents, exempt = cap.channels, cap.intents, cap.exempt_intents
        if ((chans is not None and channel not in chans)
                or (intents is not None and intent not in intents) or intent in exempt):
            continue
        caps.append((cap, None if chans is None else frozenset(chans),
                     None if intents is None else frozenset(intents), frozenset(exempt)))
    spacing = [(sp, frozenset(sp.channels) if sp.channels else None,
                frozenset(sp.exempt_intents)) for sp in policy.spacing
               if not (intent in sp.exempt_intents or (sp.channels and channel not in sp.channels))]
    conflicts = [(cf, frozenset(cf.intents)) for cf in policy.conflicts if intent in cf.intents]
    found = policy._cache[key] = _Windows(tuple(caps), tuple(spacing), tuple(conflicts))
    return found


def _window_hits(p: Proposal, channel: str, at: float, live: list[TouchView], policy: Policy,
                 times: list[float] | None = None, memo: _CapMemo | None = None,
                 ) -> list[_Hit]:
    """Caps, spacing and conflicts that block ``p`` sent on ``channel`` at time ``at`` (shadow
    ones included). ``memo`` (when ``live`` is a snapshot's live touches) keeps each filtered
    cap's touches across calls: a retry asks again at later times.

    ``live`` is sorted by time: each window is a slice found by bisection, so a busy customer
    costs a pass over the touches near ``at``, not a pass per rule over all of them.
    """
    hits: list[_Hit] = []
    shape = _shape_windows(policy, p.intent, channel)
    if times is None:
        times = [t.at for t in live]
    for cap, chans, intents, exempt in shape.caps:
        per, limit = cap.per, cap.limit
        lo, hi = bisect_right(times, at - per), bisect_left(times, at + per)
        if hi - lo < limit:
            continue  # even all of them together leave room
        counted = live[lo:hi]
        if chans is not None or intents is not None or exempt:
            if memo is not None:  # the touches this cap counts from its window on, filtered
                found = memo.get(id(cap))  # once per snapshot (a retry asks at later times)
                if found is None or found[0] is not cap or found[1] > lo:
                    kept = [t for t in live[lo:] if (chans is None or t.channel in chans)
                            and (intents is None or t.intent in intents)
                            and t.intent not in exempt]
                    found = memo[id(cap)] = (cap, lo, kept, [t.at for t in kept])
                _, _, kept, kept_times = found
                flo, fhi = bisect_right(kept_times, at - per), bisect_left(kept_times, at + per)
                if fhi - flo < limit:
                    continue
                counted = kept[flo:fhi]
                window = _fullest(kept_times[flo:fhi], at, limit, per)
                if window is not None:
                    hits.append(_Hit(cap, "cap", counted[window[0]:window[1]], per))
                continue
            counted = [t for t in counted if (chans is None or t.channel in chans)
                       and (intents is None or t.intent in intents)
                       and t.intent not in exempt]
            if len(counted) < limit:
                continue
            window = _fullest([t.at for t in counted], at, limit, per)
        else:
            window = _fullest(times[lo:hi], at, limit, per)
        if window is not None:
            hits.append(_Hit(cap, "cap", counted[window[0]:window[1]], per))
    if not live:
        return hits
    agent = p.agent
    for sp, chans, exempt in shape.spacing:
        between = sp.between
        same = between == "same_agent"
        near = [t for t in _near(live, times, at, sp.min_gap) if t.intent not in exempt
                and (chans is None or t.channel in chans)
                and (between == "any" or (t.agent == agent) == same)]
        if near:
            hits.append(_Hit(sp, "spacing", near, sp.min_gap))
    if shape.conflicts:
        ranks, last = policy.rank, len(policy.rank)
        mine = ranks.get(agent, last)
        intent = p.intent
        for cf, intents in shape.conflicts:
            clash = [t for t in _near(live, times, at, cf.within)
                     if t.agent != agent and t.intent in intents and t.intent != intent
                     and (ranks.get(t.agent, last) <= mine or t.status == "pending")]
            if clash:
                hits.append(_Hit(cf, "conflict", clash, cf.within))
    return hits


def _blocking(hits: list[_Hit]) -> set[str]:
    return {t.id for h in hits if h.spec.mode != "shadow" for t in h.touches}


def _window_reason(h: _Hit, p: Proposal, policy: Policy) -> _Reason:
    who = sorted({t.agent for t in h.touches})
    ids = [t.id for t in h.touches]
    spec = h.spec
    if h.kind == "cap":
        scope = "/".join(spec.channels) if spec.channels else "all channels"
        message = (f"cap of {spec.limit} per {format_duration(spec.per)} ({scope}) is reached "
                   f"by {', '.join(who) or 'earlier touches'}")
    elif h.kind == "spacing":
        message = (f"{format_duration(spec.min_gap)} spacing: {', '.join(who)} touched or will "
                   "touch this customer within it")
    else:
        mine = policy.rank_of(p.agent)
        first = min(h.touches, key=lambda t: (policy.rank_of(t.agent), t.at))
        order = ("comes first in precedence" if policy.rank_of(first.agent) < mine
                 else "holds the customer")
        message = (f"mixed signals: {first.agent} ({first.intent}) {order}; {p.agent} "
                   f"({p.intent}) would contradict it within {format_duration(spec.within)}")
    return _Reason(rule=spec.id, effect=Outcome(spec.effect), message=message,
                                  shadow=spec.mode == "shadow",
                                  refs={"touches": ids, "agents": who})


def _clears(h: _Hit, at: float) -> float:
    """When window ``h`` stops blocking: a spacing or conflict window when its last touch
    leaves it; a cap at the first moment a touch leaving makes room."""
    ts = [x.at for x in h.touches]  # sorted: windows are slices of the sorted live touches
    if not ts:  # a cap of 0 blocks with no touch at all: ask again one window later
        return at + h.span
    last = ts[-1] + h.span
    if h.kind != "cap":
        return last
    per, limit = h.span, int(h.spec.limit)
    # the candidates are the moments touches leave the window, after ``at``
    first = bisect_right(ts, at - per)
    while first > 0 and ts[first - 1] + per > at:
        first -= 1
    while first < len(ts) and ts[first] + per <= at:
        first += 1
    if limit == 0 or first == len(ts):
        return last
    if limit == 1 or ts[-1] < ts[0] + per:
        # every candidate lies past the last touch (or the cap holds one touch), so a window
        # containing it is full exactly when the touches near it are: count them
        if len(ts) - first <= 48:  # few: bisection beats building arrays
            for candidate in sorted({t + per for t in ts[first:]}):
                if bisect_left(ts, candidate + per) - bisect_right(ts, candidate - per) < limit:
                    return candidate
            return last
        arr = np.array(ts)
        candidates = np.unique(arr[first:] + per)
        near = (np.searchsorted(arr, candidates + per, "left")
                - np.searchsorted(arr, candidates - per, "right"))
        room = np.flatnonzero(near + 1 <= limit)
        return float(candidates[room[0]]) if len(room) else last
    for candidate in sorted({t + per for t in ts[first:]}):
        lo, hi = bisect_right(ts, candidate - per), bisect_left(ts, candidate + per)
        if _fullest(ts[lo:hi], candidate, limit, per) is None:
            return candidate
    return last


def _retry(p: Proposal, at: float, live: list[TouchView], times: list[float], policy: Policy,
           defer_until: list[float], hits: list[_Hit] | None,
           memo: _CapMemo | None = None) -> float:
    """The earliest time at which every blocking window and condition clears (``live``: the
    snapshot's live touches sorted by time, ``times`` theirs)."""
    t = at
    for _ in range(_MAX_RETRY_ROUNDS):
        if hits is None:
            hits = _window_hits(p, p.channel, t, live, policy, times, memo)
        blocked = [h for h in hits if h.spec.mode != "shadow" and h.spec.effect == "defer"]
        hits = None
        if not blocked:
            break
        t = max(_clears(h, t) for h in blocked)
    return max(t, max(defer_until, default=at))


def _suggest_channel(p: Proposal, at: float, snap: Snapshot, policy: Policy, seat: AgentSpec,
                     reasons: list[_Reason], amend: dict[str, Any],
                     live: list[TouchView] | None, times: list[float],
                     final_before: float) -> None:
    """The first other channel of the seat's mandate on which ``p`` would not be stopped.

    Only what depends on the channel is decided again, and only what can stop: the conditions
    of rules whose effect is stop that apply to the other channel's shape, and the windows.
    Every other stop would hold on any channel, and then this returns before trying one.
    """
    stops = [r for r in reasons if r.effect is Outcome.STOP]
    if not all(r.rule in policy.channel_rules for r in stops):
        return  # another channel would be stopped all the same
    if live is None:
        lease = policy.spec.settings.touch_lease
        live = [t for t in _prep(snap).every
                if not (t.status == "pending" and t.at + lease < at)]
        times = [t.at for t in live]
    outbound = p.intent not in policy.spec.outbound_exempt_intents
    stopping = _stopping_rules(policy)
    for channel in seat.mandate.channels:
        if channel == p.channel:
            continue
        found: list[_Reason] = []
        _conditions(p, channel, at, snap, policy, seat, outbound, found, [], [], only=stopping)
        if any(r.effect is Outcome.STOP for r in found):
            continue
        hits, _, _ = _windows(p, channel, at, live, times, policy, (), final_before)
        if not any(h.spec.mode != "shadow" and h.spec.effect == "stop" for h in hits):
            amend["channel"] = channel
            return


def _stopping_rules(policy: Policy) -> frozenset[int]:
    """The rules whose verdict another channel can turn into a stop: effect stop, enforced,
    and depending on the channel (``Policy.channel_rules``). Any other stopping rule decides
    the same on every channel, and it did not stop the proposal as asked (or no other channel
    would have been tried)."""
    found: frozenset[int] | None = policy._cache.get("stopping")
    if found is None:
        found = policy._cache["stopping"] = frozenset(
            i for i, r in enumerate(policy.rules)
            if r.spec.effect == "stop" and r.spec.mode != "shadow"
            and r.spec.id in policy.channel_rules)
    return found
