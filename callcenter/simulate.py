"""Discrete-event simulation of a contact-center day with the real routing engine.

``callcenter simulate --config-file sim.toml --seed S --out report.html [--json]``

The simulator drives :class:`routing.Router` on a simulated clock (UTC seconds,
never the wall clock) with the traffic of :mod:`callcenter.traffic`: arrivals,
agent log-ins, breaks and ends of shift, offers accepted (at once, or after a
ring time), conversations ending after their handle time, customers hanging up
when their patience runs out, and a ``Tick`` whenever the router has a timer due
(``Router.next_deadline()``: wrap-up ends, ring timeouts, relaxation steps,
overflow). The router's commands are interpreted, and fed to
:class:`callcenter.metrics.LiveMetrics` exactly as the server does, so the
per-queue figures are computed by the live server's code; each finished contact
also becomes a :class:`callcenter.reports.ContactFacts` record, and the interval
report is :func:`callcenter.reports.build_rows` over them (the server's report code).

Scenarios (queues, traffic, agents) and policies (strategy, tier head starts,
relaxation steps, staffing) are TOML or JSON files, documented with examples in
``docs/simulator.md`` and ``config/sim/``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.config import Config
from callcenter.errors import CallCenterError
from callcenter.metrics import Counts, LiveMetrics, figures
from callcenter.reports import ContactFacts, LegFacts, ReportRow, build_rows, to_csv
from callcenter.traffic import (
    AgentGroup,
    Arrival,
    Distribution,
    QueueTraffic,
    ScheduleStep,
    TrafficError,
    agent_schedule,
    day_start,
    generate_arrivals,
    local_time,
    parse_agent_group,
    parse_distribution,
    parse_queue_traffic,
    read_trace,
    write_trace,
)
from routing import (
    AgentLoggedIn,
    AgentLoggedOut,
    CancelOffer,
    Command,
    ContactAbandoned,
    ContactAbandonedRecorded,
    ContactArrived,
    ContactCompleted,
    ContactConnected,
    ContactEnded,
    ContactExited,
    ContactQueued,
    Event,
    Exit,
    OfferAccepted,
    OfferContact,
    Overflow,
    PresenceRequested,
    PresenceSet,
    QueueConfig,
    QueueConfigured,
    QueueExits,
    Relaxation,
    RequiredSkill,
    Router,
    RouterConfig,
    RoutingError,
    StartWrapUp,
    Tick,
)
from routing.model import STRATEGIES, TIERS, Strategy

__all__ = [
    "Policy",
    "QueueLengthSample",
    "Scenario",
    "SimResult",
    "SimulationError",
    "add_arguments",
    "confidence_interval",
    "load_policy",
    "load_scenario",
    "parse_policy",
    "parse_scenario",
    "replications",
    "run",
    "simulate",
    "t_quantile_975",
    "tier_figures",
    "window_figures",
]

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "config" / "sim" / "day.toml"
#: A missed offer leaves the agent not ready (DESIGN §3); the simulated agent
#: notices and makes itself available again after this long.
MISSED_RECOVERY_S = 10.0
#: How long after the last arrival the simulation keeps running to let contacts finish.
DEFAULT_DRAIN_S = 6 * 3600.0
END_OF_SHIFT = "end_of_shift"

# Order of simultaneous simulation events (lower first): staff changes, then
# conversations ending and offers being answered, then new arrivals, then hang-ups.
_AGENT, _BREAK_END, _END, _ACCEPT, _ARRIVAL, _ABANDON = range(6)


class SimulationError(CallCenterError):
    """The simulation could not run (``sim.*`` codes)."""

    code = "sim.failed"
    status = 500


# --------------------------------------------------------------------------- scenario


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a simulated day needs, routing policy included."""

    day: date
    time_zone: str
    #: Local ``HH:MM`` window of the Poisson arrivals (a trace brings its own times).
    traffic_window: tuple[str, str]
    queues: tuple[QueueConfig, ...]
    traffic: tuple[QueueTraffic, ...]
    agents: tuple[AgentGroup, ...]
    router: RouterConfig = field(default_factory=RouterConfig)
    #: Time an agent takes to answer an offer; None: at once (no ring time).
    ring: Distribution | None = None
    interval_min: int = 15
    seed: int = 1

    @property
    def start(self) -> float:
        return local_time(self.day, self.traffic_window[0], self.time_zone, "sim.traffic[0]")

    @property
    def end(self) -> float:
        return local_time(self.day, self.traffic_window[1], self.time_zone, "sim.traffic[1]")

    def sl_targets(self) -> dict[str, float]:
        return {q.name: q.sl_target_s for q in self.queues}

    def arrivals(self, seed: int | None = None) -> list[Arrival]:
        """The scenario's Poisson arrivals for ``seed`` (default: the scenario's)."""
        return generate_arrivals(self.traffic, self.day, self.time_zone, self.end,
                                 self.seed if seed is None else seed)

    def read_trace(self, path: Path, seed: int | None = None) -> list[Arrival]:
        return read_trace(path, self.traffic, self.day, self.time_zone,
                          self.seed if seed is None else seed)


def _bad(path: str, message: str) -> TrafficError:
    return TrafficError(f"{path}: {message}")


def _str(path: str, value: Any, choices: Sequence[str] | None = None) -> str:
    if not isinstance(value, str) or (choices is not None and value not in choices):
        expected = f"one of {', '.join(choices)}" if choices else "a string"
        raise _bad(path, f"expected {expected}, got {value!r}")
    return value


