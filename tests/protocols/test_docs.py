"""docs/protocols.md cannot drift: each snippet is run as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from .loopback_server import Loopback

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocols.md").read_text()
POLICY = ROOT / "src" / "accord" / "templates" / "accord.yaml"
TOOLS = {"get_context", "propose", "report_outcome", "record_event", "claim", "release",
         "send_handoff", "read_inbox", "ack_handoff", "explain_decision", "propose_batch",
         "cancel_scheduled"}


def snippet(name: str) -> str:
    found = re.search(rf"<!-- doc:{name} -->\n```\w+\n(.*?)```", DOC, re.S)
    assert found, f"docs/protocols.md has no snippet {name}"
    return found.group(1)


def test_the_documented_stdio_config_launches_a_working_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = json.loads(snippet("mcp-stdio"))["mcpServers"]["accord"]
    shutil.copy(POLICY, tmp_path / "accord.yaml")
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    params = StdioServerParameters(command=server["command"], args=server["args"], env=env,
                                   cwd=str(tmp_path))

    async def main() -> set[str]:
        async with Client(params) as c:
            return {t.name for t in (await c.list_tools()).tools}

    assert anyio.run(main) == TOOLS
    assert (tmp_path / "accord.db").exists()


def test_the_documented_http_config_connects_with_the_agents_token(loopback: Loopback) -> None:
    server = json.loads(snippet("mcp-http"))["mcpServers"]["accord"]
    url = server["url"].replace("http://localhost:8000", loopback.url)
    headers = {k: v.replace("<the agent's token>", loopback.token("upsell"))
               for k, v in server["headers"].items()}

    async def main() -> Any:
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as s,
        ):
            await s.initialize()
            assert {t.name for t in (await s.list_tools()).tools} == TOOLS
            return (await s.call_tool("get_context", {"customer": "c1"})).structured_content

    assert anyio.run(main)["customer"] == "c1"


def test_the_documented_a2a_discovery_delegates_and_acts_in_one_trace(
        loopback: Loopback) -> None:
    scope: dict[str, Any] = {}
    exec(snippet("a2a"), scope)
    decision = anyio.run(scope["delegate_then_act"], loopback.url, loopback.token("upsell"),
                         loopback.token("scheduler"))
    assert decision["outcome"] == "go"
    kinds = [e.kind for e in loopback.service.trace("deal-c42")]
    assert "handoff" in kinds and "decision" in kinds


def test_the_documented_guard_with_a_langgraph_tool_runs_once_then_blocks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(POLICY, tmp_path / "accord.yaml")  # the snippet opens its own store
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {}
    exec(snippet("guard"), scope)
    scope["acc"].close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sent 'Pro, 10% off' to c42"
    assert lines[1].startswith("defer ['daily-cap'")
