"""What an IVR session asks the server to do.

Commands to the PBX (``PlayPrompt``, ``CollectDigits``, ``HangUp``, ``Transfer``, and
the voicemail recording) become CTI commands on ``callcenter/cti/{pbx}/commands``; for
chat they become bot messages. Lookups (``LookupCustomer``, ``LookupOrder``,
``LookupTickets``, ``AskEstimatedWait``) are answered by the server with the matching
event. The terminal commands (``RouteToQueue``, ``OfferCallback``, ``TakeVoicemail``,
``Transfer``, ``Contained``) carry what the IVR learned, for the contact and the
screen-pop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

IvrPath = tuple[Mapping[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    """Play a prompt by name (``text``: text-to-speech, None for a recording only).

    Voice: the session waits for ``PromptDone`` before its next step. Chat: the text is
    sent as a bot message and the session does not wait.
    """

    prompt: str
    text: str | None
    language: str


@dataclass(frozen=True, slots=True)
class CollectDigits:
    """Play ``prompt`` and read between ``min_digits`` and ``max_digits`` keys.

    Answered by ``DigitsReceived`` (``TextReceived`` in chat) or ``InputTimeout``.
    """

    prompt: str
    text: str | None
    min_digits: int
    max_digits: int
    timeout_s: float
    language: str = "en"


@dataclass(frozen=True, slots=True)
class LookupCustomer:
    """Find the customer by ANI, account number or order number."""

    by: Literal["ani", "account", "order"]
    value: str


@dataclass(frozen=True, slots=True)
class LookupOrder:
    number: str


@dataclass(frozen=True, slots=True)
class LookupTickets:
    customer_id: str


@dataclass(frozen=True, slots=True)
class AskEstimatedWait:
    queue: str


@dataclass(frozen=True, slots=True)
class RouteToQueue:
    """Terminal: enqueue the contact with everything the IVR learned."""

    queue: str
    priority_boost: float
    required_skills: Mapping[str, int]
    language: str
    variables: Mapping[str, str]
    ivr_path: IvrPath
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Terminal: the caller accepted a callback; keep their place in ``queue`` and call
    ``number`` back. A ``HangUp`` follows."""

    queue: str
    number: str
    priority_boost: float = 0.0
    required_skills: Mapping[str, int] = field(default_factory=dict)
    language: str = "en"
    variables: Mapping[str, str] = field(default_factory=dict)
    ivr_path: IvrPath = ()
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class TakeVoicemail:
    """Terminal: play ``prompt`` and record; the PBX stores the recording under
    ``recording_ref`` and ends the call. The message becomes an email-channel contact in
    ``queue``."""

    queue: str
    recording_ref: str
    prompt: str = ""
    text: str | None = None
    language: str = "en"
    max_seconds: int = 120
    variables: Mapping[str, str] = field(default_factory=dict)
    ivr_path: IvrPath = ()
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    """Store a post-call answer (CSAT 1-5) in surveys."""

    csat: int
    question: str = "csat"
    call_id: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Terminal: blind transfer to a number or extension outside the queues."""

    target: str
    variables: Mapping[str, str] = field(default_factory=dict)
    ivr_path: IvrPath = ()
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Contained:
    """The IVR finished the call itself (self-service answered, or a planned end):
    the contact's outcome is ``contained``. A ``HangUp`` follows unless the caller
    already left."""

    ivr_path: IvrPath
    variables: Mapping[str, str] = field(default_factory=dict)
    self_service: tuple[str, ...] = ()
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class HangUp:
    reason: str


IvrCommand = (
    PlayPrompt | CollectDigits | LookupCustomer | LookupOrder | LookupTickets
    | AskEstimatedWait | RouteToQueue | OfferCallback | TakeVoicemail | RecordSurvey
    | Transfer | Contained | HangUp
)

# The end state of a session, for the contact record.
Outcome = Literal["queued", "contained", "abandoned", "voicemail", "callback", "transferred"]

__all__ = [
    "AskEstimatedWait", "CollectDigits", "Contained", "HangUp", "IvrCommand", "IvrPath",
    "LookupCustomer", "LookupOrder", "LookupTickets", "OfferCallback", "Outcome",
    "PlayPrompt", "RecordSurvey", "RouteToQueue", "TakeVoicemail", "Transfer",
]
