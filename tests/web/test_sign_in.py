"""Signing in to the dashboard: only the posted form signs a browser in. A token in a URL
(the old ``/ui/login?token=…`` link) would be kept by server logs, proxies and browser history,
so such a link signs nobody in and says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.policy import Policy

from .browser import Tab, chromium, dump_dom
from .server import Dashboard, serve


@pytest.fixture
def dash(tmp_path: Path, policy: Policy) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy)


def test_a_token_in_the_login_link_signs_nobody_in_and_says_why(dash: Dashboard) -> None:
    with dash.http() as client:
        r = client.get("/ui/login", params={"token": dash.tokens["admin"],
                                            "next": "/ui/reports"})
        assert r.status_code == 400
        assert "set-cookie" not in r.headers, "a token in a URL must not sign anyone in"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "no longer works" in r.text and "Paste the token" in r.text
        assert dash.tokens["admin"] not in r.text, "the page does not repeat the token"
        assert 'method="post"' in r.text, "the form to sign in properly is on the page"
        assert client.get("/ui/reports").status_code == 303  # still signed out
        plain = client.get("/ui/login")
        assert plain.status_code == 200 and "no longer works" not in plain.text


def test_the_old_link_in_a_real_browser_shows_the_form_and_no_signed_in_page(
        dash: Dashboard) -> None:
    chromium()
    dom = dump_dom(dash.ui(f"/login?token={dash.tokens['reviewer']}&next=/ui/fleet"))
    assert "no longer works" in dom and 'name="token"' in dom
    assert "sign out" not in dom, "nobody is signed in"


def test_a_browser_signs_in_by_posting_the_form(dash: Dashboard) -> None:
    chromium()
    with Tab(dash.ui("/login?next=/ui/approvals")) as tab:
        tab.wait_for("document.readyState === 'complete' && "
                     "!!document.querySelector('input[name=token]')", what="the sign-in form")
        tab.evaluate(f"document.querySelector('input[name=token]').value = "
                     f"{json.dumps(dash.tokens['reviewer'])}; "
                     "document.querySelector('form.actions').submit(); true")
        tab.wait_for("location.pathname === '/ui/approvals' && "
                     "document.readyState === 'complete'", what="the approvals page")
        assert "token=" not in tab.evaluate("location.href"), "the token stays out of the URL"
        assert "rita" in tab.evaluate("document.querySelector('form.who').textContent")
