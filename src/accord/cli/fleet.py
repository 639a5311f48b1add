"""`accord seat`, `accord handoff` and `accord audit`: the fleet, governed from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from accord.cli._common import echo_json, friendly, json_option, open_accord, store_options

_SECTIONS = ("agents", "state", "protocols", "chains", "approvals", "overlaps", "handoffs",
             "prevented", "cost", "collusion")


def _change(change: Any, as_json: bool) -> None:
    if as_json:
        echo_json(change)
        return
    s = change.seat
    click.echo(f"{s.id}: {change.action} → {s.status}")
    if change.revoked:
        click.echo(f"revoked {len(change.revoked)} pending touch(es): {', '.join(change.revoked)}")
    o = change.orphaned
    for label, items in (("intents", o.intents), ("channels", o.channels),
                         ("handoff kinds no one consumes now", o.unconsumed_kinds),
                         ("handoff kinds no one produces now", o.unproduced_kinds)):
        if items:
            click.echo(f"left without an owner — {label}: {', '.join(items)}")
    for ov in change.overlaps:
        click.echo(f"overlap: {ov.sentence()}")


@click.group()
def seat() -> None:
    """Agent seats: a lifecycle (register, update, pause, resume, retire), each change recorded
    in the ledger with who made it.

    The policy file declares seats; the registry in the store records run-time changes. The
    registry wins for status and for seats registered at run time; the file wins for every other
    field on each policy apply (see docs/governance.md)."""


@seat.command("list")
@store_options
@json_option
@friendly
def seat_list(db: str, policy: str, as_json: bool) -> None:
    """Every seat with owner, mandate (intents @ channels) and status."""
    with open_accord(db, policy) as acc:
        seats = acc.seats()
        removed = acc.seats_removed_from_file()
        from accord.fleet import overlaps

        found = overlaps(acc.policy)
    if as_json:
        echo_json({"seats": [s.model_dump(mode="json") for s in seats],
                   "overlaps": [o.model_dump(mode="json") for o in found],
                   "removed_from_file": removed})
        return
    for s in seats:
        scope = f"{','.join(s.intents) or '-'} @ {','.join(s.channels) or '-'}"
        click.echo(f"{s.id:<18} {s.status:<8} owner={s.owner:<18} {scope}"
                   + ("" if s.origin == "file" else "  (registered at run time)"))
    for o in found:
        if not o.settled_by_precedence:
            click.echo(f"overlap: {o.sentence()}")
    for r in removed:
        click.echo(f"warning: {r} is no longer in the policy file but still seated; retire it or "
                   "restore it")


@seat.command("register")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", required=True, help="Who registers it (person:<name> or a team).")
@store_options
@json_option
@friendly
def seat_register(spec_file: str, by: str, db: str, policy: str, as_json: bool) -> None:
    """Register a seat from a JSON or YAML file holding one agent spec."""
    import yaml

    spec = yaml.safe_load(Path(spec_file).read_text(encoding="utf-8"))
    with open_accord(db, policy) as acc:
        _change(acc.register_seat(spec, by=by), as_json)


@seat.command("update")
@click.argument("agent_id")
@click.argument("changes")
@click.option("--by", required=True, help="Who changes it.")
@store_options
@json_option
@friendly
def seat_update(agent_id: str, changes: str, by: str, db: str, policy: str,
                as_json: bool) -> None:
    """Change top-level fields of a seat: CHANGES is a JSON object, e.g. '{"owner": "growth"}'."""
    with open_accord(db, policy) as acc:
        _change(acc.update_seat(agent_id, json.loads(changes), by=by), as_json)


@seat.command("pause")
@click.argument("agent_id")
@click.option("--by", required=True, help="Who pulls the switch.")
@click.option("--reason", required=True, help="Why (sent with every revocation).")
@store_options
@json_option
@friendly
def seat_pause(agent_id: str, by: str, reason: str, db: str, policy: str, as_json: bool) -> None:
    """Kill switch: stop the seat's next proposal everywhere and revoke its pending touches."""
    with open_accord(db, policy) as acc:
        _change(acc.pause_seat(agent_id, by=by, reason=reason), as_json)


