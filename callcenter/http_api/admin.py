"""Administration over HTTP: skills, queues, agents, customers (PROTOCOL "Administration").

Changes that routing must know (a queue's configuration, an agent's skills or
capacity) go to the store and then to the router as events, so they are journaled
like everything else. Every change is written to the audit log, and so is every
customer profile an agent or supervisor opens.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from callcenter.agents_ws import routing_capacity
from callcenter.auth import audit
from callcenter.errors import Conflict, FieldError, NotFound, ValidationFailed
from callcenter.http_api.contacts import agent_was_offered
from callcenter.http_api.operations import Api, Call, Response, int_path, json_response
from callcenter.passwords import hash_password
from callcenter.schemas import (
    AgentCreated,
    AgentIn,
    AgentList,
    AgentOut,
    AgentUpdate,
    CustomerCreated,
    CustomerIn,
    CustomerList,
    CustomerOut,
    CustomerQuery,
    CustomerUpdate,
    ErrorBody,
    ExitIn,
    ExitsIn,
    OverflowIn,
    PageQuery,
    QueueCreated,
    QueueIn,
    QueueList,
    QueueOut,
    QueueSpec,
    RelaxationIn,
    RequiredSkillIn,
    SkillCreated,
    SkillIn,
    SkillList,
    SkillOut,
    SkillUpdate,
)
from callcenter.store import agents as agents_repo
from callcenter.store import customers as customers_repo
from callcenter.store import queues as queues_repo
from callcenter.store.identities import list_identities, normalize_identity
from callcenter.store.models import KEY_ACCOUNT_TIERS, Skill, User
from routing.errors import RoutingError
from routing.events import AgentUpdated, QueueConfigured
from routing.model import (
    Exit,
    Overflow,
    QueueConfig,
    QueueExits,
    Relaxation,
    RequiredSkill,
    channel_fits_queue,
)

api = Api()

ADMIN = {"admin"}
READERS = {"admin", "supervisor"}
_EXIT_REASONS = ("no_agents", "max_wait", "queue_full", "closed", "max_attempts")

_ERR_AUTH = [Response(401, ErrorBody, "no or bad token"),
             Response(403, ErrorBody, "role not allowed")]
_ERR_BODY = [Response(400, ErrorBody, "malformed JSON"),
             Response(413, ErrorBody, "body too large"),
             Response(422, ErrorBody, "invalid fields")]
_ERR_404 = [Response(404, ErrorBody, "not found")]
_ERR_409 = [Response(409, ErrorBody, "conflict")]
_ERR_QUERY = [Response(422, ErrorBody, "bad query")]

_NAME_PARAM = {"type": "string", "maxLength": 64}


# --------------------------------------------------------------------------- queue mapping


def queue_config_dict(spec: QueueSpec) -> dict[str, Any]:
    """The store's ``queues.config`` JSON of an API queue spec."""
    exits: dict[str, Any] = {}
    if spec.exits is not None:
        for reason in _EXIT_REASONS:
            exit_: ExitIn | None = getattr(spec.exits, reason)
            if exit_ is not None:
                exits[reason] = {"action": exit_.action, **({"queue": exit_.queue}
                                                            if exit_.queue else {})}
    return {
        "required_skills": [{"skill": r.skill, "min_level": r.min_level}
                            for r in spec.required_skills],
        "sl_target_s": spec.sl_target_s, "ring_timeout_s": spec.ring_timeout_s,
        "wrap_up_s": spec.wrap_up_s, "strategy": spec.strategy,
        "relaxation": [{"after_s": r.after_s, "skill": r.skill, "min_level": r.min_level}
                       for r in spec.relaxation],
        "overflow": None if spec.overflow is None else {"after_s": spec.overflow.after_s,
                                                        "queue": spec.overflow.queue},
        "max_wait_s": spec.max_wait_s, "max_size": spec.max_size,
        "max_attempts": spec.max_attempts, "exits": exits,
    }


