"""Migrations upgrade and downgrade on both backends, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from callcenter.store.engine import make_engine
from callcenter.store.migrate import current_revision, downgrade, head_revision, upgrade
from callcenter.store.models import Base


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_migrated_store_has_every_model_table_at_head(db_url: str) -> None:
    assert await current_revision(db_url) == head_revision()
    assert set(Base.metadata.tables) <= await table_names(db_url)


async def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    db_url: str,
) -> None:
    await downgrade(db_url, "base")
    assert await table_names(db_url) - {"alembic_version"} == set()
    assert await current_revision(db_url) is None
    await upgrade(db_url)
    assert set(Base.metadata.tables) <= await table_names(db_url)
