"""CTI messages over MQTT: the events a PBX publishes and the commands it obeys.

This module is the executable form of PROTOCOL.md "CTI over MQTT" and of
``docs/cti.md``. The PBX simulator (:mod:`callcenter.pbx_sim`) and the server's
MQTT bridge both use it, so a message that one side encodes the other decodes.

Shape of every message:

- an **event** (PBX -> server, topic :func:`events_topic`) carries ``event``
  (the kind), ``event_id`` (unique per PBX; a repeat is a duplicate and is
  ignored), ``seq`` (increases per call, starting at 1; ``0`` on a
  ``command_rejected`` that belongs to no known call), ``call_id`` and ``at``;
- a **command** (server -> PBX, topic :func:`commands_topic`) carries
  ``command`` (the kind), ``command_id`` (unique per sender) and ``call_id``.

Events that are the direct result of a command also carry that command's
``command_id`` (optional field), so a bridge can tell which ``route`` a
``route_failed`` answers.

Times are ISO 8601 strings with an explicit offset; producers send UTC with
``Z`` (``"2026-11-23T10:15:00.123456Z"``). A time without an offset is rejected.
Durations are seconds as numbers. Unknown fields are ignored when decoding, so
the contract can grow by optional fields without breaking older readers.

Decoding never raises anything but :class:`CtiDecodeError`, whose ``code`` is
one of :data:`DECODE_ERROR_CODES`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from callcenter.errors import CallCenterError

__all__ = [
    "COMMAND_KINDS",
    "DECODE_ERROR_CODES",
    "EVENT_KINDS",
    "AgentRinging",
    "AnswerCommand",
    "CallAnswered",
    "CallEnded",
    "CallHeld",
    "CallOffered",
    "CallRetrieved",
    "CallTransferred",
    "CancelRouteCommand",
    "CollectCommand",
    "CommandEnvelope",
    "CommandRejected",
    "CtiCommand",
    "CtiDecodeError",
    "CtiEvent",
    "CtiTopicError",
    "DialCommand",
    "Dtmf",
    "HangupCommand",
    "HoldCommand",
    "NoAnswer",
    "PlayCommand",
    "PromptDone",
    "RetrieveCommand",
    "RouteCommand",
    "RouteFailed",
    "TransferCommand",
    "command_envelope",
    "commands_topic",
    "deadletter_payload",
    "deadletter_topic",
    "decode_command",
    "decode_event",
    "encode",
    "events_topic",
    "json_schema",
    "utc_now",
]

# --------------------------------------------------------------------------- errors

DECODE_ERROR_CODES: Final = frozenset({
    "cti.invalid_json",      # not JSON at all
    "cti.unknown_event",     # JSON object without a known ``event``
    "cti.unknown_command",   # JSON object without a known ``command``
    "cti.validation",        # known kind, but a field is missing, mistyped or out of range
})


class CtiDecodeError(CallCenterError):
    """A CTI payload could not be decoded; ``code`` says why, ``reason`` says where."""

    code = "cti.validation"
    status = 422

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason, code=code)
        self.reason = reason


class CtiTopicError(CallCenterError):
    """A topic prefix or PBX name that cannot be one MQTT topic level."""

    code = "cti.invalid_topic_level"
    status = 500


# --------------------------------------------------------------------------- topics

_BAD_LEVEL_CHARS = ("+", "#")


def _check_prefix(prefix: str) -> str:
    # The prefix may itself span levels ("acme/callcenter") but never hold wildcards.
    if not prefix or any(c in prefix for c in _BAD_LEVEL_CHARS) or prefix.endswith("/"):
        raise CtiTopicError(f"topic prefix {prefix!r}: must be non-empty, without +, # "
                            "or a trailing /")
    return prefix


def _check_level(name: str, what: str) -> str:
    if not name or "/" in name or any(c in name for c in _BAD_LEVEL_CHARS):
        raise CtiTopicError(f"{what} {name!r}: must be one non-empty topic level "
                            "without /, + or #")
    return name


def events_topic(prefix: str, pbx: str) -> str:
    """``{prefix}/cti/{pbx}/events``: where a PBX publishes call events (QoS 1)."""
    return f"{_check_prefix(prefix)}/cti/{_check_level(pbx, 'pbx name')}/events"


def commands_topic(prefix: str, pbx: str) -> str:
    """``{prefix}/cti/{pbx}/commands``: where a PBX receives commands (QoS 1)."""
    return f"{_check_prefix(prefix)}/cti/{_check_level(pbx, 'pbx name')}/commands"


def deadletter_topic(prefix: str) -> str:
    """``{prefix}/deadletter``: unparseable or unknown messages, with the reason."""
    return f"{_check_prefix(prefix)}/deadletter"


# --------------------------------------------------------------------------- field types

NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
"""An identifier, extension, prompt name, ...: 1 to 200 characters."""

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
"""An ISO 8601 time with an offset (producers send UTC, ``Z``)."""

PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
"""A duration in seconds, more than 0 and at most a day."""

DigitCount = Annotated[int, msgspec.Meta(ge=0, le=64)]

Seq = Annotated[int, msgspec.Meta(ge=0)]

AnsweredBy = Literal["ivr", "agent"]
RouteFailureCause = Literal["busy", "unreachable", "invalid"]
EndedBy = Literal["caller", "agent", "system"]
TransferTarget = Literal["extension", "queue"]


def utc_now() -> datetime:
    """The current wall-clock time in UTC (the ``at`` of a new event)."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------- events


