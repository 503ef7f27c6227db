"""The agent websocket ``/ws/agent`` (PROTOCOL.md "Agent websocket").

One :class:`AgentSession` per agent outlives its sockets: it holds the push
sequence number (``seq``), the current socket (a second login replaces the first)
and the disconnect grace timer. Client messages are decoded with msgspec into a
tagged union on ``type``; every request gets an ``ack`` or an ``error`` with a
stable code, and nothing a client sends closes the socket except a missing or
bad ``auth`` (close code 4401) or a wrong role (4403).

Pushes come from the router's commands on the bus. Each session has one outbox
and one sender task, so pushes keep their order; an offer waits (briefly) for its
screen-pop in the sender, never in the router task.

A dropped socket starts a grace period (``agent_ws.disconnect_grace_s``); if the
agent is not back by then it goes ``not_ready(disconnected)`` and its ringing
offers go back to their place.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import orjson
from aiohttp import WSMsgType, web
from msgspec import Meta, Struct
from sqlalchemy import select

from callcenter.auth import Principal
from callcenter.bus import Routed
from callcenter.cti_bridge import (
    is_voice,
    voice_accept,
    voice_hold,
    voice_retrieve,
    voice_transfer,
)
from callcenter.errors import CallCenterError, Forbidden, NotFound, Unauthorized
from callcenter.logs import get_logger
from callcenter.schemas import decode_error_path
from callcenter.store.agents import get_agent
from callcenter.store.models import Agent, ContactMessage, EmailOutbox
from callcenter.store.timestamps import iso_utc
from callcenter.writeback import utc
from routing.codec import to_plain
from routing.commands import (
    CancelOffer,
    Command,
    ContactCompleted,
    ContactConnected,
    OfferContact,
    PresenceSet,
    StartWrapUp,
)
from routing.errors import RoutingError
from routing.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    ContactEnded,
    ContactTransferred,
    Event,
    OfferAccepted,
    OfferRejected,
    PresenceRequested,
    WrapUpEnded,
)
from routing.router import Router

if TYPE_CHECKING:
    from callcenter.http_api.context import Services

log = get_logger(__name__)

CLOSE_AUTH = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_SHUTDOWN = 4503  # the server is going down; reconnect to another node or later
MAX_MESSAGE_BYTES = 256 * 1024
#: Contacts on these channels are calls: the PBX, through the CTI bridge, controls them.
VOICE_CHANNELS = ("voice", "callback")

RequestId = str | int | None
ShortText = Annotated[str, Meta(max_length=200)]
ContactId = Annotated[str, Meta(min_length=1, max_length=64)]


# --------------------------------------------------------------------------- messages


class _Message(Struct, tag_field="type", forbid_unknown_fields=False):
    id: RequestId = None


class AuthMsg(_Message, tag="auth"):
    token: Annotated[str, Meta(max_length=4000)] = ""


class SetStateMsg(_Message, tag="set_state"):
    state: Literal["available", "not_ready"] = "available"
    reason: ShortText = ""


class AcceptMsg(_Message, tag="accept"):
    contact_id: ContactId = ""


class RejectMsg(_Message, tag="reject"):
    contact_id: ContactId = ""
    reason: ShortText = ""


class EndMsg(_Message, tag="end"):
    contact_id: ContactId = ""


class TicketMsg(Struct, forbid_unknown_fields=False):
    subject: Annotated[str, Meta(min_length=1, max_length=300)]
    kind: Literal["complaint", "service"] = "service"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    status: Literal["open", "pending", "resolved", "closed"] = "open"


class WrapUpDoneMsg(_Message, tag="wrap_up_done"):
    contact_id: ContactId = ""
    disposition: Annotated[str, Meta(max_length=64)] = ""
    notes: Annotated[str, Meta(max_length=10_000)] | None = None
    ticket: TicketMsg | None = None


class TransferMsg(_Message, tag="transfer"):
    contact_id: ContactId = ""
    to_queue: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    to_agent: Annotated[str, Meta(min_length=1, max_length=64)] | None = None


class HoldMsg(_Message, tag="hold"):
    contact_id: ContactId = ""


class RetrieveMsg(_Message, tag="retrieve"):
    contact_id: ContactId = ""


class ChatSendMsg(_Message, tag="chat_send"):
    contact_id: ContactId = ""
    text: Annotated[str, Meta(min_length=1, max_length=10_000)] = "-"


class ChatTypingMsg(_Message, tag="chat_typing"):
    contact_id: ContactId = ""
    typing: bool = True


class PingMsg(_Message, tag="ping"):
    pass


ClientMessage = (
    AuthMsg | SetStateMsg | AcceptMsg | RejectMsg | EndMsg | WrapUpDoneMsg | TransferMsg
    | HoldMsg | RetrieveMsg | ChatSendMsg | ChatTypingMsg | PingMsg
)
MESSAGE_TYPES: tuple[type[_Message], ...] = (
    AuthMsg, SetStateMsg, AcceptMsg, RejectMsg, EndMsg, WrapUpDoneMsg, TransferMsg, HoldMsg,
    RetrieveMsg, ChatSendMsg, ChatTypingMsg, PingMsg,
)
_TYPE_NAMES = frozenset(str(t.__struct_config__.tag) for t in MESSAGE_TYPES)
_DECODER = msgspec.json.Decoder(ClientMessage)


class _Envelope(Struct, forbid_unknown_fields=False):
    type: Any = None
    id: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class WsError(CallCenterError):
    """An error answered on the socket (never closes it)."""

    status = 400


def decode_client_message(raw: str | bytes) -> ClientMessage:
    """Decode one client message; raises :class:`WsError` with the stable code."""
    try:
        message: ClientMessage = _DECODER.decode(raw)
        return message
    except msgspec.ValidationError as exc:
        try:
            envelope = _ENVELOPE.decode(raw)
        except msgspec.ValidationError:
            raise WsError("a message must be a JSON object with a 'type'",
                          code="request.validation") from None
        if not isinstance(envelope.type, str):
            raise WsError("a message must be a JSON object with a string 'type'",
                          code="request.validation") from None
        if envelope.type not in _TYPE_NAMES:
            raise WsError(f"unknown message type {envelope.type[:50]!r}",
                          code="ws.unknown_type") from None
        path, problem = decode_error_path(str(exc))
        raise WsError(f"{path}: {problem}", code="request.validation") from None
    except msgspec.DecodeError as exc:
        raise WsError(f"malformed JSON: {exc}", code="request.invalid_json") from None


def request_id(raw: str | bytes) -> Any:
    """The ``id`` of a message that failed to decode, if it has one."""
    try:
        value = _ENVELOPE.decode(raw).id
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- sessions

Push = Callable[[], Awaitable[dict[str, Any] | None]] | dict[str, Any]


@dataclass(eq=False)
class AgentSession:
    """An agent's connection state; outlives its sockets."""

    agent_id: str
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    outbox: asyncio.Queue[tuple[int, Push]] = field(default_factory=asyncio.Queue)
    sender: asyncio.Task[None] | None = None
    grace: asyncio.TimerHandle | None = None
    connected_at: float | None = None
    disconnected_at: float | None = None

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed


