"""Store benchmark: screen-pop read latency and durable interaction write-back throughput.

Seeds the demo data (``--customers``, ``--interactions``) into a fresh SQLite file
and a fresh PostgreSQL schema, then measures on each backend:

- the screen-pop read as the server does it when a contact arrives: identity
  lookup by phone -> profile, tier, segment, last 10 interactions, open tickets,
  last 5 orders (target: p99 <= 3 ms, at most 2 queries);
- interaction write-back in batches, each batch committed (durable: SQLite WAL
  with ``synchronous=FULL``) before the next starts (target: >= 5,000 records/s
  on SQLite);
- ``SELECT 1`` through the same engine, as a baseline for this machine's noise.

Prints one JSON object. Never asserts a time. ``--quick`` runs small sizes (< 60 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, select, text

from callcenter.seed import SeedOptions, seed_store
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.interactions import InteractionRecord, LegRecord, commit_interactions
from callcenter.store.models import CustomerIdentity
from callcenter.store.screen_pop import ScreenPopReader, load_screen_pop_by_identity

PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SCREEN_POP_TARGET_P99_MS = 3.0
WRITE_BACK_TARGET_PER_S = 5000.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples_ms), 3),
        "p90_ms": round(percentile(samples_ms, 90), 3),
        "p99_ms": round(percentile(samples_ms, 99), 3),
        "max_ms": round(max(samples_ms), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
    }


async def baseline_select1(url: str, rounds: int) -> float:
    engine = make_engine(url)
    try:
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            samples.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(samples), 3)
    finally:
        await engine.dispose()


async def sample_phones(url: str, samples: int, seed: int) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            phones = list((await connection.execute(
                select(CustomerIdentity.value).where(CustomerIdentity.kind == "phone")
                .order_by(CustomerIdentity.id)
            )).scalars())
    finally:
        await engine.dispose()
    rng = random.Random(seed)
    return [rng.choice(phones) for _ in range(samples)]


async def time_reads(read: Any, phones: list[str]) -> tuple[list[float], list[int]]:
    for phone in phones[:200]:  # warm the pool, caches and statements
        await read("phone", phone)
    latencies, sizes = [], []
    for phone in phones:
        started = time.perf_counter()
        pop = await read("phone", phone)
        latencies.append((time.perf_counter() - started) * 1000)
        sizes.append(len(orjson.dumps(pop.to_dict())))
    return latencies, sizes


async def measure_screen_pop(url: str, samples: int, seed: int) -> dict[str, Any]:
    """Both ways to read: the repository function on the async engine, and the
    ``ScreenPopReader`` the server uses (one thread hop per read on SQLite)."""
    phones = await sample_phones(url, samples, seed)
    engine = make_engine(url)
    queries: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            queries.append(1)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await load_screen_pop_by_identity(engine, "phone", phones[0])
        queries.clear()
        await load_screen_pop_by_identity(engine, "phone", phones[0])
        per_read = len(queries)

        async def by_engine(kind: str, value: str) -> Any:
            return await load_screen_pop_by_identity(engine, kind, value)

        engine_ms, sizes = await time_reads(by_engine, phones)
    finally:
        await engine.dispose()
    reader = ScreenPopReader(url)
    try:
        reader_ms, _ = await time_reads(reader.by_identity, phones)
        unknown = [f"+8610{n:08d}" for n in range(min(500, samples))]
        unknown_ms, _ = await time_reads(reader.by_identity, unknown)
    finally:
        await reader.close()
    summary = latency_summary(reader_ms)
    return {
        "samples": samples,
        "queries_per_read": per_read,
        "mean_json_bytes": round(statistics.fmean(sizes)),
        "reader": summary,
        "async_engine": latency_summary(engine_ms),
        "unknown_caller_reader_p99_ms": round(percentile(unknown_ms, 99), 3),
        "target_p99_ms": SCREEN_POP_TARGET_P99_MS,
        "meets_target": summary["p99_ms"] <= SCREEN_POP_TARGET_P99_MS and per_read <= 2,
    }


def write_back_records(count: int, customers: int, seed: int) -> list[InteractionRecord]:
    """Finished contacts like the server writes: 1 leg, 1 in 20 transferred (2 legs)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    records = []
    for n in range(count):
        arrived = start + timedelta(seconds=n)
        answered = arrived + timedelta(seconds=30)
        ended = answered + timedelta(seconds=240)
        legs = [LegRecord(leg_no=1, agent_id=f"agent{rng.randint(1, 24):02d}",
                          queue="voice_support", alerting_at=answered - timedelta(seconds=5),
                          answered_at=answered, ended_at=ended, talk_s=240.0, wrap_up_s=20.0)]
        transferred = n % 20 == 0
        if transferred:
            legs.append(LegRecord(leg_no=2, agent_id="agent02", queue="voice_sales",
                                  answered_at=ended, ended_at=ended + timedelta(seconds=60),
                                  talk_s=60.0, wrap_up_s=10.0))
        records.append(InteractionRecord(
            contact_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), channel="voice",
            outcome="transferred" if transferred else "answered", arrived_at=arrived,
            customer_id=rng.randint(1, customers) if customers else None,
            first_queue="voice_support", ivr_left_at=arrived + timedelta(seconds=20),
            queued_at=arrived + timedelta(seconds=20),
            alerting_at=answered - timedelta(seconds=5), answered_at=answered, ended_at=ended,
            wrap_up_ended_at=ended + timedelta(seconds=20), wait_s=10.0, talk_s=240.0,
            wrap_up_s=20.0, disposition="resolved", ivr_path=("main", "1"),
            csat=rng.choice((None, None, 4, 5)), legs=tuple(legs),
        ))
    return records


