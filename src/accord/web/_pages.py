"""The dashboard's endpoints. Each reads through the service (or ``_read``) and renders HTML;
none decides anything: approve and reject call ``service.approve`` / ``service.reject``.

Page handlers are plain functions, which Starlette runs in its thread pool, because the service
is synchronous; the form posts and the live feed are async and hand blocking calls to a thread.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from accord._errors import AccordError, InvalidInput, Unauthorized
from accord.fleet import compute_audit
from accord.web import _auth, _read
from accord.web._auth import ResolveRole, Viewer
from accord.web._html import Html, badge, bar_chart, esc, join, page, table, tag, when
from accord.web._journey import decision_detail, journey_body
from accord.web._stream import FEED_JS, events

if TYPE_CHECKING:
    from accord.service import Accord

ATTRIBUTION_MODELS = ("last_touch", "linear", "markov")
LOOKBACK_S = 30 * 86400.0


def _error(request: Request, exc: AccordError, who: str | None) -> Response:
    body = join([tag("p", str(exc), class_="notice"),
                 tag("p", Html(f'<a href="{esc(_auth.root(request))}/login">sign in with '
                               "another token</a>"))])
    return HTMLResponse(page(exc.title, body, root=_auth.root(request), who=who),
                        status_code=exc.status)


def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Render Accord errors as pages (with their HTTP status); send a visitor who is not signed
    in to the sign-in form."""
    @wraps(fn)
    def run(self: Dashboard, request: Request) -> Response:
        try:
            return fn(self, request)
        except Unauthorized:
            return _auth.to_login(request)
        except AccordError as exc:
            return _error(request, exc, None)
    return run


