"""The lift report read from a store, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accord import Accord
from accord.lift import lift_report
from accord.service._holdout import in_holdout
from tests.conftest import T0, Clock
from tests.lift.test_holdout import holdout_policy

DAY = 86400.0


@pytest.fixture
def fleet(store_url: str, clock: Clock) -> Iterator[Accord]:
    """80 customers proposed for; a purchase for every third, a complaint for every tenth."""
    a = Accord.open(store_url, policy=holdout_policy(share=0.5), clock=clock)
    for i in range(80):
        a.propose("churn-guard", f"c{i:02d}", channel="email", intent="retain")
        if i % 3 == 0:
            a.record_event(f"c{i:02d}", "purchase", data={"value": 10 + i})
        if i % 10 == 0:
            a.record_event(f"c{i:02d}", "complaint", data={})
    a.record_event("never-proposed-for", "purchase", data={"value": 1e6})
    yield a
    a.close()


def test_the_report_counts_each_group_and_reads_the_same_page_by_page(fleet: Accord) -> None:
    spec = fleet.policy.spec.settings.holdout
    held = [i for i in range(80) if in_holdout(f"c{i:02d}", spec)]
    treated = [i for i in range(80) if i not in held]
    whole = lift_report(fleet, since=T0 - DAY, until=T0 + DAY)
    paged = lift_report(fleet, since=T0 - DAY, until=T0 + DAY, page_size=7)
    assert (paged.treated, paged.holdout) == (whole.treated, whole.holdout)
    for a, b in zip(paged.metrics, whole.metrics, strict=True):
        for part in ("treated", "holdout", "difference"):
            x, y = getattr(a, part), getattr(b, part)
            assert x is not None and y is not None
            assert (x.estimate, x.low, x.high) == pytest.approx((y.estimate, y.low, y.high))
    assert (whole.treated, whole.holdout) == (len(treated), len(held))
    m = {x.spec.name: x for x in whole.metrics}
    assert m["conversions"].holdout is not None
    assert m["conversions"].holdout.estimate == sum(i % 3 == 0 for i in held) / len(held)
    assert m["revenue"].treated is not None
    assert m["revenue"].treated.estimate == pytest.approx(
        sum(10 + i for i in treated if i % 3 == 0) / len(treated))
    assert m["complaints"].treated is not None
    assert m["complaints"].treated.estimate == sum(i % 10 == 0 for i in treated) / len(treated)
    # a complaint opts the customer out of email, and the enforced opted-out rule revokes
    # the pending touch in the holdout too
    assert m["contacts"].holdout is not None
    assert m["contacts"].holdout.estimate == pytest.approx(
        1 - sum(i % 10 == 0 for i in held) / len(held))


def test_a_window_before_any_traffic_has_not_enough_data(fleet: Accord) -> None:
    r = lift_report(fleet, since="30d", until=T0 - DAY)
    assert (r.treated, r.holdout) == (0, 0) and not r.enough_data
