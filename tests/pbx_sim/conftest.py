"""The test plays the server: it publishes CTI commands and reads the simulator's events.

Everything runs against the real Mosquitto with a unique topic prefix per test.
Simulated people act within tens of milliseconds so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import aiomqtt
import pytest

from callcenter.cti_messages import (
    CallOffered,
    CtiCommand,
    CtiEvent,
    commands_topic,
    deadletter_topic,
    decode_event,
    encode,
    events_topic,
)
from callcenter.pbx_sim import Delay, PbxSimulator, PhoneProfile, SimulatorSettings
from tests.services import MQTT_HOST, MQTT_PORT, require_mosquitto

E = TypeVar("E", bound=CtiEvent)

PBX = "pbx-test"
NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""Nagle's algorithm would add ~40 ms to every request/response over MQTT."""
WAIT_S = 3.0
"""Longest wait for an expected message; far above the simulated delays."""

FAST = SimulatorSettings(
    phone=PhoneProfile(answer_delay=Delay(0.03)),
    talk=Delay(math.inf),
    patience=Delay(math.inf),
    prompt=Delay(0.02),
    keying=Delay(0.02),
    customer_answer=Delay(0.03),
    default_ring_timeout_s=0.3,
    seed=1,
    persistent_session=False,
)
"""Agents answer after 30 ms; callers never hang up on their own unless a test says so."""


class CtiServer:
    """The server's side of the CTI contract, for tests: send commands, expect events."""

    def __init__(self, client: aiomqtt.Client, prefix: str, pbx: str) -> None:
        self.client = client
        self.prefix = prefix
        self.pbx = pbx
        self.received: list[CtiEvent] = []
        self.raw_events: list[bytes] = []
        self._by_call: defaultdict[str, asyncio.Queue[CtiEvent]] = defaultdict(asyncio.Queue)
        self.offers: asyncio.Queue[CallOffered] = asyncio.Queue()
        self.deadletters: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._commands = 0

    async def read(self) -> None:
        events, deadletters = events_topic(self.prefix, self.pbx), deadletter_topic(self.prefix)
        async for message in self.client.messages:
            payload = message.payload
            assert isinstance(payload, bytes)
            if message.topic.matches(deadletters):
                await self.deadletters.put(json.loads(payload))
            elif message.topic.matches(events):
                event = decode_event(payload)  # the simulator must only publish valid events
                self.raw_events.append(payload)
                self.received.append(event)
                await self._by_call[event.call_id].put(event)
                if isinstance(event, CallOffered):
                    await self.offers.put(event)

    def command_id(self) -> str:
        self._commands += 1
        return f"cmd-{self._commands}"

    async def send(self, command: CtiCommand) -> str:
        await self.client.publish(commands_topic(self.prefix, self.pbx), encode(command), qos=1)
        return command.command_id

    async def send_raw(self, payload: bytes) -> None:
        await self.client.publish(commands_topic(self.prefix, self.pbx), payload, qos=1)

    async def next_event(self, call_id: str) -> CtiEvent:
        """The next event of ``call_id`` (events of one call arrive in order)."""
        async with asyncio.timeout(WAIT_S):
            return await self._by_call[call_id].get()

    async def expect(self, call_id: str, kind: type[E]) -> E:
        """The next event of ``call_id``, which must be a ``kind``."""
        event = await self.next_event(call_id)
        assert isinstance(event, kind), f"expected {kind.__name__}, got {event!r}"
        return event

    async def expect_offer(self) -> CallOffered:
        async with asyncio.timeout(WAIT_S):
            offer = await self.offers.get()
        first = await self.next_event(offer.call_id)
        assert first == offer
        return offer

    async def expect_deadletter(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            return await self.deadletters.get()

    def pending(self, call_id: str) -> int:
        """Events of ``call_id`` received but not yet expected."""
        return self._by_call[call_id].qsize()


@pytest.fixture
def prefix() -> str:
    """A topic prefix no other test uses."""
    require_mosquitto()
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def server(prefix: str) -> AsyncIterator[CtiServer]:
    """The test's MQTT client, subscribed to the events and deadletter topics."""
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, identifier=f"server-{prefix}",
                              socket_options=[NO_DELAY]) as client:
        await client.subscribe(events_topic(prefix, PBX), qos=1)
        await client.subscribe(deadletter_topic(prefix), qos=1)
        cti = CtiServer(client, prefix, PBX)
        reader = asyncio.create_task(cti.read())
        try:
            yield cti
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


StartSimulator = Callable[..., Awaitable[PbxSimulator]]


@pytest.fixture
async def start_pbx(prefix: str, server: CtiServer) -> AsyncIterator[StartSimulator]:
    """Start a simulator on the test's prefix (after the test's subscriptions exist)."""
    del server  # requested only so its subscriptions exist before the simulator publishes
    stack = contextlib.AsyncExitStack()

    async def start(settings: SimulatorSettings = FAST, **options: Any) -> PbxSimulator:
        if settings.client_id is None:
            settings = replace(settings, client_id=f"pbx-sim-{prefix}-{uuid.uuid4().hex[:6]}")
        simulator = PbxSimulator(settings, mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT,
                                 prefix=prefix, pbx=PBX, **options)
        return await stack.enter_async_context(simulator)

    async with stack:
        yield start


@pytest.fixture
async def pbx(start_pbx: StartSimulator) -> PbxSimulator:
    """A running simulator with the :data:`FAST` settings."""
    return await start_pbx()
