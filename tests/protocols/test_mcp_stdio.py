"""MCP over stdio: the SDK's client launches `accord mcp` exactly as an MCP host would."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from accord import Accord
from accord.policy import Policy

ROOT = Path(__file__).resolve().parents[2]
ACCORD = str(Path(sys.executable).parent / "accord")
POLICY = str(ROOT / "src" / "accord" / "templates" / "accord.yaml")


def params(agent: str, db: Path) -> StdioServerParameters:
    # The whole environment, so the server imports the same accord as the test (PYTHONPATH).
    return StdioServerParameters(command=ACCORD, args=["mcp", "--agent", agent, "--db", str(db),
                                                       "--policy", POLICY], env=dict(os.environ))


async def call(c: Client, tool: str, **args: Any) -> Any:
    result = await c.call_tool(tool, args)
    assert not result.is_error, result.content
    return result.structured_content


def test_every_tool_and_resource_answers_over_stdio_as_the_launched_agent(
        tmp_path: Path) -> None:
    db = tmp_path / "accord.db"

    async def main() -> None:
        async with Client(params("churn-guard", db)) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) == {"get_context", "propose", "report_outcome", "record_event",
                                  "claim", "release", "send_handoff", "read_inbox",
                                  "ack_handoff", "explain_decision", "propose_batch",
         "cancel_scheduled"}
            schema = tools["propose"].input_schema
            assert "agent" not in schema["properties"]
            assert set(schema["required"]) == {"customer", "channel", "intent"}
            assert "email" in schema["properties"]["channel"]["enum"]
            assert "report_outcome" in (tools["propose"].description or "")

            await call(c, "record_event", customer="c1", type="ticket_opened")
            d = await call(c, "propose", customer="c1", channel="email", intent="retain")
            assert d["outcome"] == "defer" and d["retry_at"]
            assert [r["rule"] for r in d["reasons"]] == ["open-ticket-pause"]
            why = await call(c, "explain_decision", decision_id=d["decision_id"])
            assert why["rules"][0]["condition"].startswith("has(customer.last_ticket_at)")
            assert why["context"]["fields"]["last_ticket_at"]["seen_by_gate"] is True
            assert why["context"]["fields"]["last_ticket_at"]["set_by"].startswith(
                "event:ticket_opened")

            await call(c, "record_event", customer="c2", type="reply")
            assert "last_reply_at" in (await call(c, "get_context", customer="c2"))["fields"]
            go = await call(c, "propose", customer="c2", channel="voice", intent="retain",
                            topic="renewal check-in")
            assert go["outcome"] == "go"
            assert (await call(c, "report_outcome", touch_id=go["touch_id"],
                               status="executed"))["status"] == "executed"
            soon = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # claims: ≤ 366 days
            assert (await call(c, "claim", customer="c3", purpose="watch",
                               until=soon))["customer"] == "c3"
            assert (await call(c, "release", customer="c3"))["released"] == 1
            # churn-guard produces no handoff kinds: the refusal says so, as a tool error
            refused = await c.call_tool("send_handoff", {"to": "upsell", "kind": "x",
                                                         "payload": {}})
            assert refused.is_error and "produces" in refused.content[0].text  # type: ignore[union-attr]
            assert (await call(c, "read_inbox"))["handoffs"] == []
            missing = await c.call_tool("ack_handoff", {"handoff_id": "h_nope"})
            assert missing.is_error

            uris = {str(r.uri) for r in (await c.list_resources()).resources}
            assert uris == {"accord://policy", "accord://fleet"}
            pol = (await c.read_resource("accord://policy")).contents[0]
            assert "precedence:" in pol.text  # type: ignore[union-attr]
            fleet = json.loads((await c.read_resource("accord://fleet")).contents[0].text)  # type: ignore[union-attr]
            assert fleet["precedence"][0] == "churn-guard"
            assert {s["id"]: s["owner"] for s in fleet["seats"]}["upsell"] == "sales-ops"
            tl = await c.read_resource("accord://customers/c1/timeline")
            kinds = [e["kind"] for e in json.loads(tl.contents[0].text)]  # type: ignore[union-attr]
            assert kinds == ["event", "decision"]

    anyio.run(main)
    with Accord.open(db, policy=Policy.load(POLICY)) as acc, acc.store.read() as tx:
        rows = tx.rows("SELECT agent, protocol, count FROM interfaces")
    assert [(r["agent"], r["protocol"]) for r in rows] == [("churn-guard", "mcp")]
    assert rows[0]["count"] >= 13  # flushed when the server stopped


def test_a_tool_argument_cannot_change_the_acting_agent(tmp_path: Path) -> None:
    async def main() -> dict[str, Any]:
        async with Client(params("reengage", tmp_path / "a.db")) as c:
            d = await call(c, "propose", customer="c1", channel="email", intent="reactivate")
            result = await c.call_tool("propose", {"customer": "c1", "channel": "email",
                                                   "intent": "retain", "agent": "churn-guard"})
            why = await call(c, "explain_decision", decision_id=d["decision_id"])
            return {"second": result, "why": why}

    out = anyio.run(main)
    assert out["why"]["proposal"]["agent"] == "reengage"
    # the extra "agent" argument is ignored: still reengage, and retain is outside its mandate
    second = out["second"]
    assert not second.is_error
    assert second.structured_content["outcome"] == "stop"
    assert "mandate" in [r["rule"] for r in second.structured_content["reasons"]]


def test_an_unknown_agent_is_refused_before_serving(tmp_path: Path) -> None:
    import subprocess

    r = subprocess.run([ACCORD, "mcp", "--agent", "ghost", "--db", str(tmp_path / "a.db"),
                        "--policy", POLICY], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL, check=False)
    assert r.returncode == 2
    assert "'ghost' is not a seat" in r.stderr and "churn-guard" in r.stderr


def test_an_unknown_agent_fails_the_mcp_handshake_with_the_reason(tmp_path: Path) -> None:
    async def main() -> None:
        async with Client(params("ghost", tmp_path / "a.db")):
            pass

    with pytest.raises(BaseException) as refused:
        anyio.run(main)
    errors = leaves(refused.value)
    assert len(errors) == 1 and isinstance(errors[0], MCPError), errors   # not "Connection closed"
    assert "'ghost' is not a seat" in str(errors[0]) and "churn-guard" in str(errors[0])


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in leaves(e)]
    return [exc]
