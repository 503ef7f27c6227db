"""Reports and live counters equal an independent plain-SQL recomputation.

The SQL below is written from the definitions in docs/metrics.md, not from the
report code: it walks each contact's path (first queue, each leg's queue, the
last queue when the last leg did not finish it) with window functions, buckets
contacts by their first queue entry against interval starts precomputed here,
and sums. The generated traffic (tests/metrics/generated.py) crosses interval
boundaries, local midnight and the repeated hour of the October DST change, and
has overflows, transfers, callbacks and short abandons. It runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callcenter.metrics import LiveMetrics
from callcenter.reports import GroupBy, interval_report
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import commit_interactions
from callcenter.store.models import Survey, table_of
from tests.metrics.generated import (
    PERIOD_END,
    PERIOD_START,
    QUEUES,
    SHORT_ABANDON_S,
    SL_TARGETS,
    TZ,
    TZ_NAME,
    Traffic,
    generate,
)

Key = tuple[int, str | None]
COUNT_FIELDS = (
    "offered", "overflowed_in", "overflowed_out", "transferred_in", "transferred_out",
    "answered", "answered_within", "wait_answered_s", "abandoned", "short_abandoned",
    "exited", "handled", "talk_s", "hold_s", "wrap_up_s", "callbacks",
)


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    data = generate()
    # The generator must really produce every hard case, or the test proves little.
    for shape in ("answered", "short", "overflow_answered", "overflow_abandoned", "transfer",
                  "transfer_same_queue", "transfer_abandoned", "callback", "voicemail",
                  "ivr_contained"):
        assert data.shapes.get(shape, 0) >= 5, (shape, data.shapes)
    return data


async def _store(db_url: str, traffic: Traffic) -> AsyncEngine:
    engine = make_engine(db_url)
    result = await commit_interactions(make_sessionmaker(engine), traffic.records)
    assert result.written == len(traffic.records)
    async with engine.begin() as connection:
        await connection.execute(insert(table_of(Survey)), traffic.surveys)
    return engine


# --------------------------------------------------------------------------- buckets


def half_hour_buckets() -> list[tuple[int, int]]:
    """Local 30-minute intervals of the period as UTC epoch ranges.

    Europe/Berlin's offsets are whole hours, so every local half-hour boundary is
    a UTC half-hour; the repeated hour of Oct 25 simply gives four intervals
    (02:00, 02:30 CEST, then 02:00, 02:30 CET).
    """
    start, end = int(PERIOD_START.timestamp()), int(PERIOD_END.timestamp())
    return [(t, t + 1800) for t in range(start, end, 1800)]


def day_buckets() -> list[tuple[int, int]]:
    days = [datetime.combine(date(2026, 10, 24) + timedelta(days=k), datetime.min.time(), TZ)
            for k in range(4)]
    return [(int(a.timestamp()), int(b.timestamp())) for a, b in itertools.pairwise(days)]


# --------------------------------------------------------------------------- plain SQL


def epoch(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def target_case(column: str) -> str:
    whens = " ".join(f"WHEN '{q}' THEN {t}" for q, t in SL_TARGETS.items())
    return f"(CASE {column} {whens} ELSE 20 END)"


def base_ctes(dialect: str, buckets: list[tuple[int, int]]) -> str:
    values = ", ".join(f"({a}, {b})" for a, b in buckets)

    def e(column: str) -> str:
        return epoch(dialect, column)

    return f"""
    WITH buckets(b_start, b_end) AS (VALUES {values}),
    c AS (
        SELECT i.id, i.channel, i.outcome, i.first_queue, i.last_queue, i.wait_s,
               {e('i.ended_at')} AS end_at, b.b_start
        FROM interactions i
        JOIN buckets b ON {e('i.queued_at')} >= b.b_start AND {e('i.queued_at')} < b.b_end
        WHERE i.queued_at IS NOT NULL
    ),
    path AS (
        SELECT c.id AS iid, 0 AS pos, c.first_queue AS queue, 0 AS is_leg,
               NULL AS leg_end, NULL AS ans, NULL AS agent_id,
               0.0 AS talk_s, 0.0 AS hold_s, 0.0 AS wrap_up_s
        FROM c
        UNION ALL
        SELECT l.interaction_id, l.leg_no, l.queue, 1, {e('l.ended_at')}, {e('l.answered_at')},
               l.agent_id, l.talk_s, l.hold_s, l.wrap_up_s
        FROM interaction_legs l JOIN c ON c.id = l.interaction_id
        UNION ALL
        SELECT c.id, 1000, c.last_queue, 0, NULL, NULL, NULL, 0.0, 0.0, 0.0
        FROM c WHERE c.outcome <> 'answered'
    ),
    steps AS (
        SELECT p.*, c.channel, c.b_start, c.wait_s,
               LAG(p.queue) OVER w AS prev_queue,
               LAG(p.is_leg) OVER w AS prev_is_leg,
               LAG(p.leg_end) OVER w AS prev_leg_end,
               LEAD(p.pos) OVER w AS next_pos
        FROM path p JOIN c ON c.id = p.iid
        WINDOW w AS (PARTITION BY p.iid ORDER BY p.pos)
    ),
    starts AS (
        SELECT * FROM steps
        WHERE prev_queue IS NULL OR prev_is_leg = 1 OR prev_queue <> queue
    ),
    answers AS (
        SELECT s.*,
               CASE WHEN s.prev_is_leg = 1 THEN s.ans - s.prev_leg_end ELSE s.wait_s END AS wait
        FROM steps s WHERE s.is_leg = 1
    )
    """


async def sql_figures(connection: AsyncConnection, dialect: str,
                      buckets: list[tuple[int, int]], group: str) -> dict[Key, dict[str, float]]:
    """Every figure per (bucket start, key) by plain SQL; group: queue/channel/agent."""
    ctes = base_ctes(dialect, buckets)
    out: dict[Key, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_FIELDS, 0.0))

    async def collect(select_sql: str, names: tuple[str, ...]) -> None:
        for row in (await connection.execute(text(ctes + select_sql))).all():
            for name, value in zip(names, row[2:], strict=True):
                out[(int(row[0]), row[1])][name] += float(value or 0)

    if group == "agent":
        await collect(f"""
            SELECT b_start, agent_id, COUNT(*), COUNT(*),
                   SUM(CASE WHEN wait <= {target_case('queue')} THEN 1 ELSE 0 END), SUM(wait),
                   SUM(talk_s), SUM(hold_s), SUM(wrap_up_s),
                   SUM(CASE WHEN next_pos IS NOT NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN channel = 'callback' THEN 1 ELSE 0 END)
            FROM answers GROUP BY b_start, agent_id""",
            ("answered", "handled", "answered_within", "wait_answered_s", "talk_s", "hold_s",
             "wrap_up_s", "transferred_out", "callbacks"))
        return dict(out)

    visit_key = "queue" if group == "queue" else "channel"
    prev_key = "prev_queue" if group == "queue" else "channel"
    last_key = "c.last_queue" if group == "queue" else "c.channel"
    await collect(f"""
        SELECT b_start, {visit_key}, COUNT(*),
               SUM(CASE WHEN prev_queue IS NOT NULL AND prev_is_leg = 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN prev_is_leg = 1 THEN 1 ELSE 0 END),
               SUM(CASE WHEN channel = 'callback' THEN 1 ELSE 0 END)
        FROM starts GROUP BY b_start, {visit_key}""",
        ("offered", "overflowed_in", "transferred_in", "callbacks"))
    await collect(f"""
        SELECT b_start, {prev_key},
               SUM(CASE WHEN prev_is_leg = 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN prev_is_leg = 1 THEN 1 ELSE 0 END)
        FROM starts WHERE prev_queue IS NOT NULL GROUP BY b_start, {prev_key}""",
        ("overflowed_out", "transferred_out"))
    await collect(f"""
        SELECT b_start, {visit_key}, COUNT(*), COUNT(*),
               SUM(CASE WHEN wait <= {target_case('queue')} THEN 1 ELSE 0 END), SUM(wait),
               SUM(talk_s), SUM(hold_s), SUM(wrap_up_s)
        FROM answers GROUP BY b_start, {visit_key}""",
        ("answered", "handled", "answered_within", "wait_answered_s", "talk_s", "hold_s",
         "wrap_up_s"))
    await collect(f"""
        SELECT c.b_start, {last_key},
               SUM(CASE WHEN c.outcome = 'abandoned' THEN 1 ELSE 0 END),
               SUM(CASE WHEN c.outcome = 'short_abandon' THEN 1 ELSE 0 END),
               SUM(CASE WHEN c.outcome IN ('voicemail', 'contained', 'callback', 'transferred')
                        THEN 1 ELSE 0 END)
        FROM c GROUP BY c.b_start, {last_key}""",
        ("abandoned", "short_abandoned", "exited"))
    return {k: v for k, v in out.items() if any(v.values())}


async def sql_contact_level(
        connection: AsyncConnection, dialect: str, buckets: list[tuple[int, int]],
        group: str) -> dict[Key, dict[str, float]]:
    """IVR containment and survey answers per (bucket, key) by plain SQL."""
    values = ", ".join(f"({a}, {b})" for a, b in buckets)
    at = epoch(dialect, "COALESCE(i.queued_at, i.arrived_at)")
    entry = "i.first_queue" if group == "queue" else "i.channel"
    final = "i.last_queue" if group == "queue" else "i.channel"
    out: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    ivr = await connection.execute(text(f"""
        WITH buckets(b_start, b_end) AS (VALUES {values})
        SELECT b.b_start, {entry}, COUNT(*),
               SUM(CASE WHEN i.outcome = 'contained' AND i.queued_at IS NULL THEN 1 ELSE 0 END)
        FROM interactions i JOIN buckets b ON {at} >= b.b_start AND {at} < b.b_end
        WHERE json_array_length(i.ivr_path) > 0
        GROUP BY b.b_start, {entry}"""))
    for b_start, key, entered, contained in ivr.all():
        out[(int(b_start), key)]["ivr_entered"] += entered
        out[(int(b_start), key)]["ivr_contained"] += contained
    answers = await connection.execute(text(f"""
        WITH buckets(b_start, b_end) AS (VALUES {values}),
        answers AS (
            SELECT s.contact_id, s.csat, s.nps FROM surveys s
            UNION ALL
            SELECT i.contact_id, i.csat, NULL FROM interactions i
            WHERE i.csat IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.contact_id = i.contact_id)
        )
        SELECT b.b_start, {final}, COUNT(a.csat), COALESCE(SUM(a.csat), 0), COUNT(a.nps),
               SUM(CASE WHEN a.nps >= 9 THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.nps <= 6 THEN 1 ELSE 0 END)
        FROM answers a JOIN interactions i ON i.contact_id = a.contact_id
        JOIN buckets b ON {at} >= b.b_start AND {at} < b.b_end
        GROUP BY b.b_start, {final}"""))
    for b_start, key, n_csat, sum_csat, n_nps, promoters, detractors in answers.all():
        row = out[(int(b_start), key)]
        row["csat_count"] += n_csat
        row["csat_sum"] += sum_csat
        row["nps_count"] += n_nps
        row["nps_net"] += (promoters or 0) - (detractors or 0)
    return {k: dict(v) for k, v in out.items()}


# --------------------------------------------------------------------------- comparing


def report_key(row: dict[str, Any]) -> Key:
    return int(datetime.fromisoformat(row["interval_start"]).timestamp()), row["key"]


def assert_same(expected: dict[Key, dict[str, float]],
                actual: dict[Key, dict[str, float]], names: tuple[str, ...]) -> None:
    keys = set(expected) | set(actual)
    assert keys, "nothing to compare"
    for key in sorted(keys, key=lambda k: (k[0], k[1] or "")):
        want = expected.get(key, {})
        got = actual.get(key, {})
        for name in names:
            assert got.get(name, 0) == pytest.approx(want.get(name, 0), abs=1e-6), (key, name)


def rows_as_figures(rows: list[dict[str, Any]]) -> dict[Key, dict[str, float]]:
    return {report_key(r): {n: r[n] for n in COUNT_FIELDS} for r in rows}


def check_derived(row: dict[str, Any]) -> None:
    """The derived figures are the DESIGN §6 formulas of the row's own sums."""
    answered, abandoned = row["answered"], row["abandoned"]
    if row["group_by"] == "agent":
        assert row["sl_all"] is None and row["abandon_rate"] is None
    elif answered + abandoned:
        assert row["sl_all"] == pytest.approx(row["answered_within"] / (answered + abandoned))
    if answered:
        assert row["sl_served"] == pytest.approx(row["answered_within"] / answered)
        assert row["asa_s"] == pytest.approx(row["wait_answered_s"] / answered)
    if row["handled"]:
        handle = row["talk_s"] + row["hold_s"] + row["wrap_up_s"]
        assert row["aht_s"] == pytest.approx(handle / row["handled"])
    offered_net = row["offered"] - row["short_abandoned"]
    if row["group_by"] != "agent" and offered_net:
        assert row["abandon_rate"] == pytest.approx(abandoned / offered_net)


