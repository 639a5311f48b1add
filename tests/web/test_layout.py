"""The dashboard on a narrow screen, and offers shown in words, in a real headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.policy import Policy

from .browser import Tab, chromium, dump_dom
from .scenario import fleet_day
from .server import Dashboard, serve
from .test_dashboard import section

OVERFLOW = """(function(){
  var root = document.documentElement, w = root.clientWidth, out = [];
  if (root.scrollWidth > w) out.push('page ' + root.scrollWidth);
  var seen = 'header > *, h1, h2, p, nav, form, .card, .scroll';
  document.querySelectorAll(seen).forEach(function(el){
    // a wide table scrolls inside its own box
    if (el.parentElement && el.parentElement.closest('.scroll')) return;
    var r = el.getBoundingClientRect();
    if (r.right > w + 0.5) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
  });
  return out;
})()"""


@pytest.fixture
def dash(tmp_path: Path, policy: Policy) -> Iterator[Dashboard]:
    yield from serve(tmp_path / "accord.db", policy)


def test_no_page_overflows_a_420_pixel_screen(dash: Dashboard) -> None:
    chromium()
    day = fleet_day(dash.service)
    pages = ["/fleet", "/decisions", "/customers/c-ada", "/approvals", "/reports", "/lift",
             f"/traces/{day.flagged}", "/decisions?outcome=nope"]
    with Tab(dash.login_url("reviewer", pages[0])) as tab:
        tab.wait_for("location.pathname === '/ui/fleet' && document.readyState === 'complete'",
                     what="the sign-in to land on the fleet page")
        tab.resize(420)
        for page in pages:
            tab.navigate(dash.ui(page))
            assert tab.evaluate("document.documentElement.clientWidth") == 420
            assert tab.evaluate(OVERFLOW) == [], f"{page} is wider than a 420 px screen"


def test_approvals_show_an_offer_as_its_terms_and_link_its_trace(dash: Dashboard) -> None:
    chromium()
    flagged = dash.service.propose("upsell", "c-ben", channel="email", intent="upsell",
                                   offer={"product": "pro", "discount_pct": 20,
                                          "valid_for": "14d", "seats": 5})
    assert flagged.outcome.value == "flag"
    queue = section(dump_dom(dash.login_url("reviewer", "/approvals")), "queue")
    terms = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", queue))
    assert terms == {"product": "pro", "discount": "20% off", "valid for": "14d",
                     "seats": "5"}
    assert "{" not in re.sub(r"<[^>]+>", "", queue), "no raw JSON in the queue"
    assert f'href="/ui/traces/{flagged.id}"' in queue, "the decision links to its trace"
