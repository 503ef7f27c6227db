"""Whole-store operations: bulk loading, emptiness, reset, id sequences, content digest.

Used by the demo seed and the benchmark; none of it is on the server's hot path.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Integer, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from callcenter.store.models import Base
from callcenter.store.timestamps import UtcDateTime, as_utc

# Rows per executemany call: large enough to amortise, small enough to report progress.
BULK_CHUNK = 5000


@asynccontextmanager
async def secondary_indexes_deferred(
    engine: AsyncEngine, tables: Iterable[str]
) -> AsyncIterator[None]:
    """Drop the non-unique indexes of ``tables`` for a bulk load, rebuild them after.

    Building an index once from the loaded rows is much cheaper than updating it
    row by row. The indexes are rebuilt even when the load fails, so the schema
    always ends as the migrations made it.
    """
    indexes = [index for name in tables for index in Base.metadata.tables[name].indexes
               if not index.unique]
    async with engine.begin() as connection:
        for index in indexes:
            await connection.run_sync(index.drop, checkfirst=True)
    try:
        yield
    finally:
        async with engine.begin() as connection:
            for index in indexes:
                await connection.run_sync(index.create, checkfirst=True)


def tables_in_dependency_order() -> list[str]:
    """Every store table, parents before children."""
    return [str(table.name) for table in Base.metadata.sorted_tables]


async def table_counts(connection: AsyncConnection) -> dict[str, int]:
    """Row count of every store table."""
    counts = {}
    for name in tables_in_dependency_order():
        table = Base.metadata.tables[name]
        counts[name] = int(await connection.scalar(select(func.count()).select_from(table)) or 0)
    return counts


async def is_empty(connection: AsyncConnection) -> bool:
    """True when no store table holds a row."""
    for name in tables_in_dependency_order():
        table = Base.metadata.tables[name]
        if await connection.scalar(select(1).select_from(table).limit(1)) is not None:
            return False
    return True


async def clear_store(connection: AsyncConnection) -> None:
    """Delete every row of every store table (the schema stays)."""
    names = tables_in_dependency_order()
    if connection.dialect.name == "postgresql":
        listed = ", ".join(f'"{name}"' for name in names)
        await connection.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
        return
    for name in reversed(names):
        await connection.execute(Base.metadata.tables[name].delete())


async def insert_rows(
    connection: AsyncConnection, table_name: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with every column given) into ``table_name``, fast.

    Bulk loading bypasses SQLAlchemy's per-value processing: on SQLite, values are
    converted once to the exact storage form SQLAlchemy itself uses (naive UTC
    text times, JSON text) and passed to the driver's ``executemany``; on
    PostgreSQL rows go through ``COPY``. Reading back through the models gives the
    same values as an ORM insert would (checked by the seed tests' digest).
    """
    if not rows:
        return
    table = Base.metadata.tables[table_name]
    given = rows[0].keys()
    # Columns left out get their model's constant default (callable ones such as
    # "now" are not applied: bulk data must say its own times).
    defaults = {column.name: column.default.arg for column in table.columns
                if column.name not in given
                and isinstance(column.default, ScalarElementColumnDefault)}
    columns = [column for column in table.columns if column.name in given or
               column.name in defaults]
    sqlite = connection.dialect.name == "sqlite"
    names = [column.name for column in columns]
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows[start:start + BULK_CHUNK]
        if defaults:
            chunk = [{**defaults, **row} for row in chunk]
        records = _records(chunk, columns, sqlite=sqlite)
        if not sqlite:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table_name, records=records, columns=names)
        else:
            listed = ", ".join(f'"{name}"' for name in names)
            marks = ", ".join("?" for _ in names)
            await connection.exec_driver_sql(
                f'INSERT INTO "{table_name}" ({listed}) VALUES ({marks})', records)


