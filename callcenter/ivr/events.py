"""What an IVR session is fed: call events from CTI and answers to its lookups.

Every event carries ``at``: UTC wall-clock seconds from the server's injected clock.
The interpreter never reads a clock, so opening hours are judged at ``at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A call (or chat) reached the flow. ``variables`` pre-fills session variables
    (e.g. ``contact_id`` for a post-call survey)."""

    at: float
    call_id: str
    ani: str
    dnis: str
    channel: Literal["voice", "chat"] = "voice"
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PromptDone:
    """A prompt finished playing (CTI ``prompt_done``)."""

    at: float
    prompt: str


@dataclass(frozen=True, slots=True)
class DigitsReceived:
    """The caller pressed keys (CTI ``dtmf``)."""

    at: float
    digits: str


@dataclass(frozen=True, slots=True)
class TextReceived:
    """The chat visitor wrote something (chat-bot flows)."""

    at: float
    text: str


@dataclass(frozen=True, slots=True)
class InputTimeout:
    """No input within the ``timeout_s`` of the last ``CollectDigits``."""

    at: float


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller left (CTI ``call_ended`` by caller, or the chat closed)."""

    at: float


@dataclass(frozen=True, slots=True)
class CustomerIdentified:
    """Answer to ``LookupCustomer``: the CRM customer, or None when not found.

    Keys read by flows: ``id``, ``tier``, ``key_account``, ``segment``, ``language``.
    """

    at: float
    customer: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class OrderStatusFound:
    """Answer to ``LookupOrder``: the order (``number``, ``status``, ...) or None."""

    at: float
    order: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class TicketStatusFound:
    """Answer to ``LookupTickets``: the customer's open tickets, most recent first."""

    at: float
    tickets: list[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class EstimatedWait:
    """Answer to ``AskEstimatedWait``: the router's estimate for ``queue``, in seconds."""

    at: float
    queue: str
    seconds: float


IvrEvent = (
    CallStarted | PromptDone | DigitsReceived | TextReceived | InputTimeout | CallerHungUp
    | CustomerIdentified | OrderStatusFound | TicketStatusFound | EstimatedWait
)
