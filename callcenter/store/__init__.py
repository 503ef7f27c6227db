"""The CRM store: SQLAlchemy 2.0 async models, Alembic migrations and repositories.

Repositories (one module per concept) take an ``AsyncSession`` or connection and
return frozen dataclasses; callers own the transaction. See docs/store.md.
"""

from callcenter.store.engine import make_engine, make_sessionmaker, parse_store_url

__all__ = ["make_engine", "make_sessionmaker", "parse_store_url"]
