"""The audit for people: a terminal report (rich) and one self-contained HTML page whose charts
are inline SVG — no JavaScript, no stylesheet or font fetched from anywhere, so it can be mailed to
an auditor as it is. The page is the autoescaped Jinja2 template ``templates/audit.html``; the
tables are the terminal report's, the charts' geometry is computed here."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from rich.console import Console
from rich.table import Table

from accord._charts import Chart, bar_chart

TITLES = {
    "agents": "1. Every agent: owner, scope, status, last action",
    "state": "2. Where shared state lives, who keeps it consistent, who writes which field",
    "protocols": "3. Which protocol each agent speaks",
    "chains": "4. Decision chains that can be reconstructed end to end",
    "approvals": "5. Where and why a human approves",
    "overlaps": "Overlapping seats",
    "handoffs": "Handoffs: unread, stuck, orphan outputs, human bridges",
    "prevented": "Coordination failures prevented",
    "cost": "Cost per agent and per trace",
    "collusion": "Agents that move together (collusion signal, for review)",
}


def _table(title: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for h in head:
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    if not rows:
        t.add_row("(none)", *[""] * (len(head) - 1))
    return t


def _tables(name: str, s: Any) -> list[Table]:
    t = TITLES[name]
    if name == "agents":
        return [_table(t, ["agent", "owner", "status", "intents", "channels", "last acted"],
                       [[a["id"], a["owner"], a["status"], ",".join(a["mandate"]["intents"]),
                         ",".join(a["mandate"]["channels"]), a["last_acted"] or "never"]
                        for a in s])]
    if name == "state":
        head = _table(t, ["store", "consistency"], [[f"{s['store']['backend']}: "
                                                     f"{s['store']['url']}", s["consistency"]]])
        return [head, _table("context fields", ["field", "writers", "granted to", "flag"],
                             [[f["field"], ", ".join(f["writers"]), ", ".join(f["granted_to"]),
                               "SEVERAL WRITERS" if f["several_writers"] else ""]
                              for f in s["fields"]])]
    if name == "protocols":
        return [_table(t, ["agent", "protocols"],
                       [[r["agent"], ", ".join(r["protocols"]) or "(not seen)"] for r in s])]
    if name == "chains":
        return [_table(t, ["decisions", "reconstructable", "share", "ledger verifies"],
                       [[s["decisions"], s["reconstructable"], f"{s['share']:.1%}",
                         "yes" if s["ledger_ok"] else "NO: " + "; ".join(s["ledger_problems"])]])]
    if name == "approvals":
        w = s["wait_seconds"]
        return [_table(t, ["flagged", "reviewed", "pending", "median wait s", "p90 wait s",
                           "irreversible without approval"],
                       [[s["flagged"], s["reviewed"], s["pending"], w["median"], w["p90"],
                         s["irreversible_without_approval"]]]),
                _table("rules that put a human there", ["rule", "count"],
                       list(s["by_rule"].items())),
                _table("where (agent · intent · channel)", ["where", "count"],
                       list(s["where"].items()))]
    if name == "overlaps":
        rows = [[" & ".join(o["seats"]), ", ".join(o["shared"]), "NO"] for o in s["unsettled"]]
        rows += [[" & ".join(o["seats"]), ", ".join(o["shared"]), f"yes ({o['winner']})"]
                 for o in s["settled"]]
        rows += [[r, "removed from the policy file, still in the registry", ""]
                 for r in s["removed_from_file"]]
        return [_table(t, ["seats", "shared", "settled by precedence"], rows)]
    if name == "handoffs":
        rows = [["unread", h["id"], f"{h['sender']} → {h['receiver']}", h["kind"]]
                for h in s["unread"]]
        rows += [["STUCK", h["id"], f"{h['sender']} → {h['receiver']}",
                  f"{h['kind']} (+{h['overdue_seconds']}s)"] for h in s["stuck"]]
        rows += [["orphan output", k, ", ".join(v), "no seat consumes it"]
                 for k, v in s["orphan_outputs"].items()]
        rows += [["human bridge", b["person"], f"{b['from']} → {b['to']}",
                  f"{b['relays']} relays"] for b in s["human_bridges"]]
        return [_table(f"{t} ({s['sent']} sent, {s['acked']} acked)",
                       ["finding", "what", "who", "detail"], rows)]
    if name == "prevented":
        return [_table(t, ["kind", "count"], list(s["by_kind"].items())),
                _table("by agent pair", ["pair", "count"], list(s["by_pair"].items()))]
    if name == "cost":
        return [_table(t, ["agent", "usd", "tokens"],
                       [[a, v["usd"], v["tokens"]] for a, v in s["per_agent"].items()]),
                _table("top traces", ["trace", "usd", "tokens", "proposals"],
                       [[r["trace_id"], r["usd"], r["tokens"], r["proposals"]]
                        for r in s["per_trace"][:10]])]
    if name == "collusion":
        return [_table(t, ["agents", "what", "r", "p", "shared customers", "flag"],
                       [[" & ".join(p["agents"]), p["what"], p["r"], p["p"], p["support"],
                         "REVIEW" if p["flagged"] else ""] for p in s["pairs"][:15]])]
    return []


def render_audit_text(audit: dict[str, Any], width: int = 140) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False)
    console.print(f"Accord fleet audit — {audit['generated_at']} — policy "
                  f"{audit['policy_version']} — store {audit['store']}")
    for name in TITLES:
        if name in audit:
            for t in _tables(name, audit[name]):
                console.print(t)
    return buf.getvalue()


def _bars(title: str, items: Sequence[tuple[str, float]]) -> Chart:
    """The audit's spacing: a title line above, rows 22 px apart, labels cut at 34 characters."""
    return bar_chart(items, title=title, fmt=lambda v: f"{v:g}", label_chars=34, label_w=230,
                     bar_w=380, row_h=22, top=28, right=30, bottom=2)


def _grid(t: Table) -> dict[str, Any]:
    """A terminal table's title, header and cells, for the page to lay out as HTML."""
    cells = [[str(c) for c in col.cells] for col in t.columns]
    return {"title": str(t.title or ""), "head": [str(c.header) for c in t.columns],
            "rows": [[col[i] for col in cells] for i in range(len(t.rows))]}


_ENV = Environment(loader=PackageLoader("accord.fleet", "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
# the audit rides along as JSON for machines, in the order compute_audit built it
_ENV.policies["json.dumps_kwargs"] = {"default": str}


def render_audit_html(audit: dict[str, Any]) -> str:
    """One page, no external resources; the audit's JSON is embedded for machines."""
    charts = []
    if "prevented" in audit:
        charts.append(_bars("Coordination failures prevented, by kind",
                            list(audit["prevented"]["by_kind"].items())))
    if "approvals" in audit:
        charts.append(_bars("Human approvals, by rule",
                            list(audit["approvals"]["by_rule"].items())))
    if "cost" in audit:
        charts.append(_bars("Spend per agent (USD)", [(a, v["usd"]) for a, v in
                                                      audit["cost"]["per_agent"].items()]))
    if "chains" in audit:
        c = audit["chains"]
        charts.append(_bars("Decision chains", [("reconstructable", c["reconstructable"]),
                                               ("not", c["decisions"] - c["reconstructable"])]))
    sections = [[_grid(t) for t in _tables(name, audit[name])] for name in TITLES
                if name in audit]
    return _ENV.get_template("audit.html").render(audit=audit, charts=charts, sections=sections)