class _Event(msgspec.Struct, frozen=True, tag_field="event", omit_defaults=True):
    """Fields every event carries. Concrete events add their own after these."""

    event_id: NonEmptyStr
    seq: Seq
    call_id: str
    at: UtcTime


class CallOffered(_Event, frozen=True, tag="call_offered"):
    """A new inbound call reached the system; the server decides IVR or queue next."""

    ani: str
    """The caller's number as the network presents it (may be empty if withheld)."""
    dnis: str
    """The number the caller dialled."""


class Dtmf(_Event, frozen=True, tag="dtmf"):
    """The caller pressed keys in answer to a ``collect``."""

    digits: Annotated[str, msgspec.Meta(pattern=r"^[0-9*#A-D]*$", max_length=64)]
    prompt: str | None = None
    """The prompt of the ``collect`` these digits answer."""
    command_id: str | None = None


class PromptDone(_Event, frozen=True, tag="prompt_done"):
    """A prompt started by ``play`` finished playing."""

    prompt: str
    command_id: str | None = None


class AgentRinging(_Event, frozen=True, tag="agent_ringing"):
    """The agent's phone rings (after ``route``, ``transfer`` to an extension or ``dial``)."""

    extension: str
    command_id: str | None = None


class CallAnswered(_Event, frozen=True, tag="call_answered"):
    """A leg was answered. ``answered_by="agent"`` means the call is now connected."""

    answered_by: AnsweredBy
    extension: str | None = None
    """The agent's extension; absent when the IVR answered."""
    command_id: str | None = None


class NoAnswer(_Event, frozen=True, tag="no_answer"):
    """The agent's phone rang for ``ring_timeout_s`` without an answer; the call waits again."""

    extension: str
    command_id: str | None = None


class RouteFailed(_Event, frozen=True, tag="route_failed"):
    """The PBX could not ring the extension; the call waits again."""

    extension: str
    cause: RouteFailureCause
    command_id: str | None = None


class CallHeld(_Event, frozen=True, tag="call_held"):
    """The agent put the caller on hold."""

    command_id: str | None = None


class CallRetrieved(_Event, frozen=True, tag="call_retrieved"):
    """The caller is back from hold."""

    command_id: str | None = None


class CallTransferred(_Event, frozen=True, tag="call_transferred"):
    """The PBX moved the call away from the current agent (blind transfer)."""

    to: str
    """The extension or queue name the call goes to."""
    target: TransferTarget | None = None
    """Whether ``to`` names an extension or a queue."""
    command_id: str | None = None


class CallEnded(_Event, frozen=True, tag="call_ended"):
    """The call is over; only ``command_rejected`` for late commands may follow."""

    by: EndedBy
    cause: str | None = None
    """Why, when more than ``by`` is known: ``patience``, ``talk_done``, ``hangup``,
    ``no_answer``, ``customer_no_answer``, ``route_failed``."""
    command_id: str | None = None


