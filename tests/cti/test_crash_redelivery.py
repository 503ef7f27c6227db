"""The server process dies around the commit of a CTI event: the broker redelivers the
unacknowledged event to the restarted server, which applies it exactly once.

The server runs as a subprocess (``callcenter serve``) with a test-only
crash point (``CC_TEST_CRASH_POINT``): ``mid_batch`` dies inside the transaction (the
event is not durable), ``after_commit_before_ack`` after the commit and before the
PUBACK (durable, but the broker does not know). The test plays the PBX.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from sqlalchemy import func, select

from callcenter.cti_messages import CallEnded, CallOffered
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.models import Contact, Interaction, RouterJournal
from tests.cti.conftest import WAIT_S, HandPbx, Observer, seed_voice
from tests.server.harness import ROOT
from tests.services import MQTT_HOST, MQTT_PORT, free_port


class BridgeServer:
    """The server with the bridge, as a process that can be killed and started again."""

    def __init__(self, url: str, prefix: str, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CALLCENTER_", "CC_"))}
        self.env.update({
            "CALLCENTER_STORE_URL": url, "CALLCENTER_SERVER_PORT": str(self.port),
            "CALLCENTER_IVR_FLOWS_DIR": "",
            "CALLCENTER_LOG_LEVEL": "info", "CALLCENTER_SERVER_DRAIN_TIMEOUT_S": "5",
            "CALLCENTER_MQTT_ENABLED": "true", "CALLCENTER_MQTT_HOST": MQTT_HOST,
            "CALLCENTER_MQTT_PORT": str(MQTT_PORT), "CALLCENTER_MQTT_PREFIX": prefix,
            "CALLCENTER_MQTT_CLIENT_ID": f"srv-{prefix}", "CC_TEST_MODE": "1",
        })
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "callcenter", "serve"], cwd=ROOT,
                env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT)

    async def wait_ready(self) -> None:
        # Ready = /readyz answers 200 and the bridge said it is subscribed.
        async with asyncio.timeout(30), aiohttp.ClientSession() as http:
            while True:
                assert self.process is not None
                assert self.process.poll() is None, self.log_tail()
                ready = False
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        ready = response.status == 200
                except (aiohttp.ClientError, OSError):
                    pass
                if ready and self._logged("cti.connected"):
                    return
                await asyncio.sleep(0.05)  # polling another process: no event to wait on

    def _logged(self, name: str) -> bool:
        return name in self.log_path.read_text(errors="replace")

    async def wait_exit(self) -> int:
        assert self.process is not None
        return await asyncio.to_thread(self.process.wait, 30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
async def world(sqlite_url: str, prefix: str, tmp_path: Path) -> AsyncIterator[Any]:
    await seed_voice(sqlite_url)
    server = BridgeServer(sqlite_url, prefix, tmp_path / "server.log")
    async with Observer(prefix) as observer, \
            aiomqtt.Client(MQTT_HOST, MQTT_PORT, identifier=f"hand-{prefix}") as client:
        try:
            yield server, observer, HandPbx(client, prefix)
        finally:
            server.stop()


async def store_facts(url: str, call_id: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            contacts = list(await db.scalars(
                select(Contact.id).where(Contact.external_id == f"cti:pbx1:{call_id}")))
            records = list(await db.scalars(
                select(Interaction.outcome).where(Interaction.contact_id.in_(contacts))))
            kinds: dict[str, int] = {}
            for row in await db.scalars(select(RouterJournal)):
                if (row.payload.get("event") or {}).get("contact_id") in contacts:
                    kinds[row.kind] = kinds.get(row.kind, 0) + 1
            journaled_cti = await db.scalar(select(func.count()).select_from(RouterJournal))
    finally:
        await engine.dispose()
    return {"contacts": contacts, "records": records, "kinds": kinds, "journal": journaled_cti}


def abandoned(observer: Observer, count: int = 1) -> bool:
    return sum(1 for _, body in observer.info
               if body.get("event") == "contact_abandoned_recorded") >= count


async def test_killed_before_the_commit_the_event_is_redelivered_and_applied_once(
    world: Any, sqlite_url: str,
) -> None:
    server, observer, pbx = world
    server.start(CC_TEST_CRASH_POINT="mid_batch")
    await server.wait_ready()
    await pbx.send(CallOffered(**pbx.head("c-crash", 1), ani="+8613800000002",
                               dnis="4008001234"))
    assert await server.wait_exit() == 137  # died inside the transaction
    assert (await store_facts(sqlite_url, "c-crash"))["contacts"] == []

    server.start()
    await server.wait_ready()
    await pbx.send(CallEnded(**pbx.head("c-crash", 2), by="caller"))
    await observer.wait_until(lambda: abandoned(observer), limit_s=WAIT_S * 2)
    facts = await store_facts(sqlite_url, "c-crash")
    assert len(facts["contacts"]) == 1, server.log_tail()
    assert facts["records"] == ["short_abandon"]
    assert facts["kinds"] == {"ContactArrived": 1, "ContactAbandoned": 1}


async def test_killed_after_the_commit_before_the_ack_the_redelivery_is_ignored(
    world: Any, sqlite_url: str,
) -> None:
    server, observer, pbx = world
    # 1st commit: the call arrives; 2nd commit: the caller's hang-up -> dies before the ack.
    server.start(CC_TEST_CRASH_POINT="after_commit_before_ack", CC_TEST_CRASH_AFTER="2")
    await server.wait_ready()
    await pbx.send(CallOffered(**pbx.head("c-twice", 1), ani="+8613800000002",
                               dnis="4008001234"))
    await pbx.send(CallEnded(**pbx.head("c-twice", 2), by="caller"))
    assert await server.wait_exit() == 137
    assert (await store_facts(sqlite_url, "c-twice"))["records"] == ["short_abandon"]

    server.start()
    await server.wait_ready()
    # A later call is processed after the redelivered hang-up (the broker resends
    # unacknowledged messages first), so once it is in, the redelivery was handled.
    await pbx.send(CallOffered(**pbx.head("c-later", 1), ani="+8613800000002",
                               dnis="4008001234"))
    await pbx.send(CallEnded(**pbx.head("c-later", 2), by="caller"))
    # (The first hang-up's informational event died with the process, before the push.)
    await observer.wait_until(lambda: abandoned(observer, 1), limit_s=WAIT_S * 2)
    facts = await store_facts(sqlite_url, "c-twice")
    assert len(facts["contacts"]) == 1
    assert facts["records"] == ["short_abandon"]
    assert facts["kinds"] == {"ContactArrived": 1, "ContactAbandoned": 1}
    assert observer.deadletters == []
    server.stop()  # its last log line counts what the bridge saw
    stopped = [json.loads(line) for line in server.log_tail(50).splitlines()
               if '"cti.stopped"' in line]
    assert stopped and stopped[-1]["duplicates"] == 1, server.log_tail()