def _num(path: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise _bad(path, f"expected a number >= {minimum:g}, got {value!r}")
    return float(value)


def _strategy(path: str, value: Any) -> Strategy:
    for s in STRATEGIES:
        if value == s:
            return s
    raise _bad(path, f"expected one of {', '.join(STRATEGIES)}, got {value!r}")


def _relaxation(path: str, value: Any) -> tuple[Relaxation, ...]:
    if not isinstance(value, list):
        raise _bad(path, "expected a list of { after_s, skill, min_level } tables")
    steps = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping) or "after_s" not in item or "skill" not in item:
            raise _bad(where, "expected { after_s = N, skill = \"name\", min_level = L } "
                              "(no min_level: drop the skill)")
        level = item.get("min_level")
        if level is not None and (isinstance(level, bool) or not isinstance(level, int)
                                  or not 1 <= level <= 10):
            raise _bad(f"{where}.min_level", f"expected a level 1..10, got {level!r}")
        steps.append(Relaxation(_num(f"{where}.after_s", item["after_s"]),
                                _str(f"{where}.skill", item["skill"]), level))
    return tuple(steps)


_QUEUE_KEYS = ("name", "channel", "skills", "sl_target_s", "wrap_up_s", "ring_timeout_s",
               "strategy", "head_start_s", "priority_class", "relaxation", "overflow",
               "max_wait_s", "max_wait_exit", "max_attempts", "arrivals", "handle",
               "patience", "tiers")


def _queue(path: str, data: Any) -> tuple[QueueConfig, QueueTraffic]:
    if not isinstance(data, Mapping):
        raise _bad(path, "expected a table")
    for key in data:
        if key not in _QUEUE_KEYS:
            raise _bad(f"{path}.{key}", f"unknown key (known: {', '.join(_QUEUE_KEYS)})")
    name = _str(f"{path}.name", data.get("name"))
    channel = data.get("channel", "voice")
    traffic = parse_queue_traffic(path, name, _channel_of(f"{path}.channel", channel), data)
    skills = data.get("skills", {})
    if not isinstance(skills, Mapping):
        raise _bad(f"{path}.skills", "expected a table of skill = minimum level")
    required = tuple(RequiredSkill(str(s), int(_num(f"{path}.skills.{s}", lvl, 1)))
                     for s, lvl in skills.items())
    overflow = None
    if "overflow" in data:
        o = data["overflow"]
        if not isinstance(o, Mapping) or "after_s" not in o or "queue" not in o:
            raise _bad(f"{path}.overflow", "expected { after_s = N, queue = \"name\" }")
        overflow = Overflow(_num(f"{path}.overflow.after_s", o["after_s"]),
                            _str(f"{path}.overflow.queue", o["queue"]))
    exits = QueueExits()
    max_wait = None
    if "max_wait_s" in data:
        max_wait = _num(f"{path}.max_wait_s", data["max_wait_s"])
        kind = _str(f"{path}.max_wait_exit", data.get("max_wait_exit", "voicemail"),
                    ("voicemail", "auto_reply"))
        exits = QueueExits(max_wait=Exit("voicemail" if kind == "voicemail" else "auto_reply"))
    config = QueueConfig(
        name=name,
        channel=traffic.channel,
        priority_class=int(data.get("priority_class", 0)),
        head_start_s=_num(f"{path}.head_start_s", data.get("head_start_s", 0.0)),
        required_skills=required,
        sl_target_s=_num(f"{path}.sl_target_s", data.get("sl_target_s", 20.0)),
        ring_timeout_s=_num(f"{path}.ring_timeout_s", data.get("ring_timeout_s", 20.0), 0.001),
        wrap_up_s=_num(f"{path}.wrap_up_s", data.get("wrap_up_s", 0.0)),
        strategy=_strategy(f"{path}.strategy", data.get("strategy", "longest_idle")),
        relaxation=_relaxation(f"{path}.relaxation", data.get("relaxation", [])),
        overflow=overflow,
        max_wait_s=max_wait,
        max_attempts=int(_num(f"{path}.max_attempts", data.get("max_attempts", 3), 1)),
        exits=exits,
    )
    return config, traffic


def _channel_of(path: str, value: Any) -> Any:
    return _str(path, value, ("voice", "chat", "email", "callback"))


