"""Delivery fixtures: a real SMTP server on loopback, a live Accord server on each backend
whose dispatcher the test runs pass by pass (so nothing waits on a background thread)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.delivery import Dispatcher, SmtpSender
from accord.delivery._config import DeliverySettings
from accord.policy import Policy
from tests.http.conftest import BACKENDS, store_for
from tests.http.live_server import Server, start

from .smtp_sink import Sink, smtp_sink

INBOUND_SECRET = "inbound-test-secret"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path, policy: Policy) -> Iterator[Server]:
    yield from start(store_for(request.param, tmp_path), policy,
                     delivery=DeliverySettings({}, INBOUND_SECRET))


def smtp(sink: Sink) -> SmtpSender:
    return SmtpSender(sink.host, sink.port, sender="news@accord.example",
                      domain="accord.example", security="none")


@pytest.fixture
def dispatcher(server: Server, sink: Sink) -> Iterator[Dispatcher]:
    d = Dispatcher(server.service, {"email": smtp(sink)}, base_url=server.url)
    yield d
    d.close()
