"""CRM analytics: RFM by percent rank against a hand-computed table, segments, tiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.cli import main
from callcenter.segments import (
    CustomerActivity,
    analyse,
    lifecycle_stage,
    loyalty_level,
    percent_rank_scores,
    resolve_tier,
    value_segment,
)
from callcenter.store.customers import (
    CustomerChanges,
    NewCustomer,
    create_customer,
    get_customer,
    update_customer,
)
from callcenter.store.orders import NewOrder, add_order
from callcenter.store.recompute import recompute_segments
from tests.store.conftest import Store

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# The hand-computed table (docs/crm-segments.md walks through it):
# id  first       last        orders  spent   R  F  M  segment      lifecycle  tier
# 1   2024-01-01  2026-10-31  10      50,000  5  5  5  key_account  active     key
# 2   2026-09-01  2026-10-01   6      30,000  3  4  4  important    new        gold
# 3   2025-06-01  2026-10-01   5      20,000  3  3  3  general      active     standard
# 4   2025-01-01  2026-03-01   2       5,000  2  2  2  general      at_risk    standard
# 5   2025-01-01  2025-01-01   1       1,000  1  1  1  general      lost       standard
# 6   -           -            0           0  -  -  -  general      potential  standard
HAND_TABLE = [
    (1, "2024-01-01", "2026-10-31", 10, 50_000, (5, 5, 5), "key_account", "active", "key"),
    (2, "2026-09-01", "2026-10-01", 6, 30_000, (3, 4, 4), "important", "new", "gold"),
    (3, "2025-06-01", "2026-10-01", 5, 20_000, (3, 3, 3), "general", "active", "standard"),
    (4, "2025-01-01", "2026-03-01", 2, 5_000, (2, 2, 2), "general", "at_risk", "standard"),
    (5, "2025-01-01", "2025-01-01", 1, 1_000, (1, 1, 1), "general", "lost", "standard"),
    (6, None, None, 0, 0, (None, None, None), "general", "potential", "standard"),
]


def activities() -> list[CustomerActivity]:
    return [CustomerActivity(customer_id=cid, order_count=count, spent_cents=spent,
                             first_order_at=day(first) if first else None,
                             last_order_at=day(last) if last else None)
            for cid, first, last, count, spent, *_ in HAND_TABLE]


def test_rfm_scores_segments_and_lifecycle_match_the_hand_table() -> None:
    results = {r.customer_id: r for r in analyse(activities(), AS_OF)}
    for cid, _, _, count, spent, rfm, segment, lifecycle, tier in HAND_TABLE:
        result = results[cid]
        assert (result.rfm_r, result.rfm_f, result.rfm_m) == rfm, cid
        assert (result.segment, result.lifecycle, result.default_tier) == (
            segment, lifecycle, tier), cid
        assert (result.order_count, result.lifetime_value_cents) == (count, spent)


def test_percent_rank_gives_equal_values_equal_scores() -> None:
    assert percent_rank_scores([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
    assert percent_rank_scores([7, 7, 7]) == [1, 1, 1]
    assert percent_rank_scores([1, 2, 2, 2, 9]) == [1, 2, 2, 2, 5]
    assert percent_rank_scores([3]) == [1]
    assert percent_rank_scores([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40))
def test_percent_rank_scores_are_monotone_and_bounded(values: list[int]) -> None:
    scores = percent_rank_scores(values)
    assert all(1 <= s <= 5 for s in scores)
    for a, sa in zip(values, scores, strict=True):
        for b, sb in zip(values, scores, strict=True):
            if a == b:
                assert sa == sb
            elif a < b:
                assert sa <= sb
    # Ties take the lowest rank of their group (SQL PERCENT_RANK): the smallest value
    # always scores 1, and a largest value held by one customer alone scores 5.
    assert scores[values.index(min(values))] == 1
    if len(values) > 1 and values.count(max(values)) == 1:
        assert scores[values.index(max(values))] == 5


def test_segment_lifecycle_and_loyalty_thresholds() -> None:
    assert value_segment(3, 4, 5) == "key_account"
    assert value_segment(2, 5, 5) == "important"  # lapsed big spender: not a key account
    assert value_segment(2, 3, 5) == "important"
    assert value_segment(2, 3, 4) == "general"
    assert value_segment(None, None, None) == "general"
    assert lifecycle_stage(AS_OF - timedelta(days=90), AS_OF, AS_OF) == "new"
    assert lifecycle_stage(AS_OF - timedelta(days=91), AS_OF - timedelta(days=180),
                           AS_OF) == "active"
    assert lifecycle_stage(AS_OF - timedelta(days=400), AS_OF - timedelta(days=181),
                           AS_OF) == "at_risk"
    assert lifecycle_stage(AS_OF - timedelta(days=400), AS_OF - timedelta(days=366),
                           AS_OF) == "lost"
    assert [loyalty_level(p) for p in (0, 999, 1_000, 4_999, 5_000, 20_000, 50_000)] == [
        "bronze", "bronze", "silver", "silver", "gold", "platinum", "diamond"]
    assert resolve_tier("silver", True, "key_account") == "silver"
    assert resolve_tier("silver", False, "key_account") == "key"


async def test_recompute_writes_the_table_and_never_overrides_a_locked_tier(
    store: Store,
) -> None:
    ids: dict[int, int] = {}
    async with store.sessions.begin() as session:
        for cid, first, last, count, spent, *_ in HAND_TABLE:
            customer = await create_customer(session, NewCustomer(name=f"Customer {cid}",
                                                                  loyalty_points=cid * 4_000))
            ids[cid] = customer.id
            if first and last:
                times = [day(first)] + [day(last)] * (count - 1)
                amounts = [spent // count] * (count - 1) + [spent - spent // count * (count - 1)]
                for n, (at, amount) in enumerate(zip(times, amounts, strict=True)):
                    await add_order(session, NewOrder(customer.id, f"{cid}-{n}", at, amount,
                                                      status="delivered"))
            # Orders that earn nothing must not move the scores.
            await add_order(session, NewOrder(customer.id, f"{cid}-x", AS_OF, 999_999,
                                              status="cancelled"))
        await add_order(session, NewOrder(ids[6], "6-future", AS_OF + timedelta(days=3), 100))
        # Customer 1 would be "key"; its manager locked it at "strategic".
        await update_customer(session, ids[1], CustomerChanges(tier="strategic"))
        # Customer 3 was locked at gold by hand, then unlocked: the recompute takes over.
        await update_customer(session, ids[3], CustomerChanges(tier="gold"))
        await update_customer(session, ids[3], CustomerChanges(tier_locked=False))

    steps: list[tuple[str, int, int]] = []
    summary = await recompute_segments(store.engine, as_of=AS_OF, batch_size=4,
                                       progress=lambda *step: steps.append(step))

    async with store.sessions() as session:
        customers = {cid: await get_customer(session, ids[cid]) for cid in ids}
    for cid, _, last, count, spent, rfm, segment, lifecycle, tier in HAND_TABLE:
        c = customers[cid]
        assert (c.rfm_r, c.rfm_f, c.rfm_m, c.segment, c.lifecycle) == (
            *rfm, segment, lifecycle), cid
        assert (c.order_count, c.lifetime_value_cents) == (count, spent), cid
        assert c.last_order_at == (day(last) if last else None)
        assert c.segments_computed_at == AS_OF
        if cid != 1:
            assert c.tier == tier, cid
    assert (customers[1].tier, customers[1].tier_locked) == ("strategic", True)
    assert customers[3].tier == "standard"
    assert [c.loyalty_level for c in customers.values()] == [
        "silver", "gold", "gold", "gold", "platinum", "platinum"]
    assert (summary.customers, summary.updated, summary.locked_tiers_kept) == (6, 6, 1)
    assert summary.by_segment == {"key_account": 1, "important": 1, "general": 4}
    assert steps[-1] == ("updating customers", 6, 6)

    again = await recompute_segments(store.engine, as_of=AS_OF)
    assert again.updated == 0


def test_recompute_segments_command_reports_a_summary(
    sqlite_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["recompute-segments", "--url", sqlite_url, "--as-of", "2026-11-01",
                 "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "recomputed 0 customers as of 2026-11-01T00:00:00+00:00" in out
    assert main(["recompute-segments", "--url", sqlite_url, "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err
