"""Interaction write-back: the contact record (CTR) of every finished contact.

One :class:`InteractionRecord` per contact, with one :class:`LegRecord` per agent
who handled it and optionally a ticket to open or update. :func:`write_interactions`
writes a whole batch in the caller's transaction (a few statements per batch, not
per record); :func:`commit_interactions` wraps it in its own transaction and
returns only once the batch is committed, i.e. durable.

A contact is recorded once: ``contact_id`` is unique, and a record for a contact
that is already stored is skipped and reported as a duplicate, so retrying a
batch after a crash is safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.errors import FieldError, NotFound, ValidationFailed
from callcenter.store.bulk import insert_rows
from callcenter.store.models import (
    CHANNELS,
    DIRECTIONS,
    OUTCOMES,
    TICKET_KINDS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    Interaction,
    InteractionLeg,
)
from callcenter.store.tickets import NewTicket, set_ticket_status, ticket_row
from callcenter.store.timestamps import as_utc, utc_now

# Keeps every statement well under SQLite's and asyncpg's bound-parameter limits.
_IN_CHUNK = 500
_TIMES = ("arrived_at", "ivr_left_at", "queued_at", "alerting_at", "answered_at", "ended_at",
          "wrap_up_ended_at")
_DURATIONS = ("wait_s", "talk_s", "hold_s", "wrap_up_s")


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One agent's part of a contact; ``leg_no`` counts from 1 in handling order."""

    leg_no: int
    agent_id: str
    queue: str | None = None
    alerting_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0


