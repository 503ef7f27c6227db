"""Customers: create, read, update, search, delete and find by identity.

A tier given by hand (on create or update) locks it (``tier_locked``), so a
segment recompute never overrides an account manager's choice; clearing the
lock (``tier_locked=False``) hands the tier back to the recompute.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import NotFound, ValidationFailed
from callcenter.store.identities import (
    add_identity,
    invalid,
    normalize_email,
    normalize_identity,
    normalize_phone,
)
from callcenter.store.models import (
    KEY_ACCOUNT_TIERS,
    SEGMENTS,
    TIERS,
    Agent,
    Customer,
    CustomerIdentity,
)
from callcenter.store.timestamps import utc_now


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer as the rest of the server sees it."""

    id: int
    name: str
    phone: str | None
    email: str | None
    city: str | None
    language: str
    tier: str
    tier_locked: bool
    account_manager_id: str | None
    lifetime_value_cents: int
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    segment: str
    lifecycle: str
    loyalty_points: int
    loyalty_level: str
    segments_computed_at: datetime | None
    consent_marketing: bool
    consent_recording: bool
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def key_account(self) -> bool:
        """Key accounts are the ``key`` and ``strategic`` tiers."""
        return self.tier in KEY_ACCOUNT_TIERS


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """What a new customer is created from; identities are normalised on the way in."""

    name: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    chat_ids: tuple[str, ...] = ()
    # None: "standard" and left to the recompute; a value is a hand choice and locks it.
    tier: str | None = None
    account_manager_id: str | None = None
    city: str | None = None
    language: str = "zh"
    loyalty_points: int = 0
    consent_marketing: bool = False
    consent_recording: bool = True
    notes: str | None = None


