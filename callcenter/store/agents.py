"""Agents, skills and agent proficiencies (the admin API's agents and skills)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import Conflict, NotFound
from callcenter.store.identities import invalid
from callcenter.store.models import CHANNELS, Agent, AgentSkill, Queue, Skill
from callcenter.store.timestamps import utc_now

DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "chat": 3, "email": 2}
MAX_CAPACITY_PER_CHANNEL = 20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    extension: str | None
    capacity: dict[str, int]
    account_manager: bool
    active: bool
    skills: dict[str, int]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewAgent:
    """A new agent; ``id`` None makes one up."""

    name: str
    id: str | None = None
    extension: str | None = None
    capacity: Mapping[str, int] | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    account_manager: bool = False


@dataclass(frozen=True, slots=True)
class SkillRecord:
    name: str
    description: str | None


def check_identifier(path: str, value: str) -> str:
    """Ids of agents, skills and queues: letters, digits, ``_.-``, 1-64 characters."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise invalid(path, "must be 1-64 letters, digits, '_', '.' or '-', starting with a "
                            "letter or digit")
    return value


def check_capacity(capacity: Mapping[str, int]) -> dict[str, int]:
    """Per-channel concurrency, e.g. ``{"voice": 1, "chat": 3, "email": 2}``."""
    checked: dict[str, int] = {}
    for channel, slots in capacity.items():
        if channel not in CHANNELS:
            raise invalid(f"capacity.{channel}",
                          f"unknown channel (channels: {', '.join(CHANNELS)})")
        if isinstance(slots, bool) or not isinstance(slots, int) or not (
            0 <= slots <= MAX_CAPACITY_PER_CHANNEL
        ):
            raise invalid(f"capacity.{channel}", f"must be 0 to {MAX_CAPACITY_PER_CHANNEL}")
        checked[channel] = slots
    return checked


async def _check_skills(session: AsyncSession, skills: Mapping[str, int]) -> None:
    for skill, level in skills.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise invalid(f"skills.{skill}", "level must be 1 to 10")
    if skills:
        known = set(await session.scalars(select(Skill.name).where(Skill.name.in_(list(skills)))))
        missing = sorted(set(skills) - known)
        if missing:
            raise invalid(f"skills.{missing[0]}", "no such skill")


def _record(row: Agent, skills: Mapping[str, int]) -> AgentRecord:
    return AgentRecord(id=row.id, name=row.name, extension=row.extension,
                       capacity=dict(row.capacity), account_manager=row.account_manager,
                       active=row.active, skills=dict(sorted(skills.items())),
                       created_at=row.created_at, updated_at=row.updated_at)


async def _skills_of(session: AsyncSession, agent_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    by_agent: dict[str, dict[str, int]] = {agent_id: {} for agent_id in agent_ids}
    if agent_ids:
        rows = await session.execute(
            select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level)
            .where(AgentSkill.agent_id.in_(list(agent_ids)))
        )
        for agent_id, skill, level in rows:
            by_agent[agent_id][skill] = level
    return by_agent


