"""Supervision: the websocket's snapshot and coalesced deltas, the supervisor API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

from websockets.asyncio.client import connect

from tests.server.harness import LiveServer


def chat(external_id: str, queue: str = "chat_sales") -> dict[str, Any]:
    return {"channel": "chat", "external_id": external_id, "queue": queue,
            "customer": {"chat_id": "visitor-77"}, "chat": {"text": "hi"}}


async def test_snapshot_then_coalesced_deltas_at_most_four_a_second(server: LiveServer) -> None:
    token = await server.token("supervisor")
    async with connect(f"{server.ws_url}/ws/supervisor") as ws:
        await ws.send(json.dumps({"type": "auth", "id": "a", "token": token}))
        ack = json.loads(await ws.recv())
        assert ack == {"type": "ack", "id": "a", "data": {}}
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "snapshot"
        assert sorted(q["queue"] for q in snapshot["queues"]) == [
            "callback", "chat_any", "chat_sales", "chat_support", "email_support"]
        assert snapshot["agents"] == []

        started = time.monotonic()
        await asyncio.gather(*[
            server.call("POST", "/api/v1/contacts", as_user="integration", json=chat(f"s-{i}"))
            for i in range(60)])
        messages: list[dict[str, Any]] = []
        waiting = 0
        async with asyncio.timeout(5):
            while waiting < 60:
                message = json.loads(await ws.recv())
                messages.append(message)
                if message["type"] == "queue_stats":
                    waiting = next((q["waiting"] for q in message["queues"]
                                    if q["queue"] == "chat_sales"), waiting)
        last = next(q for q in messages[-1]["queues"] if q["queue"] == "chat_sales")
        assert last["offered"] == 60 and last["agents_logged_in"] == 0
        elapsed = max(time.monotonic() - started, 0.5)
        assert len(messages) <= 4 * elapsed + 2, (len(messages), elapsed)
        # Every one-second window (by the server's send times) holds at most 4 messages.
        sent = [datetime.fromisoformat(m["at"].replace("Z", "+00:00")).timestamp()
                for m in messages]
        for i, at in enumerate(sent):
            assert sum(1 for t in sent[i:] if t - at < 0.999) <= 4, sent

        agent = await server.agent("agent01")
        await agent.request("set_state", state="available")
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "agent_state" and any(
                        a["agent_id"] == "agent01" and a["contacts"]
                        for a in message["agents"]):
                    break
        await ws.send(json.dumps({"type": "ping", "id": 5}))
        await ws.send("garbage")
        replies = []
        async with asyncio.timeout(5):
            while len(replies) < 2:
                message = json.loads(await ws.recv())
                if message["type"] in ("pong", "error"):
                    replies.append(message)
        assert {(r["type"], r.get("code")) for r in replies} == {
            ("pong", None), ("error", "request.invalid_json")}
        await agent.close()


async def test_force_presence_and_move_contact(server: LiveServer) -> None:
    agent = await server.agent("agent02")
    await agent.request("set_state", state="available")
    status, body = await server.call("POST", "/api/v1/supervisor/agents/agent02/presence",
                                     as_user="supervisor",
                                     json={"state": "not_ready", "reason": "coaching"})
    assert status == 202 and body == {"status": "not_ready"}
    pushed = await agent.push("state_changed", state="not_ready", reason="coaching")
    assert pushed["since"].endswith("Z")

    status, contact = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                        json=chat("move-1"))
    status, body = await server.call(
        "POST", f"/api/v1/supervisor/contacts/{contact['contact_id']}/move",
        as_user="supervisor", json={"queue": "chat_support"})
    assert status == 202
    status, view = await server.call("GET", f"/api/v1/contacts/{contact['contact_id']}",
                                     as_user="supervisor")
    assert view["queue"] == "chat_support"
    await server.call("POST", "/api/v1/supervisor/agents/agent02/presence",
                      as_user="supervisor", json={"state": "available"})
    offer = await agent.push("offer")
    assert offer["contact"]["id"] == contact["contact_id"]
    await agent.request("accept", contact_id=contact["contact_id"])
    # Not ready while busy is pending until the contact ends.
    status, body = await server.call("POST", "/api/v1/supervisor/agents/agent02/presence",
                                     as_user="supervisor", json={"state": "not_ready"})
    assert status == 202 and body["pending"] is True
    status, body = await server.call(
        "POST", f"/api/v1/supervisor/contacts/{contact['contact_id']}/move",
        as_user="supervisor", json={"queue": "chat_sales"})
    assert status == 409 and body["error"]["code"] == "contact.invalid_transition"
    status, body = await server.call("POST", "/api/v1/supervisor/agents/agent02/presence",
                                     as_user="supervisor", json={"state": "offline"})
    assert status == 409 and body["error"]["code"] == "agent.invalid_transition"

    status, queues = await server.call("GET", "/api/v1/supervisor/queues", as_user="admin")
    support = next(q for q in queues["items"] if q["queue"] == "chat_support")
    assert support["answered"] == 1 and support["service_level"] == 1.0
    status, agents = await server.call("GET", "/api/v1/supervisor/agents", as_user="admin")
    state = next(a for a in agents["items"] if a["agent_id"] == "agent02")
    assert state["pending_presence"] == "not_ready" and state["connected"] is True
    await agent.close()


async def test_interval_report_and_prometheus_metrics(server: LiveServer) -> None:
    agent = await server.agent("agent01")
    await agent.request("set_state", state="available")
    status, contact = await server.call("POST", "/api/v1/contacts", as_user="integration",
                                        json=chat("report-1"))
    await agent.push("offer")
    await agent.request("accept", contact_id=contact["contact_id"])
    await agent.request("end", contact_id=contact["contact_id"])
    await agent.request("wrap_up_done", contact_id=contact["contact_id"], disposition="done")
    today = datetime.now().date()
    status, report = await server.call(
        "GET", f"/api/v1/reports/intervals?from={today}&to=2099-01-01&interval=day",
        as_user="supervisor")
    assert status == 422  # more than 93 days
    status, report = await server.call(
        "GET", "/api/v1/reports/intervals?from=2020-01-01&to=2020-02-01&interval=day",
        as_user="supervisor")
    assert status == 200 and report["rows"] == [] and report["group_by"] == "queue"
    period = f"from={today - timedelta(days=1)}&to={today + timedelta(days=2)}"
    status, report = await server.call(
        "GET", f"/api/v1/reports/intervals?{period}&interval=day", as_user="supervisor")
    assert status == 200
    assert sum(row["answered"] for row in report["rows"]) == 1, report
    status, csv = await server.call(
        "GET", f"/api/v1/reports/intervals?{period}&format=csv", as_user="supervisor")
    assert status == 200 and b"chat_sales" in csv
    status, raw = await server.call("GET", "/metrics")
    assert status == 200
    text = raw.decode()
    assert 'callcenter_contacts_answered_total{channel="chat",queue="chat_sales"} 1.0' in text
    status, _ = await server.call("GET", "/api/v1/reports/intervals?from=x&to=y",
                                  as_user="supervisor")
    assert status == 422
    status, _ = await server.call("GET", "/api/v1/reports/intervals?from=2020-01-01&to=2020-01-02",
                                  as_user="agent01")
    assert status == 403
    await agent.close()
