"""Contacts over HTTP: idempotency, customers, raw email threading, callbacks, abandon."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import get_interaction
from callcenter.store.models import Contact, ContactMessage, Customer, EmailOutbox
from tests.server.harness import LiveServer, Seeded


async def count(db_url: str, model: type, *where: object) -> int:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return int(await db.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)
    finally:
        await engine.dispose()


def chat(external_id: str | None = None, chat_id: str = "visitor-77") -> dict:
    body = {"channel": "chat", "queue": "chat_sales", "customer": {"chat_id": chat_id},
            "chat": {"text": "hello"}}
    if external_id:
        body["external_id"] = external_id
    return body


async def test_same_external_id_gives_same_contact_without_a_new_one(
    server: LiveServer, db_url: str
) -> None:
    status, first = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                      json=chat("chat-1"))
    assert status == 202
    status, again = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                      json=chat("chat-1"))
    assert status == 200
    assert again["contact_id"] == first["contact_id"] and again["duplicate"] is True
    # Idempotency-Key header works the same way.
    headers = {"Idempotency-Key": "retry-7"}
    status, a = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                  json=chat(), headers=headers)
    status2, b = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                   json=chat(), headers=headers)
    assert (status, status2) == (202, 200) and a["contact_id"] == b["contact_id"]
    assert await count(db_url, Contact) == 2


async def test_concurrent_retries_of_one_contact_create_it_once(
    server: LiveServer, db_url: str
) -> None:
    replies = await asyncio.gather(*[
        server.call("POST", "/api/v1/contacts", as_user="integration", json=chat("burst-1"))
        for _ in range(8)])
    statuses = sorted(status for status, _ in replies)
    assert statuses.count(202) == 1 and statuses.count(200) == 7
    assert len({body["contact_id"] for _, body in replies}) == 1
    assert await count(db_url, Contact, Contact.external_id == "burst-1") == 1
    queue = server.services.runtime.router.queue_snapshot("chat_sales")
    assert queue.waiting == 1


async def test_unknown_customer_becomes_provisional_and_is_shown_so(
    server: LiveServer, db_url: str
) -> None:
    status, reply = await server.call(
        "POST", "/api/v1/contacts", as_user="integration",
        json={"channel": "email", "queue": "email_support",
              "customer": {"email": "New.Person@Example.com"},
              "email": {"subject": "Hello", "body": "First time", "message_id": "<n1@x>"}})
    assert status == 202
    again = await server.call(
        "POST", "/api/v1/contacts", as_user="integration",
        json={"channel": "email", "queue": "email_support",
              "customer": {"email": "new.person@example.com"},
              "email": {"subject": "Hello again", "body": "2nd", "message_id": "<n2@x>"}})
    assert again[0] == 202 and again[1]["customer_id"] == reply["customer_id"]
    agent = await server.agent("agent02")
    await agent.request("set_state", state="available")
    offer = await agent.push("offer")
    customer = offer["screen_pop"]["customer"]
    assert customer["provisional"] is True and customer["email_masked"] == "ne***@example.com"
    status, profile = await server.call("GET", f"/api/v1/customers/{reply['customer_id']}",
                                        as_user="admin")
    assert status == 200 and profile["provisional"] is True
    assert profile["identities"] == [{"kind": "email", "value": "new.person@example.com"}]
    await agent.close()


RAW = (b"From: Li Wei <Li.Wei@example.com>\r\n"
       b"To: service@shop.example\r\n"
       b"Subject: Broken kettle\r\n"
       b"Message-ID: <first-1@mail.example.com>\r\n"
       b"Date: Mon, 23 Nov 2026 10:15:00 +0000\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
       b"The kettle I bought leaks.\r\n")


async def test_raw_email_reply_joins_the_thread_customer(
    server: LiveServer, seeded: Seeded, db_url: str
) -> None:
    status, first = await server.call(
        "POST", "/api/v1/contacts/email?queue=email_support", as_user="integration",
        data=RAW, headers={"Content-Type": "message/rfc822"})
    assert status == 202, first
    assert first["customer_id"] == seeded.key_customer_id
    status, dup = await server.call(
        "POST", "/api/v1/contacts/email?queue=email_support", as_user="integration",
        data=RAW, headers={"Content-Type": "message/rfc822"})
    assert status == 200 and dup["contact_id"] == first["contact_id"]

    agent = await server.agent("agent02")
    await agent.request("set_state", state="available")
    await agent.push("offer")
    await agent.request("accept", contact_id=first["contact_id"])
    await agent.request("chat_send", contact_id=first["contact_id"], text="Sorry! A new one.")
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            reply = await db.scalar(select(EmailOutbox).where(
                EmailOutbox.contact_id == first["contact_id"]))
    finally:
        await engine.dispose()
    assert reply is not None
    assert reply.in_reply_to == "<first-1@mail.example.com>"
    assert reply.references == "<first-1@mail.example.com>"
    assert reply.subject == "Re: Broken kettle" and reply.to == "li.wei@example.com"

    # The customer answers from another address; threading finds her anyway.
    answer = (b"From: Wei at work <wei@corp.example>\r\n"
              b"Subject: Re: Broken kettle\r\n"
              b"Message-ID: <second-2@corp.example>\r\n"
              b"In-Reply-To: " + reply.message_id.encode() + b"\r\n"
              b"References: <first-1@mail.example.com> " + reply.message_id.encode() + b"\r\n"
              b"Content-Type: text/html; charset=utf-8\r\n\r\n"
              b"<p>Thanks &amp; bye</p>\r\n")
    status, second = await server.call(
        "POST", "/api/v1/contacts/email?queue=email_support", as_user="integration",
        data=answer, headers={"Content-Type": "message/rfc822"})
    assert status == 202, second
    assert second["customer_id"] == seeded.key_customer_id
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            contact = await db.get(Contact, second["contact_id"])
            body = await db.scalar(select(ContactMessage.body).where(
                ContactMessage.contact_id == second["contact_id"]))
    finally:
        await engine.dispose()
    assert contact is not None and contact.payload["thread_id"] == first["contact_id"]
    assert body == "Thanks & bye"
    await agent.close()


async def test_malformed_raw_email_is_422(server: LiveServer) -> None:
    for raw in (b"", b"no headers at all", b"Subject: x\r\n\r\nbody"):
        status, body = await server.call(
            "POST", "/api/v1/contacts/email", as_user="integration", data=raw,
            headers={"Content-Type": "message/rfc822"})
        assert status == 422 and body["error"]["code"] == "email.invalid", (raw, body)


async def test_callback_for_later_waits_then_is_offered(server: LiveServer) -> None:
    status, later = await server.call(
        "POST", "/api/v1/contacts", as_user="integration",
        json={"channel": "callback", "external_id": "cb-9", "queue": "callback",
              "customer": {"phone": "+8613800000002"},
              "callback": {"due_at": "2099-01-01T00:00:00Z"}})
    assert status == 202 and later["state"] == "callback_scheduled"
    status, now = await server.call(
        "POST", "/api/v1/contacts", as_user="integration",
        json={"channel": "callback", "external_id": "cb-10", "queue": "callback",
              "customer": {"phone": "+8613800000001"}})
    assert status == 202 and now["state"] == "queued"
    agent = await server.agent("agent02")
    await agent.request("set_state", state="available")
    offer = await agent.push("offer")
    assert offer["contact"]["id"] == now["contact_id"]
    assert offer["contact"]["channel"] == "callback"
    await agent.close()


async def test_customer_leaving_is_recorded_as_abandoned(
    server: LiveServer, db_url: str
) -> None:
    status, contact = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                        json=chat("leave-1"))
    status, body = await server.call("DELETE", f"/api/v1/contacts/{contact['contact_id']}",
                                     as_user="integration")
    assert status == 202 and body["status"] == "abandoned"
    status, view = await server.call("GET", f"/api/v1/contacts/{contact['contact_id']}",
                                     as_user="integration")
    assert status == 200 and view["state"] == "abandoned"
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            record = await get_interaction(db, contact["contact_id"])
    finally:
        await engine.dispose()
    assert record.outcome == "short_abandon" and record.legs == ()
    status, body = await server.call("DELETE", f"/api/v1/contacts/{contact['contact_id']}",
                                     as_user="integration")
    assert status == 409 and body["error"]["code"] == "contact.invalid_transition"


async def test_contact_view_and_list(server: LiveServer) -> None:
    ids = []
    for i in range(3):
        _, reply = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                     json=chat(f"list-{i}"))
        ids.append(reply["contact_id"])
    status, view = await server.call("GET", f"/api/v1/contacts/{ids[2]}", as_user="supervisor")
    assert status == 200
    assert view["state"] == "queued" and view["position"] == 3 and view["queue"] == "chat_sales"
    assert view["times"]["arrived_at"].endswith("Z")
    status, page = await server.call("GET", "/api/v1/contacts?limit=2", as_user="supervisor")
    assert status == 200 and [c["contact_id"] for c in page["items"]] == ids[::-1][:2]
    status, rest = await server.call(
        "GET", f"/api/v1/contacts?limit=2&cursor={page['next_cursor']}", as_user="supervisor")
    assert [c["contact_id"] for c in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


async def test_customers_created_from_contacts_are_not_duplicated(
    server: LiveServer, db_url: str
) -> None:
    before = await count(db_url, Customer)
    await asyncio.gather(*[
        server.call("POST", "/api/v1/contacts", as_user="integration",
                    json=chat(f"same-visitor-{i}", chat_id="visitor-new"))
        for i in range(5)])
    assert await count(db_url, Customer) == before + 1
