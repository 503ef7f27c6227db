"""Customer satisfaction: survey indicators and complaint statistics.

Definitions (``docs/metrics.md`` has the user's version):

* **CSAT average**: mean of the 1-5 answers. **Satisfied rate**: share of CSAT
  answers that are 4 or 5.
* **NPS** = % promoters (9-10) - % detractors (0-6) of the 0-10 answers, from
  -100 to 100; 7-8 are passives.
* A survey counts in the period of its answer time (``surveys.at``). It is
  credited to the queue the contact finished in (``last_queue``), the agent of
  the contact's last leg, the contact's channel, and the customer's value
  segment (key_account / important / general). A survey not linked to a
  recorded contact has no queue, agent or channel (key ``None``).
* **Complaints** (tickets of kind ``complaint``) opened in the period:
  ``resolved`` (resolved or closed), ``resolved_within_sla`` (resolved at or
  before ``sla_due_at``; a complaint without a due time counts as within once
  resolved), ``sla_resolution_rate`` = resolved within SLA / opened,
  ``open_overdue`` (not resolved and past due at ``as_of``). A **repeat
  complaint** is one whose customer opened another complaint in the 30 days
  before it (those earlier ones may lie before the period); **repeat
  customers** are the customers with at least one repeat complaint, i.e. 2+
  complaints within 30 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from callcenter.store.models import Customer, Interaction, Survey, Ticket

__all__ = [
    "ComplaintStats",
    "SatisfactionRow",
    "complaint_stats",
    "net_promoter_score",
    "satisfaction_by",
]

SatisfactionGroup = Literal["queue", "agent", "channel", "segment", "all"]
REPEAT_WINDOW = timedelta(days=30)
Executor = AsyncEngine | AsyncConnection | AsyncSession


def net_promoter_score(scores: Sequence[int]) -> float | None:
    """% promoters (9-10) - % detractors (0-6); None without answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return 100.0 * (promoters - detractors) / len(scores)


@dataclass(frozen=True, slots=True)
class SatisfactionRow:
    """Survey indicators of one queue, agent, channel or segment."""

    key: str | None
    surveys: int
    csat_count: int
    csat_avg: float | None
    csat_satisfied_rate: float | None
    nps_count: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    comments: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _rows(db: Executor, statement: Any) -> list[Any]:
    if isinstance(db, AsyncEngine):
        async with db.connect() as connection:
            return list((await connection.execute(statement)).all())
    return list((await db.execute(statement)).all())


async def satisfaction_by(db: Executor, start: datetime, end: datetime,
                          by: SatisfactionGroup = "queue") -> list[SatisfactionRow]:
    """Survey indicators for answers given in [start, end) (aware datetimes)."""
    s, i, c = Survey, Interaction, Customer
    rows = await _rows(db, select(
        s.csat, s.nps, s.comment, i.last_queue, i.agent_id, i.channel, c.segment,
    ).select_from(s)
        .outerjoin(i, i.contact_id == s.contact_id)
        .outerjoin(c, c.id == s.customer_id)
        .where(s.at >= start, s.at < end))
    groups: dict[str | None, list[Any]] = {}
    for row in rows:
        key = {"queue": row.last_queue, "agent": row.agent_id, "channel": row.channel,
               "segment": row.segment, "all": None}[by]
        groups.setdefault(key, []).append(row)
    result = []
    for key in sorted(groups, key=lambda k: (k is None, k or "")):
        members = groups[key]
        csats = [r.csat for r in members if r.csat is not None]
        npss = [r.nps for r in members if r.nps is not None]
        result.append(SatisfactionRow(
            key=key, surveys=len(members), csat_count=len(csats),
            csat_avg=sum(csats) / len(csats) if csats else None,
            csat_satisfied_rate=(sum(1 for x in csats if x >= 4) / len(csats)
                                 if csats else None),
            nps_count=len(npss), promoters=sum(1 for x in npss if x >= 9),
            passives=sum(1 for x in npss if 7 <= x <= 8),
            detractors=sum(1 for x in npss if x <= 6), nps=net_promoter_score(npss),
            comments=sum(1 for r in members if r.comment and r.comment.strip()),
        ))
    return result


@dataclass(frozen=True, slots=True)
class ComplaintStats:
    """Complaints opened in a period (see the module docstring)."""

    opened: int
    resolved: int
    resolved_within_sla: int
    sla_resolution_rate: float | None
    open_overdue: int
    repeat_complaints: int
    repeat_customers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def complaint_stats(db: Executor, start: datetime, end: datetime, *,
                          as_of: datetime | None = None,
                          repeat_window: timedelta = REPEAT_WINDOW) -> ComplaintStats:
    """Complaint figures for complaints opened in [start, end)."""
    t = Ticket
    rows = await _rows(db, select(t.id, t.customer_id, t.opened_at, t.sla_due_at, t.resolved_at)
                       .where(and_(t.kind == "complaint", t.opened_at >= start - repeat_window,
                                   t.opened_at < end)))
    as_of = as_of or end
    in_period = [r for r in rows if r.opened_at >= start]
    resolved = [r for r in in_period if r.resolved_at is not None]
    within = [r for r in resolved if r.sla_due_at is None or r.resolved_at <= r.sla_due_at]
    overdue = [r for r in in_period if r.resolved_at is None and r.sla_due_at is not None
               and r.sla_due_at < as_of]
    # (opened_at, id) orders complaints opened in the same instant, too.
    by_customer: dict[int, list[tuple[datetime, int]]] = {}
    for r in rows:
        if r.customer_id is not None:
            by_customer.setdefault(r.customer_id, []).append((r.opened_at, r.id))
    repeats = 0
    repeat_customers: set[int] = set()
    for r in in_period:
        if r.customer_id is None:
            continue
        earlier = [(at, tid) for at, tid in by_customer[r.customer_id]
                   if r.opened_at - repeat_window <= at and (at, tid) < (r.opened_at, r.id)]
        if earlier:
            repeats += 1
            repeat_customers.add(r.customer_id)
    return ComplaintStats(
        opened=len(in_period), resolved=len(resolved), resolved_within_sla=len(within),
        sla_resolution_rate=len(within) / len(in_period) if in_period else None,
        open_overdue=len(overdue), repeat_complaints=repeats,
        repeat_customers=len(repeat_customers),
    )
