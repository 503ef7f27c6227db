"""Web chat end to end: the visitor's widget protocol and the agent's console."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect

from callcenter.http_api.chat import RateLimited, RateLimiter
from tests.server.harness import LiveServer


class Visitor:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.pushes: list[dict[str, Any]] = []

    async def request(self, kind: str, rid: str, **fields: Any) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": kind, "id": rid, **fields}))
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await self.ws.recv())
                if message.get("id") == rid and "seq" not in message:
                    return message
                self.pushes.append(message)

    async def push(self, kind: str) -> dict[str, Any]:
        for i, message in enumerate(self.pushes):
            if message["type"] == kind:
                return self.pushes.pop(i)
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] == kind:
                    return message
                self.pushes.append(message)


async def test_visitor_and_agent_chat_both_ways(server: LiveServer) -> None:
    status, session = await server.call("POST", "/api/v1/chat/sessions", json={
        "queue": "chat_sales", "text": "Hi, do you ship to Hangzhou?", "name": "Mei"})
    assert status == 202, session
    assert session["state"] == "queued" and session["position"] == 1
    contact_id = session["contact_id"]
    async with connect(f"{server.ws_url}/ws/visitor") as ws:
        visitor = Visitor(ws)
        ack = await visitor.request("auth", "a1", token=session["visitor_token"])
        assert ack["data"]["contact_id"] == contact_id and ack["data"]["state"] == "queued"
        assert [m["text"] for m in ack["data"]["messages"]] == ["Hi, do you ship to Hangzhou?"]

        agent = await server.agent("agent01")
        await agent.request("set_state", state="available")
        offer = await agent.push("offer")
        assert offer["contact"]["first_message"] == "Hi, do you ship to Hangzhou?"
        assert offer["screen_pop"]["customer"]["provisional"] is True
        assert offer["reason"]["strategy"] == "longest_idle" and offer["reason"]["attempt"] == 1
        await agent.request("accept", contact_id=contact_id)
        joined = await visitor.push("agent_joined")
        assert joined["agent_name"] == "Agent"

        await agent.request("chat_send", contact_id=contact_id, text="Yes, we do!")
        message = await visitor.push("chat_message")
        assert (message["from"], message["text"]) == ("agent", "Yes, we do!")
        await agent.request("chat_typing", contact_id=contact_id, typing=True)
        assert (await visitor.push("chat_typing"))["typing"] is True

        reply = await visitor.request("chat_send", "a2", text="Great, thanks")
        assert reply["type"] == "ack" and reply["data"]["delivered"] is True
        pushed = await agent.push("chat_message")
        assert pushed == {**pushed, "contact_id": contact_id, "from": "customer",
                          "text": "Great, thanks"}
        bad = await visitor.request("fly", "a3")
        assert bad["code"] == "ws.unknown_type"

        # The console reloads: the auth ack rebuilds it with messages and screen-pop.
        again = await server.agent("agent01")
        contact = again.auth["contacts"][0]
        assert again.auth["name"] == "Agent One" and again.auth["extension"] == "1001"
        assert [m["text"] for m in contact["messages"]] == [
            "Hi, do you ship to Hangzhou?", "Yes, we do!", "Great, thanks"]
        assert contact["screen_pop"]["customer"]["provisional"] is True

        left = await visitor.request("leave", "a4")
        assert left["data"] == {"state": "ended"}
        ended = await visitor.push("contact_ended")
        assert ended["by"] == "customer"
        await again.push("contact_ended", contact_id=contact_id)
        await agent.close()
        await again.close()


async def test_chat_sessions_are_rate_limited_and_take_chat_queues_only(
    server: LiveServer,
) -> None:
    status, _ = await server.call("POST", "/api/v1/chat/sessions",
                                  json={"queue": "email_support", "text": "hi"})
    assert status == 422
    limiter = RateLimiter(burst=2, refill_per_s=1.0)
    limiter.take("1.2.3.4", now=0.0)
    limiter.take("1.2.3.4", now=0.0)
    try:
        limiter.take("1.2.3.4", now=0.5)
        raise AssertionError("not limited")
    except RateLimited as exc:
        assert exc.status == 429
    limiter.take("1.2.3.4", now=1.6)
    limiter.take("5.6.7.8", now=0.5)
    async with connect(f"{server.ws_url}/ws/visitor") as ws:
        token = await server.token("agent01")  # staff tokens do not open a visitor socket
        await ws.send(json.dumps({"type": "auth", "id": 1, "token": token}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "auth.forbidden"
        await ws.wait_closed()
        assert ws.close_code == 4401