async def create_agent(session: AsyncSession, new: NewAgent) -> AgentRecord:
    """Create an agent with skills; ``agent.exists`` / ``agent.extension_taken`` on clashes."""
    agent_id = check_identifier("id", new.id) if new.id else f"agent-{uuid.uuid4().hex[:10]}"
    name = new.name.strip()
    if not 1 <= len(name) <= 200:
        raise invalid("name", "must be 1 to 200 characters")
    capacity = check_capacity(DEFAULT_CAPACITY if new.capacity is None else new.capacity)
    await _check_skills(session, new.skills)
    if await session.get(Agent, agent_id) is not None:
        raise Conflict(f"agent {agent_id} already exists", code="agent.exists")
    now = utc_now()
    row = Agent(id=agent_id, name=name, extension=new.extension, capacity=capacity,
                account_manager=new.account_manager, active=True, created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(row)
            session.add_all(AgentSkill(agent_id=agent_id, skill=s, level=lvl)
                            for s, lvl in new.skills.items())
            await session.flush()
    except IntegrityError:
        raise Conflict(f"extension {new.extension} is already taken",
                       code="agent.extension_taken") from None
    return _record(row, new.skills)


async def get_agent(session: AsyncSession, agent_id: str) -> AgentRecord:
    """An agent with skills; ``agent.not_found`` if there is none."""
    row = await session.get(Agent, agent_id)
    if row is None:
        raise NotFound(f"agent {agent_id} not found", code="agent.not_found")
    return _record(row, (await _skills_of(session, [agent_id]))[agent_id])


async def list_agents(
    session: AsyncSession, *, active_only: bool = False, after_id: str | None = None,
    limit: int = 1000,
) -> list[AgentRecord]:
    """Agents by id with their skills, in two queries; keyset paging by ``after_id``."""
    query = select(Agent)
    if active_only:
        query = query.where(Agent.active.is_(True))
    if after_id is not None:
        query = query.where(Agent.id > after_id)
    rows = list(await session.scalars(query.order_by(Agent.id).limit(limit)))
    skills = await _skills_of(session, [row.id for row in rows])
    return [_record(row, skills[row.id]) for row in rows]


async def update_agent(
    session: AsyncSession, agent_id: str, *, name: str | None = None,
    extension: str | None = None, clear_extension: bool = False,
    capacity: Mapping[str, int] | None = None, account_manager: bool | None = None,
    active: bool | None = None, skills: Mapping[str, int] | None = None,
) -> AgentRecord:
    """Change the given fields; ``skills`` replaces the whole set."""
    row = await session.get(Agent, agent_id)
    if row is None:
        raise NotFound(f"agent {agent_id} not found", code="agent.not_found")
    if name is not None and not 1 <= len(name.strip()) <= 200:
        raise invalid("name", "must be 1 to 200 characters")
    checked_capacity = None if capacity is None else check_capacity(capacity)
    if skills is not None:
        await _check_skills(session, skills)
    try:
        # Changes made inside the savepoint are undone with it if the flush fails.
        async with session.begin_nested():
            if name is not None:
                row.name = name.strip()
            if clear_extension:
                row.extension = None
            elif extension is not None:
                row.extension = extension
            if checked_capacity is not None:
                row.capacity = checked_capacity
            if account_manager is not None:
                row.account_manager = account_manager
            if active is not None:
                row.active = active
            row.updated_at = utc_now()
            await session.flush()
    except IntegrityError:
        raise Conflict(f"extension {extension} is already taken",
                       code="agent.extension_taken") from None
    if skills is not None:
        return await set_agent_skills(session, agent_id, skills)
    return await get_agent(session, agent_id)


async def set_agent_skills(
    session: AsyncSession, agent_id: str, skills: Mapping[str, int]
) -> AgentRecord:
    """Replace an agent's skills and levels."""
    await _check_skills(session, skills)
    row = await session.get(Agent, agent_id)
    if row is None:
        raise NotFound(f"agent {agent_id} not found", code="agent.not_found")
    await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
    session.add_all(AgentSkill(agent_id=agent_id, skill=s, level=lvl) for s, lvl in skills.items())
    row.updated_at = utc_now()
    await session.flush()
    return _record(row, skills)


async def delete_agent(session: AsyncSession, agent_id: str) -> None:
    """Remove an agent, its skills and its login; interaction history keeps the id."""
    result = await session.execute(delete(Agent).where(Agent.id == agent_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"agent {agent_id} not found", code="agent.not_found")


async def create_skill(
    session: AsyncSession, name: str, description: str | None = None
) -> SkillRecord:
    """Create a skill; ``skill.exists`` when the name is taken."""
    check_identifier("name", name)
    if await session.get(Skill, name) is not None:
        raise Conflict(f"skill {name} already exists", code="skill.exists")
    session.add(Skill(name=name, description=description))
    await session.flush()
    return SkillRecord(name=name, description=description)


async def list_skills(session: AsyncSession) -> list[SkillRecord]:
    rows = await session.scalars(select(Skill).order_by(Skill.name))
    return [SkillRecord(name=r.name, description=r.description) for r in rows]


async def delete_skill(session: AsyncSession, name: str) -> None:
    """Remove a skill nobody holds and no queue requires (else ``skill.in_use``)."""
    if await session.get(Skill, name) is None:
        raise NotFound(f"skill {name} not found", code="skill.not_found")
    holders = await session.scalar(
        select(func.count()).select_from(AgentSkill).where(AgentSkill.skill == name)
    )
    queues = [q.name for q in await session.scalars(select(Queue))
              if any(r.get("skill") == name for r in q.config.get("required_skills", []))]
    if holders or queues:
        raise Conflict(f"skill {name} is held by {holders} agent(s) and required by "
                       f"{len(queues)} queue(s)", code="skill.in_use")
    await session.execute(delete(Skill).where(Skill.name == name))