def parse_scenario(data: Mapping[str, Any], config: Config | None = None,
                   source: str = "scenario") -> Scenario:
    """A :class:`Scenario` from plain data (a parsed TOML or JSON file).

    Defaults for the time zone, head starts and short-abandon threshold come from
    the server ``config`` (``center.time_zone``, ``routing.*``), so a simulation
    answers for the center as configured.
    """
    config = config or Config()
    for key in data:
        if key not in ("sim", "routing", "queues", "agents"):
            raise _bad(f"{source}: {key}", "unknown section (known: sim, routing, queues, "
                                           "agents)")
    sim = data.get("sim", {})
    if not isinstance(sim, Mapping):
        raise _bad(f"{source}: sim", "expected a table")
    sim_keys = ("date", "time_zone", "traffic", "ring", "interval_min", "seed",
                "short_abandon_s")
    for key in sim:
        if key not in sim_keys:
            raise _bad(f"{source}: sim.{key}", f"unknown key (known: {', '.join(sim_keys)})")
    raw_day = sim.get("date", "2026-03-02")
    try:
        day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
    except ValueError:
        raise _bad(f"{source}: sim.date", f"expected YYYY-MM-DD, got {raw_day!r}") from None
    tz = _str(f"{source}: sim.time_zone", sim.get("time_zone", config.center.time_zone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"{source}: sim.time_zone", f"unknown time zone {tz!r}") from None
    window = sim.get("traffic", ["08:00", "20:00"])
    if not isinstance(window, list) or len(window) != 2:
        raise _bad(f"{source}: sim.traffic", 'expected ["HH:MM", "HH:MM"]')
    ring_raw = sim.get("ring", {"dist": "none"})
    ring = parse_distribution(f"{source}: sim.ring", ring_raw)
    interval = sim.get("interval_min", 15)
    if interval not in (15, 30, 60):
        raise _bad(f"{source}: sim.interval_min", f"expected 15, 30 or 60, got {interval!r}")
    seed = sim.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _bad(f"{source}: sim.seed", f"expected a whole number, got {seed!r}")
    routing = data.get("routing", {})
    if not isinstance(routing, Mapping):
        raise _bad(f"{source}: routing", "expected a table")
    head_starts = dict(config.routing.head_starts)
    for tier, seconds in dict(routing.get("head_starts", {})).items():
        if tier not in TIERS:
            raise _bad(f"{source}: routing.head_starts.{tier}", "unknown tier")
        head_starts[tier] = _num(f"{source}: routing.head_starts.{tier}", seconds)
    for tier in TIERS:
        head_starts.setdefault(tier, 0.0)
    router = RouterConfig(
        head_starts=head_starts,
        reject_exclusion_s=_num(f"{source}: routing.reject_exclusion_s",
                                routing.get("reject_exclusion_s",
                                            config.routing.reject_exclusion_s)),
        short_abandon_s=_num(f"{source}: sim.short_abandon_s",
                             sim.get("short_abandon_s", config.routing.short_abandon_s)),
    )
    queues_raw = data.get("queues", [])
    if not isinstance(queues_raw, list) or not queues_raw:
        raise _bad(f"{source}: queues", "expected at least one [[queues]] table")
    parsed = [_queue(f"{source}: queues[{i}]", q) for i, q in enumerate(queues_raw)]
    names = [q.name for q, _ in parsed]
    if len(set(names)) != len(names):
        raise _bad(f"{source}: queues", "queue names must be unique")
    for i, (q, _) in enumerate(parsed):
        if q.overflow is not None and (q.overflow.queue not in names
                                       or q.overflow.queue == q.name):
            raise _bad(f"{source}: queues[{i}].overflow.queue",
                       f"must name another queue of the scenario, got {q.overflow.queue!r}")
    agents_raw = data.get("agents", [])
    if not isinstance(agents_raw, list):
        raise _bad(f"{source}: agents", "expected [[agents]] tables")
    groups = tuple(parse_agent_group(f"{source}: agents[{i}]", g)
                   for i, g in enumerate(agents_raw))
    scenario = Scenario(day, tz, (str(window[0]), str(window[1])),
                        tuple(q for q, _ in parsed), tuple(t for _, t in parsed), groups,
                        router, None if ring.kind == "none" else ring, int(interval), seed)
    if scenario.end <= scenario.start:
        raise _bad(f"{source}: sim.traffic", "the window must end after it starts")
    agent_schedule(groups, day, tz)  # checks shift and break times
    return scenario


def _read_data(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrafficError(f"{path}: cannot read the {what}: {exc.strerror or exc}",
                           code="sim.file_not_found") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise TrafficError(f"{path}: not valid {path.suffix[1:] or 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise TrafficError(f"{path}: expected a table at the top level")
    return data


def load_scenario(path: Path, config: Config | None = None) -> Scenario:
    """Read a scenario file (TOML, or JSON by its ``.json`` suffix)."""
    return parse_scenario(_read_data(path, "scenario"), config, str(path))


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class Policy:
    """A routing policy to try: applied on top of a scenario by :meth:`apply`.

    ``strategy`` replaces every queue's selection strategy; ``head_starts`` the
    tier boosts (seconds, merged over the scenario's); ``queues`` per-queue
    overrides (``strategy``, ``head_start_s``, ``relaxation``, ``wrap_up_s``,
    ``sl_target_s``); ``staffing`` agents per group (a count replaces the group's).
    """

    name: str
    strategy: Strategy | None = None
    head_starts: Mapping[str, float] = field(default_factory=dict)
    queues: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    staffing: Mapping[str, int] = field(default_factory=dict)

    def apply(self, scenario: Scenario) -> Scenario:
        names = {q.name for q in scenario.queues}
        for queue in self.queues:
            if queue not in names:
                raise _bad(f"policy {self.name}: queues.{queue}", "unknown queue")
        groups = {g.name for g in scenario.agents}
        for group in self.staffing:
            if group not in groups:
                raise _bad(f"policy {self.name}: staffing.{group}",
                           f"unknown agent group (groups: {', '.join(sorted(groups))})")
        queues = []
        for q in scenario.queues:
            changes: dict[str, Any] = {}
            if self.strategy is not None:
                changes["strategy"] = self.strategy
            changes.update(self.queues.get(q.name, {}))
            queues.append(replace(q, **changes))
        router = replace(scenario.router,
                         head_starts={**scenario.router.head_starts, **self.head_starts})
        agents = tuple(replace(g, count=self.staffing.get(g.name, g.count))
                       for g in scenario.agents)
        return replace(scenario, queues=tuple(queues), router=router, agents=agents)

    def describe(self) -> str:
        parts = []
        if self.strategy:
            parts.append(f"strategy={self.strategy}")
        if self.head_starts:
            parts.append("boosts " + ",".join(f"{k}={v:g}s" for k, v in self.head_starts.items()))
        for queue, changes in self.queues.items():
            parts.append(f"{queue}: " + ",".join(sorted(changes)))
        if self.staffing:
            parts.append("staff " + ",".join(f"{k}={v}" for k, v in self.staffing.items()))
        return "; ".join(parts) or "scenario as configured"


_POLICY_QUEUE_KEYS = ("strategy", "head_start_s", "relaxation", "wrap_up_s", "sl_target_s")


def parse_policy(data: Mapping[str, Any], default_name: str, source: str = "policy") -> Policy:
    """A :class:`Policy` from plain data (see ``docs/simulator.md``)."""
    known = ("name", "strategy", "head_starts", "queues", "staffing")
    for key in data:
        if key not in known:
            raise _bad(f"{source}: {key}", f"unknown key (known: {', '.join(known)})")
    name = _str(f"{source}: name", data.get("name", default_name))
    strategy = (_strategy(f"{source}: strategy", data["strategy"])
                if "strategy" in data else None)
    head_starts: dict[str, float] = {}
    for tier, seconds in dict(data.get("head_starts", {})).items():
        if tier not in TIERS:
            raise _bad(f"{source}: head_starts.{tier}", f"unknown tier (tiers: {', '.join(TIERS)})")
        head_starts[tier] = _num(f"{source}: head_starts.{tier}", seconds)
    queues: dict[str, dict[str, Any]] = {}
    for queue, table in dict(data.get("queues", {})).items():
        where = f"{source}: queues.{queue}"
        if not isinstance(table, Mapping):
            raise _bad(where, "expected a table")
        changes: dict[str, Any] = {}
        for key, value in table.items():
            if key == "strategy":
                changes[key] = _strategy(f"{where}.strategy", value)
            elif key == "relaxation":
                changes[key] = _relaxation(f"{where}.relaxation", value)
            elif key in _POLICY_QUEUE_KEYS:
                changes[key] = _num(f"{where}.{key}", value)
            else:
                known_keys = ", ".join(_POLICY_QUEUE_KEYS)
                raise _bad(f"{where}.{key}", f"unknown key (known: {known_keys})")
        queues[str(queue)] = changes
    staffing: dict[str, int] = {}
    for group, count in dict(data.get("staffing", {})).items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _bad(f"{source}: staffing.{group}",
                       f"expected a whole number >= 0, got {count!r}")
        staffing[str(group)] = count
    return Policy(name, strategy, head_starts, queues, staffing)


def _inline_policy(text: str, default_name: str) -> Policy:
    """``strategy=most_skilled,boost.key=120,staff.voice=40,name=B`` (see docs)."""
    data: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise _bad(f"policy {text!r}", f"expected key=value, got {item!r}")
        head, _, rest = key.partition(".")
        number: Any
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = value
        if head in ("name", "strategy") and not rest:
            data[head] = value
        elif head in ("boost", "head_starts") and rest:
            data.setdefault("head_starts", {})[rest] = number
        elif head in ("staff", "staffing") and rest:
            data.setdefault("staffing", {})[rest] = number
        elif head == "queue" and rest.count(".") == 1:
            queue, _, qkey = rest.partition(".")
            data.setdefault("queues", {}).setdefault(queue, {})[qkey] = number
        else:
            raise _bad(f"policy {text!r}", f"unknown key {key!r} (name, strategy, boost.TIER, "
                                           "staff.GROUP, queue.QUEUE.KEY)")
    return parse_policy(data, default_name, f"policy {text!r}")


def load_policy(spec: str, default_name: str) -> Policy:
    """A policy from a TOML/JSON file path, or inline ``key=value,...`` text."""
    path = Path(spec)
    if path.suffix in (".toml", ".json") or path.is_file():
        return parse_policy(_read_data(path, "policy"), path.stem, str(path))
    return _inline_policy(spec, default_name)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, slots=True)
class QueueLengthSample:
    """Contacts waiting (queued or alerting) per queue at ``at``."""

    at: float
    waiting: Mapping[str, int]


@dataclass(slots=True)
class _Contact:
    arrival: Arrival
    state: str = "new"  # new, waiting, alerting, connected, wrap_up, done
    queue: str = ""
    first_queue: str | None = None
    queued_at: float | None = None
    agent_id: str | None = None
    offer_no: int = 0
    alerting_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wait_s: float = 0.0
    outcome: str = ""
    done_at: float | None = None
    wrap_up_s: float = 0.0


@dataclass(slots=True)
class _Agent:
    group: str
    skills: dict[str, int]
    capacity: dict[str, int] | None
    online: bool = False
    leaving: bool = False
    break_minutes: float = 0.0
    break_reason: str = ""
    #: Only the latest scheduled return to `available` counts (a break that starts
    #: replaces the return from a missed offer, and vice versa).
    resume_token: int = 0


@dataclass(slots=True)
class SimResult:
    """What one simulated day produced.

    ``live`` is the :class:`LiveMetrics` fed during the run (the dashboard's
    figures); ``contacts`` the finished contacts as report records with their
    tiers; ``samples`` the queue lengths over the day; ``unfinished`` contacts
    still open when the run stopped (not in the figures).
    """

    scenario: Scenario
    live: LiveMetrics
    contacts: list[ContactFacts]
    tiers: dict[str, str]
    samples: list[QueueLengthSample]
    end: float
    events: int
    unfinished: int

    @property
    def now(self) -> float:
        """The instant the figures are read at: the end of the run, inside the day."""
        _, day_end = _day_bounds(self.scenario)
        return min(self.end, day_end - 0.001)

    def queue_stats(self) -> dict[str, dict[str, Any]]:
        """The live dashboard's per-queue figures at the end of the run."""
        return self.live.queue_stats(self.now)

    def interval_rows(self, group_by: str = "queue", interval: int | None = None,
                      sl_targets: Mapping[str, float] | float | None = None) -> list[ReportRow]:
        """The interval report (the server's ``build_rows``) over the finished contacts."""
        targets = self.scenario.sl_targets() if sl_targets is None else sl_targets
        minutes = interval or self.scenario.interval_min
        return build_rows(self.contacts, self.scenario.time_zone,
                          15 if minutes == 15 else 30 if minutes == 30 else 60,
                          "channel" if group_by == "channel" else "queue", targets)


def _day_bounds(scenario: Scenario) -> tuple[float, float]:
    start = day_start(scenario.day, scenario.time_zone)
    return start, day_start(scenario.day + timedelta(days=1), scenario.time_zone)


ProgressFn = Callable[[float], None]


class _Run:
    """One simulated day: the event heap, the router, the metrics, the records."""

    def __init__(self, scenario: Scenario, arrivals: Sequence[Arrival], seed: int,
                 sample_s: float, drain_s: float, progress: ProgressFn | None) -> None:
        self.scenario = scenario
        self.router = Router(scenario.router)
        # The metrics' clock (read only by a Prometheus scrape) is the simulated one.
        self.live = LiveMetrics(scenario.time_zone, scenario.sl_targets(),
                                scenario.router.short_abandon_s, clock=self._now)
        self.rng = random.Random(f"sim:{seed}")
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.pending: deque[Event] = deque()
        self.contacts: dict[str, _Contact] = {}
        self.finished: list[ContactFacts] = []
        self.agents: dict[str, _Agent] = {}
        self.waiting = {q.name: 0 for q in scenario.queues}
        self.where: dict[str, str] = {}
        self.samples: list[QueueLengthSample] = []
        self.sample_s = sample_s
        self.progress = progress
        self.events = 0
        last = arrivals[-1].at if arrivals else scenario.end
        self.stop_at = max(last, scenario.end) + drain_s
        origin = day_start(scenario.day, scenario.time_zone)
        for queue in _overflow_targets_first(scenario.queues):
            try:
                self._handle(QueueConfigured(origin, queue))
            except SimulationError as exc:
                raise TrafficError(f"queue {queue.name}: {exc.message}") from None
        for step in agent_schedule(scenario.agents, scenario.day, scenario.time_zone):
            self._push(step.at, _AGENT, step)
        for group in scenario.agents:
            for agent_id in group.agent_ids():
                self.agents[agent_id] = _Agent(group.name, dict(group.skills),
                                               dict(group.capacity) if group.capacity else None)
        for arrival in arrivals:
            self._push(arrival.at, _ARRIVAL, arrival)
        first = min((e[0] for e in self.heap), default=scenario.start)
        self.next_sample = min(first, scenario.start)

    def _now(self) -> float:
        now = self.router.now
        return now if now is not None else day_start(self.scenario.day, self.scenario.time_zone)

    def _push(self, at: float, kind: int, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, kind, self.seq, payload))

    # ------------------------------------------------------------------ loop

    def run(self) -> SimResult:
        heap = self.heap
        router = self.router
        now = self.next_sample
        report_every = 0
        while heap:
            at = heap[0][0]
            deadline = router.next_deadline()
            if deadline is not None and deadline < at:
                at = deadline
                if at > self.stop_at:
                    break
                self._sample_until(at)
                self._handle(Tick(at))
            else:
                if at > self.stop_at:
                    break
                self._sample_until(at)
                _, kind, _, payload = heapq.heappop(heap)
                self._step(at, kind, payload)
            now = at
            report_every += 1
            if self.progress is not None and report_every >= 2000:
                report_every = 0
                self.progress(now)
        # Timers still due after the last simulation event (wrap-ups, relaxation).
        while (deadline := router.next_deadline()) is not None and deadline <= self.stop_at:
            self._sample_until(deadline)
            self._handle(Tick(deadline))
            now = deadline
        self._sample_until(now)
        if self.progress is not None:
            self.progress(now)
        unfinished = sum(1 for c in self.contacts.values() if c.state != "done")
        return SimResult(self.scenario, self.live, self.finished,
                         {c.arrival.contact_id: c.arrival.tier for c in self.contacts.values()},
                         self.samples, now, self.events, unfinished)

    def _sample_until(self, at: float) -> None:
        while self.next_sample <= at:
            self.samples.append(QueueLengthSample(self.next_sample, dict(self.waiting)))
            self.next_sample += self.sample_s

    def _step(self, at: float, kind: int, payload: Any) -> None:
        if kind == _ARRIVAL:
            a: Arrival = payload
            c = _Contact(a)
            self.contacts[a.contact_id] = c
            self._handle(ContactArrived(at, a.contact_id, a.queue, a.channel, a.tier))
            if a.patience_s != math.inf and c.state in ("waiting", "alerting"):
                self._push(at + a.patience_s, _ABANDON, a.contact_id)
        elif kind == _ABANDON:
            c = self.contacts[payload]
            if c.state in ("waiting", "alerting"):
                self._handle(ContactAbandoned(at, payload))
        elif kind == _END:
            c = self.contacts[payload]
            if c.state == "connected":
                self._handle(ContactEnded(at, payload))
        elif kind == _ACCEPT:
            contact_id, agent_id, offer_no = payload
            c = self.contacts[contact_id]
            if c.state == "alerting" and c.agent_id == agent_id and c.offer_no == offer_no:
                self._handle(OfferAccepted(at, contact_id, agent_id))
        elif kind == _BREAK_END:
            agent_id, token = payload
            agent = self.agents[agent_id]
            if agent.online and not agent.leaving and token == agent.resume_token:
                self._handle(PresenceRequested(at, agent_id, "available"))
        else:
            self._schedule_step(at, payload)

    def _schedule_step(self, at: float, step: ScheduleStep) -> None:
        agent = self.agents[step.agent_id]
        if step.kind == "login":
            agent.online, agent.leaving = True, False
            queues = [q.name for q in self.scenario.queues if self._staffs(agent, q)]
            self.live.set_agent_queues(step.agent_id, queues, at)
            self._handle(AgentLoggedIn(at, step.agent_id, agent.skills, agent.capacity))
        elif not agent.online or agent.leaving:
            return
        elif step.kind == "break":
            agent.break_minutes, agent.break_reason = step.minutes, step.reason
            self._handle(PresenceRequested(at, step.agent_id, "not_ready", step.reason))
        else:
            agent.leaving = True
            self._handle(PresenceRequested(at, step.agent_id, "not_ready", END_OF_SHIFT))

    def _staffs(self, agent: _Agent, queue: QueueConfig) -> bool:
        capacity = agent.capacity
        slots = (capacity.get(queue.channel, 0) if capacity is not None
                 else self.scenario.router.default_capacity.get(queue.channel, 0))
        return slots > 0 and all(agent.skills.get(r.skill, 0) >= r.min_level
                                 for r in queue.required_skills)

    # ------------------------------------------------------- router in, commands out

    def _handle(self, event: Event) -> None:
        pending = self.pending
        pending.append(event)
        while pending:
            e = pending.popleft()
            self.events += 1
            try:
                commands = self.router.handle(e)
            except RoutingError as exc:
                raise SimulationError(f"the router refused {e!r}: [{exc.code}] {exc}",
                                      code="sim.router_refused") from exc
            for command in commands:
                self._apply(command)

    def _apply(self, cmd: Command) -> None:
        """Interpret one router command: the simulated world reacts, metrics are fed."""
        live = self.live
        if isinstance(cmd, OfferContact):
            c = self.contacts[cmd.contact_id]
            c.state, c.agent_id, c.alerting_at = "alerting", cmd.agent_id, cmd.at
            c.offer_no += 1
            live.contact_offered(cmd.at, cmd.contact_id, cmd.agent_id)
            ring = self.scenario.ring
            if ring is None:
                self.pending.append(OfferAccepted(cmd.at, cmd.contact_id, cmd.agent_id))
            else:
                self._push(cmd.at + ring.sample(self.rng), _ACCEPT,
                           (cmd.contact_id, cmd.agent_id, c.offer_no))
        elif isinstance(cmd, ContactConnected):
            c = self.contacts[cmd.contact_id]
            c.state, c.answered_at, c.wait_s = "connected", cmd.at, cmd.waited_s
            c.agent_id = cmd.agent_id
            self._not_waiting(cmd.contact_id)
            live.contact_answered(cmd.at, cmd.contact_id, cmd.agent_id, cmd.waited_s)
            self._push(cmd.at + c.arrival.handle_s, _END, cmd.contact_id)
        elif isinstance(cmd, ContactQueued):
            c = self.contacts[cmd.contact_id]
            if c.first_queue is None:
                c.first_queue, c.queued_at = cmd.queue, cmd.at
            c.state, c.queue = "waiting", cmd.queue
            previous = self.where.get(cmd.contact_id)
            if previous != cmd.queue:
                if previous is not None:
                    self.waiting[previous] -= 1
                self.waiting[cmd.queue] += 1
                self.where[cmd.contact_id] = cmd.queue
            live.contact_queued(cmd.at, cmd.contact_id, cmd.queue, c.arrival.channel)
        elif isinstance(cmd, StartWrapUp):
            c = self.contacts[cmd.contact_id]
            c.state, c.ended_at = "wrap_up", cmd.at
            live.contact_ended(cmd.at, cmd.contact_id)
        elif isinstance(cmd, ContactCompleted):
            c = self.contacts[cmd.contact_id]
            c.wrap_up_s = max(0.0, cmd.at - (c.ended_at if c.ended_at is not None else cmd.at))
            live.contact_completed(cmd.at, cmd.contact_id)
            self._finish(c, "answered", cmd.at, cmd.queue)
        elif isinstance(cmd, CancelOffer):
            c = self.contacts[cmd.contact_id]
            if cmd.reason != "abandoned":
                c.state, c.agent_id = "waiting", None
                live.offer_cancelled(cmd.at, cmd.contact_id, cmd.agent_id)
        elif isinstance(cmd, ContactAbandonedRecorded):
            c = self.contacts[cmd.contact_id]
            c.wait_s = cmd.waited_s
            self._not_waiting(cmd.contact_id)
            live.contact_abandoned(cmd.at, cmd.contact_id, cmd.short, cmd.waited_s)
            self._finish(c, "short_abandon" if cmd.short else "abandoned", cmd.at, cmd.queue)
        elif isinstance(cmd, ContactExited):
            self._not_waiting(cmd.contact_id)
            if cmd.exit != "overflow":
                c = self.contacts[cmd.contact_id]
                c.wait_s = cmd.waited_s
                kind = "contained" if cmd.exit == "auto_reply" else cmd.exit
                live.contact_exited(cmd.at, cmd.contact_id,
                                    "voicemail" if kind == "voicemail" else "contained")
                self._finish(c, kind, cmd.at, cmd.queue)
        elif isinstance(cmd, PresenceSet):
            self._presence(cmd)

    def _presence(self, cmd: PresenceSet) -> None:
        if cmd.pending:
            return
        self.live.presence_changed(cmd.at, cmd.agent_id, cmd.presence,
                                   cmd.reason if cmd.presence == "not_ready" else None)
        agent = self.agents[cmd.agent_id]
        if cmd.presence == "offline":
            agent.online = False
        elif cmd.presence == "not_ready":
            if cmd.reason == END_OF_SHIFT:
                self.pending.append(AgentLoggedOut(cmd.at, cmd.agent_id))
            elif agent.leaving:
                return
            elif cmd.reason == agent.break_reason and agent.break_minutes > 0:
                agent.resume_token += 1
                self._push(cmd.at + 60.0 * agent.break_minutes, _BREAK_END,
                           (cmd.agent_id, agent.resume_token))
                agent.break_minutes = 0.0
            elif cmd.reason in ("missed", "route_failed"):
                agent.resume_token += 1
                self._push(cmd.at + MISSED_RECOVERY_S, _BREAK_END,
                           (cmd.agent_id, agent.resume_token))

    def _not_waiting(self, contact_id: str) -> None:
        queue = self.where.pop(contact_id, None)
        if queue is not None:
            self.waiting[queue] -= 1

    def _finish(self, c: _Contact, outcome: str, at: float, queue: str) -> None:
        c.state, c.outcome, c.done_at = "done", outcome, at
        a = c.arrival
        legs: tuple[LegFacts, ...] = ()
        talk = 0.0
        if outcome == "answered" and c.answered_at is not None:
            ended = c.ended_at if c.ended_at is not None else at
            talk = max(0.0, ended - c.answered_at)
            legs = (LegFacts(c.agent_id or "", queue, c.alerting_at, c.answered_at, ended,
                             talk, 0.0, c.wrap_up_s),)
        self.finished.append(ContactFacts(
            contact_id=a.contact_id, channel=a.channel, outcome=outcome, arrived_at=a.at,
            queued_at=c.queued_at, ended_at=c.ended_at if legs else at,
            first_queue=c.first_queue or queue, last_queue=queue,
            agent_id=c.agent_id if legs else None, wait_s=c.wait_s, talk_s=talk,
            wrap_up_s=c.wrap_up_s if legs else 0.0, answered_at=c.answered_at, legs=legs,
        ))


def _overflow_targets_first(queues: Sequence[QueueConfig]) -> list[QueueConfig]:
    """The queues in an order where every overflow target is configured before the
    queues that overflow to it (the router checks targets); a cycle keeps file order."""
    ordered: list[QueueConfig] = []
    done: set[str] = set()
    remaining = list(queues)
    while remaining:
        ready = [q for q in remaining if q.exit_targets() <= done] or remaining[:1]
        for q in ready:
            ordered.append(q)
            done.add(q.name)
            remaining.remove(q)
    return ordered


def simulate(scenario: Scenario, arrivals: Sequence[Arrival] | None = None, *,
             seed: int | None = None, sample_s: float = 60.0,
             drain_s: float = DEFAULT_DRAIN_S, progress: ProgressFn | None = None
             ) -> SimResult:
    """Run one simulated day of ``scenario``.

    ``arrivals`` default to the scenario's Poisson traffic for ``seed``; ``seed``
    also seeds the ring times. After the last arrival the run goes on for at most
    ``drain_s`` seconds so that waiting contacts are answered or hang up.
    ``progress`` is called now and then with the simulated time.
    """
    seed = scenario.seed if seed is None else seed
    if arrivals is None:
        arrivals = scenario.arrivals(seed)
    return _Run(scenario, arrivals, seed, sample_s, drain_s, progress).run()


# --------------------------------------------------------------------------- figures


def window_figures(result: SimResult, start: float, end: float, queue: str | None = None,
                   target_s: float | None = None) -> dict[str, Any]:
    """Figures of the contacts whose first queue entry lies in [start, end).

    Sums the interval report's rows (``reports.build_rows`` over the run's
    records, so the server's attribution and definitions) and adds ``p_wait``,
    the share of offered contacts not answered at once (``1 -`` answered with
    wait <= 0 / offered, from the same rows with a threshold of 0 s).
    ``start``/``end`` should sit on interval boundaries of the scenario.
    """
    targets: Mapping[str, float] | float = (
        result.scenario.sl_targets() if target_s is None else float(target_s))
    total = Counts()
    at_once = Counts()
    for rows, sums in ((result.interval_rows(sl_targets=targets), total),
                       (result.interval_rows(sl_targets=0.0), at_once)):
        for row in rows:
            if start <= row.interval_start < end and (queue is None or row.key == queue):
                sums.add(row.counts)
    out = figures(total)
    out["p_wait"] = 1.0 - at_once.answered_within / total.offered if total.offered else None
    return out


def tier_figures(result: SimResult, tiers: Iterable[str] = TIERS) -> dict[str, dict[str, Any]]:
    """Day figures per customer tier (the report's code over each tier's contacts),
    plus ``wait_mean_s``/``wait_p90_s``: the waits of the tier's customers who were
    answered (wait to answer) or hung up (wait to hang-up)."""
    out: dict[str, dict[str, Any]] = {}
    targets = result.scenario.sl_targets()
    for tier in tiers:
        mine = [c for c in result.contacts if result.tiers.get(c.contact_id) == tier]
        if not mine:
            continue
        counts = Counts()
        for row in build_rows(mine, result.scenario.time_zone, "day", "queue", targets):
            counts.add(row.counts)
        row_figures = figures(counts)
        # Every customer who reached an agent or gave up: wait to answer or to hang-up.
        waits = sorted(c.wait_s for c in mine
                       if c.outcome in ("answered", "abandoned", "short_abandon"))
        row_figures["wait_mean_s"] = statistics.fmean(waits) if waits else None
        row_figures["wait_p90_s"] = _percentile(waits, 0.9)
        out[tier] = row_figures
    return out


def replications(scenario: Scenario, count: int, measure_from: float, measure_to: float,
                 seed: int = 0, queue: str | None = None) -> list[dict[str, Any]]:
    """``count`` independent replications of ``scenario`` (seeds ``seed``,
    ``seed + 1``, ...): the :func:`window_figures` of each over
    [measure_from, measure_to) (the warm-up before it is discarded)."""
    return [window_figures(simulate(scenario, seed=seed + r), measure_from, measure_to, queue)
            for r in range(count)]


def _percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


#: Two-sided 95% quantiles of Student's t by degrees of freedom.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
         16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074,
         23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045,
         30: 2.042, 40: 2.021, 50: 2.009, 60: 2.000, 80: 1.990, 100: 1.984, 120: 1.980}


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (tabulated;
    between table rows the next smaller df is used, which errs on the wide side)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df > 120:
        return 1.960
    return _T975[max(k for k in _T975 if k <= df)]


