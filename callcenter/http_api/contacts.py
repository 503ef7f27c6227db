"""Contacts over HTTP (PROTOCOL.md "Contacts over HTTP") and the contact intake.

:class:`ContactIntake` turns a chat, an email (JSON or raw RFC 5322) or a callback
request into a ``ContactArrived`` event plus the rows it implies, and hands both
to the router task; the 202 goes out only after they are committed. The same
``external_id`` (or ``Idempotency-Key`` header, or an email's Message-ID) again
answers 200 with the same contact. The customer is found by email, phone or chat
id; an unknown one becomes a provisional customer holding that identity.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import and_, or_, select

from callcenter.auth import Principal
from callcenter.email_intake import Thread, find_thread, parse_message
from callcenter.errors import CallCenterError, FieldError, NotFound, ValidationFailed
from callcenter.http_api.context import Services
from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.runtime import ContactEffect, Draining, NewCustomer
from callcenter.schemas import (
    Accepted,
    ContactAccepted,
    ContactIn,
    ContactList,
    ContactListQuery,
    ContactOut,
    ContactTimes,
    DecisionList,
    DecisionOut,
    ErrorBody,
    RawEmailQuery,
)
from callcenter.screen_pop import ContactCard
from callcenter.store.identities import normalize_identity
from callcenter.store.interactions import get_interaction
from callcenter.store.models import (
    Contact,
    Customer,
    CustomerIdentity,
    Interaction,
    RoutingDecision,
)
from callcenter.store.timestamps import iso_utc
from callcenter.writeback import utc
from routing.commands import ContactExited, ContactQueued
from routing.errors import RoutingError
from routing.events import CallbackRequested, ContactAbandoned, ContactArrived, ContactEnded, Event
from routing.model import RequiredSkill, channel_fits_queue

INTAKE_ROLES = {"integration", "admin"}
READ_ROLES = {"integration", "supervisor", "admin", "agent"}

api = Api()


class ChannelMismatch(CallCenterError):
    code = "contact.channel_mismatch"
    status = 422


@dataclass(slots=True)
class ContactRequest:
    """A contact to create, whatever it came as (JSON, raw email)."""

    channel: str
    queue: str
    external_id: str | None
    identities: list[tuple[str, str]]
    customer_name: str | None = None
    subject: str | None = None
    first_message: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    skills: list[tuple[str, int]] = field(default_factory=list)
    preferred_agents: list[str] = field(default_factory=list)
    ivr_path: list[str] = field(default_factory=list)
    callback_due_at: float | None = None
    callback_number: str | None = None
    thread_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Intake:
    status: int
    body: ContactAccepted


@dataclass(frozen=True, slots=True)
class ResolvedCustomer:
    id: int
    tier: str
    provisional: bool


def _is_provisional(notes: str | None) -> bool:
    return bool(notes and notes.startswith("[provisional]"))


class ContactIntake:
    """Creates contacts durably (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def create(self, request: ContactRequest) -> Intake:
        services = self.services
        if services.draining or not services.runtime.accepting:
            raise Draining("the server is shutting down and takes no new contacts")
        queue_config = services.runtime.queue_config(request.queue)
        if queue_config is None:
            raise NotFound(f"queue {request.queue!r} not found", code="queue.not_found")
        queue_channel = queue_config.channel
        if not channel_fits_queue(request.channel, queue_channel):
            raise ChannelMismatch(f"a {request.channel} contact cannot wait in the "
                                  f"{queue_channel} queue {request.queue!r}",
                                  fields=[FieldError("queue", "channel does not fit")])
        # A repeated external_id is recognised by the router task, inside the batch that
        # would create it: one check, and no race between two requests for one contact.
        thread = await self._thread(request.thread_ids)
        customer = await self._customer(request, thread)
        contact_id = f"c-{uuid.uuid4().hex[:24]}"
        now = time.time()
        channel = request.channel
        priority = 0
        tier = customer.tier if customer is not None else "standard"
        provisional = customer is None or customer.provisional
        payload: dict[str, Any] = {"priority": priority, "provisional": provisional}
        if thread is not None:
            payload["thread_id"] = thread.thread_id
            payload["thread_contact_id"] = thread.contact_id
        if request.callback_number:
            payload["callback_number"] = request.callback_number
        if request.callback_due_at is not None:
            payload["callback_due_at"] = request.callback_due_at
        at = utc(now)
        row = {
            "id": contact_id, "external_id": request.external_id, "channel": channel,
            "direction": "outbound" if channel == "callback" else "inbound",
            "queue": request.queue, "customer_id": customer.id if customer else None,
            "state": "queued", "tier": tier, "subject": request.subject,
            "first_message": request.first_message, "ivr_path": request.ivr_path,
            "payload": payload, "created_at": at, "updated_at": at,
        }
        messages = [{**m, "contact_id": contact_id, "at": at} for m in request.messages]
        identity = request.identities[0] if request.identities else None
        preferred = list(request.preferred_agents)
        if thread is not None and thread.agent_id and thread.agent_id not in preferred:
            preferred.append(thread.agent_id)
        arrived = ContactArrived(
            0.0, contact_id, request.queue, channel=channel,  # type: ignore[arg-type]
            tier=tier,  # type: ignore[arg-type]
            required_skills=tuple(RequiredSkill(s, lvl) for s, lvl in request.skills),
            preferred_agents=tuple(preferred), external_id=request.external_id,
            customer_id=str(customer.id) if customer else None,
        )
        meta = {"channel": channel, "ivr_path": request.ivr_path,
                "direction": row["direction"]}
        events: list[tuple[Event, dict[str, Any]]] = [(arrived, meta)]
        if request.callback_due_at is not None and request.callback_due_at > now:
            events.append((CallbackRequested(0.0, contact_id, request.callback_due_at), {}))
        services.screen_pops.prefetch(ContactCard(
            contact_id=contact_id, channel=channel, queue=request.queue, tier=tier,
            customer_id=customer.id if customer else None, arrived_at=now,
            subject=request.subject, first_message=request.first_message,
            ivr_path=list(request.ivr_path), priority=priority,
            provisional=provisional, identity=identity,
        ))
        new_customer = None
        if customer is None:
            new_customer = NewCustomer(
                name=request.customer_name or _provisional_name(request.identities),
                identities=list(request.identities))
        try:
            outcome = await services.runtime.submit_events(
                events, effect=ContactEffect(contact=row, messages=messages,
                                             new_customer=new_customer))
        except BaseException:
            services.screen_pops.forget(contact_id)
            raise
        if outcome.duplicate_of is not None:
            services.screen_pops.forget(contact_id)
            existing = await self._by_id(outcome.duplicate_of)
            if existing is None:  # pragma: no cover - the id came from the store
                raise NotFound("contact vanished", code="contact.not_found")
            return Intake(200, await self._duplicate(existing))
        state, position, wait = "queued", None, None
        for command in outcome.commands:
            if isinstance(command, ContactQueued) and command.contact_id == contact_id:
                state, position, wait = "queued", command.position, command.estimated_wait_s
            elif isinstance(command, ContactExited) and command.contact_id == contact_id \
                    and command.exit != "overflow":
                state = {"voicemail": "voicemail", "auto_reply": "contained",
                         "callback": "callback_scheduled"}.get(command.exit, "queued")
        track = services.runtime.tracker.get(contact_id)
        if track is not None and track.state != "queued":
            state = track.state
        if len(events) > 1:
            state = "callback_scheduled"
        customer_id = customer.id if customer is not None else outcome.customer_id
        card = await services.screen_pops.card(contact_id)
        if card is not None:
            card.customer_id = customer_id
        return Intake(202, ContactAccepted(
            contact_id=contact_id, state=state, position=position,
            estimated_wait_s=None if wait is None else round(wait, 1),
            customer_id=customer_id))

    async def _by_id(self, contact_id: str) -> Contact | None:
        async with self.services.sessionmaker() as db:
            return await db.get(Contact, contact_id)

    async def _duplicate(self, contact: Contact) -> ContactAccepted:
        view = await contact_view(self.services, contact.id)
        return ContactAccepted(contact_id=contact.id, state=view.state, position=view.position,
                               estimated_wait_s=view.estimated_wait_s,
                               customer_id=contact.customer_id, duplicate=True)

    async def _thread(self, ids: list[str]) -> Thread | None:
        if not ids:
            return None
        async with self.services.sessionmaker() as db:
            thread = await find_thread(db, ids)
            if thread is None:
                return None
            agent = await db.scalar(select(Interaction.agent_id)
                                    .where(Interaction.contact_id == thread.contact_id))
        return Thread(thread.contact_id, thread.customer_id, thread.thread_id, agent)

    async def _customer(self, request: ContactRequest,
                        thread: Thread | None) -> ResolvedCustomer | None:
        """The known customer of the contact, or None (the router task then creates a
        provisional one in the contact's own transaction). One indexed query."""
        columns = (Customer.id, Customer.tier, Customer.notes)
        async with self.services.engine.connect() as connection:
            if thread is not None and thread.customer_id is not None:
                row = (await connection.execute(
                    select(*columns).where(Customer.id == thread.customer_id))).first()
                if row is not None:
                    return ResolvedCustomer(row.id, row.tier, _is_provisional(row.notes))
            for kind, value in request.identities:
                row = (await connection.execute(
                    select(*columns)
                    .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
                    .where(CustomerIdentity.kind == kind,
                           CustomerIdentity.value == value))).first()
                if row is not None:
                    return ResolvedCustomer(row.id, row.tier, _is_provisional(row.notes))
        return None


def _provisional_name(identities: list[tuple[str, str]]) -> str:
    if not identities:
        return "Unknown customer"
    kind, value = identities[0]
    return {"email": value, "phone": f"Caller {value}", "chat": f"Visitor {value}"}[kind]


def _identities(ref_email: str | None, ref_phone: str | None,
                ref_chat: str | None) -> list[tuple[str, str]]:
    result = []
    for kind, value, path in (("email", ref_email, "customer.email"),
                              ("phone", ref_phone, "customer.phone"),
                              ("chat", ref_chat, "customer.chat_id")):
        if value is None:
            continue
        try:
            result.append((kind, normalize_identity(kind, value)))
        except ValidationFailed as exc:
            message = exc.fields[0].message if exc.fields else exc.message
            raise ValidationFailed(f"{path}: {message}",
                                   fields=[FieldError(path, message)]) from None
    return result


def _parse_time(value: str, path: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{path}: not an ISO 8601 time",
                               fields=[FieldError(path, "not an ISO 8601 time")]) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{path}: the time needs an offset or Z",
                               fields=[FieldError(path, "time without offset")])
    return parsed.timestamp()