async def measure_write_back(url: str, records: int, batch: int, customers: int,
                             seed: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    data = write_back_records(records, customers, seed)
    batches = [data[i:i + batch] for i in range(0, len(data), batch)]
    try:
        await commit_interactions(sessions, batches[0])  # warm-up batch, not timed
        latencies = []
        written = 0
        started = time.perf_counter()
        for chunk in batches[1:]:
            batch_started = time.perf_counter()
            result = await commit_interactions(sessions, chunk)  # returns after commit
            latencies.append((time.perf_counter() - batch_started) * 1000)
            written += result.written
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    rate = written / elapsed if elapsed else 0.0
    return {
        "records": written,
        "batch_size": batch,
        "legs_per_record": round(sum(len(r.legs) for r in data) / len(data), 3),
        "records_per_s": round(rate, 1),
        "batch_p50_ms": round(statistics.median(latencies), 3),
        "batch_p99_ms": round(percentile(latencies, 99), 3),
        "durability": "each batch committed before the next (SQLite WAL synchronous=FULL; "
                      "PostgreSQL synchronous_commit on)",
        "target_records_per_s": WRITE_BACK_TARGET_PER_S,
        "meets_target": rate >= WRITE_BACK_TARGET_PER_S,
    }


async def bench_backend(url: str, options: SeedOptions, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    summary = await seed_store(url, options)
    seed_s = time.perf_counter() - started
    return {
        "seed_s": round(seed_s, 1),
        "rows": summary.counts,
        "baseline_select1_p50_ms": await baseline_select1(url, 500),
        "screen_pop": await measure_screen_pop(url, args.samples, options.seed),
        "write_back": await measure_write_back(url, args.write_records, args.batch,
                                               options.customers, options.seed),
    }


async def postgres_schema(action: str, schema: str) -> None:
    engine = make_engine(PG_BASE)
    try:
        async with engine.begin() as connection:
            if action == "create":
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            else:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    options = SeedOptions(customers=args.customers, interactions=args.interactions,
                          seed=args.seed)
    report: dict[str, Any] = {
        "bench": "store",
        "quick": args.quick,
        "customers": options.customers,
        "interactions": options.interaction_count,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version,
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
    }
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'store.db'}"
        report["sqlite"] = await bench_backend(url, options, args)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        await postgres_schema("create", schema)
    except OSError as exc:
        report["postgresql"] = {"skipped": f"PostgreSQL unreachable: {exc}"}
    else:
        try:
            report["postgresql"] = await bench_backend(f"{PG_BASE}?schema={schema}", options,
                                                       args)
        finally:
            await postgres_schema("drop", schema)
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=500_000)
    parser.add_argument("--samples", type=int, default=5000, help="screen-pop reads timed")
    parser.add_argument("--write-records", type=int, default=50_000,
                        help="interaction records written back")
    parser.add_argument("--batch", type=int, default=500, help="records per write-back batch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: 3,000 customers, 15,000 interactions")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.interactions = 3000, 15_000
        args.samples, args.write_records = 1000, 10_000
    report = asyncio.run(run(args))
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
