"""GET /v1/reports/lift: the lift report over HTTP, for reviewers and admins, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.service._holdout import in_holdout
from tests.http.conftest import BACKENDS, store_for
from tests.http.live_server import Server, start
from tests.lift.test_holdout import holdout_policy


@pytest.fixture(params=BACKENDS)
def held_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from start(store_for(request.param, tmp_path), holdout_policy(share=0.5))


def test_reviewer_reads_lift_with_both_groups_and_an_agent_is_refused(
        held_server: Server) -> None:
    svc = held_server.service
    spec = svc.policy.spec.settings.holdout
    ids = [f"c{i}" for i in range(80)]
    for c in ids:
        svc.propose("churn-guard", c, channel="email", intent="retain")
    for c in ids[::4]:
        svc.record_event(c, "purchase", data={"value": 100})
    held = sum(in_holdout(c, spec) for c in ids)

    with held_server.http("reviewer") as http:
        r = http.get("/v1/reports/lift", params={"since": "1h"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customers"] == {"treated": 80 - held, "holdout": held}
    assert body["holdout"] == {"share": 0.5, "salt": "2026-q4"}
    conversions = body["metrics"][0]
    assert conversions["metric"] == "conversions"
    assert min(held, 80 - held) >= 30 and body["enough_data"]  # fixed ids, fixed salt
    assert conversions["difference"]["low"] <= conversions["difference"]["estimate"]

    with held_server.http("agent_a") as http:
        refused = http.get("/v1/reports/lift")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("params", "where"), [
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-01T00:00:00Z"}, "until"),
    ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
    ({"since": "99999999999d"}, "since"),
    ({"until": "1e400"}, "until"),
])
def test_a_bad_window_is_a_problem_naming_the_parameter(held_server: Server,
                                                        params: dict[str, str],
                                                        where: str) -> None:
    with held_server.http("admin") as http:
        r = http.get("/v1/reports/lift", params=params)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["where"] == where and problem.get("hint")
