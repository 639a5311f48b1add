"""``accord outbox``, ``accord audience`` and ``accord inbound``: delivery from the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

import click

from accord.cli._common import echo_json, friendly, json_option, open_accord, store_options


@click.group()
def outbox() -> None:
    """The deliveries Accord holds: list them, or run one dispatch pass."""


@outbox.command("list")
@store_options
@click.option("--status", default=None,
              type=click.Choice(["queued", "sending", "sent", "failed", "dead", "cancelled"]),
              help="Only this status (dead = the dead letters).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@friendly
def outbox_list(db: str, policy: str, status: str | None, limit: int, as_json: bool) -> None:
    """Deliveries by touch id, with status, attempts and the last error."""
    from accord.store import _outbox

    acc = open_accord(db, policy)
    try:
        with acc.store.read() as tx:
            rows = _outbox.listing(tx, status=status, channel=None, customer=None, agent=None,
                                   limit=limit, after=None)
    finally:
        acc.close()
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['status']:<9} {r['channel']:<8} {r['customer']:<20} "
                   f"attempts={r['attempts']}  {r['last_error'] or ''}")
    if not rows:
        click.echo("(none)", err=True)


@outbox.command("dispatch")
@store_options
@click.option("--base-url", default=None, help="Where accord serve answers (for unsubscribe "
              "links); without it, e-mails carry no List-Unsubscribe.")
@json_option
@friendly
def outbox_dispatch(db: str, policy: str, base_url: str | None, as_json: bool) -> None:
    """Send what is due, once, with the senders configured in the environment
    (ACCORD_SMTP_URL, ACCORD_HTTP_SENDER_URL; see docs/delivery.md)."""
    from accord.delivery import Dispatcher
    from accord.delivery._config import DeliverySettings

    settings = DeliverySettings.from_env(os.environ)
    if not settings.senders:
        raise click.UsageError("no sender is configured: set ACCORD_SMTP_URL or "
                               "ACCORD_HTTP_SENDER_URL (see docs/delivery.md)")
    acc = open_accord(db, policy)
    d = Dispatcher(acc, settings.senders, base_url=base_url)
    try:
        report = d.run_once()
    finally:
        d.close()
        acc.close()
    counts = {k: len(getattr(report, k)) for k in ("sent", "retried", "dead", "cancelled")}
    if as_json:
        echo_json(counts)
    else:
        click.echo(", ".join(f"{n} {k}" for k, n in counts.items()))


@click.group()
def audience() -> None:
    """Suppression audiences for paid media."""


@audience.command("export")
@store_options
@click.option("--channel", "channels", multiple=True, required=True,
              help="An ad channel (repeatable), e.g. social_ad, search_ad.")
@click.option("--out", "out_dir", default="audiences", show_default=True,
              type=click.Path(file_okay=False), help="Folder for CHANNEL.csv and the diffs.")
@friendly
def audience_export(db: str, policy: str, channels: tuple[str, ...], out_dir: str) -> None:
    """Write each channel's suppression list as SHA-256 hashed e-mails and phones
    (CHANNEL.csv), and what changed since the file that was there (CHANNEL.added.csv,
    CHANNEL.removed.csv): upload the diff to the ad platform."""
    from accord.delivery import suppression_audience
    from accord.store import _outbox

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    acc = open_accord(db, policy)
    try:
        with acc.store.read() as tx:
            contexts = _outbox.contexts(tx)
    finally:
        acc.close()
    for channel in channels:
        target = out / f"{channel}.csv"
        previous: list[tuple[str, str]] = []
        if target.exists():
            for line in target.read_text().splitlines()[1:]:
                digest, _, kind = line.partition(",")
                previous.append((digest, kind))
        export = suppression_audience(channel, contexts, previous=previous)
        target.write_text(export.csv())
        for name, rows in (("added", export.added), ("removed", export.removed)):
            (out / f"{channel}.{name}.csv").write_text(
                "hash,kind\n" + "".join(f"{h},{k}\n" for h, k in rows))
        why = ", ".join(f"{n} {r}" for r, n in export.reasons.items()) or "nobody suppressed"
        click.echo(f"{target}: {len(export.rows)} identifiers ({why}); "
                   f"+{len(export.added)} −{len(export.removed)} since the last export")


@click.group()
def inbound() -> None:
    """Feed what came back from a channel into Accord as events."""


@inbound.command("email")
@store_options
@click.argument("report", type=click.File("rb"), default="-")
@json_option
@friendly
def inbound_email(db: str, policy: str, report: BinaryIO, as_json: bool) -> None:
    """Record a DSN bounce or ARF complaint (a whole e-mail, from REPORT or standard input;
    e.g. from a mail server's pipe). A hard bounce or a complaint suppresses e-mail."""
    from accord.delivery import _inbound

    raw = report.read()
    acc = open_accord(db, policy)
    try:
        events = _inbound.email_report(acc, raw)
    finally:
        acc.close()
    if as_json:
        echo_json(events)
        return
    for e in events:
        click.echo(f"{e['customer']}: {e['type']} ({e['event_id']})")
    if not events:
        click.echo("the report named no customer Accord sent to", err=True)
        sys.exit(1)
