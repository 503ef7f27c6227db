"""Call scenarios end to end over Mosquitto: the test is the server, the simulator the PBX.

Events of one call are read strictly in order, so "the next event is X" also
proves that nothing else came in between.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from callcenter.cti_messages import (
    AgentRinging,
    AnswerCommand,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRetrieved,
    CallTransferred,
    CancelRouteCommand,
    CollectCommand,
    CommandRejected,
    CtiCommand,
    DialCommand,
    Dtmf,
    HangupCommand,
    HoldCommand,
    NoAnswer,
    PlayCommand,
    PromptDone,
    RetrieveCommand,
    RouteCommand,
    RouteFailed,
    TransferCommand,
)
from callcenter.pbx_sim import NEVER, CallState, Delay, PbxSimulator, PhoneProfile
from tests.pbx_sim.conftest import FAST, WAIT_S, CtiServer, StartSimulator

ANI = "+8613800000001"


async def connected_call(server: CtiServer, pbx: PbxSimulator, extension: str = "1001",
                         **call_options: object) -> str:
    """A call routed to ``extension`` and answered there."""
    call_id = await pbx.place_call(ANI, **call_options)  # type: ignore[arg-type]
    await server.expect_offer()
    await server.send(RouteCommand(server.command_id(), call_id, extension=extension,
                                   ring_timeout_s=5))
    await server.expect(call_id, AgentRinging)
    await server.expect(call_id, CallAnswered)
    return call_id


async def test_inbound_calls_are_offered_with_seq_1_and_unique_event_ids(
        server: CtiServer, pbx: PbxSimulator) -> None:
    before = datetime.now(UTC)
    call_ids = [await pbx.place_call(f"+86138000000{n:02d}", "4008001234") for n in range(3)]
    offers = [await server.expect_offer() for _ in call_ids]

    assert [o.call_id for o in offers] == call_ids
    assert len(set(call_ids)) == 3
    assert all(o.seq == 1 for o in offers)
    assert [o.ani for o in offers] == ["+8613800000000", "+8613800000001", "+8613800000002"]
    assert {o.dnis for o in offers} == {"4008001234"}
    assert len({o.event_id for o in offers}) == 3
    assert all(o.event_id.startswith("pbx-test-") for o in offers)
    for offer in offers:
        assert offer.at.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= offer.at <= datetime.now(UTC)
    assert all(b'"at":"' in raw and b'Z"' in raw for raw in server.raw_events)
    assert pbx.call(call_ids[0]).state is CallState.WAITING


async def test_route_rings_the_agent_who_answers_and_the_call_is_connected(
        server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    route_id = await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                              ring_timeout_s=5))

    ringing = await server.expect(call_id, AgentRinging)
    assert (ringing.extension, ringing.seq, ringing.command_id) == ("1001", 2, route_id)
    answered = await server.expect(call_id, CallAnswered)
    assert (answered.answered_by, answered.extension, answered.seq) == ("agent", "1001", 3)
    assert answered.command_id == route_id
    view = pbx.call(call_id)
    assert view.state is CallState.CONNECTED
    assert view.states == (CallState.WAITING, CallState.RINGING, CallState.CONNECTED)
    assert pbx.extension_in_use("1001") == call_id


async def test_softphone_answer_connects_a_ringing_call_at_once(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, phone=PhoneProfile(answer_delay=NEVER)))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))
    await server.expect(call_id, AgentRinging)

    answer_id = await server.send(AnswerCommand(server.command_id(), call_id))

    answered = await server.expect(call_id, CallAnswered)
    assert (answered.answered_by, answered.extension, answered.command_id) == (
        "agent", "1001", answer_id)
    assert pbx.call(call_id).state is CallState.CONNECTED


async def test_no_answer_returns_the_call_and_a_second_agent_answers(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, phones={"1001": PhoneProfile(no_answer_rate=1.0)}))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    first = await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                           ring_timeout_s=0.1))
    await server.expect(call_id, AgentRinging)
    no_answer = await server.expect(call_id, NoAnswer)
    assert (no_answer.extension, no_answer.command_id) == ("1001", first)
    assert pbx.call(call_id).state is CallState.WAITING
    assert pbx.extension_in_use("1001") is None

    await server.send(RouteCommand(server.command_id(), call_id, extension="1002",
                                   ring_timeout_s=5))
    assert (await server.expect(call_id, AgentRinging)).extension == "1002"
    assert (await server.expect(call_id, CallAnswered)).extension == "1002"


async def test_answer_slower_than_the_ring_timeout_is_no_answer(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, phone=PhoneProfile(answer_delay=Delay(0.5))))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=0.1))
    await server.expect(call_id, AgentRinging)
    await server.expect(call_id, NoAnswer)
    assert pbx.call(call_id).state is CallState.WAITING


async def test_busy_extension_fails_the_route_and_the_call_keeps_waiting(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, busy_extensions=frozenset({"1009"})))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    route_id = await server.send(RouteCommand(server.command_id(), call_id, extension="1009",
                                              ring_timeout_s=5))

    failed = await server.expect(call_id, RouteFailed)
    assert (failed.extension, failed.cause, failed.command_id) == ("1009", "busy", route_id)
    assert pbx.call(call_id).state is CallState.WAITING
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))
    assert (await server.expect(call_id, AgentRinging)).extension == "1001"


async def test_extension_already_on_a_call_is_busy(server: CtiServer, pbx: PbxSimulator) -> None:
    await connected_call(server, pbx, "1001")
    second = await pbx.place_call("+8613800000002")
    await server.expect_offer()

    await server.send(RouteCommand(server.command_id(), second, extension="1001",
                                   ring_timeout_s=5))

    assert (await server.expect(second, RouteFailed)).cause == "busy"


async def test_malformed_and_unplugged_extensions_fail_as_invalid_and_unreachable(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, unreachable_extensions=frozenset({"1005"})))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    await server.send(RouteCommand(server.command_id(), call_id, extension="agent-7",
                                   ring_timeout_s=5))
    await server.send(RouteCommand(server.command_id(), call_id, extension="1005",
                                   ring_timeout_s=5))

    assert (await server.expect(call_id, RouteFailed)).cause == "invalid"
    assert (await server.expect(call_id, RouteFailed)).cause == "unreachable"


async def test_cancel_route_stops_the_ringing_and_the_call_waits_again(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    # 1001 answers after 0.9 s; the first route would time out at 0.6 s if not cancelled.
    pbx = await start_pbx(replace(FAST, phone=PhoneProfile(answer_delay=Delay(0.9))))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=0.6))
    await server.expect(call_id, AgentRinging)

    await server.send(CancelRouteCommand(server.command_id(), call_id))
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))

    # No no_answer from the cancelled ring (due at 0.6 s) before the answer (at 0.9 s).
    assert (await server.expect(call_id, AgentRinging)).extension == "1001"
    await server.expect(call_id, CallAnswered)
    assert pbx.call(call_id).states == (CallState.WAITING, CallState.RINGING, CallState.WAITING,
                                        CallState.RINGING, CallState.CONNECTED)


async def test_hold_and_retrieve(server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx)

    hold_id = await server.send(HoldCommand(server.command_id(), call_id))
    held = await server.expect(call_id, CallHeld)
    assert held.command_id == hold_id
    assert pbx.call(call_id).state is CallState.HELD

    retrieve_id = await server.send(RetrieveCommand(server.command_id(), call_id))
    retrieved = await server.expect(call_id, CallRetrieved)
    assert retrieved.command_id == retrieve_id
    assert pbx.call(call_id).state is CallState.CONNECTED


async def test_hold_time_does_not_count_as_talk_time(server: CtiServer,
                                                     pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx, talk=0.6)
    await server.send(HoldCommand(server.command_id(), call_id))
    await server.expect(call_id, CallHeld)
    # Another caller's patience is the clock: it runs out 0.8 s after the hold, after
    # the held caller's 0.6 s of talk would have, had hold time counted.
    clock = await pbx.place_call("+8613800000002", patience=0.8)
    await server.expect_offer()
    await server.expect(clock, CallEnded)

    await server.send(RetrieveCommand(server.command_id(), call_id))

    await server.expect(call_id, CallRetrieved)
    ended = await server.expect(call_id, CallEnded)
    assert (ended.by, ended.cause) == ("caller", "talk_done")


async def test_transfer_to_an_extension_rings_it_and_frees_the_first_agent(
        server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx, "1001")

    transfer_id = await server.send(TransferCommand(server.command_id(), call_id,
                                                    extension="1002"))

    transferred = await server.expect(call_id, CallTransferred)
    assert (transferred.to, transferred.target, transferred.command_id) == (
        "1002", "extension", transfer_id)
    ringing = await server.expect(call_id, AgentRinging)
    assert (ringing.extension, ringing.command_id) == ("1002", transfer_id)
    assert (await server.expect(call_id, CallAnswered)).extension == "1002"
    assert pbx.extension_in_use("1001") is None
    assert pbx.extension_in_use("1002") == call_id


async def test_transfer_to_a_queue_puts_the_call_back_to_waiting(
        server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx, "1001")

    await server.send(TransferCommand(server.command_id(), call_id, queue="billing"))

    transferred = await server.expect(call_id, CallTransferred)
    assert (transferred.to, transferred.target) == ("billing", "queue")
    assert pbx.call(call_id).state is CallState.WAITING
    assert pbx.extension_in_use("1001") is None
    await server.send(RouteCommand(server.command_id(), call_id, extension="1003",
                                   ring_timeout_s=5))
    await server.expect(call_id, AgentRinging)
    await server.expect(call_id, CallAnswered)


async def test_caller_out_of_patience_hangs_up_while_queued(
        server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await pbx.place_call(ANI, patience=0.1)
    await server.expect_offer()

    ended = await server.expect(call_id, CallEnded)

    assert (ended.by, ended.cause, ended.seq) == ("caller", "patience", 2)
    assert pbx.call(call_id).state is CallState.ENDED
    assert pbx.stats.abandoned == 1


async def test_caller_out_of_patience_hangs_up_while_the_agent_rings(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, phone=PhoneProfile(answer_delay=NEVER)))
    call_id = await pbx.place_call(ANI, patience=0.6)
    await server.expect_offer()
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))
    await server.expect(call_id, AgentRinging)

    assert (await server.expect(call_id, CallEnded)).by == "caller"
    assert pbx.extension_in_use("1001") is None


async def test_caller_hangs_up_after_the_talk_time(server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx, talk=0.1)

    ended = await server.expect(call_id, CallEnded)

    assert (ended.by, ended.cause) == ("caller", "talk_done")
    assert pbx.extension_in_use("1001") is None


async def test_hangup_by_the_agent_and_by_the_system(server: CtiServer,
                                                     pbx: PbxSimulator) -> None:
    talking = await connected_call(server, pbx)
    waiting = await pbx.place_call("+8613800000002")
    await server.expect_offer()

    hangup_id = await server.send(HangupCommand(server.command_id(), talking))
    await server.send(HangupCommand(server.command_id(), waiting))

    ended = await server.expect(talking, CallEnded)
    assert (ended.by, ended.command_id) == ("agent", hangup_id)
    assert (await server.expect(waiting, CallEnded)).by == "system"


async def test_ivr_play_then_collect_from_the_caller_script(
        server: CtiServer, pbx: PbxSimulator) -> None:
    script = ["2", "12345"]
    asked: list[str] = []

    def caller(prompt: str, min_digits: int, max_digits: int) -> str | None:
        del min_digits, max_digits
        asked.append(prompt)
        return script.pop(0) if script else None

    call_id = await pbx.place_call(ANI, caller_script=caller)
    await server.expect_offer()

    play_id = await server.send(PlayCommand(server.command_id(), call_id, prompt="welcome",
                                            language="zh"))
    answered = await server.expect(call_id, CallAnswered)
    assert (answered.answered_by, answered.extension) == ("ivr", None)
    done = await server.expect(call_id, PromptDone)
    assert (done.prompt, done.command_id) == ("welcome", play_id)

    collect_id = await server.send(CollectCommand(server.command_id(), call_id,
                                                  prompt="main-menu", timeout_s=5))
    dtmf = await server.expect(call_id, Dtmf)
    assert (dtmf.digits, dtmf.prompt, dtmf.command_id) == ("2", "main-menu", collect_id)

    await server.send(CollectCommand(server.command_id(), call_id, prompt="order-number",
                                     timeout_s=5, min_digits=1, max_digits=3))
    assert (await server.expect(call_id, Dtmf)).digits == "123"  # cut at max_digits

    await server.send(CollectCommand(server.command_id(), call_id, prompt="again",
                                     timeout_s=5))
    async with asyncio.timeout(WAIT_S):
        await pbx.wait_until(lambda: len(asked) == 3)
    # The silent caller would key 40 ms after being asked; another caller's 0.3 s
    # patience, started after that, is the clock that shows nothing came.
    clock = await pbx.place_call("+8613800000002", patience=0.3)
    await server.expect_offer()
    await server.expect(clock, CallEnded)
    assert server.pending(call_id) == 0
    assert pbx.call(call_id).state is CallState.WAITING


async def test_collect_asks_a_scripted_caller_function(server: CtiServer,
                                                       pbx: PbxSimulator) -> None:
    asked: list[tuple[str, int, int]] = []

    def caller(prompt: str, min_digits: int, max_digits: int) -> str:
        asked.append((prompt, min_digits, max_digits))
        return "4" * max_digits

    call_id = await pbx.place_call(ANI, caller_script=caller)
    await server.expect_offer()
    await server.send(CollectCommand(server.command_id(), call_id, prompt="pin", timeout_s=5,
                                     min_digits=4, max_digits=6))

    await server.expect(call_id, CallAnswered)
    assert (await server.expect(call_id, Dtmf)).digits == "444444"
    assert asked == [("pin", 4, 6)]


async def test_route_cuts_a_playing_prompt_short(server: CtiServer, pbx: PbxSimulator) -> None:
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()
    await server.send(PlayCommand(server.command_id(), call_id, prompt="queue-music"))
    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))

    await server.expect(call_id, CallAnswered)  # by the IVR
    assert (await server.expect(call_id, AgentRinging)).extension == "1001"
    assert (await server.expect(call_id, CallAnswered)).answered_by == "agent"


async def test_dial_callback_rings_the_agent_then_connects_the_customer(
        server: CtiServer, pbx: PbxSimulator) -> None:
    dial_id = await server.send(DialCommand(server.command_id(), "cb-1",
                                            number="+8613800000009", extension="1001"))

    ringing = await server.expect("cb-1", AgentRinging)
    assert (ringing.seq, ringing.extension, ringing.command_id) == (1, "1001", dial_id)
    answered = await server.expect("cb-1", CallAnswered)
    assert (answered.answered_by, answered.extension, answered.seq) == ("agent", "1001", 2)
    view = pbx.call("cb-1")
    assert (view.direction, view.ani, view.state) == ("outbound", "+8613800000009",
                                                      CallState.CONNECTED)
    assert view.states == (CallState.DIALING_AGENT, CallState.DIALING_CUSTOMER,
                           CallState.CONNECTED)

    await server.send(HangupCommand(server.command_id(), "cb-1"))
    assert (await server.expect("cb-1", CallEnded)).by == "agent"
    assert server.pending("cb-1") == 0


async def test_dial_to_a_busy_agent_fails_and_ends(server: CtiServer,
                                                   start_pbx: StartSimulator) -> None:
    await start_pbx(replace(FAST, busy_extensions=frozenset({"1001"})))
    await server.send(DialCommand(server.command_id(), "cb-2", number="+8613800000009",
                                  extension="1001"))

    assert (await server.expect("cb-2", RouteFailed)).cause == "busy"
    ended = await server.expect("cb-2", CallEnded)
    assert (ended.by, ended.cause) == ("system", "route_failed")


async def test_dial_ends_when_the_customer_does_not_answer(server: CtiServer,
                                                           start_pbx: StartSimulator) -> None:
    await start_pbx(replace(FAST, customer_no_answer_rate=1.0))
    await server.send(DialCommand(server.command_id(), "cb-3", number="+8613800000009",
                                  extension="1001", ring_timeout_s=0.1))

    await server.expect("cb-3", AgentRinging)
    ended = await server.expect("cb-3", CallEnded)
    assert (ended.by, ended.cause) == ("system", "customer_no_answer")


async def test_commands_that_make_no_sense_for_the_state_are_rejected(
        server: CtiServer, start_pbx: StartSimulator) -> None:
    pbx = await start_pbx(replace(FAST, phone=PhoneProfile(answer_delay=NEVER)))
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    answer_id = await server.send(AnswerCommand(server.command_id(), call_id))
    rejected = await server.expect(call_id, CommandRejected)
    assert (rejected.command_id, rejected.reason, rejected.command, rejected.state) == (
        answer_id, "invalid_state", "answer", "waiting")
    assert rejected.detail and "allowed" in rejected.detail

    await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                   ring_timeout_s=5))
    await server.expect(call_id, AgentRinging)
    nonsense: list[CtiCommand] = [
        HoldCommand(server.command_id(), call_id),
        RouteCommand(server.command_id(), call_id, extension="1002", ring_timeout_s=5),
        RetrieveCommand(server.command_id(), call_id),
        TransferCommand(server.command_id(), call_id, queue="sales"),
        PlayCommand(server.command_id(), call_id, prompt="welcome"),
    ]
    for command in nonsense:
        await server.send(command)
    for command in nonsense:
        rejected = await server.expect(call_id, CommandRejected)
        assert (rejected.command_id, rejected.state) == (command.command_id, "ringing")

    # The call is unharmed by all that.
    await server.send(AnswerCommand(server.command_id(), call_id))
    await server.expect(call_id, CallAnswered)
    assert pbx.stats.rejected == 1 + len(nonsense)


async def test_commands_for_unknown_and_ended_calls_are_rejected(
        server: CtiServer, pbx: PbxSimulator) -> None:
    unknown_id = await server.send(RouteCommand(server.command_id(), "no-such-call",
                                                extension="1001", ring_timeout_s=5))
    rejected = await server.expect("no-such-call", CommandRejected)
    assert (rejected.command_id, rejected.reason, rejected.seq) == (unknown_id, "unknown_call", 0)

    call_id = await pbx.place_call(ANI, patience=0.05)
    await server.expect_offer()
    await server.expect(call_id, CallEnded)
    late_id = await server.send(RouteCommand(server.command_id(), call_id, extension="1001",
                                             ring_timeout_s=5))
    late = await server.expect(call_id, CommandRejected)
    assert (late.command_id, late.reason, late.state, late.seq) == (
        late_id, "invalid_state", "ended", 3)


async def test_dial_with_an_existing_call_id_is_rejected(server: CtiServer,
                                                         pbx: PbxSimulator) -> None:
    call_id = await pbx.place_call(ANI)
    await server.expect_offer()

    dial_id = await server.send(DialCommand(server.command_id(), call_id,
                                            number="+8613800000009", extension="1001"))

    rejected = await server.expect(call_id, CommandRejected)
    assert (rejected.command_id, rejected.reason) == (dial_id, "duplicate_call")
    assert pbx.call(call_id).state is CallState.WAITING


async def test_a_redelivered_command_is_applied_once(server: CtiServer,
                                                     pbx: PbxSimulator) -> None:
    call_id = await connected_call(server, pbx)
    hold = HoldCommand(server.command_id(), call_id)

    await server.send(hold)
    await server.send(hold)
    await server.send(RetrieveCommand(server.command_id(), call_id))

    await server.expect(call_id, CallHeld)
    await server.expect(call_id, CallRetrieved)  # no rejection of the repeat in between
    assert pbx.stats.duplicates_ignored == 1


async def test_garbage_commands_go_to_the_deadletter_topic_and_the_pbx_carries_on(
        server: CtiServer, pbx: PbxSimulator) -> None:
    garbage = [
        (b"\xff\xfe\x00", "cti.invalid_json"),
        (b"route 1001 please", "cti.invalid_json"),
        (b'{"command": "explode", "command_id": "x1", "call_id": "c"}', "cti.unknown_command"),
        (b'[1, 2, 3]', "cti.unknown_command"),
        (b'{"command": "route", "command_id": "x2", "call_id": "c"}', "cti.validation"),
        (b'{"command": "collect", "command_id": "x3", "call_id": "c", "prompt": "p",'
         b' "timeout_s": -1}', "cti.validation"),
    ]
    for payload, _ in garbage:
        await server.send_raw(payload)

    letters = [await server.expect_deadletter() for _ in garbage]

    assert [letter["code"] for letter in letters] == [code for _, code in garbage]
    assert all(letter["reason"] for letter in letters)
    assert {letter["topic"] for letter in letters} == {pbx.commands_topic}
    assert letters[0]["payload_encoding"] == "base64"
    assert letters[1]["payload"] == "route 1001 please"
    assert "extension" in letters[4]["reason"]
    # Commands that still name a command_id are also answered, so the sender is not left
    # waiting.
    rejections = [await server.expect("c", CommandRejected) for _ in range(3)]
    assert [(r.command_id, r.reason) for r in rejections] == [
        ("x1", "invalid_command"), ("x2", "invalid_command"), ("x3", "invalid_command")]

    await connected_call(server, pbx)


async def test_many_concurrent_calls_keep_per_call_order(server: CtiServer,
                                                         pbx: PbxSimulator) -> None:
    call_ids = [await pbx.place_call(f"+86138{n:08d}") for n in range(20)]
    for _ in call_ids:
        await server.expect_offer()
    for n, call_id in enumerate(call_ids):
        await server.send(RouteCommand(server.command_id(), call_id, extension=f"{2000 + n}",
                                       ring_timeout_s=5))
    for call_id in call_ids:
        await server.expect(call_id, AgentRinging)
        await server.expect(call_id, CallAnswered)

    ids = [event.event_id for event in server.received]
    assert len(ids) == len(set(ids)) == 60
    for call_id in call_ids:
        seqs = [e.seq for e in server.received if e.call_id == call_id]
        assert seqs == [1, 2, 3]
    assert pbx.stats.answered == 20
