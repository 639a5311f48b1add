"""Accord as an A2A agent: other agents discover it by its card and delegate to and through it.

Every JSON-RPC request carries an agent's bearer token and acts as that agent (``from`` and
``agent`` below may be left out; named, they must be the token's agent); tasks belong to the
seat that created them (see ``_a2a_access``). A message's data parts say what to do, one key
each:

- ``{"delegate": {"to": Y, "kind": ..., "customer": ..., "payload": {...}}}`` records a handoff
  from the caller into Y's inbox (``via="a2a"``), keeping every part of the message as an
  artifact reference with the SHA-256 of its content;
- ``{"propose": {"customer": ..., "channel": ..., "intent": ..., ...}}`` passes the gate; the
  decision comes back as an artifact. As with MCP's ``propose``: ``value`` (the expected value),
  ``on_defer: "reschedule"`` with a ``deadline`` (Accord keeps a defer and decides it again at
  ``retry_at``; the artifact's ``scheduled_id`` names it) and ``accept`` (``offer``,
  ``channel``, ``time``: a variant that passes comes back as go with ``applied``);
- ``{"context": {"customer": ...}}`` returns the fields the caller's grant may read.

Everything one A2A context does shares one trace: ``trace_id`` is the A2A ``context_id``, so a
delegation, the handoff it became and the gated action that followed read back as one chain with
``accord trace``. A proposal in the same message as a delegation names the handoff as its parent.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from a2a.helpers import get_data_parts, new_data_part, new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    Message,
    Part,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol
from a2a.utils.errors import TaskNotCancelableError
from starlette.routing import BaseRoute, Route

from accord._errors import AccordError, Forbidden, InvalidInput
from accord.auth import Usage
from accord.ledger import canonical
from accord.protocols import _actions as act
from accord.protocols._a2a_access import MAX_REQUEST_BYTES, A2AAccess, SeatTasks, owner
from accord.protocols._actions import ResolveAgent
from accord.service import Accord

RPC_PATH = "/a2a"
KINDS = ("delegate", "propose", "context")
_PROPOSAL_KEYS = {"customer", "channel", "intent", "action", "topic", "offer", "cost_usd",
                  "tokens", "value", "reversible", "at", "parent_id", "idempotency_key",
                  "on_defer", "deadline", "accept"}
"""What a ``propose`` part may hold: the MCP ``propose`` tool's arguments (the fields of
``POST /v1/proposals``), validated by the one ``Proposal`` model with the same errors."""


def agent_card(base_url: str) -> AgentCard:
    """Accord's card: what it does for other agents and where its JSON-RPC endpoint is."""
    try:
        ver = version("accord")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ver = "0.0.0"
    json_io: dict[str, Any] = {"input_modes": ["application/json"],
                               "output_modes": ["application/json"]}
    return AgentCard(
        name="Accord",
        description="The coordination layer for fleets of agents that act on the same "
                    "customers: one gate every customer-facing action passes (go / flag / "
                    "defer / stop, with reasons), one shared customer context, handoffs "
                    "between agents, and one hash-chained ledger.",
        supported_interfaces=[AgentInterface(url=base_url.rstrip("/") + RPC_PATH,
                                             protocol_binding=TransportProtocol.JSONRPC.value,
                                             protocol_version=PROTOCOL_VERSION_CURRENT)],
        provider=AgentProvider(organization="Accord", url=base_url),
        version=ver,
        capabilities=AgentCapabilities(streaming=False, push_notifications=False),
        security_schemes={"agent_token": SecurityScheme(
            http_auth_security_scheme=HTTPAuthSecurityScheme(
                scheme="bearer", description="the API token issued for the calling agent's "
                "seat (accord token create --agent ID); every JSON-RPC method needs it"))},
        security_requirements=[SecurityRequirement(schemes={"agent_token": StringList()})],
        default_input_modes=["application/json", "text/plain"],
        default_output_modes=["application/json"],
        skills=[
            AgentSkill(id="gate", name="Propose an action (the gate)", tags=["gate", "propose"],
                       description="Ask whether an agent may take a customer-facing action. "
                       'Send a data part {"propose": {"agent", "customer", "channel", '
                       '"intent", ...}}; the decision (go, flag, defer or stop, with the rules '
                       "that decided it and retry_at for defer) comes back as an artifact. "
                       "Optional: value (expected value), on_defer \"reschedule\" with a "
                       "deadline (48h, 7d or RFC 3339: Accord decides a defer again at retry_at; "
                       "scheduled_id names it), accept [offer, channel, time] (a variant that "
                       "passes comes back as go with applied: act on that variant).",
                       examples=['{"propose": {"agent": "upsell", "customer": "c42", '
                                 '"channel": "email", "intent": "upsell"}}'], **json_io),
            AgentSkill(id="context", name="Read a customer's context", tags=["context"],
                       description='Send {"context": {"agent", "customer"}}: the customer\'s '
                       "shared context, only the fields that agent's seat may read.",
                       examples=['{"context": {"agent": "upsell", "customer": "c42"}}'],
                       **json_io),
            AgentSkill(id="delegate", name="Delegate / hand off work", tags=["handoff"],
                       description='Send {"delegate": {"from", "to", "kind", "customer", '
                       '"payload"}}: a handoff lands in the receiver\'s inbox, with every '
                       "message part kept as a hashed artifact; later actions in the same A2A "
                       "context share its trace.",
                       examples=['{"delegate": {"from": "upsell", "to": "scheduler", "kind": '
                                 '"meeting-request", "customer": "c42", "payload": {}}}'],
                       **json_io),
        ],
    )


