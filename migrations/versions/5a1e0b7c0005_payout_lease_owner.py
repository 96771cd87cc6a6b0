"""withdrawals: payout_lease_owner, the token of the payout job holding the lease

One payout job leases its whole batch with one UPDATE that writes its token here, then
reads back the rows carrying its token; nullable (no lease), so no server default.

Revision ID: 5a1e0b7c0005
Revises: 4ce7c8ecd686
Create Date: 2026-11-26 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1e0b7c0005'
down_revision = '4ce7c8ecd686'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payout_lease_owner', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_column('payout_lease_owner')
