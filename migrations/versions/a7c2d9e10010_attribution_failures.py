"""attribution failures: attempts per order, parked after too many

Revision ID: a7c2d9e10010
Revises: 8d4e3f0a0008
Create Date: 2026-12-02 17:50:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


# revision identifiers, used by Alembic.
revision = "a7c2d9e10010"
down_revision = "8d4e3f0a0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attribution_failures",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.Column(
            "first_failed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "last_failed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "parked_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("attribution_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attribution_failures_parked_at"), ["parked_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("attribution_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribution_failures_parked_at"))

    op.drop_table("attribution_failures")
