"""The ledger-trust methods over HTTP, against a live server on each backend: the feed, signed
checkpoints (signed by the client, so the private key never travels), verification against a
checkpoint, and a customer's export and erasure, each answering as the embedded service does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Forbidden, InvalidInput, NotFound
from accord._errors import LedgerMismatch
from accord.client import AsyncClient, Client
from accord.ledger._checkpoint import Checkpoint, new_key, private_key, public_key
from accord.model import LedgerEntry
from tests.conftest import wait_until
from tests.ledger.test_checkpoint import SCENARIOS, fill

from .live_server import Server


def fed(svc: Any) -> list[LedgerEntry]:
    """Every entry, once the feed serves them all. On PostgreSQL the feed holds an entry back
    while any older transaction on the server is open (docs/storage.md), and tests of other
    databases share the server; once served, an entry stays served."""
    everything = list(svc.iter_ledger())
    wait_until(lambda: svc.ledger_feed(limit=10_000).entries == everything,
               what="the feed to serve every committed entry")
    return everything


@pytest.fixture
def keys() -> tuple[Any, Any]:
    private, public = new_key()
    return private_key(private), public_key(public)


def test_the_remote_ledger_feed_serves_the_pages_the_embedded_one_does(server: Server) -> None:
    svc = server.service
    fill(svc)
    everything = fed(svc)
    with Client(server.url, server.tokens["reviewer"]) as reviewer:
        near, far = svc.ledger_feed(limit=5), reviewer.ledger_feed(limit=5)
        assert far == near and len(far.entries) == 5
        read = list(far.entries)
        while True:
            page = reviewer.ledger_feed(far.cursor, limit=5)
            assert page == svc.ledger_feed(far.cursor, limit=5)
            if not page.entries:
                break
            read += page.entries
            far = page
        assert read == everything
        with pytest.raises(InvalidInput) as err:
            reviewer.ledger_feed("not-a-cursor")
        assert err.value.where == "after" and err.value.hint
        for limit in (0, 10_001):
            with pytest.raises(InvalidInput) as far:
                reviewer.ledger_feed(limit=limit)
            with pytest.raises(InvalidInput) as near:
                svc.ledger_feed(limit=limit)
            assert near.value.where == "limit" and str(far.value.where).endswith("limit")


def test_paging_the_remote_feed_at_any_page_size_reads_every_entry_once(server: Server) -> None:
    svc = server.service
    fill(svc, rounds=3)
    everything = fed(svc)

    @settings(max_examples=8, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(sizes=st.lists(st.integers(1, 7), min_size=1, max_size=4))
    def read_all(sizes: list[int]) -> None:
        with Client(server.url, server.tokens["admin"]) as admin:
            read, cursor, turn = [], None, 0
            while True:
                page = admin.ledger_feed(cursor, limit=sizes[turn % len(sizes)])
                if not page.entries:
                    break
                read += page.entries
                cursor, turn = page.cursor, turn + 1
        assert read == everything

    read_all()


def test_a_checkpoint_signed_by_the_client_verifies_embedded_and_the_reverse(
        server: Server, keys: tuple[Any, Any]) -> None:
    svc, (signer, verifier) = server.service, keys
    fill(svc)
    with Client(server.url, server.tokens["reviewer"]) as reviewer:
        remote = reviewer.checkpoint(signer)
        embedded = svc.checkpoint(signer)
        assert isinstance(remote, Checkpoint)
        assert (remote.heads, remote.root, remote.size, remote.key_id) == (
            embedded.heads, embedded.root, embedded.size, embedded.key_id)
        fill(svc, rounds=1)  # the ledger grows past both: still a consistent extension
        for cp in (remote, embedded):
            near = svc.verify_ledger(checkpoint=cp, key=verifier)
            assert near.ok and reviewer.verify_ledger(checkpoint=cp, key=verifier) == near
        assert reviewer.verify_ledger() == svc.verify_ledger()


@pytest.mark.parametrize("scenario", ["alter", "rewrite", "truncate"])
def test_tampering_after_a_remote_checkpoint_is_reported_remotely_as_embedded(
        server: Server, keys: tuple[Any, Any], scenario: str) -> None:
    svc, (signer, verifier) = server.service, keys
    fill(svc)
    with Client(server.url, server.tokens["admin"]) as admin:
        cp = admin.checkpoint(signer)
        SCENARIOS[scenario](svc)
        report = admin.verify_ledger(checkpoint=cp, key=verifier)
        assert not report.ok and report == svc.verify_ledger(checkpoint=cp, key=verifier)


def test_a_checkpoint_under_another_key_or_without_one_is_refused_as_embedded(
        server: Server, keys: tuple[Any, Any]) -> None:
    svc, signer = server.service, keys[0]
    fill(svc)
    cp = svc.checkpoint(signer)
    other = private_key(new_key()[0]).public_key()
    with Client(server.url, server.tokens["reviewer"]) as reviewer:
        report = reviewer.verify_ledger(checkpoint=cp, key=other)
        assert not report.ok and report == svc.verify_ledger(checkpoint=cp, key=other)
        with pytest.raises(InvalidInput) as far:
            reviewer.verify_ledger(checkpoint=cp)
        with pytest.raises(InvalidInput) as near:
            svc.verify_ledger(checkpoint=cp)
        assert (far.value.where, far.value.message) == (near.value.where, near.value.message)


def test_a_ledger_that_does_not_verify_is_not_signed_remotely(
        server: Server, keys: tuple[Any, Any]) -> None:
    fill(server.service)
    SCENARIOS["alter"](server.service)
    with Client(server.url, server.tokens["admin"]) as admin, \
            pytest.raises(LedgerMismatch) as err:
        admin.checkpoint(keys[0])
    assert err.value.hint and "refusing to sign" in err.value.message


def test_a_private_key_or_a_malformed_checkpoint_sent_to_verify_is_refused_with_where(
        sqlite_server: Server, keys: tuple[Any, Any]) -> None:
    s, (signer, _) = sqlite_server, keys
    fill(s.service, rounds=1)
    cp = json.loads(s.service.checkpoint(signer).to_json())
    pem = signer.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()
    with s.http("reviewer") as http:
        leaked = http.post("/v1/ledger/verify", json={"checkpoint": cp, "key": pem})
        garbled = http.post("/v1/ledger/verify", json={"checkpoint": {**cp, "heads": 7},
                                                       "key": "x"})
        bad_key = http.post("/v1/ledger/verify", json={"checkpoint": cp, "key": "x"})
    for r, where in ((leaked, "key"), (garbled, "checkpoint"), (bad_key, "key")):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["where"] == where and r.json()["hint"]
    assert "private key" in leaked.json()["detail"]


def test_export_and_erasure_over_http_answer_as_the_embedded_ones_do(server: Server) -> None:
    svc = server.service
    for c in ("x-far", "x-near"):
        svc.record_event(c, "login", data={"email": "ann@example.com"})
        svc.update_context(c, {"tier": "gold"}, expected_version=1)
    with Client(server.url, server.tokens["admin"]) as admin:
        far, near = admin.export_customer("x-far"), svc.export_customer("x-far")
        assert {**far, "exported_at": None} == {**near, "exported_at": None}
        assert far["context"]["fields"]["tier"] == "gold"
        erased = admin.erase_customer("x-far", by="ignored: the token's holder is recorded")
        assert erased["by"].startswith("admin") and erased["customer"] == "x-far"
        assert erased["erased"] == svc.erase_customer("x-near", by="ops")["erased"]
        assert admin.export_customer("x-far")["context"]["fields"] == {}
        assert admin.verify_ledger().ok
        for call in (lambda a: a.export_customer("nobody"),
                     lambda a: a.erase_customer("nobody", by="ops")):
            with pytest.raises(NotFound) as err:
                call(admin)
            assert err.value.where == "customer"
    with Client(server.url, server.tokens["reviewer"]) as reviewer:
        with pytest.raises(Forbidden):
            reviewer.export_customer("x-near")
        with pytest.raises(Forbidden):
            reviewer.erase_customer("x-near", by="rita")


def test_the_async_client_offers_the_ledger_trust_methods_awaited(
        server: Server, keys: tuple[Any, Any]) -> None:
    svc, (signer, verifier) = server.service, keys
    fill(svc, rounds=2)
    fed(svc)

    async def run() -> None:
        async with AsyncClient(server.url, server.tokens["admin"]) as acc:
            assert await acc.ledger_feed(limit=4) == svc.ledger_feed(limit=4)
            assert await acc.ledger_heads() == svc.ledger_heads()
            cp = await acc.checkpoint(signer)
            assert svc.verify_ledger(checkpoint=cp, key=verifier).ok
            assert (await acc.verify_ledger(checkpoint=cp, key=verifier)).ok
            exported = await acc.export_customer("c1")
            assert {**exported, "exported_at": None} == {**svc.export_customer("c1"),
                                                         "exported_at": None}
            erased = await acc.erase_customer("c2", by="ops")
            assert erased["customer"] == "c2" and (await acc.verify_ledger()).ok

    asyncio.run(run())
