"""Catalogue: categories, products with images, and SKUs carrying price and stock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Product(db.Model):
    __tablename__ = "products"
    # One index per listing order (wxdist.catalog.search): shelf first, the sort key, id as
    # the tie-breaker; and the same after the category for a category's listing.
    __table_args__ = (
        Index("ix_products_shelf_category_sort", "on_shelf", "category_id", "sort"),
        Index("ix_products_shelf_sales", "on_shelf", "sales_count", "id"),
        Index("ix_products_shelf_price", "on_shelf", "min_price_fen", "id"),
        Index("ix_products_shelf_created", "on_shelf", "created_at", "id"),
        # Products to promote by earning (wxdist.distribution.promote).
        Index("ix_products_shelf_max_price", "on_shelf", "max_price_fen", "id"),
        Index("ix_products_shelf_own_rate", "on_shelf", "commission_l1_bp"),
        Index("ix_products_category_sales", "category_id", "on_shelf", "sales_count", "id"),
        Index("ix_products_category_price", "category_id", "on_shelf", "min_price_fen", "id"),
        Index("ix_products_category_created", "category_id", "on_shelf", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(128))
    subtitle: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    on_shelf: Mapped[bool] = mapped_column(Boolean, default=False)
    # Taken off shelf by the stock alerts (auto-pause) when it sold out, not by staff: it
    # goes back on when stock returns.
    paused_for_stock: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    # The product's own commission rates per depth (basis points); None: use the level's.
    commission_l1_bp: Mapped[int | None] = mapped_column(Integer)
    commission_l2_bp: Mapped[int | None] = mapped_column(Integer)
    # The product's shipping fee template; None ships free.
    shipping_template_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_templates.id"))
    # The lowest list price of its active SKUs (0 without one), kept by the catalogue's
    # flush listener (wxdist.catalog.search): what the price filter and sorts read.
    min_price_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    # The highest (0 without one), kept with it: what the ranking by earning reads.
    max_price_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    # The URL of its first picture ('' without one), kept by the catalogue's flush listener
    # (wxdist.catalog.covers): what the cart, orders, posters and flash sales show.
    cover_url: Mapped[str] = mapped_column(String(512), default="", server_default="")
    # Units paid, net of fully refunded lines; changed only by conditional atomic updates
    # (wxdist.catalog.sales) inside the payment's or the refund's transaction.
    sales_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.sort", cascade="all, delete-orphan"
    )
    skus: Mapped[list[Sku]] = relationship(
        order_by="Sku.id", cascade="all, delete-orphan", back_populates="product"
    )


class ProductImage(db.Model):
    __tablename__ = "product_images"
    __table_args__ = (
        # A product's pictures in order: its first picture (listings, cart, order items)
        # is one index dive, with no sort.
        Index("ix_product_images_product_sort", "product_id", "sort", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    url: Mapped[str] = mapped_column(String(512))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Sku(db.Model):
    """A sellable variant. `stock` changes only by conditional atomic updates."""

    __tablename__ = "skus"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    price_fen: Mapped[int] = mapped_column(Fen)
    # No index: stock is the hottest-updated column, and an index on it let concurrent
    # reservations deadlock on MariaDB; the dashboard's low-stock list scans the SKUs.
    stock: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    weight_g: Mapped[int] = mapped_column(Integer, default=0)  # for templates by weight
    # The merchant's own code for the SKU (商家编码): how an ERP names it in the open API.
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Stock at or below this is low; None: the store's default (StockSettings).
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    # ok | low | out: the alert state last acted on, so each crossing alerts once.
    stock_alert: Mapped[str] = mapped_column(String(8), default="ok", server_default="ok")

    product: Mapped[Product] = relationship(back_populates="skus")


class ProductTerm(db.Model):
    """The search index of product titles: one row per distinct term of a product's
    title, a term being one character or two adjacent ones packed into an integer
    (wxdist.catalog.search.terms). Rewritten whenever the title changes."""

    __tablename__ = "product_terms"

    term: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StockSettings(db.Model):
    """One row (id 1): the store's stock alert defaults."""

    __tablename__ = "stock_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=10)
    # Take a product off shelf when all its active SKUs are sold out, and back on when
    # stock returns.
    auto_pause: Mapped[bool] = mapped_column(Boolean, default=False)
