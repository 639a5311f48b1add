"""The report: one self-contained HTML page (inline CSS and SVG, no external asset) and a
terminal summary, both formatted from the results dict and nothing else."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from accord._time import iso
from accord.simulate._svg import ARM_COLORS, PALETTE, grouped_bars, lines, week

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
    "revenue": "revenue (USD)",
    "spend": "channel spend (USD)",
}
HARMS = (
    "customers_hit_by_2_agents_72h",
    "collision_touches",
    "contradictory",
    "sends_after_purchase",
    "sends_after_opt_out",
    "unsubscribes",
    "complaints",
)
CSS = """body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1160px;color:#1c2833;padding:0 16px}h1{font-size:24px;margin-bottom:4px}
h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d5d8dc;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #eaecee;
text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f4f6f7}
.note{background:#fef9e7;border-left:4px solid #f4d03f;padding:8px 12px;margin:12px 0}
.grid{display:flex;flex-wrap:wrap;gap:24px}.better{color:#1e8449}.worse{color:#c0392b}
.muted{color:#707b7c;font-size:12px}code{background:#f4f6f7;padding:1px 4px}"""


def _n(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else escape(str(v))


def _change(base: float, new: float, higher_is_better: bool | None) -> str:
    if base == new:
        return '<td class="muted">—</td>'
    pct = f" ({(new - base) / base * 100:+.0f}%)" if base else ""
    css = (
        "muted"
        if higher_is_better is None
        else ("better" if (new > base) == higher_is_better else "worse")
    )
    diff: float | int = int(new - base) if base % 1 == 0 and new % 1 == 0 else new - base
    return f'<td class="{css}">{"+" if diff > 0 else ""}{_n(diff)}{pct}</td>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    body = "".join(
        "<tr>" + "".join(r if r.startswith("<td") else f"<td>{r}</td>" for r in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{h}</tr>{body}</table>"


def render_html(res: dict[str, Any]) -> str:
    arms = res["arms"]
    names = list(arms)
    labels = [arms[a]["label"] for a in names]
    series = [(arms[a]["label"], ARM_COLORS.get(a, "#555")) for a in names]
    cfg = res["config"]
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Accord fleet "
        f"simulation</title><style>{CSS}</style></head><body>",
        "<h1>A fleet with and without Accord</h1>",
        f'<p class="muted">{cfg["customers"]:,} customers × {cfg["days"]} days, seed '
        f"{cfg['seed']}; ten agents; the same company, the same random world in every arm."
        "</p>",
        '<div class="note"><b>Read this first.</b> The customer reactions below come from a '
        "<i>response model</i> whose effects — contact fatigue raises unsubscribes, mixed "
        "signals lower conversion, contact after a purchase or an opt-out raises complaints "
        "— are <b>model assumptions</b>, not measurements. The counts of collisions, "
        "contradictions and sends after opt-outs are what the agents did; what customers "
        "did about them is assumed. The sensitivity table shows which assumption drives "
        "which result.</div>",
        "<h2>Headline</h2>",
    ]
    rows = []
    for key in res["headline"]:
        vals = [arms[a][key] for a in names]
        better_up = (
            True
            if key in ("conversions", "revenue")
            else None
            if key == "approvals_requested"
            else False
        )
        row = [escape(LABELS.get(key, key)), *(_n(v) for v in vals)]
        row += [_change(float(vals[0]), float(v), better_up) for v in vals[1:]]
        rows.append(row)
    head = ["metric", *labels] + [f"change ({lbl})" for lbl in labels[1:]]
    parts.append(_table(head, rows))
    parts.append(_revenue_note(res, names))
    parts.append('<div class="grid">')
    parts.append(
        grouped_bars([(LABELS[k], [float(arms[a][k]) for a in names]) for k in HARMS], series)
    )
    parts.append(
        grouped_bars(
            [
                (LABELS[k], [float(arms[a][k]) for a in names])
                for k in (
                    "touches_per_customer_week_mean",
                    "touches_per_customer_week_p95",
                    "touches_per_customer_week_max",
                )
            ],
            series,
        )
    )
    parts.append("</div><h2>Day by day</h2><div class=grid>")
    for metric, title in (
        ("delivered", "touches delivered per day"),
        ("unsubscribes", "unsubscribes per day"),
        ("revenue", "revenue per day (USD)"),
    ):
        parts.append(
            lines(
                [
                    (
                        arms[a]["label"],
                        ARM_COLORS.get(a, "#555"),
                        arms[a]["daily"].get(metric, [0.0] * cfg["days"]),
                    )
                    for a in names
                ],
                title=title,
            )
        )
    parts.append("</div>")
    parts.append(_agents_section(res, names))
    parts.append(_gate_section(res, names))
    parts.append(_attribution_section(res, names))
    parts.append(_timeline_section(res, names))
    parts.append(_model_section(res))
    parts.append("</body></html>")
    return "\n".join(parts)


def _revenue_note(res: dict[str, Any], names: list[str]) -> str:
    """Say where revenue moved, per agent, so a revenue difference is never a mystery."""
    if len(names) < 2:
        return ""
    base = {a["agent"]: a for a in res["arms"][names[0]]["per_agent"]}
    moved = []
    for a in res["arms"][names[1]]["per_agent"]:
        delta = a["revenue"] - base[a["agent"]]["revenue"]
        if abs(delta) >= 1:
            moved.append((delta, a))
    moved.sort(key=lambda x: abs(x[0]), reverse=True)
    parts = [
        f"{escape(a['agent'])} {'+' if d > 0 else ''}{_n(round(d))} ({_n(a['deferred'])} "
        f"deferred, {_n(a['flagged'])} flagged, {_n(a['stopped'])} stopped)"
        for d, a in moved[:3]
    ]
    if not parts:
        return ""
    new, old = res["arms"][names[1]]["label"], res["arms"][names[0]]["label"]
    return (
        f'<p class="muted">Where touch-driven revenue moved ({escape(new)} vs '
        f"{escape(old)}): " + "; ".join(parts) + ". Held "
        "touches that would have converted cost revenue; the response model decides how "
        "much the avoided fatigue and contradictions win back.</p>"
    )


def _agents_section(res: dict[str, Any], names: list[str]) -> str:
    base = res["arms"][names[0]]
    rows = [
        [
            escape(a["agent"]),
            _n(a["sent"]),
            f"{a['conversion_rate'] * 100:.1f}%",
            _n(a["unsub_per_1000"]),
            _n(a["claimed_conversions"]),
            _n(a["revenue"]),
        ]
        for a in base["per_agent"]
        if a["proposals"]
    ]
    j = base["journeys"]
    out = [
        "<h2>Each agent looks fine alone; the journeys do not</h2>",
        f"<p>{escape(base['label'])}: every agent's own dashboard — its sends, its "
        "conversion rate, its unsubscribes per 1,000 sends, and the conversions it claims "
        "(any conversion within 7 days of its touch).</p>",
        _table(
            [
                "agent",
                "sent",
                "own conversion rate",
                "unsubs / 1,000 sends",
                "claimed conversions",
                "own revenue",
            ],
            rows,
        ),
        f"<p>Claimed conversions add up to <b>{_n(base['claimed_conversions_total'])}</b>; "
        f"customers made <b>{_n(base['conversions'])}</b>. Across the journey: "
        f"<b>{j['share_unsubscribed'] * 100:.1f}%</b> of customers unsubscribed from "
        f"something, <b>{j['share_collided'] * 100:.1f}%</b> were hit by two agents within "
        f"72 h, and customers touched 4+ times a week unsubscribed at "
        f"<b>{j['unsub_rate_heavy'] * 100:.1f}%</b> against "
        f"<b>{j['unsub_rate_light'] * 100:.1f}%</b> for the rest.</p>",
    ]
    jrows = [
        [
            escape(res["arms"][a]["label"]),
            f"{res['arms'][a]['journeys']['share_unsubscribed'] * 100:.2f}%",
            f"{res['arms'][a]['journeys']['share_complained'] * 100:.2f}%",
            f"{res['arms'][a]['journeys']['share_converted'] * 100:.2f}%",
            f"{res['arms'][a]['journeys']['share_collided'] * 100:.2f}%",
            _n(res["arms"][a]["churned_at_end"]),
        ]
        for a in names
    ]
    out.append(
        _table(
            [
                "journeys",
                "unsubscribed",
                "complained",
                "converted",
                "hit by 2 agents in 72 h",
                "churned at end",
            ],
            jrows,
        )
    )
    return "".join(out)


def _gate_section(res: dict[str, Any], names: list[str]) -> str:
    out = ["<h2>What the gate did</h2>"]
    for a in names[1:]:
        arm = res["arms"][a]
        out.append(
            f"<p><b>{escape(arm['label'])}</b>: {_n(arm['proposals'])} proposals — "
            f"{_n(arm['go'])} go, {_n(arm['defer'])} defer, {_n(arm['flag'])} flag, "
            f"{_n(arm['stop'])} stop; {_n(arm['revoked_before_send'])} queued sends "
            f"revoked before they went out; {_n(arm['approved'])} approvals granted, "
            f"{_n(arm['rejected'])} rejected.</p>"
        )
        rules = list(arm["rules"].items())[:12]
        if rules:
            out.append(
                grouped_bars(
                    [(r, [float(v)]) for r, v in rules],
                    [("proposals held by this rule", ARM_COLORS.get(a, "#555"))],
                    shared_scale=True,
                )
            )
    return "".join(out)


def _attribution_section(res: dict[str, Any], names: list[str]) -> str:
    att = res.get("attribution") or {}
    out = ["<h2>Attribution by agent</h2>"]
    if not att.get("available"):
        return "".join(out) + f'<p class="muted">{escape(att.get("note", "not computed"))}</p>'
    agents = sorted({k for a in names for k in att["arms"].get(a, {}).get("credit", {})})
    rows = [
        [escape(ag), *(_n(att["arms"].get(a, {}).get("credit", {}).get(ag, 0.0)) for a in names)]
        for ag in agents
    ]
    out.append(
        f'<p class="muted">{att["model"]} model, by agent, on the first '
        f"{att['customers']:,} customers; credit in USD of conversion value.</p>"
    )
    out.append(_table(["agent", *(res["arms"][a]["label"] for a in names)], rows))
    return "".join(out)


def _timeline_section(res: dict[str, Any], names: list[str]) -> str:
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
    legend = " ".join(f'<span style="color:{c}">● {escape(a)}</span>' for a, c in colors.items())
    out = [
        f"<h2>One customer's week: {escape(tl['customer'])}</h2>",
        f'<p class="muted">From {iso(tl["start"])} — dots are touches that reached the '
        "customer, × are proposals the gate held (stop, defer, flag), black ticks are the "
        f"customer's own events. Hover for details.</p><p>{legend}</p>",
        week(lanes, tl["start"], tl["end"], colors),
    ]
    for a in names:
        rows = [
            [
                _when(r["at"]),
                escape(str(r.get("agent") or "")),
                escape(r["kind"] if r["kind"] != "event" else f"event: {r['type']}"),
                escape(str(r.get("channel") or "")),
                escape(str(r.get("intent") or "")),
                escape(str(r.get("outcome") or "")),
                escape(", ".join(r.get("rules") or [])),
            ]
            for r in tl["arms"].get(a, [])
        ]
        out.append(f"<h3>{escape(res['arms'][a]['label'])}</h3>")
        out.append(
            _table(["when", "agent", "what", "channel", "intent", "outcome", "rules"], rows)
            if rows
            else "<p class=muted>nothing happened</p>"
        )
    return "".join(out)


def _when(at: float) -> str:
    return time.strftime("%a %d %b %H:%M", time.gmtime(at))


def _model_section(res: dict[str, Any]) -> str:
    params = res["config"]["response"]
    rows = [
        [
            escape(k),
            escape(
                ", ".join(f"{c} {x:g}" for c, x in v.items()) if isinstance(v, dict) else f"{v:g}"
            ),
        ]
        for k, v in params.items()
    ]
    out = [
        "<h2>The response model (assumptions)</h2>",
        "<p>These parameters decide how a simulated customer reacts to a touch; see "
        "docs/simulate.md for each one's meaning.</p>",
        _table(["parameter", "value"], rows),
    ]
    sens = res.get("sensitivity") or {}
    if sens.get("rows"):
        out.append(
            f"<h3>Sensitivity (one at a time, {sens['customers']:,} customers × "
            f"{sens['days']} days)</h3><p>Each row changes one parameter and reruns both "
            "arms. Δ columns are <i>With Accord minus Without</i>. A parameter that moves "
            "both arms alike leaves Δ unchanged; one that moves Δ is what the comparison "
            "rests on. Small companies give small counts: raise "
            "<code>--sensitivity-customers</code> for a firmer table.</p>"
        )
        srows = [
            [
                escape(r["parameter"]),
                "" if r["parameter"] == "baseline" else f"×{r['factor']:g} → {r['value']:g}",
                _n(r["revenue_without"]),
                _n(r["revenue_with"]),
                _n(r["revenue_delta"]),
                _n(r["unsubscribes_without"]),
                _n(r["unsubscribes_with"]),
                _n(r["unsubscribe_delta"]),
                _n(r["complaint_delta"]),
                _n(r["conversion_delta"]),
            ]
            for r in sens["rows"]
        ]
        out.append(
            _table(
                [
                    "parameter",
                    "set to",
                    "revenue without",
                    "revenue with",
                    "Δ revenue",
                    "unsubs without",
                    "unsubs with",
                    "Δ unsubscribes",
                    "Δ complaints",
                    "Δ conversions",
                ],
                srows,
            )
        )
    return "".join(out)


def print_summary(res: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    arms = res["arms"]
    names = list(arms)
    table = Table(title="Fleet simulation: the same company, with and without Accord")
    table.add_column("metric")
    for a in names:
        table.add_column(arms[a]["label"], justify="right")
    for key in res["headline"]:
        table.add_row(LABELS.get(key, key), *(_n(arms[a][key]) for a in names))
    console.print(table)