def dialect_of(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("group", ["queue", "channel", "agent"])
async def test_half_hour_report_equals_plain_sql_recomputation(
        db_url: str, traffic: Traffic, group: GroupBy) -> None:
    engine = await _store(db_url, traffic)
    try:
        rows = [r.as_dict(TZ_NAME) for r in await interval_report(
            engine, date(2026, 10, 24), date(2026, 10, 27), 30, TZ_NAME, group, SL_TARGETS)]
        async with engine.connect() as connection:
            expected = await sql_figures(connection, dialect_of(db_url), half_hour_buckets(),
                                         group)
            contact_level = (await sql_contact_level(connection, dialect_of(db_url),
                                                     half_hour_buckets(), group)
                             if group != "agent" else {})
    finally:
        await engine.dispose()
    actual = rows_as_figures([r for r in rows if any(r[n] for n in COUNT_FIELDS)])
    assert_same(expected, actual, COUNT_FIELDS)
    for row in rows:
        check_derived(row)
    if group != "agent":
        by_key = {report_key(r): r for r in rows}
        for key, want in contact_level.items():
            got = by_key[key]
            assert got["ivr_entered"] == want.get("ivr_entered", 0), key
            assert got["ivr_contained"] == want.get("ivr_contained", 0), key
            assert got["csat_count"] == want.get("csat_count", 0), key
            if want.get("csat_count"):
                assert got["csat_avg"] == pytest.approx(want["csat_sum"] / want["csat_count"])
            assert got["nps_count"] == want.get("nps_count", 0), key
            if want.get("nps_count"):
                assert got["nps"] == pytest.approx(100 * want["nps_net"] / want["nps_count"])
        reported_ivr = sum(r["ivr_entered"] for r in rows)
        assert reported_ivr == sum(v.get("ivr_entered", 0) for v in contact_level.values()) > 0


async def test_day_report_on_the_dst_day_and_live_day_totals_equal_sql(
        db_url: str, traffic: Traffic) -> None:
    engine = await _store(db_url, traffic)
    try:
        rows = [r.as_dict(TZ_NAME) for r in await interval_report(
            engine, date(2026, 10, 24), date(2026, 10, 27), "day", TZ_NAME, "queue", SL_TARGETS)]
        async with engine.connect() as connection:
            expected = await sql_figures(connection, dialect_of(db_url), day_buckets(), "queue")
            by_channel = await sql_figures(connection, dialect_of(db_url), day_buckets(),
                                           "channel")
            by_agent = await sql_figures(connection, dialect_of(db_url), day_buckets(), "agent")
    finally:
        await engine.dispose()
    assert_same(expected, rows_as_figures(rows), COUNT_FIELDS)
    dst_day = [r for r in rows if r["interval_start"].startswith("2026-10-25")]
    assert dst_day and all(
        datetime.fromisoformat(r["interval_end"]).timestamp()
        - datetime.fromisoformat(r["interval_start"]).timestamp() == 25 * 3600 for r in dst_day)

    live = feed_live(traffic)
    day_starts = {int(datetime.combine(d, datetime.min.time(), TZ).timestamp()): d
                  for d in (date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26))}
    checks: tuple[tuple[GroupBy, dict[Key, dict[str, float]]], ...] = (
        ("queue", expected), ("channel", by_channel), ("agent", by_agent))
    for by, want in checks:
        got: dict[Key, dict[str, float]] = {}
        for start, day in day_starts.items():
            for key, counts in live.day_counts(day, by).items():
                figures = counts.as_dict()
                if any(figures.values()):
                    got[(start, key)] = figures
        names = tuple(n for n in COUNT_FIELDS if n != "callbacks")
        if by == "agent":
            names = ("answered", "answered_within", "wait_answered_s", "handled", "talk_s",
                     "hold_s", "wrap_up_s", "transferred_out")
        assert_same(want, got, names)


def feed_live(traffic: Traffic) -> LiveMetrics:
    live = LiveMetrics(TZ_NAME, SL_TARGETS, SHORT_ABANDON_S, retain_days=10)
    for at, _, method, args in traffic.events:
        getattr(live, method)(at, *args)
    return live


def test_every_generated_queue_is_known() -> None:
    # Guards the CASE expression of the SQL: an unknown queue would get T = 20.
    assert {r.first_queue for r in generate().records} - {None} <= set(QUEUES)