def confidence_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high) of the 95% confidence interval of the mean of independent
    replications (Student's t)."""
    if len(values) < 2:
        raise ValueError("a confidence interval needs at least two replications")
    mean = statistics.fmean(values)
    half = t_quantile_975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


# --------------------------------------------------------------------------- output


#: Columns of the per-queue table: the live dashboard's figures and labels.
QUEUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("queue", "Queue"), ("channel", "Channel"), ("offered", "Offered"),
    ("answered", "Answered"), ("abandoned", "Abandoned"),
    ("sl_all", "SL (all)"), ("sl_served", "SL (served)"), ("asa_s", "ASA"),
    ("abandon_rate", "Abandon"), ("aht_s", "AHT"), ("occupancy", "Occupancy"),
)
SL_NOTE = ("SL (all) = answered within T / (answered + abandoned after the short-abandon "
           "threshold); SL (served) = answered within T / answered; T per queue.")


def format_cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("sl_all", "sl_served", "abandon_rate", "occupancy", "p_wait") or key.startswith(
            "sl_"):
        return f"{100.0 * value:.1f}%"
    if key.endswith("_s"):
        return f"{value:.1f} s"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def queue_rows(result: SimResult) -> list[dict[str, Any]]:
    rows = []
    for name, stats in result.queue_stats().items():
        row = {key: stats.get(key) for key, _ in QUEUE_COLUMNS}
        row["queue"] = name
        row["sl_target_s"] = stats.get("sl_target_s")
        rows.append(row)
    return rows


