"""The dashboard's forms refuse requests forged by other pages, including pages on another port
of the same host, which SameSite=Strict does not stop (same site, different origin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from accord.model import Decision
from accord.policy import Policy
from tests.http.live_server import Running

from .browser import Tab, chromium
from .server import Dashboard, serve


@pytest.fixture
def dash(tmp_path: Path, policy: Policy) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy)


def flag(dash: Dashboard, customer: str = "c-ben") -> Decision:
    d = dash.service.propose("upsell", customer, channel="email", intent="upsell",
                             offer={"product": "pro", "discount_pct": 20})
    assert d.outcome.value == "flag"
    return d


def forging_page(target: str) -> Starlette:
    """A page that submits an approval form to ``target`` as soon as it loads."""
    html = (f'<form id="f" method="post" action="{target}">'
            '<input name="verdict" value="approve"><input name="note" value="forged"></form>'
            "<script>document.getElementById('f').submit()</script>")

    def page(request: Request) -> Response:
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", page)])


def test_a_page_on_another_port_of_the_same_host_cannot_approve_in_a_reviewers_browser(
        dash: Dashboard) -> None:
    chromium()
    forged, mine = flag(dash, "c-forged"), flag(dash, "c-mine")
    with Running(forging_page(dash.ui(f"/approvals/{forged.id}"))) as other, \
            Tab(dash.login_url("reviewer", "/approvals")) as tab:
        assert other.split(":")[1] == dash.url.split(":")[1], "same host, so the same site"
        tab.wait_for("document.querySelectorAll('form.actions').length === 2",
                     what="the reviewer's approvals queue")
        tab.evaluate(f"location.href = {other + '/'!r}")
        answer = tab.wait_for(
            f"location.href.startsWith({dash.url!r}) && (document.title.indexOf('Forbidden') "
            ">= 0 || location.search.indexOf('done=') >= 0) && "
            "document.readyState === 'complete' && document.body.textContent",
            what="the dashboard's answer to the forged post")
        assert "refused" in answer and other in answer
        assert dash.service.decision(forged.id).approval == "pending"

        tab.evaluate(f"location.href = {dash.ui('/approvals')!r}")
        tab.wait_for("document.querySelectorAll('form.actions').length === 2",
                     what="the approvals queue again")
        tab.evaluate(f"document.querySelector('form[action$=\"/{mine.id}\"] "
                     "button.approve').click()")
        tab.wait_for("location.search.indexOf('done=') >= 0", what="the own form's answer")
    assert dash.service.decision(mine.id).approval == "approved"
    assert dash.service.decision(forged.id).approval == "pending"


def test_a_form_post_without_this_sessions_token_changes_nothing(dash: Dashboard) -> None:
    d = flag(dash)
    with dash.http("reviewer") as client:
        missing = client.post(f"/ui/approvals/{d.id}", data={"verdict": "approve"})
        other = client.post(f"/ui/approvals/{d.id}",
                            data=dash.form("admin", verdict="approve"))
    for r in (missing, other):
        assert r.status_code == 403 and "CSRF token" in r.text
    assert dash.service.decision(d.id).approval == "pending"


@pytest.mark.parametrize("headers", [{"Origin": "http://127.0.0.1:1"},
                                     {"Origin": "null"},
                                     {"Origin": "", "Referer": "http://evil.example/x"}])
def test_a_form_post_from_another_origin_is_refused_even_with_the_token(
        dash: Dashboard, headers: dict[str, str]) -> None:
    d = flag(dash)
    with dash.http("reviewer") as client:
        client.headers.pop("Origin")
        r = client.post(f"/ui/approvals/{d.id}", headers={k: v for k, v in headers.items()
                                                          if v},
                        data=dash.form("reviewer", verdict="approve"))
    assert r.status_code == 403 and "refused" in r.text
    assert dash.service.decision(d.id).approval == "pending"


def test_signing_out_is_a_post_with_the_sessions_token(dash: Dashboard) -> None:
    with dash.http("reviewer") as client:
        assert client.get("/ui/logout").status_code == 405
        assert client.post("/ui/logout").status_code == 403
        r = client.post("/ui/logout", data=dash.form("reviewer"))
    assert r.status_code == 303 and 'accord_ui=""' in r.headers["set-cookie"]
