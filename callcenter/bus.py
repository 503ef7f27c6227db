"""The internal command bus: how the router's output reaches everyone else.

The router task publishes one :class:`Routed` per applied event, after the batch
that holds it is committed. Subscribers (the agent websocket hub, the supervisor
hub, the screen-pop cache, later the MQTT bridge) get it synchronously and must
only queue work: a slow or failing subscriber is logged and never blocks or breaks
the router (Home Assistant's EventBus in miniature).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.logs import get_logger
from routing.commands import Command
from routing.events import Event

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Routed:
    """One event the router applied, the commands it caused, and the intake's metadata
    (contact channel, subject, customer...; empty for most events)."""

    event: Event
    commands: tuple[Command, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    #: True while the server replays its journal at start-up (nothing to push).
    replay: bool = False


Subscriber = Callable[[Routed], None]


class Bus:
    """Publish/subscribe for :class:`Routed` items, in publication order."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Subscriber]] = []

    def subscribe(self, name: str, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it again."""
        entry = (name, subscriber)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, item: Routed) -> None:
        for name, subscriber in list(self._subscribers):
            try:
                subscriber(item)
            except Exception:
                log.exception("bus.subscriber_failed", subscriber=name,
                              event_kind=type(item.event).__name__)
