"""The ``accord`` command. Each command lives in its own module and is imported only when run,
so ``accord --help`` stays fast and optional dependencies load only for the commands that need
them."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

# name → (module, attribute, one-line help). Help text is the source of docs/cli.md.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("accord.cli.core", "init", "Write a commented example accord.yaml."),
    "demo": ("accord.cli.core", "demo", "Walk through the gate's scenarios on a fresh store."),
    "propose": ("accord.cli.core", "propose", "Ask the gate whether an agent may act."),
    "outcome": ("accord.cli.core", "outcome", "Report what became of a go: executed/failed/…"),
    "event": ("accord.cli.core", "event", "Record a fact about a customer."),
    "context": ("accord.cli.core", "context", "Show a customer's shared context."),
    "customer": ("accord.cli.customer", "customer", "Export or erase one customer's data."),
    "approvals": ("accord.cli.core", "approvals", "List, approve or reject flagged proposals."),
    "trace": ("accord.cli.core", "trace", "Show a decision chain across agents."),
    "ledger": ("accord.cli.core", "ledger", "Verify, checkpoint or keygen the signed ledger."),
    "policy": ("accord.cli.policy", "policy", "Check, test, replay or apply a policy file."),
    "db": ("accord.cli.db", "db", "Distribute a PostgreSQL store over Citus nodes."),
    "bench": ("accord.cli.bench", "bench", "Measure the gate, the store and the HTTP path."),
    "serve": ("accord.cli.serve", "serve", "Run the HTTP API, MCP, A2A and the dashboard."),
    "token": ("accord.cli.serve", "token", "Create or revoke API tokens."),
    "mcp": ("accord.cli.protocols", "mcp", "Serve Accord to one agent over MCP (stdio)."),
    "simulate": ("accord.cli.simulate", "simulate", "Simulate a fleet with and without Accord."),
    "attribution": ("accord.cli.attribution", "attribution",
                    "Credit conversions to agents, channels and combinations."),
    "report": ("accord.cli.report", "report",
               "Lift of treated customers over the policy holdout."),
    "seat": ("accord.cli.fleet", "seat", "Register, pause, resume or retire agent seats."),
    "handoff": ("accord.cli.fleet", "handoff", "Send, list and acknowledge handoffs."),
    "audit": ("accord.cli.fleet", "audit", "The fleet audit: owners, state, protocols, chains."),
    "outbox": ("accord.cli.delivery", "outbox", "List deliveries or run one dispatch pass."),
    "audience": ("accord.cli.delivery", "audience", "Export suppression audiences for ads."),
    "inbound": ("accord.cli.delivery", "inbound", "Email reports in as events."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, (mod, _, _) in COMMANDS.items() if _available(mod))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            raise click.ClickException(
                f"`accord {name}` needs {exc.name}; install accord with its extras: "
                "pip install 'accord[server,postgres,protocols]'") from None
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="accord")
def main() -> None:
    """Accord — the coordination layer for fleets of AI agents.

    Every command that opens a store takes --db (a SQLite path or a postgresql:// URL; default
    accord.db or $ACCORD_DB) and --policy (default accord.yaml or $ACCORD_POLICY).
    """
