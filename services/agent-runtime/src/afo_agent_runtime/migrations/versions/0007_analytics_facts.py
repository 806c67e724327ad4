"""analytics: the funnel's facts on conversations (qualified, booked, handed off: when first), a reply's latency
and the question it could not answer on messages, and the indexes analytics' ranges read; existing
conversations' facts filled in from what was recorded

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

REPLIES = sa.text("reply_ms IS NOT NULL")
UNANSWERED = sa.text("unanswered IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("handed_off_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_conversations_analytics", ["tenant_id", "created_at", "channel", "agent_id",
                                                          "qualified_at", "booked_at", "handed_off_at", "id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unanswered", sa.String(200), nullable=True))
    op.create_index("ix_messages_replies", "messages", ["tenant_id", "created_at", "reply_ms", "conversation_id"],
                    sqlite_where=REPLIES, postgresql_where=REPLIES)
    op.create_index("ix_messages_unanswered", "messages",
                    ["tenant_id", "created_at", "unanswered", "conversation_id"],
                    sqlite_where=UNANSWERED, postgresql_where=UNANSWERED)
    _backfill()


def _backfill() -> None:
    """What is known of conversations recorded before: a qualified lead (its last update), a handed-off status
    (its last update), the first booking's message."""
    conversations = sa.table("conversations", sa.column("id", sa.String), sa.column("status", sa.String),
                             sa.column("updated_at", sa.DateTime(timezone=True)),
                             sa.column("qualified_at", sa.DateTime(timezone=True)),
                             sa.column("booked_at", sa.DateTime(timezone=True)),
                             sa.column("handed_off_at", sa.DateTime(timezone=True)))
    leads = sa.table("leads", sa.column("conversation_id", sa.String), sa.column("qualified", sa.Boolean),
                     sa.column("updated_at", sa.DateTime(timezone=True)))
    messages = sa.table("messages", sa.column("conversation_id", sa.String), sa.column("intent", sa.String),
                        sa.column("created_at", sa.DateTime(timezone=True)))
    c = conversations.c
    qualified = (sa.select(leads.c.updated_at)
                 .where(leads.c.conversation_id == c.id, leads.c.qualified.is_(True)).scalar_subquery())
    booked = (sa.select(sa.func.min(messages.c.created_at))
              .where(messages.c.conversation_id == c.id, messages.c.intent == "meeting_booked").scalar_subquery())
    op.execute(conversations.update().values(qualified_at=qualified, booked_at=booked))
    op.execute(conversations.update().where(c.status == "handed_off").values(handed_off_at=c.updated_at))


def downgrade() -> None:
    op.drop_index("ix_messages_unanswered", table_name="messages")
    op.drop_index("ix_messages_replies", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("unanswered")
        batch.drop_column("reply_ms")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_analytics")
        batch.drop_column("handed_off_at")
        batch.drop_column("booked_at")
        batch.drop_column("qualified_at")
