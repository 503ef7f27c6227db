"""Scenarios shared by the simulator tests (plain data, as a TOML file would give)."""

from __future__ import annotations

from typing import Any

from callcenter.simulate import Scenario, parse_scenario


def mmc_data(agents: int, load_erlangs: float, aht_s: float, hours: int,
             patience_s: float | None = None, short_abandon_s: float = 0.0) -> dict[str, Any]:
    """The configuration the Erlang formulas assume: one queue, one skill-less
    agent group, one class (standard), FCFS (longest idle agent), no ring time,
    no wrap-up, exponential handle times, Poisson arrivals at a constant rate
    from 00:00 UTC for ``hours`` hours, exponential patience if given."""
    queue: dict[str, Any] = {
        "name": "q", "channel": "voice", "sl_target_s": 20, "wrap_up_s": 0,
        "arrivals": [["00:00", load_erlangs / aht_s * 3600.0]],
        "handle": {"dist": "exponential", "mean_s": aht_s},
    }
    if patience_s is not None:
        queue["patience"] = {"dist": "exponential", "mean_s": patience_s}
    return {
        "sim": {"date": "2026-03-02", "time_zone": "UTC", "traffic": ["00:00", f"{hours:02d}:00"],
                "short_abandon_s": short_abandon_s, "ring": {"dist": "none"}},
        "queues": [queue],
        "agents": [{"name": "agent", "count": agents, "shift": ["00:00", "24:00"]}],
    }


def mmc(agents: int, load_erlangs: float, aht_s: float, hours: int,
        patience_s: float | None = None, short_abandon_s: float = 0.0) -> Scenario:
    return parse_scenario(mmc_data(agents, load_erlangs, aht_s, hours, patience_s,
                                   short_abandon_s))


def two_tier_data(head_starts: dict[str, float] | None = None) -> dict[str, Any]:
    """A loaded voice queue with standard and key customers, 4 agents, 09:00-12:00."""
    return {
        "sim": {"date": "2026-03-02", "time_zone": "Europe/Berlin",
                "traffic": ["09:00", "12:00"], "ring": {"dist": "none"}},
        "routing": {"head_starts": head_starts or {"key": 120}},
        "queues": [{
            "name": "voice", "channel": "voice", "sl_target_s": 20, "wrap_up_s": 10,
            "arrivals": [["09:00", 75]],
            "handle": {"dist": "exponential", "mean_s": 170},
            "patience": {"dist": "exponential", "mean_s": 300},
            "tiers": {"standard": 0.8, "key": 0.2},
        }],
        "agents": [{"name": "a", "count": 4, "shift": ["08:30", "13:00"]}],
    }
