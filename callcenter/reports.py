"""Interval reports from the interaction records (DESIGN §6, ``docs/metrics.md``).

:func:`interval_report` reads the records of a period (one query per table),
splits every contact into its queue *visits* (:func:`queue_visits`, the
attribution rules in one place), and sums them per local interval (15, 30, 60
minutes or day) and per queue, channel or agent with the definitions of
``callcenter.metrics``. Agent rows add time-based figures (occupancy, time per
presence and not-ready reason) from the legs and the presence log, split at
interval boundaries. :func:`report_json` is what the HTTP API returns,
:func:`to_csv` the CSV export; ``callcenter report`` is the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from callcenter.config import Config
from callcenter.errors import CallCenterError, FieldError, ValidationFailed
from callcenter.metrics import (
    DEFAULT_SL_TARGET_S,
    Counts,
    figures,
    interval_start,
    local_iso,
    occupancy,
)
from callcenter.store.models import AgentPresenceLog, Interaction, InteractionLeg, Survey

__all__ = [
    "CSV_COLUMNS",
    "ContactFacts",
    "LegFacts",
    "ReportRow",
    "Visit",
    "add_arguments",
    "interval_report",
    "local_period",
    "queue_visits",
    "report_json",
    "run",
    "to_csv",
]

Interval = Literal[15, 30, 60, "day"]
GroupBy = Literal["queue", "channel", "agent"]
INTERVALS: tuple[Interval, ...] = (15, 30, 60, "day")
GROUPS: tuple[GroupBy, ...] = ("queue", "channel", "agent")
#: Outcomes that end a visit without an agent and without an abandon.
EXIT_OUTCOMES = ("voicemail", "contained", "callback", "transferred")
#: Legs whose busy time (ring + talk + wrap-up) may reach into the period from before it.
MAX_LEG_SPAN_S = 6 * 3600.0

Executor = AsyncEngine | AsyncConnection | AsyncSession


# --------------------------------------------------------------------------- attribution


@dataclass(frozen=True, slots=True)
class LegFacts:
    """One agent leg, times as UTC seconds."""

    agent_id: str
    queue: str | None
    alerting_at: float | None
    answered_at: float | None
    ended_at: float | None
    talk_s: float
    hold_s: float
    wrap_up_s: float

    @property
    def handle_s(self) -> float:
        return self.talk_s + self.hold_s + self.wrap_up_s


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What a report needs of one interaction record, times as UTC seconds."""

    contact_id: str
    channel: str
    outcome: str
    arrived_at: float
    queued_at: float | None
    ended_at: float | None
    first_queue: str | None
    last_queue: str | None
    agent_id: str | None
    wait_s: float
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0
    answered_at: float | None = None
    ivr_steps: int = 0
    legs: tuple[LegFacts, ...] = ()
    #: (csat, nps) answers: survey rows, else the record's own CSAT.
    answers: tuple[tuple[int | None, int | None], ...] = ()

    @property
    def attributed_at(self) -> float:
        """The instant that places the contact in an interval: first queue entry."""
        return self.queued_at if self.queued_at is not None else self.arrived_at


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay of a contact in one queue.

    ``came_by``: ``new``, ``overflow`` or ``transfer``. ``end``: ``answered``,
    ``abandoned``, ``short_abandon``, ``overflow`` (moved on unanswered), ``exit``
    (voicemail, auto-reply...). ``wait_s`` is set for answered and abandoned
    visits; ``transferred_out`` marks an answered visit whose agent transferred.
    """

    queue: str
    came_by: str
    end: str
    wait_s: float | None = None
    leg: LegFacts | None = None
    transferred_out: bool = False


def queue_visits(contact: ContactFacts) -> list[Visit]:
    """The queue visits of a contact, rebuilt from its record and legs.

    The record keeps the first and last queue and one queue per leg: the path is
    first queue, each leg's queue, and (when the last leg did not finish the
    contact) the last queue. Moving between queues without an answer is an
    overflow; a leg followed by more handling is a transfer. An overflow chain of
    several hops, or an overflow after a transfer, shows only its ends.
    """
    queue = contact.first_queue or contact.last_queue
    if queue is None or (contact.queued_at is None and not contact.legs):
        return []
    legs = contact.legs
    if not legs and contact.outcome == "answered":
        # A record written without legs: its own fields make the one leg.
        legs = (LegFacts(contact.agent_id or "", contact.last_queue or queue, None,
                         contact.answered_at, contact.ended_at, contact.talk_s,
                         contact.hold_s, contact.wrap_up_s),)
    visits: list[Visit] = []
    came_by = "new"
    wait_from: float | None = None  # None: the record's wait (from first queue entry)
    for index, leg in enumerate(legs):
        leg_queue = leg.queue or queue
        if leg_queue != queue:
            visits.append(Visit(queue, came_by, "overflow"))
            queue, came_by = leg_queue, "overflow"
        if wait_from is None or leg.answered_at is None:
            wait = contact.wait_s
        else:
            wait = max(0.0, leg.answered_at - wait_from)
        final = index == len(legs) - 1 and contact.outcome == "answered"
        visits.append(Visit(queue, came_by, "answered", wait, leg, transferred_out=not final))
        if not final:
            came_by = "transfer"
            wait_from = leg.ended_at if leg.ended_at is not None else leg.answered_at
            if index + 1 < len(legs):
                queue = legs[index + 1].queue or queue
            else:
                queue = contact.last_queue or queue
    if contact.outcome == "answered":
        return visits
    if came_by != "transfer" and contact.last_queue and contact.last_queue != queue:
        visits.append(Visit(queue, came_by, "overflow"))
        queue, came_by = contact.last_queue, "overflow"
    if contact.outcome in ("abandoned", "short_abandon"):
        if wait_from is None or contact.ended_at is None:
            wait = contact.wait_s
        else:
            wait = max(0.0, contact.ended_at - wait_from)
        visits.append(Visit(queue, came_by, contact.outcome, wait))
    else:
        visits.append(Visit(queue, came_by, "exit"))
    return visits


# --------------------------------------------------------------------------- rows


@dataclass(slots=True)
class ReportRow:
    """One interval of one queue, channel or agent."""

    interval_start: float
    interval_end: float
    group_by: str
    key: str | None
    counts: Counts = field(default_factory=Counts)
    sl_target_s: float | None = None
    callbacks: int = 0
    ivr_entered: int = 0
    ivr_contained: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    csat_satisfied: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    nps_count: int = 0
    busy_s: float = 0.0
    available_idle_s: float = 0.0
    presence_s: dict[str, float] = field(default_factory=dict)
    not_ready_reason_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self, time_zone: str | ZoneInfo) -> dict[str, Any]:
        """JSON-able: local ISO interval bounds, raw sums and derived figures."""
        c = self.counts
        out: dict[str, Any] = {
            "interval_start": local_iso(self.interval_start, time_zone),
            "interval_end": local_iso(self.interval_end, time_zone),
            "group_by": self.group_by,
            "key": self.key,
            **figures(c),
            "sl_target_s": self.sl_target_s,
            "callbacks": self.callbacks,
            "ivr_entered": self.ivr_entered,
            "ivr_contained": self.ivr_contained,
            "ivr_containment": (self.ivr_contained / self.ivr_entered
                                if self.ivr_entered else None),
            "csat_count": self.csat_count,
            "csat_avg": self.csat_sum / self.csat_count if self.csat_count else None,
            "csat_satisfied_rate": (self.csat_satisfied / self.csat_count
                                    if self.csat_count else None),
            "nps_count": self.nps_count,
            "nps": (100.0 * (self.nps_promoters - self.nps_detractors) / self.nps_count
                    if self.nps_count else None),
        }
        if self.group_by == "agent":
            # Offered/abandoned belong to queues; for an agent they mean nothing.
            for name in ("sl_all", "abandon_rate"):
                out[name] = None
            out.update({
                "busy_s": self.busy_s, "available_idle_s": self.available_idle_s,
                "occupancy": occupancy(self.busy_s, self.available_idle_s),
                "available_s": self.presence_s.get("available", 0.0),
                "not_ready_s": self.presence_s.get("not_ready", 0.0),
                "not_ready_reason_s": dict(sorted(self.not_ready_reason_s.items())),
            })
        return out


CSV_COLUMNS = (
    "interval_start", "interval_end", "group_by", "key", "offered", "overflowed_in",
    "transferred_in", "answered", "answered_within", "sl_target_s", "sl_all", "sl_served",
    "asa_s", "abandoned", "short_abandoned", "abandon_rate", "overflowed_out",
    "transferred_out", "exited", "handled", "talk_s", "hold_s", "wrap_up_s", "aht_s",
    "callbacks", "ivr_entered", "ivr_contained", "ivr_containment", "csat_count", "csat_avg",
    "csat_satisfied_rate", "nps_count", "nps", "busy_s", "available_idle_s", "occupancy",
    "available_s", "not_ready_s", "not_ready_reason_s",
)


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header (:data:`CSV_COLUMNS`); empty cells for undefined figures."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = []
        for name in CSV_COLUMNS:
            value = row.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, dict):
                cells.append(";".join(f"{k}={v:g}" for k, v in value.items()))
            elif isinstance(value, float):
                cells.append(f"{value:.6g}")
            else:
                cells.append(str(value))
        writer.writerow(cells)
    return out.getvalue()


# --------------------------------------------------------------------------- reading


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _attributed_in(start: datetime, end: datetime) -> Any:
    return or_(
        and_(Interaction.queued_at >= start, Interaction.queued_at < end),
        and_(Interaction.queued_at.is_(None), Interaction.arrived_at >= start,
             Interaction.arrived_at < end),
    )


async def _rows(db: Executor, statement: Any) -> list[Any]:
    if isinstance(db, AsyncEngine):
        async with db.connect() as connection:
            return list((await connection.execute(statement)).all())
    return list((await db.execute(statement)).all())


async def load_contacts(db: Executor, start: datetime, end: datetime) -> list[ContactFacts]:
    """The records attributed to [start, end) with legs and survey answers."""
    period = _attributed_in(start, end)
    i = Interaction
    records = await _rows(db, select(
        i.id, i.contact_id, i.channel, i.outcome, i.arrived_at, i.queued_at, i.ended_at,
        i.answered_at, i.first_queue, i.last_queue, i.agent_id, i.wait_s, i.talk_s, i.hold_s,
        i.wrap_up_s, i.ivr_path, i.csat,
    ).where(period))
    leg = InteractionLeg
    leg_rows = await _rows(db, select(
        leg.interaction_id, leg.leg_no, leg.agent_id, leg.queue, leg.alerting_at,
        leg.answered_at, leg.ended_at, leg.talk_s, leg.hold_s, leg.wrap_up_s,
    ).where(leg.interaction_id.in_(select(i.id).where(period))))
    survey_rows = await _rows(db, select(Survey.contact_id, Survey.csat, Survey.nps, Survey.id)
                              .where(Survey.contact_id.in_(select(i.contact_id).where(period))))
    legs: dict[int, list[Any]] = {}
    for row in sorted(leg_rows, key=lambda r: (r.interaction_id, r.leg_no)):
        legs.setdefault(row.interaction_id, []).append(row)
    answers: dict[str, list[tuple[int | None, int | None]]] = {}
    for row in sorted(survey_rows, key=lambda r: r.id):
        answers.setdefault(row.contact_id, []).append((row.csat, row.nps))
    contacts = []
    for r in records:
        mine = answers.get(r.contact_id) or ([(r.csat, None)] if r.csat is not None else [])
        contacts.append(ContactFacts(
            contact_id=r.contact_id, channel=r.channel, outcome=r.outcome,
            arrived_at=r.arrived_at.timestamp(), queued_at=_ts(r.queued_at),
            ended_at=_ts(r.ended_at), first_queue=r.first_queue, last_queue=r.last_queue,
            agent_id=r.agent_id, wait_s=r.wait_s, talk_s=r.talk_s, hold_s=r.hold_s,
            wrap_up_s=r.wrap_up_s, answered_at=_ts(r.answered_at),
            ivr_steps=len(r.ivr_path or ()),
            legs=tuple(LegFacts(g.agent_id, g.queue, _ts(g.alerting_at), _ts(g.answered_at),
                                _ts(g.ended_at), g.talk_s, g.hold_s, g.wrap_up_s)
                       for g in legs.get(r.id, ())),
            answers=tuple(mine),
        ))
    return contacts


@dataclass(slots=True)
class _AgentTimeline:
    """Presence changes (initial state at the period start) and busy spans of an agent."""

    changes: list[tuple[float, str, str | None]] = field(default_factory=list)
    busy: list[tuple[float, float]] = field(default_factory=list)


async def load_agent_time(db: Executor, start: datetime,
                          end: datetime) -> dict[str, _AgentTimeline]:
    """Presence log and leg busy spans reaching into [start, end), per agent."""
    log = AgentPresenceLog
    last_before = (select(log.agent_id, func.max(log.id).label("last_id"))
                   .where(log.at < start).group_by(log.agent_id).subquery())
    presence_rows = await _rows(db, select(log.agent_id, log.at, log.presence, log.reason, log.id)
                                .where(or_(and_(log.at >= start, log.at < end),
                                           log.id.in_(select(last_before.c.last_id)))))
    leg = InteractionLeg
    began = func.coalesce(leg.alerting_at, leg.answered_at)
    leg_rows = await _rows(db, select(leg.agent_id, leg.alerting_at, leg.answered_at,
                                      leg.ended_at, leg.wrap_up_s)
                           .where(began < end,
                                  leg.ended_at >= start - timedelta(seconds=MAX_LEG_SPAN_S)))
    timelines: dict[str, _AgentTimeline] = {}
    start_s = start.timestamp()
    for row in sorted(presence_rows, key=lambda r: (r.at, r.id)):
        timelines.setdefault(row.agent_id, _AgentTimeline()).changes.append(
            (max(start_s, row.at.timestamp()), row.presence, row.reason))
    for row in leg_rows:
        began_at = row.alerting_at or row.answered_at
        if began_at is None or row.ended_at is None:
            continue
        timelines.setdefault(row.agent_id, _AgentTimeline()).busy.append(
            (began_at.timestamp(), row.ended_at.timestamp() + row.wrap_up_s))
    return timelines


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        elif b > a:
            merged.append((a, b))
    return merged


# --------------------------------------------------------------------------- summing


def local_period(start: date | datetime, end: date | datetime,
                 time_zone: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) as aware datetimes: dates mean local midnight, naive datetimes
    local wall time, aware datetimes are taken as they are."""
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)

    def aware(value: date | datetime) -> datetime:
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0))
        return value.replace(tzinfo=tz) if value.tzinfo is None else value

    return aware(start), aware(end)


