"""What the IVR asks the CRM, and the rows of calls that end in the IVR.

Reads (one indexed query each, no lazy loads):

- :func:`customer_by_phone` / :func:`customer_by_account` / :func:`customer_by_order`:
  the caller for ``LookupCustomer`` (ANI, account number = customer id, order number);
- :func:`order_status`: ``LookupOrder``;
- :func:`open_tickets_of`: ``LookupTickets`` (open tickets, most recent first).

Writes:

- :func:`record_ivr_end`: a call that never reached a queue (contained, abandoned in
  the IVR, voicemail, callback, transferred): its ``contacts`` row and its interaction
  record, in one transaction (the record is skipped if the contact has one already);
- :func:`patch_ivr_times`: the IVR part of the record of a contact the IVR queued,
  which the router's write-back wrote without it (``arrived_at`` = the call's arrival,
  ``ivr_left_at``, and the wait without the priority boost); idempotent;
- :func:`unpatched_ivr_contacts`: contacts whose record still misses that (the server
  stopped between the two writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.errors import ValidationFailed
from callcenter.store.engine import write_with_retry
from callcenter.store.identities import normalize_identity
from callcenter.store.interactions import InteractionRecord, write_interactions
from callcenter.store.models import (
    KEY_ACCOUNT_TIERS,
    OPEN_TICKET_STATUSES,
    Contact,
    Customer,
    CustomerIdentity,
    Interaction,
    Order,
    Ticket,
)
from callcenter.store.timestamps import as_utc

_CUSTOMER_COLUMNS = (Customer.id, Customer.name, Customer.tier, Customer.segment,
                     Customer.language, Customer.notes)


@dataclass(frozen=True, slots=True)
class IvrCustomer:
    """The fields a flow may test (``tier``, ``key_account``, ``segment``, ``language``)."""

    id: int
    name: str
    tier: str
    segment: str
    language: str
    provisional: bool = False

    @property
    def key_account(self) -> bool:
        return self.tier in KEY_ACCOUNT_TIERS

    def as_event(self) -> dict[str, Any]:
        """The mapping ``CustomerIdentified`` carries."""
        return {"id": self.id, "name": self.name, "tier": self.tier,
                "key_account": self.key_account, "segment": self.segment,
                "language": self.language}


@dataclass(frozen=True, slots=True)
class IvrOrder:
    """An order as read back to the caller (its fields become ``order_<field>``)."""

    number: str
    status: str
    placed_at: str
    total: str
    currency: str
    item_count: int
    customer_id: int

    def as_event(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status, "placed_at": self.placed_at,
                "total": self.total, "currency": self.currency,
                "item_count": self.item_count}


@dataclass(frozen=True, slots=True)
class IvrTicket:
    id: int
    kind: str
    subject: str
    status: str
    opened_at: str
    sla_due_at: str | None

    def as_event(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": self.subject,
                "status": self.status, "opened_at": self.opened_at,
                "sla_due_at": self.sla_due_at}


def _customer(row: Any) -> IvrCustomer:
    return IvrCustomer(id=int(row.id), name=row.name, tier=row.tier, segment=row.segment,
                       language=row.language,
                       provisional=bool(row.notes and row.notes.startswith("[provisional]")))


async def customer_by_phone(session: AsyncSession, phone: str) -> IvrCustomer | None:
    """The customer owning this phone number (normalised first); None if unknown or
    not a phone number (a withheld ANI)."""
    try:
        value = normalize_identity("phone", phone)
    except ValidationFailed:
        return None
    row = (await session.execute(
        select(*_CUSTOMER_COLUMNS)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.kind == "phone", CustomerIdentity.value == value))).first()
    return None if row is None else _customer(row)


async def customer_by_account(session: AsyncSession, account: str) -> IvrCustomer | None:
    """The customer whose account number (the CRM customer id) was keyed in."""
    digits = account.strip()
    if not digits.isdigit() or not digits.isascii() or len(digits) > 18:
        return None
    row = (await session.execute(
        select(*_CUSTOMER_COLUMNS).where(Customer.id == int(digits)))).first()
    return None if row is None else _customer(row)


async def customer_by_order(session: AsyncSession, number: str) -> IvrCustomer | None:
    """The customer who placed this order."""
    row = (await session.execute(
        select(*_CUSTOMER_COLUMNS).join(Order, Order.customer_id == Customer.id)
        .where(Order.number == number.strip()))).first()
    return None if row is None else _customer(row)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


async def order_status(session: AsyncSession, number: str) -> IvrOrder | None:
    """The order with this number, or None."""
    row = await session.scalar(select(Order).where(Order.number == number.strip()))
    if row is None:
        return None
    return IvrOrder(number=row.number, status=row.status,
                    placed_at=as_utc(row.placed_at).date().isoformat(),
                    total=_money(row.total_cents), currency=row.currency,
                    item_count=row.item_count, customer_id=row.customer_id)


async def open_tickets_of(session: AsyncSession, customer_id: int, *,
                          limit: int = 20) -> list[IvrTicket]:
    """The customer's open (or pending) tickets, most recently opened first."""
    rows = await session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id,
                             Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc()).limit(limit))
    return [IvrTicket(id=t.id, kind=t.kind, subject=t.subject, status=t.status,
                      opened_at=as_utc(t.opened_at).isoformat(),
                      sla_due_at=as_utc(t.sla_due_at).isoformat() if t.sla_due_at else None)
            for t in rows]


