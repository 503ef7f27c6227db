"""HTTP request and response schemas (msgspec Structs).

These types are the single source of the HTTP contract: request bodies and query
strings are decoded and validated with them, responses are encoded from them, and
``/api/openapi.json`` is generated from them (see :mod:`callcenter.http_api.openapi`).
Every string has a maximum length and every number bounds, so nothing a client
sends can overflow a database column (client input never causes a 5xx).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

# --------------------------------------------------------------------------- vocabulary

Channel = Literal["voice", "chat", "email", "callback"]
ContactChannel = Literal["chat", "email", "callback"]
Tier = Literal["standard", "silver", "gold", "key", "strategic"]
Strategy = Literal["longest_idle", "most_skilled", "least_occupied", "round_robin"]
Role = Literal["agent", "supervisor", "admin", "integration"]
Presence = Literal["offline", "available", "not_ready"]

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$",
                           description="identifier: letters, digits, _ . -")]
Text200 = Annotated[str, Meta(max_length=200)]
Text300 = Annotated[str, Meta(max_length=300)]
Text500 = Annotated[str, Meta(max_length=500)]
LongText = Annotated[str, Meta(max_length=100_000)]
Seconds = Annotated[float, Meta(ge=0, le=86_400 * 7)]
PositiveSeconds = Annotated[float, Meta(gt=0, le=86_400)]
Level = Annotated[int, Meta(ge=1, le=10)]
CustomerId = Annotated[int, Meta(ge=1, le=2**62)]
Limit = Annotated[int, Meta(ge=1, le=500)]


# --------------------------------------------------------------------------- errors


class FieldProblem(Struct):
    path: str
    message: str


class ErrorDetail(Struct, omit_defaults=True):
    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorBody(Struct):
    """PROTOCOL.md "Errors": ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail


# --------------------------------------------------------------------------- auth


