"""Value types of the routing vocabulary: channels, tiers, queue configuration.

Everything here is immutable data that travels inside events, commands and
snapshots, so it is plain (strings, numbers, tuples, frozen dataclasses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["voice", "chat", "email", "callback"]
CHANNELS: tuple[Channel, ...] = ("voice", "chat", "email", "callback")
#: A contact on one of these channels blocks every other channel of the agent
#: and vice versa (a callback is dialled on the agent's voice line).
EXCLUSIVE_CHANNELS: frozenset[str] = frozenset({"voice", "callback"})

Tier = Literal["standard", "silver", "gold", "key", "strategic"]
TIERS: tuple[Tier, ...] = ("standard", "silver", "gold", "key", "strategic")

Strategy = Literal["longest_idle", "most_skilled", "least_occupied", "round_robin"]
STRATEGIES: tuple[Strategy, ...] = ("longest_idle", "most_skilled", "least_occupied", "round_robin")

ExitKind = Literal["overflow", "voicemail", "callback", "auto_reply"]
EXIT_KINDS: tuple[ExitKind, ...] = ("overflow", "voicemail", "callback", "auto_reply")
ExitReason = Literal["no_agents", "max_wait", "queue_full", "closed", "max_attempts"]

Presence = Literal["offline", "available", "not_ready"]
ContactState = Literal[
    "new",
    "queued",
    "alerting",
    "connected",
    "wrap_up",
    "completed",
    "abandoned",
    "voicemail",
    "auto_replied",
    "callback_offered",
    "callback_scheduled",
]
#: States in which the router forgets the contact (it emitted its last command).
TERMINAL_STATES: frozenset[str] = frozenset({"completed", "abandoned", "voicemail", "auto_replied"})

#: Sort key of a waiting contact: (priority class, virtual arrival, sequence).
SortKey = tuple[int, float, int]


@dataclass(frozen=True, slots=True)
class RequiredSkill:
    """A skill a contact needs, at `min_level` (1..10) or better."""

    skill: str
    min_level: int = 1


@dataclass(frozen=True, slots=True)
class Relaxation:
    """After `after_s` seconds of waiting in the queue, lower the minimum level
    of `skill` to `min_level`, or drop the skill when `min_level` is None."""

    after_s: float
    skill: str
    min_level: int | None = None


@dataclass(frozen=True, slots=True)
class Exit:
    """Where a contact goes when it leaves a queue without an agent."""

    kind: ExitKind
    #: Target queue of an `overflow` exit.
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class QueueExits:
    """The exit taken for each reason; None means the condition is ignored
    (the contact keeps waiting)."""

    no_agents: Exit | None = None
    max_wait: Exit | None = None
    queue_full: Exit | None = None
    closed: Exit | None = None
    max_attempts: Exit | None = None

    def for_reason(self, why: ExitReason) -> Exit | None:
        """The exit configured for `why`."""
        exit_: Exit | None = getattr(self, why)
        return exit_


@dataclass(frozen=True, slots=True)
class Overflow:
    """PROTOCOL's `overflow`: after `after_s` seconds in the queue, overflow to `queue`."""

    after_s: float
    queue: str


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue as the administrator configured it (PROTOCOL "Administration")."""

    name: str
    channel: Channel
    #: Strict class, lowest first; 0 for everything ordinary, negative for what
    #: must always go first (an emergency line).
    priority_class: int = 0
    #: Seconds subtracted from the arrival time of every contact of this queue.
    head_start_s: float = 0.0
    required_skills: tuple[RequiredSkill, ...] = ()
    sl_target_s: float = 20.0
    ring_timeout_s: float = 20.0
    wrap_up_s: float = 30.0
    strategy: Strategy = "longest_idle"
    relaxation: tuple[Relaxation, ...] = ()
    overflow: Overflow | None = None
    #: Maximum wait in this queue before the `max_wait` exit (None: no limit).
    max_wait_s: float | None = None
    #: Maximum number of contacts waiting in this queue (None: no limit).
    max_size: int | None = None
    max_attempts: int = 3
    exits: QueueExits = QueueExits()
    is_open: bool = True

    def max_wait_rule(self) -> tuple[float, Exit] | None:
        """The earliest time-based exit: `max_wait_s` with its exit, or `overflow`."""
        rules: list[tuple[float, int, Exit]] = []
        if self.overflow is not None:
            rules.append((self.overflow.after_s, 0, Exit("overflow", self.overflow.queue)))
        if self.max_wait_s is not None and self.exits.max_wait is not None:
            rules.append((self.max_wait_s, 1, self.exits.max_wait))
        if not rules:
            return None
        after_s, _, exit_ = min(rules, key=lambda r: (r[0], r[1]))
        return after_s, exit_

    def sorted_relaxation(self) -> tuple[Relaxation, ...]:
        """Relaxation steps in the order they fire (stable on equal times)."""
        return tuple(sorted(self.relaxation, key=lambda r: r.after_s))

    def exit_targets(self) -> set[str]:
        """Queues this configuration can overflow to."""
        targets = {self.overflow.queue} if self.overflow is not None else set()
        for why in ("no_agents", "max_wait", "queue_full", "closed", "max_attempts"):
            exit_ = self.exits.for_reason(why)
            if exit_ is not None and exit_.kind == "overflow" and exit_.queue is not None:
                targets.add(exit_.queue)
        return targets


Requirements = tuple[tuple[str, int], ...]


def effective_requirements(
    queue: QueueConfig, extra: tuple[RequiredSkill, ...], steps_applied: int
) -> Requirements:
    """The skills (sorted, with minimum levels) a contact needs after the first
    `steps_applied` relaxation steps of its queue.

    The queue's and the contact's own requirements merge, keeping the higher
    minimum level for a skill named twice.
    """
    levels: dict[str, int] = {}
    for req in (*queue.required_skills, *extra):
        levels[req.skill] = max(levels.get(req.skill, 0), req.min_level)
    for step in queue.sorted_relaxation()[:steps_applied]:
        if step.skill not in levels:
            continue
        if step.min_level is None:
            del levels[step.skill]
        else:
            levels[step.skill] = min(levels[step.skill], step.min_level)
    return tuple(sorted(levels.items()))


def channel_fits_queue(contact_channel: str, queue_channel: str) -> bool:
    """A contact may wait in a queue of its own channel; callbacks also in voice
    queues and voice calls in callback queues (one voice line)."""
    if contact_channel == queue_channel:
        return True
    return {contact_channel, queue_channel} == {"voice", "callback"}
