"""Contact-center figures: the definitions of DESIGN §6, live counters, Prometheus.

Three parts, one set of definitions (``docs/metrics.md`` is the user's version):

* **Definitions**: :class:`Counts` holds the raw sums of a queue, channel or agent
  over a day or an interval; :func:`figures` turns them into service level (both
  variants), ASA, AHT, abandon rate. Local-time bucketing (:func:`local_day`,
  :func:`interval_start`, :func:`day_bounds`) follows the center's time zone, DST
  included. Reports (``callcenter.reports``) use the same definitions over the
  stored records.
* **Live metrics**: :class:`LiveMetrics` is a pure in-memory object fed by domain
  notifications (``contact_queued``, ``contact_offered``, ``contact_answered``,
  ...), time passed in as UTC seconds. Every notification costs O(1) or
  O(log n); nothing re-scans history. Day figures roll over at local midnight.
* **Prometheus**: every :class:`LiveMetrics` owns a ``CollectorRegistry`` (never
  the global one) with counters, histograms of wait and handle time per queue and
  channel, and gauges read from the live figures at scrape time;
  :func:`render_prometheus` gives the text exposition for ``/metrics``.

Attribution (DESIGN §6): a contact counts on the day (and in the interval) of its
first queue entry; each *visit* of a queue (first entry, overflow in, transfer in)
is offered in that queue and ends there answered, abandoned, moved on (overflow out)
or by an exit (voicemail, auto-reply); an answered visit whose agent transfers the
contact counts as ``transferred_out`` in that queue. Wait runs from queue entry to
answer (ring time included): for the first visit and overflow visits from the
contact's first queue entry (overflow does not reset the customer's clock), for a
transfer visit from the transfer.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "PRESENCES",
    "AgentCounts",
    "Counts",
    "LiveMetrics",
    "abandon_rate",
    "average_handle_time",
    "average_speed_of_answer",
    "day_bounds",
    "figures",
    "interval_start",
    "local_day",
    "occupancy",
    "render_prometheus",
    "service_level",
    "service_level_served",
]

PRESENCES = ("offline", "available", "not_ready")
DEFAULT_SL_TARGET_S = 20.0
#: Bucket bounds (seconds) of the wait and handle-time histograms.
WAIT_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
HANDLE_BUCKETS = (30.0, 60.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0)

ExitKind = Literal["voicemail", "auto_reply", "contained", "callback", "exit"]


# --------------------------------------------------------------------------- local time


def _zone(time_zone: str | ZoneInfo) -> ZoneInfo:
    return time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)


def local_day(at: float, time_zone: str | ZoneInfo) -> date:
    """The center's local calendar day of the UTC instant ``at`` (seconds)."""
    return datetime.fromtimestamp(at, _zone(time_zone)).date()


def day_bounds(day: date, time_zone: str | ZoneInfo) -> tuple[float, float]:
    """UTC seconds of local midnight starting ``day`` and the next one (23-25 h apart)."""
    tz = _zone(time_zone)
    start = datetime.combine(day, clock_time(0), tz).timestamp()
    end = datetime.combine(day + timedelta(days=1), clock_time(0), tz).timestamp()
    return start, end


def interval_start(at: float, time_zone: str | ZoneInfo, minutes: int | str) -> float:
    """UTC seconds of the start of the local interval holding ``at``.

    ``minutes`` is 15, 30, 60 or ``"day"``. Intervals sit on local wall-clock
    boundaries; in the repeated hour of a DST change each wall-clock interval
    happens twice and the two are distinct (different UTC start).
    """
    tz = _zone(time_zone)
    if minutes == "day":
        return day_bounds(local_day(at, tz), tz)[0]
    if minutes not in (15, 30, 60):
        raise ValueError(f"interval must be 15, 30, 60 or 'day', not {minutes!r}")
    step = int(minutes)
    local = datetime.fromtimestamp(at, tz)
    # replace() keeps the fold, so the second 02:00-03:00 floors within itself.
    floored = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
    return floored.timestamp()