def part_artifacts(message: Message) -> list[dict[str, Any]]:
    """Each part of ``message`` as a handoff artifact: an id and the SHA-256 of its content."""
    out = []
    for i, part in enumerate(message.parts):
        content, media = _content(part)
        ref: dict[str, Any] = {"id": f"a2a:{message.message_id}/parts/{i}",
                               "sha256": hashlib.sha256(content).hexdigest()}
        if media:
            ref["media_type"] = media
        out.append(ref)
    return out


def _content(part: Part) -> tuple[bytes, str]:
    which = part.WhichOneof("content")
    if which == "text":
        return part.text.encode(), part.media_type or "text/plain"
    if which == "raw":
        return part.raw, part.media_type or "application/octet-stream"
    if which == "url":
        return part.url.encode(), part.media_type or "text/uri-list"
    return canonical(get_data_parts([part])[0]), part.media_type or "application/json"


class AccordExecutor(AgentExecutor):
    """Turns each A2A message into service calls; every answer is a task with artifacts."""

    def __init__(self, service: Accord) -> None:
        self.service = service
        self.usage = Usage(service.store, "a2a", every=10.0, clock=lambda: service.clock())

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        message = context.message
        assert message is not None
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        caller = owner(context.call_context)   # the seat A2AAccess authenticated
        try:
            results = await anyio.to_thread.run_sync(self.handle, message, task.context_id,
                                                     caller)
        except AccordError as exc:
            await updater.add_artifact([new_data_part(exc.to_problem())],
                                       name="error")
            await updater.failed(new_text_message(f"{exc.title}: {exc}", task_id=task.id,
                                                  context_id=task.context_id))
            return
        for name, data in results:
            await updater.add_artifact([new_data_part(data)], name=name)
        summary = "; ".join(_summary(name, data) for name, data in results)
        await updater.complete(new_text_message(summary, task_id=task.id,
                                                context_id=task.context_id))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise TaskNotCancelableError("Accord answers each message at once; there is nothing "
                                     "to cancel")

    def handle(self, message: Message, trace_id: str,
               caller: str) -> list[tuple[str, dict[str, Any]]]:
        """Delegations first, then context reads and proposals, in one trace."""
        asks = [d for d in get_data_parts(message.parts)
                if isinstance(d, dict) and any(k in d for k in KINDS)]
        if not asks:
            raise InvalidInput("no request Accord understands in this message",
                               where="message.parts",
                               hint='send a data part with one of "delegate", "propose" or '
                                    '"context" (see the skills on the agent card)')
        results: list[tuple[str, dict[str, Any]]] = []
        parent = None
        for ask in (a for a in asks if "delegate" in a):
            d = _object(ask["delegate"], "delegate")
            sender = self._as(caller, d.get("from"), "delegate.from")
            h = act.send_handoff(self.service, sender, str(d.get("to") or ""),
                                 str(d.get("kind") or ""), _object(d.get("payload", {}),
                                                                   "delegate.payload"),
                                 customer=d.get("customer"), trace_id=trace_id, via="a2a",
                                 artifacts=part_artifacts(message))
            parent = h.get("id") if isinstance(h, dict) else None
            results.append(("handoff", h))
        for ask in (a for a in asks if "context" in a):
            c = _object(ask["context"], "context")
            who = self._as(caller, c.get("agent"), "context.agent")
            results.append(("context", act.get_context(self.service, who,
                                                       str(c.get("customer") or ""))))
        for ask in (a for a in asks if "propose" in a):
            p = _object(ask["propose"], "propose")
            who = self._as(caller, p.get("agent"), "propose.agent")
            unknown = sorted(set(p) - _PROPOSAL_KEYS - {"agent"})
            if unknown:
                raise InvalidInput(f"unknown proposal fields: {', '.join(unknown)}",
                                   where="propose",
                                   hint=f"known: {', '.join(sorted(_PROPOSAL_KEYS))}")
            fields = {k: v for k, v in p.items() if k in _PROPOSAL_KEYS}
            fields.setdefault("parent_id", parent)
            if isinstance(fields.get("tokens"), float):
                fields["tokens"] = int(fields["tokens"])
            customer = str(fields.pop("customer", "") or "")
            results.append(("decision", act.propose(self.service, who, customer,
                                                    trace_id=trace_id, **fields)))
        return results

    def _as(self, caller: str, named: Any, where: str) -> str:
        if not isinstance(named, str) or not named:
            named = caller
        if named != caller:
            raise Forbidden(f"your token is {caller}'s; it cannot act as {named}", where=where)
        self.usage.note(named)
        return str(named)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("must be an object", where=where)
    return value


