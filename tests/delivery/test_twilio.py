"""Twilio through its own SDK: outbound to a stand-in for Twilio's API on loopback (Twilio
itself cannot be reached from a test), inbound webhooks signed with Twilio's scheme."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from accord.delivery import Dispatcher
from accord.delivery._config import DeliverySettings
from accord.delivery._twilio import TwilioSender
from accord.policy import Policy
from tests.http.conftest import BACKENDS, store_for
from tests.http.live_server import Running, Server, start

SID, TOKEN, FROM = "AC" + "0" * 32, "twilio-test-auth-token", "+15005550006"
PHONE = "+15550003333"


class FakeTwilio:
    """Twilio's Messages API shape: form-encoded create, basic auth, JSON message resource."""

    def __init__(self) -> None:
        self.created: list[dict[str, str]] = []
        self.status = 201
        self.app = Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json",
                                           self.create, methods=["POST"])])

    async def create(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        if (user, password) != (SID, TOKEN) or request.path_params["sid"] != SID:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401},
                                status_code=401)
        if self.status != 201:
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number",
                                 "status": self.status}, status_code=self.status)
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.created.append(form)
        return JSONResponse({"sid": f"SM{len(self.created):032d}", "status": "queued",
                             "to": form["To"], "from": form["From"], "body": form["Body"]},
                            status_code=201)


@pytest.fixture
def twilio_api() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    with Running(fake.app) as url:
        yield fake, url


@pytest.fixture(params=BACKENDS)
def tw_server(request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
              ) -> Iterator[Server]:
    yield from start(store_for(request.param, tmp_path), policy,
                     delivery=DeliverySettings({}, None, TOKEN))


@pytest.fixture
def sender(twilio_api: tuple[FakeTwilio, str]) -> Iterator[TwilioSender]:
    s = TwilioSender(SID, TOKEN, FROM, api_base=twilio_api[1])
    yield s
    s.close()


def propose(server: Server, customer: str, channel: str = "sms", **extra: Any) -> Any:
    with server.http("admin") as h:
        r = h.post("/v1/proposals", json={"agent": "reengage", "customer": customer,
                                          "channel": channel, "intent": "reactivate", **extra})
    assert r.status_code == 200, r.text
    return r.json()


def twilio_webhook(server: Server, params: dict[str, str], token: str = TOKEN) -> httpx.Response:
    url = f"{server.url}/v1/inbound/twilio"
    signature = RequestValidator(token).compute_signature(url, params)
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})


def test_an_sms_go_is_sent_through_twilios_api_and_its_sid_kept(
        tw_server: Server, twilio_api: tuple[FakeTwilio, str], sender: TwilioSender) -> None:
    d = propose(tw_server, "c-tw1", deliver={"to": PHONE, "text": "We miss you"})
    dispatcher = Dispatcher(tw_server.service, {"sms": sender})
    assert dispatcher.run_once().sent == [d["touch_id"]]
    [created] = twilio_api[0].created
    assert created == {"To": PHONE, "From": FROM, "Body": "We miss you"}
    with tw_server.http("admin") as h:
        [row] = h.get("/v1/outbox", params={"customer": "c-tw1"}).json()
    assert (row["status"], row["sender"], row["ref"]) == ("sent", "twilio", "SM" + "0" * 31 + "1")


def test_a_number_twilio_refuses_is_a_dead_letter(
        tw_server: Server, twilio_api: tuple[FakeTwilio, str], sender: TwilioSender) -> None:
    twilio_api[0].status = 400
    d = propose(tw_server, "c-tw2", deliver={"to": "+1", "text": "x"})
    report = Dispatcher(tw_server.service, {"sms": sender}).run_once()
    assert report.dead == [d["touch_id"]]
    assert tw_server.service.touch(d["touch_id"]).status == "failed"


def test_a_signed_stop_from_twilio_opts_the_number_out_and_a_forged_one_changes_nothing(
        tw_server: Server, twilio_api: tuple[FakeTwilio, str], sender: TwilioSender) -> None:
    propose(tw_server, "c-tw3", deliver={"to": PHONE, "text": "hi"})
    Dispatcher(tw_server.service, {"sms": sender}).run_once()
    stop = {"MessageSid": "SM" + "9" * 32, "From": PHONE, "To": FROM, "Body": "stop"}
    forged = twilio_webhook(tw_server, stop, token="not-the-token")
    assert forged.status_code == 403 and forged.json()["where"] == "X-Twilio-Signature"
    assert "opt_outs" not in tw_server.service.context("c-tw3").fields
    r = twilio_webhook(tw_server, stop)
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == ["opt_out"]
    assert tw_server.service.context("c-tw3").fields["opt_outs"] == ["sms"]
    assert propose(tw_server, "c-tw3", at="2030-01-01T10:00:00Z")["outcome"] == "stop"


def test_an_undelivered_status_callback_is_a_hard_bounce(
        tw_server: Server, twilio_api: tuple[FakeTwilio, str], sender: TwilioSender) -> None:
    propose(tw_server, "c-tw4", deliver={"to": PHONE, "text": "hi"})
    Dispatcher(tw_server.service, {"sms": sender}).run_once()
    r = twilio_webhook(tw_server, {"MessageSid": "SM1", "MessageStatus": "undelivered",
                                   "ErrorCode": "30005", "To": PHONE, "From": FROM})
    assert r.status_code == 200, r.text
    [event] = r.json()["events"]
    assert (event["customer"], event["type"]) == ("c-tw4", "bounce")
    assert tw_server.service.context("c-tw4").fields["opt_outs"] == ["sms"]
