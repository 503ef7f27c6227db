"""Users and roles: logins for agents, supervisors, administrators and integrations."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import Conflict, NotFound
from callcenter.passwords import hash_password, verify_password
from callcenter.store.identities import invalid
from callcenter.store.models import ROLES, Agent, User
from callcenter.store.timestamps import utc_now

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}$")
MIN_PASSWORD_LENGTH = 4


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user without the password hash (which never leaves this module)."""

    id: int
    username: str
    role: str
    agent_id: str | None
    active: bool
    created_at: datetime


def _record(row: User) -> UserRecord:
    return UserRecord(id=row.id, username=row.username, role=row.role, agent_id=row.agent_id,
                      active=row.active, created_at=row.created_at)


def _check(username: str | None, role: str | None, password: str | None) -> None:
    if username is not None and not _USERNAME.match(username):
        raise invalid("username", "must be 1-100 letters, digits or '_.@-'")
    if role is not None and role not in ROLES:
        raise invalid("role", f"must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise invalid("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")


async def create_user(
    session: AsyncSession, username: str, password: str, role: str, *,
    agent_id: str | None = None, password_hash: str | None = None,
) -> UserRecord:
    """Create a login. Agents need ``agent_id``; ``password_hash`` skips hashing (seed)."""
    _check(username, role, password)
    if role == "agent" and agent_id is None:
        raise invalid("agent_id", "an agent login needs an agent")
    if agent_id is not None and await session.get(Agent, agent_id) is None:
        raise invalid("agent_id", f"no agent {agent_id!r}")
    if password_hash is None:
        password_hash = await asyncio.to_thread(hash_password, password)
    now = utc_now()
    row = User(username=username, password_hash=password_hash, role=role, agent_id=agent_id,
               active=True, created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"user {username} already exists (or the agent has a login)",
                       code="user.exists") from None
    return _record(row)


async def get_user(session: AsyncSession, username: str) -> UserRecord:
    row = await session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound(f"user {username} not found", code="user.not_found")
    return _record(row)


async def authenticate(session: AsyncSession, username: str, password: str) -> UserRecord | None:
    """The active user with these credentials, or None (hashing runs off the event loop)."""
    row = await session.scalar(select(User).where(User.username == username))
    if row is None or not row.active:
        # Same work either way, so response time does not reveal which usernames exist.
        await asyncio.to_thread(verify_password, password, _DUMMY_HASH)
        return None
    if not await asyncio.to_thread(verify_password, password, row.password_hash):
        return None
    return _record(row)


async def list_users(session: AsyncSession, *, role: str | None = None) -> list[UserRecord]:
    query = select(User).order_by(User.username)
    if role is not None:
        query = query.where(User.role == role)
    return [_record(row) for row in await session.scalars(query)]


async def update_user(
    session: AsyncSession, username: str, *, password: str | None = None,
    role: str | None = None, active: bool | None = None,
) -> UserRecord:
    """Change a user's password, role or active flag."""
    _check(None, role, password)
    row = await session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound(f"user {username} not found", code="user.not_found")
    if role is not None:
        if role == "agent" and row.agent_id is None:
            raise invalid("role", "an agent login needs an agent")
        row.role = role
    if password is not None:
        row.password_hash = await asyncio.to_thread(hash_password, password)
    if active is not None:
        row.active = active
    row.updated_at = utc_now()
    await session.flush()
    return _record(row)


async def delete_user(session: AsyncSession, username: str) -> None:
    result = await session.execute(delete(User).where(User.username == username))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"user {username} not found", code="user.not_found")


_DUMMY_HASH = hash_password("not a real password", salt=b"\0" * 16)
