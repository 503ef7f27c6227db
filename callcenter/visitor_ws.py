"""The visitor side of web chat: ``/ws/visitor`` and the relay between visitor and agent.

A chat started with ``POST /api/v1/chat/sessions`` (no login) gets a visitor token:
a signed token of role ``visitor`` naming that one contact. On ``/ws/visitor`` the
first message is ``{"type": "auth", "token"}``; the ack resumes the chat (state,
messages so far, estimated wait). Requests: ``chat_send {text}``, ``chat_typing
{typing}``, ``leave``, ``ping``. Pushes (with ``seq``): ``chat_message {from: "agent"}``,
``agent_joined {agent_name}``, ``queue_position {position, estimated_wait_s}``,
``chat_typing {from: "agent", typing}``, ``contact_ended {by}``.

A visitor's message is stored (``contact_messages``) before it is acknowledged and
reaches the agent's console as ``chat_message {contact_id, from: "customer"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import orjson
from aiohttp import WSMsgType, web
from msgspec import Meta, Struct
from sqlalchemy import select

from callcenter.agents_ws import CLOSE_AUTH, CLOSE_SHUTDOWN, MAX_MESSAGE_BYTES, WsError
from callcenter.bus import Routed
from callcenter.errors import CallCenterError, Unauthorized
from callcenter.logs import get_logger
from callcenter.schemas import decode_error_path
from callcenter.store.models import Agent, ContactMessage
from callcenter.store.timestamps import iso_utc
from callcenter.writeback import utc
from routing.commands import (
    CancelOffer,
    ContactAbandonedRecorded,
    ContactConnected,
    ContactExited,
    ContactQueued,
    StartWrapUp,
)
from routing.errors import RoutingError
from routing.events import ContactAbandoned, ContactEnded

if TYPE_CHECKING:
    from callcenter.http_api.context import Services

log = get_logger(__name__)

VISITOR_ROLE = "visitor"
RequestId = str | int | None


class _VisitorMessage(Struct, tag_field="type", forbid_unknown_fields=False):
    id: RequestId = None


class VisitorAuth(_VisitorMessage, tag="auth"):
    token: Annotated[str, Meta(max_length=4000)] = ""


class VisitorSend(_VisitorMessage, tag="chat_send"):
    text: Annotated[str, Meta(min_length=1, max_length=10_000)] = "-"


class VisitorTyping(_VisitorMessage, tag="chat_typing"):
    typing: bool = True


class VisitorLeave(_VisitorMessage, tag="leave"):
    pass


class VisitorPing(_VisitorMessage, tag="ping"):
    pass


VisitorMessage = VisitorAuth | VisitorSend | VisitorTyping | VisitorLeave | VisitorPing
_DECODER = msgspec.json.Decoder(VisitorMessage)
_TYPES = {"auth", "chat_send", "chat_typing", "leave", "ping"}


def decode_visitor_message(raw: str | bytes) -> VisitorMessage:
    try:
        message: VisitorMessage = _DECODER.decode(raw)
        return message
    except msgspec.ValidationError as exc:
        try:
            kind = msgspec.json.decode(raw).get("type")
        except (msgspec.DecodeError, AttributeError):
            kind = None
        if isinstance(kind, str) and kind not in _TYPES:
            raise WsError(f"unknown message type {kind[:50]!r}", code="ws.unknown_type") from None
        path, problem = decode_error_path(str(exc))
        raise WsError(f"{path}: {problem}", code="request.validation") from None
    except msgspec.DecodeError as exc:
        raise WsError(f"malformed JSON: {exc}", code="request.invalid_json") from None


@dataclass(eq=False)
class VisitorSession:
    contact_id: str
    seq: int = 0
    sockets: set[web.WebSocketResponse] = field(default_factory=set)


class VisitorHub:
    """Visitor sockets by contact; relays chat between visitor and agent."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sessions: dict[str, VisitorSession] = defaultdict(lambda: VisitorSession(""))
        self.closing = False
        self._agent_names: dict[str, str] = {}
        self._unsubscribe = services.bus.subscribe("visitors", self._on_routed)
        self._tasks: set[asyncio.Task[Any]] = set()

    def token_for(self, contact_id: str) -> str:
        """A visitor token for one chat contact."""
        return self.services.auth.signer.issue(0, contact_id, VISITOR_ROLE, None).token

    # ------------------------------------------------------------ pushes

    def push(self, contact_id: str, message: dict[str, Any]) -> None:
        session = self.sessions.get(contact_id)
        if session is None or not session.sockets:
            return
        session.seq += 1
        data = orjson.dumps({**message, "seq": session.seq}).decode()
        for ws in list(session.sockets):
            self._spawn(self._send_raw(ws, data))

    def relay(self, contact_id: str, sender: str, text: str, at: Any) -> None:
        """An agent's message to the visitor (called by the agent hub after storing it)."""
        self.push(contact_id, {"type": "chat_message", "contact_id": contact_id, "from": sender,
                               "text": text, "at": iso_utc(at)})

    def typing(self, contact_id: str, typing: bool) -> None:
        self.push(contact_id, {"type": "chat_typing", "contact_id": contact_id, "from": "agent",
                               "typing": typing})

    def _on_routed(self, item: Routed) -> None:
        for cmd in item.commands:
            contact_id = getattr(cmd, "contact_id", None)
            if contact_id is None or contact_id not in self.sessions:
                continue
            if isinstance(cmd, ContactConnected):
                self._spawn(self._agent_joined(contact_id, cmd.agent_id))
            elif isinstance(cmd, ContactQueued):
                self.push(contact_id, {"type": "queue_position", "position": cmd.position,
                                       "estimated_wait_s": cmd.estimated_wait_s})
            elif isinstance(cmd, CancelOffer) and cmd.reason != "abandoned":
                self._queue_position(contact_id)
            elif isinstance(cmd, StartWrapUp):
                by = getattr(item.event, "by", "agent")
                self.push(contact_id, {"type": "contact_ended", "by": by})
            elif isinstance(cmd, ContactAbandonedRecorded):
                self.push(contact_id, {"type": "contact_ended", "by": "customer"})
            elif isinstance(cmd, ContactExited) and cmd.exit != "overflow":
                self.push(contact_id, {"type": "contact_ended", "by": "system"})

    def _queue_position(self, contact_id: str) -> None:
        router = self.services.runtime.router
        with contextlib.suppress(RoutingError):
            self.push(contact_id, {"type": "queue_position",
                                   "position": router.contact_position(contact_id),
                                   "estimated_wait_s": router.estimated_wait(contact_id)})

    async def _agent_name(self, agent_id: str) -> str:
        if agent_id not in self._agent_names:
            async with self.services.sessionmaker() as db:
                name = await db.scalar(select(Agent.name).where(Agent.id == agent_id))
            # Visitors see a first name only.
            self._agent_names[agent_id] = (name or "An agent").split()[0]
        return self._agent_names[agent_id]

    async def _agent_joined(self, contact_id: str, agent_id: str) -> None:
        self.push(contact_id, {"type": "agent_joined", "agent_name":
                               await self._agent_name(agent_id)})

    async def _send_raw(self, ws: web.WebSocketResponse, data: str) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(data)

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        await self._send_raw(ws, orjson.dumps(message).decode())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, message: str = "server shutting down") -> None:
        self.closing = True
        self._unsubscribe()
        for session in list(self.sessions.values()):
            for ws in list(session.sockets):
                with contextlib.suppress(Exception):
                    await ws.close(code=CLOSE_SHUTDOWN, message=message.encode())

    # ------------------------------------------------------------ endpoint

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /ws/visitor``."""
        ws = web.WebSocketResponse(heartbeat=self.services.config.agent_ws.heartbeat_s,
                                   max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        self.services.websockets.add(ws)
        contact_id: str | None = None
        try:
            contact_id, auth_id = await self._authenticate(ws)
            if contact_id is None:
                return ws
            session = self.sessions[contact_id]
            session.contact_id = contact_id
            session.sockets.add(ws)
            await self._send(ws, {"type": "ack", "id": auth_id,
                                  "data": await self._resume(contact_id, session)})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(contact_id, ws, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._send(ws, {"type": "error", "id": None,
                                          "code": "request.invalid_json",
                                          "message": "send JSON text"})
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.services.websockets.discard(ws)
            if contact_id is not None:
                ended = self.sessions.get(contact_id)
                if ended is not None:
                    ended.sockets.discard(ws)
                    if not ended.sockets and contact_id not in \
                            self.services.runtime.tracker.tracks:
                        self.sessions.pop(contact_id, None)
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> tuple[str | None, Any]:
        timeout = self.services.config.auth.ws_auth_timeout_s
        try:
            msg = await asyncio.wait_for(ws.receive(), timeout)
        except TimeoutError:
            await ws.close(code=CLOSE_AUTH, message=b"authentication timeout")
            return None, None
        try:
            if msg.type != WSMsgType.TEXT:
                raise WsError("the first message must be {'type': 'auth', 'token'}",
                              code="auth.required")
            message = decode_visitor_message(msg.data)
            if not isinstance(message, VisitorAuth):
                raise WsError("the first message must be {'type': 'auth', 'token'}",
                              code="auth.required")
            principal = self.services.auth.signer.verify(message.token)
            if principal.role != VISITOR_ROLE:
                raise WsError("a visitor token is needed", code="auth.forbidden")
        except (WsError, Unauthorized) as exc:
            await self._send(ws, {"type": "error", "id": None, "code": exc.code,
                                  "message": exc.message})
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return None, None
        return principal.username, message.id

    async def _resume(self, contact_id: str, session: VisitorSession) -> dict[str, Any]:
        from callcenter.http_api.contacts import contact_view

        view = await contact_view(self.services, contact_id)
        async with self.services.sessionmaker() as db:
            rows = list(await db.scalars(
                select(ContactMessage).where(ContactMessage.contact_id == contact_id)
                .order_by(ContactMessage.at, ContactMessage.id)))
        data: dict[str, Any] = {
            "contact_id": contact_id, "state": view.state, "position": view.position,
            "estimated_wait_s": view.estimated_wait_s, "seq": session.seq,
            "messages": [{"id": m.id, "from": "customer" if m.direction == "in" else "agent",
                          "text": m.body, "at": iso_utc(m.at)} for m in rows],
        }
        if view.state in ("connected", "wrap_up") and view.agent_id:
            data["agent_name"] = await self._agent_name(view.agent_id)
        return data

    async def _on_text(self, contact_id: str, ws: web.WebSocketResponse, raw: str) -> None:
        try:
            message = decode_visitor_message(raw)
            data = await self._dispatch(contact_id, message)
        except (WsError, CallCenterError) as exc:
            await self._send(ws, {"type": "error", "id": _id_of(raw), "code": exc.code,
                                  "message": exc.message})
            return
        except RoutingError as exc:
            await self._send(ws, {"type": "error", "id": _id_of(raw), "code": exc.code,
                                  "message": exc.message})
            return
        if isinstance(message, VisitorPing):
            await self._send(ws, {"type": "pong", "id": message.id})
        else:
            await self._send(ws, {"type": "ack", "id": message.id, "data": data})

    async def _dispatch(self, contact_id: str, message: VisitorMessage) -> dict[str, Any]:
        runtime = self.services.runtime
        track = runtime.tracker.get(contact_id)
        if isinstance(message, VisitorPing):
            return {}
        if isinstance(message, VisitorAuth):
            raise WsError("already authenticated", code="ws.already_authenticated")
        if track is None:
            raise WsError("this chat has ended", code="contact.invalid_transition")
        if isinstance(message, VisitorSend):
            now = utc(time.time())
            async with self.services.sessionmaker.begin() as db:
                row = ContactMessage(contact_id=contact_id, direction="in", sender="visitor",
                                     body=message.text, at=now)
                db.add(row)
                await db.flush()
                message_id = row.id
            delivered = False
            if track.agent_id and track.state in ("alerting", "connected", "wrap_up"):
                delivered = self.services.agents.push_chat(
                    track.agent_id, contact_id, "customer", message.text, now)
            return {"at": iso_utc(now), "id": message_id, "delivered": delivered}
        if isinstance(message, VisitorTyping):
            if track.agent_id:
                self.services.agents.push_typing(track.agent_id, contact_id, message.typing)
            return {}
        # leave
        if track.state == "connected":
            await runtime.submit(ContactEnded(0.0, contact_id, "customer"))
        elif track.state in ("queued", "alerting", "callback_scheduled"):
            await runtime.submit(ContactAbandoned(0.0, contact_id))
        return {"state": "ended"}


def _id_of(raw: str) -> Any:
    with contextlib.suppress(Exception):
        value = msgspec.json.decode(raw).get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return None
