"""What-if: one arrival trace through several routing policies, side by side.

``callcenter whatif --trace T --policy A --policy B [--out whatif.html] [--json]``

Every policy sees exactly the same customers: the same arrival times, queues,
tiers, handle times and patience (drawn once, from the trace or the scenario's
Poisson traffic with ``--seed``), so differences come from routing and staffing
alone. Per policy: SL (all) and ASA per tier, abandon rate, occupancy, and
fairness = the wait of *standard* customers (mean and 90th percentile; the wait to
answer, or to hang-up for those who gave up, so a policy cannot look fair by
making standard customers abandon).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.config import Config
from callcenter.metrics import Counts, figures, occupancy
from callcenter.simulate import (
    DEFAULT_SCENARIO,
    SL_NOTE,
    Policy,
    Scenario,
    SimResult,
    format_cell,
    load_policy,
    prepare,
    run_with_progress,
    tier_figures,
)
from callcenter.traffic import Arrival
from routing.model import TIERS

__all__ = ["PolicyOutcome", "add_arguments", "compare", "outcome_rows", "run"]


@dataclass(slots=True)
class PolicyOutcome:
    """The figures of one policy over the shared trace."""

    policy: Policy
    result: SimResult
    overall: dict[str, Any]
    tiers: dict[str, dict[str, Any]]
    occupancy: float | None

    def as_dict(self) -> dict[str, Any]:
        standard = self.tiers.get("standard", {})
        return {
            "policy": self.policy.name,
            "description": self.policy.describe(),
            "sl_all": self.overall["sl_all"],
            "sl_served": self.overall["sl_served"],
            "asa_s": self.overall["asa_s"],
            "abandon_rate": self.overall["abandon_rate"],
            "occupancy": self.occupancy,
            "fairness": {"standard_wait_mean_s": standard.get("wait_mean_s"),
                         "standard_wait_p90_s": standard.get("wait_p90_s")},
            "tiers": {tier: {"offered": f["offered"], "sl_all": f["sl_all"],
                             "sl_served": f["sl_served"], "asa_s": f["asa_s"],
                             "abandon_rate": f["abandon_rate"], "wait_p90_s": f["wait_p90_s"]}
                      for tier, f in self.tiers.items()},
            "unfinished": self.result.unfinished,
        }


def _outcome(policy: Policy, result: SimResult) -> PolicyOutcome:
    day = result.scenario.day
    total = Counts()
    for counts in result.live.day_counts(day, "queue").values():
        total.add(counts)
    agents = result.live.agent_stats(result.now)
    busy = sum(a["busy_s"] for a in agents.values())
    idle = sum(a["available_idle_s"] for a in agents.values())
    return PolicyOutcome(policy, result, figures(total), tier_figures(result),
                         occupancy(busy, idle))


def compare(scenario: Scenario, arrivals: Sequence[Arrival], policies: Sequence[Policy],
            seed: int, progress: bool = False) -> list[PolicyOutcome]:
    """Simulate ``arrivals`` under each policy (applied to ``scenario``)."""
    outcomes = []
    for policy in policies:
        result = run_with_progress(policy.apply(scenario), arrivals, seed, progress)
        outcomes.append(_outcome(policy, result))
    return outcomes


def outcome_rows(outcomes: Sequence[PolicyOutcome]) -> list[tuple[str, list[str]]]:
    """(figure label, one cell per policy) rows of the side-by-side table."""
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, key: str, values: list[Any]) -> None:
        rows.append((label, [format_cell(key, v) for v in values]))

    tiers = [t for t in TIERS if any(t in o.tiers for o in outcomes)]
    add("SL (all), all tiers", "sl_all", [o.overall["sl_all"] for o in outcomes])
    for tier in tiers:
        add(f"SL (all), {tier}", "sl_all", [o.tiers.get(tier, {}).get("sl_all") for o in outcomes])
    add("ASA, all tiers", "asa_s", [o.overall["asa_s"] for o in outcomes])
    for tier in tiers:
        add(f"ASA, {tier}", "asa_s", [o.tiers.get(tier, {}).get("asa_s") for o in outcomes])
    add("Abandon", "abandon_rate", [o.overall["abandon_rate"] for o in outcomes])
    add("Occupancy", "occupancy", [o.occupancy for o in outcomes])
    add("Fairness: standard wait, mean", "wait_s",
        [o.tiers.get("standard", {}).get("wait_mean_s") for o in outcomes])
    add("Fairness: standard wait, p90", "wait_s",
        [o.tiers.get("standard", {}).get("wait_p90_s") for o in outcomes])
    return rows


def _series(outcomes: Sequence[PolicyOutcome]) -> tuple[list[Any], list[Any]]:
    from callcenter.sim_chart import Series

    sl_lines = []
    wait_lines = []
    for index, o in enumerate(outcomes):
        by_interval: dict[tuple[float, float], Counts] = {}
        for row in o.result.interval_rows():
            by_interval.setdefault((row.interval_start, row.interval_end), Counts()).add(row.counts)
        points = []
        for (start, end), counts in sorted(by_interval.items()):
            value = figures(counts)["sl_all"]
            if value is not None:
                points.append(((start + end) / 2.0, 100.0 * value))
        sl_lines.append(Series(o.policy.name, points, dash=index))
        waiting = [(s.at, float(sum(s.waiting.values()))) for s in o.result.samples]
        wait_lines.append(Series(o.policy.name, waiting, dash=index))
    return sl_lines, wait_lines


def write_html(outcomes: Sequence[PolicyOutcome], path: Path, title: str) -> None:
    from callcenter.sim_chart import html_page, line_chart

    tz = outcomes[0].result.scenario.time_zone
    head = ["Figure", *(o.policy.name for o in outcomes)]
    table = [[label, *cells] for label, cells in outcome_rows(outcomes)]
    legend = [[o.policy.name, o.policy.describe()] for o in outcomes]
    sl_lines, wait_lines = _series(outcomes)
    charts = [
        line_chart(sl_lines, title="SL (all) per interval, all queues, %", time_zone=tz,
                   y_min=0.0, y_max=100.0, y_unit="%"),
        line_chart(wait_lines, title="Contacts waiting, all queues", time_zone=tz, y_min=0.0),
    ]
    notes = [SL_NOTE, "Fairness: wait of standard customers, answered (to answer) or "
                      "abandoned (to hang-up): mean and 90th percentile."]
    path.write_text(html_page(title, [(head, table), (["Policy", "Changes"], legend)], charts,
                              notes), encoding="utf-8")


def print_table(outcomes: Sequence[PolicyOutcome], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=SL_NOTE)
    table.add_column("Figure")
    for o in outcomes:
        table.add_column(o.policy.name, justify="right")
    for label, cells in outcome_rows(outcomes):
        table.add_row(label, *cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
    for o in outcomes:
        console.print(f"{o.policy.name}: {o.policy.describe()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", type=Path, default=DEFAULT_SCENARIO,
                        help="scenario file: queues and agents (default: config/sim/day.toml)")
    parser.add_argument("--trace", type=Path, help="CSV arrival trace (default: the "
                                                   "scenario's Poisson traffic with --seed)")
    parser.add_argument("--policy", action="append", required=True,
                        help="policy file (TOML/JSON) or inline key=value,...; repeat to compare")
    parser.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    parser.add_argument("--out", type=Path, help="write the HTML table and chart")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, config: Config) -> int:
    """``callcenter whatif``: the same trace through each policy, side by side."""
    scenario, arrivals, seed = prepare(args, config)
    policies = [load_policy(spec, chr(ord("A") + i) if i < 26 else f"P{i + 1}")
                for i, spec in enumerate(args.policy)]
    show = not args.no_progress and not args.json and sys.stderr.isatty()
    outcomes = compare(scenario, arrivals, policies, seed, show)
    source = str(args.trace) if args.trace else f"Poisson traffic, seed {seed}"
    title = f"What-if on {scenario.day.isoformat()}: {len(arrivals)} contacts ({source})"
    if args.out is not None:
        write_html(outcomes, args.out, title)
    if args.json:
        print(json.dumps({"title": title, "contacts": len(arrivals), "seed": seed,
                          "sl_definitions": SL_NOTE,
                          "policies": [o.as_dict() for o in outcomes]}, indent=2))
    else:
        print_table(outcomes, title)
        if args.out is not None:
            print(f"chart: {args.out}")
    return 0
