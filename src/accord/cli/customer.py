"""``accord customer export`` and ``erase``: a data subject's access and erasure rights."""

from __future__ import annotations

import json

import click

from accord.cli._common import friendly, open_accord, store_options


@click.group()
def customer() -> None:
    """Export or erase one customer's data."""


@customer.command("export")
@click.argument("customer_id")
@store_options
@friendly
def export(customer_id: str, db: str, policy: str) -> None:
    """Print everything kept about CUSTOMER_ID as JSON (data-subject access): context and
    provenance, events, decisions, touches, claims, commitments, handoffs, its ledger chain."""
    with open_accord(db, policy) as acc:
        data = acc.export_customer(customer_id)
    click.echo(json.dumps(data, indent=2, default=str))


@customer.command("erase")
@click.argument("customer_id")
@click.option("--by", required=True, help="Who erases, or the request's ticket (recorded).")
@store_options
@friendly
def erase(customer_id: str, by: str, db: str, policy: str) -> None:
    """Erase CUSTOMER_ID's personal data: context, event data, handoff payloads and the
    personal values in its ledger entries. The chain still verifies and records the erasure."""
    with open_accord(db, policy) as acc:
        report = acc.erase_customer(customer_id, by=by)
    click.echo(json.dumps(report, indent=2))
