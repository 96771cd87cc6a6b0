"""product search: title terms, lowest price and sales count per product, listing indexes

Revision ID: a91c3e5f7b21
Revises: a7c3d9e20f41
Create Date: 2026-12-03 08:55:00.000000

The backfill computes what wxdist.catalog.search and wxdist.catalog.sales keep from now on:
each title's terms (the tokeniser is copied here so the migration does not change when the
code does), each product's lowest active SKU price, and its units paid net of wholly
refunded lines.
"""

import unicodedata
from itertools import pairwise

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a91c3e5f7b21"
down_revision = "a7c3d9e20f41"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000
_INDEXES = (
    ("ix_products_shelf_sales", ["on_shelf", "sales_count", "id"]),
    ("ix_products_shelf_price", ["on_shelf", "min_price_fen", "id"]),
    ("ix_products_shelf_created", ["on_shelf", "created_at", "id"]),
    ("ix_products_category_sales", ["category_id", "on_shelf", "sales_count", "id"]),
    ("ix_products_category_price", ["category_id", "on_shelf", "min_price_fen", "id"]),
    ("ix_products_category_created", ["category_id", "on_shelf", "created_at", "id"]),
)


def _title_terms(title):
    terms = set()
    word = []
    for char in unicodedata.normalize("NFKC", title).casefold() + " ":
        if char.isalnum():
            word.append(char)
            continue
        terms.update(ord(c) for c in word)
        terms.update(ord(a) << 21 | ord(b) for a, b in pairwise(word))
        word = []
    return terms


def upgrade():
    op.add_column(
        "products", sa.Column("min_price_fen", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "products", sa.Column("sales_count", sa.BigInteger(), server_default="0", nullable=False)
    )
    for name, columns in _INDEXES:
        op.create_index(name, "products", columns, unique=False)
    op.create_table(
        "product_terms",
        sa.Column("term", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "product_id"),
    )
    op.create_index("ix_product_terms_product_id", "product_terms", ["product_id"], unique=False)
    _backfill()


def _backfill():
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE products SET min_price_fen = COALESCE((SELECT MIN(s.price_fen) FROM skus s"
            " WHERE s.product_id = products.id AND s.is_active = :yes), 0)"
        ),
        {"yes": True},
    )
    conn.execute(
        sa.text(
            "UPDATE products SET sales_count = COALESCE((SELECT SUM(i.quantity)"
            " FROM order_items i JOIN orders o ON o.id = i.order_id"
            " WHERE i.product_id = products.id"
            " AND o.status IN ('paid', 'shipped', 'completed', 'refunding')"
            " AND (i.paid_fen <= 0 OR i.refunded_fen < i.paid_fen)), 0)"
        )
    )
    terms = sa.table("product_terms", sa.column("term"), sa.column("product_id"))
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, title FROM products WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        values = [
            {"term": term, "product_id": pid}
            for pid, title in rows
            for term in sorted(_title_terms(title))
        ]
        if values:
            op.bulk_insert(terms, values)
        last = rows[-1][0]


def downgrade():
    op.drop_index("ix_product_terms_product_id", table_name="product_terms")
    op.drop_table("product_terms")
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="products")
    op.drop_column("products", "sales_count")
    op.drop_column("products", "min_price_fen")
