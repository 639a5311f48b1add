"""A2A: the a2a-sdk client discovers Accord by its card and delegates through it, against a real
loopback server."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, create_client
from a2a.client.errors import A2AClientError
from a2a.helpers import get_data_parts, new_data_message
from a2a.server.context import ServerCallContext
from a2a.types.a2a_pb2 import (
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError, TaskNotFoundError
from google.protobuf.json_format import MessageToJson
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from accord import Accord
from accord._errors import AccordError
from accord.ledger import canonical
from accord.policy import Policy
from accord.protocols import a2a
from accord.protocols._a2a_access import MAX_REQUEST_BYTES, SeatTasks, _Seat

from .loopback_server import Loopback, serve


@asynccontextmanager
async def a2a_client(url: str, token: str | None) -> AsyncIterator[Client]:
    """The a2a-sdk client, found by Accord's card, sending ``token`` as its bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        yield await create_client(card, client_config=ClientConfig(streaming=False,
                                                                   httpx_client=http))


async def send_with(client: Client, data: dict[str, Any], context_id: str) -> Task:
    message = new_data_message(data, role=Role.ROLE_USER, context_id=context_id)
    tasks = [r.task async for r in client.send_message(SendMessageRequest(message=message))
             if r.HasField("task")]
    assert len(tasks) == 1
    return tasks[0]


async def send(url: str, data: dict[str, Any], context_id: str, token: str) -> Task:
    async with a2a_client(url, token) as client:
        task = await send_with(client, data, context_id)
        fetched = await client.get_task(GetTaskRequest(id=task.id))
        assert fetched.status.state == task.status.state
        return fetched


def artifact(task: Task, name: str) -> dict[str, Any]:
    found = [a for a in task.artifacts if a.name == name]
    assert len(found) == 1, [a.name for a in task.artifacts]
    data = get_data_parts(found[0].parts)[0]
    assert isinstance(data, dict)
    return data


def test_the_agent_card_names_accords_skills_and_its_json_rpc_endpoint(
        loopback: Loopback) -> None:
    async def main() -> Any:
        async with httpx.AsyncClient() as http:
            return await A2ACardResolver(http, loopback.url).get_agent_card()

    card = anyio.run(main)
    assert card.name == "Accord"
    assert {s.id for s in card.skills} == {"gate", "context", "delegate"}
    assert card.supported_interfaces[0].url == f"{loopback.url}/a2a"
    raw = httpx.get(f"{loopback.url}/.well-known/agent-card.json").json()
    assert raw["skills"][0]["id"] == "gate"
    assert card.security_schemes["agent_token"].http_auth_security_scheme.scheme == "bearer"
    assert "agent_token" in card.security_requirements[0].schemes


