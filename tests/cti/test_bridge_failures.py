"""The bridge under bad input and a bad network: duplicates, reordering, garbage,
unknown calls, a full outbox, a broker that is down at start or goes away mid-call."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.cti_bridge import CtiOutboxFull, Outbox, Outgoing
from callcenter.cti_messages import (
    DECODE_ERROR_CODES,
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallOffered,
    RouteCommand,
)
from callcenter.pbx_sim import CallState, Delay
from callcenter.store.models import Interaction, RouterJournal
from tests.cti.conftest import FAST_BRIDGE, SIM, WAIT_S, HandPbx, StartEnv, VoiceEnv
from tests.pbx_sim.test_reconnect import PrivateBroker
from tests.services import unavailable


async def journal_kinds(env: VoiceEnv, contact_id: str) -> list[str]:
    async with env.services.sessionmaker() as db:
        rows = await db.scalars(select(RouterJournal).order_by(RouterJournal.id))
        return [row.kind for row in rows
                if (row.payload.get("event") or {}).get("contact_id") == contact_id]


def offered(pbx: HandPbx, call_id: str, ani: str = "+8613800000002") -> CallOffered:
    return CallOffered(**pbx.head(call_id, 1), ani=ani, dnis="4008001234")


async def test_duplicate_and_out_of_order_events_are_applied_once_in_seq_order(
    start_env: StartEnv, hand_pbx: HandPbx,
) -> None:
    env = await start_env(sim=None, bridge=replace(FAST_BRIDGE, reorder_wait_s=3.0))
    agent = await env.agent("agent01")
    first = await hand_pbx.send(offered(hand_pbx, "c-1"))
    await hand_pbx.send(first)  # the same event_id again: a redelivery
    await env.observer.command(RouteCommand, "c-1")
    contact_id = env.contact_of("c-1")
    assert contact_id is not None

    # seq 3 overtakes seq 2: it waits for it, then both apply in order.
    answered = CallAnswered(**hand_pbx.head("c-1", 3), answered_by="agent", extension="1001")
    await hand_pbx.send(answered)
    await env.wait_bridge(lambda: 3 in env.bridge.calls["c-1"].buffered)
    assert env.contact_state(contact_id) == "alerting"
    await hand_pbx.send(AgentRinging(**hand_pbx.head("c-1", 2), extension="1001"))
    await agent.push("contact_connected", contact_id=contact_id)
    await hand_pbx.send(answered)  # duplicate after the fact
    ended = CallEnded(**hand_pbx.head("c-1", 4), by="caller")
    await hand_pbx.send(ended)
    await hand_pbx.send(ended)
    await agent.push("contact_ended", contact_id=contact_id)
    await env.wait_bridge(lambda: env.bridge.stats["duplicates"] >= 3
                          and env.bridge.stats["processed"] >= 4)

    assert await journal_kinds(env, contact_id) == ["ContactArrived", "OfferAccepted",
                                                    "ContactEnded"]
    assert len(env.observer.of(RouteCommand, "c-1")) == 1
    assert env.bridge.stats["duplicates"] == 3
    assert env.contact_state(contact_id) == "wrap_up"


async def test_a_missing_seq_is_waited_for_only_briefly(
    start_env: StartEnv, hand_pbx: HandPbx,
) -> None:
    env = await start_env(sim=None)
    await hand_pbx.send(offered(hand_pbx, "c-gap"))
    contact_id = await env.wait_contact("c-gap")
    # seq 2 never comes; the caller's hang-up (seq 3) applies after reorder_wait_s.
    await hand_pbx.send(CallEnded(**hand_pbx.head("c-gap", 3), by="caller"))
    await env.wait_bridge(lambda: "c-gap" not in env.bridge.calls, limit_s=2.0)
    async with env.services.sessionmaker() as db:
        outcome = await db.scalar(select(Interaction.outcome)
                                  .where(Interaction.contact_id == contact_id))
    assert outcome == "short_abandon"
    # seq 2 turning up now is stale: ignored, not applied to the finished call.
    await hand_pbx.send(AgentRinging(**hand_pbx.head("c-gap", 2), extension="1001"))
    await env.wait_bridge(lambda: env.bridge.stats["late"] + env.bridge.stats["stale"] == 1)


async def test_unknown_events_and_events_of_unknown_calls_are_dead_lettered(
    start_env: StartEnv, hand_pbx: HandPbx,
) -> None:
    env = await start_env(sim=None)
    await hand_pbx.send(CallEnded(**hand_pbx.head("c-nobody", 1), by="caller"))
    await hand_pbx.send(CallEnded(**hand_pbx.head("c-nobody-2", 4), by="caller"))
    await hand_pbx.send_raw(b'{"event": "call_teleported", "event_id": "x", "seq": 1}')
    await hand_pbx.send_raw(b'{"event": "dtmf", "event_id": "y"}')
    await env.observer.wait_until(lambda: len(env.observer.deadletters) == 4)
    codes = sorted(d["code"] for d in env.observer.deadletters)
    assert codes == ["cti.unknown_call", "cti.unknown_call", "cti.unknown_event",
                     "cti.validation"]
    letter = next(d for d in env.observer.deadletters if d["code"] == "cti.unknown_event")
    assert letter["topic"].endswith("/cti/pbx1/events")
    assert "call_teleported" in letter["payload"]


async def test_a_thousand_random_payloads_are_dead_lettered_and_the_server_stays_healthy(
    start_env: StartEnv, hand_pbx: HandPbx,
) -> None:
    env = await start_env(sim=None)
    rng = random.Random(6)
    payloads = [rng.randbytes(rng.randrange(0, 300)) for _ in range(1000)]
    for start in range(0, len(payloads), 100):
        await asyncio.gather(*(hand_pbx.send_raw(p) for p in payloads[start:start + 100]))
    await env.observer.wait_until(lambda: len(env.observer.deadletters) == 1000, limit_s=20)
    assert {d["code"] for d in env.observer.deadletters} <= DECODE_ERROR_CODES
    assert env.bridge.stats["deadlettered"] == 1000
    await env.wait_bridge(lambda: env.bridge.ledger.acked == 1000)

    status, body = await env.server.call("GET", "/readyz")
    assert status == 200, body
    agent = await env.agent("agent01")
    await hand_pbx.send(offered(hand_pbx, "c-after"))
    await env.observer.command(RouteCommand, "c-after")
    await agent.push("offer")


def test_the_outbox_is_bounded_and_says_so() -> None:
    outbox = Outbox(limit=2)
    outbox.add(Outgoing("t", b"1", "route", call_id="a"))
    outbox.add(Outgoing("t", b"2", "hold", call_id="b"))
    with pytest.raises(CtiOutboxFull) as raised:
        outbox.add(Outgoing("t", b"3", "hold", call_id="c"))
    assert raised.value.code == "cti.outbox_full" and raised.value.status == 503
    # A route withdrawn before it reached the broker leaves room again.
    assert outbox.withdraw_route("a")
    assert [i.payload for i in outbox.items] == [b"2"]


# --------------------------------------------------------------------------- broker loss


def _have_mosquitto(path: str) -> bool:
    import shutil

    return shutil.which("mosquitto") is not None or Path(path).exists()


@pytest.fixture
async def private_broker(tmp_path: Path) -> Any:
    from tests.pbx_sim.test_reconnect import MOSQUITTO

    if not _have_mosquitto(MOSQUITTO):
        unavailable("the mosquitto binary is not installed")
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = PrivateBroker(folder)
    try:
        yield broker
    finally:
        await broker.stop()


async def test_broker_down_at_start_then_stopped_mid_call_loses_nothing(
    start_env: StartEnv, private_broker: PrivateBroker,
) -> None:
    # The broker is down when the server starts: it starts anyway, HTTP works.
    bridge = replace(FAST_BRIDGE, reconnect_max_s=0.3)
    env = await start_env(sim=None, bridge=bridge, port=private_broker.port, wrap_up_s=0.0,
                          broker_up=False)
    assert env.bridge.status != "ok"
    status, body = await env.server.call("GET", "/readyz")
    assert status == 200, body
    await private_broker.start()
    await env.observer.ready()
    await env.wait_bridge(lambda: env.bridge.status == "ok")

    from callcenter.pbx_sim import PbxSimulator
    from tests.cti.conftest import MQTT_HOST, PBX

    sim = replace(SIM, talk=Delay(1.5), client_id=f"pbx-{env.prefix}", persistent_session=True,
                  reconnect_min_s=0.05, reconnect_max_s=0.3)
    async with PbxSimulator(sim, mqtt_host=MQTT_HOST, mqtt_port=private_broker.port,
                            prefix=env.prefix, pbx=PBX) as pbx:
        env.pbx = pbx
        agent = await env.agent("agent01")
        call_id = await pbx.place_call("+8613800000001")
        offer = await agent.push("offer")
        contact_id = offer["contact"]["id"]
        await agent.push("contact_connected", contact_id=contact_id)

        await private_broker.stop()
        await env.wait_bridge(lambda: env.bridge.status != "ok")
        # While the broker is away: the console keeps working, the hold waits in the
        # outbox, and a new caller's call_offered waits in the PBX's.
        await agent.request("hold", contact_id=contact_id)
        assert len(env.bridge.outbox) == 1
        second_call = await pbx.place_call("+8613800000002")
        await private_broker.start()

        await env.wait_pbx(lambda: pbx.call(call_id).state is CallState.HELD)
        await env.wait_bridge(lambda: env.bridge.calls[call_id].held_since is not None)
        second = await env.agent("agent02")
        second_offer = await second.push("offer", timeout=WAIT_S)
        await second.push("contact_connected", contact_id=second_offer["contact"]["id"])
        await env.wait_pbx(lambda: pbx.call(second_call).state is CallState.CONNECTED)
        await agent.request("retrieve", contact_id=contact_id)
        await agent.push("contact_ended", contact_id=contact_id, timeout=WAIT_S)
        await env.wait_bridge(lambda: call_id not in env.bridge.calls)
        await env.bridge.settle()
        async with env.services.sessionmaker() as db:
            record = await db.scalar(select(Interaction)
                                     .where(Interaction.contact_id == contact_id))
        assert record is not None and record.outcome == "answered" and record.hold_s > 0
        assert env.bridge.stats["reconnects"] >= 1
        assert env.bridge.stats["deadlettered"] == 0
        assert not env.bridge.outbox.items
        live = {c.call_id for c in pbx.live_calls()}
        assert live == {second_call}  # the second caller is still talking, nothing stuck
        assert env.contact_state(second_offer["contact"]["id"]) == "connected"
