"""The dashboard in a real headless Chromium, over a real uvicorn server and a real SQLite store.

Each test starts its own server (``dash``); pages are read as the browser left them after their
scripts ran, the live feed is watched in an open tab, and the forms are posted the way a browser
posts them (form-encoded, with the sign-in cookie).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.http import create_token
from accord.policy import Policy

from .browser import Tab, chromium, dump_dom, screenshot
from .scenario import fleet_day
from .server import Dashboard, serve

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def dash(tmp_path: Path, policy: Policy) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy)


def section(dom: str, element_id: str) -> str:
    """The markup of the table (or figure) with this id, so a test looks where it means to."""
    found = re.search(rf'<(table|figure) id="{element_id}".*?</\1>', dom, re.S)
    assert found, f"no element #{element_id} in the page"
    return found.group(0)


def test_fleet_page_lists_every_seat_of_the_example_policy(dash: Dashboard,
                                                           policy: Policy) -> None:
    chromium()
    dash.service.propose("upsell", "c1", channel="email", intent="upsell")
    dash.service.pause_seat("reengage", by="ops", reason="bad copy")
    seats = section(dump_dom(dash.login_url("reviewer", "/fleet")), "seats")
    for agent in policy.spec.agents:
        assert f"<strong>{agent.id}</strong>" in seats, f"seat {agent.id} is missing"
        assert f"<td>{agent.owner}" in seats
    row = re.search(r"<strong>reengage</strong>.*?</tr>", seats, re.S)
    assert row and 'class="badge paused"' in row.group(0)
    upsell = re.search(r"<strong>upsell</strong>.*?</tr>", seats, re.S)
    assert upsell and "<time" in upsell.group(0), "upsell acted: its last-acted time shows"


def test_a_decision_made_after_the_page_loaded_appears_in_the_live_feed(
        dash: Dashboard) -> None:
    chromium()
    before = dash.service.propose("upsell", "c-before", channel="email", intent="upsell")
    with Tab(dash.login_url("reviewer", "/decisions")) as tab:
        tab.wait_for("document.getElementById('live-state') && "
                     "document.getElementById('live-state').textContent === 'live'",
                     what="the page's event stream to open")
        assert tab.evaluate("document.querySelectorAll('#feed tr[data-decision]').length") == 0
        after = dash.service.propose("churn-guard", "c-after", channel="email",
                                     intent="retain")
        row = f"document.querySelector('#feed tr[data-decision=\"{after.id}\"]')"
        shown = tab.wait_for(f"{row} && {row}.textContent",
                             what=f"decision {after.id} in the live feed")
        assert "churn-guard" in shown and "go" in shown and "c-after" in shown
        ids = tab.evaluate("Array.from(document.querySelectorAll('#feed tr[data-decision]'))"
                           ".map(function(r){return r.dataset.decision;})")
        assert ids == [after.id], "only what happened after the page loaded is in the feed"
        assert before.id in tab.evaluate("document.getElementById('decisions').textContent")


def test_an_agent_sees_only_its_own_decisions_in_the_live_feed(dash: Dashboard) -> None:
    chromium()
    with Tab(dash.login_url("upsell", "/decisions")) as tab:
        tab.wait_for("document.getElementById('live-state').textContent === 'live'",
                     what="the page's event stream to open")
        other = dash.service.propose("churn-guard", "c-x", channel="email", intent="retain")
        mine = dash.service.propose("upsell", "c-y", channel="email", intent="upsell")
        tab.wait_for(f"!!document.querySelector('#feed tr[data-decision=\"{mine.id}\"]')",
                     what="upsell's own decision in its feed")
        assert not tab.evaluate(
            f"!!document.querySelector('#feed tr[data-decision=\"{other.id}\"]')")


def test_the_approvals_form_approves_a_flagged_proposal_as_the_signed_in_reviewer(
        dash: Dashboard) -> None:
    chromium()
    flagged = dash.service.propose("upsell", "c-ben", channel="email", intent="upsell",
                                   offer={"product": "pro", "discount_pct": 20})
    assert flagged.outcome.value == "flag"
    queue = section(dump_dom(dash.login_url("reviewer", "/approvals")), "queue")
    assert f'action="/ui/approvals/{flagged.id}"' in queue
    with dash.http("reviewer") as client:
        r = client.post(f"/ui/approvals/{flagged.id}", data=dash.form(
            "reviewer", verdict="approve", note="ok for this account"))
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith("/ui/approvals?done=")
        after = client.get(r.headers["location"])
    assert flagged.id not in section(after.text, "queue")
    assert dash.service.decision(flagged.id).approval == "approved"
    follow = [e for e in dash.service.ledger() if e.kind == "approval" and e.ref == flagged.id]
    assert follow and follow[0].body["reviewer"] == "rita"
    assert follow[0].body["note"] == "ok for this account"
    assert dash.service.decision(follow[0].body["decision_id"]).outcome.value == "go"


def test_an_agent_token_cannot_approve(dash: Dashboard) -> None:
    flagged = dash.service.propose("upsell", "c-ben", channel="email", intent="upsell",
                                   offer={"product": "pro", "discount_pct": 20})
    with dash.http("churn") as client:
        r = client.post(f"/ui/approvals/{flagged.id}", data={"verdict": "approve"})
        assert r.status_code == 403
        assert "may not approve" in r.text
        assert client.get("/ui/approvals").status_code == 403
    with dash.http() as anonymous:
        assert anonymous.post(f"/ui/approvals/{flagged.id}",
                              data={"verdict": "approve"}).status_code == 401
    assert dash.service.decision(flagged.id).approval == "pending"


def test_signing_in_with_an_unknown_token_is_refused_and_pages_ask_to_sign_in(
        dash: Dashboard) -> None:
    with dash.http() as client:
        r = client.get("/ui/fleet")
        assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/fleet"
        r = client.post("/ui/login", data={"token": "acc_not-a-token"})
        assert r.status_code == 401 and "unknown or revoked" in r.text
        r = client.post("/ui/login", data={"token": dash.tokens["admin"],
                                           "next": "//elsewhere.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/ui/fleet"
        assert "HttpOnly" in r.headers["set-cookie"]
        assert "SameSite=strict" in r.headers["set-cookie"]


def test_a_customer_journey_shows_an_opt_out_revoking_a_pending_touch(
        dash: Dashboard) -> None:
    chromium()
    go = dash.service.propose("churn-guard", "c-ada", channel="email", intent="retain")
    assert go.touch_id is not None
    event = dash.service.record_event("c-ada", "opt_out", data={"channel": "email"})
    assert event.revoked == [go.touch_id]
    dom = dump_dom(dash.login_url("reviewer", "/customers/c-ada"))
    context = section(dom, "context")
    assert "opt_outs" in context and f"event:opt_out:{event.id}" in context
    body = section(dom, "timeline").split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    kinds = [m.group(1) for r in rows if (m := re.search(r'class="mono">(\w+)<', r))]
    assert kinds == ["decision", "event", "revocation"], kinds
    assert go.touch_id in rows[0] and 'class="badge revoked"' in rows[0]
    assert "opt_out" in rows[1]
    assert go.touch_id in rows[2] and "opted-out" in rows[2] and event.id in rows[2]


def test_an_agent_sees_only_the_fields_its_grant_reads(dash: Dashboard) -> None:
    dash.service.register_seat({"id": "survey", "owner": "research",
                                "mandate": {"intents": ["nurture"], "channels": ["email"]},
                                "context": {"read": ["stage"]}}, by="ops")
    dash.service.record_event("c-1", "stage_changed", data={"stage": "renewal"})
    ctx = dash.service.context("c-1")
    dash.service.update_context("c-1", {"lead_score": 80}, expected_version=ctx.version,
                                agent="lead-scoring")
    dash.tokens["survey"] = create_token(dash.service.store, "agent", "survey")
    with dash.http("survey") as client:
        context = section(client.get("/ui/customers/c-1").text, "context")
    assert "stage" in context and "renewal" in context
    assert "lead_score" not in context
    with dash.http("admin") as client:
        assert "lead_score" in section(client.get("/ui/customers/c-1").text, "context")


def test_reports_chart_prevented_failures_and_attribution(dash: Dashboard) -> None:
    chromium()
    fleet_day(dash.service)
    dom = dump_dom(dash.login_url("admin", "/reports"))
    kinds = section(dom, "prevented-kind")
    assert "<svg" in kinds and "suppression hit" in kinds and "collision" in kinds
    assert "churn-guard ↔ upsell" in section(dom, "prevented-pair")
    credit = section(dom, "credit-last_touch")
    for agent, value in (("upsell", "500"), ("churn-guard", "300"), ("reengage", "120")):
        assert re.search(rf">{agent}</text>.*?>\${value}</text>", credit, re.S), agent


def test_screenshots_of_the_fleet_customer_and_reports_pages(dash: Dashboard,
                                                            tmp_path: Path) -> None:
    """With ACCORD_UPDATE_SCREENSHOTS=1 they replace the pictures in docs/dashboard.md."""
    chromium()
    where = DOCS_IMG if os.environ.get("ACCORD_UPDATE_SCREENSHOTS") == "1" else tmp_path
    day = fleet_day(dash.service)
    dash.service.pause_seat("support", by="ops", reason="new macro under review")
    for name, path in (("fleet", "/fleet"), ("customer", "/customers/c-ada"),
                       ("reports", "/reports"), ("approvals", "/approvals")):
        shot = screenshot(dash.login_url("admin", path), where / f"dashboard-{name}.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert day.revoked_touch in dump_dom(dash.login_url("admin", "/customers/c-ada"))


def test_reviewing_twice_is_refused_and_markup_in_data_is_shown_as_text(
        dash: Dashboard) -> None:
    flagged = dash.service.propose("upsell", "<b>c</b>", channel="email", intent="upsell",
                                   offer={"product": "pro", "discount_pct": 20})
    with dash.http("reviewer") as client:
        assert client.post(f"/ui/approvals/{flagged.id}",
                           data=dash.form("reviewer", verdict="reject")).status_code == 303
        again = client.post(f"/ui/approvals/{flagged.id}",
                            data=dash.form("reviewer", verdict="approve"))
        assert again.status_code == 409 and "not waiting for approval" in again.text
        journey = client.get("/ui/customers/%3Cb%3Ec%3C%2Fb%3E").text
    assert "<b>c</b>" not in journey and "&lt;b&gt;c&lt;/b&gt;" in journey
    assert "rejected by rita" in journey