def routing_queue(name: str, channel: str, base_priority: int,
                  config: dict[str, Any]) -> QueueConfig:
    """The router's ``QueueConfig`` of a stored queue.

    ``base_priority`` (0..100) becomes a head start of that many seconds for every
    contact of the queue: a higher-priority queue is served first by shared agents,
    without ever starving the others (DESIGN §3). Exits the router does not know
    (``disconnect``) are left out.
    """
    exits: dict[str, Exit] = {}
    for reason, value in (config.get("exits") or {}).items():
        action = value.get("action")
        if reason in _EXIT_REASONS and action in ("overflow", "voicemail", "callback",
                                                  "auto_reply"):
            exits[reason] = Exit(action, value.get("queue"))
    overflow = config.get("overflow")
    return QueueConfig(
        name=name, channel=channel,  # type: ignore[arg-type]
        head_start_s=float(base_priority),
        required_skills=tuple(RequiredSkill(r["skill"], int(r["min_level"]))
                              for r in config.get("required_skills", [])),
        sl_target_s=float(config.get("sl_target_s", 20.0)),
        ring_timeout_s=float(config.get("ring_timeout_s", 20.0)),
        wrap_up_s=float(config.get("wrap_up_s", 30.0)),
        strategy=config.get("strategy", "longest_idle"),
        relaxation=tuple(Relaxation(float(r["after_s"]), r["skill"], r["min_level"])
                         for r in config.get("relaxation", [])),
        overflow=None if not overflow else Overflow(float(overflow["after_s"]),
                                                    overflow["queue"]),
        max_wait_s=config.get("max_wait_s"),
        max_size=config.get("max_size"),
        max_attempts=int(config.get("max_attempts", 3)),
        exits=QueueExits(**exits),
    )


def queue_out(record: queues_repo.QueueRecord) -> QueueOut:
    c = record.config
    exits = None
    if c.get("exits"):
        exits = ExitsIn(**{reason: ExitIn(action=v["action"], queue=v.get("queue"))
                           for reason, v in c["exits"].items()
                           if reason in _EXIT_REASONS and v.get("action") != "disconnect"})
    return QueueOut(
        name=record.name, channel=record.channel,  # type: ignore[arg-type]
        base_priority=record.base_priority,
        required_skills=[RequiredSkillIn(r["skill"], r["min_level"])
                         for r in c.get("required_skills", [])],
        sl_target_s=c.get("sl_target_s", 20.0), ring_timeout_s=c.get("ring_timeout_s", 20.0),
        wrap_up_s=c.get("wrap_up_s", 30.0), strategy=c.get("strategy", "longest_idle"),
        relaxation=[RelaxationIn(r["after_s"], r["skill"], r["min_level"])
                    for r in c.get("relaxation", [])],
        overflow=None if not c.get("overflow") else OverflowIn(c["overflow"]["after_s"],
                                                               c["overflow"]["queue"]),
        max_wait_s=c.get("max_wait_s"), max_size=c.get("max_size"),
        max_attempts=c.get("max_attempts", 3), exits=exits,
    )


# --------------------------------------------------------------------------- skills


@api.operation("POST", "/api/v1/skills", summary="Create a skill", tag="admin", roles=ADMIN,
               body=SkillIn, responses=[Response(201, SkillCreated, "created"), *_ERR_AUTH,
                                        *_ERR_BODY, *_ERR_409])
async def create_skill(call: Call) -> web.StreamResponse:
    body: SkillIn = call.body
    async with call.services.sessionmaker.begin() as db:
        await agents_repo.create_skill(db, body.name, body.description)
        await audit(db, call.user, "skill.created", f"skill:{body.name}")
    return json_response(SkillCreated(name=body.name), status=201)


@api.operation("GET", "/api/v1/skills", summary="Skills by name (paginated)", tag="admin",
               roles=READERS, query=PageQuery,
               responses=[Response(200, SkillList, "one page"), *_ERR_AUTH, *_ERR_QUERY])
