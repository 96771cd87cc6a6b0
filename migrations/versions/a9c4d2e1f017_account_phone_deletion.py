"""account phone and deletion: the bound phone number and when the account was deleted

Revision ID: a9c4d2e1f017
Revises: 3c7a9e2b5f18
Create Date: 2026-12-03 08:50:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "a9c4d2e1f017"
down_revision = "3c7a9e2b5f18"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("phone_country_code", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column(
                "deleted_at",
                sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("phone_country_code")
        batch_op.drop_column("phone")
