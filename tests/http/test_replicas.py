"""Two `accord serve` replicas on one PostgreSQL decide as one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .live_server import ACCORD, Served, accord_serve, fresh_pg_schema, wait_until

POLICY = Path(__file__).resolve().parents[2] / "src" / "accord" / "templates" / "accord.yaml"
CUSTOMERS = 1000
PER_CUSTOMER = 3

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Replicas:
    urls: list[str]
    token: str
    servers: list[Served]

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """A failure carries both servers' logs: a reset or a 5xx has its cause there."""
        try:
            yield
        except BaseException as exc:
            for s in self.servers:
                exc.add_note(f"--- accord serve at {s.url} ---\n{s.log()[-20000:]}")
            raise


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    db = fresh_pg_schema()
    token = json.loads(subprocess.run([ACCORD, "token", "create", "--db", db, "--admin",
                                       "--json"], check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1])["token"]
    args = ("--db", db, "--policy", str(POLICY), "--max-in-flight", "256")
    with (accord_serve(*args, log_dir=tmp_path) as a,
          accord_serve(*args, log_dir=tmp_path) as b):
        yield Replicas([a.url, b.url], token, [a, b])


async def propose_all(urls: list[str], token: str) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(48)
    limits = httpx.Limits(max_connections=64)
    outcomes: dict[str, list[str]] = {f"rep-{i}": [] for i in range(CUSTOMERS)}
    async with (httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as http,
                asyncio.TaskGroup() as tasks):  # a failure cancels the rest, closes every socket
        async def one(customer: str, n: int) -> None:
            body = {"agent": "email-cadence", "customer": customer, "channel": "email",
                    "intent": "nurture"}
            async with gate:
                for _ in range(20):
                    r = await http.post(f"{urls[n % 2]}/v1/proposals", json=body,
                                        headers={"Idempotency-Key": f"{customer}-{n}"})
                    if r.status_code != 429:
                        break
                    await asyncio.sleep(float(r.headers["retry-after"]))
            assert r.status_code == 200, r.text
            outcomes[customer].append(r.json()["outcome"])

        for c in outcomes:
            for n in range(PER_CUSTOMER):
                tasks.create_task(one(c, n))
    return outcomes


def test_concurrent_proposals_at_both_replicas_give_exactly_one_go_per_customer(
        replicas: Replicas) -> None:
    with replicas.logs_on_failure():
        outcomes = asyncio.run(propose_all(replicas.urls, replicas.token))
    gos = Counter(o.count("go") for o in outcomes.values())
    assert gos == {1: CUSTOMERS}
    assert all(len(o) == PER_CUSTOMER for o in outcomes.values())


def test_an_opt_out_on_one_replica_stops_the_next_proposal_on_the_other(
        replicas: Replicas) -> None:
    (a, b), token = replicas.urls, replicas.token
    headers = {"Authorization": f"Bearer {token}"}
    body = {"agent": "reengage", "customer": "opt-1", "channel": "sms", "intent": "reactivate"}
    r = httpx.post(f"{a}/v1/events", headers=headers, timeout=30,
                   json={"customer": "opt-1", "type": "opt_out", "data": {"channel": "sms"}})
    assert r.status_code == 200
    d = httpx.post(f"{b}/v1/proposals", headers=headers, json=body, timeout=30).json()
    assert d["outcome"] == "stop"
    assert "opted-out" in {x["rule"] for x in d["reasons"]}


def test_a_policy_applied_on_one_replica_is_followed_by_the_other(
        replicas: Replicas) -> None:
    (a, b), token = replicas.urls, replicas.token
    headers = {"Authorization": f"Bearer {token}"}
    text = POLICY.read_text() + "\n# applied at run time\n"
    applied = httpx.post(f"{a}/v1/policy", headers=headers, json={"text": text}, timeout=30)
    assert applied.status_code == 200
    version = applied.json()["version"]
    wait_until(lambda: httpx.get(f"{b}/healthz").json()["policy_version"] == version,
               what="the other replica to follow the policy")
    d = httpx.post(f"{b}/v1/proposals", headers=headers, timeout=30,
                   json={"agent": "upsell", "customer": "pv-1", "channel": "email",
                         "intent": "upsell"}).json()
    assert d["policy_version"] == version


SEATS = [("reengage", "reactivate"), ("email-cadence", "nurture"), ("upsell", "upsell"),
         ("churn-guard", "retain")]


async def act_on_go(urls: list[str], token: str, customers: int) -> dict[str, list[int]]:
    """Every seat proposes to every customer at once, across both replicas; an agent that
    hears go sends its message at that instant, then reports it executed. Returns, per
    customer, the status code of each executed report (one per message delivered)."""
    headers = {"Authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(48)
    delivered: dict[str, list[int]] = {f"fin-{i}": [] for i in range(customers)}

    async def post(http: httpx.AsyncClient, url: str, body: dict[str, object]) -> httpx.Response:
        async with gate:
            for _ in range(20):
                r = await http.post(url, json=body)
                if r.status_code != 429:
                    return r
                await asyncio.sleep(float(r.headers["retry-after"]))
        raise AssertionError(f"{url} stayed overloaded")

    async with (httpx.AsyncClient(headers=headers, timeout=60,
                                  limits=httpx.Limits(max_connections=64)) as http,
                asyncio.TaskGroup() as tasks):
        async def one(customer: str, n: int) -> None:
            agent, intent = SEATS[n]
            url = urls[n % 2]
            r = await post(http, f"{url}/v1/proposals", {"agent": agent, "customer": customer,
                                                         "channel": "email", "intent": intent})
            assert r.status_code == 200, r.text
            d = r.json()
            if d["outcome"] == "go":  # the message is out now; the books follow
                done = await post(http, f"{url}/v1/touches/{d['touch_id']}/outcome",
                                  {"status": "executed"})
                delivered[customer].append(done.status_code)

        for c in delivered:
            for n in range(len(SEATS)):
                tasks.create_task(one(c, n))
    return delivered


def test_agents_acting_at_once_on_two_replicas_never_exceed_the_cap_nor_lose_a_go(
        replicas: Replicas) -> None:
    with replicas.logs_on_failure():
        delivered = asyncio.run(act_on_go(replicas.urls, replicas.token, 200))
    # the policy's daily cap is one message per customer: one delivered each, and every go
    # acted on was still a go when its agent reported it (a revoked touch answers 409)
    assert Counter(len(v) for v in delivered.values()) == {1: 200}
    assert all(v == [200] for v in delivered.values())
