"""Email intake: raw RFC 5322 messages and thread joining.

:func:`parse_message` reads a raw message with the standard library (``email``,
``policy.default``): sender, subject, plain-text body (HTML as a fallback, tags
stripped), and the threading headers Message-ID, In-Reply-To and References.

A reply joins its thread (:func:`find_thread`): any id it names in In-Reply-To or
References that we stored before - an incoming message (``contact_messages``) or
one of our replies (``email_outbox``) - leads to the earlier contact, whose
customer (and case) the new contact takes over. Outgoing replies carry correct
threading headers (:func:`reply_headers`): a fresh Message-ID, In-Reply-To the
customer's last message, References the whole chain.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import html
import re
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.errors import FieldError, NotFound, ValidationFailed
from callcenter.store.models import Contact, ContactMessage, EmailOutbox

MAX_BODY_CHARS = 100_000
_MSG_ID = re.compile(r"<[^<>\s]{1,490}>")
_TAG = re.compile(r"<[^>]*>")
REPLY_DOMAIN = "callcenter.invalid"


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    sender: str
    sender_name: str
    subject: str
    body: str
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...] = field(default_factory=tuple)

    def thread_ids(self) -> list[str]:
        """Ids this message answers, nearest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [r for r in reversed(self.references) if r not in ids]
        return ids


def _invalid(message: str, path: str = "$") -> ValidationFailed:
    return ValidationFailed(message, code="email.invalid", fields=[FieldError(path, message)])


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a header value, in order, without duplicates."""
    if not value:
        return []
    return list(dict.fromkeys(_MSG_ID.findall(value)))


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(_TAG.sub(" ", content))
    return content.strip()[:MAX_BODY_CHARS]


def parse_message(raw: bytes) -> ParsedEmail:
    """Parse a raw RFC 5322 message; ``email.invalid`` (422) when it is not one."""
    if not raw.strip():
        raise _invalid("the message is empty")
    raw = raw.replace(b"\x00", b"")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if not isinstance(message, EmailMessage):
            raise _invalid("not an email message")
        from_header = message.get("From")
        if from_header is None:
            raise _invalid("the message has no From header", "From")
        name, address = email.utils.parseaddr(str(from_header))
        if "@" not in address:
            raise _invalid(f"From {str(from_header)[:100]!r} holds no email address", "From")
        subject = str(message.get("Subject") or "").strip()[:500]
        own = message_ids(str(message.get("Message-ID") or ""))
        replied = message_ids(str(message.get("In-Reply-To") or ""))
        references = tuple(message_ids(str(message.get("References") or "")))
        body = _text_body(message)
    except ValidationFailed:
        raise
    except Exception as exc:  # the email package raises many kinds on bad input
        raise _invalid(f"unreadable message: {type(exc).__name__}") from None
    return ParsedEmail(
        sender=address.strip().lower()[:320], sender_name=name.strip()[:200],
        subject=subject, body=body, message_id=own[0] if own else None,
        in_reply_to=replied[0] if replied else None, references=references[-50:],
    )


@dataclass(frozen=True, slots=True)
class Thread:
    """The earlier contact a reply belongs to."""

    contact_id: str
    customer_id: int | None
    thread_id: str
    agent_id: str | None = None


async def find_thread(session: AsyncSession, ids: list[str]) -> Thread | None:
    """The contact of the nearest stored message among ``ids`` (two indexed lookups)."""
    ids = [i for i in ids if i][:50]
    if not ids:
        return None
    found: dict[str, str] = {}
    rows = await session.execute(
        select(ContactMessage.message_id, ContactMessage.contact_id)
        .where(ContactMessage.message_id.in_(ids)))
    found.update({mid: cid for mid, cid in rows if mid})
    rows = await session.execute(
        select(EmailOutbox.message_id, EmailOutbox.contact_id)
        .where(EmailOutbox.message_id.in_(ids)))
    found.update({mid: cid for mid, cid in rows if mid})
    for message_id in ids:
        contact_id = found.get(message_id)
        if contact_id is None:
            continue
        contact = await session.get(Contact, contact_id)
        if contact is None:
            continue
        thread_id = str((contact.payload or {}).get("thread_id") or contact.id)
        return Thread(contact_id=contact.id, customer_id=contact.customer_id,
                      thread_id=thread_id)
    return None


@dataclass(frozen=True, slots=True)
class ReplyHeaders:
    to: str
    subject: str
    message_id: str
    in_reply_to: str | None
    references: str | None


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@{REPLY_DOMAIN}>"


async def reply_headers(session: AsyncSession, contact_id: str) -> ReplyHeaders:
    """Headers of an agent's reply to the email contact ``contact_id``."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found", code="contact.not_found")
    last = await session.scalar(
        select(ContactMessage)
        .where(ContactMessage.contact_id == contact_id, ContactMessage.direction == "in")
        .order_by(ContactMessage.at.desc(), ContactMessage.id.desc()).limit(1))
    if last is None:
        raise ValidationFailed(f"contact {contact_id} has no message to reply to",
                               code="email.no_thread")
    subject = last.subject or contact.subject or ""
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".strip()
    chain = message_ids(last.references)
    if last.message_id and last.message_id not in chain:
        chain.append(last.message_id)
    return ReplyHeaders(
        to=last.sender, subject=subject[:500], message_id=new_message_id(),
        in_reply_to=last.message_id, references=" ".join(chain[-20:]) or None,
    )
