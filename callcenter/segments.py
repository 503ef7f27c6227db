"""CRM analytics for routing: RFM scores, value segment, lifecycle, loyalty level, tier.

The rules are pure functions over a customer's order history (no I/O), exactly as
documented in docs/crm-segments.md; :mod:`callcenter.store.recompute` applies them
to the whole store in batches, and the ``recompute-segments`` command runs that.

- Only *counted* orders (paid, shipped, delivered) placed up to the as-of time
  count: pending, cancelled, returned and refunded orders earn nothing.
- Recency = whole days since the last counted order; frequency = number of
  counted orders; monetary = their total (= lifetime value).
- Each of R, F, M is scored 1-5 by percent rank among the customers with at least
  one counted order: ``pr = (values strictly worse) / (n - 1)`` (SQL
  ``PERCENT_RANK``), ``score = min(5, 1 + floor(5 * pr))``. Equal values get equal
  scores. For recency fewer days is better. With a single scored customer ``pr`` is 0.
- Customers without counted orders have no scores.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from callcenter.config import Config

LOYALTY_THRESHOLDS: tuple[tuple[int, str], ...] = (
    (50_000, "diamond"), (20_000, "platinum"), (5_000, "gold"), (1_000, "silver"), (0, "bronze"),
)
TIER_BY_SEGMENT = {"general": "standard", "important": "gold", "key_account": "key"}
NEW_CUSTOMER_DAYS = 90
ACTIVE_DAYS = 180
AT_RISK_DAYS = 365
KEY_ACCOUNT_MIN = {"r": 3, "f": 4, "m": 5}
IMPORTANT_MIN_RFM_SUM = 10


@dataclass(frozen=True, slots=True)
class CustomerActivity:
    """What the analytics need about one customer (counted orders only)."""

    customer_id: int
    order_count: int
    spent_cents: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    loyalty_points: int = 0


@dataclass(frozen=True, slots=True)
class CustomerAnalytics:
    """The computed CRM fields of one customer."""

    customer_id: int
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    segment: str
    lifecycle: str
    loyalty_level: str
    lifetime_value_cents: int
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None

    @property
    def default_tier(self) -> str:
        """The routing tier the segment suggests (before any hand-set lock)."""
        return tier_for_segment(self.segment)


def percent_rank_scores(values: Sequence[int | float]) -> list[int]:
    """Score each value 1-5 by its percent rank in ``values`` (higher value, higher score).

    ``pr = count(values < v) / (n - 1)``; ``score = min(5, 1 + floor(5 * pr))``,
    computed in integers so that ties and boundaries are exact.
    """
    n = len(values)
    if n == 0:
        return []
    if n == 1:
        return [1]
    ordered = sorted(values)
    scores = []
    for value in values:
        below = bisect.bisect_left(ordered, value)
        scores.append(min(5, 1 + (5 * below) // (n - 1)))
    return scores


def recency_days(last_order_at: datetime, as_of: datetime) -> int:
    """Whole days from the last order to ``as_of`` (0 for an order today or later)."""
    return max(0, (as_of - last_order_at) // timedelta(days=1))


def value_segment(r: int | None, f: int | None, m: int | None) -> str:
    """``key_account``: M 5, F >= 4, R >= 3; ``important``: R + F + M >= 10; else ``general``."""
    if r is None or f is None or m is None:
        return "general"
    if m >= KEY_ACCOUNT_MIN["m"] and f >= KEY_ACCOUNT_MIN["f"] and r >= KEY_ACCOUNT_MIN["r"]:
        return "key_account"
    if r + f + m >= IMPORTANT_MIN_RFM_SUM:
        return "important"
    return "general"


def lifecycle_stage(
    first_order_at: datetime | None, last_order_at: datetime | None, as_of: datetime
) -> str:
    """potential (never bought), new (first order <= 90 days ago), active (last order
    <= 180 days), at_risk (<= 365 days), lost (longer)."""
    if first_order_at is None or last_order_at is None:
        return "potential"
    if recency_days(first_order_at, as_of) <= NEW_CUSTOMER_DAYS:
        return "new"
    days = recency_days(last_order_at, as_of)
    if days <= ACTIVE_DAYS:
        return "active"
    if days <= AT_RISK_DAYS:
        return "at_risk"
    return "lost"


def loyalty_level(points: int) -> str:
    """bronze < 1,000 <= silver < 5,000 <= gold < 20,000 <= platinum < 50,000 <= diamond."""
    for threshold, level in LOYALTY_THRESHOLDS:
        if points >= threshold:
            return level
    return "bronze"


def tier_for_segment(segment: str) -> str:
    """general -> standard, important -> gold, key_account -> key."""
    return TIER_BY_SEGMENT[segment]


def resolve_tier(current_tier: str, tier_locked: bool, segment: str) -> str:
    """The tier after a recompute: a hand-locked tier is never overridden."""
    return current_tier if tier_locked else tier_for_segment(segment)


def analyse(activities: Sequence[CustomerActivity], as_of: datetime) -> list[CustomerAnalytics]:
    """Compute the CRM fields of every customer in ``activities`` (the whole population)."""
    scored = [a for a in activities if a.order_count > 0 and a.last_order_at is not None]
    # Recency: fewer days is better, so rank the negated day count.
    r_scores = percent_rank_scores(
        [-recency_days(a.last_order_at, as_of) for a in scored if a.last_order_at]
    )
    f_scores = percent_rank_scores([a.order_count for a in scored])
    m_scores = percent_rank_scores([a.spent_cents for a in scored])
    scores = {a.customer_id: (r, f, m)
              for a, r, f, m in zip(scored, r_scores, f_scores, m_scores, strict=True)}
    results = []
    for a in activities:
        r, f, m = scores.get(a.customer_id, (None, None, None))
        results.append(CustomerAnalytics(
            customer_id=a.customer_id, rfm_r=r, rfm_f=f, rfm_m=m,
            segment=value_segment(r, f, m),
            lifecycle=lifecycle_stage(a.first_order_at, a.last_order_at, as_of),
            loyalty_level=loyalty_level(a.loyalty_points),
            lifetime_value_cents=a.spent_cents if a.order_count else 0,
            order_count=a.order_count, first_order_at=a.first_order_at,
            last_order_at=a.last_order_at,
        ))
    return results


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``callcenter recompute-segments``."""
    parser.add_argument("--url", help="store URL (default: store.url of the configuration)")
    parser.add_argument("--as-of", type=_parse_time, default=None, metavar="TIME",
                        help="compute as of this ISO time or date, UTC (default: now)")
    parser.add_argument("--batch-size", type=int, default=2000,
                        help="customers updated per transaction (default: 2000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``callcenter recompute-segments``."""
    from callcenter.errors import ValidationFailed
    from callcenter.store.progress import progress_reporter
    from callcenter.store.recompute import recompute_segments_at

    if args.batch_size < 1:
        raise ValidationFailed("--batch-size must be at least 1")
    url = args.url or config.store.url
    as_of = args.as_of or datetime.now(UTC)
    with progress_reporter("recomputing segments", enabled=not args.no_progress) as report:
        summary = asyncio.run(recompute_segments_at(url, as_of=as_of,
                                                    batch_size=args.batch_size, progress=report))
    out = sys.stdout
    print(f"recomputed {summary.customers} customers as of {as_of.isoformat()}: "
          f"{summary.updated} changed, {summary.locked_tiers_kept} hand-set tiers kept", file=out)
    for title, counts in (("segment", summary.by_segment), ("tier", summary.by_tier),
                          ("lifecycle", summary.by_lifecycle)):
        listed = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        print(f"  {title}: {listed}", file=out)
    return 0
