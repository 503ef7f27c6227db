"""The router journal and snapshots: what makes routing survive a restart.

Every router input event is appended to ``router_journal`` in the transaction
that makes its effect durable; a snapshot records the router state after the
journal entry ``journal_id``. Recovery = latest snapshot + every entry after it,
in id order (ids only grow, so they are the order of commit on one writer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.store.models import RouterJournal, RouterSnapshot, table_of
from callcenter.store.timestamps import as_utc


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    at: datetime
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewJournalEntry:
    at: datetime
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RouterSnapshotRecord:
    id: int
    journal_id: int
    at: datetime
    payload: dict[str, Any]


async def append_journal(
    session: AsyncSession, kind: str, payload: dict[str, Any], *, at: datetime
) -> int:
    """Append one event; returns its journal id (durable when the caller commits)."""
    ids = await append_journal_many(session, [NewJournalEntry(at=at, kind=kind, payload=payload)])
    return ids[0]


async def append_journal_many(
    session: AsyncSession, entries: Sequence[NewJournalEntry]
) -> list[int]:
    """Append a group of events in one statement; ids in the order given."""
    if not entries:
        return []
    table = table_of(RouterJournal)
    connection = await session.connection()
    result = await connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [{"at": as_utc(e.at), "kind": e.kind, "payload": e.payload} for e in entries],
    )
    return [row[0] for row in result.all()]


async def read_journal_after(
    session: AsyncSession, after_id: int, *, limit: int = 10_000
) -> list[JournalEntry]:
    """Entries with id > ``after_id`` in id order, at most ``limit`` of them."""
    rows = await session.scalars(
        select(RouterJournal).where(RouterJournal.id > after_id)
        .order_by(RouterJournal.id).limit(limit)
    )
    return [JournalEntry(id=r.id, at=r.at, kind=r.kind, payload=r.payload) for r in rows]


async def last_journal_id(session: AsyncSession) -> int:
    """The id of the newest entry, 0 when the journal is empty."""
    return int(await session.scalar(select(func.coalesce(func.max(RouterJournal.id), 0))) or 0)


async def save_snapshot(
    session: AsyncSession, journal_id: int, payload: dict[str, Any], *, at: datetime
) -> int:
    """Store the router state as of ``journal_id``; returns the snapshot id."""
    row = RouterSnapshot(journal_id=journal_id, at=as_utc(at), payload=payload)
    session.add(row)
    await session.flush()
    return row.id


async def load_latest_snapshot(session: AsyncSession) -> RouterSnapshotRecord | None:
    """The snapshot covering the most journal entries, or None."""
    row = await session.scalar(
        select(RouterSnapshot).order_by(RouterSnapshot.journal_id.desc(), RouterSnapshot.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return RouterSnapshotRecord(id=row.id, journal_id=row.journal_id, at=row.at,
                                payload=row.payload)


async def prune_journal(session: AsyncSession, *, keep_snapshots: int = 2) -> int:
    """Drop journal entries and snapshots older than the ``keep_snapshots`` newest snapshots.

    Entries after the oldest kept snapshot stay, so recovery from any kept
    snapshot still works. Returns the number of journal entries removed.
    """
    kept = list(await session.scalars(
        select(RouterSnapshot.journal_id).order_by(RouterSnapshot.journal_id.desc())
        .limit(keep_snapshots)
    ))
    if len(kept) < keep_snapshots:
        return 0
    horizon = min(kept)
    await session.execute(delete(RouterSnapshot).where(RouterSnapshot.journal_id < horizon))
    result = await session.execute(delete(RouterJournal).where(RouterJournal.id <= horizon))
    return int(getattr(result, "rowcount", 0) or 0)
