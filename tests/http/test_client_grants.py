"""A seat's grant, asked remotely, answers as the embedded service does: the event types it may
record, the context fields it may read, a context as it may see it; and the parameters only the
in-process service honours (``check_grant``, ``owner``, ``where``) behave as documented."""

from __future__ import annotations

import asyncio

import pytest

from accord import Forbidden, InvalidInput
from accord.client import AsyncClient, Client

from .live_server import Server

GRANT = "    context: {read: [\"*\"], write: [upsell_score]}"
NARROW = "    context: {read: [upsell_score], write: [upsell_score], events: [login, opt_in]}"


def narrow_upsell(server: Server) -> None:
    text = server.service.policy.text.replace(GRANT, NARROW)
    assert text != server.service.policy.text
    server.service.apply_policy(text, by="ops")


def test_a_seats_grant_read_remotely_is_the_embedded_answer(server: Server) -> None:
    svc = server.service
    narrow_upsell(server)
    svc.update_context("gr-1", {"upsell_score": 3, "tier": "gold"}, expected_version=0)
    ctx = svc.context("gr-1")
    with Client(server.url, server.tokens["agent_a"]) as upsell:
        for agent in ("upsell", "churn-guard"):
            assert upsell.event_grant(agent) == svc.event_grant(agent), agent
            assert upsell.readable(agent) == svc.readable(agent), agent
            assert upsell.visible(ctx, agent) == svc.visible(ctx, agent), agent
        assert upsell.event_grant("upsell") == ("login", "opt_in")
        assert upsell.visible(ctx, "upsell").fields == {"upsell_score": 3}
        assert upsell.readable(None) is None and upsell.visible(ctx, None) == ctx
        for call in (lambda a: a.event_grant("nobody"), lambda a: a.readable("nobody")):
            with pytest.raises(Forbidden) as far:
                call(upsell)
            with pytest.raises(Forbidden) as near:
                call(svc)
            assert (far.value.where, far.value.message) == (near.value.where,
                                                            near.value.message)


def test_skipping_the_event_grant_is_refused_remotely_with_where(server: Server) -> None:
    with Client(server.url, server.tokens["admin"]) as admin:
        with pytest.raises(InvalidInput) as err:
            admin.record_event("gr-2", "login", source="upsell", check_grant=False)
        assert err.value.where == "check_grant" and err.value.hint
        assert admin.record_event("gr-2", "login", check_grant=True).customer == "gr-2"
    assert server.service.context("gr-2").version == 1


def test_a_remote_subscription_filters_with_where_as_the_embedded_one_does(
        server: Server) -> None:
    svc = server.service

    def mine(m: dict[str, object]) -> bool:
        return m.get("customer") == "gw-2"

    with Client(server.url, server.tokens["admin"]) as admin, \
            admin.subscribe(kinds={"decision"}, owner="ignored", where=mine) as far, \
            svc.subscribe(kinds={"decision"}, owner="ops", where=mine) as near:
        svc.propose("churn-guard", "gw-1", channel="email", intent="retain")
        wanted = svc.propose("churn-guard", "gw-2", channel="email", intent="retain")
        got = far.get(timeout=15)
        assert got is not None and got["decision"]["id"] == wanted.id
        assert got == near.get(timeout=15)


def test_the_async_client_reads_grants_awaited(server: Server) -> None:
    svc = server.service
    narrow_upsell(server)
    ctx = svc.context("ga-1")

    async def run() -> None:
        async with AsyncClient(server.url, server.tokens["reviewer"]) as acc:
            assert await acc.event_grant("upsell") == svc.event_grant("upsell")
            assert await acc.readable("upsell") == svc.readable("upsell")
            assert await acc.visible(ctx, "upsell") == svc.visible(ctx, "upsell")
            with pytest.raises(InvalidInput):
                await acc.record_event("ga-1", "login", check_grant=False)

    asyncio.run(run())