def routing_capacity(capacity: dict[str, int]) -> dict[str, int]:
    """An agent's stored capacity for the router: callbacks are dialled on the voice
    line, so without a callback capacity of its own an agent takes as many callbacks
    as voice calls."""
    return {**capacity, "callback": capacity.get("callback", capacity.get("voice", 1))}


Intent = Callable[[Router], Sequence[tuple[Event, dict[str, Any]]]]


def _park_intent(agent_id: str, reason: str) -> Intent:
    """Not ready with ``reason``; ringing offers go back without penalty when possible.

    An agent with only ringing offers is logged out and in again (a log-out recalls
    offers with no exclusion and no attempt counted); one who also has a live
    contact rejects the ringing ones and gets a pending not-ready.
    """

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        if agent_id not in router.agent_ids():
            return []
        snap = router.agent_snapshot(agent_id)
        if snap.presence == "offline":
            return []
        alerting = [cid for cid, _ch, state in snap.contacts if state == "alerting"]
        busy = [cid for cid, _ch, state in snap.contacts if state != "alerting"]
        if alerting and not busy:
            return [(AgentLoggedOut(0.0, agent_id), {}),
                    (AgentLoggedIn(0.0, agent_id, dict(snap.skills), dict(snap.capacity),
                                   "not_ready", reason), {})]
        events: list[tuple[Event, dict[str, Any]]] = [
            (OfferRejected(0.0, cid, agent_id, reason), {}) for cid in alerting]
        if snap.presence != "not_ready" or snap.reason != reason or snap.pending_reason:
            events.append((PresenceRequested(0.0, agent_id, "not_ready", reason), {}))
        return events

    return intent