async def list_skills(call: Call) -> web.StreamResponse:
    q: PageQuery = call.query
    query = select(Skill).order_by(Skill.name).limit(q.limit + 1)
    if q.cursor:
        query = query.where(Skill.name > q.cursor)
    async with call.services.sessionmaker() as db:
        rows = list(await db.scalars(query))
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    return json_response(SkillList(items=[SkillOut(r.name, r.description) for r in rows],
                                   next_cursor=rows[-1].name if more and rows else None))


@api.operation("GET", "/api/v1/skills/{name}", summary="One skill", tag="admin", roles=READERS,
               path_params={"name": _NAME_PARAM},
               responses=[Response(200, SkillOut, "the skill"), *_ERR_AUTH, *_ERR_404])
async def get_skill(call: Call) -> web.StreamResponse:
    async with call.services.sessionmaker() as db:
        row = await db.get(Skill, call.path("name"))
    if row is None:
        raise NotFound(f"skill {call.path('name')!r} not found", code="skill.not_found")
    return json_response(SkillOut(row.name, row.description))


@api.operation("PUT", "/api/v1/skills/{name}", summary="Change a skill's description",
               tag="admin", roles=ADMIN, body=SkillUpdate, path_params={"name": _NAME_PARAM},
               responses=[Response(200, SkillOut, "changed"), *_ERR_AUTH, *_ERR_BODY, *_ERR_404])
async def update_skill(call: Call) -> web.StreamResponse:
    name = call.path("name")
    async with call.services.sessionmaker.begin() as db:
        row = await db.get(Skill, name)
        if row is None:
            raise NotFound(f"skill {name!r} not found", code="skill.not_found")
        row.description = call.body.description
        await audit(db, call.user, "skill.updated", f"skill:{name}")
        out = SkillOut(row.name, row.description)
    return json_response(out)


@api.operation("DELETE", "/api/v1/skills/{name}", summary="Delete a skill nobody uses",
               tag="admin", roles=ADMIN, path_params={"name": _NAME_PARAM},
               responses=[Response(204, None, "deleted"), *_ERR_AUTH, *_ERR_404, *_ERR_409])
async def delete_skill(call: Call) -> web.StreamResponse:
    name = call.path("name")
    async with call.services.sessionmaker.begin() as db:
        await agents_repo.delete_skill(db, name)
        await audit(db, call.user, "skill.deleted", f"skill:{name}")
    return web.Response(status=204)


# --------------------------------------------------------------------------- queues


@api.operation("POST", "/api/v1/queues", summary="Create a queue", tag="admin", roles=ADMIN,
               body=QueueIn, responses=[Response(201, QueueCreated, "created"), *_ERR_AUTH,
                                        *_ERR_BODY, *_ERR_409])
async def create_queue(call: Call) -> web.StreamResponse:
    body: QueueIn = call.body
    config = queue_config_dict(body)
    _check_for_router(call, body.name, body.channel, config)
    async with call.services.sessionmaker.begin() as db:
        record = await queues_repo.create_queue(db, body.name, body.channel,
                                                base_priority=body.base_priority, config=config)
        await audit(db, call.user, "queue.created", f"queue:{body.name}", config)
    # Never wait for the router while holding a store transaction (SQLite has one writer).
    await _configure_router(call, record)
    return json_response(QueueCreated(name=body.name), status=201)


def _check_for_router(call: Call, name: str, channel: str, config: dict[str, Any]) -> None:
    """What the router would refuse, checked before anything is stored."""
    router = call.services.runtime.router
    queue = routing_queue(name, channel, 0, config)
    for target in sorted(queue.exit_targets()):
        if target == name:
            raise ValidationFailed("a queue cannot overflow to itself",
                                   fields=[FieldError("overflow.queue", "names this queue")])
        if target not in router.queue_names():
            raise ValidationFailed(f"overflow target {target!r} not found",
                                   fields=[FieldError("overflow.queue", "no such queue")])
        target_channel = router.queue_snapshot(target, limit=0).channel
        if not channel_fits_queue(channel, target_channel):
            raise ValidationFailed(f"overflow target {target!r} takes {target_channel} contacts",
                                   fields=[FieldError("overflow.queue", "other channel")])