def local_iso(at: float, time_zone: str | ZoneInfo) -> str:
    """A UTC instant as local ISO 8601 with its offset (unambiguous across DST)."""
    return datetime.fromtimestamp(at, _zone(time_zone)).isoformat()


# --------------------------------------------------------------------------- definitions


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def service_level(answered_within: int, answered: int, abandoned: int) -> float | None:
    """SL(T) = answered with wait <= T / (answered + abandoned after the threshold)."""
    return _ratio(answered_within, answered + abandoned)


def service_level_served(answered_within: int, answered: int) -> float | None:
    """Served-only SL(T) = answered with wait <= T / answered."""
    return _ratio(answered_within, answered)


def average_speed_of_answer(wait_answered_s: float, answered: int) -> float | None:
    """ASA = mean wait of answered contacts (seconds)."""
    return _ratio(wait_answered_s, answered)


def abandon_rate(abandoned: int, offered: int, short_abandoned: int) -> float | None:
    """Abandoned after the threshold / (offered - short abandons)."""
    return _ratio(abandoned, offered - short_abandoned)


def average_handle_time(talk_s: float, hold_s: float, wrap_up_s: float,
                        handled: int) -> float | None:
    """AHT = (talk + hold + wrap-up) / handled (seconds)."""
    return _ratio(talk_s + hold_s + wrap_up_s, handled)


def occupancy(busy_s: float, available_idle_s: float) -> float | None:
    """Time with >= 1 contact / (that + available idle time); never above 1."""
    return _ratio(busy_s, busy_s + available_idle_s)


