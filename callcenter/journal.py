"""What goes into the router journal and snapshots, and how it comes back.

A journal entry is one router input event (``routing.codec`` form) plus the
intake metadata the write-back needs to rebuild its own state on replay (the
contact's channel and IVR path on arrival, the notes and ticket of a wrap-up).
A snapshot holds the router state and the write-back tracker, as of one journal
id. The SQL lives in :mod:`callcenter.store.journal`; this module owns the format.

Recovery (DESIGN §4): the newest snapshot, then every entry after it, in id
order, through the same ``Router.handle`` - so the journal is the truth and the
in-memory state is always re-derivable from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.errors import CallCenterError
from callcenter.store.journal import (
    JournalEntry,
    NewJournalEntry,
    load_latest_snapshot,
    read_journal_after,
)
from callcenter.writeback import ContactTracker, utc
from routing.codec import event_from_dict, event_to_dict
from routing.config import RouterConfig
from routing.events import Event
from routing.router import Router

SNAPSHOT_FORMAT = 1
_PAGE = 5_000


def journal_entry(event: Event, meta: dict[str, Any]) -> NewJournalEntry:
    """The journal row of one applied event."""
    payload: dict[str, Any] = {"event": event_to_dict(event)}
    if meta:
        payload["meta"] = meta
    return NewJournalEntry(at=utc(event.at), kind=type(event).__name__, payload=payload)


def decode_entry(entry: JournalEntry) -> tuple[Event, dict[str, Any]]:
    """The event and metadata of a journal row (``InvalidEvent`` if it does not fit)."""
    return event_from_dict(entry.payload["event"]), dict(entry.payload.get("meta") or {})


def snapshot_payload(router: Router, tracker: ContactTracker) -> dict[str, Any]:
    return {"format": SNAPSHOT_FORMAT, "router": router.snapshot(), "tracker": tracker.to_data()}


@dataclass(slots=True)
class Restored:
    router: Router
    tracker: ContactTracker
    journal_id: int


async def restore_state(
    sessionmaker: async_sessionmaker[AsyncSession], config: RouterConfig
) -> Restored:
    """The state of the newest snapshot (a fresh router when there is none)."""
    async with sessionmaker() as session:
        snapshot = await load_latest_snapshot(session)
    if snapshot is None:
        return Restored(Router(config), ContactTracker(), 0)
    if snapshot.payload.get("format") != SNAPSHOT_FORMAT:
        raise CallCenterError(
            f"router snapshot {snapshot.id} has format {snapshot.payload.get('format')!r}; "
            f"this server reads format {SNAPSHOT_FORMAT}", code="store.snapshot_unreadable")
    return Restored(Router.restore(snapshot.payload["router"]),
                    ContactTracker.from_data(snapshot.payload["tracker"]),
                    snapshot.journal_id)


async def entries_after(
    sessionmaker: async_sessionmaker[AsyncSession], journal_id: int
) -> AsyncIterator[JournalEntry]:
    """Every journal entry after ``journal_id``, in id order, page by page."""
    after = journal_id
    while True:
        async with sessionmaker() as session:
            page = await read_journal_after(session, after, limit=_PAGE)
        for entry in page:
            yield entry
        if len(page) < _PAGE:
            return
        after = page[-1].id
