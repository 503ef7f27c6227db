"""Opening hours: a weekly timetable, holidays and a time zone.

Pure: whether the center is open is asked for a given instant (UTC seconds from the
event that triggered the question), never for "now".
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY_SECONDS = 24 * 3600


class HoursError(ValueError):
    """A time zone, hours range or holiday that cannot be used; the text says why."""


def parse_time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone for an IANA name, or :class:`HoursError`."""
    try:
        return zoneinfo.ZoneInfo(name)
    # zoneinfo raises OSError subclasses for names that are folders or unreadable files.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise HoursError(f"unknown time zone {name!r} (use an IANA name like "
                         f"'Asia/Shanghai')") from None


def parse_hours_range(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` -> seconds after local midnight ``(32400, 64800)``.

    The end may be ``24:00``. Ranges do not cross midnight: write overnight opening
    as two ranges on consecutive days.
    """
    match = _RANGE.match(text)
    if match is None:
        raise HoursError(f"hours {text!r} are not 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    for hour, minute in ((start_h, start_m), (end_h, end_m)):
        if hour > 24 or minute > 59 or (hour == 24 and minute != 0):
            raise HoursError(f"hours {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    start = start_h * 3600 + start_m * 60
    end = end_h * 3600 + end_m * 60
    if start == _DAY_SECONDS:
        raise HoursError(f"hours {text!r}: a range cannot start at 24:00")
    if end <= start:
        raise HoursError(f"hours {text!r}: the end must be after the start (split hours "
                         f"that pass midnight over two days)")
    return start, end


def parse_holiday(text: str) -> date:
    """``"2026-10-01"`` -> a date, or :class:`HoursError`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HoursError(f"holiday {text!r} is not a date YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a service is open. ``weekly[0]`` is Monday; days not listed are closed."""

    name: str
    time_zone: str
    weekly: Mapping[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date]

    def is_open(self, at: float) -> bool:
        """True when ``at`` (UTC seconds) falls in opening hours, local to the calendar."""
        local = datetime.fromtimestamp(at, tz=zoneinfo.ZoneInfo(self.time_zone))
        if local.date() in self.holidays:
            return False
        second_of_day = local.hour * 3600 + local.minute * 60 + local.second
        return any(start <= second_of_day < end
                   for start, end in self.weekly.get(local.weekday(), ()))
