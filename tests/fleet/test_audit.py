"""The fleet audit answers the five questions of a coordination-maturity review, one command
each, from the store's own data — proven here on a scripted fleet."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accord import Accord
from accord.cli import main
from accord.fleet import co_movement, compute_audit, render_audit_html

from ._fleet_script import EXAMPLE_POLICY, Script, scripted


@pytest.fixture
def fleet(acc: Accord, clock: Any) -> Script:
    return scripted(acc, clock)


def audit(tmp_path: Path, *args: str) -> Any:
    out = CliRunner().invoke(main, ["audit", *args, "--json", "--db", str(tmp_path / "accord.db"),
                                    "--policy", str(EXAMPLE_POLICY)])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_q1_every_agent_is_listed_with_owner_scope_status_and_last_action(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    acc.pause_seat("reengage", by="person:cto", reason="tone review")
    agents = {a["id"]: a for a in audit(tmp_path, "agents")["agents"]}
    assert set(agents) == set(acc.policy.agents)
    assert agents["upsell"]["owner"] == "sales-ops"
    assert agents["upsell"]["mandate"] == {"intents": ["upsell"], "channels": ["email", "voice"],
                                           "actions": None}
    assert agents["reengage"]["status"] == "paused"
    assert agents["support"]["last_acted"] == "2026-11-23T09:32:00Z"
    assert agents["email-cadence"]["last_acted"] == "2026-11-23T09:02:00Z"


def test_q2_shared_state_its_keeper_and_fields_with_several_writers_are_named(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    state = audit(tmp_path, "state")["state"]
    assert state["store"]["backend"] == "sqlite"
    assert state["store"]["url"].endswith("accord.db")
    assert state["store"]["rows"]["customers"] >= 5
    assert "locks its customer" in state["consistency"]
    fields = {f["field"]: f for f in state["fields"]}
    assert fields["lead_score"]["writers"] == ["admin:ops", "lead-scoring"]
    assert fields["lead_score"]["several_writers"]
    assert fields["churn_risk"] == {"field": "churn_risk", "writers": ["churn-guard"],
                                    "granted_to": ["churn-guard"], "several_writers": False}
    assert fields["stage"]["writers"] == ["event:stage_changed"]


def test_q3_the_protocol_each_agent_speaks_is_recorded_or_inferred(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    from accord.auth import Usage

    http = Usage(acc.store, "http")
    http.note("lead-scoring")
    http.flush()
    Usage(acc.store, "mcp", every=10.0).note("upsell")
    Usage(acc.store, "a2a", every=10.0).note("upsell")
    rows = {r["agent"]: r["protocols"] for r in audit(tmp_path, "protocols")["protocols"]}
    assert rows["lead-scoring"] == ["http"]
    assert rows["upsell"] == ["a2a", "mcp"]
    assert rows["scheduler"] == ["in-process"]  # decided, never seen on a network interface
    assert rows["reengage"] == ["in-process"]
    assert rows["churn-guard"] == ["in-process"]


def test_q4_the_share_of_reconstructable_decision_chains_is_measured(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    chains = audit(tmp_path, "chains")["chains"]
    assert chains["decisions"] == 7 and chains["share"] == 1.0 and chains["ledger_ok"]
    acc.propose("upsell", "c8", channel="email", intent="upsell", trace_id="tr-x",
                parent_id="ticket-4711")  # a parent the ledger never saw
    chains = audit(tmp_path, "chains")["chains"]
    assert chains["reconstructable"] == 7 and chains["decisions"] == 8
    assert list(chains["examples"].values()) == ["parent ticket-4711 is not in the ledger"]


def test_q5_where_and_why_humans_approve_and_how_long_they_wait(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    approvals = audit(tmp_path, "approvals")["approvals"]
    assert approvals["flagged"] == 2 and approvals["reviewed"] == 1
    assert approvals["by_rule"] == {"renewal-needs-human": 1, "irreversible-needs-human": 1}
    assert approvals["where"] == {"scheduler · schedule · email": 1,
                                  "churn-guard · retain · voice": 1}
    assert approvals["wait_seconds"]["median"] == 1800.0
    assert approvals["irreversible_without_approval"] == 0


def test_an_irreversible_action_that_went_without_a_human_is_counted(acc: Accord) -> None:
    text = EXAMPLE_POLICY.read_text()
    start = text.index("  - id: irreversible-needs-human")
    end = text.index("  - id: vip-voice-only-by-humans")
    from accord import Policy

    acc.policy = Policy.from_text(text[:start] + text[end:])
    assert acc.propose("churn-guard", "c1", channel="voice", intent="retain",
                       reversible=False).go
    report = compute_audit(acc, sections=("approvals",))["approvals"]
    assert report["irreversible_without_approval"] == 1
    assert report["irreversible_examples"][0]["agent"] == "churn-guard"


def test_prevented_failures_are_counted_by_kind_and_by_agent_pair(
        acc: Accord, fleet: Script) -> None:
    prevented = compute_audit(acc, sections=("prevented",))["prevented"]
    assert prevented["by_kind"]["cap"] == 1 and prevented["by_kind"]["collision"] == 1
    assert prevented["by_kind"]["suppression hit"] == 1  # reengage on c3 after the opt-out
    assert prevented["by_kind"]["context-blind send"] == 1  # renewal revoked upsell's touch
    assert prevented["by_pair"]["email-cadence ↔ upsell"] == 1
    cost = compute_audit(acc, sections=("cost",))["cost"]
    assert cost["per_agent"] == {"upsell": {"usd": 1.5, "tokens": 0}}
    assert cost["per_trace"][0] == {"trace_id": fleet.trace_id, "usd": 1.5, "tokens": 0,
                                    "proposals": 5}


def test_agents_that_pick_the_same_customers_are_flagged_and_independent_ones_are_not() -> None:
    customers = [f"c{i}" for i in range(40)]
    together = {c: 1.0 for c in customers[:12]}
    values = {"a": together, "b": dict(together), "c": {c: 1.0 for c in customers[::3]}}
    rows = {tuple(r["agents"]): r for r in co_movement(values, what="activity",
                                                       population=customers)}
    assert rows[("a", "b")]["flagged"] and rows[("a", "b")]["p"] < 0.01
    assert rows[("a", "b")]["r"] == 1.0 and rows[("a", "b")]["support"] == 12
    assert not rows[("a", "c")]["flagged"]


def test_the_html_audit_is_one_self_contained_page_with_charts(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    out = CliRunner().invoke(main, ["audit", "--html", str(page), "--db",
                                    str(tmp_path / "accord.db"), "--policy", str(EXAMPLE_POLICY)])
    assert out.exit_code == 0, out.output
    assert "1. Every agent" in out.output and "5. Where and why a human approves" in out.output
    html = page.read_text()
    assert html.count("<svg") >= 3
    assert not re.search(r"(src|href)=\"https?://", html)
    embedded = re.search(r'<script type="application/json" id="audit-data">(.*)</script>', html)
    assert embedded is not None
    assert json.loads(embedded.group(1))["chains"]["share"] == 1.0
    assert render_audit_html(compute_audit(acc)).startswith("<!doctype html>")


def test_seat_list_answers_who_owns_what_in_one_command(
        acc: Accord, fleet: Script, tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["seat", "list", "--db", str(tmp_path / "accord.db"),
                                    "--policy", str(EXAMPLE_POLICY)])
    assert out.exit_code == 0, out.output
    assert re.search(r"upsell\s+active\s+owner=sales-ops\s+upsell @ email,voice", out.output)
    paused = CliRunner().invoke(main, ["seat", "pause", "upsell", "--by", "person:cto",
                                       "--reason", "incident", "--db",
                                       str(tmp_path / "accord.db"), "--policy",
                                       str(EXAMPLE_POLICY)])
    assert paused.exit_code == 0 and "upsell: pause → paused" in paused.output
    assert acc.seat("upsell").status == "paused"
