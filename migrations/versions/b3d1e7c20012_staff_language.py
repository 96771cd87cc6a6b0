"""staff language: the panel's language per staff member ('' follows the browser)

Revision ID: b3d1e7c20012
Revises: a7c2d9e10010
Create Date: 2026-12-02 23:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b3d1e7c20012"
down_revision = "a7c2d9e10010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=8), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("locale")
