"""The IVR flow model: what a validated flow file becomes.

Flows are data (``ivr_flows/*.yaml``). The validator turns the YAML into these frozen
objects, so the interpreter never sees an unchecked value. ``docs/ivr.md`` documents the
file format with an example per node type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from callcenter.errors import CallCenterError

if TYPE_CHECKING:
    from callcenter.ivr.calendar import BusinessCalendar

# Stable error codes of the validator (documented in docs/ivr.md).
YAML_SYNTAX = "flow.yaml_syntax"
UNKNOWN_NODE_TYPE = "flow.unknown_node_type"
UNKNOWN_FIELD = "flow.unknown_field"
MISSING_FIELD = "flow.missing_field"
MISSING_TARGET = "flow.missing_target"
UNREACHABLE_NODE = "flow.unreachable_node"
LOOP_WITHOUT_INPUT = "flow.loop_without_input"
MISSING_PROMPT = "flow.missing_prompt"
MISSING_CALENDAR = "flow.missing_calendar"
BAD_HOURS = "flow.bad_hours"
BAD_VALUE = "flow.bad_value"
DUPLICATE_FLOW = "flow.duplicate_flow"
DUPLICATE_ENTRY = "flow.duplicate_entry"
NOT_FOUND = "flow.not_found"

ERROR_CODES = (
    YAML_SYNTAX, UNKNOWN_NODE_TYPE, UNKNOWN_FIELD, MISSING_FIELD, MISSING_TARGET,
    UNREACHABLE_NODE, LOOP_WITHOUT_INPUT, MISSING_PROMPT, MISSING_CALENDAR, BAD_HOURS,
    BAD_VALUE, DUPLICATE_FLOW, DUPLICATE_ENTRY, NOT_FOUND,
)

NODE_TYPES = (
    "menu", "collect", "identify", "condition", "set", "play", "self_service",
    "offer_callback", "voicemail", "survey", "queue", "transfer", "hangup",
)

Channel = Literal["voice", "chat"]
IdentifySource = Literal["ani", "account", "order"]
# Where a flow is entered: dialled numbers, the chat widget, or the post-call leg.
CHAT_ENTRY = "chat"
POST_CALL_ENTRY = "post_call"


@dataclass(frozen=True, slots=True)
class FlowError:
    """One problem in a flow file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code}: {self.message}"


class FlowSetInvalid(CallCenterError):
    """Flows did not validate; ``errors`` lists every problem found."""

    code = "flow.invalid"
    status = 500

    def __init__(self, errors: list[FlowError]) -> None:
        self.errors = sorted(errors, key=lambda err: (err.file, err.line, err.column))
        count = len(self.errors)
        first = str(self.errors[0]) if self.errors else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{count} error(s) in IVR flows: {first}{more}")


@dataclass(frozen=True, slots=True)
class MenuNode:
    """Play a prompt, read one choice; retry on invalid input or silence."""

    id: str
    prompt: str
    options: Mapping[str, str]
    keywords: Mapping[str, str]  # chat word (lower case) -> option key
    timeout_s: float
    retries: int
    invalid_prompt: str | None
    timeout_prompt: str | None
    invalid: str
    timeout: str | None
    type: Literal["menu"] = "menu"


@dataclass(frozen=True, slots=True)
class CollectNode:
    """Read a number (account, order) into a variable."""

    id: str
    prompt: str
    into: str
    min_digits: int
    max_digits: int
    pattern: str | None
    timeout_s: float
    retries: int
    invalid_prompt: str | None
    timeout_prompt: str | None
    mask: bool
    next: str
    invalid: str
    timeout: str | None
    type: Literal["collect"] = "collect"


@dataclass(frozen=True, slots=True)
class IdentifyNode:
    """Find the customer: by ANI, else by a collected account or order number."""

    id: str
    by: tuple[IdentifySource, ...]
    account_variable: str
    order_variable: str
    found: str
    not_found: str
    type: Literal["identify"] = "identify"


@dataclass(frozen=True, slots=True)
class WaitTest:
    queue: str | None  # None: the queue chosen so far by ``set``
    seconds: float


@dataclass(frozen=True, slots=True)
class Test:
    """A ``when`` clause: every given test must hold."""

    tier: frozenset[str] | None = None
    key_account: bool | None = None
    segment: frozenset[str] | None = None
    identified: bool | None = None
    language: frozenset[str] | None = None
    variables: Mapping[str, tuple[str, ...] | bool] = field(default_factory=dict)
    open: str | None = None
    closed: str | None = None
    estimated_wait_over: WaitTest | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    when: Test
    next: str