class Unchanged(enum.Enum):
    """Marks a field of :class:`CustomerChanges` that the update leaves alone."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """A partial update: fields left ``UNCHANGED`` keep their value."""

    name: str | Unchanged = UNCHANGED
    phone: str | Unchanged | None = UNCHANGED
    email: str | Unchanged | None = UNCHANGED
    city: str | Unchanged | None = UNCHANGED
    language: str | Unchanged = UNCHANGED
    tier: str | Unchanged = UNCHANGED
    tier_locked: bool | Unchanged = UNCHANGED
    account_manager_id: str | Unchanged | None = UNCHANGED
    loyalty_points: int | Unchanged = UNCHANGED
    consent_marketing: bool | Unchanged = UNCHANGED
    consent_recording: bool | Unchanged = UNCHANGED
    notes: str | Unchanged | None = UNCHANGED

    def given(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if value is not UNCHANGED}


def customer_record(row: Customer) -> CustomerRecord:
    """The dataclass of a loaded ``Customer`` row."""
    return CustomerRecord(**{f.name: getattr(row, f.name) for f in fields(CustomerRecord)})


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise invalid("tier", f"unknown tier {tier!r} (tiers: {', '.join(TIERS)})")


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise invalid("name", "must be 1 to 200 characters")
    return name


async def _check_account_manager(session: AsyncSession, agent_id: str | None) -> None:
    if agent_id is not None and await session.get(Agent, agent_id) is None:
        raise invalid("account_manager_id", f"no agent {agent_id!r}")


async def create_customer(
    session: AsyncSession, new: NewCustomer, *, at: datetime | None = None
) -> CustomerRecord:
    """Create a customer with its identities (``customer.identity_taken`` if one is in use)."""
    name = _check_name(new.name)
    phones = [normalize_phone(p) for p in new.phones]
    emails = [normalize_email(e) for e in new.emails]
    chat_ids = [normalize_identity("chat", c) for c in new.chat_ids]
    if new.tier is not None:
        _check_tier(new.tier)
    if new.loyalty_points < 0:
        raise invalid("loyalty_points", "must not be negative")
    await _check_account_manager(session, new.account_manager_id)
    now = at or utc_now()
    row = Customer(
        name=name,
        phone=phones[0] if phones else None,
        email=emails[0] if emails else None,
        city=new.city,
        language=new.language,
        tier=new.tier or "standard",
        tier_locked=new.tier is not None,
        account_manager_id=new.account_manager_id,
        loyalty_points=new.loyalty_points,
        consent_marketing=new.consent_marketing,
        consent_recording=new.consent_recording,
        notes=new.notes,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    for kind, values in (("phone", phones), ("email", emails), ("chat", chat_ids)):
        for value in dict.fromkeys(values):
            await add_identity(session, row.id, kind, value, at=now)
    return customer_record(row)


async def get_customer(session: AsyncSession, customer_id: int) -> CustomerRecord:
    """A customer by id; ``customer.not_found`` if there is none."""
    row = await session.get(Customer, customer_id)
    if row is None:
        raise NotFound(f"customer {customer_id} not found", code="customer.not_found")
    return customer_record(row)


async def find_customer_by_identity(
    session: AsyncSession, kind: str, value: str
) -> CustomerRecord | None:
    """The customer a phone number, email address or chat id belongs to (one query)."""
    normalized = normalize_identity(kind, value)
    row = await session.scalar(
        select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalized)
    )
    return None if row is None else customer_record(row)


async def update_customer(
    session: AsyncSession, customer_id: int, changes: CustomerChanges
) -> CustomerRecord:
    """Apply a partial update. Setting ``tier`` locks it unless ``tier_locked`` is given."""
    row = await session.get(Customer, customer_id)
    if row is None:
        raise NotFound(f"customer {customer_id} not found", code="customer.not_found")
    given = changes.given()
    if "name" in given:
        given["name"] = _check_name(given["name"])
    if given.get("phone") is not None:
        given["phone"] = normalize_phone(given["phone"])
    if given.get("email") is not None:
        given["email"] = normalize_email(given["email"])
    if "tier" in given:
        _check_tier(given["tier"])
        given.setdefault("tier_locked", True)
    if "loyalty_points" in given and given["loyalty_points"] < 0:
        raise invalid("loyalty_points", "must not be negative")
    if "account_manager_id" in given:
        await _check_account_manager(session, given["account_manager_id"])
    for name, value in given.items():
        setattr(row, name, value)
    row.updated_at = utc_now()
    await session.flush()
    # A new primary phone/email must also be findable by lookup.
    for kind in ("phone", "email"):
        value = given.get(kind)
        if value is not None and await _identity_owner(session, kind, value) != customer_id:
            await add_identity(session, customer_id, kind, value)
    return customer_record(row)


async def _identity_owner(session: AsyncSession, kind: str, value: str) -> int | None:
    return await session.scalar(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == value
        )
    )


async def delete_customer(session: AsyncSession, customer_id: int) -> None:
    """Delete a customer with identities, orders, tickets; history rows lose the link."""
    result = await session.execute(delete(Customer).where(Customer.id == customer_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"customer {customer_id} not found", code="customer.not_found")


async def search_customers(
    session: AsyncSession,
    *,
    text: str | None = None,
    tier: str | None = None,
    segment: str | None = None,
    account_manager_id: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[CustomerRecord]:
    """Customers by name fragment, phone or email (``text``) and filters, by id.

    Keyset pagination: pass the last id of a page as ``after_id`` for the next.
    """
    if not 1 <= limit <= 1000:
        raise invalid("limit", "must be between 1 and 1000")
    query = select(Customer)
    if text:
        query = query.where(_text_filter(text.strip()))
    if tier is not None:
        _check_tier(tier)
        query = query.where(Customer.tier == tier)
    if segment is not None:
        if segment not in SEGMENTS:
            raise invalid("segment", f"unknown segment {segment!r}")
        query = query.where(Customer.segment == segment)
    if account_manager_id is not None:
        query = query.where(Customer.account_manager_id == account_manager_id)
    if after_id is not None:
        query = query.where(Customer.id > after_id)
    rows = await session.scalars(query.order_by(Customer.id).limit(limit))
    return [customer_record(row) for row in rows]


def _text_filter(text: str) -> Any:
    conditions: list[Any] = [func.lower(Customer.name).contains(text.lower(), autoescape=True)]
    for kind in ("phone", "email"):
        try:
            value = normalize_identity(kind, text)
        except ValidationFailed:
            continue
        conditions.append(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == kind, CustomerIdentity.value == value
                )
            )
        )
    return or_(*conditions)


async def customers_by_ids(session: AsyncSession, ids: Iterable[int]) -> list[CustomerRecord]:
    """Several customers at once, in id order (missing ids are left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    query = select(Customer).where(Customer.id.in_(wanted)).order_by(Customer.id)
    rows = await session.scalars(query)
    return [customer_record(row) for row in rows]

