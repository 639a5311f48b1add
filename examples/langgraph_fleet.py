"""Three agents, one customer, one email: a LangGraph fleet behind Accord's guard.

churn-guard, upsell and reengage are nodes of one StateGraph. Each decides, on its own, to
email the same customer the same afternoon — the signal collision every siloed fleet has. Their
``send_email`` tool is guarded: it runs only when Accord's gate says go, so one email goes out
and the other two are blocked with the rules that stopped them.

Deterministic: no LLM, no network; a fresh SQLite file and a fixed clock.

    python examples/langgraph_fleet.py
"""

# No ``from __future__ import annotations``: LangGraph reads the state type at runtime.

import operator
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.tools import BaseTool, tool
from langgraph.graph import END, START, StateGraph

from accord import Accord
from accord.guard import BlockedResult, guard

POLICY = Path(__file__).resolve().parents[1] / "src" / "accord" / "templates" / "accord.yaml"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC).timestamp()
FLEET = [("churn-guard", "retain", "We noticed you have not logged in — can we help?"),
         ("upsell", "upsell", "Upgrade to Pro and save 10%"),
         ("reengage", "reactivate", "It has been a while! Here is what is new")]


class Journey(TypedDict):
    customer: str
    sent: Annotated[list[dict[str, Any]], operator.add]
    blocked: Annotated[list[dict[str, Any]], operator.add]


def send_email_tool(acc: Accord, agent: str, intent: str, outbox: list[dict[str, Any]]
                    ) -> BaseTool:
    """The agent's email tool, with the gate in front of it."""

    @tool("send_email")
    @guard(acc, agent=agent, channel="email", intent=intent, on_block="return",
           customer=lambda customer, subject: customer,
           topic=lambda customer, subject: subject)
    def send_email(customer: str, subject: str) -> str:
        """Send one email to a customer."""
        outbox.append({"agent": agent, "customer": customer, "subject": subject})
        return f"sent to {customer}"

    return send_email


def build_graph(acc: Accord, outbox: list[dict[str, Any]]) -> Any:
    graph = StateGraph(Journey)
    previous = START
    for agent, intent, subject in FLEET:
        send = send_email_tool(acc, agent, intent, outbox)

        def node(state: Journey, agent: str = agent, subject: str = subject,
                 send: BaseTool = send) -> dict[str, Any]:
            result = send.invoke({"customer": state["customer"], "subject": subject})
            if isinstance(result, BlockedResult):
                return {"blocked": [{"agent": agent, "outcome": result.outcome,
                                     "rules": [r.rule for r in result.reasons],
                                     "why": result.why}]}
            return {"sent": [{"agent": agent, "subject": subject}]}

        graph.add_node(agent, node)
        graph.add_edge(previous, agent)
        previous = agent
    graph.add_edge(previous, END)
    return graph.compile()


def main(db: str | Path | None = None) -> dict[str, Any]:
    """Run the fleet against one customer; print and return what went out and what was blocked."""
    with tempfile.TemporaryDirectory() as tmp:
        acc = Accord.open(db or Path(tmp) / "accord.db", policy=POLICY, clock=lambda: NOW)
        try:
            outbox: list[dict[str, Any]] = []
            final = build_graph(acc, outbox).invoke({"customer": "cust-42", "sent": [],
                                                     "blocked": []})
        finally:
            acc.close()
    for s in final["sent"]:
        print(f"SENT     {s['agent']:<12} {s['subject']}")
    for b in final["blocked"]:
        print(f"BLOCKED  {b['agent']:<12} {b['outcome']}: {b['why']}")
    print(f"{len(outbox)} email reached cust-42 instead of {len(FLEET)}.")
    return {"sent": final["sent"], "blocked": final["blocked"], "outbox": outbox}


if __name__ == "__main__":
    main()