def _summary(name: str, data: dict[str, Any]) -> str:
    if name == "decision":
        why = ", ".join(r["rule"] for r in data.get("reasons", []))
        return f"decision {data['outcome']}" + (f" ({why})" if why else "")
    if name == "handoff":
        return f"handoff {data.get('id')} to {data.get('receiver')}"
    return f"context of {data.get('customer')} v{data.get('version')}"


def routes(service: Accord, base_url: str, *, resolve_agent: ResolveAgent,
           tasks: SeatTasks | None = None,
           max_request_bytes: int = MAX_REQUEST_BYTES) -> list[BaseRoute]:
    """The agent card (``/.well-known/agent-card.json``, and the pre-1.0 ``agent.json``), open
    to anyone, and the JSON-RPC endpoint at ``/a2a`` (A2A 1.0 method names and the 0.3
    ``message/send`` / ``tasks/get``), where every request needs an agent's bearer token
    (``resolve_agent(token)`` → agent id or None), acts only as that agent and sees only its
    own tasks."""
    card = agent_card(base_url)
    handler = DefaultRequestHandler(AccordExecutor(service),
                                    SeatTasks() if tasks is None else tasks, card)
    rpc = [Route(r.path, A2AAccess(r.app, resolve_agent, max_bytes=max_request_bytes),
                 methods=["POST"])
           for r in create_jsonrpc_routes(handler, RPC_PATH, enable_v0_3_compat=True)
           if isinstance(r, Route)]
    return [*create_agent_card_routes(card),
            *create_agent_card_routes(card, card_url="/.well-known/agent.json"),
            *rpc]


__all__ = ["AccordExecutor", "agent_card", "part_artifacts", "routes"]
