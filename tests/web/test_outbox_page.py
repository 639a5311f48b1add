"""The outbox on the dashboard, in a real headless Chromium: deliveries by channel, sender and
status, the newest ones, and a customer's page showing what was delivered to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.delivery import Dispatcher, SmtpSender
from accord.delivery._config import DeliverySettings
from accord.policy import Policy
from tests.conftest import Clock
from tests.delivery.smtp_sink import smtp_sink
from tests.http.live_server import start

from .browser import Tab, chromium, dump_dom
from .server import Dashboard, serve, sign_in_by_form
from .test_dashboard import section
from .test_layout import OVERFLOW


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


def test_the_outbox_page_shows_the_send_rates_the_api_was_configured_with(
        tmp_path: Path, policy: Policy) -> None:
    """The whole HTTP API (the dashboard mounted at /ui in it), configured with send rates:
    the page in a real Chromium shows what GET /v1/outbox/summary reports, on a phone too."""
    chromium()
    rates = {"smtp": 50.0, "twilio": 2.5}
    for server in start(str(tmp_path / "accord.db"), policy,
                        delivery=DeliverySettings(rates=rates)):
        with server.http("reviewer") as api:
            assert api.get("/v1/outbox/summary").json()["rates"] == rates
        with Tab("about:blank") as tab:
            tab.resize(420)
            sign_in_by_form(tab, f"{server.url}/ui", server.tokens["reviewer"], "/outbox")
            shown = tab.evaluate("Array.from(document.querySelectorAll('#send-rates tbody tr'))"
                                 ".map(function(r){return Array.from(r.cells).map("
                                 "function(c){return c.textContent.trim();});})")
            assert shown == [["smtp", "50"], ["twilio", "2.5"]]
            assert tab.evaluate(OVERFLOW) == [], "the outbox is wider than a 420 px screen"


def test_without_send_rates_the_outbox_page_says_none_is_configured(
        dash: Dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_SEND_RATES", raising=False)
    with dash.http("reviewer") as client:
        page = client.get(dash.ui("/outbox")).text
    assert 'id="send-rates-none"' in page and 'id="send-rates"' not in page
