"""The README's run command: the demo serves the console, routes live traffic to bots.

Runs the real ``run_demo`` (seeded SQLite, real server on a free port, bot agents on
real websockets, chats and emails over HTTP, calls from the PBX simulator over real
Mosquitto) for a short while and checks what a person trying it would see.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from callcenter.bots import login
from callcenter.config import Config
from callcenter.demo import DemoOptions, run_demo
from callcenter.store.engine import make_engine
from tests.services import MQTT_HOST, MQTT_PORT, require_mosquitto

FLOWS = Path(__file__).resolve().parents[2] / "ivr_flows"


async def test_demo_serves_and_routes_live_traffic_to_bots(tmp_path: Path) -> None:
    require_mosquitto()
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    config = Config().replace(
        server__port=0, store__url=url, log__level="warning",
        mqtt__host=MQTT_HOST, mqtt__port=MQTT_PORT,
        mqtt__prefix=f"demo{uuid.uuid4().hex[:8]}", mqtt__client_id=f"demo-{uuid.uuid4().hex}",
        ivr__flows_dir=str(FLOWS),
    )
    # A short, busy demo that stops by itself; then look at what it left in the store.
    options = DemoOptions(customers=300, bots=6, chats_per_min=240, emails_per_min=120,
                          calls_per_min=240, duration_s=20)
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(run_demo(config, options, on_started=started.set_result), 120)
    assert started.result().startswith("http://127.0.0.1:")

    engine = make_engine(url)
    try:
        async with engine.connect() as db:
            by_channel = {channel: n for channel, n in await db.execute(text(
                "SELECT channel, count(*) FROM contacts GROUP BY channel"))}
            menu_choices = (await db.execute(text(
                "SELECT count(*) FROM contacts WHERE channel = 'voice' "
                "AND ivr_path LIKE '%menu:%'"))).scalar()
            agents = {row[0] for row in await db.execute(text(
                "SELECT DISTINCT agent_id FROM routing_decisions"))}
    finally:
        await engine.dispose()
    # Traffic arrived through every interface: HTTP chats and emails, MQTT calls.
    assert by_channel.get("chat", 0) >= 10
    assert by_channel.get("email", 0) >= 5
    assert by_channel.get("voice", 0) >= 10
    # Callers pressed keys in the shipped IVR flows on their way to a queue.
    assert menu_choices
    # Bots took contacts; the agents after the bots stay free for a person.
    assert agents
    assert agents <= {f"agent{i:02d}" for i in range(1, options.bots + 1)}


async def test_demo_refuses_a_port_in_use_with_a_clear_code(tmp_path: Path) -> None:
    from callcenter.demo import PortInUse

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = Config().replace(server__port=port,
                                  store__url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        with pytest.raises(PortInUse) as info:
            await run_demo(config, DemoOptions(customers=10, duration_s=1))
    assert info.value.code == "demo.port_in_use"


async def test_demo_console_page_and_login_work(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    config = Config().replace(server__port=0, store__url=url, log__level="warning",
                              mqtt__enabled=False)
    options = DemoOptions(customers=50, bots=2, chats_per_min=0, emails_per_min=0,
                          duration_s=30, voice=False)
    stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(run_demo(config, options, stop=stop,
                                        on_started=started.set_result))
    base = await asyncio.wait_for(started, 60)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/agent") as page:
                assert page.status == 200
                assert "<html" in (await page.text()).lower()
            body = await login(http, base, "agent21", "demo")
            assert body["role"] == "agent" and body["agent_id"] == "agent21"
    finally:
        stop.set()
        await asyncio.wait_for(demo, 30)
