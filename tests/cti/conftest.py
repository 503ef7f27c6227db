"""The CTI suite: a real server with the MQTT bridge, a real Mosquitto, the PBX simulator.

Every test gets its own topic prefix (and MQTT client ids), a seeded SQLite store,
``create_app`` (which runs ``cti_bridge_ctx``) on a free port, and an
:class:`Observer` subscribed to the commands, dead-letter and informational topics
before anything is published. Tests that play the PBX by hand use :class:`HandPbx`.
Simulated people act within tens of milliseconds; queues ring for 1 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiomqtt
import pytest

from callcenter.config import Config
from callcenter.cti_bridge import (
    CTI_BRIDGE,
    CTI_BRIDGE_SETTINGS,
    BridgeSettings,
    CtiBridge,
)
from callcenter.cti_messages import (
    CtiCommand,
    CtiEvent,
    commands_topic,
    deadletter_topic,
    decode_command,
    encode,
    events_topic,
)
from callcenter.pbx_sim import Delay, PbxSimulator, PhoneProfile, SimulatorSettings
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.queues import create_queue
from tests.server.harness import AgentClient, LiveServer, seed_minimal, server_config
from tests.services import MQTT_HOST, MQTT_PORT, require_mosquitto

__all__ = ["MQTT_HOST", "MQTT_PORT"]

C = TypeVar("C")

PBX = "pbx1"
WAIT_S = 5.0
"""Longest wait for an expected outcome; far above every simulated delay."""
RING_S = 1.0
"""Ring timeout of the test queues (the PBX is told a little less)."""

SIM = SimulatorSettings(
    phone=PhoneProfile(answer_delay=Delay(0.05)),
    talk=Delay(math.inf),
    patience=Delay(math.inf),
    prompt=Delay(0.02),
    keying=Delay(0.02),
    customer_answer=Delay(0.05),
    default_ring_timeout_s=RING_S,
    seed=1,
    persistent_session=False,
)
"""Agents pick up after 50 ms; callers never hang up unless a test says so."""

FAST_BRIDGE = BridgeSettings(default_queue="voice_support", reorder_wait_s=0.3,
                             reconnect_min_s=0.05, reconnect_max_s=0.5)


async def seed_voice(url: str, *, wrap_up_s: float = 30.0) -> None:
    """The server suite's seed plus two voice queues (``voice_support``, ``billing``).

    agent01 has extension 1001, agent02 1002; Li Wei (key) is +8613800000001.
    """
    await seed_minimal(url, ring_timeout_s=RING_S, wrap_up_s=wrap_up_s)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            common = {"ring_timeout_s": RING_S, "wrap_up_s": wrap_up_s}
            await create_queue(db, "voice_support", "voice", config=common)
            await create_queue(db, "billing", "voice", config=common)
    finally:
        await engine.dispose()


class Observer:
    """Reads what the server publishes: CTI commands, dead letters, informational events."""

    def __init__(self, prefix: str, port: int = MQTT_PORT, wait_ready: bool = True) -> None:
        self.prefix = prefix
        self.port = port
        self.wait_ready = wait_ready
        self.commands: list[CtiCommand] = []
        self.deadletters: list[dict[str, Any]] = []
        self.info: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Observer:
        self._task = asyncio.create_task(self._listen())
        if self.wait_ready:
            await self.ready()
        return self

    async def ready(self) -> None:
        async with asyncio.timeout(WAIT_S):
            await self._ready.wait()

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _listen(self) -> None:
        client = aiomqtt.Client(MQTT_HOST, self.port, identifier=f"obs-{uuid.uuid4().hex[:8]}")
        while True:
            try:
                async with client:
                    await client.subscribe(commands_topic(self.prefix, PBX), qos=1)
                    await client.subscribe(deadletter_topic(self.prefix), qos=1)
                    await client.subscribe(f"{self.prefix}/events/#", qos=0)
                    self._ready.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        topic = str(message.topic)
                        if topic.endswith("/commands"):
                            self.commands.append(decode_command(message.payload))
                        elif topic.endswith("/deadletter"):
                            self.deadletters.append(json.loads(message.payload))
                        else:
                            self.info.append((topic, json.loads(message.payload)))
                        self._notify()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)  # retry interval of a lost private broker

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], limit_s: float = WAIT_S) -> None:
        async with asyncio.timeout(limit_s):
            while not predicate():
                await self._changed.wait()

    def of(self, kind: type[C], call_id: str | None = None) -> list[C]:
        return [c for c in self.commands
                if isinstance(c, kind) and (call_id is None or c.call_id == call_id)]

    async def command(self, kind: type[C], call_id: str | None = None, count: int = 1,
                      limit_s: float = WAIT_S) -> C:
        """The ``count``-th command of ``kind`` (for ``call_id``), once it is published."""
        await self.wait_until(lambda: len(self.of(kind, call_id)) >= count, limit_s)
        return self.of(kind, call_id)[count - 1]


class HandPbx:
    """The test plays the PBX: publishes events it writes itself."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self.client = client
        self.topic = events_topic(prefix, PBX)
        self._ids = itertools.count(1)
        self.run = uuid.uuid4().hex[:6]

    def head(self, call_id: str, seq: int) -> dict[str, Any]:
        return {"event_id": f"hand-{self.run}-{next(self._ids)}", "seq": seq,
                "call_id": call_id, "at": datetime.now(UTC)}

    async def send(self, event: CtiEvent) -> CtiEvent:
        await self.client.publish(self.topic, encode(event), qos=1)
        return event

    async def send_raw(self, payload: bytes) -> None:
        await self.client.publish(self.topic, payload, qos=1)


