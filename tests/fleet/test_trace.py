"""Traces an auditor accepts: the whole chain across agents as a tree, JSON and OTLP spans, and a
ledger that shows any alteration, naming the entry."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accord import Accord, LedgerEntry
from accord.cli import main
from accord.fleet import links, render_trace_tree, to_otlp, trace_json

from ._fleet_script import EXAMPLE_POLICY, Script, scripted

FIVE = {"lead-scoring", "upsell", "email-cadence", "scheduler", "support"}


@pytest.fixture
def fleet(acc: Accord, clock: Any) -> Script:
    return scripted(acc, clock)


def test_a_five_agent_chain_round_trips_completely_as_tree_json_and_otlp(
        acc: Accord, fleet: Script) -> None:
    entries = acc.trace(fleet.trace_id)
    assert {e.agent for e in entries if e.agent} == FIVE
    kinds = [e.kind for e in entries]
    for kind in ("handoff", "handoff_ack", "decision", "approval", "outcome"):
        assert kind in kinds
    _, dangling = links(entries)
    assert dangling == []

    tree = render_trace_tree(entries)
    assert sorted(int(s) for s in re.findall(r"#(\d+) ", tree)) == sorted(e.seq for e in entries)
    assert "approved by person:alice" in tree
    assert "FLAG [renewal-needs-human]" in tree and "DEFER [daily-cap, agent-gap]" in tree
    assert "context v1" in tree and "context v2" in tree  # the version each agent saw
    assert "unresolved" not in tree

    doc = json.loads(json.dumps(trace_json(entries)))
    assert doc["complete"] and set(doc["agents"]) == FIVE
    back = [LedgerEntry.model_validate({k: v for k, v in e.items() if k != "parent_seq"})
            for e in doc["entries"]]
    assert back == sorted(entries, key=lambda e: e.seq)
    by_ref = {e.ref: e.seq for e in entries if e.kind in ("decision", "handoff")}
    parents = {e["ref"]: e["parent_seq"] for e in doc["entries"] if e["kind"] == "decision"}
    assert parents[fleet.ids["upsell_decision"]] == by_ref[fleet.ids["scored_lead"]]
    assert parents[fleet.ids["approved"]] == by_ref[fleet.ids["flagged"]]

    otlp = json.loads(json.dumps(to_otlp(entries)))
    spans = [s for rs in otlp["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    services = {a["value"]["stringValue"] for rs in otlp["resourceSpans"]
                for a in rs["resource"]["attributes"] if a["key"] == "service.name"}
    assert services == FIVE
    assert len(spans) == len(entries)
    ids = {s["spanId"] for s in spans}
    assert len(ids) == len(spans)
    assert {s["traceId"] for s in spans} == {spans[0]["traceId"]}
    assert re.fullmatch(r"[0-9a-f]{32}", spans[0]["traceId"])
    for s in spans:
        assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"])
        assert int(s["endTimeUnixNano"]) > int(s["startTimeUnixNano"]) > 0
        assert s.get("parentSpanId", s["spanId"]) in ids
    roots = [s for s in spans if "parentSpanId" not in s]
    assert len(roots) == 1 and roots[0]["name"] == "handoff lead-scoring"
    seqs = sorted(int(a["value"]["intValue"]) for s in spans for a in s["attributes"]
                  if a["key"] == "accord.seq")
    assert seqs == sorted(e.seq for e in entries)


def test_accord_trace_prints_the_chain_in_each_format(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    args = ["trace", fleet.trace_id, "--db", str(tmp_path / "accord.db"),
            "--policy", str(EXAMPLE_POLICY)]
    runner = CliRunner()
    tree = runner.invoke(main, args)
    assert tree.exit_code == 0, tree.output
    assert all(a in tree.output for a in FIVE) and "approved by person:alice" in tree.output
    otlp = runner.invoke(main, [*args, "--format", "otlp"])
    assert otlp.exit_code == 0, otlp.output
    assert len(json.loads(otlp.output)["resourceSpans"]) == len(FIVE)
    raw = runner.invoke(main, [*args, "--format", "json"])
    assert raw.exit_code == 0 and len(json.loads(raw.output)) == len(acc.trace(fleet.trace_id))


def test_an_altered_ledger_row_is_caught_and_the_entry_named(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    assert acc.verify_ledger().ok
    target = next(e for e in acc.trace(fleet.trace_id) if e.ref == fleet.ids["flagged"]
                  and e.kind == "approval")
    with sqlite3.connect(tmp_path / "accord.db") as db:
        db.execute("UPDATE ledger SET body = replace(body, 'person:alice', 'person:mallory') "
                   "WHERE seq = ?", (target.seq,))
    report = acc.verify_ledger()
    assert not report.ok
    assert report.problems == [f"chain c1: entry {target.seq} (approval {fleet.ids['flagged']}) "
                               "was altered: its content does not match its hash"]
    out = CliRunner().invoke(main, ["ledger", "verify", "--db", str(tmp_path / "accord.db"),
                                    "--policy", str(EXAMPLE_POLICY)])
    assert out.exit_code == 1 and f"entry {target.seq}" in out.output


def test_an_entry_removed_from_the_middle_of_a_chain_is_caught(
        acc: Accord, fleet: Any, tmp_path: Path) -> None:
    victim = next(e for e in acc.trace(fleet.trace_id) if e.kind == "handoff_ack")
    with sqlite3.connect(tmp_path / "accord.db") as db:
        db.execute("DELETE FROM ledger WHERE seq = ?", (victim.seq,))
    problems = acc.verify_ledger().problems
    assert any("was removed or inserted" in p for p in problems)


def test_a_decision_without_a_trace_id_is_its_own_trace_and_its_id_finds_it(
        store_url: str, policy: Any, clock: Any) -> None:
    acc = Accord.open(store_url, policy=policy, clock=clock)
    try:
        alone = acc.propose("churn-guard", "c-alone", channel="email", intent="retain")
        acc.report_outcome(alone.touch_id or "", "executed")
        named = acc.propose("upsell", "c-named", channel="email", intent="upsell",
                            trace_id="campaign-7")
        later = acc.propose("churn-guard", "c-named", channel="email", intent="retain",
                            trace_id="campaign-7")
        assert alone.proposal.trace_id == alone.id
        entries = acc.trace(alone.id)
        assert [(e.kind, e.ref) for e in entries] == [("decision", alone.id),
                                                       ("outcome", alone.touch_id)]
        # a decision id inside a named trace resolves to the whole trace
        assert {e.ref for e in acc.trace(named.id)} >= {named.id, later.id}
        assert acc.trace(named.id) == acc.trace("campaign-7")

        out = CliRunner().invoke(main, ["trace", alone.id, "--db", store_url,
                                    "--policy", str(EXAMPLE_POLICY)])
        assert out.exit_code == 0, out.output
        assert f"decision {alone.id} churn-guard retain/email → GO" in out.output
    finally:
        acc.close()
