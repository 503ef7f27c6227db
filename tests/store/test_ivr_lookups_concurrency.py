"""An IVR end record must survive another writer committing mid-transaction (SQLite WAL).

SQLite cannot upgrade a read transaction to a write once another connection has
committed after the read began (SQLITE_BUSY_SNAPSHOT, "database is locked"); the busy
timeout does not help there, so the whole transaction has to run again.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import InteractionRecord
from callcenter.store.ivr_lookups import record_ivr_end
from callcenter.store.models import Contact, Interaction


async def test_ivr_end_record_is_written_when_another_writer_commits_in_between(
        sqlite_url: str) -> None:
    path = sqlite_url.split("///", 1)[1]
    engine = make_engine(sqlite_url)
    other = sqlite3.connect(path, isolation_level=None)
    interfered = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def commit_from_another_connection(conn: Any, cursor: Any, statement: str,
                                       *args: Any) -> None:
        # Between our read and our first write, another connection commits.
        if statement.lstrip().upper().startswith("INSERT INTO CONTACTS") and not interfered:
            interfered.append(True)
            other.execute("INSERT INTO skills (name) VALUES ('interfering_writer')")

    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    row = {"id": "c-ivr-1", "external_id": "cti:pbx1:call-1", "channel": "voice",
           "direction": "inbound", "queue": None, "customer_id": None, "state": "contained",
           "tier": "standard", "subject": "Call from +8613800000001", "first_message": None,
           "ivr_path": ["main_menu:2"], "payload": {"call_id": "call-1"},
           "created_at": at, "updated_at": at}
    record = InteractionRecord(contact_id="c-ivr-1", channel="voice", outcome="contained",
                               arrived_at=at, ivr_left_at=at, ended_at=at,
                               ivr_path=("main_menu:2",))
    try:
        assert await record_ivr_end(make_sessionmaker(engine), row, record) is True
        assert interfered
        async with make_sessionmaker(engine)() as db:
            assert await db.scalar(select(func.count()).select_from(Contact)) == 1
            assert await db.scalar(select(func.count()).select_from(Interaction)) == 1
    finally:
        other.close()
        await engine.dispose()
