"""The composition root: ``create_app(config)`` wires every part of the server.

Start-up (one ``cleanup_ctx``, so shutdown runs in reverse order):

1. store engine and sessions;
2. the router runtime: newest snapshot + journal replay (DESIGN §4);
3. the bus subscribers: screen-pop cache, agent hub, live stats, supervisor hub;
4. the router task starts; recovery runs through it: every agent still logged in
   goes ``not_ready(disconnected)`` and its ringing offers go back to their place
   without penalty (its console reconnects and resumes); queues whose stored
   configuration differs from the router's are configured again.

Shutdown (SIGTERM): new contacts get 503 ``server.draining``; websockets close
with code 4503 and a reason; requests in flight finish (their writes commit);
the router task drains its queue, takes a snapshot and stops; the engine closes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from callcenter.agents_ws import AgentHub, park_agent_intent
from callcenter.auth import Authenticator, TokenSigner
from callcenter.bus import Bus
from callcenter.config import Config
from callcenter.cti_bridge import cti_bridge_ctx
from callcenter.http_api import (
    admin,
    auth,
    chat,
    contacts,
    health,
    openapi,
    reports,
    supervisor,
)
from callcenter.http_api.admin import routing_queue
from callcenter.http_api.contacts import ContactIntake
from callcenter.http_api.context import SERVICES, Services
from callcenter.http_api.errors import error_middleware
from callcenter.http_api.operations import Api
from callcenter.ivr_runtime import install_ivr
from callcenter.logs import get_logger
from callcenter.metrics import LiveMetrics
from callcenter.runtime import CrashSwitch, RouterRuntime
from callcenter.screen_pop import ScreenPopCache
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.queues import default_disposition, list_queues
from callcenter.supervisor_ws import LiveStats, MetricsFeed, SupervisorHub
from callcenter.ui import add_ui_routes
from callcenter.visitor_ws import VisitorHub
from routing.config import RouterConfig
from routing.events import Event, QueueConfigured
from routing.router import Router

log = get_logger(__name__)

CONFIG = web.AppKey("config", Config)
API_VERSION = "1.0.0"
APIS: list[Api] = [health.api, auth.api, contacts.api, chat.api, admin.api, supervisor.api,
                   reports.api, openapi.api]


def create_app(
    config: Config,
    *,
    clock: Callable[[], float] = time.time,
    crash: CrashSwitch | None = None,
    snapshot_every: int = 5_000,
) -> web.Application:
    """The aiohttp application of the server (nothing runs until it is started)."""
    # Long request lines are legitimate (percent-encoded non-ASCII search terms).
    app = web.Application(client_max_size=config.server.max_body_bytes,
                          middlewares=[error_middleware],
                          handler_args={"max_line_size": 32_768, "max_field_size": 16_384})
    app[CONFIG] = config
    for part in APIS:
        part.add_to(app)
    app.router.add_get("/ws/agent", _agent_ws)
    app.router.add_get("/ws/supervisor", _supervisor_ws)
    app.router.add_get("/ws/visitor", _visitor_ws)
    app[chat.LIMITER] = chat.RateLimiter()
    add_ui_routes(app)
    # Invalid flows raise FlowSetInvalid here: the server refuses to start and says why.
    install_ivr(app, config.ivr.flows_dir)
    app[openapi.OPENAPI] = openapi.build_document(APIS, title="callcenter", version=API_VERSION)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = await _start(config, clock=clock,
                                crash=crash if crash is not None else CrashSwitch.from_env(),
                                snapshot_every=snapshot_every)
        app[SERVICES] = services
        try:
            yield
        finally:
            await _stop(services)

    app.cleanup_ctx.append(services_ctx)
    # After the services (it needs the router and the store); stops before them.
    app.cleanup_ctx.append(cti_bridge_ctx)
    app.on_shutdown.append(_on_shutdown)
    return app


async def _agent_ws(request: web.Request) -> web.StreamResponse:
    return await request.app[SERVICES].agents.handle(request)


async def _supervisor_ws(request: web.Request) -> web.StreamResponse:
    return await request.app[SERVICES].supervisors.handle(request)


async def _visitor_ws(request: web.Request) -> web.StreamResponse:
    visitors = request.app[SERVICES].visitors
    assert visitors is not None
    return await visitors.handle(request)


async def _start(config: Config, *, clock: Callable[[], float], crash: CrashSwitch,
                 snapshot_every: int) -> Services:
    engine = make_engine(config.store.url, echo=config.store.echo,
                         pool_size=config.store.pool_size)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        disposition = await default_disposition(db)
    router_config = RouterConfig(
        head_starts=dict(config.routing.head_starts),
        reject_exclusion_s=config.routing.reject_exclusion_s,
        short_abandon_s=config.routing.short_abandon_s,
        default_disposition=disposition.code if disposition else "no_disposition",
    )
    bus = Bus()
    runtime = RouterRuntime(sessionmaker=sessionmaker, bus=bus, router_config=router_config,
                            group_commit_max=config.store.group_commit_max, clock=clock,
                            crash=crash, snapshot_every=snapshot_every)
    await runtime.recover()
    services = Services(
        config=config, engine=engine, sessionmaker=sessionmaker,
        auth=Authenticator(sessionmaker, TokenSigner(config.auth.token_ttl_s)),
        bus=bus, runtime=runtime, screen_pops=ScreenPopCache(engine, bus),
        intake=None, agents=None, supervisors=None, stats=None,  # type: ignore[arg-type]
    )
    services.intake = ContactIntake(services)
    services.agents = AgentHub(services)
    services.stats = LiveStats(services)
    services.supervisors = SupervisorHub(services, services.stats)
    services.visitors = VisitorHub(services)
    services.metrics = LiveMetrics(config.center.time_zone,
                                   short_abandon_s=config.routing.short_abandon_s)
    feed = MetricsFeed(services, services.metrics)
    runtime.start()
    services.supervisors.start()
    await _recover_agents(services)
    await _sync_queues(services)
    crash.armed = True
    services.closers.append(feed.close)
    log.info("server.started", journal_id=runtime.journal_id, replayed=runtime.replayed,
             queues=len(runtime.router.queue_names()))
    return services


async def _recover_agents(services: Services) -> None:
    """After a restart nobody is connected: park every logged-in agent."""
    router = services.runtime.router
    for agent_id in router.agent_ids():
        if router.agent_snapshot(agent_id).presence != "offline":
            await services.runtime.submit_intent(park_agent_intent(agent_id, "disconnected"))


async def _sync_queues(services: Services) -> None:
    """Configure the router with every stored queue it does not have as stored."""
    async with services.sessionmaker() as db:
        records = await list_queues(db)
    runtime = services.runtime
    wanted = {r.name: routing_queue(r.name, r.channel, r.base_priority, r.config)
              for r in records}
    pending = {name: q for name, q in wanted.items() if runtime.queue_config(name) != q}
    while pending:
        ready = [q for q in pending.values()
                 if all((t in runtime.router.queue_names() and t not in pending) or t == q.name
                        for t in q.exit_targets())]
        if not ready:
            log.error("queues.unresolvable_overflow", queues=sorted(pending))
            return
        for queue in sorted(ready, key=lambda q: q.name):
            try:
                await runtime.submit(QueueConfigured(0.0, queue))
            except Exception as exc:
                log.error("queue.configure_failed", queue=queue.name, error=str(exc))
            pending.pop(queue.name, None)


async def _on_shutdown(app: web.Application) -> None:
    services = app.get(SERVICES)
    if services is None:
        return
    services.draining = True
    log.info("server.draining", queued=services.runtime.queue_size)
    await services.agents.close_all()
    await services.supervisors.close_all()
    if services.visitors is not None:
        await services.visitors.close_all()


async def _stop(services: Services) -> None:
    services.draining = True
    await services.runtime.stop(drain_s=services.config.server.drain_timeout_s)
    await services.agents.close_all()
    await services.supervisors.close_all()
    if services.visitors is not None:
        await services.visitors.close_all()
    services.screen_pops.close()
    services.stats.close()
    for close in services.closers:
        close()
    await services.engine.dispose()
    log.info("server.stopped", journal_id=services.runtime.journal_id)


def intent_events(events: list[Event]) -> Callable[[Router], list[tuple[Event, dict[str, Any]]]]:
    """An intent applying fixed events (tests and tools)."""
    return lambda _router: [(event, {}) for event in events]
