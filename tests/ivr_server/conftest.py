"""The IVR on a real server: Mosquitto, the PBX simulator as the caller, SQLite.

Each test gets its own topic prefix, a seeded store (the CTI suite's seed plus the
queues the shipped flows name), ``create_app`` on a free port with the bridge, and the
flows it asks for (the shipped ``ivr_flows/`` or small flows written to its tmp dir).
The server's clock is injected (``create_app(config, clock=...)``): a fixed local time
in Shanghai that then runs at wall-clock speed, so opening hours are the test's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callcenter.cti_bridge import CTI_BRIDGE_SETTINGS, BridgeSettings
from callcenter.ivr_runtime import IVR_SETTINGS, IvrDriver, IvrSettings, install_ivr
from callcenter.pbx_sim import PbxSimulator, SimulatorSettings
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import InteractionRecord, get_interaction
from callcenter.store.models import Contact
from callcenter.store.queues import create_queue
from tests.cti.conftest import (
    FAST_BRIDGE,
    PBX,
    RING_S,
    SIM,
    WAIT_S,
    Observer,
    VoiceEnv,
    bridge_config,
    seed_voice,
)
from tests.server.harness import LiveServer
from tests.services import MQTT_HOST, MQTT_PORT, require_mosquitto

SHIPPED_FLOWS = Path(__file__).resolve().parents[2] / "ivr_flows"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
"""A Monday morning: the shipped main flow is open."""
SUNDAY_10 = datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)
"""A Sunday: the shipped main flow is closed."""
FAST_IVR = IvrSettings(collect_grace_s=0.1, speech_chars_per_s=0.0)
"""The simulator plays prompts in 20 ms: the collect timer needs no allowance for them."""
KEY_ANI = "+8613800000001"
"""Li Wei, key account, orders 10001-10003 (delivered), an open complaint."""
UNKNOWN_ANI = "+8613900000009"

__all__ = ["KEY_ANI", "MONDAY_10", "SUNDAY_10", "UNKNOWN_ANI", "WAIT_S", "IvrEnv"]


def clock_at(start: datetime) -> Callable[[], float]:
    """A server clock that reads ``start`` now and runs at wall-clock speed."""
    offset = start.timestamp() - time.time()
    return lambda: time.time() + offset


@dataclass
class IvrEnv(VoiceEnv):
    """A :class:`VoiceEnv` with the IVR driver."""

    @property
    def ivr(self) -> IvrDriver:
        driver = self.bridge.ivr
        assert driver is not None
        return driver

    async def wait_ivr(self, predicate: Callable[[], bool], limit_s: float = WAIT_S) -> None:
        await self.wait_bridge(predicate, limit_s)

    async def record(self, contact_id: str) -> InteractionRecord:
        await self.bridge.settle()
        async with self.services.sessionmaker() as db:
            return await get_interaction(db, contact_id)

    async def contact_row(self, **where: Any) -> Contact:
        async with self.services.sessionmaker() as db:
            query = select(Contact)
            for name, value in where.items():
                query = query.where(getattr(Contact, name) == value)
            row: Contact | None = await db.scalar(query)
        assert row is not None, where
        return row

    async def ended(self, call_id: str) -> None:
        """Wait until the simulator's call is over and the bridge has let go of it."""
        assert self.pbx is not None
        pbx = self.pbx
        await self.wait_pbx(lambda: call_id not in {c.call_id for c in pbx.live_calls()})
        await self.wait_bridge(lambda: call_id not in self.bridge.calls)
        await self.bridge.settle()


StartIvr = Callable[..., Awaitable[IvrEnv]]


async def seed_ivr(url: str) -> None:
    """The CTI suite's seed plus the voice queues the shipped flows name."""
    await seed_voice(url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            common = {"ring_timeout_s": RING_S, "wrap_up_s": 30.0}
            await create_queue(db, "voice_vip", "voice", config=common)
            await create_queue(db, "voice_sales", "voice", config=common)
    finally:
        await engine.dispose()


def write_flow(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    """A flow file in the test's own folder (the folder is the flows dir)."""
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def prefix() -> str:
    require_mosquitto()
    return f"ivr-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def start_ivr(sqlite_url: str, prefix: str) -> AsyncIterator[StartIvr]:
    """Start the world: ``flows`` (a folder or file), ``at`` (server clock start)."""
    stack = contextlib.AsyncExitStack()

    async def start(*, flows: Path = SHIPPED_FLOWS, at: datetime = MONDAY_10,
                    sim: SimulatorSettings = SIM, bridge: BridgeSettings = FAST_BRIDGE,
                    ivr: IvrSettings = FAST_IVR) -> IvrEnv:
        await seed_ivr(sqlite_url)
        observer = await stack.enter_async_context(Observer(prefix, MQTT_PORT))
        live = LiveServer(bridge_config(sqlite_url, prefix), clock=clock_at(at))
        live.app[CTI_BRIDGE_SETTINGS] = bridge
        live.app[IVR_SETTINGS] = ivr
        # What create_app will do once wired (see docs/ivr.md "Server integration"):
        # load and validate the flows; cti_bridge_ctx then hands them to the bridge.
        install_ivr(live.app, flows)
        await live.start()
        stack.push_async_callback(live.stop)
        env = IvrEnv(prefix, live, observer)
        stack.push_async_callback(_close_agents, env)
        async with asyncio.timeout(WAIT_S):
            await env.bridge.connected.wait()
        env.pbx = await stack.enter_async_context(PbxSimulator(
            replace(sim, client_id=f"pbx-{prefix}"), mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT,
            prefix=prefix, pbx=PBX))
        return env

    async with stack:
        yield start


async def _close_agents(env: IvrEnv) -> None:
    for client in env.agents.values():
        await client.close()
