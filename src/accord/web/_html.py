"""HTML for the dashboard, built from small escaped pieces: no template engine, no build step,
nothing fetched from elsewhere (the stylesheet is inline, the charts are inline SVG).

Every dynamic value goes through ``esc`` unless it is already ``Html`` (a fragment this module
built), so escaping is the default and trust is the exception a reader can grep for.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence
from typing import Any


class Html(str):
    """A fragment that is already safe to emit as it is."""

    __slots__ = ()


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any]) -> Html:
    return Html("".join(esc(p) for p in parts))


def tag(name: str, body: Any = "", **attrs: Any) -> Html:
    """``tag("a", "x", href="/y", class_="z")`` → ``<a href="/y" class="z">x</a>``."""
    rendered = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"'
                       for k, v in attrs.items() if v is not None and v is not False)
    return Html(f"<{name}{rendered}>{esc(body)}</{name}>")


def when(at: float | None) -> Html:
    """A UTC instant for people; the machine-readable form rides along in ``<time>``."""
    if at is None:
        return Html("—")
    g = time.gmtime(at)
    return tag("time", time.strftime("%Y-%m-%d %H:%M:%S", g),
               datetime=time.strftime("%Y-%m-%dT%H:%M:%SZ", g))


def badge(outcome: str) -> Html:
    return tag("span", outcome, class_=f"badge {outcome}")


def table(head: Sequence[str], rows: Sequence[Sequence[Any]], *, id: str | None = None,
          empty: str = "nothing yet") -> Html:
    th = join(tag("th", h) for h in head)
    if not rows:
        body = Html(f'<tr><td colspan="{len(head)}" class="empty">{esc(empty)}</td></tr>')
    else:
        body = join(tag("tr", join(tag("td", c) for c in r)) for r in rows)
    return Html(f'<table{f" id={chr(34)}{esc(id)}{chr(34)}" if id else ""}>'
                f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, unit: str = "",
              id: str | None = None) -> Html:
    """A horizontal bar chart as inline SVG: one labelled bar per item, scaled to the largest."""
    if not items:
        return tag("p", f"{title}: nothing to show yet", class_="empty")
    label_w, bar_w, row_h = 230, 380, 26
    top = max((v for _, v in items), default=0.0) or 1.0
    height = row_h * len(items) + 8
    rows = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = max(2.0, bar_w * max(value, 0.0) / top)
        shown = f"{value:g}{unit}" if isinstance(value, int) or float(value).is_integer() \
            else f"{value:.3g}{unit}"
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="3">'
            f"<title>{esc(label)}: {esc(shown)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="value">{esc(shown)}</text>')
    return Html(f'<figure{f" id={chr(34)}{esc(id)}{chr(34)}" if id else ""}>'
                f"<figcaption>{esc(title)}</figcaption>"
                f'<svg class="chart" role="img" aria-label="{esc(title)}" '
                f'viewBox="0 0 {label_w + bar_w + 70} {height}" width="{label_w + bar_w + 70}" '
                f'height="{height}">{"".join(rows)}</svg></figure>')


NAV = (("fleet", "Fleet"), ("decisions", "Live decisions"), ("approvals", "Approvals"),
       ("reports", "Reports"))


def page(title: str, body: Html, *, root: str, who: str | None, current: str = "",
         script: str = "") -> str:
    """A whole page: header with navigation and the signed-in principal, then ``body``."""
    nav = join(tag("a", label, href=f"{root}/{slug}",
                   class_="current" if slug == current else None) for slug, label in NAV)
    search = Html(f'<form class="find" method="get" action="{esc(root)}/customers">'
                  '<input name="id" placeholder="customer id" aria-label="customer id">'
                  "<button>Open journey</button></form>")
    user = (Html(f'<span class="who">{esc(who)} · <a href="{esc(root)}/logout">sign out</a>'
                 "</span>") if who else Html(""))
    js = Html(f"<script>{script}</script>") if script else Html("")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)} · Accord</title><style>{CSS}</style></head>"
            f'<body><header><strong class="brand">Accord</strong><nav>{nav}</nav>{search}'
            f"{user}</header><main><h1>{esc(title)}</h1>{body}</main>{js}</body></html>")


CSS = """
:root{--ink:#1d2433;--mute:#5b6579;--line:#e2e6ee;--bg:#f6f7fa;--acc:#3454d1;
--go:#1f8a4c;--flag:#b7791f;--defer:#6b5bd2;--stop:#c53030}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header{display:flex;gap:20px;align-items:center;padding:10px 24px;background:#fff;
border-bottom:1px solid var(--line)}
.brand{font-size:17px;letter-spacing:.02em}
nav{display:flex;gap:4px}
nav a{padding:6px 10px;border-radius:6px;color:var(--mute);text-decoration:none}
nav a.current,nav a:hover{background:var(--bg);color:var(--ink)}
.find{margin-left:auto;display:flex;gap:6px}
.who{color:var(--mute);white-space:nowrap}
main{padding:8px 24px 40px;max-width:1400px}
h1{font-size:21px;margin:16px 0 12px}
h2{font-size:16px;margin:26px 0 8px}
p.lead{color:var(--mute);margin:0 0 14px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--mute);font-size:12px;text-transform:uppercase;
letter-spacing:.04em;background:#fbfcfd}
td.empty,p.empty{color:var(--mute);font-style:italic}
time{white-space:nowrap}
.sub{color:var(--mute);font-size:12px}
code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
color:#fff;background:var(--mute)}
.badge.go,.badge.active,.badge.approved,.badge.executed{background:var(--go)}
.badge.flag,.badge.paused,.badge.pending{background:var(--flag)}
.badge.defer{background:var(--defer)}
.badge.stop,.badge.retired,.badge.rejected,.badge.revoked,.badge.revocation{background:var(--stop)}
.reasons{margin:0;padding-left:16px;color:var(--mute)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px}
figure{margin:0}
figcaption{font-weight:600;margin:4px 0 8px}
svg.chart{max-width:100%;height:auto;font-size:12px}
svg.chart rect{fill:var(--acc)}
svg.chart text{fill:var(--ink)}
svg.chart text.value{fill:var(--mute)}
button{font:inherit;padding:5px 12px;border-radius:6px;border:1px solid var(--line);
background:#fff;cursor:pointer}
button.approve{background:var(--go);border-color:var(--go);color:#fff}
button.reject{background:#fff;border-color:var(--stop);color:var(--stop)}
input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px}
.actions{display:flex;gap:6px;align-items:center}
.notice{background:#fff8e6;border:1px solid #f0d9a0;padding:8px 12px;border-radius:6px}
#live-state{color:var(--mute)}
#live-state.open{color:var(--go)}
"""
