"""``accord demo``: the coordination failures of a multi-agent fleet, and the gate's answers."""

from __future__ import annotations

from importlib import resources

import click

from accord._time import ManualClock, to_epoch
from accord.model import Decision
from accord.policy import Policy
from accord.service import Accord

T0 = to_epoch("2026-11-23T09:00:00Z")
HOUR = 3600.0


def _show(d: Decision) -> None:
    p = d.proposal
    color = {"go": "green", "flag": "yellow", "defer": "cyan", "stop": "red"}[d.outcome.value]
    head = click.style(f"{d.outcome.value.upper():5}", fg=color, bold=True)
    click.echo(f"  {head} {p.agent:<14} {p.intent:<10} via {p.channel}")
    for r in d.reasons:
        click.echo(f"        [{r.rule}] {r.message}")
    if d.retry_at:
        click.echo(f"        retry at {d.retry_at:%a %H:%M}")
    if d.amend and "at" not in d.amend:
        click.echo(f"        would pass as {d.amend}")


def _title(text: str) -> None:
    click.echo("\n" + click.style(text, bold=True))


def run(db: str = ":memory:") -> None:
    text = resources.files("accord.templates").joinpath("accord.yaml").read_text("utf-8")
    clock = ManualClock(T0)
    with Accord.open(db, policy=Policy.from_text(text), clock=clock) as acc:
        _title("1. Signal collision — three agents, one customer, one afternoon")
        for agent, intent in [("churn-guard", "retain"), ("upsell", "upsell"),
                              ("reengage", "reactivate")]:
            _show(acc.propose(agent, "ana", channel="email", intent=intent))
            clock.now += 20 * 60

        _title("2. Pre-emption — retention outranks a pending upsell")
        up = acc.propose("upsell", "ben", channel="email", intent="upsell")
        _show(up)
        _show(acc.propose("churn-guard", "ben", channel="voice", intent="retain"))
        assert up.touch_id is not None
        click.echo(f"        upsell's touch is now {acc.touch(up.touch_id).status.value}")

        _title("3. Context blindness — a purchase lands before tomorrow's win-back")
        later = acc.propose("reengage", "cleo", channel="email", intent="reactivate",
                            at=clock.now + 24 * HOUR)
        _show(later)
        e = acc.record_event("cleo", "purchase", data={"value": 240, "product": "pro"})
        click.echo(f"        purchase recorded; revoked in the same transaction: {e.revoked}")
        _show(acc.propose("reengage", "cleo", channel="sms", intent="reactivate"))

        _title("4. Suppression — an SMS opt-out holds for every agent at once")
        acc.record_event("dev", "opt_out", data={"channel": "sms"})
        _show(acc.propose("reengage", "dev", channel="sms", intent="reactivate"))

        _title("5. Authority — upsell may give 15%; 20% needs a human")
        flagged = acc.propose("upsell", "eve", channel="email", intent="upsell",
                              offer={"product": "pro", "discount_pct": 20})
        _show(flagged)
        _show(acc.approve(flagged.id, reviewer="maria@sales"))

        _title("6. Must-always triggers — an open ticket pauses marketing for 48 h")
        acc.record_event("finn", "ticket_opened")
        _show(acc.propose("email-cadence", "finn", channel="email", intent="nurture"))
        _show(acc.propose("support", "finn", channel="email", intent="support"))

        _title("7. Consistency — an offer made is an offer kept")
        _show(acc.propose("upsell", "gus", channel="email", intent="upsell",
                          offer={"product": "pro", "discount_pct": 10, "valid_for": "14d"}))
        clock.now += 3 * 24 * HOUR
        _show(acc.propose("churn-guard", "gus", channel="email", intent="retain",
                          offer={"product": "pro", "discount_pct": 20}))

        report = acc.verify_ledger()
        _title(f"Ledger: {report.entries} entries in {report.chains} hash chains — "
               f"{'verified' if report.ok else 'ALTERED'}")
        click.echo("Next: `make simulate` runs a whole fleet with and without Accord.")
