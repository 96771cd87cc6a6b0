"""addresses and shipping fee templates: the address book, 运费模板, SKU weights, the
order's region code

Revision ID: a7c3d9e20f41
Revises: a9c4d2e1f017
Create Date: 2026-12-03 08:55:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "a7c3d9e20f41"
down_revision = "a9c4d2e1f017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade():
    op.create_table(
        "addresses",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_addresses_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addresses_user_id"), ["user_id"], unique=False)

    op.create_table(
        "shipping_templates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("by_weight", sa.Boolean(), nullable=False),
        sa.Column("first_unit", sa.Integer(), nullable=False),
        sa.Column("first_fen", sa.BigInteger(), nullable=False),
        sa.Column("extra_unit", sa.Integer(), nullable=False),
        sa.Column("extra_fen", sa.BigInteger(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("undelivered", sa.JSON(), nullable=False),
        sa.Column("free_above_fen", sa.BigInteger(), nullable=True),
        sa.Column("free_count", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_templates")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_template_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_products_shipping_template_id_shipping_templates"),
            "shipping_templates",
            ["shipping_template_id"],
            ["id"],
        )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("weight_g", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receiver_region_code", sa.String(length=6), nullable=True))


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("receiver_region_code")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_column("weight_g")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_products_shipping_template_id_shipping_templates"), type_="foreignkey"
        )
        batch_op.drop_column("shipping_template_id")
    op.drop_table("shipping_templates")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_addresses_user_id"))
    op.drop_table("addresses")
