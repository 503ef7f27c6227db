"""Benchmark of the routing engine's `handle()` (issue 4).

Prints exactly one JSON object on stdout. Two scenarios, both with 2,000 agents
(3-6 skills each out of 40, mixed channels) and 50 queues (all four strategies):

- `saturated`: 10,000 contacts waiting, agents freeing up one by one (each
  wrap-up end hands the agent its next contact), arrivals and abandons keep
  the line at 10,000;
- `light`: few waiting, most agents idle, so agent selection runs for every
  arrival under every strategy.

Per scenario: events/s and latency percentiles of `handle()` alone by wall
clock (`time.perf_counter_ns`: `events_per_s`, `p50_us`, `p99_us`, `p999_us`,
`max_us`), the same events as CPU time of the calling thread beside them
(`cpu_*`, `time.thread_time_ns`: what the engine costs when other processes
on a busy machine take the CPU away mid-event), the cyclic-GC collections that
ran inside the timed loop and their longest pause, bytes per waiting contact
(tracemalloc, measured while filling the line), and the speedup over the
brute-force `ReferenceRouter` (tests/routing/reference.py).

The speedup is measured on windows of the same events in the same run: at a
window's start the engine's snapshot is taken (as JSON); the engine handles the
window's events as part of the timed loop; afterwards, outside the timed loop,
a reference router restored from the snapshot handles the same events, its
commands must equal the engine's, and its times are compared with the engine's
times on those events (`speedup_vs_reference`: sum of the reference's CPU time
over the engine's; `wall_speedup_vs_reference`: the same by wall clock). The
reference router is then dropped and its garbage collected, also outside the
timed loop. The cyclic GC is left on and nothing is frozen.

    uv run python bench/routing_core.py --quick      # < 30 s
    uv run python bench/routing_core.py              # longer runs
    uv run python bench/routing_core.py --table      # p99 vs agents / waiting grid
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing import (
    AgentLoggedIn,
    Command,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    Event,
    OfferAccepted,
    OfferContact,
    QueueConfig,
    QueueConfigured,
    Relaxation,
    RequiredSkill,
    Router,
    Tier,
    WrapUpEnded,
)
from routing.model import STRATEGIES
from tests.routing.reference import ReferenceRouter

T0 = 1_700_000_000.0
SKILLS = [f"skill{n:02d}" for n in range(40)]
TIERS: list[Tier] = ["standard", "standard", "standard", "standard", "standard", "standard"]
TIERS += ["silver", "gold", "key", "strategic"]


class Floor:
    """A router plus the bookkeeping a server would keep to drive it."""

    def __init__(self, agents: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.router = Router()
        self.t = T0
        self.serial = 0
        self.connected: list[str] = []  # contact ids, any order
        self.waiting: set[str] = set()
        self.waiting_list: list[str] = []
        self.queues: list[QueueConfig] = []
        self.latencies: list[int] = []  # wall-clock ns inside handle()
        self.cpu: list[int] = []  # CPU ns of the thread inside handle()
        self.measure = False
        self.sample_every = 0
        self.next_window = 0
        self.window = 1  # events per reference window
        self.depth = 0  # nesting of send() (offers are accepted from inside it)
        self.snapshot: str | None = None  # the engine at the open window's start
        # The open window: (event, engine commands, engine CPU ns, engine wall ns).
        self.recorded: list[tuple[Event, list[Command], int, int]] = []
        # Per window: (engine CPU, reference CPU, engine wall, reference wall) ns.
        self.samples: list[tuple[int, int, int, int]] = []
        self.reference_events = 0
        self.reference_agrees = True
        self.events = 0
        self.gc_runs = [0, 0, 0]
        self.gc_max_ns = 0
        self._gc_started = 0
        rng = self.rng
        for n in range(50):
            channel = "voice" if n < 25 else ("chat" if n < 40 else "email")
            needed = rng.sample(SKILLS, rng.choice([1, 1, 2]))
            reqs = tuple(RequiredSkill(s, rng.randint(1, 4)) for s in needed)
            relax = (Relaxation(60.0, needed[0], 1),) if n % 3 == 0 else ()
            self.queues.append(
                QueueConfig(
                    f"q{n:02d}",
                    channel,  # type: ignore[arg-type]
                    required_skills=reqs,
                    relaxation=relax,
                    strategy=STRATEGIES[n % 4],
                    ring_timeout_s=30.0,
                    wrap_up_s=60.0,
                    head_start_s=10.0 if n % 10 == 0 else 0.0,
                )
            )
        for q in self.queues:
            self.send(QueueConfigured(self.t, q))
        for n in range(agents):
            skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(3, 6))}
            kind = rng.random()
            if kind < 0.5:
                capacity = {"voice": 1, "callback": 1}
            elif kind < 0.8:
                capacity = {"chat": 3, "email": 2}
            else:
                capacity = {"voice": 1, "chat": 3, "email": 2, "callback": 1}
            self.send(AgentLoggedIn(self.t, f"agent{n:05d}", skills, capacity))

    def tick(self, seconds: float) -> float:
        self.t += seconds
        return self.t

    def send(self, event: Event) -> list[Command]:
        self.events += 1
        if (
            self.measure
            and self.sample_every
            and self.depth == 0
            and self.snapshot is None
            and self.events >= self.next_window
        ):
            self.next_window += self.sample_every
            self.measure = False  # collections the snapshot causes are not the engine's
            self.snapshot = json.dumps(self.router.snapshot())
            self.measure = True
        self.depth += 1
        start = time.perf_counter_ns()
        cpu = time.thread_time_ns()
        out = self.router.handle(event)
        cpu = time.thread_time_ns() - cpu
        wall = time.perf_counter_ns() - start
        if self.measure:
            self.latencies.append(wall)
            self.cpu.append(cpu)
        if self.snapshot is not None:
            self.recorded.append((event, out, cpu, wall))
        for command in out:
            if isinstance(command, OfferContact):
                self.waiting.discard(command.contact_id)
        for command in out:
            if isinstance(command, OfferContact):
                self.send(OfferAccepted(self.t, command.contact_id, command.agent_id))
                self.connected.append(command.contact_id)
        self.depth -= 1
        if self.depth == 0 and len(self.recorded) >= self.window:
            self.compare_with_reference()
        return out

    def compare_with_reference(self) -> None:
        """Replay the window into a reference router restored from the snapshot
        taken at its start (outside the timed loop)."""
        assert self.snapshot is not None
        measuring, self.measure = self.measure, False
        reference = ReferenceRouter.restore(json.loads(self.snapshot))
        gc.collect()
        engine_cpu = engine_wall = ref_cpu = ref_wall = 0
        for event, out, cpu, wall in self.recorded:
            start = time.perf_counter_ns()
            ref_start = time.thread_time_ns()
            ref_out = reference.handle(event)
            ref_cpu += time.thread_time_ns() - ref_start
            ref_wall += time.perf_counter_ns() - start
            engine_cpu += cpu
            engine_wall += wall
            self.reference_agrees = self.reference_agrees and ref_out == out
        self.samples.append((engine_cpu, ref_cpu, engine_wall, ref_wall))
        self.reference_events += len(self.recorded)
        self.snapshot = None
        self.recorded = []
        # The reference router holds reference cycles (bound handlers): free it
        # here, not in a later collection inside the engine's timed loop.
        del reference
        gc.collect()
        self.measure = measuring

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        """Counts the collections inside the timed loop and the longest pause."""
        if not self.measure:
            return
        if phase == "start":
            self._gc_started = time.perf_counter_ns()
        elif self._gc_started:
            self.gc_runs[info["generation"]] += 1
            self.gc_max_ns = max(self.gc_max_ns, time.perf_counter_ns() - self._gc_started)
            self._gc_started = 0

    def start_measuring(self, events: int, windows: int, window: int) -> None:
        self.sample_every = max(1, events // windows) if windows else 0
        self.next_window = self.events + self.sample_every // 2
        self.window = window
        gc.collect()
        gc.callbacks.append(self.gc_callback)
        self.measure = True

    def stop_measuring(self) -> None:
        self.measure = False
        gc.callbacks.remove(self.gc_callback)

    def arrive(self) -> None:
        self.serial += 1
        cid = f"c{self.serial:07d}"
        q = self.queues[self.rng.randrange(len(self.queues))]
        self.waiting.add(cid)
        self.waiting_list.append(cid)
        self.send(ContactArrived(self.t, cid, q.name, tier=self.rng.choice(TIERS)))

    def abandon_one(self) -> None:
        while self.waiting_list:
            i = self.rng.randrange(len(self.waiting_list))
            cid = self.waiting_list[i]
            self.waiting_list[i] = self.waiting_list[-1]
            self.waiting_list.pop()
            if cid in self.waiting:
                self.waiting.discard(cid)
                self.send(ContactAbandoned(self.t, cid))
                return

    def finish_one(self) -> None:
        """A random connected contact ends and its wrap-up is done (agent freed)."""
        if not self.connected:
            return
        i = self.rng.randrange(len(self.connected))
        cid = self.connected[i]
        self.connected[i] = self.connected[-1]
        self.connected.pop()
        self.send(ContactEnded(self.t, cid))
        self.send(WrapUpEnded(self.t, cid, "done"))


def _percentile(sorted_ns: list[int], p: float) -> float:
    index = min(len(sorted_ns) - 1, round(p / 100 * (len(sorted_ns) - 1)))
    return sorted_ns[index] / 1000


def _report(floor: Floor, bytes_per_waiting: float | None) -> dict[str, Any]:
    wall = sorted(floor.latencies)
    cpu = sorted(floor.cpu)
    engine_cpu = sum(x[0] for x in floor.samples)
    ref_cpu = sum(x[1] for x in floor.samples)
    engine_wall = sum(x[2] for x in floor.samples)
    ref_wall = sum(x[3] for x in floor.samples)
    return {
        "events": len(wall),
        "events_per_s": round(len(wall) / (sum(wall) / 1e9)),
        "p50_us": round(_percentile(wall, 50), 1),
        "p99_us": round(_percentile(wall, 99), 1),
        "p999_us": round(_percentile(wall, 99.9), 1),
        "max_us": round(wall[-1] / 1000, 1),
        "cpu_events_per_s": round(len(cpu) / (sum(cpu) / 1e9)),
        "cpu_p50_us": round(_percentile(cpu, 50), 1),
        "cpu_p99_us": round(_percentile(cpu, 99), 1),
        "cpu_p999_us": round(_percentile(cpu, 99.9), 1),
        "cpu_max_us": round(cpu[-1] / 1000, 1),
        "gc_collections": dict(zip(("gen0", "gen1", "gen2"), floor.gc_runs, strict=True)),
        "gc_max_pause_us": round(floor.gc_max_ns / 1000, 1),
        "bytes_per_waiting_contact": None
        if bytes_per_waiting is None
        else round(bytes_per_waiting),
        "reference_windows": len(floor.samples),
        "reference_events": floor.reference_events,
        "reference_us_per_event": round(ref_cpu / 1000 / floor.reference_events, 1)
        if floor.reference_events
        else None,
        "speedup_vs_reference": round(ref_cpu / engine_cpu) if engine_cpu else None,
        "wall_speedup_vs_reference": round(ref_wall / engine_wall) if engine_wall else None,
        "reference_agrees": floor.reference_agrees,
        "waiting_at_end": sum(floor.router.queue_snapshot(q.name).waiting for q in floor.queues),
    }


def saturated(
    agents: int, waiting: int, events: int, windows: int, window: int = 1, seed: int = 1
) -> dict[str, Any]:
    floor = Floor(agents, seed)
    # Fill: every agent busy (offers accepted at once), then the line.
    while len(floor.waiting) < 50:
        floor.tick(0.01)
        floor.arrive()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    added = 0
    while len(floor.waiting) < waiting:
        floor.tick(0.001)
        floor.arrive()
        added += 1
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    bytes_per_waiting = (after - before) / max(1, added)
    floor.start_measuring(events, windows, window)
    while len(floor.latencies) < events:
        floor.tick(0.005)
        floor.finish_one()  # an agent frees up and takes the next contact
        floor.arrive()
        if floor.rng.random() < 0.1:
            floor.abandon_one()
            floor.arrive()
    floor.stop_measuring()
    return _report(floor, bytes_per_waiting)


def light(agents: int, events: int, windows: int, window: int, seed: int = 2) -> dict[str, Any]:
    floor = Floor(agents, seed)
    in_progress = agents // 10
    floor.start_measuring(events, windows, window)
    while len(floor.latencies) < events:
        floor.tick(0.02)
        floor.arrive()
        if len(floor.connected) > in_progress:
            floor.finish_one()
        if floor.rng.random() < 0.02:
            floor.abandon_one()
    floor.stop_measuring()
    return _report(floor, None)


def _load() -> list[float]:
    """The machine's 1/5/15-minute load averages (other processes compete for
    the CPU: wall-clock figures include their preemptions)."""
    return [round(x, 2) for x in os.getloadavg()]


def _machine() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_avg": _load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, under 30 s")
    parser.add_argument("--table", action="store_true", help="p99 vs agents and waiting")
    args = parser.parse_args()
    if args.table:
        rows = []
        for agents, waiting in [
            (100, 10_000),
            (500, 10_000),
            (1_000, 10_000),
            (2_000, 1_000),
            (2_000, 10_000),
            (2_000, 50_000),
        ]:
            result = saturated(agents, waiting, events=20_000, windows=0)
            rows.append(
                {
                    "agents": agents,
                    "waiting": waiting,
                    "p50_us": result["p50_us"],
                    "p99_us": result["p99_us"],
                    "p999_us": result["p999_us"],
                    "events_per_s": result["events_per_s"],
                    "cpu_p50_us": result["cpu_p50_us"],
                    "cpu_p99_us": result["cpu_p99_us"],
                    "cpu_p999_us": result["cpu_p999_us"],
                }
            )
        print(json.dumps({"benchmark": "routing_core", "table": rows, **_machine()}))
        return
    events = 10_000 if args.quick else 60_000
    started = time.perf_counter()
    result = {
        "benchmark": "routing_core",
        "mode": "quick" if args.quick else "full",
        "python": sys.version.split()[0],
        "load_avg_before": _load(),
        # The reference takes seconds per event with 10,000 waiting: one event.
        "saturated": saturated(2_000, 10_000, events, windows=1 if args.quick else 5),
        "light": light(2_000, events, windows=20 if args.quick else 60, window=20),
        "load_avg_after": _load(),
    }
    result["targets"] = {
        name: {
            "events_per_s>=30000": (r["events_per_s"] or 0) >= 30_000,
            "p99_us<=1000": r["p99_us"] <= 1_000,
            "p999_us<=5000": r["p999_us"] <= 5_000,
            "speedup>=100": (r["speedup_vs_reference"] or 0) >= 100,
            "bytes_per_waiting<=1500": r["bytes_per_waiting_contact"] is None
            or r["bytes_per_waiting_contact"] <= 1_500,
        }
        for name, r in (("saturated", result["saturated"]), ("light", result["light"]))
    }
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
