"""Benchmark of the simulator (issue 10): one day of a 100-agent center.

Prints exactly one JSON object on stdout: the seconds the simulated day took
(wall clock and this process's CPU time, which other processes on a busy machine
do not inflate), its size (contacts, router events), the target (<= 10 s) and
the day's per-queue figures. The scenario is ``config/sim/day.toml``: 100 agents
in shifts with breaks, voice, chat and email, 08:00-20:00.

    uv run python bench/simulate_day.py [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.simulate import DEFAULT_SCENARIO, load_scenario, queue_rows, simulate

TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    scenario = load_scenario(args.config_file)
    walls: list[float] = []
    cpus: list[float] = []
    generate: list[float] = []
    result = None
    for _ in range(max(1, args.repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        arrivals = scenario.arrivals(args.seed)
        t1 = time.perf_counter()
        result = simulate(scenario, arrivals, seed=args.seed)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        generate.append(t1 - t0)
    assert result is not None
    wall = statistics.median(walls)
    queues: dict[str, Any] = {}
    for row in queue_rows(result):
        queues[row["queue"]] = {k: (round(v, 4) if isinstance(v, float) else v)
                                for k, v in row.items() if k != "queue"}
    contacts = len(result.contacts) + result.unfinished
    print(json.dumps({
        "benchmark": "simulate_day",
        "scenario": str(args.config_file),
        "agents": sum(g.count for g in scenario.agents),
        "traffic_hours": (scenario.end - scenario.start) / 3600.0,
        "contacts": contacts,
        "unfinished": result.unfinished,
        "router_events": result.events,
        "seconds": round(wall, 3),
        "seconds_cpu": round(statistics.median(cpus), 3),
        "seconds_generating_arrivals": round(statistics.median(generate), 3),
        "seconds_all_runs": [round(w, 3) for w in walls],
        "contacts_per_s": round(contacts / wall, 1),
        "router_events_per_s": round(result.events / wall, 1),
        "target_s": TARGET_S,
        "within_target": wall <= TARGET_S,
        "queues": queues,
    }))


if __name__ == "__main__":
    main()
