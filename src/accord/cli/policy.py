"""``accord policy check|test|replay|apply``."""

from __future__ import annotations

import json
import sys

import click

from accord.cli._common import db_option, friendly, json_option, open_accord


@click.group()
def policy() -> None:
    """Policy as code: validate, test, replay history under a new file, apply."""


@policy.command()
@click.argument("path", default="accord.yaml", envvar="ACCORD_POLICY")
@json_option
def check(path: str, as_json: bool) -> None:
    """Validate PATH; every problem names file, line and rule id. Exit 1 if invalid."""
    from accord._errors import PolicyError
    from accord.policy import Policy

    try:
        pol = Policy.load(path)
    except PolicyError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problems": exc.problems}, indent=2))
        else:
            click.echo(f"{path}: INVALID", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
        sys.exit(1)
    s = pol.spec
    if as_json:
        from accord.fleet import overlaps

        click.echo(json.dumps({"ok": True, "version": pol.version, "agents": len(s.agents),
                               "rules": len(s.rules), "warnings": list(pol.warnings),
                               "overlaps": [o.model_dump() for o in overlaps(pol)]}, indent=2))
        return
    click.echo(f"{path}: ok (version {pol.version}) — {len(s.agents)} agents, {len(s.caps)} caps, "
               f"{len(s.spacing)} spacing, {len(s.conflicts)} conflicts, {len(s.rules)} rules, "
               f"{len(s.reducers)} reducers, {len(s.tests)} examples")
    for w in pol.warnings:
        click.echo(f"  warning: {w}")
    from accord.fleet import overlaps

    for o in overlaps(pol):
        if not o.settled_by_precedence:
            click.echo(f"  overlap: {o.sentence()}")


@policy.command("test")
@click.argument("path", default="accord.yaml", envvar="ACCORD_POLICY")
@json_option
@friendly
def test_(path: str, as_json: bool) -> None:
    """Run the policy's own examples (its `tests:` section). Exit 1 on any failure."""
    from accord.policy import Policy
    from accord.policy._cases import run_cases

    results = run_cases(Policy.load(path))
    failed = [r for r in results if not r.ok]
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            mark = click.style("PASS", fg="green") if r.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark}  {r.name}  ({r.got}{': ' + ', '.join(r.rules) if r.rules else ''})")
            if not r.ok:
                click.echo(f"      {r.message}")
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


@policy.command()
@click.argument("new_policy")
@db_option
@json_option
@friendly
def replay(new_policy: str, db: str, as_json: bool) -> None:
    """Re-decide the recorded history in --db under NEW_POLICY and print what would change."""
    from accord.policy import Policy
    from accord.policy.replay import replay as run
    from accord.service import Accord

    new = Policy.load(new_policy)
    with Accord.open(db, policy=new) as acc:
        report = run(acc.iter_ledger(), new)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    click.echo(f"re-decided {report.decisions} proposals under {new_policy} "
               f"(version {new.version}): {len(report.changed)} would change")
    for c in report.changed:
        click.echo(f"  {c.decision_id}  {c.agent} → {c.customer}: {c.before} → {c.after}  "
                   f"[{', '.join(c.rules_before) or '-'}] → [{', '.join(c.rules_after) or '-'}]")
    for s in report.skipped[:20]:
        click.echo(f"  skipped: {s}")


@policy.command()
@click.argument("path")
@db_option
@click.option("--by", default="cli", show_default=True, help="Who applies it (recorded).")
@friendly
def apply(path: str, db: str, by: str) -> None:
    """Put PATH in force for every server on --db, without a restart."""
    from pathlib import Path

    with open_accord(db, path) as acc:
        new = acc.apply_policy(Path(path).read_text("utf-8"), by=by, source=path)
    click.echo(f"policy {new.version} applied; every replica adopts it within a second")
