"""Seats as records: lifecycle, the kill switch, overlap, orphans, file/registry reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accord import Accord, Conflict, Forbidden, InvalidInput, Policy
from accord.fleet import overlaps

from ._fleet_script import EXAMPLE_POLICY


def test_pausing_a_seat_revokes_its_pending_touches_with_notice_and_stops_its_next_proposal(
        acc: Accord) -> None:
    first = acc.propose("upsell", "c9", channel="email", intent="upsell")
    assert first.go
    with acc.subscribe(agent="upsell", kinds={"revocation"}) as sub:
        change = acc.pause_seat("upsell", by="person:cto", reason="runaway discounts")
        notice = sub.get(timeout=5)
    assert change.seat.status == "paused"
    assert change.revoked == [first.touch_id]
    assert notice is not None and notice["touch_id"] == first.touch_id
    assert "paused by person:cto: runaway discounts" in notice["why"]
    assert acc.touch(first.touch_id).status.value == "revoked"
    nxt = acc.propose("upsell", "c10", channel="email", intent="upsell")
    assert nxt.outcome.value == "stop" and nxt.reasons[0].rule == "seat"
    acc.resume_seat("upsell", by="person:cto")
    assert acc.propose("upsell", "c10", channel="email", intent="upsell").go


def test_a_pause_on_one_replica_stops_the_next_proposal_on_another(
        acc: Accord, tmp_path: Path, clock: Any) -> None:
    other = Accord.open(tmp_path / "accord.db", policy=EXAMPLE_POLICY, clock=clock)
    try:
        assert other.propose("upsell", "c1", channel="email", intent="upsell").go
        acc.pause_seat("upsell", by="person:cto", reason="incident 42")
        late = other.propose("upsell", "c2", channel="email", intent="upsell")
        assert late.outcome.value == "stop" and late.reasons[0].rule == "seat"
    finally:
        other.close()


def test_a_replica_rebuilds_its_seats_when_the_registry_moves(
        acc: Accord, tmp_path: Path, clock: Any) -> None:
    other = Accord.open(tmp_path / "accord.db", policy=EXAMPLE_POLICY, clock=clock)
    try:
        other._refresh_seats()
        assert other.policy.agents["upsell"].status == "active"
        acc.pause_seat("upsell", by="person:cto", reason="incident 42")
        other._refresh_seats()
        assert other.policy.agents["upsell"].status == "paused"
    finally:
        other.close()


def test_every_seat_change_is_in_the_ledger_with_who_made_it(acc: Accord) -> None:
    acc.pause_seat("reengage", by="person:ana", reason="tone review")
    acc.resume_seat("reengage", by="person:ana")
    acc.update_seat("reengage", {"owner": "growth"}, by="person:raj")
    acc.retire_seat("reengage", by="person:raj")
    seats = [e for e in acc.ledger() if e.kind == "seat"]
    assert [(e.agent, e.body["action"], e.body["by"]) for e in seats] == [
        ("reengage", "pause", "person:ana"), ("reengage", "resume", "person:ana"),
        ("reengage", "update", "person:raj"), ("reengage", "retire", "person:raj")]
    assert seats[0].body["reason"] == "tone review"
    assert all(e.chain == "_fleet" for e in seats)
    assert acc.verify_ledger().ok


def test_retiring_a_seat_reports_every_intent_channel_and_kind_left_without_an_owner(
        acc: Accord) -> None:
    change = acc.retire_seat("scheduler", by="person:cto")
    assert change.orphaned.intents == ["schedule"]
    assert change.orphaned.unconsumed_kinds == ["meeting-request"]  # upsell still produces it
    support = acc.retire_seat("support", by="person:cto")
    assert support.orphaned.intents == ["support", "winback"]
    assert support.orphaned.channels == ["in_app"]
    with pytest.raises(Conflict):
        acc.resume_seat("support", by="person:cto")
    assert acc.propose("support", "c1", channel="in_app", intent="support").reasons[0].rule \
        == "seat"


def test_two_seats_sharing_an_intent_on_a_channel_are_reported_unless_precedence_settles_it(
        acc: Accord) -> None:
    assert overlaps(acc.policy) == []
    change = acc.register_seat({"id": "winback-bot", "owner": "growth",
                                "mandate": {"intents": ["winback"], "channels": ["email", "sms"]}},
                               by="person:ana")
    [found] = change.overlaps
    assert set(found.seats) == {"support", "winback-bot"}
    assert found.shared == ["winback@email", "winback@sms"]
    assert not found.settled_by_precedence
    assert "precedence does not settle it" in found.sentence()
    ranked = Policy.from_text(EXAMPLE_POLICY.read_text().replace(
        "precedence: [churn-guard, support,", "precedence: [churn-guard, support, winback-bot,")
        .replace("agents:\n", "agents:\n  - {id: winback-bot, owner: growth, mandate: "
                 "{intents: [winback], channels: [email]}}\n", 1))
    [settled] = overlaps(ranked)
    assert settled.settled_by_precedence and settled.winner == "support"


def test_a_seat_registered_at_run_time_can_act_and_is_owned_by_the_registry(acc: Accord) -> None:
    acc.register_seat({"id": "winback-bot", "owner": "growth",
                       "mandate": {"intents": ["winback"], "channels": ["sms"]}}, by="person:ana")
    assert acc.propose("winback-bot", "c1", channel="sms", intent="winback").go
    [seat] = [s for s in acc.seats() if s.id == "winback-bot"]
    assert seat.origin == "runtime" and not seat.in_file and seat.updated_by == "person:ana"
    with pytest.raises(Conflict):
        acc.register_seat({"id": "upsell", "owner": "x"}, by="person:ana")
    with pytest.raises(InvalidInput, match="not in channels"):
        acc.register_seat({"id": "fax-bot", "owner": "x",
                           "mandate": {"intents": ["nurture"], "channels": ["fax"]}}, by="a")


def test_the_registry_wins_for_status_and_the_file_for_everything_else_on_apply(
        acc: Accord) -> None:
    acc.pause_seat("upsell", by="person:cto", reason="review")
    acc.update_seat("email-cadence", {"owner": "lifecycle"}, by="person:ana")
    assert acc.seat("email-cadence").owner == "lifecycle"
    text = EXAMPLE_POLICY.read_text().replace("owner: sales-ops\n    team: sales\n    mandate: "
                                              "{intents: [upsell]",
                                              "owner: revenue\n    team: sales\n    mandate: "
                                              "{intents: [upsell]")
    acc.policy = Policy.from_text(text)  # what `accord policy apply` does on a new file
    upsell = acc.seat("upsell")
    assert (upsell.owner, upsell.status) == ("revenue", "paused")
    assert acc.seat("email-cadence").owner == "marketing"  # the file wins on apply
    assert acc.propose("upsell", "c1", channel="email", intent="upsell").outcome.value == "stop"


def test_a_seat_removed_from_the_file_is_reported_not_silently_deleted(acc: Accord) -> None:
    acc.pause_seat("reengage", by="person:cto", reason="review")
    text = EXAMPLE_POLICY.read_text()
    start = text.index("  - id: reengage")
    end = text.index("  - id: support")
    acc.policy = Policy.from_text(text[:start] + text[end:]
                                  .replace("email-cadence, reengage]", "email-cadence]"))
    assert acc.seats_removed_from_file() == ["reengage"]
    assert acc.seat("reengage").status == "paused"


def test_only_active_seats_send_handoffs_and_only_declared_kinds(acc: Accord) -> None:
    with pytest.raises(Forbidden, match="does not declare that it produces"):
        acc.handoff("upsell", "scheduler", "scored-lead", {})
    acc.pause_seat("lead-scoring", by="person:cto", reason="bad model")
    with pytest.raises(Forbidden, match="paused"):
        acc.handoff("lead-scoring", "upsell", "scored-lead", {})


def test_decisions_after_a_pause_record_the_file_version_whose_text_the_store_keeps(
        acc: Accord) -> None:
    """A seat change is not a new policy: decisions made after it still name the policy they
    ran under, and that version's text can be read back (docs/api.md: "each decision records
    the policy_version it was made under")."""
    file_version = Policy.from_text(EXAMPLE_POLICY.read_text()).version
    assert acc.propose("upsell", "c1", channel="email", intent="upsell").policy_version \
        == file_version
    acc.pause_seat("reengage", by="person:cto", reason="tone review")
    after = acc.propose("upsell", "c2", channel="email", intent="upsell")
    assert after.go and after.policy_version == file_version
    assert acc.policy.version == file_version
    with acc.store.read() as tx:
        kept = tx.one("SELECT text FROM policies WHERE version = ?", (after.policy_version,))
    assert kept is not None, "the version a decision records is not in the policies table"
    assert Policy.from_text(kept["text"]).version == after.policy_version
