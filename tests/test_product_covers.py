"""products.cover_url (wxdist.catalog.covers): a product's first picture, kept on its row by
every ORM write of pictures and backfilled by its migration; what the cart, an order's items
and the product's face show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from tests.conftest import unmigrated_app
from tests.shop import ADDRESS, login, make_product
from wxdist.catalog.face import product_facts
from wxdist.core.extensions import db
from wxdist.models import OrderItem, Product, ProductImage

BEFORE = "b8e4d2c60017"  # the cover migration's down_revision


def _cover(app: Flask, product_id: int) -> str:
    with app.app_context():
        return str(db.session.scalar(select(Product.cover_url).where(Product.id == product_id)))


def test_the_cover_follows_every_orm_write_of_pictures(app: Flask) -> None:
    made = make_product(app, title="有图商品")
    product_id = made["product_id"]
    assert _cover(app, product_id) == "https://img.example/p.jpg"
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product is not None
        # a picture sorted before the first one becomes the cover; the loaded row sees it
        db.session.add(
            ProductImage(product_id=product_id, url="https://img.example/a.jpg", sort=-1)
        )
        db.session.commit()
        assert product.cover_url == "https://img.example/a.jpg"
        # moved after the other: the other is the cover again
        moved = db.session.scalar(select(ProductImage).where(ProductImage.sort == -1))
        assert moved is not None
        moved.sort = 5
        db.session.commit()
        assert product.cover_url == "https://img.example/p.jpg"
        # the list replaced (orphans deleted): the new first
        product.images = [ProductImage(url="https://img.example/z.jpg", sort=0)]
        db.session.commit()
    assert _cover(app, product_id) == "https://img.example/z.jpg"
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product is not None
        product.images = []
        db.session.commit()
        assert product_facts(product_id).image_url == ""  # type: ignore[union-attr]
    assert _cover(app, product_id) == ""


def test_the_cart_and_the_order_show_the_cover(app: Flask, client: FlaskClient) -> None:
    made = make_product(app, title="封面商品", price_fen=800)
    with app.app_context():
        db.session.add(
            ProductImage(product_id=made["product_id"], url="https://img.example/c.jpg", sort=-1)
        )
        db.session.commit()
    headers = login(client)
    added = client.post(
        "/api/v1/cart/lines", json={"sku_id": made["sku_id"], "quantity": 1}, headers=headers
    )
    assert added.status_code in (200, 201), added.get_data(as_text=True)
    cart = client.get("/api/v1/cart", headers=headers).get_json()
    assert [line["image_url"] for line in cart["lines"]] == ["https://img.example/c.jpg"]
    placed = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    assert placed.status_code == 201, placed.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OrderItem.image_url)).all() == [
            "https://img.example/c.jpg"
        ]


def test_the_migration_backfills_covers_and_goes_down_and_up(
    tmp_path: Path, base_settings: dict[str, Any]
) -> None:
    with unmigrated_app(base_settings, tmp_path) as app, app.app_context():
        upgrade(revision=BEFORE)
        now = "2026-12-01 08:00:00"
        for product_id in (1, 2):
            db.session.execute(
                text(
                    "INSERT INTO products (id, title, subtitle, description, on_shelf, sort,"
                    " min_price_fen, max_price_fen, sales_count, created_at, updated_at)"
                    " VALUES (:id, '商品', '', '', 1, 0, 0, 0, 0, :now, :now)"
                ),
                {"id": product_id, "now": now},
            )
        for url, sort in (("https://img.example/b.jpg", 1), ("https://img.example/a.jpg", 0)):
            db.session.execute(
                text("INSERT INTO product_images (product_id, url, sort) VALUES (1, :u, :s)"),
                {"u": url, "s": sort},
            )
        db.session.commit()
        upgrade()
        covers = dict(
            db.session.execute(text("SELECT id, cover_url FROM products ORDER BY id")).all()
        )
        assert covers == {1: "https://img.example/a.jpg", 2: ""}
        db.session.remove()
        downgrade(revision=BEFORE)
        upgrade()
        assert db.session.scalar(text("SELECT cover_url FROM products WHERE id = 1")) == (
            "https://img.example/a.jpg"
        )
        db.session.remove()
