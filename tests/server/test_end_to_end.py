"""The issue's end-to-end story over real HTTP and real websockets, on both backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import get_interaction
from callcenter.store.models import Ticket
from tests.server.harness import LiveServer, Seeded

EMAIL = {"channel": "email", "external_id": "msg-8812@shop", "queue": "email_support",
         "customer": {"email": "li.wei@example.com"},
         "email": {"subject": "Where is my order 10023?", "body": "It is late."}}
CHAT = {"channel": "chat", "external_id": "chat-55", "queue": "chat_support",
        "customer": {"chat_id": "visitor-77"},
        "chat": {"text": "Hi, do you ship to Hangzhou?"}}


async def test_key_account_email_offered_first_to_skilled_agent_and_recorded(
    server: LiveServer, seeded: Seeded, db_url: str
) -> None:
    # The chat arrives first; the key account's email a moment later.
    status, chat = await server.call("POST", "/api/v1/contacts", as_user="integration", json=CHAT)
    assert status == 202, chat
    assert chat["state"] == "queued" and chat["position"] == 1
    status, mail = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                     json=EMAIL)
    assert status == 202, mail
    assert mail["customer_id"] == seeded.key_customer_id

    one = await server.agent("agent01")
    two = await server.agent("agent02")
    assert one.auth["state"] == "not_ready" and two.auth["state"] == "not_ready"
    await one.request("set_state", state="available")
    await two.request("set_state", state="available")

    # Key account first (60 s head start), to the agent with the support skill.
    offer = await two.push("offer")
    assert offer["contact"]["id"] == mail["contact_id"]
    assert offer["contact"]["tier"] == "key"
    assert offer["contact"]["subject"] == "Where is my order 10023?"
    pop = offer["screen_pop"]
    assert pop["customer"]["name"] == "Li Wei" and pop["customer"]["key_account"] is True
    assert [o["id"] for o in pop["orders"]] == ["10003", "10002", "10001"]
    assert [t["id"] for t in pop["tickets"]] == [seeded.complaint_ticket_id]
    assert pop["tickets"][0]["kind"] == "complaint"
    assert 0 < offer["expires_in_s"] <= 20
    second = await two.push("offer")
    assert second["contact"]["id"] == chat["contact_id"]
    assert one.pushes.empty() or all(p["type"] != "offer" for p in list(one.pushes._queue))

    accepted = await two.request("accept", contact_id=mail["contact_id"])
    assert accepted["state"] == "connected"
    await two.push("contact_connected", contact_id=mail["contact_id"])
    await asyncio.sleep(0.3)
    await two.request("end", contact_id=mail["contact_id"])
    await two.push("contact_ended", contact_id=mail["contact_id"])
    await asyncio.sleep(0.2)
    done = await two.request("wrap_up_done", contact_id=mail["contact_id"],
                             disposition="order_status", notes="Told her it ships today",
                             ticket={"kind": "complaint", "subject": "Late delivery",
                                     "priority": "high"})
    assert done["state"] == "completed"

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            record = await get_interaction(db, mail["contact_id"])
            tickets = list(await db.scalars(select(Ticket).where(
                Ticket.contact_id == mail["contact_id"])))
    finally:
        await engine.dispose()
    assert record.outcome == "answered" and record.channel == "email"
    assert record.customer_id == seeded.key_customer_id
    assert record.disposition == "order_status" and record.notes == "Told her it ships today"
    assert [leg.agent_id for leg in record.legs] == ["agent02"]
    leg = record.legs[0]
    assert record.answered_at is not None and record.ended_at is not None
    assert abs(record.talk_s - (record.ended_at - record.answered_at).total_seconds()) < 1e-3
    assert 0.25 <= record.talk_s < 2.0
    assert 0.15 <= record.wrap_up_s < 2.0
    assert abs(record.handle_s - (record.talk_s + record.wrap_up_s)) < 1e-3
    assert abs(leg.talk_s - record.talk_s) < 1e-3 and abs(leg.wrap_up_s - record.wrap_up_s) < 1e-3
    assert record.wait_s >= 0 and record.queued_at is not None
    assert [(t.kind, t.subject, t.priority) for t in tickets] == [
        ("complaint", "Late delivery", "high")]
    await one.close()
    await two.close()
