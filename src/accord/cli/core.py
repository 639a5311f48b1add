"""Everyday commands: init, propose, outcome, event, context, approvals, trace, ledger, demo."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import click

from accord.cli._common import echo_json, friendly, json_option, open_accord, store_options


def _template() -> str:
    return resources.files("accord.templates").joinpath("accord.yaml").read_text("utf-8")


@click.command()
@click.argument("path", default="accord.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example policy for a realistic fleet to PATH."""
    target = Path(path)
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; pass --force to overwrite it")
    target.write_text(_template(), encoding="utf-8")
    click.echo(f"wrote {target} — check it with: accord policy check {target}")


def _json_arg(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at column {exc.colno}); "
                                 f"write e.g. '{{\"product\": \"pro\", \"discount_pct\": 10}}'",
                                 param_hint=name) from None


def _print_decision(d: Any) -> None:
    color = {"go": "green", "flag": "yellow", "defer": "cyan", "stop": "red"}[d.outcome.value]
    click.echo(click.style(d.outcome.value.upper(), fg=color, bold=True) + f"  decision {d.id}")
    for r in d.reasons:
        click.echo(f"  - [{r.rule}] {r.message}")
    for r in d.shadow:
        click.echo(f"  - (shadow) [{r.rule}] would {r.effect.value}: {r.message}")
    if d.retry_at:
        click.echo(f"  retry at {d.retry_at.isoformat()}")
    if d.touch_id:
        click.echo(f"  touch {d.touch_id} (report it: accord outcome {d.touch_id} executed)")
    if d.amend:
        click.echo(f"  would pass as: {json.dumps(d.amend)}")


@click.command()
@click.option("--agent", required=True, help="The proposing seat.")
@click.option("--customer", required=True)
@click.option("--channel", required=True)
@click.option("--intent", required=True)
@click.option("--action", default="message", show_default=True)
@click.option("--offer", help='JSON, e.g. \'{"product": "pro", "discount_pct": 10}\'.')
@click.option("--cost", type=float, help="Cost in USD.")
@click.option("--at", help="When it would reach the customer (RFC 3339); default now.")
@click.option("--trace-id")
@click.option("--parent-id")
@click.option("--idempotency-key")
@click.option("--irreversible", is_flag=True)
@store_options
@json_option
@friendly
def propose(agent: str, customer: str, channel: str, intent: str, action: str, offer: str | None,
            cost: float | None, at: str | None, trace_id: str | None, parent_id: str | None,
            idempotency_key: str | None, irreversible: bool, db: str, policy: str,
            as_json: bool) -> None:
    """Ask the gate whether AGENT may act on CUSTOMER. Exit code 0 for go, 1 otherwise."""
    with open_accord(db, policy) as acc:
        d = acc.propose(agent, customer, channel=channel, intent=intent, action=action,
                        offer=_json_arg(offer, "--offer"), cost=cost, at=at, trace_id=trace_id,
                        parent_id=parent_id, idempotency_key=idempotency_key,
                        reversible=not irreversible)
    echo_json(d) if as_json else _print_decision(d)
    sys.exit(0 if d.go else 1)


@click.command()
@click.argument("touch_id")
@click.argument("status", type=click.Choice(["executed", "failed", "cancelled"]))
@click.option("--detail")
@store_options
@json_option
@friendly
def outcome(touch_id: str, status: str, detail: str | None, db: str, policy: str,
            as_json: bool) -> None:
    """Report what became of a go's touch."""
    with open_accord(db, policy) as acc:
        t = acc.report_outcome(touch_id, status, detail=detail)
    echo_json(t) if as_json else click.echo(f"touch {t.id} is {t.status.value}")


