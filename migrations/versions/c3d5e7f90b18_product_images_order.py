"""product pictures indexed in their order: the first picture without a sort

Revision ID: c3d5e7f90b18
Revises: b2c4e6f80a17
Create Date: 2026-12-03 12:10:00.000000

(product_id, sort, id) replaces (product_id): it serves the foreign key as well, and the
"first picture" subquery of listings, the cart and placing an order reads one entry.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c3d5e7f90b18"
down_revision = "b2c4e6f80a17"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_product_images_product_sort", "product_images", ["product_id", "sort", "id"]
    )
    op.drop_index("ix_product_images_product_id", table_name="product_images")


def downgrade():
    op.create_index("ix_product_images_product_id", "product_images", ["product_id"])
    op.drop_index("ix_product_images_product_sort", table_name="product_images")
