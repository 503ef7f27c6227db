"""The per-call IVR driver: CTI events in, the sans-I/O interpreter, CTI commands out.

:class:`IvrDriver` lives inside the CTI bridge (:mod:`callcenter.cti_bridge`). When a
``call_offered`` arrives and a flow's ``entry`` names the dialled number, the driver
starts an :class:`~callcenter.ivr.IvrSession` pinned to the flow's current version and
owns the call until the session ends:

- ``prompt_done`` -> ``PromptDone``; ``dtmf`` -> ``DigitsReceived`` (only the answer
  to the current ``collect``, by ``command_id``); ``call_ended`` -> ``CallerHungUp``;
  the driver's own timer -> ``InputTimeout`` (the PBX sends nothing on silence);
- ``PlayPrompt`` / ``CollectDigits`` / ``HangUp`` / ``Transfer`` -> CTI ``play`` /
  ``collect`` / ``hangup`` / ``transfer`` through the bridge's outbox;
- lookups are answered from the store (:mod:`callcenter.store.ivr_lookups`) and the
  router's queue estimate;
- ``RouteToQueue`` puts the call in line through the bridge's own path for calls
  (:meth:`CtiBridge.enqueue_call`: one durable ``ContactArrived`` with tier, required
  skills, the priority boost and the IVR path); from then on the bridge handles the
  call as any other;
- ``OfferCallback`` -> a callback contact that keeps the caller's place (its
  ``arrived_at`` is the call's arrival); ``TakeVoicemail`` -> an email-channel contact
  whose body names the recording; ``RecordSurvey`` -> ``surveys``;
- a call that ends in the IVR (contained, IVR abandon, voicemail, callback,
  transferred) gets its contact row and interaction record, durable before the CTI
  event that ended it is acknowledged.

Events of one call run one at a time (the bridge orders them by ``seq``; the driver's
timer takes the same per-call lock). ``at`` on every interpreter event is the server's
injected clock (``RouterRuntime.clock``), so opening hours follow it.

Wiring (see docs/ivr.md, "Server integration"): :func:`install_ivr` in ``create_app``
loads and validates the flows (raising :class:`~callcenter.ivr.FlowSetInvalid`, so the
server refuses to start), and ``cti_bridge_ctx`` hands the registry to the bridge.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from callcenter.cti_messages import (
    CallEnded,
    CollectCommand,
    CtiEvent,
    Dtmf,
    HangupCommand,
    PlayCommand,
    PromptDone,
    TransferCommand,
)
from callcenter.errors import ValidationFailed
from callcenter.http_api.contacts import ResolvedCustomer
from callcenter.ivr import commands as ic
from callcenter.ivr import events as ie
from callcenter.ivr.interpreter import IvrSession
from callcenter.ivr.loader import FlowRegistry
from callcenter.logs import get_logger
from callcenter.runtime import ContactEffect, Draining, NewCustomer
from callcenter.store import ivr_lookups as lookups
from callcenter.store.identities import normalize_identity
from callcenter.store.interactions import InteractionRecord
from callcenter.store.surveys import NewSurvey, record_survey
from callcenter.voice import VoiceCall, cti_meta
from callcenter.writeback import utc
from routing.commands import ContactAbandonedRecorded, ContactCompleted, ContactExited
from routing.errors import RoutingError
from routing.events import ContactArrived
from routing.model import RequiredSkill, channel_fits_queue

if TYPE_CHECKING:
    from callcenter.bus import Routed
    from callcenter.cti_bridge import CtiBridge

log = get_logger(__name__)

#: Contact row state of a call that ended in the IVR, by session outcome.
_END_STATES = {"contained": "contained", "abandoned": "abandoned", "voicemail": "voicemail",
               "callback": "completed", "transferred": "completed"}
_PATH_MAX = 50
_STEP_MAX = 100


@dataclass(frozen=True, slots=True)
class IvrSettings:
    """Timers of the driver (app key ``IVR_SETTINGS``; tests make them short)."""

    #: Added to a ``collect``'s ``timeout_s``: the PBX's and the network's latency.
    collect_grace_s: float = 1.0
    #: The PBX plays the prompt before it listens, so the timer also allows for the
    #: prompt: its text-to-speech length at this many characters a second...
    speech_chars_per_s: float = 14.0
    #: ...capped here (a recording without text counts as ``min_prompt_s``).
    max_prompt_s: float = 30.0
    min_prompt_s: float = 0.0


IVR_REGISTRY = web.AppKey("ivr_registry", FlowRegistry)
IVR_SETTINGS = web.AppKey("ivr_settings", IvrSettings)


def install_ivr(app: web.Application, flows_dir: str | Path | None) -> FlowRegistry | None:
    """Load and validate the IVR flows into ``app`` (one line in ``create_app``).

    Raises :class:`~callcenter.ivr.FlowSetInvalid` (every error, ``file:line:col``) so
    the server refuses to start on invalid flows. An empty ``flows_dir`` means no IVR:
    every call goes straight to the queue of its number.
    """
    if flows_dir is None or str(flows_dir) == "":
        return None
    registry = FlowRegistry.from_path(Path(flows_dir))
    app[IVR_REGISTRY] = registry
    return registry


class IvrReloadResult(msgspec.Struct, frozen=True):
    """Answer of ``POST /api/v1/ivr/reload``."""

    reloaded: bool
    generation: int
    flows: list[str]
    errors: list[str] = []


def reload_flows(app: web.Application) -> IvrReloadResult:
    """Reload the flows (supervisor command). Invalid flows change nothing: the
    running ones stay and the errors are returned. Calls in progress keep the
    version they started with."""
    registry = app.get(IVR_REGISTRY)
    if registry is None:
        return IvrReloadResult(False, 0, [], ["the IVR is not enabled (ivr.flows_dir)"])
    errors = registry.reload()
    return IvrReloadResult(not errors, registry.generation, sorted(registry.flows.flows),
                           [str(e) for e in errors])


def path_strings(path: Sequence[Mapping[str, str | None]]) -> list[str]:
    """The IVR path as the contact, the offer and the record show it:
    ``"node"`` or ``"node:input"``, the last 50 steps."""
    steps = []
    for step in path:
        node, value = str(step.get("node")), step.get("input")
        steps.append((node if value is None else f"{node}:{value}")[:_STEP_MAX])
    return steps[-_PATH_MAX:]


@dataclass(frozen=True, slots=True)
class CallFromIvr:
    """What the IVR learned, for :meth:`CtiBridge.enqueue_call`."""

    contact_id: str | None = None
    customer: ResolvedCustomer | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)
    priority_boost_s: float = 0.0
    ivr_path: tuple[str, ...] = ()
    #: The router's ``arrived_at`` (None: now). A boost is a head start of that many
    #: seconds: the router has no per-contact head start, so it is taken off arrived_at.
    arrived_at: float | None = None
    #: Kept on the contact row as ``payload["ivr"]`` (flow, version, times, variables).
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class IvrCall:
    """One call while the IVR owns it."""

    call: VoiceCall
    session: IvrSession
    contact_id: str
    ani: str
    dnis: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    customer: lookups.IvrCustomer | None = None
    play_id: str | None = None
    collect_id: str | None = None
    timer: asyncio.TimerHandle | None = None
    #: Hang up once this prompt has played (voicemail: the PBX records meanwhile).
    hangup_after: str | None = None
    caller_gone: bool = False
    hung_up: bool = False
    recorded: bool = False
    #: A ``RouteToQueue`` the store did not take yet (retried with the next event).
    pending_route: tuple[str, CallFromIvr] | None = None
    notes: list[str] = field(default_factory=list)


class IvrDriver:
    """Runs the IVR of every call whose number a flow answers (module docstring)."""

    def __init__(self, bridge: CtiBridge, registry: FlowRegistry,
                 settings: IvrSettings | None = None) -> None:
        self.bridge = bridge
        self.services = bridge.services
        self.registry = registry
        self.settings = settings or IvrSettings()
        self.calls: dict[str, IvrCall] = {}
        #: Live contacts the IVR queued: their record gets the IVR part when written.
        self.routed: set[str] = set()
        self.stats: dict[str, int] = {"started": 0, "queued": 0, "contained": 0,
                                      "abandoned": 0, "voicemail": 0, "callback": 0,
                                      "transferred": 0, "timeouts": 0, "surveys": 0}
        self._unsubscribe: Any = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Subscribe to the bus, remember live IVR contacts, patch records a stop cut."""
        router = self.services.runtime.router
        missing = sorted(self.registry.flows.queues() - set(router.queue_names()))
        if missing:
            log.error("ivr.unknown_queues", queues=missing,
                      hint="calls routed there go to the number's default queue")
        self._unsubscribe = self.services.bus.subscribe("ivr", self._on_routed)
        live = [cid for cid in router.contact_ids()
                if router.contact_snapshot(cid).channel == "voice"]
        self.routed = await lookups.ivr_contact_ids(self.services.sessionmaker, live)
        self.bridge._spawn(self._patch_unpatched())

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for ivr_call in self.calls.values():
            self._cancel_timer(ivr_call)

    def owns(self, call_id: str) -> bool:
        return call_id in self.calls

    def _now(self) -> float:
        return float(self.services.runtime.clock())

    # ------------------------------------------------------------ CTI events in

    async def offered(self, call: VoiceCall, event: Any) -> bool:
        """``call_offered``: start a session if a flow answers the number."""
        session = self.registry.start_session(event.dnis)
        if session is None:
            return False
        ivr_call = IvrCall(call, session, f"c-{uuid.uuid4().hex[:24]}", event.ani, event.dnis)
        self.calls[call.call_id] = ivr_call
        self.stats["started"] += 1
        log.info("ivr.started", call_id=call.call_id, flow=session.flow.name,
                 version=session.flow.version, contact_id=ivr_call.contact_id)
        async with ivr_call.lock:
            await self._feed(ivr_call, ie.CallStarted(self._now(), call.call_id, event.ani,
                                                      event.dnis), event)
        return True

    async def on_event(self, call: VoiceCall, event: CtiEvent) -> None:
        """An event of a call in the IVR (the bridge runs them one at a time)."""
        ivr_call = self.calls[call.call_id]
        async with ivr_call.lock:
            if ivr_call.pending_route is not None:
                await self._route(ivr_call, event)
                if ivr_call.pending_route is None:
                    return  # in line now; this event belongs to the queue part
            if isinstance(event, CallEnded):
                await self._ended(ivr_call, event)
            elif isinstance(event, Dtmf):
                if ivr_call.collect_id is None or (
                        event.command_id is not None and event.command_id != ivr_call.collect_id):
                    log.info("ivr.stale_dtmf", call_id=call.call_id, digits=event.digits)
                    return
                self._cancel_timer(ivr_call)
                ivr_call.collect_id = None
                await self._feed(ivr_call, ie.DigitsReceived(self._now(), event.digits), event)
            elif isinstance(event, PromptDone):
                if event.command_id is not None and event.command_id != ivr_call.play_id:
                    return  # the end of a prompt the session no longer waits for
                if ivr_call.hangup_after is not None and event.prompt == ivr_call.hangup_after:
                    self._hang_up(ivr_call)
                    return
                await self._feed(ivr_call, ie.PromptDone(self._now(), event.prompt), event)
            # call_answered (ivr), command_rejected...: nothing to tell the session.

    async def _ended(self, ivr_call: IvrCall, event: CallEnded) -> None:
        ivr_call.caller_gone = True
        self._cancel_timer(ivr_call)
        # After our own hangup the session has finished and takes nothing more; before
        # it the caller left (or the PBX dropped the call): an IVR abandon, or contained
        # when self-service had answered.
        await self._feed(ivr_call, ie.CallerHungUp(self._now()), event)
        self.calls.pop(ivr_call.call.call_id, None)
        ivr_call.call.pbx_state = "ended"
        self.bridge._forget_call(ivr_call.call)

    def _on_timer(self, ivr_call: IvrCall, collect_id: str) -> None:
        ivr_call.timer = None
        self.bridge._spawn(self._timed_out(ivr_call, collect_id))

    async def _timed_out(self, ivr_call: IvrCall, collect_id: str) -> None:
        async with ivr_call.lock:
            if ivr_call.collect_id != collect_id or ivr_call.caller_gone:
                return  # answered meanwhile
            ivr_call.collect_id = None
            self.stats["timeouts"] += 1
            await self._feed(ivr_call, ie.InputTimeout(self._now()), None)

    # ------------------------------------------------------------ the session

    async def _feed(self, ivr_call: IvrCall, first: ie.IvrEvent, trigger: CtiEvent | None
                    ) -> None:
        """Hand an event to the session; carry out its commands, answering lookups."""
        pending: list[ie.IvrEvent] = [first]
        while pending:
            commands = ivr_call.session.handle(pending.pop(0))
            for command in commands:
                answer = await self._carry_out(ivr_call, command, trigger)
                if answer is not None:
                    pending.append(answer)
        if ivr_call.pending_route is not None:
            await self._route(ivr_call, trigger)
        session = ivr_call.session
        if session.finished and not ivr_call.recorded and session.outcome != "queued":
            await self._record_end(ivr_call)

    async def _carry_out(self, ivr_call: IvrCall, command: ic.IvrCommand,
                         trigger: CtiEvent | None) -> ie.IvrEvent | None:
        session = ivr_call.session
        call_id = ivr_call.call.call_id
        if isinstance(command, ic.PlayPrompt):
            ivr_call.play_id = self._send(ivr_call, lambda cid: PlayCommand(
                cid, call_id, command.prompt, command.language))
        elif isinstance(command, ic.CollectDigits):
            collect_id = self._send(ivr_call, lambda cid: CollectCommand(
                cid, call_id, command.prompt, command.timeout_s,
                min_digits=command.min_digits, max_digits=command.max_digits,
                language=command.language))
            ivr_call.collect_id = collect_id
            if collect_id is not None:
                self._arm_timer(ivr_call, collect_id, command)
        elif isinstance(command, ic.LookupCustomer):
            return ie.CustomerIdentified(self._now(), await self._identify(ivr_call, command))
        elif isinstance(command, ic.LookupOrder):
            async with self.services.sessionmaker() as db:
                order = await lookups.order_status(db, command.number)
            return ie.OrderStatusFound(self._now(), order.as_event() if order else None)
        elif isinstance(command, ic.LookupTickets):
            tickets: list[lookups.IvrTicket] = []
            if command.customer_id.isdigit():
                async with self.services.sessionmaker() as db:
                    tickets = await lookups.open_tickets_of(db, int(command.customer_id))
            return ie.TicketStatusFound(self._now(), [t.as_event() for t in tickets])
        elif isinstance(command, ic.AskEstimatedWait):
            return ie.EstimatedWait(self._now(), command.queue, self._estimated_wait(command.queue))
        elif isinstance(command, ic.RouteToQueue):
            ivr_call.pending_route = (command.queue, self._from_ivr(ivr_call, command))
        elif isinstance(command, ic.OfferCallback):
            await self._callback(ivr_call, command)
        elif isinstance(command, ic.TakeVoicemail):
            await self._voicemail(ivr_call, command)
        elif isinstance(command, ic.RecordSurvey):
            await self._survey(ivr_call, command)
        elif isinstance(command, ic.Transfer):
            self._send(ivr_call, lambda cid: TransferCommand(cid, call_id,
                                                             extension=command.target))
            ivr_call.notes.append(f"transferred to {command.target}")
        elif isinstance(command, ic.Contained):
            if command.self_service:
                ivr_call.notes.append("self-service: " + ", ".join(command.self_service))
        elif isinstance(command, ic.HangUp):
            self._hang_up(ivr_call)
        log.debug("ivr.command", call_id=call_id, command=type(command).__name__,
                  node=session.node_id)
        return None

    def _send(self, ivr_call: IvrCall, build: Any) -> str | None:
        """Queue a CTI command for the call (nothing once the caller is gone)."""
        if ivr_call.caller_gone:
            return None
        command_id = self.bridge._command_id()
        self.bridge._command(build(command_id), contact_id=None, quiet=True)
        return command_id

    def _hang_up(self, ivr_call: IvrCall) -> None:
        if ivr_call.hung_up:
            return
        ivr_call.hung_up = True
        call_id = ivr_call.call.call_id
        self._send(ivr_call, lambda cid: HangupCommand(cid, call_id))

    def _arm_timer(self, ivr_call: IvrCall, collect_id: str, command: ic.CollectDigits) -> None:
        self._cancel_timer(ivr_call)
        s = self.settings
        speech = len(command.text or "") / s.speech_chars_per_s if s.speech_chars_per_s > 0 \
            else 0.0
        prompt_s = min(s.max_prompt_s, max(s.min_prompt_s, speech))
        delay = command.timeout_s + s.collect_grace_s + prompt_s
        ivr_call.timer = asyncio.get_running_loop().call_later(
            delay, self._on_timer, ivr_call, collect_id)

    @staticmethod
    def _cancel_timer(ivr_call: IvrCall) -> None:
        if ivr_call.timer is not None:
            ivr_call.timer.cancel()
            ivr_call.timer = None

    # ------------------------------------------------------------ answers

    async def _identify(self, ivr_call: IvrCall, command: ic.LookupCustomer
                        ) -> dict[str, Any] | None:
        async with self.services.sessionmaker() as db:
            if command.by == "ani":
                found = await lookups.customer_by_phone(db, command.value)
            elif command.by == "account":
                found = await lookups.customer_by_account(db, command.value)
            else:
                found = await lookups.customer_by_order(db, command.value)
        if found is None:
            return None
        ivr_call.customer = found
        return found.as_event()

    def _estimated_wait(self, queue: str) -> float:
        """The router's estimate for a caller arriving in ``queue`` now; infinite when
        nobody who could answer is logged in (or the queue is unknown)."""
        try:
            seconds = self.services.runtime.router.queue_estimated_wait(queue)
        except RoutingError:
            return math.inf
        return math.inf if seconds is None else float(seconds)

    # ------------------------------------------------------------ the ends

    def _customer(self, ivr_call: IvrCall) -> ResolvedCustomer | None:
        found = ivr_call.customer
        if found is None:
            return None
        return ResolvedCustomer(found.id, found.tier, found.provisional)

    def _ivr_payload(self, ivr_call: IvrCall, left_at: float,
                     boost_s: float = 0.0) -> dict[str, Any]:
        session = ivr_call.session
        return {"flow": session.flow.name, "version": session.flow.version,
                "started_at": session.started_at, "left_at": left_at, "boost_s": boost_s,
                "language": session.language, "outcome": session.outcome,
                "variables": dict(session.variables)}

    def _from_ivr(self, ivr_call: IvrCall, command: ic.RouteToQueue) -> CallFromIvr:
        left_at = self._now()
        boost = max(0.0, float(command.priority_boost))
        return CallFromIvr(
            contact_id=ivr_call.contact_id, customer=self._customer(ivr_call),
            required_skills=dict(command.required_skills), priority_boost_s=boost,
            ivr_path=tuple(path_strings(command.ivr_path)),
            arrived_at=left_at - boost if boost else None,
            payload=self._ivr_payload(ivr_call, left_at, boost))

    def _queue(self, wanted: str, dnis: str) -> str | None:
        names = self.services.runtime.router.queue_names()
        if wanted in names:
            return wanted
        log.error("ivr.unknown_queue", queue=wanted, dnis=dnis)
        return self.bridge._queue_for(dnis)

    async def _route(self, ivr_call: IvrCall, trigger: CtiEvent | None) -> None:
        """Put the call in line (``RouteToQueue``); retried with the next event if the
        store did not take it."""
        assert ivr_call.pending_route is not None
        wanted, learned = ivr_call.pending_route
        await self.bridge.enqueue_call(ivr_call.call, trigger, ani=ivr_call.ani,
                                       dnis=ivr_call.dnis,
                                       queue=self._queue(wanted, ivr_call.dnis),
                                       from_ivr=learned)
        ivr_call.pending_route = None
        self._cancel_timer(ivr_call)
        self.calls.pop(ivr_call.call.call_id, None)
        if ivr_call.call.contact_id is not None:
            self.routed.add(ivr_call.call.contact_id)
        self.stats["queued"] += 1
        log.info("ivr.queued", call_id=ivr_call.call.call_id, contact_id=ivr_call.contact_id,
                 queue=wanted)

    async def _new_contact(self, ivr_call: IvrCall, *, channel: str, queue: str,
                           external: str, subject: str, arrived_at: float | None,
                           learned_skills: Mapping[str, int], path: list[str],
                           payload: dict[str, Any], messages: list[dict[str, Any]],
                           trigger: CtiEvent | None) -> str | None:
        """A contact the IVR creates besides the call (callback, voicemail)."""
        runtime = self.services.runtime
        config = runtime.queue_config(queue)
        if config is None or not channel_fits_queue(channel, config.channel):
            log.error("ivr.contact_not_created", channel=channel, queue=queue,
                      call_id=ivr_call.call.call_id, reason="no such queue for the channel")
            return None
        customer = self._customer(ivr_call) or await self.bridge._customer(
            _phone(ivr_call.ani))
        contact_id = f"c-{uuid.uuid4().hex[:24]}"
        tier = customer.tier if customer is not None else "standard"
        at = utc(time.time())
        direction = "outbound" if channel == "callback" else "inbound"
        row = {"id": contact_id, "external_id": external, "channel": channel,
               "direction": direction, "queue": queue,
               "customer_id": customer.id if customer else None, "state": "queued",
               "tier": tier, "subject": subject[:500],
               "first_message": (messages[0]["body"][:2000] if messages else None),
               "ivr_path": path, "payload": payload, "created_at": at, "updated_at": at}
        arrived = ContactArrived(
            0.0, contact_id, queue, channel=channel,  # type: ignore[arg-type]
            tier=tier,  # type: ignore[arg-type]
            required_skills=tuple(RequiredSkill(s, level)
                                  for s, level in sorted(learned_skills.items())),
            external_id=external, customer_id=str(customer.id) if customer else None,
            arrived_at=arrived_at)
        meta: dict[str, Any] = {"channel": channel, "ivr_path": path, "direction": direction}
        if trigger is not None:
            meta.update(cti_meta(trigger))
        phone = _phone(ivr_call.ani)
        new_customer = None
        if customer is None and phone is not None:
            new_customer = NewCustomer(name=f"Caller {phone}", identities=[("phone", phone)])
        try:
            outcome = await runtime.submit_events(
                [(arrived, meta)],
                effect=ContactEffect(contact=row, new_customer=new_customer,
                                     messages=[{**m, "contact_id": contact_id, "at": at}
                                               for m in messages]))
        except (RoutingError, Draining) as exc:
            log.error("ivr.contact_not_created", channel=channel, queue=queue,
                      call_id=ivr_call.call.call_id, error=str(exc))
            return None
        return outcome.duplicate_of or contact_id

    async def _callback(self, ivr_call: IvrCall, command: ic.OfferCallback) -> None:
        session = ivr_call.session
        number = _phone(command.number)
        queue = self._queue(command.queue, ivr_call.dnis)
        if number is None or queue is None:
            log.error("ivr.callback_not_possible", call_id=ivr_call.call.call_id,
                      has_number=number is not None, queue=command.queue)
            ivr_call.notes.append("callback requested but not possible")
            return
        path = path_strings(command.ivr_path)
        now = self._now()
        payload = {"priority": int(command.priority_boost), "callback_number": number,
                   "provisional": False, "call_id": ivr_call.call.call_id,
                   "ivr": {**self._ivr_payload(ivr_call, now), "outcome": "callback"},
                   "ivr_contact_id": ivr_call.contact_id}
        # The callback keeps the caller's place: it waits as if in line since the call
        # came in (minus any boost the flow gave).
        started = session.started_at if session.started_at is not None else now
        contact_id = await self._new_contact(
            ivr_call, channel="callback", queue=queue,
            external=f"ivr-callback:{self.bridge.pbx}:{ivr_call.call.call_id}",
            subject=f"Callback to {number}", arrived_at=started - command.priority_boost,
            learned_skills=command.required_skills, path=path, payload=payload, messages=[],
            trigger=None)
        if contact_id is not None:
            ivr_call.notes.append(f"callback contact {contact_id} in {queue}")

    async def _voicemail(self, ivr_call: IvrCall, command: ic.TakeVoicemail) -> None:
        call_id = ivr_call.call.call_id
        if command.prompt:
            ivr_call.hangup_after = command.prompt
            ivr_call.play_id = self._send(ivr_call, lambda cid: PlayCommand(
                cid, call_id, command.prompt, command.language))
        else:
            self._hang_up(ivr_call)
        queue = command.queue
        who = ivr_call.ani or "a withheld number"
        body = (f"Voicemail from {who} (dialled {ivr_call.dnis}).\n"
                f"Recording: {command.recording_ref} (up to {command.max_seconds} s, "
                f"language {command.language}).\n"
                f"IVR path: {' > '.join(path_strings(command.ivr_path))}\n")
        payload = {"priority": 0, "provisional": False, "call_id": call_id,
                   "recording_ref": command.recording_ref, "ani": ivr_call.ani,
                   "ivr": {**self._ivr_payload(ivr_call, self._now()), "outcome": "voicemail"},
                   "ivr_contact_id": ivr_call.contact_id}
        message = {"direction": "in", "sender": (ivr_call.ani or "voicemail")[:320],
                   "subject": f"Voicemail from {who}", "body": body, "message_id": None,
                   "in_reply_to": None, "references": None}
        contact_id = await self._new_contact(
            ivr_call, channel="email", queue=queue,
            external=f"ivr-voicemail:{self.bridge.pbx}:{call_id}",
            subject=f"Voicemail from {who}", arrived_at=None, learned_skills={},
            path=path_strings(command.ivr_path), payload=payload, messages=[message],
            trigger=None)
        if contact_id is not None:
            ivr_call.notes.append(f"voicemail {command.recording_ref} -> contact {contact_id}")

    async def _survey(self, ivr_call: IvrCall, command: ic.RecordSurvey) -> None:
        customer = command.customer_id
        async with self.services.sessionmaker.begin() as db:
            await record_survey(db, NewSurvey(
                customer_id=int(customer) if customer and customer.isdigit() else None,
                contact_id=command.variables.get("contact_id") or ivr_call.contact_id,
                csat=command.csat, at=utc(self._now())))
        self.stats["surveys"] += 1

    async def _record_end(self, ivr_call: IvrCall) -> None:
        """The contact row and interaction record of a call that ended in the IVR."""
        session = ivr_call.session
        outcome = session.outcome or "abandoned"
        started = session.started_at if session.started_at is not None else self._now()
        left = session.finished_at if session.finished_at is not None else self._now()
        customer = self._customer(ivr_call)
        if customer is None:
            customer = await self.bridge._customer(_phone(ivr_call.ani))
        path = path_strings(session.ivr_path)
        notes = "; ".join(["ivr: " + outcome, *ivr_call.notes])
        call_id = ivr_call.call.call_id
        row = {
            "id": ivr_call.contact_id, "external_id": f"cti:{self.bridge.pbx}:{call_id}",
            "channel": "voice", "direction": "inbound", "queue": session.queue,
            "customer_id": customer.id if customer else None, "state": _END_STATES[outcome],
            "tier": customer.tier if customer else "standard",
            "subject": f"Call from {ivr_call.ani}" if ivr_call.ani else "Call (number withheld)",
            "first_message": None, "ivr_path": path,
            "payload": {"call_id": call_id, "pbx": self.bridge.pbx, "ani": ivr_call.ani,
                        "dnis": ivr_call.dnis, "ivr": self._ivr_payload(ivr_call, left)},
            "created_at": utc(started), "updated_at": utc(left)}
        record = InteractionRecord(
            contact_id=ivr_call.contact_id, channel="voice", outcome=outcome,
            arrived_at=utc(started), customer_id=customer.id if customer else None,
            first_queue=session.queue, last_queue=session.queue, ivr_left_at=utc(left),
            ended_at=utc(left), ivr_path=tuple(path), notes=notes[:2000])
        await lookups.record_ivr_end(self.services.sessionmaker, row, record)
        ivr_call.recorded = True
        self.stats[outcome] = self.stats.get(outcome, 0) + 1
        log.info("ivr.ended", call_id=call_id, contact_id=ivr_call.contact_id,
                 outcome=outcome, path=path)

    # ------------------------------------------------------------ records of queued calls

    def _on_routed(self, item: Routed) -> None:
        for command in item.commands:
            if not isinstance(command, ContactCompleted | ContactAbandonedRecorded
                              | ContactExited):
                continue
            if isinstance(command, ContactExited) and command.exit in ("overflow", "callback"):
                continue
            if command.contact_id in self.routed:
                self.routed.discard(command.contact_id)
                self.bridge._spawn(self._patch(command.contact_id))

    async def _patch(self, contact_id: str) -> None:
        await lookups.patch_ivr_times(self.services.sessionmaker, contact_id)

    async def _patch_unpatched(self) -> None:
        try:
            for contact_id in await lookups.unpatched_ivr_contacts(self.services.sessionmaker):
                await lookups.patch_ivr_times(self.services.sessionmaker, contact_id)
        except Exception:
            log.exception("ivr.patch_reconcile_failed")


def _phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_identity("phone", value)
    except ValidationFailed:
        return None


__all__ = [
    "IVR_REGISTRY",
    "IVR_SETTINGS",
    "CallFromIvr",
    "IvrCall",
    "IvrDriver",
    "IvrReloadResult",
    "IvrSettings",
    "install_ivr",
    "path_strings",
    "reload_flows",
]
