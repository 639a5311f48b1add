"""``accord attribution`` on a real store: JSON, CSV, a self-contained HTML page, a table."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accord import Accord
from accord.cli import main
from tests.conftest import EXAMPLE_POLICY

D = 86400.0


def act(acc: Accord, agent: str, customer: str, channel: str, intent: str) -> str:
    decision = acc.propose(agent, customer, channel=channel, intent=intent)
    if decision.touch_id:
        acc.report_outcome(decision.touch_id, "executed")
    return decision.outcome.value


@pytest.fixture
def db(acc: Accord, clock: Any, tmp_path: Path) -> str:
    """c1: churn-guard, then email-cadence, executed; upsell stopped; purchase 100.
    c2: reengage executed; purchase 100. c3: upsell flagged (renewal); no purchase."""
    assert act(acc, "churn-guard", "c1", "email", "retain") == "go"
    assert act(acc, "reengage", "c2", "sms", "reactivate") == "go"
    clock.advance(3 * D)
    assert act(acc, "email-cadence", "c1", "email", "nurture") == "go"
    assert act(acc, "upsell", "c1", "email", "upsell") == "stop"
    acc.record_event("c3", "stage_changed", data={"stage": "renewal"})
    assert act(acc, "upsell", "c3", "email", "upsell") == "flag"
    clock.advance(D)
    acc.record_event("c1", "purchase", data={"value": 100})
    acc.record_event("c2", "purchase", data={"value": 100})
    return str(tmp_path / "accord.db")


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["attribution", "--db", db, "--policy", str(EXAMPLE_POLICY),
                                     *args])


def test_json_is_the_report_the_http_endpoint_serves(db: str) -> None:
    result = run(db, "--format", "json", "--model", "linear", "--model", "markov")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["model"] for r in report["results"]] == ["linear", "markov"]
    linear = report["results"][0]
    assert {k: v for k, v in linear["credit"].items() if v} == {
        "reengage": 100.0, "churn-guard": 50.0, "email-cadence": 50.0}
    assert (linear["total_value"], linear["unattributed"]) == (200.0, 0.0)
    assert report["not_delivered"]["upsell"] == {"stop": 1, "flag": 1}
    assert report["budget"] is None and report["quality"]["kind"] == "coordination_quality"


def test_csv_has_one_header_and_a_row_per_model_and_key(db: str) -> None:
    result = run(db, "--format", "csv", "--by", "channel")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) == {"model", "channel", "credit", "share"}
    assert {r["model"] for r in rows} == {"first_touch", "last_touch", "linear", "time_decay",
                                          "position", "markov", "shapley"}
    linear = {r["channel"]: float(r["credit"]) for r in rows if r["model"] == "linear"}
    assert linear == {"email": 100.0, "sms": 100.0}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.refs += [f"{k}={v}" for k, v in attrs if k in ("src", "href", "xlink:href")]


def test_html_report_is_one_self_contained_page_with_charts(db: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run(db, "--format", "html", "--out", str(out), "--budget", "100")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(page)
    assert {"svg", "rect", "table", "style"} <= parsed.tags
    assert not parsed.tags & {"script", "link", "img", "iframe", "object"}
    assert parsed.refs == [] and "url(" not in page and "@import" not in page
    assert "Not delivered" in page and "Recommended allocation" in page
    assert result.stdout == ""


def test_table_shows_each_model_and_what_was_not_delivered(db: str) -> None:
    result = run(db, "--model", "linear", "--lookback", "3d")
    assert result.exit_code == 0, result.output
    assert "linear attribution by agent" in result.stdout
    assert "Not delivered" in result.stdout and "upsell" in result.stdout


def test_progress_goes_to_stderr_and_leaves_stdout_clean(db: str) -> None:
    result = run(db, "--format", "json", "--model", "linear", "--progress")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["journeys"] == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "magic"], "'magic' is not one of"),
    (["--lookback", "soon"], "not a duration"),
    (["--budget", "-1"], "--budget"),
])
def test_bad_options_are_refused_with_a_usage_error(db: str, args: list[str],
                                                    message: str) -> None:
    result = run(db, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_missing_store_is_named_instead_of_creating_an_empty_one(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = run(str(missing))
    assert result.exit_code == 1 and "no store at" in result.stderr
    assert not missing.exists()
