"""Fixtures shared by the whole suite: a migrated, empty CRM store on each backend.

``db_url`` runs a test twice, on SQLite (a temp file) and on PostgreSQL (a fresh
schema of the ``test`` database, dropped afterwards). The PostgreSQL variant
skips when the server is absent on a laptop and fails when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from callcenter.store.engine import make_engine
from callcenter.store.migrate import upgrade
from tests.services import PG_DB, PG_HOST, PG_PORT, PG_USER, require_postgres

PG_BASE_URL = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"


def sqlite_file_url(path: Path) -> str:
    """The store URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


def postgres_schema_url(schema: str) -> str:
    """The store URL of one schema of the test database."""
    return f"{PG_BASE_URL}?schema={schema}"


async def create_pg_schema() -> str:
    """Create a uniquely named empty schema in the test database and return its name."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = make_engine(PG_BASE_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await engine.dispose()
    return schema


async def drop_pg_schema(schema: str) -> None:
    """Drop a schema made by :func:`create_pg_schema`, with everything in it."""
    engine = make_engine(PG_BASE_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def _run_to_completion(work: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine from sync code, even when called under a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(work)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Migrating once and copying the file keeps each SQLite test's set-up cheap.
    path = tmp_path_factory.mktemp("store-template") / "template.db"
    _run_to_completion(upgrade(sqlite_file_url(path)))
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _migrated_sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty SQLite store in a temp file."""
    path = tmp_path / "store.db"
    shutil.copyfile(_migrated_sqlite_template, path)
    yield sqlite_file_url(path)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A migrated, empty PostgreSQL store in a fresh schema, dropped afterwards."""
    require_postgres()
    schema = await create_pg_schema()
    try:
        url = postgres_schema_url(schema)
        await upgrade(url)
        yield url
    finally:
        await drop_pg_schema(schema)


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty store URL: once on SQLite, once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))
