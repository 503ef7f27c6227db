"""Voice: how CTI calls map onto router contacts, and extensions onto agents.

The MQTT plumbing lives in :mod:`callcenter.cti_bridge`; this module is the
domain half of it, with as little I/O as it can have:

- one :class:`VoiceCall` per PBX call the server follows (``call_id`` <-> the
  contact, the PBX's view of the call, hold time per leg);
- :class:`Extensions`, the agent <-> extension directory (``agents.extension``);
- the *intents* that turn a CTI event into router events. An intent runs inside
  the router task and looks at the contact's current state before it decides, so
  a repeated or late event (a second ``call_ended``, a ``no_answer`` after the
  router's own ring timer) changes nothing instead of failing;
- the small amount of SQL the voice side needs beyond the router's own writes
  (hold time on the contact row and on the interaction record).

Call <-> contact: a ``call_offered`` becomes a contact whose ``external_id`` is
``cti:{pbx}:{call_id}`` (so a repeated ``call_offered`` finds the same contact,
durably); an outbound callback call is named ``cb-{contact}-{attempt}-{token}``
by the server when it sends ``dial``.

Every router event caused by a CTI event carries ``meta["cti"] = {"event_id",
"call_id", "seq"}`` into the journal: that is the durable record of which events
were applied (see :func:`applied_cti_events`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.cti_messages import (
    CallAnswered,
    CallEnded,
    CallTransferred,
    CtiEvent,
    NoAnswer,
    RouteFailed,
)
from callcenter.logs import get_logger
from callcenter.store.engine import write_with_retry
from callcenter.store.models import Agent, Contact, Interaction, InteractionLeg, RouterJournal
from routing.errors import RoutingError
from routing.events import (
    ContactAbandoned,
    ContactEnded,
    ContactTransferred,
    Event,
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
)
from routing.events import RouteFailed as RouterRouteFailed
from routing.queries import ContactSnapshot
from routing.router import Router

log = get_logger(__name__)

VOICE_CHANNELS = frozenset({"voice", "callback"})
"""Router channels whose contacts are calls on the PBX."""

Intent = Callable[[Router], Sequence[tuple[Event, dict[str, Any]]]]
PbxState = Literal["waiting", "ringing", "connected", "held", "ended"]


def external_id(pbx: str, call_id: str) -> str:
    """The contact ``external_id`` of an inbound call (idempotency of ``call_offered``)."""
    return f"cti:{pbx}:{call_id}"


def call_id_of(pbx: str, external: str | None) -> str | None:
    """The ``call_id`` in an ``external_id`` made by :func:`external_id`, else None."""
    head = f"cti:{pbx}:"
    if external is None or not external.startswith(head):
        return None
    return external[len(head):]


def dial_call_id(contact_id: str, attempt: int) -> str:
    """A new, never repeated ``call_id`` for the ``dial`` of a callback."""
    return f"cb-{contact_id}-{attempt}-{int(time.time() * 1000):x}"


def cti_meta(event: CtiEvent) -> dict[str, Any]:
    """The journal metadata that records which CTI event caused a router event."""
    return {"cti": {"event_id": event.event_id, "call_id": event.call_id, "seq": event.seq}}


# --------------------------------------------------------------------------- calls


@dataclass(slots=True)
class VoiceCall:
    """What the server knows about one PBX call."""

    call_id: str
    direction: Literal["inbound", "outbound"] = "inbound"
    contact_id: str | None = None
    #: Highest ``seq`` released for processing (events run in ``seq`` order).
    released_seq: int = 0
    #: False after a restart: the journal only tells the last *journaled* ``seq``,
    #: so gaps are not waited for (an event may have been applied without a trace).
    exact: bool = True
    pbx_state: PbxState = "waiting"
    #: Extension ringing or on the call.
    extension: str | None = None
    #: Agent whose phone is ringing or connected (dial: the agent it rings).
    agent_id: str | None = None
    held_since: float | None = None
    #: Hold seconds per interaction leg number (1-based, the router tracker's legs).
    hold_by_leg: dict[int, float] = field(default_factory=dict)
    #: A transfer the console asked for, applied when the PBX reports it.
    pending_transfer: tuple[str | None, str | None] | None = None
    #: Out-of-order events waiting for the ones before them, by ``seq``.
    buffered: dict[int, Any] = field(default_factory=dict)
    #: Events released in order, waiting for the call's worker.
    ready: list[Any] = field(default_factory=list)
    working: bool = False
    offered: bool = False

    def hold_state(self) -> dict[str, Any]:
        """The part that must survive a restart (kept in ``contacts.payload["voice"]``)."""
        return {"call_id": self.call_id, "held_since": self.held_since,
                "hold_by_leg": {str(k): v for k, v in self.hold_by_leg.items()}}

    def restore_hold(self, data: dict[str, Any]) -> None:
        self.held_since = data.get("held_since")
        self.hold_by_leg = {int(k): float(v) for k, v in (data.get("hold_by_leg") or {}).items()}
        if self.held_since is not None:
            self.pbx_state = "held"

    def start_hold(self, at: float) -> bool:
        if self.held_since is not None:
            return False
        self.held_since = at
        self.pbx_state = "held"
        return True

    def stop_hold(self, at: float, leg_no: int) -> bool:
        if self.held_since is None:
            return False
        held = max(0.0, at - self.held_since)
        self.hold_by_leg[leg_no] = self.hold_by_leg.get(leg_no, 0.0) + held
        self.held_since = None
        if self.pbx_state == "held":
            self.pbx_state = "connected"
        return True


# --------------------------------------------------------------------------- extensions


class Extensions:
    """Agent <-> extension, from the ``agents`` table; reloaded on a miss (rate-limited)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession],
                 reload_every_s: float = 5.0) -> None:
        self.sessionmaker = sessionmaker
        self.reload_every_s = reload_every_s
        self._by_agent: dict[str, str] = {}
        self._by_extension: dict[str, str] = {}
        self._loaded_at = float("-inf")

    async def load(self) -> None:
        async with self.sessionmaker() as db:
            rows = (await db.execute(select(Agent.id, Agent.extension)
                                     .where(Agent.extension.is_not(None)))).all()
        self._by_agent = {agent: ext for agent, ext in rows if ext}
        self._by_extension = {ext: agent for agent, ext in self._by_agent.items()}
        self._loaded_at = time.monotonic()

    async def _reload_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at >= self.reload_every_s:
            await self.load()

    def cached_extension(self, agent_id: str) -> str | None:
        return self._by_agent.get(agent_id)

    async def extension_of(self, agent_id: str) -> str | None:
        ext = self._by_agent.get(agent_id)
        if ext is None:
            await self._reload_if_stale()
            ext = self._by_agent.get(agent_id)
        return ext

    async def agent_of(self, extension: str | None) -> str | None:
        if extension is None:
            return None
        agent = self._by_extension.get(extension)
        if agent is None:
            await self._reload_if_stale()
            agent = self._by_extension.get(extension)
        return agent