class _Buckets:
    def __init__(self, time_zone: ZoneInfo, interval: Interval, group_by: GroupBy) -> None:
        self.tz = time_zone
        self.interval = interval
        self.group_by = group_by
        self.rows: dict[tuple[float, str | None], ReportRow] = {}

    def end_of(self, start: float) -> float:
        if self.interval == "day":
            day = datetime.fromtimestamp(start, self.tz).date() + timedelta(days=1)
            return datetime.combine(day, time(0), self.tz).timestamp()
        nxt = start + int(self.interval) * 60
        floored = interval_start(nxt, self.tz, self.interval)
        return floored if floored > start else nxt

    def row(self, at: float, key: str | None) -> ReportRow:
        start = interval_start(at, self.tz, self.interval)
        row = self.rows.get((start, key))
        if row is None:
            row = ReportRow(start, self.end_of(start), self.group_by, key)
            self.rows[(start, key)] = row
        return row


def _add_visit(row: ReportRow, visit: Visit, target: float, callback: bool,
               as_agent: bool) -> None:
    c = row.counts
    if not as_agent:
        c.offered += 1
        c.overflowed_in += visit.came_by == "overflow"
        c.transferred_in += visit.came_by == "transfer"
        row.callbacks += callback
    if visit.end == "answered" and visit.wait_s is not None:
        c.answered += 1
        c.answered_within += visit.wait_s <= target
        c.wait_answered_s += visit.wait_s
        if as_agent:
            row.callbacks += callback
        if visit.leg is not None:
            c.handled += 1
            c.talk_s += visit.leg.talk_s
            c.hold_s += visit.leg.hold_s
            c.wrap_up_s += visit.leg.wrap_up_s
            c.transferred_out += visit.transferred_out
    elif visit.end == "abandoned":
        c.abandoned += 1
        c.wait_abandoned_s += visit.wait_s or 0.0
    elif visit.end == "short_abandon":
        c.short_abandoned += 1
    elif visit.end == "overflow":
        c.overflowed_out += 1
    elif visit.end == "exit":
        c.exited += 1


