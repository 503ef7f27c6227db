"""Customers and identities: round trips, normalisation, lookup, tier locking."""

from __future__ import annotations

import pytest

from callcenter.errors import Conflict, NotFound, ValidationFailed
from callcenter.store.agents import NewAgent, create_agent
from callcenter.store.customers import (
    CustomerChanges,
    NewCustomer,
    create_customer,
    delete_customer,
    find_customer_by_identity,
    get_customer,
    search_customers,
    update_customer,
)
from callcenter.store.identities import (
    add_identity,
    list_identities,
    normalize_email,
    normalize_phone,
    remove_identity,
)
from tests.store.conftest import Store


@pytest.mark.parametrize(("raw", "normalized"), [
    ("+86 138-0000-0001", "+8613800000001"),
    ("0086 138 0000 0001", "+8613800000001"),
    ("13800000001", "+8613800000001"),
    ("(+1) 415.555.0100", "+14155550100"),
])
def test_phone_numbers_normalise_to_plus_and_digits(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize("raw", ["", "12", "+86 138 abc", "+1234567890123456"])
def test_bad_phone_numbers_are_validation_errors(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_phone(raw)
    assert caught.value.code == "request.validation"
    assert caught.value.fields[0].path == "phone"


def test_emails_are_trimmed_and_lower_cased_and_checked() -> None:
    assert normalize_email("  Li.Wei@Example.COM ") == "li.wei@example.com"
    for bad in ("li.wei", "a@b", "@example.com", "a b@example.com"):
        with pytest.raises(ValidationFailed):
            normalize_email(bad)


async def test_customer_round_trip_with_identities(store: Store) -> None:
    async with store.sessions.begin() as session:
        created = await create_customer(session, NewCustomer(
            name="Wang Fang", phones=("138 0000 0002", "+86 21 5555 0101"),
            emails=("Wang.Fang@Example.com",), chat_ids=("visitor-77",), city="Hangzhou",
            loyalty_points=12_400,
        ))
    async with store.sessions() as session:
        read = await get_customer(session, created.id)
        identities = await list_identities(session, created.id)
    assert read == created
    assert (read.name, read.phone, read.email) == ("Wang Fang", "+8613800000002",
                                                   "wang.fang@example.com")
    assert (read.tier, read.tier_locked, read.key_account) == ("standard", False, False)
    assert read.created_at.tzinfo is not None
    assert sorted((i.kind, i.value) for i in identities) == [
        ("chat", "visitor-77"), ("email", "wang.fang@example.com"),
        ("phone", "+8613800000002"), ("phone", "+862155550101"),
    ]


async def test_identity_lookup_finds_the_customer_from_any_spelling(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(
            name="Li Wei", phones=("+8613800000001",), emails=("li.wei@example.com",),
            chat_ids=("visitor-1",)))
    async with store.sessions() as session:
        for kind, value in (("phone", "0086 138 0000 0001"), ("phone", "13800000001"),
                            ("email", "LI.WEI@example.com "), ("chat", "visitor-1")):
            found = await find_customer_by_identity(session, kind, value)
            assert found is not None and found.id == customer.id, (kind, value)
        assert await find_customer_by_identity(session, "phone", "+8613800000009") is None
        assert await find_customer_by_identity(session, "chat", "VISITOR-1") is None


async def test_an_identity_belongs_to_one_customer(store: Store) -> None:
    async with store.sessions.begin() as session:
        first = await create_customer(session, NewCustomer(name="A", phones=("13800000003",)))
        second = await create_customer(session, NewCustomer(name="B"))
        with pytest.raises(Conflict) as caught:
            await add_identity(session, second.id, "phone", "+86 138 0000 0003")
        assert caught.value.code == "customer.identity_taken"
        # The failed attempt left the transaction usable.
        await add_identity(session, second.id, "email", "b@example.com")
    async with store.sessions() as session:
        owner = await find_customer_by_identity(session, "phone", "13800000003")
    assert owner is not None and owner.id == first.id


async def test_removing_an_identity_stops_the_lookup(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="C", emails=("c@example.com",)))
        await remove_identity(session, customer.id, "email", "C@example.com")
        with pytest.raises(NotFound) as caught:
            await remove_identity(session, customer.id, "email", "c@example.com")
        assert caught.value.code == "customer.identity_not_found"
        assert await find_customer_by_identity(session, "email", "c@example.com") is None


async def test_tier_given_by_hand_is_locked_and_can_be_unlocked(store: Store) -> None:
    async with store.sessions.begin() as session:
        manager = await create_agent(session, NewAgent(id="agent01", name="Li Na",
                                                       account_manager=True))
        given = await create_customer(session, NewCustomer(name="D", tier="key",
                                                           account_manager_id=manager.id))
        default = await create_customer(session, NewCustomer(name="E"))
        raised = await update_customer(session, default.id, CustomerChanges(tier="silver"))
        unlocked = await update_customer(session, given.id, CustomerChanges(tier_locked=False))
    assert (given.tier, given.tier_locked, given.key_account) == ("key", True, True)
    assert (default.tier, default.tier_locked) == ("standard", False)
    assert (raised.tier, raised.tier_locked) == ("silver", True)
    assert (unlocked.tier, unlocked.tier_locked) == ("key", False)


async def test_update_checks_values_and_makes_a_new_phone_findable(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="F"))
        updated = await update_customer(session, customer.id, CustomerChanges(
            name=" Feng ", phone="139 0000 0004", notes=None, consent_marketing=True))
        for changes, path in ((CustomerChanges(tier="platinum"), "tier"),
                              (CustomerChanges(name=""), "name"),
                              (CustomerChanges(loyalty_points=-1), "loyalty_points"),
                              (CustomerChanges(account_manager_id="ghost"),
                               "account_manager_id")):
            with pytest.raises(ValidationFailed) as caught:
                await update_customer(session, customer.id, changes)
            assert caught.value.fields[0].path == path
        with pytest.raises(NotFound) as missing:
            await update_customer(session, 999_999, CustomerChanges(name="x"))
        assert missing.value.code == "customer.not_found"
    async with store.sessions() as session:
        found = await find_customer_by_identity(session, "phone", "13900000004")
    assert (updated.name, updated.phone, updated.consent_marketing) == (
        "Feng", "+8613900000004", True)
    assert found is not None and found.id == customer.id


