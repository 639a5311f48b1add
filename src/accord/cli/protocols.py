"""``accord mcp``: serve Accord to one agent over MCP on stdin/stdout.

An MCP host (Claude Desktop, Cursor, an agent framework) launches this command per agent; the
``--agent`` it is launched with is the only seat the session can act as.
"""

from __future__ import annotations

import click

from accord.cli._common import friendly, open_accord, store_options


@click.command()
@click.option("--agent", required=True, envvar="ACCORD_AGENT",
              help="The seat this MCP session acts as ($ACCORD_AGENT).")
@store_options
@friendly
def mcp(agent: str, db: str, policy: str) -> None:
    """Serve Accord to one agent over MCP (stdio).

    The tools (get_context, propose, report_outcome, record_event, claim, release,
    send_handoff, read_inbox, ack_handoff, explain_decision) always act as --agent.
    """
    from accord._errors import Forbidden
    from accord.protocols.mcp import refuse_stdio, run_stdio

    service = open_accord(db, policy)
    try:
        if agent not in service.policy.agents:
            seats = ", ".join(sorted(service.policy.agents)) or "none"
            refused = Forbidden(f"agent {agent!r} is not a seat in {policy}", where="--agent",
                                hint=f"the seats are: {seats}")
            refuse_stdio(refused)   # the MCP client shows why, not "Connection closed"
            raise refused
        run_stdio(service, agent)
    finally:
        service.close()
