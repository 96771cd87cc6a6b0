"""Shipping from an order's page: ship a package (carrier from WeChat's list, tracking
number, which items) and retry a failed shipping information upload; both audited.

Changes go through `wxdist.shop.shipments` and `wxdist.shop.shipping_info`.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from wxdist.core.errors import ApiError
from wxdist.models import OrderStatus
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.order_views import _attach, _done, _load, _render_detail
from wxdist.panel.shipment_forms import carriers_or_none, ship_form
from wxdist.panel.ui import audited
from wxdist.shop import shipments, shipping_info


@panel_bp.post("/orders/<int:order_id>/ship")
@area("orders")
def order_ship(order_id: int):  # type: ignore[no-untyped-def]
    order = _load(order_id)
    form = ship_form(order, carriers_or_none() or {}, bind=True)
    if not form.validate():
        return _render_detail(order, 400, ship_form=form)
    package = form.package()
    before = {"status": order.status}
    try:
        with audited("order.ship", "order", order_id, before=before) as audit:
            shipment = shipments.ship(order_id, package)
            audit.after = {
                "status": _load(order_id).status,
                "shipment_id": shipment.id,
                "kind": shipment.kind,
                "delivery_id": shipment.delivery_id,
                "tracking_no": shipment.tracking_no,
                "items": {str(i): q for i, q in sorted(package.items.items()) if q},
            }
    except ApiError as exc:
        if exc.status != 400:
            raise
        rename = {f"items.{item_id}": name for name, item_id in form.item_fields}
        if not _attach(form, exc, rename):
            form.form_errors.append(exc.message)
        return _render_detail(_load(order_id), 400, ship_form=form)
    if _load(order_id).status == OrderStatus.SHIPPED:
        return _done(order_id, _("Shipped: every item is on its way."))
    return _done(order_id, _("Package %(seq)s recorded; ship the rest next.", seq=shipment.seq))


@panel_bp.post("/orders/<int:order_id>/shipping/<int:payment_id>/retry")
@area("orders")
def order_shipping_retry(order_id: int, payment_id: int):  # type: ignore[no-untyped-def]
    _load(order_id)
    sync = next(
        (s for s in shipping_info.order_syncs(order_id) if s.payment_id == payment_id), None
    )
    if sync is None:
        abort(404)
    before = {"state": sync.state, "last_error": sync.last_error}
    with audited("order.shipping_retry", "order", order_id, before=before) as audit:
        retried = shipping_info.retry(payment_id)
        audit.after = {"state": retried.state, "payment_id": payment_id}
    return _done(order_id, _("Shipping information upload queued again."))
