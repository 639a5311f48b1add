"""The decisions page in a real headless Chromium: touches as they stand now, filters, paging,
and a link from every decision to its trace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accord.policy import Policy
from tests.conftest import T0, Clock

from .browser import Tab, chromium, dump_dom
from .server import Dashboard, serve
from .test_dashboard import section


@pytest.fixture
def dash(tmp_path: Path, policy: Policy, clock: Clock) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy, clock)


def touch_badge(html: str, touch_id: str) -> str:
    found = re.search(rf'<span class="badge (\w+)" data-touch="{touch_id}">', html)
    assert found, f"touch {touch_id} is not on the page"
    return found.group(1)


def decision_ids(html: str) -> list[str]:
    return re.findall(r'/traces/[^"]*"[^>]*><code>(d_[^<]+)</code>', section(html, "decisions"))


def test_decisions_show_each_touch_as_it_stands_after_an_outcome_and_a_revocation(
        dash: Dashboard) -> None:
    chromium()
    done = dash.service.propose("upsell", "c-1", channel="email", intent="upsell")
    revoked = dash.service.propose("churn-guard", "c-2", channel="email", intent="retain")
    waiting = dash.service.propose("churn-guard", "c-3", channel="email", intent="retain")
    assert done.touch_id and revoked.touch_id and waiting.touch_id
    dash.service.report_outcome(done.touch_id, "executed")
    dash.service.record_event("c-2", "opt_out", data={"channel": "email"})
    table = section(dump_dom(dash.login_url("reviewer", "/decisions")), "decisions")
    assert touch_badge(table, done.touch_id) == "executed"
    assert touch_badge(table, revoked.touch_id) == "revoked"
    assert touch_badge(table, waiting.touch_id) == "pending"


def test_the_live_feed_moves_a_touch_from_pending_to_executed_and_revoked(
        dash: Dashboard) -> None:
    chromium()
    with Tab(dash.login_url("reviewer", "/decisions")) as tab:
        tab.wait_for("document.getElementById('live-state').textContent === 'live'",
                     what="the page's event stream to open")
        a = dash.service.propose("upsell", "c-1", channel="email", intent="upsell")
        b = dash.service.propose("churn-guard", "c-2", channel="email", intent="retain")
        badge = "document.querySelector('#feed [data-touch=\"{}\"]')"
        for d in (a, b):
            tab.wait_for(f"{badge.format(d.touch_id)} && "
                         f"{badge.format(d.touch_id)}.textContent === 'pending'",
                         what=f"{d.id}'s pending touch in the feed")
        assert a.touch_id and b.touch_id
        dash.service.report_outcome(a.touch_id, "executed")
        dash.service.record_event("c-2", "opt_out", data={"channel": "email"})
        tab.wait_for(f"{badge.format(a.touch_id)}.textContent === 'executed'",
                     what="the executed outcome to reach the feed's touch")
        tab.wait_for(f"{badge.format(b.touch_id)}.textContent === 'revoked'",
                     what="the revocation to reach the feed's touch")


def test_decisions_filter_by_agent_outcome_rule_customer_and_time(dash: Dashboard,
                                                                   clock: Clock) -> None:
    chromium()
    early = dash.service.propose("upsell", "c-1", channel="email", intent="upsell")
    clock.now = T0 + 3600
    dash.service.record_event("c-2", "opt_out", data={"channel": "email"})
    stopped = dash.service.propose("churn-guard", "c-2", channel="email", intent="retain")
    late = dash.service.propose("churn-guard", "c-3", channel="email", intent="retain")
    assert stopped.outcome.value == "stop"
    rule = stopped.reasons[0].rule

    def shown(query: str) -> set[str]:
        return set(decision_ids(dump_dom(dash.login_url("reviewer", f"/decisions?{query}"))))

    assert shown("") == {early.id, stopped.id, late.id}
    assert shown("agent=upsell") == {early.id}
    assert shown("outcome=stop") == {stopped.id}
    assert shown(f"rule={rule}") == {stopped.id}
    assert shown("customer=c-3") == {late.id}
    since = datetime.fromtimestamp(T0 + 1800, UTC).strftime("%Y-%m-%dT%H:%M")
    assert shown(f"since={since}") == {stopped.id, late.id}
    assert shown(f"until={since}") == {early.id}
    assert shown("agent=churn-guard&outcome=go") == {late.id}


def test_an_agent_filtering_by_another_agent_still_sees_only_its_own(dash: Dashboard) -> None:
    mine = dash.service.propose("upsell", "c-1", channel="email", intent="upsell")
    dash.service.propose("churn-guard", "c-2", channel="email", intent="retain")
    with dash.http("upsell") as client:
        page = client.get("/ui/decisions?agent=churn-guard").text
    assert decision_ids(page) == [mine.id]


def test_decisions_page_back_through_every_decision_without_gaps_or_repeats(
        dash: Dashboard) -> None:
    made = [dash.service.propose("upsell", f"c-{i}", channel="email", intent="upsell").id
            for i in range(57)]
    seen: list[str] = []
    query = ""
    with dash.http("reviewer") as client:
        for _ in range(3):
            page = client.get(f"/ui/decisions?{query}").text
            seen += decision_ids(page)
            older = re.search(r'id="older" href="/ui/decisions\?([^"]+)"', page)
            if older is None:
                break
            query = older.group(1).replace("&amp;", "&")
    assert seen == made[::-1]


def test_a_decision_links_to_its_trace_page(dash: Dashboard) -> None:
    chromium()
    d = dash.service.propose("churn-guard", "c-1", channel="email", intent="retain")
    assert d.touch_id
    dash.service.report_outcome(d.touch_id, "executed")
    decisions = dump_dom(dash.login_url("reviewer", "/decisions"))
    link = re.search(rf'href="(/ui/traces/[^"]+)"[^>]*><code>{d.id}</code>', decisions)
    assert link, "the decision links to its trace"
    trace = section(dump_dom(dash.login_url("reviewer", link.group(1)[3:])), "trace")
    assert d.id in trace and "reported executed" in trace
    assert touch_badge(trace, d.touch_id) == "executed"
    journey = dump_dom(dash.login_url("reviewer", "/customers/c-1"))
    assert f'{link.group(1)}" title="the decision\'s trace"><code>{d.id}</code>' in journey


@pytest.mark.parametrize(("query", "where"), [
    ("outcome=maybe", "query.outcome"), ("since=yesterday", "query.since"),
    ("before=x", "query.before"),
    ("since=2026-01-02&until=2026-01-01", "query.until")])
def test_a_filter_that_does_not_parse_is_refused_with_what_it_takes(
        dash: Dashboard, query: str, where: str) -> None:
    with dash.http("reviewer") as client:
        r = client.get(f"/ui/decisions?{query}")
    assert r.status_code == 422
    assert f"<code>{where}</code>" in r.text and 'id="hint"' in r.text


def test_a_decision_made_by_another_process_on_the_same_file_reaches_the_live_feed(
        tmp_path: Path, policy: Policy) -> None:
    """``accord mcp`` over stdio beside ``accord serve``: two processes, one SQLite file."""
    from tests.conftest import wait_until
    from tests.store.test_sqlite_bus import listening, propose_elsewhere

    chromium()
    db = tmp_path / "accord.db"
    for dash in serve(db, policy):
        with Tab(dash.login_url("reviewer", "/decisions")) as tab:
            tab.wait_for("document.getElementById('live-state').textContent === 'live'",
                         what="the page's event stream to open")
            wait_until(lambda: listening(db), what="the server's listener lease")
            other = propose_elsewhere(db, "upsell", "c-elsewhere", "upsell")
            row = f"document.querySelector('#feed tr[data-decision=\"{other}\"]')"
            shown = tab.wait_for(f"{row} && {row}.textContent",
                                 what="the other process's decision in the live feed")
            assert "upsell" in shown and "c-elsewhere" in shown
