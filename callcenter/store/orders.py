"""Shop orders: recorded for RFM analytics and shown in the screen-pop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import Conflict, NotFound
from callcenter.store.identities import invalid
from callcenter.store.models import ORDER_STATUSES, Customer, Order
from callcenter.store.timestamps import as_utc

# Orders that count as revenue for lifetime value and RFM (docs/crm-segments.md).
COUNTED_ORDER_STATUSES = ("paid", "shipped", "delivered")


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One shop order; ``total_cents`` in minor units of ``currency``."""

    id: int
    customer_id: int
    number: str
    placed_at: datetime
    total_cents: int
    currency: str
    status: str
    item_count: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    customer_id: int
    number: str
    placed_at: datetime
    total_cents: int
    status: str = "paid"
    item_count: int = 1
    currency: str = "CNY"


def order_record(row: Order) -> OrderRecord:
    return OrderRecord(id=row.id, customer_id=row.customer_id, number=row.number,
                       placed_at=row.placed_at, total_cents=row.total_cents,
                       currency=row.currency, status=row.status, item_count=row.item_count)


async def add_order(session: AsyncSession, new: NewOrder) -> OrderRecord:
    """Record an order; ``order.exists`` when the number is taken."""
    if new.status not in ORDER_STATUSES:
        raise invalid("status", f"unknown order status {new.status!r}")
    if new.total_cents < 0:
        raise invalid("total_cents", "must not be negative")
    if new.item_count < 0:
        raise invalid("item_count", "must not be negative")
    if await session.get(Customer, new.customer_id) is None:
        raise NotFound(f"customer {new.customer_id} not found", code="customer.not_found")
    row = Order(customer_id=new.customer_id, number=new.number, placed_at=as_utc(new.placed_at),
                total_cents=new.total_cents, currency=new.currency, status=new.status,
                item_count=new.item_count)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"order {new.number} already exists", code="order.exists") from None
    return order_record(row)


async def set_order_status(session: AsyncSession, number: str, status: str) -> OrderRecord:
    """Move an order to ``status`` (shipped, delivered, returned...)."""
    if status not in ORDER_STATUSES:
        raise invalid("status", f"unknown order status {status!r}")
    row = await session.scalar(select(Order).where(Order.number == number))
    if row is None:
        raise NotFound(f"order {number} not found", code="order.not_found")
    row.status = status
    await session.flush()
    return order_record(row)


async def recent_orders(
    session: AsyncSession, customer_id: int, limit: int = 5
) -> list[OrderRecord]:
    """A customer's newest orders first."""
    rows = await session.scalars(
        select(Order).where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
    )
    return [order_record(row) for row in rows]