def request_from_json(body: ContactIn, idempotency_key: str | None) -> ContactRequest:
    """The intake request of a JSON contact (``POST /api/v1/contacts``)."""
    identities = _identities(body.customer.email, body.customer.phone, body.customer.chat_id)
    external_id = body.external_id or idempotency_key
    request = ContactRequest(
        channel=body.channel, queue=body.queue, external_id=external_id,
        identities=identities, customer_name=body.customer.name,
        skills=[(s.skill, s.min_level) for s in body.skills],
        preferred_agents=list(body.preferred_agents), ivr_path=list(body.ivr_path),
    )
    sender = body.customer.email or body.customer.chat_id or body.customer.phone or "customer"
    if body.channel == "email":
        part = body.email
        if part is None:
            raise ValidationFailed("email: required for an email contact",
                                   fields=[FieldError("email", "required for channel email")])
        message_id = part.message_id
        request.external_id = request.external_id or message_id
        request.subject = part.subject or None
        request.first_message = part.body[:2000] or None
        request.thread_ids = ([part.in_reply_to] if part.in_reply_to else []) + \
            [r for r in (part.references or "").split() if r]
        request.messages.append({
            "direction": "in", "sender": sender[:320], "subject": part.subject or None,
            "body": part.body, "message_id": message_id, "in_reply_to": part.in_reply_to,
            "references": part.references,
        })
    elif body.channel == "chat":
        text = body.chat.text if body.chat is not None else ""
        request.first_message = text[:2000] or None
        if text:
            request.messages.append({"direction": "in", "sender": sender[:320], "subject": None,
                                     "body": text, "message_id": None, "in_reply_to": None,
                                     "references": None})
    else:
        callback = body.callback
        number = callback.number if callback is not None else None
        if number is None and body.customer.phone is None:
            raise ValidationFailed("callback: a callback needs customer.phone or "
                                   "callback.number",
                                   fields=[FieldError("customer.phone", "required")])
        if number is not None:
            number = _identities(None, number, None)[0][1]
        request.callback_number = number or next(
            (v for k, v in identities if k == "phone"), None)
        if callback is not None and callback.due_at is not None:
            request.callback_due_at = _parse_time(callback.due_at, "callback.due_at")
        request.subject = "Callback request"
    return request


