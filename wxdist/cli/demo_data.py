"""A small demo catalogue for `make run`, with real pictures: each product's picture is
drawn at seed time (a coloured square with a shape and the product's name, about 20 KB)
and kept in the media storage like an uploaded one, so the shop and posters show it.
Every product ships on one template (运费模板): ¥8 the first item, ¥2 each further one,
¥20 / ¥5 to remote regions, free from ¥99."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from wxdist.catalog.pictures import clean_picture, store_picture
from wxdist.core.extensions import db
from wxdist.models import Category, Product, ProductImage, ShippingTemplate, Sku
from wxdist.sharing.posters.text import draw_text

PICTURE_SIZE = 640
# (background, shape) colours, one pair per product in turn
PALETTE = [
    ("#3d7a4f", "#7fb58c"),
    ("#7a4a2b", "#b98a63"),
    ("#2f5d8a", "#7ea6cf"),
    ("#8a3d5c", "#cf8aa7"),
    ("#8a6d1f", "#d1b25c"),
    ("#a13b2f", "#e0877a"),
]
LEGACY_PREFIX = "/static/demo/"  # where demo pictures pointed before they were drawn

DEMO = [
    (
        "茶叶",
        [
            (
                "明前西湖龙井 250g",
                "头采嫩芽，豆香清雅",
                [("250g 罐装", 26800, 50), ("500g 礼盒", 49800, 20)],
            ),
            ("云南普洱熟茶饼 357g", "勐海原料，十年陈", [("单饼", 15800, 80)]),
        ],
    ),
    (
        "日用",
        [
            ("竹纤维毛巾三条装", "柔软吸水，不掉毛", [("米白", 3990, 200), ("浅灰", 3990, 150)]),
            ("手工皂 5 块装", "冷制工艺，温和清洁", [("混合香型", 5900, 100)]),
        ],
    ),
    (
        "零食",
        [
            ("每日坚果 30 包", "七种坚果果干", [("30 包", 9900, 300)]),
            ("手撕牛肉干 500g", "内蒙古草原牛肉", [("原味", 8800, 120), ("香辣", 8800, 120)]),
        ],
    ),
]


def draw_demo_picture(title: str, number: int) -> bytes:
    """A JPEG square: a background colour, a lighter disc and the title in white."""
    background, shape = PALETTE[number % len(PALETTE)]
    side = PICTURE_SIZE
    image = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((side * 0.18, side * 0.1, side * 0.82, side * 0.74), fill=shape)
    draw_text(
        draw,
        title,
        x=side / 2,
        y=side * 0.78,
        size=48,
        max_width=side * 0.86,
        max_lines=2,
        fill="#ffffff",
        align="center",
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def demo_picture_url(title: str, number: int) -> str:
    """Draw the picture of a demo product and store it; its `/media/…` URL."""
    return store_picture(clean_picture(draw_demo_picture(title, number)))


def redraw_legacy_pictures() -> int:
    """Demo products seeded before pictures were drawn point at `/static/demo/…`, which
    was never served: give each a drawn picture. Returns how many were replaced."""
    rows = db.session.execute(
        select(ProductImage, Product.title)
        .join(Product, Product.id == ProductImage.product_id)
        .where(ProductImage.url.startswith(LEGACY_PREFIX))
        .order_by(ProductImage.id)
    ).all()
    for number, (image, title) in enumerate(rows):
        image.url = demo_picture_url(title, number)
    db.session.commit()
    return len(rows)


# 西藏, 新疆, 青海, 内蒙古: dearer, still delivered
REMOTE_REGIONS = ["540000", "650000", "630000", "150000"]


def demo_shipping_template() -> ShippingTemplate:
    template = ShippingTemplate(
        name="普通快递",
        by_weight=False,
        first_unit=1,
        first_fen=800,
        extra_unit=1,
        extra_fen=200,
        rules=[
            {
                "codes": REMOTE_REGIONS,
                "first_unit": 1,
                "first_fen": 2000,
                "extra_unit": 1,
                "extra_fen": 500,
            }
        ],
        undelivered=[],
        free_above_fen=9900,
    )
    db.session.add(template)
    db.session.flush()
    return template


def seed_demo_catalogue() -> int:
    """Create the demo categories and products, with drawn pictures, unless products
    already exist (then only pictures of an older seed are redrawn). Returns how many
    products were created."""
    if db.session.scalar(select(func.count()).select_from(Product)):
        redraw_legacy_pictures()
        return 0
    created = 0
    shipping = demo_shipping_template()
    for sort, (category_name, products) in enumerate(DEMO):
        category = Category(name=category_name, sort=sort)
        db.session.add(category)
        db.session.flush()
        for index, (title, subtitle, skus) in enumerate(products):
            product = Product(
                category_id=category.id,
                title=title,
                subtitle=subtitle,
                description=f"{title}。{subtitle}。",
                on_shelf=True,
                sort=100 - index,
                shipping_template_id=shipping.id,
                images=[ProductImage(url=demo_picture_url(title, created), sort=0)],
                skus=[
                    # SKU codes as an ERP would know them (the open API's stock batches).
                    Sku(name=name, price_fen=price, stock=stock, code=f"DEMO-{created + 1:03d}-{n}")
                    for n, (name, price, stock) in enumerate(skus, start=1)
                ],
            )
            db.session.add(product)
            created += 1
    db.session.commit()
    return created
