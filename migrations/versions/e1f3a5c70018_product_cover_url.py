"""products.cover_url: the URL of each product's first picture, kept on the product row so
the cart, orders, posters and flash sales read it without a subquery per row

Revision ID: e1f3a5c70018
Revises: b8e4d2c60017
Create Date: 2026-12-03 18:20:00.000000

The backfill writes every product's first picture (by sort, then id) as
wxdist.catalog.covers keeps it from now on; '' for a product without a picture.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1f3a5c70018"
down_revision = "b8e4d2c60017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("cover_url", sa.String(length=512), server_default="", nullable=False)
        )
    op.execute(
        "UPDATE products SET cover_url = COALESCE((SELECT i.url FROM product_images i"
        " WHERE i.product_id = products.id ORDER BY i.sort, i.id LIMIT 1), '')"
    )


def downgrade():
    with op.batch_alter_table("products") as batch:
        batch.drop_column("cover_url")
