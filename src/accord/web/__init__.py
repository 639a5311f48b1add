"""The dashboard ``accord serve`` shows at ``/ui``: fleet and seats, live decisions, customer
journeys, the approvals queue, the outbox, coordination and attribution reports, and the lift
report against the policy holdout.

Server-rendered HTML (Jinja2 templates in ``templates/``, autoescaped) over the one service, with
nothing to build and nothing fetched from elsewhere: inline CSS, inline SVG charts, a few lines
of JavaScript for the live feed. Mount it::

    app.mount("/ui", accord.web.build_asgi(service, resolve_role=resolve))

where ``resolve(token) -> (role, subject) | None`` is the API's own token check. See
docs/dashboard.md for what each page shows and who may see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from accord.web._auth import COOKIE, ResolveRole, Viewer
from accord.web._pages import MOUNTED_IN, Dashboard

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

    from accord.service import Accord


def routes(service: Accord, *, resolve_role: ResolveRole) -> list[BaseRoute]:
    """The dashboard's routes, relative to wherever they are mounted."""
    d = Dashboard(service, resolve_role)

    def home(request: Request) -> Response:
        return RedirectResponse(f"{str(request.scope.get('root_path', '')).rstrip('/')}/fleet",
                                status_code=303)

    return [
        Route("/", home),
        Route("/login", d.login, methods=["GET"]),
        Route("/login", d.login_post, methods=["POST"]),
        Route("/logout", d.logout, methods=["POST"]),
        Route("/fleet", d.fleet),
        Route("/decisions", d.decisions),
        Route("/stream", d.stream),
        Route("/traces/{trace_id:path}", d.trace),
        Route("/customers", d.find_customer),
        Route("/customers/{customer:path}", d.customer),
        Route("/approvals", d.approvals, methods=["GET"]),
        Route("/approvals/{decision_id}", d.review, methods=["POST"]),
        Route("/outbox", d.outbox),
        Route("/reports", d.reports),
        Route("/lift", d.lift),
    ]


class _Mounted(Starlette):
    """Starlette, noting the app it is mounted in before it names itself ``scope["app"]``: the
    Outbox page shows the send rates that app was configured with (``state.send_rates``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outer = scope.get("app")
        if outer is not None and outer is not self:
            scope[MOUNTED_IN] = outer
        await super().__call__(scope, receive, send)


def build_asgi(service: Accord, *, resolve_role: ResolveRole) -> Starlette:
    """The dashboard as one ASGI app, to mount (``/ui``) inside the HTTP API's app."""
    return _Mounted(routes=routes(service, resolve_role=resolve_role))


__all__ = ["COOKIE", "ResolveRole", "Viewer", "build_asgi", "routes"]
