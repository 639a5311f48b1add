"""The outbox on the dashboard, in a real headless Chromium: deliveries by channel, sender and
status, the newest ones, and a customer's page showing what was delivered to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.delivery import Dispatcher, SmtpSender
from accord.policy import Policy
from tests.conftest import Clock
from tests.delivery.smtp_sink import smtp_sink

from .browser import dump_dom
from .server import Dashboard, serve
from .test_dashboard import section


@pytest.fixture
def dash(tmp_path: Path, policy: Policy, clock: Clock) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy, clock)


def test_the_outbox_page_counts_deliveries_and_a_customer_page_shows_what_was_sent(
        dash: Dashboard) -> None:
    svc = dash.service
    with smtp_sink() as sink:
        sink.refuse.add("gone@example.com")
        sent = svc.propose("upsell", "c-ol", channel="email", intent="upsell",
                           deliver={"to": "ol@example.com", "subject": "Hi", "text": "x"})
        dead = svc.propose("churn-guard", "c-dd", channel="email", intent="retain",
                           deliver={"to": "gone@example.com", "text": "x"})
        d = Dispatcher(svc, {"email": SmtpSender(sink.host, sink.port, sender="n@a.test",
                                                 domain="a.test", security="none")})
        try:
            report = d.run_once()
        finally:
            d.close()
    assert report.sent == [sent.touch_id] and report.dead == [dead.touch_id]

    page = dump_dom(dash.login_url("reviewer", "/outbox"))
    counts = section(page, "outbox-counts")
    assert 'class="badge sent"' in counts and 'class="badge dead"' in counts
    newest = section(page, "outbox")
    assert sent.touch_id in newest and dead.touch_id in newest and "refused" in newest

    dead_only = section(dump_dom(dash.login_url("reviewer", "/outbox?status=dead")), "outbox")
    assert dead.touch_id in dead_only and sent.touch_id not in dead_only

    mine = section(dump_dom(dash.login_url("upsell", "/outbox")), "outbox")
    assert sent.touch_id in mine and dead.touch_id not in mine  # an agent sees its own

    journey = section(dump_dom(dash.login_url("reviewer", "/customers/c-ol")), "deliveries")
    assert sent.touch_id in journey and "ol@example.com" in journey and "sent" in journey


def test_an_unknown_status_filter_is_refused_with_the_choices(dash: Dashboard) -> None:
    with dash.http("reviewer") as client:
        r = client.get(dash.ui("/outbox"), params={"status": "lost"})
    assert r.status_code == 422 and "queued" in r.text and "status" in r.text
