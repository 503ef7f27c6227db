"""The contact and presence state machines as tables.

`{(state, trigger): next_state}`; a pair not in the table raises
`InvalidTransition` (nothing is silently fixed up). The router checks a
transition before it changes anything, so a refused event leaves state as it was.
"""

from __future__ import annotations

from typing import Literal

from routing.errors import InvalidPresenceTransition, InvalidTransition
from routing.model import ContactState, Presence

ContactTrigger = Literal[
    "arrive",
    "offer",
    "accept",
    "reject",
    "ring_timeout",
    "route_failed",
    "recall",
    "abandon",
    "end",
    "wrap_up_end",
    "wrap_up_timeout",
    "transfer",
    "overflow",
    "exit_voicemail",
    "exit_auto_reply",
    "exit_callback",
    "callback_now",
    "callback_later",
    "callback_due",
]

CONTACT_TRANSITIONS: dict[tuple[ContactState, ContactTrigger], ContactState] = {
    ("new", "arrive"): "queued",
    # Waiting in line.
    ("queued", "offer"): "alerting",
    ("queued", "abandon"): "abandoned",
    ("queued", "overflow"): "queued",
    ("queued", "transfer"): "queued",
    ("queued", "exit_voicemail"): "voicemail",
    ("queued", "exit_auto_reply"): "auto_replied",
    ("queued", "exit_callback"): "callback_offered",
    ("queued", "callback_now"): "queued",
    ("queued", "callback_later"): "callback_scheduled",
    # Ringing on an agent (capacity reserved).
    ("alerting", "accept"): "connected",
    ("alerting", "reject"): "queued",
    ("alerting", "ring_timeout"): "queued",
    ("alerting", "route_failed"): "queued",
    ("alerting", "recall"): "queued",
    ("alerting", "abandon"): "abandoned",
    ("alerting", "transfer"): "queued",
    # Talking.
    ("connected", "end"): "wrap_up",
    ("connected", "transfer"): "queued",
    # After the conversation.
    ("wrap_up", "wrap_up_end"): "completed",
    ("wrap_up", "wrap_up_timeout"): "completed",
    # Callbacks: offered at an exit, scheduled, then back in line when due.
    ("callback_offered", "callback_now"): "queued",
    ("callback_offered", "callback_later"): "callback_scheduled",
    ("callback_offered", "abandon"): "abandoned",
    ("callback_scheduled", "callback_due"): "queued",
    ("callback_scheduled", "callback_now"): "queued",
    ("callback_scheduled", "callback_later"): "callback_scheduled",
    ("callback_scheduled", "abandon"): "abandoned",
}

PresenceTrigger = Literal[
    "log_in_available",
    "log_in_not_ready",
    "log_out",
    "request_available",
    "request_not_ready",
    "offer_missed",
    "route_failed",
    "pending_applied",
]

PRESENCE_TRANSITIONS: dict[tuple[Presence, PresenceTrigger], Presence] = {
    ("offline", "log_in_available"): "available",
    ("offline", "log_in_not_ready"): "not_ready",
    ("available", "log_out"): "offline",
    ("not_ready", "log_out"): "offline",
    ("available", "request_available"): "available",
    ("not_ready", "request_available"): "available",
    # While contacts are open the router defers this one (pending presence).
    ("available", "request_not_ready"): "not_ready",
    ("not_ready", "request_not_ready"): "not_ready",
    ("available", "offer_missed"): "not_ready",
    ("not_ready", "offer_missed"): "not_ready",
    ("available", "route_failed"): "not_ready",
    ("not_ready", "route_failed"): "not_ready",
    ("available", "pending_applied"): "not_ready",
}


_CONTACT_LOOKUP: dict[tuple[str, str], ContactState] = {
    key: value for key, value in CONTACT_TRANSITIONS.items()
}
_PRESENCE_LOOKUP: dict[tuple[str, str], Presence] = {
    key: value for key, value in PRESENCE_TRANSITIONS.items()
}


def contact_next(state: str, trigger: ContactTrigger, contact_id: str) -> ContactState:
    """The contact's next state, or `InvalidTransition`."""
    try:
        return _CONTACT_LOOKUP[(state, trigger)]
    except KeyError:
        raise InvalidTransition(
            f"contact {contact_id!r}: {trigger!r} is not allowed in state {state!r}",
            state=state,
            trigger=trigger,
        ) from None


def presence_next(presence: str, trigger: PresenceTrigger, agent_id: str) -> Presence:
    """The agent's next presence, or `InvalidPresenceTransition`."""
    try:
        return _PRESENCE_LOOKUP[(presence, trigger)]
    except KeyError:
        raise InvalidPresenceTransition(
            f"agent {agent_id!r}: {trigger!r} is not allowed in presence {presence!r}",
            state=presence,
            trigger=trigger,
        ) from None