def request_from_email(raw: bytes, queue: str, idempotency_key: str | None) -> ContactRequest:
    """The intake request of a raw RFC 5322 message."""
    parsed = parse_message(raw)
    references = " ".join(parsed.references) or None
    external_id = idempotency_key or parsed.message_id
    return ContactRequest(
        channel="email", queue=queue, external_id=external_id,
        identities=_identities(parsed.sender, None, None),
        customer_name=parsed.sender_name or None, subject=parsed.subject or None,
        first_message=parsed.body[:2000] or None, thread_ids=parsed.thread_ids(),
        messages=[{"direction": "in", "sender": parsed.sender, "subject": parsed.subject or None,
                   "body": parsed.body, "message_id": parsed.message_id,
                   "in_reply_to": parsed.in_reply_to, "references": references}],
    )


# --------------------------------------------------------------------------- views


def _iso(at: float | None) -> str | None:
    return None if at is None else iso_utc(utc(at))


async def contact_view(services: Services, contact_id: str) -> ContactOut:
    """A contact's state: live from the router, else from the store."""
    runtime = services.runtime
    track = runtime.tracker.get(contact_id)
    if contact_id in runtime.router.contact_ids() and track is not None:
        snap = runtime.router.contact_snapshot(contact_id)
        return ContactOut(
            contact_id=contact_id, channel=snap.channel, state=track.state, queue=snap.queue,
            customer_id=track.customer_id, external_id=snap.external_id,
            agent_id=snap.agent_id, position=snap.position, live=True,
            estimated_wait_s=None if snap.estimated_wait_s is None
            else round(snap.estimated_wait_s, 1),
            times=ContactTimes(arrived_at=_iso(track.arrived_at),
                               queued_at=_iso(track.queued_at),
                               alerting_at=_iso(track.alerting_at),
                               answered_at=_iso(track.answered_at),
                               ended_at=_iso(track.ended_at)),
        )
    async with services.sessionmaker() as db:
        row = await db.get(Contact, contact_id)
        if row is None:
            raise NotFound(f"contact {contact_id!r} not found", code="contact.not_found")
        try:
            record = await get_interaction(db, contact_id)
        except NotFound:
            record = None
    times = ContactTimes(arrived_at=iso_utc(row.created_at))
    agent_id = None
    if record is not None:
        times = ContactTimes(
            arrived_at=iso_utc(record.arrived_at), queued_at=iso_utc(record.queued_at),
            alerting_at=iso_utc(record.alerting_at), answered_at=iso_utc(record.answered_at),
            ended_at=iso_utc(record.ended_at), wrap_up_ended_at=iso_utc(record.wrap_up_ended_at))
        agent_id = record.agent_id
    return ContactOut(contact_id=row.id, channel=row.channel, state=row.state, queue=row.queue,
                      customer_id=row.customer_id, external_id=row.external_id,
                      agent_id=agent_id, times=times)