class CommandRejected(_Event, frozen=True, tag="command_rejected"):
    """A command made no sense for the call's state (or the call is unknown)."""

    command_id: str
    reason: str
    """Stable code: ``unknown_call``, ``invalid_state``, ``invalid_command``,
    ``duplicate_call``; ``unsupported`` is reserved for bridges whose PBX cannot do it."""
    command: str | None = None
    """The rejected command's kind, when it could be read."""
    state: str | None = None
    """The call's state when the command arrived, when the call is known."""
    detail: str | None = None
    """Human-readable explanation (not for matching)."""


CtiEvent = (CallOffered | Dtmf | PromptDone | AgentRinging | CallAnswered | NoAnswer
            | RouteFailed | CallHeld | CallRetrieved | CallTransferred | CallEnded
            | CommandRejected)
"""Any CTI event (a union of the event classes, discriminated by ``event``)."""

EVENT_KINDS: Final[dict[str, type[_Event]]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (CallOffered, Dtmf, PromptDone, AgentRinging, CallAnswered, NoAnswer,
                RouteFailed, CallHeld, CallRetrieved, CallTransferred, CallEnded,
                CommandRejected)
}
"""``event`` value -> class."""


# --------------------------------------------------------------------------- commands


class _Command(msgspec.Struct, frozen=True, tag_field="command", omit_defaults=True):
    """Fields every command carries."""

    command_id: NonEmptyStr
    call_id: NonEmptyStr


class RouteCommand(_Command, frozen=True, tag="route"):
    """Ring ``extension`` for a waiting call; ``no_answer`` after ``ring_timeout_s``."""

    extension: NonEmptyStr
    ring_timeout_s: PositiveSeconds


class CancelRouteCommand(_Command, frozen=True, tag="cancel_route"):
    """Stop ringing the agent and put the call back to waiting (outbound: end it)."""


class AnswerCommand(_Command, frozen=True, tag="answer"):
    """Softphone answer: the ringing agent leg answers at once."""


class HoldCommand(_Command, frozen=True, tag="hold"):
    """Put the connected caller on hold."""


class RetrieveCommand(_Command, frozen=True, tag="retrieve"):
    """Take the held caller back."""


class TransferCommand(_Command, frozen=True, tag="transfer"):
    """Blind transfer of a connected call to an extension or back to a queue.

    Exactly one of ``extension`` and ``queue`` is given.
    """

    extension: NonEmptyStr | None = None
    queue: NonEmptyStr | None = None
    ring_timeout_s: PositiveSeconds | None = None
    """For an extension: how long it rings (default: the PBX's, 20 s in the simulator)."""

    def __post_init__(self) -> None:
        if (self.extension is None) == (self.queue is None):
            raise ValueError("transfer needs exactly one of `extension` and `queue`")


class DialCommand(_Command, frozen=True, tag="dial"):
    """Outbound callback: ring the agent's ``extension``, then dial ``number``.

    ``call_id`` is chosen by the sender and names the new call; it must not exist yet.
    """

    number: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{3,20}$")]
    extension: NonEmptyStr
    ring_timeout_s: PositiveSeconds | None = None
    """How long each leg (agent, then customer) may ring (default: the PBX's)."""


class PlayCommand(_Command, frozen=True, tag="play"):
    """Play a prompt to the caller (answers the call first if nobody has)."""

    prompt: NonEmptyStr
    language: str | None = None


class CollectCommand(_Command, frozen=True, tag="collect"):
    """Play a prompt and collect up to ``max_digits`` digits within ``timeout_s``."""

    prompt: NonEmptyStr
    timeout_s: PositiveSeconds
    min_digits: DigitCount = 1
    max_digits: DigitCount = 1
    language: str | None = None

    def __post_init__(self) -> None:
        if self.max_digits < 1:
            raise ValueError("`max_digits` must be at least 1")
        if self.min_digits > self.max_digits:
            raise ValueError("`min_digits` must not exceed `max_digits`")


class HangupCommand(_Command, frozen=True, tag="hangup"):
    """End the call (``call_ended`` by ``agent`` if connected, else by ``system``)."""


CtiCommand = (RouteCommand | CancelRouteCommand | AnswerCommand | HoldCommand
              | RetrieveCommand | TransferCommand | DialCommand | PlayCommand
              | CollectCommand | HangupCommand)
"""Any CTI command (a union of the command classes, discriminated by ``command``)."""

COMMAND_KINDS: Final[dict[str, type[_Command]]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (RouteCommand, CancelRouteCommand, AnswerCommand, HoldCommand,
                RetrieveCommand, TransferCommand, DialCommand, PlayCommand,
                CollectCommand, HangupCommand)
}
"""``command`` value -> class."""


