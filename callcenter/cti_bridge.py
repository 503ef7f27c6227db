"""The MQTT CTI bridge: PBX events in, routing commands out (PROTOCOL "CTI over MQTT").

Connection. aiomqtt with a persistent session (``clean_session=False``, the fixed
``mqtt.client_id``), events subscribed with QoS 1. aiomqtt 2.5 acknowledges on
receipt, so :class:`ManualAckClient` switches its paho client to manual acks and
sends each PUBACK itself, **after** the event's effect is committed (or, for a
message that goes to the dead-letter topic, after the broker took the dead letter).
PUBACKs go out in the order the messages came in (MQTT 3.1.1, 4.6). A message not
acknowledged when the connection or the process dies is sent again by the broker.
The connection is retried with exponential backoff and full jitter; a broker that is
down at start-up does not stop the server (``status`` says ``disconnected``).

Inbound. Each event is decoded (:func:`callcenter.cti_messages.decode_event`);
anything unparseable, of an unknown kind, or about a call nobody knows goes to
``{prefix}/deadletter`` with the reason and the bridge carries on. A repeated
``event_id`` is ignored (in memory: an LRU; across restarts: the journal, see
below). Events of one call run one at a time in ``seq`` order: one that arrives
ahead of a missing one waits up to ``reorder_wait_s`` for it. What an event does is
in :mod:`callcenter.voice`.

Restart dedup. Every router event a CTI event causes is journaled with
``meta["cti"] = {event_id, call_id, seq}`` in the transaction that applies it. On
start the bridge reads the newest ``journal_scan`` journal entries back into its LRU
and per-call ``seq`` marks, and rebuilds its calls from the router's live contacts
(``external_id`` ``cti:{pbx}:{call_id}``). A ``call_offered`` seen again finds its
contact by ``external_id`` (unique in the store). Events that change no router
state (ringing, hold) are idempotent by the call's state, and hold time is kept on
the contact row (``payload["voice"]``) before the event is acknowledged.

Outbound. Router commands reach the bridge on the bus (after they are durable) and
become CTI commands in a bounded outbox (``mqtt.outbox_limit``; full ->
``cti.outbox_full``), published in order with QoS 1 and removed only once the broker
acknowledged them; while the broker is away they wait and go out after reconnect.
A ``route`` still waiting in the outbox when its offer is withdrawn is dropped
together with the ``cancel_route``. Informational events go to
``{prefix}/events/contact/{id}`` and ``{prefix}/events/agent/{id}`` with QoS 0
(dropped, not queued, while disconnected beyond a small buffer).

Wiring: ``app.cleanup_ctx.append(cti_bridge_ctx)`` after the services context; the
agent websocket calls :func:`voice_accept`, :func:`voice_hold`,
:func:`voice_retrieve`, :func:`voice_transfer` for voice contacts.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import socket
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import orjson
from aiohttp import web

from callcenter.cti_messages import (
    AgentRinging,
    AnswerCommand,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallRetrieved,
    CallTransferred,
    CancelRouteCommand,
    CommandRejected,
    CtiCommand,
    CtiDecodeError,
    CtiEvent,
    DialCommand,
    HangupCommand,
    HoldCommand,
    NoAnswer,
    RetrieveCommand,
    RouteCommand,
    RouteFailed,
    TransferCommand,
    commands_topic,
    deadletter_payload,
    deadletter_topic,
    decode_event,
    encode,
    events_topic,
)
from callcenter.errors import CallCenterError, NotFound, ValidationFailed
from callcenter.http_api.contacts import ResolvedCustomer, _is_provisional
from callcenter.http_api.context import SERVICES, Services
from callcenter.ivr_runtime import IVR_REGISTRY, IVR_SETTINGS, CallFromIvr, IvrDriver
from callcenter.logs import get_logger
from callcenter.runtime import ContactEffect, Draining, NewCustomer, Outcome
from callcenter.screen_pop import ContactCard
from callcenter.store.customers import find_customer_by_identity
from callcenter.store.identities import normalize_identity
from callcenter.voice import (
    VOICE_CHANNELS,
    Extensions,
    VoiceCall,
    answered_intent,
    applied_cti_events,
    call_id_of,
    contact_number,
    cti_meta,
    dial_call_id,
    ended_intent,
    external_id,
    load_hold,
    offer_failed_intent,
    record_hold,
    rejected_intent,
    save_hold,
    snapshot,
    transferred_intent,
    unpatched_holds,
)
from callcenter.writeback import utc
from routing.codec import to_plain
from routing.commands import (
    CancelOffer,
    Command,
    ContactAbandonedRecorded,
    ContactCompleted,
    ContactExited,
    OfferContact,
    PresenceSet,
    StartWrapUp,
)
from routing.events import ContactArrived, ContactEnded, ContactTransferred, OfferAccepted
from routing.events import RouteFailed as RouterRouteFailed
from routing.model import RequiredSkill

log = get_logger(__name__)

NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""Without it Nagle's algorithm adds ~40 ms to every publish/ack exchange."""
_PUBLISH_BATCH = 64
_INFO_BUFFER = 2_000
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


class CtiUnavailable(CallCenterError):
    """Voice control needs the CTI bridge, which is not running."""

    code = "cti.unavailable"
    status = 503


class CtiOutboxFull(CallCenterError):
    """The broker has been away so long that the outbound command outbox is full."""

    code = "cti.outbox_full"
    status = 503


class VoiceInvalidState(CallCenterError):
    code = "contact.invalid_transition"
    status = 409


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """Tuning of the bridge beyond the ``[mqtt]`` config section (tests, benches)."""

    #: Queue of a new call by dialled number; else ``default_queue``; else the first
    #: voice queue by name. (The IVR, when wired in, decides instead.)
    dnis_queues: dict[str, str] = field(default_factory=dict)
    default_queue: str | None = None
    #: How long an event waits for a missing earlier ``seq`` of its call.
    reorder_wait_s: float = 1.0
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 10.0
    #: Event ids remembered in memory (duplicates are ignored).
    dedup_size: int = 100_000
    #: Journal entries read back at start to remember applied events.
    journal_scan: int = 20_000
    #: Finished calls remembered, so late events for them are dropped quietly.
    finished_kept: int = 10_000
    #: Publish informational QoS 0 events on ``{prefix}/events/...``.
    publish_info: bool = True
    #: Wait before retrying an event the store did not take.
    retry_s: float = 0.5
    #: How long a caller's customer (by ANI) is remembered (tier changes show after it).
    customer_cache_s: float = 300.0