async def _configure_router(call: Call, record: queues_repo.QueueRecord) -> None:
    queue = routing_queue(record.name, record.channel, record.base_priority, record.config)
    try:
        await call.services.runtime.submit(QueueConfigured(0.0, queue))
    except RoutingError as exc:
        raise ValidationFailed(f"the router refused the queue: {exc.message}",
                               fields=[FieldError("$", exc.message)]) from None


@api.operation("GET", "/api/v1/queues", summary="Queues by name (paginated)", tag="admin",
               roles=READERS, query=PageQuery,
               responses=[Response(200, QueueList, "one page"), *_ERR_AUTH, *_ERR_QUERY])
async def list_queues(call: Call) -> web.StreamResponse:
    q: PageQuery = call.query
    async with call.services.sessionmaker() as db:
        records = await queues_repo.list_queues(db)
    if q.cursor:
        records = [r for r in records if r.name > q.cursor]
    page = records[:q.limit]
    more = len(records) > q.limit
    return json_response(QueueList(items=[queue_out(r) for r in page],
                                   next_cursor=page[-1].name if more and page else None))


@api.operation("GET", "/api/v1/queues/{name}", summary="One queue", tag="admin", roles=READERS,
               path_params={"name": _NAME_PARAM},
               responses=[Response(200, QueueOut, "the queue"), *_ERR_AUTH, *_ERR_404])
async def get_queue(call: Call) -> web.StreamResponse:
    async with call.services.sessionmaker() as db:
        record = await queues_repo.get_queue(db, call.path("name"))
    return json_response(queue_out(record))


@api.operation("PUT", "/api/v1/queues/{name}", summary="Replace a queue's configuration",
               tag="admin", roles=ADMIN, body=QueueSpec, path_params={"name": _NAME_PARAM},
               responses=[Response(200, QueueOut, "changed"), *_ERR_AUTH, *_ERR_BODY,
                          *_ERR_404])
async def update_queue(call: Call) -> web.StreamResponse:
    body: QueueSpec = call.body
    name = call.path("name")
    config = queue_config_dict(body)
    _check_for_router(call, name, body.channel, config)
    async with call.services.sessionmaker.begin() as db:
        record = await queues_repo.update_queue(db, name, channel=body.channel,
                                                base_priority=body.base_priority, config=config)
        await audit(db, call.user, "queue.updated", f"queue:{name}", config)
    await _configure_router(call, record)
    return json_response(queue_out(record))


@api.operation("DELETE", "/api/v1/queues/{name}", summary="Delete an empty, unused queue",
               tag="admin", roles=ADMIN, path_params={"name": _NAME_PARAM},
               responses=[Response(204, None, "deleted"), *_ERR_AUTH, *_ERR_404, *_ERR_409])
async def delete_queue(call: Call) -> web.StreamResponse:
    name = call.path("name")
    runtime = call.services.runtime
    if name in runtime.router.queue_names():
        busy = [t for t in runtime.tracker.tracks.values() if t.last_queue == name]
        if busy:
            raise Conflict(f"queue {name} has {len(busy)} live contact(s)", code="queue.in_use")
    async with call.services.sessionmaker.begin() as db:
        await queues_repo.delete_queue(db, name)
        await audit(db, call.user, "queue.deleted", f"queue:{name}")
    return web.Response(status=204)


# --------------------------------------------------------------------------- agents


async def _usernames(db: Any, agent_ids: list[str]) -> dict[str, str]:
    if not agent_ids:
        return {}
    rows = await db.execute(select(User.agent_id, User.username)
                            .where(User.agent_id.in_(agent_ids)))
    return {agent_id: username for agent_id, username in rows}


def _agent_out(record: agents_repo.AgentRecord, username: str | None) -> AgentOut:
    return AgentOut(agent_id=record.id, name=record.name, username=username,
                    extension=record.extension, skills=dict(record.skills),
                    capacity=dict(record.capacity), account_manager=record.account_manager,
                    active=record.active)


