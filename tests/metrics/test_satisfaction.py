"""Survey indicators and complaint statistics, on hand-checked data, both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from callcenter.satisfaction import complaint_stats, net_promoter_score, satisfaction_by
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import InteractionRecord, LegRecord, commit_interactions
from callcenter.store.models import Customer, Survey, Ticket, table_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _answered(contact_id: str, queue: str, agent: str, customer_id: int) -> InteractionRecord:
    return InteractionRecord(
        contact_id=contact_id, channel="voice", outcome="answered", arrived_at=T0,
        queued_at=T0, answered_at=T0, ended_at=T0 + timedelta(minutes=3), first_queue=queue,
        last_queue=queue, customer_id=customer_id,
        legs=(LegRecord(leg_no=1, agent_id=agent, queue=queue, answered_at=T0,
                        ended_at=T0 + timedelta(minutes=3), talk_s=180.0),),
    )


@pytest.fixture
async def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    try:
        await _fill(engine)
        yield engine
    finally:
        await engine.dispose()


async def _fill(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as connection:
        await connection.execute(insert(table_of(Customer)), [
            {"id": 1, "name": "Key Co", "segment": "key_account", "tier": "key"},
            {"id": 2, "name": "Wang Fang", "segment": "general", "tier": "standard"},
            {"id": 3, "name": "Li Wei", "segment": "important", "tier": "gold"},
        ])
    await commit_interactions(make_sessionmaker(engine), [
        _answered("c1", "sales", "a1", 1), _answered("c2", "sales", "a2", 2),
        _answered("c3", "support", "a1", 3), _answered("c4", "support", "a2", 2),
    ])
    async with engine.begin() as connection:
        await connection.execute(insert(table_of(Survey)), [
            # sales: CSAT 5, 4 -> avg 4.5, satisfied 100%; NPS 10, 9 -> +100
            {"contact_id": "c1", "customer_id": 1, "at": T0, "csat": 5, "nps": 10,
             "comment": "great"},
            {"contact_id": "c2", "customer_id": 2, "at": T0, "csat": 4, "nps": 9,
             "comment": None},
            # support: CSAT 2, 3 -> 2.5, satisfied 0%; NPS 3, 7, 8 -> -33.3
            {"contact_id": "c3", "customer_id": 3, "at": T0, "csat": 2, "nps": 3,
             "comment": "slow"},
            {"contact_id": "c4", "customer_id": 2, "at": T0, "csat": 3, "nps": 7,
             "comment": " "},
            {"contact_id": "c4", "customer_id": 2, "at": T0, "csat": None, "nps": 8,
             "comment": None},
            # Outside the period: must not count.
            {"contact_id": "c1", "customer_id": 1, "at": T0 + 3 * DAY, "csat": 1, "nps": 0,
             "comment": None},
            # Not linked to a contact: no queue or agent, still has a segment.
            {"contact_id": None, "customer_id": 1, "at": T0, "csat": 1, "nps": 0,
             "comment": None},
        ])


async def test_survey_indicators_per_queue(engine) -> None:  # type: ignore[no-untyped-def]
    rows = {r.key: r for r in await satisfaction_by(engine, T0 - DAY, T0 + DAY, "queue")}
    assert set(rows) == {"sales", "support", None}
    sales, support = rows["sales"], rows["support"]
    assert (sales.csat_count, sales.csat_avg, sales.csat_satisfied_rate) == (2, 4.5, 1.0)
    assert (sales.nps_count, sales.promoters, sales.nps) == (2, 2, 100.0)
    assert sales.comments == 1
    assert (support.surveys, support.csat_count, support.csat_avg) == (3, 2, 2.5)
    assert support.csat_satisfied_rate == 0.0
    assert (support.promoters, support.passives, support.detractors) == (0, 2, 1)
    assert support.nps == pytest.approx(-100 / 3)
    assert support.comments == 1  # a blank comment is no comment
    assert rows[None].nps == -100.0


async def test_survey_indicators_per_agent_and_segment(engine) -> None:  # type: ignore[no-untyped-def]
    agents = {r.key: r for r in await satisfaction_by(engine, T0 - DAY, T0 + DAY, "agent")}
    # a1: c1 (5, 10) and c3 (2, 3); a2: c2 (4, 9), c4 (3, 7), c4 (-, 8)
    assert agents["a1"].csat_avg == 3.5 and agents["a1"].nps == 0.0
    assert agents["a2"].csat_avg == 3.5 and agents["a2"].nps == pytest.approx(100 / 3)
    segments = {r.key: r for r in await satisfaction_by(engine, T0 - DAY, T0 + DAY, "segment")}
    # key_account: c1 (5, 10) + unlinked (1, 0) -> CSAT 3, NPS 0
    assert (segments["key_account"].csat_avg, segments["key_account"].nps) == (3.0, 0.0)
    assert segments["important"].nps == -100.0
    assert segments["general"].csat_count == 2 and segments["general"].nps_count == 3
    total = (await satisfaction_by(engine, T0 - DAY, T0 + DAY, "all"))[0]
    assert (total.surveys, total.csat_count, total.nps_count) == (6, 5, 6)


def test_net_promoter_score_of_a_hand_counted_sample() -> None:
    assert net_promoter_score([10, 9, 8, 7, 6, 0]) == pytest.approx(0.0)
    assert net_promoter_score([9, 9, 9, 1]) == 50.0
    assert net_promoter_score([]) is None


async def test_complaint_statistics(db_url: str) -> None:
    engine = make_engine(db_url)
    start, end = T0, T0 + 7 * DAY

    def complaint(customer: int | None, opened: datetime, due_h: float | None,
                  resolved: datetime | None, kind: str = "complaint") -> dict[str, object]:
        return {"customer_id": customer, "kind": kind, "subject": "late parcel",
                "status": "resolved" if resolved else "open", "priority": "normal",
                "opened_at": opened,
                "sla_due_at": opened + timedelta(hours=due_h) if due_h is not None else None,
                "resolved_at": resolved, "updated_at": opened}

    try:
        async with engine.begin() as connection:
            await connection.execute(insert(table_of(Customer)), [
                {"id": 1, "name": "A"}, {"id": 2, "name": "B"}, {"id": 3, "name": "C"}])
            await connection.execute(insert(table_of(Ticket)), [
                # customer 1: one 20 days before the period, one in it -> the second repeats
                complaint(1, start - 20 * DAY, 24, start - 19 * DAY),
                complaint(1, start + DAY, 24, start + DAY + timedelta(hours=30)),  # late
                # customer 2: two in the period 10 days apart -> one repeat
                complaint(2, start + timedelta(hours=1), 24, start + timedelta(hours=5)),
                complaint(2, start + 6 * DAY, 24, None),  # open, due after `end`
                # customer 3: 40 days apart -> not a repeat; open and overdue
                complaint(3, start - 40 * DAY, 24, None),
                complaint(3, start + 2 * DAY, 24, None),
                # not complaints / outside the period
                complaint(3, start + 2 * DAY, 24, None, kind="service"),
                complaint(2, end + DAY, 24, None),
                # no customer, no due time, resolved: within SLA by definition
                complaint(None, start + 3 * DAY, None, start + 4 * DAY),
            ])
        stats = await complaint_stats(engine, start, end)
    finally:
        await engine.dispose()
    assert stats.opened == 5
    assert stats.resolved == 3
    assert stats.resolved_within_sla == 2
    assert stats.sla_resolution_rate == pytest.approx(2 / 5)
    assert stats.open_overdue == 1  # customer 3's; customer 2's is due only after `end`
    assert stats.repeat_complaints == 2
    assert stats.repeat_customers == 2
