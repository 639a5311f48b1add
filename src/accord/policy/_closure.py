"""Conditions compiled to Python closures, for the CEL subset policies use.

Crossing into the CEL runtime costs more than most conditions do (binding the variables,
converting values back; iterating a Python list from CEL reads each value lazily, ≈ 11 µs a
touch). A condition inside the subset below runs as nested Python closures over plain values;
anything else keeps running in CEL (``_cel``), which stays the reference: a differential
Hypothesis test (tests/policy/test_closures.py) holds the two to the same result or the same
error class.

Values: timestamps are aware ``datetime`` (UTC), durations ``timedelta``, maps ``dict``, lists
``list``. The subset: literals (plain strings, ints, doubles, booleans, null), the variables
and field selection, ``has()``, ``!``, unary ``-``, ``&&`` and ``||`` with CEL's error
absorption, ``? :``, ``== != < <= > >=`` with CEL's heterogeneous equality, ``in``, ``+ -``
on numbers of one kind, strings, lists, timestamps and durations, indexing, ``size()``,
``duration('…')``, ``getHours()`` (UTC), and ``all`` / ``exists`` over lists and maps.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from accord.policy._cel import CelError, CelLimitError
from accord.policy._cost import ITERATION_BUDGET
from accord.policy._parse import Node, parse

Env = dict[str, Any]
Closure = Callable[[Env], Any]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_DURATION = re.compile(r"^(-?)((?:\d+(?:\.\d+)?(?:h|m|s|ms|us|ns))+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class Unsupported(Exception):
    """Outside the compiled subset: the condition runs in CEL."""


def compile_closure(source: str, variables: frozenset[str]) -> Closure:
    """A closure computing ``source``; ``Unsupported`` if it is outside the subset."""
    try:
        tree = parse(source)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None
    closure = _compile(tree, variables, frozenset())  # refuses what is outside the subset
    from accord.policy import _codegen

    try:
        return _codegen.generate(tree, variables, source)
    except (RecursionError, SyntaxError, MemoryError):  # too deep to write out: the closures
        return closure


def compile_tree_closure(source: str, variables: frozenset[str]) -> Closure:
    """The closures alone (no generated code): what the generated functions are held to."""
    try:
        tree = parse(source)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None
    return _compile(tree, variables, frozenset())


BUDGET = "\x00iterations"  # the env key of the iteration count, as the runtime keeps it


def run(closure: Closure, env: Env) -> Any:
    """Evaluate; an error (missing key, no such overload) raises ``CelError``, and the
    runtime's iteration budget holds here too (``CelLimitError``)."""
    budget = env.get(BUDGET)
    if budget is None or budget[0]:
        env[BUDGET] = [0]  # each condition has the runtime's whole budget
    try:
        return closure(env)
    except _Error as exc:
        raise CelError(str(exc)) from None
    except (TypeError, ValueError, OverflowError, KeyError, IndexError) as exc:
        raise CelError(f"no matching overload ({exc})") from None


def run_all(closures: tuple[Closure, ...], env: Env) -> tuple[list[Any], list[CelError | None]]:
    """``run`` each closure on ``env``: the results, and the error of each (None if it ran)."""
    results: list[Any] = []
    errors: list[CelError | None] = []
    budget = env.get(BUDGET)
    for closure in closures:
        if budget is None or budget[0]:
            budget = env[BUDGET] = [0]  # each condition has the runtime's whole budget
        try:
            results.append(closure(env))
            errors.append(None)
        except _Error as exc:
            results.append(None)
            errors.append(CelError(str(exc)))
        except CelError as exc:
            results.append(None)
            errors.append(exc)
        except (TypeError, ValueError, OverflowError, KeyError, IndexError) as exc:
            results.append(None)
            errors.append(CelError(f"no matching overload ({exc})"))
    return results, errors


class _Error(Exception):
    pass


_FAILURES = (_Error, TypeError, ValueError, OverflowError)


def _is_num(v: Any) -> bool:
    return type(v) is int or type(v) is float


