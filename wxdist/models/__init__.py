"""Models, split by domain. Importing this package registers every table."""

from wxdist.models.catalog import Category, Product, ProductImage, Sku
from wxdist.models.order import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from wxdist.models.user import User

__all__ = [
    "Category",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "Product",
    "ProductImage",
    "Refund",
    "RefundStatus",
    "Sku",
    "User",
]
