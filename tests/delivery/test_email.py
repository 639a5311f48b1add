"""A go with delivery reaches a real SMTP server, and what comes back stops every agent."""

from __future__ import annotations

import re
from typing import Any

import httpx

from accord._signing import sign
from accord.delivery import Dispatcher
from tests.http.live_server import Server

from .conftest import INBOUND_SECRET
from .smtp_sink import Sink

DELIVER = {"to": "ada@example.com", "subject": "We miss you", "text": "Come back, Ada."}


def events(server: Server, customer: str, type: str) -> list[dict[str, Any]]:
    """The customer's recorded events of ``type``, read back from the ledger."""
    return [e.body for e in server.service.ledger()
            if e.kind == "event" and e.customer == customer and e.body["type"] == type]


def propose(server: Server, role: str, agent: str, customer: str, **extra: Any) -> Any:
    body = {"agent": agent, "customer": customer, "channel": "email", "intent": extra.pop(
        "intent", "upsell" if agent == "upsell" else "retain"), **extra}
    with server.http(role) as h:
        r = h.post("/v1/proposals", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_delivered_go_arrives_with_its_touch_id_and_one_click_unsubscribe(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    d = propose(server, "agent_a", "upsell", "c-ada", deliver=DELIVER)
    assert d["outcome"] == "go"
    report = dispatcher.run_once()
    assert report.sent == [d["touch_id"]]
    [msg] = sink.to("ada@example.com")
    assert msg["Message-ID"] == f"<{d['touch_id']}@accord.example>"
    assert msg["Subject"] == "We miss you"
    assert msg.get_content().strip() == "Come back, Ada."
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.+)>", msg["List-Unsubscribe"])
    assert link and link.group(1).startswith(f"{server.url}/v1/unsubscribe/")
    # the dispatcher reported the outcome itself: the books are right without the agent
    assert server.service.touch(d["touch_id"]).status == "executed"
    assert dispatcher.run_once().total == 0  # sent once, never again


def test_one_click_unsubscribe_stops_the_next_proposal_of_every_agent(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    d = propose(server, "agent_a", "upsell", "c-bo", deliver={**DELIVER, "to": "bo@example.com"})
    dispatcher.run_once()
    [msg] = sink.to("bo@example.com")
    url = msg["List-Unsubscribe"].strip("<>")
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", with no credentials
    for _ in range(2):  # a second click changes nothing
        r = httpx.post(url, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
    opt_outs = events(server, "c-bo", "opt_out")
    assert len(opt_outs) == 1 and opt_outs[0]["data"]["touch_id"] == d["touch_id"]
    # GET (what link scanners do) shows a button and records nothing
    assert httpx.get(url).status_code == 200
    later = propose(server, "agent_b", "churn-guard", "c-bo", at="2030-01-01T10:00:00Z")
    assert later["outcome"] == "stop"
    assert "opted-out" in [r["rule"] for r in later["reasons"]]


def test_a_forged_unsubscribe_link_is_refused_and_records_nothing(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    propose(server, "agent_a", "upsell", "c-cy", deliver={**DELIVER, "to": "cy@example.com"})
    dispatcher.run_once()
    url = sink.to("cy@example.com")[0]["List-Unsubscribe"].strip("<>")
    _body, _, mac = url.rsplit("/", 1)[1].partition(".")
    forged = url.replace(mac, ("A" if mac[0] != "A" else "B") + mac[1:])
    r = httpx.post(forged, content=b"List-Unsubscribe=One-Click")
    assert r.status_code == 403
    assert r.json()["where"] == "token"
    assert events(server, "c-cy", "opt_out") == []


def test_a_revocation_between_decision_and_send_prevents_the_send(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    d = propose(server, "agent_a", "upsell", "c-di", deliver={**DELIVER, "to": "di@example.com"})
    server.service.record_event("c-di", "opt_out", data={"channel": "email"})
    with server.http("admin") as h:  # cancelled in the revocation's own transaction
        [row] = h.get("/v1/outbox", params={"customer": "c-di"}).json()
    assert row["status"] == "cancelled" and "opt_out" in row["last_error"]
    report = dispatcher.run_once()
    assert report.sent == [] and d["touch_id"] not in report.sent
    assert sink.to("di@example.com") == []
    assert server.service.touch(d["touch_id"]).status == "revoked"


def test_a_context_change_the_send_time_check_sees_stops_the_send(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    """The pre-send re-check runs the policy's context rules itself, not only the touch's
    status: a write that slipped past revocation is still caught before sending."""
    d = propose(server, "agent_a", "upsell", "c-ed", deliver={**DELIVER, "to": "ed@example.com"})
    svc = server.service
    with svc.store.lock("c-ed") as tx:  # as if a write had skipped the revocation pass
        row = tx.customer()
        row.fields["opt_outs"] = ["all"]
        tx.save_customer(row)
    report = dispatcher.run_once()
    assert report.cancelled == [d["touch_id"]]
    assert sink.to("ed@example.com") == []
    assert svc.touch(d["touch_id"]).status == "cancelled"


def test_a_refused_recipient_is_dead_lettered_and_the_touch_failed(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    sink.refuse.add("nobody@example.com")
    d = propose(server, "agent_a", "upsell", "c-fy",
                deliver={**DELIVER, "to": "nobody@example.com"})
    report = dispatcher.run_once()
    assert report.dead == [d["touch_id"]]
    assert server.service.touch(d["touch_id"]).status == "failed"
    with server.http("agent_a") as h:
        [row] = h.get("/v1/outbox", params={"status": "dead"}).json()
    assert row["id"] == d["touch_id"] and "refused" in row["last_error"]
    with server.http("agent_b") as h:  # another agent does not see it
        assert h.get("/v1/outbox", params={"status": "dead"}).json() == []
        assert h.get("/v1/outbox/summary").status_code == 403
    with server.http("reviewer") as h:
        summary = h.get("/v1/outbox/summary").json()
    assert {"channel": "email", "sender": "smtp", "status": "dead", "n": 1} in summary["counts"]


def test_a_dsn_hard_bounce_suppresses_email_for_every_agent(
        server: Server, sink: Sink, dispatcher: Dispatcher) -> None:
    d = propose(server, "agent_a", "upsell", "c-gi", deliver={**DELIVER, "to": "gone@example.com"})
    dispatcher.run_once()
    with open("tests/delivery/reports/hard_bounce.eml", "rb") as f:
        raw = f.read().replace(b"t_0123456789abcdef", d["touch_id"].encode())
    with server.http() as h:
        forged = h.post("/v1/inbound/email", content=raw,
                        headers={"Accord-Signature": sign("wrong-secret", raw)})
        assert forged.status_code == 403
        r = h.post("/v1/inbound/email", content=raw,
                   headers={"Accord-Signature": sign(INBOUND_SECRET, raw)})
    assert r.status_code == 200, r.text
    assert [(e["customer"], e["type"]) for e in r.json()["events"]] == [("c-gi", "bounce")]
    assert "email" in server.service.context("c-gi").fields["opt_outs"]
    later = propose(server, "agent_b", "churn-guard", "c-gi", at="2030-01-01T10:00:00Z")
    assert later["outcome"] == "stop"


def test_a_soft_bounce_suppresses_nothing(server: Server, sink: Sink,
                                          dispatcher: Dispatcher) -> None:
    d = propose(server, "agent_a", "upsell", "c-ha", deliver={**DELIVER, "to": "full@example.com"})
    dispatcher.run_once()
    with open("tests/delivery/reports/soft_bounce.eml", "rb") as f:
        raw = f.read().replace(b"t_feedfacefeedface", d["touch_id"].encode())
    with server.http() as h:
        r = h.post("/v1/inbound/email", content=raw,
                   headers={"Accord-Signature": sign(INBOUND_SECRET, raw)})
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == ["bounce"]  # the delay is no event
    assert "opt_outs" not in server.service.context("c-ha").fields


def test_accord_serve_sends_in_the_background_with_senders_from_the_environment(
        tmp_path: Any, policy: Any, sink: Sink, monkeypatch: Any) -> None:
    from tests.conftest import wait_until
    from tests.http.live_server import start

    monkeypatch.setenv("ACCORD_SMTP_URL", f"smtp://{sink.host}:{sink.port}"
                                          "?from=news@accord.example&security=none")
    running = start(str(tmp_path / "bg.db"), policy)
    server = next(running)
    try:
        d = propose(server, "agent_a", "upsell", "c-bg", deliver={**DELIVER, "to": "bg@x.org"})
        wait_until(lambda: sink.to("bg@x.org"), what="the background dispatcher to send")
        wait_until(lambda: server.service.touch(d["touch_id"]).status == "executed",
                   what="the dispatcher to report the outcome")
    finally:
        running.close()


def test_accord_inbound_email_records_a_bounce_from_standard_input(
        server: Server, sink: Sink, dispatcher: Dispatcher, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from accord.cli import main
    from tests.conftest import EXAMPLE_POLICY

    d = propose(server, "agent_a", "upsell", "c-in", deliver={**DELIVER, "to": "gone@example.com"})
    dispatcher.run_once()
    with open("tests/delivery/reports/hard_bounce.eml", "rb") as f:
        raw = f.read().replace(b"t_0123456789abcdef", d["touch_id"].encode())
    r = CliRunner().invoke(main, ["inbound", "email", "--db", server.service.store.url,
                                  "--policy", str(EXAMPLE_POLICY)], input=raw)
    assert r.exit_code == 0, r.output
    assert "c-in: bounce" in r.output
    assert "email" in server.service.context("c-in").fields["opt_outs"]


def test_a_sender_rate_holds_across_two_dispatchers_sharing_the_store(
        server: Server, sink: Sink) -> None:
    """Two dispatchers (as two replicas) with a rate of 2 sends/s on one sender: in one second
    of their clock at most 2 sends in total; the rest wait, queued, and go later."""
    from tests.conftest import Clock

    from .conftest import smtp

    svc = server.service
    clock = Clock(1_900_000_000.0)
    svc.clock = clock
    ids = [propose(server, "agent_a", "upsell", f"c-rate{i}",
                   at=clock.now, deliver={**DELIVER, "to": f"r{i}@example.com"})["touch_id"]
           for i in range(6)]
    a, b = (Dispatcher(svc, {"email": smtp(sink)}, rates={"smtp": 2}) for _ in range(2))
    try:
        first = a.run_once()
        second = b.run_once()
        assert len(first.sent) + len(second.sent) == 2
        assert len(first.throttled) + len(second.throttled) == 4
        clock.advance(1.0)  # one more second: two more sends, whoever runs
        again = b.run_once().sent + a.run_once().sent
        assert len(again) == 2
        clock.advance(5.0)
        rest = a.run_once().sent + b.run_once().sent
        assert sorted([*first.sent, *second.sent, *again, *rest]) == sorted(ids)
        assert len(sink.message_ids()) == 6
    finally:
        a.close()
        b.close()
