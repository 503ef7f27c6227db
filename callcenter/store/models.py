"""The CRM store schema: SQLAlchemy 2.0 typed declarative models for every table.

Conventions (see docs/store.md):
- Times are aware UTC datetimes (:class:`UtcDateTime`) on both backends.
- Money is stored in integer minor units (``*_cents``: fen for CNY), never floats.
- Durations are float seconds (``*_s``).
- Enumerated values are strings guarded by CHECK constraints; the allowed values
  are the tuples below, so code and schema share one list.
- Relationships are ``lazy="raise"``: nothing loads behind the caller's back;
  repositories load what they return explicitly and hand out frozen dataclasses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from callcenter.store.timestamps import UtcDateTime, utc_now

TIERS = ("standard", "silver", "gold", "key", "strategic")
KEY_ACCOUNT_TIERS = ("key", "strategic")
SEGMENTS = ("key_account", "important", "general")
LIFECYCLES = ("potential", "new", "active", "at_risk", "lost")
LOYALTY_LEVELS = ("bronze", "silver", "gold", "platinum", "diamond")
IDENTITY_KINDS = ("phone", "email", "chat")
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned", "refunded")
TICKET_KINDS = ("service", "complaint")
TICKET_STATUSES = ("open", "pending", "resolved", "closed")
OPEN_TICKET_STATUSES = ("open", "pending")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("voice", "chat", "email", "callback")
DIRECTIONS = ("inbound", "outbound")
CONTACT_STATES = (
    "ivr", "queued", "alerting", "connected", "held", "wrap_up", "completed",
    "abandoned", "contained", "voicemail", "callback_scheduled",
)
MESSAGE_DIRECTIONS = ("in", "out")
OUTCOMES = (
    "answered", "abandoned", "short_abandon", "contained", "voicemail", "callback", "transferred",
)
PRESENCES = ("offline", "available", "not_ready")
ROLES = ("agent", "supervisor", "admin", "integration")
STRATEGIES = ("longest_idle", "most_skilled", "least_occupied", "round_robin")

# Every constraint and index gets a predictable name, so migrations can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key that is still SQLite's auto-incrementing rowid alias there.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or column)


class Base(DeclarativeBase):
    """Declarative base of every store model, with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON(),
    }


# --------------------------------------------------------------------------- customers


class Customer(Base):
    """A shop customer with the CRM analytics the router reads (tier) and agents see."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    # Primary contact details for display (masked in screen-pops); lookup goes
    # through customer_identities, which hold every phone/email/chat id.
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    city: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(16), default="zh")
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    tier_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    account_manager_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="SET NULL")
    )
    lifetime_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    rfm_r: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_f: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_m: Mapped[int | None] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(String(16), default="general")
    lifecycle: Mapped[str] = mapped_column(String(16), default="potential")
    loyalty_points: Mapped[int] = mapped_column(Integer, default=0)
    loyalty_level: Mapped[str] = mapped_column(String(16), default="bronze")
    segments_computed_at: Mapped[datetime | None]
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_recording: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        _one_of("tier", TIERS),
        _one_of("segment", SEGMENTS),
        _one_of("lifecycle", LIFECYCLES),
        _one_of("loyalty_level", LOYALTY_LEVELS),
        CheckConstraint("rfm_r BETWEEN 1 AND 5", name="rfm_r"),
        CheckConstraint("rfm_f BETWEEN 1 AND 5", name="rfm_f"),
        CheckConstraint("rfm_m BETWEEN 1 AND 5", name="rfm_m"),
        CheckConstraint("loyalty_points >= 0", name="loyalty_points"),
        Index("ix_customers_name", "name"),
        Index("ix_customers_tier", "tier"),
        Index("ix_customers_account_manager", "account_manager_id"),
    )


class CustomerIdentity(Base):
    """A phone number, email address or chat id that leads to one customer."""

    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    # Normalised: phones "+" and digits, emails lower-case, chat ids as given.
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    customer: Mapped[Customer] = relationship(back_populates="identities", lazy="raise")

    __table_args__ = (
        _one_of("kind", IDENTITY_KINDS),
        # The unique index is also the ANI / address lookup index.
        UniqueConstraint("kind", "value", name="uq_customer_identities_kind_value"),
        Index("ix_customer_identities_customer", "customer_id"),
    )


class Order(Base):
    """A shop order, for recency/frequency/monetary and the screen-pop's last orders."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(String(32), unique=True)
    placed_at: Mapped[datetime]
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(16), default="paid")
    item_count: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        _one_of("status", ORDER_STATUSES),
        CheckConstraint("total_cents >= 0", name="total_cents"),
        CheckConstraint("item_count >= 0", name="item_count"),
        Index("ix_orders_customer_placed", "customer_id", "placed_at"),
    )


