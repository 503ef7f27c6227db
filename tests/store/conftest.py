"""Fixtures for store tests: an engine and sessions on the ``db_url`` store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.store.engine import make_engine, make_sessionmaker


@dataclass
class Store:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """Engine + sessionmaker on a migrated, empty store (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    try:
        yield Store(engine, make_sessionmaker(engine))
    finally:
        await engine.dispose()


@dataclass
class StatementLog:
    """Statements sent to the database while it is attached (BEGIN/COMMIT left out)."""

    statements: list[str] = field(default_factory=list)

    @property
    def queries(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


@pytest.fixture
def statement_log(store: Store) -> Iterator[StatementLog]:
    log = StatementLog()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            log.statements.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