def _eq(a: Any, b: Any) -> bool:
    """CEL equality: numbers compare across int and double; other kinds never equal."""
    if type(a) is type(b) and type(a) is str:
        return bool(a == b)
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            any(_eq(k, j) for j in b) and _eq(v, _get(b, k)) for k, v in a.items())
    return bool(a == b)


def _no_field(m: Any, field: str) -> Any:
    if isinstance(m, dict):
        return m[field]
    raise _Error(f"no such field {field!r}")


def _get(m: dict[Any, Any], key: Any) -> Any:
    for k, v in m.items():
        if _eq(k, key):
            return v
    raise _Error(f"Key not found in map : {key!r}")


def _order(a: Any, b: Any) -> int:
    if (_is_num(a) and _is_num(b)) or (type(a) is type(b) and type(a) in (
            str, bool, datetime, timedelta)):
        return int(a > b) - int(a < b)
    raise _Error(f"No matching overloads found : compare({type(a).__name__}, "
                 f"{type(b).__name__})")


def _int(v: int) -> int:
    if not _INT_MIN <= v <= _INT_MAX:
        raise _Error("integer overflow")
    return v


def _add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int(a + b)
    if (ta is tb and ta in (float, str, list, timedelta)) or (
            ta is datetime and tb is timedelta):
        return a + b
    if ta is timedelta and tb is datetime:
        return b + a
    raise _Error(f"No matching overloads found : _+_({ta.__name__}, {tb.__name__})")


def _sub(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int(a - b)
    if (ta is tb and ta in (float, timedelta, datetime)) or (
            ta is datetime and tb is timedelta):
        return a - b
    raise _Error(f"No matching overloads found : _-_({ta.__name__}, {tb.__name__})")


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _Error("No matching overloads found : expected bool")
    return v


def _duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if m is None:
        raise Unsupported(f"duration {text!r}")
    seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(m.group(2)))
    return timedelta(seconds=-seconds if m.group(1) else seconds)


def _literal(tok: Any) -> Any:
    if tok is None or isinstance(tok, bool):
        return tok
    text = str(tok)
    if text[0] in "'\"":
        if "\\" in text or text.startswith(("'''", '"""')) or len(text) < 2:
            raise Unsupported("string escapes")
        return text[1:-1]
    if re.fullmatch(r"\d+", text):
        return _int(int(text))
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    raise Unsupported(f"literal {text}")


def _compile(node: Node, variables: frozenset[str], bound: frozenset[str]) -> Closure:
    kind = node[0]

    def sub(n: Node) -> Closure:
        return _compile(n, variables, bound)

    if kind == "lit":
        value = _literal(node[1])
        return lambda env: value
    if kind == "ident":
        name = node[1]
        if name not in variables and name not in bound:
            raise Unsupported(f"identifier {name}")
        return lambda env: env[name]
    if kind == "select":
        field = node[2]
        if node[1][0] == "ident" and (node[1][1] in variables or node[1][1] in bound):
            name = node[1][1]  # a variable's field: one call, not two

            def select_var(env: Env) -> Any:
                m = env[name]
                try:
                    return m[field] if type(m) is dict else _no_field(m, field)
                except KeyError:
                    raise _Error(f"Key not found in map : {field!r}") from None
            return select_var
        operand = sub(node[1])

        def select(env: Env) -> Any:
            m = operand(env)
            try:
                return m[field] if type(m) is dict else _no_field(m, field)
            except KeyError:
                raise _Error(f"Key not found in map : {field!r}") from None
        return select
    if kind == "index":
        operand, key = sub(node[1]), sub(node[2])

        def index(env: Env) -> Any:
            m, k = operand(env), key(env)
            if isinstance(m, dict):
                return _get(m, k)
            if isinstance(m, list) and (type(k) is int or (type(k) is float and k.is_integer())):
                if not 0 <= int(k) < len(m):
                    raise _Error("index out of range")
                return m[int(k)]
            raise _Error("No matching overloads found : _[_]")
        return index
    if kind == "list":
        items = [sub(n) for n in node[1]]
        return lambda env: [item(env) for item in items]
    if kind == "map":
        pairs = [(sub(k), sub(v)) for k, v in node[1]]

        def literal_map(env: Env) -> dict[Any, Any]:
            out: dict[Any, Any] = {}
            for k, v in pairs:
                key = k(env)
                if type(key) not in (str, int, bool) or key in out:
                    raise _Error("invalid map key")
                out[key] = v(env)
            return out
        return literal_map
    if kind == "op":
        op, args = node[1], node[2]
        if op in ("&&", "||"):
            return _logic(op, [sub(n) for n in _left_spine(op, node)])
        if op in ("==", "!=", "<", "<=", ">", ">=") and len(args) == 2 and args[1][0] == "lit":
            fast = _against_literal(op, sub(args[0]), _literal(args[1][1]))
            if fast is not None:
                return fast
        return _operator(op, [sub(n) for n in args])
    if kind == "call":
        return _call(node, variables, bound)
    if kind == "comprehension":
        return _comprehension(node, variables, bound)
    raise Unsupported(kind)


