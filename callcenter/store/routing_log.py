"""What reports need about routing: agent presence changes and routing decisions.

Both are append-only logs; appends take lists so the server can write a whole
group of them in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.store.identities import invalid
from callcenter.store.models import PRESENCES, AgentPresenceLog, RoutingDecision
from callcenter.store.timestamps import as_utc


@dataclass(frozen=True, slots=True)
class PresenceChange:
    agent_id: str
    at: datetime
    presence: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """Why ``contact_id`` was offered to ``agent_id`` (``reason``: the router's explanation)."""

    contact_id: str
    agent_id: str
    at: datetime
    queue: str
    reason: dict[str, Any]


async def log_presence(session: AsyncSession, changes: Sequence[PresenceChange]) -> None:
    """Append presence changes (``offline``, ``available``, ``not_ready`` + reason)."""
    for change in changes:
        if change.presence not in PRESENCES:
            raise invalid("presence", f"must be one of {', '.join(PRESENCES)}")
    if changes:
        await session.execute(insert(AgentPresenceLog), [
            {"agent_id": c.agent_id, "at": as_utc(c.at), "presence": c.presence,
             "reason": c.reason}
            for c in changes
        ])


async def presence_history(
    session: AsyncSession, agent_id: str, since: datetime, until: datetime
) -> list[PresenceChange]:
    """An agent's presence changes in ``[since, until)``, oldest first."""
    rows = await session.scalars(
        select(AgentPresenceLog)
        .where(AgentPresenceLog.agent_id == agent_id, AgentPresenceLog.at >= as_utc(since),
               AgentPresenceLog.at < as_utc(until))
        .order_by(AgentPresenceLog.at, AgentPresenceLog.id)
    )
    return [PresenceChange(r.agent_id, r.at, r.presence, r.reason) for r in rows]


async def log_decisions(session: AsyncSession, decisions: Sequence[DecisionRecord]) -> None:
    """Append routing decisions."""
    if decisions:
        await session.execute(insert(RoutingDecision), [
            {"contact_id": d.contact_id, "agent_id": d.agent_id, "at": as_utc(d.at),
             "queue": d.queue, "reason": d.reason}
            for d in decisions
        ])


async def decisions_for_contact(session: AsyncSession, contact_id: str) -> list[DecisionRecord]:
    """Every offer made for a contact, oldest first ("why did she get that call?")."""
    rows = await session.scalars(
        select(RoutingDecision).where(RoutingDecision.contact_id == contact_id)
        .order_by(RoutingDecision.at, RoutingDecision.id)
    )
    return [DecisionRecord(r.contact_id, r.agent_id, r.at, r.queue, r.reason) for r in rows]
