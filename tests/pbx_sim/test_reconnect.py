"""Losing the broker: the simulator reconnects, keeps its events and its session.

These tests run their own Mosquitto (with persistence) on a free port, so they can
stop and restart it without disturbing anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiomqtt
import pytest

from callcenter.cti_messages import (
    AgentRinging,
    CallAnswered,
    CallOffered,
    CommandRejected,
    CtiEvent,
    RouteCommand,
    commands_topic,
    decode_event,
    encode,
    events_topic,
)
from callcenter.pbx_sim import PbxSimulator, SimulatorUnreachable
from tests.pbx_sim.conftest import FAST, NO_DELAY, PBX, WAIT_S
from tests.services import free_port, unavailable

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PREFIX = "reconnect"


class PrivateBroker:
    """A Mosquitto of our own, stopped and started at will; its sessions survive restarts."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            # Started as root, mosquitto would switch to its own user, who cannot write
            # here; naming the current user keeps it as is.
            f"user {getpass.getuser()}\n",
            encoding="utf-8",
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            MOSQUITTO, "-c", str(self.config), stderr=asyncio.subprocess.PIPE)
        assert self.process.stderr is not None
        async with asyncio.timeout(WAIT_S):
            # Ready when it says so, not after a guessed pause.
            while b" running" not in (line := await self.process.stderr.readline()):
                if not line:
                    raise RuntimeError("mosquitto exited before it was running")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()  # SIGTERM: mosquitto saves its sessions to disk
            async with asyncio.timeout(WAIT_S):
                await self.process.wait()
        self.process = None


@pytest.fixture
def stopped_broker(tmp_path: Path) -> PrivateBroker:
    if shutil.which("mosquitto") is None and not Path(MOSQUITTO).exists():
        unavailable("the mosquitto binary is not installed")
    folder = tmp_path / "broker"
    folder.mkdir()
    return PrivateBroker(folder)


@pytest.fixture
async def broker(stopped_broker: PrivateBroker) -> AsyncIterator[PrivateBroker]:
    private = stopped_broker
    await private.start()
    try:
        yield private
    finally:
        await private.stop()


class PersistentListener:
    """The server's side with a persistent session: nothing is lost while it is away."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: asyncio.Queue[CtiEvent] = asyncio.Queue()

    async def listen(self) -> None:
        """Collect events, reconnecting (with the same session) whenever the broker is back."""
        client = aiomqtt.Client("127.0.0.1", self.port, identifier="listener",
                                clean_session=False, socket_options=[NO_DELAY])
        while True:
            try:
                async with client:
                    await client.subscribe(events_topic(PREFIX, PBX), qos=1)
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        await self.events.put(decode_event(message.payload))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)  # a retry interval, not a wait for a condition

    async def next(self) -> CtiEvent:
        async with asyncio.timeout(WAIT_S):
            return await self.events.get()


async def publish(port: int, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", port, socket_options=[NO_DELAY]) as client:
        await client.publish(commands_topic(PREFIX, PBX), payload, qos=1)


def simulator(port: int) -> PbxSimulator:
    settings = replace(FAST, persistent_session=True, client_id="pbx-sim-reconnect",
                       reconnect_min_s=0.05, reconnect_max_s=0.2)
    return PbxSimulator(settings, mqtt_host="127.0.0.1", mqtt_port=port, prefix=PREFIX,
                        pbx=PBX)


@contextlib.asynccontextmanager
async def listening(port: int) -> AsyncIterator[PersistentListener]:
    listener = PersistentListener(port)
    task = asyncio.create_task(listener.listen())
    try:
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_events_queued_while_the_broker_is_down_are_published_after_reconnect(
        broker: PrivateBroker) -> None:
    async with listening(broker.port) as listener, simulator(broker.port) as pbx:
        first = await pbx.place_call("+8613800000001")
        assert (await listener.next()).call_id == first

        await broker.stop()
        async with asyncio.timeout(WAIT_S):
            await pbx.wait_until(lambda: not pbx.connected)
        second = await pbx.place_call("+8613800000002")  # the broker is away
        await broker.start()

        offered = await listener.next()
        assert isinstance(offered, CallOffered)
        assert offered.call_id == second
        await publish(broker.port, encode(RouteCommand("r1", second, extension="1001",
                                                       ring_timeout_s=5)))
        assert isinstance(await listener.next(), AgentRinging)
        assert isinstance(await listener.next(), CallAnswered)
        assert pbx.stats.reconnects >= 1


async def test_commands_sent_while_the_simulator_is_away_are_delivered_on_its_return(
        broker: PrivateBroker) -> None:
    async with listening(broker.port) as listener:
        async with simulator(broker.port):
            pass  # subscribes with a persistent session, then goes away

        await publish(broker.port, encode(RouteCommand("r-away", "call-from-before",
                                                       extension="1001", ring_timeout_s=5)))

        async with simulator(broker.port):
            rejected = await listener.next()
        # The new process does not know the call, but it did receive the command.
        assert isinstance(rejected, CommandRejected)
        assert (rejected.command_id, rejected.reason) == ("r-away", "unknown_call")


async def test_start_fails_clearly_when_no_broker_answers() -> None:
    pbx = PbxSimulator(replace(FAST, reconnect_min_s=0.05), mqtt_host="127.0.0.1",
                       mqtt_port=free_port(), prefix=PREFIX, pbx=PBX, connect_timeout_s=0.3)
    with pytest.raises(SimulatorUnreachable) as raised:
        async with pbx:
            pass
    assert raised.value.code == "pbx_sim.mqtt_unreachable"
