"""Compiled conditions as one Python function each, generated from the parse tree.

The closures of ``_closure`` cost a Python call per node; a condition of the policies people
write (``has(customer.stage) && customer.stage == 'renewal' && agent.id != 'churn-guard'``)
makes about ten. This writes the same evaluation out as straight-line Python — one call per
condition — with the closures' semantics exactly: the same values, the same errors raised with
the same messages (the helpers are the closures' own), the same iteration budget.
``compile_closure`` generates only what the closure compiler accepted, so the subset is the
same; tests/policy/test_closures.py holds both to CEL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from accord.policy import _closure as c
from accord.policy._cel import CelError, CelLimitError
from accord.policy._cost import ITERATION_BUDGET
from accord.policy._parse import Node, parse

Env = dict[str, Any]

_OVERLOAD = "No matching overloads found : logical operator"


class _Writer:
    def __init__(self, variables: frozenset[str]) -> None:
        self.variables = variables
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.ids = itertools.count()

    def temp(self) -> str:
        return f"_v{next(self.ids)}"

    def const(self, value: Any) -> str:
        name = f"_k{next(self.ids)}"
        self.consts[name] = value
        return name

    def put(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    # each ``emit`` writes statements leaving the node's value in ``t`` (or raising as the
    # closure would)
    def emit(self, node: Node, t: str, depth: int, bound: dict[str, str]) -> None:
        kind = node[0]
        put = self.put
        if kind == "lit":
            put(depth, f"{t} = {self.const(c._literal(node[1]))}")
        elif kind == "ident":
            name = node[1]
            put(depth, f"{t} = {bound[name]}" if name in bound else f"{t} = env[{name!r}]")
        elif kind == "select":
            m = self.temp()
            self.emit(node[1], m, depth, bound)
            field = node[2]
            put(depth, f"if type({m}) is dict and {field!r} in {m}:")
            put(depth + 1, f"{t} = {m}[{field!r}]")
            put(depth, "else:")
            put(depth + 1, f"{t} = _select({m}, {field!r})")
        elif kind == "index":
            m, k = self.temp(), self.temp()
            self.emit(node[1], m, depth, bound)
            self.emit(node[2], k, depth, bound)
            put(depth, f"{t} = _index({m}, {k})")
        elif kind == "list":
            items = [self.temp() for _ in node[1]]
            for item, n in zip(items, node[1], strict=True):
                self.emit(n, item, depth, bound)
            put(depth, f"{t} = [{', '.join(items)}]")
        elif kind == "map":
            put(depth, f"{t} = {{}}")
            for kn, vn in node[1]:
                k, v = self.temp(), self.temp()
                self.emit(kn, k, depth, bound)
                put(depth, f"if type({k}) not in (str, int, bool) or {k} in {t}:")
                put(depth + 1, "raise _Error('invalid map key')")
                self.emit(vn, v, depth, bound)
                put(depth, f"{t}[{k}] = {v}")
        elif kind == "op":
            self.operator(node, t, depth, bound)
        elif kind == "call":
            self.call(node, t, depth, bound)
        elif kind == "comprehension":
            self.comprehension(node, t, depth, bound)
        else:  # pragma: no cover - the closure compiler refused it first
            raise c.Unsupported(kind)

    def operator(self, node: Node, t: str, depth: int, bound: dict[str, str]) -> None:
        op, args = node[1], node[2]
        put = self.put
        if op in ("&&", "||"):
            self.logic(op, c._left_spine(op, node), t, depth, bound)
            return
        if op == "!":
            a = self.temp()
            self.emit(args[0], a, depth, bound)
            put(depth, f"if type({a}) is not bool:")
            put(depth + 1, "raise _Error('No matching overloads found : expected bool')")
            put(depth, f"{t} = not {a}")
            return
        if op == "-" and len(args) == 1:
            a = self.temp()
            self.emit(args[0], a, depth, bound)
            put(depth, f"{t} = _neg({a})")
            return
        if op == "?:":
            cond = self.temp()
            self.emit(args[0], cond, depth, bound)
            put(depth, f"if type({cond}) is not bool:")
            put(depth + 1, "raise _Error('No matching overloads found : expected bool')")
            put(depth, f"if {cond}:")
            self.emit(args[1], t, depth + 1, bound)
            put(depth, "else:")
            self.emit(args[2], t, depth + 1, bound)
            return
        a, b = self.temp(), self.temp()
        self.emit(args[0], a, depth, bound)
        if op in ("==", "!=") and args[1][0] == "lit":
            lit = c._literal(args[1][1])
            k = self.const(lit)
            if type(lit) is str:
                test = f"(type({a}) is str and {a} == {k})"
            elif type(lit) in (int, float):
                test = f"((type({a}) is int or type({a}) is float) and {a} == {k})"
            elif type(lit) is bool:
                test = f"(type({a}) is bool and {a} == {k})"
            else:
                test = f"_eq({a}, {k})"
            put(depth, f"{t} = {test}" if op == "==" else f"{t} = not {test}")
            return
        self.emit(args[1], b, depth, bound)
        if op in ("==", "!="):
            put(depth, f"{t} = {'' if op == '==' else 'not '}_eq({a}, {b})")
        elif op in ("<", "<=", ">", ">="):
            o = self.temp()
            put(depth, f"if (type({a}) is int or type({a}) is float) and "
                       f"(type({b}) is int or type({b}) is float):")
            put(depth + 1, f"{o} = int({a} > {b}) - int({a} < {b})")
            put(depth, "else:")
            put(depth + 1, f"{o} = _order({a}, {b})")
            put(depth, f"{t} = {o} {op} 0")
        elif op == "+":
            put(depth, f"{t} = _add({a}, {b})")
        elif op == "-":
            put(depth, f"{t} = _sub({a}, {b})")
        elif op == "in":
            put(depth, f"if type({a}) is str and (type({b}) is list or type({b}) is dict):")
            # Python's ``in`` finds no equal element ⇒ CEL's finds none; a find is confirmed
            # by CEL's equality (a subclass of str is not a string to it)
            put(depth + 1, f"{t} = {a} in {b} and _in({a}, {b})")
            put(depth, "else:")
            put(depth + 1, f"{t} = _in({a}, {b})")
        else:  # pragma: no cover - the closure compiler refused it first
            raise c.Unsupported(op)

    def logic(self, op: str, operands: list[Node], t: str, depth: int,
              bound: dict[str, str]) -> None:
        """As ``_closure._logic``: the pairs of a left-nested chain, left to right."""
        absorbing = op == "||"
        stop, done = repr(absorbing), repr(not absorbing)
        put = self.put
        va, vb, decided = self.temp(), self.temp(), self.temp()
        put(depth, "try:")
        self.emit(operands[0], va, depth + 1, bound)
        put(depth, "except _FAILURES as _e:")
        put(depth + 1, f"{va} = _e")
        put(depth, f"{decided} = {va} is {stop}")
        for operand in operands[1:]:
            put(depth, f"if not {decided}:")
            put(depth + 1, "try:")
            self.emit(operand, vb, depth + 2, bound)
            put(depth + 1, "except _FAILURES as _e:")
            put(depth + 2, f"{vb} = _e")
            put(depth + 1, f"if {vb} is {stop}:")
            put(depth + 2, f"{decided} = True")
            put(depth + 1, f"elif isinstance({va}, Exception):")
            put(depth + 2, "pass")
            put(depth + 1, f"elif isinstance({vb}, Exception):")
            put(depth + 2, f"{va} = {vb}")
            put(depth + 1, f"elif type({va}) is not bool or type({vb}) is not bool:")
            put(depth + 2, f"{va} = _Error({_OVERLOAD!r})")
            put(depth + 1, "else:")
            put(depth + 2, f"{va} = {done}")
        put(depth, f"if {decided}:")
        put(depth + 1, f"{t} = {stop}")
        put(depth, f"elif isinstance({va}, Exception):")
        put(depth + 1, f"raise {va}")
        put(depth, "else:")
        put(depth + 1, f"{t} = {done}")

    def call(self, node: Node, t: str, depth: int, bound: dict[str, str]) -> None:
        name, target, args = node[1], node[2], node[3]
        put = self.put
        if name == "has":
            m = self.temp()
            self.emit(args[0][1], m, depth, bound)
            put(depth, f"if not isinstance({m}, dict):")
            put(depth + 1, f"raise _Error(f'invalid has() on {{type({m}).__name__}}')")
            put(depth, f"{t} = {args[0][2]!r} in {m}")
        elif name == "duration":
            put(depth, f"{t} = {self.const(c._duration(c._literal(args[0][1])))}")
        elif name == "size":
            v = self.temp()
            self.emit(args[0] if target is None else target, v, depth, bound)
            put(depth, f"{t} = _size({v})")
        elif name == "getHours":
            v = self.temp()
            self.emit(target, v, depth, bound)
            put(depth, f"if type({v}) is not datetime:")
            put(depth + 1, "raise _Error('No matching overloads found : getHours')")
            put(depth, f"{t} = {v}.hour")
        else:  # pragma: no cover - the closure compiler refused it first
            raise c.Unsupported(name)

    def comprehension(self, node: Node, t: str, depth: int, bound: dict[str, str]) -> None:
        macro, var, body = node[1], node[3], node[4][0]
        absorbing = macro == "exists"
        put = self.put
        items, count, error, v, item = (self.temp() for _ in range(5))
        self.emit(node[2], items, depth, bound)
        put(depth, f"if isinstance({items}, dict):")
        put(depth + 1, f"{items} = list({items})")
        put(depth, f"elif not isinstance({items}, list):")
        put(depth + 1, f"raise _Error('No matching overloads found : {macro}')")
        put(depth, f"{count} = env[_BUDGET]")
        put(depth, f"{error} = None")
        put(depth, f"for {item} in {items}:")
        put(depth + 1, f"{count}[0] += 1")
        put(depth + 1, f"if {count}[0] >= _LIMIT:")
        put(depth + 2, "raise CelLimitError('Iteration budget exceeded')")
        put(depth + 1, "try:")
        self.emit(body, v, depth + 2, {**bound, var: item})
        put(depth + 1, "except _FAILURES as _e:")
        put(depth + 2, f"{error} = _e")
        put(depth + 2, "continue")
        put(depth + 1, f"if {v} is {absorbing!r}:")
        put(depth + 2, f"{t} = {absorbing!r}")
        put(depth + 2, "break")
        put(depth + 1, f"if type({v}) is not bool:")
        put(depth + 2, f"{error} = _Error('No matching overloads found : {macro}')")
        put(depth, "else:")
        put(depth + 1, f"if {error} is not None:")
        put(depth + 2, f"raise {error}")
        put(depth + 1, f"{t} = {(not absorbing)!r}")


def _select(m: Any, field: str) -> Any:
    try:
        return m[field] if type(m) is dict else c._no_field(m, field)
    except KeyError:
        raise c._Error(f"Key not found in map : {field!r}") from None


def _index(m: Any, k: Any) -> Any:
    if isinstance(m, dict):
        return c._get(m, k)
    if isinstance(m, list) and (type(k) is int or (type(k) is float and k.is_integer())):
        if not 0 <= int(k) < len(m):
            raise c._Error("index out of range")
        return m[int(k)]
    raise c._Error("No matching overloads found : _[_]")


def _neg(v: Any) -> Any:
    if type(v) is int:
        return c._int(-v)
    if type(v) in (float, timedelta):
        return -v
    raise c._Error("No matching overloads found : -_")


_HELPERS: dict[str, Any] = {
    "_Error": c._Error, "_FAILURES": c._FAILURES, "_select": _select, "_index": _index,
    "_neg": _neg, "_eq": c._eq, "_order": c._order, "_add": c._add, "_sub": c._sub,
    "_in": c._in, "_size": c._size, "datetime": datetime, "CelLimitError": CelLimitError,
    "_BUDGET": c.BUDGET, "_LIMIT": ITERATION_BUDGET}


def generate(tree: Node, variables: frozenset[str], source: str) -> c.Closure:
    """One Python function evaluating ``tree`` as the closures do."""
    w = _Writer(variables)
    w.emit(tree, "_result", 1, {})
    code = "\n".join(["def condition(env):", *w.lines, "    return _result"])
    namespace = {**_HELPERS, **w.consts}
    exec(compile(code, f"<condition {source[:60]!r}>", "exec"), namespace)
    fn: c.Closure = namespace["condition"]
    return fn


Hits = list[tuple[int, Exception | None]]


def generate_scope(sources: list[str], variables: frozenset[str]) -> Callable[[Env], Hits]:
    """One function running every condition of a scope, as ``_closure.run_all`` runs their
    closures, returning only what counts: ``(k, None)`` for each condition ``k`` that holds
    and ``(k, error)`` for each that failed (a ``CelError``, as ``run_all`` reports it)."""
    w = _Writer(variables)
    w.put(1, "_hits = []")
    for k, source in enumerate(sources):
        tree = parse(source)
        if _iterates(tree):
            w.put(1, "env[_BUDGET] = [0]")  # each condition has the runtime's whole budget
        w.put(1, "try:")
        r = w.temp()
        w.emit(tree, r, 2, {})
        w.put(2, f"if {r} is True:")
        w.put(3, f"_hits.append(({k}, None))")
        w.put(1, "except _Error as _e:")
        w.put(2, f"_hits.append(({k}, CelError(str(_e))))")
        w.put(1, "except CelError as _e:")
        w.put(2, f"_hits.append(({k}, _e))")
        w.put(1, "except (TypeError, ValueError, OverflowError, KeyError, IndexError) as _e:")
        w.put(2, f"_hits.append(({k}, CelError(f'no matching overload ({{_e}})')))")
    code = "\n".join(["def scope(env):", *w.lines, "    return _hits"])
    namespace = {**_HELPERS, "CelError": CelError, **w.consts}
    exec(compile(code, f"<scope of {len(sources)} conditions>", "exec"), namespace)
    fn: Callable[[Env], Hits] = namespace["scope"]
    return fn


def _iterates(node: Any) -> bool:
    if isinstance(node, tuple):
        if node and node[0] == "comprehension":
            return True
        return any(_iterates(n) for n in node)
    return False
