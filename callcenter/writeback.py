"""Write-back: from the router's commands to the rows reports need.

:class:`ContactTracker` follows every live contact through the router's commands
(queued, alerting, connected, wrap-up, ...) and keeps the timestamps and legs of
its interaction record. Applying one event's commands yields a :class:`WriteBack`:

- the new state of each contact that changed (the ``contacts`` row),
- agent presence changes (``agent_presence_log``),
- routing decisions, "why this agent" (``routing_decisions``),
- interaction records (with legs and any ticket from ``wrap_up_done``) of every
  contact that finished: answered, abandoned, contained, voicemail.

The router task writes all of it in the transaction that journals the event, so a
record is durable exactly when the event that finished the contact is. The
tracker's state is part of the router snapshot and is rebuilt by journal replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from callcenter.store.interactions import InteractionRecord, LegRecord, TicketChange
from routing.codec import to_plain
from routing.commands import (
    CallbackDue,
    CancelOffer,
    Command,
    ContactAbandonedRecorded,
    ContactCompleted,
    ContactConnected,
    ContactExited,
    ContactOverflowed,
    ContactQueued,
    OfferContact,
    PresenceSet,
    StartWrapUp,
)
from routing.events import ContactArrived, ContactTransferred, Event, WrapUpEnded

#: Router exit kinds -> (contact row state, interaction outcome or None if not final).
_EXIT_STATES: dict[str, tuple[str, str | None]] = {
    "voicemail": ("voicemail", "voicemail"),
    "auto_reply": ("contained", "contained"),
    "callback": ("callback_scheduled", None),
}


def utc(at: float) -> datetime:
    """Router time (UTC seconds) as an aware datetime."""
    return datetime.fromtimestamp(at, UTC)


@dataclass(slots=True)
class Leg:
    """One agent's part of a contact, in router seconds."""

    agent_id: str
    queue: str
    alerting_at: float | None
    answered_at: float
    ended_at: float | None = None
    wrap_up_ended_at: float | None = None


@dataclass(slots=True)
class Track:
    """What the write-back knows about one live contact."""

    contact_id: str
    channel: str
    customer_id: int | None
    arrived_at: float
    first_queue: str
    last_queue: str
    direction: str = "inbound"
    ivr_path: list[str] = field(default_factory=list)
    state: str = "queued"
    agent_id: str | None = None
    queued_at: float | None = None
    alerting_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wait_s: float = 0.0
    offer_at: float | None = None
    offer_expires_at: float | None = None
    transfers: int = 0
    overflows: int = 0
    notes: str | None = None
    ticket: dict[str, Any] | None = None
    legs: list[Leg] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Track:
        legs = [Leg(**leg) for leg in data.get("legs", [])]
        return cls(**{**data, "legs": legs})


@dataclass(slots=True)
class WriteBack:
    """Rows one batch of router output implies."""

    #: contact_id -> (state, queue, agent_id, at); the last change wins.
    states: dict[str, tuple[str, str | None, str | None, float]] = field(default_factory=dict)
    presence: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    records: list[InteractionRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.states or self.presence or self.decisions or self.records)


