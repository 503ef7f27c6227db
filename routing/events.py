"""Input events of the router: one frozen, slotted class per kind.

`at` is UTC wall-clock seconds from the server's injected clock. Events are
journaled by the server, so they stay plain data (see `routing.codec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from routing.model import Channel, QueueConfig, RequiredSkill, Tier


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    """An agent logs in. `skills` are levels 1..10; `capacity` per channel
    (None: the router's default capacity)."""

    at: float
    agent_id: str
    skills: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, int] | None = None
    presence: Literal["available", "not_ready"] = "available"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    """An agent logs out. Refused while the agent has a connected or wrap-up
    contact; alerting offers go back to their place."""

    at: float
    agent_id: str


@dataclass(frozen=True, slots=True)
class PresenceRequested:
    """The agent (or a supervisor) asks for `available` or `not_ready(reason)`.
    `not_ready` while contacts are open is pending until the last one ends."""

    at: float
    agent_id: str
    presence: Literal["available", "not_ready"]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentUpdated:
    """Skills and/or capacity changed at run time (None: unchanged)."""

    at: float
    agent_id: str
    skills: dict[str, int] | None = None
    capacity: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class QueueConfigured:
    """Create a queue or replace its configuration."""

    at: float
    queue: QueueConfig


@dataclass(frozen=True, slots=True)
class QueueOpened:
    """The queue's opening hours begin (the server owns the calendar)."""

    at: float
    queue: str


@dataclass(frozen=True, slots=True)
class QueueClosed:
    """The queue's opening hours end: new arrivals take the `closed` exit."""

    at: float
    queue: str


@dataclass(frozen=True, slots=True)
class ContactArrived:
    """A contact enters a queue (after IVR). `channel` None: the queue's channel.
    `arrived_at` None: `at` (give it when the contact already waited elsewhere)."""

    at: float
    contact_id: str
    queue: str
    channel: Channel | None = None
    tier: Tier = "standard"
    required_skills: tuple[RequiredSkill, ...] = ()
    preferred_agents: tuple[str, ...] = ()
    #: Seconds only the preferred agents may take the contact (None: default).
    preferred_fallback_s: float | None = None
    external_id: str | None = None
    customer_id: str | None = None
    arrived_at: float | None = None


@dataclass(frozen=True, slots=True)
class ContactAbandoned:
    """The customer left (hung up, closed the chat, declined the callback offer)."""

    at: float
    contact_id: str


@dataclass(frozen=True, slots=True)
class OfferAccepted:
    """The agent accepted (for voice: the PBX reported the agent leg answered)."""

    at: float
    contact_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class OfferRejected:
    """The agent rejected the offer."""

    at: float
    contact_id: str
    agent_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OfferTimedOut:
    """The offer was not answered (e.g. a PBX `no_answer`). The router also
    times offers out by itself on the ring timeout."""

    at: float
    contact_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class RouteFailed:
    """The PBX could not reach the agent (`busy`, `unreachable`, `invalid`)."""

    at: float
    contact_id: str
    agent_id: str
    cause: str = ""


@dataclass(frozen=True, slots=True)
class ContactEnded:
    """The conversation is over; the contact goes into wrap-up."""

    at: float
    contact_id: str
    by: Literal["customer", "agent", "system"] = "agent"


@dataclass(frozen=True, slots=True)
class WrapUpEnded:
    """The agent finished wrap-up with a disposition."""

    at: float
    contact_id: str
    disposition: str = ""


@dataclass(frozen=True, slots=True)
class ContactTransferred:
    """Transfer to a queue (keeps `arrived_at`, so its place) or to a named agent."""

    at: float
    contact_id: str
    to_queue: str | None = None
    to_agent: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The customer asked to be called back, keeping its place in line;
    `due_at` None (or past) means as soon as an agent is free."""

    at: float
    contact_id: str
    due_at: float | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: fires due timers (ring, wrap-up, relaxation, ...)."""

    at: float


Event = (
    AgentLoggedIn
    | AgentLoggedOut
    | PresenceRequested
    | AgentUpdated
    | QueueConfigured
    | QueueOpened
    | QueueClosed
    | ContactArrived
    | ContactAbandoned
    | OfferAccepted
    | OfferRejected
    | OfferTimedOut
    | RouteFailed
    | ContactEnded
    | WrapUpEnded
    | ContactTransferred
    | CallbackRequested
    | Tick
)

EVENT_TYPES: tuple[type[Event], ...] = (
    AgentLoggedIn,
    AgentLoggedOut,
    PresenceRequested,
    AgentUpdated,
    QueueConfigured,
    QueueOpened,
    QueueClosed,
    ContactArrived,
    ContactAbandoned,
    OfferAccepted,
    OfferRejected,
    OfferTimedOut,
    RouteFailed,
    ContactEnded,
    WrapUpEnded,
    ContactTransferred,
    CallbackRequested,
    Tick,
)
