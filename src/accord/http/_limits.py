"""Limits every request meets before a route sees it: body size, and no NUL in path or query.

PostgreSQL cannot store U+0000, so an id with ``%00`` in it would fail inside the store on one
backend and not the other; both refuse it here instead, as bad input that names the place.
A body over ``MAX_BODY_BYTES`` is a 413 before the route reads it (by Content-Length) or as
soon as the bytes read pass the limit (a chunked body); ``_problems`` shapes that 413.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord.http._problems import problem
from accord.model import MAX_BODY_BYTES


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request body is over {MAX_BODY_BYTES} bytes")


class Limits:
    """Refuse a path or query string that carries NUL (raw or ``%00``) with a 422, and a body
    over ``limit`` bytes with a 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if "\x00" in scope.get("path", ""):
                where = "path"
            elif b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
                where = "query"
            if where is not None:
                response = problem(422, "Invalid input", f"the {where} contains a NUL character "
                                   "(%00), which no id or value may hold", kind="InvalidInput",
                                   where=where, hint="remove the NUL character; ids are text "
                                                     "without control characters")
                await response(scope, receive, send)
                return
            length = _content_length(scope)
            if length is not None and length > self.limit:
                await problem(413, "Content too large", f"the request body is {length} bytes, "
                              f"over the limit of {self.limit}", kind="ContentTooLarge",
                              where="body", hint=HINT)(scope, receive, send)
                return
            receive = self._counting(receive)
        await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        return counted


HINT = ("send less at once: split a batch, or keep large documents outside Accord and send a "
        "reference")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
