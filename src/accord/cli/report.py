"""``accord report``: reports read from the store (``lift``: treated against the holdout)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from accord.cli._common import friendly, json_option, open_accord, store_options


@click.group()
def report() -> None:
    """Reports read from the store."""


@report.command()
@store_options
@click.option("--since", help="Start of the window: RFC 3339 time, epoch seconds, or a "
              "duration before --until (30d). Default: 30 days before --until.")
@click.option("--until", help="End of the window (exclusive): RFC 3339 time or epoch "
              "seconds. Default: now.")
@json_option
@click.option("--html", "html", type=click.Path(dir_okay=False, writable=True),
              help="Also write a self-contained HTML page to FILE.")
@friendly
def lift(db: str, policy: str, since: str | None, until: str | None, as_json: bool,
         html: str | None) -> None:
    """Compare treated customers with the policy holdout.

    Customers proposed for in the window are split by the policy's settings.holdout; for each
    group: conversions, revenue, unsubscribes, complaints and contacts per customer, with 95 %
    intervals and the difference treated − holdout. Says "not enough data" below 30 customers
    a group. See docs/lift.md.
    """
    from accord.lift import lift_report, render_html, render_text

    if not db.startswith(("postgresql://", "postgres://")) and not os.path.exists(db):
        raise click.ClickException(f"no store at {db!r}; pass --db PATH or set $ACCORD_DB")
    service = open_accord(db, policy)
    try:
        result = lift_report(service, since=since, until=until)
    finally:
        service.close()
    if html:
        Path(html).write_text(render_html(result), encoding="utf-8")
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else render_text(result))

