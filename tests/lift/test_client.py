"""The lift report through ``Client`` and ``AsyncClient`` over a real server, against a
known-answer fixture: 56 of 70 treated customers converted and 48 of 80 held-out ones, the
example of Newcombe (1998), whose published 95 % interval for the difference is
0.0524 to 0.3339."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accord import AsyncClient, Client
from accord._errors import Forbidden, InvalidInput
from accord.lift import LiftReport, lift_report, render_html
from tests.http.conftest import BACKENDS, store_for
from tests.http.live_server import Server, start
from tests.lift.test_holdout import first_ids, holdout_policy

POLICY = holdout_policy(share=0.5)
TREATED, HELD = first_ids(False, POLICY, 70), first_ids(True, POLICY, 80)


@pytest.fixture(params=BACKENDS)
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """70 treated customers, 56 of whom bought for 100; 80 held out, 48 of whom bought for 50."""
    for server in start(store_for(request.param, tmp_path), POLICY):
        svc = server.service
        for group, buyers, value in ((TREATED, 56, 100), (HELD, 48, 50)):
            for i, c in enumerate(group):
                svc.propose("churn-guard", c, channel="email", intent="retain")
                if i < buyers:
                    svc.record_event(c, "purchase", data={"value": value})
        yield server


def window() -> tuple[int, int]:
    now = int(time.time())
    return now - 3600, now + 3600


def test_the_client_reads_the_known_answer_and_the_same_report_as_the_embedded_one(
        known: Server) -> None:
    since, until = window()
    with Client(known.url, known.tokens["reviewer"]) as client:
        report = client.lift_report(since=since, until=until)
        as_times = client.lift_report(since=datetime.fromtimestamp(since, UTC),
                                      until=datetime.fromtimestamp(until, UTC).isoformat())
    assert isinstance(report, LiftReport)
    assert as_times.to_dict() == report.to_dict()  # a datetime, RFC 3339 or epoch seconds
    assert (report.treated, report.holdout) == (70, 80) and report.enough_data
    m = {x.spec.name: x for x in report.metrics}
    conv = m["conversions"]
    assert conv.treated is not None and conv.holdout is not None and conv.difference is not None
    assert (conv.treated.estimate, conv.holdout.estimate) == (0.8, 0.6)
    assert round(conv.difference.low, 4) == 0.0524 and round(conv.difference.high, 4) == 0.3339
    assert conv.verdict == "treated higher (better)"
    # revenue by hand: treated 56 × 100 and 14 × 0, mean 80, s² = (56·20² + 14·80²)/69;
    # holdout 48 × 50 and 32 × 0, mean 30, s² = (48·20² + 32·30²)/79; Welch's se
    se = math.sqrt((56 * 400 + 14 * 6400) / 69 / 70 + (48 * 400 + 32 * 900) / 79 / 80)
    rev = m["revenue"].difference
    assert rev is not None
    assert (rev.estimate, rev.low, rev.high) == pytest.approx(
        (50, 50 - 1.959963984540054 * se, 50 + 1.959963984540054 * se))
    assert round(se, 5) == 5.54827
    embedded = lift_report(known.service, since=since, until=until)
    assert report.to_dict() == embedded.to_dict()
    assert render_html(report) == render_html(embedded)


def test_the_async_client_reads_the_same_report(known: Server) -> None:
    since, until = window()

    async def read() -> LiftReport:
        async with AsyncClient(known.url, known.tokens["admin"]) as client:
            return await client.lift_report(since=since, until=until)

    report = asyncio.run(read())
    assert report.to_dict() == lift_report(known.service, since=since, until=until).to_dict()


def test_too_few_customers_is_not_enough_data_and_an_agent_or_a_bad_window_is_refused(
        known: Server) -> None:
    with Client(known.url, known.tokens["reviewer"]) as client:
        empty = client.lift_report(since="2026-01-01T00:00:00Z", until="2026-01-02T00:00:00Z")
        assert (empty.treated, empty.holdout) == (0, 0) and not empty.enough_data
        assert empty.note is not None and "not enough data" in empty.note
        assert all(x.difference is None and x.verdict == "not enough data"
                   for x in empty.metrics)
        with pytest.raises(InvalidInput) as bad:
            client.lift_report(since="yesterday")
        assert bad.value.where == "since"
    with Client(known.url, known.tokens["agent_a"]) as agent, pytest.raises(Forbidden):
        agent.lift_report()
