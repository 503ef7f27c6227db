"""Screenshots of both pages on a busy demo floor, for the docs.

    uv run python -m tests.browser.screenshots [--out docs/screenshots]

Seeds a temporary SQLite store with the demo data (``callcenter.seed``), runs the
real server, puts bot agents (real websocket clients) on the floor, sends chats
and emails from the store's own customers, then drives agent01's console and the
supervisor dashboard in Chromium at 1366x768. Nothing in the pictures is staged
in the page: every value comes from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select

from callcenter.seed import SeedOptions, seed_store
from callcenter.store.engine import make_engine
from callcenter.store.models import Customer, CustomerIdentity, Ticket
from tests.browser.conftest import BROWSER_ARGS, SCREENSHOT_DIR, VIEWPORT
from tests.server.harness import PASSWORD, AgentClient, LiveServer, server_config
from tests.services import require_chromium


async def rich_customers(url: str, limit: int) -> list[tuple[str, str]]:
    """(name, email) of high-value customers with an open ticket, best first."""
    engine = make_engine(url)
    try:
        async with engine.connect() as db:
            rows = (await db.execute(
                select(Customer.name, CustomerIdentity.value)
                .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
                .join(Ticket, Ticket.customer_id == Customer.id)
                .where(CustomerIdentity.kind == "email", Ticket.status != "closed",
                       Customer.tier.in_(["key", "strategic", "gold"]))
                .order_by(Customer.lifetime_value_cents.desc()).limit(limit * 3))).all()
    finally:
        await engine.dispose()
    seen: dict[str, tuple[str, str]] = {}
    for name, email in rows:
        seen.setdefault(email, (name, email))
    return list(seen.values())[:limit]


async def eligible(server: LiveServer, agent_id: str, channel: str) -> list[str]:
    """Queues of ``channel`` whose required skills ``agent_id`` meets."""
    _, agent = await server.call("GET", f"/api/v1/agents/{agent_id}", as_user="admin")
    _, queues = await server.call("GET", "/api/v1/queues?limit=200", as_user="admin")
    skills: dict[str, int] = agent["skills"]
    return [q["name"] for q in queues["items"] if q["channel"] == channel and all(
        skills.get(r["skill"], 0) >= r["min_level"] for r in q["required_skills"])]


async def log_in(page: Page, username: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def chat(server: LiveServer, n: int, queue: str, email: str, text: str) -> dict[str, Any]:
    status, body = await server.call("POST", "/api/v1/contacts", as_user="integration", json={
        "channel": "chat", "external_id": f"shot-chat-{n}", "queue": queue,
        "customer": {"email": email}, "chat": {"text": text}})
    assert status == 202, body
    return dict(body)


async def take(out: Path) -> None:
    executable = require_chromium()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/demo.db"
        await seed_store(url, SeedOptions(customers=400, agents=12, interactions=1600))
        server = await LiveServer(server_config(url)).start()
        bots: list[AgentClient] = []
        try:
            customers = await rich_customers(url, 6)
            chat_queues = await eligible(server, "agent01", "chat")
            assert chat_queues, "agent01 serves no chat queue in the demo data"
            # Colleagues on the floor: some available, some on a break.
            for i in range(2, 10):
                bot = await server.agent(f"agent{i:02d}")
                bots.append(bot)
                if i % 3 == 0:
                    await bot.request("set_state", state="not_ready", reason="lunch")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=executable, headless=True, args=BROWSER_ARGS)
                agent = await (await browser.new_context(viewport=VIEWPORT)).new_page()
                await agent.goto(f"{server.base_url}/agent")
                await log_in(agent, "agent01")
                await expect(agent.locator(".conn")).to_have_text("Connected")
                await agent.get_by_label("Change presence").select_option("available")
                await expect(agent.locator(".presence-label")).to_have_text("Available")
                name, email = customers[0]
                await chat(server, 1, chat_queues[0], email,
                           "Hello, my order has not arrived yet and the tracking has not "
                           "moved for three days. Can you check?")
                await agent.get_by_role("button", name="Accept").first.click()
                composer = agent.get_by_label("Reply to the customer")
                await composer.fill(f"Hello {name}, I am sorry about the wait. "
                                    "Let me check the courier for you right now.")
                await composer.press("Enter")
                await composer.fill("I see the parcel is at the Hangzhou depot; "
                                    "I will ask them to deliver it tomorrow morning.")
                await composer.press("Enter")
                await expect(agent.locator(".msg.mine .status").last).to_have_text(" · Sent")
                # Keep the bots from taking the next one so it rings on agent01.
                for bot in bots:
                    await bot.request("set_state", state="not_ready", reason="meeting")
                await chat(server, 2, chat_queues[0], customers[1][1],
                           "Do you have the blue jacket in size M in stock?")
                await expect(agent.locator(".offer-card")).to_be_visible()
                await agent.locator(".contact-item").first.click()
                for bot, reason in zip(bots, ["", "lunch", "", "", "break", "", "", "training"],
                                       strict=True):
                    if reason:
                        await bot.request("set_state", state="not_ready", reason=reason)
                    else:
                        await bot.request("set_state", state="available")
                await agent.screenshot(path=out / "agent.png")
                # More work than hands: some contacts ring on colleagues, the rest wait.
                for n, (_, mail) in enumerate(customers[2:], start=3):
                    await chat(server, n, chat_queues[-1], mail, "Question about my order")
                for n in range(24):
                    _, mail = customers[n % len(customers)]
                    status, body = await server.call(
                        "POST", "/api/v1/contacts", as_user="integration", json={
                            "channel": "email", "external_id": f"shot-mail-{n}@shop",
                            "queue": "email_support", "customer": {"email": mail},
                            "email": {"subject": f"Invoice for order 1008{n}", "body": "..."}})
                    assert status == 202, body

                supervisor = await (await browser.new_context(viewport=VIEWPORT)).new_page()
                await supervisor.goto(f"{server.base_url}/supervisor")
                await log_in(supervisor, "supervisor")
                await expect(supervisor.locator(
                    '#agent-rows tr[data-agent-id="agent01"] .aname')).not_to_have_text("agent01")
                await expect(supervisor.locator(".uplot")).to_have_count(3)
                await expect(supervisor.locator(
                    '#queue-rows tr[data-queue="email_support"] td.waiting')).not_to_have_text("0")
                await supervisor.screenshot(path=out / "supervisor.png", full_page=True)
                await browser.close()
        finally:
            for bot in bots:
                await bot.close()
            await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOT_DIR)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(args.out))
    print(f"wrote {args.out / 'agent.png'} and {args.out / 'supervisor.png'}")


if __name__ == "__main__":
    main()