async def test_search_by_name_phone_email_and_tier_pages_by_id(store: Store) -> None:
    async with store.sessions.begin() as session:
        for n in range(5):
            await create_customer(session, NewCustomer(
                name=f"Zhang {n}", phones=(f"1370000000{n}",),
                emails=(f"zhang{n}@example.com",), tier="gold" if n % 2 else None))
        await create_customer(session, NewCustomer(name="Other"))
    async with store.sessions() as session:
        by_name = await search_customers(session, text="zhang")
        page_one = await search_customers(session, text="ZHANG", limit=2)
        page_two = await search_customers(session, text="zhang", limit=2,
                                          after_id=page_one[-1].id)
        by_phone = await search_customers(session, text="+86 137 0000 0003")
        by_email = await search_customers(session, text="Zhang4@example.com")
        gold = await search_customers(session, tier="gold")
        with pytest.raises(ValidationFailed):
            await search_customers(session, limit=0)
    assert [c.name for c in by_name] == [f"Zhang {n}" for n in range(5)]
    assert [c.name for c in page_one + page_two] == [f"Zhang {n}" for n in range(4)]
    assert [c.name for c in by_phone] == ["Zhang 3"]
    assert [c.name for c in by_email] == ["Zhang 4"]
    assert [c.name for c in gold] == ["Zhang 1", "Zhang 3"]


async def test_deleting_a_customer_removes_its_identities(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="G", phones=("13600000001",)))
    async with store.sessions.begin() as session:
        await delete_customer(session, customer.id)
        with pytest.raises(NotFound):
            await delete_customer(session, customer.id)
    async with store.sessions() as session:
        assert await find_customer_by_identity(session, "phone", "13600000001") is None
        assert await list_identities(session, customer.id) == []
