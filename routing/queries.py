"""Read-only views the server asks the router for (dashboards, announcements)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    queue: str
    channel: str
    is_open: bool
    #: Contacts waiting (queued, not alerting).
    waiting: int
    #: Seconds the longest-waiting contact has waited since `arrived_at`.
    longest_wait_s: float
    #: Waiting contact ids in service order (first = next to be offered).
    positions: tuple[str, ...]
    #: Contact slots of logged-in agents holding the queue's required skills.
    staffed_slots: int
    #: Estimated wait of a contact arriving now (None: nobody staffed).
    estimated_wait_s: float | None


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent_id: str
    presence: str
    reason: str
    #: Reason of a not_ready that takes effect when the last contact ends.
    pending_reason: str | None
    skills: dict[str, int]
    capacity: dict[str, int]
    #: (contact_id, channel, state) of every contact holding capacity.
    contacts: tuple[tuple[str, str, str], ...]
    #: When the agent last became free of every contact (None while busy).
    idle_since: float | None
    occupancy: float


@dataclass(frozen=True, slots=True)
class ContactSnapshot:
    contact_id: str
    state: str
    queue: str
    channel: str
    tier: str
    agent_id: str | None
    arrived_at: float
    entered_queue_at: float
    #: 1-based place among the queue's waiting contacts (None: not waiting).
    position: int | None
    estimated_wait_s: float | None
    attempts: int
    key: tuple[int, float, int]
    external_id: str | None
    customer_id: str | None