class Ticket(Base):
    """A service request or complaint, with its SLA due time."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    order_number: Mapped[str | None] = mapped_column(String(32))
    contact_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    sla_due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        _one_of("kind", TICKET_KINDS),
        _one_of("status", TICKET_STATUSES),
        _one_of("priority", TICKET_PRIORITIES),
        Index("ix_tickets_customer_status", "customer_id", "status", "sla_due_at"),
        Index("ix_tickets_status_due", "status", "sla_due_at"),
        Index("ix_tickets_contact", "contact_id"),
    )


# --------------------------------------------------------------------------- live contacts


class Contact(Base):
    """The live (or last known) state of a contact; the router journal is the truth."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Idempotency key from the source (PBX call id, chat id, email Message-ID).
    external_id: Mapped[str | None] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    queue: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(24))
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    subject: Mapped[str | None] = mapped_column(String(500))
    first_message: Mapped[str | None] = mapped_column(Text)
    ivr_path: Mapped[list[Any]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("direction", DIRECTIONS),
        _one_of("state", CONTACT_STATES),
        _one_of("tier", TIERS),
        Index("ix_contacts_state", "state"),
        Index("ix_contacts_customer_created", "customer_id", "created_at"),
    )


class ContactMessage(Base):
    """One chat or email message of a contact, in either direction."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("contacts.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(4))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    # Email threading headers (RFC 5322); message_id finds the thread of a reply.
    message_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        _one_of("direction", MESSAGE_DIRECTIONS),
        Index("ix_contact_messages_contact_at", "contact_id", "at"),
    )


class EmailOutbox(Base):
    """An outgoing email reply; ``sent_at`` is set once the mail relay took it."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("contacts.id", ondelete="CASCADE")
    )
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_email_outbox_unsent", "sent_at", "created_at"),
        Index("ix_email_outbox_contact", "contact_id"),
    )


# --------------------------------------------------------------------------- contact records


class Interaction(Base):
    """The contact trace record (CTR, DESIGN §5): one row per finished contact."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    # Unique, so a retried write-back cannot record a contact twice.
    contact_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    first_queue: Mapped[str | None] = mapped_column(String(64))
    last_queue: Mapped[str | None] = mapped_column(String(64))
    # The agent of the last leg, kept here so history lists need no join.
    agent_id: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime]
    ivr_left_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    alerting_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wrap_up_ended_at: Mapped[datetime | None]
    wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_up_s: Mapped[float] = mapped_column(Float, default=0.0)
    handle_s: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(16))
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    ivr_path: Mapped[list[Any]] = mapped_column(JSON, default=list)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    overflows: Mapped[int] = mapped_column(Integer, default=0)

    legs: Mapped[list[InteractionLeg]] = relationship(
        back_populates="interaction", lazy="raise", cascade="all, delete-orphan",
        passive_deletes=True, order_by="InteractionLeg.leg_no",
    )

    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("direction", DIRECTIONS),
        _one_of("outcome", OUTCOMES),
        CheckConstraint("csat BETWEEN 1 AND 5", name="csat"),
        CheckConstraint(
            "wait_s >= 0 AND talk_s >= 0 AND hold_s >= 0 AND wrap_up_s >= 0 AND handle_s >= 0",
            name="durations",
        ),
        Index("ix_interactions_customer_arrived", "customer_id", "arrived_at"),
        Index("ix_interactions_queued", "queued_at"),
        Index("ix_interactions_arrived", "arrived_at"),
    )


class InteractionLeg(Base):
    """One agent's part of an interaction (a transfer makes a second leg)."""

    __tablename__ = "interaction_legs"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    interaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("interactions.id", ondelete="CASCADE")
    )
    leg_no: Mapped[int] = mapped_column(SmallInteger)
    # No foreign key: history must survive the removal of an agent.
    agent_id: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    alerting_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_up_s: Mapped[float] = mapped_column(Float, default=0.0)

    interaction: Mapped[Interaction] = relationship(back_populates="legs", lazy="raise")

    __table_args__ = (
        UniqueConstraint("interaction_id", "leg_no", name="uq_interaction_legs_leg"),
        CheckConstraint("leg_no >= 1", name="leg_no"),
        CheckConstraint("talk_s >= 0 AND hold_s >= 0 AND wrap_up_s >= 0", name="durations"),
        Index("ix_interaction_legs_agent_answered", "agent_id", "answered_at"),
    )


