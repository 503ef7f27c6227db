"""The CTI message types: every event and command round-trips; bad input has stable codes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from callcenter.cti_messages import (
    COMMAND_KINDS,
    EVENT_KINDS,
    AgentRinging,
    AnswerCommand,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallRetrieved,
    CallTransferred,
    CancelRouteCommand,
    CollectCommand,
    CommandRejected,
    CtiCommand,
    CtiDecodeError,
    CtiEvent,
    CtiTopicError,
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
    command_envelope,
    commands_topic,
    deadletter_payload,
    deadletter_topic,
    decode_command,
    decode_event,
    encode,
    events_topic,
    json_schema,
)

AT = datetime(2026, 11, 23, 10, 15, 0, 123000, tzinfo=UTC)
HEAD = ("pbx1-000123", 1, "1700000000.42", AT)

EVENTS: list[CtiEvent] = [
    CallOffered(*HEAD, ani="+8613800000001", dnis="4008001234"),
    Dtmf(*HEAD, digits="12#", prompt="menu", command_id="c1"),
    PromptDone(*HEAD, prompt="welcome", command_id="c2"),
    AgentRinging(*HEAD, extension="1001", command_id="c3"),
    CallAnswered(*HEAD, answered_by="ivr"),
    CallAnswered(*HEAD, answered_by="agent", extension="1001"),
    NoAnswer(*HEAD, extension="1001"),
    RouteFailed(*HEAD, extension="1001", cause="busy"),
    CallHeld(*HEAD),
    CallRetrieved(*HEAD),
    CallTransferred(*HEAD, to="billing", target="queue"),
    CallEnded(*HEAD, by="caller", cause="patience"),
    CommandRejected(*HEAD, command_id="c9", reason="invalid_state", command="hold",
                    state="ringing", detail="hold is not allowed while the call is ringing"),
]

COMMANDS: list[CtiCommand] = [
    RouteCommand("c1", "call-1", extension="1001", ring_timeout_s=20),
    CancelRouteCommand("c2", "call-1"),
    AnswerCommand("c3", "call-1"),
    HoldCommand("c4", "call-1"),
    RetrieveCommand("c5", "call-1"),
    TransferCommand("c6", "call-1", extension="1002"),
    TransferCommand("c7", "call-1", queue="billing"),
    DialCommand("c8", "cb-1", number="+8613800000001", extension="1001"),
    PlayCommand("c9", "call-1", prompt="welcome", language="zh"),
    CollectCommand("c10", "call-1", prompt="menu", timeout_s=5, min_digits=1, max_digits=4),
    HangupCommand("c11", "call-1"),
]


def test_every_event_and_command_kind_of_the_protocol_exists() -> None:
    assert set(EVENT_KINDS) == {
        "call_offered", "dtmf", "prompt_done", "agent_ringing", "call_answered", "no_answer",
        "route_failed", "call_held", "call_retrieved", "call_transferred", "call_ended",
        "command_rejected"}
    assert set(COMMAND_KINDS) == {
        "route", "cancel_route", "answer", "hold", "retrieve", "transfer", "dial", "play",
        "collect", "hangup"}
    assert {type(e) for e in EVENTS} == set(EVENT_KINDS.values())
    assert {type(c) for c in COMMANDS} == set(COMMAND_KINDS.values())


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip_with_the_common_fields(event: CtiEvent) -> None:
    payload = encode(event)
    body = json.loads(payload)
    assert body["event"] == type(event).__struct_config__.tag
    assert body["event_id"] == "pbx1-000123"
    assert body["seq"] == 1
    assert body["call_id"] == "1700000000.42"
    assert body["at"] == "2026-11-23T10:15:00.123000Z"
    assert decode_event(payload) == event


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_commands_round_trip_with_the_common_fields(command: CtiCommand) -> None:
    payload = encode(command)
    body = json.loads(payload)
    assert body["command"] == type(command).__struct_config__.tag
    assert body["command_id"] == command.command_id
    assert body["call_id"] == command.call_id
    assert decode_command(payload) == command


def test_the_protocol_example_event_decodes() -> None:
    event = decode_event(b'{"event_id": "pbx1-000123", "seq": 1, "event": "call_offered", '
                         b'"call_id": "1700000000.42", "ani": "+8613800000001", '
                         b'"dnis": "4008001234", "at": "2026-11-23T10:15:00Z"}')
    assert event == CallOffered("pbx1-000123", 1, "1700000000.42",
                                datetime(2026, 11, 23, 10, 15, tzinfo=UTC),
                                ani="+8613800000001", dnis="4008001234")


def test_unknown_fields_are_ignored_so_the_contract_can_grow() -> None:
    event = decode_event(b'{"event": "call_held", "event_id": "e", "seq": 4, "call_id": "c",'
                         b' "at": "2026-11-23T10:15:00Z", "hold_music": "jazz"}')
    assert isinstance(event, CallHeld)


def test_omitted_optional_fields_are_not_sent() -> None:
    assert json.loads(encode(CallHeld(*HEAD))) == {
        "event": "call_held", "event_id": "pbx1-000123", "seq": 1, "call_id": "1700000000.42",
        "at": "2026-11-23T10:15:00.123000Z"}


@pytest.mark.parametrize(("payload", "code", "reason_part"), [
    (b"{not json", "cti.invalid_json", "malformed"),
    (b"\xff\xfe", "cti.invalid_json", ""),
    (b"[]", "cti.unknown_event", "`event`"),
    (b'{"seq": 1}', "cti.unknown_event", "`event`"),
    (b'{"event": "call_exploded"}', "cti.unknown_event", "call_exploded"),
    (b'{"event": 7}', "cti.unknown_event", "7"),
    (b'{"event": "dtmf", "event_id": "e", "seq": 1, "call_id": "c",'
     b' "at": "2026-11-23T10:15:00Z"}', "cti.validation", "digits"),
    (b'{"event": "dtmf", "event_id": "e", "seq": -1, "call_id": "c",'
     b' "at": "2026-11-23T10:15:00Z", "digits": "1"}', "cti.validation", "seq"),
    (b'{"event": "dtmf", "event_id": "e", "seq": 1, "call_id": "c",'
     b' "at": "2026-11-23T10:15:00", "digits": "1"}', "cti.validation", "timezone"),
    (b'{"event": "route_failed", "event_id": "e", "seq": 1, "call_id": "c",'
     b' "at": "2026-11-23T10:15:00Z", "extension": "1", "cause": "asleep"}', "cti.validation",
     "cause"),
])
def test_bad_events_raise_stable_codes(payload: bytes, code: str, reason_part: str) -> None:
    with pytest.raises(CtiDecodeError) as raised:
        decode_event(payload)
    assert raised.value.code == code
    assert reason_part in raised.value.reason


@pytest.mark.parametrize(("payload", "code", "reason_part"), [
    (b"hangup", "cti.invalid_json", "malformed"),
    (b'{"command": "self_destruct", "command_id": "c", "call_id": "x"}',
     "cti.unknown_command", "self_destruct"),
    (b'{"command_id": "c", "call_id": "x"}', "cti.unknown_command", "`command`"),
    (b'{"command": "route", "command_id": "c", "call_id": "x", "ring_timeout_s": 5}',
     "cti.validation", "extension"),
    (b'{"command": "route", "command_id": "c", "call_id": "x", "extension": "1001",'
     b' "ring_timeout_s": 0}', "cti.validation", "ring_timeout_s"),
    (b'{"command": "hold", "command_id": "", "call_id": "x"}', "cti.validation", "command_id"),
    (b'{"command": "transfer", "command_id": "c", "call_id": "x"}', "cti.validation",
     "exactly one"),
    (b'{"command": "transfer", "command_id": "c", "call_id": "x", "extension": "1",'
     b' "queue": "q"}', "cti.validation", "exactly one"),
    (b'{"command": "dial", "command_id": "c", "call_id": "x", "number": "call me",'
     b' "extension": "1001"}', "cti.validation", "number"),
    (b'{"command": "collect", "command_id": "c", "call_id": "x", "prompt": "p",'
     b' "timeout_s": 5, "min_digits": 4, "max_digits": 2}', "cti.validation", "min_digits"),
])
def test_bad_commands_raise_stable_codes(payload: bytes, code: str, reason_part: str) -> None:
    with pytest.raises(CtiDecodeError) as raised:
        decode_command(payload)
    assert raised.value.code == code
    assert reason_part in raised.value.reason


def test_command_envelope_reads_the_ids_of_an_invalid_command() -> None:
    envelope = command_envelope(b'{"command": "route", "command_id": "c7", "call_id": "x"}')
    assert envelope is not None
    assert (envelope.command, envelope.command_id, envelope.call_id) == ("route", "c7", "x")
    assert command_envelope(b"garbage") is None


def test_topics() -> None:
    assert events_topic("callcenter", "pbx1") == "callcenter/cti/pbx1/events"
    assert commands_topic("acme/cc", "pbx1") == "acme/cc/cti/pbx1/commands"
    assert deadletter_topic("callcenter") == "callcenter/deadletter"


@pytest.mark.parametrize(("prefix", "pbx"), [
    ("", "pbx1"), ("cc/#", "pbx1"), ("cc/", "pbx1"), ("cc", "a/b"), ("cc", "+"), ("cc", ""),
])
def test_topics_refuse_wildcards_and_empty_levels(prefix: str, pbx: str) -> None:
    with pytest.raises(CtiTopicError) as raised:
        events_topic(prefix, pbx)
    assert raised.value.code == "cti.invalid_topic_level"


def test_deadletter_payload_keeps_text_and_base64_encodes_binary() -> None:
    text = json.loads(deadletter_payload(reason="r", code="cti.invalid_json", topic="t",
                                         payload=b"hello"))
    assert text == {"reason": "r", "code": "cti.invalid_json", "topic": "t",
                    "payload": "hello", "payload_encoding": "utf-8"}
    binary = json.loads(deadletter_payload(reason="r", code="c", topic="t", payload=b"\xff\x00"))
    assert binary["payload_encoding"] == "base64"
    assert base64.b64decode(binary["payload"]) == b"\xff\x00"


def test_json_schema_describes_every_message() -> None:
    schema = json_schema()
    definitions = schema["$defs"]
    assert isinstance(definitions, dict)
    for name in ("CallOffered", "CommandRejected", "RouteCommand", "DialCommand"):
        assert name in definitions
    json.dumps(schema)  # serialisable as it is