def result_json(result: SimResult, seed: int) -> dict[str, Any]:
    """The JSON document of ``callcenter simulate --json``."""
    tz = result.scenario.time_zone
    return {
        "day": result.scenario.day.isoformat(),
        "time_zone": tz,
        "seed": seed,
        "contacts": len(result.contacts) + result.unfinished,
        "unfinished": result.unfinished,
        "router_events": result.events,
        "sl_definitions": SL_NOTE,
        "queues": queue_rows(result),
        "tiers": tier_figures(result),
        "agents_by_presence": result.live.agents_by_presence(),
        "intervals": [row.as_dict(tz) for row in result.interval_rows()],
    }


def sl_and_queue_series(result: SimResult) -> tuple[dict[str, list[tuple[float, float]]],
                                                    dict[str, list[tuple[float, float]]]]:
    """Per queue: SL (all) per interval (at the interval's middle) and queue length."""
    order = [q.name for q in result.scenario.queues]
    sl: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    for row in result.interval_rows():
        value = figures(row.counts)["sl_all"]
        if value is not None and row.key is not None:
            middle = (row.interval_start + row.interval_end) / 2.0
            sl.setdefault(row.key, []).append((middle, 100.0 * value))
    length: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    for sample in result.samples:
        for queue, waiting in sample.waiting.items():
            length.setdefault(queue, []).append((sample.at, float(waiting)))
    return sl, length


