"""Alembic environment for the CRM store.

Runs in two ways:
- from :mod:`callcenter.store.migrate`, which opens the connection itself (async
  engine, ``run_sync``) and hands it over in ``config.attributes["connection"]``;
- from the ``alembic`` command with ``sqlalchemy.url`` set, in which case an
  async engine is built here through :func:`make_engine` (so ``?schema=`` and the
  SQLite pragmas apply).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from callcenter.store.engine import make_engine
from callcenter.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and sqlalchemy.url is not set")
    asyncio.run(_run_with_engine(url))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
