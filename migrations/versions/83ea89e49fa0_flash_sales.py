"""flash sales: activities, slots, activity SKUs, per-user quotas, flash-sale orders (issue 17)

Revision ID: 83ea89e49fa0
Revises: c7d1e5a90b16
Create Date: 2026-12-03 15:03:15.855537

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "83ea89e49fa0"
down_revision = "c7d1e5a90b16"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "flash_activities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("per_user_limit", sa.Integer(), nullable=False),
        sa.Column("per_order_limit", sa.Integer(), nullable=False),
        sa.Column("commission_mode", sa.String(length=8), nullable=False),
        sa.Column("coupons_allowed", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_activities")),
    )
    op.create_table(
        "flash_quotas",
        sa.Column(
            "activity_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("bought", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["flash_activities.id"],
            name=op.f("fk_flash_quotas_activity_id_flash_activities"),
        ),
        sa.PrimaryKeyConstraint("activity_id", "user_id", name=op.f("pk_flash_quotas")),
    )
    op.create_table(
        "flash_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "starts_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False
        ),
        sa.Column(
            "ends_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["flash_activities.id"],
            name=op.f("fk_flash_slots_activity_id_flash_activities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_slots")),
    )
    with op.batch_alter_table("flash_slots", schema=None) as batch_op:
        batch_op.create_index("ix_flash_slots_activity", ["activity_id", "starts_at"], unique=False)

    op.create_table(
        "flash_skus",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("stock_left", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["flash_activities.id"],
            name=op.f("fk_flash_skus_activity_id_flash_activities"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_flash_skus_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_skus")),
        sa.UniqueConstraint("activity_id", "sku_id", name=op.f("uq_flash_skus_activity_id_sku_id")),
    )
    with op.batch_alter_table("flash_skus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flash_skus_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "flash_orders",
        sa.Column(
            "order_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "flash_sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["flash_activities.id"],
            name=op.f("fk_flash_orders_activity_id_flash_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["flash_sku_id"],
            ["flash_skus.id"],
            name=op.f("fk_flash_orders_flash_sku_id_flash_skus"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_flash_orders_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_flash_orders")),
    )
    with op.batch_alter_table("flash_orders", schema=None) as batch_op:
        batch_op.create_index("ix_flash_orders_sku", ["flash_sku_id", "order_id"], unique=False)
        batch_op.create_index("ix_flash_orders_user", ["activity_id", "user_id"], unique=False)


def downgrade():
    # Dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key
    # needs on its own).
    for table in ("flash_orders", "flash_skus", "flash_slots", "flash_quotas", "flash_activities"):
        op.drop_table(table)