@api.operation("POST", "/api/v1/agents", summary="Create an agent and its login", tag="admin",
               roles=ADMIN, body=AgentIn,
               responses=[Response(201, AgentCreated, "created"), *_ERR_AUTH, *_ERR_BODY,
                          *_ERR_409])
async def create_agent(call: Call) -> web.StreamResponse:
    body: AgentIn = call.body
    password_hash = await asyncio.to_thread(hash_password, body.password)
    async with call.services.sessionmaker.begin() as db:
        if await db.scalar(select(User.id).where(User.username == body.username)) is not None:
            raise Conflict(f"username {body.username} is taken", code="user.exists")
        record = await agents_repo.create_agent(db, agents_repo.NewAgent(
            name=body.name, id=body.agent_id, extension=body.extension,
            capacity={"voice": body.capacity.voice, "chat": body.capacity.chat,
                      "email": body.capacity.email},
            skills=dict(body.skills), account_manager=body.account_manager))
        db.add(User(username=body.username, password_hash=password_hash, role="agent",
                    agent_id=record.id))
        try:
            await db.flush()
        except IntegrityError:
            raise Conflict(f"username {body.username} is taken", code="user.exists") from None
        await audit(db, call.user, "agent.created", f"agent:{record.id}",
                    {"username": body.username, "skills": dict(body.skills)})
    return json_response(AgentCreated(agent_id=record.id), status=201)


@api.operation("GET", "/api/v1/agents", summary="Agents by id (paginated)", tag="admin",
               roles=READERS, query=PageQuery,
               responses=[Response(200, AgentList, "one page"), *_ERR_AUTH, *_ERR_QUERY])
async def list_agents(call: Call) -> web.StreamResponse:
    q: PageQuery = call.query
    async with call.services.sessionmaker() as db:
        records = await agents_repo.list_agents(db, after_id=q.cursor, limit=q.limit + 1)
        names = await _usernames(db, [r.id for r in records])
    more = len(records) > q.limit
    records = records[:q.limit]
    return json_response(AgentList(items=[_agent_out(r, names.get(r.id)) for r in records],
                                   next_cursor=records[-1].id if more and records else None))


@api.operation("GET", "/api/v1/agents/{agent_id}", summary="One agent", tag="admin",
               roles=READERS, path_params={"agent_id": _NAME_PARAM},
               responses=[Response(200, AgentOut, "the agent"), *_ERR_AUTH, *_ERR_404])
async def get_agent(call: Call) -> web.StreamResponse:
    agent_id = call.path("agent_id")
    async with call.services.sessionmaker() as db:
        record = await agents_repo.get_agent(db, agent_id)
        names = await _usernames(db, [agent_id])
    return json_response(_agent_out(record, names.get(agent_id)))


@api.operation("PUT", "/api/v1/agents/{agent_id}", summary="Change an agent", tag="admin",
               roles=ADMIN, body=AgentUpdate, path_params={"agent_id": _NAME_PARAM},
               responses=[Response(200, AgentOut, "changed"), *_ERR_AUTH, *_ERR_BODY,
                          *_ERR_404, *_ERR_409])
async def update_agent(call: Call) -> web.StreamResponse:
    body: AgentUpdate = call.body
    agent_id = call.path("agent_id")
    capacity = None if body.capacity is None else {
        "voice": body.capacity.voice, "chat": body.capacity.chat, "email": body.capacity.email}
    password_hash = None
    if body.password is not None:
        password_hash = await asyncio.to_thread(hash_password, body.password)
    async with call.services.sessionmaker.begin() as db:
        record = await agents_repo.update_agent(
            db, agent_id, name=body.name, extension=body.extension, capacity=capacity,
            account_manager=body.account_manager, active=body.active,
            skills=None if body.skills is None else dict(body.skills))
        if password_hash is not None:
            user = await db.scalar(select(User).where(User.agent_id == agent_id))
            if user is not None:
                user.password_hash = password_hash
        names = await _usernames(db, [agent_id])
        await audit(db, call.user, "agent.updated", f"agent:{agent_id}",
                    {"fields": sorted(k for k in ("name", "extension", "skills", "capacity",
                                                  "account_manager", "active", "password")
                                      if getattr(body, k) is not None)})
    runtime = call.services.runtime
    if agent_id in runtime.router.agent_ids() and (body.skills is not None
                                                   or capacity is not None):
        await runtime.submit(AgentUpdated(0.0, agent_id, skills=record.skills,
                                          capacity=routing_capacity(record.capacity)))
    return json_response(_agent_out(record, names.get(agent_id)))


