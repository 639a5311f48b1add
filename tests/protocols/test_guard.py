"""The guard: a tool runs only on go, and its outcome reaches the ledger on its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from accord import Accord, TouchStatus
from accord.guard import Blocked, BlockedResult, guard


def touches(acc: Accord, customer: str) -> list[dict[str, Any]]:
    with acc.store.read() as tx:
        return tx.rows("SELECT agent, status, status_reason FROM touches WHERE customer = ? "
                       "ORDER BY seq", (customer,))


def test_a_guarded_call_runs_on_go_and_is_reported_executed(acc: Accord) -> None:
    sent: list[str] = []

    @guard(acc, agent="churn-guard", channel="email", intent="retain",
           customer=lambda to, body: to, topic=lambda to, body: body[:20])
    def send_email(to: str, body: str) -> str:
        sent.append(to)
        return f"sent to {to}"

    assert send_email("c1", "we miss you") == "sent to c1"
    assert sent == ["c1"]
    assert touches(acc, "c1") == [{"agent": "churn-guard", "status": "executed",
                                   "status_reason": None}]
    assert send_email.__name__ == "send_email"


def test_a_blocked_call_does_not_run_and_raises_with_the_reasons(acc: Accord) -> None:
    calls: list[str] = []

    @guard(acc, agent="upsell", channel="email", intent="upsell", customer=lambda c: c)
    def pitch(c: str) -> None:
        calls.append(c)

    acc.record_event("c2", "opt_out", data={"channel": "email"})
    with pytest.raises(Blocked) as info:
        pitch("c2")
    assert calls == []
    assert info.value.outcome == "stop"
    assert [r.rule for r in info.value.reasons] == ["opted-out"]
    assert "pitch was not run" in str(info.value) and "opted out" in str(info.value)
    assert info.value.to_problem()["status"] == 409


def test_a_deferred_call_can_return_a_falsy_result_with_retry_at(acc: Accord) -> None:
    @guard(acc, agent="churn-guard", channel="email", intent="retain", customer="c3",
           on_block="return")
    def nudge() -> str:
        return "sent"

    acc.record_event("c3", "ticket_opened")
    result = nudge()
    assert isinstance(result, BlockedResult) and not result
    assert result.outcome == "defer" and result.retry_at is not None
    assert "open-ticket-pause" in result.why


def test_a_failing_call_is_reported_failed_and_the_exception_propagates(acc: Accord) -> None:
    @guard(acc, agent="churn-guard", channel="voice", intent="retain", customer="c4")
    def call_customer() -> None:
        raise ConnectionError("line busy")

    with pytest.raises(ConnectionError, match="line busy"):
        call_customer()
    [t] = touches(acc, "c4")
    assert t["status"] == TouchStatus.FAILED.value
    assert t["status_reason"] == "ConnectionError: line busy"


def test_async_callables_are_guarded_the_same_way(acc: Accord) -> None:
    @guard(acc, agent="reengage", channel="sms", intent="reactivate",
           customer=lambda *a, **kw: kw["customer"])
    async def text(*, customer: str, body: str) -> str:
        await asyncio.sleep(0)
        return body

    assert asyncio.run(text(customer="c5", body="hi")) == "hi"
    with pytest.raises(Blocked) as info:   # the sms-weekly cap now holds
        asyncio.run(text(customer="c5", body="again"))
    assert info.value.outcome == "defer"
    assert [t["status"] for t in touches(acc, "c5")] == ["executed"]


def test_a_typo_in_a_proposal_field_fails_at_decoration(acc: Accord) -> None:
    with pytest.raises(TypeError, match="chanel"):
        guard(acc, agent="upsell", channel="email", intent="upsell", customer="c",
              chanel="sms")
