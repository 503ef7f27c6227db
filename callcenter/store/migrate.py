"""Schema migrations (Alembic) and the ``callcenter migrate`` command.

The Alembic configuration is built in code, so migrations run from any working
directory without an ``alembic.ini``. The migration scripts live inside the
package (``callcenter/store/migrations``).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from callcenter.config import Config
from callcenter.errors import CallCenterError
from callcenter.store.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationFailed(CallCenterError):
    """A migration could not run (unknown revision, unreachable database...)."""

    code = "store.migration_failed"
    status = 500


def alembic_config(url: str | None = None) -> AlembicConfig:
    """An Alembic configuration pointing at the packaged migrations."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would choke on "%" in passwords.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision in the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise MigrationFailed("no migrations found")
    return head


async def _with_connection(url: str, action: str, revision: str) -> None:
    engine = make_engine(url)
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    except CommandError as exc:
        raise MigrationFailed(f"{action} to {revision!r} failed: {exc}") from exc
    except (OperationalError, DBAPIError, OSError) as exc:
        raise MigrationFailed(f"{action} to {revision!r} failed: {_first_line(exc)}") from exc
    finally:
        await engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the store at ``url`` to ``revision`` (default: the newest)."""
    await _with_connection(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the store at ``url`` to ``revision`` (``base`` removes every table)."""
    await _with_connection(url, "downgrade", revision)


async def current_revision(url: str) -> str | None:
    """The revision the store at ``url`` is at, or None for an empty database."""
    engine = make_engine(url)

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``callcenter migrate``."""
    parser.add_argument("--url", help="store URL (default: store.url of the configuration)")
    parser.add_argument("--revision", default="head",
                        help="upgrade to this revision (default: head)")
    parser.add_argument("--downgrade", metavar="REV",
                        help="downgrade to REV instead (use 'base' to drop every table)")
    parser.add_argument("--current", action="store_true",
                        help="print the current revision and exit")


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``callcenter migrate``."""
    url = args.url or config.store.url
    if args.current:
        print(asyncio.run(current_revision(url)) or "base (empty)")
        return 0
    if args.downgrade:
        asyncio.run(downgrade(url, args.downgrade))
        print(f"downgraded to {args.downgrade}")
        return 0
    asyncio.run(upgrade(url, args.revision))
    print(f"upgraded to {head_revision() if args.revision == 'head' else args.revision}")
    return 0
