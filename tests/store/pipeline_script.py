"""A scripted day in the life of a fleet, run the same way on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from accord import Accord
from accord._errors import Conflict, Forbidden, IdempotencyConflict, StaleVersion
from accord.model import Decision

DAY = 86_400.0


def said(d: Decision) -> tuple[str, list[str]]:
    """What a decision says, without its generated ids and times."""
    return d.outcome.value, sorted(r.rule for r in d.reasons)


def run(acc: Accord, clock: Any) -> list[tuple[str, Any]]:
    """Walk the pipeline through each coordination case; return what every step answered."""
    log: list[tuple[str, Any]] = []

    # signal collision: retention first, then upsell on the same afternoon
    log.append(("collision: churn-guard", said(acc.propose(
        "churn-guard", "c-collide", channel="email", intent="retain"))))
    log.append(("collision: upsell", said(acc.propose(
        "upsell", "c-collide", channel="email", intent="upsell"))))

    # pre-emption: a higher-precedence go revokes a lower one's pending touch — one due beyond
    # the commit horizon (a go due within it is final)
    later = clock() + 3 * 3600
    low = acc.propose("email-cadence", "c-pre", channel="email", intent="nurture", at=later)
    high = acc.propose("churn-guard", "c-pre", channel="voice", intent="retain", at=later)
    log.append(("pre-emption", [said(low), said(high), high.preempted == [low.touch_id]]))
    with pytest.raises(Conflict):
        acc.report_outcome(str(low.touch_id), "executed")
    log.append(("pre-empted touch", acc.touch(str(low.touch_id)).status.value))

    # opt-out: revokes the queued SMS at once; later SMS is stopped
    sms = acc.propose("reengage", "c-opt", channel="sms", intent="reactivate")
    ev = acc.record_event("c-opt", "opt_out", data={"channel": "sms"})
    clock.advance(8 * DAY)
    log.append(("opt-out", [said(sms), ev.revoked == [sms.touch_id],
                            said(acc.propose("reengage", "c-opt", channel="sms",
                                             intent="reactivate"))]))

    # purchase: revokes the scheduled re-engagement, and stops the next one
    later = acc.propose("reengage", "c-buy", channel="email", intent="reactivate",
                        at=clock() + DAY)
    bought = acc.record_event("c-buy", "purchase")
    log.append(("purchase", [said(later), bought.revoked == [later.touch_id],
                             acc.touch(str(later.touch_id)).status.value,
                             said(acc.propose("reengage", "c-buy", channel="email",
                                              intent="reactivate", at=clock() + 2 * DAY))]))

    # authority: beyond its discount the upsell needs a human; approval re-runs the gate
    flagged = acc.propose("upsell", "c-auth", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 20})
    waiting = [d.id for d in acc.approvals()]
    with pytest.raises(Forbidden):
        acc.approve(flagged.id, reviewer="upsell")
    approved = acc.approve(flagged.id, reviewer="alice", note="key account")
    log.append(("authority", [said(flagged), flagged.id in waiting, said(approved),
                              approved.parent_decision == flagged.id,
                              acc.decision(flagged.id).approval, len(acc.approvals())]))

    # idempotency: the same key and body answers the same; a different body is refused
    first = acc.propose("email-cadence", "c-idem", channel="email", intent="nurture",
                        idempotency_key="k-1")
    again = acc.propose("email-cadence", "c-idem", channel="email", intent="nurture",
                        idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        acc.propose("email-cadence", "c-idem", channel="email", intent="nurture",
                    topic="other", idempotency_key="k-1")
    log.append(("idempotency", [said(first), again == first]))

    # optimistic concurrency on context writes
    ctx = acc.update_context("c-ctx", {"tier": "gold"}, expected_version=0, actor="admin:ops")
    with pytest.raises(StaleVersion) as stale:
        acc.update_context("c-ctx", {"tier": "vip"}, expected_version=0, actor="admin:ops")
    log.append(("stale version", [ctx.version, ctx.fields, stale.value.current_version,
                                  acc.context("c-ctx").fields]))

    # claims: a higher-precedence claim holds the customer until it ends or is released
    acc.claim("churn-guard", "c-claim", "retention watch", clock() + 3 * DAY)
    held = acc.propose("upsell", "c-claim", channel="email", intent="upsell")
    released = acc.release("churn-guard", "c-claim")
    log.append(("claims", [said(held), held.retry_at is not None, released,
                           said(acc.propose("upsell", "c-claim", channel="email",
                                            intent="upsell"))]))
    report = acc.verify_ledger()
    log.append(("ledger", [report.ok, report.problems, report.chains]))
    return log


def after_restart(acc: Accord, clock: Any) -> list[tuple[str, Any]]:
    """What a reopened store still knows."""
    report = acc.verify_ledger()
    return [
        ("context survives", acc.context("c-ctx").fields),
        ("opt-out survives", said(acc.propose("reengage", "c-opt", channel="sms",
                                              intent="reactivate"))),
        ("touches survive", said(acc.propose("email-cadence", "c-claim", channel="email",
                                             intent="nurture"))),
        ("ledger verifies", [report.ok, report.problems]),
    ]
