"""Agents, skills, queues, dispositions, users, logs, surveys, audit and orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.errors import Conflict, NotFound, ValidationFailed
from callcenter.passwords import hash_password, verify_password
from callcenter.store.agents import (
    NewAgent,
    create_agent,
    create_skill,
    delete_agent,
    delete_skill,
    get_agent,
    list_agents,
    list_skills,
    update_agent,
)
from callcenter.store.audit import recent_audit, record_audit
from callcenter.store.customers import NewCustomer, create_customer
from callcenter.store.orders import NewOrder, add_order, recent_orders, set_order_status
from callcenter.store.queues import (
    check_queue_config,
    create_disposition,
    create_queue,
    default_disposition,
    delete_queue,
    get_queue,
    list_dispositions,
    update_queue,
)
from callcenter.store.routing_log import (
    DecisionRecord,
    PresenceChange,
    decisions_for_contact,
    log_decisions,
    log_presence,
    presence_history,
)
from callcenter.store.surveys import NewSurvey, customer_surveys, record_survey
from callcenter.store.users import authenticate, create_user, list_users, update_user
from tests.store.conftest import Store

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def add_skills(store: Store, *names: str) -> None:
    async with store.sessions.begin() as session:
        for name in names:
            await create_skill(session, name)


async def test_agent_round_trip_with_skills_and_capacity(store: Store) -> None:
    await add_skills(store, "sales", "mandarin", "vip")
    async with store.sessions.begin() as session:
        created = await create_agent(session, NewAgent(
            id="agent01", name="Li Na", extension="7012", skills={"sales": 7, "mandarin": 9},
            capacity={"voice": 1, "chat": 3}, account_manager=True))
        other = await create_agent(session, NewAgent(name="Zhou Yi"))
    async with store.sessions() as session:
        read = await get_agent(session, "agent01")
        listed = await list_agents(session)
    assert read == created
    assert read.skills == {"mandarin": 9, "sales": 7}
    assert read.capacity == {"voice": 1, "chat": 3}
    assert other.capacity == {"voice": 1, "chat": 3, "email": 2}
    assert [a.id for a in listed] == sorted(["agent01", other.id])


async def test_agent_updates_replace_skills_and_keep_extensions_unique(store: Store) -> None:
    await add_skills(store, "sales", "support")
    async with store.sessions.begin() as session:
        await create_agent(session, NewAgent(id="a1", name="A", extension="7001",
                                             skills={"sales": 5}))
        await create_agent(session, NewAgent(id="a2", name="B", extension="7002"))
        updated = await update_agent(session, "a1", name="Anna", skills={"support": 8},
                                     active=False)
        with pytest.raises(Conflict) as taken:
            await update_agent(session, "a2", extension="7001")
        assert taken.value.code == "agent.extension_taken"
        with pytest.raises(Conflict) as exists:
            await create_agent(session, NewAgent(id="a1", name="again"))
        assert exists.value.code == "agent.exists"
    assert (updated.name, updated.skills, updated.active) == ("Anna", {"support": 8}, False)


@pytest.mark.parametrize(("agent", "path"), [
    (NewAgent(id="bad id", name="x"), "id"),
    (NewAgent(name=""), "name"),
    (NewAgent(name="x", capacity={"fax": 1}), "capacity.fax"),
    (NewAgent(name="x", capacity={"chat": 99}), "capacity.chat"),
    (NewAgent(name="x", skills={"sales": 11}), "skills.sales"),
    (NewAgent(name="x", skills={"juggling": 3}), "skills.juggling"),
])
async def test_bad_agents_are_validation_errors(store: Store, agent: NewAgent, path: str) -> None:
    await add_skills(store, "sales")
    async with store.sessions.begin() as session:
        with pytest.raises(ValidationFailed) as caught:
            await create_agent(session, agent)
    assert caught.value.fields[0].path == path


async def test_a_skill_in_use_cannot_be_deleted(store: Store) -> None:
    await add_skills(store, "sales", "billing", "spare")
    async with store.sessions.begin() as session:
        await create_agent(session, NewAgent(id="a1", name="A", skills={"sales": 5}))
        await create_queue(session, "q_billing", "voice", config={
            "required_skills": [{"skill": "billing", "min_level": 2}]})
        for name in ("sales", "billing"):
            with pytest.raises(Conflict) as caught:
                await delete_skill(session, name)
            assert caught.value.code == "skill.in_use"
        await delete_skill(session, "spare")
        assert [s.name for s in await list_skills(session)] == ["billing", "sales"]
        await delete_agent(session, "a1")
        await delete_skill(session, "sales")
        with pytest.raises(NotFound):
            await get_agent(session, "a1")


async def test_queue_config_is_completed_with_defaults_and_round_trips(store: Store) -> None:
    await add_skills(store, "support", "mandarin")
    async with store.sessions.begin() as session:
        await create_queue(session, "voice_support", "voice", base_priority=10, config={
            "required_skills": [{"skill": "support", "min_level": 3},
                                {"skill": "mandarin", "min_level": 5}],
            "relaxation": [{"after_s": 60, "skill": "support", "min_level": None},
                           {"after_s": 30, "skill": "support", "min_level": 1}],
        })
        vip = await create_queue(session, "voice_vip", "voice", base_priority=50, config={
            "overflow": {"after_s": 90, "queue": "voice_support"},
            "exits": {"no_agents": {"action": "overflow", "queue": "voice_support"}}})
    async with store.sessions() as session:
        support = await get_queue(session, "voice_support")
    assert support.required_skills == {"support": 3, "mandarin": 5}
    assert [step["after_s"] for step in support.config["relaxation"]] == [30.0, 60.0]
    assert support.config["strategy"] == "longest_idle"
    assert support.config["sl_target_s"] == 20.0
    assert vip.config["overflow"] == {"after_s": 90.0, "queue": "voice_support"}
    async with store.sessions.begin() as session:
        with pytest.raises(Conflict) as caught:
            await delete_queue(session, "voice_support")
        assert caught.value.code == "queue.in_use"
        changed = await update_queue(session, "voice_vip", config={"strategy": "most_skilled"})
        assert (changed.config["strategy"], changed.config["overflow"]) == ("most_skilled", None)
        await delete_queue(session, "voice_support")


@pytest.mark.parametrize(("config", "path"), [
    ({"color": "red"}, "color"),
    ({"strategy": "random"}, "strategy"),
    ({"sl_target_s": 0}, "sl_target_s"),
    ({"required_skills": [{"skill": "sales"}]}, "required_skills[0]"),
    ({"required_skills": [{"skill": "sales", "min_level": 0}]}, "required_skills[0].min_level"),
    ({"relaxation": [{"after_s": -1, "skill": "sales", "min_level": 1}]},
     "relaxation[0].after_s"),
    ({"overflow": {"after_s": 30}}, "overflow"),
    ({"exits": {"lunch": {"action": "voicemail"}}}, "exits.lunch"),
    ({"exits": {"max_wait": {"action": "sing"}}}, "exits.max_wait.action"),
    ({"max_attempts": 0}, "max_attempts"),
])
def test_bad_queue_settings_name_the_field(config: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_queue_config(config)
    assert caught.value.fields[0].path == path


async def test_queue_references_must_exist(store: Store) -> None:
    async with store.sessions.begin() as session:
        with pytest.raises(ValidationFailed, match="no such skill"):
            await create_queue(session, "q", "chat", config={
                "required_skills": [{"skill": "ghost", "min_level": 1}]})
        with pytest.raises(ValidationFailed, match="no such queue"):
            await create_queue(session, "q", "chat", config={
                "overflow": {"after_s": 10, "queue": "nowhere"}})
        with pytest.raises(ValidationFailed):
            await create_queue(session, "q", "fax")
        await create_queue(session, "q", "chat")
        with pytest.raises(Conflict):
            await create_queue(session, "q", "chat")


async def test_only_one_disposition_is_the_default(store: Store) -> None:
    async with store.sessions.begin() as session:
        await create_disposition(session, "resolved", "Resolved", is_default=True)
        await create_disposition(session, "no_disposition", "Timed out", is_default=True)
    async with store.sessions() as session:
        default = await default_disposition(session)
        listed = await list_dispositions(session)
    assert default is not None and default.code == "no_disposition"
    assert [(d.code, d.is_default) for d in listed] == [("no_disposition", True),
                                                       ("resolved", False)]


def test_password_hashes_verify_and_resist_tampering() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret", stored)
    assert not verify_password("S3cret", stored)
    assert hash_password("s3cret") != stored  # random salt
    assert hash_password("x", salt=b"0" * 16) == hash_password("x", salt=b"0" * 16)
    for broken in ("", "md5$abc", stored.replace("16384", "1000"), stored[:-4],
                   "scrypt$16384$8$1$!!$??", stored.replace("$16384$", "$1073741824$")):
        assert not verify_password("s3cret", broken)


async def test_users_authenticate_and_never_expose_hashes(store: Store) -> None:
    async with store.sessions.begin() as session:
        await create_agent(session, NewAgent(id="agent01", name="Li Na"))
        agent_user = await create_user(session, "agent01", "demo", "agent", agent_id="agent01")
        await create_user(session, "boss", "demo", "supervisor")
        with pytest.raises(ValidationFailed):
            await create_user(session, "nobody", "demo", "agent")
        with pytest.raises(ValidationFailed):
            await create_user(session, "x", "demo", "root")
        with pytest.raises(Conflict) as taken:
            await create_user(session, "boss", "demo", "admin")
        assert taken.value.code == "user.exists"
    async with store.sessions.begin() as session:
        assert await authenticate(session, "agent01", "demo") == agent_user
        assert await authenticate(session, "agent01", "wrong") is None
        assert await authenticate(session, "ghost", "demo") is None
        await update_user(session, "boss", active=False)
        assert await authenticate(session, "boss", "demo") is None
        users = await list_users(session)
    assert not hasattr(agent_user, "password_hash")
    assert [(u.username, u.role) for u in users] == [("agent01", "agent"), ("boss", "supervisor")]


async def test_presence_and_decision_logs_read_back_in_time_order(store: Store) -> None:
    async with store.sessions.begin() as session:
        await log_presence(session, [
            PresenceChange("agent01", T0 + timedelta(minutes=5), "not_ready", "lunch"),
            PresenceChange("agent01", T0, "available"),
            PresenceChange("agent02", T0, "available"),
        ])
        await log_decisions(session, [DecisionRecord(
            "c-1", "agent01", T0, "voice_support",
            {"strategy": "longest_idle", "candidates": ["agent01", "agent02"]})])
        with pytest.raises(ValidationFailed):
            await log_presence(session, [PresenceChange("agent01", T0, "asleep")])
    async with store.sessions() as session:
        history = await presence_history(session, "agent01", T0, T0 + timedelta(hours=1))
        decisions = await decisions_for_contact(session, "c-1")
    assert [(p.presence, p.reason) for p in history] == [("available", None),
                                                        ("not_ready", "lunch")]
    assert decisions[0].reason["candidates"] == ["agent01", "agent02"]


async def test_surveys_orders_and_audit_round_trip(store: Store) -> None:
    async with store.sessions.begin() as session:
        customer = await create_customer(session, NewCustomer(name="Sun Li"))
        survey = await record_survey(session, NewSurvey(customer.id, "c-1", csat=4, nps=9,
                                                        at=T0))
        for bad in (NewSurvey(customer.id), NewSurvey(customer.id, csat=6),
                    NewSurvey(customer.id, nps=11)):
            with pytest.raises(ValidationFailed):
                await record_survey(session, bad)
        await add_order(session, NewOrder(customer.id, "A-1", T0, 19_900))
        await add_order(session, NewOrder(customer.id, "A-2", T0 + timedelta(days=1), 5_000))
        with pytest.raises(Conflict):
            await add_order(session, NewOrder(customer.id, "A-1", T0, 1))
        shipped = await set_order_status(session, "A-2", "shipped")
        await record_audit(session, "admin:root", "queue.updated", "queue:voice_vip",
                           {"strategy": "most_skilled"}, at=T0)
    async with store.sessions() as session:
        surveys = await customer_surveys(session, customer.id)
        orders = await recent_orders(session, customer.id)
        audit = await recent_audit(session, target="queue:voice_vip")
    assert surveys == [survey]
    assert [(o.number, o.status) for o in orders] == [("A-2", "shipped"), ("A-1", "paid")]
    assert shipped.total_cents == 5_000
    assert (audit[0].actor, audit[0].details) == ("admin:root", {"strategy": "most_skilled"})