class Dashboard:
    def __init__(self, service: Accord, resolve_role: ResolveRole) -> None:
        self.service = service
        self.resolve_role = resolve_role

    def viewer(self, request: Request) -> Viewer:
        return _auth.viewer(request, self.resolve_role)

    def render(self, request: Request, viewer: Viewer, title: str, body: Html, current: str,
               script: str = "") -> Response:
        return HTMLResponse(page(title, body, root=_auth.root(request), who=viewer.label,
                                 current=current, script=script))

    # -- sign in -----------------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token:
            return self._sign_in(request, token, request.query_params.get("next"))
        return self._login_form(request, None)

    async def login_post(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token") or "").strip()
        return await anyio.to_thread.run_sync(
            self._sign_in, request, token, str(form.get("next") or "") or None)

    def _sign_in(self, request: Request, token: str, next_path: str | None) -> Response:
        if _auth.resolve(self.resolve_role, token) is None:
            return self._login_form(request, "that token is unknown or revoked", status=401)
        return _auth.signed_in(request, token, next_path)

    def _login_form(self, request: Request, problem: str | None, status: int = 200) -> Response:
        root = _auth.root(request)
        nxt = request.query_params.get("next", "")
        body = Html(
            (f'<p class="notice">{esc(problem)}</p>' if problem else "")
            + '<p class="lead">Paste an Accord token (admin, reviewer or agent). Create one with '
            "<code>accord token create</code>.</p>"
            f'<form method="post" action="{esc(root)}/login" class="actions">'
            f'<input type="hidden" name="next" value="{esc(nxt)}">'
            '<input type="password" name="token" size="48" placeholder="acc_…" '
            'aria-label="token" autofocus><button>Sign in</button></form>')
        return HTMLResponse(page("Sign in", body, root=root, who=None), status_code=status)

    def logout(self, request: Request) -> Response:
        return _auth.signed_out(request)

    # -- fleet -------------------------------------------------------------------------------

    @guarded
    def fleet(self, request: Request) -> Response:
        viewer = self.viewer(request)
        seats = self.service.seats()
        acted = _read.last_acted(self.service)
        spoken = _read.protocols(self.service)
        rows = []
        for s in sorted(seats, key=lambda s: (s.precedence is None, s.precedence or 0, s.id)):
            mandate = join([tag("div", f"intents: {', '.join(s.intents) or '—'}"),
                            tag("div", f"channels: {', '.join(s.channels) or '—'}")]
                           + ([tag("div", f"actions: {', '.join(s.actions)}")]
                              if s.actions else []))
            protos = spoken.get(s.id) or (["in-process"] if s.id in acted else [])
            team = tag("div", f"team {s.team}", class_="sub") if s.team else ""
            rows.append([tag("strong", s.id), join([s.owner, team]),
                         mandate, "—" if s.precedence is None else f"#{s.precedence + 1}",
                         badge(s.status), when(acted.get(s.id)), ", ".join(protos) or "—"])
        counts = {k: sum(1 for s in seats if s.status == k)
                  for k in ("active", "paused", "retired")}
        intro = tag("p", f"{len(seats)} seats: {counts['active']} active, {counts['paused']} "
                         f"paused, {counts['retired']} retired · policy "
                         f"{self.service.policy.version}", class_="lead")
        body = join([intro, table(["seat", "owner", "mandate", "precedence", "status",
                                   "last acted", "protocol"], rows, id="seats")])
        return self.render(request, viewer, "Fleet", body, "fleet")

    # -- decisions ---------------------------------------------------------------------------

    @guarded
    def decisions(self, request: Request) -> Response:
        viewer = self.viewer(request)
        root = _auth.root(request)
        rows = []
        for e in _read.latest_decisions(self.service, agent=viewer.agent):
            p = e.body.get("proposal", {})
            rows.append([when(e.at), badge(e.body.get("outcome", "?")), e.agent or "—",
                         tag("a", e.customer, href=f"{root}/customers/{quote(e.customer or '')}"),
                         f"{p.get('intent')} by {p.get('channel')}",
                         join([decision_detail(e.body, {}, proposal=False),
                               tag("code", e.ref)])])
        head = ["when", "outcome", "agent", "customer", "proposal", "reasons"]
        body = join([
            tag("h2", join(["Live feed ", tag("span", "connecting…", id="live-state")])),
            table(head, [], id="feed", empty="waiting for the next decision"),
            tag("h2", "Latest decisions"),
            tag("p", "Your own decisions." if viewer.agent else "Every agent, newest first.",
                class_="lead"),
            table(head, rows, id="decisions")])
        script = f"var ROOT = {json.dumps(root)};{FEED_JS}"
        return self.render(request, viewer, "Live decisions", body, "decisions", script)

    async def stream(self, request: Request) -> Response:
        viewer = await anyio.to_thread.run_sync(
            lambda: _auth.resolve(self.resolve_role, _auth.token_of(request)))
        if viewer is None:
            return Response("sign in first\n", status_code=401, media_type="text/plain")
        sub = self.service.subscribe(agent=viewer.agent)
        return StreamingResponse(events(sub, viewer), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    # -- customers ---------------------------------------------------------------------------

    def find_customer(self, request: Request) -> Response:
        cid = request.query_params.get("id", "").strip()
        target = f"/customers/{quote(cid, safe='')}" if cid else "/decisions"
        return RedirectResponse(_auth.root(request) + target, status_code=303)

    @guarded
    def customer(self, request: Request) -> Response:
        viewer = self.viewer(request)
        cid = request.path_params["customer"]
        body = journey_body(self.service, cid, viewer, _auth.root(request))
        return self.render(request, viewer, f"Customer {cid}", body, "")

    # -- approvals ---------------------------------------------------------------------------

    @guarded
    def approvals(self, request: Request) -> Response:
        viewer = self.viewer(request)
        viewer.require("reviewer", "admin", doing="see the approvals queue")
        root = _auth.root(request)
        rows = []
        for d in self.service.approvals():
            p = d.proposal
            offer = f", offer {json.dumps(p.offer.model_dump(exclude_none=True), sort_keys=True)}" \
                if p.offer else ""
            form = Html(
                f'<form method="post" action="{esc(root)}/approvals/{esc(d.id)}" '
                'class="actions"><input name="note" placeholder="note (optional)" '
                'aria-label="note"><button class="approve" name="verdict" value="approve">'
                'Approve</button><button class="reject" name="verdict" value="reject">Reject'
                "</button></form>")
            rows.append([when(d.decided_at.timestamp() if d.decided_at else None),
                         tag("code", d.id), p.agent,
                         tag("a", p.customer, href=f"{root}/customers/{quote(p.customer)}"),
                         f"{p.intent} by {p.channel} ({p.action}){offer}",
                         tag("ul", join(tag("li", r.message) for r in d.reasons
                                        if r.effect.value == "flag"), class_="reasons"),
                         form])
        notice = Html("")
        done, verdict = request.query_params.get("done"), request.query_params.get("verdict")
        if done and verdict:
            notice = tag("p", f"{done}: {verdict}", class_="notice", id="done")
        intro = tag("p", "Flagged proposals wait here for a person. Approving re-runs the gate "
                         "on the customer's context as it is now: stops and defers still hold.",
                    class_="lead")
        body = join([notice, intro, table(["flagged", "decision", "agent", "customer",
                                           "proposal", "why a human", ""], rows, id="queue",
                                          empty="nothing waiting for approval")])
        return self.render(request, viewer, "Approvals", body, "approvals")

    async def review(self, request: Request) -> Response:
        form = await request.form()
        return await anyio.to_thread.run_sync(self._review, request, dict(form))

    def _review(self, request: Request, form: dict[str, Any]) -> Response:
        who = None
        try:
            viewer = self.viewer(request)
            who = viewer.label
            viewer.require("reviewer", "admin", doing="approve or reject proposals")
            verdict = str(form.get("verdict", ""))
            if verdict not in ("approve", "reject"):
                raise InvalidInput("verdict must be approve or reject", where="verdict")
            note = str(form.get("note") or "").strip() or None
            did = request.path_params["decision_id"]
            act = self.service.approve if verdict == "approve" else self.service.reject
            follow = act(did, reviewer=viewer.subject, note=note)
        except AccordError as exc:
            return _error(request, exc, who)
        query = urlencode({"done": did, "verdict": f"{verdict}d → {follow.outcome.value} "
                                                   f"({follow.id})"})
        return RedirectResponse(f"{_auth.root(request)}/approvals?{query}", status_code=303)

    # -- reports -----------------------------------------------------------------------------

    @guarded
    def reports(self, request: Request) -> Response:
        from accord.attribution import attribution_report

        viewer = self.viewer(request)
        viewer.require("reviewer", "admin", doing="see fleet-wide reports")
        audit = compute_audit(self.service, sections=("prevented", "approvals"))
        prevented = audit["prevented"]
        report = attribution_report(self.service, models=list(ATTRIBUTION_MODELS), by="agent",
                                    lookback_s=LOOKBACK_S)
        charts = [bar_chart(list(prevented["by_kind"].items()), title="Prevented, by kind",
                            id="prevented-kind"),
                  bar_chart(list(prevented["by_pair"].items()), title="Prevented, by agent pair",
                            id="prevented-pair")]
        appr = audit["approvals"]
        credit = []
        for r in report["results"]:
            items = sorted(((k, round(float(v or 0.0), 2)) for k, v in r["credit"].items()),
                           key=lambda kv: -kv[1])
            credit.append(tag("div", bar_chart(items, title=f"{r['model']} credit by agent",
                                               id=f"credit-{r['model']}"), class_="card"))
        body = join([
            tag("h2", "Coordination"),
            tag("p", f"{prevented['total']} coordination failures prevented (stops, defers, "
                     "pre-emptions, and revocations by a change of customer state); "
                     f"{appr['flagged']} proposals flagged for a person, {appr['pending']} "
                     "still waiting.", class_="lead"),
            tag("div", join(tag("div", c, class_="card") for c in charts), class_="cards"),
            tag("h2", "Attribution"),
            tag("p", f"Conversions credited to agents over the last 30 days: "
                     f"{report['journeys']} journeys across {report['customers']} customers.",
                class_="lead"),
            tag("div", join(credit), class_="cards"),
            join(tag("p", w, class_="notice") for w in report.get("warnings", []))])
        return self.render(request, viewer, "Reports", body, "reports")


Endpoint = Callable[[Request], Response | Awaitable[Response]]
