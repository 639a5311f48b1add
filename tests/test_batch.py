"""``Accord.propose_batch`` on both stores: the goes are worth the best the rules allow."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord
from accord._errors import InvalidInput
from accord._time import to_datetime
from accord.gate import Snapshot, TouchView, evaluate
from accord.model import Outcome, Proposal
from accord.service._arbitration import score
from tests.conftest import Clock
from tests.test_arbitration import policy, proposals

HOUR = 3600.0
POLICY = policy(limit=2, per_h=72, sms_limit=1, spacing=True, conflicts=True)
"""Caps of 2 per 72 h and 1 sms a week, a 48 h agent gap, mixed signals: rounds where taking
the highest score first is not the best are common under it."""
_customers = itertools.count()


@pytest.fixture
def planned(store_url: str, clock: Clock) -> Iterator[Accord]:
    a = Accord.open(store_url, policy=POLICY, clock=clock)
    yield a
    a.close()


def best_admissible(items: list[tuple[Proposal, float]]) -> float:
    """Brute force: the largest total score of a set whose members all go beside each other."""
    best = 0.0
    for size in range(1, len(items) + 1):
        for members in itertools.combinations(range(len(items)), size):
            ok = True
            for i in members:
                others = [TouchView(f"m{j}", items[j][0].agent, items[j][0].channel,
                                    items[j][0].intent, items[j][1], "pending")
                          for j in members if j != i]
                verdict = evaluate(items[i][0], items[i][1], Snapshot("c", {}, 1, others),
                                   POLICY, hold={t.id for t in others})
                ok = ok and verdict.outcome is Outcome.GO
            if ok:
                best = max(best, sum(score(items[i][0]) for i in members))
    return best


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(proposals, min_size=1, max_size=5))
def test_a_rounds_goes_are_worth_the_best_admissible_set_found_by_brute_force(
        planned: Accord, drawn: list[tuple[Proposal, float]]) -> None:
    customer = f"c-prop-{next(_customers)}"
    items = [(p.model_copy(update={"customer": customer}), at) for p, at in drawn]
    answers = planned.propose_batch([p.model_copy(update={"at": to_datetime(at)})
                                     for p, at in items])
    assert [d.proposal.value for d in answers] == [p.value for p, _ in items]
    assert sum(score(d.proposal) for d in answers if d.go) == best_admissible(items)
    assert planned.verify_ledger().ok


def test_a_retry_after_a_failure_part_way_decides_only_the_customers_not_yet_decided(
        any_acc: Accord) -> None:
    round_ = [{"agent": "upsell", "customer": "c-a", "channel": "email", "intent": "upsell",
               "value": 3},
              {"agent": "churn-guard", "customer": "c-a", "channel": "email", "intent": "retain",
               "value": 9},
              {"agent": "upsell", "customer": "c-b", "channel": "email", "intent": "upsell",
               "value": 1}]
    first_a = any_acc.propose_batch(round_[:2], idempotency_key="round-1")
    before = len(any_acc.ledger(limit=100_000))
    answers = any_acc.propose_batch(round_, idempotency_key="round-1")
    assert answers[:2] == first_a
    assert answers[2].go
    assert len(any_acc.ledger(limit=100_000)) == before + 1
    assert any_acc.propose_batch(round_, idempotency_key="round-1") == answers


def test_bad_input_names_the_item_and_decides_nothing(acc: Accord) -> None:
    good = {"agent": "upsell", "customer": "c", "channel": "email", "intent": "upsell"}
    cases: list[tuple[object, str]] = [
        ([good, good, {**good, "uplift": 2}], "proposals.2.uplift"),
        ([good, {**good, "value": math.nan}], "proposals.1.value"),
        ([{**good, "channel": ""}], "proposals.0.channel"),
        ([], "proposals"),
        ([good] * 101, "proposals"),
        (good, "proposals"),
        ([{**good, "idempotency_key": "k"}, {**good, "idempotency_key": "k"}],
         "proposals.1.idempotency_key"),
        ([good, {**good, "idempotency_key": ""}], "proposals.1.idempotency_key"),
    ]
    for items, where in cases:
        with pytest.raises(InvalidInput) as refused:
            acc.propose_batch(items)  # type: ignore[arg-type]
        assert refused.value.where == where
        assert refused.value.hint
    with pytest.raises(InvalidInput) as long_key:
        acc.propose_batch([good], idempotency_key="k" * 191)
    assert long_key.value.where == "idempotency_key"
    assert acc.ledger(limit=10) == []