@seat.command("resume")
@click.argument("agent_id")
@click.option("--by", required=True)
@store_options
@json_option
@friendly
def seat_resume(agent_id: str, by: str, db: str, policy: str, as_json: bool) -> None:
    """Let a paused seat act again."""
    with open_accord(db, policy) as acc:
        _change(acc.resume_seat(agent_id, by=by), as_json)


@seat.command("retire")
@click.argument("agent_id")
@click.option("--by", required=True)
@store_options
@json_option
@friendly
def seat_retire(agent_id: str, by: str, db: str, policy: str, as_json: bool) -> None:
    """Retire a seat; prints every intent, channel and handoff kind left without an owner."""
    with open_accord(db, policy) as acc:
        _change(acc.retire_seat(agent_id, by=by), as_json)


@click.group()
def handoff() -> None:
    """Structured messages between agents (or to a person: person:<name>)."""


@handoff.command("send")
@click.argument("sender")
@click.argument("receiver")
@click.argument("kind")
@click.option("--payload", default="{}", help="JSON object.")
@click.option("--customer", default=None)
@click.option("--trace-id", default=None)
@click.option("--parent-id", default=None)
@click.option("--artifact", "artifacts", multiple=True,
              help="ID_OR_URI=SHA256 (repeatable): what the handoff was built from.")
@store_options
@json_option
@friendly
def handoff_send(sender: str, receiver: str, kind: str, payload: str, customer: str | None,
                 trace_id: str | None, parent_id: str | None, artifacts: tuple[str, ...],
                 db: str, policy: str, as_json: bool) -> None:
    """Send a handoff of KIND from SENDER to RECEIVER's inbox."""
    refs = []
    for a in artifacts:
        name, _, digest = a.rpartition("=")
        refs.append({"uri" if "://" in name else "id": name, "sha256": digest})
    with open_accord(db, policy) as acc:
        h = acc.handoff(sender, receiver, kind, json.loads(payload), customer=customer,
                        artifacts=refs, trace_id=trace_id, parent_id=parent_id, via="cli")
    if as_json:
        echo_json(h)
    else:
        click.echo(f"{h.id}: {sender} → {receiver} [{kind}] due {h.due_at:%Y-%m-%dT%H:%MZ}")


@handoff.command("inbox")
@click.argument("agent")
@click.option("--all", "include_acked", is_flag=True, help="Include acknowledged handoffs.")
@store_options
@json_option
@friendly
def handoff_inbox(agent: str, include_acked: bool, db: str, policy: str, as_json: bool) -> None:
    """AGENT's waiting handoffs (marks them read)."""
    with open_accord(db, policy) as acc:
        items = acc.inbox(agent, include_acked=include_acked)
    if as_json:
        echo_json(items)
        return
    for h in items:
        click.echo(f"{h.id} {h.status:<6} from {h.sender} [{h.kind}] {json.dumps(h.payload)}")


@handoff.command("ack")
@click.argument("handoff_id")
@click.option("--agent", required=True, help="The receiver acknowledging it.")
@store_options
@json_option
@friendly
def handoff_ack(handoff_id: str, agent: str, db: str, policy: str, as_json: bool) -> None:
    """Acknowledge a handoff."""
    with open_accord(db, policy) as acc:
        h = acc.ack_handoff(handoff_id, agent=agent)
    if as_json:
        echo_json(h)
    else:
        click.echo(f"{h.id} acknowledged by {agent}")


@click.command()
@click.argument("section", required=False, type=click.Choice(_SECTIONS))
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML page with charts here.")
@store_options
@json_option
@friendly
def audit(section: str | None, html_path: str | None, db: str, policy: str,
          as_json: bool) -> None:
    """The fleet audit, from the store's own data. With SECTION, just that answer:

    \b
      agents     every agent with owner, mandate, status, last action
      state      where shared state lives; who writes which context field
      protocols  which protocol each agent speaks (HTTP, MCP, A2A, in-process)
      chains     the share of decisions whose chain is fully reconstructable
      approvals  where humans approve, which rules put them there, how long they wait
    and overlaps, handoffs, prevented, cost, collusion."""
    from accord.fleet import SECTIONS, compute_audit, render_audit_html, render_audit_text

    with open_accord(db, policy) as acc:
        report = compute_audit(acc, sections=(section,) if section else SECTIONS)
    if html_path:
        Path(html_path).write_text(render_audit_html(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo(render_audit_text(report), nl=False)
        if html_path:
            click.echo(f"wrote {html_path}")
