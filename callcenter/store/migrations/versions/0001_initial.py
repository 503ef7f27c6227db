"""Initial schema: every table of the CRM store (DESIGN §5, docs/store.md).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_presence_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "presence IN ('offline', 'available', 'not_ready')",
            name=op.f("ck_agent_presence_log_presence"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_presence_log")),
    )
    op.create_index(
        "ix_agent_presence_log_agent_at", "agent_presence_log", ["agent_id", "at"], unique=False
    )
    op.create_index("ix_agent_presence_log_at", "agent_presence_log", ["at"], unique=False)

    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("capacity", sa.JSON(), nullable=False),
        sa.Column("account_manager", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("extension", name=op.f("uq_agents_extension")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_target", "audit_log", ["target"], unique=False)

    op.create_table(
        "dispositions",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dispositions")),
    )
    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("base_priority", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('voice', 'chat', 'email', 'callback')", name=op.f("ck_queues_channel")
        ),
        sa.CheckConstraint("base_priority BETWEEN 0 AND 100", name=op.f("ck_queues_base_priority")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "router_journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_router_journal")),
    )
    op.create_table(
        "router_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_router_snapshots")),
    )
    op.create_index("ix_router_snapshots_journal", "router_snapshots", ["journal_id"], unique=False)

    op.create_table(
        "routing_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    op.create_index(
        "ix_routing_decisions_agent_at", "routing_decisions", ["agent_id", "at"], unique=False
    )
    op.create_index(
        "ix_routing_decisions_contact", "routing_decisions", ["contact_id"], unique=False
    )

    op.create_table(
        "skills",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_skills")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 10", name=op.f("ck_agent_skills_level")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_skills_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill"],
            ["skills.name"],
            name=op.f("fk_agent_skills_skill_skills"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_index("ix_agent_skills_skill", "agent_skills", ["skill"], unique=False)

    op.create_table(
        "customers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("tier_locked", sa.Boolean(), nullable=False),
        sa.Column("account_manager_id", sa.String(length=64), nullable=True),
        sa.Column("lifetime_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rfm_r", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_f", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_m", sa.SmallInteger(), nullable=True),
        sa.Column("segment", sa.String(length=16), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("loyalty_points", sa.Integer(), nullable=False),
        sa.Column("loyalty_level", sa.String(length=16), nullable=False),
        sa.Column("segments_computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_marketing", sa.Boolean(), nullable=False),
        sa.Column("consent_recording", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lifecycle IN ('potential', 'new', 'active', 'at_risk', 'lost')",
            name=op.f("ck_customers_lifecycle"),
        ),
        sa.CheckConstraint(
            "loyalty_level IN ('bronze', 'silver', 'gold', 'platinum', 'diamond')",
            name=op.f("ck_customers_loyalty_level"),
        ),
        sa.CheckConstraint(
            "segment IN ('key_account', 'important', 'general')", name=op.f("ck_customers_segment")
        ),
        sa.CheckConstraint(
            "tier IN ('standard', 'silver', 'gold', 'key', 'strategic')",
            name=op.f("ck_customers_tier"),
        ),
        sa.CheckConstraint("loyalty_points >= 0", name=op.f("ck_customers_loyalty_points")),
        sa.CheckConstraint("rfm_f BETWEEN 1 AND 5", name=op.f("ck_customers_rfm_f")),
        sa.CheckConstraint("rfm_m BETWEEN 1 AND 5", name=op.f("ck_customers_rfm_m")),
        sa.CheckConstraint("rfm_r BETWEEN 1 AND 5", name=op.f("ck_customers_rfm_r")),
        sa.ForeignKeyConstraint(
            ["account_manager_id"],
            ["agents.id"],
            name=op.f("fk_customers_account_manager_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_index(
        "ix_customers_account_manager", "customers", ["account_manager_id"], unique=False
    )
    op.create_index("ix_customers_name", "customers", ["name"], unique=False)
    op.create_index("ix_customers_tier", "customers", ["tier"], unique=False)

    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role <> 'agent' OR agent_id IS NOT NULL", name=op.f("ck_users_agent_has_agent_id")
        ),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor', 'admin', 'integration')", name=op.f("ck_users_role")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_users_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_users_agent_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("first_message", sa.Text(), nullable=True),
        sa.Column("ivr_path", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('voice', 'chat', 'email', 'callback')", name=op.f("ck_contacts_channel")
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_contacts_direction")
        ),
        sa.CheckConstraint(
            (
                "state IN ('ivr', 'queued', 'alerting', 'connected', 'held', 'wrap_up', "
                "'completed', 'abandoned', 'contained', 'voicemail', 'callback_scheduled')"
            ),
            name=op.f("ck_contacts_state"),
        ),
        sa.CheckConstraint(
            "tier IN ('standard', 'silver', 'gold', 'key', 'strategic')",
            name=op.f("ck_contacts_tier"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contacts_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("external_id", name=op.f("uq_contacts_external_id")),
    )
    op.create_index(
        "ix_contacts_customer_created", "contacts", ["customer_id", "created_at"], unique=False
    )
    op.create_index("ix_contacts_state", "contacts", ["state"], unique=False)

    op.create_table(
        "customer_identities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('phone', 'email', 'chat')", name=op.f("ck_customer_identities_kind")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_identities_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identities")),
        sa.UniqueConstraint("kind", "value", name="uq_customer_identities_kind_value"),
    )
    op.create_index(
        "ix_customer_identities_customer", "customer_identities", ["customer_id"], unique=False
    )

    op.create_table(
        "interactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("first_queue", sa.String(length=64), nullable=True),
        sa.Column("last_queue", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ivr_left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerting_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrap_up_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=False),
        sa.Column("talk_s", sa.Float(), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=False),
        sa.Column("handle_s", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("ivr_path", sa.JSON(), nullable=False),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("overflows", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('voice', 'chat', 'email', 'callback')",
            name=op.f("ck_interactions_channel"),
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction")
        ),
        sa.CheckConstraint(
            (
                "outcome IN ('answered', 'abandoned', 'short_abandon', 'contained', 'voicemail', "
                "'callback', 'transferred')"
            ),
            name=op.f("ck_interactions_outcome"),
        ),
        sa.CheckConstraint("csat BETWEEN 1 AND 5", name=op.f("ck_interactions_csat")),
        sa.CheckConstraint(
            "wait_s >= 0 AND talk_s >= 0 AND hold_s >= 0 AND wrap_up_s >= 0 AND handle_s >= 0",
            name=op.f("ck_interactions_durations"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_interactions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_interactions_contact_id")),
    )
    op.create_index("ix_interactions_arrived", "interactions", ["arrived_at"], unique=False)
    op.create_index(
        "ix_interactions_customer_arrived",
        "interactions",
        ["customer_id", "arrived_at"],
        unique=False,
    )
    op.create_index("ix_interactions_queued", "interactions", ["queued_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            (
                "status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'returned', "
                "'refunded')"
            ),
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint("item_count >= 0", name=op.f("ck_orders_item_count")),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_orders_total_cents")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    op.create_index(
        "ix_orders_customer_placed", "orders", ["customer_id", "placed_at"], unique=False
    )

    op.create_table(
        "surveys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("csat BETWEEN 1 AND 5", name=op.f("ck_surveys_csat")),
        sa.CheckConstraint("csat IS NOT NULL OR nps IS NOT NULL", name=op.f("ck_surveys_answered")),
        sa.CheckConstraint("nps BETWEEN 0 AND 10", name=op.f("ck_surveys_nps")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_surveys_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    )
    op.create_index("ix_surveys_at", "surveys", ["at"], unique=False)
    op.create_index("ix_surveys_contact", "surveys", ["contact_id"], unique=False)
    op.create_index("ix_surveys_customer", "surveys", ["customer_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=True),
        sa.Column("contact_id", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('service', 'complaint')", name=op.f("ck_tickets_kind")),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'pending', 'resolved', 'closed')", name=op.f("ck_tickets_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tickets_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_contact", "tickets", ["contact_id"], unique=False)
    op.create_index(
        "ix_tickets_customer_status",
        "tickets",
        ["customer_id", "status", "sla_due_at"],
        unique=False,
    )
    op.create_index("ix_tickets_status_due", "tickets", ["status", "sla_due_at"], unique=False)

    op.create_table(
        "contact_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('in', 'out')", name=op.f("ck_contact_messages_direction")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_messages_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_contact_messages_message_id")),
    )
    op.create_index(
        "ix_contact_messages_contact_at", "contact_messages", ["contact_id", "at"], unique=False
    )

    op.create_table(
        "email_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("to", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_email_outbox_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_outbox_message_id")),
    )
    op.create_index("ix_email_outbox_contact", "email_outbox", ["contact_id"], unique=False)
    op.create_index(
        "ix_email_outbox_unsent", "email_outbox", ["sent_at", "created_at"], unique=False
    )

    op.create_table(
        "interaction_legs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("interaction_id", sa.BigInteger(), nullable=False),
        sa.Column("leg_no", sa.SmallInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("alerting_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=False),
        sa.CheckConstraint("leg_no >= 1", name=op.f("ck_interaction_legs_leg_no")),
        sa.CheckConstraint(
            "talk_s >= 0 AND hold_s >= 0 AND wrap_up_s >= 0",
            name=op.f("ck_interaction_legs_durations"),
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_legs_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_legs")),
        sa.UniqueConstraint("interaction_id", "leg_no", name="uq_interaction_legs_leg"),
    )
    op.create_index(
        "ix_interaction_legs_agent_answered",
        "interaction_legs",
        ["agent_id", "answered_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_legs_agent_answered", table_name="interaction_legs")

    op.drop_table("interaction_legs")
    op.drop_index("ix_email_outbox_unsent", table_name="email_outbox")
    op.drop_index("ix_email_outbox_contact", table_name="email_outbox")

    op.drop_table("email_outbox")
    op.drop_index("ix_contact_messages_contact_at", table_name="contact_messages")

    op.drop_table("contact_messages")
    op.drop_index("ix_tickets_status_due", table_name="tickets")
    op.drop_index("ix_tickets_customer_status", table_name="tickets")
    op.drop_index("ix_tickets_contact", table_name="tickets")

    op.drop_table("tickets")
    op.drop_index("ix_surveys_customer", table_name="surveys")
    op.drop_index("ix_surveys_contact", table_name="surveys")
    op.drop_index("ix_surveys_at", table_name="surveys")

    op.drop_table("surveys")
    op.drop_index("ix_orders_customer_placed", table_name="orders")

    op.drop_table("orders")
    op.drop_index("ix_interactions_queued", table_name="interactions")
    op.drop_index("ix_interactions_customer_arrived", table_name="interactions")
    op.drop_index("ix_interactions_arrived", table_name="interactions")

    op.drop_table("interactions")
    op.drop_index("ix_customer_identities_customer", table_name="customer_identities")

    op.drop_table("customer_identities")
    op.drop_index("ix_contacts_state", table_name="contacts")
    op.drop_index("ix_contacts_customer_created", table_name="contacts")

    op.drop_table("contacts")
    op.drop_table("users")
    op.drop_index("ix_customers_tier", table_name="customers")
    op.drop_index("ix_customers_name", table_name="customers")
    op.drop_index("ix_customers_account_manager", table_name="customers")

    op.drop_table("customers")
    op.drop_index("ix_agent_skills_skill", table_name="agent_skills")

    op.drop_table("agent_skills")
    op.drop_table("skills")
    op.drop_index("ix_routing_decisions_contact", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_agent_at", table_name="routing_decisions")

    op.drop_table("routing_decisions")
    op.drop_index("ix_router_snapshots_journal", table_name="router_snapshots")

    op.drop_table("router_snapshots")
    op.drop_table("router_journal")
    op.drop_table("queues")
    op.drop_table("dispositions")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")

    op.drop_table("audit_log")
    op.drop_table("agents")
    op.drop_index("ix_agent_presence_log_at", table_name="agent_presence_log")
    op.drop_index("ix_agent_presence_log_agent_at", table_name="agent_presence_log")

    op.drop_table("agent_presence_log")