@dataclass
class VoiceEnv:
    """One test's world: server + bridge, observer, and (optionally) the simulator."""

    prefix: str
    server: LiveServer
    observer: Observer
    pbx: PbxSimulator | None = None
    agents: dict[str, AgentClient] = field(default_factory=dict)

    @property
    def bridge(self) -> CtiBridge:
        return self.server.app[CTI_BRIDGE]

    @property
    def services(self) -> Any:
        return self.server.services

    @property
    def router(self) -> Any:
        return self.services.runtime.router

    async def agent(self, username: str, *, available: bool = True) -> AgentClient:
        client = await self.server.agent(username)
        if available:
            await client.request("set_state", state="available")
        self.agents[username] = client
        return client

    def contact_of(self, call_id: str) -> str | None:
        call = self.bridge.calls.get(call_id)
        return call.contact_id if call is not None else None

    async def wait_contact(self, call_id: str) -> str:
        await self.wait_bridge(lambda: self.contact_of(call_id) is not None)
        contact_id = self.contact_of(call_id)
        assert contact_id is not None
        return contact_id

    async def wait_bridge(self, predicate: Callable[[], bool], limit_s: float = WAIT_S) -> None:
        async with asyncio.timeout(limit_s):
            await self.bridge.wait_until(predicate)

    async def wait_pbx(self, predicate: Callable[[], bool], limit_s: float = WAIT_S) -> None:
        assert self.pbx is not None
        async with asyncio.timeout(limit_s):
            await self.pbx.wait_until(predicate)

    def contact_state(self, contact_id: str) -> str | None:
        try:
            return str(self.router.contact_snapshot(contact_id).state)
        except Exception:
            return None


StartEnv = Callable[..., Awaitable[VoiceEnv]]


@pytest.fixture
def prefix() -> str:
    require_mosquitto()
    return f"cti-{uuid.uuid4().hex[:12]}"


def bridge_config(url: str, prefix: str, port: int = MQTT_PORT, **changes: Any) -> Config:
    return server_config(url, mqtt__enabled=True, mqtt__host=MQTT_HOST, mqtt__port=port,
                         mqtt__prefix=prefix, mqtt__pbx=PBX, mqtt__client_id=f"srv-{prefix}",
                         **changes)


@pytest.fixture
async def start_env(sqlite_url: str, prefix: str) -> AsyncIterator[StartEnv]:
    """Start the world; ``sim`` settings (None: no simulator, the test plays the PBX)."""
    stack = contextlib.AsyncExitStack()

    async def start(*, sim: SimulatorSettings | None = SIM,
                    bridge: BridgeSettings = FAST_BRIDGE, wrap_up_s: float = 30.0,
                    port: int = MQTT_PORT, broker_up: bool = True, **config: Any) -> VoiceEnv:
        await seed_voice(sqlite_url, wrap_up_s=wrap_up_s)
        observer = await stack.enter_async_context(Observer(prefix, port, broker_up))
        live = LiveServer(bridge_config(sqlite_url, prefix, port, **config))
        live.app[CTI_BRIDGE_SETTINGS] = bridge  # create_app runs the bridge
        await live.start()
        stack.push_async_callback(live.stop)
        env = VoiceEnv(prefix, live, observer)
        stack.push_async_callback(_close_agents, env)
        if broker_up:  # subscribed before anyone publishes (a first run has no session yet)
            async with asyncio.timeout(WAIT_S):
                await env.bridge.connected.wait()
        if sim is not None:
            settings = replace(sim, client_id=f"pbx-{prefix}")
            env.pbx = await stack.enter_async_context(
                PbxSimulator(settings, mqtt_host=MQTT_HOST, mqtt_port=port, prefix=prefix,
                             pbx=PBX))
        return env

    async with stack:
        yield start


async def _close_agents(env: VoiceEnv) -> None:
    for client in env.agents.values():
        await client.close()


@pytest.fixture
async def hand_pbx(prefix: str) -> AsyncIterator[HandPbx]:
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT,
                              identifier=f"hand-{prefix}") as client:
        yield HandPbx(client, prefix)
