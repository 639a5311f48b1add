"""The lift page (``/ui/lift``) in a real headless Chromium over a real server: the known-answer
fixture of tests/lift/test_client.py shown as the CLI prints it, "not enough data" said plainly
when it is the truth, a policy without a holdout explained, reviewers and admins only."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord import Accord
from accord.policy import Policy
from tests.lift.test_holdout import first_ids, holdout_policy

from .browser import Tab, chromium, dump_dom, screenshot
from .server import Dashboard, serve
from .test_dashboard import DOCS_IMG, section
from .test_layout import OVERFLOW

POLICY = holdout_policy(share=0.5)


def cells(table: str) -> list[list[str]]:
    """The text of each body row's cells (no-break spaces as spaces)."""
    body = table.split("<tbody>", 1)[1].replace("&nbsp;", " ").replace("\xa0", " ")
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row,
                                                                   re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def known_answer(acc: Accord) -> None:
    """56 of 70 treated customers bought for 100, 48 of 80 held out for 50 (Newcombe 1998)."""
    for group, buyers, value in ((first_ids(False, POLICY, 70), 56, 100),
                                 (first_ids(True, POLICY, 80), 48, 50)):
        for i, c in enumerate(group):
            acc.propose("churn-guard", c, channel="email", intent="retain")
            if i < buyers:
                acc.record_event(c, "purchase", data={"value": value})


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", POLICY)


def test_the_lift_page_shows_the_known_answer_with_its_intervals_and_verdicts(
        held: Dashboard) -> None:
    chromium()
    known_answer(held.service)
    dom = dump_dom(held.login_url("reviewer", "/lift"))
    assert 'href="/ui/lift" class="current"' in dom, "the nav links the page"
    assert re.search(r'id="lift-customers">.*?<strong>70</strong> treated.*?<strong>80</strong>'
                     r" in the holdout", dom, re.S)
    assert 'id="lift-note"' not in dom
    rows = {r[0]: r[1:] for r in cells(section(dom, "lift"))}
    assert list(rows) == ["customers who converted", "revenue per customer",
                          "customers who unsubscribed", "customers who complained",
                          "contacts per customer"]
    treated, holdout, difference, verdict = rows["customers who converted"]
    assert treated.startswith("80.00 % [") and holdout.startswith("60.00 % [")
    assert difference == "20.00 % [5.24 %, 33.39 %]"  # Newcombe (1998): 0.0524 to 0.3339
    assert verdict == "treated higher (better)"
    assert rows["revenue per customer"][2].startswith("50.00 [")
    assert re.search(r'class="badge go">treated higher \(better\)', dom)


def test_too_few_customers_says_not_enough_data_and_states_no_interval(
        held: Dashboard) -> None:
    chromium()
    for c in first_ids(False, POLICY, 4) + first_ids(True, POLICY, 3):
        held.service.propose("churn-guard", c, channel="email", intent="retain")
        held.service.record_event(c, "purchase", data={"value": 10})
    dom = dump_dom(held.login_url("admin", "/lift?days=7"))
    note = re.search(r'<p class="notice" id="lift-note">(.*?)</p>', dom, re.S)
    assert note and "not enough data: 4 treated and 3 holdout customers" in note.group(1)
    assert "at least 30" in note.group(1)
    for row in cells(section(dom, "lift")):
        assert row[1:] == ["–", "–", "–", "not enough data"], row
    assert 'aria-current="true">last 7 days' in dom


def test_a_policy_without_a_holdout_is_explained(tmp_path: Path, policy: Policy) -> None:
    assert policy.spec.settings.holdout is None
    for dash in serve(tmp_path / "accord.db", policy):
        with dash.http("reviewer") as client:
            r = client.get("/ui/lift")
        assert r.status_code == 200
        assert 'id="lift-none"' in r.text and "settings.holdout" in r.text
        assert 'id="lift"' not in r.text


def test_only_reviewers_and_admins_see_it_and_a_bad_range_names_the_choices(
        held: Dashboard) -> None:
    with held.http("upsell") as agent:
        r = agent.get("/ui/lift")
        assert r.status_code == 403 and "see the lift report" in r.text
    with held.http() as anonymous:
        r = anonymous.get("/ui/lift")
        assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/lift"
    with held.http("admin") as admin:
        assert admin.get("/ui/lift").status_code == 200
        r = admin.get("/ui/lift", params={"days": "14"})
        assert r.status_code == 422 and "1, 7, 30, 90, 365" in r.text


def test_the_lift_page_fits_a_420_pixel_screen(held: Dashboard) -> None:
    chromium()
    known_answer(held.service)
    with Tab(held.login_url("reviewer", "/lift")) as tab:
        tab.wait_for("location.pathname === '/ui/lift' && document.readyState === 'complete'",
                     what="the lift page")
        tab.resize(420)
        tab.navigate(held.ui("/lift"))
        assert tab.evaluate("document.querySelectorAll('#lift tbody tr').length") == 5
        assert tab.evaluate(OVERFLOW) == [], "the lift page is wider than a 420 px screen"


def test_a_screenshot_of_the_lift_page(held: Dashboard, tmp_path: Path) -> None:
    """With ACCORD_UPDATE_SCREENSHOTS=1 it replaces the picture in docs/dashboard.md."""
    chromium()
    where = DOCS_IMG if os.environ.get("ACCORD_UPDATE_SCREENSHOTS") == "1" else tmp_path
    known_answer(held.service)
    shot = screenshot(held.login_url("admin", "/lift"), where / "dashboard-lift.png",
                      height=620)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