@api.operation("DELETE", "/api/v1/agents/{agent_id}", summary="Delete a logged-out agent",
               tag="admin", roles=ADMIN, path_params={"agent_id": _NAME_PARAM},
               responses=[Response(204, None, "deleted"), *_ERR_AUTH, *_ERR_404, *_ERR_409])
async def delete_agent(call: Call) -> web.StreamResponse:
    agent_id = call.path("agent_id")
    router = call.services.runtime.router
    if agent_id in router.agent_ids() and router.agent_snapshot(agent_id).presence != "offline":
        raise Conflict(f"agent {agent_id} is logged in", code="agent.logged_in")
    async with call.services.sessionmaker.begin() as db:
        await db.execute(delete(User).where(User.agent_id == agent_id))
        await agents_repo.delete_agent(db, agent_id)
        await audit(db, call.user, "agent.deleted", f"agent:{agent_id}")
    return web.Response(status=204)


# --------------------------------------------------------------------------- customers


async def _customer_out(db: Any, record: customers_repo.CustomerRecord) -> CustomerOut:
    identities = await list_identities(db, record.id)
    return CustomerOut(
        customer_id=record.id, name=record.name, tier=record.tier,
        tier_locked=record.tier_locked, key_account=record.tier in KEY_ACCOUNT_TIERS,
        phone=record.phone, email=record.email, city=record.city, language=record.language,
        segment=record.segment, lifecycle=record.lifecycle, loyalty_level=record.loyalty_level,
        lifetime_value=record.lifetime_value_cents / 100,
        account_manager_id=record.account_manager_id,
        identities=[{"kind": i.kind, "value": i.value} for i in identities],
        provisional=bool(record.notes and record.notes.startswith("[provisional]")),
    )


@api.operation("POST", "/api/v1/customers", summary="Create a customer", tag="admin",
               roles=ADMIN, body=CustomerIn,
               responses=[Response(201, CustomerCreated, "created"), *_ERR_AUTH, *_ERR_BODY,
                          *_ERR_409])
async def create_customer(call: Call) -> web.StreamResponse:
    body: CustomerIn = call.body
    async with call.services.sessionmaker.begin() as db:
        record = await customers_repo.create_customer(db, customers_repo.NewCustomer(
            name=body.name, phones=tuple(body.phones), emails=tuple(body.emails),
            chat_ids=tuple(body.chat_ids), tier=body.tier, city=body.city,
            language=body.language or "zh", account_manager_id=body.account_manager_id,
            notes=body.notes))
        await audit(db, call.user, "customer.created", f"customer:{record.id}")
    return json_response(CustomerCreated(customer_id=record.id), status=201)


@api.operation("GET", "/api/v1/customers", summary="Find customers by phone, email, chat id or "
               "name (paginated)", tag="admin", roles={"admin", "supervisor", "integration"},
               query=CustomerQuery,
               responses=[Response(200, CustomerList, "one page"), *_ERR_AUTH, *_ERR_QUERY])