def write_html(result: SimResult, path: Path, title: str) -> None:
    from callcenter.sim_chart import Series, html_page, line_chart

    sl, length = sl_and_queue_series(result)
    tz = result.scenario.time_zone
    table_head = [label for _, label in QUEUE_COLUMNS]
    table_rows = [[format_cell(k, row[k]) for k, _ in QUEUE_COLUMNS] for row in queue_rows(result)]
    charts = [
        line_chart([Series(q, pts) for q, pts in sl.items()], title="SL (all) per interval, %",
                   time_zone=tz, y_min=0.0, y_max=100.0, y_unit="%"),
        line_chart([Series(q, pts) for q, pts in length.items()],
                   title="Contacts waiting (queued or alerting)", time_zone=tz, y_min=0.0),
    ]
    path.write_text(html_page(title, [(table_head, table_rows)], charts, notes=[SL_NOTE]),
                    encoding="utf-8")


def print_table(result: SimResult, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=SL_NOTE)
    for key, label in QUEUE_COLUMNS:
        table.add_column(label, justify="left" if key in ("queue", "channel") else "right")
    for row in queue_rows(result):
        table.add_row(*(format_cell(k, row[k]) for k, _ in QUEUE_COLUMNS))
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)


class _Progress:
    """A rich progress bar over simulated time (only on a terminal)."""

    def __init__(self, start: float, end: float) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.start, self.end = start, end
        self.bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn(), transient=True)
        self.task = self.bar.add_task("", total=max(1.0, end - start))

    def __enter__(self) -> _Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, now: float) -> None:
        done = min(self.end - self.start, max(0.0, now - self.start))
        self.bar.update(self.task, completed=done, description=f"{done / 3600:.1f} h")