@click.command()
@click.option("--customer", required=True)
@click.option("--type", "type_", required=True, help="purchase, opt_out, ticket_opened, …")
@click.option("--at", help="When it happened (RFC 3339); default now.")
@click.option("--data", help='JSON object, e.g. \'{"channel": "sms"}\'.')
@click.option("--source", help="Who reports it (an agent or a system).")
@store_options
@json_option
@friendly
def event(customer: str, type_: str, at: str | None, data: str | None, source: str | None,
          db: str, policy: str, as_json: bool) -> None:
    """Record a fact about a customer; revokes pending touches the new state forbids."""
    payload = _json_arg(data, "--data")
    if payload is not None and not isinstance(payload, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data")
    with open_accord(db, policy) as acc:
        e = acc.record_event(customer, type_, at=at, data=payload, source=source)
    if as_json:
        echo_json(e)
        return
    click.echo(f"event {e.id} recorded; context of {customer} is at version {e.context_version}")
    for t in e.revoked:
        click.echo(f"  revoked pending touch {t}")


@click.command()
@click.argument("customer")
@click.option("--agent", help="Show only what this agent may read.")
@store_options
@json_option
@friendly
def context(customer: str, agent: str | None, db: str, policy: str, as_json: bool) -> None:
    """Show CUSTOMER's shared context, with who set each field."""
    with open_accord(db, policy) as acc:
        c = acc.context(customer, agent=agent)
    if as_json:
        echo_json(c)
        return
    click.echo(f"{customer} — version {c.version}")
    for k, v in sorted(c.fields.items()):
        p = c.provenance.get(k)
        src = f"   ({p.by}, v{p.version})" if p else ""
        click.echo(f"  {k}: {json.dumps(v)}{src}")


@click.group()
def approvals() -> None:
    """Flagged proposals waiting for a human."""


@approvals.command("list")
@store_options
@json_option
@friendly
def approvals_list(db: str, policy: str, as_json: bool) -> None:
    """List pending approvals, oldest first."""
    with open_accord(db, policy) as acc:
        items = acc.approvals()
    if as_json:
        echo_json(items)
        return
    if not items:
        click.echo("nothing waits for approval")
    for d in items:
        p = d.proposal
        why = "; ".join(r.message for r in d.reasons if r.effect.value == "flag")
        click.echo(f"{d.id}  {p.agent} → {p.customer} {p.channel}/{p.intent}: {why}")


def _review(approve: bool) -> Any:
    @click.argument("decision_id")
    @click.option("--reviewer", required=True, help="Who decides (a person, not the agent).")
    @click.option("--note")
    @store_options
    @json_option
    @friendly
    def run(decision_id: str, reviewer: str, note: str | None, db: str, policy: str,
            as_json: bool) -> None:
        with open_accord(db, policy) as acc:
            d = (acc.approve if approve else acc.reject)(decision_id, reviewer=reviewer,
                                                          note=note)
        echo_json(d) if as_json else _print_decision(d)

    run.__doc__ = ("Approve: the gate re-runs on today's context; stops and defers still hold."
                   if approve else "Reject: the proposal is stopped.")
    return run


approvals.command("approve")(_review(True))
approvals.command("reject")(_review(False))


@click.command()
@click.argument("trace_id")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "otlp"]), default="tree",
              show_default=True)
@store_options
@friendly
def trace(trace_id: str, fmt: str, db: str, policy: str) -> None:
    """Show every proposal, decision, event, handoff and approval of a trace, in order.

    TRACE_ID is a trace id or a decision id: a decision without a trace id is its own trace,
    and a decision id shows the whole trace it belongs to."""
    with open_accord(db, policy) as acc:
        entries = acc.trace(trace_id)
    if not entries:
        raise click.ClickException(f"no ledger entries for trace or decision {trace_id!r}; "
                                   "`accord approvals list` and the dashboard show decision ids")
    if fmt == "json":
        echo_json(entries)
        return
    try:
        from accord import fleet
    except ImportError:
        fleet = None  # type: ignore[assignment]
    if fmt == "otlp":
        if fleet is None:
            raise click.ClickException("OTLP export needs accord.fleet")
        click.echo(json.dumps(fleet.to_otlp(entries), indent=2))
    elif fleet is not None and hasattr(fleet, "render_trace_tree"):
        click.echo(fleet.render_trace_tree(entries))
    else:
        for e in entries:
            click.echo(f"{e.seq:>6} {e.kind:<10} {e.agent or '':<14} {e.ref or ''}")