async def update_rows(
    connection: AsyncConnection, table_name: str, rows: Sequence[Mapping[str, Any]],
    *, key: str = "id",
) -> None:
    """Set the given columns of many rows, matched on ``key`` (every row: same columns)."""
    if not rows:
        return
    table = Base.metadata.tables[table_name]
    columns = [column for column in table.columns if column.name in rows[0]]
    sqlite = connection.dialect.name == "sqlite"
    names = [column.name for column in columns]
    changed = [name for name in names if name != key]
    records = _records(rows, columns, sqlite=sqlite)
    if sqlite:
        assignments = ", ".join(f'"{name}" = ?' for name in changed)
        order = [names.index(name) for name in [*changed, key]]
        await connection.exec_driver_sql(
            f'UPDATE "{table_name}" SET {assignments} WHERE "{key}" = ?',
            [tuple(record[i] for i in order) for record in records])
        return
    # PostgreSQL: COPY into a temporary table, then one joined UPDATE.
    listed = ", ".join(f'"{name}"' for name in names)
    staging = f"staging_{table_name}"
    await connection.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP AS '
        f'SELECT {listed} FROM "{table_name}" WITH NO DATA')
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        staging, records=records, columns=names)
    assignments = ", ".join(f'"{name}" = s."{name}"' for name in changed)
    await connection.exec_driver_sql(
        f'UPDATE "{table_name}" AS t SET {assignments} FROM "{staging}" AS s '
        f'WHERE t."{key}" = s."{key}"')


def _records(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Any], *, sqlite: bool
) -> list[tuple[Any, ...]]:
    """Rows as driver-ready tuples in ``columns`` order (only odd values converted)."""
    pick = operator.itemgetter(*(column.name for column in columns))
    converted = [(i, convert) for i, column in enumerate(columns)
                 if (convert := _converter(column, sqlite=sqlite)) is not None]
    single = len(columns) == 1  # itemgetter of one name returns the bare value
    plain = [(pick(row),) for row in rows] if single else [pick(row) for row in rows]
    if not converted:
        return plain
    records = []
    for values in plain:
        record = list(values)
        for i, convert in converted:
            record[i] = convert(record[i])
        records.append(tuple(record))
    return records


def _json_text(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format, in UTC (see timestamps.py).
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = as_utc(value)
    return value.isoformat(" ", "microseconds")[:26]


def _converter(column: Any, *, sqlite: bool) -> Callable[[Any], Any] | None:
    """How a Python value becomes a driver value for bulk loading (None: as it is)."""
    if isinstance(column.type, JSON):
        return _json_text
    if sqlite and isinstance(column.type, UtcDateTime):
        return _sqlite_time
    # sqlite3 stores bool as 0/1 itself; asyncpg's COPY encodes datetimes and booleans.
    return None


async def reset_id_sequences(connection: AsyncConnection) -> None:
    """After inserting explicit ids, move PostgreSQL sequences past the largest id.

    SQLite needs nothing: a rowid key continues after the largest one present.
    """
    if connection.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or not keys[0].autoincrement:
            continue
        key = keys[0].name
        await connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key}'), "
            f"COALESCE(MAX({key}), 1), MAX({key}) IS NOT NULL) FROM \"{table.name}\""
        ))


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


async def content_digest(
    connection: AsyncConnection, *, tables: Iterable[str] | None = None
) -> str:
    """A SHA-256 over every row of every store table in key order.

    Values are put in a backend-neutral form first, so the same data gives the
    same digest on SQLite and PostgreSQL.
    """
    digest = hashlib.sha256()
    for name in tables if tables is not None else tables_in_dependency_order():
        table = Base.metadata.tables[name]
        digest.update(f"table {name}\n".encode())
        query = select(table).order_by(*table.primary_key.columns)
        result = await connection.stream(query.execution_options(yield_per=5000))
        async for row in result:
            digest.update(orjson.dumps([_canonical(v) for v in row],
                                       option=orjson.OPT_SORT_KEYS))
            digest.update(b"\n")
    return digest.hexdigest()