CTI_BRIDGE_SETTINGS = web.AppKey("cti_bridge_settings", BridgeSettings)


def pbx_ring_timeout(router_ring_timeout_s: float) -> float:
    """The ring timeout sent to the PBX: a little shorter than the router's own timer,
    so the PBX's ``no_answer`` normally decides and the router's timer (which sends
    ``cancel_route``) is the backstop for a PBX that stays silent."""
    return round(max(router_ring_timeout_s * 0.9, router_ring_timeout_s - 1.0), 3)


# --------------------------------------------------------------------------- MQTT adapter


class ManualAckClient:
    """aiomqtt's client with paho's manual acknowledgement switched on.

    aiomqtt 2.5 has no manual acks; its paho client does (``manual_ack_set``,
    ``ack(mid, qos)``). This adapter is the only place that reaches into aiomqtt.
    """

    def __init__(self, host: str, port: int, *, client_id: str, keepalive: int,
                 clean_session: bool = False) -> None:
        self.client = aiomqtt.Client(host, port, identifier=client_id,
                                     clean_session=clean_session, keepalive=keepalive,
                                     socket_options=[NO_DELAY], timeout=10.0)
        self.client.pending_calls_threshold = 4 * _PUBLISH_BATCH
        self._paho.manual_ack_set(True)

    @property
    def _paho(self) -> Any:
        return self.client._client

    def ack(self, mid: int, qos: int) -> None:
        """Send the PUBACK of an inbound QoS 1 message."""
        if qos > 0:
            self._paho.ack(mid, qos)


# --------------------------------------------------------------------------- in and out


@dataclass(slots=True, eq=False)
class Inbound:
    """One received message, acknowledged once ``done``."""

    topic: str
    payload: bytes
    generation: int
    mid: int
    qos: int
    event: CtiEvent | None = None
    done: bool = False
    duplicates: list[Inbound] = field(default_factory=list)
    received_at: float = field(default_factory=time.monotonic)


class AckLedger:
    """PUBACKs in arrival order, for messages of the current connection only."""

    def __init__(self) -> None:
        self.generation = 0
        self.acked = 0
        self._entries: deque[Inbound] = deque()
        self._ack: Callable[[int, int], None] | None = None

    def connected(self, generation: int, ack: Callable[[int, int], None]) -> None:
        # Messages of an older connection are redelivered by the broker; acking their
        # packet ids on the new connection could acknowledge a different message.
        self.generation = generation
        self._entries.clear()
        self._ack = ack

    def add(self, message: Inbound) -> None:
        if message.generation == self.generation:
            self._entries.append(message)

    def done(self, message: Inbound) -> None:
        message.done = True
        entries = self._entries
        while entries and entries[0].done:
            head = entries.popleft()
            if self._ack is not None and head.generation == self.generation:
                try:
                    self._ack(head.mid, head.qos)
                    self.acked += 1
                except Exception:  # the connection is going; the broker redelivers
                    log.warning("cti.ack_failed", mid=head.mid)


@dataclass(slots=True, eq=False)
class Outgoing:
    topic: str
    payload: bytes
    kind: str
    call_id: str = ""
    command_id: str = ""
    in_flight: bool = False
    sent: asyncio.Future[None] | None = None


