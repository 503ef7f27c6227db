"""The traffic model: Poisson profiles, distributions, traces, agent schedules."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from datetime import date
from pathlib import Path

import pytest

from callcenter.traffic import (
    AgentGroup,
    Break,
    Distribution,
    QueueTraffic,
    TrafficError,
    agent_schedule,
    day_start,
    generate_arrivals,
    local_time,
    parse_distribution,
    read_trace,
    write_trace,
)

DAY = date(2026, 3, 2)
TZ = "Asia/Shanghai"


def voice(profile: tuple[tuple[str, float], ...], **kw: object) -> QueueTraffic:
    return QueueTraffic("voice", "voice", profile, Distribution("exponential", 180.0), **kw)  # type: ignore[arg-type]


def test_poisson_profile_gives_each_hour_its_own_rate() -> None:
    traffic = voice((("08:00", 120.0), ("09:00", 600.0), ("10:00", 0.0), ("11:00", 60.0)))
    end = local_time(DAY, "12:00", TZ)
    arrivals = generate_arrivals([traffic], DAY, TZ, end, seed=3)
    origin = local_time(DAY, "08:00", TZ)
    per_hour = [0, 0, 0, 0]
    for a in arrivals:
        per_hour[int((a.at - origin) // 3600)] += 1
    for count, rate in zip(per_hour, (120, 600, 0, 60), strict=True):
        assert abs(count - rate) <= 4 * math.sqrt(rate)  # Poisson: 4 sigma
    assert per_hour[2] == 0
    assert all(origin <= a.at < end for a in arrivals)
    assert [a.at for a in arrivals] == sorted(a.at for a in arrivals)


def test_poisson_gaps_are_exponential() -> None:
    traffic = voice((("00:00", 360.0),))
    arrivals = generate_arrivals([traffic], DAY, "UTC", day_start(DAY, "UTC") + 20 * 3600, 9)
    gaps = [b.at - a.at for a, b in itertools.pairwise(arrivals)]
    mean = statistics.fmean(gaps)
    assert mean == pytest.approx(10.0, rel=0.05)
    assert statistics.stdev(gaps) / mean == pytest.approx(1.0, abs=0.05)  # CV of an exponential


def test_same_seed_same_traffic_other_seed_other_traffic() -> None:
    traffic = voice((("08:00", 300.0),))
    end = local_time(DAY, "09:00", TZ)
    first = generate_arrivals([traffic], DAY, TZ, end, 1)
    assert first == generate_arrivals([traffic], DAY, TZ, end, 1)
    assert first != generate_arrivals([traffic], DAY, TZ, end, 2)


def test_lognormal_handle_time_has_the_configured_mean_and_sd() -> None:
    dist = parse_distribution("handle", {"dist": "lognormal", "mean_s": 300, "sd_s": 200})
    rng = random.Random(4)
    draws = [dist.sample(rng) for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(300, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(200, rel=0.05)
    assert min(draws) > 0


def test_tier_mix_follows_the_shares() -> None:
    traffic = voice((("00:00", 3600.0),), tiers=(("standard", 0.9), ("key", 0.1)))
    arrivals = generate_arrivals([traffic], DAY, "UTC", day_start(DAY, "UTC") + 3 * 3600, 5)
    key_share = sum(a.tier == "key" for a in arrivals) / len(arrivals)
    assert key_share == pytest.approx(0.1, abs=0.01)


def test_patience_none_is_infinite_and_bad_distributions_name_their_key() -> None:
    assert parse_distribution("p", {"dist": "none"}).sample(random.Random(1)) == math.inf
    with pytest.raises(TrafficError, match=r"queues\[0\]\.handle\.sd_s: missing"):
        parse_distribution("queues[0].handle", {"dist": "lognormal", "mean_s": 100})
    with pytest.raises(TrafficError, match=r"handle\.mean_s: must be positive"):
        parse_distribution("handle", {"dist": "exponential", "mean_s": 0})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_trace_replays_times_in_three_formats_and_draws_what_is_missing(tmp_path: Path) -> None:
    trace = write(tmp_path / "t.csv", "time,queue,tier,handle_s,patience_s,contact_id\n"
                  "28800,voice,key,100,,c1\n"
                  "08:00:30,voice,,,inf,c2\n"
                  "2026-03-02T08:01:00+08:00,voice,standard,50,60,c3\n")
    traffic = voice((("08:00", 10.0),), patience=Distribution("exponential", 90.0))
    arrivals = read_trace(trace, [traffic], DAY, TZ, seed=1)
    origin = day_start(DAY, TZ)
    assert [(a.contact_id, a.at - origin) for a in arrivals] == [
        ("c1", 28800.0), ("c2", 28830.0), ("c3", 28860.0)]
    c1, c2, c3 = arrivals
    assert (c1.tier, c1.handle_s) == ("key", 100.0) and 0 < c1.patience_s < math.inf
    assert c2.patience_s == math.inf and c2.handle_s > 0 and c2.tier == "standard"
    assert (c3.handle_s, c3.patience_s) == (50.0, 60.0)
    assert arrivals == read_trace(trace, [traffic], DAY, TZ, seed=1)  # draws are seeded


@pytest.mark.parametrize(("row", "message"), [
    ("abc,voice,voice,key,60", "time 'abc'"),
    ("28800,sales,voice,key,60", "unknown queue 'sales'"),
    ("28800,voice,chat,key,60", "channel 'chat' does not match"),
    ("28800,voice,voice,vip,60", "unknown tier 'vip'"),
    ("28800,voice,voice,key,-3", "handle_s must be positive"),
    ("28800,voice,voice,key,ten", "handle_s 'ten' is not a number"),
    ("28800,voice", "expected 5 fields, got 2"),
    ("2026-03-03T08:00:00+08:00,voice,voice,key,60", "is not on the simulated day 2026-03-02"),
])
def test_bad_trace_row_is_reported_with_file_and_line(tmp_path: Path, row: str,
                                                      message: str) -> None:
    trace = write(tmp_path / "t.csv", "time,queue,channel,tier,handle_s\n"
                                      f"28800,voice,voice,standard,60\n\n{row}\n")
    with pytest.raises(TrafficError) as caught:
        read_trace(trace, [voice((("08:00", 1.0),))], DAY, TZ, 1)
    assert caught.value.code == "trace.bad_row"
    assert caught.value.message.startswith(f"{trace}:4: ")  # the blank line 3 still counts
    assert message in caught.value.message


def test_trace_header_errors(tmp_path: Path) -> None:
    traffic = [voice((("08:00", 1.0),))]
    with pytest.raises(TrafficError) as caught:
        read_trace(write(tmp_path / "a.csv", "time,queue,colour\n"), traffic, DAY, TZ, 1)
    assert caught.value.code == "trace.bad_header"
    assert "unknown column 'colour'" in str(caught.value)
    with pytest.raises(TrafficError) as caught:
        read_trace(write(tmp_path / "b.csv", "queue\nvoice\n"), traffic, DAY, TZ, 1)
    assert "missing column 'time'" in str(caught.value)
    with pytest.raises(TrafficError) as caught:
        read_trace(tmp_path / "absent.csv", traffic, DAY, TZ, 1)
    assert caught.value.code == "trace.not_found"


def test_written_trace_reads_back_the_same_contacts(tmp_path: Path) -> None:
    traffic = voice((("08:00", 200.0),), patience=Distribution("exponential", 60.0),
                    tiers=(("standard", 0.5), ("gold", 0.5)))
    arrivals = generate_arrivals([traffic], DAY, TZ, local_time(DAY, "09:00", TZ), 11)
    path = tmp_path / "out.csv"
    assert write_trace(path, arrivals, DAY, TZ) == len(arrivals)
    back = read_trace(path, [traffic], DAY, TZ, seed=99)
    assert [(a.contact_id, a.tier) for a in back] == [(a.contact_id, a.tier) for a in arrivals]
    for a, b in zip(arrivals, back, strict=True):
        assert b.at == pytest.approx(a.at, abs=1e-3)
        assert b.handle_s == pytest.approx(a.handle_s, abs=1e-3)
        assert b.patience_s == pytest.approx(a.patience_s, abs=1e-3)


def test_schedule_spreads_breaks_and_ends_each_shift() -> None:
    group = AgentGroup("team", 4, {"sales": 5}, None, ("08:00", "16:00"),
                       (Break("10:00", 15.0), Break("15:50", 30.0, "lunch")), spread_min=20)
    steps = agent_schedule([group], DAY, TZ)
    ten = local_time(DAY, "10:00", TZ)
    breaks = sorted((s.at - ten, s.agent_id) for s in steps if s.kind == "break" and
                    s.reason == "break")
    assert breaks == [(0.0, "team-001"), (300.0, "team-002"), (600.0, "team-003"),
                      (900.0, "team-004")]
    # A break spread past the end of the shift is dropped (15:50 + 10 min = 16:00).
    lunches = [s.agent_id for s in steps if s.reason == "lunch"]
    assert lunches == ["team-001", "team-002"]
    assert [s.kind for s in steps].count("login") == 4
    assert [s.kind for s in steps].count("logout") == 4
    assert steps == sorted(steps)


def test_local_times_follow_the_dst_wall_clock() -> None:
    day = date(2026, 3, 29)  # Europe/Berlin springs forward at 02:00
    assert local_time(day, "04:00", "Europe/Berlin") - local_time(day, "00:00",
                                                                  "Europe/Berlin") == 3 * 3600
    with pytest.raises(TrafficError, match="expected a local time"):
        local_time(day, "25:00", "Europe/Berlin")
