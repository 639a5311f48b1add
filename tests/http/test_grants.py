"""Grants hold in every answer: a seat sees only the context fields it may read (answers to its
own writes, its live stream) and records only the event types its grant allows, whatever the
interface."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord
from accord._errors import Forbidden
from accord.model import Context, Provenance

from .live_server import Server
from .test_live_updates import listen_for

UPSELL_GRANT = '    context: {read: ["*"], write: [upsell_score]}'


def grant(server: Server, line: str) -> None:
    """Put a new context grant on the upsell seat (agent_a) through the API."""
    text = server.service.policy.text.replace(UPSELL_GRANT, line)
    assert text != server.service.policy.text
    with server.http("admin") as admin:
        assert admin.post("/v1/policy", json={"text": text}).status_code == 200


NARROW = "    context: {read: [upsell_score], write: [upsell_score, secret_note]}"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_context_write_answers_only_with_the_fields_the_writer_may_read(
        server: Server, method: str) -> None:
    server.service.update_context("g1", {"upsell_score": 1, "churn_risk": 0.9},
                                  expected_version=0)
    grant(server, NARROW)
    body: dict[str, Any] = {"upsell_score": 2, "secret_note": "only written"}
    with server.http("agent_a") as upsell:
        r = upsell.request(method, "/v1/customers/g1/context", json=body,
                           headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == {"upsell_score": 2}
    assert set(r.json()["provenance"]) == {"upsell_score"}
    full = server.service.context("g1").fields
    assert full == {"upsell_score": 2, "secret_note": "only written", "churn_risk": 0.9}


def test_an_agent_stream_names_only_context_fields_it_may_read(server: Server) -> None:
    grant(server, NARROW)
    t, got = listen_for(server, "agent_a", "context")
    svc = server.service
    svc.update_context("g2", {"churn_risk": 0.9}, expected_version=0)  # unreadable: not sent
    svc.update_context("g2", {"churn_risk": 0.1, "upsell_score": 4}, expected_version=1)
    t.join(10)
    assert got["version"] == 2
    assert got["changed"] == ["upsell_score"]


def test_an_agent_may_not_record_opt_in_unless_its_grant_names_it(server: Server) -> None:
    server.service.record_event("g3", "opt_out", data={"channel": "email"}, source="support")
    with server.http("agent_a") as upsell:
        r = upsell.post("/v1/events", json={"customer": "g3", "type": "opt_in",
                                            "data": {"channel": "email"}})
        assert r.status_code == 403, r.text
        assert r.json()["where"] == "type"
        assert "opt_in" in r.json()["detail"] and "context.events" in r.json()["hint"]
        batch = upsell.post("/v1/events:batch", json={"events": [
            {"customer": "g3", "type": "opt_in"}, {"customer": "g3", "type": "reply"}]})
        assert [x["ok"] for x in batch.json()["results"]] == [False, True]
        assert batch.json()["results"][0]["problem"]["status"] == 403
        assert server.service.context("g3").fields["opt_outs"] == ["email"]
        grant(server, '    context: {read: ["*"], write: [upsell_score], events: [opt_in]}')
        r = upsell.post("/v1/events", json={"customer": "g3", "type": "opt_in",
                                            "data": {"channel": "email"}})
    assert r.status_code == 200, r.text
    assert server.service.context("g3").fields["opt_outs"] == []


def test_an_event_grant_bounds_which_reducers_an_agent_can_set_fields_through(
        server: Server) -> None:
    with server.http("agent_a") as upsell:
        r = upsell.post("/v1/events", json={"customer": "g4", "type": "stage_changed",
                                            "data": {"stage": "renewal"}})
        assert r.status_code == 403, r.text
        grant(server, '    context: {read: ["*"], write: [upsell_score], events: [reply]}')
        bought = upsell.post("/v1/events", json={"customer": "g4", "type": "purchase"})
        replied = upsell.post("/v1/events", json={"customer": "g4", "type": "reply"})
    assert bought.status_code == 403 and "reply" in bought.json()["hint"]
    assert replied.status_code == 200
    assert set(server.service.context("g4").fields) == {"last_reply_at"}


def test_an_event_recorded_in_a_seats_name_is_held_to_its_grant_on_every_interface(
        any_acc: Accord) -> None:
    """MCP and A2A record events with the seat as ``source``; the service holds it there."""
    with pytest.raises(Forbidden) as refused:
        any_acc.record_event("g5", "opt_in", source="upsell")
    assert refused.value.where == "type"
    assert any_acc.record_event("g5", "opt_in", source="billing-system").type == "opt_in"
    assert any_acc.record_event("g5", "purchase", source="upsell").type == "purchase"


FIELD = st.sampled_from(["stage", "tier", "churn_risk", "upsell_score", "opt_outs", "note"])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(FIELD, st.integers()), read=st.lists(FIELD, unique=True))
def test_visible_shows_exactly_the_readable_fields_and_their_provenance(
        acc: Accord, fields: dict[str, int], read: list[str]) -> None:
    seat = acc.policy.agents["upsell"]
    narrowed = seat.model_copy(update={"context": seat.context.model_copy(update={"read": read})})
    acc.policy = acc.policy.with_agents(
        [narrowed if a.id == "upsell" else a for a in acc.policy.agents.values()])
    ctx = Context(customer="h", version=1, fields=fields, provenance={
        k: Provenance(by="admin", at="2026-01-01T00:00:00Z", version=1) for k in fields})
    seen = acc.visible(ctx, "upsell")
    assert seen.fields == {k: v for k, v in fields.items() if k in read}
    assert set(seen.provenance) == set(seen.fields)
    assert acc.visible(ctx, None) == ctx


def test_replay_re_records_a_seats_event_that_a_narrower_policy_would_refuse(
        any_acc: Accord) -> None:
    """An event in the ledger is a fact: replaying it under a policy that no longer grants the
    type to its seat re-records it rather than failing the replay."""
    from accord.policy import Policy
    from accord.policy.replay import replay

    text = any_acc.policy.text.replace(UPSELL_GRANT, '    context: {read: ["*"], '
                                       'write: [upsell_score], events: ["*"]}')
    any_acc.apply_policy(text, by="test")
    any_acc.record_event("g6", "opt_out", data={"channel": "email"}, source="upsell")
    any_acc.record_event("g6", "opt_in", data={"channel": "email"}, source="upsell")
    report = replay(any_acc.ledger(), Policy.from_text(any_acc.policy.text.replace(
        '    context: {read: ["*"], write: [upsell_score], events: ["*"]}', UPSELL_GRANT)))
    assert report.as_dict()["skipped"] == []
