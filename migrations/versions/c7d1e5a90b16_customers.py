"""customers: the block flag on users, customer figures, tags, notes and bulk coupon issues

Revision ID: c7d1e5a90b16
Revises: 4a7311f83f22
Create Date: 2026-12-03 12:00:00.000000

The backfill gives every user their `customer_stats` row as wxdist.customers keeps it:
source and channel from their latest referral binding, and of their attributed orders the
ones not wholly refunded, the spend net of refunds and the first and last payment times.
"""

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "c7d1e5a90b16"
down_revision = "4a7311f83f22"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

_STAT_INDEXES = (
    ("ix_customer_stats_created", ["created_at", "user_id"]),
    ("ix_customer_stats_last_order", ["last_order_at", "user_id"]),
    ("ix_customer_stats_spend", ["spend_fen", "user_id"]),
    ("ix_customer_stats_source_created", ["source_id", "created_at", "user_id"]),
    ("ix_customer_stats_source_last_order", ["source_id", "last_order_at", "user_id"]),
    ("ix_customer_stats_source_spend", ["source_id", "spend_fen", "user_id"]),
)

_TAG_INDEXES = (
    ("ix_user_tags_tag_last_order", ["tag_id", "last_order_at", "user_id"]),
    ("ix_user_tags_tag_spend", ["tag_id", "spend_fen", "user_id"]),
    ("ix_user_tags_tag_created", ["tag_id", "created_at", "user_id"]),
)

_BACKFILL = """
INSERT INTO customer_stats
    (user_id, created_at, source_id, channel, orders, spend_fen, first_order_at, last_order_at)
SELECT u.id, u.created_at,
    (SELECT b.referrer_id FROM referral_bindings b WHERE b.user_id = u.id
     ORDER BY b.id DESC LIMIT 1),
    COALESCE((SELECT b.channel FROM referral_bindings b WHERE b.user_id = u.id
     ORDER BY b.id DESC LIMIT 1), ''),
    COALESCE(o.orders, 0), COALESCE(o.spend_fen, 0), o.first_order_at, o.last_order_at
FROM users u
LEFT JOIN (
    SELECT user_id,
        SUM(CASE WHEN refunded_fen < paid_fen THEN 1 ELSE 0 END) AS orders,
        SUM(paid_fen - refunded_fen) AS spend_fen,
        MIN(paid_at) AS first_order_at,
        MAX(paid_at) AS last_order_at
    FROM orders WHERE attributed_at IS NOT NULL AND paid_at IS NOT NULL
    GROUP BY user_id
) o ON o.user_id = u.id
"""


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("blocked_at", When, nullable=True))
        batch.add_column(
            sa.Column("blocked_reason", sa.String(200), server_default="", nullable=False)
        )
    op.create_table(
        "customer_stats",
        sa.Column(
            "user_id", BigId, sa.ForeignKey("users.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("created_at", When, nullable=False),
        sa.Column("source_id", BigId, nullable=True),
        sa.Column("channel", sa.String(16), server_default="", nullable=False),
        sa.Column("orders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("spend_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_order_at", When, nullable=True),
        sa.Column("last_order_at", When, nullable=True),
    )
    for name, columns in _STAT_INDEXES:
        op.create_index(name, "customer_stats", columns, unique=False)
    op.create_table(
        "customer_tags",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_table(
        "user_tags",
        sa.Column("user_id", BigId, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("tag_id", BigId, sa.ForeignKey("customer_tags.id"), primary_key=True),
        sa.Column("tagged_at", When, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("spend_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_order_at", When, nullable=True),
    )
    for name, columns in _TAG_INDEXES:
        op.create_index(name, "user_tags", columns, unique=False)
    op.create_table(
        "customer_notes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("staff_username", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_index("ix_customer_notes_user", "customer_notes", ["user_id", "id"], unique=False)
    op.create_table(
        "bulk_coupon_issues",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_key", sa.String(64), nullable=False),
        sa.Column("template_id", BigId, sa.ForeignKey("coupon_templates.id"), nullable=False),
        sa.Column("filter_json", sa.Text(), nullable=False),
        sa.Column("staff_username", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("cursor_user_id", BigId, nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("refusals_json", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("finished_at", When, nullable=True),
        sa.UniqueConstraint("request_key"),
    )
    op.get_bind().execute(sa.text(_BACKFILL))


def downgrade():
    # Dropping a table drops its indexes (MySQL refuses to drop alone an index a foreign key
    # relies on).
    for table in ("bulk_coupon_issues", "customer_notes", "user_tags", "customer_tags"):
        op.drop_table(table)
    op.drop_table("customer_stats")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("blocked_reason")
        batch.drop_column("blocked_at")
