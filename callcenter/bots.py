"""Bot agents: real websocket clients of ``/ws/agent`` that take contacts like people do.

The live demo, the end-to-end benchmarks and the load generator use them. A bot logs
in over HTTP, authenticates its websocket, goes available, accepts every offer (after an
optional think time), handles the contact for a drawn handle time, ends it and wraps up
with a disposition. It reconnects after a dropped socket and resumes its contacts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from callcenter.logs import get_logger

log = get_logger(__name__)

DISPOSITIONS = ("resolved", "resolved", "resolved", "follow_up", "sale", "no_sale",
                "refund_issued")


@dataclass(slots=True)
class BotTimings:
    """How long a bot takes, per channel (seconds; drawn from exponential distributions)."""

    accept_delay_s: float = 0.0
    handle_s: dict[str, float] = field(default_factory=lambda: {
        "voice": 60.0, "callback": 60.0, "chat": 90.0, "email": 45.0})
    wrap_up_s: float = 5.0

    def draw_handle(self, rng: random.Random, channel: str) -> float:
        mean = self.handle_s.get(channel, 60.0)
        return rng.expovariate(1.0 / mean) if mean > 0 else 0.0

    def draw_wrap_up(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.wrap_up_s) if self.wrap_up_s > 0 else 0.0


@dataclass(slots=True)
class BotStats:
    offers: int = 0
    accepted: int = 0
    completed: int = 0
    errors: int = 0
    #: offer push received -> contact_connected push received (seconds)
    accept_to_connected_s: list[float] = field(default_factory=list)


async def login(http: aiohttp.ClientSession, base_url: str, username: str,
                password: str) -> dict[str, Any]:
    """``POST /api/v1/auth/login``; the response body (token, role, agent_id)."""
    async with http.post(f"{base_url}/api/v1/auth/login",
                         json={"username": username, "password": password}) as response:
        body: dict[str, Any] = await response.json()
        if response.status != 200:
            raise RuntimeError(f"login of {username} failed: {response.status} {body}")
        return body


class BotAgent:
    """One bot agent; ``run()`` until ``stop`` is set."""

    def __init__(self, base_url: str, username: str, password: str, *,
                 timings: BotTimings | None = None, seed: int = 0,
                 on_offer: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = self.base_url.replace("http://", "ws://", 1).replace(
            "https://", "wss://", 1) + "/ws/agent"
        self.username = username
        self.password = password
        self.timings = timings or BotTimings()
        self.rng = random.Random(f"{username}:{seed}")
        self.on_offer = on_offer
        self.stats = BotStats()
        self.ready = asyncio.Event()
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._work: set[asyncio.Task[None]] = set()
        self._offered_at: dict[str, float] = {}
        self._channels: dict[str, str] = {}
        self._auth_id = ""

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, take contacts, reconnect after drops; return when ``stop`` is set."""
        async with aiohttp.ClientSession() as http:
            token = (await login(http, self.base_url, self.username, self.password))["token"]
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._session(token, stop)
                backoff = 0.2
            except (TimeoutError, OSError, WebSocketException) as exc:
                log.info("bot.disconnected", agent=self.username, error=str(exc))
            if stop.is_set():
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 5.0)
        for task in list(self._work):
            task.cancel()
        await asyncio.gather(*self._work, return_exceptions=True)

    async def _session(self, token: str, stop: asyncio.Event) -> None:
        async with connect(self.ws_url, open_timeout=10, max_size=2**22) as ws:
            self._ws = ws
            self._auth_id = await self._send("auth", token=token)
            await self._send("set_state", state="available")
            stopper = asyncio.create_task(stop.wait())
            try:
                async for raw in ws:
                    self._dispatch(json.loads(raw))
                    if stopper.done():
                        break
            finally:
                stopper.cancel()
                self._ws = None

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ack" and message.get("id") == self._auth_id:
            for contact in (message.get("data") or {}).get("contacts", []):
                self._resume(contact)
            self.ready.set()
        elif kind == "error":
            self.stats.errors += 1
            log.info("bot.error_reply", agent=self.username, code=message.get("code"),
                     error=message.get("message"))
        elif kind == "offer":
            contact = message["contact"]
            self.stats.offers += 1
            self._offered_at[contact["id"]] = time.perf_counter()
            self._channels[contact["id"]] = contact.get("channel", "chat")
            if self.on_offer is not None:
                self.on_offer(message)
            self._spawn(self._accept(contact["id"]))
        elif kind == "contact_connected":
            contact_id = message["contact_id"]
            offered = self._offered_at.pop(contact_id, None)
            if offered is not None:
                self.stats.accept_to_connected_s.append(time.perf_counter() - offered)
            self._spawn(self._handle(contact_id))
        elif kind == "contact_ended":
            contact_id = message["contact_id"]
            if message.get("by") == "customer":
                self._spawn(self._wrap_up(contact_id))

    def _resume(self, contact: dict[str, Any]) -> None:
        """After a reconnect, carry on with the contacts the server says are ours."""
        contact_id = contact.get("id") or contact.get("contact_id")
        state = contact.get("state")
        if not contact_id:
            return
        self._channels[contact_id] = contact.get("channel", "chat")
        if state == "alerting":
            self._spawn(self._accept(contact_id))
        elif state == "connected":
            self._spawn(self._handle(contact_id))
        elif state == "wrap_up":
            self._spawn(self._wrap_up(contact_id))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _send(self, kind: str, **fields: Any) -> str:
        """Send a request without waiting for its ack; its id."""
        request_id = str(next(self._ids))
        if self._ws is not None:
            with contextlib.suppress(WebSocketException):
                await self._ws.send(json.dumps({"type": kind, "id": request_id, **fields}))
        return request_id

    async def _accept(self, contact_id: str) -> None:
        if self.timings.accept_delay_s > 0:
            await asyncio.sleep(self.timings.accept_delay_s)
        self.stats.accepted += 1
        await self._send("accept", contact_id=contact_id)

    async def _handle(self, contact_id: str) -> None:
        channel = self._channels.get(contact_id, "chat")
        if channel == "chat":
            await self._send("chat_send", contact_id=contact_id,
                             text="Hello, thanks for contacting us. Let me check that for you.")
        await asyncio.sleep(self.timings.draw_handle(self.rng, channel))
        await self._send("end", contact_id=contact_id)
        await self._wrap_up(contact_id)

    async def _wrap_up(self, contact_id: str) -> None:
        await asyncio.sleep(self.timings.draw_wrap_up(self.rng))
        await self._send("wrap_up_done", contact_id=contact_id,
                         disposition=self.rng.choice(DISPOSITIONS), notes="handled by demo bot")
        self.stats.completed += 1
        self._channels.pop(contact_id, None)
