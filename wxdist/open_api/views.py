"""The operations of the open API (see wxdist.open_api and its OpenAPI document)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from wxdist.integrations import api_shipments, order_feed, product_feed, stock_batches
from wxdist.open_api import schemas
from wxdist.open_api.signed import body, current_key, operation, query, raw_body
from wxdist.shop.shipments import Package

bp = Blueprint("open_api", __name__)


@bp.get("/orders")
@operation("orders:read", query=schemas.OrdersQuery, response=schemas.OrdersPage)
def list_orders():  # type: ignore[no-untyped-def]
    """Orders changed since a cursor, oldest change first (poll with `next_cursor`)."""
    asked = query(schemas.OrdersQuery)
    page = order_feed.changed_since(asked.cursor, asked.limit)
    return jsonify(orders=page.orders, next_cursor=page.next_cursor, has_more=page.has_more)


@bp.get("/products")
@operation("products:read", query=schemas.ProductsQuery, response=schemas.ProductsPage)
def list_products():  # type: ignore[no-untyped-def]
    """Products with their SKUs (codes, prices, stock), by id."""
    asked = query(schemas.ProductsQuery)
    found, more = product_feed.products_after(asked.after_id, asked.limit)
    return jsonify(products=found, has_more=more)


@bp.post("/shipments")
@operation("shipments:write", body=schemas.ShipmentIn, response=schemas.ShipmentCreated,
           status=201, errors=(404, 409))  # fmt: skip
def create_shipment():  # type: ignore[no-untyped-def]
    """Ship a package of a paid order, as staff do in the panel (the WeChat shipping upload
    and the `order.shipped` webhook follow); applied once per `request_id`."""
    asked = body(schemas.ShipmentIn)
    package = Package(
        kind=asked.kind,
        delivery_id=asked.delivery_id,
        tracking_no=asked.tracking_no,
        items={line.order_item_id: line.quantity for line in asked.items or []},
    )
    status, answer = api_shipments.create(
        current_key().id, asked.request_id, asked.order_no, package, raw_body()
    )
    return jsonify(answer), status


@bp.post("/stock")
@operation("stock:write", body=schemas.StockBatchIn, response=schemas.StockBatchOut,
           errors=(409,))  # fmt: skip
def set_stock():  # type: ignore[no-untyped-def]
    """Set up to 100 SKUs' stock by code, absolutely or by a delta, all or nothing; applied
    once per `request_id`."""
    asked = body(schemas.StockBatchIn)
    lines = [stock_batches.StockLine(i.sku_code, i.set, i.delta) for i in asked.items]
    status, answer = stock_batches.apply(current_key().id, asked.request_id, lines, raw_body())
    return jsonify(answer), status


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    """This API's OpenAPI 3.1 document (public: it holds no data)."""
    from wxdist.open_api.document import build

    spec = current_app.extensions.get("wxdist_open_openapi")
    if spec is None:
        spec = current_app.extensions["wxdist_open_openapi"] = build(current_app)
    return jsonify(spec)