async def agent_was_offered(services: Services, agent_id: str, *, contact_id: str | None = None,
                            customer_id: int | None = None) -> bool:
    """Whether a contact (or any contact of a customer) was ever offered to the agent."""
    query = select(RoutingDecision.id).where(RoutingDecision.agent_id == agent_id)
    if contact_id is not None:
        query = query.where(RoutingDecision.contact_id == contact_id)
    if customer_id is not None:
        query = query.join(Contact, Contact.id == RoutingDecision.contact_id).where(
            Contact.customer_id == customer_id)
    async with services.sessionmaker() as db:
        return (await db.scalar(query.limit(1))) is not None


def _check_agent_access(principal: Principal) -> str | None:
    return principal.agent_id if principal.role == "agent" else None


# --------------------------------------------------------------------------- handlers

_ERRORS = [
    Response(400, ErrorBody, "malformed JSON"),
    Response(401, ErrorBody, "no or bad token"),
    Response(403, ErrorBody, "role not allowed"),
    Response(413, ErrorBody, "body too large"),
    Response(422, ErrorBody, "invalid fields"),
]
_READ_ERRORS = [
    Response(401, ErrorBody, "no or bad token"),
    Response(403, ErrorBody, "role not allowed"),
    Response(404, ErrorBody, "no such contact"),
]
_CONTACT_ID = {"contact_id": {"type": "string", "maxLength": 64}}


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 300:
        raise ValidationFailed("Idempotency-Key: must be 1 to 300 characters",
                               fields=[FieldError("Idempotency-Key", "1 to 300 characters")])
    return key