@click.group()
def ledger() -> None:
    """The hash-chained ledger."""


@ledger.command("verify")
@store_options
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), default=None,
              help="Also prove the ledger extends this signed checkpoint (needs --key).")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
              help="Public key (PEM) the checkpoint was signed with.")
@json_option
@friendly
def ledger_verify(db: str, policy: str, checkpoint_file: str | None, key_file: str | None,
                  as_json: bool) -> None:
    """Recompute every hash chain; exit 1 and name each altered entry if any.

    With --checkpoint and --key, also exit 1 if any entry the checkpoint covers was removed,
    rewritten, reordered or forged, even with every hash recomputed."""
    from accord.ledger import _checkpoint

    cp = key = None
    if checkpoint_file is not None or key_file is not None:
        if checkpoint_file is None or key_file is None:
            raise click.UsageError("--checkpoint and --key go together")
        cp = _checkpoint.Checkpoint.from_json(_read(checkpoint_file, "--checkpoint"),
                                              where="--checkpoint")
        key = _checkpoint.public_key(_read(key_file, "--key"), where="--key")
    with open_accord(db, policy) as acc:
        report = acc.verify_ledger(checkpoint=cp, key=key)
    if as_json:
        echo_json(report)
    elif report.ok:
        click.echo(f"ledger verified: {report.entries} entries in {report.chains} chains")
        if cp is not None:
            click.echo(f"consistent with the checkpoint of {cp.at} ({cp.size} entries in "
                       f"{len(cp.heads)} chains, key {cp.key_id})")
    else:
        click.echo(f"LEDGER ALTERED: {len(report.problems)} problem(s)")
        for p in report.problems:
            click.echo(f"  - {p}")
    sys.exit(0 if report.ok else 1)


@ledger.command("checkpoint")
@store_options
@click.option("--key", "key_file", type=click.Path(dir_okay=False), required=True,
              help="Ed25519 private key (PEM); keep it away from the database's host.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="File to write the signed checkpoint to (JSON).")
@friendly
def ledger_checkpoint(db: str, policy: str, key_file: str, out: str) -> None:
    """Sign the current chain heads and write them to --out.

    Keep checkpoints where whoever can write the database cannot (another host, object storage
    with retention); `ledger verify --checkpoint` later proves the ledger extends them."""
    from accord.ledger import _checkpoint

    key = _checkpoint.private_key(_read(key_file, "--key"), where="--key")
    with open_accord(db, policy) as acc:
        cp = acc.checkpoint(key)
    Path(out).write_text(cp.to_json())
    click.echo(f"checkpoint written to {out}: {cp.size} entries in {len(cp.heads)} chains, "
               f"root {cp.root[:16]}, key {cp.key_id}")


@ledger.command("keygen")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="Private key file to create (PEM, mode 0600); the public key goes to OUT.pub.")
def ledger_keygen(out: str) -> None:
    """Create an Ed25519 key pair for signing checkpoints."""
    from accord.ledger import _checkpoint

    private, public = _checkpoint.new_key()
    path = Path(out)
    if path.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    Path(f"{out}.pub").write_bytes(public)
    click.echo(f"private key: {out} (keep it off the database host); public key: {out}.pub")


def scheduled_checkpoints(db: str, policy: str, key_file: str | None, directory: str | None,
                          every: float) -> Any:
    """The checkpoint schedule ``accord serve`` runs when given a key, or None."""
    if key_file is None and directory is None:
        return None
    if key_file is None or directory is None:
        raise click.UsageError("--checkpoint-key and --checkpoint-dir go together")
    from accord.ledger import _checkpoint

    key = _checkpoint.private_key(_read(key_file, "--checkpoint-key"), where="--checkpoint-key")
    acc = open_accord(db, policy)
    return _checkpoint.Scheduled(acc, key, directory, every, close=True).start()


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}",
                                 param_hint=option) from None


@click.command()
@click.option("--db", default=":memory:", show_default=True, help="Store for the walk-through.")
def demo(db: str) -> None:
    """Walk through what the gate prevents, scenario by scenario, on an embedded store."""
    from accord.cli._demo import run

    run(db)
