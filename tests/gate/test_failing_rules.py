"""A rule that cannot be evaluated fails closed on its own: it contributes its effect with a
reason naming it and the error, the other rules still decide, and nothing answers 500."""

from __future__ import annotations

from accord import Accord
from accord.policy import Policy
from tests.conftest import EXAMPLE_POLICY

# Passes check (a context list is counted as up to 1,000 items: 1,000 × 9 < 10,000) but runs
# over the runtime's budget once the customer's list holds 1,112 ids or more.
BIG_LIST_RULE = """
  - id: blocked-ids
    effect: stop
    when: has(customer.ids) && customer.ids.exists(x, [1,2,3,4,5,6,7,8].exists(y, x == y))
  - id: linked-accounts-review
    effect: flag
    intents: [upsell]
    when: has(customer.ids) && size(customer.ids) > 0
"""


def policy_text() -> str:
    text = EXAMPLE_POLICY.read_text()
    return text.replace("\nreducers:", BIG_LIST_RULE + "\nreducers:", 1)


def test_a_rule_over_the_iteration_budget_stops_with_its_reason_and_others_still_decide(
        any_acc: Accord) -> None:
    any_acc.apply_policy(policy_text(), by="test")
    any_acc.update_context("c-big", {"ids": [f"id{i}" for i in range(1_200)]},
                           expected_version=0)
    d = any_acc.propose("upsell", "c-big", channel="email", intent="upsell")
    assert d.outcome.value == "stop"
    failed = next(r for r in d.reasons if r.rule == "blocked-ids")
    assert failed.effect.value == "stop"
    assert "rule blocked-ids could not be evaluated" in failed.message
    assert "budget" in failed.message.lower() and "To fix:" in failed.message
    assert "linked-accounts-review" in {r.rule for r in d.reasons}


def test_a_rule_within_the_budget_decides_as_written(any_acc: Accord) -> None:
    any_acc.apply_policy(policy_text(), by="test")
    any_acc.update_context("c-small", {"ids": ["a", "b"]}, expected_version=0)
    d = any_acc.propose("upsell", "c-small", channel="email", intent="upsell")
    assert d.outcome.value == "flag"
    assert [r.rule for r in d.reasons] == ["linked-accounts-review"]


def test_the_example_policy_is_unchanged_by_the_budget_check() -> None:
    assert Policy.load(EXAMPLE_POLICY).rules
