"""Bad input is a 4xx problem that names the field, never a 500, on both stores.

Each case below was a 500 (or silently stored) once; the answer must say what was wrong, where
(``where``: a field path, header or parameter) and how to fix it (``hint``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.model import MAX_BODY_BYTES, MAX_JSON_BYTES

from .live_server import Server

PROPOSAL = {"agent": "upsell", "customer": "c1", "channel": "email", "intent": "upsell"}
INT64_MAX = 2**63 - 1


def refused(r: httpx.Response, status: int, where: str) -> dict[str, Any]:
    """``r`` is a problem+json with ``status`` whose ``where`` starts with ``where``."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert str(body.get("where", "")).startswith(where), body
    assert body["detail"]
    return body


def still_serves(s: Server) -> None:
    """One bad request never degrades the next (a pooled connection must stay usable)."""
    with s.http("agent_a") as http:
        for i in range(3):
            r = http.post("/v1/proposals", json={**PROPOSAL, "customer": f"after-{i}"})
            assert r.status_code == 200, r.text


def test_an_empty_idempotency_key_is_refused_naming_the_field(server: Server) -> None:
    body = {**PROPOSAL, "customer": "c-empty-key", "idempotency_key": ""}
    with server.http("agent_a") as http:
        for _ in range(2):
            refused(http.post("/v1/proposals", json=body), 422, "body.idempotency_key")
    still_serves(server)


def test_a_reused_event_id_with_the_same_body_replays_and_a_different_body_is_a_409(
        server: Server) -> None:
    event = {"customer": "c-eid", "type": "ticket_opened", "event_id": "ev-1",
             "at": "2026-11-23T09:00:00Z"}
    with server.http("admin") as http:
        first = http.post("/v1/events", json=event)
        assert first.status_code == 200, first.text
        again = http.post("/v1/events", json=event)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"] == "ev-1"
        events = [e for e in server.service.ledger(limit=10_000)
                  if e.kind == "event" and e.ref == "ev-1"]
        assert len(events) == 1
        clash = http.post("/v1/events", json={**event, "type": "reply"})
        refused(clash, 409, "event_id")
    still_serves(server)


def test_a_batch_with_a_reused_event_id_reports_which_item_and_records_the_others(
        server: Server) -> None:
    def ev(eid: str, kind: str = "reply") -> dict[str, Any]:
        return {"customer": "c-batch", "type": kind, "event_id": eid,
                "at": "2026-11-23T09:00:00Z"}

    with server.http("admin") as http:
        assert http.post("/v1/events", json=ev("b-1")).status_code == 200
        r = http.post("/v1/events:batch",
                      json={"events": [ev("b-2"), ev("b-1", "login"), ev("b-3")]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True, False, True]
    problem = results[1]["problem"]
    assert problem["status"] == 409
    assert problem["where"] == "events.1.event_id"
    still_serves(server)


@pytest.mark.parametrize("value", ['"²"', '"' + "9" * 4300 + '"', '"-1"', '" 1 "x', "W/"])
def test_an_if_match_that_is_not_a_small_version_number_is_a_422(server: Server,
                                                                   value: str) -> None:
    with server.http("admin") as http:
        r = http.patch("/v1/customers/c-im/context", json={"tier": "gold"},
                       headers={"If-Match": value.encode("latin-1")})
    refused(r, 422, "If-Match")


def test_attribution_over_more_than_62_agents_answers_and_only_shapley_is_refused(
        server: Server) -> None:
    with server.http("admin") as http:
        for i in range(64):
            seat = {"id": f"bulk-{i}", "owner": "ops",
                    "mandate": {"intents": ["nurture"], "channels": ["email"]}}
            assert http.post("/v1/agents", json=seat).status_code in (200, 201)
            r = http.post("/v1/proposals", json={"agent": f"bulk-{i}", "customer": f"ca-{i}",
                                                 "channel": "email", "intent": "nurture"})
            assert r.json()["outcome"] == "go", r.text
            assert http.post(f"/v1/touches/{r.json()['touch_id']}/outcome",
                             json={"status": "executed"}).status_code == 200
            assert http.post("/v1/events", json={"customer": f"ca-{i}", "type": "conversion",
                                                 "data": {"value": 10}}).status_code == 200
        for by in ("agent", "agent_set"):
            r = http.get("/v1/attribution", params={"by": by})
            assert r.status_code == 200, r.text
        refused(http.get("/v1/attribution", params={"model": "shapley"}), 422, "model")


NUL_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("post", "/v1/proposals", {**PROPOSAL, "topic": "a\x00b"}, "body.topic"),
    ("post", "/v1/proposals", {**PROPOSAL, "trace_id": "t\x00"}, "body.trace_id"),
    ("post", "/v1/proposals", {**PROPOSAL, "offer": {"product": "p\x00"}}, "body.offer.product"),
    ("post", "/v1/proposals", {**PROPOSAL, "offer": {"note": "x\x00"}}, "body.offer"),
    ("post", "/v1/events", {"customer": "c\x00", "type": "reply"}, "body.customer"),
    ("post", "/v1/events", {"customer": "c", "type": "reply", "source": "s\x00"}, "body.source"),
    ("post", "/v1/events", {"customer": "c", "type": "reply", "data": {"k\x00": 1}}, "body.data"),
    ("post", "/v1/events", {"customer": "c", "type": "reply", "event_id": "\x00"},
     "body.event_id"),
    ("post", "/v1/claims", {"customer": "c", "purpose": "p\x00", "until": "2026-12-01T00:00:00Z",
                            "agent": "upsell"}, "body.purpose"),
    ("patch", "/v1/customers/c-nul/context", {"note": "a\x00"}, "body.note"),
]


