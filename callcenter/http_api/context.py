"""What handlers reach: the server's parts, wired by :func:`callcenter.app.create_app`.

One :class:`Services` object lives under the :data:`SERVICES` app key; the
composition root fills it, handlers only read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from callcenter.agents_ws import AgentHub
    from callcenter.auth import Authenticator
    from callcenter.bus import Bus
    from callcenter.config import Config
    from callcenter.http_api.contacts import ContactIntake
    from callcenter.runtime import RouterRuntime
    from callcenter.screen_pop import ScreenPopCache
    from callcenter.supervisor_ws import LiveStats, SupervisorHub
    from callcenter.visitor_ws import VisitorHub


@dataclass
class Services:
    config: Config
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    auth: Authenticator
    bus: Bus
    runtime: RouterRuntime
    screen_pops: ScreenPopCache
    intake: ContactIntake
    agents: AgentHub
    supervisors: SupervisorHub
    stats: LiveStats
    #: Set on SIGTERM: new contacts are refused with 503 while writes finish.
    draining: bool = False
    websockets: set[web.WebSocketResponse] = field(default_factory=set)
    #: The MQTT CTI bridge while it runs (:mod:`callcenter.cti_bridge`), else None.
    cti: Any = None
    #: Visitor chat sockets (:mod:`callcenter.visitor_ws`).
    visitors: VisitorHub | None = None
    #: Live DESIGN §6 figures and Prometheus metrics (:class:`callcenter.metrics.LiveMetrics`).
    metrics: Any = None
    #: Called at shutdown (bus subscriptions of optional parts).
    closers: list[Callable[[], None]] = field(default_factory=list)


SERVICES = web.AppKey("services", Services)
