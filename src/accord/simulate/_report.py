"""The report: one self-contained HTML page (inline CSS and SVG, no external asset, no script)
and a terminal summary, both formatted from the results dict and nothing else.

The page's markup is the autoescaped Jinja2 template ``templates/report.html`` (its charts are
macros in ``templates/_charts.html``); this module picks and formats the numbers and ``_svg``
computes the charts' geometry.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from accord._time import iso
from accord.simulate._svg import ARM_COLORS, PALETTE, Bars, grouped_bars, lines, week

LABELS = {
    "touches_per_customer_week_mean": "touches per customer per week (mean)",
    "touches_per_customer_week_p95": "touches per customer per week (p95)",
    "touches_per_customer_week_max": "touches per customer per week (max)",
    "customers_hit_by_2_agents_72h": "customers hit by 2+ agents within 72 h",
    "collision_touches": "touches within 72 h of another agent's touch",
    "contradictory": "contradictory messages (retain/upsell/reactivate in 7 d)",
    "sends_after_purchase": "re-engagement sends within 30 d of a purchase",
    "sends_after_opt_out": "sends after an opt-out",
    "approvals_requested": "approvals requested",
    "unsubscribes": "unsubscribes and opt-outs",
    "complaints": "complaints",
    "conversions": "conversions",
    "revenue": "bookings (USD)",
    "incremental_revenue": "incremental revenue vs untouched (USD)",
    "spend": "channel spend (USD)",
    "net_value": "net value: incremental − spend − priced unsubs/complaints (USD)",
}
SUMMARY_LABELS = {
    "sends_after_opt_out": "sends after an opt-out",
    "reengage_after_purchase": "re-engagement sends within 30 d of a purchase",
    "contradictions": "contradictory messages",
    "collision_touches": "touches within 72 h of another agent's touch",
    "complaints": "complaints",
    "unsubscribes": "unsubscribes and opt-outs",
    "conversions": "conversions",
    "revenue": "bookings (USD)",
    "incremental_revenue": "incremental revenue vs untouched (USD)",
    "channel_spend": "channel spend (USD)",
    "net_value": "net value (USD)",
    "touches_per_customer_week": "touches per customer per week",
}
"""Labels of ``results.json`` ``summary`` metrics, in the order the summary table shows them."""
HIGHER_IS_BETTER = {"conversions", "revenue", "incremental_revenue", "net_value"}
HARMS = (
    "customers_hit_by_2_agents_72h",
    "collision_touches",
    "contradictory",
    "sends_after_purchase",
    "sends_after_opt_out",
    "unsubscribes",
    "complaints",
)
TOUCHES = (
    "touches_per_customer_week_mean",
    "touches_per_customer_week_p95",
    "touches_per_customer_week_max",
)
DAILY = (
    ("delivered", "touches delivered per day"),
    ("unsubscribes", "unsubscribes per day"),
    ("revenue", "revenue per day (USD)"),
)
GATE_COUNTS = (
    "proposals",
    "go",
    "defer",
    "flag",
    "stop",
    "revoked_before_send",
    "approved",
    "rejected",
)
SENSITIVITY_COLUMNS = (
    "revenue_without",
    "revenue_with",
    "revenue_delta",
    "incremental_without",
    "incremental_with",
    "incremental_delta",
    "net_value_delta",
    "unsubscribes_without",
    "unsubscribes_with",
    "unsubscribe_delta",
    "complaint_delta",
    "conversion_delta",
)


_ENV = Environment(
    loader=PackageLoader("accord.simulate", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Cell(NamedTuple):
    """A table cell the page colours: ``css`` is better, worse or muted."""

    text: str
    css: str


Row = list[str | Cell]


def _n(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _pct(share: float, digits: int = 1) -> str:
    return f"{share * 100:.{digits}f}%"


def _change(base: float, new: float, higher_is_better: bool | None) -> Cell:
    if base == new:
        return Cell("—", "muted")
    pct = f" ({(new - base) / base * 100:+.0f}%)" if base else ""
    css = (
        "muted"
        if higher_is_better is None
        else ("better" if (new > base) == higher_is_better else "worse")
    )
    diff: float | int = int(new - base) if base % 1 == 0 and new % 1 == 0 else new - base
    return Cell(f"{'+' if diff > 0 else ''}{_n(diff)}{pct}", css)


def _color(arm: str) -> str:
    return ARM_COLORS.get(arm, "#555")


def render_html(res: dict[str, Any]) -> str:
    """The whole page as one string; open it offline, mail it, archive it."""
    arms = res["arms"]
    names = list(arms)
    cfg = res["config"]
    series = [(arms[a]["label"], _color(a)) for a in names]
    charts = [
        grouped_bars([(LABELS[k], [float(arms[a][k]) for a in names]) for k in keys], series)
        for keys in (HARMS, TOUCHES)
    ]
    daily = [
        lines(
            [
                (arms[a]["label"], _color(a), arms[a]["daily"].get(metric, [0.0] * cfg["days"]))
                for a in names
            ],
            title=title,
        )
        for metric, title in DAILY
    ]
    return _ENV.get_template("report.html").render(
        customers=f"{cfg['customers']:,}",
        days=cfg["days"],
        seed=cfg["seed"],
        headline=_headline(res, names),
        summary=summary_table(res),
        seeds=len(res.get("seeds") or [cfg["seed"]]),
        interval=res.get("interval", ""),
        revenue=_revenue_moves(res, names),
        charts=charts,
        daily=daily,
        agents=_agents(res, names),
        gate=_gate(res, names),
        attribution=_attribution(res, names),
        timeline=_timeline(res, names),
        model=_model(res),
        lift=lift_tables(res),
    )


def _lift_cell(i: dict[str, float] | None, share: bool) -> str:
    if i is None:
        return "–"

    def f(x: float) -> str:
        return f"{x * 100:.2f} %" if share else f"{x:,.2f}"

    return f"{f(i['estimate'])} [{f(i['low'])}, {f(i['high'])}]"


def lift_tables(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Per coordinated arm with a holdout: the lift report (``accord report lift``) over the run,
    treated against holdout customers, first seed."""
    out = []
    for name, rep in (res.get("lift") or {}).items():
        rows = []
        for m in rep["metrics"]:
            share = m["kind"] == "share"
            rows.append([m["label"], _lift_cell(m["treated"], share),
                         _lift_cell(m["holdout"], share), _lift_cell(m["difference"], share),
                         m["verdict"]])
        out.append({
            "label": res["arms"][name]["label"],
            "share": rep["holdout"]["share"],
            "treated": f"{rep['customers']['treated']:,}",
            "holdout": f"{rep['customers']['holdout']:,}",
            "note": rep["note"],
            "head": ["metric", "treated", "holdout", "treated − holdout (95 % CI)", "verdict"],
            "rows": rows,
        })
    return out