@dataclass(frozen=True, slots=True)
class TicketChange:
    """A ticket the wrap-up opens (``ticket_id`` None) or moves to ``status``."""

    kind: str = "service"
    subject: str = ""
    priority: str = "normal"
    status: str = "open"
    ticket_id: int | None = None


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """The contact trace record of DESIGN §5.

    ``handle_s`` defaults to talk + hold + wrap-up; ``agent_id`` to the agent of
    the last leg. ``interaction_id`` is filled in when read back from the store.
    """

    contact_id: str
    channel: str
    outcome: str
    arrived_at: datetime
    direction: str = "inbound"
    customer_id: int | None = None
    first_queue: str | None = None
    last_queue: str | None = None
    ivr_left_at: datetime | None = None
    queued_at: datetime | None = None
    alerting_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrap_up_ended_at: datetime | None = None
    wait_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0
    handle_s: float | None = None
    disposition: str | None = None
    notes: str | None = None
    ivr_path: tuple[Any, ...] = ()
    csat: int | None = None
    transfers: int = 0
    overflows: int = 0
    agent_id: str | None = None
    legs: tuple[LegRecord, ...] = ()
    ticket: TicketChange | None = None
    interaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a batch write did; every id is durable once the transaction commits."""

    written: int
    duplicates: tuple[str, ...] = ()
    interaction_ids: dict[str, int] = field(default_factory=dict)
    ticket_ids: dict[str, int] = field(default_factory=dict)


def validate_interaction(record: InteractionRecord, path: str = "record") -> list[FieldError]:
    """Every problem with a record (empty when it can be written)."""
    problems: list[FieldError] = []

    def bad(name: str, message: str) -> None:
        problems.append(FieldError(f"{path}.{name}", message))

    if not record.contact_id or len(record.contact_id) > 64:
        bad("contact_id", "must be 1 to 64 characters")
    if record.channel not in CHANNELS:
        bad("channel", f"must be one of {', '.join(CHANNELS)}")
    if record.direction not in DIRECTIONS:
        bad("direction", f"must be one of {', '.join(DIRECTIONS)}")
    if record.outcome not in OUTCOMES:
        bad("outcome", f"must be one of {', '.join(OUTCOMES)}")
    for name in _TIMES:
        value = getattr(record, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            bad(name, "must be an aware datetime")
    for name in (*_DURATIONS, "handle_s"):
        value = getattr(record, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            bad(name, "must be a non-negative number of seconds")
    if record.csat is not None and not 1 <= record.csat <= 5:
        bad("csat", "must be 1 to 5")
    if record.transfers < 0 or record.overflows < 0:
        bad("transfers", "counts must not be negative")
    numbers = [leg.leg_no for leg in record.legs]
    if len(set(numbers)) != len(numbers) or any(n < 1 for n in numbers):
        bad("legs", "leg_no must be unique and start at 1")
    for i, leg in enumerate(record.legs):
        if not leg.agent_id:
            bad(f"legs[{i}].agent_id", "must not be empty")
        for name in ("talk_s", "hold_s", "wrap_up_s"):
            value = getattr(leg, name)
            if not math.isfinite(value) or value < 0:
                bad(f"legs[{i}].{name}", "must be a non-negative number of seconds")
        for name in ("alerting_at", "answered_at", "ended_at"):
            value = getattr(leg, name)
            if value is not None and value.tzinfo is None:
                bad(f"legs[{i}].{name}", "must be an aware datetime")
    ticket = record.ticket
    if ticket is not None:
        if ticket.status not in TICKET_STATUSES:
            bad("ticket.status", f"must be one of {', '.join(TICKET_STATUSES)}")
        if ticket.ticket_id is None:
            if ticket.kind not in TICKET_KINDS:
                bad("ticket.kind", f"must be one of {', '.join(TICKET_KINDS)}")
            if ticket.priority not in TICKET_PRIORITIES:
                bad("ticket.priority", f"must be one of {', '.join(TICKET_PRIORITIES)}")
            if not 1 <= len(ticket.subject.strip()) <= 300:
                bad("ticket.subject", "must be 1 to 300 characters")
    return problems


def _interaction_row(record: InteractionRecord) -> dict[str, Any]:
    handle = record.handle_s
    if handle is None:
        handle = record.talk_s + record.hold_s + record.wrap_up_s
    agent = record.agent_id
    if agent is None and record.legs:
        agent = max(record.legs, key=lambda leg: leg.leg_no).agent_id
    row: dict[str, Any] = {
        "contact_id": record.contact_id, "channel": record.channel,
        "direction": record.direction, "customer_id": record.customer_id,
        "first_queue": record.first_queue, "last_queue": record.last_queue or record.first_queue,
        "agent_id": agent, "handle_s": float(handle), "outcome": record.outcome,
        "disposition": record.disposition, "notes": record.notes,
        "ivr_path": list(record.ivr_path), "csat": record.csat,
        "transfers": record.transfers, "overflows": record.overflows,
    }
    for name in _TIMES:
        row[name] = getattr(record, name)
    for name in _DURATIONS:
        row[name] = float(getattr(record, name))
    return row


def _leg_row(interaction_id: int, leg: LegRecord) -> dict[str, Any]:
    return {
        "interaction_id": interaction_id, "leg_no": leg.leg_no, "agent_id": leg.agent_id,
        "queue": leg.queue, "alerting_at": leg.alerting_at, "answered_at": leg.answered_at,
        "ended_at": leg.ended_at, "talk_s": float(leg.talk_s), "hold_s": float(leg.hold_s),
        "wrap_up_s": float(leg.wrap_up_s),
    }


async def recorded_contact_ids(session: AsyncSession, contact_ids: Sequence[str]) -> set[str]:
    """Which of these contacts already have an interaction record."""
    found: set[str] = set()
    for start in range(0, len(contact_ids), _IN_CHUNK):
        chunk = contact_ids[start:start + _IN_CHUNK]
        found.update(await session.scalars(
            select(Interaction.contact_id).where(Interaction.contact_id.in_(chunk))
        ))
    return found


async def _interaction_ids(session: AsyncSession, contact_ids: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(contact_ids), _IN_CHUNK):
        chunk = contact_ids[start:start + _IN_CHUNK]
        rows = await session.execute(
            select(Interaction.contact_id, Interaction.id)
            .where(Interaction.contact_id.in_(chunk))
        )
        ids.update({contact_id: interaction_id for contact_id, interaction_id in rows})
    return ids


async def write_interactions(
    session: AsyncSession, records: Sequence[InteractionRecord]
) -> WriteResult:
    """Write a batch of records (+ legs, + tickets) in the session's transaction.

    Raises ``request.validation`` (nothing written) when any record is invalid.
    Contacts already recorded, or repeated within the batch, are skipped.
    """
    problems = [p for i, r in enumerate(records) for p in validate_interaction(r, f"records[{i}]")]
    if problems:
        raise ValidationFailed(f"{len(problems)} invalid interaction field(s): "
                               f"{problems[0].path}: {problems[0].message}", fields=problems)
    existing = await recorded_contact_ids(session, [r.contact_id for r in records])
    fresh: list[InteractionRecord] = []
    duplicates: list[str] = []
    for record in records:
        if record.contact_id in existing:
            duplicates.append(record.contact_id)
        else:
            existing.add(record.contact_id)
            fresh.append(record)
    if not fresh:
        return WriteResult(written=0, duplicates=tuple(duplicates))

    # Bulk statements without RETURNING (the driver's executemany / COPY), then one
    # indexed read for the new ids: far cheaper per record than RETURNING through
    # SQLAlchemy's per-value processing.
    connection = await session.connection()
    await insert_rows(connection, "interactions", [_interaction_row(r) for r in fresh])
    ids = await _interaction_ids(session, [r.contact_id for r in fresh])
    legs = [_leg_row(ids[r.contact_id], leg) for r in fresh for leg in r.legs]
    await insert_rows(connection, "interaction_legs", legs)

    ticket_ids: dict[str, int] = {}
    now = utc_now()
    for record in fresh:
        change = record.ticket
        if change is None:
            continue
        if change.ticket_id is not None:
            await set_ticket_status(session, change.ticket_id, change.status,
                                    at=record.wrap_up_ended_at or record.ended_at or now)
            ticket_ids[record.contact_id] = change.ticket_id
            continue
        opened = record.wrap_up_ended_at or record.ended_at or now
        row = ticket_row(NewTicket(customer_id=record.customer_id, kind=change.kind,
                                   subject=change.subject, priority=change.priority,
                                   status=change.status, contact_id=record.contact_id,
                                   opened_at=opened), now=as_utc(opened))
        session.add(row)
        await session.flush()
        ticket_ids[record.contact_id] = row.id
    return WriteResult(written=len(fresh), duplicates=tuple(duplicates), interaction_ids=ids,
                       ticket_ids=ticket_ids)


async def commit_interactions(
    sessionmaker: async_sessionmaker[AsyncSession], records: Sequence[InteractionRecord]
) -> WriteResult:
    """Write a batch in one transaction; returns only after the commit (durable)."""
    async with sessionmaker.begin() as session:
        return await write_interactions(session, records)


def _record(row: Interaction, legs: Sequence[InteractionLeg]) -> InteractionRecord:
    return InteractionRecord(
        interaction_id=row.id, contact_id=row.contact_id, channel=row.channel,
        outcome=row.outcome, arrived_at=row.arrived_at, direction=row.direction,
        customer_id=row.customer_id, first_queue=row.first_queue, last_queue=row.last_queue,
        ivr_left_at=row.ivr_left_at, queued_at=row.queued_at, alerting_at=row.alerting_at,
        answered_at=row.answered_at, ended_at=row.ended_at,
        wrap_up_ended_at=row.wrap_up_ended_at, wait_s=row.wait_s, talk_s=row.talk_s,
        hold_s=row.hold_s, wrap_up_s=row.wrap_up_s, handle_s=row.handle_s,
        disposition=row.disposition, notes=row.notes, ivr_path=tuple(row.ivr_path or ()),
        csat=row.csat, transfers=row.transfers, overflows=row.overflows, agent_id=row.agent_id,
        legs=tuple(
            LegRecord(leg_no=leg.leg_no, agent_id=leg.agent_id, queue=leg.queue,
                      alerting_at=leg.alerting_at, answered_at=leg.answered_at,
                      ended_at=leg.ended_at, talk_s=leg.talk_s, hold_s=leg.hold_s,
                      wrap_up_s=leg.wrap_up_s)
            for leg in legs
        ),
    )


async def get_interaction(session: AsyncSession, contact_id: str) -> InteractionRecord:
    """The record of one contact with its legs; ``interaction.not_found`` if none."""
    row = await session.scalar(select(Interaction).where(Interaction.contact_id == contact_id))
    if row is None:
        raise NotFound(f"no interaction for contact {contact_id}", code="interaction.not_found")
    legs = await session.scalars(
        select(InteractionLeg).where(InteractionLeg.interaction_id == row.id)
        .order_by(InteractionLeg.leg_no)
    )
    return _record(row, list(legs))


async def customer_interactions(
    session: AsyncSession, customer_id: int, *, limit: int = 10,
    before: datetime | None = None,
) -> list[InteractionRecord]:
    """A customer's newest records first, without legs (history lists)."""
    query = select(Interaction).where(Interaction.customer_id == customer_id)
    if before is not None:
        query = query.where(Interaction.arrived_at < as_utc(before))
    rows = await session.scalars(
        query.order_by(Interaction.arrived_at.desc(), Interaction.id.desc()).limit(limit)
    )
    return [_record(row, ()) for row in rows]