@api.operation(
    "POST", "/api/v1/contacts", summary="Create a chat, email or callback contact",
    tag="contacts", roles=INTAKE_ROLES, body=ContactIn,
    description="202 once the contact is durable; the same external_id (or Idempotency-Key) "
                "again answers 200 with the same contact_id.",
    responses=[Response(202, ContactAccepted, "contact queued (durable)"),
               Response(200, ContactAccepted, "a repeat: the existing contact"),
               Response(404, ErrorBody, "unknown queue"),
               Response(503, ErrorBody, "shutting down or store unavailable"), *_ERRORS],
)
async def create_contact(call: Call) -> web.StreamResponse:
    request = request_from_json(call.body, _idempotency_key(call.request))
    result = await call.services.intake.create(request)
    return json_response(result.body, status=result.status)


@api.operation(
    "POST", "/api/v1/contacts/email", summary="Create an email contact from a raw RFC 5322 message",
    tag="contacts", roles=INTAKE_ROLES, body=bytes, body_media="message/rfc822",
    query=RawEmailQuery,
    description="Replies (In-Reply-To / References naming a stored message) join that "
                "thread's customer. The Message-ID is the idempotency key.",
    responses=[Response(202, ContactAccepted, "contact queued (durable)"),
               Response(200, ContactAccepted, "a repeat: the existing contact"),
               Response(404, ErrorBody, "unknown queue"),
               Response(503, ErrorBody, "shutting down or store unavailable"), *_ERRORS],
)
async def create_email_contact(call: Call) -> web.StreamResponse:
    request = request_from_email(call.body, call.query.queue,
                                 _idempotency_key(call.request))
    result = await call.services.intake.create(request)
    return json_response(result.body, status=result.status)


@api.operation(
    "GET", "/api/v1/contacts/{contact_id}", summary="A contact's state, queue, position, times",
    tag="contacts", roles=READ_ROLES, path_params=_CONTACT_ID,
    responses=[Response(200, ContactOut, "the contact"), *_READ_ERRORS],
)
async def get_contact(call: Call) -> web.StreamResponse:
    contact_id = call.path("contact_id")
    agent_id = _check_agent_access(call.user)
    if agent_id is not None and not await agent_was_offered(call.services, agent_id,
                                                             contact_id=contact_id):
        raise NotFound(f"contact {contact_id!r} not found", code="contact.not_found")
    return json_response(await contact_view(call.services, contact_id))


