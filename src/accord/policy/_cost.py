"""What a condition can cost, bounded at load the way the runtime will count it.

The CEL runtime stops an evaluation when it reaches ``ITERATION_BUDGET`` comprehension
iterations (one count for the whole evaluation, nested loops included; measured, and pinned by
a test). A condition whose worst case reaches that budget would fail on every busy customer, so
``policy check`` refuses it instead.

Worst cases are computed from sizes Accord guarantees: a literal list has its own length,
``touches`` holds at most ``TOUCHES_IN_CONDITIONS`` entries (the gate hands conditions no more),
and any other list (a context field, an event field) is counted as ``LIST_BOUND`` items — a
longer one at run time makes the rule fail closed, with a reason naming the error.
"""

from __future__ import annotations

from accord.policy._parse import Node, children, parse

ITERATION_BUDGET = 10_000
TOUCHES_IN_CONDITIONS = 1_000
LIST_BOUND = 1_000


def _size(node: Node) -> tuple[int, str]:
    """The most items ``node`` can hold when iterated, and how to say where that comes from."""
    kind = node[0]
    if kind == "list":
        return len(node[1]), f"a list of {len(node[1])}"
    if kind == "map":
        return len(node[1]), f"a map of {len(node[1])}"
    if kind == "ident" and node[1] == "touches":
        return TOUCHES_IN_CONDITIONS, f"touches (at most {TOUCHES_IN_CONDITIONS:,})"
    if kind == "comprehension" and node[1] in ("map", "filter"):
        return _size(node[2])
    if kind == "op" and node[1] == "+":
        (a, sa), (b, sb) = _size(node[2][0]), _size(node[2][1])
        return a + b, f"{sa} + {sb}"
    return LIST_BOUND, f"a list counted as up to {LIST_BOUND:,} items"


def iterations(node: Node) -> tuple[int, list[str]]:
    """The most comprehension iterations evaluating ``node`` can take, and the nest behind it."""
    if node[0] == "comprehension":
        n, what = _size(node[2])
        inner, nest = 0, list[str]()
        for body in node[4]:
            cost, where = iterations(body)
            inner += cost
            if cost and not nest:
                nest = where
        outer, outer_nest = iterations(node[2])
        total = outer + n * (1 + inner)
        return total, [f"{node[1]}() over {what}", *nest] if total > outer else outer_nest
    total, worst, worst_nest = 0, 0, []
    for child in children(node):
        cost, nest = iterations(child)
        total += cost
        if cost > worst:
            worst, worst_nest = cost, nest
    return total, worst_nest


def check(source: str) -> None:
    """Raise ``ValueError`` saying why, if ``source`` could exceed the runtime's budget."""
    try:
        tree = parse(source)
    except ValueError:
        return  # the runtime accepted it; the gate still fails closed if it runs over
    cost, nest = iterations(tree)
    if cost >= ITERATION_BUDGET:
        raise ValueError(
            f"may take up to {cost:,} iterations ({' inside '.join(reversed(nest))}); the "
            f"runtime stops an evaluation at {ITERATION_BUDGET:,}. Avoid nesting comprehensions: "
            "filter first, or test membership with `in` on a literal list")
