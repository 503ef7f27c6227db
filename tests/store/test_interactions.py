"""Interaction write-back: batches with legs and tickets, duplicates, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from callcenter.errors import ValidationFailed
from callcenter.store.customers import NewCustomer, create_customer
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import (
    InteractionRecord,
    LegRecord,
    TicketChange,
    commit_interactions,
    customer_interactions,
    get_interaction,
    write_interactions,
)
from callcenter.store.models import Interaction, InteractionLeg
from callcenter.store.tickets import NewTicket, get_ticket, open_ticket, open_tickets
from tests.store.conftest import Store

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def answered(contact_id: str, customer_id: int | None = None, **extra: object) -> InteractionRecord:
    fields: dict[str, object] = {
        "contact_id": contact_id, "channel": "voice", "outcome": "answered", "arrived_at": T0,
        "customer_id": customer_id, "first_queue": "voice_support",
        "ivr_left_at": T0 + timedelta(seconds=20), "queued_at": T0 + timedelta(seconds=20),
        "alerting_at": T0 + timedelta(seconds=30), "answered_at": T0 + timedelta(seconds=35),
        "ended_at": T0 + timedelta(seconds=335), "wrap_up_ended_at": T0 + timedelta(seconds=365),
        "wait_s": 15.0, "talk_s": 280.0, "hold_s": 20.0, "wrap_up_s": 30.0,
        "disposition": "resolved", "notes": "gave tracking link", "ivr_path": ("main", "1"),
        "csat": 5,
        "legs": (LegRecord(leg_no=1, agent_id="agent01", queue="voice_support",
                           alerting_at=T0 + timedelta(seconds=30),
                           answered_at=T0 + timedelta(seconds=35),
                           ended_at=T0 + timedelta(seconds=335), talk_s=280.0, hold_s=20.0,
                           wrap_up_s=30.0),),
    }
    fields.update(extra)
    return InteractionRecord(**fields)  # type: ignore[arg-type]


async def test_record_round_trip_with_legs_and_defaults(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="Li Wei"))
    record = answered("c-1", customer.id)
    result = await commit_interactions(store.sessions, [record])
    async with store.sessions() as session:
        read = await get_interaction(session, "c-1")
    assert result.written == 1 and result.duplicates == ()
    assert read.interaction_id == result.interaction_ids["c-1"]
    # handle = talk + hold + wrap-up; last queue and agent default from the record/legs.
    assert (read.handle_s, read.last_queue, read.agent_id) == (330.0, "voice_support", "agent01")
    assert read.legs == record.legs
    assert read.ivr_path == ("main", "1")
    assert (read.arrived_at, read.wrap_up_ended_at) == (record.arrived_at,
                                                       record.wrap_up_ended_at)


async def test_a_transfer_keeps_one_leg_per_agent(store: Store) -> None:
    legs = (LegRecord(leg_no=1, agent_id="agent01", queue="voice_sales", talk_s=60.0),
            LegRecord(leg_no=2, agent_id="agent07", queue="voice_support", talk_s=200.0,
                      wrap_up_s=15.0))
    await commit_interactions(store.sessions, [answered("c-t", outcome="transferred",
                                                        transfers=1, legs=legs)])
    async with store.sessions() as session:
        read = await get_interaction(session, "c-t")
    assert [(leg.agent_id, leg.talk_s) for leg in read.legs] == [("agent01", 60.0),
                                                               ("agent07", 200.0)]
    assert (read.agent_id, read.transfers) == ("agent07", 1)


async def test_a_batch_is_durable_once_commit_returns(store: Store, db_url: str) -> None:
    records = [answered(f"c-{n}") for n in range(250)]
    result = await commit_interactions(store.sessions, records)
    assert result.written == 250
    # A second engine (another process, after a crash) sees every record.
    other = make_engine(db_url)
    try:
        async with make_sessionmaker(other)() as session:
            count = await session.scalar(select(func.count()).select_from(Interaction))
            legs = await session.scalar(select(func.count()).select_from(InteractionLeg))
    finally:
        await other.dispose()
    assert (count, legs) == (250, 250)


async def test_retried_and_repeated_contacts_are_recorded_once(store: Store) -> None:
    first = await commit_interactions(store.sessions, [answered("c-1"), answered("c-2")])
    again = await commit_interactions(store.sessions,
                                      [answered("c-2"), answered("c-3"), answered("c-3")])
    async with store.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Interaction))
    assert first.written == 2
    assert (again.written, again.duplicates) == (1, ("c-2", "c-3"))
    assert count == 3


async def test_wrap_up_opens_a_complaint_and_updates_a_ticket(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="Wang Fang"))
        existing = await open_ticket(session, NewTicket(customer_id=customer.id, kind="service",
                                                        subject="Where is my order?"))
    result = await commit_interactions(store.sessions, [
        answered("c-new", customer.id, ticket=TicketChange(kind="complaint",
                                                           subject="Late delivery",
                                                           priority="urgent")),
        answered("c-upd", customer.id, ticket=TicketChange(ticket_id=existing.id,
                                                           status="resolved")),
    ])
    async with store.sessions() as session:
        opened = await get_ticket(session, result.ticket_ids["c-new"])
        updated = await get_ticket(session, existing.id)
        still_open = await open_tickets(session, customer.id)
    assert (opened.kind, opened.priority, opened.contact_id) == ("complaint", "urgent", "c-new")
    assert opened.sla_due_at == opened.opened_at + timedelta(hours=4)
    assert (updated.status, updated.resolved_at is not None) == ("resolved", True)
    assert [t.id for t in still_open] == [opened.id]


async def test_an_invalid_record_fails_the_batch_with_field_paths(store: Store) -> None:
    bad = answered("c-bad", outcome="hung_up", csat=7, wait_s=-1.0,
                   arrived_at=datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValidationFailed) as caught:
        async with store.sessions.begin() as session:
            await write_interactions(session, [answered("c-ok"), bad])
    paths = {f.path for f in caught.value.fields}
    assert {"records[1].outcome", "records[1].csat", "records[1].wait_s",
            "records[1].arrived_at"} <= paths
    async with store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0


async def test_customer_history_is_newest_first(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="Zhou Yi"))
    await commit_interactions(store.sessions, [
        answered(f"c-{n}", customer.id, arrived_at=T0 + timedelta(minutes=n)) for n in range(15)
    ])
    async with store.sessions() as session:
        newest = await customer_interactions(session, customer.id, limit=3)
        older = await customer_interactions(session, customer.id, limit=3,
                                            before=newest[-1].arrived_at)
    assert [r.contact_id for r in newest + older] == [f"c-{n}" for n in range(14, 8, -1)]
