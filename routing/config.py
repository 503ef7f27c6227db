"""Router-wide settings (per-queue settings live in `QueueConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _default_head_starts() -> dict[str, float]:
    return {"standard": 0.0, "silver": 15.0, "gold": 30.0, "key": 60.0, "strategic": 120.0}


def _default_capacity() -> dict[str, int]:
    return {"voice": 1, "chat": 3, "email": 2, "callback": 1}


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Settings of one router. All durations are seconds."""

    #: Head start per customer tier: a contact sorts as if it had arrived this
    #: many seconds earlier.
    head_starts: dict[str, float] = field(default_factory=_default_head_starts)
    #: How long an agent who rejected (or missed, or could not be reached for)
    #: a contact stays excluded from it.
    reject_exclusion_s: float = 60.0
    #: Abandons after a shorter wait are flagged `short`.
    short_abandon_s: float = 5.0
    #: Capacity per channel of an agent who logs in without one.
    default_capacity: dict[str, int] = field(default_factory=_default_capacity)
    #: Disposition recorded when wrap-up times out.
    default_disposition: str = "no_disposition"
    #: Window of the occupancy used by `least_occupied`.
    occupancy_window_s: float = 1800.0
    #: Handle time assumed for the estimated wait until a queue has history.
    default_handle_time_s: float = 180.0
    #: Number of recent handle times per queue behind the estimated wait.
    handle_time_samples: int = 50
    #: Preferred-agent phase of a contact that names preferred agents without
    #: its own fallback time.
    preferred_fallback_s: float = 30.0
    #: How long a contact transferred to a named agent waits for that agent
    #: before anyone eligible in its queue may take it.
    transfer_fallback_s: float = 60.0
    #: Overflow chains stop after this many hops in one step; the contact then
    #: waits in the last queue.
    max_overflow_hops: int = 5

    def head_start(self, tier: str) -> float:
        """Head start of a tier in seconds (0 for an unknown tier)."""
        return self.head_starts.get(tier, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for snapshots."""
        return {
            "head_starts": dict(self.head_starts),
            "reject_exclusion_s": self.reject_exclusion_s,
            "short_abandon_s": self.short_abandon_s,
            "default_capacity": dict(self.default_capacity),
            "default_disposition": self.default_disposition,
            "occupancy_window_s": self.occupancy_window_s,
            "default_handle_time_s": self.default_handle_time_s,
            "handle_time_samples": self.handle_time_samples,
            "preferred_fallback_s": self.preferred_fallback_s,
            "transfer_fallback_s": self.transfer_fallback_s,
            "max_overflow_hops": self.max_overflow_hops,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouterConfig:
        """Inverse of `to_dict`."""
        return cls(
            head_starts={str(k): float(v) for k, v in data["head_starts"].items()},
            reject_exclusion_s=float(data["reject_exclusion_s"]),
            short_abandon_s=float(data["short_abandon_s"]),
            default_capacity={str(k): int(v) for k, v in data["default_capacity"].items()},
            default_disposition=str(data["default_disposition"]),
            occupancy_window_s=float(data["occupancy_window_s"]),
            default_handle_time_s=float(data["default_handle_time_s"]),
            handle_time_samples=int(data["handle_time_samples"]),
            preferred_fallback_s=float(data["preferred_fallback_s"]),
            transfer_fallback_s=float(data["transfer_fallback_s"]),
            max_overflow_hops=int(data["max_overflow_hops"]),
        )