class Survey(Base):
    """A post-contact survey answer: CSAT 1-5 and/or NPS 0-10."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    contact_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utc_now)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("csat BETWEEN 1 AND 5", name="csat"),
        CheckConstraint("nps BETWEEN 0 AND 10", name="nps"),
        CheckConstraint("csat IS NOT NULL OR nps IS NOT NULL", name="answered"),
        Index("ix_surveys_customer", "customer_id"),
        Index("ix_surveys_contact", "contact_id"),
        Index("ix_surveys_at", "at"),
    )


# --------------------------------------------------------------------------- router durability


class RouterJournal(Base):
    """Every router input event, appended in the transaction that makes it durable."""

    __tablename__ = "router_journal"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class RouterSnapshot(Base):
    """The router state after applying the journal up to ``journal_id``."""

    __tablename__ = "router_snapshots"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    journal_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_router_snapshots_journal", "journal_id"),)


class AgentPresenceLog(Base):
    """Each presence change of an agent, for not-ready time and occupancy reports."""

    __tablename__ = "agent_presence_log"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    presence: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        _one_of("presence", PRESENCES),
        Index("ix_agent_presence_log_agent_at", "agent_id", "at"),
        Index("ix_agent_presence_log_at", "at"),
    )


class RoutingDecision(Base):
    """Why a contact was offered to an agent (queue, key, strategy, candidates...)."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    queue: Mapped[str] = mapped_column(String(64))
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_routing_decisions_contact", "contact_id"),
        Index("ix_routing_decisions_agent_at", "agent_id", "at"),
    )


# --------------------------------------------------------------------------- administration


class Agent(Base):
    """A person who handles contacts."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    extension: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Per-channel concurrency, e.g. {"voice": 1, "chat": 3, "email": 2}.
    capacity: Mapped[dict[str, Any]] = mapped_column(JSON)
    account_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", lazy="raise", cascade="all, delete-orphan", passive_deletes=True,
    )


class Skill(Base):
    """A routing skill (``sales``, ``returns``, ``mandarin``...)."""

    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(300))


class AgentSkill(Base):
    """An agent's proficiency in one skill, 1 (novice) to 10 (expert)."""

    __tablename__ = "agent_skills"

    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(
        String(64), ForeignKey("skills.name", ondelete="RESTRICT"), primary_key=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)

    agent: Mapped[Agent] = relationship(back_populates="skills", lazy="raise")

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 10", name="level"),
        Index("ix_agent_skills_skill", "skill"),
    )


class Queue(Base):
    """A routing queue; routing parameters live in ``config`` (docs/store.md)."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    base_priority: Mapped[int] = mapped_column(Integer, default=0)
    # required_skills, sl_target_s, ring_timeout_s, wrap_up_s, strategy,
    # relaxation, overflow, max_wait_s, max_attempts, exits.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        _one_of("channel", CHANNELS),
        CheckConstraint("base_priority BETWEEN 0 AND 100", name="base_priority"),
    )


class Disposition(Base):
    """A wrap-up code; the default one closes a contact whose wrap-up timed out."""

    __tablename__ = "dispositions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A login: agents, supervisors, administrators and integrations."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="CASCADE"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        _one_of("role", ROLES),
        CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name="agent_has_agent_id"),
    )


class AuditEntry(Base):
    """Who changed what in administration (queues, agents, users, tiers...)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target", "target"),
    )


def table_of(model: type[Base]) -> Table:
    """The Core ``Table`` of a model, typed, for bulk Core statements."""
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model here is a plain table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
