"""report_product_monthly: the merchant's product figures per calendar month, so product
contribution over a quarter reads ~60,000 month rows instead of ~1,000,000 day rows
(bench/insight.py at 5,000,000 order items a year)

Revision ID: b8e4d2c60017
Revises: d27195ca430a
Create Date: 2026-12-03 15:10:00.000000

The backfill sums the merchant shards' `report_product_daily` rows per month and product,
as wxdist.reporting.insight keeps them from now on (a rebuild recounts both).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8e4d2c60017"
down_revision = "d27195ca430a"
branch_labels = None
depends_on = None

COUNTERS = ("orders", "paid_fen", "refunded_fen", "commission_fen", "commission_clawed_fen")


def upgrade():
    op.create_table(
        "report_product_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "product_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("orders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("commission_clawed_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("month", "product_id", name=op.f("pk_report_product_monthly")),
    )
    bind = op.get_bind()
    month = (
        "DATE_FORMAT(day, '%Y-%m-01')"
        if bind.dialect.name == "mysql"
        else "strftime('%Y-%m-01', day)"
    )
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    op.execute(
        f"INSERT INTO report_product_monthly (month, product_id, {', '.join(COUNTERS)})"
        f" SELECT {month}, product_id, {sums} FROM report_product_daily"
        f" WHERE distributor_id < 0 GROUP BY {month}, product_id"
    )


def downgrade():
    op.drop_table("report_product_monthly")
