"""Who is looking: the dashboard takes the same bearer tokens as the API.

A person signs in once by pasting a token into the sign-in form (posted, never in a URL, which
logs and browser history keep); the token goes into an HttpOnly, SameSite=Strict cookie scoped
to the dashboard's path, and every request resolves it again through ``resolve_role``, so a
revoked token stops working here as it does on the API.
SameSite=Strict is also what keeps another site from submitting the approve/reject forms.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from accord._errors import Unauthorized
from accord.auth import Principal

ResolveRole = Callable[[str], "tuple[str, str] | None"]
COOKIE = "accord_ui"


class Viewer(Principal):
    """Someone signed in to the dashboard (with a token, kept in a cookie)."""

    __slots__ = ()
    credential = "token"


def root(request: Request) -> str:
    """The path the dashboard is mounted at (``/ui``), so links work wherever it is mounted."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def resolve(resolve_role: ResolveRole, token: str | None) -> Viewer | None:
    if not token:
        return None
    found = resolve_role(token)
    if found is None or found[0] not in ("admin", "reviewer", "agent"):
        return None
    return Viewer(found[0], found[1])  # type: ignore[arg-type]


def viewer(request: Request, resolve_role: ResolveRole) -> Viewer:
    """The signed-in principal, or ``Unauthorized`` (pages turn that into the sign-in form)."""
    token = token_of(request)
    found = resolve(resolve_role, token)
    if found is None:
        raise Unauthorized("sign in with an Accord token" if token is None else
                           "the token is unknown or revoked", where="token",
                           hint="create one with `accord token create`")
    return found


def signed_in(request: Request, token: str, next_path: str | None) -> Response:
    """Set the cookie and send the browser on (only ever to a path inside the dashboard)."""
    base = root(request)
    target = next_path if next_path and next_path.startswith(base + "/") \
        and not next_path.startswith("//") else f"{base}/fleet"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, path=base or "/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


def signed_out(request: Request) -> Response:
    base = root(request)
    response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(COOKIE, path=base or "/")
    return response


def to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{root(request)}/login?next={quote(here)}", status_code=303)
