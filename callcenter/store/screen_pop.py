"""The screen-pop read: who is calling, in at most two queries.

Query 1 reads the customer (by id, or by identity through the unique
``customer_identities`` index). Query 2 is one ``UNION ALL`` of the last 10
interactions, the open tickets and the last 5 orders, each branch served by its
own index. Both run on one connection, so on SQLite they see one snapshot.

:meth:`ScreenPop.to_dict` gives exactly the ``screen_pop`` object of PROTOCOL.md
(plus a few optional fields: ``provisional``, ``loyalty_points``, ``language``,
``account_manager_id``, order ``item_count``/``currency``, ticket ``priority``).
An unknown caller gets a provisional customer (:func:`provisional_screen_pop`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from callcenter.errors import ValidationFailed
from callcenter.store.engine import make_engine, make_sync_sqlite_engine, parse_store_url
from callcenter.store.identities import normalize_identity
from callcenter.store.models import (
    KEY_ACCOUNT_TIERS,
    OPEN_TICKET_STATUSES,
    Customer,
    CustomerIdentity,
    Interaction,
    Order,
    Ticket,
)
from callcenter.store.tickets import MAX_OPEN_TICKETS_SHOWN
from callcenter.store.timestamps import iso_utc

LAST_INTERACTIONS = 10
LAST_ORDERS = 5

_NEVER = datetime.max.replace(tzinfo=UTC)
Database = AsyncSession | AsyncConnection | AsyncEngine
T = TypeVar("T")


# --------------------------------------------------------------------------- masking


def mask_phone(phone: str | None) -> str | None:
    """``+8613800000001`` -> ``+86 138****0001``: country code, first 3 and last 4 digits."""
    if not phone:
        return None
    digits = phone.lstrip("+")
    country = ""
    if phone.startswith("+"):
        if digits.startswith("86") and len(digits) == 13:
            country, digits = "86", digits[2:]
        elif digits.startswith("1") and len(digits) == 11:
            country, digits = "1", digits[1:]
    if len(digits) <= 7:
        shown = "*" * (len(digits) - 2) + digits[-2:]
    else:
        shown = digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return f"+{country} {shown}" if country else shown


def mask_email(email: str | None) -> str | None:
    """``li.wei.123@example.com`` -> ``li***@example.com``: 2 characters and the domain."""
    if not email or "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    return f"{local[:2]}***@{domain}" if len(local) > 2 else f"{local[:1]}***@{domain}"


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True, slots=True)
class ScreenPopCustomer:
    id: int | None
    name: str
    tier: str
    key_account: bool
    lifetime_value: float
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    segment: str | None
    lifecycle: str | None
    loyalty_level: str | None
    loyalty_points: int
    phone_masked: str | None
    email_masked: str | None
    language: str | None
    account_manager_id: str | None
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class ScreenPopOrder:
    number: str
    placed_at: datetime
    total_cents: int
    currency: str
    status: str
    item_count: int


@dataclass(frozen=True, slots=True)
class ScreenPopTicket:
    id: int
    kind: str
    subject: str
    status: str
    priority: str
    sla_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class ScreenPopInteraction:
    id: int
    channel: str
    started_at: datetime
    outcome: str
    disposition: str | None
    agent: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """Everything an agent sees about the customer when a contact is offered."""

    customer: ScreenPopCustomer
    orders: tuple[ScreenPopOrder, ...] = ()
    tickets: tuple[ScreenPopTicket, ...] = ()
    interactions: tuple[ScreenPopInteraction, ...] = ()

    @property
    def provisional(self) -> bool:
        return self.customer.provisional

    def to_dict(self) -> dict[str, Any]:
        """The PROTOCOL.md ``screen_pop`` object, ready for JSON."""
        c = self.customer
        return {
            "customer": {
                "id": c.id, "name": c.name, "tier": c.tier, "key_account": c.key_account,
                "lifetime_value": c.lifetime_value,
                "rfm": {"r": c.rfm_r, "f": c.rfm_f, "m": c.rfm_m, "segment": c.segment},
                "lifecycle": c.lifecycle, "loyalty_level": c.loyalty_level,
                "loyalty_points": c.loyalty_points, "phone_masked": c.phone_masked,
                "email_masked": c.email_masked, "language": c.language,
                "account_manager_id": c.account_manager_id, "provisional": c.provisional,
            },
            "orders": [
                {"id": o.number, "placed_at": iso_utc(o.placed_at), "total": o.total_cents / 100,
                 "currency": o.currency, "status": o.status, "item_count": o.item_count}
                for o in self.orders
            ],
            "tickets": [
                {"id": t.id, "kind": t.kind, "subject": t.subject, "status": t.status,
                 "priority": t.priority, "sla_due_at": iso_utc(t.sla_due_at)}
                for t in self.tickets
            ],
            "interactions": [
                {"id": i.id, "channel": i.channel, "started_at": iso_utc(i.started_at),
                 "outcome": i.outcome, "disposition": i.disposition, "agent": i.agent,
                 "notes": i.notes}
                for i in self.interactions
            ],
        }


def provisional_screen_pop(kind: str | None = None, value: str | None = None) -> ScreenPop:
    """The screen-pop of a caller we do not know (yet): ``provisional: true``.

    ``kind``/``value`` is the address they came from (phone, email or chat id);
    it is shown masked, and named as the customer until an agent knows better.
    """
    phone = email = None
    name = "Unknown customer"
    if kind is not None and value:
        # An odd caller id is shown as given: it must not stop the offer.
        with contextlib.suppress(ValidationFailed):
            value = normalize_identity(kind, value)
        if kind == "phone":
            phone = value
            name = f"Caller {mask_phone(value)}"
        elif kind == "email":
            email = value
            name = value
        elif kind == "chat":
            name = f"Visitor {value}"
    return ScreenPop(customer=ScreenPopCustomer(
        id=None, name=name, tier="standard", key_account=False, lifetime_value=0.0,
        rfm_r=None, rfm_f=None, rfm_m=None, segment=None, lifecycle="potential",
        loyalty_level=None, loyalty_points=0, phone_masked=mask_phone(phone),
        email_masked=mask_email(email), language=None, account_manager_id=None,
        provisional=True,
    ))


# --------------------------------------------------------------------------- queries

_CUSTOMER_COLUMNS = (
    Customer.id, Customer.name, Customer.tier, Customer.lifetime_value_cents, Customer.rfm_r,
    Customer.rfm_f, Customer.rfm_m, Customer.segment, Customer.lifecycle, Customer.loyalty_level,
    Customer.loyalty_points, Customer.phone, Customer.email, Customer.language,
    Customer.account_manager_id,
)
_CUSTOMER_BY_ID = select(*_CUSTOMER_COLUMNS).where(Customer.id == bindparam("customer_id"))
_CUSTOMER_BY_IDENTITY = (
    select(*_CUSTOMER_COLUMNS)
    .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
    .where(CustomerIdentity.kind == bindparam("kind"),
           CustomerIdentity.value == bindparam("value"))
)


def _history_query() -> Any:
    """One UNION ALL: last interactions, open tickets, last orders of ``:customer_id``.

    Each branch has the same ten columns (kind, id, at, a..e, n, n2); branches are
    subqueries because SQLite allows ORDER BY/LIMIT only on the whole compound.
    """
    none_text = cast(null(), Text)
    none_int = cast(null(), Integer)
    customer: Any = bindparam("customer_id")
    interactions = (
        select(
            literal_column("'i'", String).label("kind"), Interaction.id.label("id"),
            Interaction.arrived_at.label("at"), cast(Interaction.channel, Text).label("a"),
            cast(Interaction.outcome, Text).label("b"),
            cast(Interaction.disposition, Text).label("c"),
            cast(Interaction.agent_id, Text).label("d"), cast(Interaction.notes, Text).label("e"),
            cast(null(), BigInteger).label("n"), none_int.label("n2"),
        )
        .where(Interaction.customer_id == customer)
        .order_by(Interaction.arrived_at.desc(), Interaction.id.desc())
        .limit(LAST_INTERACTIONS)
        .subquery("recent_interactions")
    )
    tickets = (
        select(
            literal_column("'t'", String).label("kind"), Ticket.id.label("id"),
            Ticket.sla_due_at.label("at"), cast(Ticket.kind, Text).label("a"),
            cast(Ticket.subject, Text).label("b"), cast(Ticket.status, Text).label("c"),
            cast(Ticket.priority, Text).label("d"), none_text.label("e"),
            cast(null(), BigInteger).label("n"), none_int.label("n2"),
        )
        .where(Ticket.customer_id == customer, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.sla_due_at, Ticket.id)
        .limit(MAX_OPEN_TICKETS_SHOWN)
        .subquery("open_tickets")
    )
    orders = (
        select(
            literal_column("'o'", String).label("kind"), Order.id.label("id"),
            Order.placed_at.label("at"), cast(Order.number, Text).label("a"),
            cast(Order.status, Text).label("b"), cast(Order.currency, Text).label("c"),
            none_text.label("d"), none_text.label("e"), Order.total_cents.label("n"),
            Order.item_count.label("n2"),
        )
        .where(Order.customer_id == customer)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(LAST_ORDERS)
        .subquery("recent_orders")
    )
    return union_all(select(interactions), select(tickets), select(orders))


_HISTORY = _history_query()


async def _on_connection(db: Database, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    if isinstance(db, AsyncSession):
        return await work(await db.connection())
    if isinstance(db, AsyncConnection):
        return await work(db)
    async with db.connect() as connection:
        return await work(connection)


def _customer(row: Any) -> ScreenPopCustomer:
    return ScreenPopCustomer(
        id=row.id, name=row.name, tier=row.tier, key_account=row.tier in KEY_ACCOUNT_TIERS,
        lifetime_value=row.lifetime_value_cents / 100, rfm_r=row.rfm_r, rfm_f=row.rfm_f,
        rfm_m=row.rfm_m, segment=row.segment, lifecycle=row.lifecycle,
        loyalty_level=row.loyalty_level, loyalty_points=row.loyalty_points,
        phone_masked=mask_phone(row.phone), email_masked=mask_email(row.email),
        language=row.language, account_manager_id=row.account_manager_id,
    )


def _assemble(customer_row: Any, rows: Sequence[Any]) -> ScreenPop:
    interactions = [
        ScreenPopInteraction(id=r.id, channel=r.a, started_at=r.at, outcome=r.b,
                             disposition=r.c, agent=r.d, notes=r.e)
        for r in rows if r.kind == "i"
    ]
    tickets = [
        ScreenPopTicket(id=r.id, kind=r.a, subject=r.b, status=r.c, priority=r.d, sla_due_at=r.at)
        for r in rows if r.kind == "t"
    ]
    orders = [
        ScreenPopOrder(number=r.a, placed_at=r.at, total_cents=r.n, currency=r.c, status=r.b,
                       item_count=r.n2)
        for r in rows if r.kind == "o"
    ]
    # UNION ALL does not promise to keep each branch's order; restore it here.
    interactions.sort(key=lambda i: (i.started_at, i.id), reverse=True)
    tickets.sort(key=lambda t: (t.sla_due_at or _NEVER, t.id))
    orders.sort(key=lambda o: o.placed_at, reverse=True)
    return ScreenPop(customer=_customer(customer_row), orders=tuple(orders),
                     tickets=tuple(tickets), interactions=tuple(interactions))


def _customer_query(customer_id: int | None, kind: str | None,
                    value: str | None) -> tuple[Any, dict[str, Any]]:
    if customer_id is not None:
        return _CUSTOMER_BY_ID, {"customer_id": customer_id}
    return _CUSTOMER_BY_IDENTITY, {"kind": kind, "value": value}


async def _read(
    connection: AsyncConnection, customer_id: int | None = None, kind: str | None = None,
    value: str | None = None,
) -> ScreenPop | None:
    query, params = _customer_query(customer_id, kind, value)
    row = (await connection.execute(query, params)).first()
    if row is None:
        return None
    history = (await connection.execute(_HISTORY, {"customer_id": row.id})).all()
    return _assemble(row, history)


def _read_sync(
    engine: Engine, customer_id: int | None = None, kind: str | None = None,
    value: str | None = None,
) -> ScreenPop | None:
    query, params = _customer_query(customer_id, kind, value)
    with engine.connect() as connection:
        row = connection.execute(query, params).first()
        if row is None:
            return None
        return _assemble(row, connection.execute(_HISTORY, {"customer_id": row.id}).all())


async def load_screen_pop(db: Database, customer_id: int) -> ScreenPop | None:
    """The screen-pop of a known customer in two queries; None if there is no such id."""
    return await _on_connection(db, lambda c: _read(c, customer_id=customer_id))


async def load_screen_pop_by_identity(db: Database, kind: str, value: str) -> ScreenPop:
    """Identity lookup and screen-pop in two queries; provisional when nobody matches."""
    normalized = normalize_identity(kind, value)
    pop = await _on_connection(db, lambda c: _read(c, kind=kind, value=normalized))
    return pop or provisional_screen_pop(kind, normalized)


class ScreenPopReader:
    """Screen-pop reads for the server's hot path, the same two queries on any backend.

    On PostgreSQL it uses the async engine. On SQLite it keeps a small synchronous
    engine and runs each read in one worker-thread hop: through aiosqlite every
    statement costs several thread round trips (cursor, execute, fetch, close),
    about a dozen per screen-pop, which dominated its latency.
    """

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if parse_store_url(url).is_sqlite:
            self._sync = make_sync_sqlite_engine(url, pool_size=pool_size)
        else:
            self._async = make_engine(url, pool_size=pool_size)

    async def by_customer(self, customer_id: int) -> ScreenPop | None:
        """Like :func:`load_screen_pop`."""
        if self._sync is not None:
            return await asyncio.to_thread(_read_sync, self._sync, customer_id)
        assert self._async is not None
        return await load_screen_pop(self._async, customer_id)

    async def by_identity(self, kind: str, value: str) -> ScreenPop:
        """Like :func:`load_screen_pop_by_identity` (provisional when nobody matches)."""
        normalized = normalize_identity(kind, value)
        if self._sync is not None:
            pop = await asyncio.to_thread(_read_sync, self._sync, None, kind, normalized)
            return pop or provisional_screen_pop(kind, normalized)
        assert self._async is not None
        return await load_screen_pop_by_identity(self._async, kind, normalized)

    async def close(self) -> None:
        """Release the reader's connections."""
        if self._sync is not None:
            await asyncio.to_thread(self._sync.dispose)
        if self._async is not None:
            await self._async.dispose()