def _add_answers(row: ReportRow, answers: Sequence[tuple[int | None, int | None]]) -> None:
    for csat, nps in answers:
        if csat is not None:
            row.csat_count += 1
            row.csat_sum += csat
            row.csat_satisfied += csat >= 4
        if nps is not None:
            row.nps_count += 1
            row.nps_promoters += nps >= 9
            row.nps_detractors += nps <= 6


def _add_agent_time(buckets: _Buckets, agent_id: str, timeline: _AgentTimeline,
                    start: float, end: float) -> None:
    busy = [(max(a, start), min(b, end)) for a, b in _union(timeline.busy)]
    points = {start, end}
    for a, b in busy:
        if a < b:
            points.update((a, b))
    changes = [c for c in timeline.changes if c[0] < end]
    points.update(c[0] for c in changes)
    cuts = sorted(p for p in points if start <= p <= end)
    ci = bi = 0
    presence, reason = "offline", None
    for a, b in itertools.pairwise(cuts):
        while ci < len(changes) and changes[ci][0] <= a:
            _, presence, reason = changes[ci]
            ci += 1
        while bi < len(busy) and busy[bi][1] <= a:
            bi += 1
        is_busy = bi < len(busy) and busy[bi][0] <= a < busy[bi][1]
        t = a
        while t < b:
            row = buckets.row(t, agent_id)
            stop = min(b, row.interval_end)
            seconds = stop - t
            if is_busy:
                row.busy_s += seconds
            elif presence == "available":
                row.available_idle_s += seconds
            if presence != "offline":
                row.presence_s[presence] = row.presence_s.get(presence, 0.0) + seconds
            if presence == "not_ready":
                name = reason or ""
                row.not_ready_reason_s[name] = row.not_ready_reason_s.get(name, 0.0) + seconds
            t = stop