@pytest.mark.parametrize(("method", "path", "body", "where"), NUL_BODIES,
                         ids=[w + "@" + p for _, p, _, w in NUL_BODIES])
def test_a_nul_character_in_any_string_is_refused_naming_the_field(
        server: Server, method: str, path: str, body: dict[str, Any], where: str) -> None:
    with server.http("admin") as http:
        r = http.request(method, path, json=body, headers={"If-Match": '"0"'})
    refused(r, 422, where)
    still_serves(server)


@pytest.mark.parametrize(("path", "where"), [
    ("/v1/decisions/d%00x", "path"), ("/v1/customers/c%00/context", "path"),
    ("/v1/traces/t%00", "path"), ("/v1/claims?customer=c%00", "query"),
    ("/v1/seats/a%00", "path"),
])
def test_a_nul_in_a_path_or_query_id_is_refused(server: Server, path: str, where: str) -> None:
    with server.http("admin") as http:
        r = http.request("DELETE" if path.startswith("/v1/claims") else "GET", path)
    refused(r, 422, where)
    still_serves(server)


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/v1/proposals", {**PROPOSAL, "cost": {"tokens": 2**63}}, "body.cost.tokens"),
    ("/v1/proposals", {**PROPOSAL, "offer": {"seats": -(2**63) - 1}}, "body.offer"),
    ("/v1/events", {"customer": "c", "type": "reply", "data": {"n": [2**64]}}, "body.data"),
])
def test_an_integer_outside_64_bits_is_refused_naming_the_field(
        server: Server, path: str, body: dict[str, Any], where: str) -> None:
    with server.http("admin") as http:
        refused(http.post(path, json=body), 422, where)
        r = http.patch("/v1/customers/c-big/context", json={"n": 2**63},
                       headers={"If-Match": '"0"'})
        refused(r, 422, "body.n")
    still_serves(server)


def test_a_body_over_the_request_limit_is_a_413_and_nothing_is_stored(server: Server) -> None:
    huge = "x" * (MAX_BODY_BYTES + 1)
    with server.http("admin") as http:
        r = http.post("/v1/events", json={"customer": "c-huge", "type": "reply",
                                          "data": {"blob": huge}})
        refused(r, 413, "body")
        assert "bytes" in r.json()["detail"]
    assert not [e for e in server.service.ledger(limit=10_000) if e.customer == "c-huge"]
    still_serves(server)