def test_a_proposal_message_passes_the_gate_and_the_decision_is_an_artifact(
        loopback: Loopback) -> None:
    ctx = str(uuid.uuid4())
    task = anyio.run(send, loopback.url, {"propose": {
        "agent": "upsell", "customer": "a1", "channel": "email", "intent": "upsell",
        "offer": {"product": "pro", "discount_pct": 10}}}, ctx, loopback.token("upsell"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    decision = artifact(task, "decision")
    assert decision["outcome"] == "go"
    stored = loopback.service.decision(decision["decision_id"])
    assert stored.proposal.trace_id == ctx == task.context_id


def test_a_delegation_its_handoff_and_the_gated_action_share_one_trace(
        loopback: Loopback) -> None:
    ctx = str(uuid.uuid4())
    delegate = {"delegate": {"from": "upsell", "to": "scheduler", "kind": "meeting-request",
                             "customer": "a2", "payload": {"slot": "tuesday 10:00"}}}
    first = anyio.run(send, loopback.url, delegate, ctx, loopback.token("upsell"))
    assert first.status.state == TaskState.TASK_STATE_COMPLETED
    handoff = artifact(first, "handoff")
    assert handoff["receiver"] == "scheduler" and handoff["via"] == "a2a"
    part = first.history[0].parts[0]
    digest = hashlib.sha256(canonical(get_data_parts([part])[0])).hexdigest()
    assert handoff["artifacts"][0]["sha256"] == digest

    inbox = loopback.service.inbox("scheduler")
    assert [h.id for h in inbox] == [handoff["id"]]

    second = anyio.run(send, loopback.url, {"propose": {
        "agent": "scheduler", "customer": "a2", "channel": "email", "intent": "schedule",
        "action": "invite", "parent_id": handoff["id"]}}, ctx, loopback.token("scheduler"))
    decision = artifact(second, "decision")
    assert decision["outcome"] == "go"

    chain = loopback.service.trace(ctx)
    kinds = [(e.kind, e.ref) for e in chain]
    assert ("handoff", handoff["id"]) in kinds
    assert ("decision", decision["decision_id"]) in kinds
    assert [k for k, _ in kinds].index("handoff") < [k for k, _ in kinds].index("decision")
    with loopback.service.store.read() as tx:
        rows = tx.rows("SELECT agent FROM interfaces WHERE protocol = 'a2a' ORDER BY agent")
    assert [r["agent"] for r in rows] == ["scheduler", "upsell"]


def test_a_message_accord_cannot_act_on_fails_the_task_with_the_reason(
        loopback: Loopback) -> None:
    task = anyio.run(send, loopback.url, {"propose": {
        "agent": "upsell", "customer": "a3", "channel": "carrier-pigeon", "intent": "upsell"}},
        str(uuid.uuid4()), loopback.token("upsell"))
    decision = artifact(task, "decision")
    assert decision["outcome"] == "stop"   # an unknown channel is the gate's to refuse
    bad = anyio.run(send, loopback.url, {"hello": "there"}, str(uuid.uuid4()),
                    loopback.token("upsell"))
    assert bad.status.state == TaskState.TASK_STATE_FAILED
    assert "delegate" in artifact(bad, "error")["hint"]


def test_the_pre_1_0_json_rpc_methods_answer(loopback: Loopback) -> None:
    auth = {"Authorization": f"Bearer {loopback.token('upsell')}"}
    msg = {"role": "user", "messageId": str(uuid.uuid4()), "kind": "message",
           "parts": [{"kind": "data", "data": {"context": {"agent": "upsell",
                                                           "customer": "a4"}}}]}
    r = httpx.post(f"{loopback.url}/a2a", json={"jsonrpc": "2.0", "id": 1,
                                               "method": "message/send",
                                               "params": {"message": msg}}, headers=auth)
    result = r.json()["result"]
    assert result["status"]["state"] == "completed"
    r = httpx.post(f"{loopback.url}/a2a", json={"jsonrpc": "2.0", "id": 2,
                                               "method": "tasks/get",
                                               "params": {"id": result["id"]}},
                   headers=auth)
    assert r.json()["result"]["artifacts"][0]["name"] == "context"


V1_METHODS = ["SendMessage", "SendStreamingMessage", "GetTask", "ListTasks", "CancelTask",
              "SubscribeToTask", "CreateTaskPushNotificationConfig",
              "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
              "DeleteTaskPushNotificationConfig", "GetExtendedAgentCard"]
V0_3_METHODS = ["message/send", "message/stream", "tasks/get", "tasks/cancel",
                "tasks/resubscribe", "tasks/pushNotificationConfig/set",
                "tasks/pushNotificationConfig/get", "tasks/pushNotificationConfig/list",
                "tasks/pushNotificationConfig/delete", "agent/getAuthenticatedExtendedCard"]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.exc_info or "Traceback" in r.getMessage()]


def test_every_a2a_method_without_an_agents_token_is_refused_and_nothing_is_kept(
        loopback: Loopback, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    owned = anyio.run(send, loopback.url, {"context": {"customer": "u1"}}, "u1",
                      loopback.token("upsell"))
    params = {"id": owned.id, "message": {"role": "user", "messageId": "m1", "kind": "message",
                                          "parts": [{"kind": "data", "data": {
                                              "context": {"customer": "u1"}}}]}}
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Basic {loopback.token('upsell')}"}):
        for i, method in enumerate(V1_METHODS + V0_3_METHODS):
            r = httpx.post(f"{loopback.url}/a2a", headers=headers, timeout=30, json={
                "jsonrpc": "2.0", "id": i, "method": method, "params": params})
            assert r.status_code == 401, (method, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            error = r.json()["error"]
            assert r.json()["id"] == i
            assert "agent's bearer token" in error["message"]
            assert error["data"]["where"] == "Authorization"
            assert "accord token create" in error["data"]["hint"]
            assert "result" not in r.json()
    assert loopback.tasks is not None and len(loopback.tasks) == 1
    assert no_tracebacks(caplog) == []


def test_the_a2a_sdk_client_without_a_token_cannot_send_list_or_get(loopback: Loopback) -> None:
    owned = anyio.run(send, loopback.url, {"context": {"customer": "u2"}}, "u2",
                      loopback.token("upsell"))

    async def main() -> None:
        async with a2a_client(loopback.url, None) as client:
            with pytest.raises(A2AClientError, match="401"):
                await send_with(client, {"context": {"customer": "u2"}}, "u2")
            with pytest.raises(A2AClientError, match="401"):
                await client.list_tasks(ListTasksRequest())
            with pytest.raises(A2AClientError, match="401"):
                await client.get_task(GetTaskRequest(id=owned.id))

    anyio.run(main)


def test_a_seat_cannot_list_or_get_another_seats_task(loopback: Loopback) -> None:
    mine = anyio.run(send, loopback.url, {"context": {"customer": "o1"}}, "o1",
                     loopback.token("upsell"))

    async def main() -> None:
        async with a2a_client(loopback.url, loopback.token("scheduler")) as client:
            assert list((await client.list_tasks(ListTasksRequest())).tasks) == []
            with pytest.raises(TaskNotFoundError):
                await client.get_task(GetTaskRequest(id=mine.id))
        async with a2a_client(loopback.url, loopback.token("upsell")) as client:
            assert [t.id for t in (await client.list_tasks(ListTasksRequest())).tasks] == [
                mine.id]

    anyio.run(main)
    r = httpx.post(f"{loopback.url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get",
                                               "params": {"id": mine.id}},
                   headers={"Authorization": f"Bearer {loopback.token('scheduler')}"})
    assert "result" not in r.json()
    assert r.json()["error"]["code"] == -32001   # TaskNotFound, as for an id never used


def test_a_message_over_the_size_limit_is_refused_with_a_json_rpc_error(
        loopback: Loopback, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    payload = {"blob": "x" * (MAX_REQUEST_BYTES + 1)}

    async def main() -> None:
        async with a2a_client(loopback.url, loopback.token("upsell")) as client:
            with pytest.raises(A2AError, match=f"larger than {MAX_REQUEST_BYTES} bytes"):
                await send_with(client, {"delegate": {
                    "to": "scheduler", "kind": "meeting-request", "payload": payload}}, "big")

    anyio.run(main)
    assert loopback.tasks is not None and len(loopback.tasks) == 0
    assert loopback.service.inbox("scheduler") == []
    assert no_tracebacks(caplog) == []


def test_stored_tasks_stay_within_the_bounds_newest_kept(tmp_path: Path, policy: Policy) -> None:
    service = Accord.open(tmp_path / "accord.db", policy=policy)
    tasks = SeatTasks(per_seat=3, total=5)
    shell = Starlette()
    gen = serve(shell)
    url = next(gen)
    server = Loopback(url, service, tasks=tasks)
    shell.router.routes.extend(a2a.routes(service, url, resolve_agent=server.agent, tasks=tasks))

    async def main() -> None:
        sent: dict[str, list[str]] = {"upsell": [], "scheduler": []}
        for i in range(4):
            for agent in sent:
                async with a2a_client(url, server.token(agent)) as client:
                    task = await send_with(client, {"context": {"customer": f"b{i}"}}, f"b{i}")
                    sent[agent].append(task.id)
                assert len(tasks) <= 5
        async with a2a_client(url, server.token("scheduler")) as client:
            kept = {t.id for t in (await client.list_tasks(ListTasksRequest())).tasks}
            assert kept == set(sent["scheduler"][-3:])
            with pytest.raises(TaskNotFoundError):
                await client.get_task(GetTaskRequest(id=sent["scheduler"][0]))
        async with a2a_client(url, server.token("upsell")) as client:
            kept = {t.id for t in (await client.list_tasks(ListTasksRequest())).tasks}
            assert kept == set(sent["upsell"][-2:])   # 5 in all: upsell's third-newest went

    try:
        anyio.run(main)
    finally:
        for _ in gen:
            pass
        service.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abc"), max_size=40), st.integers(1, 4), st.integers(1, 8))
def test_the_task_store_keeps_each_seats_newest_tasks_within_both_bounds(
        creators: list[str], per_seat: int, total: int) -> None:
    store = SeatTasks(per_seat=per_seat, total=total)

    async def main() -> None:
        for i, seat in enumerate(creators):
            ctx = ServerCallContext(user=_Seat(seat))
            await store.save(Task(id=f"t{i}", context_id="c"), ctx)
            await store.save(Task(id=f"t{i}", context_id="c"), ctx)   # updates add nothing
            assert len(store) <= total
        expected: dict[str, set[str]] = {seat: set() for seat in "abc"}
        for i in reversed(range(len(creators))):      # newest first, as the bounds keep them
            seat = creators[i]
            if sum(map(len, expected.values())) < total and len(expected[seat]) < per_seat:
                expected[seat].add(f"t{i}")
        for seat in "abc":
            ctx = ServerCallContext(user=_Seat(seat))
            listed = await store.list(ListTasksRequest(page_size=100), ctx)
            assert {t.id for t in listed.tasks} == expected[seat]

    anyio.run(main)


def test_a_context_artifact_shows_only_fields_inside_the_readers_grant(
        loopback: Loopback) -> None:
    svc = loopback.service
    svc.register_seat({"id": "survey", "owner": "research",
                       "mandate": {"intents": ["nurture"], "channels": ["email"]},
                       "context": {"read": ["stage"]}}, by="ops")
    svc.record_event("g1", "stage_changed", data={"stage": "renewal"})
    svc.update_context("g1", {"churn_risk": 0.9}, expected_version=svc.context("g1").version,
                       agent="churn-guard")
    task = anyio.run(send, loopback.url, {"context": {"customer": "g1"}}, "g1",
                     loopback.token("survey"))
    seen = artifact(task, "context")
    assert seen["fields"] == {"stage": "renewal"}
    assert set(seen["provenance"]) <= {"stage"}
    assert "churn_risk" not in MessageToJson(task)
    full = anyio.run(send, loopback.url, {"context": {"customer": "g1"}}, "g1",
                     loopback.token("upsell"))
    assert artifact(full, "context")["fields"]["churn_risk"] == 0.9


def test_a_reviewer_or_admin_token_is_refused_with_403_naming_the_token_needed(
        loopback: Loopback, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for token in ("tok-reviewer", "tok-admin"):
        r = httpx.post(f"{loopback.url}/a2a", headers={"Authorization": f"Bearer {token}"},
                       json={"jsonrpc": "2.0", "id": 7, "method": "ListTasks", "params": {}})
        assert r.status_code == 403
        error = r.json()["error"]
        assert error["code"] == -32051
        assert "does not act as an agent" in error["message"]
        assert "accord token create --agent" in error["data"]["hint"]
    assert no_tracebacks(caplog) == []


def test_a_proposal_part_takes_value_on_defer_deadline_and_accept_as_mcp_does(
        loopback: Loopback) -> None:
    svc = loopback.service
    svc.record_event("k1", "ticket_opened")  # holds outbound proposals for 48 h
    kept = artifact(anyio.run(send, loopback.url, {"propose": {
        "customer": "k1", "channel": "email", "intent": "retain", "value": 250,
        "on_defer": "reschedule", "deadline": "3d"}}, str(uuid.uuid4()),
        loopback.token("churn-guard")), "decision")
    assert kept["outcome"] == "defer" and kept["scheduled_id"]
    held = svc.scheduled(kept["scheduled_id"])
    assert held.status == "waiting" and held.decisions == [kept["decision_id"]]
    assert held.proposal.value == 250.0 and held.deadline.timestamp() > svc.clock() + 2 * 86400

    svc.record_event("k2", "opt_out", data={"channel": "email"})
    moved = artifact(anyio.run(send, loopback.url, {"propose": {
        "customer": "k2", "channel": "email", "intent": "reactivate", "accept": ["channel"]}},
        str(uuid.uuid4()), loopback.token("reengage")), "decision")
    assert moved["outcome"] == "go" and moved["applied"] == {"channel": "sms"}
    assert svc.touch(moved["touch_id"]).channel == "sms"


@pytest.mark.parametrize("bad", [{"on_defer": "later"}, {"accept": ["price"]},
                                 {"accept": "offer"}, {"value": "a lot"},
                                 {"on_defer": "reschedule", "deadline": "soon"}])
def test_a_bad_proposal_field_fails_the_task_with_the_problem_http_answers(
        loopback: Loopback, bad: dict[str, Any]) -> None:
    asked = {"customer": "k3", "channel": "email", "intent": "upsell", **bad}
    task = anyio.run(send, loopback.url, {"propose": asked}, str(uuid.uuid4()),
                     loopback.token("upsell"))
    assert task.status.state == TaskState.TASK_STATE_FAILED
    problem = artifact(task, "error")
    with pytest.raises(AccordError) as embedded:  # what POST /v1/proposals answers with 422
        loopback.service.propose("upsell", **asked)
    assert problem == embedded.value.to_problem()
    assert problem["where"] in bad or problem["where"] == "accept.0"
