"""``POST /api/v1/chat/sessions``: a shop visitor starts a web chat (no login).

The chat becomes a contact like any other (PROTOCOL "Contacts over HTTP"); the
answer carries a visitor token for ``/ws/visitor`` (:mod:`callcenter.visitor_ws`).
The endpoint is public, so it is rate-limited per client address (a small token
bucket: bursts of 5, then one chat every 6 s) and takes chat queues only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from callcenter.errors import CallCenterError, FieldError, ValidationFailed
from callcenter.http_api.contacts import ContactRequest, _identities
from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.schemas import ChatSessionIn, ChatSessionOut, ErrorBody

api = Api()

BURST = 5
REFILL_PER_S = 1 / 6
_MAX_CLIENTS = 10_000


class RateLimited(CallCenterError):
    code = "request.rate_limited"
    status = 429


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets per client address (in memory, bounded)."""

    def __init__(self, burst: int = BURST, refill_per_s: float = REFILL_PER_S) -> None:
        self.burst = burst
        self.refill_per_s = refill_per_s
        self.buckets: dict[str, _Bucket] = {}

    def take(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        bucket = self.buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.refill_per_s)
        bucket.at = now
        self.buckets[client] = bucket  # most recent last: the oldest go first when full
        if len(self.buckets) > _MAX_CLIENTS:
            self.buckets.pop(next(iter(self.buckets)))
        if bucket.tokens < 1:
            raise RateLimited("too many chats from this address; try again in a minute")
        bucket.tokens -= 1


LIMITER = web.AppKey("chat_rate_limiter", RateLimiter)


@api.operation(
    "POST", "/api/v1/chat/sessions", summary="A shop visitor starts a chat (no login)",
    tag="chat", roles=None, body=ChatSessionIn,
    description="202 once the chat is durable, with a visitor token for /ws/visitor. "
                "Rate-limited per client address (429 request.rate_limited).",
    responses=[Response(202, ChatSessionOut, "chat queued (durable)"),
               Response(400, ErrorBody, "malformed JSON"),
               Response(404, ErrorBody, "unknown queue"),
               Response(413, ErrorBody, "body too large"),
               Response(422, ErrorBody, "invalid fields or not a chat queue"),
               Response(429, ErrorBody, "too many chats from this address"),
               Response(503, ErrorBody, "shutting down or store unavailable")],
)
async def start_chat(call: Call) -> web.StreamResponse:
    body: ChatSessionIn = call.body
    services = call.services
    call.request.app[LIMITER].take(call.request.remote or "unknown")
    queue = services.runtime.queue_config(body.queue)
    if queue is not None and queue.channel != "chat":
        raise ValidationFailed(f"queue {body.queue!r} is not a chat queue",
                               fields=[FieldError("queue", "not a chat queue")])
    visitor = f"visitor-{uuid.uuid4().hex[:16]}"
    identities = [*_identities(body.email, None, None), ("chat", visitor)]
    result = await services.intake.create(ContactRequest(
        channel="chat", queue=body.queue, external_id=None, identities=identities,
        customer_name=body.name, first_message=body.text[:2000],
        messages=[{"direction": "in", "sender": body.email or visitor, "subject": None,
                   "body": body.text, "message_id": None, "in_reply_to": None,
                   "references": None}],
    ))
    accepted = result.body
    assert services.visitors is not None
    return json_response(ChatSessionOut(
        contact_id=accepted.contact_id,
        visitor_token=services.visitors.token_for(accepted.contact_id),
        state=accepted.state, position=accepted.position,
        estimated_wait_s=accepted.estimated_wait_s), status=202)
