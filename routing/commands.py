"""Output commands of the router: one frozen, slotted class per kind.

`at` is the router time the command happened: the event's `at`, or the
deadline of a timer that fired before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from routing.model import Channel, ExitKind, ExitReason, Strategy


@dataclass(frozen=True, slots=True)
class DecisionReason:
    """Why this agent got this contact ("why did she get that call?")."""

    strategy: Strategy
    #: The contact's sort key: (priority class, virtual arrival, sequence).
    key: tuple[int, float, int]
    #: Eligible agents the strategy chose among.
    candidates: int
    #: Relaxation steps applied to the contact's requirements.
    relaxation_step: int
    #: True while only the contact's preferred agents were eligible.
    preferred_phase: bool


@dataclass(frozen=True, slots=True)
class OfferContact:
    """Offer (alert) a contact to an agent; capacity is reserved."""

    at: float
    contact_id: str
    agent_id: str
    queue: str
    channel: Channel
    attempt: int
    ring_timeout_s: float
    reason: DecisionReason


CancelReason = Literal[
    "rejected", "timeout", "route_failed", "abandoned", "transferred", "logged_out"
]


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Withdraw an offer from the agent (console and PBX)."""

    at: float
    contact_id: str
    agent_id: str
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class PresenceSet:
    """The agent's presence changed; `pending=True` acknowledges a `not_ready`
    that takes effect when the agent's last contact ends."""

    at: float
    agent_id: str
    presence: Literal["offline", "available", "not_ready"]
    reason: str = ""
    pending: bool = False


@dataclass(frozen=True, slots=True)
class ContactQueued:
    """The contact entered a queue (arrival, overflow, transfer, callback due)."""

    at: float
    contact_id: str
    queue: str
    position: int
    estimated_wait_s: float | None


@dataclass(frozen=True, slots=True)
class ContactConnected:
    """The agent answered; `waited_s` runs from `arrived_at`."""

    at: float
    contact_id: str
    agent_id: str
    queue: str
    waited_s: float


@dataclass(frozen=True, slots=True)
class ContactExited:
    """The contact left `queue` without an agent: `exit` is where it went,
    `why` the rule that sent it."""

    at: float
    contact_id: str
    queue: str
    exit: ExitKind
    why: ExitReason
    waited_s: float
    target_queue: str | None = None


@dataclass(frozen=True, slots=True)
class ContactOverflowed:
    """The contact moved to another queue by an overflow exit (follows the
    `ContactExited` of the queue it left)."""

    at: float
    contact_id: str
    from_queue: str
    to_queue: str
    why: ExitReason


@dataclass(frozen=True, slots=True)
class ContactAbandonedRecorded:
    """The customer left while queued, alerting or waiting for a callback."""

    at: float
    contact_id: str
    queue: str
    waited_s: float
    short: bool
    #: The agent whose offer was withdrawn, if the contact was alerting.
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class StartWrapUp:
    """The conversation ended; wrap-up runs for at most `wrap_up_s`."""

    at: float
    contact_id: str
    agent_id: str
    wrap_up_s: float


@dataclass(frozen=True, slots=True)
class ContactCompleted:
    """Wrap-up finished (by the agent, or by timeout with the default
    disposition); the agent's capacity is back."""

    at: float
    contact_id: str
    agent_id: str
    queue: str
    disposition: str
    timed_out: bool
    #: Talk + hold + wrap-up seconds (from connect to now).
    handle_s: float


@dataclass(frozen=True, slots=True)
class CallbackDue:
    """A scheduled callback is due: it is back in line with its original key."""

    at: float
    contact_id: str
    queue: str


Command = (
    OfferContact
    | CancelOffer
    | PresenceSet
    | ContactQueued
    | ContactConnected
    | ContactExited
    | ContactOverflowed
    | ContactAbandonedRecorded
    | StartWrapUp
    | ContactCompleted
    | CallbackDue
)

COMMAND_TYPES: tuple[type[Command], ...] = (
    OfferContact,
    CancelOffer,
    PresenceSet,
    ContactQueued,
    ContactConnected,
    ContactExited,
    ContactOverflowed,
    ContactAbandonedRecorded,
    StartWrapUp,
    ContactCompleted,
    CallbackDue,
)
