"""The CLI as a new user meets it: help that matches the commands, refusals that say why."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from accord.cli import COMMANDS, main

from ..conftest import EXAMPLE_POLICY

# A group's one-line help may name a subcommand by its full word.
_ALIASES = {("handoff", "acknowledge"): "ack", ("handoff", "list"): "inbox"}
_VERBS = re.compile(r"^(\w+)((?:, \w+)*)(?:,? (?:or|and) (\w+))? ")


def test_each_groups_one_line_help_names_only_subcommands_that_exist() -> None:
    ctx = click.Context(main)
    for name, (_, _, summary) in COMMANDS.items():
        group = main.get_command(ctx, name)
        if not isinstance(group, click.Group):
            continue
        m = _VERBS.match(summary)
        assert m is not None, summary
        verbs = [m.group(1), *m.group(2).split(", ")[1:], *([m.group(3)] if m.group(3) else [])]
        subs = set(group.list_commands(ctx))
        for verb in (v.lower() for v in verbs):
            assert _ALIASES.get((name, verb), verb) in subs, (
                f"`accord --help` says {name}: {summary!r} but `accord {name}` has only "
                f"{sorted(subs)}")


def test_a_token_for_a_seat_that_does_not_exist_is_refused_with_the_seats_there_are(
        store_url: str, tmp_path: Path) -> None:
    policy = tmp_path / "accord.yaml"
    policy.write_text(EXAMPLE_POLICY.read_text())
    args = ["token", "create", "--db", store_url, "--policy", str(policy)]
    out = CliRunner().invoke(main, [*args, "--agent", "nosuch"])
    assert out.exit_code == 2
    assert "--agent: no seat 'nosuch'" in out.output and "upsell" in out.output
    assert "accord seat register" in out.output
    made = CliRunner().invoke(main, [*args, "--agent", "upsell", "--json"])
    assert made.exit_code == 0, made.output
    assert '"subject": "upsell"' in made.output


def test_a_token_for_a_seat_registered_at_run_time_needs_no_policy_file(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from accord import Accord

    with Accord.open(store_url, policy=EXAMPLE_POLICY) as acc:
        acc.register_seat({"id": "night-shift", "owner": "ops", "mandate": {"intents": ["support"],
                           "channels": ["email"]}}, by="person:ops")
    monkeypatch.chdir(tmp_path)  # no accord.yaml here: the store's registry decides
    runner = CliRunner()
    made = runner.invoke(main, ["token", "create", "--db", store_url, "--agent", "night-shift"])
    assert made.exit_code == 0, made.output
    refused = runner.invoke(main, ["token", "create", "--db", store_url, "--agent", "nosuch"])
    assert refused.exit_code == 2 and "no seat 'nosuch'" in refused.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_accord_serve_keeps_idle_connections_open_longer_than_clients_reuse_them(
        workers: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that closes an idle connection when a pooled client may still reuse it (uvicorn
    and httpx both default to 5 s) races that client's next request: a reset, httpx.ReadError."""
    import httpx
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    for name in ("ACCORD_DB", "ACCORD_POLICY", "ACCORD_MAX_IN_FLIGHT", "ACCORD_BASE_URL"):
        monkeypatch.setenv(name, "")  # --workers sets them for its workers; undone after
    policy = tmp_path / "accord.yaml"
    policy.write_text(EXAMPLE_POLICY.read_text())
    out = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "accord.db"), "--policy",
                                    str(policy), "--workers", workers])
    assert out.exit_code == 0, out.output
    client_expiry = httpx.Limits().keepalive_expiry or 0.0
    assert isinstance(seen["timeout_keep_alive"], int)
    assert seen["timeout_keep_alive"] > max(client_expiry, 60)  # httpx, and load balancers


def test_creating_a_token_writes_its_row_without_importing_the_web_framework(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    db = str(tmp_path / "a.db")
    code = ("import sys\nfrom accord.cli import main\n"
            f"main(['token', 'create', '--db', {db!r}, '--admin', 'ops'], standalone_mode=False)\n"
            "print('loaded:', sorted({m.split('.')[0] for m in sys.modules} & "
            "{'fastapi', 'starlette'}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert run.stdout.splitlines()[-1] == "loaded: []", run.stdout + run.stderr
    assert run.stdout.splitlines()[-2].startswith("acc_")
