"""Load → validate → compile. The result, ``Policy``, is immutable and does no I/O."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from accord._errors import PolicyError
from accord.policy import _cel, _closure, _codegen, _cost, _source
from accord.policy._schema import (
    AgentSpec,
    CapSpec,
    ConflictSpec,
    PolicySpec,
    ReducerSpec,
    RuleSpec,
    SpacingSpec,
)

VARIABLES = ("action", "customer", "touches", "agent", "now")
REDUCER_VARIABLES = ("event", "customer", "now")
_FIELD = re.compile(r"\bcustomer\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_CUSTOMER = re.compile(r"\bcustomer\b(?!\s*\.\s*[A-Za-z_])")
_ACTION_FIELD = re.compile(r"\baction\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_ACTION = re.compile(r"\baction\b(?!\s*\.\s*[A-Za-z_])")


@dataclass(frozen=True, slots=True)
class Expr:
    """A compiled CEL expression and what it reads."""

    source: str
    program: Any
    variables: frozenset[str]
    customer_fields: frozenset[str] | None  # None: reads the whole customer
    action_fields: frozenset[str] | None  # None: reads the whole action


@dataclass(frozen=True, slots=True)
class Rule:
    spec: RuleSpec
    when: Expr
    until: Expr | None
    line: int | None
    # the condition compiled to Python closures, when it is inside the subset (_closure)
    when_closure: _closure.Closure | None = None
    until_closure: _closure.Closure | None = None

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass(frozen=True, slots=True)
class Reducer:
    spec: ReducerSpec
    when: Expr | None
    set: tuple[tuple[str, Expr], ...]
    append: tuple[tuple[str, Expr], ...]
    remove: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class Scope:
    rules: tuple[int, ...]
    program: Any
    closures: tuple[_closure.Closure, ...] | None  # every condition compiled, or None
    fused: Any  # then: one generated function running them all (``_codegen``), or None
    variables: frozenset[str]
    customer_fields: frozenset[str] | None
    action_fields: frozenset[str] | None


def _make_scope(policy: Policy, intent: str, channel: str, agent: str, outbound: bool) -> Scope:
    rules: list[int] = []
    variables: set[str] = set()
    customer: set[str] | None = set()
    action: set[str] | None = set()
    for i, rule in enumerate(policy.rules):
        s = rule.spec
        if ((s.intents is not None and intent not in s.intents)
                or (s.channels is not None and channel not in s.channels)
                or (s.agents is not None and agent not in s.agents)
                or (s.outbound_only and not outbound)):
            continue
        rules.append(i)
        for expr in (rule.when, rule.until):
            if expr is None:
                continue
            variables |= expr.variables
            if "customer" in expr.variables:
                customer = (None if customer is None or expr.customer_fields is None
                            else customer | expr.customer_fields)
            if "action" in expr.variables:
                action = (None if action is None or expr.action_fields is None
                          else action | expr.action_fields)
    program = None
    compiled = [policy.rules[i].when_closure for i in rules]
    closures = None
    fused = None
    if all(c is not None for c in compiled):
        closures = tuple(c for c in compiled if c is not None)
        if rules and all(getattr(c, "__name__", "") == "condition" for c in closures):
            with contextlib.suppress(RecursionError, SyntaxError, MemoryError):
                fused = _codegen.generate_scope([policy.rules[i].spec.when for i in rules],
                                                frozenset(VARIABLES))
    elif rules:  # CEL runs the scope: one program returning a list of bools
        source = "[" + ", ".join(f"({policy.rules[i].spec.when})" for i in rules) + "]"
        program = _cel.compile_source(source, _cel.RULES)
    return Scope(tuple(rules), program, closures, fused, frozenset(variables),
                 None if customer is None else frozenset(customer),
                 None if action is None else frozenset(action))


@dataclass(frozen=True)
class Policy:
    """A validated, compiled policy. Build with ``Policy.load`` / ``Policy.from_text``."""

    spec: PolicySpec
    source: str
    version: str
    text: str
    agents: dict[str, AgentSpec]
    rank: dict[str, int]
    rules: tuple[Rule, ...]
    reducers: dict[str, tuple[Reducer, ...]]
    horizon: float
    warnings: tuple[str, ...] = ()
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, repr=False)
    _scopes: dict[tuple[str, str, str, bool], Scope] = field(default_factory=dict, repr=False)
    # what the gate derives from the policy once per proposal shape (its windows, ...)
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def scope(self, intent: str, channel: str, agent: str, outbound: bool) -> Scope:
        """The conditions that apply to proposals of this shape, and what they read.

        A call into the CEL runtime costs more than a condition does, so the applicable
        conditions run as one program returning a list of bools — compiled on first use for
        each (intent, channel, agent) shape, then cached.
        """
        key = (intent, channel, agent, outbound)
        found = self._scopes.get(key)
        if found is None:
            found = self._scopes[key] = _make_scope(self, intent, channel, agent, outbound)
        return found

    @property
    def caps(self) -> list[CapSpec]:
        return self.spec.caps

    @property
    def spacing(self) -> list[SpacingSpec]:
        return self.spec.spacing

    @property
    def conflicts(self) -> list[ConflictSpec]:
        return self.spec.conflicts

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(
                [f"{p}: no such file (create one with `accord init`, or pass --policy)"],
                source=str(p),
            ) from None
        return cls.from_text(text, source=str(p))

    @classmethod
    def from_text(cls, text: str, *, source: str = "accord.yaml") -> Policy:
        try:
            data, lines = _source.load(text)
        except _source.TooLarge as exc:
            raise PolicyError([f"{source}:{exc.line}: {exc}"], source=source) from None
        except Exception as exc:  # yaml's own errors carry line and column
            raise PolicyError([f"{source}: not valid YAML: {exc}"], source=source) from None
        if not isinstance(data, dict):
            raise PolicyError([f"{source}:1: the policy must be a mapping"], source=source)
        try:
            spec = PolicySpec.model_validate(data)
        except ValidationError as exc:
            found = _schema_problems(exc, data, lines, source) + _cel_problems(data, lines, source)
            raise PolicyError(found, source=source) from None
        return _compile(spec, text, source, lines)

    @cached_property
    def channel_rules(self) -> frozenset[str]:
        """Ids of the rules whose verdict can change with the channel alone."""
        ids = {r.id for r in self.rules
               if r.spec.channels is not None or r.when.action_fields is None
               or "channel" in r.when.action_fields}
        ids |= {c.id for c in self.caps if c.channels} | {s.id for s in self.spacing if s.channels}
        return frozenset(ids)

    def rank_of(self, agent_id: str) -> int:
        """Lower wins; agents missing from ``precedence`` rank after every listed one."""
        return self.rank.get(agent_id, len(self.rank))

    def team_of(self, agent_id: str) -> str | None:
        seat = self.agents.get(agent_id)
        return seat.team if seat else None

    def with_agents(self, agents: Iterable[AgentSpec]) -> Policy:
        """The same policy with seats replaced (the registry overrides the file's seats)."""
        spec = self.spec.model_copy(update={"agents": list(agents)})
        return _compile(spec, self.text, self.source, self.lines)


def _schema_problems(exc: ValidationError, data: dict[str, Any], lines: dict[Any, int],
                     source: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = _source.line_of(lines, loc)
        rule_id = _rule_id(data, loc)
        where = f"{source}:{line}" if line else source
        dotted = ".".join(str(x) for x in loc) or "(top)"
        what = f" (rule {rule_id})" if rule_id else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; check the spelling (see docs/policy.md for the schema)"
        problems.append(f"{where}: {dotted}{what}: {msg}")
    return problems


def _cel_problems(data: dict[str, Any], lines: dict[Any, int], source: str) -> list[str]:
    """The CEL problems of a file whose schema failed, so one `policy check` reports both:
    every expression that is a string where the schema expects one is compiled as is."""
    problems = _Problems(source, lines)

    def check(path: tuple[Any, ...], expr: Any, allowed: tuple[str, ...], rule: Any) -> None:
        if isinstance(expr, str):
            try:
                compile_expr(expr, allowed)
            except ValueError as exc:
                problems.add(path, f"CEL: {exc}", str(rule) if rule else None)

    for key, fields, allowed in (("rules", ("when", "until"), VARIABLES),
                                 ("reducers", ("when",), REDUCER_VARIABLES)):
        items = data.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            rule = item.get("id") or item.get("event")
            for name in fields:
                check((key, i, name), item.get(name), allowed, rule)
            for op in ("set", "append", "remove") if key == "reducers" else ():
                ops = item.get(op)
                for fname, expr in (ops.items() if isinstance(ops, dict) else ()):
                    check((key, i, op, fname), expr, allowed, rule)
    return problems.items


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and isinstance(loc[1], int):
        try:
            item = data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(item, dict):
            return str(item.get("id") or item.get("event") or item.get("name") or "") or None
    return None


class _Problems:
    def __init__(self, source: str, lines: dict[Any, int]) -> None:
        self.source, self.lines = source, lines
        self.items: list[str] = []

    def add(self, path: tuple[Any, ...], message: str, rule: str | None = None) -> None:
        line = _source.line_of(self.lines, path)
        where = f"{self.source}:{line}" if line else self.source
        what = f" (rule {rule})" if rule else ""
        self.items.append(f"{where}: {'.'.join(map(str, path))}{what}: {message}")


def compile_expr(source: str, allowed: tuple[str, ...]) -> Expr:
    """Compile and type-check one CEL expression; raise ValueError naming what is wrong."""
    env = _cel.RULES if "action" in allowed else _cel.REDUCERS
    program = _cel.compile_source(source, env)
    _cost.check(source)
    variables = frozenset(v for v in allowed if re.search(rf"\b{v}\b", source))
    fields: frozenset[str] | None = frozenset(_FIELD.findall(source))
    if _WHOLE_CUSTOMER.search(source):
        fields = None
    action: frozenset[str] | None = frozenset(_ACTION_FIELD.findall(source))
    if _WHOLE_ACTION.search(source):
        action = None
    return Expr(source, program, variables, fields, action)


def _closure_of(source: str | None) -> _closure.Closure | None:
    if source is None:
        return None
    try:
        return _closure.compile_closure(source, frozenset(VARIABLES))
    except _closure.Unsupported:
        return None  # CEL runs it


def _compile(spec: PolicySpec, text: str, source: str, lines: dict[Any, int]) -> Policy:
    problems = _Problems(source, lines)
    warnings: list[str] = []
    channels = set(spec.channels)
    agents: dict[str, AgentSpec] = {}
    for i, seat in enumerate(spec.agents):
        if seat.id in agents:
            problems.add(("agents", i, "id"), f"agent {seat.id!r} is declared twice")
        agents[seat.id] = seat
        for j, ch in enumerate(seat.mandate.channels):
            if ch not in channels:
                problems.add(("agents", i, "mandate", "channels", j),
                             f"channel {ch!r} is not in channels: {sorted(channels)}", seat.id)
        if spec.intents is not None:
            for j, intent in enumerate(seat.mandate.intents):
                if intent not in spec.intents:
                    problems.add(("agents", i, "mandate", "intents", j),
                                 f"intent {intent!r} is not in intents: {spec.intents}", seat.id)
    rank: dict[str, int] = {}
    for i, agent_id in enumerate(spec.precedence):
        if agent_id not in agents:
            problems.add(("precedence", i), f"{agent_id!r} is not a declared agent")
        if agent_id in rank:
            problems.add(("precedence", i), f"{agent_id!r} is listed twice")
        rank.setdefault(agent_id, i)

    seen: dict[str, str] = {}
    for kind in ("caps", "spacing", "conflicts", "quiet_hours", "rules"):
        for i, item in enumerate(getattr(spec, kind)):
            if item.id in seen:
                problems.add((kind, i, "id"), f"id {item.id!r} is already used in {seen[item.id]}",
                             item.id)
            seen[item.id] = kind
            for j, ch in enumerate(getattr(item, "channels", None) or []):
                if ch not in channels:
                    problems.add((kind, i, "channels", j), f"unknown channel {ch!r}", item.id)

    holdout = spec.settings.holdout
    for j, rid in enumerate(holdout.enforce if holdout else []):
        if rid not in seen:
            problems.add(("settings", "holdout", "enforce", j),
                         f"{rid!r} is not the id of a rule, cap, spacing or conflict")

    rules: list[Rule] = []
    for i, r in enumerate(spec.rules):
        when = until = None
        try:
            when = compile_expr(r.when, VARIABLES)
        except ValueError as exc:
            problems.add(("rules", i, "when"), f"CEL: {exc}", r.id)
        if r.effect == "defer" and not r.until:
            warnings.append(f"{source}: rule {r.id}: a defer without `until` retries in 1h")
        if r.until:
            try:
                until = compile_expr(r.until, VARIABLES)
            except ValueError as exc:
                problems.add(("rules", i, "until"), f"CEL: {exc}", r.id)
        for j, a in enumerate(r.agents or []):
            if a not in agents:
                problems.add(("rules", i, "agents", j), f"{a!r} is not a declared agent", r.id)
        if when is not None:
            rules.append(Rule(r, when, until, _source.line_of(lines, ("rules", i)),
                              _closure_of(r.when), _closure_of(r.until) if until else None))

    reducers: dict[str, list[Reducer]] = {}
    for i, red in enumerate(spec.reducers):
        compiled: dict[str, list[tuple[str, Expr]]] = {"set": [], "append": [], "remove": []}
        cond = None
        try:
            cond = compile_expr(red.when, REDUCER_VARIABLES) if red.when else None
            for op in compiled:
                for fname, expr in getattr(red, op).items():
                    compiled[op].append((fname, compile_expr(str(expr), REDUCER_VARIABLES)))
        except ValueError as exc:
            problems.add(("reducers", i), f"CEL: {exc}", red.event)
            continue
        reducers.setdefault(red.event, []).append(Reducer(
            red, cond, tuple(compiled["set"]), tuple(compiled["append"]),
            tuple(compiled["remove"])))

    for i, case in enumerate(spec.tests):
        for key in ("agent", "customer", "channel", "intent"):
            if key not in case.proposal:
                problems.add(("tests", i, "proposal"), f"the example proposal needs {key!r}",
                             case.name)

    if problems.items:
        raise PolicyError(problems.items, source=source)

    horizon = max([spec.settings.touch_horizon]
                  + [c.per for c in spec.caps] + [s.min_gap for s in spec.spacing]
                  + [c.within for c in spec.conflicts])
    digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:12]
    return Policy(spec=spec, source=source, version=digest, text=text, agents=agents, rank=rank,
                  rules=tuple(rules), reducers={k: tuple(v) for k, v in reducers.items()},
                  horizon=horizon, warnings=tuple(warnings), lines=lines)
