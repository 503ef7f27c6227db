"""Live metrics on hand-checked scenarios, and their Prometheus exposition."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.metrics import LiveMetrics, day_bounds, interval_start, local_day, render_prometheus

SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
# 2026-11-02 09:00 in Shanghai (UTC+8, no DST).
T = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo(SHANGHAI)).timestamp()


def chat_morning() -> LiveMetrics:
    """One chat agent with three chats at once, abandons and two contacts waiting."""
    live = LiveMetrics(SHANGHAI, {"chat_support": 60.0}, short_abandon_s=5.0)
    live.set_agent_queues("x", ["chat_support"], T)
    live.presence_changed(T, "x", "available")
    # queued, offered, answered, ended, completed (seconds after T)
    for cid, queued, offered, answered, ended, done in (
        ("c1", 50, 100, 105, 200, 210),    # wait 55 <= 60
        ("c2", 40, 110, 115, 300, 300),    # wait 75 > 60, no wrap-up
        ("c3", 65, 120, 125, 400, 450),    # wait exactly 60: within
    ):
        live.contact_queued(T + queued, cid, "chat_support", "chat")
        live.contact_offered(T + offered, cid, "x")
        live.contact_answered(T + answered, cid, "x")
        live.contact_ended(T + ended, cid)
        live.contact_completed(T + done, cid)
    live.contact_queued(T + 500, "c4", "chat_support", "chat")
    live.contact_abandoned(T + 503, "c4")                       # short abandon
    live.contact_queued(T + 510, "c5", "chat_support", "chat")
    live.contact_abandoned(T + 580, "c5")                       # abandoned after 70 s
    live.presence_changed(T + 600, "x", "not_ready", "lunch")
    live.contact_queued(T + 900, "c6", "chat_support", "chat")
    live.contact_queued(T + 950, "c7", "chat_support", "chat")
    return live


def test_queue_figures_of_a_hand_checked_morning() -> None:
    q = chat_morning().queue_stats(T + 1000)["chat_support"]
    assert (q["offered"], q["answered"], q["answered_within"]) == (7, 3, 2)
    assert (q["abandoned"], q["short_abandoned"]) == (1, 1)
    assert q["sl_all"] == pytest.approx(2 / 4)        # 2 within / (3 answered + 1 abandoned)
    assert q["sl_served"] == pytest.approx(2 / 3)
    assert q["asa_s"] == pytest.approx((55 + 75 + 60) / 3)
    assert q["abandon_rate"] == pytest.approx(1 / 6)  # 1 / (7 offered - 1 short)
    assert q["aht_s"] == pytest.approx((95 + 185 + 275 + 10 + 0 + 50) / 3)
    assert (q["waiting"], q["longest_wait_s"]) == (2, 100)
    # Busy 100..450 (three chats never count more than once), idle 0..100 and 450..600.
    assert q["occupancy"] == pytest.approx(350 / 600)
    assert q["agents"]["not_ready"] == 1 and q["agents"]["not_ready:lunch"] == 1


def test_agent_time_by_presence_and_not_ready_reason() -> None:
    live = chat_morning()
    live.presence_changed(T + 900, "x", "offline")
    a = live.agent_stats(T + 1000)["x"]
    assert (a["handled"], a["busy_s"], a["available_idle_s"]) == (3, 350, 250)
    assert a["occupancy"] == pytest.approx(350 / 600)
    assert a["presence_s"] == {"available": 600, "not_ready": 300}
    assert a["not_ready_reason_s"] == {"lunch": 300}
    assert a["aht_s"] == pytest.approx(615 / 3)
    assert live.agents_by_presence()["offline"] == 1


def test_ring_time_of_a_rejected_offer_counts_as_busy() -> None:
    live = LiveMetrics(SHANGHAI, {}, 5.0)
    live.presence_changed(T, "x", "available")
    live.contact_queued(T + 10, "c1", "voice_sales", "voice")
    live.contact_offered(T + 10, "c1", "x")
    live.offer_cancelled(T + 18, "c1", "x")
    stats = live.queue_stats(T + 100)["voice_sales"]
    assert (stats["waiting"], stats["longest_wait_s"]) == (1, 90)
    agent = live.agent_stats(T + 100)["x"]
    assert (agent["busy_s"], agent["available_idle_s"]) == (8, 92)


def test_overflow_keeps_the_customers_clock_and_transfer_restarts_it() -> None:
    live = LiveMetrics(SHANGHAI, {"a": 20.0, "b": 20.0}, 5.0)
    live.contact_queued(T, "c1", "a", "voice")
    live.contact_queued(T + 15, "c1", "b", "voice")          # overflow a -> b
    live.contact_answered(T + 25, "c1", "x")                 # waited 25 > 20 (from T)
    live.contact_queued(T + 100, "c1", "a", "voice")         # x transfers it to a
    live.contact_answered(T + 110, "c1", "y")                # waited 10 in a
    live.contact_ended(T + 200, "c1")
    live.contact_completed(T + 230, "c1")
    stats = live.queue_stats(T + 300)
    a, b = stats["a"], stats["b"]
    assert (a["offered"], a["overflowed_out"], a["transferred_in"]) == (2, 1, 1)
    assert (a["answered"], a["answered_within"], a["wait_answered_s"]) == (1, 1, 10)
    assert (b["offered"], b["overflowed_in"], b["transferred_out"]) == (1, 1, 1)
    assert (b["answered"], b["answered_within"], b["wait_answered_s"]) == (1, 0, 25)
    assert (b["handled"], b["talk_s"]) == (1, 75)
    assert (a["handled"], a["talk_s"], a["wrap_up_s"]) == (1, 90, 30)
    agents = live.agent_stats(T + 300)
    assert agents["x"]["transferred_out"] == 1 and agents["y"]["handled"] == 1


def test_day_rolls_over_at_local_midnight_on_the_dst_day() -> None:
    tz = ZoneInfo(BERLIN)
    start, end = day_bounds(date(2026, 10, 25), BERLIN)
    assert end - start == 25 * 3600
    before_midnight = datetime(2026, 10, 24, 23, 59, 50, tzinfo=tz).timestamp()
    live = LiveMetrics(BERLIN, {"q": 20.0}, 5.0)
    live.presence_changed(before_midnight - 10, "x", "available")
    live.contact_queued(before_midnight, "c1", "q", "voice")
    live.contact_offered(before_midnight + 5, "c1", "x")
    live.contact_answered(before_midnight + 15, "c1", "x")    # 00:00:05 on the 25th
    live.contact_ended(before_midnight + 70, "c1")
    live.contact_completed(before_midnight + 70, "c1")
    now = before_midnight + 3600
    assert local_day(now, BERLIN) == date(2026, 10, 25)
    # The contact entered the queue on the 24th: it counts there, answer included.
    assert live.queue_stats(now)["q"]["offered"] == 0
    day24 = live.day_counts(date(2026, 10, 24))["q"]
    assert (day24.offered, day24.answered, day24.answered_within) == (1, 1, 1)
    # Agent time is split at midnight: busy 5 s before, 60 s after.
    assert live.agent_day("x", date(2026, 10, 24), now).busy_s == 5
    assert live.agent_day("x", date(2026, 10, 25), now).busy_s == 60


def test_interval_start_distinguishes_the_two_passes_of_the_repeated_hour() -> None:
    first = datetime(2026, 10, 25, 0, 40, tzinfo=ZoneInfo("UTC")).timestamp()  # 02:40 CEST
    second = first + 3600                                                        # 02:40 CET
    a, b = interval_start(first, BERLIN, 30), interval_start(second, BERLIN, 30)
    assert b - a == 3600
    assert datetime.fromtimestamp(a, ZoneInfo(BERLIN)).strftime("%H:%M%z") == "02:30+0200"
    assert datetime.fromtimestamp(b, ZoneInfo(BERLIN)).strftime("%H:%M%z") == "02:30+0100"
    with pytest.raises(ValueError):
        interval_start(first, BERLIN, 20)


def test_prometheus_exposition_parses_with_the_reference_parser() -> None:
    live = chat_morning()
    live.clock = lambda: T + 1000
    other = LiveMetrics(SHANGHAI, {}, 5.0)  # a second app must not collide
    other.contact_queued(T, "z", "voice_sales", "voice")
    families = {f.name: f for f in text_string_to_metric_families(
        render_prometheus(live).decode())}
    offered = {s.labels["queue"]: s.value for s in families["callcenter_contacts_offered"].samples
               if s.name == "callcenter_contacts_offered_total"}
    assert offered == {"chat_support": 7.0}
    wait = families["callcenter_wait_seconds"].samples
    count = [s.value for s in wait if s.name == "callcenter_wait_seconds_count"]
    total = [s.value for s in wait if s.name == "callcenter_wait_seconds_sum"]
    le60 = [s.value for s in wait
            if s.name == "callcenter_wait_seconds_bucket" and s.labels["le"] == "60.0"]
    assert (count, total, le60) == ([3.0], [190.0], [2.0])
    handle = [s for s in families["callcenter_handle_seconds"].samples
              if s.name == "callcenter_handle_seconds_count"]
    assert handle[0].labels == {"queue": "chat_support", "channel": "chat"}
    assert handle[0].value == 3.0
    sl = {s.labels["definition"]: s.value
          for s in families["callcenter_queue_service_level"].samples}
    assert sl == {"all": 0.5, "served": pytest.approx(2 / 3)}
    waiting = families["callcenter_queue_waiting"].samples[0]
    assert (waiting.labels, waiting.value) == ({"queue": "chat_support"}, 2.0)
    presence = {s.labels["presence"]: s.value for s in families["callcenter_agents"].samples}
    assert presence == {"offline": 0.0, "available": 0.0, "not_ready": 1.0}
    reasons = {s.labels["reason"]: s.value
               for s in families["callcenter_agents_not_ready"].samples}
    assert reasons == {"lunch": 1.0}
    assert "voice_sales" not in render_prometheus(live).decode()