def run_with_progress(scenario: Scenario, arrivals: Sequence[Arrival], seed: int,
                      show: bool) -> SimResult:
    if not show:
        return simulate(scenario, arrivals, seed=seed)
    end = max(scenario.end, arrivals[-1].at if arrivals else scenario.end)
    with _Progress(scenario.start, end) as bar:
        return simulate(scenario, arrivals, seed=seed, progress=bar)


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", type=Path, default=DEFAULT_SCENARIO,
                        help="scenario file, TOML or JSON (default: config/sim/day.toml)")
    parser.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    parser.add_argument("--trace", type=Path, help="replay this CSV arrival trace instead of "
                                                   "the scenario's Poisson traffic")
    parser.add_argument("--policy", help="routing policy file (TOML/JSON) or inline "
                                         "key=value,... to apply to the scenario")
    parser.add_argument("--out", type=Path, help="write the HTML chart of SL and queue length")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--intervals", type=Path, help="write the interval report as CSV "
                                                      "(the columns of `callcenter report`)")
    parser.add_argument("--write-trace", type=Path,
                        help="also write the simulated arrivals as a CSV trace")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def prepare(args: argparse.Namespace, config: Config) -> tuple[Scenario, list[Arrival], int]:
    """Scenario, seed and arrivals from the common options of simulate and whatif."""
    scenario = load_scenario(args.config_file, config)
    seed = scenario.seed if args.seed is None else int(args.seed)
    if args.trace is not None:
        arrivals = scenario.read_trace(args.trace, seed)
    else:
        arrivals = scenario.arrivals(seed)
    return scenario, arrivals, seed


def run(args: argparse.Namespace, config: Config) -> int:
    """``callcenter simulate``: one simulated day, table (or JSON) and HTML chart."""
    scenario, arrivals, seed = prepare(args, config)
    if args.policy:
        scenario = load_policy(args.policy, "policy").apply(scenario)
    if args.write_trace is not None:
        write_trace(args.write_trace, arrivals, scenario.day, scenario.time_zone)
    show = not args.no_progress and not args.json and sys.stderr.isatty()
    result = run_with_progress(scenario, arrivals, seed, show)
    title = f"Simulated day {scenario.day.isoformat()} ({scenario.time_zone}), seed {seed}"
    if args.out is not None:
        write_html(result, args.out, title)
    if args.intervals is not None:
        rows = [row.as_dict(scenario.time_zone) for row in result.interval_rows()]
        args.intervals.write_text(to_csv(rows), encoding="utf-8")
    if args.json:
        print(json.dumps(result_json(result, seed), indent=2))
    else:
        print_table(result, title)
        if result.unfinished:
            print(f"{result.unfinished} contacts were still open when the run stopped "
                  "(not in the figures)")
        if args.out is not None:
            print(f"chart: {args.out}")
    return 0
