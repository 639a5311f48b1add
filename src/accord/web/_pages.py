"""The dashboard's endpoints. Each reads through the service (or ``_read``) and renders one of
the templates in ``templates/``; none decides anything: approve and reject call
``service.approve`` / ``service.reject``.

Page handlers are plain functions, which Starlette runs in its thread pool, because the service
is synchronous; the form posts and the live feed are async and hand blocking calls to a thread.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from accord._errors import AccordError, InvalidInput, Unauthorized
from accord.fleet import compute_audit
from accord.store.bus import TooManyStreams
from accord.web import _auth, _csrf, _filters, _read
from accord.web._auth import ResolveRole, Viewer
from accord.web._journey import journey, visible
from accord.web._read import Entry
from accord.web._render import CURRENCY, bar_chart, money, render
from accord.web._stream import KINDS, events, shape

if TYPE_CHECKING:
    from accord.service import Accord

MOUNTED_IN = "accord.web.mounted_in"
"""Where the dashboard's app notes, in the ASGI scope, the app it is mounted in."""
ATTRIBUTION_MODELS = ("last_touch", "linear", "markov")
REPORT_DAYS = (1, 7, 30, 90, 365)
"""The time ranges the reports page offers, in days back from now."""
DEFAULT_REPORT_DAYS = 30
LINK_REFUSED = ("signing in with a token in the link no longer works: a URL is kept in server "
                "logs and browser history, so the token could leak. Nobody was signed in. "
                "Paste the token below instead, and revoke it (accord token revoke) if the "
                "link was shared or logged")


