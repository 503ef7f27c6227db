"""The routing error hierarchy. Every error has a stable dotted `code`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routing.commands import Command


class RoutingError(Exception):
    """Base of every error the router raises for a bad event.

    `commands` holds what timers that fired before the event produced (time
    moved forward to the event's `at` even though the event was refused);
    those effects are applied and must be published like any other commands.
    """

    code: str = "routing.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.commands: tuple[Command, ...] = ()


class InvalidTransition(RoutingError):
    """The event is not allowed in the contact's current state."""

    code = "contact.invalid_transition"

    def __init__(self, message: str, state: str = "", trigger: str = "") -> None:
        super().__init__(message)
        self.state = state
        self.trigger = trigger


class InvalidPresenceTransition(InvalidTransition):
    """The event is not allowed in the agent's current presence."""

    code = "agent.invalid_transition"


class UnknownContact(RoutingError):
    code = "contact.not_found"


class DuplicateContact(RoutingError):
    code = "contact.duplicate"


class UnknownAgent(RoutingError):
    code = "agent.not_found"


class UnknownQueue(RoutingError):
    code = "queue.not_found"


class InvalidEvent(RoutingError):
    """The event's data is unusable (bad config, unknown kind, wrong field type)."""

    code = "routing.invalid_event"


class InvalidSnapshot(RoutingError):
    code = "routing.invalid_snapshot"
