"""Renderers: terminal text, JSON-ready dicts, CSV, self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import re

from accord.attribution import (
    Conversion,
    TouchRecord,
    attribute,
    build_journeys,
    coordination_quality,
    render_html,
    render_text,
    to_csv,
    to_json_ready,
)


def results() -> list:  # type: ignore[type-arg]
    touches = [TouchRecord("c", "churn", "email", 0.0), TouchRecord("c", "up<sell>", "sms", 1.0)]
    journeys = list(build_journeys(touches, [Conversion("c", 2.0, 90.0)]))
    return [attribute(journeys, "linear"), coordination_quality(journeys)]


def test_json_ready_output_round_trips_through_json() -> None:
    for r in results():
        data = to_json_ready(r)
        assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_csv_has_a_header_and_one_row_per_key() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(results()[0]))))
    assert rows[0] == ["agent", "credit", "share"]
    assert sorted(r[0] for r in rows[1:]) == ["churn", "up<sell>"]
    assert sum(float(r[1]) for r in rows[1:]) == 90.0


def test_terminal_text_lists_every_key() -> None:
    text = render_text(results()[0])
    assert "churn" in text and "45.0000" in text


def test_html_is_self_contained_with_inline_svg_and_escaped_labels() -> None:
    page = render_html(results())
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 2
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", page)
    assert "up&lt;sell&gt;" in page and "up<sell>" not in page