class LoginRequest(Struct, forbid_unknown_fields=False):
    username: Annotated[str, Meta(min_length=1, max_length=100)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class LoginResponse(Struct, omit_defaults=True):
    token: str
    role: Role
    expires_at: str
    agent_id: str | None = None


# --------------------------------------------------------------------------- health


class Health(Struct):
    status: str


class Readiness(Struct):
    status: str
    store: str
    router: str
    journal_id: int


# --------------------------------------------------------------------------- skills


class SkillIn(Struct):
    name: Name
    description: Text300 | None = None


class SkillUpdate(Struct):
    description: Text300 | None = None


class SkillOut(Struct):
    name: str
    description: str | None


class SkillList(Struct):
    items: list[SkillOut]
    next_cursor: str | None


class SkillCreated(Struct):
    name: str


# --------------------------------------------------------------------------- queues


class RequiredSkillIn(Struct):
    skill: Name
    min_level: Level = 1


class RelaxationIn(Struct):
    after_s: Seconds
    skill: Name
    min_level: Level | None = None


class OverflowIn(Struct):
    after_s: Seconds
    queue: Name


ExitKind = Literal["overflow", "voicemail", "callback", "auto_reply"]


class ExitIn(Struct):
    action: ExitKind
    queue: Name | None = None


class ExitsIn(Struct, omit_defaults=True):
    no_agents: ExitIn | None = None
    max_wait: ExitIn | None = None
    queue_full: ExitIn | None = None
    closed: ExitIn | None = None
    max_attempts: ExitIn | None = None


class QueueSpec(Struct, kw_only=True, omit_defaults=False):
    """A queue's routing configuration (PROTOCOL "Administration")."""

    channel: Channel
    base_priority: Annotated[int, Meta(ge=0, le=100)] = 0
    required_skills: Annotated[list[RequiredSkillIn], Meta(max_length=20)] = []
    sl_target_s: PositiveSeconds = 20.0
    ring_timeout_s: Annotated[float, Meta(gt=0, le=600)] = 20.0
    wrap_up_s: Annotated[float, Meta(ge=0, le=3600)] = 30.0
    strategy: Strategy = "longest_idle"
    relaxation: Annotated[list[RelaxationIn], Meta(max_length=20)] = []
    overflow: OverflowIn | None = None
    max_wait_s: Seconds | None = None
    max_size: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 3
    exits: ExitsIn | None = None


class QueueIn(QueueSpec, kw_only=True):
    name: Name


class QueueOut(QueueSpec, kw_only=True):
    name: str


class QueueList(Struct):
    items: list[QueueOut]
    next_cursor: str | None


class QueueCreated(Struct):
    name: str


# --------------------------------------------------------------------------- agents


class Capacity(Struct, omit_defaults=False):
    voice: Annotated[int, Meta(ge=0, le=1)] = 1
    chat: Annotated[int, Meta(ge=0, le=20)] = 3
    email: Annotated[int, Meta(ge=0, le=20)] = 2


class AgentIn(Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    username: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@\-]+$")]
    password: Annotated[str, Meta(min_length=4, max_length=200)]
    agent_id: Name | None = None
    extension: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    skills: Annotated[dict[Name, Level], Meta(max_length=50)] = {}
    capacity: Capacity = msgspec.field(default_factory=Capacity)
    account_manager: bool = False


class AgentUpdate(Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    password: Annotated[str, Meta(min_length=4, max_length=200)] | None = None
    extension: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    skills: Annotated[dict[Name, Level], Meta(max_length=50)] | None = None
    capacity: Capacity | None = None
    account_manager: bool | None = None
    active: bool | None = None


class AgentOut(Struct):
    agent_id: str
    name: str
    username: str | None
    extension: str | None
    skills: dict[str, int]
    capacity: dict[str, int]
    account_manager: bool
    active: bool


class AgentList(Struct):
    items: list[AgentOut]
    next_cursor: str | None


class AgentCreated(Struct):
    agent_id: str


# --------------------------------------------------------------------------- customers

Phone = Annotated[str, Meta(min_length=1, max_length=32)]
Email = Annotated[str, Meta(min_length=3, max_length=320)]
ChatId = Annotated[str, Meta(min_length=1, max_length=200)]


class CustomerIn(Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    phones: Annotated[list[Phone], Meta(max_length=10)] = []
    emails: Annotated[list[Email], Meta(max_length=10)] = []
    chat_ids: Annotated[list[ChatId], Meta(max_length=10)] = []
    tier: Tier | None = None
    city: Annotated[str, Meta(max_length=100)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=16)] | None = None
    account_manager_id: Name | None = None
    notes: Annotated[str, Meta(max_length=10_000)] | None = None


class CustomerUpdate(Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    tier: Tier | None = None
    city: Annotated[str, Meta(max_length=100)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=16)] | None = None
    account_manager_id: Name | None = None
    notes: Annotated[str, Meta(max_length=10_000)] | None = None


class CustomerOut(Struct):
    customer_id: int
    name: str
    tier: str
    tier_locked: bool
    key_account: bool
    phone: str | None
    email: str | None
    city: str | None
    language: str
    segment: str
    lifecycle: str
    loyalty_level: str
    lifetime_value: float
    account_manager_id: str | None
    identities: list[dict[str, str]]
    provisional: bool


class CustomerList(Struct):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerCreated(Struct):
    customer_id: int


class CustomerQuery(Struct, kw_only=True):
    phone: Annotated[str, Meta(max_length=64)] | None = None
    email: Annotated[str, Meta(max_length=320)] | None = None
    chat_id: Annotated[str, Meta(max_length=200)] | None = None
    name: Annotated[str, Meta(max_length=200)] | None = None
    limit: Limit = 50
    cursor: Annotated[str, Meta(max_length=200)] | None = None


class PageQuery(Struct, kw_only=True):
    limit: Limit = 50
    cursor: Annotated[str, Meta(max_length=200)] | None = None


# --------------------------------------------------------------------------- contacts


class CustomerRef(Struct, kw_only=True):
    """How the contact names its customer: by email, phone or chat id (first match wins)."""

    email: Email | None = None
    phone: Phone | None = None
    chat_id: ChatId | None = None
    name: Annotated[str, Meta(max_length=200)] | None = None


class EmailPart(Struct, kw_only=True):
    subject: Annotated[str, Meta(max_length=500)] = ""
    body: LongText = ""
    message_id: Annotated[str, Meta(max_length=500)] | None = None
    in_reply_to: Annotated[str, Meta(max_length=500)] | None = None
    references: Annotated[str, Meta(max_length=10_000)] | None = None


class ChatPart(Struct, kw_only=True):
    text: Annotated[str, Meta(max_length=10_000)] = ""


class CallbackPart(Struct, kw_only=True):
    due_at: Annotated[str, Meta(max_length=40, description="ISO 8601; omitted: now")] | None = None
    number: Phone | None = None


class ContactIn(Struct, kw_only=True):
    channel: ContactChannel
    queue: Name
    external_id: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    customer: CustomerRef = msgspec.field(default_factory=CustomerRef)
    email: EmailPart | None = None
    chat: ChatPart | None = None
    callback: CallbackPart | None = None
    skills: Annotated[list[RequiredSkillIn], Meta(max_length=10)] = []
    preferred_agents: Annotated[list[Name], Meta(max_length=10)] = []
    ivr_path: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=50)] = []


