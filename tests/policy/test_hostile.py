"""A policy that passes `accord policy check` cannot take the gate down.

The CEL runtime stops an evaluation after a fixed number of comprehension iterations; check
refuses what could run over that budget, and the YAML loader refuses alias bombs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord import PolicyError
from accord.policy import Policy, _cel, _cost, _source

BASE = """\
version: 1
channels: [email, sms]
agents:
  - {id: a, owner: team-a, mandate: {intents: [nurture], channels: [email]}}
rules:
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        Policy.from_text(text, source="p.yaml")
    return info.value.problems


def literal(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


def test_a_nested_comprehension_over_touches_is_refused_with_file_line_and_rule() -> None:
    found = problems(BASE + "  - id: pairs\n    effect: stop\n"
                            "    when: touches.exists(t, touches.exists(u, t.at < u.at))\n")
    assert len(found) == 1
    assert found[0].startswith("p.yaml:8: rules.0.when (rule pairs): CEL: may take up to")
    assert "exists() over touches" in found[0] and "stops an evaluation at 10,000" in found[0]


def test_five_nested_comprehensions_over_literal_lists_are_refused() -> None:
    ten = literal(10)
    deep = (f"{ten}.all(a, {ten}.all(b, {ten}.all(c, {ten}.all(d, {ten}.all(e, "
            "a + b + c + d + e >= 0)))))")
    found = problems(BASE + f"  - {{id: deep, effect: stop, when: \"{deep}\"}}\n")
    assert "(rule deep)" in found[0] and "111,110 iterations" in found[0]


def test_one_comprehension_over_touches_is_within_the_budget() -> None:
    policy = Policy.from_text(BASE + "  - {id: sales, effect: stop, when: \"touches.exists("
                                     "t, t.team == 'sales')\"}\n", source="p.yaml")
    assert [r.id for r in policy.rules] == ["sales"]


def test_a_reducer_that_could_exceed_the_budget_is_refused() -> None:
    text = BASE + ("  - {id: x, effect: stop, when: 'false'}\nreducers:\n"
                   "  - {event: e, set: {x: \"[1].exists(a, " + literal(200)
                   + ".exists(b, " + literal(200) + ".exists(c, true)))\"}}\n")
    assert "iterations" in problems(text)[0]


def run(source: str) -> bool:
    program = _cel.compile_source(source, _cel.RULES)
    bound = _cel.bind(_cel.RULES, {"now": datetime.now(UTC)})
    try:
        _cel.run(program, bound)
    except _cel.CelLimitError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(outer=st.integers(1, 150), inner=st.integers(0, 150), sequential=st.integers(1, 3))
def test_check_refuses_exactly_what_the_runtime_would_stop(outer: int, inner: int,
                                                            sequential: int) -> None:
    one = f"{literal(outer)}.all(a, {literal(inner)}.all(b, a + b >= 0))"
    source = " && ".join([one] * sequential)
    try:
        _cost.check(source)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == run(source)


def test_the_runtime_budget_is_the_one_check_counts_on() -> None:
    budget = _cost.ITERATION_BUDGET
    assert run(f"{literal(budget - 1)}.all(a, a >= 0)")
    assert not run(f"{literal(budget)}.all(a, a >= 0)")


def alias_bomb(levels: int) -> str:
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return BASE + "  - {id: x, effect: stop, when: 'true'}\nbomb:\n" + "".join(
        f"  {row}\n" for row in rows)


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded() -> None:
    found = problems(alias_bomb(10))  # 9**10 values if expanded
    assert len(found) == 1
    assert found[0].startswith("p.yaml:")
    assert "expands to more than 20,000 values" in found[0]


def test_more_aliases_than_the_bound_are_refused_with_the_line() -> None:
    many = "".join(f"  - {{id: r{i}, effect: stop, when: *cond}}\n"
                   for i in range(_source.MAX_ALIASES + 1))
    text = BASE + "  - {id: first, effect: stop, when: &cond 'false'}\n" + many
    found = problems(text)
    assert found == [f"p.yaml:{7 + _source.MAX_ALIASES}: more than {_source.MAX_ALIASES} "
                     "aliases (*name); write the values out, or share fewer of them"]


def test_anchors_and_aliases_within_the_bounds_still_load() -> None:
    text = BASE.replace("  - {id: a,", "  - {id: b, owner: team-b, mandate: &m {intents: "
                        "[nurture], channels: [email]}}\n  - {id: a,") + (
        "  - {id: r1, effect: stop, when: &cond \"has(customer.x)\"}\n"
        "  - {id: r2, effect: flag, when: *cond}\n")
    policy = Policy.from_text(text.replace("mandate: {intents: [nurture], channels: [email]}",
                                           "mandate: *m", 1).replace(
        "mandate: &m {intents: [nurture], channels: [email]}}\n  - {id: a, owner: team-a, "
        "mandate: *m}", "mandate: &m {intents: [nurture], channels: [email]}}\n"
        "  - {id: a, owner: team-a, mandate: *m}"), source="p.yaml")
    assert policy.rules[1].spec.when == "has(customer.x)"
    assert policy.agents["a"].mandate == policy.agents["b"].mandate
