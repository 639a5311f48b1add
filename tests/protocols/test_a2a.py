"""A2A: the a2a-sdk client discovers Accord by its card and delegates through it, against a real
loopback server."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import anyio
import httpx
from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.helpers import get_data_parts, new_data_message
from a2a.types.a2a_pb2 import GetTaskRequest, Role, SendMessageRequest, Task, TaskState

from accord.ledger import canonical

from .loopback_server import Loopback


async def send(url: str, data: dict[str, Any], context_id: str) -> Task:
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        client = await create_client(card, client_config=ClientConfig(streaming=False,
                                                                      httpx_client=http))
        message = new_data_message(data, role=Role.ROLE_USER, context_id=context_id)
        tasks = [r.task async for r in client.send_message(SendMessageRequest(message=message))
                 if r.HasField("task")]
        assert len(tasks) == 1
        fetched = await client.get_task(GetTaskRequest(id=tasks[0].id))
        assert fetched.status.state == tasks[0].status.state
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


def test_a_proposal_message_passes_the_gate_and_the_decision_is_an_artifact(
        loopback: Loopback) -> None:
    ctx = str(uuid.uuid4())
    task = anyio.run(send, loopback.url, {"propose": {
        "agent": "upsell", "customer": "a1", "channel": "email", "intent": "upsell",
        "offer": {"product": "pro", "discount_pct": 10}}}, ctx)
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
    first = anyio.run(send, loopback.url, delegate, ctx)
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
        "action": "invite", "parent_id": handoff["id"]}}, ctx)
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
        str(uuid.uuid4()))
    decision = artifact(task, "decision")
    assert decision["outcome"] == "stop"   # an unknown channel is the gate's to refuse
    bad = anyio.run(send, loopback.url, {"hello": "there"}, str(uuid.uuid4()))
    assert bad.status.state == TaskState.TASK_STATE_FAILED
    assert "delegate" in artifact(bad, "error")["hint"]


def test_the_pre_1_0_json_rpc_methods_answer(loopback: Loopback) -> None:
    msg = {"role": "user", "messageId": str(uuid.uuid4()), "kind": "message",
           "parts": [{"kind": "data", "data": {"context": {"agent": "upsell",
                                                           "customer": "a4"}}}]}
    r = httpx.post(f"{loopback.url}/a2a", json={"jsonrpc": "2.0", "id": 1,
                                               "method": "message/send",
                                               "params": {"message": msg}})
    result = r.json()["result"]
    assert result["status"]["state"] == "completed"
    r = httpx.post(f"{loopback.url}/a2a", json={"jsonrpc": "2.0", "id": 2,
                                               "method": "tasks/get",
                                               "params": {"id": result["id"]}})
    assert r.json()["result"]["artifacts"][0]["name"] == "context"
