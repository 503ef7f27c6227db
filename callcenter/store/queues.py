"""Queues (with their routing configuration) and wrap-up dispositions.

A queue's routing parameters live in one JSON ``config`` (shape in
docs/store.md); :func:`check_queue_config` validates it and fills defaults, so
what is stored is always complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import Conflict, NotFound
from callcenter.store.agents import check_identifier
from callcenter.store.identities import invalid
from callcenter.store.models import CHANNELS, STRATEGIES, Disposition, Queue, Skill
from callcenter.store.timestamps import utc_now

EXIT_REASONS = ("no_agents", "max_wait", "queue_full", "closed", "max_attempts")
EXIT_ACTIONS = ("overflow", "voicemail", "callback", "auto_reply", "disconnect")
QUEUE_DEFAULTS: dict[str, Any] = {
    "required_skills": [],
    "sl_target_s": 20.0,
    "ring_timeout_s": 15.0,
    "wrap_up_s": 30.0,
    "strategy": "longest_idle",
    "relaxation": [],
    "overflow": None,
    "max_wait_s": None,
    "max_size": None,
    "max_attempts": 3,
    "exits": {},
    "hours": None,
}


@dataclass(frozen=True, slots=True)
class QueueRecord:
    name: str
    channel: str
    base_priority: int
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def required_skills(self) -> dict[str, int]:
        """``{skill: min_level}``."""
        return {r["skill"]: r["min_level"] for r in self.config["required_skills"]}


@dataclass(frozen=True, slots=True)
class DispositionRecord:
    code: str
    label: str
    is_default: bool


def _seconds(path: str, value: Any, *, allow_none: bool = False, allow_zero: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(path, "must be a number of seconds")
    if value < 0 or (value == 0 and not allow_zero):
        raise invalid(path, "must be positive" if not allow_zero else "must not be negative")
    return float(value)


def _level(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise invalid(path, "must be a level from 1 to 10")
    return value


def check_queue_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, validated queue config (defaults filled); raises ``request.validation``."""
    unknown = sorted(set(config) - set(QUEUE_DEFAULTS))
    if unknown:
        raise invalid(unknown[0], f"unknown queue setting (known: {', '.join(QUEUE_DEFAULTS)})")
    merged = {**QUEUE_DEFAULTS, **config}
    required = []
    if not isinstance(merged["required_skills"], list):
        raise invalid("required_skills", "must be a list of {skill, min_level}")
    for i, item in enumerate(merged["required_skills"]):
        if not isinstance(item, Mapping) or set(item) != {"skill", "min_level"}:
            raise invalid(f"required_skills[{i}]", "must be {skill, min_level}")
        required.append({"skill": check_identifier(f"required_skills[{i}].skill", item["skill"]),
                         "min_level": _level(f"required_skills[{i}].min_level",
                                             item["min_level"])})
    if len({r["skill"] for r in required}) != len(required):
        raise invalid("required_skills", "a skill is listed twice")
    merged["required_skills"] = required
    merged["sl_target_s"] = _seconds("sl_target_s", merged["sl_target_s"])
    merged["ring_timeout_s"] = _seconds("ring_timeout_s", merged["ring_timeout_s"])
    merged["wrap_up_s"] = _seconds("wrap_up_s", merged["wrap_up_s"], allow_zero=True)
    merged["max_wait_s"] = _seconds("max_wait_s", merged["max_wait_s"], allow_none=True)
    if merged["strategy"] not in STRATEGIES:
        raise invalid("strategy", f"must be one of {', '.join(STRATEGIES)}")
    relaxation = []
    if not isinstance(merged["relaxation"], list):
        raise invalid("relaxation", "must be a list of {after_s, skill, min_level}")
    for i, step in enumerate(merged["relaxation"]):
        if not isinstance(step, Mapping) or set(step) != {"after_s", "skill", "min_level"}:
            raise invalid(f"relaxation[{i}]", "must be {after_s, skill, min_level (null drops)}")
        min_level = step["min_level"]
        relaxation.append({
            "after_s": _seconds(f"relaxation[{i}].after_s", step["after_s"]),
            "skill": check_identifier(f"relaxation[{i}].skill", step["skill"]),
            "min_level": None if min_level is None else _level(f"relaxation[{i}].min_level",
                                                               min_level),
        })
    merged["relaxation"] = sorted(relaxation, key=lambda s: s["after_s"])
    overflow = merged["overflow"]
    if overflow is not None:
        if not isinstance(overflow, Mapping) or set(overflow) != {"after_s", "queue"}:
            raise invalid("overflow", "must be {after_s, queue} or null")
        merged["overflow"] = {"after_s": _seconds("overflow.after_s", overflow["after_s"]),
                              "queue": check_identifier("overflow.queue", overflow["queue"])}
    for key in ("max_size", "max_attempts"):
        value = merged[key]
        if value is None and key == "max_size":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid(key, "must be a positive whole number")
    if not isinstance(merged["exits"], Mapping):
        raise invalid("exits", "must be a table of reason -> {action, ...}")
    for reason, exit_ in merged["exits"].items():
        if reason not in EXIT_REASONS:
            raise invalid(f"exits.{reason}", f"unknown reason (reasons: {', '.join(EXIT_REASONS)})")
        if not isinstance(exit_, Mapping) or exit_.get("action") not in EXIT_ACTIONS:
            raise invalid(f"exits.{reason}.action", f"must be one of {', '.join(EXIT_ACTIONS)}")
        if exit_["action"] == "overflow":
            check_identifier(f"exits.{reason}.queue", exit_.get("queue", ""))
    merged["exits"] = dict(merged["exits"])
    if merged["hours"] is not None and not isinstance(merged["hours"], Mapping):
        raise invalid("hours", "must be a table or null (always open)")
    return merged