def build_rows(contacts: Iterable[ContactFacts], time_zone: str | ZoneInfo,
               interval: Interval, group_by: GroupBy,
               sl_targets: Mapping[str, float] | float = DEFAULT_SL_TARGET_S,
               agent_time: Mapping[str, _AgentTimeline] | None = None,
               period: tuple[float, float] | None = None) -> list[ReportRow]:
    """Sum contacts (and agent time) into rows; pure, no I/O."""
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    buckets = _Buckets(tz, interval, group_by)

    def target(queue: str) -> float:
        if isinstance(sl_targets, Mapping):
            return float(sl_targets.get(queue, DEFAULT_SL_TARGET_S))
        return float(sl_targets)

    for contact in contacts:
        at = contact.attributed_at
        callback = contact.channel == "callback"
        visits = queue_visits(contact)
        for visit in visits:
            if group_by == "agent":
                if visit.leg is not None:
                    _add_visit(buckets.row(at, visit.leg.agent_id), visit, target(visit.queue),
                               callback, as_agent=True)
                continue
            key = visit.queue if group_by == "queue" else contact.channel
            row = buckets.row(at, key)
            _add_visit(row, visit, target(visit.queue), callback, as_agent=False)
            if group_by == "queue":
                row.sl_target_s = target(visit.queue)
        # Contact-level figures: IVR by entry queue, answers by final queue / agent.
        if group_by == "agent":
            final_agent = contact.legs[-1].agent_id if contact.legs else contact.agent_id
            if final_agent is not None and contact.answers:
                _add_answers(buckets.row(at, final_agent), contact.answers)
            continue
        if group_by == "queue":
            entry_key: str | None = visits[0].queue if visits else contact.first_queue
            final_key: str | None = visits[-1].queue if visits else contact.last_queue
        else:
            entry_key = final_key = contact.channel
        if contact.ivr_steps:
            row = buckets.row(at, entry_key)
            row.ivr_entered += 1
            row.ivr_contained += contact.outcome == "contained" and not visits
        if contact.answers:
            _add_answers(buckets.row(at, final_key), contact.answers)
    if group_by == "agent" and agent_time and period is not None:
        for agent_id, timeline in agent_time.items():
            _add_agent_time(buckets, agent_id, timeline, period[0], period[1])
    return sorted(buckets.rows.values(),
                  key=lambda r: (r.interval_start, r.key is None, r.key or ""))


