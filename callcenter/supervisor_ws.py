"""Live queue and agent figures, and the supervisor websocket ``/ws/supervisor``.

:class:`LiveStats` follows the router's commands on the bus with incremental
counters per queue (offered, answered, abandoned, answered within the service
level target, total wait) and remembers since when each agent is in its presence.
Counters start with the server process; reports over history come from the
interaction records.

:class:`SupervisorHub` serves ``/ws/supervisor``: after ``auth`` one ``snapshot``
(``queues``, ``agents``), then ``queue_stats`` and ``agent_state`` deltas for what
changed. Changes are coalesced: every 0.5 s at most one message of each kind goes
to each subscriber, so never more than 4 messages a second, however stormy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import orjson
from aiohttp import WSMsgType, web

from callcenter.agents_ws import (
    CLOSE_AUTH,
    CLOSE_FORBIDDEN,
    CLOSE_SHUTDOWN,
    MAX_MESSAGE_BYTES,
    AuthMsg,
    PingMsg,
    WsError,
    decode_client_message,
    request_id,
)
from callcenter.bus import Routed
from callcenter.errors import Unauthorized
from callcenter.logs import get_logger
from callcenter.schemas import AgentState, QueueStats
from callcenter.store.timestamps import iso_utc
from callcenter.writeback import utc
from routing.commands import (
    CancelOffer,
    ContactAbandonedRecorded,
    ContactCompleted,
    ContactConnected,
    ContactExited,
    ContactQueued,
    OfferContact,
    PresenceSet,
    StartWrapUp,
)
from routing.events import AgentLoggedIn, AgentUpdated, QueueConfigured

if TYPE_CHECKING:
    from callcenter.http_api.context import Services

log = get_logger(__name__)

FLUSH_INTERVAL_S = 0.5


@dataclass(slots=True)
class QueueCounters:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_sl: int = 0
    wait_total_s: float = 0.0


MAX_PER_SECOND = 4


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    queues: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    #: When the last deltas went out (a sliding one-second window).
    sent: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_PER_SECOND))

    def budget(self, now: float) -> int:
        """How many more deltas may go out now without passing 4 in any second."""
        return MAX_PER_SECOND - sum(1 for at in self.sent if now - at < 1.0)


class LiveStats:
    """Incremental per-queue counters and per-agent presence times."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.queues: dict[str, QueueCounters] = {}
        self.presence_since: dict[str, float] = {}
        self.listeners: list[Any] = []
        self._unsubscribe = services.bus.subscribe("live_stats", self._on_routed)

    def close(self) -> None:
        self._unsubscribe()

    def _counters(self, queue: str) -> QueueCounters:
        counters = self.queues.get(queue)
        if counters is None:
            counters = self.queues[queue] = QueueCounters()
        return counters

    def _on_routed(self, item: Routed) -> None:
        queues: set[str] = set()
        agents: set[str] = set()
        if isinstance(item.event, QueueConfigured):
            queues.add(item.event.queue.name)
        runtime = self.services.runtime
        for cmd in item.commands:
            if isinstance(cmd, ContactQueued):
                self._counters(cmd.queue).offered += 1
                queues.add(cmd.queue)
            elif isinstance(cmd, ContactConnected):
                c = self._counters(cmd.queue)
                c.answered += 1
                c.wait_total_s += cmd.waited_s
                config = runtime.queue_config(cmd.queue)
                if config is not None and cmd.waited_s <= config.sl_target_s:
                    c.answered_within_sl += 1
                queues.add(cmd.queue)
                agents.add(cmd.agent_id)
            elif isinstance(cmd, ContactAbandonedRecorded):
                c = self._counters(cmd.queue)
                if cmd.short:
                    c.short_abandoned += 1
                else:
                    c.abandoned += 1
                queues.add(cmd.queue)
                if cmd.agent_id:
                    agents.add(cmd.agent_id)
            elif isinstance(cmd, PresenceSet):
                if not cmd.pending:
                    self.presence_since[cmd.agent_id] = cmd.at
                agents.add(cmd.agent_id)
            elif isinstance(cmd, OfferContact | CancelOffer | StartWrapUp | ContactCompleted):
                agents.add(cmd.agent_id)
                queues.add(getattr(cmd, "queue", "") or "")
            elif isinstance(cmd, ContactExited):
                queues.add(cmd.queue)
        queues.discard("")
        for listener in self.listeners:
            listener(queues, agents)

    # ------------------------------------------------------------ figures

    def queue_stats(self, queue: str) -> QueueStats:
        runtime = self.services.runtime
        router = runtime.router
        snap = router.queue_snapshot(queue, limit=0)
        config = runtime.queue_config(queue)
        required = {r.skill: r.min_level for r in config.required_skills} if config else {}
        logged_in = available = 0
        for agent_id in router.agent_ids():
            agent = router.agent_snapshot(agent_id)
            if agent.presence == "offline":
                continue
            if any(agent.skills.get(skill, 0) < level for skill, level in required.items()):
                continue
            logged_in += 1
            if agent.presence == "available" and not agent.contacts:
                available += 1
        alerting = sum(1 for t in runtime.tracker.tracks.values()
                       if t.state == "alerting" and t.last_queue == queue)
        c = self.queues.get(queue) or QueueCounters()
        counted = c.answered + c.abandoned
        return QueueStats(
            queue=queue, channel=snap.channel, waiting=snap.waiting, alerting=alerting,
            longest_wait_s=round(snap.longest_wait_s, 1), agents_logged_in=logged_in,
            agents_available=available, offered=c.offered, answered=c.answered,
            abandoned=c.abandoned, short_abandoned=c.short_abandoned,
            answered_within_sl=c.answered_within_sl,
            service_level=round(c.answered_within_sl / counted, 4) if counted else None,
            asa_s=round(c.wait_total_s / c.answered, 1) if c.answered else None,
            estimated_wait_s=None if snap.estimated_wait_s is None
            else round(snap.estimated_wait_s, 1),
        )

    def agent_state(self, agent_id: str) -> AgentState:
        runtime = self.services.runtime
        snap = runtime.router.agent_snapshot(agent_id)
        session = self.services.agents.sessions.get(agent_id)
        since = self.presence_since.get(agent_id)
        return AgentState(
            agent_id=agent_id, presence=snap.presence, reason=snap.reason,
            since=iso_utc(utc(since)) if since is not None else None,
            connected=bool(session and session.connected),
            contacts=[{"contact_id": cid, "channel": ch, "state": st}
                      for cid, ch, st in snap.contacts],
            pending_presence="not_ready" if snap.pending_reason is not None else None,
        )

    def all_queues(self) -> list[QueueStats]:
        return [self.queue_stats(q) for q in sorted(self.services.runtime.router.queue_names())]

    def all_agents(self) -> list[AgentState]:
        return [self.agent_state(a) for a in sorted(self.services.runtime.router.agent_ids())]


