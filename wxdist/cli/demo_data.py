"""A small demo catalogue for `make run`."""

from __future__ import annotations

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import Category, Product, ProductImage, Sku

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


def seed_demo_catalogue() -> int:
    """Create the demo categories and products unless products already exist.
    Returns how many products were created."""
    if db.session.scalar(select(func.count()).select_from(Product)):
        return 0
    created = 0
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
                images=[ProductImage(url=f"/static/demo/{category.id}-{index}.jpg", sort=0)],
                skus=[Sku(name=name, price_fen=price, stock=stock) for name, price, stock in skus],
            )
            db.session.add(product)
            created += 1
    db.session.commit()
    return created
