"""Durable ack: crash points and ``kill -9`` of the real ``callcenter serve`` process.

Each test runs the server as a subprocess on a seeded store, makes it die at a
named point (``CC_TEST_CRASH_POINT``, test mode only) or with SIGKILL under load,
starts it again on the same store and checks: 0 contacts lost (every 202/200 is
still there, live in the router or finished with its record), 0 routed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.models import (
    Contact,
    Interaction,
    InteractionLeg,
    RouterJournal,
    RouterSnapshot,
    RoutingDecision,
)
from tests.server.harness import PASSWORD, AgentClient, ServerProcess, seed_minimal


async def login(http: aiohttp.ClientSession, base: str, username: str) -> str:
    async with http.post(f"{base}/api/v1/auth/login",
                         json={"username": username, "password": PASSWORD}) as response:
        assert response.status == 200
        return str((await response.json())["token"])


def chat(external_id: str, queue: str = "chat_any") -> dict[str, Any]:
    return {"channel": "chat", "external_id": external_id, "queue": queue,
            "customer": {"chat_id": "visitor-77"}, "chat": {"text": "hi"}}


async def post_contact(http: aiohttp.ClientSession, base: str, token: str,
                       body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    try:
        async with http.post(f"{base}/api/v1/contacts", json=body,
                             headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status, await response.json()
    except (TimeoutError, aiohttp.ClientError, OSError):
        return 0, None


async def get_contact(http: aiohttp.ClientSession, base: str, token: str,
                      contact_id: str) -> dict[str, Any]:
    async with http.get(f"{base}/api/v1/contacts/{contact_id}",
                        headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        return dict(await response.json())


async def store_counts(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            contacts = {ext: cid for ext, cid in await db.execute(
                select(Contact.external_id, Contact.id))}
            records = list(await db.scalars(select(Interaction.contact_id)))
            legs = {cid: n for cid, n in await db.execute(
                select(Interaction.contact_id, func.count(InteractionLeg.id))
                .join(InteractionLeg, InteractionLeg.interaction_id == Interaction.id)
                .group_by(Interaction.contact_id))}
            decisions = {cid: n for cid, n in await db.execute(
                select(RoutingDecision.contact_id, func.count())
                .group_by(RoutingDecision.contact_id))}
    finally:
        await engine.dispose()
    return {"contacts": contacts, "records": records, "legs": legs, "decisions": decisions}


async def test_crash_after_commit_before_ack_keeps_the_contact(
    db_url: str, tmp_path: Path
) -> None:
    await seed_minimal(db_url)
    server = ServerProcess(db_url)
    server.start(tmp_path / "server.log", CC_TEST_CRASH_POINT="after_commit_before_ack")
    await server.wait_ready()
    async with aiohttp.ClientSession() as http:
        token = await login(http, server.base_url, "integration")
        status, _ = await post_contact(http, server.base_url, token, chat("crash-ack-1"))
        assert status == 0  # the process died before answering
        assert await server.wait_exit() == 137
        server.start(tmp_path / "server.log")
        await server.wait_ready()
        token = await login(http, server.base_url, "integration")
        status, reply = await post_contact(http, server.base_url, token, chat("crash-ack-1"))
        assert status == 200 and reply is not None and reply["duplicate"] is True
        view = await get_contact(http, server.base_url, token, reply["contact_id"])
        assert view["live"] is True and view["state"] == "queued" and view["position"] == 1
    server.terminate()
    assert await server.wait_exit() == 0
    counts = await store_counts(db_url)
    assert list(counts["contacts"]) == ["crash-ack-1"]


async def test_crash_mid_batch_leaves_nothing_half_written(db_url: str, tmp_path: Path) -> None:
    await seed_minimal(db_url)
    server = ServerProcess(db_url)
    server.start(tmp_path / "server.log", CC_TEST_CRASH_POINT="mid_batch")
    await server.wait_ready()
    async with aiohttp.ClientSession() as http:
        token = await login(http, server.base_url, "integration")
        replies = await asyncio.gather(*[
            post_contact(http, server.base_url, token, chat(f"mid-{i}")) for i in range(5)])
        assert all(status == 0 for status, _ in replies)  # nobody got an ack
        assert await server.wait_exit() == 137
        assert (await store_counts(db_url))["contacts"] == {}  # rolled back as one batch
        server.start(tmp_path / "server.log")
        await server.wait_ready()
        token = await login(http, server.base_url, "integration")
        replies = await asyncio.gather(*[
            post_contact(http, server.base_url, token, chat(f"mid-{i}")) for i in range(5)])
        assert sorted(status for status, _ in replies) == [202] * 5
    server.terminate()
    await server.wait_exit()


async def test_crash_after_offer_before_push_offers_again_without_penalty(
    db_url: str, tmp_path: Path
) -> None:
    await seed_minimal(db_url)
    server = ServerProcess(db_url)
    server.start(tmp_path / "server.log", CC_TEST_CRASH_POINT="after_offer_before_push")
    await server.wait_ready()
    ws_url = server.base_url.replace("http", "ws") + "/ws/agent"
    async with aiohttp.ClientSession() as http:
        agent = AgentClient(ws_url)
        await agent.open(await login(http, server.base_url, "agent02"))
        await agent.request("set_state", state="available")
        token = await login(http, server.base_url, "integration")
        status, reply = await post_contact(http, server.base_url, token,
                                           chat("offer-1", queue="chat_support"))
        # The offer was committed with the contact; the process died before the push.
        assert status in (0, 202)
        assert await server.wait_exit() == 137
        await asyncio.wait_for(agent.closed.wait(), 5)
        server.start(tmp_path / "server.log")
        await server.wait_ready()
        token = await login(http, server.base_url, "integration")
        status, reply = await post_contact(http, server.base_url, token,
                                           chat("offer-1", queue="chat_support"))
        assert status == 200 and reply is not None
        contact_id = reply["contact_id"]
        view = await get_contact(http, server.base_url, token, contact_id)
        assert view["live"] is True and view["state"] == "queued"  # back in line
        agent = AgentClient(ws_url)
        auth = await agent.open(await login(http, server.base_url, "agent02"))
        assert auth["state"] == "not_ready" and auth["contacts"] == []
        await agent.request("set_state", state="available")
        offer = await agent.push("offer")
        assert offer["contact"]["id"] == contact_id
        await agent.request("accept", contact_id=contact_id)
        await agent.request("end", contact_id=contact_id)
        await agent.request("wrap_up_done", contact_id=contact_id, disposition="done")
        await agent.close()
    server.terminate()
    await server.wait_exit()
    counts = await store_counts(db_url)
    assert counts["records"] == [contact_id] and counts["legs"] == {contact_id: 1}
    assert counts["decisions"][contact_id] == 2  # offered, recalled, offered again


async def _bot(ws_url: str, token: str, stop: asyncio.Event, handled: list[str]) -> None:
    """Accept every offer at once, end after a moment, wrap up."""
    agent = AgentClient(ws_url)
    try:
        await agent.open(token)
        await agent.request("set_state", state="available")
        while not stop.is_set():
            try:
                offer = await agent.push("offer", timeout=0.5)
            except TimeoutError:
                continue
            contact_id = offer["contact"]["id"]
            reply = await agent.send("accept", contact_id=contact_id)
            if reply["type"] != "ack":
                continue
            await asyncio.sleep(random.uniform(0.01, 0.1))
            await agent.send("end", contact_id=contact_id)
            await agent.send("wrap_up_done", contact_id=contact_id, disposition="bot")
            handled.append(contact_id)
    except (OSError, AssertionError, TimeoutError, ConnectionError):
        pass
    except Exception:  # the server was killed under us: the socket just ends
        pass
    finally:
        with contextlib.suppress(Exception):
            await agent.close()


async def test_kill_9_under_load_loses_nothing_and_routes_nothing_twice(
    db_url: str, tmp_path: Path
) -> None:
    await seed_minimal(db_url)
    server = ServerProcess(db_url)
    server.start(tmp_path / "server.log")
    await server.wait_ready()
    ws_url = server.base_url.replace("http", "ws") + "/ws/agent"
    acked: dict[str, str] = {}
    attempted: set[str] = set()
    numbers = itertools.count()
    stop = asyncio.Event()
    loaded = asyncio.Event()
    handled: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        token = await login(http, server.base_url, "integration")
        bots = [asyncio.create_task(_bot(ws_url, await login(http, server.base_url, name),
                                         stop, handled))
                for name in ("agent01", "agent02")]

        async def poster() -> None:
            while not stop.is_set():
                external_id = f"load-{next(numbers)}"
                attempted.add(external_id)
                status, reply = await post_contact(http, server.base_url, token,
                                                   chat(external_id))
                if status in (200, 202) and reply is not None:
                    acked[external_id] = reply["contact_id"]
                    if len(acked) >= 150:
                        loaded.set()
                elif status == 0:
                    return

        posters = [asyncio.create_task(poster()) for _ in range(16)]
        await asyncio.wait_for(loaded.wait(), 60)
        server.kill()
        stop.set()
        await asyncio.gather(*posters, *bots)
        assert len(acked) >= 150 and handled, "the load did not run"

        server.start(tmp_path / "server.log")
        await server.wait_ready()
        token = await login(http, server.base_url, "integration")
        counts = await store_counts(db_url)
        # 0 lost: every acknowledged contact is in the store with its id ...
        for external_id, contact_id in acked.items():
            assert counts["contacts"].get(external_id) == contact_id, external_id
        # ... and either still live in the router or finished with its record.
        recorded = set(counts["records"])
        for contact_id in acked.values():
            view = await get_contact(http, server.base_url, token, contact_id)
            assert view.get("live") or contact_id in recorded, view
            assert not (view.get("live") and contact_id in recorded), view
        # 0 routed twice: one record per contact, one agent leg per answered contact.
        assert len(counts["records"]) == len(recorded)
        assert all(n == 1 for n in counts["legs"].values())
        # Retrying everything that was attempted creates nothing new.
        before = len(counts["contacts"])
        replies = await asyncio.gather(*[
            post_contact(http, server.base_url, token, chat(ext)) for ext in sorted(attempted)])
        new = [ext for ext, (status, _) in zip(sorted(attempted), replies, strict=True)
               if status == 202]
        assert all(status in (200, 202) for status, _ in replies)
        assert all(ext not in acked for ext in new)
        after = await store_counts(db_url)
        assert len(after["contacts"]) == before + len(new) == len(attempted)
    server.terminate()
    assert await server.wait_exit() == 0


async def test_sigterm_drains_writes_closes_sockets_with_a_reason(
    db_url: str, tmp_path: Path
) -> None:
    await seed_minimal(db_url)
    server = ServerProcess(db_url)
    server.start(tmp_path / "server.log")
    await server.wait_ready()
    ws_url = server.base_url.replace("http", "ws") + "/ws/agent"
    async with aiohttp.ClientSession() as http:
        agent = AgentClient(ws_url)
        await agent.open(await login(http, server.base_url, "agent01"))
        token = await login(http, server.base_url, "integration")
        posts = [asyncio.create_task(post_contact(http, server.base_url, token,
                                                  chat(f"drain-{i}")))
                 for i in range(40)]
        await asyncio.sleep(0.05)
        server.terminate()
        replies = await asyncio.gather(*posts)
        assert await server.wait_exit() == 0
        await asyncio.wait_for(agent.closed.wait(), 5)
        assert agent.close_code == 4503
    acked = {reply["contact_id"] for status, reply in replies
             if status == 202 and reply is not None}
    assert {status for status, _ in replies} <= {0, 202, 503}
    counts = await store_counts(db_url)
    assert acked <= set(counts["contacts"].values())
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            last_entry = await db.scalar(select(func.max(RouterJournal.id)))
            last_snapshot = await db.scalar(select(func.max(RouterSnapshot.journal_id)))
    finally:
        await engine.dispose()
    assert last_snapshot == last_entry  # the final snapshot covers the whole journal
