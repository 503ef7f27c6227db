"""The agent's and the supervisor's day in the browser, against a real server.

A live ``create_app`` server (seeded SQLite store, real websockets) and Debian's
Chromium: the agent logs in and goes available, a key account's chat arrives, the
supervisor sees the queue go up and down and the agent's state change, the agent
takes the chat with the right screen-pop, talks, survives a dropped socket, wraps
up with a disposition and a complaint ticket, and the interaction is in the store.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from sqlalchemy import select

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import get_interaction
from callcenter.store.models import ContactMessage, Ticket
from tests.browser.conftest import OpenPage
from tests.browser.sample_data import XSS
from tests.server.harness import PASSWORD, LiveServer, Seeded, seed_minimal, server_config

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FIRST_MESSAGE = f"Hi, my parcel 10001 arrived damaged {XSS}"


@pytest_asyncio.fixture(loop_scope="session")
async def seeded_store(sqlite_url: str) -> Seeded:
    return await seed_minimal(sqlite_url, ring_timeout_s=30.0, wrap_up_s=120.0)


@pytest_asyncio.fixture(loop_scope="session")
async def live(sqlite_url: str, seeded_store: Seeded) -> AsyncIterator[LiveServer]:
    # A long grace period: the reconnect below must find the agent's contacts kept.
    config = server_config(sqlite_url, agent_ws__disconnect_grace_s=20.0)
    server = await LiveServer(config).start()
    try:
        yield server
    finally:
        await server.stop()


async def log_in(page: Page, username: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def stored(url: str, contact_id: str) -> tuple[Any, list[Ticket], list[ContactMessage]]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            record = await get_interaction(db, contact_id)
            tickets = list(await db.scalars(select(Ticket).where(Ticket.contact_id == contact_id)))
            messages = list(await db.scalars(select(ContactMessage).where(
                ContactMessage.contact_id == contact_id).order_by(ContactMessage.id)))
    finally:
        await engine.dispose()
    return record, tickets, messages


async def test_agent_takes_a_key_account_chat_end_to_end(
        live: LiveServer, seeded_store: Seeded, sqlite_url: str, open_page: OpenPage) -> None:
    # `live` before `open_page`: the pages close before the server stops (no reconnect noise).
    supervisor = (await open_page(f"{live.base_url}/supervisor")).page
    await log_in(supervisor, "supervisor")
    queue_row = supervisor.locator('#queue-rows tr[data-queue="chat_sales"]')
    waiting = queue_row.locator("td.waiting")
    await expect(waiting).to_have_text("0")
    agent_row = supervisor.locator('#agent-rows tr[data-agent-id="agent01"]')

    agent = (await open_page(f"{live.base_url}/agent")).page
    await log_in(agent, "agent01")
    await expect(agent.locator(".conn")).to_have_text("Connected")
    await expect(agent.locator(".presence-label")).to_have_text("Not ready (Login)")
    await expect(agent_row.locator(".state-word")).to_have_text("Not ready (Login)")
    await expect(agent_row.locator(".aname")).to_have_text("Agent One")

    # A key account writes in the shop's chat widget while the agent is not ready: the
    # chat contact arrives over POST /api/v1/chat/sessions and the queue count goes up.
    visitor = (await open_page(f"{live.base_url}/chat?queue=chat_sales&shop=Demo%20Shop")).page
    await visitor.get_by_label("Name (optional)").fill("Li Wei")
    await visitor.get_by_label("Email (optional)").fill("li.wei@example.com")
    await visitor.get_by_label("Your message").fill(FIRST_MESSAGE)
    await visitor.get_by_role("button", name="Start chat").click()
    status_line = visitor.locator(".chat-head .status")
    await expect(status_line).to_have_text(re.compile(r"^An agent will be with you "))
    widget_log = visitor.locator(".chat-log")
    # Once the visitor socket's auth ack (which repeats the chat's history) is in, the
    # first message still shows once.
    await visitor.wait_for_function("() => window.visitorClient?.connects === 1")
    await expect(widget_log.locator(".mine .text")).to_have_text([FIRST_MESSAGE])
    await expect(waiting).to_have_text("1")
    contact_id = await visitor.evaluate(
        "JSON.parse(sessionStorage.getItem('callcenter.visitor.chat_sales')).contact_id")
    assert live.services.runtime.tracker.get(contact_id) is not None

    await agent.get_by_label("Change presence").select_option("available")
    offer = agent.locator(".offer-card")
    await expect(offer).to_be_visible()
    await expect(waiting).to_have_text("0")
    await expect(offer.locator(".offer-name")).to_have_text("Li Wei")
    await expect(offer.locator(".badge.tier-key")).to_have_text("Key")
    await expect(offer.locator(".offer-text")).to_have_text(FIRST_MESSAGE)
    await expect(offer.locator(".countdown")).to_have_text(re.compile(r"^0:[0-3]\d$"))
    pop = agent.locator("#screen-pop")
    await expect(pop.locator(".name")).to_have_text("Li Wei")
    await expect(pop.locator(".badge.key-account")).to_be_visible()
    await expect(pop.locator(".ticket .subject")).to_have_text("Parcel arrived damaged")
    await expect(pop.locator(".order")).to_have_count(3)
    await expect(pop).to_contain_text("+86 138****0001")

    await agent.keyboard.press("a")
    await expect(agent.locator(".work .state")).to_have_text("Connected")
    await expect(agent_row.locator(".state-word")).to_have_text("Available · on contact")
    await expect(agent_row.locator("td").nth(3)).to_have_text("1 chat")
    # The visitor sees the agent join (first name only).
    await expect(status_line).to_have_text("Agent is here to help")
    await expect(widget_log.locator(".system .text")).to_have_text(["Agent joined the chat"])
    transcript = agent.locator(".work .transcript")
    await expect(transcript.locator(".msg.theirs .text")).to_have_text([FIRST_MESSAGE])

    # Visitor -> agent, with the typing indicator on the way.
    visitor_input = visitor.get_by_label("Your message")
    typing_in_console = agent.locator(".work .typing")
    await expect(typing_in_console).to_be_hidden()
    await visitor_input.press_sequentially("It is the blue vase")
    await expect(typing_in_console).to_be_visible()
    await expect(typing_in_console).to_contain_text("Li Wei is typing")
    await visitor_input.press("Enter")
    await expect(transcript.locator(".msg.theirs .text")).to_have_text(
        [FIRST_MESSAGE, "It is the blue vase"])
    await expect(typing_in_console).to_be_hidden()
    await expect(widget_log.locator(".mine .meta").last).to_contain_text("Delivered")

    # Agent -> visitor, with the typing indicator on the way.
    composer = agent.get_by_label("Reply to the customer")
    widget_typing = visitor.locator(".chat-typing")
    await composer.press_sequentially("Sorry to hear that, Li Wei.")
    await expect(widget_typing).to_have_text("The agent is typing…")
    await composer.fill("Sorry to hear that, Li Wei. Let me open a complaint for you.")
    await composer.press("Enter")
    await expect(agent.locator(".msg.mine .status").last).to_have_text(" · Sent")
    await expect(widget_log.locator(".theirs .text")).to_have_text(
        ["Sorry to hear that, Li Wei. Let me open a complaint for you."])
    await expect(widget_typing).to_have_text("")

    # The server drops the agent's socket: the console reconnects by itself and keeps the chat.
    session = live.services.agents.sessions["agent01"]
    assert session.ws is not None
    connection = agent.locator(".conn")
    await expect(connection).to_have_attribute("data-connects", "1")
    before_reconnect = await transcript.locator(".msg.theirs .text").all_inner_texts()
    assert len(before_reconnect) >= 2
    await session.ws.close(code=1011, message=b"test drop")
    await expect(connection).to_have_attribute("data-connects", "2", timeout=10_000)
    await expect(connection).to_have_text("Connected")
    await expect(agent.locator(".banner")).to_be_hidden()
    await expect(agent.locator(".contact-item")).to_have_count(1)
    await expect(agent.locator(".work .state")).to_have_text("Connected")
    # The auth ack's history after the reconnect repeats nothing already shown.
    await expect(transcript.locator(".msg.theirs .text")).to_have_count(
        len(before_reconnect), timeout=5_000)
    assert await transcript.locator(".msg.theirs .text").all_inner_texts() == before_reconnect
    # Both ways still work after the reconnect.
    await visitor_input.fill("Thank you!")
    await visitor_input.press("Enter")
    await expect(transcript.locator(".msg.theirs .text").last).to_have_text("Thank you!")
    await composer.fill("Done: complaint opened, a courier picks the parcel up tomorrow.")
    await composer.press("Enter")
    await expect(agent.locator(".msg.mine .status").last).to_have_text(" · Sent")
    await expect(widget_log.locator(".theirs .text").last).to_have_text(
        "Done: complaint opened, a courier picks the parcel up tomorrow.")

    await agent.locator(".work-title").click()
    await agent.keyboard.press("e")
    await expect(agent.locator(".wrapup")).to_be_visible()
    # The visitor's widget learns that the chat ended.
    await expect(status_line).to_have_text("This chat has ended. Thank you!")
    await expect(visitor_input).to_be_disabled()
    await agent.get_by_label("Disposition").select_option("complaint_logged")
    await agent.get_by_label("Ticket", exact=True).select_option("complaint")
    await agent.get_by_label("Ticket subject").fill("Parcel 10001 damaged in transit")
    await agent.get_by_label("Ticket priority").select_option("high")
    await agent.get_by_label("Notes").fill("Courier pickup booked for tomorrow")
    await agent.get_by_role("button", name="Done").click()
    await expect(agent.locator(".toast.ok").last).to_contain_text("Saved")
    await expect(agent.locator(".contact-list .empty")).to_be_visible()
    await expect(agent_row.locator(".state-word")).to_have_text("Available")

    record, tickets, messages = await stored(sqlite_url, contact_id)
    assert record.outcome == "answered" and record.channel == "chat"
    assert record.customer_id == seeded_store.key_customer_id
    assert record.disposition == "complaint_logged"
    assert record.notes == "Courier pickup booked for tomorrow"
    assert [leg.agent_id for leg in record.legs] == ["agent01"]
    assert [(t.kind, t.subject, t.priority) for t in tickets] == [
        ("complaint", "Parcel 10001 damaged in transit", "high")]
    assert [(m.direction, m.body) for m in messages] == [
        ("in", FIRST_MESSAGE),
        ("in", "It is the blue vase"),
        ("out", "Sorry to hear that, Li Wei. Let me open a complaint for you."),
        ("in", "Thank you!"),
        ("out", "Done: complaint opened, a courier picks the parcel up tomorrow.")]
    # The payload the visitor typed stayed text in every page.
    await expect(widget_log.locator(".mine .text").first).to_have_text(FIRST_MESSAGE)
    for page in (agent, supervisor, visitor):
        assert await page.evaluate("window.__xss ?? null") is None
        assert await page.locator("img").count() == 0