# --------------------------------------------------------------------------- codec

_event_decoder: msgspec.json.Decoder[CtiEvent] = msgspec.json.Decoder(CtiEvent)
_command_decoder: msgspec.json.Decoder[CtiCommand] = msgspec.json.Decoder(CtiCommand)
_encoder = msgspec.json.Encoder()


class _EventEnvelope(msgspec.Struct):
    event: object = None


class CommandEnvelope(msgspec.Struct, frozen=True):
    """The identifying fields of a command that may be invalid otherwise."""

    command: str | None = None
    command_id: str | None = None
    call_id: str | None = None


_event_envelope_decoder = msgspec.json.Decoder(_EventEnvelope)
_command_envelope_decoder = msgspec.json.Decoder(CommandEnvelope)


def _reason(exc: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.seq`"; keep it, it names the field.
    return str(exc)


def decode_event(payload: bytes | str) -> CtiEvent:
    """Decode and validate one event; raise :class:`CtiDecodeError` if it is not one."""
    try:
        return _event_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        kind = _kind_of(payload, _event_envelope_decoder)
        if not isinstance(kind, str) or kind not in EVENT_KINDS:
            raise CtiDecodeError("cti.unknown_event", _unknown_kind_reason("event", kind)) from None
        raise CtiDecodeError("cti.validation", f"{kind}: {_reason(exc)}") from None
    except msgspec.DecodeError as exc:
        raise CtiDecodeError("cti.invalid_json", str(exc)) from None


def decode_command(payload: bytes | str) -> CtiCommand:
    """Decode and validate one command; raise :class:`CtiDecodeError` if it is not one."""
    try:
        return _command_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        kind = _kind_of(payload, _command_envelope_decoder)
        if not isinstance(kind, str) or kind not in COMMAND_KINDS:
            raise CtiDecodeError("cti.unknown_command",
                                 _unknown_kind_reason("command", kind)) from None
        raise CtiDecodeError("cti.validation", f"{kind}: {_reason(exc)}") from None
    except msgspec.DecodeError as exc:
        raise CtiDecodeError("cti.invalid_json", str(exc)) from None


def command_envelope(payload: bytes | str) -> CommandEnvelope | None:
    """``command``, ``command_id``, ``call_id`` of a payload that failed to decode, if readable.

    Lets a PBX answer an invalid command with ``command_rejected`` when it can
    tell which command it was.
    """
    try:
        return _command_envelope_decoder.decode(payload)
    except msgspec.DecodeError:
        return None


def _kind_of(payload: bytes | str, decoder: msgspec.json.Decoder[Any]) -> object:
    try:
        envelope = decoder.decode(payload)
    except msgspec.DecodeError:
        return None
    return getattr(envelope, "event", getattr(envelope, "command", None))


def _unknown_kind_reason(field: str, kind: object) -> str:
    if kind is None:
        return f"not a JSON object with a string `{field}` field"
    return f"unknown {field} {kind!r}"


def encode(message: CtiEvent | CtiCommand) -> bytes:
    """The JSON bytes of an event or command (fields left at their default are omitted)."""
    return _encoder.encode(message)


def deadletter_payload(*, reason: str, code: str, topic: str, payload: bytes) -> bytes:
    """The body published to :func:`deadletter_topic` for a message nobody could use.

    ``{"reason", "code", "topic", "payload", "payload_encoding"}``; ``payload`` is the
    original text when it is UTF-8, else base64 (``payload_encoding`` says which).
    """
    try:
        text = payload.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = base64.b64encode(payload).decode("ascii")
        encoding = "base64"
    return _encoder.encode({"reason": reason, "code": code, "topic": topic,
                            "payload": text, "payload_encoding": encoding})


def json_schema() -> dict[str, object]:
    """JSON Schema of all CTI events and commands (for ``docs/`` and non-Python bridges)."""
    (event_schema, command_schema), components = msgspec.json.schema_components(
        [CtiEvent, CtiCommand], ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CTI over MQTT",
        "$defs": {**components, "CtiEvent": event_schema, "CtiCommand": command_schema},
        "oneOf": [{"$ref": "#/$defs/CtiEvent"}, {"$ref": "#/$defs/CtiCommand"}],
    }