def _headline(res: dict[str, Any], names: list[str]) -> tuple[list[str], list[Row]]:
    arms = res["arms"]
    labels = [arms[a]["label"] for a in names]
    rows: list[Row] = []
    for key in res["headline"]:
        vals = [arms[a][key] for a in names]
        better_up = (
            True
            if key in HIGHER_IS_BETTER
            else None
            if key == "approvals_requested"
            else False
        )
        row: Row = [LABELS.get(key, key), *(_n(v) for v in vals)]
        row += [_change(float(vals[0]), float(v), better_up) for v in vals[1:]]
        rows.append(row)
    return ["metric", *labels] + [f"change ({lbl})" for lbl in labels[1:]], rows


def _revenue_moves(res: dict[str, Any], names: list[str]) -> dict[str, Any] | None:
    """Where revenue moved, per agent, so a revenue difference is never a mystery."""
    if len(names) < 2:
        return None
    base = {a["agent"]: a for a in res["arms"][names[0]]["per_agent"]}
    moved = []
    for a in res["arms"][names[1]]["per_agent"]:
        delta = a["revenue"] - base[a["agent"]]["revenue"]
        if abs(delta) >= 1:
            moved.append((delta, a))
    moved.sort(key=lambda x: abs(x[0]), reverse=True)
    if not moved:
        return None
    return {
        "new": res["arms"][names[1]]["label"],
        "old": res["arms"][names[0]]["label"],
        "moved": [
            {
                "agent": a["agent"],
                "delta": f"{'+' if d > 0 else ''}{_n(round(d))}",
                **{k: _n(a[k]) for k in ("deferred", "flagged", "stopped")},
            }
            for d, a in moved[:3]
        ],
    }