def _left_spine(op: str, node: Node) -> list[Node]:
    """The operands of a left-nested chain ``((a op b) op c) op d``: [a, b, c, d]."""
    if node[0] == "op" and node[1] == op and len(node[2]) == 2:
        return [*_left_spine(op, node[2][0]), node[2][1]]
    return [node]


def _logic(op: str, operands: list[Closure]) -> Closure:
    """``&&`` or ``||`` over a left-nested chain in one closure, with CEL's error absorption
    exactly as the nested pairs give it: a false (``||``: true) operand decides, whatever
    failed before or after it; else the first failure (of the pairs, left to right) is raised;
    a non-bool operand fails its pair."""
    if len(operands) == 1:
        return operands[0]
    first, rest = operands[0], tuple(operands[1:])
    absorbing: bool = op == "||"
    stop: bool = absorbing  # compared by identity; ``absorbing`` is what is returned
    done: bool = not absorbing

    def logic(env: Env) -> bool:
        va: Any
        try:
            va = first(env)
        except _FAILURES as exc:
            va = exc
        if va is stop:
            return absorbing
        for b in rest:
            try:
                vb = b(env)
            except _FAILURES as exc:
                vb = exc
            if vb is stop:
                return absorbing
            if isinstance(va, Exception):
                continue  # the pair raises va: the next pair holds it as its left operand
            if isinstance(vb, Exception):
                va = vb
            elif type(va) is not bool or type(vb) is not bool:
                va = _Error("No matching overloads found : logical operator")
            else:
                va = done
        if isinstance(va, Exception):
            raise va
        return done
    return logic


_RELATION: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _against_literal(op: str, a: Closure, lit: Any) -> Closure | None:
    """``a op literal`` without a call per side, where the literal's kind makes it plain."""
    kind = type(lit)
    if op in ("==", "!="):
        equal = op == "=="
        if kind is str:
            return lambda env: (type(v := a(env)) is str and v == lit) is equal
        if kind is int or kind is float:
            return lambda env: ((type(v := a(env)) is int or type(v) is float)
                                and v == lit) is equal
        if kind is bool:
            return lambda env: (type(v := a(env)) is bool and v == lit) is equal
        return None
    if kind is not int and kind is not float:
        return None
    relation = _RELATION[op]

    def compare(env: Env) -> bool:
        v = a(env)
        if type(v) is int or type(v) is float:
            return relation(int(v > lit) - int(v < lit), 0)
        return relation(_order(v, lit), 0)
    return compare


def _operator(op: str, args: list[Closure]) -> Closure:
    if op == "!":
        (a,) = args
        return lambda env: not _bool(a(env))
    if op == "-" and len(args) == 1:
        (a,) = args

        def neg(env: Env) -> Any:
            v = a(env)
            if type(v) is int:
                return _int(-v)
            if type(v) in (float, timedelta):
                return -v
            raise _Error("No matching overloads found : -_")
        return neg
    if op == "?:":
        c, yes, no = args
        return lambda env: yes(env) if _bool(c(env)) else no(env)
    a, b = args
    table: dict[str, Closure] = {
        "==": lambda env: _eq(a(env), b(env)),
        "!=": lambda env: not _eq(a(env), b(env)),
        "<": lambda env: _order(a(env), b(env)) < 0,
        "<=": lambda env: _order(a(env), b(env)) <= 0,
        ">": lambda env: _order(a(env), b(env)) > 0,
        ">=": lambda env: _order(a(env), b(env)) >= 0,
        "+": lambda env: _add(a(env), b(env)),
        "-": lambda env: _sub(a(env), b(env)),
        "in": lambda env: _in(a(env), b(env)),
    }
    if op not in table:
        raise Unsupported(op)
    return table[op]