async def interval_report(
    db: Executor, start_local: date | datetime, end_local: date | datetime,
    interval: Interval, time_zone: str, group_by: GroupBy = "queue",
    sl_targets: Mapping[str, float] | float = DEFAULT_SL_TARGET_S,
) -> list[ReportRow]:
    """Rows for the contacts whose first queue entry lies in [start, end) local.

    ``db`` is an engine, connection or session; one query per table. Intervals
    are local wall-clock intervals of ``time_zone`` (DST days have 92/100
    quarter hours). Rows exist only where something happened.
    """
    if interval not in INTERVALS:
        raise ValidationFailed("interval must be 15, 30, 60 or day",
                               fields=[FieldError("interval", "must be 15, 30, 60 or day")])
    if group_by not in GROUPS:
        raise ValidationFailed("group_by must be queue, channel or agent",
                               fields=[FieldError("group_by", "must be queue, channel or agent")])
    start, end = local_period(start_local, end_local, time_zone)
    if end <= start:
        raise ValidationFailed("the period is empty",
                               fields=[FieldError("to", "must be after from")])
    contacts = await load_contacts(db, start, end)
    agent_time = await load_agent_time(db, start, end) if group_by == "agent" else None
    return build_rows(contacts, time_zone, interval, group_by, sl_targets, agent_time,
                      (start.timestamp(), end.timestamp()))


