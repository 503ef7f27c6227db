"""Router journal and snapshots: append, read after, latest snapshot, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callcenter.store.journal import (
    NewJournalEntry,
    append_journal,
    append_journal_many,
    last_journal_id,
    load_latest_snapshot,
    prune_journal,
    read_journal_after,
    save_snapshot,
)
from tests.store.conftest import Store

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_entries_come_back_in_append_order_after_an_id(store: Store) -> None:
    async with store.sessions.begin() as session:
        assert await last_journal_id(session) == 0
        first = await append_journal(session, "contact_arrived", {"contact_id": "c-1"}, at=T0)
        group = await append_journal_many(session, [
            NewJournalEntry(at=T0 + timedelta(seconds=n), kind="tick", payload={"n": n})
            for n in range(1, 4)
        ])
    async with store.sessions() as session:
        everything = await read_journal_after(session, 0)
        after_first = await read_journal_after(session, first, limit=2)
        last = await last_journal_id(session)
    assert group == sorted(group) and group[0] > first
    assert [e.kind for e in everything] == ["contact_arrived", "tick", "tick", "tick"]
    assert everything[0].payload == {"contact_id": "c-1"} and everything[0].at == T0
    assert [e.payload["n"] for e in after_first] == [1, 2]
    assert last == group[-1]


async def test_latest_snapshot_is_the_one_covering_most_of_the_journal(store: Store) -> None:
    async with store.sessions.begin() as session:
        assert await load_latest_snapshot(session) is None
        await save_snapshot(session, 10, {"agents": 3}, at=T0)
        await save_snapshot(session, 25, {"agents": 5}, at=T0 + timedelta(minutes=1))
        await save_snapshot(session, 20, {"agents": 4}, at=T0 + timedelta(minutes=2))
    async with store.sessions() as session:
        latest = await load_latest_snapshot(session)
    assert latest is not None
    assert (latest.journal_id, latest.payload) == (25, {"agents": 5})


async def test_pruning_keeps_what_recovery_from_kept_snapshots_needs(store: Store) -> None:
    async with store.sessions.begin() as session:
        ids = await append_journal_many(session, [
            NewJournalEntry(at=T0, kind="tick", payload={"n": n}) for n in range(10)
        ])
        await save_snapshot(session, ids[2], {"s": 1}, at=T0)
        await save_snapshot(session, ids[5], {"s": 2}, at=T0)
        await save_snapshot(session, ids[7], {"s": 3}, at=T0)
    async with store.sessions.begin() as session:
        removed = await prune_journal(session, keep_snapshots=2)
    async with store.sessions() as session:
        remaining = await read_journal_after(session, 0)
        latest = await load_latest_snapshot(session)
    assert removed == 6
    assert [e.id for e in remaining] == ids[6:]
    assert latest is not None and latest.payload == {"s": 3}
