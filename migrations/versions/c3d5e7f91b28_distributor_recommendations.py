"""distributor recommendations: each approved distributor's top products, stored by the
refresh job (wxdist.recommendations)

Revision ID: c3d5e7f91b28
Revises: b2c4e6f80a17
Create Date: 2026-12-03 11:50:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# revision identifiers, used by Alembic.
revision = "c3d5e7f91b28"
down_revision = "b2c4e6f80a17"
branch_labels = None
depends_on = None


def upgrade():
    # No foreign keys and no secondary index: a derived table rewritten whole by every
    # refresh (see wxdist/models/recommendation.py).
    op.create_table(
        "distributor_recommendations",
        sa.Column("distributor_id", _ID, autoincrement=False, nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("reason_product_id", _ID, nullable=True),
        sa.Column(
            "refreshed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "distributor_id", "rank", name=op.f("pk_distributor_recommendations")
        ),
    )


def downgrade():
    op.drop_table("distributor_recommendations")