class SupervisorHub:
    """Subscribers of ``/ws/supervisor`` and the coalescing flusher."""

    def __init__(self, services: Services, stats: LiveStats) -> None:
        self.services = services
        self.stats = stats
        self.subscribers: set[Subscriber] = set()
        self.closing = False
        self.messages_sent = 0
        stats.listeners.append(self._changed)
        self._flusher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="supervisor-flush")

    async def close_all(self, message: str = "server shutting down") -> None:
        self.closing = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        for sub in list(self.subscribers):
            with contextlib.suppress(Exception):
                await sub.ws.close(code=CLOSE_SHUTDOWN, message=message.encode())

    def _changed(self, queues: set[str], agents: set[str]) -> None:
        for sub in self.subscribers:
            sub.queues |= queues
            sub.agents |= agents

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            # Figures are computed once per round, whatever the number of subscribers.
            cache: dict[tuple[str, str], Any] = {}
            for sub in list(self.subscribers):
                await self._flush(sub, cache)

    def _figure(self, cache: dict[tuple[str, str], Any], kind: str, name: str) -> Any:
        key = (kind, name)
        if key not in cache:
            value = self.stats.queue_stats(name) if kind == "q" else self.stats.agent_state(name)
            cache[key] = msgspec.to_builtins(value)
        return cache[key]

    async def _flush(self, sub: Subscriber, cache: dict[tuple[str, str], Any]) -> None:
        router = self.services.runtime.router
        try:
            if sub.queues and sub.budget(time.monotonic()) > 0:
                queues = sorted(q for q in sub.queues if q in router.queue_names())
                sub.queues.clear()
                if queues:
                    sub.sent.append(time.monotonic())
                    await self._send(sub.ws, {
                        "type": "queue_stats", "at": _now_iso(),
                        "queues": [self._figure(cache, "q", q) for q in queues]})
            if sub.agents and sub.budget(time.monotonic()) > 0:
                agents = sorted(a for a in sub.agents if a in router.agent_ids())
                sub.agents.clear()
                if agents:
                    sub.sent.append(time.monotonic())
                    await self._send(sub.ws, {
                        "type": "agent_state", "at": _now_iso(),
                        "agents": [self._figure(cache, "a", a) for a in agents]})
        except Exception:
            log.exception("supervisor_ws.flush_failed")

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        if ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(orjson.dumps(message).decode())
            self.messages_sent += 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /ws/supervisor``: auth, snapshot, then coalesced deltas."""
        config = self.services.config
        ws = web.WebSocketResponse(heartbeat=config.agent_ws.heartbeat_s,
                                   max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        self.services.websockets.add(ws)
        sub: Subscriber | None = None
        try:
            auth_id = await self._authenticate(ws)
            if auth_id is False:
                return ws
            sub = Subscriber(ws)
            self.subscribers.add(sub)
            await self._send(ws, {"type": "ack", "id": auth_id, "data": {}})
            await self._send(ws, {"type": "snapshot", "at": _now_iso(),
                                  "queues": msgspec.to_builtins(self.stats.all_queues()),
                                  "agents": msgspec.to_builtins(self.stats.all_agents())})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.ERROR:
                        break
                    await self._send(ws, {"type": "error", "id": None,
                                          "code": "request.invalid_json",
                                          "message": "send JSON text"})
                    continue
                try:
                    message = decode_client_message(msg.data)
                except WsError as exc:
                    await self._send(ws, {"type": "error", "id": request_id(msg.data),
                                          "code": exc.code, "message": exc.message})
                    continue
                if isinstance(message, PingMsg):
                    await self._send(ws, {"type": "pong", "id": message.id})
                else:
                    await self._send(ws, {"type": "error", "id": message.id,
                                          "code": "ws.unknown_type",
                                          "message": "the supervisor socket takes only ping; "
                                                     "use the HTTP supervisor API to act"})
        finally:
            self.services.websockets.discard(ws)
            if sub is not None:
                self.subscribers.discard(sub)
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> Any:
        timeout = self.services.config.auth.ws_auth_timeout_s
        try:
            msg = await asyncio.wait_for(ws.receive(), timeout)
        except TimeoutError:
            await ws.close(code=CLOSE_AUTH, message=b"authentication timeout")
            return False
        if msg.type != WSMsgType.TEXT:
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return False
        try:
            message = decode_client_message(msg.data)
            if not isinstance(message, AuthMsg):
                raise WsError("the first message must be {'type': 'auth', 'token'}",
                              code="auth.required")
            principal = self.services.auth.signer.verify(message.token)
        except (WsError, Unauthorized) as exc:
            await self._send(ws, {"type": "error", "id": request_id(msg.data),
                                  "code": exc.code, "message": exc.message})
            await ws.close(code=CLOSE_AUTH, message=b"authentication required")
            return False
        if principal.role not in ("supervisor", "admin"):
            await self._send(ws, {"type": "error", "id": message.id, "code": "auth.forbidden",
                                  "message": "supervisors and admins only"})
            await ws.close(code=CLOSE_FORBIDDEN, message=b"forbidden")
            return False
        return message.id


def _now_iso() -> str:
    return iso_utc(utc(time.time())) or ""


class MetricsFeed:
    """Feeds :class:`callcenter.metrics.LiveMetrics` (DESIGN §6 figures, Prometheus
    ``/metrics``) from the router's commands on the bus, in event order."""

    def __init__(self, services: Services, live: Any) -> None:
        self.services = services
        self.live = live
        self._unsubscribe = services.bus.subscribe("metrics", self._on_routed)
        for name in services.runtime.router.queue_names():
            self._configure(name)

    def close(self) -> None:
        self._unsubscribe()

    def _configure(self, queue: str) -> None:
        config = self.services.runtime.queue_config(queue)
        if config is not None:
            self.live.sl_targets[queue] = config.sl_target_s

    def _staffed_queues(self, skills: dict[str, int]) -> list[str]:
        runtime = self.services.runtime
        staffed = []
        for name in runtime.router.queue_names():
            config = runtime.queue_config(name)
            if config is not None and all(skills.get(r.skill, 0) >= r.min_level
                                          for r in config.required_skills):
                staffed.append(name)
        return staffed

    def _on_routed(self, item: Routed) -> None:
        event = item.event
        live = self.live
        if isinstance(event, QueueConfigured):
            self._configure(event.queue.name)
        elif isinstance(event, AgentLoggedIn | AgentUpdated) and event.skills is not None:
            live.set_agent_queues(event.agent_id, self._staffed_queues(event.skills), event.at)
        tracker = self.services.runtime.tracker
        for cmd in item.commands:
            try:
                if isinstance(cmd, ContactQueued):
                    track = tracker.get(cmd.contact_id)
                    channel = track.channel if track is not None else "chat"
                    live.contact_queued(cmd.at, cmd.contact_id, cmd.queue, channel)
                elif isinstance(cmd, OfferContact):
                    live.contact_offered(cmd.at, cmd.contact_id, cmd.agent_id)
                elif isinstance(cmd, CancelOffer):
                    live.offer_cancelled(cmd.at, cmd.contact_id, cmd.agent_id)
                elif isinstance(cmd, ContactConnected):
                    live.contact_answered(cmd.at, cmd.contact_id, cmd.agent_id,
                                          wait_s=cmd.waited_s)
                elif isinstance(cmd, StartWrapUp):
                    live.contact_ended(cmd.at, cmd.contact_id)
                elif isinstance(cmd, ContactCompleted):
                    live.contact_completed(cmd.at, cmd.contact_id)
                elif isinstance(cmd, ContactAbandonedRecorded):
                    live.contact_abandoned(cmd.at, cmd.contact_id, short=cmd.short,
                                           wait_s=cmd.waited_s)
                elif isinstance(cmd, ContactExited) and cmd.exit != "overflow":
                    live.contact_exited(cmd.at, cmd.contact_id, cmd.exit)
                elif isinstance(cmd, PresenceSet) and not cmd.pending:
                    live.presence_changed(cmd.at, cmd.agent_id, cmd.presence,
                                          cmd.reason or None)
            except (KeyError, ValueError):
                # A contact from before this process started: the figures start with it.
                log.debug("metrics.unknown", command=type(cmd).__name__)