@dataclass(slots=True)
class Counts:
    """Raw sums of one queue, channel or agent over a day or interval.

    Visits are counted where they happen (see the module docstring);
    ``abandoned`` excludes short abandons, which are in ``short_abandoned``.
    """

    offered: int = 0
    overflowed_in: int = 0
    transferred_in: int = 0
    answered: int = 0
    answered_within: int = 0
    wait_answered_s: float = 0.0
    abandoned: int = 0
    short_abandoned: int = 0
    wait_abandoned_s: float = 0.0
    overflowed_out: int = 0
    transferred_out: int = 0
    exited: int = 0
    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0

    def add(self, other: Counts) -> None:
        """Add ``other`` into this one."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def figures(counts: Counts) -> dict[str, Any]:
    """The raw sums plus the derived figures of DESIGN §6 (None where undefined)."""
    c = counts
    return {
        **c.as_dict(),
        "sl_all": service_level(c.answered_within, c.answered, c.abandoned),
        "sl_served": service_level_served(c.answered_within, c.answered),
        "asa_s": average_speed_of_answer(c.wait_answered_s, c.answered),
        "abandon_rate": abandon_rate(c.abandoned, c.offered, c.short_abandoned),
        "aht_s": average_handle_time(c.talk_s, c.hold_s, c.wrap_up_s, c.handled),
    }


@dataclass(slots=True)
class AgentCounts:
    """One agent's time and handled legs over a day.

    ``busy_s`` is time with at least one contact alerting, connected or in
    wrap-up (whatever the presence); ``available_idle_s`` is time available with
    none. ``presence_s`` and ``not_ready_reason_s`` split logged-in time.
    """

    counts: Counts = field(default_factory=Counts)
    busy_s: float = 0.0
    available_idle_s: float = 0.0
    presence_s: dict[str, float] = field(default_factory=dict)
    not_ready_reason_s: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- live


@dataclass(slots=True)
class _Contact:
    contact_id: str
    channel: str
    day: date
    queue: str
    first_queued_at: float
    #: When the current visit's wait started: None = from the first queue entry.
    visit_start: float | None = None
    state: str = "waiting"  # waiting | alerting | connected | wrap_up | parked
    agent_id: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    hold_s: float = 0.0
    leg_queue: str | None = None
    wait_seq: int = 0

    def wait_start(self) -> float:
        return self.first_queued_at if self.visit_start is None else self.visit_start


@dataclass(slots=True)
class _Agent:
    agent_id: str
    since: float
    presence: str = "offline"
    reason: str | None = None
    contacts: set[str] = field(default_factory=set)
    queues: frozenset[str] = frozenset()


class _Waiting:
    """Contacts waiting in one queue, with the longest wait in O(log n)."""

    __slots__ = ("heap", "members")

    def __init__(self) -> None:
        self.members: dict[str, tuple[float, int]] = {}
        self.heap: list[tuple[float, int, str]] = []

    def add(self, contact_id: str, since: float, seq: int) -> None:
        self.members[contact_id] = (since, seq)
        heapq.heappush(self.heap, (since, seq, contact_id))

    def discard(self, contact_id: str) -> None:
        self.members.pop(contact_id, None)
        # Lazy deletion; compact when stale entries dominate, so memory stays bounded.
        if len(self.heap) > 64 and len(self.heap) > 4 * len(self.members):
            self.heap = [(s, q, c) for c, (s, q) in self.members.items()]
            heapq.heapify(self.heap)

    def oldest(self) -> float | None:
        heap = self.heap
        while heap:
            since, seq, contact_id = heap[0]
            if self.members.get(contact_id) == (since, seq):
                return since
            heapq.heappop(heap)
        return None


class LiveMetrics:
    """Incremental live figures per queue, channel and agent (see the module docstring).

    The server calls the notification methods from the router task, in event
    order, with UTC seconds. Queries (:meth:`queue_stats`, :meth:`agent_stats`,
    :meth:`snapshot`) read the figures of the local day of ``now``; earlier days
    are kept for ``retain_days`` days (reports cover history).
    """

    def __init__(self, time_zone: str, sl_targets: Mapping[str, float] | None = None,
                 short_abandon_s: float = 5.0, *,
                 default_sl_target_s: float = DEFAULT_SL_TARGET_S, retain_days: int = 2,
                 registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.tz = ZoneInfo(time_zone)
        self.time_zone = time_zone
        self.sl_targets = dict(sl_targets or {})
        self.default_sl_target_s = default_sl_target_s
        self.short_abandon_s = short_abandon_s
        self.retain_days = retain_days
        #: Read only when Prometheus scrapes (gauges are "now"); never by notifications.
        self.clock = clock
        self._contacts: dict[str, _Contact] = {}
        self._agents: dict[str, _Agent] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._queue_channel: dict[str, str] = {}
        # day -> key -> sums; keys are queue / channel / agent names.
        self._by_queue: dict[date, dict[str, Counts]] = {}
        self._by_channel: dict[date, dict[str, Counts]] = {}
        self._by_agent: dict[date, dict[str, AgentCounts]] = {}
        self._seq = itertools.count()
        self._newest_day: date | None = None
        # day-boundary cache: (day start, day end, day) of the last instant seen.
        self._day_cache: tuple[float, float, date] | None = None
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._init_prometheus()

    # ----------------------------------------------------------- configuration

    def sl_target(self, queue: str) -> float:
        return self.sl_targets.get(queue, self.default_sl_target_s)

    def set_agent_queues(self, agent_id: str, queues: Iterable[str], at: float) -> None:
        """The queues an agent staffs (for per-queue occupancy and agents by presence)."""
        self._agent(agent_id, at).queues = frozenset(queues)

    # ----------------------------------------------------------- contacts

    def contact_queued(self, at: float, contact_id: str, queue: str, channel: str) -> None:
        """The contact entered ``queue`` (arrival, overflow, transfer, callback due).

        A first call starts the contact (its day is the local day of ``at``). Later
        calls: while the contact is connected, the agent's leg ends as a transfer
        and a transfer visit starts; while it waits in another queue, that visit
        ends as an overflow (the record cannot tell an unanswered transfer from an
        overflow, so neither can this); the same queue again (a callback coming
        due) continues the visit.
        """
        c = self._contacts.get(contact_id)
        if c is None:
            day = self._day_of(at)
            c = _Contact(contact_id, channel, day, queue, first_queued_at=at)
            self._contacts[contact_id] = c
            self._queue_channel.setdefault(queue, channel)
            self._visit_started(c, "new")
            self._start_waiting(c)
            return
        if c.state in ("connected", "wrap_up"):
            self._finish_leg(c, at, transferred=True)
            c.queue = queue
            c.visit_start = at
            self._visit_started(c, "transfer")
        elif queue != c.queue:
            self._stop_waiting(c)
            self._release_offer(c, at)
            for counts in self._sums(c):
                counts.overflowed_out += 1
            c.queue = queue
            self._visit_started(c, "overflow")
        else:
            self._release_offer(c, at)
        self._queue_channel.setdefault(queue, c.channel)
        c.state = "waiting"
        self._start_waiting(c)

    def contact_offered(self, at: float, contact_id: str, agent_id: str) -> None:
        """The contact is alerting on ``agent_id`` (agent busy from now on)."""
        c = self._contacts.get(contact_id)
        if c is None:
            return
        self._release_offer(c, at)
        agent = self._agent(agent_id, at)
        self._advance(agent, at)
        agent.contacts.add(contact_id)
        c.state = "alerting"
        c.agent_id = agent_id

    def offer_cancelled(self, at: float, contact_id: str, agent_id: str) -> None:
        """The offer was rejected, timed out or withdrawn; the contact waits again."""
        c = self._contacts.get(contact_id)
        if c is None or c.state != "alerting" or c.agent_id != agent_id:
            return
        self._release_offer(c, at)
        c.state = "waiting"

    def contact_answered(self, at: float, contact_id: str, agent_id: str,
                         wait_s: float | None = None) -> None:
        """The agent answered (voice: the PBX reported the agent leg answered).

        ``wait_s``: the router's ``waited_s`` for a first answer, so the live wait
        equals the record's; by default ``at`` minus the visit's wait start.
        """
        c = self._contacts.get(contact_id)
        if c is None:
            return
        agent = self._agent(agent_id, at)
        self._advance(agent, at)
        if c.agent_id is not None and c.agent_id != agent_id:
            self._release_offer(c, at)
        agent.contacts.add(contact_id)
        self._stop_waiting(c)
        wait = wait_s if wait_s is not None and c.visit_start is None else at - c.wait_start()
        wait = max(0.0, wait)
        within = wait <= self.sl_target(c.queue)
        for counts in self._sums(c, agent_id):
            counts.answered += 1
            counts.answered_within += within
            counts.wait_answered_s += wait
        self._m_answered.labels(c.queue, c.channel).inc()
        self._m_wait.labels(c.queue, c.channel).observe(wait)
        c.state = "connected"
        c.agent_id = agent_id
        c.answered_at = at
        c.hold_s = 0.0
        c.leg_queue = c.queue

    def contact_ended(self, at: float, contact_id: str, hold_s: float = 0.0) -> None:
        """The conversation ended; wrap-up starts (the agent stays busy)."""
        c = self._contacts.get(contact_id)
        if c is None or c.state != "connected":
            return
        c.state = "wrap_up"
        c.ended_at = at
        c.hold_s = max(0.0, hold_s)

    def contact_completed(self, at: float, contact_id: str) -> None:
        """Wrap-up finished (or timed out): the leg is handled, the agent freed."""
        c = self._contacts.get(contact_id)
        if c is None:
            return
        if c.state in ("connected", "wrap_up"):
            self._finish_leg(c, at, transferred=False)
        self._drop(c, at)

    def contact_abandoned(self, at: float, contact_id: str, short: bool | None = None,
                          wait_s: float | None = None) -> None:
        """The customer left while waiting, alerting or waiting for a callback.

        ``short`` is the router's verdict; by default wait < short-abandon threshold.
        """
        c = self._contacts.get(contact_id)
        if c is None:
            return
        wait = wait_s if wait_s is not None and c.visit_start is None else at - c.wait_start()
        wait = max(0.0, wait)
        is_short = wait < self.short_abandon_s if short is None else short
        for counts in self._sums(c):
            if is_short:
                counts.short_abandoned += 1
            else:
                counts.abandoned += 1
                counts.wait_abandoned_s += wait
        (self._m_short if is_short else self._m_abandoned).labels(c.queue, c.channel).inc()
        self._drop(c, at)

    def contact_exited(self, at: float, contact_id: str, exit: ExitKind) -> None:
        """The contact left its queue without an agent: voicemail, auto-reply
        (``contained``) or another final exit; ``callback`` parks it until the
        callback comes due (then :meth:`contact_queued` again, same queue).
        Overflow needs no call: :meth:`contact_queued` with the new queue does it."""
        c = self._contacts.get(contact_id)
        if c is None:
            return
        if exit == "callback":
            self._stop_waiting(c)
            self._release_offer(c, at)
            c.state = "parked"
            return
        for counts in self._sums(c):
            counts.exited += 1
        self._drop(c, at)

    # ----------------------------------------------------------- agents

    def presence_changed(self, at: float, agent_id: str, presence: str,
                         reason: str | None = None) -> None:
        """An effective presence change (a pending not-ready is not one yet)."""
        if presence not in PRESENCES:
            raise ValueError(f"presence must be one of {PRESENCES}, not {presence!r}")
        agent = self._agent(agent_id, at)
        self._advance(agent, at)
        agent.presence = presence
        agent.reason = reason if presence == "not_ready" else None

    # ----------------------------------------------------------- queries

    def queue_stats(self, now: float) -> dict[str, dict[str, Any]]:
        """Per queue: waiting, longest wait, today's sums and figures, occupancy
        and agents by presence of the agents staffing it."""
        day = self._day_of(now)
        today = self._by_queue.get(day, {})
        names = set(today) | set(self._waiting)
        members: dict[str, list[_Agent]] = {}
        for agent in self._agents.values():
            for q in agent.queues:
                members.setdefault(q, []).append(agent)
        names |= set(members)
        stats: dict[str, dict[str, Any]] = {}
        for name in sorted(names):
            waiting = self._waiting.get(name)
            oldest = waiting.oldest() if waiting else None
            row = figures(today.get(name, Counts()))
            row["queue"] = name
            row["channel"] = self._queue_channel.get(name)
            row["sl_target_s"] = self.sl_target(name)
            row["waiting"] = len(waiting.members) if waiting else 0
            row["longest_wait_s"] = max(0.0, now - oldest) if oldest is not None else 0.0
            staff = members.get(name, [])
            busy = idle = 0.0
            for agent in staff:
                counts = self._agent_day(agent, day, now)
                busy += counts.busy_s
                idle += counts.available_idle_s
            row["occupancy"] = occupancy(busy, idle)
            row["agents"] = self._presence_census(staff)
            stats[name] = row
        return stats

    def channel_stats(self, now: float) -> dict[str, dict[str, Any]]:
        """Today's sums and figures per channel (callbacks are their own channel)."""
        today = self._by_channel.get(self._day_of(now), {})
        return {name: {"channel": name, **figures(c)} for name, c in sorted(today.items())}

    def agent_stats(self, now: float) -> dict[str, dict[str, Any]]:
        """Per agent: presence, open contacts, today's handled, AHT, occupancy and
        time in each presence and not-ready reason (up to ``now``)."""
        day = self._day_of(now)
        stats: dict[str, dict[str, Any]] = {}
        for agent_id in sorted(self._agents):
            agent = self._agents[agent_id]
            ac = self._agent_day(agent, day, now)
            c = ac.counts
            stats[agent_id] = {
                "agent_id": agent_id,
                "presence": agent.presence,
                "reason": agent.reason,
                "since": agent.since,
                "contacts": len(agent.contacts),
                "answered": c.answered,
                "handled": c.handled,
                "transferred_out": c.transferred_out,
                "talk_s": c.talk_s,
                "hold_s": c.hold_s,
                "wrap_up_s": c.wrap_up_s,
                "aht_s": average_handle_time(c.talk_s, c.hold_s, c.wrap_up_s, c.handled),
                "busy_s": ac.busy_s,
                "available_idle_s": ac.available_idle_s,
                "occupancy": occupancy(ac.busy_s, ac.available_idle_s),
                "presence_s": dict(ac.presence_s),
                "not_ready_reason_s": dict(ac.not_ready_reason_s),
            }
        return stats

    def agents_by_presence(self) -> dict[str, int]:
        """Center-wide count of agents per presence (``not_ready`` split by reason too)."""
        return self._presence_census(self._agents.values())

    def snapshot(self, now: float) -> dict[str, Any]:
        """What the supervisor websocket sends: queues, channels, agents, census."""
        return {
            "at": now,
            "day": self._day_of(now).isoformat(),
            "queues": self.queue_stats(now),
            "channels": self.channel_stats(now),
            "agents": self.agent_stats(now),
            "agents_by_presence": self.agents_by_presence(),
        }

    def day_counts(self, day: date, by: Literal["queue", "channel", "agent"] = "queue",
                   now: float | None = None) -> dict[str, Counts]:
        """Contact sums of a retained day, per queue / channel / agent (for checks)."""
        if by == "agent":
            days = self._by_agent.get(day, {})
            return {k: v.counts for k, v in days.items()}
        table = self._by_queue if by == "queue" else self._by_channel
        return dict(table.get(day, {}))

    def agent_day(self, agent_id: str, day: date, now: float) -> AgentCounts:
        """One agent's sums for ``day`` including the open span up to ``now``."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return AgentCounts()
        return self._agent_day(agent, day, now)

    # ----------------------------------------------------------- internals

    def _day_of(self, at: float) -> date:
        cache = self._day_cache
        if cache is not None and cache[0] <= at < cache[1]:
            return cache[2]
        day = local_day(at, self.tz)
        start, end = day_bounds(day, self.tz)
        self._day_cache = (start, end, day)
        if self._newest_day is None or day > self._newest_day:
            self._newest_day = day
            self._prune(day)
        return day

    def _prune(self, newest: date) -> None:
        oldest_kept = newest - timedelta(days=self.retain_days)
        for table in (self._by_queue, self._by_channel, self._by_agent):
            for old in [d for d in table if d < oldest_kept]:
                del table[old]

    def _agent(self, agent_id: str, at: float) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = _Agent(agent_id, since=at)
            self._agents[agent_id] = agent
        return agent

    def _queue_counts(self, day: date, queue: str) -> Counts:
        return self._by_queue.setdefault(day, {}).setdefault(queue, Counts())

    def _channel_counts(self, day: date, channel: str) -> Counts:
        return self._by_channel.setdefault(day, {}).setdefault(channel, Counts())

    def _agent_counts(self, day: date, agent_id: str) -> AgentCounts:
        return self._by_agent.setdefault(day, {}).setdefault(agent_id, AgentCounts())

    def _sums(self, c: _Contact, agent_id: str | None = None) -> Iterator[Counts]:
        yield self._queue_counts(c.day, c.queue)
        yield self._channel_counts(c.day, c.channel)
        if agent_id is not None:
            yield self._agent_counts(c.day, agent_id).counts

    def _visit_started(self, c: _Contact, kind: str) -> None:
        for counts in self._sums(c):
            counts.offered += 1
            if kind == "overflow":
                counts.overflowed_in += 1
            elif kind == "transfer":
                counts.transferred_in += 1
        self._m_offered.labels(c.queue, c.channel).inc()

    def _start_waiting(self, c: _Contact) -> None:
        c.wait_seq = next(self._seq)
        self._waiting.setdefault(c.queue, _Waiting()).add(c.contact_id, c.wait_start(), c.wait_seq)

    def _stop_waiting(self, c: _Contact) -> None:
        waiting = self._waiting.get(c.queue)
        if waiting is not None:
            waiting.discard(c.contact_id)

    def _release_offer(self, c: _Contact, at: float) -> None:
        """Free the agent the contact was alerting on, if any."""
        if c.state == "alerting" and c.agent_id is not None:
            agent = self._agents.get(c.agent_id)
            if agent is not None:
                self._advance(agent, at)
                agent.contacts.discard(c.contact_id)
            c.agent_id = None

    def _finish_leg(self, c: _Contact, at: float, *, transferred: bool) -> None:
        agent_id = c.agent_id or ""
        answered = c.answered_at if c.answered_at is not None else at
        ended = c.ended_at if c.state == "wrap_up" and c.ended_at is not None else at
        hold = c.hold_s
        talk = max(0.0, ended - answered - hold)
        wrap = max(0.0, at - ended) if c.state == "wrap_up" else 0.0
        queue = c.leg_queue or c.queue
        sums = (self._queue_counts(c.day, queue), self._channel_counts(c.day, c.channel),
                self._agent_counts(c.day, agent_id).counts)
        for counts in sums:
            counts.handled += 1
            counts.talk_s += talk
            counts.hold_s += hold
            counts.wrap_up_s += wrap
            counts.transferred_out += transferred
        self._m_handle.labels(queue, c.channel).observe(talk + hold + wrap)
        agent = self._agents.get(agent_id)
        if agent is not None:
            self._advance(agent, at)
            agent.contacts.discard(c.contact_id)
        c.agent_id = None
        c.answered_at = c.ended_at = None
        c.hold_s = 0.0
        c.leg_queue = None

    def _drop(self, c: _Contact, at: float) -> None:
        self._stop_waiting(c)
        self._release_offer(c, at)
        if c.agent_id is not None:
            agent = self._agents.get(c.agent_id)
            if agent is not None:
                self._advance(agent, at)
                agent.contacts.discard(c.contact_id)
        del self._contacts[c.contact_id]

    def _spans(self, start: float, end: float) -> Iterator[tuple[date, float]]:
        """(local day, seconds) pieces of [start, end), split at local midnights."""
        while start < end:
            day = self._day_of(start)
            day_end = self._day_cache[1] if self._day_cache else end
            stop = min(end, day_end)
            yield day, stop - start
            start = stop

    @staticmethod
    def _credit(counts: AgentCounts, agent: _Agent, seconds: float) -> None:
        if agent.contacts:
            counts.busy_s += seconds
        elif agent.presence == "available":
            counts.available_idle_s += seconds
        if agent.presence != "offline":
            counts.presence_s[agent.presence] = counts.presence_s.get(agent.presence, 0.0) + seconds
        if agent.presence == "not_ready":
            reason = agent.reason or ""
            counts.not_ready_reason_s[reason] = counts.not_ready_reason_s.get(reason, 0.0) + seconds

    def _advance(self, agent: _Agent, at: float) -> None:
        """Book the agent's time since the last change (state unchanged over it)."""
        if at > agent.since:
            for day, seconds in self._spans(agent.since, at):
                self._credit(self._agent_counts(day, agent.agent_id), agent, seconds)
            agent.since = at

    def _agent_day(self, agent: _Agent, day: date, now: float) -> AgentCounts:
        booked = self._by_agent.get(day, {}).get(agent.agent_id)
        result = AgentCounts()
        if booked is not None:
            result.counts.add(booked.counts)
            result.busy_s = booked.busy_s
            result.available_idle_s = booked.available_idle_s
            result.presence_s = dict(booked.presence_s)
            result.not_ready_reason_s = dict(booked.not_ready_reason_s)
        if now > agent.since:
            for span_day, seconds in self._spans(agent.since, now):
                if span_day == day:
                    self._credit(result, agent, seconds)
        return result

    @staticmethod
    def _presence_census(agents: Iterable[_Agent]) -> dict[str, int]:
        census = {"available": 0, "busy": 0, "not_ready": 0, "offline": 0}
        for agent in agents:
            if agent.presence != "offline" and agent.contacts:
                census["busy"] += 1
            census[agent.presence] += 1
            if agent.presence == "not_ready":
                key = f"not_ready:{agent.reason or ''}"
                census[key] = census.get(key, 0) + 1
        return census

    # ----------------------------------------------------------- Prometheus

    def _init_prometheus(self) -> None:
        labels = ("queue", "channel")
        r = self.registry
        self._m_offered = Counter("callcenter_contacts_offered", "Queue visits offered "
                                  "(new, overflow in, transfer in)", labels, registry=r)
        self._m_answered = Counter("callcenter_contacts_answered",
                                   "Queue visits answered by an agent", labels, registry=r)
        self._m_abandoned = Counter("callcenter_contacts_abandoned", "Abandons after the "
                                    "short-abandon threshold", labels, registry=r)
        self._m_short = Counter("callcenter_contacts_short_abandoned",
                                "Abandons within the short-abandon threshold", labels, registry=r)
        self._m_wait = Histogram("callcenter_wait_seconds", "Wait from queue entry to answer "
                                 "(ring time included)", labels, buckets=WAIT_BUCKETS, registry=r)
        self._m_handle = Histogram("callcenter_handle_seconds", "Handle time of an agent leg "
                                   "(talk + hold + wrap-up)", labels, buckets=HANDLE_BUCKETS,
                                   registry=r)
        r.register(_LiveCollector(self))


