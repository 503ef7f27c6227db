"""Opening hours in the calendar's own time zone, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from callcenter.ivr.calendar import (
    BusinessCalendar,
    HoursError,
    parse_holiday,
    parse_hours_range,
    parse_time_zone,
)

SHANGHAI = BusinessCalendar(
    "service", "Asia/Shanghai",
    weekly={0: ((9 * 3600, 12 * 3600), (13 * 3600, 21 * 3600)), 5: ((9 * 3600, 24 * 3600),)},
    holidays=frozenset({date(2026, 10, 5)}),
)


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("at", "is_open"), [
    (utc(2026, 11, 23, 1, 0), True),      # Mon 09:00 local: opening minute
    (utc(2026, 11, 23, 0, 59, 59), False),  # Mon 08:59:59
    (utc(2026, 11, 23, 4, 30), False),    # Mon 12:30: lunch break
    (utc(2026, 11, 23, 13, 0), False),    # Mon 21:00: closing minute is closed
    (utc(2026, 11, 28, 15, 59), True),    # Sat 23:59 local, open until 24:00
    (utc(2026, 11, 29, 2, 0), False),     # Sun: no hours
    (utc(2026, 10, 5, 2, 0), False),      # a Monday holiday
    (utc(2026, 11, 28, 16, 30), False),   # Sat 16:30 UTC is Sun 00:30 local: closed
], ids=["opening", "before", "lunch", "closing", "late-saturday", "sunday", "holiday",
        "utc-saturday-is-local-sunday"])
def test_open_is_judged_in_the_calendar_time_zone(at: float, is_open: bool) -> None:
    assert SHANGHAI.is_open(at) is is_open


def test_dst_day_keeps_local_wall_clock_hours() -> None:
    berlin = BusinessCalendar("eu", "Europe/Berlin", {6: ((9 * 3600, 17 * 3600),)}, frozenset())
    # 2026-03-29 is the spring-forward Sunday: local 09:00 is 07:00 UTC (UTC+2).
    assert berlin.is_open(utc(2026, 3, 29, 7, 0))
    assert not berlin.is_open(utc(2026, 3, 29, 6, 59))
    # One week earlier, still UTC+1: 09:00 local is 08:00 UTC.
    assert not berlin.is_open(utc(2026, 3, 22, 7, 30))
    assert berlin.is_open(utc(2026, 3, 22, 8, 0))


@pytest.mark.parametrize(("text", "expected"), [
    ("09:00-18:00", (32_400, 64_800)),
    (" 9:30 - 24:00 ", (34_200, 86_400)),
])
def test_hours_ranges_parse_to_seconds_after_midnight(text: str,
                                                      expected: tuple[int, int]) -> None:
    assert parse_hours_range(text) == expected


@pytest.mark.parametrize("text", ["9-18", "09:00-09:00", "22:00-02:00", "24:00-24:00",
                                  "09:60-10:00", "25:00-26:00"])
def test_bad_hours_ranges_are_refused(text: str) -> None:
    with pytest.raises(HoursError):
        parse_hours_range(text)


def test_bad_time_zones_and_holidays_are_refused() -> None:
    for name in ("Mars/Olympus", "", "Asia", "../etc/passwd"):
        with pytest.raises(HoursError):
            parse_time_zone(name)
    with pytest.raises(HoursError):
        parse_holiday("2026-02-30")
    assert parse_holiday("2026-02-17") == date(2026, 2, 17)