async def report_json(
    db: Executor, start_local: date | datetime, end_local: date | datetime,
    interval: Interval, time_zone: str, group_by: GroupBy = "queue",
    sl_targets: Mapping[str, float] | float = DEFAULT_SL_TARGET_S,
) -> dict[str, Any]:
    """The JSON body of ``GET /api/v1/reports/intervals``."""
    rows = await interval_report(db, start_local, end_local, interval, time_zone, group_by,
                                 sl_targets)
    start, end = local_period(start_local, end_local, time_zone)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "interval": interval,
        "group_by": group_by, "time_zone": time_zone,
        "rows": [row.as_dict(time_zone) for row in rows],
    }


def parse_interval(value: str) -> Interval:
    """``15``, ``30``, ``60`` or ``day`` from text."""
    if value == "day":
        return "day"
    if value in ("15", "30", "60"):
        number: Interval = 15 if value == "15" else 30 if value == "30" else 60
        return number
    raise ValidationFailed(f"interval must be 15, 30, 60 or day, not {value!r}",
                           fields=[FieldError("interval", "must be 15, 30, 60 or day")])


# --------------------------------------------------------------------------- command line


def _parse_local(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError as exc:
        raise CallCenterError(f"not an ISO date or date-time: {text!r}",
                              code="report.invalid_period", status=422) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", required=True,
                        help="first local day or date-time (ISO), inclusive")
    parser.add_argument("--to", dest="end", required=True,
                        help="local day or date-time (ISO) where the period ends, exclusive")
    parser.add_argument("--interval", default="60", choices=["15", "30", "60", "day"])
    parser.add_argument("--by", default="queue", choices=list(GROUPS))
    parser.add_argument("--format", default="table", choices=["table", "csv", "json"])
    parser.add_argument("--sl-target-s", type=float, default=DEFAULT_SL_TARGET_S,
                        help="answer-time threshold T of SL(T) (seconds)")
    parser.add_argument("--url", help="store URL (default: the configured store)")


_TABLE = ("interval_start", "key", "offered", "answered", "abandoned", "short_abandoned",
          "sl_all", "sl_served", "asa_s", "aht_s", "abandon_rate", "transferred_out",
          "overflowed_out", "occupancy", "csat_avg", "nps")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def run(args: argparse.Namespace, config: Config) -> int:
    """``callcenter report``: print an interval report as a table, CSV or JSON."""
    from callcenter.store.engine import make_engine

    url = args.url or config.store.url
    start, end = _parse_local(args.start), _parse_local(args.end)
    interval = parse_interval(args.interval)

    async def fetch() -> dict[str, Any]:
        engine = make_engine(url)
        try:
            return await report_json(engine, start, end, interval, config.center.time_zone,
                                     args.by, args.sl_target_s)
        finally:
            await engine.dispose()

    body = asyncio.run(fetch())
    if args.format == "json":
        print(json.dumps(body, indent=2))
    elif args.format == "csv":
        sys.stdout.write(to_csv(body["rows"]))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{body['from']} - {body['to']} by {args.by}, "
                            f"interval {args.interval}")
        for name in _TABLE:
            table.add_column(name)
        for row in body["rows"]:
            table.add_row(*(_cell(row.get(name)) for name in _TABLE))
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)  # piped: do not squeeze columns to 80
        console.print(table)
    return 0