class _LiveCollector(Collector):
    """Gauges read from the live figures at scrape time (today, local day)."""

    def __init__(self, live: LiveMetrics) -> None:
        self.live = live

    def describe(self) -> list[Metric]:
        return []  # not known until scraped; auto_describe is not needed for these

    def collect(self) -> Iterator[Metric]:
        yield from gauges(self.live, self.live.clock())


_QUEUE_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("waiting", "callcenter_queue_waiting", "Contacts waiting (queued or alerting)"),
    ("longest_wait_s", "callcenter_queue_longest_wait_seconds", "Longest current wait"),
    ("offered", "callcenter_queue_offered_today", "Visits offered today (local day)"),
    ("answered", "callcenter_queue_answered_today", "Visits answered today"),
    ("abandoned", "callcenter_queue_abandoned_today", "Abandons after the threshold today"),
    ("short_abandoned", "callcenter_queue_short_abandoned_today", "Short abandons today"),
    ("asa_s", "callcenter_queue_asa_seconds", "Average speed of answer today"),
    ("aht_s", "callcenter_queue_aht_seconds", "Average handle time today"),
    ("abandon_rate", "callcenter_queue_abandon_rate", "Abandon rate today"),
    ("occupancy", "callcenter_queue_occupancy", "Occupancy of the queue's agents today"),
)


