"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (it can
take contacts: journal replayed, store reachable, not draining)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.schemas import Health, Readiness

api = Api()


@api.operation("GET", "/healthz", summary="Liveness", tag="health", roles=None,
               responses=[Response(200, Health, "the process is alive")])
async def healthz(call: Call) -> web.StreamResponse:
    return json_response(Health(status="ok"))


@api.operation("GET", "/readyz", summary="Readiness: store reachable, router running, "
               "not draining", tag="health", roles=None,
               responses=[Response(200, Readiness, "ready"),
                          Response(503, Readiness, "not ready (draining, store down)")])
async def readyz(call: Call) -> web.StreamResponse:
    services = call.services
    store = "ok"
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        store = f"unavailable: {type(exc).__name__}"
    runtime = services.runtime
    router = "ok" if runtime.healthy and runtime.accepting else (
        "draining" if not runtime.accepting else "rebuilding")
    ready = store == "ok" and router == "ok" and not services.draining
    body = Readiness(status="ready" if ready else "not_ready", store=store, router=router,
                     journal_id=runtime.journal_id)
    return json_response(body, status=200 if ready else 503)
