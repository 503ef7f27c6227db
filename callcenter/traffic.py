"""The traffic model: who calls, when, for how long, how patiently, and who answers.

Shared by the simulator (``callcenter simulate``, ``callcenter whatif``) and meant
for the live demo and the load generator. Pure and deterministic: every random
draw comes from a ``random.Random`` seeded by the caller, and no clock is read.

* **Arrivals** per queue: a Poisson process whose rate is piecewise constant over
  the local day (a time-of-day profile, arrivals per hour from a local time until
  the next one), or the replay of a CSV trace (:func:`read_trace`; a bad row is a
  :class:`TrafficError` ``trace.bad_row`` naming ``file:line``).
* **Per contact** the model draws, at arrival, its handle time (exponential or
  lognormal), its patience (exponential, lognormal or none) and its tier (the
  key-account mix), so the same trace means the same customers whatever the
  routing does (common random numbers for what-if comparisons).
* **Agents** come in groups with skills, per-channel capacity, a shift and breaks
  (:func:`agent_schedule` turns groups into timed log-in, break and log-out steps).

Times inside the model are UTC seconds; configuration gives local ``HH:MM`` on the
simulated day, converted with :func:`local_time`.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from callcenter.errors import CallCenterError
from routing.model import CHANNELS, TIERS, Channel, Tier

__all__ = [
    "AgentGroup",
    "Arrival",
    "Break",
    "Distribution",
    "QueueTraffic",
    "ScheduleStep",
    "TrafficError",
    "agent_schedule",
    "day_start",
    "generate_arrivals",
    "local_time",
    "parse_agent_group",
    "parse_distribution",
    "parse_queue_traffic",
    "read_trace",
    "write_trace",
]

TRACE_COLUMNS = ("time", "queue", "channel", "tier", "handle_s", "patience_s", "contact_id")


class TrafficError(CallCenterError):
    """Unusable traffic input. Codes: ``sim.invalid_config`` (a scenario or policy
    value, with its path), ``trace.bad_row`` (a trace row, with ``file:line``),
    ``trace.bad_header``, ``trace.not_found``."""

    code = "sim.invalid_config"
    status = 422


def _bad(path: str, message: str) -> TrafficError:
    return TrafficError(f"{path}: {message}")


# --------------------------------------------------------------------------- time


def day_start(day: date, time_zone: str | ZoneInfo) -> float:
    """UTC seconds of local midnight starting ``day``."""
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    return datetime.combine(day, time(0), tz).timestamp()


def local_time(day: date, text: str, time_zone: str | ZoneInfo, path: str = "time") -> float:
    """UTC seconds of local wall-clock ``HH:MM[:SS]`` on ``day`` (``24:00`` is midnight
    after it). On a DST day the wall clock is honoured (a 23 or 25 hour day)."""
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    parts = str(text).split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        hour, minute = int(parts[0]), int(parts[1])
        second = float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        raise _bad(path, f"expected a local time HH:MM, got {text!r}") from None
    if (hour, minute, second) == (24, 0, 0.0):
        return datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise _bad(path, f"expected a local time HH:MM, got {text!r}")
    whole = int(second)
    clock = time(hour, minute, whole, round((second - whole) * 1e6) % 1_000_000)
    return datetime.combine(day, clock, tz).timestamp()


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True, slots=True)
class Distribution:
    """A positive random duration: ``exponential`` (mean), ``lognormal`` (mean and
    standard deviation, both of the duration itself), ``fixed``, or ``none``
    (infinite: a customer who never hangs up)."""

    kind: Literal["exponential", "lognormal", "fixed", "none"]
    mean_s: float = math.inf
    sd_s: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean_s)
        if self.kind == "lognormal":
            # Moments of the duration -> parameters of its logarithm.
            sigma2 = math.log1p((self.sd_s / self.mean_s) ** 2)
            mu = math.log(self.mean_s) - sigma2 / 2.0
            return rng.lognormvariate(mu, math.sqrt(sigma2))
        if self.kind == "fixed":
            return self.mean_s
        return math.inf

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dist": self.kind}
        if self.kind != "none":
            out["mean_s"] = self.mean_s
        if self.kind == "lognormal":
            out["sd_s"] = self.sd_s
        return out


NO_PATIENCE = Distribution("none")


def _number(path: str, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _bad(path, f"expected a number, got {value!r}")
    if positive and value <= 0:
        raise _bad(path, f"must be positive, got {value!r}")
    if value < 0:
        raise _bad(path, f"must not be negative, got {value!r}")
    return float(value)


def _table(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(path, f"expected a table, got {value!r}")
    return value


def _known(path: str, data: Mapping[str, Any], keys: Iterable[str]) -> None:
    allowed = set(keys)
    for key in data:
        if key not in allowed:
            raise _bad(f"{path}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})")


def parse_distribution(path: str, data: Any) -> Distribution:
    """``{dist = "exponential", mean_s = 180}``, ``{dist = "lognormal", mean_s, sd_s}``,
    ``{dist = "fixed", mean_s}`` or ``{dist = "none"}``."""
    table = _table(path, data)
    _known(path, table, ("dist", "mean_s", "sd_s"))
    kind = table.get("dist", "exponential")
    if kind == "none":
        return NO_PATIENCE
    if kind not in ("exponential", "lognormal", "fixed"):
        raise _bad(f"{path}.dist", f"expected exponential, lognormal, fixed or none, got {kind!r}")
    if "mean_s" not in table:
        raise _bad(f"{path}.mean_s", "missing")
    mean = _number(f"{path}.mean_s", table["mean_s"])
    sd = 0.0
    if kind == "lognormal":
        if "sd_s" not in table:
            raise _bad(f"{path}.sd_s", "missing (lognormal needs mean_s and sd_s)")
        sd = _number(f"{path}.sd_s", table["sd_s"])
    return Distribution(kind, mean, sd)


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True, slots=True)
class QueueTraffic:
    """The traffic of one queue: its arrival profile and the contacts' properties.

    ``profile`` is ``(local "HH:MM", arrivals per hour)`` pairs in time order: each
    rate holds from its time until the next entry (the last one until the end of
    the simulated traffic window).
    """

    queue: str
    channel: Channel
    profile: tuple[tuple[str, float], ...]
    handle: Distribution
    patience: Distribution = NO_PATIENCE
    #: Tier -> share of the contacts (normalised; default: all standard).
    tiers: tuple[tuple[Tier, float], ...] = (("standard", 1.0),)

    def draw_tier(self, rng: random.Random) -> Tier:
        if len(self.tiers) == 1:
            return self.tiers[0][0]
        u = rng.random() * sum(share for _, share in self.tiers)
        for tier, share in self.tiers:
            u -= share
            if u < 0:
                return tier
        return self.tiers[-1][0]


def parse_queue_traffic(path: str, name: str, channel: Channel, data: Mapping[str, Any]
                        ) -> QueueTraffic:
    """The traffic keys of a ``[[queues]]`` table: ``arrivals``, ``handle``,
    ``patience``, ``tiers`` (other keys belong to the queue's routing config)."""
    raw = data.get("arrivals", [])
    if not isinstance(raw, list):
        raise _bad(f"{path}.arrivals", 'expected a list of ["HH:MM", per_hour] pairs')
    profile: list[tuple[str, float]] = []
    for i, item in enumerate(raw):
        where = f"{path}.arrivals[{i}]"
        if not isinstance(item, list | tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise _bad(where, f'expected ["HH:MM", per_hour], got {item!r}')
        _number(where, item[1], positive=False)
        profile.append((item[0], float(item[1])))
    if "handle" not in data:
        raise _bad(f"{path}.handle", "missing (e.g. { dist = \"exponential\", mean_s = 180 })")
    handle = parse_distribution(f"{path}.handle", data["handle"])
    if handle.kind == "none":
        raise _bad(f"{path}.handle.dist", "a handle time cannot be none")
    patience = parse_distribution(f"{path}.patience", data.get("patience", {"dist": "none"}))
    tiers_raw = _table(f"{path}.tiers", data.get("tiers", {"standard": 1.0}))
    tiers: list[tuple[Tier, float]] = []
    for tier_name, share in tiers_raw.items():
        tier = _tier(f"{path}.tiers.{tier_name}", tier_name)
        value = _number(f"{path}.tiers.{tier_name}", share, positive=False)
        if value > 0:
            tiers.append((tier, value))
    if not tiers:
        raise _bad(f"{path}.tiers", "needs at least one tier with a positive share")
    return QueueTraffic(name, channel, tuple(profile), handle, patience, tuple(tiers))


def _tier(path: str, value: Any) -> Tier:
    for tier in TIERS:
        if value == tier:
            return tier
    raise _bad(path, f"unknown tier {value!r} (tiers: {', '.join(TIERS)})")


def _channel(path: str, value: Any) -> Channel:
    for channel in CHANNELS:
        if value == channel:
            return channel
    raise _bad(path, f"unknown channel {value!r} (channels: {', '.join(CHANNELS)})")


# --------------------------------------------------------------------------- arrivals


@dataclass(frozen=True, slots=True)
class Arrival:
    """One contact of the traffic, fully drawn: when, where, who, how long, how patient.

    ``handle_s`` is the talk time (hold included); the queue's wrap-up comes on top.
    ``patience_s`` is ``inf`` for a customer who never hangs up.
    """

    at: float
    contact_id: str
    queue: str
    channel: Channel
    tier: Tier
    handle_s: float
    patience_s: float


def _segments(traffic: QueueTraffic, day: date, tz: ZoneInfo, end: float,
              path: str) -> list[tuple[float, float, float]]:
    """(start, stop, rate per second) pieces of the profile, cut at ``end``."""
    starts = [local_time(day, t, tz, f"{path}.arrivals[{i}]")
              for i, (t, _) in enumerate(traffic.profile)]
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            raise _bad(f"{path}.arrivals[{i}]", "times must increase")
    pieces = []
    for i, (start, (_, per_hour)) in enumerate(zip(starts, traffic.profile, strict=True)):
        stop = min(end, starts[i + 1] if i + 1 < len(starts) else end)
        if stop > start and per_hour > 0:
            pieces.append((start, stop, per_hour / 3600.0))
    return pieces


def generate_arrivals(queues: Sequence[QueueTraffic], day: date, time_zone: str | ZoneInfo,
                      end: float, seed: int | str) -> list[Arrival]:
    """Poisson arrivals of every queue on ``day`` until ``end`` (UTC seconds), sorted.

    Each queue draws from its own generator seeded by ``(seed, queue)``, so adding
    a queue does not change the others' traffic. Within a constant-rate piece the
    gaps are exponential; at a rate change the process restarts, which is exact
    for a Poisson process (memoryless).
    """
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    out: list[Arrival] = []
    for index, traffic in enumerate(queues):
        rng = random.Random(f"arrivals:{seed}:{traffic.queue}")
        path = f"queues[{index}]"
        n = 0
        for start, stop, rate in _segments(traffic, day, tz, end, path):
            at = start + rng.expovariate(rate)
            while at < stop:
                n += 1
                out.append(_draw(traffic, at, f"{traffic.queue}-{n:06d}", rng))
                at += rng.expovariate(rate)
    out.sort(key=lambda a: (a.at, a.contact_id))
    return out


def _draw(traffic: QueueTraffic, at: float, contact_id: str, rng: random.Random,
          tier: Tier | None = None, handle_s: float | None = None,
          patience_s: float | None = None) -> Arrival:
    # Always draw all three, so a given value in a trace does not shift the others.
    drawn_tier = traffic.draw_tier(rng)
    drawn_handle = traffic.handle.sample(rng)
    drawn_patience = traffic.patience.sample(rng)
    return Arrival(
        at, contact_id, traffic.queue, traffic.channel,
        tier if tier is not None else drawn_tier,
        handle_s if handle_s is not None else drawn_handle,
        patience_s if patience_s is not None else drawn_patience,
    )


# --------------------------------------------------------------------------- traces


def _trace_error(where: str, message: str, code: str = "trace.bad_row") -> TrafficError:
    return TrafficError(f"{where}: {message}", code=code, status=422)


def _trace_time(text: str, day: date, tz: ZoneInfo, where: str) -> float:
    """Seconds since local midnight (a number), local ``HH:MM[:SS]`` on the simulated
    day, or an ISO 8601 date-time with offset."""
    text = text.strip()
    try:
        return day_start(day, tz) + float(text)
    except ValueError:
        pass
    if "T" in text or (" " in text and "-" in text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _trace_error(where, f"time {text!r} is not an ISO date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return moment.timestamp()
    try:
        return local_time(day, text, tz, "time")
    except TrafficError:
        raise _trace_error(where, f"time {text!r}: expected seconds since local midnight, "
                                  "HH:MM[:SS] or an ISO date-time") from None


def _optional_float(text: str | None, name: str, where: str) -> float | None:
    if text is None or text.strip() == "":
        return None
    if text.strip().lower() in ("inf", "none"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise _trace_error(where, f"{name} {text!r} is not a number") from None
    if not value > 0 or value != value:
        raise _trace_error(where, f"{name} must be positive, got {text!r}")
    return value


def read_trace(path: Path, queues: Sequence[QueueTraffic], day: date,
               time_zone: str | ZoneInfo, seed: int | str) -> list[Arrival]:
    """Arrivals replayed from a CSV trace (header row; see ``TRACE_COLUMNS``).

    ``time`` and ``queue`` are required; ``channel`` must match the queue's if
    given; ``tier``, ``handle_s`` and ``patience_s`` are drawn from the queue's
    traffic model (seeded by ``seed``) when missing or empty. The first bad row
    raises :class:`TrafficError` ``trace.bad_row`` with ``file:line``.
    """
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    by_name = {q.queue: q for q in queues}
    rng = random.Random(f"trace:{seed}")
    first_s, last_s = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    out: list[Arrival] = []
    seen: set[str] = set()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise _trace_error(str(path), f"cannot read the trace: {exc.strerror or exc}",
                           "trace.not_found") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise _trace_error(f"{path}:1", "empty trace: expected a header row",
                               "trace.bad_header") from None
        unknown = [h for h in header if h not in TRACE_COLUMNS]
        missing = [h for h in ("time", "queue") if h not in header]
        if unknown or missing:
            what = (f"unknown column {unknown[0]!r}" if unknown
                    else f"missing column {missing[0]!r}")
            raise _trace_error(f"{path}:1", f"{what} (columns: {', '.join(TRACE_COLUMNS)})",
                               "trace.bad_header")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise _trace_error(where, f"expected {len(header)} fields, got {len(row)}")
            cells = dict(zip(header, row, strict=True))
            at = _trace_time(cells["time"], day, tz, where)
            if not first_s <= at < last_s:
                raise _trace_error(where, f"time {cells['time'].strip()!r} is not on the "
                                          f"simulated day {day.isoformat()} ({tz.key})")
            queue = by_name.get(cells["queue"].strip())
            if queue is None:
                raise _trace_error(where, f"unknown queue {cells['queue']!r} "
                                          f"(queues: {', '.join(by_name)})")
            channel = cells.get("channel", "").strip()
            if channel and channel != queue.channel:
                raise _trace_error(where, f"channel {channel!r} does not match queue "
                                          f"{queue.queue!r} ({queue.channel})")
            tier_text = cells.get("tier", "").strip()
            tier: Tier | None = None
            if tier_text:
                try:
                    tier = _tier("tier", tier_text)
                except TrafficError:
                    raise _trace_error(where, f"unknown tier {tier_text!r} "
                                              f"(tiers: {', '.join(TIERS)})") from None
            handle_s = _optional_float(cells.get("handle_s"), "handle_s", where)
            if handle_s == math.inf:
                raise _trace_error(where, "handle_s must be finite")
            patience_s = _optional_float(cells.get("patience_s"), "patience_s", where)
            contact_id = cells.get("contact_id", "").strip() or f"trace-{len(out) + 1:06d}"
            if contact_id in seen:
                raise _trace_error(where, f"duplicate contact_id {contact_id!r}")
            seen.add(contact_id)
            out.append(_draw(queue, at, contact_id, rng, tier, handle_s, patience_s))
    out.sort(key=lambda a: a.at)  # stable: rows with equal times keep file order
    return out


def write_trace(path: Path, arrivals: Iterable[Arrival], day: date,
                time_zone: str | ZoneInfo) -> int:
    """Write arrivals as a CSV trace (times in seconds since local midnight);
    returns the number of rows."""
    origin = day_start(day, time_zone)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRACE_COLUMNS)
        for a in arrivals:
            patience = "inf" if math.isinf(a.patience_s) else f"{a.patience_s:.3f}"
            writer.writerow([f"{a.at - origin:.3f}", a.queue, a.channel, a.tier,
                             f"{a.handle_s:.3f}", patience, a.contact_id])
            count += 1
    return count


# --------------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class Break:
    """A not-ready period: starts at local ``at`` (spread over the group), lasts
    ``minutes`` from the moment the agent is actually free to take it."""

    at: str
    minutes: float
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """``count`` agents with the same skills, capacity, shift and breaks.

    Breaks are spread: agent ``i`` of the group takes each break
    ``i * spread_min / count`` minutes after its nominal time, so a team does not
    leave all at once.
    """

    name: str
    count: int
    skills: Mapping[str, int]
    capacity: Mapping[str, int] | None = None
    shift: tuple[str, str] = ("00:00", "24:00")
    breaks: tuple[Break, ...] = ()
    spread_min: float = 60.0

    def agent_ids(self) -> list[str]:
        return [f"{self.name}-{i + 1:03d}" for i in range(self.count)]


def parse_agent_group(path: str, data: Mapping[str, Any]) -> AgentGroup:
    """One ``[[agents]]`` table: name, count, skills, capacity, shift, breaks, spread_min."""
    _known(path, data, ("name", "count", "skills", "capacity", "shift", "breaks", "spread_min"))
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"{path}.name", "missing")
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _bad(f"{path}.count", f"expected a whole number >= 0, got {count!r}")
    skills: dict[str, int] = {}
    for skill, level in _table(f"{path}.skills", data.get("skills", {})).items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise _bad(f"{path}.skills.{skill}", f"expected a level 1..10, got {level!r}")
        skills[str(skill)] = level
    capacity: dict[str, int] | None = None
    if "capacity" in data:
        capacity = {}
        for channel, slots in _table(f"{path}.capacity", data["capacity"]).items():
            _channel(f"{path}.capacity.{channel}", channel)
            if isinstance(slots, bool) or not isinstance(slots, int) or slots < 0:
                raise _bad(f"{path}.capacity.{channel}", f"expected a whole number >= 0, "
                                                         f"got {slots!r}")
            capacity[str(channel)] = slots
    shift_raw = data.get("shift", ["00:00", "24:00"])
    if (not isinstance(shift_raw, list | tuple) or len(shift_raw) != 2
            or not all(isinstance(s, str) for s in shift_raw)):
        raise _bad(f"{path}.shift", f'expected ["HH:MM", "HH:MM"], got {shift_raw!r}')
    breaks: list[Break] = []
    for i, item in enumerate(data.get("breaks", [])):
        where = f"{path}.breaks[{i}]"
        if (not isinstance(item, list | tuple) or len(item) not in (2, 3)
                or not isinstance(item[0], str)):
            raise _bad(where, f'expected ["HH:MM", minutes] or ["HH:MM", minutes, reason], '
                              f"got {item!r}")
        minutes = _number(where, item[1])
        reason = str(item[2]) if len(item) == 3 else "break"
        breaks.append(Break(item[0], minutes, reason))
    spread = _number(f"{path}.spread_min", data.get("spread_min", 60.0), positive=False)
    return AgentGroup(name, count, skills, capacity, (shift_raw[0], shift_raw[1]),
                      tuple(breaks), spread)


@dataclass(frozen=True, slots=True, order=True)
class ScheduleStep:
    """A timed change of one agent: ``login``, ``break`` (with its minutes and
    reason) or ``logout`` (end of shift: not ready, then logged out once free)."""

    at: float
    agent_id: str
    kind: Literal["login", "break", "logout"]
    minutes: float = 0.0
    reason: str = ""
    group: str = field(default="", compare=False)


def agent_schedule(groups: Sequence[AgentGroup], day: date, time_zone: str | ZoneInfo
                   ) -> list[ScheduleStep]:
    """Every agent's log-in, breaks and end of shift on ``day``, in time order."""
    tz = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    steps: list[ScheduleStep] = []
    for g_index, group in enumerate(groups):
        path = f"agents[{g_index}]"
        start = local_time(day, group.shift[0], tz, f"{path}.shift[0]")
        end = local_time(day, group.shift[1], tz, f"{path}.shift[1]")
        if end <= start:
            raise _bad(f"{path}.shift", "the shift must end after it starts")
        for i, agent_id in enumerate(group.agent_ids()):
            steps.append(ScheduleStep(start, agent_id, "login", group=group.name))
            offset = 60.0 * group.spread_min * i / group.count if group.count else 0.0
            for b_index, brk in enumerate(group.breaks):
                at = local_time(day, brk.at, tz, f"{path}.breaks[{b_index}]") + offset
                if start <= at < end:
                    steps.append(ScheduleStep(at, agent_id, "break", brk.minutes, brk.reason,
                                              group=group.name))
            steps.append(ScheduleStep(end, agent_id, "logout", group=group.name))
    steps.sort()
    return steps