def park_agent_intent(agent_id: str, reason: str) -> Intent:
    """Public form of the park intent (restart recovery uses it for every agent)."""
    return _park_intent(agent_id, reason)


class AgentHub:
    """All agent sessions; subscribes to the bus for pushes."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sessions: dict[str, AgentSession] = {}
        self.closing = False
        self._unsubscribe = services.bus.subscribe("agents", self._on_routed)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.pushes_sent = 0

    # ------------------------------------------------------------ pushes

    def _session(self, agent_id: str) -> AgentSession:
        session = self.sessions.get(agent_id)
        if session is None:
            session = self.sessions[agent_id] = AgentSession(agent_id)
        return session

    def _push(self, agent_id: str, push: Push) -> None:
        session = self.sessions.get(agent_id)
        if session is None:
            return
        session.seq += 1
        if session.connected:
            session.outbox.put_nowait((session.seq, push))

    def _on_routed(self, item: Routed) -> None:
        by = getattr(item.event, "by", "agent")
        for command in item.commands:
            self._route_command(command, by)

    def _route_command(self, cmd: Command, by: str) -> None:
        if isinstance(cmd, OfferContact):
            self._push(cmd.agent_id, self._offer_builder(cmd))
        elif isinstance(cmd, CancelOffer):
            self._push(cmd.agent_id, {"type": "offer_cancelled", "contact_id": cmd.contact_id,
                                      "reason": cmd.reason})
        elif isinstance(cmd, ContactConnected):
            self._push(cmd.agent_id, {"type": "contact_connected", "contact_id": cmd.contact_id})
        elif isinstance(cmd, StartWrapUp):
            self._push(cmd.agent_id, {"type": "contact_ended", "contact_id": cmd.contact_id,
                                      "by": "customer" if by == "customer" else by,
                                      "wrap_up_s": cmd.wrap_up_s})
        elif isinstance(cmd, ContactCompleted):
            self._push(cmd.agent_id, {"type": "contact_completed",
                                      "contact_id": cmd.contact_id,
                                      "disposition": cmd.disposition,
                                      "timed_out": cmd.timed_out})
        elif isinstance(cmd, PresenceSet):
            self._push(cmd.agent_id, {"type": "state_changed", "state": cmd.presence,
                                      "reason": cmd.reason, "pending": cmd.pending,
                                      "since": iso_utc(utc(cmd.at))})

    def _offer_builder(self, cmd: OfferContact) -> Callable[[], Awaitable[dict[str, Any] | None]]:
        reason = {**to_plain(cmd.reason), "attempt": cmd.attempt}

        async def build() -> dict[str, Any] | None:
            return await self.offer_message(cmd.contact_id, cmd.queue, cmd.channel,
                                            cmd.at + cmd.ring_timeout_s, reason)
        return build

    async def offer_message(self, contact_id: str, queue: str, channel: str,
                            expires_at: float,
                            reason: dict[str, Any] | None = None) -> dict[str, Any]:
        card, screen_pop = await self.services.screen_pops.get(contact_id, wait_s=1.0)
        now = time.time()
        contact: dict[str, Any] = {"id": contact_id, "channel": channel, "queue": queue}
        if card is not None:
            contact.update({
                "priority": card.priority, "tier": card.tier,
                "waited_s": round(max(0.0, now - card.arrived_at), 3),
                "ivr_path": card.ivr_path, "subject": card.subject,
                "first_message": card.first_message,
                "customer_id": card.customer_id,
            })
        message = {"type": "offer", "contact": contact, "screen_pop": screen_pop,
                   "expires_in_s": round(max(0.0, expires_at - now), 3)}
        if reason is not None:
            message["reason"] = reason
        return message

    async def _sender(self, session: AgentSession, ws: web.WebSocketResponse) -> None:
        while True:
            seq, push = await session.outbox.get()
            message = push if isinstance(push, dict) else await push()
            if message is None:
                continue
            message = {**message, "seq": seq}
            if ws.closed:
                return
            try:
                await ws.send_str(orjson.dumps(message).decode())
                self.pushes_sent += 1
            except (ConnectionError, RuntimeError):
                return

    # ------------------------------------------------------------ endpoint

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /ws/agent``: the websocket endpoint."""
        config = self.services.config
        # No permessage-deflate: small JSON messages, and the CPU is better spent routing.
        ws = web.WebSocketResponse(heartbeat=config.agent_ws.heartbeat_s,
                                   max_msg_size=MAX_MESSAGE_BYTES, compress=False)
        await ws.prepare(request)
        self.services.websockets.add(ws)
        session: AgentSession | None = None
        try:
            principal, auth_id = await self._authenticate(ws)
            if principal is None:
                return ws
            try:
                session = await self._attach(principal, ws)
            except CallCenterError as exc:
                # An inactive or deleted agent, or a server that is going down.
                await self._send_error(ws, auth_id, exc.code, exc.message)
                code = CLOSE_SHUTDOWN if exc.status == 503 else CLOSE_FORBIDDEN
                await ws.close(code=code, message=exc.code.encode())
                return ws
            await self._send(ws, {"type": "ack", "id": auth_id,
                                  "data": await self._resume_data(session)})
            self._start_sender(session, ws)
            await self._resend_offers(session)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(session, ws, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._send_error(ws, None, "request.invalid_json",
                                           "binary frames are not supported; send JSON text")
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.services.websockets.discard(ws)
            if session is not None:
                self._detach(session, ws)
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> tuple[Principal | None, Any]:
        timeout = self.services.config.auth.ws_auth_timeout_s
        try:
            msg = await asyncio.wait_for(ws.receive(), timeout)
        except TimeoutError:
            await self._send_error(ws, None, "auth.required",
                                   f"send {{'type': 'auth', 'token'}} within {timeout:g} s")
            await ws.close(code=CLOSE_AUTH, message=b"authentication timeout")
            return None, None
        if msg.type != WSMsgType.TEXT:
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return None, None
        try:
            message = decode_client_message(msg.data)
        except WsError as exc:
            await self._send_error(ws, request_id(msg.data), exc.code, exc.message)
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return None, None
        if not isinstance(message, AuthMsg):
            await self._send_error(ws, message.id, "auth.required",
                                   "the first message must be {'type': 'auth', 'token'}")
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return None, None
        try:
            principal = self.services.auth.signer.verify(message.token)
        except Unauthorized as exc:
            await self._send_error(ws, message.id, exc.code, exc.message)
            await ws.close(code=CLOSE_AUTH, message=b"invalid token")
            return None, None
        if principal.role != "agent" or principal.agent_id is None:
            await self._send_error(ws, message.id, "auth.forbidden",
                                   "only agents use /ws/agent (supervisors: /ws/supervisor)")
            await ws.close(code=CLOSE_FORBIDDEN, message=b"forbidden")
            return None, None
        return principal, message.id

    async def _attach(self, principal: Principal, ws: web.WebSocketResponse) -> AgentSession:
        agent_id = principal.agent_id or ""
        session = self._session(agent_id)
        if session.grace is not None:
            session.grace.cancel()
            session.grace = None
        old = session.ws
        if old is not None and old is not ws and not old.closed:
            with contextlib.suppress(Exception):
                await old.close(code=CLOSE_REPLACED, message=b"replaced by a new connection")
        if session.sender is not None:
            session.sender.cancel()
            session.sender = None
        await self._ensure_logged_in(agent_id)
        session.ws = ws
        session.outbox = asyncio.Queue()
        session.connected_at = time.time()
        log.info("agent.connected", agent_id=agent_id)
        return session

    async def _ensure_logged_in(self, agent_id: str) -> None:
        router = self.services.runtime.router
        if agent_id in router.agent_ids() and router.agent_snapshot(agent_id).presence != "offline":
            return
        async with self.services.sessionmaker() as db:
            agent = await get_agent(db, agent_id)
        if not agent.active:
            raise Forbidden(f"agent {agent_id} is not active", code="agent.inactive")

        def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
            if agent_id in router.agent_ids() and \
                    router.agent_snapshot(agent_id).presence != "offline":
                return []
            return [(AgentLoggedIn(0.0, agent_id, dict(agent.skills),
                                   routing_capacity(agent.capacity), "not_ready", "login"), {})]

        await self.services.runtime.submit_intent(intent)

    async def _resume_data(self, session: AgentSession) -> dict[str, Any]:
        """The auth ack: who the agent is, its state and every contact it holds, with
        screen-pop and messages, so a reloaded console can rebuild itself."""
        router = self.services.runtime.router
        snap = router.agent_snapshot(session.agent_id)
        async with self.services.sessionmaker() as db:
            agent = await db.get(Agent, session.agent_id)
            held = [cid for cid, _ch, _st in snap.contacts]
            messages: dict[str, list[dict[str, Any]]] = {cid: [] for cid in held}
            if held:
                rows = await db.scalars(select(ContactMessage)
                                        .where(ContactMessage.contact_id.in_(held))
                                        .order_by(ContactMessage.at, ContactMessage.id))
                for m in rows:
                    messages[m.contact_id].append({
                        "id": m.id, "from": "customer" if m.direction == "in" else "agent",
                        "text": m.body, "at": iso_utc(m.at)})
        contacts = []
        now = time.time()
        for contact_id, channel, state in snap.contacts:
            card, screen_pop = await self.services.screen_pops.get(contact_id, wait_s=1.0)
            item: dict[str, Any] = {"contact_id": contact_id, "channel": channel,
                                    "state": state}
            if card is not None:
                item.update({"queue": card.queue, "tier": card.tier, "subject": card.subject,
                             "customer_id": card.customer_id,
                             "first_message": card.first_message,
                             "ivr_path": card.ivr_path,
                             "waited_s": round(max(0.0, now - card.arrived_at), 3),
                             "screen_pop": screen_pop})
            if channel in ("chat", "email"):
                item["messages"] = messages.get(contact_id, [])
            contacts.append(item)
        return {"agent_id": session.agent_id, "name": agent.name if agent else None,
                "extension": agent.extension if agent else None, "state": snap.presence,
                "reason": snap.reason, "pending": snap.pending_reason, "contacts": contacts,
                "seq": session.seq}

    async def _resend_offers(self, session: AgentSession) -> None:
        """A reconnecting console gets its ringing offers again."""
        runtime = self.services.runtime
        for contact_id, channel, state in runtime.router.agent_snapshot(session.agent_id).contacts:
            track = runtime.tracker.get(contact_id)
            if state != "alerting" or track is None:
                continue
            expires_at = track.offer_expires_at or time.time()

            async def build(cid: str = contact_id, ch: str = channel, q: str = track.last_queue,
                            at: float = expires_at) -> dict[str, Any]:
                return await self.offer_message(cid, q, ch, at)

            self._push(session.agent_id, build)

    def _start_sender(self, session: AgentSession, ws: web.WebSocketResponse) -> None:
        session.sender = asyncio.create_task(self._sender(session, ws),
                                             name=f"agent-sender {session.agent_id}")

    def _detach(self, session: AgentSession, ws: web.WebSocketResponse) -> None:
        if session.ws is not ws:
            return  # replaced by a newer socket
        session.ws = None
        session.disconnected_at = time.time()
        if session.sender is not None:
            session.sender.cancel()
            session.sender = None
        if self.closing:
            return
        grace = self.services.config.agent_ws.disconnect_grace_s
        loop = asyncio.get_running_loop()
        session.grace = loop.call_later(grace, self._grace_expired, session.agent_id)
        log.info("agent.disconnected", agent_id=session.agent_id, grace_s=grace)

    def _grace_expired(self, agent_id: str) -> None:
        session = self.sessions.get(agent_id)
        if session is None or session.connected or self.closing:
            return
        session.grace = None
        self._spawn(self._park(agent_id, "disconnected"))

    async def _park(self, agent_id: str, reason: str) -> None:
        try:
            await self.services.runtime.submit_intent(_park_intent(agent_id, reason))
            log.info("agent.parked", agent_id=agent_id, reason=reason)
        except CallCenterError as exc:
            log.warning("agent.park_failed", agent_id=agent_id, code=exc.code)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, message: str = "server shutting down") -> None:
        """Close every agent socket with a reason (SIGTERM drain)."""
        self.closing = True
        self._unsubscribe()
        for session in self.sessions.values():
            if session.grace is not None:
                session.grace.cancel()
            ws = session.ws
            if ws is not None and not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close(code=CLOSE_SHUTDOWN, message=message.encode())
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------ requests

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(orjson.dumps(message).decode())

    async def _send_error(self, ws: web.WebSocketResponse, request: Any, code: str,
                          message: str) -> None:
        await self._send(ws, {"type": "error", "id": request, "code": code, "message": message})

    async def _on_text(self, session: AgentSession, ws: web.WebSocketResponse, raw: str) -> None:
        try:
            message = decode_client_message(raw)
        except WsError as exc:
            await self._send_error(ws, request_id(raw), exc.code, exc.message)
            return
        if isinstance(message, PingMsg):
            await self._send(ws, {"type": "pong", "id": message.id})
            return
        try:
            data = await self._dispatch(session, message)
        except RoutingError as exc:
            await self._send_error(ws, message.id, exc.code, exc.message)
            return
        except CallCenterError as exc:
            await self._send_error(ws, message.id, exc.code, exc.message)
            return
        except Exception:
            log.exception("agent_ws.request_failed", agent_id=session.agent_id,
                          type=type(message).__name__)
            await self._send_error(ws, message.id, "internal.error", "internal error")
            return
        await self._send(ws, {"type": "ack", "id": message.id, "data": data})

    def _own_contact(self, agent_id: str, contact_id: str, states: tuple[str, ...]) -> str:
        """The contact's channel if it is this agent's and in one of ``states``."""
        router = self.services.runtime.router
        try:
            snap = router.contact_snapshot(contact_id)
        except RoutingError:
            raise NotFound(f"contact {contact_id!r} not found",
                           code="contact.not_found") from None
        if snap.agent_id != agent_id:
            raise NotFound(f"contact {contact_id!r} is not yours", code="contact.not_found")
        if snap.state not in states:
            raise WsError(f"contact {contact_id!r} is {snap.state}",
                          code="contact.invalid_transition")
        return snap.channel

    async def _dispatch(self, session: AgentSession, message: ClientMessage) -> dict[str, Any]:
        agent_id = session.agent_id
        runtime = self.services.runtime
        if isinstance(message, AuthMsg):
            raise WsError("already authenticated", code="ws.already_authenticated")
        if isinstance(message, SetStateMsg):
            outcome = await runtime.submit(PresenceRequested(0.0, agent_id, message.state,
                                                             message.reason))
            for cmd in outcome.commands:
                if isinstance(cmd, PresenceSet) and cmd.agent_id == agent_id:
                    return {"state": cmd.presence, "reason": cmd.reason, "pending": cmd.pending}
            return {"state": message.state, "reason": message.reason, "pending": False}
        if isinstance(message, AcceptMsg):
            if is_voice(self.services, message.contact_id):
                # The PBX answers the agent leg; connected when it reports it.
                self._own_contact(agent_id, message.contact_id, ("alerting",))
                return await voice_accept(self.services, agent_id, message.contact_id)
            await runtime.submit(OfferAccepted(0.0, message.contact_id, agent_id))
            return {"contact_id": message.contact_id, "state": "connected"}
        if isinstance(message, RejectMsg):
            await runtime.submit(OfferRejected(0.0, message.contact_id, agent_id,
                                               message.reason))
            return {"contact_id": message.contact_id, "state": "queued"}
        if isinstance(message, EndMsg):
            self._own_contact(agent_id, message.contact_id, ("connected",))
            await runtime.submit(ContactEnded(0.0, message.contact_id, "agent"))
            return {"contact_id": message.contact_id, "state": "wrap_up"}
        if isinstance(message, WrapUpDoneMsg):
            self._own_contact(agent_id, message.contact_id, ("wrap_up",))
            meta: dict[str, Any] = {}
            if message.notes:
                meta["notes"] = message.notes
            if message.ticket is not None:
                meta["ticket"] = msgspec.to_builtins(message.ticket)
            await runtime.submit(WrapUpEnded(0.0, message.contact_id, message.disposition),
                                 meta=meta)
            return {"contact_id": message.contact_id, "state": "completed"}
        if isinstance(message, TransferMsg):
            if (message.to_queue is None) == (message.to_agent is None):
                raise WsError("name exactly one of to_queue and to_agent",
                              code="request.validation")
            channel = self._own_contact(agent_id, message.contact_id, ("alerting", "connected"))
            if channel in VOICE_CHANNELS and is_voice(self.services, message.contact_id):
                return await voice_transfer(self.services, agent_id, message.contact_id,
                                            message.to_queue, message.to_agent)
            await runtime.submit(ContactTransferred(0.0, message.contact_id, message.to_queue,
                                                    message.to_agent))
            return {"contact_id": message.contact_id, "state": "queued"}
        if isinstance(message, HoldMsg | RetrieveMsg):
            channel = self._own_contact(agent_id, message.contact_id, ("connected",))
            if channel not in VOICE_CHANNELS:
                raise WsError(f"hold and retrieve are for calls, not {channel} contacts",
                              code="contact.invalid_channel")
            if isinstance(message, HoldMsg):
                return await voice_hold(self.services, agent_id, message.contact_id)
            return await voice_retrieve(self.services, agent_id, message.contact_id)
        if isinstance(message, ChatSendMsg):
            return await self._chat_send(agent_id, message)
        if isinstance(message, ChatTypingMsg):
            self._own_contact(agent_id, message.contact_id, ("connected", "wrap_up"))
            visitors = self.services.visitors
            if visitors is not None:
                visitors.typing(message.contact_id, message.typing)
            return {}
        raise WsError("unsupported message", code="ws.unknown_type")  # pragma: no cover

    async def _chat_send(self, agent_id: str, message: ChatSendMsg) -> dict[str, Any]:
        channel = self._own_contact(agent_id, message.contact_id, ("connected", "wrap_up"))
        if channel not in ("chat", "email"):
            raise WsError(f"chat_send is for chat and email contacts, not {channel}",
                          code="contact.invalid_channel")
        now = utc(time.time())
        async with self.services.sessionmaker.begin() as db:
            if channel == "email":
                await queue_email_reply(db, message.contact_id, agent_id, message.text, now)
            db.add(ContactMessage(contact_id=message.contact_id, direction="out",
                                  sender=f"agent:{agent_id}", body=message.text, at=now))
        visitors = self.services.visitors
        if visitors is not None:
            visitors.relay(message.contact_id, "agent", message.text, now)
        return {"contact_id": message.contact_id, "at": iso_utc(now)}

    def push_chat(self, agent_id: str, contact_id: str, sender: str, text: str,
                  at: Any) -> bool:
        """A customer's chat message to the agent's console; True if it is connected."""
        session = self.sessions.get(agent_id)
        self._push(agent_id, {"type": "chat_message", "contact_id": contact_id,
                              "from": sender, "text": text, "at": iso_utc(at)})
        return bool(session and session.connected)

    def push_typing(self, agent_id: str, contact_id: str, typing: bool) -> None:
        self._push(agent_id, {"type": "chat_typing", "contact_id": contact_id,
                              "from": "customer", "typing": typing})


