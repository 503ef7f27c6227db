"""IVR calls end to end: the PBX simulator's caller keys digits, the server's IVR answers.

Every test runs a real server with the CTI bridge and the IVR, a real Mosquitto, the
simulator and (where an agent takes the call) a real agent websocket, and checks what
the caller, the agent, the router and the stored records end up with.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from callcenter.cti_messages import CollectCommand, DialCommand, PlayCommand, RouteCommand
from callcenter.pbx_sim import Delay
from callcenter.store.models import Contact, ContactMessage, Interaction
from tests.cti.conftest import FAST_BRIDGE, SIM
from tests.ivr_server.conftest import (
    KEY_ANI,
    SUNDAY_10,
    UNKNOWN_ANI,
    WAIT_S,
    StartIvr,
    write_flow,
)

MENU_FLOW = """
flow: menu_test
entry: ["4008005555"]
languages: [en]
prompts:
  menu: {en: "Press 1 for support."}
  invalid: {en: "That is not a choice."}
  hold: {en: "Please hold."}
start: menu
nodes:
  menu:
    type: menu
    prompt: menu
    options: {"1": to_support}
    retries: 2
    timeout_s: 1   # the validator's minimum
    invalid_prompt: invalid
    invalid: fallback
  to_support:
    type: set
    queue: voice_support
    variables: {reason: support}
    next: enqueue
  fallback:
    type: set
    queue: voice_support
    required_skills: {support: 5}
    variables: {reason: menu_fallback}
    next: enqueue
  enqueue: {type: queue, prompt: hold}
