"""The dispatcher's pre-send re-check treats a holdout customer as the gate did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.delivery import Dispatcher
from accord.delivery._config import DeliverySettings
from tests.delivery.conftest import INBOUND_SECRET, smtp
from tests.delivery.smtp_sink import Sink, smtp_sink
from tests.http.conftest import BACKENDS, store_for
from tests.http.live_server import Server, start
from tests.lift.test_holdout import first_ids, holdout_policy

DELIVER = {"subject": "We miss you", "text": "Come back."}


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from start(store_for(request.param, tmp_path), holdout_policy(),
                     delivery=DeliverySettings({}, INBOUND_SECRET))


def test_a_purchase_before_the_send_stops_a_treated_reengagement_but_not_a_holdout_one(
        server: Server, sink: Sink) -> None:
    svc = server.service
    (control,) = first_ids(True, svc.policy)
    (treated,) = first_ids(False, svc.policy)
    goes = {c: svc.propose("reengage", c, channel="email", intent="reactivate",
                           deliver={**DELIVER, "to": f"{c}@example.com"}) for c in
            (control, treated)}
    assert all(d.go for d in goes.values())
    # as if the purchase had reached the context without the revocation pass
    for c in (control, treated):
        with svc.store.lock(c) as tx:
            row = tx.customer()
            row.fields["last_purchase_at"] = svc.clock()
            tx.save_customer(row)
    dispatcher = Dispatcher(svc, {"email": smtp(sink)}, base_url=server.url)
    try:
        report = dispatcher.run_once()
    finally:
        dispatcher.close()
    assert report.sent == [goes[control].touch_id]
    assert report.cancelled == [goes[treated].touch_id]
    assert len(sink.to(f"{control}@example.com")) == 1 and sink.to(f"{treated}@example.com") == []
