"""The generic HTTP adapter: signed JSON out to the operator's gateway, signed reports back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from accord._signing import sign, verify_signature
from accord.delivery import Dispatcher, HttpSender
from tests.http.live_server import Running, Server

from .conftest import INBOUND_SECRET

GATEWAY_SECRET = "gateway-test-secret"
PHONE = "+15550001111"


class Gateway:
    """The operator's own sender, on loopback: keeps what it is sent, answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.answer = 200
        self.app = Starlette(routes=[Route("/send", self.send, methods=["POST"])])

    async def send(self, request: Request) -> JSONResponse:
        body = await request.body()
        if not verify_signature(GATEWAY_SECRET, body, request.headers["accord-signature"]):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.received.append((orjson.loads(body), dict(request.headers)))
        return JSONResponse({"id": f"gw-{len(self.received)}"}, status_code=self.answer)


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    gw = Gateway()
    with Running(gw.app) as url:
        yield gw, url


@pytest.fixture
def sms_dispatcher(server: Server, gateway: tuple[Gateway, str]) -> Iterator[Dispatcher]:
    d = Dispatcher(server.service, {"sms": HttpSender(gateway[1] + "/send", GATEWAY_SECRET)},
                   base_url=server.url, backoff=60)
    yield d
    d.close()


def propose_sms(server: Server, customer: str, **extra: Any) -> Any:
    body = {"agent": "reengage", "customer": customer, "channel": "sms", "intent": "reactivate",
            **extra}
    with server.http("admin") as h:
        r = h.post("/v1/proposals", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def report(server: Server, payload: dict[str, Any], secret: str = INBOUND_SECRET) -> Any:
    raw = orjson.dumps(payload)
    with server.http() as h:
        return h.post("/v1/inbound/report", content=raw,
                      headers={"Accord-Signature": sign(secret, raw)})


def test_the_gateway_gets_signed_json_keyed_by_the_touch(
        server: Server, gateway: tuple[Gateway, str], sms_dispatcher: Dispatcher) -> None:
    d = propose_sms(server, "c-sms1", deliver={"to": PHONE, "text": "20% off today"})
    assert sms_dispatcher.run_once().sent == [d["touch_id"]]
    [(body, headers)] = gateway[0].received
    assert body["to"] == PHONE and body["text"] == "20% off today"
    assert headers["idempotency-key"] == d["touch_id"]
    assert server.service.touch(d["touch_id"]).status == "executed"


def test_an_inbound_stop_suppresses_sms_only_and_a_forged_one_is_refused(
        server: Server, gateway: tuple[Gateway, str], sms_dispatcher: Dispatcher) -> None:
    propose_sms(server, "c-sms2", deliver={"to": PHONE, "text": "hi"})
    sms_dispatcher.run_once()
    stop = {"type": "reply", "channel": "sms", "address": PHONE, "text": " Stop "}
    forged = report(server, stop, secret="not-the-secret")
    assert forged.status_code == 403 and forged.json()["where"] == "Accord-Signature"
    assert "opt_outs" not in server.service.context("c-sms2").fields
    r = report(server, stop)
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == ["opt_out"]
    assert server.service.context("c-sms2").fields["opt_outs"] == ["sms"]
    later = propose_sms(server, "c-sms2", at="2030-01-01T10:00:00Z")
    assert later["outcome"] == "stop" and "opted-out" in [x["rule"] for x in later["reasons"]]
    # START undoes it
    assert report(server, {**stop, "text": "START"}).json()["events"][0]["type"] == "opt_in"
    assert server.service.context("c-sms2").fields["opt_outs"] == []


def test_a_report_about_an_address_accord_never_sent_to_is_a_404(server: Server) -> None:
    r = report(server, {"type": "reply", "channel": "sms", "address": "+19999999999",
                        "text": "STOP"})
    assert r.status_code == 404 and r.json()["where"] == "address"


def test_a_failing_gateway_is_retried_with_backoff_and_a_refusal_is_dead(
        server: Server, gateway: tuple[Gateway, str], sms_dispatcher: Dispatcher) -> None:
    gw = gateway[0]
    gw.answer = 503
    d = propose_sms(server, "c-sms3", deliver={"to": PHONE, "text": "x"})
    assert sms_dispatcher.run_once().retried == [d["touch_id"]]
    assert sms_dispatcher.run_once().total == 0  # not due again before its backoff
    assert server.service.touch(d["touch_id"]).status == "pending"
    gw.answer = 400
    d2 = propose_sms(server, "c-sms4", deliver={"to": "+15550002222", "text": "x"})
    assert sms_dispatcher.run_once().dead == [d2["touch_id"]]
    assert server.service.touch(d2["touch_id"]).status == "failed"