def _in(x: Any, container: Any) -> bool:
    if isinstance(container, list):
        return any(_eq(x, e) for e in container)
    if isinstance(container, dict):
        return any(_eq(x, k) for k in container)
    raise _Error("No matching overloads found : @in")


def _size(v: Any) -> int:
    if isinstance(v, str | list | dict):
        return len(v)
    raise _Error("No matching overloads found : size")


def _call(node: Node, variables: frozenset[str], bound: frozenset[str]) -> Closure:
    name, target, args = node[1], node[2], node[3]
    if name == "has" and target is None and len(args) == 1 and args[0][0] == "select":
        field = args[0][2]
        of = args[0][1]
        if of[0] == "ident" and (of[1] in variables or of[1] in bound):
            var = of[1]  # a variable's field: one call, not two

            def has_var(env: Env) -> bool:
                m = env[var]
                if not isinstance(m, dict):
                    raise _Error(f"invalid has() on {type(m).__name__}")
                return field in m
            return has_var
        operand = _compile(of, variables, bound)

        def has(env: Env) -> bool:
            m = operand(env)
            if not isinstance(m, dict):
                raise _Error(f"invalid has() on {type(m).__name__}")
            return field in m
        return has
    if name == "duration" and target is None and len(args) == 1 and args[0][0] == "lit":
        text = _literal(args[0][1])
        if not isinstance(text, str):
            raise Unsupported("duration of a non-string")
        value = _duration(text)
        return lambda env: value
    if name == "size" and (target is None) == (len(args) == 1) and len(args) <= 1:
        of = _compile(args[0] if target is None else target, variables, bound)
        return lambda env: _size(of(env))
    if name == "getHours" and target is not None and not args:
        of = _compile(target, variables, bound)

        def hours(env: Env) -> int:
            v = of(env)
            if type(v) is not datetime:
                raise _Error("No matching overloads found : getHours")
            return v.hour
        return hours
    raise Unsupported(f"function {name}")


def _comprehension(node: Node, variables: frozenset[str], bound: frozenset[str]) -> Closure:
    macro, var, bodies = node[1], node[3], node[4]
    if macro not in ("all", "exists") or len(bodies) != 1 or var in variables:
        raise Unsupported(f"macro {macro}")
    over = _compile(node[2], variables, bound)
    body = _compile(bodies[0], variables, bound | {var})
    absorbing: bool = macro == "exists"

    def fold(env: Env) -> bool:
        items = over(env)
        if isinstance(items, dict):
            items = list(items)
        elif not isinstance(items, list):
            raise _Error(f"No matching overloads found : {macro}")
        inner = dict(env)
        count = env[BUDGET]
        error: Exception | None = None
        for item in items:
            count[0] += 1
            if count[0] >= ITERATION_BUDGET:
                raise CelLimitError("Iteration budget exceeded")
            inner[var] = item
            try:
                v = body(inner)
            except (_Error, TypeError, ValueError, OverflowError) as exc:
                error = exc
                continue
            if v is absorbing:
                return bool(absorbing)
            if type(v) is not bool:
                error = _Error(f"No matching overloads found : {macro}")
        if error is not None:
            raise error
        return not absorbing
    return fold


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799  # 0001-01-01 … 9999-12-31T23:59:59
PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as the closures take it: protobuf timestamps (as CEL takes them) as datetimes."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, Timestamp):
        seconds, nanos = value.seconds, value.nanos
        if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000:
            # what ``ToDatetime(tzinfo=UTC)`` computes, without its checks and calls
            return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
        return value.ToDatetime(tzinfo=UTC)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
