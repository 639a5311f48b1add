"""Who may call Accord's A2A endpoint, and how much it keeps for them.

Every JSON-RPC request to ``/a2a`` (every method, 1.0 and 0.3 alike) passes ``A2AAccess``
before the SDK sees it: the bearer token must be an agent's, and the request body at most
``MAX_REQUEST_BYTES``. A refusal is a JSON-RPC error that says what was wrong and how to fix it;
nothing of a refused request reaches the executor, the task store or the log's tracebacks.

The authenticated agent becomes the request's user, and ``SeatTasks`` keys every task by it:
a seat lists and reads only the tasks it created (another seat's task id is "not found"), and
keeps at most ``MAX_TASKS_PER_SEAT`` of them, ``MAX_TASKS`` across the server, oldest forgotten
first. Tasks are a convenience copy of answers already sent; the ledger is the record.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import anyio
from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.types import a2a_pb2
from a2a.types.a2a_pb2 import Task
from starlette.authentication import SimpleUser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord._errors import Forbidden
from accord.protocols._actions import ResolveAgent

MAX_REQUEST_BYTES = 64 * 1024
"""The largest JSON-RPC request body ``/a2a`` accepts (a message with all its parts)."""
MAX_TASKS_PER_SEAT = 100
"""Tasks kept per seat; the oldest is forgotten when a seat creates one more."""
MAX_TASKS = 1000
"""Tasks kept across the server; the oldest of any seat is forgotten beyond it."""

UNAUTHENTICATED = -32050
"""JSON-RPC error code: no agent's bearer token (with HTTP 401)."""
FORBIDDEN = -32051
"""JSON-RPC error code: a valid token that is not an agent's (with HTTP 403)."""
TOO_LARGE = -32600
"""JSON-RPC error code for a request over ``MAX_REQUEST_BYTES`` (Invalid Request, as the SDK
answers its own size refusals)."""


def owner(context: ServerCallContext) -> str:
    """The seat a request acts as: set by ``A2AAccess`` for every request that reaches the SDK."""
    return context.user.user_name


class SeatTasks(TaskStore):
    """In-memory tasks keyed by the seat that created them, bounded per seat and in total."""

    def __init__(self, *, per_seat: int = MAX_TASKS_PER_SEAT, total: int = MAX_TASKS) -> None:
        self._tasks = InMemoryTaskStore(owner_resolver=owner)
        self._order: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._per_seat: dict[str, int] = {}
        self.per_seat, self.total = per_seat, total

    def __len__(self) -> int:
        return len(self._order)

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await self._tasks.save(task, context)
        key = (owner(context), task.id)
        if key in self._order:
            return
        self._order[key] = None
        self._per_seat[key[0]] = self._per_seat.get(key[0], 0) + 1
        while self._per_seat[key[0]] > self.per_seat:
            await self._forget(next(k for k in self._order if k[0] == key[0]))
        while len(self._order) > self.total:
            await self._forget(next(iter(self._order)))

    async def _forget(self, key: tuple[str, str]) -> None:
        seat, task_id = key
        del self._order[key]
        self._per_seat[seat] -= 1
        if not self._per_seat[seat]:
            del self._per_seat[seat]
        await self._tasks.delete(task_id, ServerCallContext(user=_Seat(seat)))

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        return await self._tasks.get(task_id, context)

    async def list(self, params: a2a_pb2.ListTasksRequest,
                   context: ServerCallContext) -> a2a_pb2.ListTasksResponse:
        return await self._tasks.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        key = (owner(context), task_id)
        if key in self._order:
            await self._forget(key)


class _Seat(User):
    """A seat as the A2A SDK's user (``user_name`` is what the task store keys by)."""

    def __init__(self, seat: str) -> None:
        self.seat = seat

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def user_name(self) -> str:
        return self.seat


class A2AAccess:
    """Wraps the JSON-RPC endpoint: an agent's token and a bounded body, or a JSON-RPC refusal."""

    def __init__(self, app: ASGIApp, resolve_agent: ResolveAgent, *,
                 max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.resolve_agent = resolve_agent
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, complete = await self._read(scope, receive)
        request_id = _request_id(body) if complete else None
        try:
            agent = await self._authenticate(scope)
        except Forbidden as exc:
            await _refuse(send, 403, request_id, FORBIDDEN, exc.message, where="Authorization",
                          hint=exc.hint or "use the agent's own token")
            return
        if agent is None:
            await _refuse(send, 401, request_id, UNAUTHENTICATED,
                          "A2A requests to Accord need an agent's bearer token",
                          where="Authorization",
                          hint="send `Authorization: Bearer <token>` with the token issued for "
                               "the agent's seat (`accord token create --agent ID`)")
            return
        if not complete:
            await _refuse(send, 200, None, TOO_LARGE,
                          f"the request is larger than {self.max_bytes} bytes",
                          where="params.message.parts",
                          hint="send large content by reference (a url part or an id in the "
                               "payload), not inline")
            return
        scope["user"] = SimpleUser(agent)   # the SDK reads it as the call's user
        await self.app(scope, _replay(body), send)

    async def _read(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        """The body, up to ``max_bytes``; ``complete`` is False when there was more."""
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return b"", False
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    async def _authenticate(self, scope: Scope) -> str | None:
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await anyio.to_thread.run_sync(self.resolve_agent, token.strip())


def _request_id(body: bytes) -> str | int | None:
    try:
        found = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send: Send, status: int, request_id: str | int | None, code: int,
                  message: str, *, where: str, hint: str) -> None:
    error: dict[str, Any] = {"code": code, "message": message,
                             "data": {"where": where, "hint": hint}}
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="accord"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
