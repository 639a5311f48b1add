"""MCP errors name the argument at fault and what it takes, never the value that was sent in it:
a customer's address typed into the wrong field, or a token pasted as an id, is not repeated to
the model's transcript or to the server's log. The real MCP client over streamable HTTP."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from accord.protocols.mcp import SENT, redact

from .loopback_server import Loopback
from .test_mcp_http import session

PERSONAL = "jane.doe@example.com"
TOKEN = "acc_5f2b9c41d7e84a0f9e6b3c2d1a0f9e8d"

CALLS: list[tuple[str, dict[str, Any], str]] = [
    # the SDK's argument checks (pydantic would print input_value=…)
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain",
                 "on_defer": PERSONAL}, "on_defer"),
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain",
                 "accept": [TOKEN]}, "accept.0"),
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain",
                 "offer": {"product": "pro", "discount_pct": PERSONAL}}, "offer.discount_pct"),
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain",
                 "value": PERSONAL}, "value"),
    ("propose", {"customer": PERSONAL * 11, "channel": "email", "intent": "retain"},
     "customer"),
    ("record_event", {"customer": "c1", "type": "reply", "data": PERSONAL}, "data"),
    ("report_outcome", {"touch_id": "t1", "status": TOKEN}, "status"),
    ("propose_batch", {"proposals": [{"customer": "c1", "channel": "email",
                                      "intent": "retain", "note": PERSONAL}]},
     "proposals.0.note"),
    # Accord's own checks (the same messages the HTTP API gives)
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain",
                 "on_defer": "reschedule", "deadline": PERSONAL}, "deadline"),
    ("propose", {"customer": "c1", "channel": "email", "intent": "retain", "at": TOKEN}, "at"),
    ("claim", {"customer": "c1", "purpose": "renewal", "until": PERSONAL}, "until"),
    ("record_event", {"customer": "c1", "type": PERSONAL}, "type"),
    ("report_outcome", {"touch_id": TOKEN, "status": "executed"}, "touch_id"),
    ("explain_decision", {"decision_id": PERSONAL}, "decision_id"),
    ("cancel_scheduled", {"scheduled_id": TOKEN}, "scheduled_id"),
    ("ack_handoff", {"handoff_id": PERSONAL}, "handoff_id"),
    ("send_handoff", {"to": "upsell", "kind": PERSONAL, "payload": {}}, "kind"),
]


def test_no_error_repeats_a_value_the_caller_sent(loopback: Loopback,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # what a server logs in production (not wire dumps)
    logged: list[str] = []

    async def main() -> list[tuple[str, str, str]]:
        answers = []
        async with session(loopback.url, loopback.token("churn-guard")) as s:
            for tool, args, field in CALLS:
                result = await s.call_tool(tool, args)
                assert result.is_error, (tool, args)
                text = " ".join(getattr(c, "text", "") for c in result.content)
                answers.append((tool, field, text))
            logged.extend(f"{r.name}: {r.getMessage()}" for r in caplog.records)
            assert any("Tool 'propose'" in line for line in logged), "the refusals are logged"
            # a resource's address is the caller's (the SDK logs it and returns it as
            # data.uri); the error's message still does not repeat the id
            try:
                await s.read_resource(f"accord://decisions/{TOKEN}")
            except MCPError as exc:
                answers.append(("decision resource", "decision_id", exc.error.message))
            else:
                pytest.fail("reading an unknown decision succeeded")
        return answers

    answers = anyio.run(main)
    assert len(answers) == len(CALLS) + 1
    for tool, field, text in answers:
        assert PERSONAL not in text and TOKEN not in text, (tool, text)
        assert "input_value" not in text and "errors.pydantic.dev" not in text, (tool, text)
        assert field in text, f"{tool}: the error names {field}: {text}"
    assert not [line for line in logged if PERSONAL in line or TOKEN in line]
    assert not [r for r in caplog.records if r.exc_info], "a refusal is not logged as a crash"


def test_a_valid_call_still_answers_with_its_data(loopback: Loopback) -> None:
    async def main() -> Any:
        async with session(loopback.url, loopback.token("churn-guard")) as s:
            result = await s.call_tool("record_event", {"customer": PERSONAL, "type": "reply",
                                                        "data": {"from": PERSONAL}})
            return result.structured_content

    event = anyio.run(main)
    assert event["customer"] == PERSONAL and event["data"] == {"from": PERSONAL}


def test_redact_replaces_whole_values_only() -> None:
    text = "no touch 'ab-12' (not ab-123 nor xab-12); at: 'ab-12'"
    assert redact(text, {"ab-12"}) == f"no touch '{SENT}' (not ab-123 nor xab-12); at: '{SENT}'"
    assert redact("no decision 'x@y.z'", {"x@y.z", "y.z"}) == f"no decision '{SENT}'"
    assert redact("unchanged", set()) == "unchanged"
