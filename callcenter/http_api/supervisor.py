"""The supervisor API: live queue and agent figures, force presence, move a contact."""

from __future__ import annotations

from aiohttp import web

from callcenter.auth import audit
from callcenter.errors import Conflict, NotFound
from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.ivr_runtime import IvrReloadResult, reload_flows
from callcenter.schemas import (
    Accepted,
    AgentStateList,
    ErrorBody,
    ForcePresence,
    MoveContact,
    QueueStatsList,
)
from routing.commands import PresenceSet
from routing.events import AgentLoggedOut, ContactTransferred, PresenceRequested

api = Api()
SUPERVISORS = {"supervisor", "admin"}
_ERR_AUTH = [Response(401, ErrorBody, "no or bad token"),
             Response(403, ErrorBody, "role not allowed")]
_ERR_BODY = [Response(400, ErrorBody, "malformed JSON"),
             Response(413, ErrorBody, "body too large"),
             Response(422, ErrorBody, "invalid fields")]


@api.operation("GET", "/api/v1/supervisor/queues", summary="Live figures of every queue",
               tag="supervisor", roles=SUPERVISORS,
               responses=[Response(200, QueueStatsList, "queue figures"), *_ERR_AUTH])
async def queue_figures(call: Call) -> web.StreamResponse:
    return json_response(QueueStatsList(items=call.services.stats.all_queues()))


@api.operation("GET", "/api/v1/supervisor/agents", summary="Live state of every agent",
               tag="supervisor", roles=SUPERVISORS,
               responses=[Response(200, AgentStateList, "agent states"), *_ERR_AUTH])
async def agent_states(call: Call) -> web.StreamResponse:
    return json_response(AgentStateList(items=call.services.stats.all_agents()))


@api.operation("POST", "/api/v1/supervisor/agents/{agent_id}/presence",
               summary="Force an agent's presence (not_ready while busy is pending)",
               tag="supervisor", roles=SUPERVISORS, body=ForcePresence,
               path_params={"agent_id": {"type": "string", "maxLength": 64}},
               responses=[Response(202, Accepted, "applied (durable)"),
                          Response(404, ErrorBody, "agent not logged in"),
                          Response(409, ErrorBody, "not possible in the agent's state"),
                          *_ERR_AUTH, *_ERR_BODY])
async def force_presence(call: Call) -> web.StreamResponse:
    agent_id = call.path("agent_id")
    body: ForcePresence = call.body
    runtime = call.services.runtime
    if agent_id not in runtime.router.agent_ids():
        raise NotFound(f"agent {agent_id!r} is not logged in", code="agent.not_found")
    if body.state == "offline":
        outcome = await runtime.submit(AgentLoggedOut(0.0, agent_id))
    else:
        outcome = await runtime.submit(PresenceRequested(0.0, agent_id, body.state, body.reason))
    pending = any(isinstance(c, PresenceSet) and c.pending for c in outcome.commands)
    async with call.services.sessionmaker.begin() as db:
        await audit(db, call.user, "agent.presence_forced", f"agent:{agent_id}",
                    {"state": body.state, "reason": body.reason, "pending": pending})
    return json_response(Accepted(status=body.state, pending=pending), status=202)


@api.operation("POST", "/api/v1/supervisor/contacts/{contact_id}/move",
               summary="Move a waiting contact to another queue (keeps its place in line)",
               tag="supervisor", roles=SUPERVISORS, body=MoveContact,
               path_params={"contact_id": {"type": "string", "maxLength": 64}},
               responses=[Response(202, Accepted, "moved (durable)"),
                          Response(404, ErrorBody, "no such contact or queue"),
                          Response(409, ErrorBody, "the contact is not waiting"),
                          *_ERR_AUTH, *_ERR_BODY])
async def move_contact(call: Call) -> web.StreamResponse:
    contact_id = call.path("contact_id")
    body: MoveContact = call.body
    runtime = call.services.runtime
    track = runtime.tracker.get(contact_id)
    if track is None:
        raise NotFound(f"contact {contact_id!r} is not live", code="contact.not_found")
    if track.state != "queued":
        raise Conflict(f"contact {contact_id!r} is {track.state}, not waiting",
                       code="contact.invalid_transition")
    if body.queue not in runtime.router.queue_names():
        raise NotFound(f"queue {body.queue!r} not found", code="queue.not_found")
    await runtime.submit(ContactTransferred(0.0, contact_id, to_queue=body.queue))
    async with call.services.sessionmaker.begin() as db:
        await audit(db, call.user, "contact.moved", f"contact:{contact_id}",
                    {"from": track.last_queue, "to": body.queue})
    return json_response(Accepted(status="moved"), status=202)


@api.operation("POST", "/api/v1/ivr/reload",
               summary="Reload IVR flows (calls in progress keep theirs)",
               tag="supervisor", roles=SUPERVISORS,
               responses=[Response(200, IvrReloadResult, "reloaded"),
                          Response(422, IvrReloadResult, "invalid: running flows kept"),
                          *_ERR_AUTH])
async def reload_ivr(call: Call) -> web.StreamResponse:
    result = reload_flows(call.request.app)
    async with call.services.sessionmaker.begin() as db:
        await audit(db, call.user, "ivr.reloaded", "ivr",
                    {"generation": result.generation, "errors": result.errors[:20]})
    return json_response(result, status=200 if result.reloaded else 422)