async def search_customers(call: Call) -> web.StreamResponse:
    q: CustomerQuery = call.query
    after = None
    if q.cursor:
        if not q.cursor.isdigit() or len(q.cursor) > 18:
            raise ValidationFailed("cursor: not a cursor this server made",
                                   fields=[FieldError("cursor", "invalid cursor")])
        after = int(q.cursor)
    async with call.services.sessionmaker() as db:
        records: list[customers_repo.CustomerRecord]
        exact = [(k, v) for k, v in (("phone", q.phone), ("email", q.email), ("chat", q.chat_id))
                 if v is not None]
        if exact:
            records = []
            kind, value = exact[0]
            try:
                normalize_identity(kind, value)
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, fields=[FieldError(
                    {"chat": "chat_id"}.get(kind, kind), exc.message)]) from None
            found = await customers_repo.find_customer_by_identity(db, kind, value)
            if found is not None and (after is None or found.id > after):
                records = [found]
            more = False
        else:
            records = await customers_repo.search_customers(db, text=q.name or None,
                                                            after_id=after, limit=q.limit + 1)
            more = len(records) > q.limit
            records = records[:q.limit]
        items = [await _customer_out(db, r) for r in records]
        await audit(db, call.user, "customer.searched", None,
                    {"results": [r.id for r in records][:20]})
        await db.commit()
    return json_response(CustomerList(items=items, next_cursor=str(records[-1].id)
                                      if more and records else None))


@api.operation("GET", "/api/v1/customers/{customer_id}", summary="A customer's profile",
               tag="admin", roles={"admin", "supervisor", "integration", "agent"},
               path_params={"customer_id": {"type": "integer", "minimum": 1}},
               description="Agents see only customers of contacts offered to them. Every "
                           "view is written to the audit log.",
               responses=[Response(200, CustomerOut, "the customer"), *_ERR_AUTH, *_ERR_404])
async def get_customer(call: Call) -> web.StreamResponse:
    customer_id = int_path(call, "customer_id", "customer.not_found", "customer")
    principal = call.user
    if principal.role == "agent" and not await agent_was_offered(
            call.services, principal.agent_id or "", customer_id=customer_id):
        async with call.services.sessionmaker.begin() as db:
            await audit(db, principal, "customer.view_denied", f"customer:{customer_id}")
        from callcenter.errors import Forbidden

        raise Forbidden("agents see only customers of contacts offered to them")
    async with call.services.sessionmaker.begin() as db:
        record = await customers_repo.get_customer(db, customer_id)
        out = await _customer_out(db, record)
        await audit(db, principal, "customer.viewed", f"customer:{customer_id}")
    return json_response(out)


@api.operation("PUT", "/api/v1/customers/{customer_id}", summary="Change a customer",
               tag="admin", roles=ADMIN, body=CustomerUpdate,
               path_params={"customer_id": {"type": "integer", "minimum": 1}},
               responses=[Response(200, CustomerOut, "changed"), *_ERR_AUTH, *_ERR_BODY,
                          *_ERR_404])
async def update_customer(call: Call) -> web.StreamResponse:
    customer_id = int_path(call, "customer_id", "customer.not_found", "customer")
    body: CustomerUpdate = call.body
    changes = {k: getattr(body, k) for k in ("name", "tier", "city", "language",
                                              "account_manager_id", "notes")
               if getattr(body, k) is not None}
    async with call.services.sessionmaker.begin() as db:
        record = await customers_repo.update_customer(
            db, customer_id, customers_repo.CustomerChanges(**changes))
        out = await _customer_out(db, record)
        await audit(db, call.user, "customer.updated", f"customer:{customer_id}",
                    {"fields": sorted(changes)})
    return json_response(out)


@api.operation("DELETE", "/api/v1/customers/{customer_id}", summary="Delete a customer",
               tag="admin", roles=ADMIN,
               path_params={"customer_id": {"type": "integer", "minimum": 1}},
               responses=[Response(204, None, "deleted"), *_ERR_AUTH, *_ERR_404])
async def delete_customer(call: Call) -> web.StreamResponse:
    customer_id = int_path(call, "customer_id", "customer.not_found", "customer")
    async with call.services.sessionmaker.begin() as db:
        await customers_repo.delete_customer(db, customer_id)
        await audit(db, call.user, "customer.deleted", f"customer:{customer_id}")
    return web.Response(status=204)