async def queue_email_reply(db: Any, contact_id: str, agent_id: str, text: str, now: Any) -> None:
    """An email reply with correct threading headers, in the email outbox."""
    from callcenter.email_intake import reply_headers

    headers = await reply_headers(db, contact_id)
    db.add(EmailOutbox(contact_id=contact_id, to=headers.to, subject=headers.subject, body=text,
                       message_id=headers.message_id, in_reply_to=headers.in_reply_to,
                       references=headers.references, created_at=now))


def websocket_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas of every websocket message, by file name (docs/schemas/)."""
    from callcenter.schemas import AgentServerMessage, SupervisorServerMessage

    supervisor_client = AuthMsg | PingMsg
    documents = {
        "agent-client.json": ("Messages a console sends on /ws/agent", ClientMessage),
        "agent-server.json": ("Messages the server sends on /ws/agent", AgentServerMessage),
        "supervisor-client.json": ("Messages a dashboard sends on /ws/supervisor",
                                   supervisor_client),
        "supervisor-server.json": ("Messages the server sends on /ws/supervisor",
                                   SupervisorServerMessage),
    }
    out = {}
    for name, (title, kind) in documents.items():
        schema = msgspec.json.schema(kind)
        out[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                     "$id": f"https://callcenter.invalid/schemas/{name}", "title": title,
                     **schema}
    return out


__all__ = ["MESSAGE_TYPES", "AgentHub", "ClientMessage", "decode_client_message",
           "park_agent_intent", "websocket_schemas"]