def gauges(live: LiveMetrics, now: float) -> Iterator[Metric]:
    """The gauge families of the live figures at ``now``."""
    stats = live.queue_stats(now)
    for key, name, text in _QUEUE_GAUGES:
        family = GaugeMetricFamily(name, text, labels=["queue"])
        for queue, row in stats.items():
            value = row[key]
            if value is not None:
                family.add_metric([queue], float(value))
        yield family
    sl = GaugeMetricFamily("callcenter_queue_service_level", "Service level today: "
                           "definition=all is answered<=T/(answered+abandoned after threshold), "
                           "definition=served is answered<=T/answered",
                           labels=["queue", "definition"])
    for queue, row in stats.items():
        for definition in ("all", "served"):
            value = row[f"sl_{definition}"]
            if value is not None:
                sl.add_metric([queue, definition], float(value))
    yield sl
    census = live.agents_by_presence()
    by_presence = GaugeMetricFamily("callcenter_agents", "Agents by presence",
                                    labels=["presence"])
    for presence in PRESENCES:
        by_presence.add_metric([presence], float(census[presence]))
    yield by_presence
    yield GaugeMetricFamily("callcenter_agents_busy", "Logged-in agents with >= 1 contact",
                            value=float(census["busy"]))
    reasons = GaugeMetricFamily("callcenter_agents_not_ready", "Not-ready agents by reason",
                                labels=["reason"])
    for key, count in sorted(census.items()):
        if key.startswith("not_ready:"):
            reasons.add_metric([key.partition(":")[2]], float(count))
    yield reasons
    agent_stats = live.agent_stats(now)
    occ = GaugeMetricFamily("callcenter_agent_occupancy", "Agent occupancy today",
                            labels=["agent"])
    handled = GaugeMetricFamily("callcenter_agent_handled_today", "Legs handled today",
                                labels=["agent"])
    for agent_id, row in agent_stats.items():
        if row["occupancy"] is not None:
            occ.add_metric([agent_id], float(row["occupancy"]))
        handled.add_metric([agent_id], float(row["handled"]))
    yield occ
    yield handled


def render_prometheus(live: LiveMetrics) -> bytes:
    """The Prometheus text exposition of ``live``'s registry (for ``/metrics``)."""
    return generate_latest(live.registry)

