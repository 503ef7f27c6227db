"""The screen-pop cache: fetched when a contact arrives, pushed with its offer.

The intake calls :meth:`ScreenPopCache.prefetch` as soon as it knows the contact
and its customer - before the contact is even committed - so the store read (two
queries, :func:`callcenter.store.screen_pop.load_screen_pop`) runs off the path
from routing decision to offer. The offer push awaits the cached task with a
short timeout; a contact the cache does not know (after a restart) is loaded from
the store on demand. Entries go when the contact finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.bus import Bus, Routed
from callcenter.logs import get_logger
from callcenter.store.models import Contact
from callcenter.store.screen_pop import load_screen_pop, provisional_screen_pop
from routing.commands import ContactAbandonedRecorded, ContactCompleted, ContactExited

log = get_logger(__name__)


@dataclass(slots=True)
class ContactCard:
    """What an offer shows about the contact itself (PROTOCOL ``offer.contact``)."""

    contact_id: str
    channel: str
    queue: str
    tier: str
    customer_id: int | None
    arrived_at: float
    subject: str | None = None
    first_message: str | None = None
    ivr_path: list[str] = field(default_factory=list)
    priority: int = 0
    provisional: bool = False
    identity: tuple[str, str] | None = None


@dataclass(slots=True)
class _Entry:
    card: ContactCard
    task: asyncio.Task[dict[str, Any]]


class ScreenPopCache:
    """Per-contact cache of screen-pops (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, bus: Bus, max_entries: int = 50_000) -> None:
        self.engine = engine
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._unsubscribe = bus.subscribe("screen_pop", self._on_routed)
        self.fetches = 0

    def close(self) -> None:
        self._unsubscribe()
        for entry in self._entries.values():
            entry.task.cancel()
        self._entries.clear()

    def prefetch(self, card: ContactCard) -> None:
        """Start fetching the screen-pop of a contact that is arriving."""
        if card.contact_id in self._entries:
            return
        if len(self._entries) >= self.max_entries:
            oldest = next(iter(self._entries))
            self.forget(oldest)
        task = asyncio.create_task(self._load(card), name=f"screen-pop {card.contact_id}")
        self._entries[card.contact_id] = _Entry(card, task)

    def forget(self, contact_id: str) -> None:
        entry = self._entries.pop(contact_id, None)
        if entry is not None and not entry.task.done():
            entry.task.cancel()

    async def _load(self, card: ContactCard) -> dict[str, Any]:
        self.fetches += 1
        pop = None
        if card.customer_id is not None:
            pop = await load_screen_pop(self.engine, card.customer_id)
        if pop is None:
            kind, value = card.identity or (None, None)
            pop = provisional_screen_pop(kind, value)
        data = pop.to_dict()
        if card.provisional:
            data["customer"]["provisional"] = True
        return data

    async def card(self, contact_id: str) -> ContactCard | None:
        """The contact card, from the cache or the store (None if unknown)."""
        entry = self._entries.get(contact_id)
        if entry is not None:
            return entry.card
        card = await self._card_from_store(contact_id)
        if card is not None:
            self.prefetch(card)
        return card

    async def get(self, contact_id: str, wait_s: float = 1.0
                  ) -> tuple[ContactCard | None, dict[str, Any] | None]:
        """Card and screen-pop; the screen-pop is None if it is not ready in ``wait_s``."""
        card = await self.card(contact_id)
        entry = self._entries.get(contact_id)
        if card is None or entry is None:
            return card, None
        try:
            return card, await asyncio.wait_for(asyncio.shield(entry.task), wait_s)
        except TimeoutError:
            log.warning("screen_pop.slow", contact_id=contact_id)
            return card, None
        except asyncio.CancelledError:
            if not entry.task.cancelled():
                raise  # we are being cancelled, not the fetch
            return card, None
        except Exception:
            log.exception("screen_pop.failed", contact_id=contact_id)
            return card, None

    async def _card_from_store(self, contact_id: str) -> ContactCard | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(
                select(Contact.id, Contact.channel, Contact.queue, Contact.tier,
                       Contact.customer_id, Contact.created_at, Contact.subject,
                       Contact.first_message, Contact.ivr_path, Contact.payload)
                .where(Contact.id == contact_id))).first()
        if row is None:
            return None
        payload = row.payload or {}
        return ContactCard(
            contact_id=row.id, channel=row.channel, queue=row.queue or "", tier=row.tier,
            customer_id=row.customer_id, arrived_at=row.created_at.timestamp(),
            subject=row.subject, first_message=row.first_message,
            ivr_path=list(row.ivr_path or []), priority=int(payload.get("priority", 0)),
            provisional=bool(payload.get("provisional", False)),
        )

    def _on_routed(self, item: Routed) -> None:
        for command in item.commands:
            if isinstance(command, ContactCompleted | ContactAbandonedRecorded) or (
                    isinstance(command, ContactExited) and command.exit != "overflow"):
                self._drop_later(command.contact_id)

    def _drop_later(self, contact_id: str) -> None:
        # Pushes already queued for this contact may still want the card.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(5.0, self.forget, contact_id)
