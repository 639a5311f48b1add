"""The async client and the handoff endpoints, end to end over a live server."""

from __future__ import annotations

import asyncio

import pytest

from accord import StaleVersion
from accord.client import AsyncClient, Client

from .live_server import Server


def test_the_async_client_decides_and_raises_like_the_service(server: Server) -> None:
    async def run() -> None:
        async with AsyncClient(server.url, server.tokens["admin"]) as acc:
            d = await acc.propose("churn-guard", "ac-1", channel="email", intent="retain")
            assert d.go and (await acc.decision(d.id)).id == d.id
            ctx = await acc.context("ac-1")
            await acc.update_context("ac-1", {"tier": "gold"}, expected_version=ctx.version)
            with pytest.raises(StaleVersion):
                await acc.update_context("ac-1", {"tier": "vip"},
                                         expected_version=ctx.version)
            e = await acc.record_event("ac-1", "purchase")
            assert e.context_version == ctx.version + 2

    asyncio.run(run())


def test_a_handoff_reaches_the_receivers_inbox_and_is_acknowledged(server: Server) -> None:
    with Client(server.url, server.tokens["admin"]) as admin, \
            Client(server.url, server.tokens["agent_b"]) as churn:
        sent = admin.handoff("lead-scoring", "churn-guard", "scored-lead", {"score": 90},
                             customer="h-1")
        inbox = churn.inbox("churn-guard")
        assert [h["id"] for h in inbox] == [sent["id"]]
        acked = churn.ack_handoff(sent["id"], agent="churn-guard")
        assert acked["acked_at"] is not None
        assert churn.inbox("churn-guard") == []