class Outbox:
    """Commands (and dead letters) waiting for the broker, in order, bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: deque[Outgoing] = deque()
        self.ready = asyncio.Event()
        #: Set whenever the publisher emptied the outbox.
        self.empty = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Outgoing) -> None:
        if len(self.items) >= self.limit:
            raise CtiOutboxFull(f"{len(self.items)} CTI messages are waiting for the MQTT "
                                "broker; try again when it is back")
        self.items.append(item)
        self.empty.clear()
        self.ready.set()

    def withdraw_route(self, call_id: str) -> bool:
        """Drop a ``route``/``dial`` of ``call_id`` not yet handed to the broker."""
        for item in reversed(self.items):
            if item.call_id == call_id and item.kind in ("route", "dial") and not item.in_flight:
                self.items.remove(item)
                self.dropped += 1
                return True
        return False


# --------------------------------------------------------------------------- the bridge


class CtiBridge:
    """The server's side of the CTI contract (see the module docstring)."""

    def __init__(self, services: Services, settings: BridgeSettings | None = None, *,
                 ivr: IvrDriver | None = None) -> None:
        self.services = services
        self.settings = settings or BridgeSettings()
        #: The IVR driver (:mod:`callcenter.ivr_runtime`) when flows are loaded.
        self.ivr = ivr
        cfg = services.config.mqtt
        self.prefix, self.pbx = cfg.prefix, cfg.pbx
        self.events_topic = events_topic(cfg.prefix, cfg.pbx)
        self.commands_topic = commands_topic(cfg.prefix, cfg.pbx)
        self.deadletter_topic = deadletter_topic(cfg.prefix)
        self.mqtt = ManualAckClient(cfg.host, cfg.port, client_id=cfg.client_id,
                                    keepalive=cfg.keepalive_s)
        self.extensions = Extensions(services.sessionmaker)
        self.outbox = Outbox(cfg.outbox_limit)
        self.info: deque[tuple[str, bytes]] = deque(maxlen=_INFO_BUFFER)
        self.ledger = AckLedger()
        self.calls: dict[str, VoiceCall] = {}
        self.by_contact: dict[str, VoiceCall] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()
        self.customers: OrderedDict[str, tuple[float, ResolvedCustomer]] = OrderedDict()
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.in_flight: dict[str, Inbound] = {}
        #: command_id -> (kind, call_id, contact_id, agent_id), for command_rejected.
        self.sent_commands: OrderedDict[str, tuple[str, str, str | None, str | None]] = \
            OrderedDict()
        self.connected = asyncio.Event()
        self.generation = 0
        self.stats: dict[str, int] = {
            "received": 0, "processed": 0, "duplicates": 0, "deadlettered": 0,
            "stale": 0, "commands": 0, "reconnects": 0, "late": 0, "retries": 0}
        self.last_error: str | None = None
        self._commands = 0
        self._token = f"{int(time.time() * 1000):x}"
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._stopping = False
        self._changed = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Rebuild the call map, subscribe to the bus and connect (in the background)."""
        await self.extensions.load()
        await self._rebuild()
        self._unsubscribe = self.services.bus.subscribe("cti", self._on_routed)
        if self.ivr is not None:
            await self.ivr.start()
        self._task = asyncio.create_task(self._run(), name="cti-bridge")
        self._spawn(self._patch_unrecorded_holds())
        log.info("cti.started", pbx=self.pbx, calls=len(self.calls),
                 remembered_events=len(self.seen))

    async def stop(self, flush_s: float = 2.0) -> None:
        self._stopping = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.connected.is_set() and self.outbox.items:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_s):
                    await self.outbox.empty.wait()
        for timer in self._timers.values():
            timer.cancel()
        if self.ivr is not None:
            self.ivr.close()
        for task in list(self._tasks):
            task.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        log.info("cti.stopped", **self.stats)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; checked after every inbound message is
        finished, every router batch and every background step. Bound it with a timeout."""
        while not predicate():
            await self._changed.wait()

    async def settle(self) -> None:
        """Wait for the background work started so far (hold records, dials, ...)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def status(self) -> str:
        """``ok`` while connected, else ``disconnected: <last error>`` (for readiness)."""
        if self.connected.is_set():
            return "ok"
        return f"disconnected: {self.last_error}" if self.last_error else "connecting"

    async def _rebuild(self) -> None:
        """Calls of live voice contacts from the router, applied events from the journal."""
        router = self.services.runtime.router
        requeued: list[VoiceCall] = []
        for contact_id in router.contact_ids():
            snap = router.contact_snapshot(contact_id)
            call_id = call_id_of(self.pbx, snap.external_id)
            if call_id is None:
                continue
            call = VoiceCall(call_id, contact_id=contact_id, exact=False, offered=True)
            if snap.state == "connected":
                call.pbx_state, call.agent_id = "connected", snap.agent_id
            elif snap.state == "queued" and snap.attempts > 0:
                requeued.append(call)
            self.calls[call_id] = call
            self.by_contact[contact_id] = call
        if self.by_contact:
            for contact_id, data in (await load_hold(self.services.sessionmaker,
                                                     list(self.by_contact))).items():
                self.by_contact[contact_id].restore_hold(data)
        for event_id, call_id, seq in await applied_cti_events(
                self.services.sessionmaker, limit=self.settings.journal_scan):
            self._remember(event_id)
            known = self.calls.get(call_id)
            if known is not None:
                known.released_seq = max(known.released_seq, seq)
        # Offers ringing when the server stopped were withdrawn at recovery; the PBX
        # may still ring those phones, so pull the calls back (harmless if not ringing).
        for call in requeued:
            self._command(CancelRouteCommand(self._command_id(), call.call_id),
                          contact_id=call.contact_id, quiet=True)

    # ------------------------------------------------------------ connection

    async def _run(self) -> None:
        backoff = self.settings.reconnect_min_s
        client = self.mqtt.client
        while True:
            try:
                async with client:
                    self.generation += 1
                    if self.generation > 1:
                        self.stats["reconnects"] += 1
                    self.ledger.connected(self.generation, self.mqtt.ack)
                    await client.subscribe(self.events_topic, qos=1)
                    self.connected.set()
                    self.last_error = None
                    self._notify()
                    backoff = self.settings.reconnect_min_s
                    log.info("cti.connected", topic=self.events_topic,
                             generation=self.generation, outbox=len(self.outbox))
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._read(client, self.generation))
                        tasks.create_task(self._publish(client))
            except* aiomqtt.MqttError as errors:
                self.last_error = str(errors.exceptions[0])
                log.warning("cti.disconnected", error=self.last_error,
                            outbox=len(self.outbox), retry_in_s=round(backoff, 3))
            except* Exception as errors:
                self.last_error = repr(errors.exceptions[0])
                log.error("cti.bridge_failed", error=self.last_error,
                          exc_info=errors.exceptions[0])
            finally:
                self.connected.clear()
                for item in self.outbox.items:
                    item.in_flight = False
                self._notify()
            # Full jitter: reconnecting servers do not hammer the broker in step.
            await asyncio.sleep(random.uniform(self.settings.reconnect_min_s / 2, backoff))
            backoff = min(backoff * 2, self.settings.reconnect_max_s)

    async def _read(self, client: aiomqtt.Client, generation: int) -> None:
        async for message in client.messages:
            payload = message.payload
            raw = payload if isinstance(payload, bytes) else (
                bytes(payload) if isinstance(payload, bytearray)
                else str(payload or "").encode())
            self._receive(Inbound(str(message.topic), raw, generation, message.mid,
                                  message.qos))

    async def _publish(self, client: aiomqtt.Client) -> None:
        outbox = self.outbox
        while True:
            while self.info:
                topic, payload = self.info.popleft()
                await client.publish(topic, payload, qos=0, timeout=math.inf)
            if not outbox.items:
                outbox.ready.clear()
                if self.info:
                    continue
                await outbox.ready.wait()
                continue
            batch = [outbox.items[i] for i in range(min(_PUBLISH_BATCH, len(outbox.items)))]
            for item in batch:
                item.in_flight = True
            # Tasks start in creation order and each hands its message to paho before
            # its first await, so the broker gets them in outbox order.
            async with asyncio.TaskGroup() as publishing:
                for item in batch:
                    # No timeout of its own: a lost connection ends the wait (the reader
                    # fails, the task group is cancelled); a slow broker is not an error.
                    publishing.create_task(client.publish(item.topic, item.payload, qos=1,
                                                          timeout=math.inf))
            for item in batch:
                # Only items not in flight are ever withdrawn, so the batch is the head.
                head = outbox.items.popleft()
                assert head is item
                if item.kind != "deadletter":
                    self.stats["commands"] += 1
                if item.sent is not None and not item.sent.done():
                    item.sent.set_result(None)
            if not outbox.items:
                outbox.empty.set()

    # ------------------------------------------------------------ inbound

    def _receive(self, message: Inbound) -> None:
        try:
            self._receive_one(message)
        except Exception:
            # Never let one message break the connection (it would come back forever).
            log.exception("cti.receive_failed", topic=message.topic)
            self.ledger.done(message)
        finally:
            self._notify()

    def _receive_one(self, message: Inbound) -> None:
        self.stats["received"] += 1
        self.ledger.add(message)
        if message.topic != self.events_topic:
            self._deadletter(message, "cti.unknown_topic", f"not an events topic: {message.topic}")
            return
        try:
            event = decode_event(message.payload)
        except CtiDecodeError as exc:
            self._deadletter(message, exc.code, exc.reason)
            return
        message.event = event
        if event.event_id in self.seen:
            self.stats["duplicates"] += 1
            self.ledger.done(message)
            return
        first = self.in_flight.get(event.event_id)
        if first is not None:
            self.stats["duplicates"] += 1
            first.duplicates.append(message)
            return
        self.in_flight[event.event_id] = message
        if isinstance(event, CommandRejected) and event.call_id not in self.calls:
            self._spawn(self._run_one(None, message))
            return
        self._admit(event.call_id, message)

    def _admit(self, call_id: str, message: Inbound) -> None:
        event = message.event
        assert event is not None
        call = self.calls.get(call_id)
        if call is None:
            if call_id in self.finished:
                self.stats["late"] += 1
                log.info("cti.late_event", call_id=call_id, event_kind=type(event).__name__)
                self._finish(message, applied=True)
                return
            call = self.calls[call_id] = VoiceCall(call_id)
        if event.seq <= call.released_seq:
            self.stats["stale"] += 1
            log.warning("cti.stale_event", call_id=call_id, seq=event.seq,
                        released_seq=call.released_seq, event_kind=type(event).__name__)
            self._finish(message, applied=True)
            return
        if call.exact and event.seq != call.released_seq + 1 and not (
                isinstance(event, CallOffered) and not call.offered):
            call.buffered[event.seq] = message
            self._arm_gap_timer(call)
            self._notify()
            return
        self._release(call, message)
        while call.released_seq + 1 in call.buffered:
            self._release(call, call.buffered.pop(call.released_seq + 1))
        if not call.buffered:
            self._cancel_gap_timer(call)

    def _release(self, call: VoiceCall, message: Inbound) -> None:
        assert message.event is not None
        call.released_seq = max(call.released_seq, message.event.seq)
        if isinstance(message.event, CallOffered):
            call.offered = True
        call.ready.append(message)
        if not call.working:
            call.working = True
            self._spawn(self._work(call))

    def _arm_gap_timer(self, call: VoiceCall) -> None:
        if call.call_id not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[call.call_id] = loop.call_later(
                self.settings.reorder_wait_s, self._gap_expired, call.call_id)

    def _cancel_gap_timer(self, call: VoiceCall) -> None:
        timer = self._timers.pop(call.call_id, None)
        if timer is not None:
            timer.cancel()

    def _gap_expired(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        call = self.calls.get(call_id)
        if call is None or not call.buffered:
            return
        if not call.offered and call.direction == "inbound":
            # Nothing ever introduced this call: its events are dead letters.
            for message in call.buffered.values():
                self._deadletter(message, "cti.unknown_call",
                                 f"no call_offered for call {call_id}")
            call.buffered.clear()
            del self.calls[call_id]
            return
        log.warning("cti.seq_gap_skipped", call_id=call_id, released_seq=call.released_seq,
                    next_seq=min(call.buffered))
        for seq in sorted(call.buffered):
            self._release(call, call.buffered.pop(seq))

    async def _work(self, call: VoiceCall) -> None:
        try:
            while call.ready:
                message = call.ready.pop(0)
                await self._run_one(call, message)
        finally:
            call.working = False

    async def _run_one(self, call: VoiceCall | None, message: Inbound) -> None:
        event = message.event
        assert event is not None
        while True:
            try:
                result = await self._handle(call, event, message)
                if result is None:
                    return  # dead-lettered: acknowledged once the broker has the letter
                applied = result
                break
            except Draining:
                return  # not acknowledged: the broker redelivers to the next run
            except CallCenterError as exc:
                if exc.code != "store.unavailable" or self._stopping:
                    log.warning("cti.event_failed", call_id=event.call_id,
                                event_kind=type(event).__name__, code=exc.code,
                                error=exc.message)
                    applied = True
                    break
                self.stats["retries"] += 1
                await asyncio.sleep(self.settings.retry_s)
            except Exception:
                log.exception("cti.event_failed", call_id=event.call_id,
                              event_kind=type(event).__name__)
                applied = True
                break
        self._finish(message, applied)

    def _finish(self, message: Inbound, applied: bool) -> None:
        event = message.event
        if event is not None:
            self.in_flight.pop(event.event_id, None)
            if applied:
                self._remember(event.event_id)
                self.stats["processed"] += 1
        self.ledger.done(message)
        for duplicate in message.duplicates:
            self.ledger.done(duplicate)
        self._notify()

    def _remember(self, event_id: str) -> None:
        self.seen[event_id] = None
        if len(self.seen) > self.settings.dedup_size:
            self.seen.popitem(last=False)

    def _deadletter(self, message: Inbound, code: str, reason: str) -> None:
        self.stats["deadlettered"] += 1
        if message.event is not None:
            self.in_flight.pop(message.event.event_id, None)
        log.warning("cti.deadletter", code=code, reason=reason[:200], topic=message.topic)
        body = deadletter_payload(reason=reason, code=code, topic=message.topic,
                                  payload=message.payload)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self.outbox.add(Outgoing(self.deadletter_topic, body, "deadletter", sent=sent))
        except CtiOutboxFull:
            log.error("cti.deadletter_dropped", code=code)
            self.ledger.done(message)
            return

        def acknowledged(_: asyncio.Future[None]) -> None:
            self.ledger.done(message)
            for duplicate in message.duplicates:
                self.ledger.done(duplicate)
            self._notify()

        sent.add_done_callback(acknowledged)

    # ------------------------------------------------------------ what events do

    async def _handle(self, call: VoiceCall | None, event: CtiEvent,
                      message: Inbound) -> bool | None:
        """Apply one event; True when done, None when it went to the dead letters."""
        if isinstance(event, CommandRejected):
            await self._command_rejected(event)
            return True
        assert call is not None
        if isinstance(event, CallOffered):
            return await self._call_offered(call, event)
        if call.contact_id is None and self.ivr is not None and self.ivr.owns(call.call_id):
            await self.ivr.on_event(call, event)
            return True
        if call.contact_id is None:
            if call.direction == "outbound" and call.pbx_state != "ended":
                self._command(HangupCommand(self._command_id(), call.call_id), quiet=True)
                return True
            if not call.offered:
                self.calls.pop(call.call_id, None)
            self._deadletter(message, "cti.unknown_call", f"no contact for call {call.call_id}")
            return None
        contact_id = call.contact_id
        runtime = self.services.runtime
        if isinstance(event, AgentRinging):
            call.pbx_state, call.extension = "ringing", event.extension
        elif isinstance(event, CallAnswered):
            if event.answered_by == "agent":
                await self._answered(call, contact_id, event)
        elif isinstance(event, NoAnswer | RouteFailed):
            agent_id = await self.extensions.agent_of(event.extension) or call.agent_id
            call.pbx_state = "ended" if call.direction == "outbound" else "waiting"
            call.extension = None
            if agent_id is not None:
                await runtime.submit_intent(offer_failed_intent(contact_id, agent_id, event))
        elif isinstance(event, CallHeld):
            if call.start_hold(event.at.timestamp()):
                await save_hold(self.services.sessionmaker, contact_id, call)
        elif isinstance(event, CallRetrieved):
            if call.stop_hold(event.at.timestamp(), self._leg_no(contact_id)):
                await save_hold(self.services.sessionmaker, contact_id, call)
        elif isinstance(event, CallTransferred):
            await self._transferred(call, contact_id, event)
        elif isinstance(event, CallEnded):
            if call.stop_hold(event.at.timestamp(), self._leg_no(contact_id)):
                await save_hold(self.services.sessionmaker, contact_id, call)
            call.pbx_state = "ended"
            outcome = await runtime.submit_intent(ended_intent(call, contact_id, event))
            self._log_refusals(outcome, event)
            if call.direction == "outbound" and not any(
                    isinstance(a.event, ContactEnded) for a in outcome.applied):
                self._forget_call(call)  # a dial that never connected; the contact goes on
            elif snapshot(runtime.router, contact_id) is None:
                self._forget_call(call)
        return True

    def _leg_no(self, contact_id: str) -> int:
        track = self.services.runtime.tracker.get(contact_id)
        return len(track.legs) if track is not None and track.legs else 1

    async def _call_offered(self, call: VoiceCall, event: CallOffered) -> bool:
        """A new call: into the IVR when a flow answers its number, else a voice contact
        (customer by ANI) in the line of its number."""
        if call.contact_id is not None:
            return True
        if self.ivr is not None and await self.ivr.offered(call, event):
            return True
        return await self.enqueue_call(call, event, ani=event.ani, dnis=event.dnis,
                                       queue=self._queue_for(event.dnis))

    async def enqueue_call(self, call: VoiceCall, event: CtiEvent | None, *, ani: str, dnis: str,
                           queue: str | None, from_ivr: CallFromIvr | None = None) -> bool:
        """Put a call in line: a voice contact (``external_id`` ``cti:{pbx}:{call_id}``).

        Built here rather than through the HTTP intake so the path to the first
        ``route`` holds one durable commit and no store reads for known callers
        (customers by ANI are cached); the rows are the same as the intake's.
        ``from_ivr`` carries what the IVR learned (customer, skills, boost, path);
        ``event`` is the CTI event that caused it (None: the IVR's own input timer).
        """
        if queue is None:
            reason = f"no voice queue for dialled number {dnis!r}"
            log.error("cti.no_queue", call_id=call.call_id, dnis=dnis)
            with contextlib.suppress(CtiOutboxFull):
                self.outbox.add(Outgoing(self.deadletter_topic, deadletter_payload(
                    reason=reason, code="cti.no_queue", topic=self.events_topic,
                    payload=encode(event) if event is not None else b""), "deadletter"))
            self._command(HangupCommand(self._command_id(), call.call_id), quiet=True)
            return True
        try:
            phone = normalize_identity("phone", ani) if ani else None
        except ValidationFailed:
            phone = None
        ivr = from_ivr or CallFromIvr()
        customer = ivr.customer if ivr.customer is not None else await self._customer(phone)
        services = self.services
        contact_id = ivr.contact_id or f"c-{uuid.uuid4().hex[:24]}"
        now = time.time()
        tier = customer.tier if customer is not None else "standard"
        at = utc(now)
        external = external_id(self.pbx, call.call_id)
        subject = f"Call from {ani}" if ani else "Call (number withheld)"
        payload: dict[str, Any] = {
            "priority": int(ivr.priority_boost_s),
            "provisional": bool(customer and customer.provisional),
            "callback_number": phone, "call_id": call.call_id, "pbx": self.pbx,
            "ani": ani, "dnis": dnis}
        if ivr.payload:
            payload["ivr"] = dict(ivr.payload)
        row: dict[str, Any] = {
            "id": contact_id, "external_id": external, "channel": "voice",
            "direction": "inbound", "queue": queue,
            "customer_id": customer.id if customer else None, "state": "queued", "tier": tier,
            "subject": subject, "first_message": None, "ivr_path": list(ivr.ivr_path),
            "payload": payload, "created_at": at, "updated_at": at,
        }
        arrived = ContactArrived(0.0, contact_id, queue, channel="voice",
                                 tier=tier,  # type: ignore[arg-type]
                                 required_skills=tuple(RequiredSkill(s, level) for s, level
                                                       in sorted(ivr.required_skills.items())),
                                 external_id=external,
                                 customer_id=str(customer.id) if customer else None,
                                 arrived_at=ivr.arrived_at)
        meta: dict[str, Any] = {"channel": "voice", "ivr_path": list(ivr.ivr_path),
                                "direction": "inbound"}
        if event is not None:
            meta.update(cti_meta(event))
        services.screen_pops.prefetch(ContactCard(
            contact_id=contact_id, channel="voice", queue=queue, tier=tier,
            customer_id=customer.id if customer else None, arrived_at=now,
            subject=subject, ivr_path=list(ivr.ivr_path),
            priority=int(ivr.priority_boost_s),
            provisional=bool(customer and customer.provisional),
            identity=("phone", phone) if phone else None))
        # Known before the router can offer it (the offer may come in the same batch).
        call.contact_id = contact_id
        self.by_contact[contact_id] = call
        # An unknown number becomes a provisional customer in the contact's own
        # transaction (the runtime creates it); a withheld number gets none.
        new_customer = None
        if customer is None and phone is not None:
            new_customer = NewCustomer(name=f"Caller {phone}", identities=[("phone", phone)])
        try:
            outcome = await services.runtime.submit_events(
                [(arrived, meta)], effect=ContactEffect(contact=row, new_customer=new_customer))
        except BaseException:
            services.screen_pops.forget(contact_id)
            self.by_contact.pop(contact_id, None)
            call.contact_id = None
            raise
        if outcome.duplicate_of is not None:  # a call_offered seen before a restart
            services.screen_pops.forget(contact_id)
            self.by_contact.pop(contact_id, None)
            call.contact_id = outcome.duplicate_of
            self.by_contact[outcome.duplicate_of] = call
        elif customer is None and outcome.customer_id is not None:
            card = await services.screen_pops.card(contact_id)
            if card is not None:
                card.customer_id = outcome.customer_id
        return True

    async def _customer(self, phone: str | None) -> ResolvedCustomer | None:
        """The known customer with this phone number (cached for ``customer_cache_s``:
        a tier changed meanwhile shows on the caller's next call after that), or None."""
        if phone is None:
            return None
        now = time.monotonic()
        cached = self.customers.get(phone)
        if cached is not None and now - cached[0] < self.settings.customer_cache_s:
            return cached[1]
        async with self.services.sessionmaker() as db:
            record = await find_customer_by_identity(db, "phone", phone)
        if record is None:
            return None  # not cached: the next call finds its provisional customer
        customer = ResolvedCustomer(record.id, record.tier, _is_provisional(record.notes))
        self.customers[phone] = (now, customer)
        if len(self.customers) > 50_000:
            self.customers.popitem(last=False)
        return customer

    def _queue_for(self, dnis: str) -> str | None:
        router = self.services.runtime.router
        names = router.queue_names()
        wanted = self.settings.dnis_queues.get(dnis) or self.settings.default_queue
        if wanted is not None:
            return wanted if wanted in names else None
        voice = [n for n in sorted(names) if router.queue_snapshot(n, limit=0).channel == "voice"]
        return voice[0] if voice else None

    async def _answered(self, call: VoiceCall, contact_id: str, event: CallAnswered) -> None:
        agent_id = await self.extensions.agent_of(event.extension) or call.agent_id
        call.pbx_state, call.extension, call.agent_id = "connected", event.extension, agent_id
        if agent_id is None:
            log.error("cti.unknown_extension", call_id=call.call_id, extension=event.extension)
            return
        await self.services.runtime.submit_intent(answered_intent(contact_id, agent_id, event))
        snap = snapshot(self.services.runtime.router, contact_id)
        if snap is not None and (snap.state != "connected" or snap.agent_id != agent_id):
            # The router gave this contact up (or to someone else) while the phone rang:
            # the PBX is the truth about the call, the router about the line. Put the
            # call back in line rather than leave caller and agent in two stories.
            log.warning("cti.answer_mismatch", call_id=call.call_id, contact_id=contact_id,
                        agent_id=agent_id, state=snap.state, router_agent=snap.agent_id)
            if snap.state == "queued" and call.direction == "inbound":
                self._command(TransferCommand(self._command_id(), call.call_id,
                                              queue=snap.queue), contact_id=contact_id)

    async def _transferred(self, call: VoiceCall, contact_id: str,
                           event: CallTransferred) -> None:
        if call.stop_hold(event.at.timestamp(), self._leg_no(contact_id)):
            await save_hold(self.services.sessionmaker, contact_id, call)
        to_queue: str | None = None
        to_agent: str | None = None
        if call.pending_transfer is not None:
            to_queue, to_agent = call.pending_transfer
            call.pending_transfer = None
        elif event.target == "extension":
            to_agent = await self.extensions.agent_of(event.to)
        else:
            to_queue = event.to
        if event.target == "extension":
            call.pbx_state, call.extension = "ringing", event.to
        else:
            call.pbx_state, call.extension = "waiting", None
        call.agent_id = None
        outcome = await self.services.runtime.submit_intent(
            transferred_intent(contact_id, event, to_queue, to_agent))
        self._log_refusals(outcome, event)

    async def _command_rejected(self, event: CommandRejected) -> None:
        sent = self.sent_commands.pop(event.command_id, None)
        log.info("cti.command_rejected", command_id=event.command_id, reason=event.reason,
                 state=event.state, command=event.command, call_id=event.call_id)
        if sent is None:
            return
        kind, _call_id, contact_id, agent_id = sent
        if kind in ("route", "dial") and contact_id and agent_id:
            await self.services.runtime.submit_intent(rejected_intent(
                contact_id, agent_id, f"pbx_{event.reason}", cti_meta(event)))

    def _log_refusals(self, outcome: Outcome, event: CtiEvent) -> None:
        for applied in outcome.applied:
            if applied.error is not None:
                log.info("cti.event_refused", call_id=event.call_id, event_id=event.event_id,
                         code=applied.error.code, error=applied.error.message)

    # ------------------------------------------------------------ outbound

    def _command_id(self) -> str:
        self._commands += 1
        return f"{self.pbx}-srv-{self._token}-{self._commands}"

    def _command(self, command: CtiCommand, *, contact_id: str | None = None,
                 agent_id: str | None = None, quiet: bool = False) -> None:
        """Queue a command for the PBX (raises ``cti.outbox_full`` unless ``quiet``)."""
        kind = type(command).__name__.removesuffix("Command").lower()
        kind = {"cancelroute": "cancel_route"}.get(kind, kind)
        try:
            self.outbox.add(Outgoing(self.commands_topic, encode(command), kind,
                                     call_id=command.call_id, command_id=command.command_id))
        except CtiOutboxFull:
            if not quiet:
                raise
            log.error("cti.outbox_full", command=kind, call_id=command.call_id)
            return
        self.sent_commands[command.command_id] = (kind, command.call_id, contact_id, agent_id)
        if len(self.sent_commands) > 20_000:
            self.sent_commands.popitem(last=False)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("cti.task_failed", error=repr(task.exception()))
        self._notify()

    def _call_of_contact(self, contact_id: str) -> VoiceCall | None:
        call = self.by_contact.get(contact_id)
        if call is not None:
            return call
        # The router may offer a contact in the very batch that created it, before
        # the intake returned its id to us: find the call by its external id.
        snap = snapshot(self.services.runtime.router, contact_id)
        call_id = call_id_of(self.pbx, snap.external_id if snap else None)
        if call_id is None:
            return None
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = VoiceCall(call_id, offered=True, exact=False)
        call.contact_id = contact_id
        self.by_contact[contact_id] = call
        return call

    def _forget_call(self, call: VoiceCall) -> None:
        self.calls.pop(call.call_id, None)
        self._cancel_gap_timer(call)
        if call.contact_id is not None and self.by_contact.get(call.contact_id) is call:
            del self.by_contact[call.contact_id]
        self.finished[call.call_id] = None
        if len(self.finished) > self.settings.finished_kept:
            self.finished.popitem(last=False)

    def _on_routed(self, item: Any) -> None:
        if item.replay:
            return
        from_cti = "cti" in item.meta
        event = item.event
        if not from_cti:
            self._console_action(event)
        for command in item.commands:
            self._route_command(command, event, from_cti)
            if self.settings.publish_info:
                self._publish_info(command)
        self._notify()

    def _console_action(self, event: Any) -> None:
        """Router events that did not come from the PBX but change the call."""
        if isinstance(event, ContactTransferred):
            call = self.by_contact.get(event.contact_id)
            if call is not None and call.pbx_state in ("connected", "held"):
                snap = snapshot(self.services.runtime.router, event.contact_id)
                queue = event.to_queue or (snap.queue if snap else None)
                if queue is not None:
                    call.pending_transfer = (event.to_queue, event.to_agent)
                    self._command(TransferCommand(self._command_id(), call.call_id, queue=queue),
                                  contact_id=event.contact_id, quiet=True)
        elif isinstance(event, OfferAccepted):
            call = self.by_contact.get(event.contact_id)
            if call is not None and call.pbx_state == "ringing":
                self._command(AnswerCommand(self._command_id(), call.call_id),
                              contact_id=event.contact_id, quiet=True)

    def _route_command(self, cmd: Command, event: Any, from_cti: bool) -> None:
        if isinstance(cmd, OfferContact):
            if cmd.channel not in VOICE_CHANNELS:
                return
            if cmd.channel == "callback":
                self._spawn(self._dial(cmd))
                return
            call = self._call_of_contact(cmd.contact_id)
            if call is None:
                return
            ext = self.extensions.cached_extension(cmd.agent_id)
            if ext is not None and call.pbx_state == "ringing" and call.extension == ext:
                return  # the PBX rings that phone already (a transfer to the extension)
            if ext is None:
                self._spawn(self._route_uncached(call, cmd))
                return
            self._send_route(call, cmd, ext)
        elif isinstance(cmd, CancelOffer):
            call = self.by_contact.get(cmd.contact_id)
            if call is None or from_cti or call.pbx_state == "ended":
                return  # the PBX caused it (no_answer, route_failed, hang-up)
            if self.outbox.withdraw_route(call.call_id):
                return  # never reached the PBX
            self._command(CancelRouteCommand(self._command_id(), call.call_id),
                          contact_id=cmd.contact_id, quiet=True)
            if call.direction == "outbound":
                self._forget_call(call)
            else:
                call.pbx_state, call.extension = "waiting", None
        elif isinstance(cmd, StartWrapUp):
            call = self.by_contact.get(cmd.contact_id)
            if (call is not None and not from_cti and isinstance(event, ContactEnded)
                    and call.pbx_state in ("connected", "held")):
                self._command(HangupCommand(self._command_id(), call.call_id),
                              contact_id=cmd.contact_id, quiet=True)
        elif isinstance(cmd, ContactCompleted | ContactAbandonedRecorded | ContactExited):
            if isinstance(cmd, ContactExited) and cmd.exit in ("overflow", "callback"):
                return
            call = self.by_contact.get(cmd.contact_id)
            if call is None:
                return
            if isinstance(cmd, ContactCompleted) and call.hold_by_leg:
                self._spawn(record_hold(self.services.sessionmaker, cmd.contact_id,
                                        dict(call.hold_by_leg)))
            self._forget_call(call)

    def _send_route(self, call: VoiceCall, cmd: OfferContact, ext: str) -> None:
        call.agent_id = cmd.agent_id
        self._command(RouteCommand(self._command_id(), call.call_id, ext,
                                   pbx_ring_timeout(cmd.ring_timeout_s)),
                      contact_id=cmd.contact_id, agent_id=cmd.agent_id, quiet=True)

    async def _route_uncached(self, call: VoiceCall, cmd: OfferContact) -> None:
        ext = await self.extensions.extension_of(cmd.agent_id)
        if ext is not None:
            self._send_route(call, cmd, ext)
            return
        log.error("cti.agent_without_extension", agent_id=cmd.agent_id,
                  contact_id=cmd.contact_id)
        contact_id, agent_id = cmd.contact_id, cmd.agent_id

        def intent(router: Any) -> list[tuple[Any, dict[str, Any]]]:
            snap = snapshot(router, contact_id)
            if snap is None or snap.state != "alerting" or snap.agent_id != agent_id:
                return []
            return [(RouterRouteFailed(0.0, contact_id, agent_id, "invalid"), {})]

        with contextlib.suppress(Draining):
            await self.services.runtime.submit_intent(intent)

    async def _dial(self, cmd: OfferContact) -> None:
        ext = await self.extensions.extension_of(cmd.agent_id)
        number = await contact_number(self.services.sessionmaker, cmd.contact_id)
        if ext is None or number is None:
            log.error("cti.cannot_dial", contact_id=cmd.contact_id, agent_id=cmd.agent_id,
                      extension=ext, has_number=number is not None)
            with contextlib.suppress(Draining):
                await self.services.runtime.submit_intent(rejected_intent(
                    cmd.contact_id, cmd.agent_id, "cannot_dial", {}))
            return
        snap = snapshot(self.services.runtime.router, cmd.contact_id)
        if snap is None or snap.state != "alerting" or snap.agent_id != cmd.agent_id:
            return  # withdrawn while the number was looked up
        call = VoiceCall(dial_call_id(cmd.contact_id, cmd.attempt), direction="outbound",
                         contact_id=cmd.contact_id, offered=True, pbx_state="ringing",
                         extension=ext, agent_id=cmd.agent_id)
        self.calls[call.call_id] = call
        self.by_contact[cmd.contact_id] = call
        self._command(DialCommand(self._command_id(), call.call_id, number, ext,
                                  pbx_ring_timeout(cmd.ring_timeout_s)),
                      contact_id=cmd.contact_id, agent_id=cmd.agent_id, quiet=True)

    def _publish_info(self, cmd: Command) -> None:
        kind = _SNAKE.sub("_", type(cmd).__name__).lower()
        body = {"event": kind, **to_plain(cmd), "at": utc(cmd.at).isoformat()}
        if isinstance(cmd, PresenceSet):
            topic = f"{self.prefix}/events/agent/{cmd.agent_id}"
        else:
            topic = f"{self.prefix}/events/contact/{cmd.contact_id}"
        self.info.append((topic, orjson.dumps(body)))
        self.outbox.ready.set()

    async def _patch_unrecorded_holds(self) -> None:
        try:
            for contact_id, holds in await unpatched_holds(self.services.sessionmaker):
                if contact_id not in self.by_contact:
                    await record_hold(self.services.sessionmaker, contact_id, holds)
        except Exception:
            log.exception("cti.hold_reconcile_failed")

    # ------------------------------------------------------------ console hooks

    def _own_call(self, agent_id: str, contact_id: str, states: tuple[str, ...]) -> VoiceCall:
        snap = snapshot(self.services.runtime.router, contact_id)
        if snap is None or snap.agent_id != agent_id:
            raise NotFound(f"contact {contact_id!r} is not yours", code="contact.not_found")
        if snap.channel not in VOICE_CHANNELS:
            raise CallCenterError(f"contact {contact_id!r} is a {snap.channel} contact, "
                                  "not a call", code="contact.invalid_channel", status=409)
        if snap.state not in states:
            raise VoiceInvalidState(f"contact {contact_id!r} is {snap.state}")
        call = self._call_of_contact(contact_id)
        if call is None or call.pbx_state == "ended":
            raise VoiceInvalidState(f"contact {contact_id!r} has no live call")
        return call

    def accept(self, agent_id: str, contact_id: str) -> dict[str, Any]:
        call = self._own_call(agent_id, contact_id, ("alerting",))
        self._command(AnswerCommand(self._command_id(), call.call_id), contact_id=contact_id,
                      agent_id=agent_id)
        return {"contact_id": contact_id, "state": "alerting", "answering": True}

    def hold(self, agent_id: str, contact_id: str) -> dict[str, Any]:
        call = self._own_call(agent_id, contact_id, ("connected",))
        if call.held_since is not None:
            raise VoiceInvalidState(f"contact {contact_id!r} is on hold already")
        self._command(HoldCommand(self._command_id(), call.call_id), contact_id=contact_id,
                      agent_id=agent_id)
        return {"contact_id": contact_id, "state": "connected", "holding": True}

    def retrieve(self, agent_id: str, contact_id: str) -> dict[str, Any]:
        call = self._own_call(agent_id, contact_id, ("connected",))
        if call.held_since is None:
            raise VoiceInvalidState(f"contact {contact_id!r} is not on hold")
        self._command(RetrieveCommand(self._command_id(), call.call_id), contact_id=contact_id,
                      agent_id=agent_id)
        return {"contact_id": contact_id, "state": "connected", "retrieving": True}

    def transfer(self, agent_id: str, contact_id: str, to_queue: str | None,
                 to_agent: str | None) -> dict[str, Any]:
        if (to_queue is None) == (to_agent is None):
            raise ValidationFailed("name exactly one of to_queue and to_agent")
        router = self.services.runtime.router
        if to_queue is not None and to_queue not in router.queue_names():
            raise NotFound(f"queue {to_queue!r} not found", code="queue.not_found")
        if to_agent is not None and to_agent not in router.agent_ids():
            raise NotFound(f"agent {to_agent!r} is not logged in", code="agent.not_found")
        call = self._own_call(agent_id, contact_id, ("connected",))
        snap = router.contact_snapshot(contact_id)
        call.pending_transfer = (to_queue, to_agent)
        # Always a blind transfer to the line: the router then offers the call (to
        # the named agent first) and the bridge rings whoever it chose.
        self._command(TransferCommand(self._command_id(), call.call_id,
                                      queue=to_queue or snap.queue),
                      contact_id=contact_id, agent_id=agent_id)
        return {"contact_id": contact_id, "state": "connected", "transferring": True}


# --------------------------------------------------------------------------- wiring

CTI_BRIDGE = web.AppKey("cti_bridge", CtiBridge)


async def cti_bridge_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: run the bridge while the app runs (if ``mqtt.enabled``).

    Append it after the services context (it needs the router and the store).
    """
    services = app[SERVICES]
    if not services.config.mqtt.enabled or getattr(services, "cti", None) is not None:
        yield  # disabled, or registered twice: one bridge per server (one client id)
        return
    bridge = CtiBridge(services, app.get(CTI_BRIDGE_SETTINGS))
    registry = app.get(IVR_REGISTRY)
    if registry is not None:  # loaded by ``ivr_ctx`` (callcenter.ivr_runtime)
        bridge.ivr = IvrDriver(bridge, registry, app.get(IVR_SETTINGS))
    await bridge.start()
    app[CTI_BRIDGE] = bridge
    services.cti = bridge
    try:
        yield
    finally:
        await bridge.stop()


def bridge_of(owner: web.Application | Services) -> CtiBridge:
    """The running bridge of an app or of its services; ``cti.unavailable`` if none."""
    if isinstance(owner, web.Application):
        bridge = owner.get(CTI_BRIDGE)
    else:
        bridge = getattr(owner, "cti", None)
    if bridge is None:
        raise CtiUnavailable("voice control needs the CTI bridge, which is not running")
    return bridge


def is_voice(owner: web.Application | Services, contact_id: str) -> bool:
    """Whether a live contact is a call (voice or callback) the bridge controls."""
    services = owner[SERVICES] if isinstance(owner, web.Application) else owner
    snap = snapshot(services.runtime.router, contact_id)
    return snap is not None and snap.channel in VOICE_CHANNELS


async def voice_accept(owner: web.Application | Services, agent_id: str,
                       contact_id: str) -> dict[str, Any]:
    """Console ``accept`` of a call: send ``answer``; connected when the PBX says so."""
    return bridge_of(owner).accept(agent_id, contact_id)


async def voice_hold(owner: web.Application | Services, agent_id: str,
                     contact_id: str) -> dict[str, Any]:
    """Console ``hold``: send ``hold``; hold time runs from the PBX's ``call_held``."""
    return bridge_of(owner).hold(agent_id, contact_id)


async def voice_retrieve(owner: web.Application | Services, agent_id: str,
                         contact_id: str) -> dict[str, Any]:
    """Console ``retrieve``: send ``retrieve``."""
    return bridge_of(owner).retrieve(agent_id, contact_id)


async def voice_transfer(owner: web.Application | Services, agent_id: str, contact_id: str,
                         to_queue: str | None = None,
                         to_agent: str | None = None) -> dict[str, Any]:
    """Console ``transfer`` of a call: the PBX moves it, then the router does."""
    return bridge_of(owner).transfer(agent_id, contact_id, to_queue, to_agent)


__all__ = [
    "CTI_BRIDGE",
    "CTI_BRIDGE_SETTINGS",
    "BridgeSettings",
    "CtiBridge",
    "CtiOutboxFull",
    "CtiUnavailable",
    "ManualAckClient",
    "bridge_of",
    "cti_bridge_ctx",
    "is_voice",
    "voice_accept",
    "voice_hold",
    "voice_retrieve",
    "voice_transfer",
]