async def _check_references(session: AsyncSession, name: str, config: Mapping[str, Any]) -> None:
    skills = {r["skill"] for r in config["required_skills"]}
    skills |= {step["skill"] for step in config["relaxation"]}
    if skills:
        known = set(await session.scalars(select(Skill.name).where(Skill.name.in_(skills))))
        missing = sorted(skills - known)
        if missing:
            raise invalid("required_skills", f"no such skill {missing[0]!r}")
    targets = {e["queue"] for e in config["exits"].values() if e["action"] == "overflow"}
    if config["overflow"] is not None:
        targets.add(config["overflow"]["queue"])
    targets.discard(name)
    for target in sorted(targets):
        if await session.get(Queue, target) is None:
            raise invalid("overflow.queue", f"no such queue {target!r}")


def _record(row: Queue) -> QueueRecord:
    return QueueRecord(name=row.name, channel=row.channel, base_priority=row.base_priority,
                       config=dict(row.config), created_at=row.created_at,
                       updated_at=row.updated_at)


def _check_channel_priority(channel: str, base_priority: int) -> None:
    if channel not in CHANNELS:
        raise invalid("channel", f"must be one of {', '.join(CHANNELS)}")
    if isinstance(base_priority, bool) or not isinstance(base_priority, int) or not (
        0 <= base_priority <= 100
    ):
        raise invalid("base_priority", "must be 0 to 100")


async def create_queue(
    session: AsyncSession, name: str, channel: str, *, base_priority: int = 0,
    config: Mapping[str, Any] | None = None,
) -> QueueRecord:
    """Create a queue; ``queue.exists`` when the name is taken."""
    check_identifier("name", name)
    _check_channel_priority(channel, base_priority)
    checked = check_queue_config(config or {})
    await _check_references(session, name, checked)
    if await session.get(Queue, name) is not None:
        raise Conflict(f"queue {name} already exists", code="queue.exists")
    now = utc_now()
    row = Queue(name=name, channel=channel, base_priority=base_priority, config=checked,
                created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return _record(row)


async def get_queue(session: AsyncSession, name: str) -> QueueRecord:
    row = await session.get(Queue, name)
    if row is None:
        raise NotFound(f"queue {name} not found", code="queue.not_found")
    return _record(row)


async def list_queues(session: AsyncSession) -> list[QueueRecord]:
    return [_record(row) for row in await session.scalars(select(Queue).order_by(Queue.name))]


async def update_queue(
    session: AsyncSession, name: str, *, channel: str | None = None,
    base_priority: int | None = None, config: Mapping[str, Any] | None = None,
) -> QueueRecord:
    """Change a queue; a given ``config`` replaces the whole config (defaults filled)."""
    row = await session.get(Queue, name)
    if row is None:
        raise NotFound(f"queue {name} not found", code="queue.not_found")
    _check_channel_priority(channel or row.channel,
                            row.base_priority if base_priority is None else base_priority)
    if config is not None:
        checked = check_queue_config(config)
        await _check_references(session, name, checked)
        row.config = checked
    if channel is not None:
        row.channel = channel
    if base_priority is not None:
        row.base_priority = base_priority
    row.updated_at = utc_now()
    await session.flush()
    return _record(row)


async def delete_queue(session: AsyncSession, name: str) -> None:
    """Remove a queue no other queue overflows to (else ``queue.in_use``)."""
    if await session.get(Queue, name) is None:
        raise NotFound(f"queue {name} not found", code="queue.not_found")
    for other in await session.scalars(select(Queue).where(Queue.name != name)):
        targets = [e.get("queue") for e in other.config.get("exits", {}).values()]
        if (other.config.get("overflow") or {}).get("queue") == name or name in targets:
            raise Conflict(f"queue {other.name} overflows to {name}", code="queue.in_use")
    await session.execute(delete(Queue).where(Queue.name == name))


async def create_disposition(
    session: AsyncSession, code: str, label: str, *, is_default: bool = False
) -> DispositionRecord:
    """Add a wrap-up code; making it the default clears the previous default."""
    check_identifier("code", code)
    if await session.get(Disposition, code) is not None:
        raise Conflict(f"disposition {code} already exists", code="disposition.exists")
    if is_default:
        await session.execute(update(Disposition).values(is_default=False))
    session.add(Disposition(code=code, label=label, is_default=is_default))
    await session.flush()
    return DispositionRecord(code=code, label=label, is_default=is_default)


async def list_dispositions(session: AsyncSession) -> list[DispositionRecord]:
    rows = await session.scalars(select(Disposition).order_by(Disposition.code))
    return [DispositionRecord(code=r.code, label=r.label, is_default=r.is_default) for r in rows]


async def default_disposition(session: AsyncSession) -> DispositionRecord | None:
    """The code a wrap-up timeout closes a contact with, if one is set."""
    row = await session.scalar(select(Disposition).where(Disposition.is_default.is_(True)))
    return None if row is None else DispositionRecord(row.code, row.label, row.is_default)


async def delete_disposition(session: AsyncSession, code: str) -> None:
    result = await session.execute(delete(Disposition).where(Disposition.code == code))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"disposition {code} not found", code="disposition.not_found")
