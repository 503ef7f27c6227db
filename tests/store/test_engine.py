"""Engine settings: URL checks, SQLite pragmas, PostgreSQL schemas, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from callcenter.errors import ConfigError
from callcenter.store.engine import make_engine, parse_store_url
from callcenter.store.models import RouterJournal
from callcenter.store.timestamps import iso_utc
from tests.conftest import sqlite_file_url
from tests.store.conftest import Store


@pytest.mark.parametrize("url", [
    "mysql+aiomysql://u@h/db",
    "sqlite:///plain-driver.db",
    "postgresql://u@h/db",
    "not a url",
])
def test_unsupported_store_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(url)
    assert caught.value.code == "config.invalid"
    assert "store.url" in caught.value.message


@pytest.mark.parametrize("url", [
    "postgresql+asyncpg://u@h/db?schema=bad-name",
    "postgresql+asyncpg://u@h/db?schema=x;drop",
    "sqlite+aiosqlite:///x.db?schema=t1",
    "postgresql+asyncpg://u@h/db?schema=a&schema=b",
])
def test_bad_schema_parameters_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_store_url(url)


def test_schema_parameter_is_taken_out_of_the_driver_url() -> None:
    parsed = parse_store_url("postgresql+asyncpg://postgres@127.0.0.1:5432/test?schema=t_1")
    assert parsed.schema == "t_1"
    assert "schema" not in parsed.url.query


async def test_sqlite_file_gets_parent_folder_wal_full_sync_and_foreign_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "er" / "store.db"
    engine = make_engine(sqlite_file_url(path))
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert path.exists()
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                       "busy_timeout": 10_000}


@pytest.mark.postgres
async def test_postgres_schema_parameter_sets_the_search_path(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            path = (await connection.execute(text("SHOW search_path"))).scalar()
    finally:
        await engine.dispose()
    assert path == parse_store_url(postgres_url).schema


async def test_times_come_back_aware_utc_on_both_backends(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    written = datetime(2026, 11, 23, 18, 15, 0, 123456, tzinfo=shanghai)
    async with store.sessions.begin() as session:
        session.add(RouterJournal(at=written, kind="probe", payload={"n": 1}))
    async with store.sessions() as session:
        read = (await session.execute(select(RouterJournal.at))).scalar_one()
    assert read == written
    assert read.tzinfo is UTC
    assert iso_utc(read) == "2026-11-23T10:15:00.123Z"


async def test_naive_times_are_refused(store: Store) -> None:
    async with store.sessions() as session:
        session.add(RouterJournal(at=datetime(2026, 11, 23, 10, 0), kind="probe", payload={}))
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()