def _agents(res: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Each agent's own dashboard in the first arm, then every arm's customer journeys."""
    base = res["arms"][names[0]]
    j = base["journeys"]
    return {
        "label": base["label"],
        "rows": [
            [
                a["agent"],
                _n(a["sent"]),
                _pct(a["conversion_rate"]),
                _n(a["unsub_per_1000"]),
                _n(a["claimed_conversions"]),
                _n(a["revenue"]),
            ]
            for a in base["per_agent"]
            if a["proposals"]
        ],
        "claimed": _n(base["claimed_conversions_total"]),
        "conversions": _n(base["conversions"]),
        "unsubscribed": _pct(j["share_unsubscribed"]),
        "collided": _pct(j["share_collided"]),
        "heavy": _pct(j["unsub_rate_heavy"]),
        "light": _pct(j["unsub_rate_light"]),
        "journeys": [
            [
                res["arms"][a]["label"],
                *(
                    _pct(res["arms"][a]["journeys"][f"share_{k}"], 2)
                    for k in ("unsubscribed", "complained", "converted", "collided")
                ),
                _n(res["arms"][a]["churned_at_end"]),
            ]
            for a in names
        ],
    }


def _gate(res: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Per coordinated arm: what the gate decided, and which rules held how many proposals."""
    out = []
    for a in names[1:]:
        arm = res["arms"][a]
        rules = list(arm["rules"].items())[:12]
        chart: Bars | None = None
        if rules:
            held = [("proposals held by this rule", _color(a))]
            chart = grouped_bars([(r, [float(v)]) for r, v in rules], held, shared_scale=True)
        redecided = arm.get("redecided") or {}
        out.append(
            {
                "label": arm["label"],
                **{k: _n(arm[k]) for k in GATE_COUNTS},
                "amends_applied": _n(arm.get("amends_applied", 0)),
                "kept": _n(arm.get("kept", 0)),
                "redecided": ", ".join(f"{_n(v)} {k}" for k, v in redecided.items()) or "none",
                "chart": chart,
            }
        )
    return out


def _attribution(res: dict[str, Any], names: list[str]) -> dict[str, Any]:
    att = res.get("attribution") or {}
    if not att.get("available"):
        return {"available": False, "note": att.get("note", "not computed")}
    credit = {a: att["arms"].get(a, {}).get("credit", {}) for a in names}
    agents = sorted({k for a in names for k in credit[a]})
    return {
        "available": True,
        "model": att["model"],
        "customers": f"{att['customers']:,}",
        "head": ["agent", *(res["arms"][a]["label"] for a in names)],
        "rows": [[ag, *(_n(credit[a].get(ag, 0.0)) for a in names)] for ag in agents],
    }


def _timeline(res: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """One customer's week in every arm: a chart with a lane per arm, then a table per arm."""
    tl = res["timeline"]
    agents = [a["agent"] for a in res["arms"][names[0]]["per_agent"]]
    colors = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(agents)}
    lanes = [
        (
            f"{res['arms'][a]['label']}: "
            f"{sum(r['kind'] == 'touch' for r in tl['arms'].get(a, []))} sent",
            tl["arms"].get(a, []),
        )
        for a in names
    ]
    return {
        "customer": tl["customer"],
        "start": iso(tl["start"]),
        "legend": list(colors.items()),
        "chart": week(lanes, tl["start"], tl["end"], colors),
        "arms": [
            {
                "label": res["arms"][a]["label"],
                "rows": [
                    [
                        _when(r["at"]),
                        str(r.get("agent") or ""),
                        r["kind"] if r["kind"] != "event" else f"event: {r['type']}",
                        str(r.get("channel") or ""),
                        str(r.get("intent") or ""),
                        str(r.get("outcome") or ""),
                        ", ".join(r.get("rules") or []),
                    ]
                    for r in tl["arms"].get(a, [])
                ],
            }
            for a in names
        ],
    }


def _when(at: float) -> str:
    return time.strftime("%a %d %b %H:%M", time.gmtime(at))


def _ci(v: dict[str, float]) -> str:
    return f"{_n(v['mean'])} [{_n(v['low'])}, {_n(v['high'])}]"


def summary_table(res: dict[str, Any]) -> tuple[list[str], list[Row]] | None:
    """Every summary metric per arm as mean [low, high] over seeds, and the paired difference
    of each coordinated arm from the uncoordinated one."""
    summ, diff = res.get("summary"), res.get("difference") or {}
    if not summ:
        return None
    arms = list(summ)
    label = {"without": "Without Accord", "with": "With Accord", "policy": "With your policy"}
    rows: list[Row] = []
    for key, text in SUMMARY_LABELS.items():
        row: Row = [text, *(_ci(summ[a][key]) for a in arms)]
        for a in arms[1:]:
            d = diff[a][key]
            good = key in HIGHER_IS_BETTER
            sure = d["low"] > 0 or d["high"] < 0
            css = "muted" if not sure else ("better" if (d["mean"] > 0) == good else "worse")
            row.append(Cell(_ci(d), css))
        rows.append(row)
    head = ["metric", *(label.get(a, a) for a in arms)]
    head += [f"{label.get(a, a)} − Without" for a in arms[1:]]
    return head, rows


ASSUMED = (
    ("approve_rate", "reviewer model: share of flagged proposals one human approves at 17:00 "
     "each day (independent draw per proposal; approval re-runs the gate)"),
    ("unsubscribe_value", "USD of future value lost per unsubscribe or opt-out"),
    ("complaint_value", "USD lost per complaint beyond its opt-out"),
    ("keep_days", "deadline of every proposal an agent asks Accord to keep "
     "(on_defer: reschedule): a defer is re-decided at retry_at until then, then lapses"),
)


def _model(res: dict[str, Any]) -> dict[str, Any]:
    """Every assumption (run settings, the reviewer, prices, the response model) and the
    one-at-a-time sensitivity rows if computed."""
    cfg = res["config"]
    params = cfg["response"]
    sens = res.get("sensitivity") or {}
    settings = [
        [k, f"{cfg[k]:g} — {why}"] for k, why in ASSUMED if k in cfg
    ]
    settings += [
        ["renewal without a touch", "85% of renewal accounts renew untouched; a retained "
         "renewal counts 15% of its bookings as incremental"],
        ["at-risk without a touch", "churns 1.5%/day, recovers 1%/day: a retained at-risk "
         "account counts 60% of its bookings as incremental"],
        ["agent value estimate", "value = convert × value_months × ARPU × (1 − discount), "
         "passed to the gate with every proposal"],
        ["amends", "agents send accept: [offer, channel, time]; a go with an applied amend "
         "is sent as the variant (capped discount, earlier offer, another channel, later time)"],
        ["planning rounds", "each nightly agent sends its day's proposals through "
         "propose_batch with its value estimate; hourly and real-time agents propose one by one"],
    ]
    return {
        "rows": settings + [
            [k, ", ".join(f"{c} {x:g}" for c, x in v.items()) if isinstance(v, dict)
             else str(v) if isinstance(v, str) else f"{v:g}"]
            for k, v in params.items()
        ],
        "sensitivity": {
            "customers": f"{sens['customers']:,}",
            "days": sens["days"],
            "rows": [
                [
                    r["parameter"],
                    _case(r),
                    *(_n(r[k]) for k in SENSITIVITY_COLUMNS),
                ]
                for r in sens["rows"]
            ],
        }
        if sens.get("rows")
        else None,
    }


def _case(r: dict[str, Any]) -> str:
    if r["parameter"] == "baseline":
        return ""
    if isinstance(r["value"], str):
        return f"→ {r['value']}"
    return f"×{r['factor']:g} → {r['value']:g}"


def print_summary(res: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    summ = summary_table(res)
    if summ is not None:
        head, rows = summ
        n = len(res.get("seeds") or [])
        table = Table(
            title=f"Fleet simulation: the same companies with and without Accord "
            f"(mean [95% interval] over {n} seed{'s' if n != 1 else ''})"
        )
        for k, h in enumerate(head):
            table.add_column(h, justify="left" if k == 0 else "right")
        for row in rows:
            table.add_row(*(c.text if isinstance(c, Cell) else c for c in row))
        console.print(table)
    else:
        arms = res["arms"]
        names = list(arms)
        table = Table(title="Fleet simulation: the same company, with and without Accord")
        table.add_column("metric")
        for a in names:
            table.add_column(arms[a]["label"], justify="right")
        for key in res["headline"]:
            table.add_row(LABELS.get(key, key), *(_n(arms[a][key]) for a in names))
        console.print(table)
    for lift in lift_tables(res):
        table = Table(title=f"Lift, {lift['label']}: {lift['treated']} treated and "
                      f"{lift['holdout']} held-out customers (first seed)")
        for k, h in enumerate(lift["head"]):
            table.add_column(h, justify="left" if k in (0, 4) else "right")
        for row in lift["rows"]:
            table.add_row(*row)
        console.print(table)
        if lift["note"]:
            console.print(lift["note"], soft_wrap=True, markup=False, highlight=False)
    line = revenue_explained(res)
    if line:
        console.print(line, soft_wrap=True, markup=False, highlight=False)


def revenue_explained(res: dict[str, Any]) -> str | None:
    """One line under the terminal table: what drives the revenue change, and where the report
    explains it, so the headline number is never a mystery."""
    names = list(res["arms"])
    if len(names) < 2:
        return None
    old, new = res["arms"][names[0]], res["arms"][names[1]]
    before, after = float(old["revenue"]), float(new["revenue"])
    change = (f"{'+' if after >= before else ''}{_n(round(after - before))} USD"
              + (f" ({(after - before) / before * 100:+.0f}%)" if before else ""))
    if res.get("difference", {}).get("with"):
        d = res["difference"]["with"]
        inc, net = d["incremental_revenue"], d["net_value"]
        change = (f"{_ci(d['revenue'])} USD in bookings, {_ci(inc)} USD in incremental revenue "
                  f"and {_ci(net)} USD in net value (mean [95% interval] over seeds)")
    moves = _revenue_moves(res, names)
    by_agent = ("; by agent: " + ", ".join(f"{m['agent']} {m['delta']}" for m in moves["moved"])
                if moves else "")
    return (f"Revenue {change} ({new['label']} vs {old['label']}) is the balance of touches the "
            "gate held that would have converted and what fewer unsubscribes and mixed signals "
            f"win back (response-model assumptions){by_agent} (first seed). report.html explains "
            "it under the "
            "headline (\"Where touch-driven revenue moved\") and in the sensitivity table.")
