"""The screen-pop read: PROTOCOL.md shape, at most two queries, provisional callers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.store.customers import (
    CustomerChanges,
    NewCustomer,
    create_customer,
    update_customer,
)
from callcenter.store.interactions import InteractionRecord, LegRecord, commit_interactions
from callcenter.store.orders import NewOrder, add_order
from callcenter.store.screen_pop import (
    ScreenPopReader,
    load_screen_pop,
    load_screen_pop_by_identity,
    mask_email,
    mask_phone,
    provisional_screen_pop,
)
from callcenter.store.tickets import NewTicket, open_ticket, set_ticket_status
from tests.store.conftest import StatementLog, Store

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_masks_show_only_enough_to_recognise_the_customer() -> None:
    assert mask_phone("+8613800000001") == "+86 138****0001"
    assert mask_phone("+14155550100") == "+1 415***0100"
    assert mask_phone("+4930123456") == "493***3456"
    assert mask_phone(None) is None
    assert mask_email("li.wei.123@example.com") == "li***@example.com"
    assert mask_email("a@example.com") == "a***@example.com"
    assert mask_email("nonsense") is None


async def make_customer_with_history(store: Store) -> int:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(
            name="Li Wei", phones=("+8613800000001",), emails=("li.wei@example.com",),
            loyalty_points=12_400))
        await update_customer(session, customer.id, CustomerChanges(tier="key"))
        for n in range(7):
            await add_order(session, NewOrder(customer_id=customer.id, number=f"1002{n}",
                                              placed_at=T0 + timedelta(days=n),
                                              total_cents=10_000 + n, item_count=n + 1))
        late = await open_ticket(session, NewTicket(customer_id=customer.id, kind="complaint",
                                                    subject="Late delivery", priority="high",
                                                    opened_at=T0))
        await open_ticket(session, NewTicket(customer_id=customer.id, kind="service",
                                             subject="Invoice", opened_at=T0, status="pending"))
        done = await open_ticket(session, NewTicket(customer_id=customer.id, kind="service",
                                                    subject="Address", opened_at=T0))
        await set_ticket_status(session, done.id, "resolved")
        assert late.sla_due_at == T0 + timedelta(hours=8)
    records = [
        InteractionRecord(contact_id=f"c-{n:02d}", channel="voice" if n % 2 else "chat",
                          outcome="answered", arrived_at=T0 + timedelta(hours=n),
                          customer_id=customer.id, disposition="resolved", notes=f"call {n}",
                          legs=(LegRecord(leg_no=1, agent_id=f"agent0{n % 3 + 1}"),))
        for n in range(12)
    ]
    await commit_interactions(store.sessions, records)
    return customer.id


async def test_screen_pop_has_the_protocol_shape_and_history(store: Store) -> None:
    customer_id = await make_customer_with_history(store)
    pop = await load_screen_pop(store.engine, customer_id)
    assert pop is not None
    data = pop.to_dict()
    assert set(data) == {"customer", "orders", "tickets", "interactions"}
    customer = data["customer"]
    assert {"id", "name", "tier", "key_account", "lifetime_value", "rfm", "lifecycle",
            "loyalty_level", "phone_masked", "email_masked"} <= set(customer)
    assert customer["id"] == customer_id
    assert (customer["tier"], customer["key_account"], customer["provisional"]) == (
        "key", True, False)
    assert set(customer["rfm"]) == {"r", "f", "m", "segment"}
    assert (customer["phone_masked"], customer["email_masked"]) == ("+86 138****0001",
                                                                    "li***@example.com")
    assert [o["id"] for o in data["orders"]] == ["10026", "10025", "10024", "10023", "10022"]
    assert data["orders"][0] == {"id": "10026", "placed_at": "2026-11-07T09:00:00.000Z",
                                 "total": 100.06, "currency": "CNY", "status": "paid",
                                 "item_count": 7}
    assert [(t["subject"], t["status"]) for t in data["tickets"]] == [
        ("Late delivery", "open"), ("Invoice", "pending")]
    assert set(data["tickets"][0]) >= {"id", "kind", "subject", "status", "sla_due_at"}
    assert [i["notes"] for i in data["interactions"]] == [f"call {n}" for n in range(11, 1, -1)]
    assert data["interactions"][0] == {
        "id": data["interactions"][0]["id"], "channel": "voice",
        "started_at": "2026-11-01T20:00:00.000Z", "outcome": "answered",
        "disposition": "resolved", "agent": "agent03", "notes": "call 11"}


async def test_screen_pop_by_identity_takes_at_most_two_queries(
    store: Store, statement_log: StatementLog,
) -> None:
    customer_id = await make_customer_with_history(store)
    statement_log.statements.clear()
    async with store.sessions() as session:
        pop = await load_screen_pop_by_identity(session, "phone", "138 0000 0001")
    assert pop.customer.id == customer_id
    assert (len(pop.orders), len(pop.tickets), len(pop.interactions)) == (5, 2, 10)
    assert len(statement_log.statements) <= 2


async def test_unknown_caller_gets_a_provisional_screen_pop_in_one_query(
    store: Store, statement_log: StatementLog,
) -> None:
    pop = await load_screen_pop_by_identity(store.engine, "phone", "+8613999999999")
    assert len(statement_log.statements) == 1
    customer = pop.to_dict()["customer"]
    assert customer["provisional"] is True
    assert customer["id"] is None
    assert customer["phone_masked"] == "+86 139****9999"
    assert (customer["tier"], customer["key_account"]) == ("standard", False)
    assert (pop.orders, pop.tickets, pop.interactions) == ((), (), ())


def test_provisional_screen_pop_names_the_address_it_came_from() -> None:
    assert provisional_screen_pop("email", "Visitor@Example.com").customer.name == (
        "visitor@example.com")
    assert provisional_screen_pop("chat", "visitor-9").customer.name == "Visitor visitor-9"
    # A garbled caller id still gives a screen-pop rather than an error.
    assert provisional_screen_pop("phone", "anonymous").customer.provisional


@pytest.mark.parametrize("customer_id", [0, 10**12])
async def test_screen_pop_of_a_missing_customer_is_none(store: Store, customer_id: int) -> None:
    assert await load_screen_pop(store.engine, customer_id) is None


async def test_reader_gives_the_same_screen_pop_on_its_fast_path(
    store: Store, db_url: str,
) -> None:
    customer_id = await make_customer_with_history(store)
    expected = await load_screen_pop(store.engine, customer_id)
    reader = ScreenPopReader(db_url)
    try:
        by_identity = await reader.by_identity("email", "Li.Wei@example.com")
        by_id = await reader.by_customer(customer_id)
        unknown = await reader.by_identity("chat", "visitor-404")
        missing = await reader.by_customer(customer_id + 1000)
    finally:
        await reader.close()
    assert by_identity == by_id == expected
    assert unknown.provisional and unknown.customer.name == "Visitor visitor-404"
    assert missing is None