class RawEmailQuery(Struct, kw_only=True):
    queue: Name = "email_support"


class ContactAccepted(Struct, omit_defaults=True):
    contact_id: str
    state: str
    position: int | None = None
    estimated_wait_s: float | None = None
    customer_id: int | None = None
    duplicate: bool = False
    visitor_token: str | None = None


class ContactTimes(Struct, omit_defaults=True):
    arrived_at: str | None = None
    queued_at: str | None = None
    alerting_at: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    wrap_up_ended_at: str | None = None


class ContactOut(Struct, omit_defaults=True):
    contact_id: str
    channel: str
    state: str
    queue: str | None = None
    customer_id: int | None = None
    external_id: str | None = None
    agent_id: str | None = None
    position: int | None = None
    estimated_wait_s: float | None = None
    #: True while the router tracks the contact (it has not finished).
    live: bool = False
    times: ContactTimes = msgspec.field(default_factory=ContactTimes)


class ContactList(Struct):
    items: list[ContactOut]
    next_cursor: str | None


class ContactListQuery(Struct, kw_only=True):
    state: Annotated[str, Meta(max_length=32)] | None = None
    queue: Annotated[str, Meta(max_length=64)] | None = None
    limit: Limit = 50
    cursor: Annotated[str, Meta(max_length=200)] | None = None


class DecisionOut(Struct):
    agent_id: str
    queue: str
    at: str
    reason: dict[str, Any]


class DecisionList(Struct):
    contact_id: str
    items: list[DecisionOut]


# --------------------------------------------------------------------------- supervisor


class QueueStats(Struct, omit_defaults=False):
    queue: str
    channel: str
    waiting: int
    alerting: int
    longest_wait_s: float
    agents_logged_in: int
    agents_available: int
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_sl: int
    service_level: float | None
    asa_s: float | None
    estimated_wait_s: float | None = None


class AgentState(Struct, omit_defaults=False):
    agent_id: str
    presence: str
    reason: str
    since: str | None
    connected: bool
    contacts: list[dict[str, Any]]
    pending_presence: str | None = None


class QueueStatsList(Struct):
    items: list[QueueStats]


class AgentStateList(Struct):
    items: list[AgentState]


class ForcePresence(Struct):
    state: Literal["available", "not_ready", "offline"]
    reason: Annotated[str, Meta(max_length=100)] = "supervisor"


class MoveContact(Struct):
    queue: Name


class Accepted(Struct, omit_defaults=True):
    status: str
    pending: bool = False


def decode_error_path(message: str) -> tuple[str, str]:
    """Split a msgspec error message into (field path, message).

    msgspec says ``"Expected `int`, got `str` - at `$.queue.base_priority`"``; the
    field path is ``queue.base_priority`` (``$`` for the whole body).
    """
    marker = " - at `"
    if marker in message and message.endswith("`"):
        text, _, path = message.rpartition(marker)
        path = path[:-1]
        path = path[2:] if path.startswith("$.") else path.lstrip("$") or "$"
        return path, text
    return "$", message


# --------------------------------------------------------------------------- visitor chat