# --------------------------------------------------------------------------- intents


def snapshot(router: Router, contact_id: str) -> ContactSnapshot | None:
    """The router's view of a contact, None when it is gone."""
    try:
        return router.contact_snapshot(contact_id)
    except RoutingError:
        return None


def answered_intent(contact_id: str, agent_id: str, event: CallAnswered) -> Intent:
    """``call_answered`` by an agent: the offer to that agent is accepted (connected)."""
    meta = cti_meta(event)

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        snap = snapshot(router, contact_id)
        if snap is None or snap.state != "alerting" or snap.agent_id != agent_id:
            return []
        return [(OfferAccepted(0.0, contact_id, agent_id), meta)]

    return intent


def offer_failed_intent(contact_id: str, agent_id: str, event: NoAnswer | RouteFailed
                        ) -> Intent:
    """``no_answer`` -> the offer timed out (agent ``not_ready(missed)``);
    ``route_failed`` -> route failure (agent ``not_ready(route_failed)``)."""
    meta = cti_meta(event)

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        snap = snapshot(router, contact_id)
        if snap is None or snap.state != "alerting" or snap.agent_id != agent_id:
            return []  # the router timed it out already, or it went elsewhere
        if isinstance(event, NoAnswer):
            return [(OfferTimedOut(0.0, contact_id, agent_id), meta)]
        return [(RouterRouteFailed(0.0, contact_id, agent_id, event.cause), meta)]

    return intent


