"""Customer identities: normalising phone numbers, emails and chat ids, and lookup.

Every way a customer reaches us (the ANI of a call, the From of an email, the
visitor id of a chat) is stored normalised in ``customer_identities``, unique
per kind, so one indexed lookup finds the customer.

Normalisation (docs/store.md):
- phone: digits only with a leading ``+``; ``00`` becomes ``+``; a number without
  a country prefix gets the default country code (86); 7 to 15 digits.
- email: trimmed and lower-cased; one ``@``, a non-empty local part and a dotted domain.
- chat: trimmed, kept as given (visitor ids are case-sensitive), 1 to 200 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import Conflict, FieldError, NotFound, ValidationFailed
from callcenter.store.models import IDENTITY_KINDS, CustomerIdentity
from callcenter.store.timestamps import utc_now

DEFAULT_COUNTRY_CODE = "86"
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """One normalised identity of a customer."""

    id: int
    customer_id: int
    kind: str
    value: str
    verified: bool
    created_at: datetime


def invalid(path: str, message: str) -> ValidationFailed:
    """A ``request.validation`` error for one field."""
    return ValidationFailed(f"{path}: {message}", fields=[FieldError(path, message)])


def normalize_phone(raw: str, *, default_country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    """``"+86 138-0000-0001"`` -> ``"+8613800000001"``; raises ``request.validation``."""
    compact = _PHONE_SEPARATORS.sub("", raw.strip())
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    else:
        digits = default_country_code + compact.lstrip("0")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise invalid("phone", f"{raw!r} is not a phone number (7 to 15 digits)")
    return "+" + digits


def normalize_email(raw: str) -> str:
    """``" Li.Wei@Example.COM "`` -> ``"li.wei@example.com"``; raises ``request.validation``."""
    value = raw.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise invalid("email", f"{raw!r} is not an email address")
    return value


def normalize_chat_id(raw: str) -> str:
    """A chat visitor id, trimmed; raises ``request.validation`` when empty or too long."""
    value = raw.strip()
    if not 1 <= len(value) <= 200:
        raise invalid("chat_id", "must be 1 to 200 characters")
    return value


def normalize_identity(kind: str, value: str) -> str:
    """Normalise ``value`` for ``kind`` (``phone``, ``email`` or ``chat``)."""
    if kind == "phone":
        return normalize_phone(value)
    if kind == "email":
        return normalize_email(value)
    if kind == "chat":
        return normalize_chat_id(value)
    raise invalid("kind", f"unknown identity kind {kind!r} (kinds: {', '.join(IDENTITY_KINDS)})")


async def find_customer_id_by_identity(session: AsyncSession, kind: str, value: str) -> int | None:
    """The id of the customer owning this identity, or None (value is normalised first)."""
    normalized = normalize_identity(kind, value)
    return await session.scalar(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == normalized
        )
    )


async def add_identity(
    session: AsyncSession, customer_id: int, kind: str, value: str, *,
    verified: bool = False, at: datetime | None = None,
) -> IdentityRecord:
    """Attach an identity to a customer; ``customer.identity_taken`` if another holds it."""
    normalized = normalize_identity(kind, value)
    row = CustomerIdentity(customer_id=customer_id, kind=kind, value=normalized,
                           verified=verified, created_at=at or utc_now())
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        owner = await find_customer_id_by_identity(session, kind, normalized)
        if owner is None:
            raise NotFound(f"customer {customer_id} not found", code="customer.not_found") from None
        raise Conflict(f"{kind} {normalized} already belongs to customer {owner}",
                       code="customer.identity_taken") from None
    return _record(row)


async def list_identities(session: AsyncSession, customer_id: int) -> list[IdentityRecord]:
    """Every identity of a customer, phones first, then emails, then chat ids."""
    rows = await session.scalars(
        select(CustomerIdentity)
        .where(CustomerIdentity.customer_id == customer_id)
        .order_by(CustomerIdentity.kind.desc(), CustomerIdentity.id)
    )
    return [_record(row) for row in rows]


async def remove_identity(session: AsyncSession, customer_id: int, kind: str, value: str) -> None:
    """Detach an identity; ``customer.identity_not_found`` if the customer does not hold it."""
    normalized = normalize_identity(kind, value)
    result = await session.execute(
        delete(CustomerIdentity).where(
            CustomerIdentity.customer_id == customer_id,
            CustomerIdentity.kind == kind,
            CustomerIdentity.value == normalized,
        )
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"customer {customer_id} has no {kind} {normalized}",
                       code="customer.identity_not_found")


def _record(row: CustomerIdentity) -> IdentityRecord:
    return IdentityRecord(id=row.id, customer_id=row.customer_id, kind=row.kind,
                          value=row.value, verified=row.verified, created_at=row.created_at)
