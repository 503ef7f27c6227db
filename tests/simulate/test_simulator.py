"""The simulated world around the real router: schedules, breaks, patience, ring
time, relaxation, chat concurrency, and figures that reconcile between the live
metrics and the interval report."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from callcenter.metrics import Counts
from callcenter.simulate import (
    SimResult,
    load_policy,
    parse_policy,
    parse_scenario,
    simulate,
    window_figures,
)
from callcenter.traffic import Arrival, Distribution, TrafficError, local_time

from .scenarios import mmc, two_tier_data

TZ = "Europe/Berlin"


def small(agents: list[dict[str, Any]], queue: dict[str, Any] | None = None,
          **sim: Any) -> Any:
    base_queue = {"name": "q", "channel": "voice", "wrap_up_s": 0, "sl_target_s": 20,
                  "arrivals": [["09:00", 0]], "handle": {"dist": "exponential", "mean_s": 60}}
    return parse_scenario({
        "sim": {"date": "2026-03-02", "time_zone": TZ, "traffic": ["09:00", "12:00"],
                "ring": {"dist": "none"}, **sim},
        "queues": [{**base_queue, **(queue or {})}],
        "agents": agents,
    })


def at(clock: str) -> float:
    from datetime import date

    return local_time(date(2026, 3, 2), clock, TZ)


def contact(cid: str, clock: str, handle_s: float, patience_s: float = math.inf,
            queue: str = "q", channel: Any = "voice", tier: Any = "standard") -> Arrival:
    return Arrival(at(clock), cid, queue, channel, tier, handle_s, patience_s)


def waits(result: SimResult) -> dict[str, tuple[str, float]]:
    return {c.contact_id: (c.outcome, c.wait_s) for c in result.contacts}


def test_agent_on_break_gets_no_offers_until_the_break_ends() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "12:00"],
                       "breaks": [["10:00", 30]]}])
    result = simulate(scenario, [contact("c1", "10:05", 60)])
    assert waits(result) == {"c1": ("answered", 25 * 60.0)}
    agent = result.live.agent_stats(at("12:30"))["a-001"]
    assert agent["not_ready_reason_s"] == {"break": 1800.0}


def test_break_starts_when_the_agent_is_free_and_lasts_its_length() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "12:00"],
                       "breaks": [["10:00", 30]]}])
    # Busy 09:55-10:05, so the break runs 10:05-10:35; c2 (10:10) waits 25 min.
    result = simulate(scenario, [contact("c1", "09:55", 600), contact("c2", "10:10", 60)])
    assert waits(result) == {"c1": ("answered", 0.0), "c2": ("answered", 25 * 60.0)}


def test_end_of_shift_finishes_the_contact_then_logs_out() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "11:00"]}])
    result = simulate(scenario, [contact("c1", "10:58", 300),
                                 contact("c2", "11:01", 60, patience_s=120)])
    assert waits(result) == {"c1": ("answered", 0.0), "c2": ("abandoned", 120.0)}
    assert result.live.agents_by_presence()["offline"] == 1
    agent = result.live.agent_stats(at("12:00"))["a-001"]
    assert agent["busy_s"] == pytest.approx(300.0)
    # The end of shift waits for c1 (a pending not-ready), then the agent logs out
    # at 11:03: available the whole time, never not ready.
    assert agent["presence_s"] == {"available": 2 * 3600.0 + 180.0}


def test_patience_expiry_abandons_and_short_abandons_are_flagged() -> None:
    scenario = small([], short_abandon_s=5)
    result = simulate(scenario, [contact("c1", "09:10", 60, patience_s=3),
                                 contact("c2", "09:20", 60, patience_s=40)])
    assert waits(result) == {"c1": ("short_abandon", 3.0), "c2": ("abandoned", 40.0)}
    q = result.queue_stats()["q"]
    assert (q["offered"], q["abandoned"], q["short_abandoned"], q["abandon_rate"]) == (2, 1, 1, 1.0)


def test_ring_time_is_part_of_the_wait() -> None:
    scenario = small([{"name": "a", "count": 2, "shift": ["09:00", "12:00"]}],
                     ring={"dist": "fixed", "mean_s": 4})
    result = simulate(scenario, [contact("c1", "09:10", 60), contact("c2", "09:10:30", 60)])
    assert waits(result) == {"c1": ("answered", 4.0), "c2": ("answered", 4.0)}
    assert result.queue_stats()["q"]["asa_s"] == pytest.approx(4.0)


def test_ring_longer_than_the_timeout_misses_and_the_agent_comes_back() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "12:00"]}],
                     {"ring_timeout_s": 5}, ring={"dist": "fixed", "mean_s": 8})
    result = simulate(replace(scenario, ring=Distribution("fixed", 8.0)),
                      [contact("c1", "09:10", 60, patience_s=60)])
    # Every offer rings 5 s and times out; the agent is not ready (missed) for
    # 10 s each time, so the customer gives up after 60 s.
    assert waits(result) == {"c1": ("abandoned", 60.0)}
    agent = result.live.agent_stats(at("12:00"))["a-001"]
    assert agent["not_ready_reason_s"]["missed"] > 0


def test_relaxation_lets_a_lower_skilled_agent_answer_after_its_step() -> None:
    scenario = small([{"name": "junior", "count": 1, "skills": {"sales": 3},
                       "shift": ["09:00", "12:00"]}],
                     {"skills": {"sales": 6},
                      "relaxation": [{"after_s": 30, "skill": "sales", "min_level": 3}]})
    result = simulate(scenario, [contact("c1", "09:10", 60)])
    assert waits(result) == {"c1": ("answered", 30.0)}


def test_chat_agent_holds_three_chats_at_once() -> None:
    scenario = small([{"name": "chat", "count": 1, "skills": {}, "capacity": {"chat": 3},
                       "shift": ["09:00", "12:00"]}], {"channel": "chat"})
    chats = [contact(f"c{i}", "09:10", 600, channel="chat") for i in range(1, 5)]
    result = simulate(scenario, chats)
    assert waits(result) == {"c1": ("answered", 0.0), "c2": ("answered", 0.0),
                             "c3": ("answered", 0.0), "c4": ("answered", 600.0)}
    agent = result.live.agent_stats(at("12:00"))["chat-001"]
    assert agent["busy_s"] == pytest.approx(1200.0)  # three chats at once count once


def test_key_account_overtakes_standard_customer_who_arrived_within_its_head_start() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "12:00"]}],
                     {"tiers": {"standard": 1}})
    arrivals = [contact("busy", "09:00", 300), contact("std", "09:01", 60),
                contact("key", "09:01:30", 60, tier="key")]
    result = simulate(scenario, arrivals)  # default head start of key: 60 s
    assert waits(result) == {"busy": ("answered", 0.0), "key": ("answered", 210.0),
                             "std": ("answered", 300.0)}


def test_same_seed_same_day_other_seed_other_day() -> None:
    scenario = parse_scenario(two_tier_data())
    first, again, other = (simulate(scenario, seed=s) for s in (7, 7, 8))
    assert first.contacts == again.contacts and first.samples == again.samples
    assert first.contacts != other.contacts


def test_live_figures_reconcile_with_the_interval_report() -> None:
    result = simulate(parse_scenario(two_tier_data()), seed=3)
    assert result.unfinished == 0
    live = result.live.day_counts(result.scenario.day, "queue")["voice"]
    report = Counts()
    for row in result.interval_rows():
        report.add(row.counts)
    for name in ("offered", "answered", "answered_within", "abandoned", "short_abandoned",
                 "handled"):
        assert getattr(report, name) == getattr(live, name), name
    for name in ("wait_answered_s", "wait_abandoned_s", "talk_s", "wrap_up_s"):
        assert getattr(report, name) == pytest.approx(getattr(live, name)), name
    assert live.abandoned > 0 and live.answered > 100
    stats = result.queue_stats()["voice"]
    assert 0 < stats["occupancy"] <= 1
    assert stats["aht_s"] == pytest.approx((live.talk_s + live.wrap_up_s) / live.handled)


def test_queue_length_samples_follow_the_waiting_line() -> None:
    scenario = small([{"name": "a", "count": 1, "shift": ["09:00", "12:00"]}])
    arrivals = [contact(f"c{i}", "09:00:10", 120) for i in range(3)]
    result = simulate(scenario, arrivals, sample_s=60.0)
    by_time = {s.at - at("09:00"): s.waiting["q"] for s in result.samples}
    # Served one at a time for 120 s each: 2 waiting, then 1, then none.
    assert [by_time[t] for t in (0.0, 60.0, 180.0, 300.0, 420.0)] == [0, 2, 1, 0, 0]


def test_window_figures_count_only_contacts_queued_inside_the_window() -> None:
    scenario = mmc(2, 1.0, 60.0, 3)
    result = simulate(scenario, seed=1)
    first_hour = window_figures(result, scenario.start, scenario.start + 3600)
    rest = window_figures(result, scenario.start + 3600, scenario.end)
    everything = window_figures(result, scenario.start, scenario.end)
    assert first_hour["offered"] + rest["offered"] == everything["offered"] == len(result.contacts)
    assert 0 <= everything["p_wait"] <= 1


def test_policy_applies_strategy_boosts_relaxation_and_staffing() -> None:
    scenario = parse_scenario(two_tier_data())
    policy = parse_policy({"strategy": "most_skilled", "head_starts": {"gold": 45},
                           "queues": {"voice": {"relaxation": [{"after_s": 10, "skill": "x"}],
                                                "wrap_up_s": 0}},
                           "staffing": {"a": 6}}, "B")
    applied = policy.apply(scenario)
    queue = applied.queues[0]
    assert queue.strategy == "most_skilled" and queue.wrap_up_s == 0
    assert queue.relaxation[0].after_s == 10 and queue.relaxation[0].min_level is None
    assert applied.router.head_starts["gold"] == 45 and applied.router.head_starts["key"] == 120
    assert applied.agents[0].count == 6
    inline = load_policy("name=X,strategy=round_robin,boost.key=300,staff.a=2,"
                         "queue.voice.wrap_up_s=5", "A").apply(scenario)
    assert inline.queues[0].strategy == "round_robin" and inline.queues[0].wrap_up_s == 5
    assert inline.router.head_starts["key"] == 300 and inline.agents[0].count == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"strategy": "fastest"}, "policy: strategy: expected one of"),
    ({"staffing": {"nobody": 3}}, "staffing.nobody: unknown agent group"),
    ({"queues": {"chat": {"wrap_up_s": 1}}}, "queues.chat: unknown queue"),
    ({"head_starts": {"vip": 10}}, "head_starts.vip: unknown tier"),
    ({"colour": "red"}, "policy: colour: unknown key"),
])
def test_bad_policy_names_the_key(data: dict[str, Any], message: str) -> None:
    scenario = parse_scenario(two_tier_data())
    with pytest.raises(TrafficError, match=message) as caught:
        parse_policy(data, "B").apply(scenario)
    assert caught.value.code == "sim.invalid_config"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["queues"][0].pop("handle"), r"queues\[0\]\.handle: missing"),
    (lambda d: d["queues"][0].update(strategy="fastest"), r"queues\[0\]\.strategy"),
    (lambda d: d["agents"][0].update(shift=["13:00", "12:00"]), r"agents\[0\]\.shift"),
    (lambda d: d["sim"].update(traffic=["12:00", "09:00"]), "sim.traffic"),
    (lambda d: d["queues"][0].update(arrivals=[["10:00", 5], ["09:00", 5]]),
     r"queues\[0\]\.arrivals\[1\]: times must increase"),
    (lambda d: d["queues"][0].update(tiers={"vip": 1}), r"tiers\.vip: unknown tier"),
])
def test_bad_scenario_names_the_key(change: Any, message: str) -> None:
    data = two_tier_data()
    change(data)
    with pytest.raises(TrafficError, match=message):
        scenario = parse_scenario(data)
        scenario.arrivals()


def test_overflow_moves_the_contact_and_both_queues_count_it() -> None:
    scenario = parse_scenario({
        "sim": {"date": "2026-03-02", "time_zone": TZ, "traffic": ["09:00", "12:00"],
                "ring": {"dist": "none"}},
        # Listed before its target: the simulator configures the target first.
        "queues": [{"name": "first", "skills": {"expert": 1}, "wrap_up_s": 0,
                    "overflow": {"after_s": 30, "queue": "second"},
                    "arrivals": [["09:00", 0]], "handle": {"dist": "fixed", "mean_s": 60}},
                   {"name": "second", "wrap_up_s": 0, "arrivals": [["09:00", 0]],
                    "handle": {"dist": "fixed", "mean_s": 60}}],
        "agents": [{"name": "a", "count": 1, "shift": ["09:00", "12:00"]}],
    })
    result = simulate(scenario, [contact("c1", "09:10", 60, queue="first")])
    assert waits(result) == {"c1": ("answered", 30.0)}  # overflow keeps the customer's clock
    live = result.live.day_counts(result.scenario.day, "queue")
    first = live["first"]
    assert (first.offered, first.overflowed_out, first.answered) == (1, 1, 0)
    assert (live["second"].overflowed_in, live["second"].answered) == (1, 1)
    report = {row.key: row.counts for row in result.interval_rows()}
    assert report["first"].overflowed_out == 1 and report["second"].answered == 1


def test_max_wait_sends_the_caller_to_voicemail() -> None:
    scenario = small([], {"max_wait_s": 90, "max_wait_exit": "voicemail"})
    result = simulate(scenario, [contact("c1", "09:10", 60)])
    assert waits(result) == {"c1": ("voicemail", 90.0)}
    assert result.queue_stats()["q"]["exited"] == 1


def test_overflow_to_an_unknown_queue_is_a_config_error() -> None:
    with pytest.raises(TrafficError, match=r"queues\[0\]\.overflow\.queue"):
        small([], {"overflow": {"after_s": 30, "queue": "nowhere"}})


def test_unknown_time_zone_is_a_config_error() -> None:
    data = two_tier_data()
    data["sim"]["time_zone"] = "Mars/Olympus"
    with pytest.raises(TrafficError, match=r"sim\.time_zone: unknown time zone 'Mars/Olympus'"):
        parse_scenario(data)


def test_progress_reports_simulated_time_and_changes_nothing() -> None:
    scenario = parse_scenario(two_tier_data())
    seen: list[float] = []
    quiet = simulate(scenario, seed=2)
    watched = simulate(scenario, seed=2, progress=seen.append)
    assert watched.contacts == quiet.contacts
    assert seen and seen == sorted(seen) and seen[-1] == watched.end


def test_prometheus_gauges_read_the_simulated_clock() -> None:
    from callcenter.metrics import render_prometheus

    result = simulate(parse_scenario(two_tier_data()), seed=2)
    text = render_prometheus(result.live).decode()
    # Scraped "now" is the end of the run: the simulated day's figures, not today's.
    assert 'callcenter_queue_offered_today{queue="voice"}' in text
    offered = result.live.day_counts(result.scenario.day, "queue")["voice"].offered
    assert f'callcenter_queue_offered_today{{queue="voice"}} {float(offered)}' in text
