"""The reports page in a real headless Chromium: each agent pair once, money as money with its
total and unattributed value, and a time range."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord import Accord
from accord.policy import Policy
from tests.conftest import T0, Clock

from .browser import chromium, dump_dom
from .server import Dashboard, serve
from .test_dashboard import section

DAY = 86400.0


@pytest.fixture
def dash(tmp_path: Path, policy: Policy, clock: Clock) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy, clock)


def converted(acc: Accord, agent: str, customer: str, value: float) -> None:
    intent = {"upsell": "upsell", "reengage": "reactivate", "churn-guard": "retain"}[agent]
    d = acc.propose(agent, customer, channel="email", intent=intent)
    assert d.touch_id, d.reasons
    acc.report_outcome(d.touch_id, "executed")
    acc.record_event(customer, "purchase", data={"value": value})


def test_reports_list_each_agent_pair_once_whichever_agent_was_held_back(
        dash: Dashboard) -> None:
    chromium()
    acc = dash.service
    acc.propose("reengage", "c-z", channel="email", intent="reactivate")
    acc.propose("upsell", "c-z", channel="email", intent="upsell")  # pre-empts reengage
    acc.propose("upsell", "c-w", channel="email", intent="upsell")
    acc.propose("reengage", "c-w", channel="email", intent="reactivate")  # stopped by upsell
    pairs = section(dump_dom(dash.login_url("admin", "/reports")), "prevented-pair")
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', pairs)
    assert labels == ["reengage ↔ upsell"]
    assert re.search(r">reengage ↔ upsell</text>.*?>2</text>", pairs, re.S)


def test_reports_show_credit_in_currency_with_total_and_unattributed_value(
        dash: Dashboard) -> None:
    chromium()
    converted(dash.service, "upsell", "c-1", 1050.0)
    converted(dash.service, "churn-guard", "c-2", 12.5)
    dash.service.record_event("c-3", "purchase", data={"value": 200.0})  # no touch before it
    dom = dump_dom(dash.login_url("admin", "/reports"))
    credit = section(dom, "credit-last_touch")
    assert "e+0" not in dom, "no scientific notation anywhere"
    assert re.search(r">upsell</text>.*?>\$1,050</text>", credit, re.S)
    assert re.search(r">churn-guard</text>.*?>\$12.50</text>", credit, re.S)
    totals = section(dom, "credit-totals")
    row = re.search(r"<td>last_touch</td>.*?</tr>", totals, re.S)
    assert row, "the last-touch model has a totals row"
    cells = re.findall(r"<td>([^<]*)</td>", row.group(0))
    assert cells == ["last_touch", "3", "$1,262.50", "$1,062.50", "$200"]
    assert "Amounts in USD" in dom


def test_reports_cover_the_chosen_time_range_only(dash: Dashboard, clock: Clock) -> None:
    chromium()
    converted(dash.service, "reengage", "c-old", 70.0)
    dash.service.propose("reengage", "c-old", channel="email", intent="reactivate")  # prevented
    clock.now = T0 + 60 * DAY
    converted(dash.service, "upsell", "c-new", 500.0)
    month = dump_dom(dash.login_url("admin", "/reports?days=30"))
    assert 'aria-current="true">last 30 days</a>' in month
    assert ">reengage</text>" not in section(month, "credit-last_touch")
    assert "nothing to show yet" in month  # nothing prevented within 30 days
    quarter = dump_dom(dash.login_url("admin", "/reports?days=90"))
    assert ">reengage</text>" in section(quarter, "credit-last_touch")
    assert "Prevented, by kind" in section(quarter, "prevented-kind")
    with dash.http("admin") as client:
        bad = client.get("/ui/reports?days=45")
    assert bad.status_code == 422 and "<code>query.days</code>" in bad.text
