"""Engines and sessions for the CRM store (SQLite by default, PostgreSQL by URL).

SQLite connections run WAL with ``synchronous=FULL`` (a commit survives power
loss, not only a crash of the process), foreign keys on and a busy timeout.
pysqlite's own transaction handling is switched off and SQLAlchemy emits
``BEGIN`` itself, so reads inside a transaction see one snapshot and DDL
(migrations) is transactional.

PostgreSQL URLs may carry ``?schema=NAME``: a parameter of ours, not of asyncpg.
It is removed from the URL and becomes the connection's ``search_path``, so tests
and tenants can each live in their own schema of one database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from callcenter.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 10_000
BULK_LOAD_CACHE_KIB = 256 * 1024
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A store URL split into what SQLAlchemy gets and our own ``schema`` parameter."""

    url: URL
    schema: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, or None for an in-memory SQLite database."""
        if not self.is_sqlite or self.url.database in (None, "", ":memory:"):
            return None
        return Path(str(self.url.database))


def parse_store_url(url: str) -> StoreUrl:
    """Check a store URL and take our ``?schema=`` parameter out of it.

    Raises :class:`ConfigError` for a URL that is not SQLite/aiosqlite or
    PostgreSQL/asyncpg, or for a schema name that is not a plain identifier.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"store.url: not a database URL: {url!r}") from None
    driver = parsed.drivername
    if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"store.url: unsupported driver {driver!r} "
            "(use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db)"
        )
    schema = parsed.query.get("schema")
    if isinstance(schema, tuple):
        raise ConfigError("store.url: the schema parameter is given more than once")
    if schema is not None:
        if driver != "postgresql+asyncpg":
            raise ConfigError("store.url: ?schema= is only supported for PostgreSQL")
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"store.url: schema {schema!r} is not a plain SQL identifier")
        parsed = parsed.difference_update_query(["schema"])
    return StoreUrl(url=parsed, schema=schema)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 5, bulk_load: bool = False
) -> AsyncEngine:
    """An async engine for ``url`` with the store's connection settings applied.

    SQLite: creates the parent folder of the file; every connection gets WAL,
    ``synchronous=FULL``, ``foreign_keys=ON`` and a busy timeout.
    PostgreSQL: ``?schema=NAME`` becomes the ``search_path``.

    ``bulk_load`` (seeding only) relaxes SQLite to ``synchronous=NORMAL`` with a
    large page cache: WAL keeps the file consistent, but the last commits may be
    lost on power failure, which a re-runnable seed can afford and the server cannot.
    """
    store_url = parse_store_url(url)
    options: dict[str, Any] = {
        "echo": echo,
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if store_url.is_sqlite:
        path = store_url.sqlite_path
        if path is None:
            # One shared connection, or every session would see its own empty database.
            options["poolclass"] = StaticPool
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(store_url.url, **options)
        _configure_sqlite(engine, in_memory=path is None, bulk_load=bulk_load)
        return engine
    connect_args: dict[str, Any] = {}
    if store_url.schema is not None:
        connect_args["server_settings"] = {"search_path": store_url.schema}
    return create_async_engine(
        store_url.url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        **options,
    )


def make_sync_sqlite_engine(url: str, *, pool_size: int = 4) -> Engine:
    """A synchronous engine on the same SQLite file, with the same connection settings.

    For reads run in worker threads (see ``ScreenPopReader``); connections may move
    between threads, one at a time, as the pool hands them out.
    """
    store_url = parse_store_url(url)
    path = store_url.sqlite_path
    if path is None:
        raise ConfigError("store.url: a synchronous reader needs a SQLite file, not :memory:")
    engine = create_engine(
        store_url.url.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": False},
        pool_size=pool_size,
        max_overflow=pool_size,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    _configure_sqlite(engine, in_memory=False, bulk_load=False)
    return engine


def _configure_sqlite(engine: AsyncEngine | Engine, *, in_memory: bool, bulk_load: bool) -> None:
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={'NORMAL' if bulk_load else 'FULL'}")
            if bulk_load:
                cursor.execute(f"PRAGMA cache_size=-{BULK_LOAD_CACHE_KIB}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def backend_name(engine: AsyncEngine) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return engine.dialect.name


_T = TypeVar("_T")


async def write_with_retry(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[_T]],
    *,
    attempts: int = 5,
) -> _T:
    """Run ``work`` in one write transaction, again from the start if SQLite says locked.

    A SQLite transaction that read before another connection committed cannot then
    write (SQLITE_BUSY_SNAPSHOT, "database is locked"), and the busy timeout does not
    help: only a new transaction does. Writers outside the router task's batches (the
    IVR's end records, patches) go through here so their rows are never dropped.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with sessionmaker.begin() as session:
                return await work(session)
        except OperationalError as exc:
            if attempt == attempts or "database is locked" not in str(exc.orig):
                raise
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