@dataclass(frozen=True, slots=True)
class ConditionNode:
    """First branch whose ``when`` holds wins; else ``else``."""

    id: str
    branches: tuple[Branch, ...]
    otherwise: str
    type: Literal["condition"] = "condition"


@dataclass(frozen=True, slots=True)
class SetNode:
    """Record routing choices: queue, priority boost, skills, language, variables."""

    id: str
    queue: str | None
    priority_boost: float | None
    required_skills: Mapping[str, int]
    language: str | None
    variables: Mapping[str, str]
    next: str
    type: Literal["set"] = "set"


@dataclass(frozen=True, slots=True)
class PlayNode:
    """Play an announcement, then go on."""

    id: str
    prompt: str
    next: str
    type: Literal["play"] = "play"


@dataclass(frozen=True, slots=True)
class SelfServiceNode:
    """Look up order or ticket status and read it back."""

    id: str
    service: Literal["order_status", "ticket_status"]
    order_variable: str
    prompt: str
    next: str
    not_found: str
    type: Literal["self_service"] = "self_service"


@dataclass(frozen=True, slots=True)
class OfferCallbackNode:
    """Offer to keep the caller's place and call back instead of waiting."""

    id: str
    queue: str | None
    prompt: str
    accept_digit: str
    when_wait_over: float | None
    timeout_s: float
    confirm_prompt: str | None
    number_variable: str | None
    declined: str
    type: Literal["offer_callback"] = "offer_callback"


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    """Record a message; it becomes an email-channel contact in ``queue``."""

    id: str
    queue: str | None
    prompt: str
    max_seconds: int
    type: Literal["voicemail"] = "voicemail"


@dataclass(frozen=True, slots=True)
class SurveyNode:
    """Post-call CSAT question, answered 1-5."""

    id: str
    prompt: str
    question: str
    timeout_s: float
    retries: int
    invalid_prompt: str | None
    next: str
    invalid: str
    type: Literal["survey"] = "survey"


@dataclass(frozen=True, slots=True)
class QueueNode:
    """Hand the contact to the router with everything learned."""

    id: str
    queue: str | None
    prompt: str | None
    type: Literal["queue"] = "queue"


@dataclass(frozen=True, slots=True)
class TransferNode:
    """Blind transfer out of the system (number or extension)."""

    id: str
    target: str
    prompt: str | None
    type: Literal["transfer"] = "transfer"


@dataclass(frozen=True, slots=True)
class HangupNode:
    """End the call, optionally after a goodbye prompt."""

    id: str
    prompt: str | None
    outcome: Literal["contained", "abandoned"]
    reason: str
    type: Literal["hangup"] = "hangup"


Node = (
    MenuNode | CollectNode | IdentifyNode | ConditionNode | SetNode | PlayNode
    | SelfServiceNode | OfferCallbackNode | VoicemailNode | SurveyNode | QueueNode
    | TransferNode | HangupNode
)


@dataclass(frozen=True, slots=True)
class Flow:
    """One validated flow; immutable, so a session can pin it for the whole call."""

    name: str
    file: str
    version: str  # content hash of the file: tells two loads of a flow apart
    entry: tuple[str, ...]
    languages: tuple[str, ...]
    prompts: Mapping[str, Mapping[str, str | None]]
    calendars: Mapping[str, BusinessCalendar]
    start: str
    nodes: Mapping[str, Node]

    @property
    def channel(self) -> Channel:
        return "chat" if CHAT_ENTRY in self.entry else "voice"

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def queues(self) -> set[str]:
        """Every queue the flow names, so the server can check they exist."""
        found: set[str] = set()
        for node in self.nodes.values():
            queue = getattr(node, "queue", None)
            if isinstance(queue, str):
                found.add(queue)
            if isinstance(node, ConditionNode):
                for branch in node.branches:
                    wait = branch.when.estimated_wait_over
                    if wait is not None and wait.queue is not None:
                        found.add(wait.queue)
        return found


@dataclass(frozen=True, slots=True)
class FlowSet:
    """All flows of one load, by name and by entry point."""

    flows: Mapping[str, Flow]

    def by_name(self, name: str) -> Flow | None:
        return self.flows.get(name)

    def for_entry(self, entry: str) -> Flow | None:
        """The flow for a dialled number, ``chat`` or ``post_call``; None when none claims it."""
        for flow in self.flows.values():
            if entry in flow.entry:
                return flow
        return None

    def queues(self) -> set[str]:
        found: set[str] = set()
        for flow in self.flows.values():
            found |= flow.queues()
        return found
