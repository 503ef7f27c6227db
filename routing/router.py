"""The routing engine: `Router.handle(event) -> list[Command]`.

Sans-I/O (h11 style): no clock, no I/O. Time arrives on events; timers (ring
timeout, wrap-up timeout, relaxation, preferred-agent fallback, exclusion
expiry, maximum wait, callback due) fire when an event with a later `at`
arrives, each at its own deadline, exactly as if a `Tick` had come at that
moment. `next_deadline()` tells the server when to send the next `Tick`.

Matching rule (DESIGN §3), one for every situation: while some waiting contact
has an eligible agent, take the lowest-key such contact and offer it to the
best eligible agent by its queue's strategy. The engine finds those pairs
through indexes (requirement groups with lazy-deletion heaps of waiting
contacts, each with the pool of agents who could take them now, ordered for the
strategies; available agents by channel) and "dirty" sets: after a change only
the agents and contacts it touched can form a new pair.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush
from typing import Any, cast

from routing.codec import from_plain, to_plain
from routing.commands import (
    CallbackDue,
    CancelOffer,
    CancelReason,
    Command,
    ContactAbandonedRecorded,
    ContactCompleted,
    ContactConnected,
    ContactExited,
    ContactOverflowed,
    ContactQueued,
    DecisionReason,
    OfferContact,
    PresenceSet,
    StartWrapUp,
)
from routing.config import RouterConfig
from routing.errors import (
    DuplicateContact,
    InvalidEvent,
    InvalidPresenceTransition,
    InvalidSnapshot,
    InvalidTransition,
    RoutingError,
    UnknownAgent,
    UnknownContact,
    UnknownQueue,
)
from routing.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    CallbackRequested,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    ContactTransferred,
    Event,
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
    PresenceRequested,
    QueueClosed,
    QueueConfigured,
    QueueOpened,
    RouteFailed,
    Tick,
    WrapUpEnded,
)
from routing.model import (
    CHANNELS,
    EXCLUSIVE_CHANNELS,
    STRATEGIES,
    TERMINAL_STATES,
    Channel,
    Exit,
    ExitReason,
    QueueConfig,
    RequiredSkill,
    Requirements,
    SortKey,
    channel_fits_queue,
    effective_requirements,
)
from routing.occupancy import BUSY, IDLE, OTHER, OccupancyLog
from routing.queries import AgentSnapshot, ContactSnapshot, QueueSnapshot
from routing.state import (
    PREFERRED,
    AgentEntry,
    AgentRecord,
    ContactRecord,
    Group,
    HeapEntry,
    QueueState,
)
from routing.transitions import ContactTrigger, PresenceTrigger, contact_next, presence_next

SNAPSHOT_VERSION = 1

_EXIT_TRIGGERS: dict[str, ContactTrigger] = {
    "voicemail": "exit_voicemail",
    "auto_reply": "exit_auto_reply",
    "callback": "exit_callback",
}
_CANCEL_REASONS: dict[str, CancelReason] = {
    "reject": "rejected",
    "ring_timeout": "timeout",
    "route_failed": "route_failed",
}


class Router:
    """The routing engine. One instance per tenant; single writer."""

    def __init__(self, config: RouterConfig | None = None) -> None:
        self.config = config or RouterConfig()
        if self.config.max_overflow_hops < 1:
            raise InvalidEvent("max_overflow_hops must be >= 1")
        self._now: float | None = None
        self._seq = 0
        self._queues: dict[str, QueueState] = {}
        self._agents: dict[str, AgentRecord] = {}
        #: Every contact not yet in a terminal state.
        self._contacts: dict[str, ContactRecord] = {}
        self._out: list[Command] = []
        self._dirty_contacts: set[ContactRecord] = set()
        self._dirty_agents: set[AgentRecord] = set()
        # Indexes (the reference router replaces all of these with scans).
        self._groups: dict[tuple[str, Requirements], Group] = {}
        self._group_list: list[Group] = []
        self._pref_heaps: dict[str, list[HeapEntry]] = {}
        self._avail_all: dict[str, set[AgentRecord]] = {ch: set() for ch in CHANNELS}
        self._logged_skill: dict[str, set[AgentRecord]] = {}
        self._logged_all: set[AgentRecord] = set()
        self._timers: list[tuple[float, str, int]] = []
        self._timer_counter = 0
        self._staff_version = 0
        self._handlers: dict[type[Any], Callable[[Any, float], None]] = {
            AgentLoggedIn: self._on_agent_logged_in,
            AgentLoggedOut: self._on_agent_logged_out,
            PresenceRequested: self._on_presence_requested,
            AgentUpdated: self._on_agent_updated,
            QueueConfigured: self._on_queue_configured,
            QueueOpened: self._on_queue_opened,
            QueueClosed: self._on_queue_closed,
            ContactArrived: self._on_contact_arrived,
            ContactAbandoned: self._on_contact_abandoned,
            OfferAccepted: self._on_offer_accepted,
            OfferRejected: self._on_offer_rejected,
            OfferTimedOut: self._on_offer_timed_out,
            RouteFailed: self._on_route_failed,
            ContactEnded: self._on_contact_ended,
            WrapUpEnded: self._on_wrap_up_ended,
            ContactTransferred: self._on_contact_transferred,
            CallbackRequested: self._on_callback_requested,
            Tick: self._on_tick,
        }

    # ------------------------------------------------------------------ API

    @property
    def now(self) -> float | None:
        """Router time: the latest `at` seen (None before the first event)."""
        return self._now

    def handle(self, event: Event) -> list[Command]:
        """Apply one event; return the commands it causes, in order.

        Timers due up to `event.at` fire first, each at its own deadline. An
        event with an `at` earlier than router time is handled at router time.
        A refused event raises a `RoutingError` and changes nothing; commands
        of timers that fired before it are on the error's `commands`.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise InvalidEvent(f"not a routing event: {event!r}")
        at = event.at
        if not isinstance(at, int | float) or at != at or at in (float("inf"), float("-inf")):
            raise InvalidEvent(f"bad time {at!r}")
        t = float(at) if self._now is None or at > self._now else self._now
        out: list[Command] = []
        self._out = out
        try:
            self._advance(t)
            self._now = t
            handler(event, t)
            self._match(t)
        except RoutingError as exc:
            exc.commands = tuple(out)
            raise
        finally:
            self._out = []
        return out

    def next_deadline(self) -> float | None:
        """When the next timer is due (send a `Tick` then), or None."""
        timers = self._timers
        while timers:
            due, cid, token = timers[0]
            c = self._contacts.get(cid)
            if c is not None and c.timer_token == token:
                return due
            heappop(timers)
        return None

    # ---------------------------------------------------------------- queries

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def contact_ids(self) -> list[str]:
        """Contacts the router still tracks (not in a terminal state)."""
        return list(self._contacts)

    def queue_snapshot(self, queue: str, limit: int | None = None) -> QueueSnapshot:
        """Waiting count, longest wait, service order (first `limit` ids)."""
        q = self._queue(queue)
        waiting = self._waiting_in(q)
        now = self._now if self._now is not None else 0.0
        longest = max((now - c.arrived_at for c in waiting), default=0.0)
        ids = tuple(c.contact_id for c in (waiting if limit is None else waiting[:limit]))
        return QueueSnapshot(
            queue=q.name,
            channel=q.config.channel,
            is_open=q.is_open,
            waiting=len(waiting),
            longest_wait_s=longest,
            positions=ids,
            staffed_slots=self._staffed_slots(q),
            estimated_wait_s=self._estimate(q, len(waiting) + 1),
        )

    def agent_snapshot(self, agent_id: str) -> AgentSnapshot:
        a = self._agent(agent_id)
        now = self._now if self._now is not None else 0.0
        contacts = tuple(
            (cid, ch, self._contacts[cid].state) for cid, ch in sorted(a.contacts.items())
        )
        return AgentSnapshot(
            agent_id=a.agent_id,
            presence=a.presence,
            reason=a.reason,
            pending_reason=a.pending,
            skills=dict(a.skills),
            capacity=dict(a.capacity),
            contacts=contacts,
            idle_since=None if a.contacts else a.idle_all,
            occupancy=a.occupancy.occupancy(now, self.config.occupancy_window_s),
        )

    def contact_snapshot(self, contact_id: str) -> ContactSnapshot:
        c = self._contact(contact_id)
        position = self.contact_position(contact_id)
        q = self._queues[c.queue]
        return ContactSnapshot(
            contact_id=c.contact_id,
            state=c.state,
            queue=c.queue,
            channel=c.channel,
            tier=c.tier,
            agent_id=c.agent_id,
            arrived_at=c.arrived_at,
            entered_queue_at=c.entered_at,
            position=position,
            estimated_wait_s=None if position is None else self._estimate(q, position),
            attempts=c.attempts,
            key=c.key,
            external_id=c.external_id,
            customer_id=c.customer_id,
        )

    def contact_position(self, contact_id: str) -> int | None:
        """1-based place among its queue's waiting contacts; None if not waiting."""
        c = self._contact(contact_id)
        if c.state != "queued":
            return None
        return self._position(self._queues[c.queue], c)

    def estimated_wait(self, contact_id: str) -> float | None:
        """Seconds until a waiting contact is likely offered (None: unknown)."""
        position = self.contact_position(contact_id)
        if position is None:
            return None
        return self._estimate(self._queues[self._contacts[contact_id].queue], position)

    def queue_estimated_wait(self, queue: str) -> float | None:
        """Estimated wait of a contact that would arrive in `queue` now."""
        q = self._queue(queue)
        return self._estimate(q, self._waiting_count(q) + 1)

    # --------------------------------------------------------- time & timers

    def _advance(self, t: float) -> None:
        timers = self._timers
        contacts = self._contacts
        while timers and timers[0][0] <= t:
            due = timers[0][0]
            batch: list[ContactRecord] = []
            while timers and timers[0][0] == due:
                _, cid, token = heappop(timers)
                c = contacts.get(cid)
                if c is not None and c.timer_token == token:
                    c.timer_due = None
                    batch.append(c)
            if not batch:
                continue
            self._now = due
            for c in batch:
                self._fire(c, due)
            self._match(due)

    def _next_due(self, c: ContactRecord) -> float | None:
        state = c.state
        if state == "queued":
            q = self._queues[c.queue]
            best = c.pref_until
            steps = q.steps
            if c.relax_step < len(steps):
                due = c.entered_at + steps[c.relax_step].after_s
                if best is None or due < best:
                    best = due
            if c.excluded:
                due = min(c.excluded.values())
                if best is None or due < best:
                    best = due
            rule = q.max_wait_rule
            if rule is not None and c.channel != "callback":
                due = c.entered_at + rule[0]
                if best is None or due < best:
                    best = due
            return best
        if state in ("alerting", "wrap_up", "callback_scheduled"):
            return c.state_deadline
        return None

    def _reschedule(self, c: ContactRecord) -> None:
        if c.state in TERMINAL_STATES:
            return
        due = self._next_due(c)
        if due == c.timer_due:
            return
        self._timer_counter += 1
        c.timer_token = self._timer_counter
        c.timer_due = due
        if due is not None:
            heappush(self._timers, (due, c.contact_id, c.timer_token))
            if len(self._timers) > 2 * len(self._contacts) + 64:
                self._timers = [
                    entry
                    for entry in self._timers
                    if (x := self._contacts.get(entry[1])) is not None and x.timer_token == entry[2]
                ]
                heapify(self._timers)

    def _fire(self, c: ContactRecord, t: float) -> None:
        """Apply what is due for `c` at `t` (called once per contact per deadline)."""
        state = c.state
        q = self._queues[c.queue]
        if state == "alerting":
            if c.state_deadline is not None and c.state_deadline <= t:
                self._offer_failed(c, "ring_timeout", t)
        elif state == "wrap_up":
            if c.state_deadline is not None and c.state_deadline <= t:
                c.state = contact_next(c.state, "wrap_up_timeout", c.contact_id)
                self._complete(c, t, self.config.default_disposition, timed_out=True)
        elif state == "callback_scheduled":
            if c.state_deadline is not None and c.state_deadline <= t:
                c.state = contact_next(c.state, "callback_due", c.contact_id)
                c.state_deadline = None
                self._emit(CallbackDue(t, c.contact_id, q.name))
                self._enter_queue(c, q, t, 0)
        elif state == "queued":
            rule = q.max_wait_rule
            if rule is not None and c.channel != "callback" and c.entered_at + rule[0] <= t:
                self._leave_waiting(c, q)
                self._take_exit(c, q, rule[1], "max_wait", t, 0)
                return
            regroup = False
            if c.pref_until is not None and c.pref_until <= t:
                c.pref_until = None
                regroup = True
            if self._apply_relaxation(c, q, t):
                regroup = True
            if c.excluded:
                self._purge_exclusions(c, t)
            if regroup:
                self._unindex_waiting(c)
                self._index_waiting(c)
            self._mark_contact(c)
        self._reschedule(c)

    # -------------------------------------------------------------- handlers

    def _on_tick(self, event: Tick, t: float) -> None:
        """Nothing but time: due timers already fired in `handle`."""

    def _on_agent_logged_in(self, e: AgentLoggedIn, t: float) -> None:
        a = self._agents.get(e.agent_id)
        current = a.presence if a is not None else "offline"
        trigger: PresenceTrigger = (
            "log_in_available" if e.presence == "available" else "log_in_not_ready"
        )
        presence = presence_next(current, trigger, e.agent_id)
        skills = _valid_skills(e.skills)
        capacity = _valid_capacity(
            e.capacity if e.capacity is not None else self.config.default_capacity
        )
        if a is None:
            a = AgentRecord(e.agent_id)
            self._agents[e.agent_id] = a
        a.skills = skills
        a.capacity = capacity
        a.groups = self._groups_for(a)
        a.presence = presence
        a.reason = e.reason if presence == "not_ready" else ""
        a.pending = None
        a.logged_in_at = t
        a.idle_all = t
        a.last_end = {}
        self._logged_index(a, True)
        self._emit(PresenceSet(t, a.agent_id, presence, a.reason))
        self._agent_changed(a, t)
        self._mark_agent(a)

    def _on_agent_logged_out(self, e: AgentLoggedOut, t: float) -> None:
        a = self._agent(e.agent_id)
        presence = presence_next(a.presence, "log_out", e.agent_id)
        busy = sorted(cid for cid in a.contacts if self._contacts[cid].state != "alerting")
        if busy:
            raise InvalidPresenceTransition(
                f"agent {e.agent_id!r} still has open contacts {busy}",
                state=a.presence,
                trigger="log_out",
            )
        a.pending = None
        for cid in sorted(a.contacts):
            c = self._contacts[cid]
            c.state = contact_next(c.state, "recall", cid)
            self._emit(CancelOffer(t, cid, a.agent_id, "logged_out"))
            # No penalty for the contact: the withdrawn offer does not count.
            c.attempts -= 1
            c.agent_id = None
            c.state_deadline = None
            self._release(a, c, t)
            self._rejoin(c, self._queues[c.queue], t)
        a.presence = presence
        a.reason = ""
        self._logged_index(a, False)
        self._emit(PresenceSet(t, a.agent_id, "offline", ""))
        self._agent_changed(a, t)
        a.groups = {}

    def _on_presence_requested(self, e: PresenceRequested, t: float) -> None:
        a = self._agent(e.agent_id)
        if e.presence == "available":
            a.presence = presence_next(a.presence, "request_available", e.agent_id)
            a.reason = ""
            a.pending = None
            self._emit(PresenceSet(t, a.agent_id, "available", ""))
            self._agent_changed(a, t)
            self._mark_agent(a)
            return
        if e.presence != "not_ready":
            raise InvalidEvent(f"presence must be available or not_ready, got {e.presence!r}")
        presence = presence_next(a.presence, "request_not_ready", e.agent_id)
        if a.presence == "available" and a.contacts:
            a.pending = e.reason
            self._emit(PresenceSet(t, a.agent_id, "not_ready", e.reason, pending=True))
        else:
            a.presence = presence
            a.reason = e.reason
            a.pending = None
            self._emit(PresenceSet(t, a.agent_id, "not_ready", e.reason))
        self._agent_changed(a, t)

    def _on_agent_updated(self, e: AgentUpdated, t: float) -> None:
        a = self._agent(e.agent_id)
        skills = _valid_skills(e.skills) if e.skills is not None else None
        capacity = _valid_capacity(e.capacity) if e.capacity is not None else None
        logged_in = a.presence != "offline"
        if logged_in:
            self._logged_index(a, False)
        self._unindex_agent(a)
        if skills is not None:
            a.skills = skills
            a.groups = self._groups_for(a) if logged_in else {}
        if capacity is not None:
            a.capacity = capacity
        if logged_in:
            self._logged_index(a, True)
        self._agent_changed(a, t)
        self._mark_agent(a)

    def _on_queue_configured(self, e: QueueConfigured, t: float) -> None:
        cfg = e.queue
        self._validate_queue(cfg)
        q = self._queues.get(cfg.name)
        self._staff_version += 1
        if q is None:
            self._queues[cfg.name] = QueueState(cfg, self.config.handle_time_samples)
            return
        q.reconfigure(cfg)
        for c in [c for c in self._contacts.values() if c.queue == cfg.name]:
            waiting = c.state == "queued"
            if waiting:
                self._leave_waiting(c, q)
            c.key = self._key(c, q)
            c.relax_step = 0
            self._apply_relaxation(c, q, t)
            c.reqs = q.requirements(c.extra_reqs, c.relax_step)
            if waiting:
                self._rank_insert(q, c)
                self._index_waiting(c)
                self._mark_contact(c)
            self._reschedule(c)

    def _on_queue_opened(self, e: QueueOpened, t: float) -> None:
        self._queue(e.queue).is_open = True

    def _on_queue_closed(self, e: QueueClosed, t: float) -> None:
        self._queue(e.queue).is_open = False

    def _on_contact_arrived(self, e: ContactArrived, t: float) -> None:
        if e.contact_id in self._contacts:
            raise DuplicateContact(f"contact {e.contact_id!r} already exists")
        q = self._queue(e.queue)
        channel = e.channel if e.channel is not None else q.config.channel
        if channel not in CHANNELS or not channel_fits_queue(channel, q.config.channel):
            raise InvalidEvent(f"channel {channel!r} does not fit queue {q.name!r}")
        if e.tier not in self.config.head_starts:
            raise InvalidEvent(f"unknown tier {e.tier!r}")
        extra = _valid_required(e.required_skills)
        arrived_at = e.arrived_at if e.arrived_at is not None else t
        c = ContactRecord(e.contact_id, q.name, channel, e.tier, arrived_at, self._seq, extra)
        self._seq += 1
        c.customer_id = e.customer_id
        c.external_id = e.external_id
        if e.preferred_agents:
            fallback = (
                e.preferred_fallback_s
                if e.preferred_fallback_s is not None
                else self.config.preferred_fallback_s
            )
            c.preferred = tuple(dict.fromkeys(e.preferred_agents))
            if fallback > 0:
                c.pref_until = t + fallback
        self._contacts[c.contact_id] = c
        c.state = contact_next(c.state, "arrive", c.contact_id)
        self._enter_queue(c, q, t, 0)

    def _on_contact_abandoned(self, e: ContactAbandoned, t: float) -> None:
        c = self._contact(e.contact_id)
        state = contact_next(c.state, "abandon", c.contact_id)
        q = self._queues[c.queue]
        agent: AgentRecord | None = None
        if c.state == "queued":
            self._leave_waiting(c, q)
        elif c.state == "alerting":
            agent = self._agents[c.agent_id or ""]
            self._emit(CancelOffer(t, c.contact_id, agent.agent_id, "abandoned"))
        c.state = state
        waited = t - c.arrived_at
        self._emit(
            ContactAbandonedRecorded(
                t,
                c.contact_id,
                q.name,
                waited,
                waited < self.config.short_abandon_s,
                agent.agent_id if agent is not None else None,
            )
        )
        if agent is not None:
            self._release(agent, c, t)
        self._forget(c)

    def _alerting_on(
        self, contact_id: str, agent_id: str, trigger: ContactTrigger
    ) -> ContactRecord:
        c = self._contact(contact_id)
        contact_next(c.state, trigger, contact_id)
        if c.agent_id != agent_id:
            raise InvalidTransition(
                f"contact {contact_id!r} is not alerting on agent {agent_id!r}",
                state=c.state,
                trigger=trigger,
            )
        return c

    def _on_offer_accepted(self, e: OfferAccepted, t: float) -> None:
        c = self._alerting_on(e.contact_id, e.agent_id, "accept")
        c.state = contact_next(c.state, "accept", c.contact_id)
        c.state_since = t
        c.state_deadline = None
        self._emit(ContactConnected(t, c.contact_id, e.agent_id, c.queue, t - c.arrived_at))
        self._reschedule(c)

    def _on_offer_rejected(self, e: OfferRejected, t: float) -> None:
        c = self._alerting_on(e.contact_id, e.agent_id, "reject")
        self._offer_failed(c, "reject", t)

    def _on_offer_timed_out(self, e: OfferTimedOut, t: float) -> None:
        c = self._alerting_on(e.contact_id, e.agent_id, "ring_timeout")
        self._offer_failed(c, "ring_timeout", t)

    def _on_route_failed(self, e: RouteFailed, t: float) -> None:
        c = self._alerting_on(e.contact_id, e.agent_id, "route_failed")
        self._offer_failed(c, "route_failed", t)

    def _on_contact_ended(self, e: ContactEnded, t: float) -> None:
        c = self._contact(e.contact_id)
        c.state = contact_next(c.state, "end", c.contact_id)
        q = self._queues[c.queue]
        wrap_up_s = q.config.wrap_up_s
        self._emit(StartWrapUp(t, c.contact_id, c.agent_id or "", wrap_up_s))
        if wrap_up_s > 0:
            c.state_deadline = t + wrap_up_s
            self._reschedule(c)
        else:
            c.state = contact_next(c.state, "wrap_up_timeout", c.contact_id)
            self._complete(c, t, self.config.default_disposition, timed_out=True)

    def _on_wrap_up_ended(self, e: WrapUpEnded, t: float) -> None:
        c = self._contact(e.contact_id)
        c.state = contact_next(c.state, "wrap_up_end", c.contact_id)
        self._complete(c, t, e.disposition, timed_out=False)

    def _on_contact_transferred(self, e: ContactTransferred, t: float) -> None:
        c = self._contact(e.contact_id)
        if (e.to_queue is None) == (e.to_agent is None):
            raise InvalidEvent("a transfer names exactly one of to_queue and to_agent")
        state = contact_next(c.state, "transfer", c.contact_id)
        target = self._queue(e.to_queue) if e.to_queue is not None else self._queues[c.queue]
        if not channel_fits_queue(c.channel, target.config.channel):
            raise InvalidEvent(f"a {c.channel} contact cannot go to queue {target.name!r}")
        old = self._queues[c.queue]
        if c.state == "queued":
            self._leave_waiting(c, old)
        elif c.state in ("alerting", "connected"):
            agent = self._agents[c.agent_id or ""]
            if c.state == "alerting":
                self._emit(CancelOffer(t, c.contact_id, agent.agent_id, "transferred"))
            elif self.config.reject_exclusion_s > 0:
                # The transferring agent does not get the contact straight back.
                self._exclude(c, agent.agent_id, t)
            c.state = state
            c.agent_id = None
            c.state_deadline = None
            self._release(agent, c, t)
        c.state = state
        if e.to_agent is not None:
            c.preferred = (e.to_agent,)
            fallback = self.config.transfer_fallback_s
            c.pref_until = t + fallback if fallback > 0 else None
        self._enter_queue(c, target, t, 0)

    def _on_callback_requested(self, e: CallbackRequested, t: float) -> None:
        c = self._contact(e.contact_id)
        q = self._queues[c.queue]
        later = e.due_at is not None and e.due_at > t
        trigger: ContactTrigger = "callback_later" if later else "callback_now"
        state = contact_next(c.state, trigger, c.contact_id)
        if not channel_fits_queue("callback", q.config.channel):
            raise InvalidEvent(f"queue {q.name!r} takes no callbacks")
        previous = c.state
        if previous == "queued":
            self._leave_waiting(c, q)
        c.channel = "callback"
        c.state = state
        if later:
            c.state_deadline = e.due_at
            self._reschedule(c)
        elif previous == "queued":
            # Still in line with the same key; only the channel changed.
            self._rejoin(c, q, t)
        else:
            c.state_deadline = None
            self._enter_queue(c, q, t, 0)

    # ----------------------------------------------------- contact movements

    def _key(self, c: ContactRecord, q: QueueState) -> SortKey:
        virtual_arrival = c.arrived_at - self.config.head_start(c.tier) - q.config.head_start_s
        return (q.config.priority_class, virtual_arrival, c.seq)

    def _apply_relaxation(self, c: ContactRecord, q: QueueState, t: float) -> bool:
        steps = q.steps
        k = c.relax_step
        while k < len(steps) and c.entered_at + steps[k].after_s <= t:
            k += 1
        if k == c.relax_step:
            return False
        c.relax_step = k
        c.reqs = q.requirements(c.extra_reqs, k)
        return True

    def _purge_exclusions(self, c: ContactRecord, t: float) -> None:
        if c.excluded:
            live = {aid: until for aid, until in c.excluded.items() if until > t}
            c.excluded = live or None

    def _exclude(self, c: ContactRecord, agent_id: str, t: float) -> None:
        if c.excluded is None:
            c.excluded = {}
        c.excluded[agent_id] = t + self.config.reject_exclusion_s

    def _enter_queue(self, c: ContactRecord, q: QueueState, t: float, hops: int) -> None:
        """`c` (already in state queued) enters `q`: entry exits, or the line."""
        c.queue = q.name
        c.entered_at = t
        c.attempts = 0
        c.agent_id = None
        c.state_deadline = None
        c.key = self._key(c, q)
        c.relax_step = 0
        c.reqs = q.requirements(c.extra_reqs, 0)
        self._apply_relaxation(c, q, t)
        if c.pref_until is not None and c.pref_until <= t:
            c.pref_until = None
        self._purge_exclusions(c, t)
        exits = q.config.exits
        why: ExitReason | None = None
        exit_: Exit | None = None
        max_size = q.config.max_size
        if not q.is_open and exits.closed is not None:
            why, exit_ = "closed", exits.closed
        elif (
            max_size is not None
            and exits.queue_full is not None
            and self._waiting_count(q) >= max_size
        ):
            why, exit_ = "queue_full", exits.queue_full
        elif exits.no_agents is not None and not self._anyone_skilled(c, q):
            why, exit_ = "no_agents", exits.no_agents
        if (
            why is not None
            and exit_ is not None
            and (exit_.kind != "overflow" or hops < self.config.max_overflow_hops)
        ):
            self._take_exit(c, q, exit_, why, t, hops)
            return
        self._join(c, q, t)

    def _join(self, c: ContactRecord, q: QueueState, t: float) -> None:
        self._rank_insert(q, c)
        self._index_waiting(c)
        position = self._position(q, c)
        self._emit(ContactQueued(t, c.contact_id, q.name, position, self._estimate(q, position)))
        self._mark_contact(c)
        self._reschedule(c)

    def _rejoin(self, c: ContactRecord, q: QueueState, t: float) -> None:
        """Back in line in the same queue with the same key (no ContactQueued).

        Timers of the waiting state that passed meanwhile (while alerting) apply now.
        """
        if c.pref_until is not None and c.pref_until <= t:
            c.pref_until = None
        self._apply_relaxation(c, q, t)
        self._purge_exclusions(c, t)
        rule = q.max_wait_rule
        if rule is not None and c.channel != "callback" and c.entered_at + rule[0] <= t:
            self._take_exit(c, q, rule[1], "max_wait", t, 0)
            return
        self._rank_insert(q, c)
        self._index_waiting(c)
        self._mark_contact(c)
        self._reschedule(c)

    def _leave_waiting(self, c: ContactRecord, q: QueueState) -> None:
        self._rank_remove(q, c)
        self._unindex_waiting(c)
        self._dirty_contacts.discard(c)

    def _take_exit(
        self, c: ContactRecord, q: QueueState, exit_: Exit, why: ExitReason, t: float, hops: int
    ) -> None:
        waited = t - c.arrived_at
        if exit_.kind == "overflow":
            target = self._queues[exit_.queue or ""]
            self._emit(ContactExited(t, c.contact_id, q.name, "overflow", why, waited, target.name))
            self._emit(ContactOverflowed(t, c.contact_id, q.name, target.name, why))
            c.state = contact_next(c.state, "overflow", c.contact_id)
            self._enter_queue(c, target, t, hops + 1)
            return
        self._emit(ContactExited(t, c.contact_id, q.name, exit_.kind, why, waited, None))
        c.state = contact_next(c.state, _EXIT_TRIGGERS[exit_.kind], c.contact_id)
        c.agent_id = None
        c.state_deadline = None
        if c.state in TERMINAL_STATES:
            self._forget(c)
        else:
            self._reschedule(c)

    def _offer(self, c: ContactRecord, a: AgentRecord, candidates: int, t: float) -> None:
        q = self._queues[c.queue]
        c.state = contact_next(c.state, "offer", c.contact_id)
        self._leave_waiting(c, q)
        c.attempts += 1
        c.agent_id = a.agent_id
        c.state_since = t
        c.state_deadline = t + q.config.ring_timeout_s
        self._attach(a, c, t)
        q.rr_last = a.agent_id
        reason = DecisionReason(
            q.config.strategy, c.key, candidates, c.relax_step, c.pref_until is not None
        )
        self._emit(
            OfferContact(
                t,
                c.contact_id,
                a.agent_id,
                q.name,
                c.channel,
                c.attempts,
                q.config.ring_timeout_s,
                reason,
            )
        )
        self._reschedule(c)

    def _offer_failed(self, c: ContactRecord, trigger: ContactTrigger, t: float) -> None:
        """Reject, ring timeout or route failure: back in line, key unchanged."""
        a = self._agents[c.agent_id or ""]
        q = self._queues[c.queue]
        c.state = contact_next(c.state, trigger, c.contact_id)
        self._emit(CancelOffer(t, c.contact_id, a.agent_id, _CANCEL_REASONS[trigger]))
        c.agent_id = None
        c.state_deadline = None
        if self.config.reject_exclusion_s > 0:
            self._exclude(c, a.agent_id, t)
        if trigger != "reject":
            reason = "missed" if trigger == "ring_timeout" else "route_failed"
            ptrigger: PresenceTrigger = (
                "offer_missed" if trigger == "ring_timeout" else "route_failed"
            )
            a.presence = presence_next(a.presence, ptrigger, a.agent_id)
            a.reason = reason
            a.pending = None
            self._emit(PresenceSet(t, a.agent_id, "not_ready", reason))
        self._release(a, c, t)
        exit_ = q.config.exits.max_attempts
        if exit_ is not None and c.attempts >= q.config.max_attempts:
            self._take_exit(c, q, exit_, "max_attempts", t, 0)
        else:
            self._rejoin(c, q, t)

    def _complete(self, c: ContactRecord, t: float, disposition: str, timed_out: bool) -> None:
        a = self._agents[c.agent_id or ""]
        q = self._queues[c.queue]
        handle_s = t - c.state_since
        q.handle_times.append(handle_s)
        self._emit(
            ContactCompleted(t, c.contact_id, a.agent_id, q.name, disposition, timed_out, handle_s)
        )
        self._release(a, c, t)
        self._forget(c)

    def _forget(self, c: ContactRecord) -> None:
        self._contacts.pop(c.contact_id, None)
        self._dirty_contacts.discard(c)
        c.timer_due = None
        c.heap_entry = None

    # ------------------------------------------------------- agent movements

    def _attach(self, a: AgentRecord, c: ContactRecord, t: float) -> None:
        a.contacts[c.contact_id] = c.channel
        a.load[c.channel] = a.load.get(c.channel, 0) + 1
        if c.channel in EXCLUSIVE_CHANNELS:
            a.exclusive_open += 1
        self._agent_changed(a, t)

    def _release(self, a: AgentRecord, c: ContactRecord, t: float) -> None:
        """The contact no longer holds the agent's capacity."""
        channel = a.contacts.pop(c.contact_id)
        a.load[channel] -= 1
        if channel in EXCLUSIVE_CHANNELS:
            a.exclusive_open -= 1
        a.last_end[channel] = t
        if not a.contacts:
            a.idle_all = t
            if a.pending is not None:
                a.presence = presence_next(a.presence, "pending_applied", a.agent_id)
                a.reason = a.pending
                a.pending = None
                self._emit(PresenceSet(t, a.agent_id, "not_ready", a.reason))
        self._agent_changed(a, t)
        self._mark_agent(a)

    def _agent_changed(self, a: AgentRecord, t: float) -> None:
        if a.contacts:
            status = BUSY
        elif a.presence == "available":
            status = IDLE
        else:
            status = OTHER
        a.occupancy.set_status(t, status, self.config.occupancy_window_s)
        self._index_agent(a)

    # --------------------------------------------------------------- matching

    def _match(self, t: float) -> None:
        """While a waiting contact has an eligible agent: lowest key first, best agent."""
        dirty_contacts = self._dirty_contacts
        dirty_agents = self._dirty_agents
        while dirty_contacts or dirty_agents:
            best: ContactRecord | None = None
            best_pick: tuple[AgentRecord | None, int] = (None, 0)
            for c in list(dirty_contacts):
                if c.state != "queued":
                    dirty_contacts.discard(c)
                    continue
                pick = self._select_agent(c, t)
                if pick[0] is None:
                    dirty_contacts.discard(c)
                    continue
                if best is None or c.key < best.key:
                    best, best_pick = c, pick
            from_agents = False
            for a in list(dirty_agents):
                found = self._lowest_contact_for(a, t)
                if found is None:
                    dirty_agents.discard(a)
                    continue
                if best is None or found.key < best.key:
                    best = found
                    from_agents = True
            if best is None:
                return
            if from_agents:
                best_pick = self._select_agent(best, t)
            agent, candidates = best_pick
            assert agent is not None
            self._offer(best, agent, candidates, t)

    def _select_agent(self, c: ContactRecord, t: float) -> tuple[AgentRecord | None, int]:
        """The best eligible agent for `c` by its queue's strategy, and how many
        agents were eligible.

        Outside the preferred phase the eligible agents are the pool of the
        contact's requirement group minus its live exclusions, so the count is
        a subtraction and longest_idle / most_skilled / round_robin read the
        best agent off an ordered structure (O(log n)); least_occupied scans the
        pool unless the longest-idle agent has zero occupancy.
        """
        channel = c.channel
        pool_all = self._avail_all[channel]
        if not pool_all:
            return None, 0
        q = self._queues[c.queue]
        strategy = q.config.strategy
        if c.pref_until is not None:
            agents = self._agents
            cands = [a for p in c.preferred if (a := agents.get(p)) is not None and a in pool_all]
            return _choose(strategy, q.rr_last, c, cands, t, self.config.occupancy_window_s)
        g = c.heap_group
        assert g is not None and g is not PREFERRED
        members = g.members
        count = len(members)
        if not count:
            return None, 0
        skip: set[str] | None = None
        excluded = c.excluded
        if excluded is not None:
            skip = {aid for aid, until in excluded.items() if until > t}
            if skip:
                agents = self._agents
                count -= sum(1 for aid in skip if agents.get(aid) in members)
                if not count:
                    return None, 0
            else:
                skip = None
        if strategy == "longest_idle":
            return _heap_best(g.idle_heap(), members, skip, False), count
        if strategy == "most_skilled":
            return _heap_best(g.skill_heap(), members, skip, True), count
        if strategy == "round_robin":
            ids = g.id_list()
            rr_last = q.rr_last
            start = 0 if rr_last is None else bisect_right(ids, rr_last)
            if start == len(ids):
                start = 0
            if skip is None:
                return self._agents[ids[start]], count
            # The first id after rr_last that is not excluded, wrapping round.
            for agent_id in ids[start:]:
                if agent_id not in skip:
                    return self._agents[agent_id], count
            for agent_id in ids[:start]:
                if agent_id not in skip:
                    return self._agents[agent_id], count
            raise AssertionError("count > 0: some pool member is not excluded")
        # least_occupied: (occupancy, idle_since, id). Occupancy is >= 0, so the
        # longest-idle eligible agent wins outright when its occupancy is 0.
        window = self.config.occupancy_window_s
        best = _heap_best(g.idle_heap(), members, skip, False)
        assert best is not None
        best_entry = members[best]
        best_occupancy = best.occupancy.occupancy(t, window)
        if best_occupancy <= 0.0:
            return best, count
        best_key: tuple[float, float, str] = (best_occupancy, best_entry[0], best_entry[1])
        for a, entry in members.items():
            if skip is not None and entry[1] in skip:
                continue
            occupancy = a.occupancy.occupancy(t, window)
            if occupancy > best_occupancy:
                continue
            key = (occupancy, entry[0], entry[1])
            if key < best_key:
                best, best_key, best_occupancy = a, key, occupancy
        return best, count

    def _lowest_contact_for(self, a: AgentRecord, t: float) -> ContactRecord | None:
        """The lowest-key waiting contact `a` is eligible for, across its queues."""
        if not a.indexed:
            return None
        best: ContactRecord | None = None
        for channel in a.indexed:
            for g in a.groups.get(channel, ()):
                heap = g.heap
                if not heap:
                    continue
                while heap and heap[0][1].heap_entry is not heap[0]:
                    heappop(heap)
                if not heap or (best is not None and heap[0][0] >= best.key):
                    continue
                c = self._head_for(heap, a, t, False)
                if c is not None and (best is None or c.key < best.key):
                    best = c
        pref = self._pref_heaps.get(a.agent_id)
        if pref:
            c = self._head_for(pref, a, t, True)
            if c is not None and (best is None or c.key < best.key):
                best = c
        return best

    def _head_for(
        self, heap: list[HeapEntry], a: AgentRecord, t: float, preferred: bool
    ) -> ContactRecord | None:
        """The first live contact of `heap` that `a` may take (stale entries dropped)."""
        while heap and heap[0][1].heap_entry is not heap[0]:
            heappop(heap)
        if not heap:
            return None
        if _may_take(a, heap[0][1], t, preferred):
            return heap[0][1]
        popped = [heappop(heap)]
        found: ContactRecord | None = None
        while heap:
            entry = heappop(heap)
            if entry[1].heap_entry is not entry:
                continue
            popped.append(entry)
            if _may_take(a, entry[1], t, preferred):
                found = entry[1]
                break
        for entry in popped:
            heappush(heap, entry)
        return found

    def _groups_for(self, a: AgentRecord) -> dict[str, list[Group]]:
        """The groups `a` holds the requirements of, per channel (at login and
        on a skill change; a new group adds itself to its agents' lists)."""
        groups: dict[str, list[Group]] = {}
        for g in self._group_list:
            if a.has_skills(g.reqs):
                groups.setdefault(g.channel, []).append(g)
        return groups

    def _mark_contact(self, c: ContactRecord) -> None:
        self._dirty_contacts.add(c)

    def _mark_agent(self, a: AgentRecord) -> None:
        if a.indexed:
            self._dirty_agents.add(a)

    # ---------------------------------------------------------------- indexes

    def _index_waiting(self, c: ContactRecord) -> None:
        entry: HeapEntry = (c.key, c)
        c.heap_entry = entry
        if c.pref_until is not None:
            c.heap_group = PREFERRED
            for agent_id in c.preferred:
                heappush(self._pref_heaps.setdefault(agent_id, []), entry)
            return
        gkey = (c.channel, c.reqs)
        g = self._groups.get(gkey)
        if g is None:
            g = Group(c.channel, c.reqs)
            self._groups[gkey] = g
            self._add_group(g)
        c.heap_group = g
        g.live += 1
        heappush(g.heap, entry)

    def _unindex_waiting(self, c: ContactRecord) -> None:
        entry = c.heap_entry
        g = c.heap_group
        c.heap_entry = None
        c.heap_group = None
        if entry is None or g is None:
            return
        if g is PREFERRED:
            # Preferred heaps are small and may belong to agents that never
            # scan them: remove eagerly so nothing stale piles up.
            for agent_id in c.preferred:
                heap = self._pref_heaps.get(agent_id)
                if heap is not None and entry in heap:
                    heap.remove(entry)
                    heapify(heap)
                    if not heap:
                        del self._pref_heaps[agent_id]
            return
        g.live -= 1
        if len(g.heap) > 2 * g.live + 32:
            g.heap = [x for x in g.heap if x[1].heap_entry is x]
            heapify(g.heap)

    def _rank_insert(self, q: QueueState, c: ContactRecord) -> None:
        insort(q.ranks, (c.key, c))

    def _rank_remove(self, q: QueueState, c: ContactRecord) -> None:
        ranks = q.ranks
        i = bisect_left(ranks, (c.key,))
        if i < len(ranks) and ranks[i][1] is c:
            del ranks[i]

    def _position(self, q: QueueState, c: ContactRecord) -> int:
        return bisect_left(q.ranks, (c.key,)) + 1

    def _waiting_count(self, q: QueueState) -> int:
        return len(q.ranks)

    def _waiting_in(self, q: QueueState) -> list[ContactRecord]:
        return [entry[1] for entry in q.ranks]

    def _index_agent(self, a: AgentRecord) -> None:
        """Bring the agent's index entries up to date: the available agents by
        channel, and the pools of the groups it is skilled for (membership,
        and its idle_since on each channel)."""
        new = tuple(ch for ch in CHANNELS if a.can_take(ch))
        old = a.indexed
        entries = a.entries
        if new != old:
            for ch in old:
                if ch not in new:
                    self._avail_all[ch].discard(a)
                    del entries[ch]
                    for g in a.groups.get(ch, ()):
                        g.remove(a)
            for ch in new:
                if ch not in old:
                    self._avail_all[ch].add(a)
            a.indexed = new
        if not new:
            return
        contacts = a.contacts
        for ch in new:
            # idle_since(ch), inlined.
            idle = a.idle_all if not contacts else a.last_end.get(ch, a.logged_in_at)
            entry = entries.get(ch)
            if entry is not None and entry[0] == idle:
                continue
            entry = (idle, a.agent_id, a)
            entries[ch] = entry
            for g in a.groups.get(ch, ()):
                g.put(a, entry)

    def _unindex_agent(self, a: AgentRecord) -> None:
        for ch in a.indexed:
            self._avail_all[ch].discard(a)
            for g in a.groups.get(ch, ()):
                g.remove(a)
        a.indexed = ()
        a.entries.clear()

    def _add_group(self, g: Group) -> None:
        """A new group: it joins the group lists of the logged-in agents holding
        its requirements (found among those with its rarest skill), and those
        in the channel's index form its pool."""
        self._group_list.append(g)
        channel = g.channel
        reqs = g.reqs
        members = g.members
        for a in self._logged_candidates(reqs):
            if a.has_skills(reqs):
                a.groups.setdefault(channel, []).append(g)
                entry = a.entries.get(channel)
                if entry is not None:
                    members[a] = entry

    def _logged_index(self, a: AgentRecord, add: bool) -> None:
        self._staff_version += 1
        if add:
            self._logged_all.add(a)
            for skill in a.skills:
                self._logged_skill.setdefault(skill, set()).add(a)
        else:
            self._logged_all.discard(a)
            for skill in a.skills:
                pool = self._logged_skill.get(skill)
                if pool is not None:
                    pool.discard(a)

    def _logged_candidates(self, reqs: Requirements) -> Iterable[AgentRecord]:
        smallest: set[AgentRecord] = self._logged_all
        for skill, _ in reqs:
            pool = self._logged_skill.get(skill)
            if not pool:
                return ()
            if len(pool) < len(smallest):
                smallest = pool
        return smallest

    def _anyone_skilled(self, c: ContactRecord, q: QueueState) -> bool:
        """Is an agent logged in who could ever take `c` (all relaxation applied)?"""
        reqs = q.requirements(c.extra_reqs, len(q.steps))
        return any(
            a.capacity.get(c.channel, 0) > 0 and a.has_skills(reqs)
            for a in self._logged_candidates(reqs)
        )

    def _staffed_slots(self, q: QueueState) -> int:
        if q.staffed_version != self._staff_version:
            reqs = effective_requirements(q.config, (), 0)
            channel = q.config.channel
            q.staffed = sum(
                a.capacity.get(channel, 0)
                for a in self._logged_candidates(reqs)
                if a.has_skills(reqs)
            )
            q.staffed_version = self._staff_version
        return q.staffed

    def _estimate(self, q: QueueState, position: int) -> float | None:
        """Position x average handle time / staffed contact slots."""
        slots = self._staffed_slots(q)
        if slots <= 0:
            return None
        samples = q.handle_times
        aht = sum(samples) / len(samples) if samples else self.config.default_handle_time_s
        return position * aht / slots

    # ---------------------------------------------------------------- helpers

    def _emit(self, command: Command) -> None:
        self._out.append(command)

    def _queue(self, name: str) -> QueueState:
        q = self._queues.get(name)
        if q is None:
            raise UnknownQueue(f"queue {name!r} not found")
        return q

    def _agent(self, agent_id: str) -> AgentRecord:
        a = self._agents.get(agent_id)
        if a is None:
            raise UnknownAgent(f"agent {agent_id!r} not found")
        return a

    def _contact(self, contact_id: str) -> ContactRecord:
        c = self._contacts.get(contact_id)
        if c is None:
            raise UnknownContact(f"contact {contact_id!r} not found")
        return c

    def _validate_queue(self, cfg: QueueConfig) -> None:
        def bad(why: str) -> InvalidEvent:
            return InvalidEvent(f"queue {cfg.name!r}: {why}")

        if not cfg.name:
            raise bad("name is empty")
        if cfg.channel not in CHANNELS:
            raise bad(f"unknown channel {cfg.channel!r}")
        if cfg.strategy not in STRATEGIES:
            raise bad(f"unknown strategy {cfg.strategy!r}")
        if not cfg.ring_timeout_s > 0:
            raise bad("ring_timeout_s must be > 0")
        if not cfg.wrap_up_s >= 0:
            raise bad("wrap_up_s must be >= 0")
        if cfg.max_attempts < 1:
            raise bad("max_attempts must be >= 1")
        if cfg.max_wait_s is not None and not cfg.max_wait_s > 0:
            raise bad("max_wait_s must be > 0")
        if cfg.overflow is not None and not cfg.overflow.after_s > 0:
            raise bad("overflow.after_s must be > 0")
        if cfg.max_size is not None and cfg.max_size < 0:
            raise bad("max_size must be >= 0")
        _valid_required(cfg.required_skills)
        for step in cfg.relaxation:
            if not step.after_s >= 0:
                raise bad("relaxation after_s must be >= 0")
            if step.min_level is not None and not 1 <= step.min_level <= 10:
                raise bad("relaxation min_level must be 1..10 or null")
        for why in ("no_agents", "max_wait", "queue_full", "closed", "max_attempts"):
            exit_ = cfg.exits.for_reason(why)
            if exit_ is not None and exit_.kind == "overflow" and not exit_.queue:
                raise bad(f"the {why} overflow exit names no queue")
        for target in cfg.exit_targets():
            if target == cfg.name:
                raise bad("a queue cannot overflow to itself")
            tq = self._queues.get(target)
            if tq is None:
                raise UnknownQueue(f"queue {cfg.name!r}: overflow target {target!r} not found")
            if not channel_fits_queue(cfg.channel, tq.config.channel):
                raise bad(f"overflow target {target!r} has another channel")
        existing = self._queues.get(cfg.name)
        if (
            existing is not None
            and existing.config.channel != cfg.channel
            and any(c.queue == cfg.name for c in self._contacts.values())
        ):
            raise bad("cannot change the channel while contacts are in the queue")

    # ------------------------------------------------------ snapshot/restore

    def snapshot(self) -> dict[str, Any]:
        """The whole router state as plain JSON-able data."""
        return {
            "version": SNAPSHOT_VERSION,
            "config": self.config.to_dict(),
            "now": self._now,
            "seq": self._seq,
            "queues": [
                {
                    "config": to_plain(q.config),
                    "is_open": q.is_open,
                    "rr_last": q.rr_last,
                    "handle_times": list(q.handle_times),
                }
                for q in self._queues.values()
            ],
            "agents": [
                {
                    "agent_id": a.agent_id,
                    "skills": dict(a.skills),
                    "capacity": dict(a.capacity),
                    "presence": a.presence,
                    "reason": a.reason,
                    "pending": a.pending,
                    "contacts": [[cid, ch] for cid, ch in a.contacts.items()],
                    "idle_all": a.idle_all,
                    "last_end": dict(a.last_end),
                    "logged_in_at": a.logged_in_at,
                    "occupancy": a.occupancy.to_data(),
                }
                for a in self._agents.values()
            ],
            "contacts": [
                {
                    "contact_id": c.contact_id,
                    "queue": c.queue,
                    "channel": c.channel,
                    "tier": c.tier,
                    "customer_id": c.customer_id,
                    "external_id": c.external_id,
                    "arrived_at": c.arrived_at,
                    "entered_at": c.entered_at,
                    "seq": c.seq,
                    "extra_reqs": [[r.skill, r.min_level] for r in c.extra_reqs],
                    "relax_step": c.relax_step,
                    "state": c.state,
                    "agent_id": c.agent_id,
                    "attempts": c.attempts,
                    "excluded": dict(c.excluded) if c.excluded else {},
                    "preferred": list(c.preferred),
                    "pref_until": c.pref_until,
                    "state_since": c.state_since,
                    "state_deadline": c.state_deadline,
                }
                for c in self._contacts.values()
            ],
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> Router:
        """A router in the state `snapshot()` captured; the same later events
        give the same commands."""
        try:
            return cls._restore(snapshot)
        except RoutingError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InvalidSnapshot(f"unusable snapshot: {exc!r}") from exc

    @classmethod
    def _restore(cls, snapshot: dict[str, Any]) -> Router:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise InvalidSnapshot(f"unsupported snapshot version {snapshot.get('version')!r}")
        router = cls(RouterConfig.from_dict(snapshot["config"]))
        now = snapshot["now"]
        router._now = None if now is None else float(now)
        router._seq = int(snapshot["seq"])
        for qd in snapshot["queues"]:
            q = QueueState(from_plain(QueueConfig, qd["config"]), router.config.handle_time_samples)
            q.is_open = bool(qd["is_open"])
            q.rr_last = qd["rr_last"]
            q.handle_times.extend(float(x) for x in qd["handle_times"])
            router._queues[q.name] = q
        for ad in snapshot["agents"]:
            a = AgentRecord(str(ad["agent_id"]))
            a.skills = {str(k): int(v) for k, v in ad["skills"].items()}
            a.capacity = {str(k): int(v) for k, v in ad["capacity"].items()}
            a.presence = str(ad["presence"])
            a.reason = str(ad["reason"])
            a.pending = ad["pending"]
            for cid, ch in ad["contacts"]:
                a.contacts[str(cid)] = str(ch)
                a.load[ch] = a.load.get(ch, 0) + 1
                if ch in EXCLUSIVE_CHANNELS:
                    a.exclusive_open += 1
            a.idle_all = float(ad["idle_all"])
            a.last_end = {str(k): float(v) for k, v in ad["last_end"].items()}
            a.logged_in_at = float(ad["logged_in_at"])
            a.occupancy = OccupancyLog.from_data(ad["occupancy"])
            router._agents[a.agent_id] = a
            if a.presence != "offline":
                router._logged_index(a, True)
            router._index_agent(a)
        for cd in snapshot["contacts"]:
            q = router._queues[cd["queue"]]
            extra = tuple(RequiredSkill(str(s), int(lvl)) for s, lvl in cd["extra_reqs"])
            c = ContactRecord(
                str(cd["contact_id"]),
                q.name,
                cast(Channel, str(cd["channel"])),
                str(cd["tier"]),
                float(cd["arrived_at"]),
                int(cd["seq"]),
                extra,
            )
            c.customer_id = cd["customer_id"]
            c.external_id = cd["external_id"]
            c.entered_at = float(cd["entered_at"])
            c.relax_step = int(cd["relax_step"])
            c.state = str(cd["state"])
            c.agent_id = cd["agent_id"]
            c.attempts = int(cd["attempts"])
            c.excluded = {str(k): float(v) for k, v in cd["excluded"].items()} or None
            c.preferred = tuple(str(p) for p in cd["preferred"])
            c.pref_until = None if cd["pref_until"] is None else float(cd["pref_until"])
            c.state_since = float(cd["state_since"])
            deadline = cd["state_deadline"]
            c.state_deadline = None if deadline is None else float(deadline)
            c.key = router._key(c, q)
            c.reqs = effective_requirements(q.config, extra, c.relax_step)
            router._contacts[c.contact_id] = c
            if c.state == "queued":
                router._rank_insert(q, c)
                router._index_waiting(c)
        for c in router._contacts.values():
            router._reschedule(c)
        return router

    # ------------------------------------------------------------- self-check

    def check_invariants(self) -> None:
        """Assert the indexes agree with the records (tests call this)."""
        for cid, c in self._contacts.items():
            assert c.contact_id == cid
            assert c.state not in TERMINAL_STATES, c.state
            q = self._queues[c.queue]
            in_ranks = sum(1 for entry in q.ranks if entry[1] is c)
            if c.state == "queued":
                assert in_ranks == 1, (cid, in_ranks)
                assert c.heap_entry is not None and c.heap_group is not None
                if c.heap_group is PREFERRED:
                    assert c.pref_until is not None
                    for p in c.preferred:
                        assert c.heap_entry in self._pref_heaps.get(p, [])
                else:
                    assert c.pref_until is None
                    assert c.heap_group.reqs == c.reqs and c.heap_group.channel == c.channel
                    assert c.heap_entry in c.heap_group.heap
                assert c.agent_id is None
            else:
                assert in_ranks == 0, (cid, c.state)
                assert c.heap_entry is None
            holders = [a for a in self._agents.values() if cid in a.contacts]
            if c.state in ("alerting", "connected", "wrap_up"):
                assert len(holders) == 1 and holders[0].agent_id == c.agent_id, cid
            else:
                assert not holders, cid
            assert c.reqs == effective_requirements(q.config, c.extra_reqs, c.relax_step)
            due = self._next_due(c)
            assert c.timer_due == due, (cid, c.timer_due, due)
            if due is not None and self._now is not None:
                assert due > self._now, (cid, due, self._now)
        for q in self._queues.values():
            keys = [entry[0] for entry in q.ranks]
            assert keys == sorted(keys)
        for a in self._agents.values():
            for ch in CHANNELS:
                load = sum(1 for x in a.contacts.values() if x == ch)
                assert a.load.get(ch, 0) == load
                assert (a in self._avail_all[ch]) == a.can_take(ch) == (ch in a.indexed)
            exclusive = sum(1 for x in a.contacts.values() if x in EXCLUSIVE_CHANNELS)
            assert a.exclusive_open == exclusive
            if exclusive:
                assert len(a.contacts) == exclusive == 1, a.contacts
            assert (a in self._logged_all) == (a.presence != "offline")
            if a.pending is not None:
                assert a.contacts and a.presence == "available"
            assert set(a.entries) == set(a.indexed), (a.agent_id, a.entries, a.indexed)
            if a.presence != "offline":
                assert {ch: set(map(id, gs)) for ch, gs in a.groups.items()} == {
                    ch: set(map(id, gs)) for ch, gs in self._groups_for(a).items()
                }, a.agent_id
        for g in self._group_list:
            members = g.members
            expected = {
                a for a in self._agents.values() if a.can_take(g.channel) and a.has_skills(g.reqs)
            }
            assert set(members) == expected, (g.channel, g.reqs)
            for a, entry in members.items():
                assert entry is a.entries[g.channel]
                assert entry == (a.idle_since(g.channel), a.agent_id, a)
            want = sorted(a.agent_id for a in members)
            if g.by_idle is not None:
                live = [e for e in g.by_idle if members.get(e[2]) is e]
                assert sorted(e[1] for e in live) == want
            if g.by_skill is not None:
                live_skill = [x for x in g.by_skill if members.get(x[3][2]) is x[3]]
                assert sorted(x[2] for x in live_skill) == want
                for x in live_skill:
                    assert -x[0] == sum(x[3][2].skills[skill] for skill, _ in g.reqs)
                    assert x[1:3] == x[3][:2]
            if g.ids is not None:
                assert g.ids == want
        assert not self._dirty_agents and not self._dirty_contacts


def _may_take(a: AgentRecord, c: ContactRecord, t: float, preferred: bool) -> bool:
    if c.is_excluding(a.agent_id, t):
        return False
    if preferred:
        return c.channel in a.indexed and a.has_skills(c.reqs)
    return True


def _heap_best(
    heap: list[Any], members: dict[AgentRecord, AgentEntry], skip: set[str] | None, wrapped: bool
) -> AgentRecord | None:
    """The agent of the lowest live entry of a pool heap whose id is not in
    `skip`. Stale entries (not the agent's current pool entry) are dropped;
    entries passed over for `skip` are pushed back. `wrapped`: the heap holds
    `SkillEntry` tuples (the `AgentEntry` last) rather than `AgentEntry`."""
    entry: AgentEntry
    while heap:
        top = heap[0]
        entry = top[3] if wrapped else top
        if members.get(entry[2]) is not entry:
            heappop(heap)
            continue
        if skip is None or entry[1] not in skip:
            return entry[2]
        break
    else:
        return None
    popped = []
    found: AgentRecord | None = None
    while heap:
        top = heappop(heap)
        entry = top[3] if wrapped else top
        if members.get(entry[2]) is not entry:
            continue
        popped.append(top)
        if entry[1] not in skip:
            found = entry[2]
            break
    for top in popped:
        heappush(heap, top)
    return found


def strategy_key(
    strategy: str, rr_last: str | None, c: ContactRecord, a: AgentRecord, t: float, window: float
) -> tuple[Any, ...]:
    """The documented order of agents for a strategy (lowest first); ties end on agent id."""
    idle = a.idle_since(c.channel)
    if strategy == "most_skilled":
        total = sum(a.skills.get(skill, 0) for skill, _ in c.reqs)
        return (-total, idle, a.agent_id)
    if strategy == "least_occupied":
        return (a.occupancy.occupancy(t, window), idle, a.agent_id)
    if strategy == "round_robin":
        after = rr_last is None or a.agent_id > rr_last
        return (0 if after else 1, a.agent_id)
    return (idle, a.agent_id)


def _choose(
    strategy: str,
    rr_last: str | None,
    c: ContactRecord,
    cands: Iterable[AgentRecord],
    t: float,
    window: float,
) -> tuple[AgentRecord | None, int]:
    """Pick by `strategy_key` among the eligible `cands` (inlined: this is the
    hot path of every arrival when agents are idle)."""
    reqs = c.reqs
    if not reqs:
        eligible = list(cands)
    elif len(reqs) == 1:
        skill, level = reqs[0]
        eligible = [a for a in cands if a.skills.get(skill, 0) >= level]
    else:
        eligible = [a for a in cands if a.has_skills(reqs)]
    excluded = c.excluded
    if excluded is not None:
        eligible = [a for a in eligible if excluded.get(a.agent_id, t) <= t]
    if not eligible:
        return None, 0
    count = len(eligible)
    channel = c.channel
    best = eligible[0]
    if strategy == "round_robin":
        after = [a for a in eligible if rr_last is None or a.agent_id > rr_last]
        pool = after or eligible
        best = pool[0]
        for a in pool:
            if a.agent_id < best.agent_id:
                best = a
        return best, count
    best_key: tuple[Any, ...] = strategy_key(strategy, rr_last, c, best, t, window)
    if strategy == "longest_idle":
        best_idle = best_key[0]
        for a in eligible:
            idle = a.idle_all if not a.contacts else a.last_end.get(channel, a.logged_in_at)
            if idle < best_idle or (idle == best_idle and a.agent_id < best.agent_id):
                best, best_idle = a, idle
        return best, count
    if strategy == "most_skilled":
        req_skills = [skill for skill, _ in reqs]
        for a in eligible:
            skills = a.skills
            total = 0
            for skill in req_skills:
                total += skills.get(skill, 0)
            if -total > best_key[0]:
                continue
            key = strategy_key(strategy, rr_last, c, a, t, window)
            if key < best_key:
                best, best_key = a, key
        return best, count
    # least_occupied: the occupancy first; idle time only to break ties.
    best_occupancy = best_key[0]
    for a in eligible:
        occupancy = a.occupancy.occupancy(t, window)
        if occupancy > best_occupancy:
            continue
        key = (occupancy, a.idle_since(channel), a.agent_id)
        if key < best_key:
            best, best_key, best_occupancy = a, key, occupancy
    return best, count


def _valid_skills(skills: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for skill, level in skills.items():
        if not isinstance(skill, str) or not skill:
            raise InvalidEvent(f"bad skill name {skill!r}")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 10:
            raise InvalidEvent(f"skill {skill!r}: level must be 1..10, got {level!r}")
        out[skill] = level
    return out


def _valid_capacity(capacity: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for channel, slots in capacity.items():
        if channel not in CHANNELS:
            raise InvalidEvent(f"unknown channel {channel!r} in capacity")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 0:
            raise InvalidEvent(f"capacity of {channel!r} must be an integer >= 0")
        out[channel] = slots
    return out


def _valid_required(reqs: tuple[RequiredSkill, ...]) -> tuple[RequiredSkill, ...]:
    for req in reqs:
        if not req.skill or not 1 <= req.min_level <= 10:
            raise InvalidEvent(f"bad required skill {req!r}")
    return tuple(reqs)
