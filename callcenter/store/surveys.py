"""Post-contact surveys: CSAT 1-5 and NPS 0-10."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.store.identities import invalid
from callcenter.store.models import Survey
from callcenter.store.timestamps import as_utc, utc_now


@dataclass(frozen=True, slots=True)
class SurveyRecord:
    id: int
    customer_id: int | None
    contact_id: str | None
    at: datetime
    csat: int | None
    nps: int | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class NewSurvey:
    customer_id: int | None
    contact_id: str | None = None
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None
    at: datetime | None = None


def _record(row: Survey) -> SurveyRecord:
    return SurveyRecord(id=row.id, customer_id=row.customer_id, contact_id=row.contact_id,
                        at=row.at, csat=row.csat, nps=row.nps, comment=row.comment)


async def record_survey(session: AsyncSession, new: NewSurvey) -> SurveyRecord:
    """Store an answer; at least one of CSAT (1-5) and NPS (0-10) is required."""
    if new.csat is None and new.nps is None:
        raise invalid("csat", "give csat (1-5), nps (0-10) or both")
    if new.csat is not None and not 1 <= new.csat <= 5:
        raise invalid("csat", "must be 1 to 5")
    if new.nps is not None and not 0 <= new.nps <= 10:
        raise invalid("nps", "must be 0 to 10")
    row = Survey(customer_id=new.customer_id, contact_id=new.contact_id,
                 at=as_utc(new.at) if new.at else utc_now(), csat=new.csat, nps=new.nps,
                 comment=new.comment)
    session.add(row)
    await session.flush()
    return _record(row)


async def customer_surveys(
    session: AsyncSession, customer_id: int, *, limit: int = 20
) -> list[SurveyRecord]:
    """A customer's newest answers first."""
    rows = await session.scalars(
        select(Survey).where(Survey.customer_id == customer_id)
        .order_by(Survey.at.desc(), Survey.id.desc()).limit(limit)
    )
    return [_record(row) for row in rows]
