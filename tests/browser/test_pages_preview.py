"""The pages on their own (static files only): rendering, keyboard, layout, escaping.

The consoles are driven through their own modules with a recording fake transport
in place of the websocket, so these run without the server; the full journey
against the real server is in ``test_journey.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from callcenter.staffing import agents_for_service_level
from tests.browser.conftest import OpenPage
from tests.browser.sample_data import XSS, XSS_SCRIPT, offer, supervisor_snapshot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# The fakes that stand in for the server, as page functions (plain JS files).
JS = Path(__file__).parent / "js"

# Boots the agent console with a fake transport that records requests and answers
# each with the ack the real server gives (PROTOCOL.md).
BOOT_AGENT = (JS / "boot_agent.js").read_text()

PUSH = "(msgs) => { for (const m of msgs) window.agentConsole.handlePush(m); }"


async def boot_agent(open_page: OpenPage, base: str) -> Page:
    opened = await open_page(f"{base}/agent")
    page = opened.page
    await expect(page.locator("#login-username")).to_be_visible()
    await page.evaluate(BOOT_AGENT)
    await expect(page.locator(".presence-label")).to_have_text("Available")
    return page


async def sent(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.sent"))


async def test_offer_shows_the_screen_pop_and_keys_accept_then_end(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate(PUSH, [offer("c-1", expires_in_s=20)])

    card = page.locator(".offer-card")
    await expect(card).to_be_visible()
    await expect(card.locator(".offer-name")).to_have_text("Wang Fang")
    await expect(card.locator(".badge.tier-key")).to_have_text("Key")
    await expect(card.locator(".countdown")).to_have_text(re.compile(r"^0:(1[5-9]|20)$"))
    pop = page.locator("#screen-pop")
    await expect(pop.locator(".name")).to_have_text("Wang Fang")
    await expect(pop).to_contain_text("48,200")
    await expect(pop).to_contain_text("5-5-4")
    await expect(pop).to_contain_text("+86 138****0001")
    await expect(pop.locator(".ticket")).to_have_count(2)
    await expect(pop.locator(".order")).to_have_count(3)
    # The decision reason shows on hover.
    await card.locator(".why").hover()
    await expect(card.locator(".tip-body")).to_be_visible()
    await expect(card.locator(".tip-body")).to_contain_text("Longest idle")

    await page.keyboard.press("a")
    await expect(page.locator(".work .state")).to_have_text("Connected")
    assert {"type": "accept", "contact_id": "c-1"} in [
        {k: m[k] for k in ("type", "contact_id")} for m in await sent(page) if "contact_id" in m]

    composer = page.get_by_label("Reply to the customer")
    await expect(composer).to_be_focused()
    await composer.fill("Let me check that for you")
    await composer.press("Enter")
    await expect(page.locator(".msg.mine .text")).to_have_text("Let me check that for you")
    await expect(page.locator(".msg.mine .status")).to_have_text(" · Sent")
    await page.evaluate(PUSH, [{"type": "chat_message", "seq": 2, "contact_id": "c-1",
                                "from": "customer", "text": "thanks!",
                                "at": "2026-11-23T10:16:30Z"}])
    await expect(page.locator(".msg.theirs .text").last).to_have_text("thanks!")

    await page.locator("body").click()
    await page.keyboard.press("e")
    await expect(page.locator(".wrapup")).to_be_visible()
    await page.get_by_label("Disposition").select_option("complaint_logged")
    await page.get_by_label("Ticket", exact=True).select_option("complaint")
    await page.get_by_label("Ticket subject").fill("Parcel 10023 late")
    await page.get_by_label("Notes").fill("Promised a call back tomorrow")
    await page.get_by_role("button", name="Done").click()
    await expect(page.locator(".contact-list .empty")).to_be_visible()

    requests = await sent(page)
    wrap = next(m for m in requests if m["type"] == "wrap_up_done")
    assert wrap["disposition"] == "complaint_logged"
    assert wrap["notes"] == "Promised a call back tomorrow"
    assert wrap["ticket"] == {"kind": "complaint", "subject": "Parcel 10023 late",
                              "priority": "normal", "status": "open"}
    assert [m["type"] for m in requests] == [
        "accept", "chat_typing", "chat_send", "end", "wrap_up_done"]


async def test_reject_key_and_offer_withdrawn(open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate(PUSH, [offer("c-1"), offer("c-2", name="Zhang Wei", seq=2)])
    await expect(page.locator(".offer-card")).to_have_count(2)
    await page.keyboard.press("r")
    await expect(page.locator(".offer-card")).to_have_count(1)
    await page.evaluate(PUSH, [{"type": "offer_cancelled", "seq": 3, "contact_id": "c-2",
                                "reason": "abandoned"}])
    await expect(page.locator(".offer-card")).to_have_count(0)
    await expect(page.locator(".toast").last).to_contain_text("the customer left")
    assert [(m["type"], m["contact_id"]) for m in await sent(page)] == [("reject", "c-1")]


async def test_not_ready_while_busy_shows_pending_until_the_last_contact_ends(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate("""() => {
      const t = window.agentConsole.transport;
      const plain = t.request;
      t.request = async (type, fields) => {
        if (type !== 'set_state') return plain(type, fields);
        window.sent.push({type, ...fields});
        return {state: 'not_ready', reason: fields.reason, pending: true};
      };
    }""")
    await page.get_by_label("Change presence").select_option("not_ready:lunch")
    pending = page.locator(".presence .pending")
    await expect(pending).to_be_visible()
    await expect(pending).to_contain_text("Lunch")
    await expect(page.locator(".presence-label")).to_have_text("Available")
    await page.evaluate(PUSH, [{"type": "state_changed", "seq": 5, "state": "not_ready",
                                "reason": "lunch", "pending": False,
                                "since": "2026-11-23T10:20:00Z"}])
    await expect(page.locator(".presence-label")).to_have_text("Not ready (Lunch)")
    await expect(pending).to_be_hidden()


async def test_xss_payloads_in_customer_data_and_chat_render_as_text(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    evil = offer("c-x", name=XSS, first_message=XSS_SCRIPT)
    evil["screen_pop"]["tickets"][0]["subject"] = XSS
    evil["screen_pop"]["interactions"][0]["notes"] = XSS_SCRIPT
    evil["screen_pop"]["orders"][0]["status"] = XSS
    evil["contact"]["queue"] = XSS
    await page.evaluate(PUSH, [evil])
    await page.keyboard.press("a")
    await page.evaluate(PUSH, [{"type": "chat_message", "seq": 2, "contact_id": "c-x",
                                "from": "customer", "text": XSS, "at": "2026-11-23T10:00:00Z"}])

    await expect(page.locator("#screen-pop .name")).to_have_text(XSS)
    await expect(page.locator(".work-title")).to_have_text(XSS)
    await expect(page.locator(".msg.theirs .text").last).to_have_text(XSS)
    await expect(page.locator("#screen-pop .ticket .subject").first).to_have_text(XSS)
    injected = await page.evaluate("""() => ({
      xss: window.__xss ?? null,
      imgs: document.querySelectorAll('img').length,
      scripts: [...document.querySelectorAll('script')].filter(s => !s.src).length,
    })""")
    assert injected == {"xss": None, "imgs": 0, "scripts": 0}


async def test_agent_console_fits_1366x768(open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate(PUSH, [offer("c-1"), offer("c-2", channel="voice", name="Zhang Wei",
                                                   tier="gold", first_message="", seq=2)])
    await page.get_by_role("button", name="Accept").first.click()
    await expect(page.locator(".work .state")).to_have_text("Connected")
    size = await page.evaluate("""() => ({w: document.documentElement.scrollWidth,
                                          h: document.documentElement.scrollHeight})""")
    assert size == {"w": 1366, "h": 768}
    for locator in (page.locator(".offer-card .btn.ok"),
                    page.get_by_label("Reply to the customer"),
                    page.get_by_role("button", name="End", exact=True),
                    page.locator("#screen-pop .stats")):
        box = await locator.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768


async def test_resume_after_reconnect_keeps_contacts_and_drops_gone_ones(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate(PUSH, [offer("c-1"), offer("c-2", name="Zhang Wei", seq=2)])
    await page.get_by_role("button", name="Accept").first.click()
    await expect(page.locator(".contact-item")).to_have_count(1)
    await page.evaluate(
        "() => window.agentConsole.setConnection('reconnecting', {retryAt: Date.now() + 2000})")
    await expect(page.locator(".banner")).to_contain_text("Reconnecting")
    # The server's auth ack after the reconnect: c-1 still connected, c-2's offer went back.
    await page.evaluate("""() => { window.agentConsole.setConnection('online');
      window.agentConsole.resume({agent_id: 'a-7012', state: 'available', reason: '', pending: null,
        contacts: [{contact_id: 'c-1', channel: 'chat', state: 'connected', queue: 'chat_sales',
                    tier: 'key'}]}); }""")
    await expect(page.locator(".banner")).to_be_hidden()
    await expect(page.locator(".contact-item")).to_have_count(1)
    await expect(page.locator(".offer-card")).to_have_count(0)
    await expect(page.locator("#screen-pop .name")).to_have_text("Wang Fang")
    await expect(page.locator(".msg .text").first).to_have_text("Hi, my parcel 10023 is late")


async def test_resume_after_reconnect_does_not_repeat_the_customers_messages(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_agent(open_page, ui_server)
    await page.evaluate(PUSH, [offer("c-1")])
    await page.get_by_role("button", name="Accept").first.click()
    await page.evaluate(PUSH, [{"type": "chat_message", "seq": 2, "contact_id": "c-1",
                                "from": "customer", "text": "It is the blue one",
                                "at": "2026-11-23T10:16:00Z"}])
    theirs = page.locator(".msg.theirs .text")
    await expect(theirs).to_have_text(["Hi, my parcel 10023 is late", "It is the blue one"])
    # The server's auth ack after a reconnect: the same two messages, with their store ids.
    await page.evaluate("""() => window.agentConsole.resume({agent_id: 'a-7012',
      state: 'available', reason: '', pending: null,
      contacts: [{contact_id: 'c-1', channel: 'chat', state: 'connected', queue: 'chat_sales',
                  tier: 'key', messages: [
        {id: 11, from: 'customer', text: 'Hi, my parcel 10023 is late', at: '2026-11-23T10:15:00Z'},
        {id: 12, from: 'customer', text: 'It is the blue one', at: '2026-11-23T10:16:00Z'}]}]})""")
    await expect(page.locator(".contact-item")).to_have_count(1)
    await expect(theirs).to_have_text(["Hi, my parcel 10023 is late", "It is the blue one"],
                                      timeout=2_000)


BOOT_SUPERVISOR = (JS / "boot_supervisor.js").read_text()


async def boot_supervisor(open_page: OpenPage, base: str) -> Page:
    opened = await open_page(f"{base}/supervisor")
    page = opened.page
    await expect(page.locator("#login-username")).to_be_visible()
    await page.evaluate(BOOT_SUPERVISOR, supervisor_snapshot())
    await expect(page.locator("#queue-rows tr[data-queue]")).to_have_count(4)
    return page


async def test_supervisor_table_shows_both_service_levels_and_applies_deltas(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_supervisor(open_page, ui_server)
    row = page.locator('#queue-rows tr[data-queue="voice_support"]')
    await expect(row.locator("td").nth(1)).to_have_text("14")
    await expect(row.locator("td").nth(3)).to_contain_text("71.4%")
    await expect(row.locator("td").nth(3)).to_contain_text("near")
    await expect(row.locator("td").nth(4)).to_contain_text("78.9%")
    await expect(page.locator("table.queues thead")).to_contain_text("SL (all)")
    await expect(page.locator("table.queues thead")).to_contain_text("SL (served)")
    await expect(page.locator(".uplot")).to_have_count(3)

    await page.evaluate("""() => {
      const d = window.dashboard;
      for (let i = 0; i < 40; i++) {
        d.handlePush({type: 'queue_stats', queue: 'voice_support', waiting: 20 + i});
      }
      d.handlePush({type: 'agent_state', agent_id: 'a-7012', state: 'not_ready',
                    reason: 'break', since: new Date().toISOString()});
    }""")
    await expect(row.locator("td").nth(1)).to_have_text("59")
    await expect(row.locator("td").nth(3)).to_contain_text("71.4%")
    li = page.locator('#agent-rows tr[data-agent-id="a-7012"]')
    await expect(li).to_contain_text("Not ready (Break)")
    # The agent named with an XSS payload is shown as text.
    await expect(page.locator('#agent-rows tr[data-agent-id="a-7016"] .aname')).to_have_text(XSS)
    assert await page.evaluate("window.__xss ?? null") is None

    await page.get_by_label("Force state of Zhou Yi").select_option("available")
    await expect(page.locator(".toast").last).to_contain_text("Zhou Yi")
    assert await page.evaluate("window.calls") == [["forceState", "a-7013", "available", ""]]


async def test_supervisor_settings_enforce_limits_and_move_a_waiting_contact(
        open_page: OpenPage, ui_server: str) -> None:
    page = await boot_supervisor(open_page, ui_server)
    await page.get_by_role("button", name="Routing settings").click()
    key = page.get_by_label("Head start of key in seconds")
    await key.fill("5000")
    await page.get_by_role("button", name="Save head starts").click()
    await expect(page.locator(".dialog .form-error").nth(1)).to_contain_text("between 0 and 3600")
    await key.fill("90")
    await page.get_by_role("button", name="Save head starts").click()
    await expect(page.locator(".toast").last).to_contain_text("head starts saved")
    await page.get_by_role("button", name="Close Routing settings").click()

    await page.get_by_role("button", name="Waiting contacts of voice_support").click()
    await page.get_by_label("Move contact c-9 to queue").select_option("voice_vip")
    await page.get_by_role("button", name="Move", exact=True).click()
    await expect(page.locator(".toast").last).to_contain_text("Moved c-9 to voice_vip")
    assert await page.evaluate("window.calls") == [
        ["setHeadStarts", {"standard": 0, "silver": 15, "gold": 30, "key": 90, "strategic": 120}],
        ["moveContact", "c-9", "voice_vip"],
    ]


async def test_supervisor_dashboard_fits_1366_wide(open_page: OpenPage, ui_server: str) -> None:
    page = await boot_supervisor(open_page, ui_server)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width == 1366
    table = await page.locator("table.queues").bounding_box()
    assert table is not None and table["y"] + table["height"] < 768


BOOT_WIDGET = (JS / "boot_widget.js").read_text()


async def test_chat_widget_starts_waits_and_talks(open_page: OpenPage, ui_server: str) -> None:
    opened = await open_page(f"{ui_server}/chat")
    page = opened.page
    await expect(page.get_by_label("Your message")).to_be_visible()
    await page.evaluate(BOOT_WIDGET)
    await page.get_by_label("Name (optional)").fill(XSS)
    await page.get_by_label("Your message").fill("Do you ship to Hangzhou?")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator(".chat-head .status")).to_have_text(
        "An agent will be with you in about 2 min")
    await page.evaluate("""() => {
      window.widget.handlePush({type: 'chat_typing', from: 'agent', typing: true});
      window.widget.handlePush({type: 'chat_message', from: 'agent', text: '<b>Yes</b> we do',
                                at: new Date().toISOString()});
    }""")
    await expect(page.locator(".chat-log .theirs .text")).to_have_text("<b>Yes</b> we do")
    await expect(page.locator(".chat-head .status")).to_contain_text("is here to help")
    await page.get_by_label("Your message").fill("Great, thanks")
    await page.get_by_label("Your message").press("Enter")
    await expect(page.locator(".chat-log .mine .meta").last).to_contain_text("Sent")
    await page.evaluate("() => window.widget.handlePush({type: 'contact_ended', by: 'agent'})")
    await expect(page.locator(".chat-head .status")).to_have_text("This chat has ended. Thank you!")
    assert await page.evaluate("window.sent") == [
        {"type": "start", "name": XSS, "text": "Do you ship to Hangzhou?"},
        {"type": "chat_typing", "typing": True},
        {"type": "chat_send", "text": "Great, thanks"},
    ]



async def test_dashboard_erlang_c_matches_the_server_staffing_module(
        open_page: OpenPage, ui_server: str) -> None:
    page = (await open_page(f"{ui_server}/supervisor")).page
    cases = [(100 / 900, 180.0, 0.8, 20.0), (2.0, 300.0, 0.9, 30.0), (0.01, 240.0, 0.8, 20.0),
             (4.0, 200.0, 0.95, 10.0)]
    got = await page.evaluate("""async (cases) => {
      const { agentsRequired } = await import('/ui/supervisor/erlang.js');
      return cases.map((c) => agentsRequired(...c));
    }""", cases)
    assert got == [agents_for_service_level(rate, aht, sl, t) for rate, aht, sl, t in cases]
