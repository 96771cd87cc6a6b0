"""product max price: the highest active SKU list price per product, and the indexes the
products-to-promote ranking by earning reads

Revision ID: b2c4e6f80a17
Revises: a91c3e5f7b21
Create Date: 2026-12-03 09:50:00.000000

`max_price_fen` is kept by wxdist.catalog.search's flush listener with `min_price_fen`;
the backfill computes it the same way (0 without an active SKU).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2c4e6f80a17"
down_revision = "a91c3e5f7b21"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_products_shelf_max_price", ["on_shelf", "max_price_fen", "id"]),
    ("ix_products_shelf_own_rate", ["on_shelf", "commission_l1_bp"]),
)


def upgrade():
    op.add_column(
        "products", sa.Column("max_price_fen", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.get_bind().execute(
        sa.text(
            "UPDATE products SET max_price_fen = COALESCE((SELECT MAX(s.price_fen) FROM skus s"
            " WHERE s.product_id = products.id AND s.is_active = :yes), 0)"
        ),
        {"yes": True},
    )
    for name, columns in _INDEXES:
        op.create_index(name, "products", columns, unique=False)


def downgrade():
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="products")
    op.drop_column("products", "max_price_fen")