@api.operation(
    "GET", "/api/v1/contacts", summary="Contacts, newest first (paginated)",
    tag="contacts", roles={"integration", "supervisor", "admin"}, query=ContactListQuery,
    responses=[Response(200, ContactList, "one page"),
               Response(401, ErrorBody, "no or bad token"),
               Response(403, ErrorBody, "role not allowed"),
               Response(422, ErrorBody, "bad query")],
)
async def list_contacts(call: Call) -> web.StreamResponse:
    q: ContactListQuery = call.query
    query = select(Contact)
    if q.state:
        query = query.where(Contact.state == q.state)
    if q.queue:
        query = query.where(Contact.queue == q.queue)
    if q.cursor:
        created, contact_id = _decode_cursor(q.cursor)
        query = query.where(or_(Contact.created_at < created,
                                and_(Contact.created_at == created, Contact.id < contact_id)))
    query = query.order_by(Contact.created_at.desc(), Contact.id.desc()).limit(q.limit + 1)
    async with call.services.sessionmaker() as db:
        rows = list(await db.scalars(query))
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    items = [ContactOut(contact_id=r.id, channel=r.channel, state=r.state, queue=r.queue,
                        customer_id=r.customer_id, external_id=r.external_id,
                        times=ContactTimes(arrived_at=iso_utc(r.created_at)))
             for r in rows]
    cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return json_response(ContactList(items=items, next_cursor=cursor))


def _encode_cursor(created: datetime, contact_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{contact_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, contact_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        parsed = datetime.fromisoformat(created)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, contact_id
    except (ValueError, UnicodeError):
        raise ValidationFailed("cursor: not a cursor this server made",
                               fields=[FieldError("cursor", "invalid cursor")]) from None


@api.operation(
    "DELETE", "/api/v1/contacts/{contact_id}", summary="The customer left (abandon or hang-up)",
    tag="contacts", roles=INTAKE_ROLES, path_params=_CONTACT_ID,
    responses=[Response(202, Accepted, "abandoned (waiting) or ended (connected)"),
               Response(409, ErrorBody, "the contact already finished"),
               Response(503, ErrorBody, "shutting down or store unavailable"), *_READ_ERRORS],
)
async def delete_contact(call: Call) -> web.StreamResponse:
    contact_id = call.path("contact_id")
    runtime = call.services.runtime
    track = runtime.tracker.get(contact_id)
    if track is None:
        await contact_view(call.services, contact_id)  # 404 when unknown
        raise RoutingErrorConflict(f"contact {contact_id!r} already finished")
    if track.state == "connected":
        await runtime.submit(ContactEnded(0.0, contact_id, "customer"))
        status = "ended"
    else:
        await runtime.submit(ContactAbandoned(0.0, contact_id))
        status = "abandoned"
    return json_response(Accepted(status=status), status=202)


class RoutingErrorConflict(CallCenterError):
    code = "contact.invalid_transition"
    status = 409


@api.operation(
    "GET", "/api/v1/contacts/{contact_id}/decisions", summary="Why each agent got this contact",
    tag="contacts", roles={"supervisor", "admin"}, path_params=_CONTACT_ID,
    responses=[Response(200, DecisionList, "the routing decisions, oldest first"),
               *_READ_ERRORS],
)
async def contact_decisions(call: Call) -> web.StreamResponse:
    contact_id = call.path("contact_id")
    async with call.services.sessionmaker() as db:
        exists = await db.get(Contact, contact_id)
        rows = list(await db.scalars(select(RoutingDecision)
                                     .where(RoutingDecision.contact_id == contact_id)
                                     .order_by(RoutingDecision.at, RoutingDecision.id)))
    if exists is None and not rows:
        raise NotFound(f"contact {contact_id!r} not found", code="contact.not_found")
    return json_response(DecisionList(contact_id=contact_id, items=[
        DecisionOut(agent_id=r.agent_id, queue=r.queue, at=iso_utc(r.at) or "",
                    reason=dict(r.reason)) for r in rows]))


__all__ = ["ContactIntake", "RoutingError", "api", "contact_view"]