def test_an_event_data_or_context_value_over_the_value_limit_is_a_422(server: Server) -> None:
    big = "x" * (MAX_JSON_BYTES + 1)
    with server.http("admin") as http:
        refused(http.post("/v1/events", json={"customer": "c-big", "type": "reply",
                                              "data": {"blob": big}}), 422, "body.data")
        refused(http.patch("/v1/customers/c-big/context", json={"blob": big},
                           headers={"If-Match": '"0"'}), 422, "body.blob")
    assert not [e for e in server.service.ledger(limit=10_000) if e.customer == "c-big"]


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/v1/proposals", {**PROPOSAL, "at": "0001-01-01T00:00:00Z"}, "body.at"),
    ("/v1/proposals", {**PROPOSAL, "at": "9999-12-31T00:00:00Z"}, "body.at"),
    ("/v1/events", {"customer": "c", "type": "reply", "at": "0001-01-01T00:00:00Z"}, "body.at"),
    ("/v1/claims", {"customer": "c", "purpose": "p", "until": "9999-12-31T00:00:00Z",
                    "agent": "upsell"}, "body.until"),
])
def test_timestamps_outside_the_documented_range_are_refused(
        server: Server, path: str, body: dict[str, Any], where: str) -> None:
    with server.http("admin") as http:
        refused(http.post(path, json=body), 422, where)


@pytest.mark.parametrize(("method", "path", "body", "where"), [
    ("post", "/v1/proposals", {**PROPOSAL, "customer": "_fleet"}, "body.customer"),
    ("post", "/v1/events", {"customer": "_fleet", "type": "reply"}, "body.customer"),
    ("post", "/v1/claims", {"customer": "_x", "purpose": "p", "until": "2026-12-01T00:00:00Z",
                            "agent": "upsell"}, "body.customer"),
    ("patch", "/v1/customers/_fleet/context", {"tier": "gold"}, "customer"),
    ("get", "/v1/customers/_fleet/context", None, "customer"),
    ("delete", "/v1/claims?customer=_fleet&agent=upsell", None, "customer"),
])
def test_customer_ids_starting_with_an_underscore_are_refused_everywhere(
        server: Server, method: str, path: str, body: dict[str, Any] | None,
        where: str) -> None:
    before = len(server.service.ledger(limit=100_000))
    with server.http("admin") as http:
        r = http.request(method, path, json=body, headers={"If-Match": '"0"'})
    problem = refused(r, 422, where)
    assert "_" in problem["detail"]
    assert len(server.service.ledger(limit=100_000)) == before


def test_the_openapi_schema_documents_if_match_on_context_writes(sqlite_server: Server) -> None:
    with sqlite_server.http() as http:
        spec = http.get("/openapi.json").json()
    for method in ("patch", "put"):
        params = spec["paths"]["/v1/customers/{customer}/context"][method]["parameters"]
        assert any(p["in"] == "header" and p["name"] == "If-Match" for p in params), method


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/v1/proposals", "POST"),
    ("POST", "/v1/customers/c1/context", "GET, PUT, PATCH"),
    ("GET", "/v1/claims", "POST, DELETE"),
])
def test_a_405_names_every_allowed_method(sqlite_server: Server, method: str, path: str,
                                          allow: str) -> None:
    with sqlite_server.http("admin") as http:
        r = http.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    refused(r, 405, "method")


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=30), number=st.integers())
def test_any_string_or_integer_is_either_accepted_or_refused_naming_a_field(
        server: Server, text: str, number: int) -> None:
    with server.http("agent_a") as http:
        r = http.post("/v1/proposals", json={**PROPOSAL, "customer": text, "topic": text,
                                             "trace_id": text, "offer": {"n": number}})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert r.json()["where"].startswith("body.")
        r = http.post("/v1/events", json={"customer": "c-any", "type": "reply",
                                          "data": {text: [text, number]}})
        assert r.status_code in (200, 422), r.text
