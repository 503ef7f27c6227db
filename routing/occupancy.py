"""Per-agent occupancy over a sliding window, in O(log n) per query.

Occupancy = time with at least one contact (alerting, connected or wrap-up) /
(that + available idle time), DESIGN §6. The log keeps checkpoints of the
cumulative busy and idle seconds, so the time in any window is a difference of
two interpolated cumulative values.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

OTHER = 0
IDLE = 1
BUSY = 2

_PRUNE_AT = 32


class OccupancyLog:
    __slots__ = ("_busy", "_idle", "_statuses", "_times")

    def __init__(self) -> None:
        self._times: list[float] = []
        self._busy: list[float] = []
        self._idle: list[float] = []
        self._statuses: list[int] = []

    @property
    def status(self) -> int:
        return self._statuses[-1] if self._statuses else OTHER

    def _cumulative(self, x: float) -> tuple[float, float]:
        i = bisect_right(self._times, x) - 1
        if i < 0:
            return 0.0, 0.0
        busy = self._busy[i]
        idle = self._idle[i]
        status = self._statuses[i]
        if status == BUSY:
            busy += x - self._times[i]
        elif status == IDLE:
            idle += x - self._times[i]
        return busy, idle

    def set_status(self, t: float, status: int, window: float) -> None:
        """From `t` on the agent is `status` (OTHER, IDLE or BUSY)."""
        if self._statuses and self._statuses[-1] == status:
            return
        if not self._times:
            if status == OTHER:
                return
            self._times.append(t)
            self._busy.append(0.0)
            self._idle.append(0.0)
            self._statuses.append(status)
            return
        if self._times[-1] == t:
            # Zero-length segment: only the new status matters from t on.
            self._statuses[-1] = status
            if len(self._statuses) > 1 and self._statuses[-2] == status:
                del self._times[-1], self._busy[-1], self._idle[-1], self._statuses[-1]
            return
        busy, idle = self._cumulative(t)
        self._times.append(t)
        self._busy.append(busy)
        self._idle.append(idle)
        self._statuses.append(status)
        if len(self._times) > _PRUNE_AT:
            j = bisect_right(self._times, t - window) - 1
            if j > 0:
                del self._times[:j], self._busy[:j], self._idle[:j], self._statuses[:j]

    def occupancy(self, now: float, window: float) -> float:
        """Busy / (busy + idle) over `[now - window, now]`; 0.0 with no time."""
        if not self._times:
            return 0.0
        # Now is at or after the last checkpoint: no search needed.
        busy_now = self._busy[-1]
        idle_now = self._idle[-1]
        status = self._statuses[-1]
        if status == BUSY:
            busy_now += now - self._times[-1]
        elif status == IDLE:
            idle_now += now - self._times[-1]
        busy_then, idle_then = self._cumulative(now - window)
        busy = busy_now - busy_then
        total = busy + (idle_now - idle_then)
        if total <= 0.0:
            return 0.0
        return busy / total

    def to_data(self) -> list[Any]:
        return [list(self._times), list(self._busy), list(self._idle), list(self._statuses)]

    @classmethod
    def from_data(cls, data: list[Any]) -> OccupancyLog:
        log = cls()
        log._times = [float(x) for x in data[0]]
        log._busy = [float(x) for x in data[1]]
        log._idle = [float(x) for x in data[2]]
        log._statuses = [int(x) for x in data[3]]
        return log
