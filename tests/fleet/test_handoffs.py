"""Handoffs: declared kinds with schemas, artifacts with hashes, inbox, ack, SLA, human bridges."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from accord import Accord, Forbidden, InvalidInput
from accord.fleet import compute_audit, verify_artifact
from accord.policy import Policy

from ._fleet_script import five_agent_chain


def test_a_handoff_reaches_the_receivers_inbox_and_the_bus_and_is_acknowledged(
        acc: Accord) -> None:
    with acc.subscribe(agent="upsell", kinds={"handoff"}) as sub:
        h = acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 80}, customer="c1",
                        trace_id="tr1", via="mcp")
        pushed = sub.get(timeout=5)
    assert pushed is not None and pushed["handoff"]["id"] == h.id
    [waiting] = acc.inbox("upsell")
    assert (waiting.id, waiting.status, waiting.payload) == (h.id, "read", {"score": 80})
    with pytest.raises(Forbidden, match="is for upsell"):
        acc.ack_handoff(h.id, agent="scheduler")
    acked = acc.ack_handoff(h.id, agent="upsell")
    assert acked.status == "acked"
    assert acc.inbox("upsell") == []
    assert [x.id for x in acc.inbox("upsell", include_acked=True)] == [h.id]
    kinds = [e.kind for e in acc.trace("tr1")]
    assert kinds == ["handoff", "handoff_ack"]


def test_artifacts_carry_a_content_hash_the_receiver_can_check_against_the_original(
        acc: Accord) -> None:
    original = b"lead report: score 91, reasons: pricing page x3"
    digest = hashlib.sha256(original).hexdigest()
    h = acc.handoff("lead-scoring", "upsell", "scored-lead", {}, customer="c1",
                    artifacts=[{"uri": "s3://leads/c1.json", "sha256": digest}])
    assert verify_artifact(h.artifacts[0], original)
    assert not verify_artifact(h.artifacts[0], b"lead report: hot lead")  # a lossy summary
    with pytest.raises(InvalidInput, match="64 lowercase hex"):
        acc.handoff("lead-scoring", "upsell", "scored-lead", {},
                    artifacts=[{"id": "x", "sha256": "abc"}])
    with pytest.raises(InvalidInput, match="id or a uri"):
        acc.handoff("lead-scoring", "upsell", "scored-lead", {}, artifacts=[{"sha256": digest}])


def _with_kinds(acc: Accord, kinds: str) -> None:
    text = acc.policy.text.replace("\nsettings:", f"\nhandoff_kinds:\n{kinds}\nsettings:", 1)
    acc.policy = Policy.from_text(text)


def test_a_payload_that_breaks_its_kinds_schema_is_refused_naming_the_field(acc: Accord) -> None:
    _with_kinds(acc, """  scored-lead:
    sla: 4h
    schema:
      type: object
      required: [score]
      additionalProperties: false
      properties: {score: {type: integer, minimum: 0, maximum: 100}}""")
    with pytest.raises(InvalidInput) as err:
        acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 140, "note": "hot"})
    assert err.value.extra["problems"] == [
        "payload: Additional properties are not allowed ('note' was unexpected)",
        "payload.score: 140 is greater than the maximum of 100"]
    with pytest.raises(InvalidInput, match=r"'score' is a required property"):
        acc.handoff("lead-scoring", "upsell", "scored-lead", {})
    assert acc.handoff("lead-scoring", "upsell", "scored-lead", {"score": 88}).kind \
        == "scored-lead"


def test_a_handoff_past_its_sla_is_reported_stuck_until_acknowledged(
        acc: Accord, clock: Any) -> None:
    _with_kinds(acc, "  scored-lead: {sla: 4h}")
    h = acc.handoff("lead-scoring", "churn-guard", "scored-lead", {"score": 12})
    clock.advance(3 * 3600)
    assert compute_audit(acc, sections=("handoffs",))["handoffs"]["stuck"] == []
    clock.advance(2 * 3600)
    report = compute_audit(acc, sections=("handoffs",))["handoffs"]
    assert [s["id"] for s in report["stuck"]] == [h.id]
    assert report["stuck"][0]["overdue_seconds"] == 3600
    assert [u["id"] for u in report["unread"]] == [h.id]
    acc.ack_handoff(h.id, agent="churn-guard")
    report = compute_audit(acc, sections=("handoffs",))["handoffs"]
    assert report["stuck"] == [] and report["unread"] == []


def test_a_person_relaying_one_agents_output_to_another_is_reported_as_a_human_bridge(
        acc: Accord, clock: Any) -> None:
    for i in range(3):
        got = acc.handoff("lead-scoring", "person:bob", "scored-lead", {"score": 70 + i},
                          customer=f"c{i}")
        clock.advance(600)
        acc.handoff("person:bob", "scheduler", "meeting-request", {"from": "bob"},
                    customer=f"c{i}", parent_id=got.id)
    acc.handoff("lead-scoring", "person:eve", "scored-lead", {}, customer="c7")
    [bridge] = compute_audit(acc, sections=("handoffs",))["handoffs"]["human_bridges"]
    assert (bridge["from"], bridge["person"], bridge["to"], bridge["relays"]) == (
        "lead-scoring", "person:bob", "scheduler", 3)


def test_outputs_no_seat_consumes_are_reported(acc: Accord) -> None:
    acc.register_seat({"id": "summarizer", "owner": "ops", "produces": ["daily-digest"]},
                      by="person:ana")
    orphans = compute_audit(acc, sections=("handoffs",))["handoffs"]["orphan_outputs"]
    assert orphans == {"daily-digest": ["summarizer"]}
    acc.retire_seat("scheduler", by="person:ana")
    orphans = compute_audit(acc, sections=("handoffs",))["handoffs"]["orphan_outputs"]
    assert orphans["meeting-request"] == ["upsell"]


def test_a_handoff_about_a_customer_is_in_that_customers_chain_and_trace(
        acc: Accord, clock: Any) -> None:
    script = five_agent_chain(acc, clock)
    entries = acc.trace(script.trace_id)
    handoffs = [e for e in entries if e.kind == "handoff"]
    assert {e.ref for e in handoffs} == {script.ids["scored_lead"], script.ids["meeting_request"]}
    assert all(e.chain == "c1" for e in handoffs)