class ChatSessionIn(Struct, kw_only=True):
    """A visitor starts a chat from the shop's widget (no login)."""

    queue: Name
    text: Annotated[str, Meta(min_length=1, max_length=10_000)]
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    email: Email | None = None


class ChatSessionOut(Struct):
    contact_id: str
    visitor_token: str
    state: str
    position: int | None
    estimated_wait_s: float | None


# --------------------------------------------------------------------------- websockets
# What the server sends on /ws/agent and /ws/supervisor (client messages are the
# tagged union in :mod:`callcenter.agents_ws`). The JSON Schemas in docs/schemas/
# are generated from these types (tests/server/test_ws_schemas.py keeps them current).

Timestamp = Annotated[str, Meta(description="ISO 8601 UTC, e.g. 2026-11-23T10:15:00.123Z")]
RequestRef = str | int | None


class WsAck(Struct, tag="ack", tag_field="type"):
    """The answer to a request, with its ``id``."""

    id: RequestRef
    data: dict[str, Any]


class WsErrorMessage(Struct, tag="error", tag_field="type"):
    """A request that failed (or a message that could not be read); the socket stays open."""

    id: RequestRef
    code: str
    message: str


class WsPong(Struct, tag="pong", tag_field="type"):
    id: RequestRef


class OfferedContact(Struct, omit_defaults=True):
    id: str
    channel: str
    queue: str
    priority: int | None = None
    tier: str | None = None
    waited_s: float | None = None
    ivr_path: list[str] | None = None
    subject: str | None = None
    first_message: str | None = None
    customer_id: int | None = None


class Offer(Struct, tag="offer", tag_field="type"):
    """A contact rings on the agent; ``screen_pop`` is PROTOCOL.md's (null if the store
    was too slow to answer in time)."""

    seq: int
    contact: OfferedContact
    screen_pop: dict[str, Any] | None
    expires_in_s: float
    #: Why this agent (strategy, key, candidates, relaxation_step, preferred_phase, attempt).
    reason: dict[str, Any] | None = None


class OfferCancelled(Struct, tag="offer_cancelled", tag_field="type"):
    seq: int
    contact_id: str
    reason: Literal["rejected", "timeout", "route_failed", "abandoned", "transferred",
                    "logged_out", "supervisor"]


class ContactConnectedPush(Struct, tag="contact_connected", tag_field="type"):
    seq: int
    contact_id: str


class ContactEndedPush(Struct, tag="contact_ended", tag_field="type"):
    seq: int
    contact_id: str
    by: Literal["customer", "agent", "system"]
    wrap_up_s: float


class ContactCompletedPush(Struct, tag="contact_completed", tag_field="type"):
    """Wrap-up finished (by the agent, or by timeout with the default disposition)."""

    seq: int
    contact_id: str
    disposition: str
    timed_out: bool


class StateChanged(Struct, tag="state_changed", tag_field="type"):
    seq: int
    state: Presence
    reason: str
    pending: bool
    since: Timestamp


class ChatMessagePush(Struct, tag="chat_message", tag_field="type"):
    seq: int
    contact_id: str
    text: str
    at: Timestamp
    from_: Literal["customer", "agent"] = msgspec.field(name="from")


class ChatTypingPush(Struct, tag="chat_typing", tag_field="type"):
    seq: int
    contact_id: str
    typing: bool
    from_: Literal["customer", "agent"] = msgspec.field(name="from")


AgentServerMessage = (
    WsAck | WsErrorMessage | WsPong | Offer | OfferCancelled | ContactConnectedPush
    | ContactEndedPush | ContactCompletedPush | StateChanged | ChatMessagePush | ChatTypingPush
)


class SupervisorSnapshot(Struct, tag="snapshot", tag_field="type"):
    at: Timestamp
    queues: list[QueueStats]
    agents: list[AgentState]


class QueueStatsDelta(Struct, tag="queue_stats", tag_field="type"):
    at: Timestamp
    queues: list[QueueStats]


class AgentStateDelta(Struct, tag="agent_state", tag_field="type"):
    at: Timestamp
    agents: list[AgentState]


SupervisorServerMessage = WsAck | WsErrorMessage | WsPong | SupervisorSnapshot | QueueStatsDelta \
    | AgentStateDelta