def _error(request: Request, exc: AccordError, who: str | None) -> Response:
    return HTMLResponse(render("error.html", title=exc.title, message=str(exc),
                               where=exc.where, hint=exc.hint,
                               root=_auth.root(request), who=who, current=""),
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

    def render(self, request: Request, viewer: Viewer, template: str, title: str, current: str,
               **context: Any) -> Response:
        session = _auth.token_of(request)
        return HTMLResponse(render(template, title=title, root=_auth.root(request),
                                   who=viewer.label, current=current,
                                   csrf=_csrf.token_for(session) if session else "", **context))

    # -- sign in -----------------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        """The sign-in form. A token in the query (an old ``/ui/login?token=…`` link) signs
        nobody in: a URL ends up in server logs, proxies and browser history, so the token
        is sent only in the form's body."""
        if "token" in request.query_params:
            response = self._login_form(request, LINK_REFUSED, status=400)
            response.headers["Referrer-Policy"] = "no-referrer"  # the URL holds a token
            response.headers["Cache-Control"] = "no-store"
            return response
        return self._login_form(request, None)

    async def login_post(self, request: Request) -> Response:
        try:
            _csrf.check_origin(request)  # no session yet to bind a token to
        except AccordError as exc:
            return _error(request, exc, None)
        form = await request.form()
        token = str(form.get("token") or "").strip()
        return await anyio.to_thread.run_sync(
            self._sign_in, request, token, str(form.get("next") or "") or None)

    def _sign_in(self, request: Request, token: str, next_path: str | None) -> Response:
        if _auth.resolve(self.resolve_role, token) is None:
            return self._login_form(request, "that token is unknown or revoked", status=401)
        return _auth.signed_in(request, token, next_path)

    def _login_form(self, request: Request, problem: str | None, status: int = 200) -> Response:
        page = render("login.html", title="Sign in", root=_auth.root(request), who=None,
                      current="", problem=problem,
                      next_path=request.query_params.get("next", ""))
        return HTMLResponse(page, status_code=status)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        try:
            _csrf.check(request, dict(form), _auth.token_of(request))
        except AccordError as exc:
            return _error(request, exc, None)
        return _auth.signed_out(request)

    # -- fleet -------------------------------------------------------------------------------

    @guarded
    def fleet(self, request: Request) -> Response:
        viewer = self.viewer(request)
        seats = sorted(self.service.seats(),
                       key=lambda s: (s.precedence is None, s.precedence or 0, s.id))
        acted = _read.last_acted(self.service)
        spoken = _read.protocols(self.service)
        protocols = {s.id: spoken.get(s.id) or (["in-process"] if s.id in acted else [])
                     for s in seats}
        counts = {k: sum(1 for s in seats if s.status == k)
                  for k in ("active", "paused", "retired")}
        return self.render(request, viewer, "fleet.html", "Fleet", "fleet", seats=seats,
                           counts=counts, policy_version=self.service.policy.version,
                           acted=acted, protocols=protocols)

    # -- decisions ---------------------------------------------------------------------------

    @guarded
    def decisions(self, request: Request) -> Response:
        viewer = self.viewer(request)
        f = _filters.parse(request.query_params, agent=viewer.agent)
        entries, touches, more = _read.decisions(self.service, f)
        older = (_filters.query_of(request.query_params, before=entries[-1].seq)
                 if more and entries else None)
        newest = _filters.query_of(request.query_params) if f.before is not None else None
        shown = {k: request.query_params.get(k, "").strip() for k in _filters.FIELDS}
        return self.render(request, viewer, "decisions.html", "Live decisions", "decisions",
                           entries=entries, touches=touches, own=viewer.agent is not None,
                           shown=shown, outcomes=_filters.OUTCOMES, older=older, newest=newest,
                           filtered=any(shown.values()) or f.before is not None,
                           agents=sorted(s.id for s in self.service.seats()))

    @guarded
    def trace(self, request: Request) -> Response:
        viewer = self.viewer(request)
        tid = request.path_params["trace_id"]
        entries = [seen for e in self.service.trace(tid)
                   if (seen := visible(Entry.from_ledger(e), viewer)) is not None]
        touches = _read.touch_states_of(self.service, [
            t for e in entries if e.kind == "decision" and (t := e.body.get("touch_id"))])
        return self.render(request, viewer, "trace.html", f"Trace {tid}", "",
                           entries=entries, touches=touches, own=viewer.agent is not None)

    async def stream(self, request: Request) -> Response:
        viewer = await anyio.to_thread.run_sync(
            lambda: _auth.resolve(self.resolve_role, _auth.token_of(request)))
        if viewer is None:
            return Response("sign in first\n", status_code=401, media_type="text/plain")
        try:
            sub = self.service.subscribe(agent=viewer.agent, owner=viewer.label, kinds=KINDS,
                                         where=lambda m: shape(m, viewer) is not None)
        except TooManyStreams as exc:
            return Response(f"{exc}\n", status_code=exc.status, media_type="text/plain",
                            headers={"Retry-After": str(exc.retry_after)})
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
        return self.render(request, viewer, "customer.html", f"Customer {cid}", "",
                           **journey(self.service, cid, viewer))

    # -- outbox ------------------------------------------------------------------------------

    @guarded
    def outbox(self, request: Request) -> Response:
        """Deliveries by channel, sender and status, then the newest (an agent: its own)."""
        viewer = self.viewer(request)
        status = request.query_params.get("status") or None
        if status is not None and status not in _read.OUTBOX_STATUSES:
            raise InvalidInput(f"status {status!r} is not one of "
                               f"{', '.join(_read.OUTBOX_STATUSES)}", where="status")
        counts, items = _read.outbox(self.service, agent=viewer.agent, status=status)
        return self.render(request, viewer, "outbox.html", "Outbox", "outbox", counts=counts,
                           items=items, status=status or "",
                           statuses=_read.OUTBOX_STATUSES, rates=send_rates(request))

    # -- approvals ---------------------------------------------------------------------------

    @guarded
    def approvals(self, request: Request) -> Response:
        viewer = self.viewer(request)
        viewer.require("reviewer", "admin", doing="see the approvals queue")
        done, verdict = request.query_params.get("done"), request.query_params.get("verdict")
        return self.render(request, viewer, "approvals.html", "Approvals", "approvals",
                           pending=self.service.approvals(), may_review=viewer.may_review,
                           done=f"{done}: {verdict}" if done and verdict else None)

    async def review(self, request: Request) -> Response:
        form = await request.form()
        return await anyio.to_thread.run_sync(self._review, request, dict(form))

    def _review(self, request: Request, form: dict[str, Any]) -> Response:
        who = None
        try:
            viewer = self.viewer(request)
            who = viewer.label
            viewer.require_review()
            _csrf.check(request, form, _auth.token_of(request))
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
        days = _report_days(request.query_params.get("days", "").strip())
        since = self.service.clock() - days * 86400.0
        audit = compute_audit(self.service, sections=("prevented", "approvals"), since=since)
        prevented = audit["prevented"]
        report = attribution_report(self.service, models=list(ATTRIBUTION_MODELS), by="agent",
                                    since=since)
        credit = {}
        for r in report["results"]:
            items = sorted(((k, float(v or 0.0)) for k, v in r["credit"].items()),
                           key=lambda kv: -kv[1])
            credit[r["model"]] = bar_chart(items, fmt=money)
        return self.render(request, viewer, "reports.html", "Reports", "reports",
                           prevented=prevented, approvals=audit["approvals"], report=report,
                           by_kind=bar_chart(list(prevented["by_kind"].items())),
                           by_pair=bar_chart(list(prevented["by_pair"].items())),
                           credit=credit, days=days, ranges=REPORT_DAYS, since=since,
                           currency=CURRENCY)


    @guarded
    def lift(self, request: Request) -> Response:
        """Treated customers against the policy holdout over a chosen range (docs/lift.md)."""
        from accord.lift import lift_report
        from accord.lift._render import rows

        viewer = self.viewer(request)
        viewer.require("reviewer", "admin", doing="see the lift report")
        days = _report_days(request.query_params.get("days", "").strip())
        until = self.service.clock()
        since = until - days * 86400.0
        context: dict[str, Any] = {"report": None, "rows": [], "days": days,
                                   "ranges": REPORT_DAYS, "since": since}
        if self.service.policy.spec.settings.holdout is not None:
            report = lift_report(self.service, since=since, until=until)
            nowrap = [[c.replace(" %", "\u00a0%") for c in r] for r in rows(report)]
            context.update(report=report.to_dict(), rows=nowrap)
        return self.render(request, viewer, "lift.html", "Lift", "lift", **context)


def send_rates(request: Request) -> dict[str, float]:
    """The send rates (sends per second by sender, shared by every replica) the HTTP API this
    dashboard is mounted in was configured with — what ``GET /v1/outbox/summary`` reports;
    mounted elsewhere, ``ACCORD_SEND_RATES`` from the environment."""
    outer = request.scope.get(MOUNTED_IN)
    configured = getattr(getattr(outer, "state", None), "send_rates", None)
    if isinstance(configured, dict):
        return {str(k): float(v) for k, v in sorted(configured.items())}
    from accord.delivery._config import parse_rates

    return dict(sorted(parse_rates(os.environ.get("ACCORD_SEND_RATES", "")).items()))


def _report_days(text: str) -> int:
    if not text:
        return DEFAULT_REPORT_DAYS
    if not text.isdigit() or int(text) not in REPORT_DAYS:
        raise InvalidInput(f"days must be one of {', '.join(map(str, REPORT_DAYS))}, "
                           f"not {text!r}", where="query.days",
                           hint="pick a range from the page's range links")
    return int(text)


Endpoint = Callable[[Request], Response | Awaitable[Response]]
