"""The gate: a pure function of (proposal, snapshot, policy, now).

No I/O, no clock, no store. ``evaluate`` collects every rule that matches — each contributes an
effect and a reason — and the strictest effect wins (stop > defer > flag > go). A defer carries
the earliest time at which every blocking window clears. The same function decides live traffic,
``accord policy test`` cases and ``accord policy replay``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accord._time import format_duration, iso, to_datetime, to_epoch
from accord.model import Outcome, Proposal, Reason
from accord.policy import Policy, _cel
from accord.policy._schema import AgentSpec

_LIVE = ("pending", "executed")
_MAX_RETRY_ROUNDS = 12


@dataclass(slots=True)
class TouchView:
    id: str
    agent: str
    channel: str
    intent: str
    at: float
    status: str
    seq: int = 0


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


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    reasons: list[Reason]
    retry_at: float | None = None
    amend: dict[str, Any] = field(default_factory=dict)
    shadow: list[Reason] = field(default_factory=list)
    preempt: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


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
             hold: Collection[str] = (), _amend: bool = True) -> Verdict:
    """Decide ``p`` at time ``at`` (``now`` in conditions) against ``snap`` under ``policy``.

    ``context_only`` evaluates just what an event can change (seat, mandate, conditions): it
    re-checks a pending touch after the customer's context moved. ``approval`` (a sentence
    naming the reviewer) stands in for every flag: what a human approved is decided as if no
    rule had asked for one, while stops and defers still hold — and the outcome that follows
    (a go that pre-empts, say) is the one recorded. ``hold`` names pending touches that may not
    be pre-empted (a planning round's own goes: ``arbitration``); they block as usual.
    """
    reasons: list[Reason] = []
    shadow: list[Reason] = []
    amend: dict[str, Any] = {}
    incidents: list[str] = []
    defer_until: list[float] = []
    seat = policy.agents.get(p.agent)

    if seat is None or seat.status != "active":
        what = "is not a registered seat" if seat is None else f"is {seat.status}"
        reasons.append(Reason.model_construct(rule="seat", effect=Outcome.STOP,
                                              message=f"agent {p.agent!r} {what}",
                              refs={"agent": p.agent}))
        return Verdict(Outcome.STOP, reasons)

    _mandate(p, seat, reasons)
    outbound = p.intent not in policy.spec.outbound_exempt_intents
    _conditions(p, at, snap, policy, seat, outbound, reasons, shadow, defer_until)
    preempt: list[str] = []
    hits: list[_Hit] | None = None
    if not context_only:
        _authority(p, seat, reasons, amend)
        _commitments(p, at, snap, policy, reasons, amend)
        _budgets(p, snap, policy, seat, reasons, incidents)
        _claims(p, at, snap, policy, reasons, defer_until)
        live = [t for t in snap.touches if t.status in _LIVE
                and not (t.status == "pending" and t.at + policy.spec.settings.touch_lease < at)]
        hits = _window_hits(p, at, live, policy) if live else []
        blocking = _blocking(hits)
        if blocking:
            pre = {t.id for t in live if t.status == "pending" and t.id not in hold
                   and policy.rank_of(t.agent) > policy.rank_of(p.agent)}
            if pre and blocking <= pre and not _blocking(
                    _window_hits(p, at, [t for t in live if t.id not in pre], policy)):
                preempt = sorted(blocking)
                hits = [h for h in hits if h.spec.mode == "shadow"]
        for h in hits:
            r = _window_reason(h, p, policy)
            (shadow if r.shadow else reasons).append(r)

    if approval is not None:
        reasons = [r for r in reasons if r.effect is not Outcome.FLAG]
        reasons.append(Reason.model_construct(rule="approval", effect=Outcome.GO,
                                              message=approval, shadow=False, refs={}))
        amend.pop("offer", None)  # the reviewer accepted the offer as it stands
    outcome = max((r.effect for r in reasons), key=lambda o: o.severity, default=Outcome.GO)
    retry_at = None
    if outcome is Outcome.DEFER:
        retry_at = _retry(p, at, snap, policy, defer_until, hits)
        amend["at"] = iso(retry_at)
    if preempt and outcome is Outcome.GO:
        names = sorted({t.agent for t in snap.touches if t.id in preempt})
        reasons.append(Reason.model_construct(
            rule="precedence", effect=Outcome.GO,
            message=f"pre-empts the pending touch of {', '.join(names)}: "
                    f"{p.agent} comes first in precedence",
            refs={"touches": preempt, "agents": names}))
    else:
        preempt = []
    if outcome is Outcome.STOP and _amend and len(seat.mandate.channels) > 1:
        _suggest_channel(p, at, snap, policy, seat, reasons, amend)
    return Verdict(outcome, reasons, retry_at, amend, shadow, preempt, incidents)


def _mandate(p: Proposal, seat: AgentSpec, reasons: list[Reason]) -> None:
    m = seat.mandate
    problems = []
    if p.intent not in m.intents:
        problems.append(f"intent {p.intent!r} (allowed: {', '.join(m.intents) or 'none'})")
    if p.channel not in m.channels:
        problems.append(f"channel {p.channel!r} (allowed: {', '.join(m.channels) or 'none'})")
    if m.actions is not None and p.action not in m.actions:
        problems.append(f"action {p.action!r} (allowed: {', '.join(m.actions)})")
    if problems:
        reasons.append(Reason.model_construct(rule="mandate", effect=Outcome.STOP,
                              message=f"{p.agent} is not mandated for {'; '.join(problems)}",
                              refs={"agent": p.agent}))


def _action_value(p: Proposal, fields: frozenset[str] | None) -> dict[str, Any]:
    """The proposal as CEL sees it, with only the fields the conditions read: converting each
    value into CEL costs about a microsecond, so unread fields are not converted."""
    full = {"kind": p.action, "channel": p.channel, "intent": p.intent, "agent": p.agent,
            "reversible": p.reversible, "topic": p.topic, "value": p.value}
    action = {k: v for k, v in full.items() if v is not None and (fields is None or k in fields)}
    if p.offer is not None and (fields is None or "offer" in fields):
        action["offer"] = p.offer.model_dump(exclude_none=True)
    if p.cost is not None and (fields is None or "cost" in fields):
        action["cost"] = {"usd": p.cost.usd, "tokens": p.cost.tokens}
    return action


def _conditions(p: Proposal, at: float, snap: Snapshot, policy: Policy, seat: AgentSpec,
                outbound: bool, reasons: list[Reason], shadow: list[Reason],
                defer_until: list[float]) -> None:
    scope = policy.scope(p.intent, p.channel, p.agent, outbound)
    if not scope.rules:
        return
    needs, fields, action_fields = scope.variables, scope.customer_fields, scope.action_fields
    variables: dict[str, Any] = {"now": to_datetime(at)}
    if "action" in needs:
        variables["action"] = _action_value(p, action_fields)
    if "customer" in needs:
        ctx = snap.context
        variables["customer"] = ctx if fields is None else {k: ctx[k] for k in fields if k in ctx}
    if "agent" in needs:
        variables["agent"] = {"id": seat.id, "owner": seat.owner, "team": seat.team or "",
                              "precedence": policy.rank_of(seat.id)}
    if "touches" in needs:
        variables["touches"] = [
            {"id": t.id, "agent": t.agent, "team": policy.team_of(t.agent) or "",
             "channel": t.channel, "intent": t.intent, "at": _cel.timestamp(t.at),
             "status": t.status}
            for t in snap.touches if t.status in _LIVE]
    context = _cel.bind(_cel.RULES, variables)
    try:
        results: list[Any] = _cel.run(scope.program, context)
        errors: list[str | None] = [None] * len(results)
    except _cel.CelError:  # some condition failed: find which, one by one
        results, errors = [], []
        for i in scope.rules:
            try:
                results.append(_cel.run(policy.rules[i].when.program, context))
                errors.append(None)
            except _cel.CelError as exc:
                results.append(None)
                errors.append(str(exc))
    for i, matched, error in zip(scope.rules, results, errors, strict=True):
        rule = policy.rules[i]
        s = rule.spec
        if error is not None:
            if s.on_error == "ignore":
                continue
        elif matched is not True:
            continue
        effect = Outcome(s.effect)
        message = s.message or f"condition holds: {s.when}"
        if error:
            message = (f"could not be evaluated ({error}); failing closed. Guard optional "
                       f"fields with has(), or set on_error: ignore")
        reason = Reason.model_construct(rule=s.id, effect=effect, message=message,
                                        shadow=s.mode == "shadow", refs={})
        if s.mode == "shadow":
            shadow.append(reason)
            continue
        reasons.append(reason)
        if effect is Outcome.DEFER:
            defer_until.append(_until(rule.until, context, at))


def _until(expr: Any, context: Any, at: float) -> float:
    if expr is None:
        return at + 3600.0
    try:
        when = _cel.as_epoch(_cel.run(expr.program, context))
    except _cel.CelError:
        return at + 3600.0
    return when if when is not None else at + 3600.0


def _authority(p: Proposal, seat: AgentSpec, reasons: list[Reason], amend: dict[str, Any]) -> None:
    auth = seat.authority
    if (p.offer is not None and p.offer.discount_pct is not None
            and auth.max_discount_pct is not None and p.offer.discount_pct > auth.max_discount_pct):
        reasons.append(Reason.model_construct(
            rule="authority", effect=Outcome.FLAG,
            message=f"{p.agent} may offer up to {auth.max_discount_pct:g}% on its own; "
                    f"{p.offer.discount_pct:g}% needs a reviewer",
            refs={"max_discount_pct": auth.max_discount_pct}))
        amend["offer"] = {**p.offer.model_dump(exclude_none=True),
                          "discount_pct": auth.max_discount_pct}
    if p.cost is not None and auth.max_cost_usd is not None and p.cost.usd > auth.max_cost_usd:
        reasons.append(Reason.model_construct(rule="authority", effect=Outcome.FLAG,
                              message=f"cost ${p.cost.usd:g} is over {p.agent}'s per-action "
                                      f"authority of ${auth.max_cost_usd:g}"))
    if not p.reversible and auth.irreversible != "go":
        reasons.append(Reason.model_construct(rule="authority", effect=Outcome(auth.irreversible),
                              message=f"{p.agent} may not take irreversible actions on its own"))


def _commitments(p: Proposal, at: float, snap: Snapshot, policy: Policy, reasons: list[Reason],
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
        said = ", ".join(f"{k}={c.offer.get(k)}" for k in differs)
        reasons.append(Reason.model_construct(
            rule="commitment", effect=Outcome(policy.spec.commitments.on_contradiction),
            message=f"contradicts {c.agent}'s earlier offer on {c.product} ({said}, valid until "
                    f"{iso(c.valid_until)}; decision {c.decision_id})",
            refs={"commitment": c.id, "agent": c.agent, "decision": c.decision_id}))
        amend["offer"] = {**mine, **{k: c.offer.get(k) for k in differs}}


def _budgets(p: Proposal, snap: Snapshot, policy: Policy, seat: AgentSpec,
             reasons: list[Reason], incidents: list[str]) -> None:
    usd = p.cost.usd if p.cost else 0.0
    tokens = p.cost.tokens if p.cost else 0
    b, tr = seat.budget, policy.spec.traces

    def over(rule: str, message: str) -> None:
        reasons.append(Reason.model_construct(rule=rule, effect=Outcome.STOP, message=message))
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


def _claims(p: Proposal, at: float, snap: Snapshot, policy: Policy, reasons: list[Reason],
            defer_until: list[float]) -> None:
    mine = policy.rank_of(p.agent)
    for c in snap.claims:
        if c.agent != p.agent and c.until > at and policy.rank_of(c.agent) < mine:
            reasons.append(Reason.model_construct(
                rule="claim", effect=Outcome.DEFER,
                message=f"{c.agent} holds a claim on this customer ({c.purpose}) until "
                        f"{iso(c.until)} and comes before {p.agent} in precedence",
                refs={"claim": c.id, "agent": c.agent}))
            defer_until.append(c.until)


def _near(touches: Iterable[TouchView], at: float, span: float) -> list[TouchView]:
    return [t for t in touches if at - span < t.at < at + span]


def _cap_blocking(times: Sequence[tuple[float, str]], at: float, limit: int,
                  per: float) -> list[str] | None:
    """Touch ids in the fullest window of length ``per`` containing ``at``, if it is full."""
    near = sorted((t, i) for t, i in times if at - per < t < at + per)
    if len(near) + 1 <= limit:
        return None
    if limit <= 1:
        return [i for _, i in near] if limit == 0 or near else None
    # the windows containing ``at`` start in (at - per, at]; their count can only peak where
    # a past touch is about to leave or a future one has just entered
    starts = ([at - per + 1e-6, at] + [t for t, _ in near if t <= at]
              + [t - per + 1e-6 for t, _ in near if t > at])
    worst: list[str] = []
    for s in starts:
        inside = [i for t, i in near if s <= t < s + per]
        if len(inside) > len(worst):
            worst = inside
    return worst if len(worst) + 1 > limit else None


@dataclass(slots=True)
class _Hit:
    """A window rule that blocks: which rule, how, and the touches behind it."""

    spec: Any
    kind: str
    touches: list[TouchView]
    span: float


def _window_hits(p: Proposal, at: float, live: list[TouchView], policy: Policy) -> list[_Hit]:
    """Caps, spacing and conflicts that block ``p`` at time ``at`` (shadow ones included)."""
    hits: list[_Hit] = []
    for cap in policy.caps:
        if ((cap.channels is not None and p.channel not in cap.channels)
                or (cap.intents is not None and p.intent not in cap.intents)
                or p.intent in cap.exempt_intents):
            continue
        lo, hi = at - cap.per, at + cap.per
        counted = [t for t in live if lo < t.at < hi
                   and (cap.channels is None or t.channel in cap.channels)
                   and (cap.intents is None or t.intent in cap.intents)
                   and t.intent not in cap.exempt_intents]
        if len(counted) < cap.limit:
            continue  # even all of them together leave room
        ids = _cap_blocking([(t.at, t.id) for t in counted], at, cap.limit, cap.per)
        if ids is not None:
            hits.append(_Hit(cap, "cap", [t for t in counted if t.id in ids], cap.per))
    for sp in policy.spacing:
        if p.intent in sp.exempt_intents or (sp.channels and p.channel not in sp.channels):
            continue
        near = [t for t in _near(live, at, sp.min_gap) if t.intent not in sp.exempt_intents
                and (not sp.channels or t.channel in sp.channels)
                and (sp.between == "any" or (t.agent == p.agent) == (sp.between == "same_agent"))]
        if near:
            hits.append(_Hit(sp, "spacing", near, sp.min_gap))
    mine = policy.rank_of(p.agent)
    for cf in policy.conflicts:
        if p.intent not in cf.intents:
            continue
        clash = [t for t in _near(live, at, cf.within)
                 if t.agent != p.agent and t.intent in cf.intents and t.intent != p.intent
                 and (policy.rank_of(t.agent) <= mine or t.status == "pending")]
        if clash:
            hits.append(_Hit(cf, "conflict", clash, cf.within))
    return hits


def _blocking(hits: list[_Hit]) -> set[str]:
    return {t.id for h in hits if h.spec.mode != "shadow" for t in h.touches}


def _window_reason(h: _Hit, p: Proposal, policy: Policy) -> Reason:
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
    return Reason.model_construct(rule=spec.id, effect=Outcome(spec.effect), message=message,
                                  shadow=spec.mode == "shadow",
                                  refs={"touches": ids, "agents": who})


def _clears(h: _Hit, at: float, live: list[TouchView]) -> float:
    """When window ``h`` stops blocking: a spacing or conflict window when its last touch
    leaves it; a cap at the first moment a touch leaving makes room."""
    if h.kind != "cap":
        return max(x.at for x in h.touches) + h.span
    times = [(t.at, t.id) for t in h.touches]
    for candidate in sorted({x.at + h.span for x in h.touches if x.at + h.span > at}):
        if _cap_blocking(times, candidate, h.spec.limit, h.span) is None:
            return candidate
    return max(x.at for x in h.touches) + h.span


def _retry(p: Proposal, at: float, snap: Snapshot, policy: Policy,
           defer_until: list[float], hits: list[_Hit] | None) -> float:
    """The earliest time at which every blocking window and condition clears."""
    live = [t for t in snap.touches if t.status in _LIVE]
    t = at
    for _ in range(_MAX_RETRY_ROUNDS):
        if hits is None:
            hits = _window_hits(p, t, live, policy)
        blocked = [h for h in hits if h.spec.mode != "shadow" and h.spec.effect == "defer"]
        hits = None
        if not blocked:
            break
        t = max(_clears(h, t, live) for h in blocked)
    return max(t, max(defer_until, default=at))


def _suggest_channel(p: Proposal, at: float, snap: Snapshot, policy: Policy, seat: AgentSpec,
                     reasons: list[Reason], amend: dict[str, Any]) -> None:
    stops = [r for r in reasons if r.effect is Outcome.STOP]
    if not all(r.rule in policy.channel_rules for r in stops):
        return  # another channel would be stopped all the same
    for channel in seat.mandate.channels:
        if channel == p.channel:
            continue
        other = p.model_copy(update={"channel": channel})
        if evaluate(other, at, snap, policy, _amend=False).outcome is not Outcome.STOP:
            amend["channel"] = channel
            return