def rejected_intent(contact_id: str, agent_id: str, reason: str,
                    meta: dict[str, Any]) -> Intent:
    """The PBX could not carry out an offer for a reason that is not the agent's fault."""

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        snap = snapshot(router, contact_id)
        if snap is None or snap.state != "alerting" or snap.agent_id != agent_id:
            return []
        return [(OfferRejected(0.0, contact_id, agent_id, reason), meta)]

    return intent


def ended_intent(call: VoiceCall, contact_id: str, event: CallEnded) -> Intent:
    """``call_ended``: abandon while waiting or ringing, wrap-up once connected."""
    meta = cti_meta(event)
    by: Literal["customer", "agent", "system"] = (
        "customer" if event.by == "caller" else event.by)
    outbound = call.direction == "outbound"
    agent_id = call.agent_id

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        snap = snapshot(router, contact_id)
        if snap is None:
            return []
        if snap.state == "connected":
            return [(ContactEnded(0.0, contact_id, by), meta)]
        if outbound:
            # A callback whose call never connected: the contact stays in line
            # (no_answer / route_failed were handled by their own events).
            if snap.state == "alerting" and snap.agent_id == agent_id and agent_id:
                return [(OfferRejected(0.0, contact_id, agent_id, event.cause or "dial_failed"),
                         meta)]
            return []
        if snap.state in ("queued", "alerting", "callback_offered"):
            return [(ContactAbandoned(0.0, contact_id), meta)]
        return []

    return intent


def transferred_intent(contact_id: str, event: CallTransferred,
                       to_queue: str | None, to_agent: str | None) -> Intent:
    """``call_transferred``: the router moves the contact (keeping its place)."""
    meta = cti_meta(event)

    def intent(router: Router) -> Sequence[tuple[Event, dict[str, Any]]]:
        snap = snapshot(router, contact_id)
        if snap is None or snap.state != "connected":
            return []  # the console's transfer reached the router first
        queue = to_queue if to_queue in router.queue_names() else None
        if queue is None and to_agent is None:
            queue = snap.queue  # a PBX queue the router does not know: back in line
        return [(ContactTransferred(0.0, contact_id, queue, None if queue else to_agent), meta)]

    return intent


# --------------------------------------------------------------------------- store


async def save_hold(sessionmaker: async_sessionmaker[AsyncSession], contact_id: str,
                    call: VoiceCall) -> None:
    """Make the call's hold state durable on its contact row (``payload["voice"]``)."""
    async def save(db: AsyncSession) -> None:
        payload = await db.scalar(select(Contact.payload).where(Contact.id == contact_id))
        if payload is None:
            return
        await db.execute(update(Contact).where(Contact.id == contact_id)
                         .values(payload={**payload, "voice": call.hold_state()}))

    await write_with_retry(sessionmaker, save)


