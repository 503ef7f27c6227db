"""Agent time in interval reports, JSON/CSV output and the ``report`` command."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from callcenter.cli import main
from callcenter.errors import ValidationFailed
from callcenter.metrics import LiveMetrics
from callcenter.reports import interval_report, report_json, to_csv
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import InteractionRecord, LegRecord, commit_interactions
from callcenter.store.models import AgentPresenceLog, table_of

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 2, hh, mm, ss, tzinfo=TZ)


PRESENCE = [  # (time, presence, reason)
    (at(8, 0), "available", None),        # before the period: the state at its start
    (at(10, 30), "not_ready", "break"),
    (at(10, 45), "available", None),
    (at(11, 30), "offline", None),
]
# Two contacts overlap on agent a1: busy 09:50-10:20 once, not twice.
RECORDS = [
    InteractionRecord(
        contact_id="x", channel="voice", outcome="answered", arrived_at=at(9, 49, 30),
        queued_at=at(9, 49, 30), answered_at=at(9, 51), ended_at=at(10, 10),
        first_queue="voice_sales", last_queue="voice_sales", wait_s=90.0, talk_s=1140.0,
        wrap_up_s=300.0,
        legs=(LegRecord(leg_no=1, agent_id="a1", queue="voice_sales", alerting_at=at(9, 50),
                        answered_at=at(9, 51), ended_at=at(10, 10), talk_s=1140.0,
                        wrap_up_s=300.0),)),
    InteractionRecord(
        contact_id="y", channel="chat", outcome="answered", arrived_at=at(10, 4),
        queued_at=at(10, 4), answered_at=at(10, 6), ended_at=at(10, 20),
        first_queue="chat_support", last_queue="chat_support", wait_s=120.0, talk_s=840.0,
        legs=(LegRecord(leg_no=1, agent_id="a1", queue="chat_support", alerting_at=at(10, 5),
                        answered_at=at(10, 6), ended_at=at(10, 20), talk_s=840.0),)),
]


async def _fill(url: str) -> None:
    engine = make_engine(url)
    try:
        await commit_interactions(make_sessionmaker(engine), RECORDS)
        async with engine.begin() as connection:
            await connection.execute(insert(table_of(AgentPresenceLog)), [
                {"agent_id": "a1", "at": when, "presence": p, "reason": r}
                for when, p, r in PRESENCE])
    finally:
        await engine.dispose()


async def test_agent_occupancy_and_presence_time_per_hour(db_url: str) -> None:
    await _fill(db_url)
    engine = make_engine(db_url)
    try:
        rows = {r["interval_start"][11:16]: r for r in (await report_json(
            engine, at(9, 0).replace(tzinfo=None), at(12, 0).replace(tzinfo=None), 60,
            TZ_NAME, "agent"))["rows"]}
    finally:
        await engine.dispose()
    assert set(rows) == {"09:00", "10:00", "11:00"}
    h9, h10, h11 = rows["09:00"], rows["10:00"], rows["11:00"]
    assert (h9["busy_s"], h9["available_idle_s"], h9["occupancy"]) == (600, 3000, 600 / 3600)
    assert (h9["handled"], h9["aht_s"]) == (1, 1440)     # x entered at 09:49:30
    assert (h10["busy_s"], h10["available_idle_s"]) == (1200, 600 + 900)
    assert h10["occupancy"] == pytest.approx(1200 / 2700)
    assert (h10["available_s"], h10["not_ready_s"]) == (2700, 900)
    assert h10["not_ready_reason_s"] == {"break": 900}
    assert (h10["handled"], h10["callbacks"]) == (1, 0)
    assert (h11["available_idle_s"], h11["available_s"], h11["busy_s"]) == (1800, 1800, 0)


def test_live_agent_time_of_the_same_day_from_the_same_events() -> None:
    live = LiveMetrics(TZ_NAME, {}, 5.0)
    for when, presence, reason in PRESENCE[:1]:
        live.presence_changed(when.timestamp(), "a1", presence, reason)
    for rec in RECORDS:  # both contacts lie between the first and second presence change
        leg = rec.legs[0]
        assert leg.alerting_at and leg.answered_at and leg.ended_at and rec.queued_at
        assert rec.first_queue is not None
        live.contact_queued(rec.queued_at.timestamp(), rec.contact_id, rec.first_queue,
                            rec.channel)
        live.contact_offered(leg.alerting_at.timestamp(), rec.contact_id, "a1")
        live.contact_answered(leg.answered_at.timestamp(), rec.contact_id, "a1")
    x, y = RECORDS
    live.contact_ended(at(10, 10).timestamp(), x.contact_id)
    live.contact_completed(at(10, 15).timestamp(), x.contact_id)
    live.contact_ended(at(10, 20).timestamp(), y.contact_id)
    live.contact_completed(at(10, 20).timestamp(), y.contact_id)
    for when, presence, reason in PRESENCE[1:]:
        live.presence_changed(when.timestamp(), "a1", presence, reason)
    day = live.agent_day("a1", date(2026, 11, 2), at(12, 0).timestamp())
    # Available 08:00-10:30 and 10:45-11:30 (9000 + 2700 s), busy 09:50-10:20 within it.
    assert day.busy_s == 1800
    assert day.available_idle_s == 9000 + 2700 - 1800
    assert day.presence_s == {"available": 11700, "not_ready": 900}
    assert day.not_ready_reason_s == {"break": 900}
    assert day.counts.handled == 2


async def test_report_refuses_bad_parameters(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(ValidationFailed):
            await interval_report(engine, date(2026, 11, 2), date(2026, 11, 3), 20,  # type: ignore[arg-type]
                                  TZ_NAME)
        with pytest.raises(ValidationFailed):
            await interval_report(engine, date(2026, 11, 3), date(2026, 11, 2), 30, TZ_NAME)
    finally:
        await engine.dispose()


def test_report_command_prints_csv_and_json(sqlite_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_fill(sqlite_url))
    assert main(["report", "--from", "2026-11-02", "--to", "2026-11-03", "--interval", "day",
                 "--by", "channel", "--format", "csv", "--url", sqlite_url]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["key"], r["offered"], r["answered"]) for r in table] == [
        ("chat", "1", "1"), ("voice", "1", "1")]
    assert table[1]["interval_start"] == "2026-11-02T00:00:00+08:00"
    assert table[1]["abandon_rate"] == "0" and table[1]["csat_avg"] == ""
    assert main(["report", "--from", "2026-11-02T09:00", "--to", "2026-11-02T10:00",
                 "--interval", "15", "--format", "json", "--url", sqlite_url]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [(r["interval_start"], r["key"], r["sl_served"]) for r in body["rows"]] == [
        ("2026-11-02T09:45:00+08:00", "voice_sales", 0.0)]   # waited 90 s > 20 s
    assert main(["report", "--from", "2026-11-02", "--to", "2026-11-03",
                 "--url", sqlite_url]) == 0
    assert "voice_sales" in capsys.readouterr().out
    assert main(["report", "--from", "yesterday", "--to", "2026-11-03",
                 "--url", sqlite_url]) == 2


def test_csv_leaves_undefined_figures_empty() -> None:
    text = to_csv([{"key": "q", "offered": 0, "sl_all": None,
                    "not_ready_reason_s": {"lunch": 60.0}}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["offered"], row["sl_all"], row["not_ready_reason_s"]) == ("0", "", "lunch=60")