class ContactTracker:
    """Follows live contacts through router commands (see the module docstring)."""

    def __init__(self) -> None:
        self.tracks: dict[str, Track] = {}

    def to_data(self) -> list[dict[str, Any]]:
        return [track.to_data() for track in self.tracks.values()]

    @classmethod
    def from_data(cls, data: list[dict[str, Any]]) -> ContactTracker:
        tracker = cls()
        for item in data:
            track = Track.from_data(item)
            tracker.tracks[track.contact_id] = track
        return tracker

    def get(self, contact_id: str) -> Track | None:
        return self.tracks.get(contact_id)

    def apply(self, event: Event, commands: Sequence[Command],
              meta: dict[str, Any], out: WriteBack) -> None:
        """Follow one applied event and its commands, adding rows to ``out``."""
        if isinstance(event, ContactArrived) and event.contact_id not in self.tracks:
            self.tracks[event.contact_id] = Track(
                contact_id=event.contact_id,
                channel=str(meta.get("channel") or event.channel or "chat"),
                customer_id=int(event.customer_id) if event.customer_id else None,
                arrived_at=event.arrived_at if event.arrived_at is not None else event.at,
                first_queue=event.queue, last_queue=event.queue,
                direction=str(meta.get("direction", "inbound")),
                ivr_path=[str(step) for step in meta.get("ivr_path", [])],
            )
        elif isinstance(event, WrapUpEnded):
            track = self.tracks.get(event.contact_id)
            if track is not None:
                track.notes = meta.get("notes") or None
                track.ticket = meta.get("ticket") or None
        transfer = isinstance(event, ContactTransferred)
        for command in commands:
            self._command(command, out, transfer)

    def _command(self, cmd: Command, out: WriteBack, transfer: bool) -> None:
        if isinstance(cmd, PresenceSet):
            if not cmd.pending:
                out.presence.append({"agent_id": cmd.agent_id, "at": utc(cmd.at),
                                     "presence": cmd.presence, "reason": cmd.reason or None})
            return
        track = self.tracks.get(cmd.contact_id)
        if track is None:
            return
        at = cmd.at
        if isinstance(cmd, ContactQueued):
            leg = track.legs[-1] if track.legs else None
            if leg is not None and leg.ended_at is None:
                leg.ended_at = at  # the agent transferred it away
            if transfer:
                track.transfers += 1
            if track.queued_at is None:
                track.queued_at = at
            track.last_queue = cmd.queue
            track.agent_id = None
            self._state(track, "queued", at, out)
        elif isinstance(cmd, OfferContact):
            track.offer_at = at
            track.offer_expires_at = at + cmd.ring_timeout_s
            track.agent_id = cmd.agent_id
            if track.alerting_at is None:
                track.alerting_at = at
            out.decisions.append({
                "contact_id": cmd.contact_id, "agent_id": cmd.agent_id, "at": utc(at),
                "queue": cmd.queue,
                "reason": {**to_plain(cmd.reason), "attempt": cmd.attempt,
                           "channel": cmd.channel, "ring_timeout_s": cmd.ring_timeout_s},
            })
            self._state(track, "alerting", at, out)
        elif isinstance(cmd, CancelOffer):
            track.offer_at = track.offer_expires_at = None
            track.agent_id = None
            if cmd.reason != "abandoned":
                self._state(track, "queued", at, out)
        elif isinstance(cmd, ContactConnected):
            if track.answered_at is None:
                track.answered_at = at
                track.wait_s = max(0.0, cmd.waited_s)
            track.agent_id = cmd.agent_id
            track.legs.append(Leg(cmd.agent_id, cmd.queue, track.offer_at, at))
            self._state(track, "connected", at, out)
        elif isinstance(cmd, StartWrapUp):
            track.ended_at = at
            if track.legs and track.legs[-1].ended_at is None:
                track.legs[-1].ended_at = at
            self._state(track, "wrap_up", at, out)
        elif isinstance(cmd, ContactCompleted):
            if track.legs:
                track.legs[-1].wrap_up_ended_at = at
            self._finish(track, "answered", "completed", at, out, disposition=cmd.disposition)
        elif isinstance(cmd, ContactAbandonedRecorded):
            track.wait_s = max(0.0, cmd.waited_s)
            track.ended_at = at
            outcome = "short_abandon" if cmd.short else "abandoned"
            self._finish(track, outcome, "abandoned", at, out)
        elif isinstance(cmd, ContactExited):
            if cmd.exit == "overflow":
                track.overflows += 1
                return
            state, final = _EXIT_STATES.get(cmd.exit, ("queued", None))
            if final is None:
                self._state(track, state, at, out)
            else:
                track.wait_s = max(0.0, cmd.waited_s)
                track.ended_at = at
                self._finish(track, final, state, at, out)
        elif isinstance(cmd, ContactOverflowed):
            track.last_queue = cmd.to_queue
        elif isinstance(cmd, CallbackDue):
            self._state(track, "queued", at, out)

    def _state(self, track: Track, state: str, at: float, out: WriteBack) -> None:
        track.state = state
        out.states[track.contact_id] = (state, track.last_queue, track.agent_id, at)

    def _finish(self, track: Track, outcome: str, state: str, at: float, out: WriteBack,
                disposition: str | None = None) -> None:
        self._state(track, state, at, out)
        out.records.append(interaction_record(track, outcome, at, disposition))
        del self.tracks[track.contact_id]


def interaction_record(track: Track, outcome: str, at: float,
                       disposition: str | None) -> InteractionRecord:
    """The interaction record (DESIGN §5) of a contact that just finished at ``at``."""
    legs: list[LegRecord] = []
    talk = wrap = 0.0
    for number, leg in enumerate(track.legs, start=1):
        ended = leg.ended_at if leg.ended_at is not None else at
        leg_talk = max(0.0, ended - leg.answered_at)
        leg_wrap = max(0.0, leg.wrap_up_ended_at - ended) if leg.wrap_up_ended_at else 0.0
        talk += leg_talk
        wrap += leg_wrap
        legs.append(LegRecord(
            leg_no=number, agent_id=leg.agent_id, queue=leg.queue,
            alerting_at=utc(leg.alerting_at) if leg.alerting_at is not None else None,
            answered_at=utc(leg.answered_at), ended_at=utc(ended),
            talk_s=leg_talk, wrap_up_s=leg_wrap,
        ))
    ticket = None
    if track.ticket:
        t = track.ticket
        ticket = TicketChange(kind=str(t.get("kind", "service")), subject=str(t.get("subject", "")),
                              priority=str(t.get("priority", "normal")),
                              status=str(t.get("status", "open")), ticket_id=t.get("ticket_id"))
    answered = outcome == "answered"
    return InteractionRecord(
        contact_id=track.contact_id,
        channel=track.channel,
        outcome=outcome,
        arrived_at=utc(track.arrived_at),
        direction=track.direction,
        customer_id=track.customer_id,
        first_queue=track.first_queue,
        last_queue=track.last_queue,
        queued_at=utc(track.queued_at) if track.queued_at is not None else None,
        alerting_at=utc(track.alerting_at) if track.alerting_at is not None else None,
        answered_at=utc(track.answered_at) if track.answered_at is not None else None,
        ended_at=utc(track.ended_at) if track.ended_at is not None else utc(at),
        wrap_up_ended_at=utc(at) if answered else None,
        wait_s=track.wait_s,
        talk_s=talk,
        wrap_up_s=wrap,
        disposition=disposition or None,
        notes=track.notes,
        ivr_path=tuple(track.ivr_path),
        transfers=track.transfers,
        overflows=track.overflows,
        agent_id=legs[-1].agent_id if legs else None,
        legs=tuple(legs),
        ticket=ticket if answered else None,
    )
