"""The agent websocket: reject, ring timeout, disconnect and resume, wrap-up timeout,
bad messages, auth, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import get_interaction
from callcenter.store.models import AgentPresenceLog
from tests.server.harness import LiveServer, seed_minimal, server_config


def chat(external_id: str, queue: str = "chat_any", chat_id: str = "visitor-77") -> dict:
    return {"channel": "chat", "external_id": external_id, "queue": queue,
            "customer": {"chat_id": chat_id}, "chat": {"text": "hello"}}


async def create(server: LiveServer, body: dict) -> dict:
    status, reply = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                      json=body)
    assert status == 202, reply
    return reply


@pytest.fixture
async def fast_server(db_url: str) -> AsyncIterator[LiveServer]:
    """Ring timeout 0.6 s, wrap-up 0.6 s, disconnect grace 0.5 s."""
    await seed_minimal(db_url, ring_timeout_s=0.6, wrap_up_s=0.6)
    live = await LiveServer(server_config(db_url)).start()
    try:
        yield live
    finally:
        await live.stop()


async def test_reject_puts_contact_back_and_offers_it_to_the_other_agent(
    server: LiveServer,
) -> None:
    one = await server.agent("agent01")
    two = await server.agent("agent02")
    await one.request("set_state", state="available")
    await two.request("set_state", state="available")
    contact = await create(server, chat("reject-1"))
    first = await one.push("offer")  # agent01 idles longest (available first)
    assert first["contact"]["id"] == contact["contact_id"]
    reply = await one.request("reject", contact_id=contact["contact_id"], reason="busy")
    assert reply["state"] == "queued"
    cancelled = await one.push("offer_cancelled")
    assert cancelled == {**cancelled, "contact_id": contact["contact_id"], "reason": "rejected"}
    second = await two.push("offer")
    assert second["contact"]["id"] == contact["contact_id"]
    status, decisions = await server.call(
        "GET", f"/api/v1/contacts/{contact['contact_id']}/decisions", as_user="supervisor")
    assert status == 200
    assert [d["agent_id"] for d in decisions["items"]] == ["agent01", "agent02"]
    assert decisions["items"][1]["reason"]["attempt"] == 2
    assert decisions["items"][0]["reason"]["strategy"] == "longest_idle"
    # A rejecting agent is still available; seq numbers only grow.
    assert one.seqs == sorted(one.seqs) and len(set(one.seqs)) == len(one.seqs)
    await one.close()
    await two.close()


async def test_ring_timeout_makes_agent_not_ready_missed_and_reoffers(
    fast_server: LiveServer,
) -> None:
    server = fast_server
    one = await server.agent("agent01")
    two = await server.agent("agent02")
    await one.request("set_state", state="available")
    contact = await create(server, chat("ring-1"))
    await one.push("offer")
    await two.request("set_state", state="available")
    cancelled = await one.push("offer_cancelled", timeout=5)
    assert cancelled["reason"] == "timeout"
    state = await one.push("state_changed", state="not_ready")
    assert state["reason"] == "missed"
    again = await two.push("offer", timeout=5)
    assert again["contact"]["id"] == contact["contact_id"]
    await two.request("accept", contact_id=contact["contact_id"])
    await one.close()
    await two.close()


async def test_wrap_up_timeout_records_default_disposition(
    fast_server: LiveServer, db_url: str
) -> None:
    server = fast_server
    two = await server.agent("agent02")
    await two.request("set_state", state="available")
    contact = await create(server, chat("wrap-1"))
    await two.push("offer")
    await two.request("accept", contact_id=contact["contact_id"])
    await two.request("end", contact_id=contact["contact_id"])
    completed = await two.push("contact_completed", timeout=5)
    assert completed["timed_out"] is True
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            record = await get_interaction(db, contact["contact_id"])
    finally:
        await engine.dispose()
    assert record.outcome == "answered"
    assert record.disposition == "no_disposition"
    assert 0.5 <= record.wrap_up_s < 3
    await two.close()


async def test_disconnect_within_grace_resumes_current_contacts(server: LiveServer) -> None:
    two = await server.agent("agent02")
    await two.request("set_state", state="available")
    contact = await create(server, chat("resume-1", queue="chat_support"))
    await two.push("offer")
    await two.request("accept", contact_id=contact["contact_id"])
    last_seq = max(two.seqs)
    await two.close()
    again = await server.agent("agent02")
    assert again.auth["state"] == "available"
    assert again.auth["seq"] >= last_seq
    [resumed] = again.auth["contacts"]
    assert resumed == {**resumed, "contact_id": contact["contact_id"], "channel": "chat",
                       "state": "connected", "queue": "chat_support", "tier": "standard"}
    assert resumed["screen_pop"]["customer"]["name"] == "Zhang San"
    assert [m["text"] for m in resumed["messages"]] == ["hello"]
    await again.request("end", contact_id=contact["contact_id"])
    await again.close()


async def test_dropped_socket_after_grace_is_not_ready_and_offer_goes_back(
    fast_server: LiveServer, db_url: str
) -> None:
    server = fast_server
    one = await server.agent("agent01")
    await one.request("set_state", state="available")
    contact = await create(server, chat("drop-1"))
    await one.push("offer")
    await one.close()  # walks away while it rings
    two = await server.agent("agent02")
    await two.request("set_state", state="available")
    offer = await two.push("offer", timeout=5)
    assert offer["contact"]["id"] == contact["contact_id"]
    async with asyncio.timeout(5):
        while True:
            _, agents = await server.call("GET", "/api/v1/supervisor/agents",
                                          as_user="supervisor")
            state = next(a for a in agents["items"] if a["agent_id"] == "agent01")
            if state["presence"] == "not_ready" and state["reason"] == "disconnected":
                break
            await asyncio.sleep(0.1)
    assert state["connected"] is False
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            reasons = list(await db.scalars(select(AgentPresenceLog.reason).where(
                AgentPresenceLog.agent_id == "agent01").order_by(AgentPresenceLog.id)))
    finally:
        await engine.dispose()
    assert "disconnected" in reasons
    await two.close()


async def test_garbage_on_the_socket_gets_errors_and_the_socket_keeps_working(
    server: LiveServer,
) -> None:
    agent = await server.agent("agent01")
    await agent.send_raw("{not json")
    await agent.send_raw(json.dumps({"type": "fly", "id": "x1"}))
    await agent.send_raw(json.dumps({"type": "accept", "id": "x2", "contact_id": 42}))
    await agent.send_raw(json.dumps([1, 2, 3]))
    await agent.send_raw(b"\x00\x01binary")
    await asyncio.sleep(0.3)
    codes = [(m.get("id"), m["code"]) for m in agent.unmatched]
    assert codes == [(None, "request.invalid_json"), ("x1", "ws.unknown_type"),
                     ("x2", "request.validation"), (None, "request.validation"),
                     (None, "request.invalid_json")]
    reply = await agent.send("accept", contact_id="c-nope")
    assert reply["type"] == "error" and reply["code"] == "contact.not_found"
    contact = await create(server, chat("garbage-1", queue="chat_sales"))
    reply = await agent.send("end", contact_id=contact["contact_id"])
    assert reply["code"] == "contact.not_found"  # not this agent's contact
    reply = await agent.send("set_state", state="sleeping")
    assert reply["code"] == "request.validation"
    pong = await agent.send("ping")
    assert pong["type"] == "pong"
    await agent.request("set_state", state="available")
    offer = await agent.push("offer")
    reply = await agent.send("end", contact_id=offer["contact"]["id"])
    assert reply["code"] == "contact.invalid_transition"  # ringing, not connected yet
    reply = await agent.send("wrap_up_done", contact_id=offer["contact"]["id"])
    assert reply["code"] == "contact.invalid_transition"
    await agent.request("accept", contact_id=offer["contact"]["id"])
    reply = await agent.send("accept", contact_id=offer["contact"]["id"])
    assert reply["code"] == "contact.invalid_transition"
    reply = await agent.send("hold", contact_id=offer["contact"]["id"])
    assert reply["code"] == "contact.invalid_channel"
    reply = await agent.send("auth", token="again")
    assert reply["code"] == "ws.already_authenticated"
    await agent.close()


async def test_socket_without_auth_closes_with_4401(server: LiveServer) -> None:
    async with connect(f"{server.ws_url}/ws/agent") as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4401
    async with connect(f"{server.ws_url}/ws/agent") as ws:
        await ws.send(json.dumps({"type": "auth", "id": 1, "token": "v1.bogus.sig"}))
        reply = json.loads(await ws.recv())
        assert reply == {**reply, "type": "error", "id": 1, "code": "auth.invalid_token"}
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4401
    token = await server.token("supervisor")
    async with connect(f"{server.ws_url}/ws/agent") as ws:
        await ws.send(json.dumps({"type": "auth", "id": 1, "token": token}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "auth.forbidden"
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4403


async def test_second_login_replaces_the_first_socket(server: LiveServer) -> None:
    first = await server.agent("agent01")
    second = await server.agent("agent01")
    await asyncio.wait_for(first.closed.wait(), 5)
    assert first.close_code == 4409
    assert (await second.send("ping"))["type"] == "pong"
    await second.close()
