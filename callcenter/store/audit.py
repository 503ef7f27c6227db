"""The audit log: who changed what in administration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.store.models import AuditEntry
from callcenter.store.timestamps import as_utc, utc_now


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


async def record_audit(
    session: AsyncSession, actor: str, action: str, target: str | None = None,
    details: dict[str, Any] | None = None, *, at: datetime | None = None,
) -> AuditRecord:
    """Append an entry, e.g. ``("admin", "queue.updated", "queue:voice_vip", {...})``."""
    row = AuditEntry(at=as_utc(at) if at else utc_now(), actor=actor, action=action,
                     target=target, details=details or {})
    session.add(row)
    await session.flush()
    return AuditRecord(row.id, row.at, row.actor, row.action, row.target, row.details)


async def recent_audit(
    session: AsyncSession, *, target: str | None = None, limit: int = 100
) -> list[AuditRecord]:
    """Newest entries first, optionally for one target."""
    query = select(AuditEntry)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    rows = await session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .limit(limit))
    return [AuditRecord(r.id, r.at, r.actor, r.action, r.target, r.details) for r in rows]