"""


async def test_key_account_identified_by_ani_skips_to_voice_vip(start_ivr: StartIvr) -> None:
    # The shipped main flow, in opening hours: Li Wei's number identifies a key account.
    env = await start_ivr(sim=replace(SIM, talk=Delay(0.3)))
    assert env.pbx is not None
    agent = await env.agent("agent01")
    call_id = await env.pbx.place_call(KEY_ANI, "4008001234")

    offer = await agent.push("offer", timeout=WAIT_S)
    contact = offer["contact"]
    assert contact["queue"] == "voice_vip"
    assert contact["ivr_path"] == ["identify_caller", "check_key_account", "route_vip",
                                   "vip_queue"]
    assert contact["priority"] == 60  # the flow's boost, in seconds of head start
    assert offer["screen_pop"]["customer"]["name"] == "Li Wei"
    route = await env.observer.command(RouteCommand, call_id)
    assert route.extension == "1001"
    # The caller heard the VIP welcome, and nothing of the main menu.
    prompts = [c.prompt for c in env.observer.of(PlayCommand, call_id)]
    assert prompts == ["vip_welcome"]
    assert env.observer.of(CollectCommand, call_id) == []

    contact_id = contact["id"]
    await agent.push("contact_connected", contact_id=contact_id)
    await agent.push("contact_ended", contact_id=contact_id, timeout=WAIT_S)
    await agent.request("wrap_up_done", contact_id=contact_id, disposition="resolved")
    await env.wait_bridge(lambda: contact_id not in env.ivr.routed)
    record = await env.record(contact_id)
    assert record.outcome == "answered" and record.last_queue == "voice_vip"
    assert list(record.ivr_path) == contact["ivr_path"]
    # The record keeps the IVR apart from the queue: arrived (call), IVR left, queued.
    assert record.ivr_left_at is not None and record.queued_at is not None
    assert record.arrived_at <= record.ivr_left_at <= record.queued_at
    # The 60 s boost is a head start, not time the caller waited.
    assert record.wait_s < 5.0, record.wait_s


async def test_order_status_self_service_is_contained_without_an_agent(
    start_ivr: StartIvr,
) -> None:
    env = await start_ivr()
    assert env.pbx is not None
    # Main menu 2 (order status), order 10003, then 9 (not "agent") at the next menu.
    call_id = await env.pbx.place_call(UNKNOWN_ANI, "4008001234",
                                       caller_script=["2", "10003", "9"])
    await env.ended(call_id)

    assert env.pbx.call(call_id).ended_by == "system"  # the IVR hung up, politely
    prompts = [c.prompt for c in env.observer.of(PlayCommand, call_id)]
    assert "order_status_readback" in prompts and prompts[-1] == "goodbye"
    assert env.observer.of(RouteCommand, call_id) == []
    row = await env.contact_row(external_id=f"cti:pbx1:{call_id}")
    assert row.state == "contained"
    ivr = row.payload["ivr"]
    assert ivr["variables"]["order_status"] == "delivered"  # read back from the CRM
    assert ivr["variables"]["order_number"] == "10003"
    record = await env.record(row.id)
    assert record.outcome == "contained" and record.agent_id is None and not record.legs
    assert record.queued_at is None and record.ivr_left_at is not None
    assert list(record.ivr_path) == [
        "identify_caller", "check_hours", "main_menu:2", "ask_order_number:10003",
        "order_status", "after_status_menu:9", "goodbye"]
    assert record.notes is not None and "self-service: order_status" in record.notes
    assert env.ivr.stats["contained"] == 1


async def test_invalid_digits_and_silence_retry_then_take_the_fallback_branch(
    start_ivr: StartIvr, tmp_path: Path,
) -> None:
    env = await start_ivr(flows=write_flow(tmp_path, MENU_FLOW))
    assert env.pbx is not None
    agent = await env.agent("agent02")  # support 9
    # A wrong key, silence (the server's own timer: the PBX reports nothing), wrong again.
    call_id = await env.pbx.place_call(UNKNOWN_ANI, "4008005555",
                                       caller_script=["7", None, "9"])
    offer = await agent.push("offer", timeout=WAIT_S)

    assert offer["contact"]["queue"] == "voice_support"
    assert offer["contact"]["ivr_path"] == ["menu:7", "menu", "menu:9", "fallback", "enqueue"]
    collects = env.observer.of(CollectCommand, call_id)
    assert [c.prompt for c in collects] == ["menu", "menu", "menu"]
    assert all(c.timeout_s == 1 and c.max_digits == 1 for c in collects)
    assert env.ivr.stats["timeouts"] == 1
    # The retry prompt was played before each new question.
    assert [c.prompt for c in env.observer.of(PlayCommand, call_id)] == [
        "invalid", "invalid", "hold"]
    # The fallback's skill went to the router with the contact.
    snap = env.router.contact_snapshot(offer["contact"]["id"])
    assert snap.queue == "voice_support" and snap.agent_id == "agent02"
    row = await env.contact_row(id=offer["contact"]["id"])
    assert row.payload["ivr"]["variables"] == {"reason": "menu_fallback"}


async def test_after_hours_voicemail_becomes_an_email_contact(start_ivr: StartIvr) -> None:
    # Sunday in Shanghai by the server's clock: the shipped flow is closed.
    env = await start_ivr(at=SUNDAY_10)
    assert env.pbx is not None
    call_id = await env.pbx.place_call(UNKNOWN_ANI, "4008001234", caller_script=["1"])
    await env.ended(call_id)

    assert env.pbx.call(call_id).ended_by == "system"
    assert [c.prompt for c in env.observer.of(CollectCommand, call_id)] == ["after_hours_menu"]
    assert [c.prompt for c in env.observer.of(PlayCommand, call_id)] == [
        "voicemail_instructions"]
    email = await env.contact_row(external_id=f"ivr-voicemail:pbx1:{call_id}")
    assert email.channel == "email" and email.queue == "email_support"
    assert f"voicemail/{call_id}" in (email.first_message or "")
    assert email.payload["recording_ref"] == f"voicemail/{call_id}"
    assert env.contact_state(email.id) == "queued"  # waits for an email agent
    async with env.services.sessionmaker() as db:
        bodies = list(await db.scalars(select(ContactMessage.body)
                                       .where(ContactMessage.contact_id == email.id)))
    assert len(bodies) == 1 and f"Recording: voicemail/{call_id}" in bodies[0]
    call_row = await env.contact_row(external_id=f"cti:pbx1:{call_id}")
    record = await env.record(call_row.id)
    assert record.outcome == "voicemail"
    assert list(record.ivr_path) == ["identify_caller", "check_hours", "after_hours:1",
                                     "leave_voicemail"]


async def test_callback_offered_when_the_wait_is_long_keeps_the_place_in_line(
    start_ivr: StartIvr,
) -> None:
    # Callers key slowly (0.5 s): time for another caller to join the line meanwhile.
    bridge = replace(FAST_BRIDGE, dnis_queues={"4008000000": "voice_sales"})
    env = await start_ivr(sim=replace(SIM, keying=Delay(0.5)), bridge=bridge)
    assert env.pbx is not None
    pbx = env.pbx
    # One sales agent logged in but not ready: 1 x 180 s AHT / 1 slot > 120 s.
    agent = await env.agent("agent01", available=False)
    await agent.request("set_state", state="not_ready", reason="meeting")

    caller = await pbx.place_call(UNKNOWN_ANI, "4008001234", caller_script=["1", "1"])
    await env.observer.wait_until(lambda: any(
        c.prompt == "callback_offer" for c in env.observer.of(CollectCommand, caller)))
    # While the first caller listens to the offer, a second call joins voice_sales.
    later = await pbx.place_call("+8613900000010", "4008000000")
    later_contact = await env.wait_contact(later)
    await env.wait_bridge(lambda: env.contact_state(later_contact) == "queued")
    await env.ended(caller)

    callback = await env.contact_row(external_id=f"ivr-callback:pbx1:{caller}")
    assert callback.channel == "callback" and callback.queue == "voice_sales"
    assert callback.payload["callback_number"] == UNKNOWN_ANI
    cb_snap = env.router.contact_snapshot(callback.id)
    later_snap = env.router.contact_snapshot(later_contact)
    # The callback joined the router after the other call, yet it is ahead of it:
    # it kept the place its caller had from the moment the call came in.
    assert later_snap.key[2] < cb_snap.key[2]
    assert env.router.queue_snapshot("voice_sales").positions == (callback.id, later_contact)
    assert cb_snap.arrived_at < later_snap.arrived_at
    call_row = await env.contact_row(external_id=f"cti:pbx1:{caller}")
    record = await env.record(call_row.id)
    assert record.outcome == "callback"
    assert list(record.ivr_path)[-2:] == ["route_sales", "offer_callback:1"]
    assert pbx.call(caller).ended_by == "system"

    # The agent becomes available: the callback goes first, as an outbound dial.
    await agent.request("set_state", state="available")
    dial = await env.observer.command(DialCommand)
    assert dial.number == UNKNOWN_ANI and dial.extension == "1001"


async def test_hang_up_mid_flow_records_an_ivr_abandon(start_ivr: StartIvr) -> None:
    env = await start_ivr()
    assert env.pbx is not None
    # The caller says nothing at the main menu and gives up after 0.3 s.
    call_id = await env.pbx.place_call(UNKNOWN_ANI, "4008001234", caller_script=[None],
                                       patience=0.3)
    await env.ended(call_id)

    assert env.pbx.call(call_id).ended_by == "caller"
    row = await env.contact_row(external_id=f"cti:pbx1:{call_id}")
    assert row.state == "abandoned" and row.channel == "voice"
    record = await env.record(row.id)
    assert record.outcome == "abandoned"
    assert list(record.ivr_path) == ["identify_caller", "check_hours", "main_menu"]
    # An IVR abandon: it never reached a queue, so no queue counts it.
    assert record.queued_at is None and record.first_queue is None
    assert record.ivr_left_at is not None and record.ivr_left_at >= record.arrived_at
    assert env.router.contact_ids() == []
    async with env.services.sessionmaker() as db:
        outcomes = list(await db.scalars(select(Interaction.outcome)))
        contacts = list(await db.scalars(select(Contact.id)))
    assert outcomes == ["abandoned"] and contacts == [row.id]
