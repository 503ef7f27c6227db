"""Recompute the CRM analytics of every customer, in batches, with progress.

One read gathers each customer's counted orders (a single GROUP BY); the pure
rules of :mod:`callcenter.segments` score the whole population; then only the
customers whose fields changed are updated, ``batch_size`` per transaction.
The tier is written as ``CASE WHEN tier_locked THEN tier ELSE :tier END``, so a
tier an account manager locks while the job runs is still never overridden.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.segments import CustomerActivity, analyse, resolve_tier
from callcenter.store.engine import make_engine
from callcenter.store.models import Customer, Order, table_of
from callcenter.store.orders import COUNTED_ORDER_STATUSES
from callcenter.store.progress import ProgressCallback
from callcenter.store.timestamps import as_utc

_FIELDS = ("rfm_r", "rfm_f", "rfm_m", "segment", "lifecycle", "loyalty_level",
           "lifetime_value_cents", "order_count", "first_order_at", "last_order_at")


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    customers: int
    updated: int
    locked_tiers_kept: int
    by_segment: dict[str, int] = field(default_factory=dict)
    by_tier: dict[str, int] = field(default_factory=dict)
    by_lifecycle: dict[str, int] = field(default_factory=dict)


def _no_progress(step: str, done: int, total: int) -> None:
    return None


async def recompute_segments(
    engine: AsyncEngine, *, as_of: datetime, batch_size: int = 2000,
    progress: ProgressCallback = _no_progress,
) -> RecomputeSummary:
    """Recompute RFM, segment, lifecycle, loyalty level, lifetime value and tier for all."""
    as_of = as_utc(as_of)
    table = table_of(Customer)
    orders = table_of(Order)
    counted = (
        select(orders.c.customer_id, func.count().label("counted_orders"),
               func.sum(orders.c.total_cents).label("counted_spent"),
               func.min(orders.c.placed_at).label("counted_first_at"),
               func.max(orders.c.placed_at).label("counted_last_at"))
        .where(orders.c.status.in_(COUNTED_ORDER_STATUSES), orders.c.placed_at <= as_of)
        .group_by(orders.c.customer_id)
        .subquery("counted")
    )
    query = (
        select(table.c.id, table.c.tier, table.c.tier_locked, table.c.loyalty_points,
               *(table.c[name] for name in _FIELDS),
               counted.c.counted_orders, counted.c.counted_spent, counted.c.counted_first_at,
               counted.c.counted_last_at)
        .select_from(table.outerjoin(counted, counted.c.customer_id == table.c.id))
        .order_by(table.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    progress("reading customers", len(rows), len(rows))

    activities = [
        CustomerActivity(customer_id=row.id, order_count=int(row.counted_orders or 0),
                         spent_cents=int(row.counted_spent or 0),
                         first_order_at=_aware(row.counted_first_at),
                         last_order_at=_aware(row.counted_last_at),
                         loyalty_points=row.loyalty_points)
        for row in rows
    ]
    results = analyse(activities, as_of)
    changes: list[dict[str, Any]] = []
    by_segment: Counter[str] = Counter()
    by_tier: Counter[str] = Counter()
    by_lifecycle: Counter[str] = Counter()
    locked = 0
    for row, result in zip(rows, results, strict=True):
        tier = resolve_tier(row.tier, row.tier_locked, result.segment)
        locked += row.tier_locked
        by_segment[result.segment] += 1
        by_tier[tier] += 1
        by_lifecycle[result.lifecycle] += 1
        new = {name: getattr(result, name) for name in _FIELDS}
        if tier != row.tier or any(getattr(row, name) != value for name, value in new.items()):
            changes.append({"b_id": row.id, "b_tier": tier, "b_at": as_of,
                            **{f"b_{name}": value for name, value in new.items()}})

    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            tier=case((table.c.tier_locked.is_(True), table.c.tier), else_=bindparam("b_tier")),
            segments_computed_at=bindparam("b_at"),
            **{name: bindparam(f"b_{name}") for name in _FIELDS},
        )
    )
    done = 0
    progress("updating customers", 0, len(changes))
    for start in range(0, len(changes), batch_size):
        batch = changes[start:start + batch_size]
        async with engine.begin() as connection:
            await connection.execute(statement, batch)
        done += len(batch)
        progress("updating customers", done, len(changes))
    return RecomputeSummary(customers=len(rows), updated=len(changes), locked_tiers_kept=locked,
                            by_segment=dict(by_segment), by_tier=dict(by_tier),
                            by_lifecycle=dict(by_lifecycle))


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates over a UtcDateTime column come back through the same type, but be sure.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def recompute_segments_at(
    url: str, *, as_of: datetime, batch_size: int = 2000,
    progress: ProgressCallback = _no_progress,
) -> RecomputeSummary:
    """:func:`recompute_segments` on the store at ``url`` (engine made and disposed here)."""
    engine = make_engine(url)
    try:
        return await recompute_segments(engine, as_of=as_of, batch_size=batch_size,
                                        progress=progress)
    finally:
        await engine.dispose()
