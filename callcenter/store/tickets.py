"""Tickets: service requests and complaints, with status and SLA due time.

When no due time is given it follows from kind and priority (docs/store.md):
complaints are answered faster than service requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import NotFound
from callcenter.store.identities import invalid
from callcenter.store.models import (
    OPEN_TICKET_STATUSES,
    TICKET_KINDS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    Ticket,
)
from callcenter.store.timestamps import as_utc, utc_now

SLA_HOURS: dict[tuple[str, str], int] = {
    ("complaint", "urgent"): 4, ("complaint", "high"): 8,
    ("complaint", "normal"): 24, ("complaint", "low"): 48,
    ("service", "urgent"): 8, ("service", "high"): 24,
    ("service", "normal"): 72, ("service", "low"): 120,
}
MAX_OPEN_TICKETS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class TicketRecord:
    id: int
    customer_id: int | None
    kind: str
    subject: str
    status: str
    priority: str
    order_number: str | None
    contact_id: str | None
    opened_at: datetime
    sla_due_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewTicket:
    customer_id: int | None
    kind: str
    subject: str
    priority: str = "normal"
    status: str = "open"
    order_number: str | None = None
    contact_id: str | None = None
    opened_at: datetime | None = None
    sla_due_at: datetime | None = None


def sla_due(kind: str, priority: str, opened_at: datetime) -> datetime:
    """When a ticket of this kind and priority must be answered."""
    return opened_at + timedelta(hours=SLA_HOURS[(kind, priority)])


def check_ticket(kind: str, subject: str, priority: str, status: str) -> None:
    """Raise ``request.validation`` for a bad kind, subject, priority or status."""
    if kind not in TICKET_KINDS:
        raise invalid("ticket.kind", f"must be one of {', '.join(TICKET_KINDS)}")
    if not 1 <= len(subject.strip()) <= 300:
        raise invalid("ticket.subject", "must be 1 to 300 characters")
    if priority not in TICKET_PRIORITIES:
        raise invalid("ticket.priority", f"must be one of {', '.join(TICKET_PRIORITIES)}")
    if status not in TICKET_STATUSES:
        raise invalid("ticket.status", f"must be one of {', '.join(TICKET_STATUSES)}")


def ticket_row(new: NewTicket, *, now: datetime) -> Ticket:
    """A validated ``Ticket`` row for ``new`` (not added to any session)."""
    check_ticket(new.kind, new.subject, new.priority, new.status)
    opened = as_utc(new.opened_at) if new.opened_at else now
    due = as_utc(new.sla_due_at) if new.sla_due_at else sla_due(new.kind, new.priority, opened)
    closed = new.status in ("resolved", "closed")
    return Ticket(customer_id=new.customer_id, kind=new.kind, subject=new.subject.strip(),
                  status=new.status, priority=new.priority, order_number=new.order_number,
                  contact_id=new.contact_id, opened_at=opened, sla_due_at=due,
                  resolved_at=now if closed else None, updated_at=now)


def ticket_record(row: Ticket) -> TicketRecord:
    return TicketRecord(id=row.id, customer_id=row.customer_id, kind=row.kind,
                        subject=row.subject, status=row.status, priority=row.priority,
                        order_number=row.order_number, contact_id=row.contact_id,
                        opened_at=row.opened_at, sla_due_at=row.sla_due_at,
                        resolved_at=row.resolved_at)


async def open_ticket(session: AsyncSession, new: NewTicket) -> TicketRecord:
    """Create a ticket; the SLA due time defaults from kind and priority."""
    row = ticket_row(new, now=utc_now())
    session.add(row)
    await session.flush()
    return ticket_record(row)


async def get_ticket(session: AsyncSession, ticket_id: int) -> TicketRecord:
    row = await session.get(Ticket, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found", code="ticket.not_found")
    return ticket_record(row)


async def set_ticket_status(
    session: AsyncSession, ticket_id: int, status: str, *, at: datetime | None = None
) -> TicketRecord:
    """Move a ticket to ``status``; resolving or closing stamps ``resolved_at``."""
    if status not in TICKET_STATUSES:
        raise invalid("ticket.status", f"must be one of {', '.join(TICKET_STATUSES)}")
    row = await session.get(Ticket, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found", code="ticket.not_found")
    now = as_utc(at) if at else utc_now()
    row.status = status
    row.updated_at = now
    if status in ("resolved", "closed"):
        row.resolved_at = row.resolved_at or now
    else:
        row.resolved_at = None
    await session.flush()
    return ticket_record(row)


async def open_tickets(session: AsyncSession, customer_id: int) -> list[TicketRecord]:
    """A customer's open and pending tickets, most urgent due time first."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.sla_due_at, Ticket.id)
        .limit(MAX_OPEN_TICKETS_SHOWN)
    )
    return [ticket_record(row) for row in rows]