async def record_ivr_end(sessionmaker: async_sessionmaker[AsyncSession],
                         contact: Mapping[str, Any], record: InteractionRecord) -> bool:
    """Write the contact row (if new) and the record of a call that ended in the IVR,
    in one transaction. Returns False when the contact was recorded before."""
    async def write(db: AsyncSession) -> bool:
        known = await db.scalar(select(Contact.id).where(Contact.id == contact["id"]))
        if known is None:
            await db.execute(insert(Contact).values(**contact))
        result = await write_interactions(db, [record])
        return result.written == 1

    return await write_with_retry(sessionmaker, write)


async def patch_ivr_times(sessionmaker: async_sessionmaker[AsyncSession],
                          contact_id: str) -> bool:
    """Add the IVR part (``contacts.payload["ivr"]``) to the contact's interaction record.

    Idempotent: a record that has ``ivr_left_at`` already is left alone. Returns
    whether it changed the record.
    """
    async def patch(db: AsyncSession) -> bool:
        payload = await db.scalar(select(Contact.payload).where(Contact.id == contact_id))
        ivr = (payload or {}).get("ivr")
        if not isinstance(ivr, dict) or ivr.get("left_at") is None:
            return False
        record = (await db.execute(
            select(Interaction.id, Interaction.ivr_left_at, Interaction.wait_s)
            .where(Interaction.contact_id == contact_id))).first()
        if record is None or record.ivr_left_at is not None:
            return False
        boost = float(ivr.get("boost_s") or 0.0)
        await db.execute(update(Interaction).where(Interaction.id == record.id).values(
            arrived_at=_at(ivr["started_at"]), ivr_left_at=_at(ivr["left_at"]),
            wait_s=max(0.0, float(record.wait_s) - boost)))
        return True

    return await write_with_retry(sessionmaker, patch)


async def unpatched_ivr_contacts(sessionmaker: async_sessionmaker[AsyncSession], *,
                                 limit: int = 1000) -> list[str]:
    """Contacts queued by the IVR whose record does not show the IVR part yet."""
    async with sessionmaker() as db:
        rows = await db.execute(
            select(Contact.id, Contact.payload)
            .join(Interaction, Interaction.contact_id == Contact.id)
            .where(Interaction.ivr_left_at.is_(None), Contact.channel == "voice")
            .order_by(Contact.updated_at.desc()).limit(limit))
        return [cid for cid, payload in rows if isinstance((payload or {}).get("ivr"), dict)]


async def ivr_contact_ids(sessionmaker: async_sessionmaker[AsyncSession],
                          contact_ids: Sequence[str]) -> set[str]:
    """Which of these contacts the IVR queued (``payload["ivr"]`` is set)."""
    found: set[str] = set()
    async with sessionmaker() as db:
        for start in range(0, len(contact_ids), 500):
            rows = await db.execute(select(Contact.id, Contact.payload)
                                    .where(Contact.id.in_(list(contact_ids[start:start + 500]))))
            found.update(cid for cid, payload in rows
                         if isinstance((payload or {}).get("ivr"), dict))
    return found


def _at(seconds: float) -> datetime:
    """UTC seconds (as kept in ``payload["ivr"]``) as an aware datetime."""
    return datetime.fromtimestamp(float(seconds), UTC)


__all__ = [
    "IvrCustomer",
    "IvrOrder",
    "IvrTicket",
    "customer_by_account",
    "customer_by_order",
    "customer_by_phone",
    "ivr_contact_ids",
    "open_tickets_of",
    "order_status",
    "patch_ivr_times",
    "record_ivr_end",
    "unpatched_ivr_contacts",
]