async def load_hold(sessionmaker: async_sessionmaker[AsyncSession],
                    contact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``payload["voice"]`` of the given contacts (those that have one)."""
    found: dict[str, dict[str, Any]] = {}
    async with sessionmaker() as db:
        for start in range(0, len(contact_ids), 500):
            rows = await db.execute(select(Contact.id, Contact.payload)
                                    .where(Contact.id.in_(list(contact_ids[start:start + 500]))))
            for cid, payload in rows:
                voice = (payload or {}).get("voice")
                if isinstance(voice, dict):
                    found[cid] = voice
    return found


async def contact_number(sessionmaker: async_sessionmaker[AsyncSession],
                         contact_id: str) -> str | None:
    """The number to dial for a callback contact (``payload["callback_number"]``)."""
    async with sessionmaker() as db:
        payload = await db.scalar(select(Contact.payload).where(Contact.id == contact_id))
    number = (payload or {}).get("callback_number")
    return str(number) if number else None


async def record_hold(sessionmaker: async_sessionmaker[AsyncSession], contact_id: str,
                      hold_by_leg: dict[int, float]) -> bool:
    """Move hold time out of talk time on a written interaction record and its legs.

    The router's write-back counts talk from answer to end; hold is the PBX's
    business, so it is applied here once the record exists. Idempotent: a record
    that already has hold time is left alone. Returns whether it changed anything.
    """
    if not any(v > 0 for v in hold_by_leg.values()):
        return False

    async def apply(db: AsyncSession) -> bool:
        record = await db.scalar(select(Interaction).where(Interaction.contact_id == contact_id))
        if record is None or record.hold_s > 0:
            return False
        legs = list(await db.scalars(select(InteractionLeg)
                                     .where(InteractionLeg.interaction_id == record.id)
                                     .order_by(InteractionLeg.leg_no)))
        total = 0.0
        for leg in legs:
            hold = min(hold_by_leg.get(leg.leg_no, 0.0), leg.talk_s)
            if hold > 0:
                leg.hold_s = hold
                leg.talk_s = leg.talk_s - hold
                total += hold
        if total <= 0:
            return False
        record.hold_s = total
        record.talk_s = max(0.0, record.talk_s - total)
        return True

    return await write_with_retry(sessionmaker, apply)


async def applied_cti_events(sessionmaker: async_sessionmaker[AsyncSession], *,
                             limit: int) -> list[tuple[str, str, int]]:
    """``(event_id, call_id, seq)`` of the CTI events in the newest ``limit`` journal
    entries: after a restart, the durable memory of which events were applied."""
    async with sessionmaker() as db:
        rows = await db.scalars(select(RouterJournal.payload)
                                .order_by(RouterJournal.id.desc()).limit(limit))
        found = []
        for payload in rows:
            cti = ((payload or {}).get("meta") or {}).get("cti")
            if isinstance(cti, dict) and cti.get("event_id"):
                found.append((str(cti["event_id"]), str(cti.get("call_id", "")),
                              int(cti.get("seq", 0))))
    found.reverse()
    return found


async def unpatched_holds(sessionmaker: async_sessionmaker[AsyncSession], *,
                          limit: int = 1000) -> list[tuple[str, dict[int, float]]]:
    """Finished voice contacts with hold time that their record does not show yet
    (the server stopped between writing the record and adding the hold)."""
    found: list[tuple[str, dict[int, float]]] = []
    async with sessionmaker() as db:
        rows = await db.execute(
            select(Contact.id, Contact.payload)
            .join(Interaction, Interaction.contact_id == Contact.id)
            .where(Contact.channel.in_(sorted(VOICE_CHANNELS)), Interaction.hold_s == 0)
            .order_by(Contact.updated_at.desc()).limit(limit))
        for cid, payload in rows:
            voice = (payload or {}).get("voice") or {}
            holds = {int(k): float(v) for k, v in (voice.get("hold_by_leg") or {}).items()}
            if any(v > 0 for v in holds.values()):
                found.append((cid, holds))
    return found


__all__ = [
    "VOICE_CHANNELS",
    "Extensions",
    "VoiceCall",
    "answered_intent",
    "applied_cti_events",
    "call_id_of",
    "contact_number",
    "cti_meta",
    "dial_call_id",
    "ended_intent",
    "external_id",
    "load_hold",
    "offer_failed_intent",
    "record_hold",
    "rejected_intent",
    "save_hold",
    "snapshot",
    "transferred_intent",
    "unpatched_holds",
]
